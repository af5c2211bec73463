//! Candor: honest product telemetry in one dependency.
//!
//! A product declares what it may send in a catalogue; Candor decides consent first (opt-out
//! variables, `DO_NOT_TRACK`, the user's file, the host's own setting), then lets the host
//! record values through a cheap handle. Everything else happens on Candor's own thread:
//! each value is checked against the catalogue for the running version, scrubbed, hashed or
//! summarised as its data point says, and delivered through a spool with retries. Nothing
//! undeclared ever leaves, and what did leave is listed in the receipts.
//!
//! ```
//! use std::time::Duration;
//! use candor::{Environment, Input, Telemetry};
//!
//! let catalogue = candor::builtin("contrast-dotnet-agent").expect("built in");
//! let state = tempfile::tempdir().expect("a folder for keys, spool and receipts");
//! let telemetry = Telemetry::builder(catalogue)
//!     .runtime("core").version("4.0.0")
//!     .state_dir(state.path())  // with no sink given, events go to a file in here
//!     .environment(Environment::from_pairs([("CONTRAST_DOTNET_TELEMETRY_OPTOUT", "0")]))
//!     .build().expect("valid setup");
//! telemetry.record("protect_enabled", Input::Flag(true));
//! telemetry.record("working_set", Input::Count(52_428_800));
//! telemetry.record("screen_resolution", Input::Count(1080)); // undeclared: refused, never sent
//! let status = telemetry.shutdown(Duration::from_secs(5));
//! assert_eq!(status.sent.expect("started").delivered, 2);
//! assert_eq!(status.refused.len(), 1);
//! ```
//!
//! A host names its points through the recorder `candor codegen` writes from its catalogue
//! (one method per point, taking that point's kind of value: `agent.protect_enabled(true)`),
//! so a renamed or removed point is a compile error; the recorder records through
//! [`Record`], which [`Telemetry`] implements.
//!
//! The crate root holds what a host uses; [`status`] names what [`Status`] and the consent
//! calls answer with; [`admin`] holds what Candor's own command line needs besides. The two
//! example products' recorders and the simulated hosts live in `candor-demo`. This crate is
//! the top of Candor's runtime stack and depends on all the others below it; its cargo
//! features select the sinks (`http`, `otlp-http`, `otlp-grpc`, `tls`) and the tokio schedule
//! driver (`tokio`). Hosts and their tools depend on it.

#![warn(missing_docs)]

pub mod admin;
mod builder;
mod clock;
mod deletion;
mod error;
mod file_settings;
mod intake;
mod lane;
mod notice;
mod record;
mod runtime;
mod telemetry;
mod watch;

use std::sync::Arc;

pub use builder::Builder;
pub use candor_collect::{Input, Name, Occasion, RawException, Record, Scalar, Schedule};
pub use candor_consent::Environment;
pub use candor_schema::Catalogue;
pub use candor_transport::{SinkSpec, SpoolCaps, Timeouts};
pub use error::BuildError;
pub use notice::OwedNotice;
pub use telemetry::{Status, Telemetry};

/// What [`Status`] and the calls that change consent answer with: the decision and why, the
/// refusals, and every drop by cause.
pub mod status {
    pub use crate::telemetry::{Refusal, Status};
    pub use candor_collect::{Rejected, Unavailable};
    pub use candor_consent::{DecidedBy, Decision, Mode, Transition};
    pub use candor_schema::Expired;
    pub use candor_transport::{DiskFailure, DropCause, DropCount, Failure, StatsSnapshot};
}

/// A built-in catalogue by product id (`aspire-dashboard`, `contrast-dotnet-agent`); an unknown
/// id is [`BuildError::Catalogue`] naming the known ones.
pub fn builtin(product: &str) -> Result<Arc<Catalogue>, BuildError> {
    let catalogues = candor_schema::builtin::catalogues().map_err(BuildError::InvalidBuiltin)?;
    Ok(Arc::new(catalogues.get(product)?.clone()))
}
