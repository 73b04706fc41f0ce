//! Retries of transient ingest failures. The service retries a transient failure "in a limited
//! number of attempts" and reports each one as a failure with FailureStatus `Transient`
//! ("retry will be executed"); when the attempts run out it reports `Exhausted` ("several
//! retries also failed") with `General_RetryAttemptsExceeded`. The status row stays `Pending`
//! until the ingestion completes.
//!
//! Sources (dataexplorer-docs): `monitor-queued-ingestion.md` ("Transient failures are retried
//! internally in a limited number of attempts"), `kusto/api/netfx/kusto-ingest-client-status.md`
//! (FailureStatus meanings; "Status remains 'Pending' during the ingestion process"),
//! `error-codes.md` (`General_RetryAttemptsExceeded`). The docs give no attempt count or
//! back-off; the emulator's are settings.

use std::time::{Duration, Instant};

use chrono::Utc;

use futures::StreamExt;

use super::{
    CONCURRENT_SOURCES, Pending, ReportIds, Worker, fail, final_status, outcome_to_reports,
};
use crate::client::wire::{FailureStatus, IngestionMessage};
use crate::emulator::engine::IngestFailure;

/// How the DM retries transient failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetrySettings {
    /// Ingest attempts per source, the first included (1 = no retry).
    pub max_attempts: u32,
    /// Wait before the first retry; doubled for each further one, at most a minute.
    pub backoff: Duration,
}

impl Default for RetrySettings {
    fn default() -> Self {
        RetrySettings {
            max_attempts: 3,
            backoff: Duration::from_secs(1),
        }
    }
}

const MAX_BACKOFF: Duration = Duration::from_secs(60);

impl RetrySettings {
    /// The wait after failed attempt number `attempt` (1-based).
    pub fn backoff_after(&self, attempt: u32) -> Duration {
        let factor = 1u32 << attempt.saturating_sub(1).min(16);
        self.backoff.saturating_mul(factor).min(MAX_BACKOFF)
    }

    /// The longest a source can spend waiting between attempts.
    pub fn total_backoff(&self) -> Duration {
        (1..self.max_attempts).map(|a| self.backoff_after(a)).sum()
    }
}

/// The final failure after `attempts` transient failures, the last being `last`.
pub fn exhausted(last: &IngestFailure, attempts: u32) -> IngestFailure {
    fail(
        "General_RetryAttemptsExceeded",
        FailureStatus::Exhausted,
        format!(
            "gave up after {attempts} attempt(s) failed transiently; last: {}: {}",
            last.error_code, last.details
        ),
    )
}

/// A source waiting for its next attempt.
#[derive(Debug, Clone)]
pub struct Waiting {
    pub pending: Pending,
    /// Attempts made so far.
    pub attempts: u32,
    pub due: Instant,
    pub operation_id: String,
}

#[derive(Debug, Default)]
pub struct Retries {
    items: Vec<Waiting>,
}

impl Retries {
    pub fn push(&mut self, w: Waiting) {
        self.items.push(w);
    }

    /// A redelivered copy of a waiting message: keep the fresh pop receipt, do not batch it.
    pub fn refresh(&mut self, message_id: &str, pop_receipt: &str) -> bool {
        match self
            .items
            .iter_mut()
            .find(|w| w.pending.message_id == message_id)
        {
            Some(w) => {
                w.pending.pop_receipt = pop_receipt.to_string();
                true
            }
            None => false,
        }
    }

    pub fn take_due(&mut self, now: Instant) -> Vec<Waiting> {
        let (due, keep) = std::mem::take(&mut self.items)
            .into_iter()
            .partition(|w| w.due <= now);
        self.items = keep;
        due
    }

    pub fn next_due(&self, now: Instant) -> Option<Duration> {
        self.items
            .iter()
            .map(|w| w.due.saturating_duration_since(now))
            .min()
    }
}

/// How an attempt ended.
pub(super) enum Attempted {
    /// Failed transiently with attempts left: wait, then try again.
    Retry(Box<Waiting>),
    /// Finished (whatever the result) and its message deleted.
    Done { message_id: String },
}

impl Worker {
    /// Makes the attempts, [`CONCURRENT_SOURCES`] at a time, then books their outcomes.
    pub(super) async fn attempt_all(&mut self, due: Vec<(Pending, u32, String)>) {
        if due.is_empty() {
            return;
        }
        let this = &*self;
        let outcomes: Vec<Attempted> = futures::stream::iter(due)
            .map(|(p, attempt, operation_id)| this.attempt(p, attempt, operation_id))
            .buffer_unordered(CONCURRENT_SOURCES)
            .collect()
            .await;
        for outcome in outcomes {
            match outcome {
                Attempted::Retry(w) => self.retries.push(*w),
                Attempted::Done { message_id } => self.redeliveries.release(&message_id),
            }
        }
    }

