//! The threads that decode and check request bodies, off the async runtime.
//!
//! A body is decoded and checked as a [`Work`]: a series of slices, each a bounded amount of
//! work (a MiB inflated or scanned, a few hundred items checked), that knows roughly how much
//! is left. A fixed number of threads take, slice after slice, the waiting work with the least
//! left: a small request waits for the slices already running (one per thread), never for a
//! heavy body to finish, and bodies of one size finish one after another rather than all
//! together, so the database gets them as they are ready and few are half done at once. A
//! work passed over ages: each millisecond it waits counts as [`AGING_BYTES_PER_MS`] less left,
//! so a stream of small requests delays a heavy body by a bounded time, not for ever. The async
//! threads only read sockets and wait for answers.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Instant;

use tokio::sync::oneshot;

/// What one millisecond of waiting takes off a work's remaining bytes when the next is chosen:
/// a 64 MiB body passed over for about 0.7 s goes next, whatever else waits.
pub(crate) const AGING_BYTES_PER_MS: usize = 100 << 10;

/// Work done a slice at a time.
pub(crate) trait Work: Send + 'static {
    /// What the work ends with.
    type Output: Send + 'static;
    /// Does one bounded slice of the work; `Some` when it is finished.
    fn step(&mut self) -> Option<Self::Output>;
    /// About how many bytes are still to be processed.
    fn remaining(&self) -> usize;
}

/// A work and where its result goes, without its type.
trait Task: Send {
    /// One slice; true when finished (or abandoned).
    fn step(&mut self) -> bool;
    /// About how many bytes are left.
    fn remaining(&self) -> usize;
    /// Nobody waits for the result any more (the client went away).
    fn abandoned(&self) -> bool;
}

struct Job<W: Work> {
    work: W,
    reply: Option<oneshot::Sender<W::Output>>,
}

impl<W: Work> Task for Job<W> {
    fn step(&mut self) -> bool {
        match self.work.step() {
            Some(output) => {
                if let Some(reply) = self.reply.take() {
                    let _ = reply.send(output);
                }
                true
            }
            None => false,
        }
    }

    fn remaining(&self) -> usize {
        self.work.remaining()
    }

    fn abandoned(&self) -> bool {
        self.reply.as_ref().is_none_or(oneshot::Sender::is_closed)
    }
}

/// A waiting work: since when it waits, and its place in arrival order (for ties).
struct Waiting {
    task: Box<dyn Task>,
    since: Instant,
    arrival: u64,
}

#[derive(Default)]
struct Line {
    waiting: Vec<Waiting>,
    arrivals: u64,
    closed: bool,
}

impl Line {
    fn push(&mut self, task: Box<dyn Task>, arrival: Option<u64>) {
        let arrival = arrival.unwrap_or_else(|| {
            self.arrivals += 1;
            self.arrivals
        });
        self.waiting.push(Waiting {
            task,
            since: Instant::now(),
            arrival,
        });
    }

    /// The work to run next: the least left, after aging; the earlier arrival on a tie.
    fn next(&mut self) -> Option<(Box<dyn Task>, u64)> {
        let now = Instant::now();
        let key = |w: &Waiting| {
            let waited = now.duration_since(w.since).as_millis();
            let aged = usize::try_from(waited)
                .unwrap_or(usize::MAX)
                .saturating_mul(AGING_BYTES_PER_MS);
            (w.task.remaining().saturating_sub(aged), w.arrival)
        };
        let at = self
            .waiting
            .iter()
            .enumerate()
            .min_by_key(|(_, w)| key(w))
            .map(|(at, _)| at)?;
        let chosen = self.waiting.swap_remove(at);
        Some((chosen.task, chosen.arrival))
    }
}

#[derive(Default)]
struct Shared {
    line: Mutex<Line>,
    ready: Condvar,
}

/// The pool: a fixed number of threads sharing one line of works. Dropping it lets the
/// threads finish what is in the line and end.
pub(crate) struct Pool {
    shared: Arc<Shared>,
    threads: usize,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("threads", &self.threads)
            .finish_non_exhaustive()
    }
}

impl Pool {
    /// Starts `threads` threads (at least one).
    pub(crate) fn start(threads: usize) -> Self {
        let shared = Arc::new(Shared::default());
        let mut started = 0;
        for n in 0..threads.max(1) {
            let shared = Arc::clone(&shared);
            let spawned = std::thread::Builder::new()
                .name(format!("candor-check-{n}"))
                .spawn(move || serve(&shared));
            if spawned.is_ok() {
                started += 1;
            }
        }
        Self {
            shared,
            threads: started,
        }
    }

    /// Runs `work` on the pool; `None` when it could not finish (no thread could start, or a
    /// slice panicked).
    pub(crate) async fn run<W: Work>(&self, work: W) -> Option<W::Output> {
        if self.threads == 0 {
            return None;
        }
        let (reply, answer) = oneshot::channel();
        let job: Box<dyn Task> = Box::new(Job {
            work,
            reply: Some(reply),
        });
        self.shared
            .line
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(job, None);
        self.shared.ready.notify_one();
        answer.await.ok()
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.shared
            .line
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .closed = true;
        self.shared.ready.notify_all();
    }
}

