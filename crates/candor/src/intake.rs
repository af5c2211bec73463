//! Where `record` leaves values for Candor's worker: a ring of its own for each of the first
//! threads that record (a single-producer queue, so a push is a plain slot write and one
//! release store, with no read-modify-write of anything shared), and one shared bounded queue
//! for threads beyond them.
//!
//! A product has [`RINGS`] rings, allocated when it starts. A thread claims one the first
//! time it records for the product and gives it back when it exits; the values left in it
//! stay there for the worker, in order, and the next thread to claim it appends after them.
//! When no ring is free, the thread uses the shared queue for that product for as long as it
//! lives (a thread never moves from the shared queue to a ring, so its values stay in order).
//! Every ring and the shared queue hold at most the builder's queue capacity: memory is
//! bounded by `(RINGS + 1) × capacity` slots, however many threads record.
//!
//! The worker drains under one lock, which also counts what it took, so `Telemetry::status`
//! reads "taken" and "still queued" as one consistent pair.

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crossbeam_queue::ArrayQueue;
use rtrb::{Consumer, Producer, RingBuffer};

use crate::record::Recorded;

/// Rings per product: one each for the first threads that record (most hosts record from a
/// few threads); later ones share one queue.
pub(crate) const RINGS: usize = 4;
/// How many products one thread keeps a ring of at once (a host rarely runs more than one);
/// beyond that, the thread uses the shared queues.
const CLAIMS_PER_THREAD: usize = 4;
/// How many values the worker takes out under the lock at a time.
const CHUNK: usize = 256;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// What became of a pushed value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pushed {
    Queued,
    /// Queued, and the queue is at least half full: worth waking the worker for.
    Filling,
    /// The queue was full: the value was dropped (and counted).
    Full,
}

/// The rings and the shared queue of one product.
pub(crate) struct Intake {
    /// Tells this product's claims apart in a thread's list.
    id: u64,
    capacity: usize,
    /// How many pushes into a ring between two looks at how full it is.
    look_every: usize,
    /// Rings no thread holds.
    free: Mutex<Vec<Producer<Recorded>>>,
    drained: Mutex<Drained>,
    /// Threads beyond the rings record here.
    shared: ArrayQueue<Recorded>,
    /// Values dropped because their queue was full.
    full: AtomicU64,
    /// Set when the product's handle is gone: a thread may give its claim to another product.
    retired: AtomicBool,
}

/// The worker's side, under one lock.
struct Drained {
    consumers: Vec<Consumer<Recorded>>,
    /// Values taken out so far.
    taken: u64,
}

