//! OTLP logs through `opentelemetry-otlp`: each event one log record whose EventName is the
//! data point's id, with the envelope as attributes and the value as the body.
//!
//! Candor calls the exporter directly, one spooled batch at a time, instead of going through
//! the SDK's batch processor: the spool already batches, and a direct call returns whether
//! the batch was accepted, which the spool needs to know before it deletes anything. The SDK's
//! own retries are turned off so there is one retry policy, the pipeline's.
//!
//! The HTTP exporter uses reqwest's blocking client, run on the pipeline's sender thread (no
//! async runtime there, so the blocking client is safe). gRPC needs tokio: the sink owns a
//! current-thread runtime and blocks on each export.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::SystemTime;

use candor_schema::{Event, Value};
use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry::{InstrumentationScope, Key};
use opentelemetry_otlp::{RetryPolicy, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::logs::{LogBatch, LogExporter as _, SdkLogger, SdkLoggerProvider};

use super::{Outcome, Sink, Timeouts, classify_status};
use crate::TransportError;
use crate::endpoint::Endpoint;

/// OTLP's two transports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtlpProtocol {
    /// HTTP with protobuf bodies (`/v1/logs`).
    #[cfg(feature = "otlp-http")]
    HttpProtobuf,
    /// gRPC.
    #[cfg(feature = "otlp-grpc")]
    Grpc,
}

/// Exports batches as OTLP log records.
pub struct OtlpSink {
    exporter: opentelemetry_otlp::LogExporter,
    endpoint: Endpoint,
    protocol: OtlpProtocol,
    logger: SdkLogger,
    scope: InstrumentationScope,
    resource_for: Option<String>,
    #[cfg(feature = "otlp-grpc")]
    runtime: Option<tokio::runtime::Runtime>,
}

impl std::fmt::Debug for OtlpSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtlpSink")
            .field("endpoint", &self.endpoint)
            .field("protocol", &self.protocol)
            .finish_non_exhaustive()
    }
}

impl OtlpSink {
    /// A sink to `endpoint`: for HTTP the full logs URL (`http://127.0.0.1:4318/v1/logs`),
    /// for gRPC the server (`http://127.0.0.1:4317`).
    pub fn new(
        endpoint: Endpoint,
        protocol: OtlpProtocol,
        timeouts: Timeouts,
    ) -> Result<Self, TransportError> {
        let build_error = |e: opentelemetry_otlp::ExporterBuildError| {
            TransportError::Config(format!("cannot build the OTLP exporter: {e}"))
        };
        #[cfg(feature = "otlp-grpc")]
        let mut runtime = None;
        let exporter = match protocol {
            #[cfg(feature = "otlp-http")]
            OtlpProtocol::HttpProtobuf => {
                use opentelemetry_otlp::WithHttpConfig;
                let client = reqwest::blocking::Client::builder()
                    .connect_timeout(timeouts.connect)
                    .timeout(timeouts.request)
                    .build()
                    .map_err(|e| TransportError::Config(format!("HTTP client: {e}")))?;
                opentelemetry_otlp::LogExporter::builder()
                    .with_http()
                    .with_http_client(client)
                    .with_endpoint(endpoint.url())
                    .with_timeout(timeouts.request)
                    .with_retry_policy(RetryPolicy::disabled())
                    .build()
                    .map_err(build_error)?
            }
            #[cfg(feature = "otlp-grpc")]
            OtlpProtocol::Grpc => {
                use opentelemetry_otlp::WithTonicConfig;
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| TransportError::Config(format!("tokio runtime: {e}")))?;
                let exporter = {
                    let _guard = rt.enter();
                    opentelemetry_otlp::LogExporter::builder()
                        .with_tonic()
                        .with_endpoint(endpoint.url())
                        .with_timeout(timeouts.request)
                        .with_retry_policy(RetryPolicy::disabled())
                        .build()
                        .map_err(build_error)?
                };
                runtime = Some(rt);
                exporter
            }
        };
        // A provider with no processor: only used to make log records for the exporter.
        let provider = SdkLoggerProvider::builder().build();
        let scope = InstrumentationScope::builder("candor")
            .with_version(env!("CARGO_PKG_VERSION"))
            .build();
        let logger = provider.logger_with_scope(scope.clone());
        Ok(Self {
            exporter,
            endpoint,
            protocol,
            logger,
            scope,
            resource_for: None,
            #[cfg(feature = "otlp-grpc")]
            runtime,
        })
    }

    fn record(&self, event: &Event) -> opentelemetry_sdk::logs::SdkLogRecord {
        let mut record = self.logger.create_log_record();
        record.set_event_name(intern(&event.point));
        let time = humantime::parse_rfc3339(&event.time).unwrap_or_else(|_| SystemTime::now());
        record.set_timestamp(time);
        record.set_observed_timestamp(SystemTime::now());
        record.set_severity_number(Severity::Info);
        record.set_body(any_value(&event.value));
        record.add_attribute("candor.event_id", event.event_id.clone());
        record.add_attribute("candor.point", event.point.clone());
        record.add_attribute("candor.kind", event.value.kind_name());
        record.add_attribute("candor.product", event.product.clone());
        record.add_attribute("candor.product_version", event.product_version.clone());
        record.add_attribute("candor.runtime_line", event.runtime_line.clone());
        record.add_attribute(
            "candor.catalogue_revision",
            event.catalogue_revision.clone(),
        );
        if let Some(install) = &event.install_id {
            record.add_attribute("candor.install_id", install.clone());
        }
        record
    }

    fn export(&mut self, records: &[opentelemetry_sdk::logs::SdkLogRecord]) -> Result<(), String> {
        let pairs: Vec<(
            &opentelemetry_sdk::logs::SdkLogRecord,
            &InstrumentationScope,
        )> = records.iter().map(|r| (r, &self.scope)).collect();
        let batch = LogBatch::new(&pairs);
        let future = self.exporter.export(batch);
        #[cfg(feature = "otlp-grpc")]
        if let Some(rt) = &self.runtime {
            return rt.block_on(future).map_err(|e| e.to_string());
        }
        futures_executor::block_on(future).map_err(|e| e.to_string())
    }
}

