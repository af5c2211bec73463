//! The pipeline: a bounded queue in front of one [`Delivery`], on a worker thread of its own.
//!
//! The caller's side ([`Pipeline::submit`]) never blocks: a full queue drops the event and
//! counts it ([`DropCause::QueueFull`]). The worker takes events in and delivers them as
//! [`Delivery`] says (batches, spool, retries, the owner's [`Permit`]); flush, persist, discard
//! and shutdown go through [`crate::control`], the protocol the facade's worker shares.
//! `candor send` replays a spool through one; the facade runs its deliveries on its own
//! single worker instead.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use candor_schema::Event;
use crossbeam_queue::ArrayQueue;

use crate::TransportError;
use crate::control::{Control, Work, Worker};
use crate::delivery::{Delivery, build_sink};
use crate::drops::DropCause;
use crate::sink::Sink;
use crate::spool::SpoolCaps;
use crate::stats::{Counters, StatsSnapshot};

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
/// from consent); it only obeys. The check runs on the delivering thread, under the spool's
/// lock, and must be quick and must not wait for the delivery.
#[derive(Clone)]
pub struct Permit(Arc<PermitCheck>);

/// What a [`Permit`] runs.
type PermitCheck = dyn Fn(&[Event]) -> Permission + Send + Sync;

impl Permit {
    /// A permit that answers with `check`.
    pub fn new(check: impl Fn(&[Event]) -> Permission + Send + Sync + 'static) -> Self {
        Self(Arc::new(check))
    }

    pub(crate) fn check(&self, events: &[Event]) -> Permission {
        (self.0)(events)
    }
}

impl std::fmt::Debug for Permit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Permit")
    }
}

/// The owner's check on each event read back from the spool, before it is sent: the one door
/// an event passed when it was made is passed again, since a file on disk may have been
/// changed since (or written by another revision of the product). The transport knows nothing
/// of why; an event the check refuses (its reason in words) is removed for good and counted
/// as [`DropCause::Inadmissible`]. It runs on the delivering thread and must be quick.
#[derive(Clone)]
pub struct Admit(Arc<AdmitCheck>);

/// What an [`Admit`] runs.
type AdmitCheck = dyn Fn(&Event) -> Result<(), String> + Send + Sync;

impl Admit {
    /// A check that answers with `check`.
    pub fn new(check: impl Fn(&Event) -> Result<(), String> + Send + Sync + 'static) -> Self {
        Self(Arc::new(check))
    }

    pub(crate) fn check(&self, event: &Event) -> Result<(), String> {
        (self.0)(event)
    }
}

impl std::fmt::Debug for Admit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Admit")
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
    /// The spool directory; `None` keeps batches in memory (lost if the process dies; for
    /// stdout and tests), within the caps' number of batches and age.
    pub spool: Option<PathBuf>,
    /// The spool's caps (in memory: its number of batches and their age).
    pub spool_caps: SpoolCaps,
    /// Where receipts are written; `None` writes none.
    pub receipts: Option<PathBuf>,
    /// Where a copy of each accepted payload is kept, as it went on the wire (named in its
    /// receipt); `None` keeps none.
    pub copies: Option<candor_state::SentCopies>,
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
    /// The owner's check on each event read back from the spool; `None` sends what the spool
    /// holds as it is.
    pub admit: Option<Admit>,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        Self {
            queue_capacity: 4096,
            batch_max_events: 512,
            batch_max_wait: Duration::from_secs(2),
            spool: None,
            spool_caps: SpoolCaps::default(),
            receipts: None,
            copies: None,
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(300),
            resend_every: Duration::from_secs(4 * 3600),
            permit: None,
            admit: None,
        }
    }
}

