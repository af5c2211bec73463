//! The bounded ingest queue and the one thread that writes to the database.
//!
//! Requests put their checked batch on the queue, if there is room for its events and their
//! bytes (otherwise the caller answers 429), and wait for the commit. The writer takes every batch that is
//! waiting, up to a limit, and writes them in one transaction: one commit acknowledges them
//! all, which is where the throughput comes from. A failed write acknowledges none of them.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};

use crate::store::{Batch, Store, StoreError, Written};

/// At most this many events go into one transaction.
const MAX_GROUP_EVENTS: usize = 50_000;

/// At most this many erasures (deletion requests) wait for the writer at once; each is also
/// one event of the queue's room. An erasure is a transaction of its own, so a flood of them
/// would hold every write up behind it.
const MAX_QUEUED_ERASES: usize = 64;

/// A store's failure, shared by every batch of the group it failed.
type Failed = Arc<StoreError>;

enum Job {
    Write {
        batch: Batch,
        reply: oneshot::Sender<Result<Written, Failed>>,
        _permit: Option<(OwnedSemaphorePermit, OwnedSemaphorePermit)>,
    },
    Purge {
        product: String,
        before_us: i64,
        reply: oneshot::Sender<Result<u64, Failed>>,
    },
    Erase {
        product: String,
        install_id: String,
        before_us: i64,
        reply: oneshot::Sender<Result<u64, Failed>>,
        _permit: (OwnedSemaphorePermit, OwnedSemaphorePermit),
    },
}

/// Why a batch (a purge, an erasure) was not done.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum QueueError {
    /// The queue is full: try again later.
    #[error("the ingest queue is full")]
    Full,
    /// The database failed; nothing of the batch was committed.
    #[error(transparent)]
    Store(Arc<StoreError>),
    /// The writer's thread is gone: nothing more is written.
    #[error("the writer has stopped")]
    Stopped,
    /// The database did not commit within the deadline: not acknowledged, and if the write
    /// landed after all, the client's retry finds it a duplicate.
    #[error("the database did not commit in time")]
    Late,
}

/// The sending side of the queue; cheap to clone.
#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::UnboundedSender<Job>,
    room: Arc<Semaphore>,
    /// Room for erasures waiting.
    erases: Arc<Semaphore>,
    /// Room in KiB of what queued rows hold in memory.
    room_bytes: Arc<Semaphore>,
    capacity: usize,
    capacity_kib: usize,
    commit_deadline: Duration,
    queued: Arc<AtomicU64>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl Writer {
    /// Starts the writer thread on `store`, with room for `capacity` queued events holding at
    /// most `capacity_bytes` in memory together.
    pub fn start(
        store: Box<dyn Store>,
        capacity: usize,
        capacity_bytes: usize,
        commit_deadline: Duration,
    ) -> Self {
        let (jobs, receiver) = mpsc::unbounded_channel();
        let queued = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&queued);
        // If the thread cannot start, the receiver is gone and every write answers 503.
        let _ = std::thread::Builder::new()
            .name("candor-ingest-writer".to_owned())
            .spawn(move || run(store, receiver, &counter));
        Self {
            jobs,
            room: Arc::new(Semaphore::new(capacity.max(1))),
            erases: Arc::new(Semaphore::new(MAX_QUEUED_ERASES)),
            room_bytes: Arc::new(Semaphore::new(
                capacity_bytes
                    .div_ceil(1024)
                    .clamp(1, Semaphore::MAX_PERMITS),
            )),
            capacity: capacity.max(1),
            capacity_kib: capacity_bytes
                .div_ceil(1024)
                .clamp(1, Semaphore::MAX_PERMITS),
            commit_deadline,
            queued,
        }
    }

    /// Events waiting for the database now.
    pub fn queued(&self) -> u64 {
        self.queued.load(Ordering::Relaxed)
    }

    /// Queues `batch` and waits until it is committed.
    pub async fn write(&self, batch: Batch) -> Result<Written, QueueError> {
        let events = u32::try_from(batch.events.len().min(self.capacity)).unwrap_or(u32::MAX);
        let kib = batch.memory_bytes().div_ceil(1024);
        let permit = if events == 0 {
            None
        } else {
            let events = Arc::clone(&self.room)
                .try_acquire_many_owned(events)
                .map_err(|_| QueueError::Full)?;
            // A batch larger than the whole byte room is taken when the queue is empty, rather
            // than never.
            let kib = u32::try_from(kib)
                .unwrap_or(u32::MAX)
                .min(u32::try_from(self.capacity_kib).unwrap_or(u32::MAX));
            let bytes = Arc::clone(&self.room_bytes)
                .try_acquire_many_owned(kib)
                .map_err(|_| QueueError::Full)?;
            Some((events, bytes))
        };
        let (reply, answer) = oneshot::channel();
        self.queued
            .fetch_add(batch.events.len() as u64, Ordering::Relaxed);
        let job = Job::Write {
            batch,
            reply,
            _permit: permit,
        };
        if self.jobs.send(job).is_err() {
            return Err(QueueError::Stopped);
        }
        match tokio::time::timeout(self.commit_deadline, answer).await {
            Ok(Ok(Ok(written))) => Ok(written),
            Ok(Ok(Err(failed))) => Err(QueueError::Store(failed)),
            Ok(Err(_)) => Err(QueueError::Stopped),
            // Not acknowledged: the client retries, and if the write did land after all, the
            // retry is recognised as a duplicate.
            Err(_) => Err(QueueError::Late),
        }
    }

    /// Removes a product's events recorded before `before_us`, on the writer thread.
    pub async fn purge(&self, product: &str, before_us: i64) -> Result<u64, QueueError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job::Purge {
                product: product.to_owned(),
                before_us,
                reply,
            })
            .map_err(|_| QueueError::Stopped)?;
        answer
            .await
            .map_err(|_| QueueError::Stopped)?
            .map_err(QueueError::Store)
    }
}