/// Event names are `&'static str` in the OpenTelemetry API. Candor only sends points a
/// catalogue declares, so the set of distinct names is small and fixed; each is leaked once.
fn intern(name: &str) -> &'static str {
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut names = NAMES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(existing) = names.get(name) {
        return existing;
    }
    let leaked: &'static str = Box::leak(name.to_owned().into_boxed_str());
    names.insert(leaked);
    leaked
}

/// The value as an OTLP `AnyValue`: numbers as numbers, maps as maps, lists as lists.
fn any_value(value: &Value) -> AnyValue {
    fn map<V>(
        m: &std::collections::BTreeMap<impl ToString, V>,
        f: impl Fn(&V) -> AnyValue,
    ) -> AnyValue {
        AnyValue::Map(Box::new(
            m.iter()
                .map(|(k, v)| (Key::from(k.to_string()), f(v)))
                .collect::<HashMap<_, _>>(),
        ))
    }
    let int = |n: u64| AnyValue::Int(i64::try_from(n).unwrap_or(i64::MAX));
    match value {
        Value::Flag(b) => AnyValue::Boolean(*b),
        Value::Count(n) => int(*n),
        Value::Duration(d) => AnyValue::Double(*d),
        Value::Enumeration(s)
        | Value::Version(s)
        | Value::Text(s)
        | Value::Hashed(s)
        | Value::LanguageTag(s)
        | Value::UserAgent(s) => AnyValue::String(s.clone().into()),
        Value::Names(names) => AnyValue::ListAny(Box::new(
            names
                .iter()
                .map(|n| AnyValue::String(n.clone().into()))
                .collect(),
        )),
        Value::Distribution(stats) => AnyValue::Map(Box::new(
            stats
                .iter()
                .map(|(k, v)| {
                    let key = serde_json::to_value(k)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default();
                    (Key::from(key), AnyValue::Double(*v))
                })
                .collect(),
        )),
        Value::LabelCounts(m) => map(m, |n| int(*n)),
        Value::ModeByName(m) | Value::Properties(m) => {
            map(m, |s| AnyValue::String(s.clone().into()))
        }
        Value::Exception(e) => {
            let mut fields: HashMap<Key, AnyValue> = HashMap::new();
            fields.insert(
                "type_name".into(),
                AnyValue::String(e.type_name.clone().into()),
            );
            fields.insert("message".into(), AnyValue::String(e.message.clone().into()));
            fields.insert(
                "frames".into(),
                AnyValue::ListAny(Box::new(
                    e.frames
                        .iter()
                        .map(|f| AnyValue::String(f.clone().into()))
                        .collect(),
                )),
            );
            fields.insert(
                "frames_dropped".into(),
                AnyValue::Int(i64::from(e.frames_dropped)),
            );
            if let Some(m) = &e.log_message {
                fields.insert("log_message".into(), AnyValue::String(m.clone().into()));
            }
            AnyValue::Map(Box::new(fields))
        }
    }
}

