//! The delivery policy: what becomes of a batch after one attempt, as a pure function of the
//! attempt's outcome, the batch, how many attempts in a row failed, how old the batch is, and a
//! random number. No clock, no I/O, no lock: the pipeline asks, then does what it is told, and
//! the table tests below need no receiver.
//!
//! - Accepted: the batch is done (the events the receiver refused one by one, if any, are
//!   counted as refused by the caller; the rest are receipted).
//! - Refused for good (400, 404, 422, a non-retryable gRPC code, an encoding failure): dropped,
//!   with the answer as its cause.
//! - Too large (413) with more than one event: split in two, each half tried on its own; a
//!   single event the receiver finds too large is refused for good.
//! - Anything else that keeps the batch (a redirect, 401, 403, 408, 429, 5xx, a retryable gRPC
//!   code, no answer at all): kept, whatever the number of attempts, and tried again after a
//!   backoff with full jitter, never sooner than the receiver's `Retry-After`; only the spool's
//!   age cap ends it, so an outage or an overload loses nothing that is younger than the cap.

use std::time::Duration;

use crate::drops::DropCause;
use crate::retry::MAX_RETRY_AFTER;
use crate::sink::{Failure, Outcome};

/// What to do with a batch after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// The receiver took it: remove it.
    Done,
    /// Keep it and try again after this long.
    RetryAfter(Duration),
    /// Split it in two and try each half.
    Split,
    /// Drop it for good, counted under this cause.
    Drop(DropCause),
}

/// One attempt, as the policy sees it.
#[derive(Debug, Clone, Copy)]
pub struct Attempt<'a> {
    /// What the sink reported.
    pub outcome: &'a Outcome,
    /// Events in the batch.
    pub events: usize,
    /// Attempts that failed in a row before this one (0 for the first).
    pub failures: u32,
    /// How long the batch has waited since it was written.
    pub age: Duration,
}

/// The policy's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// The first retry waits up to this long; each further one up to twice as long.
    pub backoff_base: Duration,
    /// No retry waits longer than this, unless the receiver asks for longer (up to
    /// [`MAX_RETRY_AFTER`]).
    pub backoff_max: Duration,
    /// A batch this old is not kept any longer (the spool's age cap).
    pub max_age: Duration,
}

impl Policy {
    /// What to do after `attempt`; `random` is a number in `[0, 1)` that spreads retries.
    pub fn decide(&self, attempt: &Attempt<'_>, random: f64) -> Action {
        match attempt.outcome {
            Outcome::Delivered { .. } => Action::Done,
            Outcome::Reject { failure, .. } => Action::Drop(DropCause::Refused(*failure)),
            Outcome::Retry {
                failure: Failure::Status(413),
                ..
            } if attempt.events > 1 => Action::Split,
            Outcome::Retry {
                failure: failure @ Failure::Status(413),
                ..
            } => Action::Drop(DropCause::Refused(*failure)),
            Outcome::Retry { after, .. } => {
                if attempt.age >= self.max_age {
                    return Action::Drop(DropCause::SpoolCaps);
                }
                Action::RetryAfter(self.delay(attempt.failures, *after, random))
            }
        }
    }

