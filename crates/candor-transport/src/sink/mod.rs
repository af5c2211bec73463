//! Sinks: where a batch of events goes. Each reports what happened so the pipeline can retry,
//! drop or remove the batch.
//!
//! Every network sink shares one policy, kept here: what an HTTP status or a gRPC code means
//! ([`classify_status`], [`classify_grpc`]), how a failure is named and what hint goes with it
//! ([`Failure`]). The HTTP sinks share one client set-up and one way to post (`client`): no
//! redirect is followed, no proxy or `OTEL_*` variable is read, and at most [`MAX_REPLY_BYTES`]
//! of a reply are read.

#[cfg(any(feature = "http", feature = "otlp-http"))]
pub(crate) mod client;
mod file;
#[cfg(feature = "http")]
mod http;
#[cfg(feature = "otlp")]
mod otlp;

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use candor_schema::Event;
use serde::Serialize;

pub use file::FileSink;
#[cfg(feature = "http")]
pub use http::{HttpSink, HttpSinkKind};
#[cfg(feature = "otlp")]
pub use otlp::{OtlpProtocol, OtlpSink, encode_request};

/// The most of a reply body any sink reads when the receiver did not take the batch (an error
/// or a redirect). A receiver that answers with more is not read further (its connection is
/// closed), so a huge answer cannot grow memory.
pub const MAX_REPLY_BYTES: usize = 4 * 1024;

/// The most of an acceptance (a 2xx answer) any sink reads: enough for a receiver to list the
/// events of a batch it refused one by one (Candor's own lists at most 1000, each with a reason
/// of at most 200 characters). Past it the answer is not read further, and the refusals it
/// would have named are not known.
pub const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// The path OTLP/HTTP receivers take logs at; appended to a base URL.
pub const OTLP_HTTP_LOGS_PATH: &str = "/v1/logs";

/// Why a delivery attempt did not succeed, as a type (never parsed from message text).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "code")]
pub enum Failure {
    /// The receiver answered with this HTTP status (not 2xx; redirects included, which are
    /// never followed).
    Status(u16),
    /// The receiver answered with this gRPC status code.
    Grpc(i32),
    /// Nothing accepted the connection (refused, unreachable, unknown host).
    Connect,
    /// The TLS handshake failed (certificate not trusted, wrong host name, not TLS).
    Tls,
    /// No answer within the sink's timeouts.
    Timeout,
    /// The connection broke or the reply was cut short.
    Network,
    /// The batch could not be encoded.
    Encode,
    /// A local file could not be written.
    Write,
}

impl Failure {
    /// One line telling a user what to check, for failures that usually mean a misconfigured
    /// endpoint (404, 405, a redirect, a TLS failure, a refused connection, bad credentials).
    pub fn hint(&self) -> Option<&'static str> {
        Some(match self {
            Self::Status(404) => {
                "no receiver at this path: an OTLP/HTTP collector takes logs at …/v1/logs (give the base URL and Candor adds it)"
            }
            Self::Status(405) => {
                "the URL does not accept POST: it is probably not an ingest endpoint (check the path)"
            }
            Self::Status(300..=399) => {
                "the endpoint redirects and Candor never follows redirects: give the final URL"
            }
            Self::Status(401 | 403) | Self::Grpc(7 | 16) => {
                "the receiver refused the credentials: check the token"
            }
            Self::Status(413) => "the receiver finds the batch too large",
            Self::Grpc(12) => {
                "the server does not implement OTLP logs: check the port (gRPC 4317, HTTP 4318) and the sink"
            }
            Self::Tls => {
                "TLS failed: check that the endpoint speaks https and that its certificate is trusted (CANDOR_CA_FILE names an extra CA)"
            }
            Self::Connect => {
                "nothing accepts connections there: is the receiver running, and is the host and port right? (OTLP: gRPC 4317, HTTP 4318)"
            }
            _ => return None,
        })
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Status(code) => {
                let reason = status_reason(*code);
                if reason.is_empty() {
                    write!(f, "HTTP {code}")
                } else {
                    write!(f, "HTTP {code} {reason}")
                }
            }
            Self::Grpc(code) => write!(f, "gRPC {}", grpc_name(*code)),
            Self::Connect => f.write_str("connection refused"),
            Self::Tls => f.write_str("TLS failure"),
            Self::Timeout => f.write_str("timed out"),
            Self::Network => f.write_str("connection broken"),
            Self::Encode => f.write_str("cannot encode"),
            Self::Write => f.write_str("cannot write"),
        }
    }
}

