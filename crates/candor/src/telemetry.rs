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
use candor_consent::{ConsentGate, Decision, Environment, Mode, Pending, Ticket, Transition};
use candor_schema::{Catalogue, Event};
use candor_state::StateDir;
use candor_transport::{
    DropCause, Permit, Pipeline, PipelineConfig, SinkOptions, SinkSpec, SpoolCaps, StatsSnapshot,
};
use crossbeam_queue::ArrayQueue;
use serde::Serialize;

use crate::builder::{Begun, Builder};
use crate::error::BuildError;
use crate::watch::ConsentWatch;

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
    /// The watch's gate, held here too so that `record` is one pointer away from its load.
    gate: ConsentGate,
    watch: Arc<ConsentWatch>,
    catalogue: Arc<Catalogue>,
    /// Recorded values, lock-free; the worker drains it.
    records: Arc<ArrayQueue<Recorded>>,
    /// Control messages, and a wake-up when the queue is half full.
    jobs: OnceLock<SyncSender<Job>>,
    /// Set by `shutdown`: later values are ignored rather than queued for a worker that is gone.
    closed: AtomicBool,
    counters: Counters,
    shared: Arc<Shared>,
    worker: Mutex<Option<JoinHandle<()>>>,
    state: Option<StateDir>,
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
#[non_exhaustive]
pub struct Status {
    /// The consent decision in force, with its reason.
    pub decision: Decision,
    /// Values accepted by `record`.
    pub recorded: u64,
    /// Values dropped because Candor's queue was full.
    pub dropped_queue_full: u64,
    /// Values prepared into events.
    pub prepared: u64,
    /// Values and events thrown away because consent changed before they were sent (those the
    /// pipelines withdrew are also counted in their drops, as [`DropCause::Withdrawn`]), and
    /// what a network block found waiting in the spool when this run started.
    pub discarded_by_consent: u64,
    /// Values refused, one line per data point with its first reason and a count: undeclared
    /// points, points not in effect for this version, expired points (by the UTC day of
    /// recording or by version), values of the wrong shape.
    pub refused: Vec<(String, u64)>,
    /// The network pipeline's counters (delivered, retried, spooled…), once it has started.
    pub sent: Option<StatsSnapshot>,
    /// The local pipeline's counters (mode `local`), once it has started.
    pub kept_locally: Option<StatsSnapshot>,
    /// Where receipts of delivered payloads are written.
    pub receipts: Option<PathBuf>,
}

impl Telemetry {
    /// Starts configuring telemetry for the product `catalogue` describes.
    pub fn builder(catalogue: impl Into<Arc<Catalogue>>) -> Builder {
        Builder::new(catalogue.into())
    }

    pub(crate) fn start(
        builder: Builder,
        preparer: Preparer,
        begun: Begun,
    ) -> Result<Self, BuildError> {
        let product = builder.catalogue.product_id().to_owned();
        let (watch, state, discarded) = begun.watch(&builder.catalogue);
        let gate = watch.gate().clone();
        let network = network_plan(&builder, state.as_ref(), Some(watch.permit(Mode::On)))?;
        let local_path = match &state {
            Some(state) => state.local_file(&product),
            None => StateDir::new(std::env::temp_dir()).local_file(&product),
        }
        .map_err(|e| BuildError::State(e.to_string()))?;
        let shared = Arc::new(Shared::default());
        shared.discarded.store(discarded, Ordering::Relaxed);
        let records = Arc::new(ArrayQueue::new(builder.queue_capacity));
        let plan = WorkerPlan {
            records: Arc::clone(&records),
            preparer,
            watch: Arc::clone(&watch),
            shared: Arc::clone(&shared),
            network,
            local: PipelinePlan::new(
                SinkSpec::File { path: local_path },
                &builder.pipeline,
                builder.sink_options(),
                None,
                None,
                Some(watch.permit(Mode::Local)),
            ),
            pending_cap: builder.queue_capacity,
        };
        let telemetry = Self {
            inner: Arc::new(Inner {
                gate,
                watch,
                catalogue: Arc::clone(&builder.catalogue),
                records,
                jobs: OnceLock::new(),
                closed: AtomicBool::new(false),
                counters: Counters::default(),
                shared,
                worker: Mutex::new(None),
                state,
            }),
        };
        // The worker runs whatever the decision: while consent is off it queues nothing and
        // only follows the consent inputs, so that `on` written to the user's file starts
        // collecting.
        telemetry.start_worker(plan)?;
        Ok(telemetry)
    }

