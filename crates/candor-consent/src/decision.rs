//! The decision: one mode, the source that set it, and why.
//!
//! Sources are consulted in a fixed order, and the first that says "off" decides:
//!
//! 1. `DO_NOT_TRACK` (every product);
//! 2. the product's own variables, in catalogue order;
//! 3. the user's Candor configuration file (a broken file decides "off");
//! 4. the network block, when the catalogue counts blocking the network as opting out and
//!    Candor's folder records the endpoint unanswered for longer than the declared period;
//! 5. the host's own telemetry setting, when the product honours it;
//! 6. the host requirement (which host, which minimum version);
//! 7. runtime conditions the host reports (the dashboard open in a browser);
//! 8. CI, when the product's policy turns telemetry off there.
//!
//! Only when none says "off" does the configuration file's `on` or `local`, or else the
//! catalogue's default, decide. Environment opt-outs therefore always win over the file, and the
//! file can narrow but never widen what the product's own rules allow.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use candor_schema::{Catalogue, Disclosed, HostRequirement, VariableMeaning, VersionScheme};
use serde::{Deserialize, Serialize};

use candor_state::{ConfigRead, StateDir};

use crate::ci::{CiPolicy, detect_ci};
use crate::config::ConfigState;
use crate::environment::Environment;
use crate::notice::{NoticeDue, notice_due};
use crate::switch::{Switch, read_switch};

/// What telemetry does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Collected and sent.
    On,
    /// Collected and kept on this machine; never sent.
    Local,
    /// Neither collected nor sent.
    Off,
}

impl Mode {
    /// The mode's name as users write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::On => "on",
            Self::Local => "local",
            Self::Off => "off",
        }
    }
}

/// The source that decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
#[serde(rename_all = "kebab-case", tag = "source")]
pub enum DecidedBy {
    /// The `DO_NOT_TRACK` variable.
    DoNotTrack,
    /// One of the product's variables.
    Variable {
        /// Its name.
        name: String,
    },
    /// The user's Candor configuration file.
    ConfigFile {
        /// Its path.
        path: PathBuf,
    },
    /// The catalogue counts blocking the network as opting out, and the endpoint has not
    /// answered for longer than its declared period (or Candor cannot read its record of
    /// since when, and fails closed until the endpoint answers).
    NetworkBlock {
        /// Since when no endpoint has answered; `None` when the record cannot be read.
        #[serde(serialize_with = "rfc3339")]
        since: Option<SystemTime>,
        /// The catalogue's period.
        #[serde(serialize_with = "seconds")]
        period: Duration,
    },
    /// The host application's own telemetry setting.
    HostOptOut,
    /// Which host launched the product, and its version.
    HostRequirement,
    /// A runtime condition the host reports.
    RuntimeCondition {
        /// The condition's id.
        id: String,
    },
    /// The product's policy for CI machines.
    Ci,
    /// The catalogue's default.
    Default,
}

impl DecidedBy {
    /// Whether this source speaks for the user about sending at all (`DO_NOT_TRACK`, the
    /// product's variables, the user's file, the host's own telemetry setting, the catalogue's
    /// default or its network-block promise), rather than describing the context one process
    /// runs in (which host launched it, a runtime condition, a CI machine). A decision not to
    /// send taken by the user's word is a change of mind about what was recorded before it:
    /// a product starting under it discards what earlier runs left waiting. A process that
    /// merely lacks the context (`candor send` run without `--host`) leaves it waiting.
    pub fn is_users_word(&self) -> bool {
        match self {
            Self::DoNotTrack
            | Self::Variable { .. }
            | Self::ConfigFile { .. }
            | Self::NetworkBlock { .. }
            | Self::HostOptOut
            | Self::Default => true,
            Self::HostRequirement | Self::RuntimeCondition { .. } | Self::Ci => false,
        }
    }
}

/// A host application that launched the product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostLaunch {
    /// The host's id in the catalogue (`visual-studio`).
    pub id: String,
    /// The host's version as it reports it.
    pub version: String,
}

