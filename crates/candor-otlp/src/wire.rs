//! The OTLP request body written straight from the events: the message
//! [`crate::encode_request`] builds, in protobuf's wire format, without building it first.
//!
//! The generated message types hold every key and value as an owned `String`, so a batch of
//! 512 events cost about ten thousand small allocations and as many frees, most of the
//! sink's time. Here the envelope (resource, scope, the `candor.*` attributes, event name,
//! times, severity) is written from borrowed text into one buffer; only each event's body goes
//! through [`crate::any_value`], the one mapping of Candor's values to OTLP's, so a new kind of
//! value changes one place. The tests decode what this writes and compare it with
//! `encode_request`'s message for events of every kind.

use std::time::SystemTime;

use candor_schema::{Event, Timestamp};
use prost::Message;

use crate::keys;
use crate::logs::SemanticNames;
use crate::value::any_value;

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

/// The bytes of [`crate::encode_request`]`(events, names, now)`, for the OTLP/HTTP body.
pub fn encode_request_bytes(events: &[Event], names: &SemanticNames, now: SystemTime) -> Vec<u8> {
    let observed = Timestamp::from_system_time(now).unix_nanos();
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
                resource.string_attribute(1, keys::SERVICE_NAME, first.product());
                resource.string_attribute(1, keys::SERVICE_VERSION, first.product_version());
                resource.string_attribute(1, keys::SDK_NAME, keys::SCOPE_NAME);
                resource.string_attribute(1, keys::SDK_LANGUAGE, keys::LANGUAGE);
                resource.string_attribute(1, keys::SDK_VERSION, keys::SCOPE_VERSION);
            });
            // ResourceLogs.scope_logs
            resource_logs.message(2, |scope_logs| {
                scope_logs.message(1, |scope| {
                    scope.string(1, keys::SCOPE_NAME);
                    scope.string(2, keys::SCOPE_VERSION);
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
    w.string(3, keys::SEVERITY_TEXT);
    w.prost(5, &body);
    w.string_attribute(6, keys::EVENT_ID, event.event_id());
    w.string_attribute(6, keys::POINT, event.point());
    w.string_attribute(6, keys::KIND, event.value().kind_name());
    w.string_attribute(6, keys::PRODUCT, event.product());
    w.string_attribute(6, keys::PRODUCT_VERSION, event.product_version());
    w.string_attribute(6, keys::RUNTIME_LINE, event.runtime_line());
    w.string_attribute(6, keys::CATALOGUE_REVISION, event.catalogue_revision());
    if let Some(install) = event.install_id() {
        w.string_attribute(6, keys::INSTALL_ID, install);
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
    use std::time::{Duration, UNIX_EPOCH};

    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;

    use super::*;
    use crate::encode_request;
    use crate::fixtures::{events, names};

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
