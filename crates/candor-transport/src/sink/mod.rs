//! Sinks: where a batch of events goes. Each reports what happened so the pipeline can retry,
//! drop or remove the batch.

mod file;
#[cfg(feature = "http")]
mod http;
#[cfg(feature = "otlp")]
mod otlp;

use std::time::Duration;

use candor_schema::Event;

pub use file::FileSink;
#[cfg(feature = "http")]
pub use http::{HttpSink, HttpSinkKind};
#[cfg(feature = "otlp")]
pub use otlp::{OtlpProtocol, OtlpSink};

/// What became of one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The receiver accepted the batch.
    Delivered {
        /// Bytes sent.
        bytes: u64,
    },
    /// A temporary failure (network error, 429, 5xx): try again later.
    Retry {
        /// What went wrong.
        reason: String,
        /// How long the server asked us to wait.
        after: Option<Duration>,
    },
    /// The receiver refused the batch for good (4xx other than 429): drop it and count it.
    Reject {
        /// What went wrong.
        reason: String,
    },
}

/// A destination for batches.
pub trait Sink: Send {
    /// The sink's kind (`otlp-http`, `json`, `relay`, `file`).
    fn kind(&self) -> &'static str;
    /// Where it sends, for receipts and messages.
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

/// How an HTTP status is treated: 2xx delivered; 429, 502, 503, 504 and other 5xx retried;
/// other 4xx rejected.
pub fn classify_status(status: u16, after: Option<Duration>) -> Outcome {
    match status {
        200..=299 => Outcome::Delivered { bytes: 0 },
        429 | 500..=599 => Outcome::Retry {
            reason: format!("the receiver answered {status}"),
            after,
        },
        _ => Outcome::Reject {
            reason: format!("the receiver refused the batch with {status}"),
        },
    }
}
