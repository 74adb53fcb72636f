//! Exponential backoff with full jitter, bounded by a number of attempts and
//! a total time budget.
//!
//! Full jitter (a uniform delay in `[0, min(max_delay, base * 2^n)]`) keeps
//! several gild builds that hit the same busy vCenter from retrying in
//! lock-step. The budget is checked before sleeping, so a retry never
//! starts after `max_total` has passed.

use rand::Rng;
use std::time::{Duration, Instant};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first one included (1 = never retry).
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// No retry starts at or after this long since the first attempt.
    pub max_total: Duration,
}

impl Default for RetryPolicy {
    /// Eight attempts: a vCenter shedding load can answer 503 to a fifth
    /// of the calls for minutes, and a build makes hundreds. At a quarter
    /// of calls failing (503s plus dropped connections) five attempts lose
    /// one call in a thousand, which sinks about one build in three; eight
    /// lose one in 65 000. The delays (full jitter, 250 ms doubling to 8 s)
    /// add up to 12 s on average for all seven retries, well inside the
    /// 60 s budget that still ends the wait on a vCenter that is down.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
            max_total: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// One attempt, no retry.
    pub fn never() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::instant(1)
        }
    }

    /// `attempts` tries with no waiting in between, for tests.
    pub fn instant(attempts: u32) -> Self {
        RetryPolicy {
            max_attempts: attempts.max(1),
            base_delay: Duration::ZERO,
            max_delay: Duration::ZERO,
            max_total: Duration::from_secs(3600),
        }
    }

    /// The ceiling of the delay before retry number `retry` (0-based):
    /// `min(max_delay, base_delay * 2^retry)`.
    pub fn ceiling(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.min(30)).unwrap_or(u32::MAX);
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }

    /// A jittered delay in `[0, ceiling(retry)]`.
    pub fn delay(&self, retry: u32, rng: &mut impl Rng) -> Duration {
        let ceiling = self.ceiling(retry);
        if ceiling.is_zero() {
            return Duration::ZERO;
        }
        Duration::from_nanos(rng.gen_range(0..=ceiling.as_nanos().min(u64::MAX as u128) as u64))
    }

    pub fn start(&self) -> Backoff {
        Backoff {
            policy: self.clone(),
            retries: 0,
            started: Instant::now(),
        }
    }
}

/// The retry state of one call.
#[derive(Debug)]
pub struct Backoff {
    policy: RetryPolicy,
    retries: u32,
    started: Instant,
}

impl Backoff {
    /// The delay before the next attempt, or `None` when the attempts or the
    /// time budget are spent.
    pub fn next_delay(&mut self) -> Option<Duration> {
        if self.retries + 1 >= self.policy.max_attempts {
            return None;
        }
        let delay = self.policy.delay(self.retries, &mut rand::thread_rng());
        if self.started.elapsed() + delay >= self.policy.max_total {
            return None;
        }
        self.retries += 1;
        Some(delay)
    }

    /// Retries made so far.
    pub fn retries(&self) -> u32 {
        self.retries
    }

    /// Sleeps the next delay; false when no retry is left.
    pub async fn wait(&mut self) -> bool {
        match self.next_delay() {
            Some(d) => {
                if !d.is_zero() {
                    tokio::time::sleep(d).await;
                }
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn ceiling_doubles_from_base_and_stops_at_max_delay() {
        let p = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(700),
            max_total: Duration::from_secs(60),
        };
        assert_eq!(p.ceiling(0), Duration::from_millis(100));
        assert_eq!(p.ceiling(1), Duration::from_millis(200));
        assert_eq!(p.ceiling(2), Duration::from_millis(400));
        assert_eq!(p.ceiling(3), Duration::from_millis(700));
        assert_eq!(
            p.ceiling(60),
            Duration::from_millis(700),
            "huge retry counts must not overflow"
        );
    }

    #[test]
    fn jittered_delay_stays_within_its_ceiling() {
        let p = RetryPolicy::default();
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for retry in 0..12 {
            for _ in 0..50 {
                assert!(p.delay(retry, &mut rng) <= p.ceiling(retry));
            }
        }
    }

    #[test]
    fn backoff_gives_max_attempts_minus_one_retries() {
        let mut b = RetryPolicy::instant(3).start();
        assert_eq!(b.next_delay(), Some(Duration::ZERO));
        assert_eq!(b.next_delay(), Some(Duration::ZERO));
        assert_eq!(b.next_delay(), None);
        assert_eq!(b.retries(), 2);
        assert_eq!(RetryPolicy::never().start().next_delay(), None);
    }

    #[test]
    fn backoff_stops_when_the_total_budget_would_be_exceeded() {
        let p = RetryPolicy {
            max_attempts: 100,
            base_delay: Duration::from_secs(10),
            max_delay: Duration::from_secs(10),
            max_total: Duration::ZERO,
        };
        assert_eq!(p.start().next_delay(), None);
    }
}
