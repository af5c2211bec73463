//! Candor's one worker: everything between `record` and the sink, on one thread.
//!
//! It takes in the values the host recorded, checks and prepares each (the catalogue, privacy;
//! `Preparer`), holds events while the first-run notice is pending, and hands the rest to the
//! network or the local lane, each a [`candor_transport::Delivery`] it drives itself. Between
//! values it follows the consent inputs and what the network lane learns of the endpoint; a
//! change of decision throws away what was recorded before it. It answers the handle's
//! controls (flush, persist, discard, stop) through [`candor_transport::control`], the
//! protocol a standalone pipeline shares.
//!
//! Every value and event it does not pass on is counted once: refused (by the preparer, with
//! its reason), or dropped under a [`DropCause`] (here, or in a lane's counters).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use candor_collect::{Preparer, Rejected, RejectionLog};
use candor_consent::{ConsentGate, Mode, Pending, Transition};
use candor_schema::Event;
use candor_transport::{Control, Counters, DropCause, DropTally, Work};

use crate::intake::Intake;
use crate::lane::Lane;
use crate::record::Recorded;
use crate::watch::{ConsentWatch, FOLLOW_EVERY};

/// How often the worker looks at the queue while values arrive (and it is woken early when
/// a thread's ring or the shared queue is half full).
const BUSY_POLL: Duration = Duration::from_millis(50);
/// How often it looks while idle: it follows the consent inputs at least this often.
const IDLE_POLL: Duration = FOLLOW_EVERY;

/// What the worker and the handle both see.
#[derive(Default)]
pub(crate) struct Shared {
    pub(crate) refusals: Mutex<RejectionLog>,
    /// Values prepared into events.
    pub(crate) prepared: AtomicU64,
    /// Events held until the first-run notice is shown.
    pub(crate) held: AtomicU64,
    /// What the worker dropped before a lane (consent withdrawn, the held events' cap).
    pub(crate) drops: DropTally,
    pub(crate) network: Arc<OnceLock<Counters>>,
    pub(crate) local: Arc<OnceLock<Counters>>,
}

/// The worker's state; run by [`candor_transport::Worker`].
pub(crate) struct Runtime {
    pub(crate) intake: Arc<Intake>,
    pub(crate) preparer: Preparer,
    pub(crate) watch: Arc<ConsentWatch>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) network: Lane,
    pub(crate) local: Lane,
    /// Events waiting for the first-run notice, at most `held_cap`.
    pub(crate) held: Pending<Event>,
    pub(crate) held_cap: usize,
    /// Whether the last look found values (the next one comes sooner).
    pub(crate) busy: bool,
    /// Owes and sends the deletion request when consent turns off while the product runs.
    pub(crate) courier: Option<crate::deletion::Courier>,
}

impl Work for Runtime {
    fn take(&mut self) -> usize {
        // What was queued when it began, at most one queue's worth from each: hosts
        // recording as fast as they can must not keep the worker from a flush, a stop or a
        // change of consent.
        let intake = Arc::clone(&self.intake);
        let n = intake.take(|recorded| self.handle(recorded));
        self.busy = n > 0;
        n
    }

    fn tick(&mut self) {
        // The user's file and consent record, the network's answers: a change of decision
        // throws away what was recorded before it.
        let followed = self.watch.follow_if_due();
        let network = self.watch_network();
        if [followed, network]
            .into_iter()
            .flatten()
            .any(|t| t != Transition::Unchanged)
        {
            self.discard();
            self.settle_deletion();
        }
        if !self.held.is_empty() {
            self.release();
        }
        self.network.tick();
        self.local.tick();
    }

    fn next_wake(&self) -> Instant {
        let poll = Instant::now() + if self.busy { BUSY_POLL } else { IDLE_POLL };
        [self.network.next_wake(), self.local.next_wake()]
            .into_iter()
            .flatten()
            .fold(poll, Instant::min)
    }

    fn control(&mut self, control: Control, deadline: Instant) -> u64 {
        match control {
            Control::Discard => {
                // A change of decision the host made (its opt-out, a new environment).
                self.discard();
                self.settle_deletion();
                0
            }
            Control::Stop => {
                // What the notice still holds is never sent: it was not shown in this run.
                self.release();
                let unshown = self.held.len() as u64;
                self.held = Pending::new();
                self.note_held();
                self.dropped(DropCause::NoticeNotShown, unshown);
                let pending =
                    self.network.control(control, deadline) + self.local.control(control, deadline);
                // What this run saw of the endpoint is kept for the next one.
                self.observe_network();
                pending
            }
            _ => self.network.control(control, deadline) + self.local.control(control, deadline),
        }
    }
}

