//! When a value was recorded: read on the host's thread as cheaply as the machine allows, and
//! turned into wall-clock time on Candor's worker.
//!
//! Reading the wall clock costs a host about as much as everything else `record` does
//! together. Where the kernel itself keeps time with the processor's cycle counter (Linux on
//! x86-64 with the `tsc` clock source, which the kernel uses only when the counter is
//! invariant and the same on every core), the host reads only that counter; the worker later
//! counts back from a wall-clock reading of its own, at the counter's rate measured since the
//! product started. The error is the jitter between two clock readings (well under a
//! microsecond), far inside the millisecond an event's time promises. Everywhere else the
//! host reads the wall clock itself.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// What the host reads: counter cycles, or nanoseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Reading(u64);

/// How the host reads the time, chosen once when the product starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RecordClock {
    /// The processor's cycle counter (turned into time by [`Calibration`]).
    Cycles,
    /// The wall clock.
    Wall,
}

impl RecordClock {
    /// The cycle counter where the kernel keeps time with it, else the wall clock.
    pub(crate) fn detect() -> Self {
        if cycles_keep_time() {
            Self::Cycles
        } else {
            Self::Wall
        }
    }

    /// Now, as cheaply as this clock reads it.
    #[inline]
    pub(crate) fn now(self) -> Reading {
        match self {
            Self::Cycles => Reading(cycles()),
            Self::Wall => Reading(nanos_since_epoch(SystemTime::now())),
        }
    }
}

/// Turns readings into wall-clock times, on the worker.
#[derive(Debug)]
pub(crate) struct Calibration {
    clock: RecordClock,
    /// A reading of the counter and the monotonic clock when the product started.
    origin: (u64, Instant),
    /// The latest reading of the counter with the wall and monotonic clocks.
    anchor: (u64, SystemTime, Instant),
}

impl Calibration {
    pub(crate) fn new(clock: RecordClock) -> Self {
        let now = Instant::now();
        let count = counter_for(clock);
        Self {
            clock,
            origin: (count, now),
            anchor: (count, SystemTime::now(), now),
        }
    }

    /// Takes a fresh anchor: readings taken before now are counted back from it.
    pub(crate) fn refresh(&mut self) {
        if self.clock == RecordClock::Cycles {
            self.anchor = (cycles(), SystemTime::now(), Instant::now());
        }
    }

    /// The wall-clock time of `reading`, taken earlier on some host thread.
    pub(crate) fn time_of(&mut self, reading: Reading) -> SystemTime {
        match self.clock {
            RecordClock::Wall => UNIX_EPOCH + Duration::from_nanos(reading.0),
            RecordClock::Cycles => {
                if reading.0 >= self.anchor.0 {
                    // Read after the anchor: take a new one, so every reading is counted back
                    // from a later one.
                    self.refresh();
                }
                let (count, wall, at) = self.anchor;
                let elapsed = at.saturating_duration_since(self.origin.1).as_nanos() as f64;
                let cycles_elapsed = count.saturating_sub(self.origin.0) as f64;
                if elapsed <= 0.0 || cycles_elapsed <= 0.0 {
                    return wall;
                }
                let back = count.saturating_sub(reading.0) as f64 * (elapsed / cycles_elapsed);
                wall.checked_sub(Duration::from_nanos(back as u64))
                    .unwrap_or(wall)
            }
        }
    }
}

fn counter_for(clock: RecordClock) -> u64 {
    match clock {
        RecordClock::Cycles => cycles(),
        RecordClock::Wall => 0,
    }
}

fn nanos_since_epoch(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

#[cfg(target_arch = "x86_64")]
#[inline]
fn cycles() -> u64 {
    safe_arch::read_timestamp_counter()
}

#[cfg(not(target_arch = "x86_64"))]
fn cycles() -> u64 {
    0
}

/// Whether the kernel keeps time with the cycle counter (and so vouches for it: invariant,
/// and the same on every core).
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
fn cycles_keep_time() -> bool {
    use std::io::Read;
    let mut source = [0u8; 16];
    std::fs::File::open("/sys/devices/system/clocksource/clocksource0/current_clocksource")
        .and_then(|mut f| f.read(&mut source))
        .is_ok_and(|n| source[..n].trim_ascii() == b"tsc")
}

#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
fn cycles_keep_time() -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apart(a: SystemTime, b: SystemTime) -> Duration {
        a.duration_since(b).unwrap_or_else(|e| e.duration())
    }

    /// Readings taken now and counted back later land within a millisecond of the wall
    /// clock read beside them, on whichever clock this machine uses (and on both where it
    /// can).
    #[test]
    fn readings_turn_into_the_wall_clock_time_to_the_millisecond() {
        let mut clocks = vec![RecordClock::Wall];
        if RecordClock::detect() == RecordClock::Cycles {
            clocks.push(RecordClock::Cycles);
        }
        for clock in clocks {
            let mut calibration = Calibration::new(clock);
            let mut taken = Vec::new();
            for _ in 0..5 {
                let reading = clock.now();
                taken.push((reading, SystemTime::now()));
                std::thread::sleep(Duration::from_millis(15));
            }
            // Counted back long after, and out of order.
            std::thread::sleep(Duration::from_millis(50));
            for (reading, wall) in taken.into_iter().rev() {
                let time = calibration.time_of(reading);
                assert!(
                    apart(time, wall) < Duration::from_millis(1),
                    "{clock:?}: {time:?} against {wall:?}"
                );
            }
        }
    }
}
