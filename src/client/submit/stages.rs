//! The journal records a submit writes before it is posted: one before each upload attempt
//! and one before the post, so a run that dies meanwhile leaves what the next run reconciles
//! (`resume`); a submit that fails after its upload started is recorded abandoned.

use crate::client::storage::SasUrl;

/// The journal records of one submit before it is posted (see [`JournalRecord::unfinished`]).
#[derive(Default)]
pub(super) struct Stages {
    pub(super) journal: Option<crate::client::journal::Journal>,
    /// The record as last written; `None` until the upload starts.
    pub(super) written: Option<crate::client::journal::JournalRecord>,
}

impl Stages {
    fn write(&mut self, rec: crate::client::journal::JournalRecord) {
        if let Some(j) = &self.journal
            && let Err(e) = j.append(&rec)
        {
            tracing::warn!(error = %e, path = %j.path().display(), "journal append failed");
        }
        self.written = Some(rec);
    }

    /// Records the stage the submit enters, for the blob it writes to.
    pub(super) fn mark(&mut self, stage: crate::client::journal::Stage, blob: &SasUrl) {
        let Some(mut rec) = self.written.clone() else {
            return;
        };
        rec.at = chrono::Utc::now();
        rec.blob = Some(blob.without_query());
        if let Some(u) = rec.unfinished.as_mut() {
            u.stage = stage;
        }
        self.write(rec);
    }

    /// A submit that failed after its upload started: final, naming the blob left behind.
    pub(super) fn abandon(&mut self, why: &str) {
        let Some(mut rec) = self.written.take() else {
            return;
        };
        let blob = rec.blob.clone().unwrap_or_default();
        // A post that got no answer may have landed: say so rather than "not posted".
        let posting = rec
            .unfinished
            .as_ref()
            .is_some_and(|u| u.stage == crate::client::journal::Stage::Posting);
        let post = if posting {
            "its message may or may not have reached the service"
        } else {
            "nothing was posted"
        };
        rec.at = chrono::Utc::now();
        rec.unfinished = None;
        rec.tracker = crate::client::tracking::Tracker::abandoned(
            rec.source_id.clone(),
            format!("{why}; {post}; blob (in temporary storage): {blob}"),
            rec.at,
        );
        self.write(rec);
    }
}

/// A test-only crash point: `KINGEST_TEST_CRASH_AT=block:N` kills the process (no clean-up,
/// as `kill -9`) once N blocks are uploaded, `post` just before the message is posted.
/// Debug builds only.
#[cfg(debug_assertions)]
pub(super) fn crash_point(at: &str) {
    if std::env::var("KINGEST_TEST_CRASH_AT").is_ok_and(|v| v == at) {
        std::process::abort();
    }
}