impl Runtime {
    fn gate(&self) -> &ConsentGate {
        self.watch.gate()
    }

    fn dropped(&self, cause: DropCause, n: u64) {
        self.shared.drops.add(cause, n);
    }

    fn handle(&mut self, recorded: Recorded) {
        if !self.gate().is_current(recorded.ticket) {
            self.dropped(DropCause::Withdrawn, 1);
            return;
        }
        let Recorded {
            ticket,
            point,
            value,
            time,
        } = recorded;
        let point = point.id();
        let input = value.into_input();
        let time = self.watch.stamp(time.time());
        // A bug in preparing one value must not take the worker (and all later values) down.
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.preparer.prepare_event(point, input, time)
        }));
        let event = match outcome {
            Ok(Ok(event)) => event,
            Ok(Err(rejected)) => return self.refused(rejected),
            Err(_) => {
                return self.refused(Rejected::Invalid {
                    point: point.to_owned(),
                    reason: "preparing the value failed inside Candor".to_owned(),
                });
            }
        };
        self.shared.prepared.fetch_add(1, Ordering::Relaxed);
        match ticket.mode() {
            Mode::On if self.gate().may_send(ticket) && !self.gate().holds_for_notice(point) => {
                self.network.deliver(event);
            }
            // Consent changed while it was prepared.
            Mode::On if !self.gate().is_current(ticket) => {
                self.dropped(DropCause::Withdrawn, 1);
            }
            // On, but the first-run notice has not been shown, or a revision widened this
            // point since the one the person was told about: hold, bounded.
            Mode::On => {
                if self.held.len() < self.held_cap {
                    self.held.hold(ticket, event);
                    self.note_held();
                } else {
                    self.dropped(DropCause::QueueFull, 1);
                }
            }
            Mode::Local => self.local.deliver(event),
            // No ticket is issued while off; one that says so is withdrawn all the same.
            Mode::Off => self.dropped(DropCause::Withdrawn, 1),
        }
    }

    fn refused(&self, rejected: Rejected) {
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
    }

    /// Events held for a pending notice go out once the decision allows sending; those
    /// recorded under an earlier decision are withdrawn, and counted.
    fn release(&mut self) {
        let before = self.held.discarded();
        let gate = self.watch.gate().clone();
        for event in self
            .held
            .take_sendable_unless(&gate, |e| gate.holds_for_notice(e.point()))
        {
            self.network.deliver(event);
        }
        self.dropped(DropCause::Withdrawn, self.held.discarded() - before);
        self.note_held();
    }

    /// Publishes how many events the notice holds, for `Telemetry::status`.
    fn note_held(&self) {
        self.shared
            .held
            .store(self.held.len() as u64, Ordering::Relaxed);
    }

    /// Throws away what was recorded and not yet sent: queued values, held events, and what
    /// the lanes hold (which they count as withdrawn).
    fn discard(&mut self) {
        let n = self.intake.discard();
        self.dropped(DropCause::Withdrawn, n);
        // After a change of decision nothing held is sendable any more.
        self.release();
        let deadline = Instant::now() + Duration::from_secs(5);
        self.network.control(Control::Discard, deadline);
        self.local.control(Control::Discard, deadline);
    }

    /// After a change of decision: the person's word against collection owes the vendor
    /// one deletion request (`crate::deletion`), sent on a thread of its own.
    fn settle_deletion(&self) {
        if let Some(courier) = &self.courier {
            courier.on_decision(&self.watch.gate().decision());
        }
    }

    /// The catalogue's network block: what the network lane reports moves the record of
    /// since when the endpoint has not answered, a consent input; while it holds, the endpoint
    /// is probed now and then. Returns the transition when consent decided again.
    fn watch_network(&self) -> Option<Transition> {
        if !self.watch.network_block_applies() {
            return None;
        }
        let observed = self.observe_network();
        let probed = self.watch.probe_if_blocked();
        [observed, probed]
            .into_iter()
            .flatten()
            .find(|t| *t != Transition::Unchanged)
    }

    /// Takes in what the network lane saw of the endpoint.
    fn observe_network(&self) -> Option<Transition> {
        let stats = self.network.counters()?.snapshot();
        self.watch.observe_network(
            stats.unanswered_since,
            stats.delivered > 0 || stats.refused() > 0,
        )
    }
}