fn status_reason(code: u16) -> &'static str {
    match code {
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Payload Too Large",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}

fn grpc_name(code: i32) -> String {
    const NAMES: [&str; 17] = [
        "Ok",
        "Cancelled",
        "Unknown",
        "InvalidArgument",
        "DeadlineExceeded",
        "NotFound",
        "AlreadyExists",
        "PermissionDenied",
        "ResourceExhausted",
        "FailedPrecondition",
        "Aborted",
        "OutOfRange",
        "Unimplemented",
        "Internal",
        "Unavailable",
        "DataLoss",
        "Unauthenticated",
    ];
    usize::try_from(code)
        .ok()
        .and_then(|i| NAMES.get(i))
        .map_or_else(|| format!("code {code}"), |n| (*n).to_owned())
}

/// Events of an accepted batch that the receiver refused one by one (the `refused` list of
/// Candor's JSON answer, OTLP's partial success).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Refusals {
    /// How many events were refused.
    pub count: u64,
    /// Which, by position in the batch, as far as the receiver said (OTLP's partial success
    /// says only how many; a long list may be cut).
    pub which: Vec<usize>,
    /// The receiver's first reason, in one line, as it gave it (show it escaped).
    pub reason: Option<String>,
}

impl Refusals {
    /// `count` refusals of a batch of `len` events, of which `which` are named; positions
    /// outside the batch, repeated ones and a count beyond the batch are not believed.
    pub fn new(
        count: u64,
        which: impl IntoIterator<Item = usize>,
        len: usize,
        reason: Option<String>,
    ) -> Self {
        let mut which: Vec<usize> = which.into_iter().filter(|i| *i < len).collect();
        which.sort_unstable();
        which.dedup();
        let count = count.min(len as u64).max(which.len() as u64);
        Self {
            count,
            which,
            // A receiver's words: no control character (a terminal escape) is kept.
            reason: reason.map(|r| r.chars().filter(|c| !c.is_control()).take(300).collect()),
        }
    }
}

/// What became of one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The receiver accepted the batch (perhaps refusing some of its events one by one).
    Delivered {
        /// Bytes sent.
        bytes: u64,
        /// The events it refused one by one; none for most receivers.
        refused: Refusals,
    },
    /// A temporary failure: keep the batch and try again later.
    Retry {
        /// What went wrong, as a type.
        failure: Failure,
        /// What went wrong, in one line (no secrets, no query strings).
        reason: String,
        /// How long the server asked us to wait.
        after: Option<Duration>,
    },
    /// The receiver refused the batch for good: drop it and count it.
    Reject {
        /// What went wrong, as a type.
        failure: Failure,
        /// What went wrong, in one line (no secrets, no query strings).
        reason: String,
    },
}

/// A destination for batches.
pub trait Sink: Send + fmt::Debug {
    /// The sink's kind (`otlp-http`, `json`, `relay`, `file`).
    fn kind(&self) -> &'static str;
    /// Where it sends, for receipts and messages (never with a query string or a secret).
    fn destination(&self) -> String;
    /// Attempts to deliver one batch. Must return within the sink's own timeouts.
    fn deliver(&mut self, events: &[Event]) -> Outcome;
    /// Like [`Sink::deliver`], giving up by `deadline` where the sink can bound one request
    /// (its request timeout never exceeds the time left). The default ignores the deadline;
    /// the pipeline stops waiting for any sink at its own deadline regardless.
    fn deliver_by(&mut self, events: &[Event], deadline: Option<std::time::Instant>) -> Outcome {
        let _ = deadline;
        self.deliver(events)
    }
    /// The payload of the last attempt, exactly as it went on the wire, taken once (the
    /// delivery keeps a local copy of what a receiver accepted). `None` for a sink that keeps
    /// none.
    fn take_payload(&mut self) -> Option<Payload> {
        None
    }
    /// Sends one deletion request the way this sink's receivers take one, by `deadline`:
    /// the outcome, and whether the receiver confirmed it erased for this request. `None`
    /// for a sink that carries none this way (the JSON sink posts it to its own endpoint,
    /// `crate::deletion`; a relay or file has no receiver that erases).
    fn deliver_deletion(
        &mut self,
        request: &candor_schema::DeletionRequest,
        deadline: Option<std::time::Instant>,
    ) -> Option<(Outcome, bool)> {
        let _ = (request, deadline);
        None
    }
}

