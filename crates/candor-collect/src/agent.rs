//! Typed recorders for the Contrast .NET agent's catalogue (`contrast-dotnet-agent`).
//!
//! The system points come from the machine readings the catalogue names; everything else is a value only the agent
//! knows, recorded through a method whose types keep the wrong thing out: names are [`Name`]s,
//! modes are [`RuleMode`]s, timings are computed from [`Milestones`], summaries from
//! [`HttpExchanges`] and [`IisInventory`]; raw per-request and per-pool figures never leave.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::generated::{ContrastDotnetAgentPoint, ContrastDotnetAgentRecorder};
use crate::input::{Input, RawException};
use crate::names::Name;
use crate::record::Record;

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

/// The agent's typed recorder: the generated [`ContrastDotnetAgentRecorder`] (one method per
/// catalogue point) behind methods whose types keep the wrong thing out, and the summaries
/// Candor computes. The catalogue's system points are filled by
/// [`crate::system::record_readings`], from the readings the catalogue names.
#[derive(Debug, Clone)]
pub struct AgentRecorder<R> {
    points: ContrastDotnetAgentRecorder<R>,
}

impl<R: Record> AgentRecorder<R> {
    /// A recorder sending to `sink`.
    pub fn new(sink: R) -> Self {
        Self {
            points: ContrastDotnetAgentRecorder::new(sink),
        }
    }

    /// The generated recorder: every point of the catalogue, each taking its kind of value.
    pub fn points(&self) -> &ContrastDotnetAgentRecorder<R> {
        &self.points
    }

    /// The agent's own version.
    pub fn agent_version(&self, version: &str) {
        self.points.agent_version(version);
    }

    /// The .NET Framework version the application runs on.
    pub fn framework_runtime_version(&self, version: &str) {
        self.points.framework_runtime_version(version);
    }

    /// The .NET Core version the application runs on.
    pub fn core_runtime_version(&self, version: &str) {
        self.points.core_runtime_version(version);
    }

    /// Whether Assess is enabled.
    pub fn assess_enabled(&self, enabled: bool) {
        self.points.assess_enabled(enabled);
    }

    /// Whether Protect is enabled.
    pub fn protect_enabled(&self, enabled: bool) {
        self.points.protect_enabled(enabled);
    }

    /// Where the Contrast instance runs.
    pub fn contrast_instance(&self, instance: ContrastInstance) {
        self.points.contrast_instance(match instance {
            ContrastInstance::Hosted => "hosted",
            ContrastInstance::OnPremises => "on-premises",
        });
    }

    /// Whether the CLR Instrumentation Engine is used.
    pub fn cie_used(&self, used: bool) {
        self.points.cie_used(used);
    }

    /// Whether the CLR Instrumentation Engine's raw profiler hook is used.
    pub fn cie_raw_profiler_hook_used(&self, used: bool) {
        self.points.cie_raw_profiler_hook_used(used);
    }

    /// The application's framework (`aspnet-mvc`); one outside the catalogue's list is sent as
    /// its placeholder.
    pub fn application_framework(&self, framework: &str) {
        self.points.application_framework(framework);
    }

    /// The vendor of a chained profiler (`datadog`), or `none`.
    pub fn chained_profiler_vendor(&self, vendor: &str) {
        self.points.chained_profiler_vendor(vendor);
    }

    /// How the process is hosted (`in-process`).
    pub fn process_hosting_mode(&self, mode: &str) {
        self.points.process_hosting_mode(mode);
    }

    /// The names of settings with non-default values. Only names can be given; their values
    /// never reach Candor.
    pub fn non_default_settings(&self, names: &[Name]) {
        self.points.non_default_setting_names(names);
    }

    /// The names of disabled Assess rules.
    pub fn disabled_assess_rules(&self, names: &[Name]) {
        self.points.disabled_assess_rules(names);
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
        self.points.protect_rule_modes(map);
    }

    /// An exception thrown and caught in the agent's own code. Its stack is filtered to the
    /// catalogue's namespaces and its messages scrubbed before anything is sent.
    pub fn caught_exception(&self, exception: RawException) {
        self.points.sensor_exceptions(exception);
    }

    /// Sends the HTTP summary and starts a new one.
    pub fn http_summary(&self, exchanges: &mut HttpExchanges) {
        let taken = std::mem::take(exchanges);
        self.points.contrast_http_status_codes(taken.status_counts);
        self.points.contrast_http_response_time(taken.response_ms);
    }

    /// Sends the initialisation timings that have both their milestones; returns the points
    /// whose milestones are missing.
    pub fn init_timings(&self, milestones: &Milestones) -> Vec<&'static str> {
        use ContrastDotnetAgentPoint as P;
        let mut missing = Vec::new();
        for (point, elapsed) in milestones.timings() {
            let Some(d) = elapsed else {
                missing.push(point.id());
                continue;
            };
            match point {
                P::ProfilerInitTime => self.points.profiler_init_time(d),
                P::SensorInitTime => self.points.sensor_init_time(d),
                P::FirstRequestTime => self.points.first_request_time(d),
                P::InitToFirstRequestEndTime => self.points.init_to_first_request_end_time(d),
                other => self.points.sink().record(other.id(), Input::Elapsed(d)),
            }
        }
        missing
    }

    /// Sends the IIS counts and the applications-per-pool summary.
    pub fn iis(&self, inventory: &IisInventory) {
        let apps_of = |clr: Clr| {
            inventory
                .pools
                .iter()
                .filter(|p| p.clr == clr)
                .map(|p| u64::from(p.apps))
                .sum::<u64>()
        };
        let pools_where =
            |f: &dyn Fn(&IisPool) -> bool| inventory.pools.iter().filter(|p| f(p)).count() as u64;
        let points = &self.points;
        points.iis_app_count(inventory.pools.iter().map(|p| u64::from(p.apps)).sum());
        points.iis_app_count_analyzed(
            inventory
                .pools
                .iter()
                .map(|p| u64::from(p.apps_analyzed))
                .sum(),
        );
        points.iis_app_count_clr4(apps_of(Clr::V4));
        points.iis_app_count_clr2(apps_of(Clr::V2));
        points.iis_pool_count(inventory.pools.len() as u64);
        points.iis_pool_count_agent_attached(pools_where(&|p| p.agent_attached));
        points.iis_pool_count_clr4(pools_where(&|p| p.clr == Clr::V4));
        points.iis_pool_count_clr2(pools_where(&|p| p.clr == Clr::V2));
        points.iis_apps_per_pool(inventory.pools.iter().map(|p| f64::from(p.apps)).collect());
    }
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
    pub fn timings(&self) -> [(ContrastDotnetAgentPoint, Option<Duration>); 4] {
        use ContrastDotnetAgentPoint as P;
        let between = |a: Option<Instant>, b: Option<Instant>| b?.checked_duration_since(a?);
        [
            (
                P::ProfilerInitTime,
                between(Some(self.start), self.profiler),
            ),
            (P::SensorInitTime, between(self.profiler, self.sensor)),
            (
                P::FirstRequestTime,
                between(self.request_sent, self.request_ended),
            ),
            (
                P::InitToFirstRequestEndTime,
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
