//! Posting the ingestion message, with lost answers re-posted at once.

use crate::client::IngestClient;
use crate::client::error::{Error, Result};
use crate::client::storage::SasUrl;

use super::MAX_ATTEMPTS;

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
pub(super) async fn post(
    client: &IngestClient,
    queues: &[SasUrl],
    text: &str,
) -> Result<(crate::client::storage::QueueMessage, SasUrl, u32)> {
    let policy = &client.storage().retry;
    // One attempt per call: the back-off and the re-post decision are made here.
    let once = crate::client::storage::Storage::new(
        client.storage().http.clone(),
        crate::client::retry::RetryPolicy::none(),
    );
    let mut reposts = 0;
    let mut maybe_landed = false;
    let mut last_err = None;
    for queue in queues.iter().take(MAX_ATTEMPTS) {
        let mut attempt = 1;
        loop {
            if maybe_landed {
                reposts += 1;
            }
            match once.put_message(queue, text, None, None).await {
                Ok(m) => {
                    client.record_storage_result(&queue.account(), true);
                    return Ok((m, queue.clone(), reposts));
                }
                Err(e) if e.is_transient() && attempt < policy.max_attempts.max(1) => {
                    if matches!(e, Error::Throttled { .. }) {
                        tokio::time::sleep(policy.delay(attempt, &e)).await;
                    } else {
                        tracing::warn!(queue = %queue, error = %e, "the answer to a post was lost; posting the same message again at once");
                        maybe_landed = true;
                    }
                    attempt += 1;
                }
                Err(e) => {
                    tracing::warn!(queue = %queue, error = %e, "posting the message failed; trying the next queue");
                    client.record_storage_result(&queue.account(), false);
                    if e.is_transient() && !matches!(e, Error::Throttled { .. }) {
                        maybe_landed = true;
                    }
                    last_err = Some(e);
                    break;
                }
            }
        }
    }
    Err(last_err
        .unwrap_or_else(|| Error::MissingResource("the service offered no ingestion queue".into())))
}
