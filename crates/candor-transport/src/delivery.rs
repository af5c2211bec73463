//! A delivery: batches → spool → sink, the state machine one thread drives.
//!
//! A [`Delivery`] takes prepared events ([`Delivery::accept`]), cuts them into batches by
//! size or age, writes each batch to the [`Spool`] before trying to send it, and removes it
//! only when the receiver accepted it (or refused it for good, which is counted). What an
//! attempt comes to is decided by one pure function ([`crate::policy::Policy::decide`]):
//! failures back off with jitter and honour `Retry-After`, and nothing the receiver may still
//! take is dropped before the spool's age cap. The owner's [`Permit`] is asked right before
//! each batch is written and right before each attempt to send it, under the spool's locks, so
//! a batch its owner no longer allows is never written or sent.
//!
//! It has no thread of its own: a [`crate::Pipeline`] runs one on a worker thread, and the
//! facade runs its two (network and local) on its one worker, through the same
//! [`crate::control`] protocol.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use candor_schema::Event;

use crate::TransportError;
use crate::control::Control;
use crate::drops::{DiskFailure, DropCause};
use crate::pipeline::{Admit, PipelineConfig};
use crate::policy::{Action, Attempt, Policy};
use crate::receipts::{Receipt, Receipts};
use crate::sink::{Failure, Outcome, Refusals, Sink};
use crate::spool::{Dropped, Spool, SpoolEntry, Written};
use crate::stats::{Counters, Stats};

/// How long a writer waits for a discard in progress (which itself waits for a delivery in
/// progress) before it writes anyway; the permit it asks keeps what it writes honest.
const WRITE_LOCK_WAIT: Duration = Duration::from_secs(30);
/// How long a discard waits for a write or a delivery in progress.
const DISCARD_WAIT: Duration = Duration::from_secs(30);
/// How soon a batch the owner holds back is looked at again.
const HOLD_RECHECK: Duration = Duration::from_secs(1);
/// How long building a sink may take (reading a CA bundle, the system's roots, which
/// `SSL_CERT_FILE` may point at a FIFO or a stalled disk).
pub(crate) const SINK_BUILD_DEADLINE: Duration = Duration::from_secs(10);

/// Builds a sink with `make` on a thread of its own and waits for it at most ten seconds: a
/// sink still building past the deadline (a certificate file on a stalled disk) is left to
/// finish on its own and then dropped. The sink is then used by whichever thread delivers.
pub fn build_sink<S, F>(make: F) -> Result<S, TransportError>
where
    S: Sink + 'static,
    F: FnOnce() -> Result<S, TransportError> + Send + 'static,
{
    let (ready, built) = mpsc::channel();
    std::thread::Builder::new()
        .name("candor-sink".to_owned())
        .spawn(move || {
            let _ = ready.send(make());
        })
        .map_err(|e| TransportError::thread("the thread that builds the sink", e))?;
    match built.recv_timeout(SINK_BUILD_DEADLINE) {
        Ok(sink) => sink,
        Err(mpsc::RecvTimeoutError::Timeout) => Err(TransportError::SinkTimeout {
            seconds: SINK_BUILD_DEADLINE.as_secs(),
        }),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(TransportError::SinkPanicked),
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

/// Batches → spool → sink, driven by one thread (see the module documentation). Its
/// [`Counters`] can be read from any thread.
pub struct Delivery<S = Box<dyn Sink>> {
    config: PipelineConfig,
    policy: Policy,
    /// `None` when the sink could not be started: every event is then dropped and counted.
    sink: Option<S>,
    store: Store,
    receipts: Option<Receipts>,
    stats: Arc<Stats>,
    batch: Vec<Event>,
    batch_started: Option<Instant>,
    /// Attempts that failed in a row (for the backoff); reset by a delivery.
    failures: u32,
    next_attempt: Instant,
    /// The last failure noted in the receipts log, so a dead endpoint is noted once, not at
    /// every retry; cleared by a delivery.
    noted: Option<Failure>,
}

impl<S: Sink> std::fmt::Debug for Delivery<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("sink", &self.sink)
            .field("stats", &self.stats.snapshot())
            .finish_non_exhaustive()
    }
}

