//! Candor's two example products as their hosts would run them: what `candor demo` and the
//! examples run.
//!
//! Each simulated host plays a real product's part through the facade's public API only (the
//! builder, the typed recorders, the schedule), with realistic inputs, and plants [`canaries`]
//! (personal-looking strings, this machine's own user name among them) in every free-text
//! input, so that tests can prove none of them leaves the machine. [`products`] holds the two
//! products' typed recorders and the types they take (generated from the built-in catalogues
//! into `candor-collect`, wrapped there with host-shaped types); the dashboard's stand-in for
//! its IDE ([`IdeEndpoint`]) is a loopback relay on Candor's one HTTP server.
//!
//! The command line (`candor demo`) depends on this crate; the facade does not, so a host
//! that depends on `candor` carries neither the example products nor an HTTP server.

mod agent;
mod dashboard;
mod ide;

/// The example products' typed recorders and the types their methods take.
pub mod products {
    pub use candor_collect::{
        AgentRecorder, AspireDashboardPoint, AspireDashboardRecorder, Clr,
        ContrastDotnetAgentPoint, ContrastDotnetAgentRecorder, ContrastInstance, DashboardRecorder,
        DurationSamples, HttpExchanges, IisInventory, IisPool, Milestone, Milestones, RuleMode,
    };
}

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

pub use agent::run as run_agent;
pub use dashboard::run as run_dashboard;
pub use ide::IdeEndpoint;

use candor::status::DropCause;
use candor::{BuildError, SinkSpec, Status};

/// Why a demo could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DemoError {
    /// The runtime could not be built.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// The dashboard's loopback IDE endpoint could not be started.
    #[error("cannot start the IDE endpoint: {0}")]
    Ide(#[source] std::io::Error),
}

/// The user name planted when this machine's own cannot be read (no `USER`, `USERNAME` or
/// `LOGNAME`).
const FALLBACK_USER: &str = "zq-canary-user";

/// Personal-looking strings planted in the demos' free-text inputs: an e-mail address, this
/// machine's home folder (Unix and Windows forms), a token, a password, and this machine's own
/// user name, read as Candor's scrubber reads it, so that a demo shows the scrubber replacing
/// the names of the machine it runs on. Tests prove none of them leaves the machine.
pub fn canaries() -> [String; 6] {
    let machine = candor_privacy::MachineLiterals::detect();
    canaries_for(machine.user_name.as_deref(), machine.home_dir.as_deref())
}

/// The canaries for a machine whose user name and home folder are these (what [`canaries`]
/// plants on this one).
pub fn canaries_for(user: Option<&str>, home: Option<&str>) -> [String; 6] {
    let user = user
        .filter(|u| !u.trim().is_empty())
        .unwrap_or(FALLBACK_USER);
    let home = home
        .filter(|h| h.len() > 1)
        .map_or_else(|| format!("/home/{user}"), str::to_owned);
    [
        "zoe.canary@example.org".to_owned(),
        format!("{}/projects/shop", home.trim_end_matches('/')),
        format!("C:\\Users\\{user}\\AppData"),
        "ghp_CanaryToken0123456789abcdefABCDEF0123".to_owned(),
        "Password=CanaryPass!42".to_owned(),
        user.to_owned(),
    ]
}

/// How a demo runs.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Candor's folder for this run (keys, spool, receipts, events).
    pub state_dir: PathBuf,
    /// Where to send; `None` is the embedded default (a file in `state_dir`). For the
    /// dashboard, `Relay` with an empty endpoint starts a loopback IDE endpoint.
    pub sink: Option<SinkSpec>,
    /// How long to keep simulating after the first pass.
    pub run_for: Duration,
    /// The agent's collection interval, shortened for a demo.
    pub interval: Duration,
    /// An extra CA to trust for an `https://` sink (else `CANDOR_CA_FILE`, as the builder reads
    /// it).
    pub ca_file: Option<PathBuf>,
    /// The Candor folder whose `config.toml` decides consent (the user's, so a demo obeys
    /// `candor consent` while it runs); `None`: the demo's own folder.
    pub config_dir: Option<PathBuf>,
}

/// What a demo did.
#[derive(Debug, Clone, Serialize)]
pub struct DemoSummary {
    /// The product.
    pub product: String,
    /// Where events went.
    pub destination: String,
    /// Values recorded.
    pub recorded: u64,
    /// Events delivered.
    pub sent: u64,
    /// Values refused, and values and events dropped for good (each cause in
    /// `status.all_drops()`).
    pub dropped: u64,
    /// Events still waiting in the spool.
    pub pending: u64,
    /// The receipts log.
    pub receipts: Option<PathBuf>,
    /// The full status.
    pub status: Status,
}

impl DemoSummary {
    fn new(product: &str, destination: String, status: Status) -> Self {
        let sent = status.sent.as_ref().map_or(0, |s| s.delivered);
        let pending = status.sent.as_ref().map_or(0, |s| s.pending);
        let dropped = status.refused_total()
            + status
                .all_drops()
                .iter()
                .filter(|d| d.cause != DropCause::Unreadable)
                .map(|d| d.events)
                .sum::<u64>();
        Self {
            product: product.to_owned(),
            destination,
            recorded: status.recorded,
            sent,
            dropped,
            pending,
            receipts: status.receipts.clone(),
            status,
        }
    }
}

fn destination(sink: &SinkSpec) -> String {
    sink.destination()
}
