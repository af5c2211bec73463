//! The handle a host records through, and the worker that does the rest off the hot path.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use candor_collect::AgentRecorder;
use candor_collect::DashboardRecorder;
use candor_collect::{Input, Preparer, Record, RejectionLog, Schedule};
use candor_collect::{SystemProbe, Unavailable};
use candor_consent::{
    ConsentGate, Decision, Environment, Inputs, Mode, Pending, Ticket, Transition, decide,
};
use candor_schema::{Catalogue, Event};
use candor_state::StateDir;
use candor_transport::{Pipeline, PipelineConfig, SinkOptions, SinkSpec, SpoolCaps, StatsSnapshot};
use crossbeam_queue::ArrayQueue;
use serde::Serialize;

use crate::builder::Builder;
use crate::error::BuildError;
use crate::network_block::{NetworkBlock, Verdict};

/// A cheap, cloneable handle for recording telemetry. See the crate documentation.
#[derive(Clone)]
pub struct Telemetry {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telemetry")
            .field("product", &self.inner.catalogue.product_id())
            .field("collecting", &self.inner.gate.is_collecting())
            .finish_non_exhaustive()
    }
}

struct Inner {
    gate: ConsentGate,
    catalogue: Arc<Catalogue>,
    inputs: Mutex<Inputs>,
    /// Recorded values, lock-free; the worker drains it.
    records: Arc<ArrayQueue<Recorded>>,
    /// Control messages, and a wake-up when the queue is half full; set when the worker
    /// starts (at build when consent allows collecting, else at the first switch to on).
    jobs: OnceLock<SyncSender<Job>>,
    /// The worker, until it is started.
    plan: Mutex<Option<WorkerPlan>>,
    /// Set by `shutdown`: later values are ignored rather than queued for a worker that is gone.
    closed: AtomicBool,
    counters: Counters,
    shared: Arc<Shared>,
    worker: Mutex<Option<JoinHandle<()>>>,
    state: Option<StateDir>,
    network_block: Option<Arc<NetworkBlock>>,
}

/// What the worker and the handle both see.
#[derive(Default)]
struct Shared {
    refusals: Mutex<RejectionLog>,
    network: Mutex<Option<Pipeline>>,
    local: Mutex<Option<Pipeline>>,
    prepared: AtomicU64,
    discarded: AtomicU64,
}

#[derive(Default)]
struct Counters {
    recorded: AtomicU64,
    dropped_queue_full: AtomicU64,
}

struct Recorded {
    ticket: Ticket,
    point: Box<str>,
    input: Input,
    time: SystemTime,
}

enum Job {
    /// The record queue is filling up: drain it now rather than at the next poll.
    Wake,
    Flush(Instant, mpsc::Sender<()>),
    Discard(mpsc::Sender<()>),
    Persist(Instant, mpsc::Sender<()>),
    Stop(Instant, mpsc::Sender<()>),
}

/// What Candor has done so far, for a status page or a debug log.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// The consent decision in force, with its reason.
    pub decision: Decision,
    /// Values accepted by `record`.
    pub recorded: u64,
    /// Values dropped because Candor's queue was full.
    pub dropped_queue_full: u64,
    /// Values prepared into events.
    pub prepared: u64,
    /// Values and events thrown away because consent changed before they were sent.
    pub discarded_by_consent: u64,
    /// Values refused, one line per data point with its first reason and a count: undeclared
    /// points, points not in effect for this version, values of the wrong shape.
    pub refused: Vec<(String, u64)>,
    /// The network pipeline's counters (delivered, retried, spooled…), once it has started.
    pub sent: Option<StatsSnapshot>,
    /// The local pipeline's counters (mode `local`), once it has started.
    pub kept_locally: Option<StatsSnapshot>,
    /// Where receipts of delivered payloads are written.
    pub receipts: Option<PathBuf>,
    /// Why nothing is collected although consent is on, when the catalogue counts blocking the
    /// network as opting out and the endpoint has not answered for its declared period.
    pub network_blocked: Option<String>,
}

