//! The pipeline: bounded queue → batches → spool → sender, on one thread of Candor's own.
//!
//! The host's side ([`Pipeline::submit`]) never blocks: a full queue drops the event and
//! counts it. The sender thread cuts batches by size or age, writes each to the spool before
//! trying to send it, and removes it only when the receiver accepted it (or refused it for
//! good, which is counted). What an attempt comes to is decided by one pure function
//! ([`crate::policy::Policy::decide`]): failures back off with jitter and honour `Retry-After`,
//! and nothing the receiver may still take is dropped before the spool's age cap. The owner's
//! [`Permit`] is asked right before each batch is written and right before each attempt to
//! send it, under the spool's locks, so a batch its owner no longer allows is never written or
//! sent.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use candor_schema::Event;
use serde::Serialize;

use crate::TransportError;
use crate::drops::{DiskFailure, DropCause, DropCount};
use crate::policy::{Action, Attempt, Policy};
use crate::receipts::{Receipt, Receipts};
use crate::sink::{Failure, Outcome, Refusals, Sink};
use crate::spool::{Dropped, Spool, SpoolCaps, SpoolEntry};

/// How long a writer waits for a discard in progress (which itself waits for a delivery in
/// progress) before it writes anyway; the permit it asks keeps what it writes honest.
const WRITE_LOCK_WAIT: Duration = Duration::from_secs(30);
/// How long a discard waits for a write or a delivery in progress.
const DISCARD_WAIT: Duration = Duration::from_secs(30);
/// How soon a batch the owner holds back is looked at again.
const HOLD_RECHECK: Duration = Duration::from_secs(1);

/// The owner's answer about a batch, asked right before it is written and right before each
/// attempt to send it ([`PipelineConfig::permit`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Permission {
    /// Positions of events that must never be sent: removed from the batch for good and
    /// counted as [`DropCause::Withdrawn`].
    pub withdrawn: Vec<usize>,
    /// Whether the rest may be sent now; when not, the batch is kept and asked about again.
    pub send_now: bool,
}

impl Permission {
    /// Everything may go now.
    pub fn send() -> Self {
        Self {
            withdrawn: Vec::new(),
            send_now: true,
        }
    }

    /// Nothing is withdrawn; whether the rest may go now.
    pub fn keep(send_now: bool) -> Self {
        Self {
            withdrawn: Vec::new(),
            send_now,
        }
    }

    /// These positions are withdrawn; whether the rest may go now.
    pub fn withdraw(withdrawn: Vec<usize>, send_now: bool) -> Self {
        Self {
            withdrawn,
            send_now,
        }
    }
}

/// The owner's check on each batch. The transport knows nothing of why (the facade answers
/// from consent); it only obeys. The check runs on the sender thread, under the spool's lock,
/// and must be quick and must not wait for the pipeline.
#[derive(Clone)]
pub struct Permit(Arc<PermitCheck>);

/// What a [`Permit`] runs.
type PermitCheck = dyn Fn(&[Event]) -> Permission + Send + Sync;

impl Permit {
    /// A permit that answers with `check`.
    pub fn new(check: impl Fn(&[Event]) -> Permission + Send + Sync + 'static) -> Self {
        Self(Arc::new(check))
    }

    fn check(&self, events: &[Event]) -> Permission {
        (self.0)(events)
    }
}

impl std::fmt::Debug for Permit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Permit")
    }
}

/// How the pipeline behaves.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    /// Events the queue holds before it drops new ones.
    pub queue_capacity: usize,
    /// Events per batch.
    pub batch_max_events: usize,
    /// How long the first event of a batch waits for others.
    pub batch_max_wait: Duration,
    /// The spool directory and its caps; `None` keeps batches in memory (lost if the process
    /// dies; for stdout and tests), within the caps' number of batches and age.
    pub spool: Option<(PathBuf, SpoolCaps)>,
    /// Where receipts are written; `None` writes none.
    pub receipts: Option<PathBuf>,
    /// The first retry waits up to this long; each further one up to twice as long.
    pub backoff_base: Duration,
    /// No retry waits longer than this (unless the server asks, up to
    /// [`crate::retry::MAX_RETRY_AFTER`]).
    pub backoff_max: Duration,
    /// Even without new events, the spool is retried at least this often (the catalogue's
    /// collection interval, so leftovers of an earlier run go out with the next report).
    pub resend_every: Duration,
    /// The owner's check on each batch before it is written and before each attempt to send
    /// it; `None` allows everything.
    pub permit: Option<Permit>,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        Self {
            queue_capacity: 4096,
            batch_max_events: 512,
            batch_max_wait: Duration::from_secs(2),
            spool: None,
            receipts: None,
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(300),
            resend_every: Duration::from_secs(4 * 3600),
            permit: None,
        }
    }
}