impl<S: Sink> Delivery<S> {
    /// A delivery through `sink`, with the spool `config` names (opened, and created `0700`,
    /// now; what an earlier run left there is sent first).
    pub fn new(config: PipelineConfig, sink: S) -> Result<Self, TransportError> {
        let spool = match &config.spool {
            Some(dir) => Some(Spool::open(dir, config.spool_caps).map_err(|source| {
                TransportError::Spool {
                    dir: dir.clone(),
                    source: Arc::new(source),
                }
            })?),
            None => None,
        };
        let stats = Arc::new(Stats::default());
        stats.set_pending(spool.as_ref().map_or(0, Spool::pending_events));
        Ok(Self::with(config, Some(sink), spool, stats))
    }

    /// A delivery whose sink could not be started (`error` says why): every event it is
    /// given is dropped and counted ([`DropCause::SinkUnavailable`]); nothing is spooled.
    pub fn unavailable(config: PipelineConfig, error: &TransportError) -> Self {
        let stats = Arc::new(Stats::default());
        stats.error(error.to_string());
        Self::with(config, None, None, stats)
    }

    fn with(
        config: PipelineConfig,
        sink: Option<S>,
        spool: Option<Spool>,
        stats: Arc<Stats>,
    ) -> Self {
        let caps = config.spool_caps;
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
            batch: Vec::new(),
            batch_started: None,
            failures: 0,
            next_attempt: Instant::now(),
            noted: None,
        }
    }

    /// Its counters, readable from any thread while it delivers and after.
    pub fn counters(&self) -> Counters {
        Counters(Arc::clone(&self.stats))
    }

    /// Takes in an event: it joins the current batch, which is written to the spool (and
    /// tried) when it is full.
    pub fn accept(&mut self, event: Event) {
        self.stats.accepted(1);
        self.take_in(event);
    }

    /// [`Delivery::accept`] for an event already counted as accepted (by a queue in front).
    pub(crate) fn take_in(&mut self, event: Event) {
        if self.sink.is_none() {
            self.stats.dropped(DropCause::SinkUnavailable, 1);
            return;
        }
        if self.batch.is_empty() {
            self.batch_started = Some(Instant::now());
        }
        self.batch.push(event);
        self.stats.more_pending(1);
        if self.batch.len() >= self.config.batch_max_events {
            self.cut();
            self.send_due(None);
        }
    }

    /// Does what is due: writes a batch that waited long enough, and tries what is stored
    /// when its attempt is due.
    pub fn tick(&mut self) {
        if self
            .batch_started
            .is_some_and(|t| t.elapsed() >= self.config.batch_max_wait)
        {
            self.cut();
        }
        self.send_due(None);
    }

    /// When [`Delivery::tick`] is next due.
    pub fn next_wake(&self) -> Instant {
        let mut wake = Instant::now() + self.config.resend_every;
        if let Some(started) = self.batch_started {
            wake = wake.min(started + self.config.batch_max_wait);
        }
        if self.has_stored() {
            wake = wake.min(self.next_attempt);
        }
        wake
    }

    /// Carries out `control` (sending until `deadline` where it sends) and returns the events
    /// pending afterwards: [`Control::Flush`] and [`Control::Stop`] write the batch and send
    /// what is stored until the deadline (what is left stays in the spool for the next run);
    /// [`Control::Persist`] writes the batch and sends nothing; [`Control::Discard`] throws
    /// away everything not yet delivered, counted as [`DropCause::Withdrawn`].
    pub fn control(&mut self, control: Control, deadline: Instant) -> u64 {
        match control {
            Control::Flush | Control::Stop => {
                self.cut();
                self.send_until(deadline);
                self.recount()
            }
            Control::Persist => {
                self.cut();
                self.stats.pending()
            }
            Control::Discard => {
                self.discard();
                0
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
        self.stats.set_pending(pending);
        pending
    }

    fn discard(&mut self) {
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
        self.stats.set_pending(0);
    }

    fn has_stored(&self) -> bool {
        match &self.store {
            Store::Disk { has_batches, .. } => *has_batches,
            Store::Memory(queue) => !queue.is_empty(),
        }
    }

    fn less_pending(&self, events: u64) {
        self.stats.less_pending(events);
    }

    /// The sink's kind and where it sends, for receipts and messages; only a delivery with a
    /// sink ever stores a batch, so only it writes them.
    fn sink_names(&self) -> Option<(&'static str, String)> {
        self.sink.as_ref().map(|s| (s.kind(), s.destination()))
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
        let caps = self.config.spool_caps;
        match &mut self.store {
            Store::Disk { spool, has_batches } => {
                let written = spool.write(&batch);
                if !written.entries.is_empty() {
                    *has_batches = true;
                }
                let dir = spool.dir().display().to_string();
                let largest = spool.caps().max_bytes.max(1 << 20);
                self.count_written(written, &dir, largest);
            }
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

    /// Counts what a spool write came to: every event that did not become part of a file,
    /// under its reason, and what the caps dropped after it.
    fn count_written(&self, written: Written, dir: &str, largest: u64) {
        if written.too_large > 0 {
            self.stats.error(format!(
                "{} event(s) larger than a spool file may be ({largest} bytes) were not kept",
                written.too_large
            ));
            self.stats
                .dropped(DropCause::EventTooLarge, written.too_large);
            self.less_pending(written.too_large);
        }
        if written.unwritten > 0 {
            // The disk refused: nothing half-written is kept; the loss is counted under the
            // operating system's reason (a full disk says so).
            let error = written
                .error
                .unwrap_or_else(|| std::io::Error::other("the disk refused the write"));
            self.stats
                .error(format!("cannot write to the spool {dir}: {error}"));
            self.stats.dropped(
                DropCause::Unwritable(DiskFailure::of(&error)),
                written.unwritten,
            );
            self.less_pending(written.unwritten);
        }
        self.count_dropped(written.dropped);
    }

    fn count_dropped(&self, dropped: Dropped) {
        self.stats.dropped(DropCause::SpoolCaps, dropped.events);
        self.less_pending(dropped.events);
        self.stats.removed_not_batches(dropped.not_batches);
        if let Some((count, first)) = dropped.unremovable {
            self.stats.error(format!(
                "{count} spool file(s) over the caps could not be removed, left in place ({first})"
            ));
        }
    }

    /// Tries each stored batch, oldest first, until one is kept for later. With a spool, the
    /// sending lock is held throughout (waiting for it at most until the deadline), and before
    /// each batch the caps are enforced, so nothing past them (too old, too many) is replayed,
    /// and the owner is asked, so nothing it no longer allows is sent.
    fn send_stored(&mut self, deadline: Option<Instant>) {
        if self.sink.is_none() {
            return;
        }
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
            let Some(sink) = self.sink.as_mut() else {
                self.keep_rest(batch);
                return;
            };
            let outcome = sink.deliver_by(&batch.events, deadline);
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
                    let payload = sink.take_payload();
                    self.delivered(&batch, bytes, &refused, payload);
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
                    self.stats.retried();
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
    fn delivered(
        &mut self,
        batch: &Batch,
        bytes: u64,
        refused: &Refusals,
        payload: Option<crate::sink::Payload>,
    ) {
        let len = batch.events.len() as u64;
        let refused_count = refused.count.min(len);
        self.stats.delivered(len - refused_count);
        let copy = payload.and_then(|p| self.keep_copy(&p));
        self.write_receipt(&batch.events, bytes, refused, copy);
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
            let endpoint = self.sink_names().map(|(_, e)| e).unwrap_or_default();
            self.stats.error(format!("{endpoint}: {problem}"));
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

    /// The oldest stored batch (taken out of memory; read from disk). Damaged lines are cut out
    /// and counted as events; entries that are not batches are removed and counted as files;
    /// one that cannot be removed (or repaired) is skipped, never in the way of the batches
    /// behind it. With the owner's [`crate::Admit`], each event read back passes it again.
    fn oldest(&mut self) -> Option<Batch> {
        match &mut self.store {
            Store::Memory(queue) => queue.pop_front().map(|h| Batch {
                read: h.events.len(),
                events: h.events,
                entry: None,
                written: h.since,
            }),
            Store::Disk { spool, has_batches } => {
                for entry in spool.entries().unwrap_or_default() {
                    match spool.read(&entry) {
                        Ok(read) => {
                            if read.damaged > 0 {
                                let first = read
                                    .first_damage
                                    .as_ref()
                                    .map(ToString::to_string)
                                    .unwrap_or_default();
                                self.stats.error(format!(
                                    "dropped {} damaged line(s) of a spool file: {first}",
                                    read.damaged
                                ));
                                self.stats.dropped(DropCause::Unreadable, read.damaged);
                                self.stats.less_pending(read.damaged);
                            }
                            let in_file = read.events.len();
                            let mut events = read.events;
                            if let Some(admit) = &self.config.admit {
                                let refused = readmit(admit, &mut events, &self.stats);
                                self.stats.less_pending(refused);
                            }
                            if events.is_empty() {
                                if in_file > 0 && spool.remove(&entry).is_err() {
                                    self.stats.error(format!(
                                        "cannot remove {}, whose events all failed the check",
                                        entry.path.display()
                                    ));
                                }
                                continue;
                            }
                            *has_batches = true;
                            // `read` is what the file holds: a batch the check shortened is
                            // written back without what it refused, before anything else.
                            return Some(Batch {
                                written: entry.written,
                                entry: Some(entry),
                                read: in_file,
                                events,
                            });
                        }
                        Err(why) if why.is_not_a_batch() => match spool.remove(&entry) {
                            Ok(()) => {
                                self.stats.error(format!("removed a spool entry: {why}"));
                                self.stats.removed_not_batches(1);
                            }
                            Err(e) => self.stats.error(format!(
                                "{why}; it cannot be removed ({e}), so it is skipped"
                            )),
                        },
                        Err(unrepaired) => {
                            self.stats.error(format!("{unrepaired}; skipped for now"));
                        }
                    }
                }
                // Nothing left but what cannot be read or removed: stop trying until a new
                // batch arrives, rather than spin on it.
                *has_batches = false;
                None
            }
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
        let (Some(receipts), Some((sink, endpoint))) = (&self.receipts, self.sink_names()) else {
            return;
        };
        let note = crate::receipts::Problem {
            time: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
            products: products(events),
            sink: sink.to_owned(),
            endpoint,
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

    /// Keeps the accepted payload's copy; a copy that cannot be written is noted, never
    /// fatal (the receipt then names none).
    fn keep_copy(&self, payload: &crate::sink::Payload) -> Option<String> {
        let copies = self.config.copies.as_ref()?;
        match copies.keep(payload.format, &payload.bytes, SystemTime::now()) {
            Ok(name) => name,
            Err(e) => {
                self.stats
                    .error(format!("cannot keep a copy of the payload sent: {e}"));
                None
            }
        }
    }

    /// The receipt of an accepted batch: only what the receiver took is listed as delivered.
    fn write_receipt(
        &self,
        events: &[Event],
        bytes: u64,
        refused: &Refusals,
        copy: Option<String>,
    ) {
        let (Some(receipts), Some((sink, endpoint))) = (&self.receipts, self.sink_names()) else {
            return;
        };
        let named: Vec<String> = refused
            .which
            .iter()
            .filter_map(|i| events.get(*i))
            .map(|e| e.event_id().to_owned())
            .collect();
        let refused_count = refused.count.min(events.len() as u64);
        let receipt = Receipt {
            time: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
            products: products(events),
            sink: sink.to_owned(),
            endpoint,
            events: events.len() as u64 - refused_count,
            bytes,
            event_ids: events
                .iter()
                .enumerate()
                .filter(|(i, _)| !refused.which.contains(i))
                .map(|(_, e)| e.event_id().to_owned())
                .collect(),
            refused: refused_count,
            refused_ids: named,
            copy,
        };
        if let Err(e) = receipts.append(&receipt) {
            self.stats.receipt_unwritten();
            self.stats.error(format!(
                "cannot write the receipt to {}: {e}",
                receipts.path().display()
            ));
        }
    }
}

/// Keeps the events `admit` lets through; counts and notes the rest, and returns how many.
fn readmit(admit: &Admit, events: &mut Vec<Event>, stats: &Stats) -> u64 {
    let mut refused = 0u64;
    let mut first = None;
    events.retain(|event| match admit.check(event) {
        Ok(()) => true,
        Err(why) => {
            refused += 1;
            first.get_or_insert(why);
            false
        }
    });
    if let Some(first) = first {
        stats.dropped(DropCause::Inadmissible, refused);
        stats.error(format!(
            "{refused} spooled event(s) failed the check before sending (first: {})",
            shown(&first)
        ));
    }
    refused
}

/// Whether a failure is the receiver's answer (a status) rather than no answer at all.
fn answers(failure: Failure) -> bool {
    matches!(failure, Failure::Status(_) | Failure::Grpc(_))
}

/// The products of a batch, sorted, once each.
fn products(events: &[Event]) -> Vec<String> {
    let mut products: Vec<String> = events.iter().map(|e| e.product().to_owned()).collect();
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