/// What the host reports, now. It may change while the product runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostSignals {
    /// The host that launched the product, if any.
    pub launch: Option<HostLaunch>,
    /// True when the host's own telemetry is turned off.
    pub host_opted_out: bool,
    /// The runtime conditions that hold now (`browser-open`).
    pub conditions: BTreeSet<String>,
}

/// Everything a decision reads.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// Environment variables.
    pub env: Environment,
    /// The user's configuration file.
    pub config: ConfigState,
    /// What the host reports.
    pub host: HostSignals,
    /// What the product does on CI machines.
    pub ci_policy: CiPolicy,
    /// What the person was told, as the notice marker records it (`None`: never, or the
    /// marker cannot be read); only read for products whose notice is a first-run notice.
    pub told: Option<Disclosed>,
    /// Since when the product's endpoint has not answered, as Candor's folder records it (only
    /// read for catalogues that count blocking the network as opting out).
    pub unanswered_since: Option<SystemTime>,
    /// Why that record could not be read, when it could not (a folder, a FIFO or a symlink in
    /// its place, a file too large, text that is not a time). Consent fails closed on it, as
    /// on an endpoint unanswered for longer than the period, until the endpoint answers (which
    /// rewrites the record); only read for catalogues that count blocking the network as
    /// opting out.
    pub unreadable_network_record: Option<String>,
}

impl Inputs {
    /// The inputs of `product` as Candor's folder holds them now: consent's section of one
    /// reading of `config.toml` (`config`, read by `candor-state`), the first-run marker and
    /// the network record in `state`, with this environment and what the host reports. The
    /// facade, the command line and the viewer all gather them here, so they decide alike.
    pub fn gather(
        env: Environment,
        config: &ConfigRead,
        state: Option<&StateDir>,
        product: &str,
        host: HostSignals,
    ) -> Self {
        let network = state.map(|s| s.unanswered_since(product)).transpose();
        let (unanswered_since, unreadable_network_record) = match network {
            Ok(since) => (since.flatten(), None),
            Err(e) => (None, Some(e.to_string())),
        };
        Self {
            config: ConfigState::from_read(config),
            told: state.and_then(|s| crate::notice::told(s, product)),
            unanswered_since,
            unreadable_network_record,
            host,
            env,
            ..Self::default()
        }
    }
}

fn rfc3339<S: serde::Serializer>(
    time: &Option<SystemTime>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match time {
        Some(time) => serializer.collect_str(&humantime::format_rfc3339_seconds(*time)),
        None => serializer.serialize_none(),
    }
}

fn seconds<S: serde::Serializer>(period: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(period.as_secs())
}

/// The outcome of [`decide`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// What telemetry does.
    pub mode: Mode,
    /// The source that decided.
    pub decided_by: DecidedBy,
    /// Why, in words for the user.
    pub reason: String,
    /// Things the user should fix (an unrecognised value, a broken file).
    pub warnings: Vec<String>,
    /// The CI service detected, if any.
    pub ci: Option<&'static str>,
    /// Whether the host may show interactive notices (not on CI machines).
    pub interactive_notices: bool,
    /// The disclosure statement to show while telemetry is enabled; `None` when it is off.
    pub statement: Option<String>,
    /// True when the product owes a notice (`notice` is not [`NoticeDue::Nothing`]): data may
    /// be collected, but what the notice holds is not sent until it has been shown.
    pub notice_pending: bool,
    /// Which notice is owed, and which points it holds.
    pub notice: NoticeDue,
}

impl DecidedBy {
    /// The source in words a user understands (`the CONTRAST_DOTNET_TELEMETRY_OPTOUT
    /// variable`), as `candor status` and `candor view` show it.
    pub fn describe(&self) -> String {
        match self {
            Self::DoNotTrack => "the DO_NOT_TRACK variable".to_owned(),
            Self::Variable { name } => format!("the {name} variable"),
            Self::ConfigFile { path } => format!("the configuration file {}", path.display()),
            Self::NetworkBlock { .. } => {
                "the catalogue's rule that blocking the network opts out".to_owned()
            }
            Self::HostOptOut => "the host application's telemetry setting".to_owned(),
            Self::HostRequirement => "the host requirement".to_owned(),
            Self::RuntimeCondition { id } => format!("the runtime condition `{id}`"),
            Self::Ci => "the product's CI policy".to_owned(),
            Self::Default => "the product's default".to_owned(),
        }
    }
}

