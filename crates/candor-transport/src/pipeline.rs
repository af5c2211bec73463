//! The pipeline: bounded queue → batches → spool → sender, on one thread of Candor's own.
//!
//! The host's side ([`Pipeline::submit`]) never blocks: a full queue drops the event and
//! counts it. The sender thread cuts batches by size or age, writes each to the spool before
//! trying to send it, and removes it only when the receiver accepted it (or refused it for
//! good, which is counted). Failures back off with jitter and honour `Retry-After`.

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
use crate::drops::{DropCause, DropCount};
use crate::receipts::{Receipt, Receipts};
use crate::retry::Backoff;
use crate::sink::{Failure, Outcome, Sink};
use crate::spool::{Dropped, Spool, SpoolCaps, SpoolEntry};

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
    /// dies; for stdout and tests).
    pub spool: Option<(PathBuf, SpoolCaps)>,
    /// Where receipts are written; `None` writes none.
    pub receipts: Option<PathBuf>,
    /// The first retry waits up to this long; each further one up to twice as long.
    pub backoff_base: Duration,
    /// No retry waits longer than this (unless the server asks, up to the cap).
    pub backoff_max: Duration,
    /// Even without new events, the spool is retried at least this often (the catalogue's
    /// collection interval, so leftovers of an earlier run go out with the next report).
    pub resend_every: Duration,
    /// Answers that keep a batch (a redirect, 401/403/408/413/429, 5xx, a retryable gRPC
    /// code) are retried at most this many times in a row for one batch; then it is dropped and
    /// counted ([`DropCause::GaveUp`]). Failures to reach the receiver at all do not count:
    /// they are bounded by the spool's age cap instead, so an offline machine loses nothing.
    pub max_attempts: u32,
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
            max_attempts: 10,
        }
    }
}