impl Telemetry {
    /// Starts configuring telemetry for the product `catalogue` describes.
    pub fn builder(catalogue: impl Into<Arc<Catalogue>>) -> Builder {
        Builder::new(catalogue.into())
    }

    pub(crate) fn start(
        builder: Builder,
        preparer: Preparer,
        inputs: Inputs,
        state: Option<StateDir>,
    ) -> Result<Self, BuildError> {
        let decision = decide(&builder.catalogue, &inputs);
        let collecting = decision.enabled();
        let gate = ConsentGate::new(decision);
        let product = builder.catalogue.product_id().to_owned();
        let network = network_plan(&builder, state.as_ref())?;
        let local_path = match &state {
            Some(state) => state.local_file(&product),
            None => StateDir::new(std::env::temp_dir()).local_file(&product),
        }
        .map_err(|e| BuildError::State(e.to_string()))?;
        let endpoint = match &builder.sink {
            Some(
                SinkSpec::OtlpHttp { endpoint }
                | SinkSpec::OtlpGrpc { endpoint }
                | SinkSpec::Json { endpoint }
                | SinkSpec::Relay { endpoint, .. },
            ) => Some(endpoint.as_str()),
            _ => None,
        };
        let network_block =
            NetworkBlock::new(&builder.catalogue, state.as_ref(), endpoint).map(Arc::new);
        let shared = Arc::new(Shared::default());
        let records = Arc::new(ArrayQueue::new(builder.queue_capacity));
        let plan = WorkerPlan {
            records: Arc::clone(&records),
            preparer,
            gate: gate.clone(),
            shared: Arc::clone(&shared),
            network,
            local: PipelinePlan::new(
                SinkSpec::File { path: local_path },
                &builder.pipeline,
                builder.sink_options(),
                None,
                None,
            ),
            pending_cap: builder.queue_capacity,
            network_block: network_block.clone(),
        };
        let telemetry = Self {
            inner: Arc::new(Inner {
                gate,
                catalogue: Arc::clone(&builder.catalogue),
                inputs: Mutex::new(inputs),
                records,
                jobs: OnceLock::new(),
                plan: Mutex::new(Some(plan)),
                closed: AtomicBool::new(false),
                counters: Counters::default(),
                shared,
                worker: Mutex::new(None),
                state,
                network_block,
            }),
        };
        // Consent first: when it is off, nothing is queued and no thread runs (until the
        // decision changes to on).
        if collecting {
            telemetry.start_worker()?;
        }
        Ok(telemetry)
    }

    /// Starts Candor's worker thread, once.
    fn start_worker(&self) -> Result<(), BuildError> {
        let mut plan = self
            .inner
            .plan
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(worker_plan) = plan.take() else {
            return Ok(());
        };
        let (sender, receiver) = mpsc::sync_channel(16);
        match std::thread::Builder::new()
            .name("candor-worker".to_owned())
            .spawn(move || worker_plan.run(&receiver))
        {
            Ok(handle) => {
                *self
                    .inner
                    .worker
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = Some(handle);
                let _ = self.inner.jobs.set(sender);
                Ok(())
            }
            Err(e) => Err(BuildError::State(format!(
                "cannot start Candor's worker: {e}"
            ))),
        }
    }

    /// Records a raw value for a data point. The hot path: when telemetry is off this is one
    /// atomic load; when it is on, the value is pushed onto a lock-free bounded queue that
    /// Candor's worker drains (polling, and woken early when the queue is half full), which checks it
    /// against the catalogue, applies privacy and hands it to the sender. Never blocks, never
    /// panics; a full queue drops the value and counts it.
    #[inline]
    pub fn record(&self, point: &str, input: Input) {
        if !self.inner.gate.is_collecting() {
            return;
        }
        self.enqueue(point, input);
    }