impl Decision {
    /// What the decision means, in one phrase (`on: data is collected and sent`).
    pub fn headline(&self) -> &'static str {
        match (self.mode, &self.notice) {
            (Mode::On, NoticeDue::FirstRun) => {
                "on, but nothing is sent until the first-run notice is shown"
            }
            (Mode::On, NoticeDue::Widened { .. }) => {
                "on, but points a new catalogue revision added or widened are held until the \
                 notice is shown again"
            }
            (Mode::On, _) => "on: data is collected and sent",
            (Mode::Local, _) => "local: data is collected and kept on this machine, never sent",
            (Mode::Off, _) => "off: nothing is collected or sent",
        }
    }

    /// Whether data may be collected (mode `on` or `local`).
    pub fn enabled(&self) -> bool {
        self.mode != Mode::Off
    }

    /// Whether data may leave the machine now (after a widening revision, the points it did
    /// not widen; [`Decision::holds_for_notice`] says which are held).
    pub fn may_send(&self) -> bool {
        self.mode == Mode::On && self.notice != NoticeDue::FirstRun
    }

    /// Whether events of `point` wait for a notice.
    pub fn holds_for_notice(&self, point: &str) -> bool {
        self.mode == Mode::On && self.notice.holds(point)
    }
}

/// Decides whether `catalogue`'s product may collect and send telemetry.
pub fn decide(catalogue: &Catalogue, inputs: &Inputs) -> Decision {
    let ci = detect_ci(&inputs.env);
    let mut warnings = Vec::new();
    let (mode, decided_by, reason) = match opt_out(catalogue, inputs, ci, &mut warnings) {
        Some((decided_by, reason)) => (Mode::Off, decided_by, reason),
        None => positive(catalogue, inputs),
    };
    let spec = catalogue.spec();
    let enabled = mode != Mode::Off;
    let notice = if mode == Mode::On {
        notice_due(catalogue, inputs.told.as_ref())
    } else {
        NoticeDue::Nothing
    };
    let notice_pending = notice.is_pending();
    let reason = match &notice {
        NoticeDue::FirstRun => {
            format!("{reason}; nothing is sent until the first-run notice has been shown")
        }
        NoticeDue::Widened { points } => format!(
            "{reason}; catalogue revision {} collects more than the one you were told about, \
             so {} wait until the notice has been shown again",
            spec.revision,
            points.join(", ")
        ),
        _ => reason,
    };
    Decision {
        mode,
        decided_by,
        reason,
        warnings,
        ci,
        interactive_notices: ci.is_none(),
        statement: enabled.then(|| spec.disclosure.statement.clone()),
        notice_pending,
        notice,
    }
}

type Verdict = (DecidedBy, String);

fn quoted(value: &std::ffi::OsStr) -> String {
    format!(
        "\"{}\"",
        crate::switch::shown(value.to_string_lossy().trim())
    )
}

