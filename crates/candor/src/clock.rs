//! When a value was recorded: read on the host's thread as cheaply as the machine allows.
//!
//! Reading the precise wall clock costs a host more than everything else `record` does
//! together (a cycle-counter read and the kernel's conversion: 20–40 ns on a virtual machine,
//! where the counter read alone is 10–20 ns). Where the kernel offers its coarse wall clock
//! (`CLOCK_REALTIME_COARSE` on Linux: the time of the last timer tick, read from memory the
//! kernel shares with the process, no counter and no system call), the host reads that
//! instead, at the cost of the tick's precision: 1 ms on a kernel built with 1000 ticks a
//! second, 4 ms with 250. Only a clock whose tick is at most [`MAX_TICK`] is taken;
//! everywhere else the host reads the precise wall clock. Usage data is counted in hours and
//! days; an event's time is written to the millisecond, and the promise is that it is never
//! later than the recording and at most one tick earlier. (A value recorded within a tick
//! after a withdrawal of consent is told apart from what came before by its ticket, and
//! stamped after the withdrawal: `ConsentWatch::stamp`.)

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The coarsest tick the host's clock may have.
pub(crate) const MAX_TICK: Duration = Duration::from_millis(10);

/// What the host reads: nanoseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Reading(u64);

impl Reading {
    /// The wall-clock time this reading stands for.
    pub(crate) fn time(self) -> SystemTime {
        UNIX_EPOCH + Duration::from_nanos(self.0)
    }
}

/// How the host reads the time, chosen once when the product starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RecordClock {
    /// The kernel's coarse wall clock (the last tick's time).
    Coarse,
    /// The precise wall clock.
    Wall,
}

impl RecordClock {
    /// The coarse clock where the kernel has one ticking at least every [`MAX_TICK`], else
    /// the precise wall clock.
    pub(crate) fn detect() -> Self {
        if coarse_tick().is_some_and(|tick| !tick.is_zero() && tick <= MAX_TICK) {
            Self::Coarse
        } else {
            Self::Wall
        }
    }

    /// Now, as cheaply as this clock reads it.
    #[inline]
    pub(crate) fn now(self) -> Reading {
        match self {
            Self::Coarse => Reading(coarse_nanos()),
            Self::Wall => Reading(nanos_since_epoch(SystemTime::now())),
        }
    }
}

fn nanos_since_epoch(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

#[cfg(target_os = "linux")]
fn coarse_tick() -> Option<Duration> {
    let res = rustix::time::clock_getres(rustix::time::ClockId::RealtimeCoarse);
    Some(Duration::new(
        u64::try_from(res.tv_sec).ok()?,
        u32::try_from(res.tv_nsec).ok()?,
    ))
}

#[cfg(not(target_os = "linux"))]
fn coarse_tick() -> Option<Duration> {
    None
}

#[cfg(target_os = "linux")]
#[inline]
fn coarse_nanos() -> u64 {
    let now = rustix::time::clock_gettime(rustix::time::ClockId::RealtimeCoarse);
    // A clock before 1970 reads as 1970 (the worker refuses nothing for it, and no real
    // machine's clock is there); past 2554 it saturates.
    u64::try_from(now.tv_sec)
        .unwrap_or(0)
        .saturating_mul(1_000_000_000)
        .saturating_add(u64::try_from(now.tv_nsec).unwrap_or(0))
}

#[cfg(not(target_os = "linux"))]
fn coarse_nanos() -> u64 {
    nanos_since_epoch(SystemTime::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reading is never later than the wall clock read right after it, and at most one tick
    /// earlier than the one read right before it, on whichever clock this machine uses (and
    /// on both where it can).
    #[test]
    fn a_reading_is_the_wall_clock_time_within_one_tick() {
        let mut clocks = vec![RecordClock::Wall];
        if RecordClock::detect() == RecordClock::Coarse {
            clocks.push(RecordClock::Coarse);
        }
        for clock in clocks {
            for _ in 0..50 {
                let before = SystemTime::now();
                let time = clock.now().time();
                let after = SystemTime::now();
                assert!(time <= after, "{clock:?}: {time:?} after {after:?}");
                let early = before.duration_since(time).unwrap_or(Duration::ZERO);
                assert!(early <= MAX_TICK, "{clock:?}: {early:?} early");
                std::thread::sleep(Duration::from_micros(700));
            }
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn linux_has_a_coarse_clock_ticking_often_enough() {
        // Linux kernels tick at 100–1000 Hz; a slower one would make `record` pay for the
        // precise clock, and this says so.
        assert_eq!(
            RecordClock::detect(),
            RecordClock::Coarse,
            "{:?}",
            coarse_tick()
        );
    }
}
