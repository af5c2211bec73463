//! Candor's transport: how events leave the machine without hurting the host.
//!
//! A [`Pipeline`] takes events from the host without ever blocking it (a bounded queue that
//! drops and counts when full), cuts them into batches, writes each batch to a [`Spool`] on
//! disk before sending, and removes it only once a receiver accepted it. Temporary failures
//! back off with jitter and honour `Retry-After`; permanent refusals are dropped and counted.
//! Every delivered payload is noted in the [`Receipts`] log.
//!
//! Sinks, each behind a cargo feature: OTLP over HTTP/protobuf (`otlp-http`) and gRPC
//! (`otlp-grpc`) through `opentelemetry-otlp`; gzip-compressed JSON over HTTPS and the host
//! relay with a bearer token (`http`); files and stdout (always). Plain `http://` is refused
//! except to loopback ([`Endpoint`]), and every network sink sets connect and request timeouts.
//!
//! The facade (`candor`) and the command line depend on this crate. It knows the event
//! envelope and nothing of catalogues' meaning, consent or privacy: by the time an event gets
//! here it has been checked and scrubbed, and this crate's job is only to deliver it.

#![warn(missing_docs)]

mod endpoint;
mod pipeline;
pub mod receipts;
pub mod retry;
pub mod sink;
pub mod spool;

use std::path::PathBuf;

pub use endpoint::Endpoint;
pub use pipeline::{Pipeline, PipelineConfig, StatsSnapshot};
pub use receipts::{Receipt, Receipts};
pub use sink::{FileSink, Outcome, Sink, Timeouts};
pub use spool::{Spool, SpoolCaps};

/// What can go wrong setting up transport. Delivery failures are not errors: they are retried
/// or counted (see [`StatsSnapshot`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// The endpoint is not acceptable.
    #[error("endpoint `{url}`: {reason}")]
    Endpoint {
        /// The URL given.
        url: String,
        /// Why it is refused.
        reason: String,
    },
    /// The sink or pipeline cannot be set up.
    #[error("{0}")]
    Config(String),
    /// The spool cannot be used.
    #[error("{0}")]
    Spool(String),
    /// This build lacks the feature the sink needs.
    #[error(
        "the `{sink}` sink is not built in (enable the `{feature}` feature of candor-transport)"
    )]
    NotBuilt {
        /// The sink asked for.
        sink: String,
        /// The feature that provides it.
        feature: &'static str,
    },
}

/// The sinks by name, as the command line and the facade's builder name them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SinkSpec {
    /// OTLP over HTTP/protobuf to an `/v1/logs` URL.
    OtlpHttp {
        /// The logs URL.
        endpoint: String,
    },
    /// OTLP over gRPC.
    OtlpGrpc {
        /// The server URL.
        endpoint: String,
    },
    /// Gzip-compressed JSON to a vendor endpoint.
    Json {
        /// The URL.
        endpoint: String,
    },
    /// The host's loopback relay with its bearer token.
    Relay {
        /// The URL.
        endpoint: String,
        /// The token.
        token: String,
    },
    /// JSON lines appended to a file.
    File {
        /// The file.
        path: PathBuf,
    },
    /// JSON lines on standard output.
    Stdout,
}

impl SinkSpec {
    /// The sink's name (`otlp-http`, `otlp-grpc`, `json`, `relay`, `file`, `stdout`).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::OtlpHttp { .. } => "otlp-http",
            Self::OtlpGrpc { .. } => "otlp-grpc",
            Self::Json { .. } => "json",
            Self::Relay { .. } => "relay",
            Self::File { .. } => "file",
            Self::Stdout => "stdout",
        }
    }

    /// Checks the endpoint now, so a bad URL is reported before anything starts.
    pub fn check(&self) -> Result<(), TransportError> {
        match self {
            Self::OtlpHttp { endpoint }
            | Self::OtlpGrpc { endpoint }
            | Self::Json { endpoint }
            | Self::Relay { endpoint, .. } => Endpoint::parse(endpoint).map(|_| ()),
            Self::File { .. } | Self::Stdout => Ok(()),
        }
    }

    /// Builds the sink. Call it on the thread that will use it (as [`Pipeline::start`] does).
    pub fn build(&self, timeouts: Timeouts) -> Result<Box<dyn Sink>, TransportError> {
        let _ = timeouts;
        match self {
            Self::File { path } => Ok(Box::new(FileSink::to_file(path))),
            Self::Stdout => Ok(Box::new(FileSink::to_stdout())),
            #[cfg(feature = "http")]
            Self::Json { endpoint } => Ok(Box::new(sink::HttpSink::new(
                Endpoint::parse(endpoint)?,
                sink::HttpSinkKind::Json,
                timeouts,
            )?)),
            #[cfg(feature = "http")]
            Self::Relay { endpoint, token } => Ok(Box::new(sink::HttpSink::new(
                Endpoint::parse(endpoint)?,
                sink::HttpSinkKind::Relay {
                    token: token.clone(),
                },
                timeouts,
            )?)),
            #[cfg(feature = "otlp-http")]
            Self::OtlpHttp { endpoint } => Ok(Box::new(sink::OtlpSink::new(
                Endpoint::parse(endpoint)?,
                sink::OtlpProtocol::HttpProtobuf,
                timeouts,
            )?)),
            #[cfg(feature = "otlp-grpc")]
            Self::OtlpGrpc { endpoint } => Ok(Box::new(sink::OtlpSink::new(
                Endpoint::parse(endpoint)?,
                sink::OtlpProtocol::Grpc,
                timeouts,
            )?)),
            #[allow(unreachable_patterns)]
            other => Err(TransportError::NotBuilt {
                sink: other.kind().to_owned(),
                feature: match other {
                    Self::OtlpHttp { .. } => "otlp-http",
                    Self::OtlpGrpc { .. } => "otlp-grpc",
                    _ => "http",
                },
            }),
        }
    }
}
