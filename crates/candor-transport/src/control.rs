//! The one control protocol between a handle and Candor's worker thread behind it.
//!
//! A handle queues items (values, events) where the worker takes them in, and asks it for a
//! [`Control`] (flush, persist, discard, stop) through a [`Worker`]; the worker runs the one
//! loop every Candor worker shares ([`Work`]): take in what was queued, carry out what was
//! asked, do what is due, sleep until the next thing is due or a handle wakes it. Every wait
//! on either side has a deadline: a handle offers a request only until its deadline and waits
//! for the answer only a little longer, and [`Worker::stop`] waits for the thread only until
//! the deadline, so a sink that never returns cannot hold the host.
//!
//! The facade runs its whole runtime (preparing, consent, both deliveries) as one [`Work`]
//! on one thread; a standalone [`crate::Pipeline`] runs one [`crate::Delivery`] the same way.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How much longer than its deadline a handle waits for the worker's answer: the worker may
/// be finishing the step that took it to the deadline.
const ANSWER_GRACE: Duration = Duration::from_millis(100);
/// How many requests and wake-ups may wait for the worker; a full box means a wake-up is
/// already on its way.
const LETTERS: usize = 16;

/// What a handle asks of its worker. Each carries out everything queued before it was asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Control {
    /// Send everything queued or stored, until the deadline.
    Flush,
    /// Write everything queued to the store (the spool), sending nothing.
    Persist,
    /// Throw away everything not yet delivered (consent was withdrawn).
    Discard,
    /// Flush until the deadline, then stop the worker.
    Stop,
}

/// What a worker does; [`Worker::spawn`] runs it in the loop every Candor worker shares.
pub trait Work: Send + 'static {
    /// Takes in what the handles queued; returns how many items.
    fn take(&mut self) -> usize;
    /// Does what is due now (a batch that waited long enough, a retry, following consent).
    fn tick(&mut self);
    /// When [`Work::tick`] is next due (at the latest; a handle may wake the worker sooner).
    fn next_wake(&self) -> Instant;
    /// Carries out `control`, within `deadline` where it sends; returns the events still
    /// pending afterwards.
    fn control(&mut self, control: Control, deadline: Instant) -> u64;
}

enum Letter {
    /// Items were queued: take them in now rather than at the next tick.
    Wake,
    Ask {
        control: Control,
        deadline: Instant,
        answer: mpsc::Sender<u64>,
    },
}

/// A worker thread and the one way to talk to it. Dropping it lets the thread finish on its
/// own (a last flush bounded by one second), without waiting for it.
#[derive(Debug)]
pub struct Worker {
    letters: SyncSender<Letter>,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// Set by the thread when its loop ends (read without waiting for anyone).
    finished: Arc<AtomicBool>,
}

impl Worker {
    /// Starts a thread named `name` running `work`.
    pub fn spawn(name: &str, work: impl Work) -> std::io::Result<Self> {
        let (letters, inbox) = mpsc::sync_channel(LETTERS);
        let finished = Arc::new(AtomicBool::new(false));
        let done = Arc::clone(&finished);
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                // Set however the loop ends, a panic included.
                struct Done(Arc<AtomicBool>);
                impl Drop for Done {
                    fn drop(&mut self) {
                        self.0.store(true, Ordering::Release);
                    }
                }
                let _done = Done(done);
                run(&inbox, work);
            })?;
        Ok(Self {
            letters,
            thread: Mutex::new(Some(thread)),
            finished,
        })
    }

    /// Wakes the worker to take in what was queued. Never blocks: when a wake-up or a request
    /// is already waiting, the worker will take the items in with it.
    pub fn wake(&self) {
        let _ = self.letters.try_send(Letter::Wake);
    }

    /// Asks the worker for `control` and waits for its answer (the events pending after it)
    /// at most `timeout`; `None` when the worker did not answer in time or is gone.
    pub fn ask(&self, control: Control, timeout: Duration) -> Option<u64> {
        let deadline = Instant::now() + timeout;
        let (answer, answered) = mpsc::channel();
        let mut letter = Letter::Ask {
            control,
            deadline,
            answer,
        };
        // The box may be full of wake-ups; offer until the deadline rather than block.
        loop {
            match self.letters.try_send(letter) {
                Ok(()) => break,
                Err(TrySendError::Full(l)) if Instant::now() < deadline => {
                    letter = l;
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err(_) => return None,
            }
        }
        answered
            .recv_timeout(deadline.saturating_duration_since(Instant::now()) + ANSWER_GRACE)
            .ok()
    }

    /// Asks the worker to flush within `deadline` and stop, then waits for the thread only
    /// until the deadline: past it (a sink stuck in a request, a held stdout, a FIFO) the
    /// thread is left to finish on its own. Returns the worker's answer, if it gave one.
    pub fn stop(&self, deadline: Duration) -> Option<u64> {
        let until = Instant::now() + deadline + ANSWER_GRACE;
        let answer = self.ask(Control::Stop, deadline);
        while !self.is_finished() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(1));
        }
        if self.is_finished() {
            let thread = self
                .thread
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            if let Some(thread) = thread {
                let _ = thread.join();
            }
        }
        answer
    }

    /// Whether the thread has ended (after [`Worker::stop`], or because its work panicked).
    pub fn is_finished(&self) -> bool {
        self.finished.load(Ordering::Acquire)
    }
}

