//! Typed recorders for the Contrast .NET agent's catalogue (`contrast-dotnet-agent`).
//!
//! The system points come from a [`SystemSnapshot`]; everything else is a value only the agent
//! knows, recorded through a method whose types keep the wrong thing out: names are [`Name`]s,
//! modes are [`RuleMode`]s, timings are computed from [`Milestones`], summaries from
//! [`HttpExchanges`] and [`IisInventory`]; raw per-request and per-pool figures never leave.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::input::{Input, RawException};
use crate::names::Name;
use crate::record::Record;
use crate::system::{SystemSnapshot, Unavailable};

/// Where the agent's Contrast instance runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContrastInstance {
    /// Contrast's hosted service.
    Hosted,
    /// An on-premises installation.
    OnPremises,
}

/// A Protect rule's mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleMode {
    /// Reports attacks.
    Monitor,
    /// Blocks attacks.
    Block,
}

/// The agent's typed recorder.
#[derive(Debug, Clone)]
pub struct AgentRecorder<R> {
    sink: R,
}

impl<R: Record> AgentRecorder<R> {
    /// A recorder sending to `sink`.
    pub fn new(sink: R) -> Self {
        Self { sink }
    }

    /// Records the snapshot's system points; returns the points that could not be read, with
    /// the reason, so the host can log them.
    pub fn system(&self, snapshot: &SystemSnapshot) -> Vec<(&'static str, Unavailable)> {
        let mut unavailable = Vec::new();
        for (point, reading) in snapshot.agent_inputs() {
            match reading {
                Ok(input) => self.sink.record(point, input),
                Err(why) => unavailable.push((point, why)),
            }
        }
        unavailable
    }

    /// The agent's own version.
    pub fn agent_version(&self, version: &str) {
        self.sink
            .record("agent_version", Input::Word(version.to_owned()));
    }

    /// The .NET Framework version the application runs on.
    pub fn framework_runtime_version(&self, version: &str) {
        self.sink
            .record("framework_runtime_version", Input::Word(version.to_owned()));
    }

    /// The .NET Core version the application runs on.
    pub fn core_runtime_version(&self, version: &str) {
        self.sink
            .record("core_runtime_version", Input::Word(version.to_owned()));
    }

    /// Whether Assess is enabled.
    pub fn assess_enabled(&self, enabled: bool) {
        self.sink.record("assess_enabled", Input::Flag(enabled));
    }

    /// Whether Protect is enabled.
    pub fn protect_enabled(&self, enabled: bool) {
        self.sink.record("protect_enabled", Input::Flag(enabled));
    }

    /// Where the Contrast instance runs.
    pub fn contrast_instance(&self, instance: ContrastInstance) {
        let word = match instance {
            ContrastInstance::Hosted => "hosted",
            ContrastInstance::OnPremises => "on-premises",
        };
        self.sink
            .record("contrast_instance", Input::Word(word.to_owned()));
    }

    /// Whether the CLR Instrumentation Engine is used.
    pub fn cie_used(&self, used: bool) {
        self.sink.record("cie_used", Input::Flag(used));
    }

    /// Whether the CLR Instrumentation Engine's raw profiler hook is used.
    pub fn cie_raw_profiler_hook_used(&self, used: bool) {
        self.sink
            .record("cie_raw_profiler_hook_used", Input::Flag(used));
    }

    /// The application's framework (`aspnet-mvc`); one outside the catalogue's list is sent as
    /// its placeholder.
    pub fn application_framework(&self, framework: &str) {
        self.sink
            .record("application_framework", Input::Word(framework.to_owned()));
    }

    /// The vendor of a chained profiler (`datadog`), or `none`.
    pub fn chained_profiler_vendor(&self, vendor: &str) {
        self.sink
            .record("chained_profiler_vendor", Input::Word(vendor.to_owned()));
    }

    /// How the process is hosted (`in-process`).
    pub fn process_hosting_mode(&self, mode: &str) {
        self.sink
            .record("process_hosting_mode", Input::Word(mode.to_owned()));
    }

    /// The names of settings with non-default values. Only names can be given; their values
    /// never reach Candor.
    pub fn non_default_settings(&self, names: &[Name]) {
        self.sink
            .record("non_default_setting_names", names_input(names));
    }