    /// Starts Candor's worker thread.
    fn start_worker(&self, plan: WorkerPlan) -> Result<(), BuildError> {
        let (sender, receiver) = mpsc::sync_channel(16);
        match std::thread::Builder::new()
            .name("candor-worker".to_owned())
            .spawn(move || plan.run(&receiver))
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
    fn redecide(&self, change: impl FnOnce(&mut candor_consent::Inputs)) -> Transition {
        let transition = self.inner.watch.redecide(change);
        self.after(transition);
        transition
    }

    /// Replaces the consent decision. A change of mode discards what was recorded before and
    /// not yet sent (queued, batched or spooled). The decision holds until an input changes
    /// (the user's file, a host signal), when consent decides again.
    pub fn update_consent(&self, decision: Decision) -> Transition {
        let transition = self.inner.watch.update(decision);
        self.after(transition);
        transition
    }

    /// After a change of decision: what was recorded before is thrown away.
    fn after(&self, transition: Transition) {
        if transition != Transition::Unchanged {
            self.control(Duration::from_secs(5), Job::Discard);
        }
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
        let sent = stats(&shared.network);
        let kept_locally = stats(&shared.local);
        let withdrawn: u64 = [&sent, &kept_locally]
            .into_iter()
            .flatten()
            .flat_map(|s| &s.drops)
            .filter(|d| d.cause == DropCause::Withdrawn)
            .map(|d| d.events)
            .sum();
        Status {
            decision: self.inner.gate.decision(),
            recorded: self.inner.counters.recorded.load(Ordering::Relaxed),
            dropped_queue_full: self
                .inner
                .counters
                .dropped_queue_full
                .load(Ordering::Relaxed),
            prepared: shared.prepared.load(Ordering::Relaxed),
            discarded_by_consent: shared.discarded.load(Ordering::Relaxed) + withdrawn,
            refused,
            sent,
            kept_locally,
            receipts: self.inner.state.as_ref().map(StateDir::receipts_path),
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
    permit: Option<Permit>,
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
        permit,
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
        permit: Option<Permit>,
    ) -> Self {
        let caps = base
            .spool
            .as_ref()
            .map_or(SpoolCaps::default(), |(_, c)| *c);
        let mut config = base.clone();
        config.spool = spool.map(|d| (d, caps));
        config.receipts = receipts;
        config.permit = permit;
        Self {
            spec,
            config,
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
    watch: Arc<ConsentWatch>,
    shared: Arc<Shared>,
    network: PipelinePlan,
    local: PipelinePlan,
    pending_cap: usize,
}

impl WorkerPlan {
    fn gate(&self) -> &ConsentGate {
        self.watch.gate()
    }

    fn run(self, jobs: &Receiver<Job>) {
        /// How often the worker looks at the queue while values arrive, and while idle (it
        /// follows the consent inputs at least every `FOLLOW_EVERY` either way).
        const BUSY_POLL: Duration = Duration::from_millis(50);
        const IDLE_POLL: Duration = crate::watch::FOLLOW_EVERY;
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
                    self.discard(&mut held);
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
                    // What this run saw of the endpoint is kept for the next one.
                    self.observe_network();
                    let _ = reply.send(());
                    return;
                }
                Err(RecvTimeoutError::Disconnected) => {
                    self.stop(Instant::now() + Duration::from_secs(1));
                    return;
                }
            }
            // The user's file and consent record, the network's answers: a change of decision
            // throws away what was recorded before it.
            let followed = self.watch.follow_if_due();
            let network = self.watch_network();
            if [followed, network]
                .into_iter()
                .flatten()
                .any(|t| t != Transition::Unchanged)
            {
                self.discard(&mut held);
            }
            if !held.is_empty() {
                self.release(&mut held);
            }
        }
    }

    /// Events held for a pending notice go out once the decision allows sending; those
    /// recorded under an earlier decision are dropped, and counted.
    fn release(&self, held: &mut Pending<Event>) {
        let before = held.discarded();
        for event in held.take_sendable(self.gate()) {
            self.submit(&self.shared.network, &self.network, event);
        }
        self.shared
            .discarded
            .fetch_add(held.discarded() - before, Ordering::Relaxed);
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
        if !self.gate().is_current(recorded.ticket) {
            self.shared.discarded.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let Recorded {
            ticket,
            point,
            input,
            time,
        } = recorded;
        let time = self.watch.stamp(time);
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
            Mode::On if self.gate().may_send(ticket) => {
                self.submit(&self.shared.network, &self.network, event);
            }
            // On, but the first-run notice has not been shown: hold, bounded.
            Mode::On => {
                if held.len() < self.pending_cap {
                    held.record(self.gate(), event);
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

    /// The catalogue's network block: what the network pipeline reports moves the record of
    /// since when the endpoint has not answered, a consent input; while it holds, the endpoint
    /// is probed now and then. Returns the transition when consent decided again.
    fn watch_network(&self) -> Option<Transition> {
        if !self.watch_network_applies() {
            return None;
        }
        let observed = self.observe_network();
        let probed = self.watch.probe_if_blocked();
        [observed, probed]
            .into_iter()
            .flatten()
            .find(|t| *t != Transition::Unchanged)
    }

    /// Takes in what the network pipeline saw of the endpoint.
    fn observe_network(&self) -> Option<Transition> {
        let stats = self
            .shared
            .network
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(Pipeline::stats)?;
        self.watch.observe_network(
            stats.unanswered_since,
            stats.delivered > 0 || stats.rejected > 0,
        )
    }

    fn watch_network_applies(&self) -> bool {
        self.preparer
            .context()
            .catalogue()
            .spec()
            .consent
            .network_block_opts_out
    }

    /// Throws away what was recorded and not yet sent: queued values, held events, and what
    /// the pipelines hold (which they count as withdrawn).
    fn discard(&self, held: &mut Pending<Event>) {
        while self.records.pop().is_some() {
            self.shared.discarded.fetch_add(1, Ordering::Relaxed);
        }
        // After a change of decision nothing held is sendable any more.
        self.release(held);
        for slot in [&self.shared.network, &self.shared.local] {
            if let Some(p) = slot.lock().unwrap_or_else(PoisonError::into_inner).as_ref() {
                p.discard_pending(Duration::from_secs(5));
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