/// A payload as it went on the wire, with how it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload {
    /// Its encoding.
    pub format: candor_state::PayloadFormat,
    /// Its bytes (for OTLP/gRPC, the protobuf message tonic framed).
    pub bytes: Vec<u8>,
}

impl<S: Sink + ?Sized> Sink for Box<S> {
    fn kind(&self) -> &'static str {
        (**self).kind()
    }
    fn destination(&self) -> String {
        (**self).destination()
    }
    fn deliver(&mut self, events: &[Event]) -> Outcome {
        (**self).deliver(events)
    }
    fn deliver_by(&mut self, events: &[Event], deadline: Option<std::time::Instant>) -> Outcome {
        (**self).deliver_by(events, deadline)
    }
    fn take_payload(&mut self) -> Option<Payload> {
        (**self).take_payload()
    }
}

/// Connection and request timeouts every network sink sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// To establish a connection.
    pub connect: Duration,
    /// For a whole request, response included.
    pub request: Duration,
}

impl Default for Timeouts {
    /// 5 s to connect, 15 s per request.
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(5),
            request: Duration::from_secs(15),
        }
    }
}

/// How network sinks connect: timeouts, and an extra certificate authority to trust for
/// `https://` (a company CA, or a test CA), besides the system's roots. Nothing here is read
/// from the environment: the facade's builder and the command line fill it in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SinkOptions {
    /// Connection and request timeouts.
    pub timeouts: Timeouts,
    /// A PEM file of CA certificates to trust in addition to the system's.
    pub ca_file: Option<PathBuf>,
    /// The OpenTelemetry semantic-convention names the catalogues give their points: OTLP
    /// sinks also send such a point's value under that name.
    pub semconv: SemanticNames,
}

/// Per product, per data point: the OpenTelemetry semantic-convention attribute that means the
/// same (`os.description`), as `candor-schema` reads it from the catalogues; the transport
/// knows no point by name.
pub use candor_schema::SemanticNames;

impl From<Timeouts> for SinkOptions {
    fn from(timeouts: Timeouts) -> Self {
        Self {
            timeouts,
            ..Self::default()
        }
    }
}

/// Reads a CA bundle, refusing anything larger than a generous bundle could be, and anything
/// but a regular file: a FIFO named by `CANDOR_CA_FILE` must not block building the sink.
#[cfg(all(feature = "tls", any(feature = "http", feature = "otlp")))]
pub(crate) fn read_ca(path: &std::path::Path) -> Result<Vec<u8>, crate::TransportError> {
    const MAX_CA_BYTES: u64 = 1024 * 1024;
    candor_state::file::read_input(path, MAX_CA_BYTES)
        .map_err(|e| crate::TransportError::CaFile(std::sync::Arc::new(e)))
}

/// Looks through an error's causes for a TLS error or a connection-level I/O error. An
/// `io::Error`'s `source()` skips the error it wraps, so wrapped errors are opened with
/// `get_ref()` as well.
#[cfg(any(feature = "http", feature = "otlp-http", feature = "otlp-grpc"))]
pub(crate) fn failure_in_chain(error: &(dyn std::error::Error + 'static)) -> Option<Failure> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    let mut depth = 0;
    while let Some(e) = source {
        depth += 1;
        if depth > 32 {
            return None;
        }
        #[cfg(feature = "tls")]
        if e.downcast_ref::<rustls::Error>().is_some() {
            return Some(Failure::Tls);
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if let Some(inner) = io.get_ref()
                && let Some(found) = failure_in_chain(inner)
            {
                return Some(found);
            }
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused
                | std::io::ErrorKind::HostUnreachable
                | std::io::ErrorKind::NetworkUnreachable
                | std::io::ErrorKind::AddrNotAvailable => return Some(Failure::Connect),
                std::io::ErrorKind::TimedOut => return Some(Failure::Timeout),
                _ => {}
            }
        }
        source = e.source();
    }
    None
}

