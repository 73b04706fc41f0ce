//! Retries for transient failures: exponential back-off with jitter, honouring Retry-After;
//! permanent errors fail at once.

use std::future::Future;
use std::time::Duration;

use crate::client::deadline::{self, Deadline};
use crate::client::error::{Error, Result};

#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Total attempts including the first.
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// `max_attempts` in all, the first retry after 50 ms, none later than `max_delay`: for a
    /// local emulator, where a retry need not wait for a real service to recover.
    pub fn quick(max_attempts: u32, max_delay: Duration) -> Self {
        RetryPolicy {
            max_attempts,
            base_delay: Duration::from_millis(50),
            max_delay,
        }
    }

    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..Default::default()
        }
    }

    /// The back-off ceiling for `attempt`: `base * 2^(attempt-1)`, capped by `max_delay`.
    fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.base_delay
            .checked_mul(factor)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }

    /// Delay before attempt `attempt + 1` (attempt counts from 1).
    ///
    /// A server's Retry-After is honoured as given, but never beyond `max_delay` so a bad header
    /// cannot stall the caller; otherwise full jitter: uniform in `[0, ceiling]`.
    pub fn delay(&self, attempt: u32, err: &Error) -> Duration {
        if let Some(after) = err.retry_after() {
            return after.min(self.max_delay);
        }
        let ceiling = self.ceiling(attempt);
        let max_ms = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::random_range(0..=max_ms))
    }

    /// Runs `op` until it succeeds, fails permanently, or attempts run out.
    pub async fn run<T, F, Fut>(&self, op: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        self.run_with_sleep(None, op, tokio::time::sleep).await
    }

    /// [`RetryPolicy::run`] for a request to `deadline`'s URL: a slow attempt and a long
    /// back-off are announced (`client::deadline`).
    pub async fn run_for<T, F, Fut>(&self, deadline: &Deadline, op: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        self.run_with_sleep(Some(deadline), op, tokio::time::sleep)
            .await
    }

    /// [`RetryPolicy::run`] with the sleep supplied, so tests can observe the back-off.
    async fn run_with_sleep<T, F, Fut, S, SFut>(
        &self,
        deadline: Option<&Deadline>,
        mut op: F,
        mut sleep: S,
    ) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
        S: FnMut(Duration) -> SFut,
        SFut: Future<Output = ()>,
    {
        let max_attempts = self.max_attempts.max(1);
        let mut attempt = 1;
        let mut timed_out = false;
        loop {
            let result = match deadline {
                Some(d) => deadline::announce_while(d, attempt, max_attempts, op()).await,
                None => op().await,
            };
            match result {
                Ok(v) => return Ok(v),
                // A stalled endpoint gets one more try, not every attempt: a stall then costs
                // at most twice its limit, while one lost connection (at-least-once delivery,
                // a dropped answer) does not fail the request.
                Err(e @ Error::Timeout { .. }) if timed_out || attempt >= max_attempts => {
                    return Err(e);
                }
                Err(e)
                    if (e.is_transient() || matches!(e, Error::Timeout { .. }))
                        && attempt < max_attempts =>
                {
                    timed_out |= matches!(e, Error::Timeout { .. });
                    let wait = self.delay(attempt, &e);
                    tracing::debug!(attempt, ?wait, error = %e, "retrying after transient failure");
                    if let Some(d) = deadline {
                        deadline::announce_retry(d, attempt, max_attempts, wait, &e);
                    }
                    sleep(wait).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    fn policy(max_attempts: u32) -> RetryPolicy {
        RetryPolicy {
            max_attempts,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
        }
    }

    fn transient() -> Error {
        Error::Transient("reset".into())
    }

    fn permanent() -> Error {
        Error::Storage {
            status: 404,
            code: "QueueNotFound".into(),
            message: "gone".into(),
        }
    }

    #[test]
    fn jittered_delay_stays_under_the_exponential_ceiling() {
        let p = policy(10);
        for attempt in 1..=40 {
            let ceiling = Duration::from_millis(100u64.saturating_mul(1 << (attempt - 1).min(20)))
                .min(Duration::from_millis(1000));
            assert_eq!(p.ceiling(attempt), ceiling, "attempt {attempt}");
            for _ in 0..50 {
                assert!(p.delay(attempt, &transient()) <= ceiling);
            }
        }
        assert_eq!(p.ceiling(0), Duration::from_millis(100));
        assert_eq!(p.ceiling(u32::MAX), Duration::from_millis(1000));
    }

    #[test]
    fn jitter_actually_varies() {
        let p = policy(10);
        let samples: std::collections::HashSet<_> =
            (0..200).map(|_| p.delay(5, &transient())).collect();
        assert!(samples.len() > 1);
    }

    #[test]
    fn retry_after_is_honoured_up_to_max_delay() {
        let p = policy(5);
        let t = |s| Error::Throttled {
            retry_after: Some(Duration::from_millis(s)),
        };
        assert_eq!(p.delay(1, &t(700)), Duration::from_millis(700));
        assert_eq!(p.delay(3, &t(0)), Duration::ZERO);
        assert_eq!(p.delay(1, &t(60_000)), Duration::from_millis(1000));
        let no_header = Error::Throttled { retry_after: None };
        assert!(p.delay(1, &no_header) <= Duration::from_millis(100));
    }

    /// Runs `p` over a scripted sequence of results, recording attempts and sleeps.
    async fn scripted(
        p: &RetryPolicy,
        script: Vec<Result<u32>>,
    ) -> (Result<u32>, usize, Vec<Duration>) {
        let script = RefCell::new(script.into_iter());
        let attempts = RefCell::new(0usize);
        let sleeps = RefCell::new(Vec::new());
        let out = p
            .run_with_sleep(
                None,
                || {
                    *attempts.borrow_mut() += 1;
                    let next = script.borrow_mut().next().unwrap_or(Ok(0));
                    async move { next }
                },
                |d| {
                    sleeps.borrow_mut().push(d);
                    async {}
                },
            )
            .await;
        (out, attempts.into_inner(), sleeps.into_inner())
    }

    #[tokio::test]
    async fn transient_failures_are_retried_until_success() {
        let (out, attempts, sleeps) =
            scripted(&policy(4), vec![Err(transient()), Err(transient()), Ok(7)]).await;
        assert_eq!(out.unwrap(), 7);
        assert_eq!(attempts, 3);
        assert_eq!(sleeps.len(), 2);
        assert!(sleeps[0] <= Duration::from_millis(100));
        assert!(sleeps[1] <= Duration::from_millis(200));
    }

    #[tokio::test]
    async fn a_timeout_gets_one_more_try_not_every_attempt() {
        let timeout = || Error::Timeout {
            what: "no answer from http://x".into(),
            limit: Duration::from_secs(1),
            key: "storage_secs",
            kind: "storage",
        };
        let (out, attempts, _) = scripted(&policy(6), vec![Err(timeout()), Ok(3)]).await;
        assert_eq!(out.unwrap(), 3, "a single stall is survived");
        assert_eq!(attempts, 2);
        let script = vec![Err(timeout()), Err(transient()), Err(timeout()), Ok(1)];
        let (out, attempts, _) = scripted(&policy(6), script).await;
        assert!(matches!(out, Err(Error::Timeout { .. })), "{out:?}");
        assert_eq!(attempts, 3, "the second timeout ends it");
    }

    #[tokio::test]
    async fn permanent_failure_stops_at_once() {
        let (out, attempts, sleeps) = scripted(&policy(4), vec![Err(permanent()), Ok(1)]).await;
        assert!(matches!(out, Err(Error::Storage { status: 404, .. })));
        assert_eq!(attempts, 1);
        assert!(sleeps.is_empty());
    }

    #[tokio::test]
    async fn attempts_run_out_with_the_last_error() {
        let script = vec![
            Err(transient()),
            Err(Error::Throttled {
                retry_after: Some(Duration::from_millis(300)),
            }),
            Err(Error::Transient("last".into())),
            Ok(1),
        ];
        let (out, attempts, sleeps) = scripted(&policy(3), script).await;
        assert!(matches!(out, Err(Error::Transient(m)) if m == "last"));
        assert_eq!(attempts, 3);
        assert_eq!(sleeps.len(), 2);
        assert_eq!(sleeps[1], Duration::from_millis(300));
    }

    #[tokio::test]
    async fn none_and_zero_mean_one_attempt() {
        for p in [RetryPolicy::none(), policy(0)] {
            let (out, attempts, _) = scripted(&p, vec![Err(transient()), Ok(1)]).await;
            assert!(out.is_err());
            assert_eq!(attempts, 1);
        }
    }

    #[tokio::test]
    async fn run_uses_the_real_sleep() {
        let p = RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
        };
        let mut calls = 0;
        let out = p
            .run(|| {
                calls += 1;
                let r = if calls < 3 {
                    Err(transient())
                } else {
                    Ok(calls)
                };
                async move { r }
            })
            .await;
        assert_eq!(out.unwrap(), 3);
    }
}
