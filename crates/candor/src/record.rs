//! What `record` puts on the queue for the worker: one slot per value, filled on the host's
//! thread.

use std::time::Duration;

use candor_collect::{Input, Scalar};
use candor_consent::Ticket;

use crate::clock::Reading;

/// A value as the host recorded it. Kept small (64 bytes): a host recording in a loop writes
/// one slot per call, and the queue's slots are allocated once, when the product starts.
pub(crate) struct Recorded {
    /// The decision it was recorded under.
    pub(crate) ticket: Ticket,
    pub(crate) point: PointRef,
    pub(crate) value: Payload,
    /// When, as the host's clock read it (`clock`).
    pub(crate) time: Reading,
}

/// The data point a value is for.
pub(crate) enum PointRef {
    /// A point id the code names (a generated recorder's method): kept as it is.
    Declared(&'static str),
    /// A point named at run time.
    Named(Box<str>),
}

impl PointRef {
    /// The point's id.
    pub(crate) fn id(&self) -> &str {
        match self {
            Self::Declared(id) => id,
            Self::Named(id) => id,
        }
    }
}

/// The value: the kinds a host records most often (a flag, a count, a length of time) in the
/// slot itself, anything else (text, lists, maps, which the host allocated already) boxed.
pub(crate) enum Payload {
    Flag(bool),
    Count(u64),
    /// A length of time in nanoseconds (one that does not fit in 584 years is boxed).
    Nanos(u64),
    Other(Box<Input>),
}

impl Payload {
    #[inline]
    pub(crate) fn of(input: Input) -> Self {
        match input {
            Input::Flag(b) => Self::scalar(Scalar::Flag(b)),
            Input::Count(n) => Self::scalar(Scalar::Count(n)),
            Input::Elapsed(d) => Self::scalar(Scalar::Elapsed(d)),
            other => Self::Other(Box::new(other)),
        }
    }

    /// A flag, a count or a length of time, as the typed recorders hand it over.
    #[inline]
    pub(crate) fn scalar(value: Scalar) -> Self {
        match value {
            Scalar::Flag(b) => Self::Flag(b),
            Scalar::Count(n) => Self::Count(n),
            Scalar::Elapsed(d) => match u64::try_from(d.as_nanos()) {
                Ok(nanos) => Self::Nanos(nanos),
                Err(_) => Self::Other(Box::new(Input::Elapsed(d))),
            },
            // A kind added later goes the way of every other input.
            other => Self::Other(Box::new(other.into())),
        }
    }

    pub(crate) fn into_input(self) -> Input {
        match self {
            Self::Flag(b) => Input::Flag(b),
            Self::Count(n) => Input::Count(n),
            Self::Nanos(nanos) => Input::Elapsed(Duration::from_nanos(nanos)),
            Self::Other(input) => *input,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_comes_back_as_it_was_recorded() {
        for input in [
            Input::Flag(true),
            Input::Count(u64::MAX),
            Input::Elapsed(Duration::new(3, 999_999_999)),
            Input::Elapsed(Duration::MAX),
            Input::Text("free text".to_owned()),
        ] {
            assert_eq!(Payload::of(input.clone()).into_input(), input);
        }
    }

    /// A typed recorder's scalar reaches the worker as the same input `record` would have
    /// queued, including a length of time too long for the slot.
    #[test]
    fn a_scalar_comes_back_as_its_input() {
        for scalar in [
            Scalar::Flag(false),
            Scalar::Count(0),
            Scalar::Count(u64::MAX),
            Scalar::Elapsed(Duration::from_nanos(1)),
            Scalar::Elapsed(Duration::new(u64::MAX / 1_000_000_000, 0)),
            Scalar::Elapsed(Duration::MAX),
        ] {
            assert_eq!(Payload::scalar(scalar).into_input(), Input::from(scalar));
        }
        assert!(matches!(
            Payload::scalar(Scalar::Elapsed(Duration::MAX)),
            Payload::Other(_)
        ));
        assert!(matches!(
            Payload::scalar(Scalar::Elapsed(Duration::from_secs(1))),
            Payload::Nanos(1_000_000_000)
        ));
    }

    #[test]
    fn a_slot_stays_small() {
        assert!(
            std::mem::size_of::<Recorded>() <= 64,
            "{}",
            std::mem::size_of::<Recorded>()
        );
    }
}