/// Counters, readable at any time.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    accepted: AtomicU64,
    delivered: AtomicU64,
    delivered_batches: AtomicU64,
    receipts_unwritten: AtomicU64,
    retries: AtomicU64,
    last_error: Mutex<Option<String>>,
    unanswered_since: Mutex<Option<SystemTime>>,
    last_failure: Mutex<Option<Failure>>,
    /// Every event dropped for good, by cause (spool files, for [`DropCause::Unreadable`]).
    drops: Mutex<BTreeMap<DropCause, u64>>,
}

/// A copy of the counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StatsSnapshot {
    /// Events accepted into the queue.
    pub accepted: u64,
    /// Events dropped because the queue was full.
    pub dropped_queue_full: u64,
    /// Events the receiver accepted.
    pub delivered: u64,
    /// Batches the receiver accepted.
    pub delivered_batches: u64,
    /// Events the receiver refused for good (whole batches, and events of accepted batches
    /// it refused one by one).
    pub rejected: u64,
    /// Events dropped to keep the spool within its caps.
    pub dropped_by_caps: u64,
    /// Spool files that could not be read (damaged), removed.
    pub dropped_unreadable: u64,
    /// Deliveries whose receipt could not be written (the last error says why): delivered,
    /// but not on record.
    pub receipts_unwritten: u64,
    /// Delivery attempts that failed and will be retried.
    pub retries: u64,
    /// Events waiting (in memory or in the spool) when the snapshot was taken.
    pub pending: u64,
    /// The last delivery error, if any.
    pub last_error: Option<String>,
    /// Since when every delivery attempt has failed without an answer from the receiver (a
    /// connection error, a timeout, a server error); `None` once the receiver answered
    /// (accepted or refused a batch), and before any attempt failed.
    pub unanswered_since: Option<SystemTime>,
    /// The last delivery failure, as a type (its [`Failure::hint`] says what to check).
    pub last_failure: Option<Failure>,
    /// Every event dropped for good, by cause; empty when nothing was dropped.
    pub drops: Vec<DropCount>,
}

impl Stats {
    fn bump(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Notes whether the receiver answered an attempt (accepted or refused) or not (retry).
    fn answered(&self, answered: bool) {
        let mut since = self
            .unanswered_since
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if answered {
            *since = None;
        } else {
            since.get_or_insert_with(SystemTime::now);
        }
    }

    fn dropped(&self, cause: DropCause, events: u64) {
        if events == 0 {
            return;
        }
        *self
            .drops
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(cause)
            .or_insert(0) += events;
    }

    fn failed(&self, failure: Failure, message: String) {
        *self
            .last_failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(failure);
        self.error(message);
    }

    fn error(&self, message: String) {
        *self
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(message);
    }

    fn snapshot(&self, pending: u64) -> StatsSnapshot {
        let counts = self
            .drops
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let count = |wanted: fn(&DropCause) -> bool| -> u64 {
            counts
                .iter()
                .filter(|(c, _)| wanted(c))
                .map(|(_, n)| *n)
                .sum()
        };
        StatsSnapshot {
            accepted: self.accepted.load(Ordering::Relaxed),
            dropped_queue_full: count(|c| *c == DropCause::QueueFull),
            delivered: self.delivered.load(Ordering::Relaxed),
            delivered_batches: self.delivered_batches.load(Ordering::Relaxed),
            rejected: count(|c| matches!(c, DropCause::Refused(_) | DropCause::RefusedOneByOne)),
            dropped_by_caps: count(|c| *c == DropCause::SpoolCaps),
            dropped_unreadable: count(|c| *c == DropCause::Unreadable),
            receipts_unwritten: self.receipts_unwritten.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            pending,
            last_error: self
                .last_error
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
            unanswered_since: *self
                .unanswered_since
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
            last_failure: *self
                .last_failure
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
            drops: crate::drops::tally(&counts),
        }
    }
}

enum Message {
    Event(Box<Event>),
    /// Cut the batch, try to send everything until the deadline, then answer.
    Flush(Instant, mpsc::Sender<u64>),
    /// Like flush, then stop.
    Shutdown(Instant, mpsc::Sender<u64>),
    /// Throw away everything not yet delivered (consent was revoked); answer how many events.
    Discard(mpsc::Sender<u64>),
    /// Cut the batch and write everything queued to the spool, sending nothing; answer.
    Persist(mpsc::Sender<u64>),
}

/// A running pipeline. Dropping it stops the sender thread after a final attempt bounded by
/// one second; call [`Pipeline::shutdown`] to choose the deadline.
pub struct Pipeline {
    sender: Option<SyncSender<Message>>,
    stats: Arc<Stats>,
    pending: Arc<AtomicU64>,
    worker: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// How long [`Pipeline::start`] waits for the sink to be built.
pub(crate) const SINK_BUILD_DEADLINE: Duration = Duration::from_secs(10);

impl Pipeline {
    /// Starts the sender thread. `make_sink` runs on that thread, so a sink with a blocking
    /// HTTP client or its own runtime is built where it will be used.
    pub fn start<S, F>(config: PipelineConfig, make_sink: F) -> Result<Self, TransportError>
    where
        S: Sink + 'static,
        F: FnOnce() -> Result<S, TransportError> + Send + 'static,
    {
        let spool = match &config.spool {
            Some((dir, caps)) => Some(Spool::open(dir, *caps).map_err(|e| {
                TransportError::Spool(format!("cannot open the spool {}: {e}", dir.display()))
            })?),
            None => None,
        };
        let (sender, receiver) = mpsc::sync_channel(config.queue_capacity.max(1));
        let stats = Arc::new(Stats::default());
        let pending = Arc::new(AtomicU64::new(
            spool.as_ref().map_or(0, Spool::pending_events),
        ));
        let (ready_tx, ready_rx) = mpsc::channel();
        let worker = {
            let stats = Arc::clone(&stats);
            let pending = Arc::clone(&pending);
            std::thread::Builder::new()
                .name("candor-sender".to_owned())
                .spawn(move || match make_sink() {
                    Ok(sink) => {
                        let _ = ready_tx.send(Ok(()));
                        Worker::new(config, sink, spool, stats, pending).run(&receiver);
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                    }
                })
                .map_err(|e| TransportError::Config(format!("cannot start the sender: {e}")))?
        };
        // Building a sink reads files (a CA bundle, the system's roots, which `SSL_CERT_FILE`
        // may point at a FIFO): the start, and with it a host's `build()`, waits for it only
        // so long. A sink still building past the deadline is left to finish on its own thread
        // and then finds no queue to serve.
        match ready_rx.recv_timeout(SINK_BUILD_DEADLINE) {
            Err(mpsc::RecvTimeoutError::Timeout) => Err(TransportError::Config(format!(
                "the sink was not ready within {} s (is a certificate file a FIFO or on a \
                 stalled disk?)",
                SINK_BUILD_DEADLINE.as_secs()
            ))),
            Ok(Ok(())) => Ok(Self {
                sender: Some(sender),
                stats,
                pending,
                worker: Some(worker),
            }),
            Ok(Err(e)) => Err(e),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(TransportError::Config(
                "the sender thread stopped while building its sink".to_owned(),
            )),
        }
    }

