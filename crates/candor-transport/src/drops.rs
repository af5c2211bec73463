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
    /// The receiver took the batch but refused these events one by one (its answer lists
    /// them: Candor's JSON `refused`, OTLP's partial success).
    RefusedOneByOne,
    /// The spool could not be written, so the batch could not be kept for delivery.
    Unwritable(DiskFailure),
    /// The pipeline's owner withdrew them before they were sent: the decision they were
    /// recorded under no longer held (consent changed).
    Withdrawn,
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
            Self::RefusedOneByOne => {
                f.write_str("the receiver took the batch but refused these events one by one")
            }
            Self::Unwritable(why) => write!(f, "the spool could not be written: {why}"),
            Self::Withdrawn => f.write_str(
                "withdrawn before they were sent: the consent they were recorded under no longer holds",
            ),
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

/// The counts as a list, in the causes' order; causes that dropped nothing left out.
pub(crate) fn tally(counts: &BTreeMap<DropCause, u64>) -> Vec<DropCount> {
    counts
        .iter()
        .map(|(c, n)| (*c, *n))
        .filter(|(_, n)| *n > 0)
        .map(|(cause, events)| DropCount {
            cause,
            events,
            reason: cause.to_string(),
            hint: cause.hint().map(str::to_owned),
        })
        .collect()
}
