//! Candor's collectors: what a product knows about itself and its machine, turned into values
//! that may be sent.
//!
//! - [`SystemProbe`] reads the machine and process (on Linux from `/proc`, `/sys` and
//!   `/etc/os-release`, under a root a test can replace) and says why a value is unavailable
//!   rather than guessing one.
//!   [`record_readings`] fills exactly the points a catalogue declares with a `source`.
//! - [`ContrastDotnetAgentRecorder`] and [`AspireDashboardRecorder`] (with their point enums)
//!   are generated from the built-in catalogues by `cargo xtask codegen`: one method per data
//!   point, taking that point's kind of value. [`AgentRecorder`] and [`DashboardRecorder`] wrap them with types
//!   that keep values out of name lists, raw measurements out of summaries and unscrubbed text
//!   off the wire, and the summaries Candor computes. No hand-written code here names a point
//!   as a string.
//! - [`Preparer`] is the one door every value passes: it refuses points the catalogue does not
//!   declare for the running version and values of the wrong shape, and applies each point's
//!   privacy (scrubbing, hashing, summarising, coarsening, stack filtering).
//! - [`Schedule`] says when to collect: at first load, then every interval with jitter.
//!
//! The facade (`candor`) and the command line depend on this crate. It knows nothing about
//! consent, queues or transport: it produces events and refusals, and never sends.

#![warn(missing_docs)]

mod agent;
mod dashboard;
mod generated;
mod input;
mod names;
mod prepare;
mod raw_line;
mod record;
mod schedule;
mod summary;
mod system;

pub use agent::{
    AgentRecorder, Clr, ContrastInstance, HttpExchanges, IisInventory, IisPool, Milestone,
    Milestones, RuleMode,
};
pub use dashboard::{DashboardRecorder, DurationSamples, panic_exception};
pub use generated::*;
pub use input::{Input, InputShapeError, RawException, Scalar};
pub use names::{Name, NameError};
pub use prepare::{Preparer, ProductContext, Rejected, new_event_id, unit_in_ms};
pub use raw_line::RawLine;
pub use record::{PreparedEvents, Record, RejectionLog};
pub use schedule::{Occasion, Schedule};
pub use summary::summarise;
pub use system::{
    Reading, SystemProbe, SystemSnapshot, Unavailable, app_service_signs, container_signs,
    record_readings, rust_runtime_version,
};
