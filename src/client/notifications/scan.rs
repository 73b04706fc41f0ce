//! A scan: read every notification of a kind, past the 32 a peek shows, into the inbox,
//! deleting nothing. It is a discard pass that takes nothing ([`pipeline`]): each receive hides
//! its messages for the estimated rest of the pass (a few seconds locally; renewed with `u` if
//! the pass runs long), the pass ends when receives bring nothing new, and then everything is
//! made visible at once where the SAS grants `u`, else when the short timeout lapses.
//!
//! What other clients notice, as Azure Queue Storage defines it: a receive (Get Messages)
//! makes the messages invisible for `visibilitytimeout` and raises their `DequeueCount`
//! (<https://learn.microsoft.com/rest/api/storageservices/get-messages>); Update Message with
//! `visibilitytimeout=0` makes one visible again and needs the `u` permission
//! (<https://learn.microsoft.com/rest/api/storageservices/update-message>,
//! <https://learn.microsoft.com/rest/api/storageservices/create-service-sas>); the approximate
//! count of Get Queue Metadata includes invisible messages
//! (<https://learn.microsoft.com/rest/api/storageservices/get-queue-metadata>), so it reads the
//! same during and after the scan. The emulator models all four (`emulator::storage::queue`,
//! `emulator::http::storage::queue`).

use std::collections::HashSet;
use std::path::Path;
use std::time::Instant;

use serde::Serialize;
use tokio::sync::Semaphore;

use super::{
    DiscardReport, DiscardSelector, MAX_PER_CALL, ReceivedNotification, census, grants_update,
    max_receives, pipeline, queue_kind, release, total_count,
};
use crate::client::IngestClient;
use crate::client::error::{Error, Result};
use crate::client::inbox::Inbox;
use crate::client::redact::redact;
use crate::client::storage::SasUrl;
use crate::client::wire::NotificationKind;

/// What a scan saw and how it handed the messages back. Plain fields (milliseconds, counts)
/// so `--json` prints it as it is.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ScanReport {
    /// Distinct messages received (and so recorded).
    pub seen: usize,
    /// Of `seen`: new to the inbox.
    pub new_in_inbox: usize,
    /// Of `seen`: in the inbox already (last seen and DequeueCount updated).
    pub updated_in_inbox: usize,
    /// Made visible again at the end with Update Message (`u` granted).
    pub released_now: usize,
    /// Every queue's SAS granted `u` (a real DM's notification SAS is `rp`: no).
    pub update_granted: bool,
    /// The rest are visible again within this long after the scan ended; `None`: none left.
    pub visible_again_within_ms: Option<u64>,
    /// The longest any message was hidden from other clients.
    pub longest_hidden_ms: u64,
    /// The queues' approximate count before (invisible messages included); `None`: unreadable.
    pub count_before: Option<u64>,
    /// Of `count_before`: at most this many were invisible (held by another client's receive)
    /// when the scan began, so it could not see them. `None`: unknown.
    pub invisible_before: Option<u64>,
    /// The approximate count after the scan (it deletes nothing: the same, unless other
    /// clients posted or deleted meanwhile).
    pub count_after: Option<u64>,
    /// `count_before` minus `seen`: messages the scan never received (in flight elsewhere,
    /// or beyond its receive limit).
    pub not_seen: Option<u64>,
    /// Everything counted before was seen.
    pub complete: bool,
    /// Why the pass stopped early, after it had seen something (what it saw is recorded).
    pub aborted: Option<String>,
    /// Recording into the inbox failed (the scan still released everything).
    pub inbox_error: Option<String>,
}

/// Receives every message of `kind` without deleting any, records them in `inbox` (if any),
/// and releases them. Recording happens after the release, so a slow disk does not keep
/// messages hidden.
pub(crate) async fn scan(
    client: &IngestClient,
    kind: NotificationKind,
    inbox: Option<&Inbox>,
) -> Result<ScanReport> {
    let queues: Vec<SasUrl> = client
        .resources()
        .await?
        .of_kind(queue_kind(kind))
        .cloned()
        .collect();
    if queues.is_empty() {
        return Err(Error::MissingResource(format!(
            "the service offered no {} queue",
            queue_kind(kind).name()
        )));
    }
    let update_granted = queues.iter().all(grants_update);
    let workers = client.discard_concurrency();
    let gate = Semaphore::new(workers);
    let t0 = Instant::now();
    let before = census(client, &queues).await;
    let count_before = before.map(|(count, _)| count);
    let per_call = MAX_PER_CALL * queues.len();
    // Matches nothing: every message received is held, then released.
    let nothing = DiscardSelector::MessageIds(HashSet::new());
    let plan = pipeline::Plan {
        kind,
        selector: &nothing,
        archive: Path::new(""),
        writer: None,
        gate: &gate,
        limit: usize::MAX,
        per_call,
        // A scan holds everything, so it needs as many receives as a pass that takes all.
        max_receives: max_receives(count_before, per_call, true),
        count_before,
        workers,
    };
    let start = DiscardReport {
        update_granted,
        passes: 1,
        ..Default::default()
    };
    let (held, mut pass, result) =
        pipeline::run(client, &plan, start, t0.elapsed().saturating_mul(2)).await;
    let mut seen: Vec<ReceivedNotification> = held.values().map(|h| h.msg.clone()).collect();
    seen.sort_by_key(|m| m.insertion_time);
    release(client, held, &mut pass, &gate).await;
    let aborted = match result {
        Err(e) if seen.is_empty() => return Err(e),
        Err(e) => Some(redact(&e.to_string())),
        Ok(()) => None,
    };
    let mut report = ScanReport {
        seen: seen.len(),
        released_now: pass.released_now,
        update_granted,
        visible_again_within_ms: pass.visible_again_within.map(|d| d.as_millis() as u64),
        longest_hidden_ms: pass.longest_hidden.as_millis() as u64,
        count_before,
        invisible_before: before.and_then(|(_, invisible)| invisible),
        count_after: total_count(client, &queues).await,
        not_seen: count_before.map(|c| c.saturating_sub(seen.len() as u64)),
        aborted,
        ..Default::default()
    };
    report.complete = report.aborted.is_none() && report.not_seen == Some(0);
    if let Some(inbox) = inbox {
        match inbox.record(&seen) {
            Ok(o) => {
                report.new_in_inbox = o.new;
                report.updated_in_inbox = o.updated;
            }
            Err(e) => report.inbox_error = Some(redact(&e.to_string())),
        }
    }
    Ok(report)
}