    /// Queues an event. Never blocks: when the queue is full the event is dropped, counted,
    /// and `false` returned.
    pub fn submit(&self, event: Event) -> bool {
        let Some(sender) = &self.sender else {
            return false;
        };
        match sender.try_send(Message::Event(Box::new(event))) {
            Ok(()) => {
                Stats::bump(&self.stats.accepted, 1);
                true
            }
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.stats.dropped(DropCause::QueueFull, 1);
                false
            }
        }
    }

    /// Sends everything queued or spooled, waiting at most `timeout`; returns the events still
    /// pending afterwards (they stay in the spool).
    pub fn flush(&self, timeout: Duration) -> u64 {
        self.control(timeout, Message::Flush)
    }

    /// Writes everything queued so far to the spool (or the in-memory store) without sending,
    /// waiting at most `timeout`; returns the events pending afterwards. For callers that
    /// must know their events are on disk before they try to deliver them.
    pub fn persist(&self, timeout: Duration) -> u64 {
        self.control(timeout, |_, reply| Message::Persist(reply))
    }

    /// Throws away every event not yet delivered, queued, batched or spooled, counts them as
    /// [`DropCause::Withdrawn`] and returns how many; for a revoked consent. Waits at most
    /// `timeout` for the sender thread.
    pub fn discard_pending(&self, timeout: Duration) -> u64 {
        self.control(timeout, |_, reply| Message::Discard(reply))
    }

    /// Flushes within `deadline`, then stops the sender thread. What is not delivered stays in
    /// the spool for the next run. Returns the final counters.
    pub fn shutdown(mut self, deadline: Duration) -> StatsSnapshot {
        self.stop(deadline)
    }

