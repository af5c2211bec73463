//! Deletion requests on the client: the record Candor keeps of one (pending until a receiver
//! confirms it, kept by `candor-state` as bytes in `deletions/<product>.json`) and the one way
//! to send it.
//!
//! A JSON sink `POST`s it to the events endpoint's sibling [`candor_schema::DELETION_PATH`]
//! (the events URL's last path segment replaced by `deletion-requests`) and takes the
//! receiver's confirmation. An OTLP sink (HTTP or gRPC) exports it as a log record of its own
//! (`candor_otlp::encode_deletion`) to the endpoint it sends events to; OTLP's answer holds no
//! confirmation, so a success with nothing rejected counts as one, timed on arrival. A relay
//! or file sink has no receiver that erases, so through those the request is kept pending with
//! that reason (documented fallback) until the product sends through another sink or the user
//! runs `candor clean`.

use std::time::{Duration, Instant, SystemTime};

use candor_schema::{DeletionConfirmation, DeletionRequest};
use serde::{Deserialize, Serialize};

use crate::sink::SinkOptions;
use crate::{Endpoint, SinkSpec};

/// The largest deletion record read back.
pub const MAX_DELETION_RECORD: u64 = 16 * 1024;

/// What Candor keeps of a deletion request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeletionRecord {
    /// The request as sent.
    pub request: DeletionRequest,
    /// When consent was turned off and the request made, RFC 3339.
    pub requested_at: String,
    /// How many times it was sent.
    #[serde(default)]
    pub attempts: u32,
    /// Why the last attempt did not get a confirmation (a receiver's refusal with its cause,
    /// an unreachable endpoint, a sink that cannot carry it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_problem: Option<String>,
    /// The receiver's confirmation, once it erased what it held.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmation: Option<DeletionConfirmation>,
}

impl DeletionRecord {
    /// A new, pending request for `key` of `product`.
    pub fn new(product: &str, key: &str, request_id: &str) -> Self {
        let now = humantime::format_rfc3339_micros(SystemTime::now()).to_string();
        Self {
            request: DeletionRequest::new(product, key, request_id, &now),
            requested_at: now,
            attempts: 0,
            last_problem: None,
            confirmation: None,
        }
    }

    /// Reads a record as `candor-state` returned it: a one-line error for anything that is
    /// not one.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        let record: Self = serde_json::from_slice(bytes)
            .map_err(|e| format!("not a deletion record Candor wrote ({e})"))?;
        record
            .request
            .check()
            .map_err(|e| format!("not a deletion record Candor wrote ({e})"))?;
        Ok(record)
    }

    /// The record as written.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).unwrap_or_default();
        bytes.push(b'\n');
        bytes
    }

    /// Whether a receiver confirmed it.
    pub fn is_confirmed(&self) -> bool {
        self.confirmation.is_some()
    }

    /// One line for people: "deletion requested at …; confirmed at …" or what stands in the way.
    pub fn describe(&self) -> String {
        // What a record holds may be a receiver's words or a hand edit: shown without control
        // characters (a terminal escape), and cut.
        self.describe_raw()
            .chars()
            .filter(|c| !c.is_control())
            .take(600)
            .collect()
    }

    fn describe_raw(&self) -> String {
        match (&self.confirmation, &self.last_problem) {
            (Some(c), _) => format!(
                "deletion requested at {}; confirmed at {}",
                self.requested_at, c.confirmed_at
            ),
            (None, Some(problem)) => format!(
                "deletion requested at {}; not confirmed yet ({} attempts): {problem}",
                self.requested_at, self.attempts
            ),
            (None, None) => format!("deletion requested at {}; not sent yet", self.requested_at),
        }
    }
}

#[cfg(test)]
mod describe_tests {
    use super::*;