/// How an HTTP status is treated, for every HTTP sink: 2xx delivered; a redirect (never
/// followed), 401, 403, 408, 413, 429 and 5xx kept and retried (the OTLP specification's
/// retryable 429, 502, 503, 504 among them; 401/403 because a host may hand out a new token,
/// 413 because a receiver's limit may change); every other status refused for good (400, 404,
/// 422 …).
pub fn classify_status(status: u16, after: Option<Duration>, destination: &str) -> Outcome {
    let failure = Failure::Status(status);
    match status {
        200..=299 => Outcome::Delivered {
            bytes: 0,
            refused: Refusals::default(),
        },
        300..=399 | 401 | 403 | 408 | 413 | 429 | 500..=599 => Outcome::Retry {
            failure,
            reason: format!("{destination} answered {failure}"),
            after,
        },
        400..=499 => Outcome::Reject {
            failure,
            reason: format!("{destination} refused the batch with {failure}"),
        },
        _ => Outcome::Retry {
            failure,
            reason: format!("{destination} answered {failure}"),
            after,
        },
    }
}

/// How a gRPC status code is treated: the OTLP specification's retryable codes (Cancelled,
/// DeadlineExceeded, ResourceExhausted, Aborted, OutOfRange, Unavailable, DataLoss) and, as for
/// HTTP 401/403, PermissionDenied and Unauthenticated are retried; the rest are refused for
/// good.
pub fn classify_grpc(code: i32, after: Option<Duration>, destination: &str) -> Outcome {
    let failure = Failure::Grpc(code);
    match code {
        0 => Outcome::Delivered {
            bytes: 0,
            refused: Refusals::default(),
        },
        1 | 4 | 7 | 8 | 10 | 11 | 14 | 15 | 16 => Outcome::Retry {
            failure,
            reason: format!("{destination} answered {failure}"),
            after,
        },
        _ => Outcome::Reject {
            failure,
            reason: format!("{destination} refused the batch with {failure}"),
        },
    }
}

/// The timeout of a request starting now: the sink's own, never more than the time left
/// before `deadline`; `None` when no time is left.
#[cfg(any(feature = "http", feature = "otlp"))]
pub(crate) fn time_left(
    request_timeout: Duration,
    deadline: Option<std::time::Instant>,
) -> Option<Duration> {
    match deadline {
        None => Some(request_timeout),
        Some(deadline) => {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            (!left.is_zero()).then(|| left.min(request_timeout))
        }
    }
}

/// What a request that had no time left to start comes to: kept, to be tried again.
#[cfg(any(feature = "http", feature = "otlp"))]
pub(crate) fn out_of_time(endpoint: &crate::endpoint::Endpoint) -> Outcome {
    Outcome::Retry {
        failure: Failure::Timeout,
        reason: format!("no time left to POST to {endpoint}"),
        after: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_one_table() {
        for code in [
            301, 302, 307, 308, 401, 403, 408, 413, 429, 500, 502, 503, 504,
        ] {
            assert!(
                matches!(classify_status(code, None, "x"), Outcome::Retry { .. }),
                "{code}"
            );
        }
        for code in [400, 404, 405, 410, 415, 422] {
            assert!(
                matches!(classify_status(code, None, "x"), Outcome::Reject { .. }),
                "{code}"
            );
        }
        assert!(matches!(
            classify_status(204, None, "x"),
            Outcome::Delivered { .. }
        ));
        assert!(matches!(
            classify_grpc(14, None, "x"),
            Outcome::Retry { .. }
        ));
        assert!(matches!(
            classify_grpc(3, None, "x"),
            Outcome::Reject { .. }
        ));
        assert!(matches!(
            classify_grpc(12, None, "x"),
            Outcome::Reject { .. }
        ));
    }

    #[test]
    fn misconfigurations_have_hints() {
        for f in [
            Failure::Status(404),
            Failure::Status(405),
            Failure::Status(308),
            Failure::Tls,
            Failure::Connect,
        ] {
            assert!(f.hint().is_some(), "{f}");
        }
        assert_eq!(Failure::Status(404).to_string(), "HTTP 404 Not Found");
        assert_eq!(Failure::Grpc(14).to_string(), "gRPC Unavailable");
    }
}
