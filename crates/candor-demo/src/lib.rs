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

/// The stand-in planted for this machine's user name when Candor would not replace that name
/// as a word (none could be read, or it is generic: `root`, `runner`…), written as the account
/// a .NET agent on Windows reports (`DOMAIN\user`), which Candor replaces like the real name.
const STAND_IN_USER: &str = "zq-canary-user";
const STAND_IN_DOMAIN: &str = "CANDOR-DEMO";

/// Personal-looking strings planted in the demos' free-text inputs: an e-mail address, this
/// machine's home folder (Unix and Windows forms), a token, a password, and this machine's own
/// user name, read as Candor's scrubber reads it, so that a demo shows the scrubber replacing
/// the names of the machine it runs on. Tests prove none of them leaves the machine.
pub fn canaries() -> [String; 6] {
    let machine = candor_privacy::MachineLiterals::detect();
    canaries_for(machine.user_name.as_deref(), machine.home_dir.as_deref())
}

/// The canaries for a machine whose user name and home folder are these (what [`canaries`]
/// plants on this one). The last is the user name as the demos write it in messages: the
/// machine's own when Candor replaces it as a word, else a stand-in account
/// (`CANDOR-DEMO\zq-canary-user`) that Candor replaces as well, so no planted name reaches the
/// wire whoever runs the demo (a container's `root` is left alone by the scrubber, on
/// purpose, and would otherwise show in every message).
pub fn canaries_for(user: Option<&str>, home: Option<&str>) -> [String; 6] {
    let machine = candor_privacy::MachineLiterals {
        user_name: user.map(str::to_owned),
        ..candor_privacy::MachineLiterals::default()
    };
    let (name, planted) = match machine.matched_user_name() {
        Some(name) => (name.to_owned(), name.to_owned()),
        None => (
            STAND_IN_USER.to_owned(),
            format!("{STAND_IN_DOMAIN}\\{STAND_IN_USER}"),
        ),
    };
    let home = home
        .filter(|h| h.len() > 1)
        .map_or_else(|| format!("/home/{name}"), str::to_owned);
    [
        "zoe.canary@example.org".to_owned(),
        format!("{}/projects/shop", home.trim_end_matches('/')),
        format!("C:\\Users\\{name}\\AppData"),
        "ghp_CanaryToken0123456789abcdefABCDEF0123".to_owned(),
        "Password=CanaryPass!42".to_owned(),
        planted,
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
        let dropped =
            status.refused_total() + status.all_drops().iter().map(|d| d.events).sum::<u64>();
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

#[cfg(test)]
mod tests {
    use super::*;
    use candor_privacy::{MachineLiterals, Scrubber};

    /// The messages the demos write, with the canaries planted as the demos plant them.
    fn messages(canaries: &[String; 6]) -> Vec<String> {
        let [email, home, windows_home, token, password, user] = canaries;
        vec![
            format!(
                "Failed to report to TeamServer as {user} ({email}); connection string Server=ts;{password}"
            ),
            format!(
                "Could not load {windows_home}\\settings.json for {user} ({email}); Server=db;{password}"
            ),
            format!("user {user} hit an error"),
            format!("user = {email} and path = {home}"),
            format!("{token} {password}"),
            format!("{}/db", windows_home.replace('\\', "/")),
        ]
    }

    #[test]
    fn whoever_runs_the_demo_no_planted_name_survives_the_scrubber() {
        for (user, home) in [
            (Some("root"), Some("/root")),
            (Some("runner"), Some("/home/runner")),
            (Some("ab"), None),
            (Some("  "), None),
            (None, None),
            (Some("mara-vollmer"), Some("/home/mara-vollmer")),
        ] {
            let canaries = canaries_for(user, home);
            let scrubber = Scrubber::new(&MachineLiterals {
                user_name: user.map(str::to_owned),
                home_dir: home.map(str::to_owned),
                host_name: None,
            });
            let generic = user.is_none_or(|u| u.trim().len() < 3 || u == "root" || u == "runner");
            assert_eq!(canaries[5].contains(STAND_IN_USER), generic, "{user:?}");
            for message in messages(&canaries) {
                let out = scrubber.scrub(&message);
                assert!(!out.contains(STAND_IN_USER), "{user:?}: {out}");
                assert!(!out.contains(canaries[5].as_str()), "{user:?}: {out}");
                assert!(!out.contains("zoe.canary"), "{user:?}: {out}");
                assert!(!out.contains("CanaryPass"), "{user:?}: {out}");
            }
            let first = scrubber.scrub(&messages(&canaries)[0]);
            assert!(first.contains("[user]"), "{user:?}: {first}");
        }
    }
}
