//! Where typed recorders send raw values, and a sink that prepares them at once.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use candor_schema::Event;

use crate::input::{Input, Scalar};
use crate::prepare::{Preparer, Rejected};

/// Receives raw values from typed recorders. The facade's handle implements it by queueing the
/// value for its worker; [`PreparedEvents`] prepares each value at once (for preview and tests).
pub trait Record {
    /// Records a raw value for `point`. Never blocks for long and never panics; a value that
    /// cannot be sent is refused later, with a reason.
    fn record(&self, point: &str, input: Input);

    /// Records a raw value for a point id the code names: what the generated recorders call.
    /// A receiver may keep the id as it is instead of copying it (the facade does, so a typed
    /// call allocates nothing for the point); by default it is [`Record::record`].
    fn record_declared(&self, point: &'static str, input: Input) {
        self.record(point, input);
    }

    /// Records a flag, a count or a length of time for a point id the code names: what the
    /// generated recorders call for those kinds. A receiver may take the value without the
    /// detour through [`Input`] (the facade does, so the host's call moves no more than the
    /// value); by default it is [`Record::record_declared`].
    fn record_scalar(&self, point: &'static str, value: Scalar) {
        self.record_declared(point, value.into());
    }
}

impl<T: Record + ?Sized> Record for &T {
    fn record(&self, point: &str, input: Input) {
        (**self).record(point, input);
    }

    fn record_declared(&self, point: &'static str, input: Input) {
        (**self).record_declared(point, input);
    }

    fn record_scalar(&self, point: &'static str, value: Scalar) {
        (**self).record_scalar(point, value);
    }
}

impl<T: Record + ?Sized> Record for Arc<T> {
    fn record(&self, point: &str, input: Input) {
        (**self).record(point, input);
    }

    fn record_declared(&self, point: &'static str, input: Input) {
        (**self).record_declared(point, input);
    }

    fn record_scalar(&self, point: &'static str, value: Scalar) {
        (**self).record_scalar(point, value);
    }
}

/// Refusals counted per data point, each reported in full only the first time, so that a point
/// recorded in a loop does not flood the debug output.
#[derive(Debug, Default, Clone)]
pub struct RejectionLog {
    counts: BTreeMap<String, (Rejected, u64)>,
}

impl RejectionLog {
    /// Notes a refusal; true when it is the first for its point (and should be reported).
    pub fn note(&mut self, rejected: Rejected) -> bool {
        match self.counts.get_mut(rejected.point()) {
            Some((_, n)) => {
                *n += 1;
                false
            }
            None => {
                self.counts
                    .insert(rejected.point().to_owned(), (rejected, 1));
                true
            }
        }
    }

    /// Each point's first refusal and how many times it was refused.
    pub fn entries(&self) -> impl Iterator<Item = (&Rejected, u64)> {
        self.counts.values().map(|(r, n)| (r, *n))
    }

    /// Total refusals.
    pub fn total(&self) -> u64 {
        self.counts.values().map(|(_, n)| n).sum()
    }
}

/// A [`Record`] sink that prepares every value at once and keeps the events and refusals.
#[derive(Debug)]
pub struct PreparedEvents {
    preparer: Preparer,
    state: Mutex<(Vec<Event>, RejectionLog)>,
}

impl PreparedEvents {
    /// A sink preparing with `preparer`.
    pub fn new(preparer: Preparer) -> Self {
        Self {
            preparer,
            state: Mutex::new((Vec::new(), RejectionLog::default())),
        }
    }

    /// The events prepared so far, in recording order, and the refusals.
    pub fn take(&self) -> (Vec<Event>, RejectionLog) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        std::mem::take(&mut *state)
    }

    /// The preparer.
    pub fn preparer(&self) -> &Preparer {
        &self.preparer
    }
}

impl Record for PreparedEvents {
    fn record(&self, point: &str, input: Input) {
        let outcome = self.preparer.prepare_event(point, input, SystemTime::now());
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        match outcome {
            Ok(event) => state.0.push(event),
            Err(rejected) => {
                state.1.note(rejected);
            }
        }
    }
}
