//! Candor's one OTLP mapping: how an event ([`candor_schema::Event`]) is an OTLP log record,
//! and how a log record is read back into one.
//!
//! Written once, here, and used by every part that speaks OTLP: the OTLP sinks of
//! `candor-transport` encode with [`encode_request`] (the message, for gRPC) and
//! [`encode_request_bytes`] (the same bytes written straight from the events, for HTTP); the
//! receiving end (`candor-ingest`) reads each record with [`read_event`]; the test receivers
//! (`candor-testkit`) read what they were sent with the same functions. The mapping:
//!
//! - one resource per product and version (`service.name`, `service.version`,
//!   `telemetry.sdk.*`), one scope (`candor`), one log record per event;
//! - the record's `EventName` and its `candor.point` attribute both name the data point (log
//!   pipelines route by the first, queries over attributes find the second); [`point_of`] is
//!   the one reading of it, and refuses a record where the two differ;
//! - the rest of the envelope in `candor.*` attributes ([`keys`]);
//! - the value as the body, an `AnyValue` ([`any_value`]): numbers as numbers, lists as lists,
//!   maps as key-value lists, a histogram and an exception field for field as the JSON form;
//!   read back through the schema's own deserialisation ([`read_any`]), so the caps and checks
//!   on what arrives are the JSON path's;
//! - the time as `time_unix_nano`, the event's [`candor_schema::Timestamp`] itself: no text
//!   on the way.
//!
//! A deletion request travels as a log record of its own ([`encode_deletion`],
//! [`read_deletion`]), on the same keys.
//!
//! It depends on `candor-schema` and the OTLP definitions (`opentelemetry-proto`, prost) only:
//! no HTTP, no gRPC client or server, no runtime, so a low crate can carry it.

#![warn(missing_docs)]

mod deletion;
#[cfg(test)]
mod fixtures;
pub mod keys;
mod logs;
mod read;
mod value;
mod wire;

pub use deletion::{
    DELETION_CONFIRMED, DELETION_EVENT, confirms, encode_deletion, is_deletion, read_deletion,
};
pub use logs::{SemanticNames, encode_request};
pub use read::{ReadError, attribute_str, point_of, read_event};
pub use value::{any_value, read_any};
pub use wire::encode_request_bytes;