/// The first source that turns telemetry off, if any.
fn opt_out(
    catalogue: &Catalogue,
    inputs: &Inputs,
    ci: Option<&'static str>,
    warnings: &mut Vec<String>,
) -> Option<Verdict> {
    let spec = catalogue.spec();
    let env = &inputs.env;
    let mut unrecognised = |name: &str, shown: &str, decided_by: DecidedBy| {
        let message = format!(
            "{name} has the value \"{shown}\", which Candor does not recognise (expected 1/0, \
             true/false, yes/no or on/off); telemetry is off to be safe"
        );
        warnings.push(message.clone());
        Some((decided_by, message))
    };

    let dnt = candor_schema::DO_NOT_TRACK;
    match read_switch(env.get(dnt)) {
        Switch::True => {
            let value = quoted(env.get(dnt).unwrap_or_default());
            return Some((
                DecidedBy::DoNotTrack,
                format!("{dnt} is set to {value}, which turns telemetry off for every product"),
            ));
        }
        Switch::Unrecognised(shown) => return unrecognised(dnt, &shown, DecidedBy::DoNotTrack),
        Switch::False | Switch::Unset => {}
    }

    for rule in &spec.consent.variables {
        let by = || DecidedBy::Variable {
            name: rule.name.clone(),
        };
        let raw = env.get(&rule.name);
        let value = quoted(raw.unwrap_or_default());
        match (rule.meaning, read_switch(raw)) {
            (_, Switch::Unrecognised(shown)) => return unrecognised(&rule.name, &shown, by()),
            (VariableMeaning::OptsOut, Switch::True) => {
                return Some((by(), format!("{} is set to {value}: opted out", rule.name)));
            }
            (VariableMeaning::Enables, Switch::False) => {
                let scope = rule
                    .scope
                    .as_deref()
                    .map(|s| format!(" (this applies to {s})"))
                    .unwrap_or_default();
                return Some((
                    by(),
                    format!(
                        "{} is set to {value}: telemetry is disabled{scope}",
                        rule.name
                    ),
                ));
            }
            _ => {}
        }
    }

    match &inputs.config {
        ConfigState::Broken(error) => {
            let message = format!(
                "the Candor configuration file cannot be used ({error}); telemetry is off until it is fixed"
            );
            warnings.push(message.clone());
            return Some((
                DecidedBy::ConfigFile {
                    path: error.path.clone(),
                },
                message,
            ));
        }
        ConfigState::Loaded { path, config }
            if config.mode_for(&spec.product.id) == Some(Mode::Off) =>
        {
            return Some((
                DecidedBy::ConfigFile { path: path.clone() },
                format!(
                    "the Candor configuration file {} sets mode \"off\"",
                    path.display()
                ),
            ));
        }
        _ => {}
    }

    if let Some(verdict) = network_block(catalogue, inputs, warnings) {
        return Some(verdict);
    }

    if spec.hosts.honours_host_opt_out && inputs.host.host_opted_out {
        let name = inputs
            .host
            .launch
            .as_ref()
            .and_then(|l| spec.hosts.supported.iter().find(|h| h.id == l.id))
            .map_or("the host application", |h| h.name.as_str());
        return Some((
            DecidedBy::HostOptOut,
            format!("{name} has telemetry turned off, and this product follows it"),
        ));
    }

    if spec.hosts.required
        && let Some(verdict) = host_requirement(catalogue, &inputs.host, warnings)
    {
        return Some(verdict);
    }

    for condition in &spec.consent.runtime_conditions {
        if !inputs.host.conditions.contains(&condition.id) {
            return Some((
                DecidedBy::RuntimeCondition {
                    id: condition.id.clone(),
                },
                format!(
                    "paused: telemetry is collected only while {}",
                    condition.description
                ),
            ));
        }
    }

    if let (Some(ci), CiPolicy::Off) = (ci, inputs.ci_policy) {
        return Some((
            DecidedBy::Ci,
            format!("running on {ci}, where this product does not collect telemetry"),
        ));
    }
    None
}

/// The network block: the catalogue counts blocking the network as opting out, and no
/// endpoint has answered since `since`, longer than the declared period; or Candor cannot read
/// its record of since when, and fails closed (with a warning that says why) until the
/// endpoint answers.
fn network_block(
    catalogue: &Catalogue,
    inputs: &Inputs,
    warnings: &mut Vec<String>,
) -> Option<Verdict> {
    let consent = &catalogue.spec().consent;
    if !consent.network_block_opts_out {
        return None;
    }
    let period = Duration::from_secs(consent.network_block_after_seconds?);
    if let Some(why) = &inputs.unreadable_network_record {
        let message = format!(
            "Candor cannot read its record of when the endpoint last answered ({why}); the \
             catalogue counts blocking the network as opting out, so nothing is collected until \
             the endpoint answers"
        );
        warnings.push(message.clone());
        return Some((
            DecidedBy::NetworkBlock {
                since: None,
                period,
            },
            message,
        ));
    }
    let since = inputs.unanswered_since?;
    let silent = SystemTime::now().duration_since(since).unwrap_or_default();
    (silent >= period).then(|| {
        (
            DecidedBy::NetworkBlock {
                since: Some(since),
                period,
            },
            format!(
                "the endpoint has not answered since {} (longer than {} s): the catalogue counts \
                 blocking the network as opting out, so nothing is collected until it answers",
                humantime::format_rfc3339_seconds(since),
                period.as_secs()
            ),
        )
    })
}