    /// The names of disabled Assess rules.
    pub fn disabled_assess_rules(&self, names: &[Name]) {
        self.sink
            .record("disabled_assess_rules", names_input(names));
    }

    /// Each Protect rule's mode.
    pub fn protect_rule_modes(&self, modes: &[(Name, RuleMode)]) {
        let map = modes
            .iter()
            .map(|(name, mode)| {
                let mode = match mode {
                    RuleMode::Monitor => "monitor",
                    RuleMode::Block => "block",
                };
                (name.as_str().to_owned(), mode.to_owned())
            })
            .collect();
        self.sink
            .record("protect_rule_modes", Input::ModeByName(map));
    }

    /// An exception thrown and caught in the agent's own code. Its stack is filtered to the
    /// catalogue's namespaces and its messages scrubbed before anything is sent.
    pub fn caught_exception(&self, exception: RawException) {
        self.sink
            .record("sensor_exceptions", Input::Exception(exception));
    }

    /// Sends the HTTP summary and starts a new one.
    pub fn http_summary(&self, exchanges: &mut HttpExchanges) {
        let taken = std::mem::take(exchanges);
        self.sink.record(
            "contrast_http_status_codes",
            Input::LabelCounts(taken.status_counts),
        );
        self.sink.record(
            "contrast_http_response_time",
            Input::Samples(taken.response_ms),
        );
    }

    /// Sends the initialisation timings that have both their milestones; returns the points
    /// whose milestones are missing.
    pub fn init_timings(&self, milestones: &Milestones) -> Vec<&'static str> {
        let mut missing = Vec::new();
        for (point, elapsed) in milestones.timings() {
            match elapsed {
                Some(d) => self.sink.record(point, Input::Elapsed(d)),
                None => missing.push(point),
            }
        }
        missing
    }

    /// Sends the IIS counts and the applications-per-pool summary.
    pub fn iis(&self, inventory: &IisInventory) {
        for (point, n) in inventory.counts() {
            self.sink.record(point, Input::Count(n));
        }
        self.sink.record(
            "iis_apps_per_pool",
            Input::Samples(inventory.pools.iter().map(|p| f64::from(p.apps)).collect()),
        );
    }
}

fn names_input(names: &[Name]) -> Input {
    Input::Names(names.iter().map(|n| n.as_str().to_owned()).collect())
}

/// The agent's HTTP exchanges with Contrast, recorded one at a time and summarised by Candor:
/// a count per status code and the response-time statistics. The individual requests never
/// leave.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HttpExchanges {
    status_counts: BTreeMap<String, u64>,
    response_ms: Vec<f64>,
}

/// How many response times are kept for the summary; beyond this, new ones replace old ones in
/// turn, so memory stays bounded in a process that runs for months.
const MAX_RESPONSE_SAMPLES: usize = 10_000;

impl HttpExchanges {
    /// Records one exchange.
    pub fn record(&mut self, status: u16, elapsed: Duration) {
        *self.status_counts.entry(status.to_string()).or_insert(0) += 1;
        let ms = elapsed.as_secs_f64() * 1000.0;
        if self.response_ms.len() < MAX_RESPONSE_SAMPLES {
            self.response_ms.push(ms);
        } else {
            let total: u64 = self.status_counts.values().sum();
            let slot = usize::try_from(total).unwrap_or(0) % MAX_RESPONSE_SAMPLES;
            self.response_ms[slot] = ms;
        }
    }

    /// How many exchanges were recorded.
    pub fn len(&self) -> u64 {
        self.status_counts.values().sum()
    }

    /// Whether none were.
    pub fn is_empty(&self) -> bool {
        self.status_counts.is_empty()
    }
}

/// The agent's initialisation milestones. The host marks each as it happens; Candor computes
/// the four timings the catalogue declares:
///
/// | point | from | to |
/// |---|---|---|
/// | `profiler_init_time` | start | profiler initialised |
/// | `sensor_init_time` | profiler initialised | sensor initialised |
/// | `first_request_time` | first request sent | first request ended |
/// | `init_to_first_request_end_time` | start | first request ended |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Milestones {
    start: Instant,
    profiler: Option<Instant>,
    sensor: Option<Instant>,
    request_sent: Option<Instant>,
    request_ended: Option<Instant>,
}