impl Writer {
    /// Removes every event of `product` with this install id, on the writer thread, after
    /// the writes queued before it. It takes one event of the queue's room and one of the
    /// erasures' ([`QueueError::Full`] when either is gone) until it is done.
    pub async fn erase(
        &self,
        product: &str,
        install_id: &str,
        before_us: i64,
    ) -> Result<u64, QueueError> {
        let erasure = Arc::clone(&self.erases)
            .try_acquire_owned()
            .map_err(|_| QueueError::Full)?;
        let room = Arc::clone(&self.room)
            .try_acquire_owned()
            .map_err(|_| QueueError::Full)?;
        let (reply, answer) = oneshot::channel();
        self.queued.fetch_add(1, Ordering::Relaxed);
        self.jobs
            .send(Job::Erase {
                product: product.to_owned(),
                install_id: install_id.to_owned(),
                before_us,
                reply,
                _permit: (erasure, room),
            })
            .map_err(|_| QueueError::Stopped)?;
        match tokio::time::timeout(self.commit_deadline, answer).await {
            Ok(Ok(result)) => result.map_err(QueueError::Store),
            Ok(Err(_)) => Err(QueueError::Stopped),
            Err(_) => Err(QueueError::Late),
        }
    }
}

fn run(mut store: Box<dyn Store>, mut jobs: mpsc::UnboundedReceiver<Job>, queued: &AtomicU64) {
    while let Some(first) = jobs.blocking_recv() {
        let mut group = Vec::new();
        let mut events = 0usize;
        let mut next = Some(first);
        while let Some(job) = next.take() {
            match job {
                Job::Purge {
                    product,
                    before_us,
                    reply,
                } => {
                    // Writes queued before the purge go first, so ordering holds.
                    flush(&mut *store, &mut group, queued);
                    events = 0;
                    let _ = reply.send(store.purge(&product, before_us).map_err(Arc::new));
                }
                Job::Erase {
                    product,
                    install_id,
                    before_us,
                    reply,
                    _permit,
                } => {
                    // Writes queued before the request go first: an event sent before it is
                    // erased with the rest.
                    flush(&mut *store, &mut group, queued);
                    events = 0;
                    let _ = reply.send(
                        store
                            .erase(&product, &install_id, before_us)
                            .map_err(Arc::new),
                    );
                    let _ = queued.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                        Some(n.saturating_sub(1))
                    });
                }
                Job::Write {
                    batch,
                    reply,
                    _permit,
                } => {
                    events += batch.events.len();
                    group.push((batch, reply, _permit));
                }
            }
            if events < MAX_GROUP_EVENTS {
                next = jobs.try_recv().ok();
            }
        }
        flush(&mut *store, &mut group, queued);
    }
}

type Pending = (
    Batch,
    oneshot::Sender<Result<Written, Failed>>,
    Option<(OwnedSemaphorePermit, OwnedSemaphorePermit)>,
);

fn flush(store: &mut dyn Store, group: &mut Vec<Pending>, queued: &AtomicU64) {
    if group.is_empty() {
        return;
    }
    let batches: Vec<&Batch> = group.iter().map(|(b, _, _)| b).collect();
    let result = store.write(&batches);
    let total: u64 = batches.iter().map(|b| b.events.len() as u64).sum();
    queued.fetch_sub(total.min(queued.load(Ordering::Relaxed)), Ordering::Relaxed);
    match result {
        Ok(written) => {
            for ((_, reply, _), w) in group.drain(..).zip(written) {
                let _ = reply.send(Ok(w));
            }
        }
        Err(e) => {
            let failed = Arc::new(e);
            for (_, reply, _) in group.drain(..) {
                let _ = reply.send(Err(Arc::clone(&failed)));
            }
        }
    }
}
