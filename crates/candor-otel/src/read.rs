//! An OpenTelemetry log record read as the raw value of a data point.

use std::collections::HashMap;

use candor::{Catalogue, Input};
use candor_schema::ValueType;
use opentelemetry::logs::AnyValue;
use opentelemetry_sdk::logs::SdkLogRecord;
use serde_json::{Map, Value as Json};

/// How deep a body may nest: no declared kind needs more than an object of lists.
const MAX_DEPTH: usize = 4;
/// The longest string a body (or an `exception.*` attribute) may hold, in bytes: the C ABI's
/// `CANDOR_MAX_STRING_BYTES`.
pub(crate) const MAX_STRING_BYTES: usize = 64 * 1024;
/// The most items (list items and map entries, all levels together) a body may hold: the C
/// ABI's `CANDOR_MAX_ITEMS`.
pub(crate) const MAX_ITEMS: usize = 4096;
/// The most bytes of text (strings and map keys, all together) a body may hold. With the
/// other caps, what is copied on the host's thread before a body is refused stays below it.
pub(crate) const MAX_BODY_BYTES: usize = 1024 * 1024;

/// What is left of a body's allowance while it is read. Every cap is checked before the part
/// it covers is copied, so an oversized body costs the host's thread a look at its lengths,
/// never a copy.
struct Budget {
    items: usize,
    bytes: usize,
}

impl Budget {
    fn new() -> Self {
        Self {
            items: MAX_ITEMS,
            bytes: MAX_BODY_BYTES,
        }
    }

    /// Takes `n` items (list items, map entries) from the allowance.
    fn items(&mut self, n: usize) -> Result<(), String> {
        self.items = self.items.checked_sub(n).ok_or_else(|| {
            format!("its body has more than {MAX_ITEMS} items (lists and maps together)")
        })?;
        Ok(())
    }

    /// Copies `text` if it fits the allowance.
    fn text(&mut self, text: &str, what: &str) -> Result<String, String> {
        if text.len() > MAX_STRING_BYTES {
            return Err(format!(
                "{what} is {} bytes; at most {MAX_STRING_BYTES} are read",
                text.len()
            ));
        }
        self.bytes = self
            .bytes
            .checked_sub(text.len())
            .ok_or_else(|| format!("its body holds more than {MAX_BODY_BYTES} bytes of text"))?;
        Ok(text.to_owned())
    }
}

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
    let budget = &mut Budget::new();
    let json = match (&shape.kind, record.body()) {
        (ValueType::Exception { .. }, Some(map @ AnyValue::Map(_))) => json(map, 0, budget)?,
        // The value in the `exception.*` attributes, the body (if any) its log message.
        (ValueType::Exception { .. }, _) => exception(record, budget)?,
        (_, Some(body)) => json(body, 0, budget)?,
        (_, None) => return Err("the event has no body".to_owned()),
    };
    let input = Input::from_json(&shape.kind, shape.unit_ms, &json)
        .map_err(|e| format!("its body: {e}"))?;
    if let Input::Samples(samples) = &input
        && let Some((i, bad)) = samples
            .iter()
            .enumerate()
            .find(|(_, s)| !(s.is_finite() && **s >= 0.0))
    {
        // As the C ABI refuses it, and as the facade refuses a negative duration.
        return Err(format!(
            "its body's measurement {i} is {bad}; measurements are finite and not negative"
        ));
    }
    Ok(input)
}

/// An exception from the semantic-convention attributes.
fn exception(record: &SdkLogRecord, budget: &mut Budget) -> Result<Json, String> {
    let attribute = |key: &str| {
        record
            .attributes_iter()
            .find(|(k, _)| k.as_str() == key)
            .map(|(_, v)| v)
    };
    let mut text = |key: &str| -> Result<Option<Json>, String> {
        match attribute(key) {
            None => Ok(None),
            Some(AnyValue::String(s)) => Ok(Some(Json::String(
                budget.text(s.as_str(), &format!("the attribute {key}"))?,
            ))),
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
            let message = budget.text(s.as_str(), "the log message (the body)")?;
            object.insert("log_message".to_owned(), Json::String(message));
        }
        Some(_) => return Err("the log message (the body) is not a string".to_owned()),
    }
    Ok(Json::Object(object))
}

/// An OpenTelemetry value as the JSON `candor send` reads, within `budget`.
fn json(value: &AnyValue, depth: usize, budget: &mut Budget) -> Result<Json, String> {
    if depth > MAX_DEPTH {
        return Err(format!("its body nests deeper than {MAX_DEPTH} levels"));
    }
    Ok(match value {
        AnyValue::Int(i) => Json::from(*i),
        AnyValue::Double(d) => serde_json::Number::from_f64(*d)
            .map(Json::Number)
            .ok_or("its body is not a finite number")?,
        AnyValue::String(s) => Json::String(budget.text(s.as_str(), "a string of its body")?),
        AnyValue::Boolean(b) => Json::Bool(*b),
        AnyValue::ListAny(items) => {
            budget.items(items.len())?;
            Json::Array(
                items
                    .iter()
                    .map(|v| json(v, depth + 1, budget))
                    .collect::<Result<_, _>>()?,
            )
        }
        AnyValue::Map(map) => {
            budget.items(map.len())?;
            let mut object = Map::new();
            for (k, v) in map.iter() {
                let key = budget.text(k.as_str(), "a key of its body")?;
                object.insert(key, json(v, depth + 1, budget)?);
            }
            Json::Object(object)
        }
        AnyValue::Bytes(_) => {
            return Err("its body is bytes, which no kind of value reads".to_owned());
        }
        _ => return Err("its body is of a kind this bridge does not know".to_owned()),
    })
}
