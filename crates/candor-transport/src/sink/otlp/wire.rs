//! The OTLP/HTTP request body written straight from the events: the message
//! [`super::encode_request`] builds, in protobuf's wire format, without building it first.
//!
//! The generated message types hold every key and value as an owned `String`, so a batch of
//! 512 events cost about ten thousand small allocations and as many frees, most of the
//! sink's time. Here the envelope (resource, scope, the `candor.*` attributes, event name,
//! times, severity) is written from borrowed text into one buffer; only each event's body goes
//! through `super::any_value`, the one mapping of Candor's values to OTLP's, so a new kind of
//! value changes one place. The tests decode what this writes and compare it with
//! `encode_request`'s message for events of every kind.

use std::time::SystemTime;

use candor_schema::Event;
use prost::Message;

use super::{SemanticNames, any_value, nanos};

/// Protobuf wire types.
const VARINT: u64 = 0;
const FIXED64: u64 = 1;
const LENGTH_DELIMITED: u64 = 2;

/// A buffer that protobuf fields are appended to.
struct Wire {
    buf: Vec<u8>,
}

impl Wire {
    fn varint(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.buf.push((value as u8) | 0x80);
            value >>= 7;
        }
        self.buf.push(value as u8);
    }

    fn key(&mut self, field: u64, wire_type: u64) {
        self.varint((field << 3) | wire_type);
    }

    /// A string field; empty is the default and, as prost does, not written.
    fn string(&mut self, field: u64, text: &str) {
        if !text.is_empty() {
            self.key(field, LENGTH_DELIMITED);
            self.varint(text.len() as u64);
            self.buf.extend_from_slice(text.as_bytes());
        }
    }

    /// A `fixed64` field; zero is the default and not written.
    fn fixed64(&mut self, field: u64, value: u64) {
        if value != 0 {
            self.key(field, FIXED64);
            self.buf.extend_from_slice(&value.to_le_bytes());
        }
    }

    /// An enum or integer field; zero is the default and not written.
    fn uint(&mut self, field: u64, value: u64) {
        if value != 0 {
            self.key(field, VARINT);
            self.varint(value);
        }
    }

    /// A nested message: its fields are written by `body`, then its length is put in front.
    /// The length takes one byte until the message passes 127 bytes; longer ones (a log
    /// record, a scope's records) move their bytes once to make room.
    fn message(&mut self, field: u64, body: impl FnOnce(&mut Self)) {
        self.key(field, LENGTH_DELIMITED);
        let at = self.buf.len();
        self.buf.push(0);
        body(self);
        let len = (self.buf.len() - at - 1) as u64;
        if len < 0x80 {
            self.buf[at] = len as u8;
        } else {
            let mut prefix = Wire {
                buf: Vec::with_capacity(10),
            };
            prefix.varint(len);
            self.buf.splice(at..=at, prefix.buf);
        }
    }

    /// A `KeyValue` with a string value (an `AnyValue` whose string is always written: a
    /// oneof member has no default to leave out).
    fn string_attribute(&mut self, field: u64, key: &str, value: &str) {
        self.message(field, |kv| {
            kv.string(1, key);
            kv.message(2, |any| {
                any.key(1, LENGTH_DELIMITED);
                any.varint(value.len() as u64);
                any.buf.extend_from_slice(value.as_bytes());
            });
        });
    }

    /// A prost message's fields, as the body of a nested message.
    fn prost(&mut self, field: u64, message: &impl Message) {
        self.message(field, |w| {
            // Writing into a `Vec` cannot run out of room.
            let _ = message.encode(&mut w.buf);
        });
    }
}

/// The bytes of [`super::encode_request`]`(events, names, now)`.
pub(super) fn encode_request_bytes(
    events: &[Event],
    names: &SemanticNames,
    now: SystemTime,
) -> Vec<u8> {
    let observed = nanos(now);
    // About 330 bytes an event with the envelope Candor writes.
    let mut w = Wire {
        buf: Vec::with_capacity(512 + 400 * events.len()),
    };
    let mut rest = events;
    while let Some(first) = rest.first() {
        let key = (first.product(), first.product_version());
        let group = rest
            .iter()
            .position(|e| (e.product(), e.product_version()) != key)
            .unwrap_or(rest.len());
        let (same, next) = rest.split_at(group);
        rest = next;
        let points = names.get(first.product());
        // ExportLogsServiceRequest.resource_logs
        w.message(1, |resource_logs| {
            // ResourceLogs.resource
            resource_logs.message(1, |resource| {
                resource.string_attribute(1, "service.name", first.product());
                resource.string_attribute(1, "service.version", first.product_version());
                resource.string_attribute(1, "telemetry.sdk.name", "candor");
                resource.string_attribute(1, "telemetry.sdk.language", "rust");
                resource.string_attribute(1, "telemetry.sdk.version", env!("CARGO_PKG_VERSION"));
            });
            // ResourceLogs.scope_logs
            resource_logs.message(2, |scope_logs| {
                scope_logs.message(1, |scope| {
                    scope.string(1, "candor");
                    scope.string(2, env!("CARGO_PKG_VERSION"));
                });
                for event in same {
                    let semconv = points.and_then(|p| p.get(event.point()));
                    scope_logs.message(2, |record| {
                        write_record(record, event, semconv.map(String::as_str), observed);
                    });
                }
            });
        });
    }
    w.buf
}