impl Intake {
    pub(crate) fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        let (producers, consumers) = (0..RINGS).map(|_| RingBuffer::new(capacity)).unzip();
        Self {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            capacity,
            look_every: (capacity / 8).max(1),
            free: Mutex::new(producers),
            drained: Mutex::new(Drained {
                consumers,
                taken: 0,
            }),
            shared: ArrayQueue::new(capacity),
            full: AtomicU64::new(0),
            retired: AtomicBool::new(false),
        }
    }

    /// Queues `recorded` from the calling thread: into its ring, or the shared queue. Never
    /// blocks (but the first push of a thread, which takes the ring lock once), never
    /// allocates.
    #[inline]
    pub(crate) fn push(self: &Arc<Self>, recorded: Recorded) -> Pushed {
        let value = Cell::new(Some(recorded));
        self.push_with(|| value.take())
    }

    /// Queues the value `make` builds, called once, where it goes: into the calling thread's
    /// ring, or the shared queue (`make` returning `None` queues nothing). A typed call hands
    /// over a `make` that builds the value from parts it holds by copy, so the value is
    /// written once, straight into the slot: a value built on the host's stack and then moved
    /// into the slot is read back wider than it was written, which stalls the processor.
    #[inline(always)]
    pub(crate) fn push_with(self: &Arc<Self>, make: impl Fn() -> Option<Recorded>) -> Pushed {
        // A thread whose claims are gone (it is exiting) or in use (a drop handler recording
        // while its claim list is borrowed) uses the shared queue.
        match CLAIMS.try_with(|claims| {
            claims
                .try_borrow_mut()
                .ok()
                .and_then(|mut claims| claims.push(self, &make))
        }) {
            Ok(Some((pushed, left))) => {
                if left {
                    drop_leftovers();
                }
                pushed
            }
            _ => match make() {
                Some(recorded) => self.push_shared(recorded),
                None => Pushed::Queued,
            },
        }
    }

    /// Queues `recorded` on the queue the threads beyond the rings share.
    #[cold]
    #[inline(never)]
    fn push_shared(&self, recorded: Recorded) -> Pushed {
        if self.shared.push(recorded).is_err() {
            self.full.fetch_add(1, Ordering::Relaxed);
            return Pushed::Full;
        }
        if self.shared.len() * 2 >= self.capacity {
            Pushed::Filling
        } else {
            Pushed::Queued
        }
    }

    /// Takes out what every queue held when it began (at most one queue's worth each, so
    /// hosts recording flat out cannot keep the worker from a request) and hands each value
    /// to `handle`, outside the lock, in each queue's order. Returns how many.
    pub(crate) fn take(&self, mut handle: impl FnMut(Recorded)) -> usize {
        let mut left: [usize; RINGS + 1] = [0; RINGS + 1];
        {
            let drained = self.drained();
            for (left, consumer) in left.iter_mut().zip(&drained.consumers) {
                *left = consumer.slots();
            }
            left[RINGS] = self.shared.len();
        }
        let mut batch = Vec::with_capacity(CHUNK);
        let mut total = 0;
        loop {
            {
                let mut drained = self.drained();
                for (i, left) in left.iter_mut().enumerate() {
                    while *left > 0 && batch.len() < CHUNK {
                        let popped = match drained.consumers.get_mut(i) {
                            Some(consumer) => consumer.pop().ok(),
                            None => self.shared.pop(),
                        };
                        let Some(recorded) = popped else {
                            *left = 0;
                            break;
                        };
                        *left -= 1;
                        batch.push(recorded);
                    }
                }
                drained.taken += batch.len() as u64;
            }
            if batch.is_empty() {
                return total;
            }
            total += batch.len();
            batch.drain(..).for_each(&mut handle);
        }
    }

    /// Takes out everything queued, unseen; how many.
    pub(crate) fn discard(&self) -> u64 {
        let mut drained = self.drained();
        let mut n = 0;
        for consumer in &mut drained.consumers {
            while consumer.pop().is_ok() {
                n += 1;
            }
        }
        while self.shared.pop().is_some() {
            n += 1;
        }
        drained.taken += n;
        n
    }

    /// Values taken out so far and values still queued, read together.
    pub(crate) fn counts(&self) -> (u64, u64) {
        let drained = self.drained();
        let queued: usize =
            drained.consumers.iter().map(Consumer::slots).sum::<usize>() + self.shared.len();
        (drained.taken, queued as u64)
    }

    /// Values dropped because their queue was full.
    pub(crate) fn dropped_full(&self) -> u64 {
        self.full.load(Ordering::Relaxed)
    }

    /// The product's handle is gone: threads may give its rings' places to another product.
    pub(crate) fn retire(&self) {
        self.retired.store(true, Ordering::Relaxed);
    }

    fn drained(&self) -> MutexGuard<'_, Drained> {
        self.drained.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn claim_ring(&self) -> Option<Producer<Recorded>> {
        self.free
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
    }
}

thread_local! {
    static CLAIMS: RefCell<Claims> = const {
        RefCell::new(Claims {
            entries: [const { None }; CLAIMS_PER_THREAD],
            crowded: false,
            leftovers: Unneeded {
                claim: None,
                value: None,
            },
        })
    };
}

/// A thread's places in the products it records for.
struct Claims {
    entries: [Option<Claim>; CLAIMS_PER_THREAD],
    /// Set when a product found no place in `entries`: from then on this thread takes no new
    /// ring (a product it recorded for through the shared queue must stay there).
    crowded: bool,
    /// What a push left to drop once the claims are released (`drop_leftovers`).
    leftovers: Unneeded,
}

/// Drops what the last push left, outside the borrow of the thread's claims: what it frees (a
/// gone product's queues, a value's text) may run a host's code that records (a global
/// allocator that records), and that value must go where this thread's next ones go.
#[cold]
#[inline(never)]
fn drop_leftovers() {
    let leftovers = CLAIMS.try_with(|claims| {
        claims
            .try_borrow_mut()
            .ok()
            .map(|mut claims| std::mem::take(&mut claims.leftovers))
    });
    drop(leftovers);
}

/// What a push leaves to drop after the thread's claims are released.
#[derive(Default)]
struct Unneeded {
    /// The place of a product whose handle is gone, taken over.
    claim: Option<Claim>,
    /// A value its full ring turned away.
    value: Option<Recorded>,
}

/// A thread's place in one product: its ring, or `None` when it uses the shared queue.
struct Claim {
    /// The product's id, kept here so finding the claim reads nothing shared.
    id: u64,
    intake: Arc<Intake>,
    ring: Option<Producer<Recorded>>,
    since_look: usize,
}

impl Drop for Claim {
    /// The ring goes back to its product, with what it holds still queued.
    fn drop(&mut self) {
        if let Some(ring) = self.ring.take() {
            self.intake
                .free
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(ring);
        }
    }
}

