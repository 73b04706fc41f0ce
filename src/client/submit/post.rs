//! Posting the ingestion message, with lost answers re-posted at once.

use crate::client::IngestClient;
use crate::client::error::{Error, Result};
use crate::client::retry::RetryPolicy;
use crate::client::storage::{QueueMessage, SasUrl, Storage};

use super::MAX_ATTEMPTS;

/// What to do after one failed post.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AfterFailure {
    /// No answer came, so the message may have landed: post the same text again at once.
    RepostAtOnce,
    /// Refused, not applied (throttled, or it never connected): back off, then try again.
    BackOff,
    /// Give this queue up.
    NextQueue,
}

/// Whether a failed post may have been applied by the queue: the request went out and no
/// answer came back (reset, truncated reply, a 5xx, or no answer within the storage limit).
fn may_have_landed(e: &Error) -> bool {
    match e {
        Error::Throttled { .. } | Error::Unreachable(_) => false,
        Error::Timeout { kind, .. } => *kind != "connect",
        _ => e.is_transient(),
    }
}

/// The decision after `e` on `attempt` (from 1) of `max_attempts`; `timed_out` says an earlier
/// attempt on this queue already missed its deadline: a stalled queue gets one more try, not
/// every attempt (as `client::retry` does).
fn next(e: &Error, attempt: u32, max_attempts: u32, timed_out: bool) -> AfterFailure {
    let timeout = matches!(e, Error::Timeout { .. });
    if !(e.is_transient() || timeout) || attempt >= max_attempts.max(1) || (timeout && timed_out) {
        AfterFailure::NextQueue
    } else if may_have_landed(e) {
        AfterFailure::RepostAtOnce
    } else {
        AfterFailure::BackOff
    }
}

/// The client posts go through: one attempt per call (the back-off and the re-post decision
/// are made here), with the configured limits.
fn poster(storage: &Storage) -> Storage {
    storage.with_retry(RetryPolicy::none())
}

/// Posts the ingestion message: ranked queues, at most 3, each tried up to the retry policy's
/// attempts. Returns the answer, the queue that took it, and how many copies were re-posted
/// after a lost answer.
///
/// A post that got no answer (reset, timeout, truncated reply, a 5xx that may have been
/// applied) may have landed. It is posted again at once, the same text (same Id, same blob),
/// so both copies fall into the batch that is still open: the service ingests a blob once when
/// its copies share a batch (`BlobAlreadyReceived_BlobAlreadyFoundInBatch`, DOCS
/// `kusto/error-codes.md`), and the tracker counts the dropped copy as "ingested once".
/// Waiting out a back-off first could let the first copy's batch seal, and the blob would be
/// ingested twice. Throttling (429/503 ServerBusy) was refused, not applied: it backs off.
pub(crate) async fn post(
    client: &IngestClient,
    queues: &[SasUrl],
    text: &str,
) -> Result<(QueueMessage, SasUrl, u32)> {
    let policy = &client.storage().retry;
    let once = poster(client.storage());
    let mut reposts = 0;
    let mut maybe_landed = false;
    let mut last_err = None;
    for queue in queues.iter().take(MAX_ATTEMPTS) {
        let mut attempt = 1;
        let mut timed_out = false;
        loop {
            if maybe_landed {
                reposts += 1;
            }
            let e = match once.put_message(queue, text, None, None).await {
                Ok(m) => {
                    client.record_storage_result(&queue.account(), true);
                    return Ok((m, queue.clone(), reposts));
                }
                Err(e) => e,
            };
            let decision = next(&e, attempt, policy.max_attempts, timed_out);
            timed_out |= matches!(e, Error::Timeout { .. });
            maybe_landed |= may_have_landed(&e);
            match decision {
                AfterFailure::RepostAtOnce => {
                    tracing::warn!(queue = %queue, error = %e, "the answer to a post was lost; posting the same message again at once");
                }
                // Once a copy may have landed, no back-off: the next copy must reach the batch
                // the first one is in, before it seals.
                AfterFailure::BackOff if maybe_landed => {}
                AfterFailure::BackOff => tokio::time::sleep(policy.delay(attempt, &e)).await,
                AfterFailure::NextQueue => {
                    tracing::warn!(queue = %queue, error = %e, "posting the message failed; trying the next queue");
                    client.record_storage_result(&queue.account(), false);
                    last_err = Some(e);
                    break;
                }
            }
            attempt += 1;
        }
    }
    Err(last_err
        .unwrap_or_else(|| Error::MissingResource("the service offered no ingestion queue".into())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn timeout(kind: &'static str) -> Error {
        Error::Timeout {
            what: "no answer from q".into(),
            limit: Duration::from_secs(1),
            key: "storage_secs",
            kind,
        }
    }

    #[test]
    fn a_timed_out_post_may_have_landed_and_is_reposted_at_once() {
        let e = timeout("storage");
        assert!(may_have_landed(&e));
        assert_eq!(next(&e, 1, 4, false), AfterFailure::RepostAtOnce);
        // A second stall on the same queue: the next queue, not every attempt.
        assert_eq!(next(&e, 2, 4, true), AfterFailure::NextQueue);
    }

    #[test]
    fn a_post_that_never_connected_or_was_throttled_backs_off() {
        let e = timeout("connect");
        assert!(!may_have_landed(&e));
        assert_eq!(next(&e, 1, 4, false), AfterFailure::BackOff);
        let refused = Error::Unreachable("connection refused".into());
        assert!(!may_have_landed(&refused), "never sent, never applied");
        assert_eq!(next(&refused, 1, 4, false), AfterFailure::BackOff);
        let t = Error::Throttled { retry_after: None };
        assert!(!may_have_landed(&t));
        assert_eq!(next(&t, 1, 4, false), AfterFailure::BackOff);
        assert_eq!(next(&t, 4, 4, false), AfterFailure::NextQueue);
    }

    #[test]
    fn a_reset_is_reposted_and_a_refusal_moves_on() {
        let reset = Error::Transient("connection reset".into());
        assert_eq!(next(&reset, 1, 4, false), AfterFailure::RepostAtOnce);
        let refused = Error::Storage {
            status: 400,
            code: "InvalidInput".into(),
            message: "no".into(),
        };
        assert!(!may_have_landed(&refused));
        assert_eq!(next(&refused, 1, 4, false), AfterFailure::NextQueue);
    }

    #[test]
    fn posts_keep_the_configured_limits_with_one_attempt() {
        let limits = crate::client::deadline::Timeouts {
            storage: Duration::from_millis(1500),
            ..Default::default()
        };
        let storage =
            Storage::new(reqwest::Client::new(), RetryPolicy::default()).with_timeouts(limits);
        let once = poster(&storage);
        assert_eq!(once.timeouts, limits);
        assert_eq!(once.retry.max_attempts, 1);
    }
}
