//! Why events were dropped for good: one cause per count, so "dropped: N" always says why.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::sink::Failure;

/// Why events were dropped for good.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case", tag = "cause", content = "failure")]
pub enum DropCause {
    /// The queue was full when the event was submitted.
    QueueFull,
    /// The spool was over one of its caps (size, files, age); the oldest batches went.
    SpoolCaps,
    /// A spool file could not be read (damaged); counted in files.
    Unreadable,
    /// The receiver refused the batch for good (400, 404, 422, a non-retryable gRPC code).
    Refused(Failure),
    /// The receiver kept answering with a temporary failure past
    /// [`PipelineConfig::max_attempts`](crate::PipelineConfig::max_attempts).
    GaveUp(Failure),
}

impl DropCause {
    /// What to check, when the cause usually means a misconfigured endpoint.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            Self::Refused(f) | Self::GaveUp(f) => f.hint(),
            _ => None,
        }
    }
}

impl std::fmt::Display for DropCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::QueueFull => f.write_str("the queue was full"),
            Self::SpoolCaps => f.write_str("the spool was over its caps (size, files or age)"),
            Self::Unreadable => f.write_str("spool files could not be read"),
            Self::Refused(failure) => write!(f, "the receiver refused them ({failure})"),
            Self::GaveUp(failure) => {
                write!(f, "the receiver kept answering {failure}; retries gave up")
            }
        }
    }
}

/// How many events one cause dropped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DropCount {
    /// The cause.
    pub cause: DropCause,
    /// Events (for [`DropCause::Unreadable`]: files).
    pub events: u64,
    /// The cause in words.
    pub reason: String,
    /// What to check, when the cause usually means a misconfigured endpoint.
    pub hint: Option<String>,
}

/// The counts as a list: the pipeline's own causes first, then the receivers' answers; causes
/// that dropped nothing left out.
pub(crate) fn tally(
    own: [(DropCause, u64); 3],
    answered: &BTreeMap<DropCause, u64>,
) -> Vec<DropCount> {
    own.into_iter()
        .chain(answered.iter().map(|(c, n)| (*c, *n)))
        .filter(|(_, n)| *n > 0)
        .map(|(cause, events)| DropCount {
            cause,
            events,
            reason: cause.to_string(),
            hint: cause.hint().map(str::to_owned),
        })
        .collect()
}
