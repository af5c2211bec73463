//! OTLP log records to [`Received`], read with Candor's one OTLP mapping (`candor-otlp`): the
//! point by `candor_otlp::point_of`, the envelope by its keys, the body by `read_any`. A record
//! that is not one of Candor's (a host's own logs, through the bridge) is kept with what it has.

use candor_otlp::{keys, point_of, read_any};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use serde_json::Value;

use crate::Received;

pub(crate) fn events(request: &ExportLogsServiceRequest) -> Vec<Received> {
    let mut out = Vec::new();
    for resource in &request.resource_logs {
        for scope in &resource.scope_logs {
            for record in &scope.log_records {
                let attribute =
                    |key: &str| candor_otlp::attribute_str(record, key).unwrap_or_default();
                out.push(Received {
                    event_id: attribute(keys::EVENT_ID).to_owned(),
                    point: point_of(record)
                        .unwrap_or(record.event_name.as_str())
                        .to_owned(),
                    product: attribute(keys::PRODUCT).to_owned(),
                    value: record
                        .body
                        .as_ref()
                        .and_then(|body| read_any::<Value>(body).ok())
                        .unwrap_or(Value::Null),
                });
            }
        }
    }
    out
}
