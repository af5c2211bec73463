//! Candor: honest product telemetry in one dependency.
//!
//! A product declares what it may send in a catalogue; Candor decides consent first (opt-out
//! variables, `DO_NOT_TRACK`, the user's file, the host's own setting), then lets the host
//! record values through a cheap handle. Everything else happens on Candor's own threads:
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
//! let telemetry = Telemetry::builder(catalogue.clone())
//!     .runtime("core").version("4.0.0")
//!     .state_dir(state.path())  // with no sink given, events go to a file in here
//!     .environment(Environment::from_pairs([("CONTRAST_DOTNET_TELEMETRY_OPTOUT", "0")]))
//!     .build().expect("valid setup");
//! telemetry.agent().protect_enabled(true);
//! telemetry.record("working_set", Input::Count(52_428_800));
//! telemetry.record("screen_resolution", Input::Count(1080)); // undeclared: refused, never sent
//! let status = telemetry.shutdown(Duration::from_secs(5));
//! assert_eq!(status.sent.expect("started").delivered, 2);
//! assert_eq!(status.refused.len(), 1);
//! ```
//!
//! This crate is the top of Candor's stack and depends on all the others; it re-exports what a
//! host needs, and its cargo features select the sinks (`http`, `otlp-http`, `otlp-grpc`,
//! `tls`), the tokio schedule driver (`tokio`) and the simulated hosts (`demo`). Hosts and
//! their tools depend on it; no Candor crate depends on it.

#![warn(missing_docs)]

mod builder;
#[cfg(feature = "demo")]
pub mod demo;
mod error;
mod file_settings;
mod lane;
mod record;
mod runtime;
mod telemetry;
mod watch;

use std::sync::Arc;

pub use builder::{Builder, Replayed, product_preparer, semantic_names};
pub use candor_collect::{
    AgentRecorder, AspireDashboardPoint, AspireDashboardRecorder, Clr, ContrastDotnetAgentPoint,
    ContrastDotnetAgentRecorder, ContrastInstance, DashboardRecorder, DurationSamples,
    HttpExchanges, IisInventory, IisPool, Input, Milestone, Milestones, Name, Occasion,
    RawException, Record, RuleMode, Schedule,
};
pub use candor_consent::{DecidedBy, Decision, Environment, Mode, Transition};
pub use candor_schema::{Catalogue, Event, Value};
pub use candor_state::StateDir;
pub use candor_transport::{
    DiskFailure, DropCause, DropCount, Failure, SinkOptions, SinkSpec, SpoolCaps, StatsSnapshot,
    Timeouts,
};
pub use error::BuildError;
pub use telemetry::{Refusal, Status, Telemetry};

/// What [`Status`] and the calls that change consent answer with: the decision and why, the
/// refusals, and every drop by cause.
pub mod status {
    pub use crate::telemetry::{Refusal, Status};
    pub use candor_collect::Rejected;
    pub use candor_consent::{DecidedBy, Decision, Mode, Transition};
    pub use candor_schema::Expired;
    pub use candor_transport::{DiskFailure, DropCause, DropCount, Failure, StatsSnapshot};
}

/// Discards what waits in `product`'s spool in Candor's folder `state`, and returns how many
/// events it held: what a revocation does to pending data when no host is running (`candor
/// consent <product> off`). The same removal a running [`Telemetry`] makes when its consent is
/// revoked, under the same locks: it waits (up to 30 s) for a write or a delivery in progress
/// in any process, so when it returns nothing that was waiting is still being sent. A spool
/// that does not exist holds nothing and is not created.
pub fn discard_spooled(state: &StateDir, product: &str) -> Result<u64, BuildError> {
    builder::discard_spooled(state, product)
}

/// A built-in catalogue by product id (`aspire-dashboard`, `contrast-dotnet-agent`); an unknown
/// id is [`BuildError::Catalogue`] naming the known ones.
pub fn builtin(product: &str) -> Result<Arc<Catalogue>, BuildError> {
    let catalogues = candor_schema::builtin::catalogues().map_err(BuildError::InvalidBuiltin)?;
    Ok(Arc::new(catalogues.get(product)?.clone()))
}
