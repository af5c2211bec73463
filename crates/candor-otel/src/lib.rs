//! OpenTelemetry hosts: a log processor that sends the events named after a catalogue's data
//! points through Candor, and leaves every other event to the host's own processors.
//!
//! A Rust service already instrumented with OpenTelemetry keeps its logs API and adds one
//! processor to its `SdkLoggerProvider`:
//!
//! ```no_run
//! # fn demo<E: opentelemetry_sdk::logs::LogExporter + 'static>(telemetry: candor::Telemetry, host_exporter: E) {
//! use opentelemetry_sdk::logs::{BatchLogProcessor, SdkLoggerProvider};
//! let provider = SdkLoggerProvider::builder()
//!     .with_log_processor(
//!         candor_otel::CandorLogProcessor::new(telemetry)
//!             .with_others(BatchLogProcessor::builder(host_exporter).build()),
//!     )
//!     .build();
//! # }
//! ```
//!
//! An event whose event name is a data point the catalogue declares goes to Candor's
//! [`candor::Telemetry`]: consent, the catalogue's gates for the running version, the point's
//! privacy, the spool and Candor's own sink, exactly as a value recorded in Rust. Its body is
//! read as the point's kind of value, shaped as `candor send`'s JSON lines shape it (a number, a
//! string, a list, a map); an exception point also reads the semantic-convention attributes
//! `exception.type`, `exception.message` and `exception.stacktrace`, with a string body as its
//! log message. A body that cannot be read is refused and counted in the status, and so is
//! one past the C ABI's caps (a string over 64 KiB, more than 4096 list items and map entries
//! together, more than 1 MiB of text in all, nesting deeper than 4 levels) or a measurement
//! that is negative or not finite: the caps are checked before the part they cover is
//! copied, so an oversized body costs the host's thread no copy. Nothing else
//! of the record (its other attributes, the provider's resource, the scope, trace context,
//! severity, timestamps) reaches Candor, and no part of the host's OpenTelemetry setup (its
//! exporters, their endpoints and headers, `OTEL_*` variables) is ever used by Candor's
//! traffic: Candor sends with its own transport, configured only by Candor.
//!
//! Every other event goes to the processors given with
//! [`CandorLogProcessor::with_others`], and only those: the host's exporters never see a
//! declared point's raw value. (A processor added to the provider beside this one, rather than
//! through it, receives every event, declared ones included.)
//!
//! This crate sits beside the facade (it depends on `candor`, `candor-collect` for reading raw
//! values and `candor-schema` for value kinds), so the OpenTelemetry SDK is compiled only by
//! hosts that bridge from it. Nothing in Candor depends on it.

#![warn(missing_docs)]

mod processor;
mod read;

pub use processor::CandorLogProcessor;