    fn enqueue(&self, point: &str, input: Input) {
        let (Some(jobs), Some(ticket)) = (self.inner.jobs.get(), self.inner.gate.ticket()) else {
            return;
        };
        if self.inner.closed.load(Ordering::Relaxed) {
            return;
        }
        let recorded = Recorded {
            ticket,
            point: point.into(),
            input,
            time: SystemTime::now(),
        };
        let records = &self.inner.records;
        if records.push(recorded).is_err() {
            self.inner
                .counters
                .dropped_queue_full
                .fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.inner.counters.recorded.fetch_add(1, Ordering::Relaxed);
        // The worker polls; only a filling queue is worth a wake-up (and a full wake-up
        // channel means one is already on its way).
        if records.len() * 2 >= records.capacity() {
            let _ = jobs.try_send(Job::Wake);
        }
    }

    /// Refuses a value for `point` that could not be read from the form a host adapter
    /// received it in (the OpenTelemetry bridge given a log body of the wrong shape): it is
    /// counted in [`Status::refused`] with `reason`, as the worker counts the values it
    /// refuses. With consent off nothing is recorded, so nothing is refused either.
    pub fn refuse(&self, point: &str, reason: impl Into<String>) {
        if !self.inner.gate.is_collecting() {
            return;
        }
        self.inner
            .shared
            .refusals
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .note(candor_collect::Rejected::Invalid {
                point: point.to_owned(),
                reason: reason.into(),
            });
    }

    /// Whether anything is being recorded (consent is `on` or `local`).
    pub fn is_collecting(&self) -> bool {
        self.inner.gate.is_collecting()
    }

    /// The typed recorder for the agent catalogue's points.
    pub fn agent(&self) -> AgentRecorder<Self> {
        AgentRecorder::new(self.clone())
    }

    /// The typed recorder for the dashboard catalogue's points.
    pub fn dashboard(&self) -> DashboardRecorder<Self> {
        DashboardRecorder::new(self.clone())
    }

    /// Reads this machine and records every point of the catalogue that names a machine
    /// reading (`source = "system.…"`), whatever the product; returns the ones that could not
    /// be read, with the reason. Points the running version does not collect are refused as
    /// any other value would be.
    pub fn record_system_snapshot(&self) -> Vec<(String, Unavailable)> {
        if !self.is_collecting() {
            return Vec::new();
        }
        let snapshot = SystemProbe::real().snapshot();
        let points = &self.inner.catalogue.spec().data_points;
        candor_collect::record_readings(self, points, &snapshot)
            .into_iter()
            .map(|(point, why)| (point.to_owned(), why))
            .collect()
    }

    /// The catalogue's collection schedule, starting now.
    pub fn schedule(&self) -> Schedule {
        Schedule::from_catalogue(&self.inner.catalogue.spec().collection, Instant::now())
    }

    /// The host turned its own telemetry off (or on again). Consent is decided again; if it
    /// changes, everything recorded under the old decision and not yet sent is thrown away.
    pub fn set_host_opted_out(&self, opted_out: bool) -> Transition {
        self.redecide(|inputs| inputs.host.host_opted_out = opted_out)
    }

    /// Decides consent again with a new environment (the user set an opt-out variable, or the
    /// host re-read its own settings). If the decision changes, everything recorded under the
    /// old one and not yet sent is thrown away.
    pub fn reconsider(&self, env: Environment) -> Transition {
        self.redecide(|inputs| inputs.env = env)
    }

    /// Changes the consent inputs, decides again and applies the decision.
    fn redecide(&self, change: impl FnOnce(&mut Inputs)) -> Transition {
        let decision = {
            let mut inputs = self
                .inner
                .inputs
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            change(&mut inputs);
            decide(&self.inner.catalogue, &inputs)
        };
        self.update_consent(decision)
    }

    /// Replaces the consent decision. A change of mode discards what was recorded before and
    /// not yet sent (queued, batched or spooled).
    pub fn update_consent(&self, decision: Decision) -> Transition {
        let transition = self.inner.gate.update(decision);
        if transition != Transition::Unchanged {
            self.control(Duration::from_secs(5), Job::Discard);
        }
        // Built while off and now on: collecting starts here.
        if self.inner.gate.is_collecting()
            && !self.inner.closed.load(Ordering::Relaxed)
            && let Err(e) = self.start_worker()
        {
            self.inner
                .shared
                .refusals
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .note(candor_collect::Rejected::Invalid {
                    point: "*".to_owned(),
                    reason: e.to_string(),
                });
        }
        transition
    }

    /// Prepares everything recorded so far and writes it to the spool, sending nothing,
    /// waiting at most `timeout`. A tool that hands over a file of values (`candor send`)
    /// calls it before delivering, so what it accepted survives a deadline or a crash.
    pub fn persist(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        self.control(timeout, |reply| Job::Persist(deadline, reply));
    }

    /// Sends what is queued, waiting at most `timeout`.
    pub fn flush(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        self.control(timeout, |reply| Job::Flush(deadline, reply));
    }

    /// Stops recording, sends what it can within `deadline` (the rest stays in the spool for
    /// the next run) and returns the final status. Later calls to `record` do nothing.
    pub fn shutdown(&self, deadline: Duration) -> Status {
        self.inner.closed.store(true, Ordering::Relaxed);
        let end = Instant::now() + deadline;
        self.control(deadline, |reply| Job::Stop(end, reply));
        if let Some(worker) = self
            .inner
            .worker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            // Wait for the worker only until the deadline: a sink that never returns (a held
            // stdout, a FIFO, a stalled receiver) must not hold the host.
            let until = end + Duration::from_millis(100);
            while !worker.is_finished() && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(1));
            }
            if worker.is_finished() {
                let _ = worker.join();
            }
        }
        self.status()
    }

    fn control(&self, timeout: Duration, make: impl FnOnce(mpsc::Sender<()>) -> Job) {
        let Some(jobs) = self.inner.jobs.get() else {
            return;
        };
        let deadline = Instant::now() + timeout;
        let (reply, answered) = mpsc::channel();
        let mut job = make(reply);
        loop {
            match jobs.try_send(job) {
                Ok(()) => break,
                Err(TrySendError::Full(j)) if Instant::now() < deadline => {
                    job = j;
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err(_) => return,
            }
        }
        let _ = answered.recv_timeout(
            deadline.saturating_duration_since(Instant::now()) + Duration::from_millis(100),
        );
    }

    /// What Candor has done so far.
    pub fn status(&self) -> Status {
        let shared = &self.inner.shared;
        let stats = |p: &Mutex<Option<Pipeline>>| {
            p.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .as_ref()
                .map(Pipeline::stats)
        };
        let refused = shared
            .refusals
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entries()
            .map(|(r, n)| (r.to_string(), n))
            .collect();
        Status {
            decision: self.inner.gate.decision(),
            recorded: self.inner.counters.recorded.load(Ordering::Relaxed),
            dropped_queue_full: self
                .inner
                .counters
                .dropped_queue_full
                .load(Ordering::Relaxed),
            prepared: shared.prepared.load(Ordering::Relaxed),
            discarded_by_consent: shared.discarded.load(Ordering::Relaxed),
            refused,
            sent: stats(&shared.network),
            kept_locally: stats(&shared.local),
            receipts: self.inner.state.as_ref().map(StateDir::receipts_path),
            network_blocked: self.inner.network_block.as_ref().and_then(|b| b.reason()),
        }
    }

    /// The catalogue.
    pub fn catalogue(&self) -> &Catalogue {
        &self.inner.catalogue
    }
}