impl Claims {
    /// Pushes the value `make` builds into this thread's ring for `intake`, or returns `None`
    /// without calling `make` when this thread uses the shared queue. With the outcome, whether
    /// it left something in `leftovers` to drop once the claims are released.
    #[inline(always)]
    fn push(
        &mut self,
        intake: &Arc<Intake>,
        make: &impl Fn() -> Option<Recorded>,
    ) -> Option<(Pushed, bool)> {
        let mut left = false;
        let claim = match self
            .entries
            .iter()
            .position(|e| e.as_ref().is_some_and(|c| c.id == intake.id))
        {
            Some(i) => self.entries[i].as_mut()?,
            None => {
                let claim = Self::claim(
                    &mut self.entries,
                    &mut self.crowded,
                    intake,
                    &mut self.leftovers.claim,
                )?;
                // A place taken over from a gone product is dropped after the borrow.
                left = self.leftovers.claim.is_some();
                claim
            }
        };
        let ring = claim.ring.as_mut()?;
        let Some(recorded) = make() else {
            return Some((Pushed::Queued, left));
        };
        if let Err(rtrb::PushError::Full(recorded)) = ring.push(recorded) {
            self.leftovers.value = Some(recorded);
            intake.full.fetch_add(1, Ordering::Relaxed);
            return Some((Pushed::Full, true));
        }
        claim.since_look += 1;
        if claim.since_look < intake.look_every {
            return Some((Pushed::Queued, left));
        }
        claim.since_look = 0;
        let pushed = if ring.slots() * 2 <= intake.capacity {
            Pushed::Filling
        } else {
            Pushed::Queued
        };
        Some((pushed, left))
    }

    /// A place for `intake`, with a ring if one is free: in an empty entry or one of a
    /// product whose handle is gone (that place goes to `replaced`). `None` when there is no
    /// place (the shared queue, for good).
    #[cold]
    fn claim<'a>(
        entries: &'a mut [Option<Claim>; CLAIMS_PER_THREAD],
        crowded: &mut bool,
        intake: &Arc<Intake>,
        replaced: &mut Option<Claim>,
    ) -> Option<&'a mut Claim> {
        if *crowded {
            return None;
        }
        let Some(entry) = entries.iter_mut().find(|e| {
            e.as_ref()
                .is_none_or(|c| c.intake.retired.load(Ordering::Relaxed))
        }) else {
            *crowded = true;
            return None;
        };
        // The retired product's place is dropped (its ring given back) once this thread's
        // claims are released.
        *replaced = entry.take();
        Some(entry.insert(Claim {
            id: intake.id,
            intake: Arc::clone(intake),
            ring: intake.claim_ring(),
            since_look: 0,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::RecordClock;
    use crate::record::{Payload, PointRef};
    use candor_consent::{ConsentGate, DecidedBy, Decision, Mode};

    fn value(gate: &ConsentGate, n: u64) -> Recorded {
        Recorded {
            ticket: gate.ticket().expect("on"),
            point: PointRef::Declared("p"),
            value: Payload::Count(n),
            time: RecordClock::Wall.now(),
        }
    }

    fn counts_of(intake: &Intake) -> Vec<u64> {
        let mut seen = Vec::new();
        intake.take(|r| {
            if let Payload::Count(n) = r.value {
                seen.push(n);
            }
        });
        seen
    }

    fn gate() -> ConsentGate {
        ConsentGate::new(Decision {
            mode: Mode::On,
            decided_by: DecidedBy::DoNotTrack,
            reason: String::new(),
            warnings: Vec::new(),
            ci: None,
            interactive_notices: false,
            statement: None,
            notice_pending: false,
            notice: candor_consent::NoticeDue::Nothing,
        })
    }

    /// A ring holds its capacity and drops (and counts) the rest; a thread that exits leaves
    /// its values queued, in order, and its ring to the next thread.
    #[test]
    fn a_thread_that_exits_loses_nothing_and_frees_its_ring() {
        let intake = Arc::new(Intake::new(8));
        let gate = gate();
        for round in 0..RINGS * 3 {
            let (i, g) = (Arc::clone(&intake), gate.clone());
            let pushed = std::thread::spawn(move || {
                (0..10)
                    .map(|n| i.push(value(&g, round as u64 * 100 + n)))
                    .collect::<Vec<_>>()
            })
            .join()
            .expect("thread");
            assert_eq!(pushed.iter().filter(|p| **p == Pushed::Full).count(), 2);
            let (_, queued) = intake.counts();
            assert_eq!(queued, 8);
            // Each thread got a ring (none was left to the shared queue).
            assert!(intake.shared.is_empty());
            let seen = counts_of(&intake);
            let expected: Vec<u64> = (0..8).map(|n| round as u64 * 100 + n).collect();
            assert_eq!(seen, expected);
        }
        assert_eq!(intake.dropped_full(), 2 * RINGS as u64 * 3);
        assert_eq!(intake.counts(), (8 * RINGS as u64 * 3, 0));
    }
}
