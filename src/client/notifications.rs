//! Success/failure notification queues: peek across all queues of a kind, receive with a
//! visibility timeout, delete by pop receipt. Undecodable messages are kept raw.

use chrono::{DateTime, Utc};

use crate::client::storage::SasUrl;
use crate::client::wire::{DecodedNotification, NotificationKind};

/// One message read from a notification queue.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedNotification {
    pub kind: NotificationKind,
    /// The queue it was read from (SAS kept for deleting; `Display` redacts).
    pub queue: SasUrl,
    pub message_id: String,
    /// Present only after a receive (consume); needed to delete.
    pub pop_receipt: Option<String>,
    pub dequeue_count: u32,
    pub insertion_time: Option<DateTime<Utc>>,
    pub decoded: DecodedNotification,
}

/// Which notifications a discard removes.
#[derive(Debug, Clone, PartialEq)]
pub enum DiscardSelector {
    /// Everything currently in the queues of that kind.
    All,
    /// Messages whose `IngestionSourceId` equals this.
    SourceId(String),
    /// These message ids (what the TUI shows selected or filtered).
    MessageIds(std::collections::HashSet<String>),
    /// Notifications of any of these sources (lower-case ids), e.g. this machine's journal.
    SourceIds(std::collections::HashSet<String>),
    /// At most this many, oldest first.
    Count(usize),
}

/// The result of a discard: what was archived and deleted, and what could not be.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DiscardReport {
    pub archived: usize,
    pub deleted: usize,
    /// Messages received but not matching (they reappear after the visibility timeout).
    pub released: usize,
    /// Per-message errors (message id, error text); those messages stay in the queue.
    pub errors: Vec<(String, String)>,
}

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::client::IngestClient;
use crate::client::error::{Error, Result};
use crate::client::redact::redact;
use crate::client::resources::ResourceKind;
use crate::client::wire::decode_notification;

/// Azure's per-call maximum for Get/Peek Messages.
pub const MAX_PER_CALL: usize = 32;
/// How long a received-but-not-matching message stays hidden during a discard.
const DISCARD_VISIBILITY: Duration = Duration::from_secs(30);
/// Upper bound of receive rounds in one discard (32 messages per queue each).
const MAX_DISCARD_ROUNDS: usize = 200;

fn queue_kind(kind: NotificationKind) -> ResourceKind {
    match kind {
        NotificationKind::Success => ResourceKind::SuccessfulIngestionsQueue,
        NotificationKind::Failure => ResourceKind::FailedIngestionsQueue,
    }
}

impl ReceivedNotification {
    /// Kusto's field names plus MessageId, DequeueCount, InsertionTime; the source path's SAS
    /// redacted. Undecodable messages carry `Raw` and `DecodeError` instead.
    pub fn to_json(&self) -> Value {
        let mut m = match &self.decoded.notification {
            Some(n) => match serde_json::to_value(n) {
                Ok(Value::Object(m)) => m,
                _ => Map::new(),
            },
            None => {
                let mut m = Map::new();
                m.insert("Raw".into(), redact(&self.decoded.raw).into());
                m.insert(
                    "DecodeError".into(),
                    self.decoded.error.clone().unwrap_or_default().into(),
                );
                m
            }
        };
        // Details and unknown fields may quote URLs too: every string is redacted.
        for v in m.values_mut() {
            redact_strings(v);
        }
        m.insert("MessageId".into(), self.message_id.clone().into());
        m.insert("DequeueCount".into(), self.dequeue_count.into());
        m.insert(
            "InsertionTime".into(),
            self.insertion_time
                .map(crate::client::wire::format_rfc3339)
                .map(Value::from)
                .unwrap_or(Value::Null),
        );
        m.insert("Queue".into(), self.queue.object_name().into());
        m.insert("Kind".into(), self.kind.as_str().into());
        Value::Object(m)
    }

    pub fn source_id(&self) -> Option<&str> {
        self.decoded
            .notification
            .as_ref()?
            .ingestion_source_id
            .as_deref()
    }
}

fn redact_strings(v: &mut Value) {
    match v {
        Value::String(s) => *s = redact(s),
        Value::Array(a) => a.iter_mut().for_each(redact_strings),
        Value::Object(o) => o.values_mut().for_each(redact_strings),
        _ => {}
    }
}