    #[test]
    fn a_receivers_escape_sequence_is_never_shown() {
        let mut record = DeletionRecord::new("p", &"ab".repeat(16), &"cd".repeat(16));
        record.last_problem = Some("rejected: \u{1b}]0;pwned\u{7}\u{1b}[2J gone".to_owned());
        let line = record.describe();
        assert!(!line.chars().any(char::is_control), "{line:?}");
        assert!(line.contains("pwned") && line.contains("gone"), "{line}");
        let refusals = crate::sink::Refusals::new(1, [], 1, Some("x\u{1b}[31my".to_owned()));
        assert_eq!(refusals.reason.as_deref(), Some("x[31my"));
    }
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeletionOutcome {
    /// The receiver confirmed.
    Confirmed(DeletionConfirmation),
    /// The receiver refused it (4xx): kept, with the cause, and tried again on a later run.
    Refused(String),
    /// It did not arrive (network, 5xx, 3xx, a reply that is not a confirmation).
    Retry(String),
    /// The sink cannot carry a deletion request.
    Unsupported(String),
    /// A receiver took it but did not confirm an erasure (an OTLP collector that forwards it,
    /// or a success from something that is not Candor's receiver): not retried in this run.
    Unconfirmed(String),
}

/// The deletion endpoint next to a JSON sink's events endpoint.
pub fn deletion_endpoint(sink: &SinkSpec) -> Result<Endpoint, String> {
    let SinkSpec::Json { endpoint } = sink else {
        return Err(format!(
            "the {} sink cannot carry a deletion request; it is kept until the product sends \
             through a JSON or OTLP sink, or `candor clean` removes it",
            sink.kind()
        ));
    };
    let events = Endpoint::parse(endpoint).map_err(|e| e.to_string())?;
    let mut url = url::Url::parse(events.url()).map_err(|e| e.to_string())?;
    url.set_query(None);
    url.set_fragment(None);
    let path = url.path().trim_end_matches('/');
    let parent = path.rsplit_once('/').map_or("", |(p, _)| p);
    let sibling = candor_schema::DELETION_PATH.trim_start_matches("/v1");
    let new_path = if parent.ends_with("/v1") {
        format!("{parent}{sibling}")
    } else {
        candor_schema::DELETION_PATH.to_owned()
    };
    url.set_path(&new_path);
    Endpoint::parse(url.as_str()).map_err(|e| e.to_string())
}

/// Sends `request` once, giving up by `deadline` where the sink can bound its request.
pub fn send_deletion(
    sink: &SinkSpec,
    options: &SinkOptions,
    request: &DeletionRequest,
    deadline: Option<Instant>,
) -> DeletionOutcome {
    if let Some(outcome) = send_over_otlp(sink, options, request, deadline) {
        return outcome;
    }
    let endpoint = match deletion_endpoint(sink) {
        Ok(e) => e,
        Err(why) => return DeletionOutcome::Unsupported(why),
    };
    post_deletion(&endpoint, options, request)
}

/// For an OTLP sink: the request exported through the sink itself
/// ([`crate::Sink::deliver_deletion`]), and what became of it; `None` for any other sink.
fn send_over_otlp(
    sink: &SinkSpec,
    options: &SinkOptions,
    request: &DeletionRequest,
    deadline: Option<Instant>,
) -> Option<DeletionOutcome> {
    if !matches!(sink, SinkSpec::OtlpHttp { .. } | SinkSpec::OtlpGrpc { .. }) {
        return None;
    }
    let mut otlp = match sink.build(options.clone()) {
        Ok(sink) => sink,
        Err(e @ crate::TransportError::NotBuilt { .. }) => {
            return Some(DeletionOutcome::Unsupported(e.to_string()));
        }
        Err(e) => return Some(DeletionOutcome::Retry(e.to_string())),
    };
    let destination = otlp.destination();
    let (outcome, confirmed) = otlp.deliver_deletion(request, deadline)?;
    Some(match outcome {
        crate::sink::Outcome::Delivered { refused, .. } if refused.count == 0 && confirmed => {
            DeletionOutcome::Confirmed(DeletionConfirmation {
                request_id: request.request_id.clone(),
                confirmed_at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
            })
        }
        crate::sink::Outcome::Delivered { refused, .. } if refused.count == 0 => {
            DeletionOutcome::Unconfirmed(format!(
                "{destination} took it without confirming an erasure (a collector forwards it \
                 on); the next start asks again"
            ))
        }
        crate::sink::Outcome::Delivered { refused, .. } => DeletionOutcome::Refused(format!(
            "{destination} rejected it: {}",
            refused.reason.as_deref().unwrap_or("no reason given")
        )),
        crate::sink::Outcome::Reject { reason, .. } => DeletionOutcome::Refused(reason),
        crate::sink::Outcome::Retry { reason, .. } => DeletionOutcome::Retry(reason),
    })
}

/// A build without an HTTP client (neither `http` nor `otlp-http`) cannot send one: the
/// request is kept, with that reason, as for a sink that cannot carry it.
#[cfg(not(any(feature = "http", feature = "otlp-http")))]
fn post_deletion(
    _endpoint: &Endpoint,
    _options: &SinkOptions,
    _request: &DeletionRequest,
) -> DeletionOutcome {
    DeletionOutcome::Unsupported(
        "this build of candor-transport has no HTTP client (its `http` feature)".to_owned(),
    )
}

/// `POST`s `request` to `endpoint` once and reads the answer.
#[cfg(any(feature = "http", feature = "otlp-http"))]
fn post_deletion(
    endpoint: &Endpoint,
    options: &SinkOptions,
    request: &DeletionRequest,
) -> DeletionOutcome {
    use std::io::Read;
    let client = match crate::sink::client::build(options) {
        Ok(c) => c,
        Err(e) => return DeletionOutcome::Retry(e.to_string()),
    };
    let body = serde_json::to_vec(request).unwrap_or_default();
    let response = match client
        .post(endpoint.url())
        .header("content-type", "application/json")
        .body(body)
        .send()
    {
        Ok(r) => r,
        Err(e) => {
            let failure = crate::sink::client::failure_of(&e);
            return DeletionOutcome::Retry(format!("POST to {endpoint}: {failure}"));
        }
    };
    let status = response.status().as_u16();
    let mut reply = Vec::new();
    let _ = response
        .take(crate::sink::MAX_REPLY_BYTES as u64)
        .read_to_end(&mut reply);
    let said = String::from_utf8_lossy(&reply)
        .lines()
        .next()
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect::<String>();
    match status {
        200..=299 => match serde_json::from_slice::<DeletionConfirmation>(&reply) {
            Ok(c) if c.request_id == request.request_id => DeletionOutcome::Confirmed(c),
            _ => DeletionOutcome::Retry(format!(
                "{endpoint} answered {status} without a confirmation of this request"
            )),
        },
        400..=499 if status != 408 && status != 429 => {
            DeletionOutcome::Refused(format!("{endpoint} refused it ({status}): {said}"))
        }
        _ => DeletionOutcome::Retry(format!("{endpoint} answered {status}: {said}")),
    }
}

/// Sends `record`'s request until a receiver confirms it, refuses it, `deadline` passes or
/// `stopped` says so (checked between attempts and while waiting, every 100 ms), waiting
/// between attempts as the pipeline does (1 s doubling to 60 s); each attempt is bounded by the
/// deadline too. Calls `save` before each attempt (so a run that ends while one is on the wire
/// leaves a record that says it was sent) and after it, so the record on disk says what happened.
pub fn deliver(
    sink: &SinkSpec,
    options: &SinkOptions,
    record: &mut DeletionRecord,
    deadline: Duration,
    stopped: &dyn Fn() -> bool,
    mut save: impl FnMut(&DeletionRecord),
) {
    let until = Instant::now() + deadline;
    let mut wait = Duration::from_secs(1);
    while !record.is_confirmed() && !stopped() {
        record.attempts = record.attempts.saturating_add(1);
        // Saved before it leaves: a run that ends while the attempt is on the wire leaves a
        // record that says so, not "not sent yet", nor an earlier attempt's problem (or its
        // "no answer yet") under this attempt's count.
        record.last_problem = Some(format!(
            "attempt {} sent at {}, no answer yet",
            record.attempts,
            humantime::format_rfc3339_seconds(SystemTime::now())
        ));
        save(record);
        let outcome = send_deletion(sink, options, &record.request, Some(until));
        let again = match outcome {
            DeletionOutcome::Confirmed(c) => {
                record.confirmation = Some(c);
                record.last_problem = None;
                false
            }
            DeletionOutcome::Refused(why)
            | DeletionOutcome::Unsupported(why)
            | DeletionOutcome::Unconfirmed(why) => {
                record.last_problem = Some(why);
                false
            }
            DeletionOutcome::Retry(why) => {
                record.last_problem = Some(why);
                true
            }
        };
        save(record);
        if !again || Instant::now() + wait > until {
            return;
        }
        let resume = Instant::now() + wait;
        while Instant::now() < resume {
            if stopped() {
                return;
            }
            std::thread::sleep(
                resume
                    .saturating_duration_since(Instant::now())
                    .min(STOP_POLL),
            );
        }
        wait = (wait * 2).min(Duration::from_secs(60));
    }
}

/// How often a delivery waiting between attempts looks whether it was stopped.
const STOP_POLL: Duration = Duration::from_millis(100);
