//! Candor's transport: how events leave the machine without hurting the host.
//!
//! A [`Pipeline`] takes events from the host without ever blocking it (a bounded queue that
//! drops and counts when full), cuts them into batches, writes each batch to a [`Spool`] on
//! disk before sending, and removes it only once a receiver accepted it. What an attempt comes
//! to is one pure function ([`policy`]): temporary failures back off with jitter and honour
//! `Retry-After` for as long as the spool's age cap allows, permanent refusals are dropped and
//! counted, and events a receiver refused one by one are counted as refused. The pipeline's
//! owner is asked before each batch is written and sent ([`Permit`]), and checks each event read
//! back from the spool before it is sent again ([`Admit`]). Every delivered payload
//! is noted in the [`Receipts`] log, with only what the receiver took.
//!
//! Sinks, each behind a cargo feature: OTLP over HTTP/protobuf (`otlp-http`) and gRPC
//! (`otlp-grpc`), encoded by Candor with `opentelemetry-proto` and sent with reqwest and tonic
//! (no OpenTelemetry SDK, so the host's `OTEL_*` settings never reach Candor's traffic);
//! gzip-compressed JSON over HTTPS and the host relay with a bearer token (`http`); files and
//! stdout (always). Plain `http://` is refused except to loopback ([`Endpoint`]), no redirect is
//! followed, at most a few KiB of any reply are read, every network sink sets connect and
//! request timeouts, and no secret (a token, a URL's query) appears in any `Debug` output,
//! message or receipt.
//!
//! The facade (`candor`) and the command line depend on this crate. It knows the event
//! envelope and nothing of catalogues' meaning, consent or privacy: by the time an event gets
//! here it has been checked and scrubbed, and this crate's job is only to deliver it.

#![warn(missing_docs)]

pub mod control;
pub mod deletion;
mod delivery;
mod drops;
mod endpoint;
mod pipeline;
pub mod policy;
pub mod receipts;
pub mod retry;
pub mod sink;
pub mod spool;
mod stats;

use std::path::PathBuf;
use std::sync::Arc;

pub use control::{Control, Work, Worker};
pub use deletion::{DeletionOutcome, DeletionRecord};
pub use delivery::{Delivery, build_sink};
pub use drops::{DiskFailure, DropCause, DropCount, DropTally};
pub use endpoint::Endpoint;
pub use pipeline::{Admit, Permission, Permit, Pipeline, PipelineConfig};
pub use receipts::{Problem, Receipt, Receipts};
pub use sink::{Failure, FileSink, Outcome, Refusals, SemanticNames, Sink, SinkOptions, Timeouts};
pub use spool::{
    DamagedLine, ReadBatch, Spool, SpoolCaps, SpoolHold, SpoolView, UnreadableBatch, Written,
};
pub use stats::{Counters, StatsSnapshot};

/// What can go wrong setting up transport. Delivery failures are not errors: they are retried
/// or counted (see [`StatsSnapshot`]). Each error keeps the one behind it as its `source()`.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The endpoint is not acceptable.
    #[error("endpoint `{url}`: {reason}")]
    Endpoint {
        /// The URL given (without its query string).
        url: String,
        /// Why it is refused.
        reason: String,
    },
    /// The extra CA file cannot be read (missing, not a regular file, too large).
    #[error("cannot read the CA file: {0}")]
    CaFile(#[source] Arc<candor_state::StateError>),
    /// The extra CA file holds no PEM certificate Candor can read.
    #[error("{} holds no readable PEM certificate", path.display())]
    NoCertificate {
        /// The file.
        path: PathBuf,
        /// What the TLS library said.
        #[source]
        source: Arc<dyn std::error::Error + Send + Sync>,
    },
    /// The HTTP client cannot be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(#[source] Arc<dyn std::error::Error + Send + Sync>),
    /// The gRPC channel cannot be set up.
    #[error("cannot set up gRPC to {endpoint}: {source}")]
    Grpc {
        /// Where it sends (without its query string).
        endpoint: String,
        /// What tonic said.
        #[source]
        source: Arc<dyn std::error::Error + Send + Sync>,
    },
    /// The relay token cannot be sent in a header.
    #[error("the relay token is empty or has spaces or control characters")]
    RelayToken,
    /// The spool folder cannot be opened or created.
    #[error("cannot open the spool {}: {source}", dir.display())]
    Spool {
        /// The spool folder.
        dir: PathBuf,
        /// Why.
        #[source]
        source: Arc<std::io::Error>,
    },
    /// A thread (or the gRPC sink's runtime) cannot be started.
    #[error("cannot start {what}: {source}")]
    Thread {
        /// What was being started.
        what: &'static str,
        /// What the operating system said.
        #[source]
        source: Arc<std::io::Error>,
    },
    /// The sink was not built within its deadline.
    #[error(
        "the sink was not ready within {seconds} s (is a certificate file a FIFO or on a stalled disk?)"
    )]
    SinkTimeout {
        /// The deadline.
        seconds: u64,
    },
    /// Building the sink panicked.
    #[error("building the sink failed inside Candor")]
    SinkPanicked,
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