/// Peek (visibility `None`) or receive up to `n` across every queue of `kind`: `n/len+1` per
/// queue (≤ 32), topped up from queues that had more. Errors of single queues are logged; an
/// error is returned only when every queue failed.
pub(crate) async fn read(
    client: &IngestClient,
    kind: NotificationKind,
    n: usize,
    visibility: Option<Duration>,
) -> Result<Vec<ReceivedNotification>> {
    let res = client.resources().await?;
    let queues: Vec<SasUrl> = res.of_kind(queue_kind(kind)).cloned().collect();
    if queues.is_empty() {
        return Err(Error::Invalid(format!(
            "the service offered no {} queue",
            queue_kind(kind).name()
        )));
    }
    if n == 0 {
        return Ok(vec![]);
    }
    // Peek asks `n/len+1` per queue as the SDKs do and trims; a receive must not trim (a
    // trimmed message would stay hidden unreported), so it asks `ceil(n/len)` per queue.
    let per_queue = match visibility {
        None => n / queues.len() + 1,
        Some(_) => n.div_ceil(queues.len()),
    }
    .min(MAX_PER_CALL) as u32;
    let storage = client.storage();
    let calls = queues.iter().map(|q| async move {
        match visibility {
            None => storage.peek_messages(q, per_queue).await,
            Some(v) => {
                storage
                    .get_messages(q, per_queue, v.as_secs().max(1) as u32)
                    .await
            }
        }
    });
    let results = futures::future::join_all(calls).await;
    let mut out = Vec::new();
    let mut last_err = None;
    let mut failures = 0;
    for (q, r) in queues.iter().zip(results) {
        match r {
            Ok(msgs) => out.extend(msgs.into_iter().map(|m| ReceivedNotification {
                kind,
                queue: q.clone(),
                decoded: decode_notification(&m.text),
                message_id: m.message_id,
                pop_receipt: m.pop_receipt,
                dequeue_count: m.dequeue_count,
                insertion_time: m.insertion_time,
            })),
            Err(e) => {
                tracing::warn!(queue = %q, error = %e, "reading a notification queue failed");
                failures += 1;
                last_err = Some(e);
            }
        }
    }
    if failures == queues.len()
        && let Some(e) = last_err
    {
        return Err(e);
    }
    out.sort_by_key(|m| m.insertion_time);
    if visibility.is_none() {
        out.truncate(n);
    }
    Ok(out)
}

fn matches(sel: &DiscardSelector, m: &ReceivedNotification) -> bool {
    match sel {
        DiscardSelector::All | DiscardSelector::Count(_) => true,
        DiscardSelector::SourceId(id) => m.source_id().is_some_and(|s| s.eq_ignore_ascii_case(id)),
        DiscardSelector::MessageIds(ids) => ids.contains(&m.message_id),
        DiscardSelector::SourceIds(ids) => m
            .source_id()
            .is_some_and(|s| ids.contains(&s.to_ascii_lowercase())),
    }
}

/// Receive → append to the archive and flush → delete. Nothing is deleted that was not
/// archived first; anything interrupted reappears after the visibility timeout.
pub(crate) async fn discard(
    client: &IngestClient,
    kind: NotificationKind,
    selector: DiscardSelector,
    archive: &Path,
) -> Result<DiscardReport> {
    if let Some(dir) = archive.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            Error::Invalid(format!(
                "cannot create the archive folder {}: {e}",
                dir.display()
            ))
        })?;
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(archive)
        .map_err(|e| {
            Error::Invalid(format!(
                "cannot open the archive {}: {e}",
                archive.display()
            ))
        })?;
    let limit = match &selector {
        DiscardSelector::Count(n) => *n,
        DiscardSelector::MessageIds(ids) => ids.len(),
        _ => usize::MAX,
    };
    let mut report = DiscardReport::default();
    let mut seen = std::collections::HashSet::new();
    let queues = client
        .resources()
        .await?
        .of_kind(queue_kind(kind))
        .count()
        .max(1);
    for _ in 0..MAX_DISCARD_ROUNDS {
        if report.deleted + report.errors.len() >= limit {
            break;
        }
        // Whole batches: the targets of a selector may sit anywhere in the queue.
        let want = match selector {
            DiscardSelector::Count(_) => {
                (limit - report.deleted - report.errors.len()).min(MAX_PER_CALL * queues)
            }
            _ => MAX_PER_CALL * queues,
        };
        let batch = read(client, kind, want, Some(DISCARD_VISIBILITY)).await?;
        // Stop when the queue is exhausted or only shows messages seen already: the targets
        // are gone, and further rounds would only hide other clients' messages.
        if batch.is_empty() || batch.iter().all(|m| seen.contains(&m.message_id)) {
            break;
        }
        seen.extend(batch.iter().map(|m| m.message_id.clone()));
        for m in batch {
            if !matches(&selector, &m) || report.deleted + report.errors.len() >= limit {
                report.released += 1;
                continue;
            }
            let line = m.to_json().to_string();
            let archived = writeln!(file, "{line}")
                .and_then(|_| file.flush())
                .and_then(|_| file.sync_data());
            if let Err(e) = archived {
                // Stop at once: deleting without an archive would lose data.
                return Err(Error::Invalid(format!(
                    "writing the archive {} failed: {e}",
                    archive.display()
                )));
            }
            report.archived += 1;
            match client.delete(&m).await {
                Ok(()) => report.deleted += 1,
                Err(e) => report.errors.push((m.message_id.clone(), e.to_string())),
            }
        }
    }
    Ok(report)
}
