//! Carrying a decision while the host runs, and honouring its revocation.
//!
//! Every item recorded is stamped with a [`Ticket`]: the generation of the decision it was
//! recorded under. Any change of mode starts a new generation, and an item is only ever sent
//! under the generation it was recorded in. So when the user revokes consent (or the browser
//! closes, or the IDE setting flips), what was recorded but not yet sent is discarded, and data
//! recorded under `local` is never sent later under `on`.

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crate::decision::{Decision, Mode};

/// The decision in force, shared by the host's threads. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ConsentGate {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// `Mode` as a byte, so the hot path is one atomic load.
    mode: AtomicU8,
    /// Whether the decision in force allows sending (mode on, no notice pending).
    sending: AtomicBool,
    /// Whether the decision in force holds some points for a notice, so the common case
    /// (none held) costs one atomic load per event.
    holding: AtomicBool,
    generation: AtomicU64,
    decision: Mutex<Decision>,
}

/// The generation of the decision an item was recorded under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket {
    generation: u64,
    mode: Mode,
}

impl Ticket {
    /// The mode the item was recorded under.
    pub fn mode(self) -> Mode {
        self.mode
    }
}

/// How an update changed the decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Same mode as before; pending items stay valid.
    Unchanged,
    /// The mode changed (or the user renewed their choice); items recorded before are no
    /// longer sendable.
    Changed {
        /// The mode before.
        from: Mode,
        /// The mode now.
        to: Mode,
    },
}

fn mode_to_byte(mode: Mode) -> u8 {
    match mode {
        Mode::Off => 0,
        Mode::Local => 1,
        Mode::On => 2,
    }
}

fn byte_to_mode(byte: u8) -> Mode {
    match byte {
        2 => Mode::On,
        1 => Mode::Local,
        // Any other value cannot be stored; reading it as off is the safe side.
        _ => Mode::Off,
    }
}

impl ConsentGate {
    /// A gate holding `decision`.
    pub fn new(decision: Decision) -> Self {
        Self {
            inner: Arc::new(Inner {
                mode: AtomicU8::new(mode_to_byte(decision.mode)),
                sending: AtomicBool::new(decision.may_send()),
                holding: AtomicBool::new(decision.notice_pending),
                generation: AtomicU64::new(0),
                decision: Mutex::new(decision),
            }),
        }
    }

    /// The hot path: whether recording is allowed at all. One atomic load.
    #[inline]
    pub fn is_collecting(&self) -> bool {
        self.inner.mode.load(Ordering::Acquire) != mode_to_byte(Mode::Off)
    }

    /// A ticket for an item recorded now, or `None` when nothing may be recorded.
    #[inline]
    pub fn ticket(&self) -> Option<Ticket> {
        // Read the generation first: if an update lands between the two loads, the ticket
        // carries the old generation and is discarded, which is the safe outcome.
        let generation = self.inner.generation.load(Ordering::Acquire);
        let mode = byte_to_mode(self.inner.mode.load(Ordering::Acquire));
        (mode != Mode::Off).then_some(Ticket { generation, mode })
    }

    /// Whether an item with this ticket may still be sent: recorded under the current
    /// generation, and that generation's mode is `on` with nothing pending.
    pub fn may_send(&self, ticket: Ticket) -> bool {
        ticket.generation == self.inner.generation.load(Ordering::Acquire)
            && ticket.mode == Mode::On
            && self.inner.sending.load(Ordering::Acquire)
    }

    /// Whether the decision in force allows sending now (mode on, no notice pending). One
    /// atomic load.
    pub fn may_send_now(&self) -> bool {
        self.inner.sending.load(Ordering::Acquire)
    }

    /// Whether events of `point` wait for a notice under the decision in force (a first-run
    /// notice, or one a widening revision owes for that point).
    pub fn holds_for_notice(&self, point: &str) -> bool {
        if !self.inner.holding.load(Ordering::Acquire) {
            return false;
        }
        self.inner
            .decision
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .holds_for_notice(point)
    }