/// The loop every worker runs: take in what was queued, carry out what was asked, do what is
/// due, sleep until the next thing is due or a handle wakes it.
fn run(inbox: &Receiver<Letter>, mut work: impl Work) {
    loop {
        let wait = work.next_wake().saturating_duration_since(Instant::now());
        let letter = inbox.recv_timeout(wait);
        work.take();
        match letter {
            Ok(Letter::Wake) | Err(RecvTimeoutError::Timeout) => {}
            Ok(Letter::Ask {
                control,
                deadline,
                answer,
            }) => {
                let pending = work.control(control, deadline);
                let _ = answer.send(pending);
                if control == Control::Stop {
                    return;
                }
            }
            Err(RecvTimeoutError::Disconnected) => {
                // Every handle is gone: a last attempt, bounded, then stop.
                work.control(Control::Stop, Instant::now() + Duration::from_secs(1));
                return;
            }
        }
        work.tick();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;

    /// Counts what it is asked and takes in a shared count of items.
    struct Counting {
        queued: Arc<AtomicU64>,
        taken: u64,
        stuck: Option<Duration>,
    }

    impl Work for Counting {
        fn take(&mut self) -> usize {
            let n = self.queued.swap(0, Ordering::AcqRel);
            self.taken += n;
            n as usize
        }
        fn tick(&mut self) {}
        fn next_wake(&self) -> Instant {
            Instant::now() + Duration::from_secs(3600)
        }
        fn control(&mut self, control: Control, _deadline: Instant) -> u64 {
            if let Some(stuck) = self.stuck {
                std::thread::sleep(stuck);
            }
            match control {
                Control::Discard => 0,
                _ => self.taken,
            }
        }
    }

    #[test]
    fn an_answer_covers_what_was_queued_before_the_request() {
        let queued = Arc::new(AtomicU64::new(0));
        let worker = Worker::spawn(
            "test-worker",
            Counting {
                queued: Arc::clone(&queued),
                taken: 0,
                stuck: None,
            },
        )
        .expect("spawn");
        queued.fetch_add(5, Ordering::AcqRel);
        assert_eq!(worker.ask(Control::Flush, Duration::from_secs(5)), Some(5));
        queued.fetch_add(2, Ordering::AcqRel);
        assert_eq!(worker.stop(Duration::from_secs(5)), Some(7));
        assert!(worker.is_finished());
        assert_eq!(worker.ask(Control::Flush, Duration::from_millis(50)), None);
    }

    #[test]
    fn a_stuck_worker_holds_no_caller_past_its_deadline() {
        let worker = Worker::spawn(
            "test-worker",
            Counting {
                queued: Arc::new(AtomicU64::new(0)),
                taken: 0,
                stuck: Some(Duration::from_secs(3)),
            },
        )
        .expect("spawn");
        let started = Instant::now();
        assert_eq!(worker.ask(Control::Flush, Duration::from_millis(100)), None);
        assert_eq!(worker.stop(Duration::from_millis(100)), None);
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
        assert!(!worker.is_finished(), "left to finish on its own");
    }
}