impl Record for Telemetry {
    fn record(&self, point: &str, input: Input) {
        Telemetry::record(self, point, input);
    }
}

/// The network pipeline a product's events go through: the builder's sink (default: the
/// events file in Candor's folder), the product's spool and the receipts log. `build` and
/// `replay` both use it, so a replay sends exactly as a running host does.
pub(crate) fn network_plan(
    builder: &Builder,
    state: Option<&StateDir>,
) -> Result<PipelinePlan, BuildError> {
    let product = builder.catalogue.product_id();
    let state_error = |e: candor_state::StateError| BuildError::State(e.to_string());
    let spec = match (&builder.sink, state) {
        (Some(sink), _) => sink.clone(),
        (None, Some(state)) => SinkSpec::File {
            path: state.events_file(product).map_err(state_error)?,
        },
        (None, None) => {
            return Err(BuildError::Missing(
                "no folder for Candor's state: give a sink or a state_dir",
            ));
        }
    };
    let spool = state
        .map(|s| s.spool_dir(product))
        .transpose()
        .map_err(state_error)?;
    Ok(PipelinePlan::new(
        spec,
        &builder.pipeline,
        builder.sink_options(),
        spool,
        state.map(StateDir::receipts_path),
    ))
}

/// How to start a pipeline when it is first needed.
pub(crate) struct PipelinePlan {
    spec: SinkSpec,
    config: PipelineConfig,
    options: SinkOptions,
}