    fn stop(&mut self, deadline: Duration) -> StatsSnapshot {
        let until = Instant::now() + deadline + Duration::from_millis(100);
        let left = self.control(deadline, Message::Shutdown);
        self.sender = None;
        if let Some(worker) = self.worker.take() {
            // The worker has answered, or the deadline passed while its sink is stuck (a
            // stdout someone holds, a FIFO, a receiver that never answers). Wait for it only
            // until the deadline; past it the thread is left to finish on its own, and what it
            // did not deliver stays in the spool.
            while !worker.is_finished() && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(1));
            }
            if worker.is_finished() {
                let _ = worker.join();
            }
        }
        self.stats.snapshot(left)
    }

    fn control(
        &self,
        timeout: Duration,
        make: impl FnOnce(Instant, mpsc::Sender<u64>) -> Message,
    ) -> u64 {
        let deadline = Instant::now() + timeout;
        let Some(sender) = &self.sender else {
            return self.pending.load(Ordering::Relaxed);
        };
        let (reply_tx, reply_rx) = mpsc::channel();
        let mut message = make(deadline, reply_tx);
        // The queue may be full; keep offering until the deadline rather than block forever.
        loop {
            match sender.try_send(message) {
                Ok(()) => break,
                Err(TrySendError::Full(m)) if Instant::now() < deadline => {
                    message = m;
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err(_) => return self.pending.load(Ordering::Relaxed),
            }
        }
        let wait = deadline.saturating_duration_since(Instant::now()) + Duration::from_millis(50);
        reply_rx
            .recv_timeout(wait)
            .unwrap_or_else(|_| self.pending.load(Ordering::Relaxed))
    }

    /// The counters now.
    pub fn stats(&self) -> StatsSnapshot {
        self.stats.snapshot(self.pending.load(Ordering::Relaxed))
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        if self.worker.is_some() {
            self.stop(Duration::from_secs(1));
        }
    }
}

/// Where batches wait: the spool, or memory when there is none.
enum Store {
    /// `has_batches` spares a directory listing on every wake-up: it is set when a batch is
    /// written and refreshed whenever the spool is listed to send, which is when it can drop.
    Disk {
        spool: Spool,
        has_batches: bool,
    },
    Memory(VecDeque<Held>),
}

/// A batch kept in memory, with when it was made (for the age cap).
struct Held {
    events: Vec<Event>,
    since: SystemTime,
}

/// The batch being tried: its events, its file when spooled, when it was written, and how
/// many events it held when it was read (so a batch the owner shortened is written back).
struct Batch {
    events: Vec<Event>,
    entry: Option<SpoolEntry>,
    written: SystemTime,
    read: usize,
}

struct Worker<S> {
    config: PipelineConfig,
    policy: Policy,
    sink: S,
    store: Store,
    receipts: Option<Receipts>,
    stats: Arc<Stats>,
    pending: Arc<AtomicU64>,
    batch: Vec<Event>,
    batch_started: Option<Instant>,
    /// Attempts that failed in a row (for the backoff); reset by a delivery.
    failures: u32,
    next_attempt: Instant,
    /// The last failure noted in the receipts log, so a dead endpoint is noted once, not at
    /// every retry; cleared by a delivery.
    noted: Option<Failure>,
}

impl<S: Sink> Worker<S> {
    fn new(
        config: PipelineConfig,
        sink: S,
        spool: Option<Spool>,
        stats: Arc<Stats>,
        pending: Arc<AtomicU64>,
    ) -> Self {
        let caps = config
            .spool
            .as_ref()
            .map_or(SpoolCaps::default(), |(_, c)| *c);
        Self {
            policy: Policy {
                backoff_base: config.backoff_base,
                backoff_max: config.backoff_max,
                max_age: caps.max_age,
            },
            receipts: config
                .receipts
                .clone()
                .map(|p| Receipts::new(p, 1024 * 1024)),
            store: match spool {
                Some(spool) => Store::Disk {
                    has_batches: spool.entries().is_ok_and(|e| !e.is_empty()),
                    spool,
                },
                None => Store::Memory(VecDeque::new()),
            },
            config,
            sink,
            stats,
            pending,
            batch: Vec::new(),
            batch_started: None,
            failures: 0,
            next_attempt: Instant::now(),
            noted: None,
        }
    }

    fn run(mut self, receiver: &Receiver<Message>) {
        // Leftovers of an earlier run go first.
        self.send_due(None);
        loop {
            let wait = self.next_wake().saturating_duration_since(Instant::now());
            match receiver.recv_timeout(wait) {
                Ok(Message::Event(event)) => {
                    if self.batch.is_empty() {
                        self.batch_started = Some(Instant::now());
                    }
                    self.batch.push(*event);
                    self.pending.fetch_add(1, Ordering::Relaxed);
                    if self.batch.len() >= self.config.batch_max_events {
                        self.cut();
                        self.send_due(None);
                    }
                }
                Ok(Message::Flush(deadline, reply)) => {
                    self.drain(receiver);
                    self.cut();
                    self.send_until(deadline);
                    let _ = reply.send(self.recount());
                }
                Ok(Message::Discard(reply)) => {
                    let _ = reply.send(self.discard(receiver));
                }
                Ok(Message::Persist(reply)) => {
                    self.drain(receiver);
                    self.cut();
                    let _ = reply.send(self.pending.load(Ordering::Relaxed));
                }
                Ok(Message::Shutdown(deadline, reply)) => {
                    self.drain(receiver);
                    self.cut();
                    self.send_until(deadline);
                    let _ = reply.send(self.recount());
                    return;
                }
                Err(RecvTimeoutError::Timeout) => {
                    if self
                        .batch_started
                        .is_some_and(|t| t.elapsed() >= self.config.batch_max_wait)
                    {
                        self.cut();
                    }
                    self.send_due(None);
                }
                Err(RecvTimeoutError::Disconnected) => {
                    self.cut();
                    self.send_until(Instant::now() + Duration::from_secs(1));
                    return;
                }
            }
        }
    }

