//! HTTPS JSON to a vendor endpoint, and the host relay: a gzip-compressed JSON array of
//! events in one POST, with a bearer token for the relay.

use std::io::Write;
use std::time::SystemTime;

use candor_schema::Event;
use flate2::Compression;
use flate2::write::GzEncoder;

use super::{Outcome, Sink, Timeouts, classify_status};
use crate::TransportError;
use crate::endpoint::Endpoint;
use crate::retry::parse_retry_after;

/// Which of the two HTTP ways.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpSinkKind {
    /// A vendor endpoint (the agent seed's way).
    Json,
    /// The host application's loopback endpoint, with the bearer token the host gave.
    Relay {
        /// The token.
        token: String,
    },
}

/// POSTs batches as gzip-compressed JSON.
#[derive(Debug)]
pub struct HttpSink {
    client: reqwest::blocking::Client,
    endpoint: Endpoint,
    kind: HttpSinkKind,
    request_timeout: std::time::Duration,
}

impl HttpSink {
    /// A sink to `endpoint`. The client is built here, so this must not run inside an async
    /// runtime (the pipeline builds sinks on its own thread).
    pub fn new(
        endpoint: Endpoint,
        kind: HttpSinkKind,
        timeouts: Timeouts,
    ) -> Result<Self, TransportError> {
        if let HttpSinkKind::Relay { token } = &kind
            && (token.is_empty() || token.chars().any(|c| c.is_control() || c == ' '))
        {
            return Err(TransportError::Config(
                "the relay token is empty or has spaces or control characters".to_owned(),
            ));
        }
        let client = reqwest::blocking::Client::builder()
            .connect_timeout(timeouts.connect)
            .timeout(timeouts.request)
            .user_agent(concat!("candor/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| TransportError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            client,
            endpoint,
            kind,
            request_timeout: timeouts.request,
        })
    }
}

/// Encodes a batch as a gzip-compressed JSON array.
pub(crate) fn gzip_json(events: &[Event]) -> Result<Vec<u8>, String> {
    let json = serde_json::to_vec(events).map_err(|e| e.to_string())?;
    let mut encoder = GzEncoder::new(Vec::with_capacity(json.len() / 4), Compression::default());
    encoder.write_all(&json).map_err(|e| e.to_string())?;
    encoder.finish().map_err(|e| e.to_string())
}

impl Sink for HttpSink {
    fn kind(&self) -> &'static str {
        match self.kind {
            HttpSinkKind::Json => "json",
            HttpSinkKind::Relay { .. } => "relay",
        }
    }

    fn destination(&self) -> String {
        self.endpoint.url().to_owned()
    }

    fn deliver(&mut self, events: &[Event]) -> Outcome {
        self.deliver_by(events, None)
    }

    fn deliver_by(&mut self, events: &[Event], deadline: Option<std::time::Instant>) -> Outcome {
        // The request timeout never exceeds the time left before the caller's deadline.
        let left = deadline.map(|d| d.saturating_duration_since(std::time::Instant::now()));
        if left.is_some_and(|l| l.is_zero()) {
            return Outcome::Retry {
                reason: format!("no time left to POST to {}", self.endpoint.url()),
                after: None,
            };
        }
        let body = match gzip_json(events) {
            Ok(b) => b,
            Err(e) => {
                return Outcome::Reject {
                    reason: format!("cannot encode the batch: {e}"),
                };
            }
        };
        let bytes = body.len() as u64;
        let mut request = self
            .client
            .post(self.endpoint.url())
            .header("content-type", "application/json")
            .header("content-encoding", "gzip")
            .body(body);
        if let HttpSinkKind::Relay { token } = &self.kind {
            request = request.bearer_auth(token);
        }
        if let Some(left) = left {
            request = request.timeout(left.min(self.request_timeout));
        }
        let response = match request.send() {
            Ok(r) => r,
            Err(e) => {
                let what = if e.is_timeout() {
                    "timed out"
                } else if e.is_connect() {
                    "could not connect"
                } else {
                    "failed"
                };
                return Outcome::Retry {
                    reason: format!("POST to {} {what}", self.endpoint.url()),
                    after: None,
                };
            }
        };
        let status = response.status().as_u16();
        let after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        // Read the (small) body so a response cut short counts as a failure, not a success.
        let complete = response.bytes().is_ok();
        match classify_status(status, after) {
            Outcome::Delivered { .. } if complete => Outcome::Delivered { bytes },
            Outcome::Delivered { .. } => Outcome::Retry {
                reason: format!("the response from {} was cut short", self.endpoint.url()),
                after: None,
            },
            other => other,
        }
    }
}