/// A running pipeline. Dropping it lets the worker finish on its own after a final attempt
/// bounded by one second, without waiting for it; call [`Pipeline::shutdown`] to choose the
/// deadline and wait.
pub struct Pipeline {
    queue: Arc<ArrayQueue<Box<Event>>>,
    worker: Worker,
    counters: Counters,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// What a pipeline's worker runs: its queue into its delivery.
struct Intake<S> {
    queue: Arc<ArrayQueue<Box<Event>>>,
    delivery: Delivery<S>,
}

impl<S: Sink + 'static> Work for Intake<S> {
    fn take(&mut self) -> usize {
        // One queue's worth at a time, so a caller submitting flat out cannot keep the worker
        // from what it is asked.
        let mut n = 0;
        while n < self.queue.capacity() {
            let Some(event) = self.queue.pop() else {
                break;
            };
            self.delivery.take_in(*event);
            n += 1;
        }
        n
    }

    fn tick(&mut self) {
        self.delivery.tick();
    }

    fn next_wake(&self) -> Instant {
        self.delivery.next_wake()
    }

    fn control(&mut self, control: Control, deadline: Instant) -> u64 {
        self.delivery.control(control, deadline)
    }
}

impl Pipeline {
    /// Builds the sink with `make_sink` (on a thread of its own, waiting at most ten seconds,
    /// so a CA file on a stalled disk cannot hold the caller), opens the spool and starts the
    /// worker thread.
    pub fn start<S, F>(config: PipelineConfig, make_sink: F) -> Result<Self, TransportError>
    where
        S: Sink + 'static,
        F: FnOnce() -> Result<S, TransportError> + Send + 'static,
    {
        let queue = Arc::new(ArrayQueue::new(config.queue_capacity.max(1)));
        let sink = build_sink(make_sink)?;
        let delivery = Delivery::new(config, sink)?;
        let counters = delivery.counters();
        let worker = Worker::spawn(
            "candor-sender",
            Intake {
                queue: Arc::clone(&queue),
                delivery,
            },
        )
        .map_err(|e| TransportError::thread("Candor's sender thread", e))?;
        Ok(Self {
            queue,
            worker,
            counters,
        })
    }

    /// Queues an event. Never blocks: when the queue is full the event is dropped, counted,
    /// and `false` returned.
    pub fn submit(&self, event: Event) -> bool {
        if self.queue.push(Box::new(event)).is_err() {
            self.counters.0.dropped(DropCause::QueueFull, 1);
            return false;
        }
        self.counters.0.accepted(1);
        self.worker.wake();
        true
    }

    /// Sends everything queued or spooled, waiting at most `timeout`; returns the events still
    /// pending afterwards (they stay in the spool).
    pub fn flush(&self, timeout: Duration) -> u64 {
        self.ask(Control::Flush, timeout)
    }

    /// Writes everything queued so far to the spool (or the in-memory store) without sending,
    /// waiting at most `timeout`; returns the events pending afterwards. For callers that
    /// must know their events are on disk before they try to deliver them.
    pub fn persist(&self, timeout: Duration) -> u64 {
        self.ask(Control::Persist, timeout)
    }

    /// Throws away every event not yet delivered, queued, batched or spooled, counts them as
    /// [`DropCause::Withdrawn`] and returns how many; for a revoked consent. Waits at most
    /// `timeout` for the worker.
    pub fn discard_pending(&self, timeout: Duration) -> u64 {
        let before = self.counters.snapshot().dropped(DropCause::Withdrawn);
        self.ask(Control::Discard, timeout);
        self.counters
            .snapshot()
            .dropped(DropCause::Withdrawn)
            .saturating_sub(before)
    }

    /// Flushes within `deadline`, then stops the worker. What is not delivered stays in the
    /// spool for the next run. Returns the final counters.
    pub fn shutdown(self, deadline: Duration) -> StatsSnapshot {
        self.worker.stop(deadline);
        self.stats()
    }

    fn ask(&self, control: Control, timeout: Duration) -> u64 {
        self.worker
            .ask(control, timeout)
            .unwrap_or_else(|| self.counters.0.pending())
    }

    /// The counters now.
    pub fn stats(&self) -> StatsSnapshot {
        self.counters.snapshot()
    }
}