impl TransportError {
    /// A thread that could not be started.
    pub(crate) fn thread(what: &'static str, source: std::io::Error) -> Self {
        Self::Thread {
            what,
            source: Arc::new(source),
        }
    }
}

/// The sinks by name, as the command line and the facade's builder name them.
///
/// Its `Debug` form shows endpoints without their query strings and never the relay token.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SinkSpec {
    /// OTLP over HTTP/protobuf: a base URL (`https://collector:4318`, which gets `/v1/logs`
    /// appended) or the full logs URL.
    OtlpHttp {
        /// The base or logs URL.
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

impl std::fmt::Debug for SinkSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut s = f.debug_struct(match self {
            Self::OtlpHttp { .. } => "OtlpHttp",
            Self::OtlpGrpc { .. } => "OtlpGrpc",
            Self::Json { .. } => "Json",
            Self::Relay { .. } => "Relay",
            Self::File { .. } => "File",
            Self::Stdout => "Stdout",
        });
        match self {
            Self::OtlpHttp { endpoint } | Self::OtlpGrpc { endpoint } | Self::Json { endpoint } => {
                s.field("endpoint", &endpoint::shown_raw(endpoint))
            }
            Self::Relay { endpoint, .. } => s
                .field("endpoint", &endpoint::shown_raw(endpoint))
                .field("token", &"<redacted>"),
            Self::File { path } => s.field("path", path),
            Self::Stdout => &mut s,
        };
        s.finish()
    }
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

    /// The checked endpoint of a network sink, as it will be used (an OTLP/HTTP base URL with
    /// `/v1/logs` appended); `None` for files and stdout.
    pub fn endpoint(&self) -> Option<Result<Endpoint, TransportError>> {
        match self {
            Self::OtlpHttp { endpoint } => Some(Endpoint::with_signal_path(
                endpoint,
                sink::OTLP_HTTP_LOGS_PATH,
            )),
            Self::OtlpGrpc { endpoint }
            | Self::Json { endpoint }
            | Self::Relay { endpoint, .. } => Some(Endpoint::parse(endpoint)),
            Self::File { .. } | Self::Stdout => None,
        }
    }

    /// Where it sends, as it may be shown: the endpoint without its query string, or the file.
    pub fn destination(&self) -> String {
        match (self, self.endpoint()) {
            (_, Some(Ok(endpoint))) => endpoint.to_string(),
            (
                Self::OtlpHttp { endpoint }
                | Self::OtlpGrpc { endpoint }
                | Self::Json { endpoint }
                | Self::Relay { endpoint, .. },
                _,
            ) => endpoint::shown_raw(endpoint),
            (Self::File { path }, _) => path.display().to_string(),
            (Self::Stdout, _) => "stdout".to_owned(),
        }
    }

    /// Checks the endpoint now, so a bad URL is reported before anything starts.
    pub fn check(&self) -> Result<(), TransportError> {
        self.endpoint().transpose().map(|_| ())
    }

    /// Builds the sink with these timeouts (or [`SinkOptions`]: timeouts and an extra CA).
    /// Call it on the thread that will use it (as [`Pipeline::start`] does).
    pub fn build(&self, options: impl Into<SinkOptions>) -> Result<Box<dyn Sink>, TransportError> {
        let options = options.into();
        let _ = &options;
        match self {
            Self::File { path } => Ok(Box::new(FileSink::to_file(path))),
            Self::Stdout => Ok(Box::new(FileSink::to_stdout())),
            #[cfg(feature = "http")]
            Self::Json { endpoint } => Ok(Box::new(sink::HttpSink::new(
                Endpoint::parse(endpoint)?,
                sink::HttpSinkKind::Json,
                &options,
            )?)),
            #[cfg(feature = "http")]
            Self::Relay { endpoint, token } => Ok(Box::new(sink::HttpSink::new(
                Endpoint::parse(endpoint)?,
                sink::HttpSinkKind::Relay {
                    token: token.clone(),
                },
                &options,
            )?)),
            #[cfg(feature = "otlp-http")]
            Self::OtlpHttp { endpoint } => Ok(Box::new(sink::OtlpSink::new(
                Endpoint::with_signal_path(endpoint, sink::OTLP_HTTP_LOGS_PATH)?,
                sink::OtlpProtocol::HttpProtobuf,
                &options,
            )?)),
            #[cfg(feature = "otlp-grpc")]
            Self::OtlpGrpc { endpoint } => Ok(Box::new(sink::OtlpSink::new(
                Endpoint::parse(endpoint)?,
                sink::OtlpProtocol::Grpc,
                &options,
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