    /// Takes events already queued, so a flush covers everything submitted before it.
    fn drain(&mut self, receiver: &Receiver<Message>) {
        while let Ok(message) = receiver.try_recv() {
            match message {
                Message::Event(event) => {
                    self.batch.push(*event);
                    self.pending.fetch_add(1, Ordering::Relaxed);
                    if self.batch.len() >= self.config.batch_max_events {
                        self.cut();
                    }
                }
                // A second control message behind this one is answered at once.
                Message::Flush(_, reply)
                | Message::Shutdown(_, reply)
                | Message::Discard(reply)
                | Message::Persist(reply) => {
                    let _ = reply.send(self.pending.load(Ordering::Relaxed));
                }
            }
        }
    }

    /// Events still waiting, counted afresh: with a spool shared by several processes, another
    /// may have delivered this one's batches (or added its own).
    fn recount(&self) -> u64 {
        let pending = match &self.store {
            Store::Disk { spool, .. } => self.batch.len() as u64 + spool.pending_events(),
            Store::Memory(queue) => {
                (self.batch.len() + queue.iter().map(|h| h.events.len()).sum::<usize>()) as u64
            }
        };
        self.pending.store(pending, Ordering::Relaxed);
        pending
    }

    fn discard(&mut self, receiver: &Receiver<Message>) -> u64 {
        self.drain(receiver);
        let mut count = self.batch.len() as u64;
        self.batch.clear();
        self.batch_started = None;
        match &mut self.store {
            Store::Memory(queue) => {
                count += queue.iter().map(|h| h.events.len() as u64).sum::<u64>();
                queue.clear();
            }
            Store::Disk { spool, has_batches } => {
                match spool.discard_all(DISCARD_WAIT) {
                    Ok(n) => count += n,
                    Err(e) => self
                        .stats
                        .error(format!("cannot discard the spool's batches: {e}")),
                }
                *has_batches = false;
            }
        }
        self.stats.dropped(DropCause::Withdrawn, count);
        self.pending.store(0, Ordering::Relaxed);
        count
    }

    fn next_wake(&self) -> Instant {
        let mut wake = Instant::now() + self.config.resend_every;
        if let Some(started) = self.batch_started {
            wake = wake.min(started + self.config.batch_max_wait);
        }
        if self.has_stored() {
            wake = wake.min(self.next_attempt);
        }
        wake
    }

    fn has_stored(&self) -> bool {
        match &self.store {
            Store::Disk { has_batches, .. } => *has_batches,
            Store::Memory(queue) => !queue.is_empty(),
        }
    }

