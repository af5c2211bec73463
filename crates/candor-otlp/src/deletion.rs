//! A deletion request as an OTLP log record, so that a product sending over OTLP (HTTP or
//! gRPC, straight to `candor serve` or through a collector that forwards logs) reaches its
//! vendor when the person opts out.
//!
//! The request is one log record, alone in its export request: event name
//! [`DELETION_EVENT`], the product as `service.name` and `candor.product`, the request's
//! fields as `candor.deletion.*` attributes, the opt-out time (`before`) as the record's time,
//! and no body. A receiver that speaks Candor's mapping erases what it holds and confirms it in
//! OTLP's partial-success message ([`DELETION_CONFIRMED`] and the request's id, nothing
//! rejected); a collector that forwards it carries the record to such a receiver like any
//! other, and its own success confirms nothing.

use std::time::SystemTime;

use candor_schema::{DeletionRequest, Timestamp};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs, SeverityNumber};
use opentelemetry_proto::tonic::resource::v1::Resource;

use crate::keys;
use crate::read::{ReadError, attribute_str};
use crate::value::{kv, string};

/// The event name of a deletion request's log record.
pub const DELETION_EVENT: &str = "candor.deletion_request";

/// How a receiver that erased for a deletion request confirms it: its partial-success message
/// holds this prefix followed by the request's id (a message may hold several, `; `-separated).
/// A success without it (an HTML page, a collector that only took the record) confirms nothing.
pub const DELETION_CONFIRMED: &str = "candor.deletion.confirmed=";

/// Whether a receiver's partial-success message confirms the request `request_id`.
pub fn confirms(message: &str, request_id: &str) -> bool {
    message
        .split("; ")
        .any(|part| part.strip_prefix(DELETION_CONFIRMED) == Some(request_id))
}

/// Whether `record` is a deletion request (by its event name alone).
pub fn is_deletion(record: &LogRecord) -> bool {
    record.event_name == DELETION_EVENT
}

/// The export request that carries `request`, observed `now`.
pub fn encode_deletion(request: &DeletionRequest, now: SystemTime) -> ExportLogsServiceRequest {
    let before = Timestamp::parse(&request.before).map_or(0, Timestamp::unix_nanos);
    let record = LogRecord {
        time_unix_nano: before,
        observed_time_unix_nano: Timestamp::from_system_time(now).unix_nanos(),
        severity_number: SeverityNumber::Info as i32,
        severity_text: keys::SEVERITY_TEXT.to_owned(),
        event_name: DELETION_EVENT.to_owned(),
        attributes: vec![
            kv(keys::PRODUCT, string(&request.product)),
            kv(keys::DELETION_KEY, string(&request.key)),
            kv(keys::DELETION_REQUEST_ID, string(&request.request_id)),
            kv(keys::DELETION_BEFORE, string(&request.before)),
        ],
        ..LogRecord::default()
    };
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: vec![
                    kv(keys::SERVICE_NAME, string(&request.product)),
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
                log_records: vec![record],
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

/// The deletion request a record carries (one [`is_deletion`] says is one), checked for its
/// form ([`DeletionRequest::check`]), or why it is not one.
pub fn read_deletion(record: &LogRecord) -> Result<DeletionRequest, ReadError> {
    let field = |key: &str| {
        attribute_str(record, key)
            .map(str::to_owned)
            .ok_or_else(|| ReadError::Schema(format!("a deletion request without `{key}`")))
    };
    let request = DeletionRequest::new(
        &field(keys::PRODUCT)?,
        &field(keys::DELETION_KEY)?,
        &field(keys::DELETION_REQUEST_ID)?,
        &field(keys::DELETION_BEFORE)?,
    );
    request
        .check()
        .map_err(|e| ReadError::Schema(e.to_string()))?;
    Ok(request)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_survives_the_trip_and_a_damaged_one_is_refused() {
        let id = "00112233445566778899aabbccddeeff";
        let request = DeletionRequest::new(
            "contrast-dotnet-agent",
            &"c3".repeat(32),
            id,
            "2026-12-05T14:00:00.250Z",
        );
        let encoded = encode_deletion(&request, SystemTime::now());
        let record = &encoded.resource_logs[0].scope_logs[0].log_records[0];
        assert!(is_deletion(record));
        assert_eq!(read_deletion(record), Ok(request.clone()));
        assert_eq!(
            record.time_unix_nano,
            Timestamp::parse(&request.before).unwrap().unix_nanos()
        );

        let mut no_key = record.clone();
        no_key.attributes.retain(|a| a.key != keys::DELETION_KEY);
        assert!(matches!(read_deletion(&no_key), Err(ReadError::Schema(_))));
        let mut bad_key = record.clone();
        bad_key.attributes[1] = kv(keys::DELETION_KEY, string("NOT-HEX"));
        assert!(matches!(read_deletion(&bad_key), Err(ReadError::Schema(_))));
        let mut event = record.clone();
        event.event_name = "working_set".to_owned();
        assert!(!is_deletion(&event));
    }
}
