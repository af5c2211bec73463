//! Request bodies to events: the JSON sink's array (gzip or plain) and OTLP/HTTP protobuf logs
//! as Candor's OTLP sink writes them (the event's envelope in `candor.*` attributes, the value
//! as the body).

use std::io::Read;
use std::time::{Duration, UNIX_EPOCH};

use flate2::read::GzDecoder;
use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use prost::Message;
use serde_json::{Map, Value, json};

use crate::received::ReceivedEvent;
use crate::validate::{Reason, Refusal};

/// The most events one request may carry.
pub const MAX_EVENTS_PER_REQUEST: usize = 100_000;

/// Why a body could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Decompressed, the body exceeds the cap (or holds too many events).
    #[error("the payload exceeds {0}")]
    TooLarge(String),
    /// Not a payload of this endpoint.
    #[error("malformed payload: {0}")]
    Malformed(String),
}

/// One item of a payload: an event of the schema, or why it is not one.
pub type Item = Result<ReceivedEvent, Refusal>;

/// The body, decompressed when it is gzip (by header or by its magic bytes), within `max` bytes.
pub fn decompress(body: &[u8], max: usize) -> Result<std::borrow::Cow<'_, [u8]>, DecodeError> {
    if body.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::with_capacity(body.len().saturating_mul(4).min(max));
        let read = GzDecoder::new(body)
            .take(max as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|e| DecodeError::Malformed(format!("bad gzip: {e}")))?;
        if read > max {
            return Err(DecodeError::TooLarge(format!("{max} bytes decompressed")));
        }
        return Ok(std::borrow::Cow::Owned(out));
    }
    if body.len() > max {
        return Err(DecodeError::TooLarge(format!("{max} bytes")));
    }
    Ok(std::borrow::Cow::Borrowed(body))
}

/// The largest single event, encoded: many times what any declared point needs (an exception
/// with every frame is under 100 KiB). A larger item is refused unread, so that no one item can
/// make the decoder allocate many times its size.
pub const MAX_EVENT_BYTES: usize = 1 << 20;

/// A JSON array of events.
pub fn json_events(body: &[u8]) -> Result<Vec<Item>, DecodeError> {
    Ok(json_items(body)?.into_iter().map(json_item).collect())
}

/// The items of a JSON array, each still encoded, at most [`MAX_EVENTS_PER_REQUEST`] of them.
///
/// The whole body is first read without building anything (its syntax checked, its items
/// counted), then cut into items: an array of millions of tiny items (`[0,0,…]`, a gzip bomb of
/// a few KiB) is refused after counting, instead of growing a tree many times the body's size.
pub fn json_items(body: &[u8]) -> Result<Vec<&[u8]>, DecodeError> {
    struct Count;
    impl<'de> serde::de::Visitor<'de> for Count {
        type Value = Result<usize, DecodeError>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON array of events")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Self::Value, A::Error> {
            let mut count = 0;
            while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {
                if count == MAX_EVENTS_PER_REQUEST {
                    return Ok(Err(DecodeError::TooLarge(format!(
                        "{MAX_EVENTS_PER_REQUEST} events"
                    ))));
                }
                count += 1;
            }
            Ok(Ok(count))
        }
    }
    let malformed =
        |e: serde_json::Error| DecodeError::Malformed(format!("not a JSON array of events: {e}"));
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let count =
        serde::Deserializer::deserialize_seq(&mut deserializer, Count).map_err(malformed)??;
    deserializer.end().map_err(malformed)?;
    let items = split_array(body);
    if items.len() != count {
        return Err(DecodeError::Malformed(
            "not a JSON array of events".to_owned(),
        ));
    }
    Ok(items)
}

/// The items of a JSON array already known to be well formed: cut at the commas outside
/// strings and nested values.
fn split_array(body: &[u8]) -> Vec<&[u8]> {
    let mut items = Vec::new();
    let Some(open) = body.iter().position(|b| *b == b'[') else {
        return items;
    };
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    let mut start = open + 1;
    for (i, &b) in body.iter().enumerate().skip(open + 1) {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => depth += 1,
            b']' | b'}' if depth > 0 => depth -= 1,
            b',' | b']' if depth == 0 => {
                let item = body[start..i].trim_ascii();
                if !item.is_empty() {
                    items.push(item);
                }
                start = i + 1;
                if b == b']' {
                    break;
                }
            }
            _ => {}
        }
    }
    items
}

/// One item of a JSON array as an event, or why it is not one.
pub fn json_item(encoded: &[u8]) -> Item {
    if encoded.len() > MAX_EVENT_BYTES {
        return Err(too_big());
    }
    serde_json::from_slice::<ReceivedEvent>(encoded).map_err(|e| Refusal {
        reason: Reason::Malformed,
        detail: format!("not an event of the published schema: {e}"),
        product: None,
    })
}

fn item(value: Value) -> Item {
    serde_json::from_value::<ReceivedEvent>(value).map_err(|e| Refusal {
        reason: Reason::Malformed,
        detail: format!("not an event of the published schema: {e}"),
        product: None,
    })
}

fn too_big() -> Refusal {
    Refusal {
        reason: Reason::OutOfBounds,
        detail: format!("an event larger than {MAX_EVENT_BYTES} bytes"),
        product: None,
    }
}

