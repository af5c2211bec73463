//! A delivery's counters: kept by the thread that delivers, read by anyone at any time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use serde::Serialize;

use crate::drops::{DropCause, DropCount, DropTally};
use crate::sink::Failure;

/// Counters, written by the delivering thread.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    accepted: AtomicU64,
    delivered: AtomicU64,
    delivered_batches: AtomicU64,
    receipts_unwritten: AtomicU64,
    retries: AtomicU64,
    last_error: Mutex<Option<String>>,
    unanswered_since: Mutex<Option<SystemTime>>,
    last_failure: Mutex<Option<Failure>>,
    /// Every event dropped for good, by cause (spool files, for [`DropCause::Unreadable`]).
    drops: DropTally,
    /// Events waiting (batched, in memory or in the spool).
    pending: AtomicU64,
}

impl Stats {
    pub(crate) fn accepted(&self, n: u64) {
        self.accepted.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn delivered(&self, events: u64) {
        self.delivered.fetch_add(events, Ordering::Relaxed);
        self.delivered_batches.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn receipt_unwritten(&self) {
        self.receipts_unwritten.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn retried(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    /// Notes whether the receiver answered an attempt (accepted or refused) or not (retry).
    pub(crate) fn answered(&self, answered: bool) {
        let mut since = self
            .unanswered_since
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if answered {
            *since = None;
        } else {
            since.get_or_insert_with(SystemTime::now);
        }
    }

    pub(crate) fn dropped(&self, cause: DropCause, events: u64) {
        self.drops.add(cause, events);
    }

    pub(crate) fn failed(&self, failure: Failure, message: String) {
        *self
            .last_failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(failure);
        self.error(message);
    }

    pub(crate) fn error(&self, message: String) {
        *self
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(message);
    }

    pub(crate) fn pending(&self) -> u64 {
        self.pending.load(Ordering::Relaxed)
    }

    pub(crate) fn set_pending(&self, n: u64) {
        self.pending.store(n, Ordering::Relaxed);
    }

    pub(crate) fn more_pending(&self, n: u64) {
        self.pending.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn less_pending(&self, n: u64) {
        let _ = self
            .pending
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |p| {
                Some(p.saturating_sub(n))
            });
    }

    pub(crate) fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            accepted: self.accepted.load(Ordering::Relaxed),
            delivered: self.delivered.load(Ordering::Relaxed),
            delivered_batches: self.delivered_batches.load(Ordering::Relaxed),
            receipts_unwritten: self.receipts_unwritten.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            pending: self.pending(),
            last_error: self
                .last_error
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
            unanswered_since: *self
                .unanswered_since
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
            last_failure: *self
                .last_failure
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
            drops: self.drops.counts(),
        }
    }
}

/// A delivery's counters as they stand, readable from any thread while it delivers (and after
/// it stopped). Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Counters(pub(crate) Arc<Stats>);

impl Counters {
    /// A copy of the counters now.
    pub fn snapshot(&self) -> StatsSnapshot {
        self.0.snapshot()
    }
}

/// A copy of a delivery's counters. Each drop is counted once, under its cause, in
/// [`StatsSnapshot::drops`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct StatsSnapshot {
    /// Events taken in to be delivered.
    pub accepted: u64,
    /// Events the receiver accepted.
    pub delivered: u64,
    /// Batches the receiver accepted.
    pub delivered_batches: u64,
    /// Deliveries whose receipt could not be written (the last error says why): delivered,
    /// but not on record.
    pub receipts_unwritten: u64,
    /// Delivery attempts that failed and will be retried.
    pub retries: u64,
    /// Events waiting (in memory or in the spool) when the snapshot was taken.
    pub pending: u64,
    /// The last delivery error, if any.
    pub last_error: Option<String>,
    /// Since when every delivery attempt has failed without an answer from the receiver (a
    /// connection error, a timeout, a server error); `None` once the receiver answered
    /// (accepted or refused a batch), and before any attempt failed.
    pub unanswered_since: Option<SystemTime>,
    /// The last delivery failure, as a type (its [`Failure::hint`] says what to check).
    pub last_failure: Option<Failure>,
    /// Every event dropped for good, by cause; empty when nothing was dropped.
    pub drops: Vec<DropCount>,
}

impl StatsSnapshot {
    /// Events (for [`DropCause::Unreadable`]: files) dropped for exactly `cause`.
    pub fn dropped(&self, cause: DropCause) -> u64 {
        crate::drops::total(&self.drops, |c| *c == cause)
    }

    /// Events the receiver refused for good: whole batches ([`DropCause::Refused`], whatever
    /// the failure) and events of accepted batches refused one by one.
    pub fn refused(&self) -> u64 {
        crate::drops::total(&self.drops, |c| {
            matches!(c, DropCause::Refused(_) | DropCause::RefusedOneByOne)
        })
    }

    /// Events dropped for good, whatever the cause (spool files that could not be read are
    /// files, not events, and are left out).
    pub fn dropped_events(&self) -> u64 {
        crate::drops::total(&self.drops, |c| *c != DropCause::Unreadable)
    }
}