/// Maps the exporter's error text to an outcome. The exporter reports an HTTP status as
/// `... status code: 503` and a gRPC failure as `... gRPC code: Unavailable`.
fn classify(message: String) -> Outcome {
    if let Some(code) = message
        .rsplit("status code: ")
        .next()
        .filter(|_| message.contains("status code: "))
        .and_then(|rest| rest.get(..3))
        .and_then(|digits| digits.parse::<u16>().ok())
    {
        return match classify_status(code, None) {
            Outcome::Reject { reason } => Outcome::Reject { reason },
            _ => Outcome::Retry {
                reason: message,
                after: None,
            },
        };
    }
    const PERMANENT: &[&str] = &[
        "InvalidArgument",
        "Unimplemented",
        "PermissionDenied",
        "Unauthenticated",
        "NotFound",
    ];
    if PERMANENT
        .iter()
        .any(|p| message.contains(&format!("gRPC code: {p}")))
    {
        return Outcome::Reject { reason: message };
    }
    Outcome::Retry {
        reason: message,
        after: None,
    }
}

impl Sink for OtlpSink {
    fn kind(&self) -> &'static str {
        match self.protocol {
            #[cfg(feature = "otlp-http")]
            OtlpProtocol::HttpProtobuf => "otlp-http",
            #[cfg(feature = "otlp-grpc")]
            OtlpProtocol::Grpc => "otlp-grpc",
        }
    }

    fn destination(&self) -> String {
        self.endpoint.url().to_owned()
    }

    fn deliver(&mut self, events: &[Event]) -> Outcome {
        // The resource names the product as the service; a batch is for one product, since
        // the pipeline serves one product (and `candor send` groups by product).
        if let Some(first) = events.first()
            && self.resource_for.as_deref() != Some(first.product.as_str())
        {
            let resource = Resource::builder_empty()
                .with_service_name(first.product.clone())
                .build();
            self.exporter.set_resource(&resource);
            self.resource_for = Some(first.product.clone());
        }
        let records: Vec<_> = events.iter().map(|e| self.record(e)).collect();
        // Size as OTLP counts it is not exposed by the exporter; report the events' JSON size
        // as an upper-bound estimate.
        let bytes = serde_json::to_vec(events)
            .map(|v| v.len() as u64)
            .unwrap_or(0);
        match self.export(&records) {
            Ok(()) => Outcome::Delivered { bytes },
            Err(message) => classify(message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exporter_errors_are_classified() {
        assert!(matches!(
            classify("HTTP export failed with status code: 400".into()),
            Outcome::Reject { .. }
        ));
        assert!(matches!(
            classify("HTTP export failed with status code: 503".into()),
            Outcome::Retry { .. }
        ));
        assert!(matches!(
            classify("HTTP export failed: network error".into()),
            Outcome::Retry { .. }
        ));
        assert!(matches!(
            classify("TonicLogsClient export failed with gRPC code: Unavailable".into()),
            Outcome::Retry { .. }
        ));
        assert!(matches!(
            classify("TonicLogsClient export failed with gRPC code: InvalidArgument".into()),
            Outcome::Reject { .. }
        ));
    }

    #[test]
    fn names_are_interned_once() {
        let a = intern("agent_version");
        let b = intern(&String::from("agent_version"));
        assert!(std::ptr::eq(a, b));
    }
}
