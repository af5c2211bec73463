//! OTLP log records to [`Received`].

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value};
use serde_json::{Map, Value, json};

use crate::Received;

pub(crate) fn events(request: &ExportLogsServiceRequest) -> Vec<Received> {
    let mut out = Vec::new();
    for resource in &request.resource_logs {
        for scope in &resource.scope_logs {
            for record in &scope.log_records {
                let attribute = |key: &str| {
                    record
                        .attributes
                        .iter()
                        .find(|kv| kv.key == key)
                        .and_then(|kv| kv.value.as_ref())
                        .map(to_json)
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default()
                };
                out.push(Received {
                    event_id: attribute("candor.event_id"),
                    point: record.event_name.clone(),
                    product: attribute("candor.product"),
                    value: record.body.as_ref().map(to_json).unwrap_or(Value::Null),
                });
            }
        }
    }
    out
}

pub(crate) fn to_json(value: &AnyValue) -> Value {
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
                .collect::<Map<_, _>>(),
        ),
        Some(any_value::Value::BytesValue(b)) => json!(b),
        Some(any_value::Value::StringValueStrindex(i)) => json!({ "strindex": i }),
        None => Value::Null,
    }
}
