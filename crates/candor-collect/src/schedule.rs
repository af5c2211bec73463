//! When to collect: once at first load, then every interval, moved by a random jitter so that a
//! fleet of machines started together does not report in step.

use std::time::{Duration, Instant};

use candor_schema::{CollectionSpec, Trigger};

/// Why a collection is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Occasion {
    /// The product was loaded.
    FirstLoad,
    /// The interval passed.
    Periodic,
}

/// The collection schedule. A host without an async runtime calls [`Schedule::due`] from its
/// own loop or timer; with the `tokio` feature, `Schedule::run` drives it.
#[derive(Debug, Clone)]
pub struct Schedule {
    first_load: bool,
    interval: Option<Duration>,
    jitter_percent: u8,
    next: Option<Instant>,
}

impl Schedule {
    /// The schedule a catalogue declares, starting at `now`.
    pub fn from_catalogue(collection: &CollectionSpec, now: Instant) -> Self {
        let interval = collection
            .triggers
            .contains(&Trigger::Periodic)
            .then_some(collection.interval_seconds)
            .flatten()
            .filter(|s| *s > 0)
            .map(Duration::from_secs);
        Self {
            first_load: collection.triggers.contains(&Trigger::FirstLoad),
            interval,
            jitter_percent: collection.jitter_percent.unwrap_or(0).min(50),
            next: Some(now),
        }
    }

    /// Replaces the interval (a demo shortens four hours to seconds).
    pub fn with_interval(mut self, interval: Duration) -> Self {
        self.interval = Some(interval.max(Duration::from_millis(1)));
        self
    }

    /// The interval, when the schedule is periodic.
    pub fn interval(&self) -> Option<Duration> {
        self.interval
    }

    /// When the next collection is due, or `None` when no more are.
    pub fn next_due(&self) -> Option<Instant> {
        self.next
    }

    /// The occasion due at `now`, if any; advances the schedule past it.
    pub fn due(&mut self, now: Instant) -> Option<Occasion> {
        let next = self.next?;
        if now < next {
            return None;
        }
        let occasion = if self.first_load {
            self.first_load = false;
            Occasion::FirstLoad
        } else {
            Occasion::Periodic
        };
        self.next = self
            .interval
            .map(|i| now + jittered(i, self.jitter_percent));
        // A product with no first-load trigger still waits one interval before its first run.
        if occasion == Occasion::FirstLoad || self.interval.is_some() {
            Some(occasion)
        } else {
            None
        }
    }

    /// Runs the schedule on tokio, calling `collect` at each occasion until `collect` returns
    /// false or no occasion is left.
    #[cfg(feature = "tokio")]
    pub async fn run(mut self, mut collect: impl FnMut(Occasion) -> bool) {
        while let Some(next) = self.next {
            tokio::time::sleep_until(next.into()).await;
            // tokio's clock, not std's: the two agree except when tokio's time is paused or
            // advanced (as in tests), and then only tokio's moves.
            if let Some(occasion) = self.due(tokio::time::Instant::now().into_std())
                && !collect(occasion)
            {
                return;
            }
        }
    }
}

/// `interval` moved by a random amount within ± `percent` %.
fn jittered(interval: Duration, percent: u8) -> Duration {
    if percent == 0 {
        return interval;
    }
    let mut bytes = [0u8; 8];
    // Without randomness the schedule is still correct, only in step with other machines.
    if getrandom::fill(&mut bytes).is_err() {
        return interval;
    }
    let unit = (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64; // [0, 1)
    let spread = f64::from(percent) / 100.0;
    interval.mul_f64(1.0 - spread + 2.0 * spread * unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(triggers: Vec<Trigger>, interval: Option<u64>, jitter: Option<u8>) -> CollectionSpec {
        CollectionSpec {
            triggers,
            schedule: "test".to_owned(),
            interval_seconds: interval,
            jitter_percent: jitter,
            install_id: false,
            deletion_key: candor_schema::DeletionKey::None,
        }
    }

    #[test]
    fn first_load_then_periodic_within_jitter() {
        let t0 = Instant::now();
        let mut s = Schedule::from_catalogue(
            &spec(
                vec![Trigger::FirstLoad, Trigger::Periodic],
                Some(14_400),
                Some(10),
            ),
            t0,
        );
        assert_eq!(s.due(t0), Some(Occasion::FirstLoad));
        assert_eq!(s.due(t0), None, "not due again at once");
        for _ in 0..50 {
            let next = s.next_due().expect("periodic");
            let gap = next.duration_since(t0);
            assert!(gap >= Duration::from_secs(12_960) && gap <= Duration::from_secs(15_840));
            let mut again = s.clone();
            assert_eq!(again.due(next), Some(Occasion::Periodic));
            s = Schedule::from_catalogue(
                &spec(
                    vec![Trigger::FirstLoad, Trigger::Periodic],
                    Some(14_400),
                    Some(10),
                ),
                t0,
            );
            s.due(t0);
        }
    }

    #[test]
    fn jitter_spreads_a_fleet() {
        let nexts: std::collections::BTreeSet<_> = (0..20)
            .map(|_| jittered(Duration::from_secs(14_400), 10))
            .collect();
        assert!(
            nexts.len() > 1,
            "twenty machines must not all report in step"
        );
    }

    #[test]
    fn usage_only_products_collect_once_at_load_or_never() {
        let t0 = Instant::now();
        let mut s = Schedule::from_catalogue(&spec(vec![Trigger::Usage], None, None), t0);
        assert_eq!(s.due(t0), None);
        assert_eq!(s.next_due(), None);
    }

    #[cfg(feature = "tokio")]
    #[tokio::test(start_paused = true)]
    async fn tokio_drives_the_schedule() {
        let s = Schedule::from_catalogue(
            &spec(
                vec![Trigger::FirstLoad, Trigger::Periodic],
                Some(14_400),
                Some(10),
            ),
            tokio::time::Instant::now().into_std(),
        );
        let mut seen = Vec::new();
        s.run(|o| {
            seen.push(o);
            seen.len() < 3
        })
        .await;
        assert_eq!(
            seen,
            vec![Occasion::FirstLoad, Occasion::Periodic, Occasion::Periodic]
        );
    }
}
