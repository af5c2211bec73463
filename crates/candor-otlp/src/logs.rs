//! Events as an OTLP logs export request (the message; [`crate::encode_request_bytes`] writes
//! the same bytes without building it).

use std::time::SystemTime;

use candor_schema::{Event, Timestamp};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs, SeverityNumber};
use opentelemetry_proto::tonic::resource::v1::Resource;

use crate::keys;
use crate::value::{any_value, kv, string};

pub use candor_schema::SemanticNames;

/// The OTLP export request for a batch: one resource per product and version (service.name,
/// service.version, telemetry.sdk.*), one scope (`candor`), one log record per event; a point
/// that `names` gives a semantic-convention name also carries its value under that name. `now`
/// is each record's observed time.
pub fn encode_request(
    events: &[Event],
    names: &SemanticNames,
    now: SystemTime,
) -> ExportLogsServiceRequest {
    let observed = Timestamp::from_system_time(now).unix_nanos();
    let mut resource_logs: Vec<ResourceLogs> = Vec::new();
    let mut current: Option<(&str, &str)> = None;
    for event in events {
        let key = (event.product(), event.product_version());
        if current != Some(key) {
            current = Some(key);
            resource_logs.push(ResourceLogs {
                resource: Some(Resource {
                    attributes: vec![
                        kv(keys::SERVICE_NAME, string(event.product())),
                        kv(keys::SERVICE_VERSION, string(event.product_version())),
                        kv(keys::SDK_NAME, string(keys::SCOPE_NAME)),
                        kv(keys::SDK_LANGUAGE, string(keys::LANGUAGE)),
                        kv(keys::SDK_VERSION, string(keys::SCOPE_VERSION)),
                    ],
                    ..Resource::default()
                }),
                scope_logs: vec![ScopeLogs {
                    scope: Some(InstrumentationScope {
                        name: keys::SCOPE_NAME.to_owned(),
                        version: keys::SCOPE_VERSION.to_owned(),
                        ..InstrumentationScope::default()
                    }),
                    log_records: Vec::new(),
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            });
        }
        if let Some(scope) = resource_logs
            .last_mut()
            .and_then(|r| r.scope_logs.last_mut())
        {
            let semconv = names
                .get(event.product())
                .and_then(|points| points.get(event.point()));
            scope
                .log_records
                .push(record(event, semconv.map(String::as_str), observed));
        }
    }
    ExportLogsServiceRequest { resource_logs }
}

/// One event's log record.
fn record(event: &Event, semconv: Option<&str>, observed: u64) -> LogRecord {
    let mut attributes = vec![
        kv(keys::EVENT_ID, string(event.event_id())),
        kv(keys::POINT, string(event.point())),
        kv(keys::KIND, string(event.value().kind_name())),
        kv(keys::PRODUCT, string(event.product())),
        kv(keys::PRODUCT_VERSION, string(event.product_version())),
        kv(keys::RUNTIME_LINE, string(event.runtime_line())),
        kv(keys::CATALOGUE_REVISION, string(event.catalogue_revision())),
    ];
    if let Some(install) = event.install_id() {
        attributes.push(kv(keys::INSTALL_ID, string(install)));
    }
    if let Some(name) = semconv {
        attributes.push(kv(name, any_value(event.value())));
    }
    LogRecord {
        time_unix_nano: event.time().unix_nanos(),
        observed_time_unix_nano: observed,
        severity_number: SeverityNumber::Info as i32,
        severity_text: keys::SEVERITY_TEXT.to_owned(),
        body: Some(any_value(event.value())),
        attributes,
        event_name: event.point().to_owned(),
        ..LogRecord::default()
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value};

    use super::*;
    use crate::value::string;

    const AGENT: &str = "contrast-dotnet-agent";

    /// Events are made only through a catalogue (`Event::declared`): the built-in agent's.
    fn event(version: &str) -> Event {
        let agent = candor_schema::builtin::catalogues()
            .expect("built-ins")
            .get(AGENT)
            .expect("agent");
        let stamp = candor_schema::Stamp {
            event_id: "0".repeat(32),
            time: Timestamp::parse("2026-11-21T09:30:00.000Z").expect("a time"),
            product_version: version.into(),
            runtime_line: "core".into(),
            install_id: None,
        };
        Event::declared(agent, "working_set", candor_schema::Value::Count(7), stamp)
            .expect("declared")
    }

    #[test]
    fn resources_name_the_service_and_the_sdk() {
        let named_in = |request: &ExportLogsServiceRequest, r: usize| {
            request.resource_logs[r].scope_logs[0].log_records[0]
                .attributes
                .iter()
                .any(|kv| {
                    kv.key == "process.runtime.version"
                        && kv.value
                            == Some(AnyValue {
                                value: Some(any_value::Value::IntValue(7)),
                            })
                })
        };
        let events = [event("4.0.0"), event("4.0.0"), event("4.1.0")];
        // Names given for another product name nothing of this one.
        let mut names = SemanticNames::new();
        names
            .entry("aspire-dashboard".to_owned())
            .or_default()
            .insert(
                "working_set".to_owned(),
                "process.runtime.version".to_owned(),
            );
        let request = encode_request(&events, &names, SystemTime::now());
        assert!(
            !named_in(&request, 0),
            "another product's names apply to nothing here"
        );
        let mut names = SemanticNames::new();
        names.entry(AGENT.to_owned()).or_default().insert(
            "working_set".to_owned(),
            "process.runtime.version".to_owned(),
        );
        let request = encode_request(&events, &names, SystemTime::now());
        assert!(
            named_in(&request, 1),
            "the product's point carries the semantic name"
        );
        assert_eq!(request.resource_logs.len(), 2);
        let attrs = &request.resource_logs[0]
            .resource
            .as_ref()
            .expect("resource")
            .attributes;
        let get = |k: &str| {
            attrs
                .iter()
                .find(|kv| kv.key == k)
                .and_then(|kv| kv.value.clone())
        };
        assert_eq!(get("service.name"), Some(string(AGENT)));
        assert_eq!(get("service.version"), Some(string("4.0.0")));
        assert_eq!(get("telemetry.sdk.name"), Some(string("candor")));
        assert_eq!(get("telemetry.sdk.language"), Some(string("rust")));
        assert!(get("telemetry.sdk.version").is_some());
        assert_eq!(request.resource_logs[0].scope_logs[0].log_records.len(), 2);
        assert_eq!(
            request.resource_logs[0].scope_logs[0].log_records[0].time_unix_nano,
            Timestamp::parse("2026-11-21T09:30:00.000Z")
                .expect("time")
                .unix_nanos()
        );
    }
}
