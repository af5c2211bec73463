//! HTTPS JSON to a vendor endpoint, and the host relay: a gzip-compressed JSON array of
//! events in one POST, with a bearer token for the relay.

use std::io::Write;

use candor_schema::Event;
use flate2::Compression;
use flate2::write::GzEncoder;

use super::{Failure, Outcome, Sink, SinkOptions, client};
use crate::TransportError;
use crate::endpoint::Endpoint;

/// Which of the two HTTP ways.
#[derive(Clone, PartialEq, Eq)]
pub enum HttpSinkKind {
    /// A vendor endpoint (the agent seed's way).
    Json,
    /// The host application's loopback endpoint, with the bearer token the host gave.
    Relay {
        /// The token.
        token: String,
    },
}

impl std::fmt::Debug for HttpSinkKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Json => f.write_str("Json"),
            Self::Relay { .. } => f.write_str("Relay { token: <redacted> }"),
        }
    }
}

/// POSTs batches as gzip-compressed JSON.
pub struct HttpSink {
    client: reqwest::blocking::Client,
    endpoint: Endpoint,
    kind: HttpSinkKind,
    request_timeout: std::time::Duration,
}

impl std::fmt::Debug for HttpSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpSink")
            .field("endpoint", &self.endpoint)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl HttpSink {
    /// A sink to `endpoint`. The client is built here, so this must not run inside an async
    /// runtime (the pipeline builds sinks on its own thread).
    pub fn new(
        endpoint: Endpoint,
        kind: HttpSinkKind,
        options: &SinkOptions,
    ) -> Result<Self, TransportError> {
        if let HttpSinkKind::Relay { token } = &kind
            && (token.is_empty() || token.chars().any(|c| c.is_control() || c == ' '))
        {
            return Err(TransportError::Config(
                "the relay token is empty or has spaces or control characters".to_owned(),
            ));
        }
        Ok(Self {
            client: client::build(options)?,
            endpoint,
            kind,
            request_timeout: options.timeouts.request,
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
        self.endpoint.to_string()
    }

    fn deliver(&mut self, events: &[Event]) -> Outcome {
        self.deliver_by(events, None)
    }

    fn deliver_by(&mut self, events: &[Event], deadline: Option<std::time::Instant>) -> Outcome {
        // The request timeout never exceeds the time left before the caller's deadline.
        let Some(timeout) = client::time_left(self.request_timeout, deadline) else {
            return client::out_of_time(&self.endpoint);
        };
        let body = match gzip_json(events) {
            Ok(b) => b,
            Err(e) => {
                return Outcome::Reject {
                    failure: Failure::Encode,
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
        client::post(request.timeout(timeout), &self.endpoint, bytes)
    }
}
