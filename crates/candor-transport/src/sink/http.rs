//! HTTPS JSON to a vendor endpoint, and the host relay: a gzip-compressed JSON array of
//! events in one POST, with a bearer token for the relay.

use std::io::Write;

use candor_schema::Event;
use flate2::Compression;
use flate2::write::GzEncoder;

use super::{Failure, Outcome, Refusals, Sink, SinkOptions, client};
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
    /// The last attempt's body, for the local copy.
    last: Option<super::Payload>,
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
            return Err(TransportError::RelayToken);
        }
        Ok(Self {
            client: client::build(options)?,
            endpoint,
            kind,
            request_timeout: options.timeouts.request,
            last: None,
        })
    }
}

/// Encodes a batch as a gzip-compressed JSON array, at gzip's fastest level: a batch's JSON
/// repeats its field names and envelope on every event, which the fastest level already
/// shrinks more than tenfold; the default level shrinks it a few percent further for about
/// seven times the CPU, spent on the user's machine for every batch.
pub(crate) fn gzip_json(events: &[Event]) -> Result<Vec<u8>, String> {
    let json = serde_json::to_vec(events).map_err(|e| e.to_string())?;
    let mut encoder = GzEncoder::new(Vec::with_capacity(json.len() / 8), Compression::fast());
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

    fn take_payload(&mut self) -> Option<super::Payload> {
        self.last.take()
    }

    fn deliver_by(&mut self, events: &[Event], deadline: Option<std::time::Instant>) -> Outcome {
        // The request timeout never exceeds the time left before the caller's deadline.
        let Some(timeout) = super::time_left(self.request_timeout, deadline) else {
            return super::out_of_time(&self.endpoint);
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
        self.last = Some(super::Payload {
            format: candor_state::PayloadFormat::GzipJson,
            bytes: body.clone(),
        });
        let mut request = self
            .client
            .post(self.endpoint.url())
            .header("content-type", "application/json")
            .header("content-encoding", "gzip")
            .body(body);
        if let HttpSinkKind::Relay { token } = &self.kind {
            request = request.bearer_auth(token);
        }
        let len = events.len();
        client::post(request.timeout(timeout), &self.endpoint, bytes, |answer| {
            json_refusals(answer, len)
        })
    }
}

/// The events a JSON receiver took the batch without: Candor's answer
/// (`{"accepted": n, "duplicates": n, "refused_count": n, "refused": [{"index": i, "reason":
/// …, "detail": …}, …]}`). An answer of another shape (or none) refuses nothing.
pub(crate) fn json_refusals(answer: &[u8], len: usize) -> Refusals {
    #[derive(serde::Deserialize)]
    struct Answer {
        refused_count: u64,
        #[serde(default)]
        refused: Vec<Refused>,
    }
    #[derive(serde::Deserialize)]
    struct Refused {
        index: usize,
        #[serde(default)]
        reason: Option<String>,
        #[serde(default)]
        detail: Option<String>,
    }
    let Ok(answer) = serde_json::from_slice::<Answer>(answer) else {
        return Refusals::default();
    };
    let reason = answer
        .refused
        .first()
        .map(|r| match (&r.reason, &r.detail) {
            (Some(code), Some(detail)) => format!("{code}: {detail}"),
            (Some(code), None) => code.clone(),
            (None, Some(detail)) => detail.clone(),
            (None, None) => String::new(),
        });
    Refusals::new(
        answer.refused_count,
        answer.refused.iter().map(|r| r.index),
        len,
        reason.filter(|r| !r.is_empty()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_json_answer_names_what_it_refused() {
        let answer = br#"{"accepted":1,"duplicates":0,"refused":[{"detail":"not in effect for 21.1.2","event_id":"ab","index":1,"reason":"not_in_effect"}],"refused_count":1}"#;
        let refused = json_refusals(answer, 2);
        assert_eq!(refused.count, 1);
        assert_eq!(refused.which, vec![1]);
        assert_eq!(
            refused.reason.as_deref(),
            Some("not_in_effect: not in effect for 21.1.2")
        );
    }

    #[test]
    fn other_answers_refuse_nothing_and_lies_are_bounded() {
        for answer in [&b""[..], b"ok", b"{}", b"{\"accepted\":3}", b"[1,2]"] {
            assert_eq!(json_refusals(answer, 3), Refusals::default());
        }
        // More refusals than events, positions past the batch, repeats: not believed.
        let answer = br#"{"refused_count":99,"refused":[{"index":0},{"index":0},{"index":7}]}"#;
        let refused = json_refusals(answer, 3);
        assert_eq!(refused.count, 3);
        assert_eq!(refused.which, vec![0]);
        // A list cut short still gives the count.
        let answer = br#"{"refused_count":2,"refused":[{"index":2}]}"#;
        let refused = json_refusals(answer, 3);
        assert_eq!((refused.count, refused.which.clone()), (2, vec![2]));
    }
}