    /// Ingest attempt number `attempt` of one source: a transient failure with attempts left
    /// is reported as `Transient` and retried later; otherwise the source is finished.
    async fn attempt(&self, p: Pending, attempt: u32, operation_id: String) -> Attempted {
        if attempt == 1 && self.cfg.bulk.drop_if_canceled(&p.msg.id) {
            self.delete_message(&p.queue, &p.message_id, &p.pop_receipt)
                .await;
            return Attempted::Done {
                message_id: p.message_id,
            };
        }
        let ids = ReportIds {
            operation_id: operation_id.clone(),
            activity_id: uuid::Uuid::new_v4().to_string(),
        };
        let (mut result, blob) = self.ingest_one(&p.msg, attempt).await;
        if let Err(f) = &result
            && f.status == FailureStatus::Transient
        {
            if attempt < self.cfg.retry.max_attempts {
                let wait = self.cfg.retry.backoff_after(attempt);
                tracing::info!(source_id = %p.msg.id, attempt, ?wait, code = %f.error_code, "transient failure; retrying");
                self.report_transient(&p.msg, f, &ids).await;
                return Attempted::Retry(Box::new(Waiting {
                    pending: p,
                    attempts: attempt,
                    due: Instant::now() + wait,
                    operation_id,
                }));
            }
            // The last attempt: no retry follows, so no Transient report either.
            result = Err(exhausted(f, attempt));
        }
        tracing::info!(
            source_id = %p.msg.id,
            attempt,
            status = %final_status(&result),
            "source processed"
        );
        self.finish(&p.msg, result, &ids, blob.as_ref()).await;
        self.delete_message(&p.queue, &p.message_id, &p.pop_receipt)
            .await;
        Attempted::Done {
            message_id: p.message_id,
        }
    }

    /// A `Transient` failure notification (per the ReportLevel/Method) and a failure record;
    /// the status row stays Pending.
    async fn report_transient(&self, msg: &IngestionMessage, f: &IngestFailure, ids: &ReportIds) {
        self.cfg.metrics.ingest_result("Transient");
        let reports = outcome_to_reports(msg, &Err(f.clone()), ids, Utc::now());
        if let Some(rec) = reports.failure {
            self.engine().record_failure(rec);
        }
        if let Some((kind, n)) = &reports.notification {
            self.post(*kind, n).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::dm::tests::pending;

    #[test]
    fn backoff_doubles_up_to_a_cap() {
        let s = RetrySettings {
            max_attempts: 4,
            backoff: Duration::from_millis(100),
        };
        assert_eq!(s.backoff_after(1), Duration::from_millis(100));
        assert_eq!(s.backoff_after(3), Duration::from_millis(400));
        assert_eq!(s.total_backoff(), Duration::from_millis(700));
        let big = RetrySettings {
            max_attempts: 40,
            backoff: Duration::from_secs(50),
        };
        assert_eq!(big.backoff_after(30), MAX_BACKOFF);
    }

    #[test]
    fn waiting_sources_come_due_and_take_redeliveries() {
        let t0 = Instant::now();
        let mut r = Retries::default();
        r.push(Waiting {
            pending: pending("1", "Events", false),
            attempts: 1,
            due: t0 + Duration::from_secs(2),
            operation_id: "op".into(),
        });
        assert!(r.refresh("m-1", "fresh"));
        assert!(!r.refresh("m-2", "x"));
        assert_eq!(r.next_due(t0), Some(Duration::from_secs(2)));
        assert!(r.take_due(t0).is_empty());
        let due = r.take_due(t0 + Duration::from_secs(2));
        assert_eq!(due[0].pending.pop_receipt, "fresh");
        assert_eq!(r.next_due(t0), None);
    }

    #[test]
    fn exhausted_keeps_the_last_cause() {
        let f = fail(
            "General_InternalServerError",
            FailureStatus::Transient,
            "boom",
        );
        let e = exhausted(&f, 3);
        assert_eq!(e.error_code, "General_RetryAttemptsExceeded");
        assert_eq!(e.status, FailureStatus::Exhausted);
        assert!(
            e.details.contains("General_InternalServerError: boom"),
            "{}",
            e.details
        );
    }
}
