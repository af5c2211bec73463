//! The open connections and what each is doing, so that a server at its connection cap can
//! close the one that has waited longest without a request instead of leaving new clients in
//! the kernel's backlog.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// What a connection is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting for a request's headers (a new connection, or one kept alive after an answer),
    /// since then.
    Idle(Instant),
    /// Reading a request's body, since then.
    Reading(Instant),
    /// The handler has the request.
    Handling,
    /// Asked to close.
    Closing,
}

#[derive(Debug)]
struct Slot {
    state: State,
    close: Arc<Notify>,
}

/// Every open connection.
#[derive(Debug, Default)]
pub(crate) struct Connections {
    slots: Mutex<HashMap<u64, Slot>>,
    next: AtomicU64,
}

/// One open connection's entry; dropping it removes the entry.
#[derive(Debug)]
pub(crate) struct Registered {
    connections: Arc<Connections>,
    id: u64,
    /// Notified when the server wants this connection closed.
    pub(crate) close: Arc<Notify>,
    /// Whether a request has been answered on it (then it closes gracefully, so an answer
    /// being written is not cut).
    pub(crate) answered: AtomicBool,
}

impl Connections {
    /// Adds a new connection, idle from now.
    pub(crate) fn register(self: &Arc<Self>) -> Registered {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let close = Arc::new(Notify::new());
        self.lock().insert(
            id,
            Slot {
                state: State::Idle(Instant::now()),
                close: Arc::clone(&close),
            },
        );
        Registered {
            connections: Arc::clone(self),
            id,
            close,
            answered: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Slot>> {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Asks one connection to close to make room: the one idle for longest; when none is
    /// idle, the one that has been reading a body for longest, if longer than `body_grace`.
    /// Does nothing while an earlier one is still closing. Returns whether one was asked.
    pub(crate) fn evict(&self, now: Instant, body_grace: Duration) -> bool {
        let mut slots = self.lock();
        if slots.values().any(|s| s.state == State::Closing) {
            return false;
        }
        let oldest = |reading: bool| {
            slots
                .iter()
                .filter_map(|(id, slot)| match (slot.state, reading) {
                    (State::Idle(since), false) => Some((since, *id)),
                    (State::Reading(since), true) if now.duration_since(since) > body_grace => {
                        Some((since, *id))
                    }
                    _ => None,
                })
                .min()
                .map(|(_, id)| id)
        };
        let Some(id) = oldest(false).or_else(|| oldest(true)) else {
            return false;
        };
        if let Some(slot) = slots.get_mut(&id) {
            slot.state = State::Closing;
            slot.close.notify_one();
        }
        true
    }
}

impl Registered {
    fn set(&self, state: State) {
        if let Some(slot) = self.connections.lock().get_mut(&self.id)
            && slot.state != State::Closing
        {
            slot.state = state;
        }
    }

    /// Whether it waits for a request (or was asked to close while waiting).
    pub(crate) fn is_idle(&self) -> bool {
        self.connections
            .lock()
            .get(&self.id)
            .is_none_or(|slot| matches!(slot.state, State::Idle(_) | State::Closing))
    }

    /// The request's headers arrived; its body is being read.
    pub(crate) fn reading(&self) {
        self.set(State::Reading(Instant::now()));
    }

    /// The body is read; the handler has the request.
    pub(crate) fn handling(&self) {
        self.set(State::Handling);
    }

    /// The request is answered (or abandoned): the connection waits for the next one.
    pub(crate) fn idle(&self) {
        self.answered.store(true, Ordering::Relaxed);
        self.set(State::Idle(Instant::now()));
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.connections.lock().remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_idle_goes_first_then_a_body_past_its_grace_and_one_at_a_time() {
        let connections = Arc::new(Connections::default());
        let older = connections.register();
        std::thread::sleep(Duration::from_millis(5));
        let newer = connections.register();
        let reading = connections.register();
        reading.reading();
        let grace = Duration::from_millis(20);
        assert!(connections.evict(Instant::now(), grace));
        assert!(
            !connections.evict(Instant::now(), grace),
            "one eviction at a time"
        );
        drop(older);
        assert!(connections.evict(Instant::now(), grace));
        drop(newer);
        // Only a connection reading its body is left, within its grace: it stays.
        assert!(!connections.evict(Instant::now(), grace));
        std::thread::sleep(Duration::from_millis(30));
        assert!(connections.evict(Instant::now(), grace));
        // A connection whose handler has the request is never chosen.
        drop(reading);
        let handling = connections.register();
        handling.handling();
        std::thread::sleep(Duration::from_millis(30));
        assert!(!connections.evict(Instant::now(), grace));
    }
}