    fn less_pending(&self, events: u64) {
        let _ = self
            .pending
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |p| {
                Some(p.saturating_sub(events))
            });
    }

    /// Asks the owner about `events`: removes (and counts) what it withdraws, and says whether
    /// the rest may be sent now.
    fn ask(&self, events: &mut Vec<Event>) -> bool {
        let Some(permit) = &self.config.permit else {
            return true;
        };
        let permission = permit.check(events);
        if !permission.withdrawn.is_empty() {
            let before = events.len();
            let mut index = 0;
            events.retain(|_| {
                let keep = !permission.withdrawn.contains(&index);
                index += 1;
                keep
            });
            let withdrawn = (before - events.len()) as u64;
            self.stats.dropped(DropCause::Withdrawn, withdrawn);
            self.less_pending(withdrawn);
        }
        permission.send_now
    }

    /// Moves the current batch to the store: under the spool's writing lock, after asking the
    /// owner, so nothing it withdrew is ever written and no discard misses the write.
    fn cut(&mut self) {
        self.batch_started = None;
        if self.batch.is_empty() {
            return;
        }
        let mut batch = std::mem::take(&mut self.batch);
        let _writing = match &self.store {
            Store::Disk { spool, .. } => spool.write_lock(WRITE_LOCK_WAIT).ok(),
            Store::Memory(_) => None,
        };
        self.ask(&mut batch);
        if batch.is_empty() {
            return;
        }
        let caps = self
            .config
            .spool
            .as_ref()
            .map_or(SpoolCaps::default(), |(_, c)| *c);
        let len = batch.len() as u64;
        match &mut self.store {
            Store::Disk { spool, has_batches } => match spool.write(&batch) {
                Err(e) => {
                    // The disk refused: nothing half-written is kept; the loss is counted
                    // under the operating system's reason (a full disk says so).
                    let why = DiskFailure::of(&e);
                    self.stats.error(format!(
                        "cannot write to the spool {}: {e}",
                        spool.dir().display()
                    ));
                    self.stats.dropped(DropCause::Unwritable(why), len);
                    self.less_pending(len);
                }
                Ok((_, dropped)) => {
                    *has_batches = true;
                    self.count_dropped(dropped);
                }
            },
            Store::Memory(queue) => {
                queue.push_back(Held {
                    events: batch,
                    since: SystemTime::now(),
                });
                let mut over = 0u64;
                while queue.len() > caps.max_files {
                    if let Some(old) = queue.pop_front() {
                        over += old.events.len() as u64;
                    }
                }
                self.stats.dropped(DropCause::SpoolCaps, over);
                self.less_pending(over);
            }
        }
    }

    fn send_due(&mut self, deadline: Option<Instant>) {
        if Instant::now() >= self.next_attempt {
            self.send_stored(deadline);
        }
    }

    /// Sends until the store is empty or the deadline passes, waiting out backoffs that end
    /// before the deadline.
    fn send_until(&mut self, deadline: Instant) {
        loop {
            if !self.has_stored() || Instant::now() >= deadline {
                return;
            }
            if self.next_attempt > Instant::now() {
                if self.next_attempt >= deadline {
                    return;
                }
                std::thread::sleep(self.next_attempt - Instant::now());
            }
            self.send_stored(Some(deadline));
        }
    }

    fn count_dropped(&self, dropped: Dropped) {
        self.stats.dropped(DropCause::SpoolCaps, dropped.events);
        self.less_pending(dropped.events);
    }

    /// Tries each stored batch, oldest first, until one is kept for later. With a spool, the
    /// sending lock is held throughout (waiting for it at most until the deadline), and before
    /// each batch the caps are enforced, so nothing past them (too old, too many) is replayed,
    /// and the owner is asked, so nothing it no longer allows is sent.
    fn send_stored(&mut self, deadline: Option<Instant>) {
        let _held = match &self.store {
            Store::Disk { spool, .. } => {
                let wait = deadline.map_or(Duration::from_millis(20), |d| {
                    d.saturating_duration_since(Instant::now())
                });
                match spool.lock(wait) {
                    Ok(lock) => Some(lock),
                    Err(e) => {
                        // Another process is sending this spool (or the lock cannot be had):
                        // look again shortly; what it sends is not sent twice.
                        if !matches!(e, candor_state::StateError::Busy { .. }) {
                            self.stats.error(e.to_string());
                        }
                        self.next_attempt = Instant::now() + Duration::from_millis(200);
                        return;
                    }
                }
            }
            Store::Memory(_) => None,
        };
        loop {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return;
            }
            self.enforce_caps();
            let Some(mut batch) = self.oldest() else {
                return;
            };
            if !self.ask(&mut batch.events) {
                // Held back by the owner: kept as it is (less what it withdrew), and asked
                // about again shortly.
                self.keep_rest(batch);
                self.next_attempt = Instant::now() + HOLD_RECHECK;
                return;
            }
            let Some(batch) = self.keep_rest_if_changed(batch) else {
                continue;
            };
            let outcome = self.sink.deliver_by(&batch.events, deadline);
            let attempt = Attempt {
                outcome: &outcome,
                events: batch.events.len(),
                failures: self.failures,
                age: SystemTime::now()
                    .duration_since(batch.written)
                    .unwrap_or_default(),
            };
            let action = self.policy.decide(&attempt, crate::retry::unit_random());
            match (outcome, action) {
                (Outcome::Delivered { bytes, refused }, _) => {
                    self.stats.answered(true);
                    self.failures = 0;
                    self.noted = None;
                    self.delivered(&batch, bytes, &refused);
                    self.forget(batch.entry.as_ref(), batch.events.len());
                }
                (outcome, Action::Split) => {
                    if let Outcome::Retry {
                        failure, reason, ..
                    } = outcome
                    {
                        self.stats.answered(true);
                        self.stats.failed(failure, reason);
                    }
                    self.split(batch);
                }
                (outcome, Action::Drop(cause)) => {
                    let (failure, reason, answered) = match outcome {
                        Outcome::Reject { failure, reason } => (failure, reason, true),
                        Outcome::Retry {
                            failure, reason, ..
                        } => (failure, reason, answers(failure)),
                        Outcome::Delivered { .. } => continue,
                    };
                    self.stats.answered(answered);
                    let n = batch.events.len() as u64;
                    self.stats.dropped(cause, n);
                    self.note(&batch.events, cause.to_string(), failure, n);
                    self.stats.failed(failure, reason);
                    self.forget(batch.entry.as_ref(), batch.events.len());
                }
                (outcome, Action::RetryAfter(wait)) => {
                    if let Outcome::Retry {
                        failure, reason, ..
                    } = outcome
                    {
                        // A request our own deadline cut short says nothing about the
                        // receiver: the failure it last showed stays the one reported.
                        let cut_short = failure == Failure::Timeout
                            && deadline.is_some_and(|d| Instant::now() >= d);
                        if !cut_short {
                            // A status is an answer: the receiver is reachable, only not
                            // taking this batch now. No answer at all is what blocking the
                            // network looks like.
                            self.stats.answered(answers(failure));
                            self.stats.failed(failure, reason);
                        }
                        if matches!(failure, Failure::Connect | Failure::Tls)
                            && self.noted != Some(failure)
                        {
                            self.note(&batch.events, failure.to_string(), failure, 0);
                        }
                    }
                    Stats::bump(&self.stats.retries, 1);
                    self.failures = self.failures.saturating_add(1);
                    self.next_attempt = Instant::now() + wait;
                    self.keep_rest(batch);
                    return;
                }
                (Outcome::Reject { .. } | Outcome::Retry { .. }, Action::Done) => {
                    // The policy never says "done" to anything but an acceptance.
                    self.keep_rest(batch);
                    return;
                }
            }
        }
    }

    /// Enforces the spool's caps under the sending lock the caller holds.
    fn enforce_caps(&mut self) {
        let Store::Disk { spool, .. } = &self.store else {
            return;
        };
        match spool.enforce_caps(SystemTime::now()) {
            Ok(dropped) => self.count_dropped(dropped),
            Err(e) => self
                .stats
                .error(format!("cannot enforce the spool's caps: {e}")),
        }
    }

    /// Counts an accepted batch: what the receiver took is delivered and receipted; what it
    /// refused one by one is refused for good, and noted.
    fn delivered(&mut self, batch: &Batch, bytes: u64, refused: &Refusals) {
        let len = batch.events.len() as u64;
        let refused_count = refused.count.min(len);
        Stats::bump(&self.stats.delivered, len - refused_count);
        Stats::bump(&self.stats.delivered_batches, 1);
        self.write_receipt(&batch.events, bytes, refused);
        if refused_count > 0 {
            let cause = DropCause::RefusedOneByOne;
            self.stats.dropped(cause, refused_count);
            let why = refused
                .reason
                .as_deref()
                .map(|r| format!(" (first: {})", shown(r)))
                .unwrap_or_default();
            let problem =
                format!("the receiver refused {refused_count} of {len} event(s) one by one{why}");
            let failure = Failure::Status(200);
            let products = batch.events.as_slice();
            self.note(products, problem.clone(), failure, refused_count);
            self.stats
                .error(format!("{}: {problem}", self.sink.destination()));
        }
    }

    /// A batch the receiver finds too large becomes two, each tried on its own.
    fn split(&mut self, batch: Batch) {
        let Batch {
            mut events,
            entry,
            written,
            ..
        } = batch;
        match &mut self.store {
            Store::Disk { spool, .. } => {
                if let Some(entry) = entry
                    && let Err(e) = spool.split(&entry, &events)
                {
                    self.stats
                        .error(format!("cannot split {}: {e}", entry.path.display()));
                    self.next_attempt = Instant::now() + HOLD_RECHECK;
                }
            }
            Store::Memory(queue) => {
                let second = events.split_off(events.len() / 2);
                queue.push_front(Held {
                    events: second,
                    since: written,
                });
                queue.push_front(Held {
                    events,
                    since: written,
                });
            }
        }
    }

    /// Puts a batch that stays back where it was: in memory at the front; on disk, rewritten
    /// without what the owner withdrew (its file is otherwise left as it is).
    fn keep_rest(&mut self, batch: Batch) {
        if let Some(batch) = self.keep_rest_if_changed(batch)
            && let Store::Memory(queue) = &mut self.store
        {
            queue.push_front(Held {
                events: batch.events,
                since: batch.written,
            });
        }
    }

    /// After the owner withdrew some events: an emptied batch is removed (`None`), a shortened
    /// spool file rewritten. Returns the batch to go on with.
    fn keep_rest_if_changed(&mut self, batch: Batch) -> Option<Batch> {
        if batch.events.is_empty() {
            self.forget(batch.entry.as_ref(), 0);
            return None;
        }
        if let (Store::Disk { spool, .. }, Some(entry)) = (&self.store, &batch.entry)
            && batch.read != batch.events.len()
        {
            match spool.rewrite(entry, &batch.events) {
                Ok(entry) => {
                    return Some(Batch {
                        entry: Some(entry),
                        read: batch.events.len(),
                        ..batch
                    });
                }
                Err(e) => self
                    .stats
                    .error(format!("cannot rewrite {}: {e}", entry.path.display())),
            }
        }
        Some(batch)
    }

    /// The oldest stored batch (taken out of memory; read from disk). Unreadable spool files
    /// are removed and counted.
    fn oldest(&mut self) -> Option<Batch> {
        match &mut self.store {
            Store::Memory(queue) => queue.pop_front().map(|h| Batch {
                read: h.events.len(),
                events: h.events,
                entry: None,
                written: h.since,
            }),
            Store::Disk { spool, has_batches } => loop {
                let first = spool.entries().ok().and_then(|e| e.into_iter().next());
                *has_batches = first.is_some();
                let entry = first?;
                match spool.read(&entry) {
                    Ok(events) => {
                        return Some(Batch {
                            written: entry.written,
                            entry: Some(entry),
                            read: events.len(),
                            events,
                        });
                    }
                    Err(why) => {
                        self.stats
                            .error(format!("removed an unreadable spool file: {why}"));
                        self.stats.dropped(DropCause::Unreadable, 1);
                        if spool.remove(&entry).is_err() {
                            // It cannot be read or removed: stop trying until a new batch
                            // arrives, rather than spin on it.
                            *has_batches = false;
                            return None;
                        }
                    }
                }
            },
        }
    }

    fn forget(&mut self, entry: Option<&SpoolEntry>, events: usize) {
        if let (Store::Disk { spool, .. }, Some(entry)) = (&self.store, entry)
            && let Err(e) = spool.remove(entry)
        {
            self.stats
                .error(format!("cannot remove {}: {e}", entry.path.display()));
        }
        self.less_pending(events as u64);
    }

    /// Notes a delivery problem in the receipts log (drops always; a failure to reach the
    /// endpoint once until the next delivery).
    fn note(&mut self, events: &[Event], problem: String, failure: Failure, dropped: u64) {
        self.noted = Some(failure);
        let Some(receipts) = &self.receipts else {
            return;
        };
        let note = crate::receipts::Problem {
            time: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
            products: products(events),
            sink: self.sink.kind().to_owned(),
            endpoint: self.sink.destination(),
            problem,
            dropped,
            hint: failure.hint().map(str::to_owned),
        };
        if let Err(e) = receipts.append_problem(&note) {
            self.stats.error(format!(
                "cannot write to the receipts log {}: {e}",
                receipts.path().display()
            ));
        }
    }

    /// The receipt of an accepted batch: only what the receiver took is listed as delivered.
    fn write_receipt(&self, events: &[Event], bytes: u64, refused: &Refusals) {
        let Some(receipts) = &self.receipts else {
            return;
        };
        let named: Vec<String> = refused
            .which
            .iter()
            .filter_map(|i| events.get(*i))
            .map(|e| e.event_id.clone())
            .collect();
        let refused_count = refused.count.min(events.len() as u64);
        let receipt = Receipt {
            time: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
            products: products(events),
            sink: self.sink.kind().to_owned(),
            endpoint: self.sink.destination(),
            events: events.len() as u64 - refused_count,
            bytes,
            event_ids: events
                .iter()
                .enumerate()
                .filter(|(i, _)| !refused.which.contains(i))
                .map(|(_, e)| e.event_id.clone())
                .collect(),
            refused: refused_count,
            refused_ids: named,
        };
        if let Err(e) = receipts.append(&receipt) {
            Stats::bump(&self.stats.receipts_unwritten, 1);
            self.stats.error(format!(
                "cannot write the receipt to {}: {e}",
                receipts.path().display()
            ));
        }
    }
}

/// Whether a failure is the receiver's answer (a status) rather than no answer at all.
fn answers(failure: Failure) -> bool {
    matches!(failure, Failure::Status(_) | Failure::Grpc(_))
}

/// The products of a batch, sorted, once each.
fn products(events: &[Event]) -> Vec<String> {
    let mut products: Vec<String> = events.iter().map(|e| e.product.clone()).collect();
    products.sort();
    products.dedup();
    products
}

/// A receiver's text, made safe for one line of a message: control characters escaped, cut.
fn shown(text: &str) -> String {
    text.chars()
        .flat_map(char::escape_debug)
        .take(200)
        .collect()
}
