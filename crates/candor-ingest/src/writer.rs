//! The bounded ingest queue and the threads that write to the database.
//!
//! Requests put their checked batch on the queue, if there is room for its events and their
//! bytes (otherwise the caller answers 429), and wait for the commit. A dispatcher takes every
//! batch that is waiting, up to a limit, when a writing connection is free, and that
//! connection writes them in one transaction: one commit acknowledges them all, which is where
//! the throughput comes from. A failed write acknowledges none of them. SQLite has one
//! connection; PostgreSQL several, so one group executes while another waits for its commit.
//! A purge or an erasure is a fence: it runs once every group queued before it has committed,
//! on every connection, and alone; then writing resumes.

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
    Fence(Fence),
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
    /// Starts a writing thread on each of `stores` (connections to one database) and the
    /// dispatcher that hands them groups, with room for `capacity` queued events holding at
    /// most `capacity_bytes` in memory together.
    pub fn start(
        stores: Vec<Box<dyn Store>>,
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
            .spawn(move || run(stores, receiver, &counter));
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

    /// Removes a product's events recorded before `before_us`, as a fence: after every write
    /// queued before it has committed, with no write beside it.
    pub async fn purge(&self, product: &str, before_us: i64) -> Result<u64, QueueError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job::Fence(Fence::Purge {
                product: product.to_owned(),
                before_us,
                reply,
            }))
            .map_err(|_| QueueError::Stopped)?;
        answer
            .await
            .map_err(|_| QueueError::Stopped)?
            .map_err(QueueError::Store)
    }
}

impl Writer {
    /// Removes every event of `product` with this install id, as a fence: after every write
    /// queued before it has committed (on every connection), with no write beside it. It takes one event of the queue's room and one of the
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
            .send(Job::Fence(Fence::Erase {
                product: product.to_owned(),
                install_id: install_id.to_owned(),
                before_us,
                reply,
                _permit: (erasure, room),
            }))
            .map_err(|_| QueueError::Stopped)?;
        match tokio::time::timeout(self.commit_deadline, answer).await {
            Ok(Ok(result)) => result.map_err(QueueError::Store),
            Ok(Err(_)) => Err(QueueError::Stopped),
            Err(_) => Err(QueueError::Late),
        }
    }
}

/// What the dispatcher hands a connection's thread.
enum Task {
    /// A group of batches: one statement (one transaction), acknowledged after its commit.
    Group(Vec<Pending>),
    /// A purge or an erasure, run while no group is in flight on any connection.
    Fence(Fence),
}

enum Fence {
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

/// The connections' threads, as the dispatcher sees them: which are free.
struct Connections {
    /// Each thread's task channel; `None` once the thread is gone.
    tasks: Vec<Option<std::sync::mpsc::Sender<Task>>>,
    /// Each thread sends `(its index, true)` here when it is free (at start, and after each
    /// task), and `(its index, false)` when it ends without finishing one (a panic).
    free: std::sync::mpsc::Receiver<(usize, bool)>,
    idle: Vec<usize>,
}

impl Connections {
    fn start(stores: Vec<Box<dyn Store>>, queued: &Arc<AtomicU64>) -> Self {
        let (done, free) = std::sync::mpsc::channel();
        let mut tasks = Vec::new();
        for (index, store) in stores.into_iter().enumerate() {
            let (task, receiver) = std::sync::mpsc::channel();
            let (done, queued) = (done.clone(), Arc::clone(queued));
            let started = std::thread::Builder::new()
                .name(format!("candor-ingest-writer-{index}"))
                .spawn(move || write_on(store, &receiver, &done, index, &queued));
            tasks.push(started.is_ok().then_some(task));
        }
        Self {
            tasks,
            free,
            idle: Vec::new(),
        }
    }

    fn live(&self) -> usize {
        self.tasks.iter().flatten().count()
    }

    /// Waits for the next thread to report; false when none is left to.
    fn wait_one(&mut self) -> bool {
        if self.live() == 0 {
            return false;
        }
        match self.free.recv() {
            Ok(report) => self.note(report),
            Err(_) => return false,
        }
        true
    }

    /// Notes what a thread reported: free (`true`), or gone (`false`).
    fn note(&mut self, (index, free): (usize, bool)) {
        if free {
            self.idle.push(index);
        } else if let Some(task) = self.tasks.get_mut(index) {
            *task = None;
        }
    }

    fn is_live(&self, index: usize) -> bool {
        self.tasks.get(index).is_some_and(Option::is_some)
    }

    /// Notes every connection that has said it is free.
    fn note_free(&mut self) {
        while let Ok(report) = self.free.try_recv() {
            self.note(report);
        }
    }

    /// A connection with nothing in flight, waiting for one to finish if need be; `None`
    /// when every connection's thread is gone. Of several, the first: when one is enough
    /// (a single client), the same connection (and its server process) does all the work.
    fn take_free(&mut self) -> Option<usize> {
        loop {
            self.note_free();
            if let Some(first) = self.idle.iter().copied().min() {
                self.idle.retain(|i| *i != first);
                return Some(first);
            }
            if !self.wait_one() {
                return None;
            }
        }
    }

    /// Waits until connection `index` has nothing in flight and takes it; false when its
    /// thread is gone.
    fn take(&mut self, index: usize) -> bool {
        loop {
            if let Some(at) = self.idle.iter().position(|i| *i == index) {
                self.idle.swap_remove(at);
                return true;
            }
            if !self.is_live(index) || !self.wait_one() {
                return false;
            }
        }
    }