    /// The mode in force. One atomic load.
    pub fn mode(&self) -> Mode {
        byte_to_mode(self.inner.mode.load(Ordering::Acquire))
    }

    /// Whether an item with this ticket is still valid to keep (sent or stored locally).
    pub fn is_current(&self, ticket: Ticket) -> bool {
        ticket.generation == self.inner.generation.load(Ordering::Acquire)
    }

    /// The decision in force.
    pub fn decision(&self) -> Decision {
        self.inner
            .decision
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Replaces the decision (after re-evaluating consent). A change of mode starts a new
    /// generation, making everything recorded before unsendable.
    pub fn update(&self, decision: Decision) -> Transition {
        self.replace(decision, false)
    }

    /// Replaces the decision and starts a new generation even when the mode is the same: the
    /// user changed their consent (and perhaps changed it back before it was noticed), so
    /// nothing recorded before may be sent. Always [`Transition::Changed`].
    pub fn renew(&self, decision: Decision) -> Transition {
        self.replace(decision, true)
    }

    fn replace(&self, decision: Decision, renew: bool) -> Transition {
        let mut current = self
            .inner
            .decision
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let from = current.mode;
        let to = decision.mode;
        // A notice shown (or withdrawn) changes sending without changing the mode.
        self.inner
            .sending
            .store(decision.may_send(), Ordering::Release);
        self.inner
            .holding
            .store(decision.notice_pending, Ordering::Release);
        *current = decision;
        if from == to && !renew {
            return Transition::Unchanged;
        }
        // Bump the generation before publishing the new mode, both under the lock, so no ticket
        // can pair the new mode with the old generation.
        self.inner.generation.fetch_add(1, Ordering::AcqRel);
        self.inner.mode.store(mode_to_byte(to), Ordering::Release);
        Transition::Changed { from, to }
    }
}

/// Items recorded but not yet sent, each with the ticket it was recorded under.
#[derive(Debug)]
pub struct Pending<T> {
    items: Vec<(Ticket, T)>,
    discarded: u64,
}

impl<T> Default for Pending<T> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            discarded: 0,
        }
    }
}

impl<T> Pending<T> {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records an item under the gate's current decision. Returns false, recording nothing,
    /// when the decision is off.
    pub fn record(&mut self, gate: &ConsentGate, item: T) -> bool {
        match gate.ticket() {
            Some(ticket) => {
                self.items.push((ticket, item));
                true
            }
            None => false,
        }
    }

    /// Removes and returns the items that may be sent now; drops (and counts) the ones recorded
    /// under an earlier decision. Items recorded under the current decision that may not be sent
    /// yet (local mode, or a pending first-run notice) stay.
    pub fn take_sendable(&mut self, gate: &ConsentGate) -> Vec<T> {
        self.take_sendable_unless(gate, |_| false)
    }

    /// [`Pending::take_sendable`], leaving the items `held` still holds (their points wait
    /// for a notice) where they are.
    pub fn take_sendable_unless(
        &mut self,
        gate: &ConsentGate,
        held: impl Fn(&T) -> bool,
    ) -> Vec<T> {
        let before = self.items.len();
        self.items.retain(|(ticket, _)| gate.is_current(*ticket));
        self.discarded += (before - self.items.len()) as u64;
        let (send, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut self.items)
            .into_iter()
            .partition(|(ticket, item)| gate.may_send(*ticket) && !held(item));
        self.items = keep;
        send.into_iter().map(|(_, item)| item).collect()
    }

    /// Keeps an item recorded under `ticket` (taken when it was recorded, so a decision that
    /// changed since makes it stale rather than lost).
    pub fn hold(&mut self, ticket: Ticket, item: T) {
        self.items.push((ticket, item));
    }

    /// How many items are waiting.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// How many items were discarded because consent changed after they were recorded.
    pub fn discarded(&self) -> u64 {
        self.discarded
    }
}
