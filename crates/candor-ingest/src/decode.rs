//! Request bodies to events: the JSON sink's array (gzip or plain) and OTLP/HTTP protobuf logs
//! as Candor's OTLP sink writes them (the event's envelope in `candor.*` attributes, the value
//! as the body).

use std::io::Read;
use std::time::{Duration, UNIX_EPOCH};

use flate2::read::GzDecoder;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value};
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

/// A JSON array of events.
pub fn json_events(body: &[u8]) -> Result<Vec<Item>, DecodeError> {
    // The common case, every item an event, in one pass; only a payload with a bad item is
    // read a second time, item by item, to say which.
    if let Ok(events) = serde_json::from_slice::<Vec<ReceivedEvent>>(body) {
        if events.len() > MAX_EVENTS_PER_REQUEST {
            return Err(DecodeError::TooLarge(format!(
                "{MAX_EVENTS_PER_REQUEST} events"
            )));
        }
        return Ok(events.into_iter().map(Ok).collect());
    }
    let items: Vec<Value> = serde_json::from_slice(body)
        .map_err(|e| DecodeError::Malformed(format!("not a JSON array of events: {e}")))?;
    if items.len() > MAX_EVENTS_PER_REQUEST {
        return Err(DecodeError::TooLarge(format!(
            "{MAX_EVENTS_PER_REQUEST} events"
        )));
    }
    Ok(items.into_iter().map(item).collect())
}

fn item(value: Value) -> Item {
    serde_json::from_value::<ReceivedEvent>(value).map_err(|e| Refusal {
        reason: Reason::Malformed,
        detail: format!("not an event of the published schema: {e}"),
        product: None,
    })
}

/// OTLP/HTTP protobuf logs.
pub fn otlp_events(body: &[u8]) -> Result<Vec<Item>, DecodeError> {
    let request = ExportLogsServiceRequest::decode(body)
        .map_err(|e| DecodeError::Malformed(format!("not OTLP logs: {e}")))?;
    let count: usize = request
        .resource_logs
        .iter()
        .flat_map(|r| &r.scope_logs)
        .map(|s| s.log_records.len())
        .sum();
    if count > MAX_EVENTS_PER_REQUEST {
        return Err(DecodeError::TooLarge(format!(
            "{MAX_EVENTS_PER_REQUEST} events"
        )));
    }
    let mut out = Vec::with_capacity(count);
    for resource in request.resource_logs {
        for scope in resource.scope_logs {
            for record in scope.log_records {
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
                out.push(item(Value::Object(event)));
            }
        }
    }
    Ok(out)
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
