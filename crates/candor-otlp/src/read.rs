//! A log record read back into an event, through the schema's own deserialisation.
//!
//! The record is presented to `Event`'s `Deserialize` as the JSON form's fields would be: the
//! `candor.*` attributes by name, the time as the record's nanoseconds (a non-text time, which
//! [`candor_schema::Timestamp`] reads as it is), the point from [`point_of`], and the value as
//! `{kind: candor.kind, data: body}`. So the OTLP path has the JSON path's caps (lists and maps
//! read only as deep as any point admits), its refusals of unknown kinds and wrong types, and
//! builds nothing in between.

use candor_schema::Event;
use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use serde::Deserialize;
use serde::de::value::{Error as DeError, MapDeserializer};
use serde::de::{Deserializer, IntoDeserializer, Visitor};

use crate::keys;
use crate::value::Any;

/// Why a log record is not an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The record names no point: neither an event name nor a `candor.point` attribute.
    #[error("the log record names no data point (no event name, no `candor.point`)")]
    NoPoint,
    /// The record's event name and its `candor.point` attribute name different points.
    #[error("the log record's event name and its `candor.point` attribute differ")]
    PointsDiffer,
    /// The fields do not make an event of the published schema.
    #[error("not an event of the published schema: {0}")]
    Schema(String),
}

/// The value of the record's attribute `key` (the first, if it repeats).
fn attribute<'a>(record: &'a LogRecord, key: &str) -> Option<&'a AnyValue> {
    record
        .attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
}

/// The text of the record's attribute `key`, when it is a string.
pub fn attribute_str<'a>(record: &'a LogRecord, key: &str) -> Option<&'a str> {
    match attribute(record, key)?.value.as_ref()? {
        any_value::Value::StringValue(s) => Some(s),
        _ => None,
    }
}

/// The data point a record is about, the one reading of it: the record's event name and its
/// `candor.point` attribute, either alone or both the same.
pub fn point_of(record: &LogRecord) -> Result<&str, ReadError> {
    let named = Some(record.event_name.as_str()).filter(|n| !n.is_empty());
    let attributed = match attribute(record, keys::POINT) {
        None => None,
        Some(_) => Some(
            attribute_str(record, keys::POINT)
                .ok_or_else(|| ReadError::Schema("`candor.point` is not a string".to_owned()))?,
        ),
    };
    match (named, attributed) {
        (Some(n), Some(a)) if n != a => Err(ReadError::PointsDiffer),
        (Some(p), _) | (None, Some(p)) => Ok(p),
        (None, None) => Err(ReadError::NoPoint),
    }
}