/// "Visual Studio 17.14 or later, or C# Dev Kit for Visual Studio Code (minimum version not yet
/// announced)".
fn supported_hosts(catalogue: &Catalogue) -> String {
    let hosts: Vec<String> = catalogue
        .spec()
        .hosts
        .supported
        .iter()
        .map(|h| match catalogue.host_requirement(&h.id) {
            Some(HostRequirement::AtLeast(v)) => format!("{} {v} or later", h.name),
            _ => format!("{} (minimum version not yet announced)", h.name),
        })
        .collect();
    hosts.join(", or ")
}

fn host_requirement(
    catalogue: &Catalogue,
    host: &HostSignals,
    warnings: &mut Vec<String>,
) -> Option<Verdict> {
    let by = DecidedBy::HostRequirement;
    let Some(launch) = &host.launch else {
        return Some((
            by,
            format!(
                "not launched from a supported host (needs {})",
                supported_hosts(catalogue)
            ),
        ));
    };
    let Some(spec) = catalogue
        .spec()
        .hosts
        .supported
        .iter()
        .find(|h| h.id == launch.id)
    else {
        return Some((
            by,
            format!(
                "launched from `{}`, which is not a supported host (needs {})",
                launch.id,
                supported_hosts(catalogue)
            ),
        ));
    };
    let requirement = catalogue.host_requirement(&spec.id)?;
    let version = match VersionScheme::Dotted.parse(&launch.version) {
        Ok(version) => version,
        Err(error) => {
            let message = format!(
                "the version {} reported for {} cannot be read ({error}); telemetry is off to be safe",
                quoted(std::ffi::OsStr::new(&launch.version)),
                spec.name
            );
            warnings.push(message.clone());
            return Some((by, message));
        }
    };
    if requirement.is_met_by(&version) {
        return None;
    }
    let reason = match requirement {
        HostRequirement::AtLeast(minimum) => format!(
            "launched from {} {version}, but telemetry needs {minimum} or later",
            spec.name
        ),
        HostRequirement::NotYetAnnounced => format!(
            "launched from {} {version}, but the first version of {} that carries telemetry has \
             not been announced yet, so no version qualifies",
            spec.name, spec.name
        ),
    };
    Some((by, reason))
}

/// The mode when nothing turned telemetry off.
fn positive(catalogue: &Catalogue, inputs: &Inputs) -> (Mode, DecidedBy, String) {
    let spec = catalogue.spec();
    if let ConfigState::Loaded { path, config } = &inputs.config {
        match config.mode_for(&spec.product.id) {
            Some(Mode::On) => {
                return (
                    Mode::On,
                    DecidedBy::ConfigFile { path: path.clone() },
                    format!(
                        "the Candor configuration file {} sets mode \"on\"",
                        path.display()
                    ),
                );
            }
            Some(Mode::Local) => {
                return (
                    Mode::Local,
                    DecidedBy::ConfigFile { path: path.clone() },
                    format!(
                        "the Candor configuration file {} sets mode \"local\": data is kept on this \
                         machine and never sent",
                        path.display()
                    ),
                );
            }
            Some(Mode::Off) | None => {}
        }
    }
    let how_to_stop = match spec.consent.variables.first() {
        Some(rule) => match rule.meaning {
            VariableMeaning::OptsOut => format!(" (set {}=1 to opt out)", rule.name),
            VariableMeaning::Enables => format!(" (set {}=false to opt out)", rule.name),
        },
        None => format!(" (set {}=1 to opt out)", candor_schema::DO_NOT_TRACK),
    };
    match spec.consent.default {
        candor_schema::DefaultMode::On => (
            Mode::On,
            DecidedBy::Default,
            format!("on by default and nothing has opted out{how_to_stop}"),
        ),
        candor_schema::DefaultMode::Off => (
            Mode::Off,
            DecidedBy::Default,
            "off by default; set mode = \"on\" for this product in the Candor configuration file to opt in"
                .to_owned(),
        ),
    }
}
