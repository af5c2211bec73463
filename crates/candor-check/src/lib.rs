//! The check a Candor event passes at each door it crosses, written once.
//!
//! An event is checked against the catalogue revision it names (product, revision, runtime
//! line, a version its scheme reads, a declared point that version collects, the declared kind
//! and bounds, an install id only where declared, a time neither ahead of the clock nor past
//! retention) and against its privacy class (scrubbed and coarsened text shows no finding of
//! `candor-privacy`'s scrubber, values sent as they are match their grammar, hashes have their
//! algorithm's form). Each refusal carries a stable [`Reason`].
//!
//! Two doors use it: the receiving end (`candor-ingest`) checks every event that arrives, and
//! the facade (`candor`) checks every event read back from a spool before it is sent again, so
//! an edited spool line (another product, an undeclared point, raw personal data) never leaves
//! the machine. One check, so the two ends cannot disagree about what a point admits.
//!
//! It depends on `candor-schema` and `candor-privacy` only, and knows nothing of storage,
//! transport, consent or collection.

#![warn(missing_docs)]

mod check;
mod refusal;

pub use check::{
    Admitted, MAX_AGE_WITHOUT_RETENTION_DAYS, MAX_CLOCK_AHEAD, check_envelope, check_event,
    check_value, micros, shown, shown_up_to,
};
pub use refusal::{Reason, Refusal};
