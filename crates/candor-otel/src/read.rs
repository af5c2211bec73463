//! An OpenTelemetry log record read as the raw value of a data point.

use std::collections::HashMap;

use candor::{Catalogue, Input};
use candor_schema::ValueType;
use opentelemetry::logs::AnyValue;
use opentelemetry_sdk::logs::SdkLogRecord;
use serde_json::{Map, Value as Json};

/// How deep a body may nest: no declared kind needs more than an object of lists.
const MAX_DEPTH: usize = 4;

/// The declared points by id, with what reading a value needs.
#[derive(Debug)]
pub(crate) struct Points {
    by_id: HashMap<String, Shape>,
}

/// A point's kind and the length of one unit of its durations.
#[derive(Debug)]
pub(crate) struct Shape {
    kind: ValueType,
    unit_ms: f64,
}

impl Points {
    pub(crate) fn of(catalogue: &Catalogue) -> Self {
        let by_id = catalogue
            .spec()
            .data_points
            .iter()
            .map(|p| {
                let shape = Shape {
                    kind: p.value.clone(),
                    unit_ms: candor_collect::unit_in_ms(p.unit),
                };
                (p.id.clone(), shape)
            })
            .collect();
        Self { by_id }
    }

    pub(crate) fn get(&self, id: &str) -> Option<&Shape> {
        self.by_id.get(id)
    }
}

/// The record's value for a point of `shape`, or why it cannot be read.
pub(crate) fn input(shape: &Shape, record: &SdkLogRecord) -> Result<Input, String> {
    let json = match (&shape.kind, record.body()) {
        (ValueType::Exception { .. }, Some(map @ AnyValue::Map(_))) => json(map, 0)?,
        // The value in the `exception.*` attributes, the body (if any) its log message.
        (ValueType::Exception { .. }, _) => exception(record)?,
        (_, Some(body)) => json(body, 0)?,
        (_, None) => return Err("the event has no body".to_owned()),
    };
    Input::from_json(&shape.kind, shape.unit_ms, &json).map_err(|e| format!("its body: {e}"))
}

/// An exception from the semantic-convention attributes.
fn exception(record: &SdkLogRecord) -> Result<Json, String> {
    let attribute = |key: &str| {
        record
            .attributes_iter()
            .find(|(k, _)| k.as_str() == key)
            .map(|(_, v)| v)
    };
    let text = |key: &str| -> Result<Option<Json>, String> {
        match attribute(key) {
            None => Ok(None),
            Some(AnyValue::String(s)) => Ok(Some(Json::String(s.as_str().to_owned()))),
            Some(_) => Err(format!("the attribute {key} is not a string")),
        }
    };
    let mut object = Map::new();
    let type_name = text("exception.type")?
        .ok_or("neither a map body nor an exception.type attribute".to_owned())?;
    object.insert("type_name".to_owned(), type_name);
    for (key, field) in [
        ("exception.message", "message"),
        ("exception.stacktrace", "stack"),
    ] {
        if let Some(value) = text(key)? {
            object.insert(field.to_owned(), value);
        }
    }
    match record.body() {
        None => {}
        Some(AnyValue::String(s)) => {
            object.insert(
                "log_message".to_owned(),
                Json::String(s.as_str().to_owned()),
            );
        }
        Some(_) => return Err("the log message (the body) is not a string".to_owned()),
    }
    Ok(Json::Object(object))
}

/// An OpenTelemetry value as the JSON `candor send` reads.
fn json(value: &AnyValue, depth: usize) -> Result<Json, String> {
    if depth > MAX_DEPTH {
        return Err(format!("its body nests deeper than {MAX_DEPTH} levels"));
    }
    Ok(match value {
        AnyValue::Int(i) => Json::from(*i),
        AnyValue::Double(d) => serde_json::Number::from_f64(*d)
            .map(Json::Number)
            .ok_or("its body is not a finite number")?,
        AnyValue::String(s) => Json::String(s.as_str().to_owned()),
        AnyValue::Boolean(b) => Json::Bool(*b),
        AnyValue::ListAny(items) => Json::Array(
            items
                .iter()
                .map(|v| json(v, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        AnyValue::Map(map) => Json::Object(
            map.iter()
                .map(|(k, v)| Ok((k.as_str().to_owned(), json(v, depth + 1)?)))
                .collect::<Result<_, String>>()?,
        ),
        AnyValue::Bytes(_) => {
            return Err("its body is bytes, which no kind of value reads".to_owned());
        }
        _ => return Err("its body is of a kind this bridge does not know".to_owned()),
    })
}