impl PipelinePlan {
    fn new(
        spec: SinkSpec,
        base: &PipelineConfig,
        options: SinkOptions,
        spool: Option<PathBuf>,
        receipts: Option<PathBuf>,
    ) -> Self {
        let caps = base
            .spool
            .as_ref()
            .map_or(SpoolCaps::default(), |(_, c)| *c);
        Self {
            spec,
            config: PipelineConfig {
                spool: spool.map(|d| (d, caps)),
                receipts,
                ..base.clone()
            },
            options,
        }
    }

    /// The spool folder, if the pipeline has one.
    pub(crate) fn spool_dir(&self) -> Option<PathBuf> {
        self.config.spool.as_ref().map(|(d, _)| d.clone())
    }

    pub(crate) fn start(&self) -> Result<Pipeline, String> {
        let spec = self.spec.clone();
        let options = self.options.clone();
        Pipeline::start(self.config.clone(), move || spec.build(options)).map_err(|e| e.to_string())
    }
}

struct WorkerPlan {
    records: Arc<ArrayQueue<Recorded>>,
    preparer: Preparer,
    gate: ConsentGate,
    shared: Arc<Shared>,
    network: PipelinePlan,
    local: PipelinePlan,
    pending_cap: usize,
    network_block: Option<Arc<NetworkBlock>>,
}

impl WorkerPlan {
    fn run(self, jobs: &Receiver<Job>) {
        /// How often the worker looks at the queue while values arrive, and while idle.
        const BUSY_POLL: Duration = Duration::from_millis(50);
        const IDLE_POLL: Duration = Duration::from_secs(1);
        let mut held: Pending<Event> = Pending::new();
        let mut poll = BUSY_POLL;
        loop {
            let job = jobs.recv_timeout(poll);
            let drained = self.drain(&mut held);
            poll = if drained > 0 { BUSY_POLL } else { IDLE_POLL };
            match job {
                Ok(Job::Wake) | Err(RecvTimeoutError::Timeout) => {}
                Ok(Job::Flush(deadline, reply)) => {
                    self.flush(deadline);
                    let _ = reply.send(());
                }
                Ok(Job::Discard(reply)) => {
                    self.discard();
                    let _ = held.take_sendable(&self.gate);
                    let _ = reply.send(());
                }
                Ok(Job::Persist(deadline, reply)) => {
                    self.drain(&mut held);
                    for slot in [&self.shared.network, &self.shared.local] {
                        if let Some(p) =
                            slot.lock().unwrap_or_else(PoisonError::into_inner).as_ref()
                        {
                            p.persist(deadline.saturating_duration_since(Instant::now()));
                        }
                    }
                    let _ = reply.send(());
                }
                Ok(Job::Stop(deadline, reply)) => {
                    self.drain(&mut held);
                    self.stop(deadline);
                    let _ = reply.send(());
                    return;
                }
                Err(RecvTimeoutError::Disconnected) => {
                    self.stop(Instant::now() + Duration::from_secs(1));
                    return;
                }
            }
            self.watch_network();
            // Events held for a pending notice go out once the decision allows sending.
            if !held.is_empty() {
                for event in held.take_sendable(&self.gate) {
                    self.submit(&self.shared.network, &self.network, event);
                }
            }
        }
    }

    /// Handles every value queued so far; returns how many.
    fn drain(&self, held: &mut Pending<Event>) -> usize {
        let mut n = 0;
        while let Some(recorded) = self.records.pop() {
            self.handle(recorded, held);
            n += 1;
        }
        n
    }

