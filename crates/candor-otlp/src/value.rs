//! A value as an OTLP `AnyValue`, and an `AnyValue` read as a serde data structure.

use candor_schema::Value;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, KeyValue, KeyValueList, any_value,
};
use serde::Deserialize;
use serde::de::value::{
    BorrowedStrDeserializer, Error as DeError, MapDeserializer, SeqDeserializer,
};
use serde::de::{Deserializer, Error as _, IntoDeserializer, Unexpected, Visitor};

use crate::read::ReadError;

pub(crate) fn kv(key: &str, value: AnyValue) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(value),
        ..KeyValue::default()
    }
}

pub(crate) fn string(s: &str) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::StringValue(s.to_owned())),
    }
}

/// A count as OTLP's signed `int_value`. Counts past `i64::MAX` never get here:
/// `candor_schema::check_value` refuses them ([`candor_schema::MAX_COUNT`]) before an event is
/// made and again before a spooled one is sent, so the saturation below is only the type's
/// fallback, never a value changed on the wire.
fn int(n: u64) -> AnyValue {
    signed(i64::try_from(n).unwrap_or(i64::MAX))
}

fn signed(n: i64) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::IntValue(n)),
    }
}

fn double(d: f64) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::DoubleValue(d)),
    }
}

fn list(values: impl IntoIterator<Item = AnyValue>) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::ArrayValue(ArrayValue {
            values: values.into_iter().collect(),
        })),
    }
}

fn map<'a>(pairs: impl IntoIterator<Item = (&'a str, AnyValue)>) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::KvlistValue(KeyValueList {
            values: pairs.into_iter().map(|(k, v)| kv(k, v)).collect(),
        })),
    }
}

/// The value as an OTLP `AnyValue`: numbers as numbers, maps as maps, lists as lists.
pub fn any_value(value: &Value) -> AnyValue {
    match value {
        Value::Flag(b) => AnyValue {
            value: Some(any_value::Value::BoolValue(*b)),
        },
        Value::Count(n) => int(*n),
        Value::Duration(d) => double(*d),
        Value::Enumeration(s)
        | Value::Version(s)
        | Value::Text(s)
        | Value::Hashed(s)
        | Value::LanguageTag(s)
        | Value::UserAgent(s) => string(s),
        Value::Names(names) => list(names.iter().map(|n| string(n))),
        Value::Distribution(stats) => map(stats.iter().map(|(k, v)| (k.as_str(), double(*v)))),
        // The JSON sink's form, field for field: `count`, `sum` and `buckets` as a list of
        // `[key, count]` pairs, so a receiver reads both the same way. (OTLP's own histogram
        // types belong to metrics, not to the log records Candor sends.)
        Value::Histogram(h) => map([
            ("count", int(h.count)),
            ("sum", double(h.sum)),
            (
                "buckets",
                list(
                    h.buckets
                        .iter()
                        .map(|&(key, count)| list([signed(key), signed(count)])),
                ),
            ),
        ]),
        Value::LabelCounts(m) => map(m.iter().map(|(k, n)| (k.as_str(), int(*n)))),
        Value::ModeByName(m) | Value::Properties(m) => {
            map(m.iter().map(|(k, s)| (k.as_str(), string(s))))
        }
        Value::Exception(e) => {
            let mut fields = vec![
                ("type_name", string(&e.type_name)),
                ("message", string(&e.message)),
                ("frames", list(e.frames.iter().map(|f| string(f)))),
                ("frames_dropped", int(u64::from(e.frames_dropped))),
            ];
            if let Some(m) = &e.log_message {
                fields.push(("log_message", string(m)));
            }
            map(fields)
        }
    }
}

/// Reads an `AnyValue` as `T`, the reverse of [`any_value`] for a value's data: strings,
/// booleans, integers and doubles as themselves, arrays as sequences, key-value lists as maps.
/// Bytes and string-table references are not part of Candor's mapping and are refused.
pub fn read_any<'a, T: Deserialize<'a>>(value: &'a AnyValue) -> Result<T, ReadError> {
    T::deserialize(Any(Some(value))).map_err(|e| ReadError::Schema(e.to_string()))
}

/// An `AnyValue` (or its absence) as a serde deserializer.
#[derive(Clone, Copy)]
pub(crate) struct Any<'a>(pub(crate) Option<&'a AnyValue>);

impl<'de> Deserializer<'de> for Any<'de> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.0.and_then(|v| v.value.as_ref()) {
            None => visitor.visit_unit(),
            Some(any_value::Value::StringValue(s)) => visitor.visit_borrowed_str(s),
            Some(any_value::Value::BoolValue(b)) => visitor.visit_bool(*b),
            Some(any_value::Value::IntValue(i)) => visitor.visit_i64(*i),
            Some(any_value::Value::DoubleValue(d)) => visitor.visit_f64(*d),
            Some(any_value::Value::ArrayValue(a)) => {
                let mut items = SeqDeserializer::new(a.values.iter().map(|v| Any(Some(v))));
                let out = visitor.visit_seq(&mut items)?;
                items.end()?;
                Ok(out)
            }
            Some(any_value::Value::KvlistValue(kv)) => {
                let mut entries = MapDeserializer::new(
                    kv.values
                        .iter()
                        .map(|kv| (kv.key.as_str(), Any(kv.value.as_ref()))),
                );
                let out = visitor.visit_map(&mut entries)?;
                entries.end()?;
                Ok(out)
            }
            Some(any_value::Value::BytesValue(_)) => Err(DeError::invalid_type(
                Unexpected::Other("bytes (not part of Candor's mapping)"),
                &visitor,
            )),
            Some(any_value::Value::StringValueStrindex(_)) => Err(DeError::invalid_type(
                Unexpected::Other("a string-table reference (not part of Candor's mapping)"),
                &visitor,
            )),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.0.and_then(|v| v.value.as_ref()) {
            None => visitor.visit_none(),
            Some(_) => visitor.visit_some(self),
        }
    }

    /// A unit variant by its name (a value's kind, a statistic), as JSON writes one.
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match self.0.and_then(|v| v.value.as_ref()) {
            Some(any_value::Value::StringValue(s)) => {
                visitor.visit_enum(BorrowedStrDeserializer::<DeError>::new(s))
            }
            _ => self.deserialize_any(visitor),
        }
    }

    fn is_human_readable(&self) -> bool {
        false
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct newtype_struct seq tuple
        tuple_struct map struct identifier ignored_any
    }
}

impl<'de> IntoDeserializer<'de, DeError> for Any<'de> {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}
