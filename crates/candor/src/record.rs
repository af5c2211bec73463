//! What `record` puts on the queue for the worker: one slot per value, filled on the host's
//! thread.

use candor_collect::Input;
use candor_consent::Ticket;
use candor_schema::Catalogue;

use crate::clock::Reading;

/// A value as the host recorded it.
pub(crate) struct Recorded {
    /// The decision it was recorded under.
    pub(crate) ticket: Ticket,
    pub(crate) point: PointRef,
    pub(crate) input: Input,
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
    pub(crate) fn resolve<'a>(&'a self, _catalogue: &'a Catalogue) -> &'a str {
        match self {
            Self::Declared(id) => id,
            Self::Named(id) => id,
        }
    }
}
