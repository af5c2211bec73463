//! Why events were dropped for good: one cause per count, so "dropped: N" always says why.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

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
    /// Lines of spool files that did not hold an event (damaged on disk, cut short); counted
    /// in events, one per line. The rest of each file is read and sent. (A spool entry that
    /// is not a batch at all holds no event: it is removed and counted as a file,
    /// [`crate::StatsSnapshot::dropped_unreadable`].)
    Unreadable,
    /// The receiver refused the batch for good (400, 404, 422, a non-retryable gRPC code).
    Refused(Failure),
    /// The receiver took the batch but refused these events one by one (its answer lists
    /// them: Candor's JSON `refused`, OTLP's partial success).
    RefusedOneByOne,
    /// The spool could not be written, so the batch could not be kept for delivery.
    Unwritable(DiskFailure),
    /// The event alone is larger than a spool file may be (the spool's size cap, at least
    /// 1 MiB), so it could never be read back: not kept.
    EventTooLarge,
    /// The pipeline's owner withdrew them before they were sent: the decision they were
    /// recorded under no longer held (consent changed).
    Withdrawn,
    /// Read back from the spool, they failed their owner's check before sending ([`crate::Admit`]):
    /// not of this product or catalogue revision, an undeclared or expired point, a value
    /// privacy refuses. A spool file changed on disk, most likely.
    Inadmissible,
    /// The sink could not be started (its settings cannot be used: a CA file that is not
    /// PEM, a sink this build lacks), so nothing could be sent or kept for it.
    SinkUnavailable,
    /// Queued after their owner had shut down, so never taken in.
    AfterShutdown,
    /// Held until the product showed its notice (the first-run notice, or the notice again
    /// for points a catalogue revision added or widened), which it had not when it shut down.
    NoticeNotShown,
}

/// Why the disk refused a spool write, as the operating system said it.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DiskFailure {
    /// No space left on the device (`ENOSPC`).
    NoSpace,
    /// The user's disk quota is used up (`EDQUOT`).
    Quota,
    /// The file would exceed the largest this process may write (`EFBIG`, `ulimit -f`).
    FileTooLarge,
    /// The file system is mounted read-only (`EROFS`).
    ReadOnly,
    /// Permission denied.
    Permission,
    /// The spool's folder was removed while the product ran and could not be made again
    /// (`ENOENT`): not the disk's doing.
    FolderGone,
    /// Any other failure.
    Other,
}

impl DiskFailure {
    /// The failure behind an I/O error.
    pub fn of(error: &std::io::Error) -> Self {
        use std::io::ErrorKind;
        match error.kind() {
            ErrorKind::StorageFull => Self::NoSpace,
            ErrorKind::QuotaExceeded => Self::Quota,
            ErrorKind::FileTooLarge => Self::FileTooLarge,
            ErrorKind::ReadOnlyFilesystem => Self::ReadOnly,
            ErrorKind::PermissionDenied => Self::Permission,
            ErrorKind::NotFound => Self::FolderGone,
            _ => Self::Other,
        }
    }
}

impl std::fmt::Display for DiskFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::NoSpace => "no space left on the device",
            Self::Quota => "the disk quota is used up",
            Self::FileTooLarge => "the file would exceed this process's file size limit",
            Self::ReadOnly => "the file system is read-only",
            Self::Permission => "permission denied",
            Self::FolderGone => {
                "the spool's folder was removed while the product ran and could not be made again"
            }
            Self::Other => "the disk refused the write",
        })
    }
}

impl DropCause {
    /// What to check, when the cause usually means a misconfigured endpoint.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            Self::Refused(f) => f.hint(),
            Self::RefusedOneByOne => Some(
                "the receiver checks events against its own catalogue: is it the catalogue revision this product sends?",
            ),
            Self::Unwritable(DiskFailure::NoSpace | DiskFailure::Quota) => {
                Some("free space on the disk that holds Candor's folder")
            }
            Self::EventTooLarge => {
                Some("record smaller values, or give the spool a larger size cap")
            }
            Self::Inadmissible => Some(
                "something other than Candor changed the spool's files, or they were written under another catalogue revision",
            ),
            Self::SinkUnavailable => {
                Some("check the sink's settings (its CA file, the features Candor was built with)")
            }
            _ => None,
        }
    }
}

impl std::fmt::Display for DropCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::QueueFull => f.write_str("the queue was full"),
            Self::SpoolCaps => f.write_str("the spool was over its caps (size, files or age)"),
            Self::Unreadable => {
                f.write_str("damaged lines of spool files could not be read as events")
            }
            Self::Refused(failure) => write!(f, "the receiver refused them ({failure})"),
            Self::RefusedOneByOne => {
                f.write_str("the receiver took the batch but refused these events one by one")
            }
            Self::Unwritable(why) => write!(f, "the spool could not be written: {why}"),
            Self::EventTooLarge => f.write_str(
                "each was larger than a spool file may be (the spool's size cap), so not kept",
            ),
            Self::Withdrawn => f.write_str(
                "withdrawn before they were sent: the consent they were recorded under no longer holds",
            ),
            Self::Inadmissible => f.write_str(
                "read back from the spool, they failed the check before sending (catalogue, product, privacy)",
            ),
            Self::SinkUnavailable => f.write_str("the sink could not be started"),
            Self::AfterShutdown => f.write_str("recorded after Candor had shut down"),
            Self::NoticeNotShown => f.write_str(
                "held for the notice (first run, or a revision that collects more), which was not \
                 shown before the product stopped",
            ),
        }
    }
}

/// How many events one cause dropped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DropCount {
    /// The cause.
    pub cause: DropCause,
    /// Events.
    pub events: u64,
    /// The cause in words.
    pub reason: String,
    /// What to check, when the cause usually means a misconfigured endpoint.
    pub hint: Option<String>,
}

impl DropCount {
    /// `events` dropped for `cause`, with the cause in words and its hint.
    pub fn new(cause: DropCause, events: u64) -> Self {
        Self {
            cause,
            events,
            reason: cause.to_string(),
            hint: cause.hint().map(str::to_owned),
        }
    }

    /// Several lists (of several stages) merged into one, each cause once, in the causes'
    /// order.
    pub fn merge<'a>(lists: impl IntoIterator<Item = &'a [DropCount]>) -> Vec<DropCount> {
        let mut counts = BTreeMap::new();
        for drop in lists.into_iter().flatten() {
            *counts.entry(drop.cause).or_insert(0) += drop.events;
        }
        counts
            .into_iter()
            .map(|(cause, events)| Self::new(cause, events))
            .collect()
    }
}

/// Drops counted by cause, each once: the one tally every stage that drops keeps (a delivery,
/// the facade before its deliveries). Shared between the thread that drops and those that
/// read the counts.
#[derive(Debug, Default)]
pub struct DropTally {
    counts: Mutex<BTreeMap<DropCause, u64>>,
}

impl DropTally {
    /// Counts `events` dropped for `cause`.
    pub fn add(&self, cause: DropCause, events: u64) {
        if events == 0 {
            return;
        }
        *self
            .counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(cause)
            .or_insert(0) += events;
    }

    /// The counts as a list, in the causes' order; causes that dropped nothing left out.
    pub fn counts(&self) -> Vec<DropCount> {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(cause, events)| DropCount::new(*cause, *events))
            .collect()
    }
}

/// The sum of `drops` for the causes `wanted` picks.
pub(crate) fn total(drops: &[DropCount], wanted: impl Fn(&DropCause) -> bool) -> u64 {
    drops
        .iter()
        .filter(|d| wanted(&d.cause))
        .map(|d| d.events)
        .sum()
}