/// Counters, readable at any time.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    accepted: AtomicU64,
    dropped_queue_full: AtomicU64,
    delivered: AtomicU64,
    delivered_batches: AtomicU64,
    rejected: AtomicU64,
    dropped_by_caps: AtomicU64,
    dropped_unreadable: AtomicU64,
    receipts_unwritten: AtomicU64,
    retries: AtomicU64,
    last_error: Mutex<Option<String>>,
    unanswered_since: Mutex<Option<SystemTime>>,
    last_failure: Mutex<Option<Failure>>,
    /// Events dropped after the receiver answered, by cause.
    answered_drops: Mutex<BTreeMap<DropCause, u64>>,
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
    /// Events the receiver refused for good.
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
        *self
            .answered_drops
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
        let drops = crate::drops::tally(
            [
                (
                    DropCause::QueueFull,
                    self.dropped_queue_full.load(Ordering::Relaxed),
                ),
                (
                    DropCause::SpoolCaps,
                    self.dropped_by_caps.load(Ordering::Relaxed),
                ),
                (
                    DropCause::Unreadable,
                    self.dropped_unreadable.load(Ordering::Relaxed),
                ),
            ],
            &self
                .answered_drops
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        StatsSnapshot {
            accepted: self.accepted.load(Ordering::Relaxed),
            dropped_queue_full: self.dropped_queue_full.load(Ordering::Relaxed),
            delivered: self.delivered.load(Ordering::Relaxed),
            delivered_batches: self.delivered_batches.load(Ordering::Relaxed),
            rejected: self.rejected.load(Ordering::Relaxed),
            dropped_by_caps: self.dropped_by_caps.load(Ordering::Relaxed),
            dropped_unreadable: self.dropped_unreadable.load(Ordering::Relaxed),
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
            drops,
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
                Stats::bump(&self.stats.dropped_queue_full, 1);
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

    /// Throws away every event not yet delivered, queued, batched or spooled, and returns how
    /// many; for a revoked consent. Waits at most `timeout` for the sender thread.
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
    Memory(VecDeque<Vec<Event>>),
}

struct Worker<S> {
    config: PipelineConfig,
    sink: S,
    store: Store,
    receipts: Option<Receipts>,
    stats: Arc<Stats>,
    pending: Arc<AtomicU64>,
    batch: Vec<Event>,
    batch_started: Option<Instant>,
    backoff: Backoff,
    next_attempt: Instant,
    /// Answers in a row that kept the oldest batch (see [`PipelineConfig::max_attempts`]).
    answered_retries: u32,
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
        Self {
            backoff: Backoff::new(config.backoff_base, config.backoff_max),
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
            next_attempt: Instant::now(),
            answered_retries: 0,
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
                (self.batch.len() + queue.iter().map(Vec::len).sum::<usize>()) as u64
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
                count += queue.iter().map(|b| b.len() as u64).sum::<u64>();
                queue.clear();
            }
            Store::Disk { spool, has_batches } => {
                count += spool.discard_all(Duration::from_secs(5)).unwrap_or(0);
                *has_batches = false;
            }
        }
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

    /// Moves the current batch to the store.
    fn cut(&mut self) {
        self.batch_started = None;
        if self.batch.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut self.batch);
        match &mut self.store {
            Store::Disk { spool, has_batches } => match spool.write(&batch) {
                Err(e) => {
                    // The disk refused: keep nothing half-written, count the loss loudly.
                    self.stats.error(format!(
                        "cannot write to the spool {}: {e}",
                        spool.dir().display()
                    ));
                    Stats::bump(&self.stats.dropped_by_caps, batch.len() as u64);
                    self.pending
                        .fetch_sub(batch.len() as u64, Ordering::Relaxed);
                }
                Ok((_, dropped)) => {
                    *has_batches = true;
                    let stats = Arc::clone(&self.stats);
                    self.count_dropped(&stats, dropped);
                }
            },
            Store::Memory(queue) => {
                queue.push_back(batch);
                let caps = self
                    .config
                    .spool
                    .as_ref()
                    .map_or(SpoolCaps::default(), |(_, c)| *c);
                while queue.len() > caps.max_files {
                    if let Some(old) = queue.pop_front() {
                        Stats::bump(&self.stats.dropped_by_caps, old.len() as u64);
                        self.pending.fetch_sub(old.len() as u64, Ordering::Relaxed);
                    }
                }
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

    fn count_dropped(&self, stats: &Stats, dropped: Dropped) {
        if dropped.events > 0 {
            Stats::bump(&stats.dropped_by_caps, dropped.events);
            let _ = self
                .pending
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |p| {
                    Some(p.saturating_sub(dropped.events))
                });
        }
    }

    /// Tries each stored batch, oldest first, stopping at the first temporary failure. With a
    /// spool, the spool's lock is held throughout (waiting for it at most until the deadline),
    /// and the caps are enforced first, so nothing past them (too old, too many) is replayed.
    fn send_stored(&mut self, deadline: Option<Instant>) {
        let _held = match &self.store {
            Store::Disk { spool, .. } => {
                let wait = deadline.map_or(Duration::from_millis(20), |d| {
                    d.saturating_duration_since(Instant::now())
                });
                match spool.lock(wait) {
                    Ok(lock) => {
                        let dropped = spool.enforce_caps(SystemTime::now());
                        let stats = Arc::clone(&self.stats);
                        match dropped {
                            Ok(dropped) => self.count_dropped(&stats, dropped),
                            Err(e) => stats.error(format!("cannot enforce the spool's caps: {e}")),
                        }
                        Some(lock)
                    }
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
            let Some((events, entry)) = self.oldest() else {
                return;
            };
            if events.is_empty() {
                self.forget(entry.as_ref(), 0);
                continue;
            }
            match self.sink.deliver_by(&events, deadline) {
                Outcome::Delivered { bytes } => {
                    self.stats.answered(true);
                    self.backoff.reset();
                    self.answered_retries = 0;
                    self.noted = None;
                    Stats::bump(&self.stats.delivered, events.len() as u64);
                    Stats::bump(&self.stats.delivered_batches, 1);
                    self.write_receipt(&events, bytes);
                    self.forget(entry.as_ref(), events.len());
                }
                Outcome::Reject { failure, reason } => {
                    self.stats.answered(true);
                    self.answered_retries = 0;
                    Stats::bump(&self.stats.rejected, events.len() as u64);
                    self.stats
                        .dropped(DropCause::Refused(failure), events.len() as u64);
                    self.note(
                        &events,
                        DropCause::Refused(failure).to_string(),
                        failure,
                        true,
                    );
                    self.stats.failed(failure, reason);
                    self.forget(entry.as_ref(), events.len());
                }
                Outcome::Retry {
                    failure,
                    reason,
                    after,
                } => {
                    // A request our own deadline cut short says nothing about the receiver:
                    // the failure it last showed stays the one reported.
                    let cut_short = failure == Failure::Timeout
                        && deadline.is_some_and(|d| Instant::now() >= d);
                    if !cut_short {
                        // A status is an answer: the receiver is reachable, only not taking
                        // this batch now. No answer at all is what blocking the network looks
                        // like.
                        self.stats
                            .answered(matches!(failure, Failure::Status(_) | Failure::Grpc(_)));
                        self.stats.failed(failure, reason);
                    }
                    Stats::bump(&self.stats.retries, 1);
                    if matches!(failure, Failure::Status(_) | Failure::Grpc(_)) {
                        self.answered_retries += 1;
                        if self.answered_retries >= self.config.max_attempts.max(1) {
                            // The receiver is there and keeps saying "later": give up on this
                            // batch, say why, and go on with the next.
                            self.answered_retries = 0;
                            self.backoff.reset();
                            self.stats
                                .dropped(DropCause::GaveUp(failure), events.len() as u64);
                            self.note(
                                &events,
                                DropCause::GaveUp(failure).to_string(),
                                failure,
                                true,
                            );
                            self.forget(entry.as_ref(), events.len());
                            continue;
                        }
                    }
                    if matches!(failure, Failure::Connect | Failure::Tls)
                        && self.noted != Some(failure)
                    {
                        self.note(&events, failure.to_string(), failure, false);
                    }
                    self.next_attempt = Instant::now() + self.backoff.next_delay(after);
                    if let Store::Memory(queue) = &mut self.store {
                        queue.push_front(events);
                    }
                    return;
                }
            }
        }
    }

    /// The oldest stored batch (taken out of memory; read from disk). Unreadable spool files
    /// are removed and counted.
    fn oldest(&mut self) -> Option<(Vec<Event>, Option<SpoolEntry>)> {
        match &mut self.store {
            Store::Memory(queue) => queue.pop_front().map(|b| (b, None)),
            Store::Disk { spool, has_batches } => loop {
                let first = spool.entries().ok().and_then(|e| e.into_iter().next());
                *has_batches = first.is_some();
                let entry = first?;
                match spool.read(&entry) {
                    Ok(events) => return Some((events, Some(entry))),
                    Err(why) => {
                        self.stats
                            .error(format!("removed an unreadable spool file: {why}"));
                        Stats::bump(&self.stats.dropped_unreadable, 1);
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
        let events = events as u64;
        let _ = self
            .pending
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |p| {
                Some(p.saturating_sub(events))
            });
    }

    /// Notes a delivery problem in the receipts log (drops always; a failure to reach the
    /// endpoint once until the next delivery).
    fn note(&mut self, events: &[Event], problem: String, failure: Failure, dropped: bool) {
        self.noted = Some(failure);
        let Some(receipts) = &self.receipts else {
            return;
        };
        let mut products: Vec<String> = events.iter().map(|e| e.product.clone()).collect();
        products.sort();
        products.dedup();
        let note = crate::receipts::Problem {
            time: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
            products,
            sink: self.sink.kind().to_owned(),
            endpoint: self.sink.destination(),
            problem,
            dropped: if dropped { events.len() as u64 } else { 0 },
            hint: failure.hint().map(str::to_owned),
        };
        if let Err(e) = receipts.append_problem(&note) {
            self.stats.error(format!(
                "cannot write to the receipts log {}: {e}",
                receipts.path().display()
            ));
        }
    }

    fn write_receipt(&self, events: &[Event], bytes: u64) {
        let Some(receipts) = &self.receipts else {
            return;
        };
        let mut products: Vec<String> = events.iter().map(|e| e.product.clone()).collect();
        products.sort();
        products.dedup();
        let receipt = Receipt {
            time: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
            products,
            sink: self.sink.kind().to_owned(),
            endpoint: self.sink.destination(),
            events: events.len() as u64,
            bytes,
            event_ids: events.iter().map(|e| e.event_id.clone()).collect(),
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