    fn handle(&self, recorded: Recorded, held: &mut Pending<Event>) {
        if !self.gate.is_current(recorded.ticket) {
            self.shared.discarded.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let Recorded {
            ticket,
            point,
            input,
            time,
        } = recorded;
        // A bug in preparing one value must not take the worker (and all later values) down.
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.preparer.prepare_event(&point, input, time)
        }));
        let event = match outcome {
            Ok(Ok(event)) => event,
            Ok(Err(rejected)) => {
                let first = self
                    .shared
                    .refusals
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .note(rejected.clone());
                if first && std::env::var_os("CANDOR_DEBUG").is_some() {
                    #[allow(clippy::print_stderr)]
                    {
                        eprintln!("candor: not sent: {rejected}");
                    }
                }
                return;
            }
            Err(_) => {
                self.shared
                    .refusals
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .note(candor_collect::Rejected::Invalid {
                        point: point.to_string(),
                        reason: "preparing the value failed inside Candor".to_owned(),
                    });
                return;
            }
        };
        self.shared.prepared.fetch_add(1, Ordering::Relaxed);
        match ticket.mode() {
            // Blocking the network opts out (when the catalogue says so): nothing is collected.
            Mode::On if self.network_block.as_ref().is_some_and(|b| b.is_blocked()) => {
                self.shared.discarded.fetch_add(1, Ordering::Relaxed);
            }
            Mode::On if self.gate.may_send(ticket) => {
                self.submit(&self.shared.network, &self.network, event);
            }
            // On, but the first-run notice has not been shown: hold, bounded.
            Mode::On => {
                if held.len() < self.pending_cap {
                    held.record(&self.gate, event);
                } else {
                    self.shared.discarded.fetch_add(1, Ordering::Relaxed);
                }
            }
            Mode::Local => self.submit(&self.shared.local, &self.local, event),
            Mode::Off => {
                self.shared.discarded.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn submit(&self, slot: &Mutex<Option<Pipeline>>, plan: &PipelinePlan, event: Event) {
        let mut slot = slot.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.is_none() {
            match plan.start() {
                Ok(p) => *slot = Some(p),
                Err(e) => {
                    self.shared
                        .refusals
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .note(candor_collect::Rejected::Invalid {
                            point: event.point.clone(),
                            reason: format!("the sink could not start: {e}"),
                        });
                    return;
                }
            }
        }
        if let Some(pipeline) = slot.as_ref() {
            pipeline.submit(event);
        }
    }

    /// Applies the catalogue's `network_block_opts_out` to what the network pipeline reports:
    /// once no endpoint has answered for the declared period, what is waiting is discarded.
    fn watch_network(&self) {
        let Some(block) = &self.network_block else {
            return;
        };
        let slot = self
            .shared
            .network
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(pipeline) = slot.as_ref() else {
            return;
        };
        if block.observe(&pipeline.stats()) == Verdict::JustBlocked {
            let n = pipeline.discard_pending(Duration::from_secs(5));
            self.shared.discarded.fetch_add(n, Ordering::Relaxed);
        }
    }

    fn discard(&self) {
        while self.records.pop().is_some() {
            self.shared.discarded.fetch_add(1, Ordering::Relaxed);
        }
        for slot in [&self.shared.network, &self.shared.local] {
            if let Some(p) = slot.lock().unwrap_or_else(PoisonError::into_inner).as_ref() {
                let n = p.discard_pending(Duration::from_secs(5));
                self.shared.discarded.fetch_add(n, Ordering::Relaxed);
            }
        }
    }

    fn flush(&self, deadline: Instant) {
        for slot in [&self.shared.network, &self.shared.local] {
            if let Some(p) = slot.lock().unwrap_or_else(PoisonError::into_inner).as_ref() {
                p.flush(deadline.saturating_duration_since(Instant::now()));
            }
        }
    }

    fn stop(&self, deadline: Instant) {
        // Flush both, but leave the pipelines in place so their final counters stay readable.
        self.flush(deadline);
    }
}