/// The event a log record carries, or why it is not one. It is not checked against any
/// catalogue here: a reader checks it as it checks one read from JSON.
pub fn read_event(record: &LogRecord) -> Result<Event, ReadError> {
    let point = point_of(record)?;
    let mut fields: Vec<(&str, Part<'_>)> = Vec::with_capacity(9);
    for (field, key) in [
        ("event_id", keys::EVENT_ID),
        ("product", keys::PRODUCT),
        ("product_version", keys::PRODUCT_VERSION),
        ("runtime_line", keys::RUNTIME_LINE),
        ("catalogue_revision", keys::CATALOGUE_REVISION),
        ("install_id", keys::INSTALL_ID),
    ] {
        if let Some(value) = attribute(record, key) {
            fields.push((field, Part::Any(Any(Some(value)))));
        }
    }
    fields.push(("time", Part::Nanos(record.time_unix_nano)));
    fields.push(("point", Part::Str(point)));
    fields.push((
        "value",
        Part::Value {
            kind: attribute(record, keys::KIND),
            data: record.body.as_ref(),
        },
    ));
    Event::deserialize(Fields(fields)).map_err(|e| ReadError::Schema(e.to_string()))
}

/// The record's fields as a map, in the order the JSON form writes them.
struct Fields<'a>(Vec<(&'static str, Part<'a>)>);

impl<'de> Deserializer<'de> for Fields<'de> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let mut map = MapDeserializer::new(self.0.into_iter());
        let out = visitor.visit_map(&mut map)?;
        map.end()?;
        Ok(out)
    }

    fn is_human_readable(&self) -> bool {
        false
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

/// One field of the record.
#[derive(Clone, Copy)]
enum Part<'a> {
    Any(Any<'a>),
    Str(&'a str),
    Nanos(u64),
    Value {
        kind: Option<&'a AnyValue>,
        data: Option<&'a AnyValue>,
    },
}

impl<'de> Deserializer<'de> for Part<'de> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self {
            Self::Any(any) => any.deserialize_any(visitor),
            Self::Str(s) => visitor.visit_borrowed_str(s),
            Self::Nanos(n) => visitor.visit_u64(n),
            Self::Value { kind, data } => {
                let mut map =
                    MapDeserializer::new([("kind", Any(kind)), ("data", Any(data))].into_iter());
                let out = visitor.visit_map(&mut map)?;
                map.end()?;
                Ok(out)
            }
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self {
            Self::Any(any) => any.deserialize_option(visitor),
            other => visitor.visit_some(other),
        }
    }

    fn is_human_readable(&self) -> bool {
        false
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

impl<'de> IntoDeserializer<'de, DeError> for Part<'de> {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use opentelemetry_proto::tonic::common::v1::{ArrayValue, KeyValue};

    use super::*;
    use crate::encode_request;
    use crate::fixtures::{events, names};

    fn records() -> Vec<LogRecord> {
        encode_request(&events(), &names(), SystemTime::now())
            .resource_logs
            .into_iter()
            .flat_map(|r| r.scope_logs)
            .flat_map(|s| s.log_records)
            .collect()
    }

    fn string(s: &str) -> AnyValue {
        crate::value::string(s)
    }

    #[test]
    fn every_event_reads_back_as_itself() {
        let events = events();
        let records = records();
        assert_eq!(records.len(), events.len());
        for (event, record) in events.iter().zip(&records) {
            assert_eq!(&read_event(record).expect("an event"), event);
            assert_eq!(record.time_unix_nano, event.time().unix_nanos());
        }
    }

    #[test]
    fn the_point_is_read_in_one_place() {
        let mut record = records().remove(0);
        let point = record.event_name.clone();
        assert_eq!(point_of(&record), Ok(point.as_str()));
        // Either alone names it.
        record.event_name.clear();
        assert_eq!(point_of(&record), Ok(point.as_str()));
        let mut named_only = records().remove(0);
        named_only.attributes.retain(|kv| kv.key != keys::POINT);
        assert_eq!(point_of(&named_only), Ok(point.as_str()));
        assert!(read_event(&named_only).is_ok());
        // Two names for one record, or none, is no event.
        let mut two = records().remove(0);
        two.event_name = "another_point".to_owned();
        assert_eq!(point_of(&two), Err(ReadError::PointsDiffer));
        assert_eq!(read_event(&two), Err(ReadError::PointsDiffer));
        named_only.event_name.clear();
        assert_eq!(point_of(&named_only), Err(ReadError::NoPoint));
    }

    #[test]
    fn what_the_mapping_does_not_write_is_refused() {
        let base = records().remove(0);
        let with = |key: &str, value: AnyValue| {
            let mut record = base.clone();
            record.attributes.retain(|kv| kv.key != key);
            record.attributes.insert(
                0,
                KeyValue {
                    key: key.to_owned(),
                    value: Some(value),
                    ..KeyValue::default()
                },
            );
            read_event(&record)
        };
        // An envelope attribute that is not a string, a kind the schema does not list.
        let number = AnyValue {
            value: Some(any_value::Value::IntValue(7)),
        };
        assert!(matches!(
            with(keys::EVENT_ID, number),
            Err(ReadError::Schema(_))
        ));
        assert!(matches!(
            with(keys::KIND, string("colour")),
            Err(ReadError::Schema(_))
        ));
        // A body in bytes, and a missing envelope attribute.
        let mut bytes = base.clone();
        bytes.body = Some(AnyValue {
            value: Some(any_value::Value::BytesValue(vec![1, 2])),
        });
        let refused = read_event(&bytes).expect_err("bytes");
        assert!(refused.to_string().contains("bytes"), "{refused}");
        let mut bare = base.clone();
        bare.attributes.retain(|kv| kv.key != keys::PRODUCT);
        let refused = read_event(&bare).expect_err("no product");
        assert!(refused.to_string().contains("product"), "{refused}");
    }

    #[test]
    fn a_huge_list_is_read_only_as_deep_as_any_point_admits() {
        let record = records()
            .into_iter()
            .find(|r| r.event_name == "non_default_setting_names")
            .expect("a names point");
        let mut huge = record.clone();
        huge.body = Some(AnyValue {
            value: Some(any_value::Value::ArrayValue(ArrayValue {
                values: (0..200_000).map(|n| string(&format!("N{n:06}"))).collect(),
            })),
        });
        let event = read_event(&huge).expect("read, to be refused by the value check");
        let candor_schema::Value::Names(names) = event.value() else {
            panic!("names");
        };
        assert_eq!(names.len(), candor_schema::MAX_ITEMS_LIMIT as usize + 1);
    }

    #[test]
    fn a_record_repeating_a_map_key_is_refused() {
        let record = records()
            .into_iter()
            .find(|r| r.event_name == "protect_rule_modes")
            .expect("a mode_by_name point");
        let mut twice = record.clone();
        if let Some(any_value::Value::KvlistValue(list)) =
            twice.body.as_mut().and_then(|b| b.value.as_mut())
        {
            let first = list.values[0].clone();
            list.values.push(first);
        }
        let refused = read_event(&twice).expect_err("a key twice");
        assert!(refused.to_string().contains("twice"), "{refused}");
    }
}
