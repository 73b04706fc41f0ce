//! `--mode managed`: streaming when the source is small enough, queued otherwise. The SDKs'
//! managed clients disagree on the details (research notes §2); this follows the documented
//! intent of the C# one (DOCS `kusto/api/get-started/app-managed-streaming-ingest.md`):
//! - too large for streaming (measured here, or the service's 413 / size codes) → queued;
//! - streaming unavailable (the cluster feature or the table's policy off) → queued;
//! - a transient failure (throttling, 5xx, `@permanent: false`, network) is retried, three
//!   attempts in all with jittered exponential back-off, then → queued;
//! - any other permanent refusal is the source's answer (queued would fail the same way).
//!
//! The submission records the path finally used (`Submitted::delivery`) and, when it went
//! queued, why (`Submitted::fallback`).

use crate::client::error::{Error, Result};
use crate::client::retry::RetryPolicy;
use crate::client::streaming::{self, Prepared};
use crate::client::submit::{self, SubmitRequest, Submitted};
use crate::client::{IngestClient, ProgressFn};

/// Streaming attempts before a transient failure sends the source to queued (the C# managed
/// client's three; PY `stop_after_attempt(3)`, NODE, JAVA v2 likewise).
pub const ATTEMPTS: u32 = 3;

/// What one round of streaming decided.
#[derive(Debug)]
enum Decision {
    Streamed(Box<Submitted>),
    /// Go queued, for this reason.
    Queue(String),
}

pub(crate) async fn submit(
    client: &IngestClient,
    mut req: SubmitRequest,
    progress: ProgressFn,
) -> Result<Submitted> {
    let source_id = *req.source_id.get_or_insert_with(uuid::Uuid::new_v4);
    let decision = match streaming::unstreamable(&req) {
        Some(why) => Decision::Queue(why),
        None => try_streaming(client, &req, source_id, &progress).await?,
    };
    match decision {
        Decision::Streamed(s) => Ok(*s),
        Decision::Queue(why) => {
            tracing::info!(source = %source_id, reason = %why, "managed: queued ingestion");
            let mut s = client
                .with_fresh_sas(|| submit::submit(client, req.clone(), progress.clone()))
                .await?;
            s.fallback = Some(why);
            Ok(s)
        }
    }
}

async fn try_streaming(
    client: &IngestClient,
    req: &SubmitRequest,
    source_id: uuid::Uuid,
    progress: &ProgressFn,
) -> Result<Decision> {
    let payload = match streaming::prepare(req).await? {
        Prepared::Fits(p) => p,
        Prepared::TooLarge(size) => return Ok(Decision::Queue(streaming::too_large_text(size))),
    };
    streaming::report(progress, source_id, &payload);
    let policy = RetryPolicy {
        max_attempts: ATTEMPTS,
        ..client.retry_policy().clone()
    };
    let mut attempt = 1;
    loop {
        let result = streaming::send(client, req, &payload).await;
        match next_step(result, attempt) {
            Step::Done(result) => {
                return streaming::submitted(req, source_id, &payload, result)
                    .map(|s| Decision::Streamed(Box::new(s)));
            }
            Step::Queue(why) => return Ok(Decision::Queue(why)),
            Step::Retry(e) => {
                let wait = policy.delay(attempt, &e);
                tracing::warn!(attempt, error = %e, "managed: streaming failed transiently; trying again");
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
        }
    }
}

/// What to do after attempt `attempt` of a streaming request.
#[derive(Debug)]
enum Step {
    /// The engine's answer (success, or a permanent refusal that is final).
    Done(Result<u64>),
    Queue(String),
    Retry(Error),
}

fn next_step(result: Result<u64>, attempt: u32) -> Step {
    let e = match result {
        Ok(n) => return Step::Done(Ok(n)),
        Err(e) => e,
    };
    if let Some(why) = e.streaming_fallback() {
        return Step::Queue(format!("{why} ({e})"));
    }
    let transient = e.is_transient()
        || matches!(
            e,
            Error::Service {
                permanent: false,
                ..
            } | Error::Timeout { .. }
        );
    if !transient {
        return Step::Done(Err(e));
    }
    if attempt >= ATTEMPTS {
        return Step::Queue(format!(
            "streaming failed transiently {ATTEMPTS} times (last: {e})"
        ));
    }
    Step::Retry(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(status: u16, code: &str, permanent: bool) -> Result<u64> {
        Err(Error::Service {
            status,
            code: code.into(),
            message: "m".into(),
            permanent,
        })
    }

    #[test]
    fn the_documented_decisions() {
        assert!(matches!(next_step(Ok(3), 1), Step::Done(Ok(3))));
        // Size and availability go queued at once, whatever `@permanent` says.
        for (status, code) in [
            (413, "PayloadTooLarge"),
            (404, "StreamingIngestionFunctionalityDisabled"),
            (400, "BadRequest_StreamingIngestionPolicyNotEnabled"),
        ] {
            assert!(
                matches!(next_step(service(status, code, true), 1), Step::Queue(_)),
                "{code}"
            );
        }
        // Transient: retried, then queued after the last attempt.
        assert!(matches!(
            next_step(service(503, "ServiceUnavailable", false), 1),
            Step::Retry(_)
        ));
        assert!(matches!(
            next_step(Err(Error::Throttled { retry_after: None }), 2),
            Step::Retry(_)
        ));
        match next_step(service(500, "General_InternalServerError", false), ATTEMPTS) {
            Step::Queue(why) => assert!(why.contains("3 times"), "{why}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            next_step(service(400, "X", false), 1),
            Step::Retry(_)
        ));
        // Any other permanent refusal is the answer.
        assert!(matches!(
            next_step(service(400, "Stream_WrongNumberOfFields", true), 1),
            Step::Done(Err(_))
        ));
        assert!(matches!(
            next_step(Err(Error::Usage("x".into())), 1),
            Step::Done(Err(_))
        ));
    }
}
