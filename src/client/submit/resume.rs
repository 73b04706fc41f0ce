//! Reconciling submissions a run left unposted (killed mid-upload or mid-post): each one is
//! resumed from the blocks its blob already has, or given up locally with its orphan blob
//! named, so no source stays Pending forever. Run by `submit`, `status` and the TUI at start.

use chrono::Utc;

use crate::client::error::Error;
use crate::client::journal::{Journal, JournalRecord, Stage};
use crate::client::resources::ResourceKind;
use crate::client::submit::{Resume, SubmitRequest, Submitted, unchanged_since};
use crate::client::tracking::Tracker;
use crate::client::wire::ReportLevel;
use crate::client::{IngestClient, ProgressFn};

/// What became of one interrupted submission.
#[derive(Debug)]
pub enum Reconciled {
    /// Its upload was finished (reusing the staged blocks) and its message posted.
    Resumed {
        record: JournalRecord,
        submitted: Box<Submitted>,
    },
    /// Given up: final (Failed) in the journal, with why and the blob left behind.
    Abandoned { record: JournalRecord },
}

impl Reconciled {
    pub fn record(&self) -> &JournalRecord {
        match self {
            Reconciled::Resumed { record, .. } | Reconciled::Abandoned { record } => record,
        }
    }

    /// One line for a terminal (the caller sanitises it).
    pub fn describe(&self) -> String {
        match self {
            Reconciled::Resumed { record, submitted } => format!(
                "resumed the interrupted upload of {} (source {}): {} block(s) were already \
                 uploaded and not sent again; its message is posted",
                record.file,
                record.source_id,
                submitted.queued().map_or(0, |q| q.blocks_reused)
            ),
            Reconciled::Abandoned { record } => format!(
                "abandoned the interrupted submission of {} (source {}) locally: {}",
                record.file,
                record.source_id,
                record.tracker.error.details.as_deref().unwrap_or_default()
            ),
        }
    }
}

/// Resumes or abandons every unposted submission of `journal` whose process is gone.
pub async fn reconcile(
    client: &IngestClient,
    journal: &Journal,
    progress: ProgressFn,
) -> Vec<Reconciled> {
    let records = match journal.claim_interrupted() {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, path = %journal.path().display(), "cannot read the submission journal");
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for rec in records {
        let done = match resume(client, journal, &rec, progress.clone()).await {
            Ok(s) => {
                let record = posted(&rec, &s);
                Reconciled::Resumed {
                    record,
                    submitted: Box::new(s),
                }
            }
            Err(why) => Reconciled::Abandoned {
                record: abandoned(&rec, &why),
            },
        };
        if let Err(e) = journal.append(done.record()) {
            tracing::warn!(error = %e, path = %journal.path().display(), "journal append failed");
        }
        out.push(done);
    }
    out
}

/// Finishes the upload of `rec` and posts it, or says why it cannot.
async fn resume(
    client: &IngestClient,
    journal: &Journal,
    rec: &JournalRecord,
    progress: ProgressFn,
) -> Result<Submitted, String> {
    let u = rec.unfinished.as_ref().ok_or("it was posted")?;
    let blob = rec
        .blob
        .clone()
        .ok_or("it stopped before its upload began (no blob was written)")?;
    if u.stage == Stage::Posting {
        // No client can read the ingestion queue: whether the post landed cannot be known,
        // and posting again after its batch sealed would ingest it twice.
        return Err(format!(
            "it was interrupted while its message was posted: the post may or may not have \
             reached the service (re-posting could ingest it twice; submit it again with \
             --dedupe to be sure); blob: {blob}"
        ));
    }
    let orphan = |why: String| format!("{why}; orphan blob (in temporary storage): {blob}");
    let mut req = SubmitRequest::from_json(&u.request)
        .ok_or_else(|| orphan("its request could not be read back from the journal".into()))?;
    if req.from_stdin {
        return Err(orphan(
            "it was read from standard input, which cannot be read again: nothing to resume \
             from; submit it again"
                .into(),
        ));
    }
    if crate::client::submit::is_chunk_blob(&blob) {
        // A chunk's byte range is only known while the source is read, and chunks before it
        // were committed but never posted.
        return Err(orphan(
            "it was being split into chunks, which cannot be resumed: submit it again".into(),
        ));
    }
    if !unchanged_since(&req.path, u.file_len, u.file_mtime_ns) {
        return Err(orphan(format!(
            "{} changed or is gone since it was interrupted",
            req.path.display()
        )));
    }
    let resources = client
        .resources()
        .await
        .map_err(|e| orphan(format!("cannot ask the service for its containers: {e}")))?;
    let name = blob.rsplit('/').next().unwrap_or_default().to_string();
    let container = resources
        .of_kind(ResourceKind::TempStorage)
        .find(|c| c.child(&name).without_query() == blob)
        .ok_or_else(|| orphan("its container is no longer offered by the service".into()))?;
    let staged = match client
        .storage()
        .get_block_list(&container.child(&name))
        .await
    {
        Ok(list) => list.uncommitted,
        Err(Error::Storage { status: 404, .. }) => {
            return Err(
                "it was interrupted before any of its blocks reached storage (nothing to \
                 resume; no blob left behind)"
                    .into(),
            );
        }
        Err(e) => return Err(orphan(format!("its blob's blocks cannot be listed: {e}"))),
    };
    req.source_id = Some(
        uuid::Uuid::parse_str(&rec.source_id)
            .map_err(|_| orphan("its source id is not a UUID".into()))?,
    );
    req.resume = Some(Resume {
        blob: blob.clone(),
        staged,
    });
    req.journal = Some(journal.clone());
    client
        .submit(req, progress)
        .await
        .map_err(|e| orphan(format!("resuming it failed: {e}")))
}

/// The posted record of a resumed source, tracked as `submit` tracks a fresh one.
fn posted(rec: &JournalRecord, s: &Submitted) -> JournalRecord {
    let req = rec
        .unfinished
        .as_ref()
        .and_then(|u| SubmitRequest::from_json(&u.request));
    let (level, method, if_not_exists) = req
        .map(|r| (r.report_level, r.report_method, r.if_not_exists()))
        .unwrap_or((
            ReportLevel::FailuresAndSuccesses,
            crate::client::wire::ReportMethod::Queue,
            false,
        ));
    let now = Utc::now();
    let q = s.queued();
    JournalRecord {
        at: now,
        blob: q.map(|q| q.blob.without_query()),
        message_id: q.map(|q| q.message_id.clone()),
        size: s.raw_data_size,
        tracker: s.tracker(level, method, if_not_exists, now),
        request: rec.unfinished.as_ref().map(|u| u.request.clone()),
        file_len: rec.unfinished.as_ref().map(|u| u.file_len),
        file_mtime_ns: rec.unfinished.as_ref().and_then(|u| u.file_mtime_ns),
        unfinished: None,
        ..rec.clone()
    }
}

fn abandoned(rec: &JournalRecord, why: &str) -> JournalRecord {
    let now = Utc::now();
    JournalRecord {
        at: now,
        tracker: Tracker::abandoned(rec.source_id.clone(), why.to_string(), now),
        unfinished: None,
        ..rec.clone()
    }
}