    /// The wait before the next attempt after `failures` failed ones in a row: full jitter,
    /// random in `[0, min(max, base·2ⁿ)]` (at least a millisecond), so clients that failed
    /// together do not come back together. A `Retry-After` (capped at [`MAX_RETRY_AFTER`]) is
    /// a floor: the wait is the server's delay plus a random share of it, up to as long again.
    pub fn delay(&self, failures: u32, retry_after: Option<Duration>, random: f64) -> Duration {
        let random = if random.is_finite() {
            random.clamp(0.0, 1.0)
        } else {
            0.5
        };
        let max = self.backoff_max.max(self.backoff_base);
        let ceiling = self
            .backoff_base
            .saturating_mul(1u32 << failures.min(20))
            .min(max);
        let jittered = ceiling.mul_f64(random);
        match retry_after {
            Some(after) => {
                let after = after.min(MAX_RETRY_AFTER);
                after + jittered.min(after)
            }
            None => jittered.max(Duration::from_millis(1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::Refusals;

    const POLICY: Policy = Policy {
        backoff_base: Duration::from_millis(500),
        backoff_max: Duration::from_secs(60),
        max_age: Duration::from_secs(7 * 86_400),
    };

    fn retry(failure: Failure, after: Option<Duration>) -> Outcome {
        Outcome::Retry {
            failure,
            reason: String::new(),
            after,
        }
    }

    fn decide(outcome: &Outcome, events: usize, failures: u32, age: Duration) -> Action {
        POLICY.decide(
            &Attempt {
                outcome,
                events,
                failures,
                age,
            },
            0.5,
        )
    }

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn every_outcome_has_one_action() {
        let delivered = Outcome::Delivered {
            bytes: 10,
            refused: Refusals::default(),
        };
        let rejected = Outcome::Reject {
            failure: Failure::Status(422),
            reason: String::new(),
        };
        let table: Vec<(Outcome, usize, Action)> = vec![
            (delivered, 5, Action::Done),
            (
                rejected,
                5,
                Action::Drop(DropCause::Refused(Failure::Status(422))),
            ),
            (retry(Failure::Status(413), None), 5, Action::Split),
            (
                retry(Failure::Status(413), None),
                1,
                Action::Drop(DropCause::Refused(Failure::Status(413))),
            ),
        ];
        for (outcome, events, expected) in table {
            assert_eq!(decide(&outcome, events, 0, HOUR), expected, "{outcome:?}");
        }
    }

    #[test]
    fn what_keeps_a_batch_keeps_it_whatever_the_number_of_attempts() {
        for failure in [
            Failure::Status(301),
            Failure::Status(308),
            Failure::Status(401),
            Failure::Status(403),
            Failure::Status(408),
            Failure::Status(429),
            Failure::Status(500),
            Failure::Status(503),
            Failure::Status(504),
            Failure::Grpc(14),
            Failure::Grpc(8),
            Failure::Connect,
            Failure::Tls,
            Failure::Timeout,
            Failure::Network,
        ] {
            for failures in [0, 9, 10, 11, 1_000, u32::MAX] {
                let action = decide(&retry(failure, None), 512, failures, HOUR);
                assert!(
                    matches!(action, Action::RetryAfter(d) if d <= POLICY.backoff_max),
                    "{failure} after {failures} failures: {action:?}"
                );
            }
        }
    }

    #[test]
    fn only_the_age_cap_ends_a_batch_the_receiver_keeps_deferring() {
        let answer = retry(Failure::Status(503), Some(Duration::from_secs(2)));
        let just_under = POLICY.max_age - Duration::from_secs(1);
        assert!(matches!(
            decide(&answer, 3, 50, just_under),
            Action::RetryAfter(_)
        ));
        assert_eq!(
            decide(&answer, 3, 50, POLICY.max_age),
            Action::Drop(DropCause::SpoolCaps)
        );
    }

    #[test]
    fn backoff_grows_with_full_jitter_and_stays_capped() {
        for failures in 0..40u32 {
            let ceiling = POLICY
                .backoff_base
                .saturating_mul(1 << failures.min(20))
                .min(POLICY.backoff_max);
            assert_eq!(POLICY.delay(failures, None, 0.0), Duration::from_millis(1));
            assert_eq!(POLICY.delay(failures, None, 1.0), ceiling);
            let middle = POLICY.delay(failures, None, 0.5);
            assert!(
                middle <= ceiling / 2 + Duration::from_millis(1),
                "{middle:?}"
            );
        }
        // Garbage from the random source only narrows the spread.
        assert!(POLICY.delay(3, None, f64::NAN) <= POLICY.backoff_max);
    }

    #[test]
    fn retry_after_is_a_floor_spread_by_up_to_as_long_again_and_capped() {
        let two = Duration::from_secs(2);
        for failures in [0, 5, 30] {
            for random in [0.0, 0.3, 0.999] {
                let wait = POLICY.delay(failures, Some(two), random);
                assert!(wait >= two && wait <= 2 * two, "{wait:?}");
            }
        }
        // Early on the spread is small: clients told "2 s" come back within 2.5 s.
        assert!(POLICY.delay(0, Some(two), 0.999) <= two + POLICY.backoff_base);
        let asked_a_day = POLICY.delay(0, Some(Duration::from_secs(86_400)), 0.0);
        assert_eq!(asked_a_day, MAX_RETRY_AFTER);
    }
}