/// A milestone of the agent's start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Milestone {
    /// The profiler finished initialising.
    ProfilerInitialised,
    /// The sensor finished initialising.
    SensorInitialised,
    /// The first request to Contrast was sent.
    FirstRequestSent,
    /// The first request to Contrast ended.
    FirstRequestEnded,
}

impl Milestones {
    /// Starts the clock now.
    pub fn start() -> Self {
        Self::started_at(Instant::now())
    }

    /// Starts the clock at `start`.
    pub fn started_at(start: Instant) -> Self {
        Self {
            start,
            profiler: None,
            sensor: None,
            request_sent: None,
            request_ended: None,
        }
    }

    /// Marks a milestone now; a milestone marked twice keeps its first time.
    pub fn mark(&mut self, milestone: Milestone) {
        self.mark_at(milestone, Instant::now());
    }

    /// Marks a milestone at `at`.
    pub fn mark_at(&mut self, milestone: Milestone, at: Instant) {
        let slot = match milestone {
            Milestone::ProfilerInitialised => &mut self.profiler,
            Milestone::SensorInitialised => &mut self.sensor,
            Milestone::FirstRequestSent => &mut self.request_sent,
            Milestone::FirstRequestEnded => &mut self.request_ended,
        };
        slot.get_or_insert(at);
    }

    /// Each timing point with its elapsed time, or `None` when a milestone is missing or out of
    /// order.
    pub fn timings(&self) -> [(&'static str, Option<Duration>); 4] {
        let between = |a: Option<Instant>, b: Option<Instant>| b?.checked_duration_since(a?);
        [
            (
                "profiler_init_time",
                between(Some(self.start), self.profiler),
            ),
            ("sensor_init_time", between(self.profiler, self.sensor)),
            (
                "first_request_time",
                between(self.request_sent, self.request_ended),
            ),
            (
                "init_to_first_request_end_time",
                between(Some(self.start), self.request_ended),
            ),
        ]
    }
}

/// The CLR version an IIS application pool runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clr {
    /// CLR 2 (.NET Framework 2.0–3.5).
    V2,
    /// CLR 4 (.NET Framework 4.x).
    V4,
    /// No managed code.
    Unmanaged,
}

/// One IIS application pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IisPool {
    /// Applications in the pool.
    pub apps: u32,
    /// Of those, how many the agent analyzes (after its allow and deny lists).
    pub apps_analyzed: u32,
    /// The pool's CLR.
    pub clr: Clr,
    /// Whether the agent is attached to the pool.
    pub agent_attached: bool,
}

/// IIS's pools, from which Candor computes the counts and the applications-per-pool summary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IisInventory {
    /// The pools.
    pub pools: Vec<IisPool>,
}

impl IisInventory {
    /// The count points and their values.
    pub fn counts(&self) -> [(&'static str, u64); 8] {
        let sum = |f: &dyn Fn(&IisPool) -> u64| self.pools.iter().map(f).sum::<u64>();
        let pools =
            |f: &dyn Fn(&IisPool) -> bool| self.pools.iter().filter(|p| f(p)).count() as u64;
        [
            ("iis_app_count", sum(&|p| u64::from(p.apps))),
            (
                "iis_app_count_analyzed",
                sum(&|p| u64::from(p.apps_analyzed)),
            ),
            (
                "iis_app_count_clr4",
                sum(&|p| {
                    if p.clr == Clr::V4 {
                        u64::from(p.apps)
                    } else {
                        0
                    }
                }),
            ),
            (
                "iis_app_count_clr2",
                sum(&|p| {
                    if p.clr == Clr::V2 {
                        u64::from(p.apps)
                    } else {
                        0
                    }
                }),
            ),
            ("iis_pool_count", self.pools.len() as u64),
            (
                "iis_pool_count_agent_attached",
                pools(&|p| p.agent_attached),
            ),
            ("iis_pool_count_clr4", pools(&|p| p.clr == Clr::V4)),
            ("iis_pool_count_clr2", pools(&|p| p.clr == Clr::V2)),
        ]
    }
}