/// A `LogRecord`'s fields, in the order prost writes them (by field number).
fn write_record(w: &mut Wire, event: &Event, semconv: Option<&str>, observed: u64) {
    let time = event.time().unix_nanos();
    let body = any_value(event.value());
    w.fixed64(1, time);
    w.uint(
        2,
        opentelemetry_proto::tonic::logs::v1::SeverityNumber::Info as u64,
    );
    w.string(3, "INFO");
    w.prost(5, &body);
    w.string_attribute(6, "candor.event_id", event.event_id());
    w.string_attribute(6, "candor.point", event.point());
    w.string_attribute(6, "candor.kind", event.value().kind_name());
    w.string_attribute(6, "candor.product", event.product());
    w.string_attribute(6, "candor.product_version", event.product_version());
    w.string_attribute(6, "candor.runtime_line", event.runtime_line());
    w.string_attribute(6, "candor.catalogue_revision", event.catalogue_revision());
    if let Some(install) = event.install_id() {
        w.string_attribute(6, "candor.install_id", install);
    }
    if let Some(name) = semconv {
        w.message(6, |kv| {
            kv.string(1, name);
            kv.prost(2, &body);
        });
    }
    w.fixed64(11, observed);
    w.string(12, event.point());
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::{Duration, UNIX_EPOCH};

    use candor_schema::{Catalogue, ExceptionValue, Stamp, Statistic, Value};
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;

    use super::super::encode_request;
    use super::*;

    fn stamp(version: &str, line: &str, n: usize, install_id: Option<&str>) -> Stamp {
        Stamp {
            event_id: format!("{n:032x}"),
            time: candor_schema::Timestamp::parse(&format!(
                "2026-11-21T09:30:{:02}.{n:03}Z",
                n % 60
            ))
            .expect("a time"),
            product_version: version.into(),
            runtime_line: line.into(),
            install_id: install_id.map(str::to_owned),
        }
    }

    /// One event (or more) of every kind of value, from three catalogues, with an install id,
    /// in changing product and version groups, and enough of them that the scope's length
    /// needs three bytes.
    fn events() -> Vec<Event> {
        let builtins = candor_schema::builtin::catalogues().expect("built-ins");
        let agent = builtins.get("contrast-dotnet-agent").expect("agent");
        let dashboard = builtins.get("aspire-dashboard").expect("dashboard");
        let vendor = Catalogue::from_path(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../candor/tests/fixtures/vendor.toml"
        )))
        .expect("the vendor fixture");
        let stats = |names: &[Statistic]| -> BTreeMap<Statistic, f64> {
            names
                .iter()
                .enumerate()
                .map(|(i, s)| (*s, i as f64 * 1.5))
                .collect()
        };
        let strings = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        let exception = |log: Option<&str>| {
            Value::Exception(ExceptionValue {
                type_name: "System.InvalidOperationException".into(),
                message: String::new(),
                frames: vec!["at Contrast.A()".into(), "at System.B()".into()],
                frames_dropped: 3,
                log_message: log.map(str::to_owned),
            })
        };
        let agent_values: Vec<(&str, Value)> = vec![
            ("assess_enabled", Value::Flag(true)),
            ("protect_enabled", Value::Flag(false)),
            ("contrast_instance", Value::Enumeration("hosted".into())),
            ("agent_version", Value::Version("21.5.1".into())),
            (
                "os_version",
                Value::Text("Debian GNU/Linux 12 (bookworm)".into()),
            ),
            ("kernel_version", Value::Text(String::new())),
            ("working_set", Value::Count(0)),
            ("iis_app_count", Value::Count(candor_schema::MAX_COUNT)),
            ("profiler_init_time", Value::Duration(1500.25)),
            ("sensor_init_time", Value::Duration(0.0)),
            (
                "contrast_http_response_time",
                Value::Histogram(candor_schema::HistogramValue {
                    count: 7,
                    sum: 912.5,
                    buckets: vec![(0, 2), (53, 4), (145, 1)],
                }),
            ),
            (
                "iis_apps_per_pool",
                Value::Distribution(stats(&[Statistic::Min, Statistic::Max, Statistic::Median])),
            ),
            ("machine_id", Value::Hashed("ab".repeat(32))),
            (
                "non_default_setting_names",
                Value::Names(vec!["AgentEnabled".into(), "LogLevel".into()]),
            ),
            ("disabled_assess_rules", Value::Names(Vec::new())),
            (
                "contrast_http_status_codes",
                Value::LabelCounts(BTreeMap::from([("200".into(), 40), ("503".into(), 0)])),
            ),
            (
                "protect_rule_modes",
                Value::ModeByName(strings(&[("sql-injection", "block"), ("xss", "monitor")])),
            ),
            ("sensor_exceptions", exception(Some("while starting"))),
            ("sensor_exceptions", exception(None)),
        ];
        let dashboard_values: Vec<(&str, Value)> = vec![
            (
                "page_navigation",
                Value::Properties(strings(&[("page", "resources"), ("view", "")])),
            ),
            ("request_language", Value::LanguageTag("en-US".into())),
            (
                "request_user_agent",
                Value::UserAgent("Chrome 126 on Windows".into()),
            ),
        ];
        let mut out = Vec::new();
        for round in 0..12 {
            let version = if round % 2 == 0 { "21.5.1" } else { "21.6.0" };
            for (point, value) in &agent_values {
                let s = stamp(version, "framework", out.len(), None);
                out.push(Event::declared(agent, point, value.clone(), s).expect(point));
            }
            for (point, value) in &dashboard_values {
                let s = stamp("9.3", "dashboard", out.len(), None);
                out.push(Event::declared(dashboard, point, value.clone(), s).expect(point));
            }
        }
        let s = stamp(
            "1.2.0",
            "main",
            out.len(),
            Some("5f0c3a1e-2b4d-4e6f-8a9b-0c1d2e3f4a5b"),
        );
        out.push(Event::declared(&vendor, "open_files", Value::Count(12), s).expect("vendor"));
        out
    }

    fn names() -> SemanticNames {
        let mut names = SemanticNames::new();
        let agent = names.entry("contrast-dotnet-agent".to_owned()).or_default();
        agent.insert("working_set".into(), "process.memory.usage".into());
        agent.insert("sensor_exceptions".into(), "exception.candor".into());
        agent.insert("contrast_http_response_time".into(), "http.duration".into());
        names
    }

    #[test]
    fn the_bytes_are_the_message_encode_request_builds() {
        let events = events();
        assert!(events.len() > 200);
        let now = UNIX_EPOCH + Duration::from_nanos(1_790_000_000_123_456_789);
        let bytes = encode_request_bytes(&events, &names(), now);
        let message = encode_request(&events, &names(), now);
        let decoded = ExportLogsServiceRequest::decode(bytes.as_slice()).expect("valid protobuf");
        assert_eq!(decoded, message);
        assert!(
            message.resource_logs.len() > 20,
            "product and version groups"
        );
        // Field for field in prost's order, so the very bytes agree too.
        assert!(bytes == message.encode_to_vec());
    }

    #[test]
    fn nothing_is_written_for_no_events_and_one_event_is_one_record() {
        let now = SystemTime::now();
        assert!(encode_request_bytes(&[], &names(), now).is_empty());
        let one = &events()[..1];
        let decoded = ExportLogsServiceRequest::decode(
            encode_request_bytes(one, &SemanticNames::new(), now).as_slice(),
        )
        .expect("valid");
        assert_eq!(decoded.resource_logs.len(), 1);
        assert_eq!(decoded.resource_logs[0].scope_logs[0].log_records.len(), 1);
    }

    #[test]
    fn lengths_take_as_many_bytes_as_they_need() {
        for len in [0_usize, 1, 127, 128, 16_383, 16_384, 2_097_152] {
            let mut w = Wire { buf: Vec::new() };
            w.message(1, |inner| inner.buf.extend(std::iter::repeat_n(7u8, len)));
            let mut expected = Vec::new();
            prost::encoding::bytes::encode(1, &vec![7u8; len], &mut expected);
            assert!(w.buf == expected, "{len}");
        }
    }
}