fn serve(shared: &Shared) {
    let mut line = shared.line.lock().unwrap_or_else(PoisonError::into_inner);
    loop {
        let Some((mut task, arrival)) = line.next() else {
            if line.closed {
                return;
            }
            line = shared
                .ready
                .wait(line)
                .unwrap_or_else(PoisonError::into_inner);
            continue;
        };
        drop(line);
        // A slice that panics ends its work (its caller sees no answer), not the thread.
        let finished =
            task.abandoned() || catch_unwind(AssertUnwindSafe(|| task.step())).unwrap_or(true);
        line = shared.line.lock().unwrap_or_else(PoisonError::into_inner);
        if !finished {
            // Back in the line: this thread takes whatever should go next, perhaps this one
            // again, so no other thread needs waking.
            line.push(task, Some(arrival));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Counts its slices and records, in one shared log, when it finished.
    struct Slices {
        name: &'static str,
        left: usize,
        done_at: Arc<Mutex<Vec<(&'static str, usize)>>>,
        clock: Arc<AtomicUsize>,
    }

    impl Work for Slices {
        type Output = ();
        fn remaining(&self) -> usize {
            // A MiB a slice, as an inflated or scanned body.
            self.left << 20
        }
        fn step(&mut self) -> Option<()> {
            // A slice of real work takes a while; so does this one, so that the test thread
            // acts within a slice or two.
            std::thread::sleep(std::time::Duration::from_micros(100));
            let tick = self.clock.fetch_add(1, Ordering::SeqCst);
            self.left -= 1;
            if self.left == 0 {
                self.done_at.lock().unwrap().push((self.name, tick));
                return Some(());
            }
            None
        }
    }

    /// One thread, two heavy works of 2,000 slices queued first, then a work of one slice:
    /// the small one finishes within a few slices of arriving, long before either heavy one,
    /// and the two heavy ones finish one after the other, not both at the end.
    #[test]
    fn a_small_work_goes_first_and_heavy_ones_finish_one_after_the_other() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let pool = Pool::start(1);
        let done_at = Arc::new(Mutex::new(Vec::new()));
        let clock = Arc::new(AtomicUsize::new(0));
        let work = |name, left| Slices {
            name,
            left,
            done_at: Arc::clone(&done_at),
            clock: Arc::clone(&clock),
        };
        runtime.block_on(async {
            let heavy = futures_join(
                pool.run(work("heavy-1", 2_000)),
                pool.run(work("heavy-2", 2_000)),
            );
            tokio::pin!(heavy);
            // Let the heavy works start before the small one arrives.
            tokio::select! {
                biased;
                _ = &mut heavy => panic!("the heavy works ended early"),
                () = wait_until(|| clock.load(Ordering::SeqCst) >= 100) => {}
            }
            let arrived = clock.load(Ordering::SeqCst);
            let small = pool.run(work("small", 1));
            tokio::pin!(small);
            tokio::select! {
                _ = &mut heavy => panic!("a heavy work finished before the small one"),
                out = &mut small => assert!(out.is_some()),
            }
            heavy.await;
            let log = done_at.lock().unwrap().clone();
            let small_at = log.iter().find(|(n, _)| *n == "small").unwrap().1;
            assert!(
                small_at <= arrived + 10,
                "the small work finished at slice {small_at}, having arrived at {arrived}: {log:?}"
            );
            assert_eq!(log.last().unwrap().1, 4_000, "{log:?}");
            let names: Vec<_> = log.iter().map(|(n, _)| *n).collect();
            assert_eq!(names, ["small", "heavy-1", "heavy-2"]);
            assert!(log[1].1 <= 2_010, "{log:?}");
        });
    }

    #[test]
    fn a_panicking_slice_ends_its_work_and_not_the_pool() {
        struct Boom;
        impl Work for Boom {
            type Output = ();
            fn remaining(&self) -> usize {
                1
            }
            fn step(&mut self) -> Option<()> {
                panic!("planted");
            }
        }
        struct Quick;
        impl Work for Quick {
            type Output = u8;
            fn remaining(&self) -> usize {
                1
            }
            fn step(&mut self) -> Option<u8> {
                Some(7)
            }
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let pool = Pool::start(1);
        runtime.block_on(async {
            assert_eq!(pool.run(Boom).await, None);
            assert_eq!(pool.run(Quick).await, Some(7));
        });
    }

    async fn futures_join<A: std::future::Future, B: std::future::Future>(a: A, b: B) {
        tokio::join!(a, b);
    }

    async fn wait_until(condition: impl Fn() -> bool) {
        while !condition() {
            tokio::task::yield_now().await;
            std::thread::sleep(std::time::Duration::from_micros(50));
        }
    }
}