    /// Waits until no connection has anything in flight (every group handed out committed
    /// or failed).
    fn drain(&mut self) {
        while self.idle.len() < self.live() {
            if !self.wait_one() {
                return;
            }
        }
    }

    fn send(&mut self, index: usize, task: Task) {
        let sent = self.tasks[index].as_ref().map(|t| t.send(task));
        if !matches!(sent, Some(Ok(()))) {
            // That thread is gone: the task's replies are dropped with it, and their callers
            // answer 503. The others go on.
            self.tasks[index] = None;
        }
    }
}

/// The connection that writes every group folding events into their days' rows: two groups
/// adding to the same day rows at once would not overlap anyway (the second waits on the
/// first's row locks until it commits), and would each be smaller.
const FOLDING: usize = 0;

/// The dispatcher: makes a group of every write waiting (up to [`MAX_GROUP_EVENTS`]) when a
/// connection is free, so groups form while others commit; runs a purge or an erasure as a
/// fence: the writes queued before it are written and committed first, on every connection,
/// then it runs alone, then writing resumes.
fn run(
    stores: Vec<Box<dyn Store>>,
    mut jobs: mpsc::UnboundedReceiver<Job>,
    queued: &Arc<AtomicU64>,
) {
    let mut connections = Connections::start(stores, queued);
    loop {
        let Some(mut free) = connections.take_free() else {
            return;
        };
        let Some(first) = jobs.blocking_recv() else {
            return;
        };
        let mut group = Gathering::default();
        let mut fence = group.gather(first, &mut jobs);
        if group.folds && free != FOLDING && connections.is_live(FOLDING) {
            connections.idle.push(free);
            free = if connections.take(FOLDING) {
                FOLDING
            } else {
                // Its thread is gone: any other will do.
                let Some(other) = connections.take_free() else {
                    return;
                };
                other
            };
            // What arrived meanwhile joins the group.
            if fence.is_none() {
                fence = group.gather_waiting(&mut jobs);
            }
        }
        if group.batches.is_empty() {
            connections.idle.push(free);
        } else {
            connections.send(free, Task::Group(group.batches));
        }
        if let Some(fence) = fence {
            // Every write queued before it is committed (an event sent before an erasure is
            // erased with the rest), and none runs beside it.
            connections.drain();
            let Some(alone) = connections.take_free() else {
                return;
            };
            connections.send(alone, Task::Fence(fence));
            connections.drain();
        }
    }
}

/// A group of batches being made.
#[derive(Default)]
struct Gathering {
    batches: Vec<Pending>,
    events: usize,
    /// Some of its events are folded into their days' rows.
    folds: bool,
}

impl Gathering {
    /// Adds `first` and the writes waiting behind it, up to [`MAX_GROUP_EVENTS`] events,
    /// stopping at a purge or an erasure, which it returns.
    fn gather(&mut self, first: Job, jobs: &mut mpsc::UnboundedReceiver<Job>) -> Option<Fence> {
        let mut next = Some(first);
        while let Some(job) = next.take() {
            match job {
                Job::Fence(fence) => return Some(fence),
                Job::Write {
                    batch,
                    reply,
                    _permit,
                } => {
                    self.events += batch.events.len();
                    self.folds |= batch
                        .events
                        .iter()
                        .any(|e| e.storage == crate::store::Storage::Aggregates);
                    self.batches.push((batch, reply, _permit));
                }
            }
            if self.events < MAX_GROUP_EVENTS {
                next = jobs.try_recv().ok();
            }
        }
        None
    }

    /// Adds the writes waiting now, as [`Gathering::gather`].
    fn gather_waiting(&mut self, jobs: &mut mpsc::UnboundedReceiver<Job>) -> Option<Fence> {
        if self.events >= MAX_GROUP_EVENTS {
            return None;
        }
        let first = jobs.try_recv().ok()?;
        self.gather(first, jobs)
    }
}

/// A connection's thread: runs what the dispatcher hands it, and says when it is free.
fn write_on(
    mut store: Box<dyn Store>,
    tasks: &std::sync::mpsc::Receiver<Task>,
    done: &std::sync::mpsc::Sender<(usize, bool)>,
    index: usize,
    queued: &AtomicU64,
) {
    /// Tells the dispatcher this thread is gone when it unwinds, so no fence waits for it.
    struct Gone<'a>(&'a std::sync::mpsc::Sender<(usize, bool)>, usize);
    impl Drop for Gone<'_> {
        fn drop(&mut self) {
            if std::thread::panicking() {
                let _ = self.0.send((self.1, false));
            }
        }
    }
    let _gone = Gone(done, index);
    if done.send((index, true)).is_err() {
        return;
    }
    while let Ok(task) = tasks.recv() {
        match task {
            Task::Group(mut group) => flush(&mut *store, &mut group, queued),
            Task::Fence(Fence::Purge {
                product,
                before_us,
                reply,
            }) => {
                let _ = reply.send(store.purge(&product, before_us).map_err(Arc::new));
            }
            Task::Fence(Fence::Erase {
                product,
                install_id,
                before_us,
                reply,
                _permit,
            }) => {
                let _ = reply.send(
                    store
                        .erase(&product, &install_id, before_us)
                        .map_err(Arc::new),
                );
                let _ = queued.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                    Some(n.saturating_sub(1))
                });
            }
        }
        if done.send((index, true)).is_err() {
            return;
        }
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