/// OTLP/HTTP protobuf logs.
pub fn otlp_events(body: &[u8]) -> Result<Vec<Item>, DecodeError> {
    Ok(otlp_records(body)?.into_iter().map(otlp_item).collect())
}

/// The log records of an OTLP logs request, each still encoded, at most
/// [`MAX_EVENTS_PER_REQUEST`] of them.
///
/// Only the three enclosing levels (request, resource logs, scope logs) are walked, and
/// nothing else is decoded: a decoded record costs a hundred times the two bytes an empty one
/// takes on the wire, so a request is counted before any record is built.
pub fn otlp_records(body: &[u8]) -> Result<Vec<&[u8]>, DecodeError> {
    // ExportLogsServiceRequest.resource_logs = 1; ResourceLogs.scope_logs = 2;
    // ScopeLogs.log_records = 2.
    let mut records = Vec::new();
    for resource in Fields::new(body, 1) {
        for scope in Fields::new(resource?, 2) {
            for record in Fields::new(scope?, 2) {
                if records.len() == MAX_EVENTS_PER_REQUEST {
                    return Err(DecodeError::TooLarge(format!(
                        "{MAX_EVENTS_PER_REQUEST} events"
                    )));
                }
                records.push(record?);
            }
        }
    }
    Ok(records)
}

/// The length-delimited fields with one number of an encoded protobuf message, in order;
/// every other field is skipped by its wire type.
struct Fields<'a> {
    rest: &'a [u8],
    wanted: u64,
}

impl<'a> Fields<'a> {
    fn new(message: &'a [u8], wanted: u64) -> Self {
        Self {
            rest: message,
            wanted,
        }
    }

    fn next_field(&mut self) -> Result<Option<&'a [u8]>, DecodeError> {
        let malformed = || DecodeError::Malformed("not OTLP logs: bad protobuf framing".into());
        while !self.rest.is_empty() {
            let key = prost::encoding::decode_varint(&mut self.rest).map_err(|_| malformed())?;
            let skip = match key & 7 {
                0 => {
                    prost::encoding::decode_varint(&mut self.rest).map_err(|_| malformed())?;
                    0
                }
                1 => 8,
                5 => 4,
                2 => {
                    let len =
                        prost::encoding::decode_varint(&mut self.rest).map_err(|_| malformed())?;
                    let len = usize::try_from(len)
                        .ok()
                        .filter(|l| *l <= self.rest.len())
                        .ok_or_else(malformed)?;
                    let (value, rest) = self.rest.split_at(len);
                    self.rest = rest;
                    if key >> 3 == self.wanted {
                        return Ok(Some(value));
                    }
                    0
                }
                _ => return Err(malformed()),
            };
            self.rest = self.rest.get(skip..).ok_or_else(malformed)?;
        }
        Ok(None)
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<&'a [u8], DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_field() {
            Ok(Some(field)) => Some(Ok(field)),
            Ok(None) => None,
            Err(e) => {
                self.rest = &[];
                Some(Err(e))
            }
        }
    }
}

/// One encoded log record as an event, or why it is not one.
pub fn otlp_item(encoded: &[u8]) -> Item {
    if encoded.len() > MAX_EVENT_BYTES {
        return Err(too_big());
    }
    let record = LogRecord::decode(encoded).map_err(|e| Refusal {
        reason: Reason::Malformed,
        detail: format!("not an OTLP log record: {e}"),
        product: None,
    })?;
    let attribute = |key: &str| {
        record
            .attributes
            .iter()
            .find(|kv| kv.key == key)
            .and_then(|kv| kv.value.as_ref())
            .map(to_json)
    };
    let mut event = Map::new();
    for (field, key) in [
        ("event_id", "candor.event_id"),
        ("product", "candor.product"),
        ("product_version", "candor.product_version"),
        ("runtime_line", "candor.runtime_line"),
        ("catalogue_revision", "candor.catalogue_revision"),
        ("install_id", "candor.install_id"),
        ("point", "candor.point"),
    ] {
        if let Some(v) = attribute(key) {
            event.insert(field.to_owned(), v);
        }
    }
    let time = UNIX_EPOCH + Duration::from_nanos(record.time_unix_nano);
    event.insert(
        "time".to_owned(),
        json!(humantime::format_rfc3339_nanos(time).to_string()),
    );
    let data = record.body.as_ref().map(to_json).unwrap_or(Value::Null);
    let kind = attribute("candor.kind").unwrap_or(Value::Null);
    event.insert("value".to_owned(), json!({ "kind": kind, "data": data }));
    item(Value::Object(event))
}

fn to_json(value: &AnyValue) -> Value {
    match &value.value {
        Some(any_value::Value::StringValue(s)) => json!(s),
        Some(any_value::Value::BoolValue(b)) => json!(b),
        Some(any_value::Value::IntValue(i)) => json!(i),
        Some(any_value::Value::DoubleValue(d)) => json!(d),
        Some(any_value::Value::ArrayValue(a)) => {
            Value::Array(a.values.iter().map(to_json).collect())
        }
        Some(any_value::Value::KvlistValue(kv)) => Value::Object(
            kv.values
                .iter()
                .map(|kv| {
                    (
                        kv.key.clone(),
                        kv.value.as_ref().map(to_json).unwrap_or(Value::Null),
                    )
                })
                .collect(),
        ),
        // Bytes and string-table references are not part of Candor's mapping.
        Some(_) | None => Value::Null,
    }
}
