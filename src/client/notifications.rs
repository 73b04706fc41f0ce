//! Success/failure notification queues: peek across all queues of a kind, receive with a
//! visibility timeout, delete by pop receipt, and discard (archive then delete) without hiding
//! other clients' messages for longer than the pass. Undecodable messages are kept raw.

use chrono::{DateTime, Utc};

use crate::client::storage::SasUrl;
use crate::client::wire::{DecodedNotification, NotificationKind};

mod pipeline;
pub mod scan;

pub use scan::ScanReport;

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
    /// `MessageText` exactly as received: the evidence an archive keeps.
    pub message_text: String,
}

/// Which notifications a discard removes.
#[derive(Debug, Clone, PartialEq)]
pub enum DiscardSelector {
    /// Everything currently in the queues of that kind.
    All,
    /// Messages whose `IngestionSourceId` equals this.
    SourceId(String),
    /// Messages whose `IngestionSourceId` is one of these (`--mine`: this client's sources).
    SourceIds(HashSet<String>),
    /// These message ids (what the TUI shows selected or filtered).
    MessageIds(HashSet<String>),
    /// At most this many, oldest first.
    Count(usize),
}

/// The result of a discard: what was archived and deleted, what was handed back and how, and
/// whether the pass can be reported as done.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DiscardReport {
    pub archived: usize,
    pub deleted: usize,
    /// Messages received but not taken (not matching, or past the limit); all are handed back
    /// when the pass ends.
    pub released: usize,
    /// Of `released`: made visible again at the end of the pass (Update Message with
    /// `visibilitytimeout=0`, which needs `u` in the queue SAS).
    pub released_now: usize,
    /// Whether every notification queue's SAS granted `u`. A real DM's do not (`rp`), so
    /// released messages normally wait for their (short) visibility timeout.
    pub update_granted: bool,
    /// For released messages not made visible at once: they are visible again within this
    /// long after the pass ended. `None` when there are none.
    pub visible_again_within: Option<Duration>,
    /// The longest time any released message was hidden from other clients, measured from
    /// the receive that hid it to its release (or to its visibility timeout).
    pub longest_hidden: Duration,
    /// Messages the queues still count (approximately) after the pass; `None` when unreadable.
    pub queue_count: Option<u64>,
    /// Of `queue_count`: messages this pass never received. They were in flight (hidden by
    /// another client's receive), posted during the pass, or beyond the round limit; targets
    /// may be among them. `None` when the count was unreadable.
    pub not_seen: Option<u64>,
    /// Of `queue_count`: at most this many are invisible (count minus what a peek sees):
    /// held by a receive — this pass's released-later ones, another client's, or a discard
    /// that was stopped. They reappear when that receive's timeout lapses. `None` when unknown
    /// (a count unreadable, or a peek full: more may be visible than one peek shows).
    pub invisible: Option<u64>,
    /// Passes run (`discard_until` runs more while invisible messages may reappear).
    pub passes: usize,
    /// Nothing failed, and the selector was satisfied or every message was looked at. Only a
    /// complete discard may be reported as plain success.
    pub complete: bool,
    /// Per-message errors (message id, error text); those messages stay in the queue.
    pub errors: Vec<(String, String)>,
    /// Why the pass stopped early after it had already archived or deleted something (what it
    /// did is still reported); `None` when it ran to its end.
    pub aborted: Option<String>,
}

impl DiscardReport {
    /// This pass's report with the work of the passes `before` it added.
    fn after(mut self, before: &DiscardReport) -> DiscardReport {
        self.archived += before.archived;
        self.deleted += before.deleted;
        self.passes += before.passes;
        self.longest_hidden = self.longest_hidden.max(before.longest_hidden);
        self
    }

    /// Of `invisible`: those hidden by someone else's receive (not this pass's hold).
    pub fn invisible_elsewhere(&self) -> Option<u64> {
        self.invisible
            .map(|i| i.saturating_sub(self.released_later() as u64))
    }

    /// What is left in the queues when the discard is not complete, for a front end to print;
    /// `None` when it is complete.
    pub fn remaining_summary(&self) -> Option<String> {
        if self.complete {
            return None;
        }
        let Some(count) = self.queue_count else {
            return Some("the queues' message count could not be read: messages may remain".into());
        };
        let mut s = format!("{count} message(s) still in the queue(s)");
        match self.invisible_elsewhere() {
            Some(0) | None => {}
            Some(n) => s.push_str(&format!(
                ", about {n} of them invisible: held by another receive (another client's, or \
                 a discard that was stopped; a kingest discard holds them at most {} s), they \
                 reappear when its timeout lapses",
                DISCARD_VISIBILITY_CEILING.as_secs()
            )),
        }
        Some(s)
    }

    /// Released messages left to their visibility timeout.
    pub fn released_later(&self) -> usize {
        self.released.saturating_sub(self.released_now)
    }

    /// How released messages came back, for a front end to print; `None` when none were.
    pub fn release_summary(&self) -> Option<String> {
        if self.released == 0 {
            return None;
        }
        let later = self.released_later();
        let within = self
            .visible_again_within
            .map_or(0, |d| d.as_secs_f64().ceil() as u64);
        Some(match (self.released_now, later) {
            (now, 0) => format!("{now} other message(s) were looked at and released now"),
            (0, later) => format!(
                "{later} other message(s) were looked at and left in the queue: visible again in {within} s{}",
                if self.update_granted {
                    ""
                } else {
                    " (the queue's SAS does not grant update, so they wait for their timeout)"
                }
            ),
            (now, later) => format!(
                "{} other message(s) were looked at: {now} released now, {later} visible again in {within} s",
                self.released
            ),
        })
    }
}

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use tokio::sync::Semaphore;

use serde_json::{Map, Value};

use crate::client::IngestClient;
use crate::client::error::{Error, Result};
use crate::client::redact::redact;
use crate::client::resources::ResourceKind;
use crate::client::wire::decode_notification;

/// Azure's per-call maximum for Get/Peek Messages.
pub const MAX_PER_CALL: usize = 32;
/// Least visibility timeout of a discard's receive: a slow call must not let held messages
/// reappear mid-pass (they would be received again and could end the pass early).
pub const DISCARD_VISIBILITY_FLOOR: Duration = Duration::from_secs(5);
/// Most visibility timeout of one receive; longer passes renew (with `u`) instead.
const DISCARD_VISIBILITY_CEILING: Duration = Duration::from_secs(300);
/// Receives of one discard pass, over all its pipelines (each takes up to 32 messages a
/// queue), so that a pass ends even while other clients keep posting. A pass that takes all
/// it receives gets more on a longer queue ([`max_receives`]): a fixed 200 stopped a
/// 10,000-message `--all` at 6,400.
const MIN_DISCARD_RECEIVES: usize = 200;
/// Default of [`IngestClient::discard_concurrency`]: discard pipelines (and so storage
/// requests in flight) at once; config `discard_concurrency`. Measured by `benches/perf`'s P2.
pub const DEFAULT_DISCARD_CONCURRENCY: usize = 16;

fn queue_kind(kind: NotificationKind) -> ResourceKind {
    match kind {
        NotificationKind::Success => ResourceKind::SuccessfulIngestionsQueue,
        NotificationKind::Failure => ResourceKind::FailedIngestionsQueue,
    }
}

impl ReceivedNotification {
    /// A failure notification `text` as received from a local queue (for tests).
    #[cfg(test)]
    pub(crate) fn fixture(id: &str, receipt: Option<&str>, text: &str) -> Self {
        ReceivedNotification {
            kind: NotificationKind::Failure,
            queue: SasUrl::parse("https://a.queue.core.windows.net/fq?sp=rp&sig=SECRETSIG")
                .unwrap_or_else(|e| unreachable!("{e}")),
            message_id: id.into(),
            pop_receipt: receipt.map(String::from),
            dequeue_count: 1,
            insertion_time: None,
            decoded: decode_notification(text),
            message_text: text.into(),
        }
    }

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
            crate::client::redact::redact_json(v);
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

/// Peek (visibility `None`) or receive up to `n` across every queue of `kind`: `n/len+1` per
/// queue (≤ 32), topped up from queues that had more. Errors of single queues are logged; an
/// error is returned only when every queue failed.
pub(crate) async fn read(
    client: &IngestClient,
    kind: NotificationKind,
    n: usize,
    visibility: Option<Duration>,
) -> Result<Vec<ReceivedNotification>> {
    read_gated(client, kind, n, visibility, None).await
}

/// [`read`], each storage call holding a permit of `gate` (a discard's bound on requests in
/// flight) while it runs.
async fn read_gated(
    client: &IngestClient,
    kind: NotificationKind,
    n: usize,
    visibility: Option<Duration>,
    gate: Option<&Semaphore>,
) -> Result<Vec<ReceivedNotification>> {
    let res = client.resources().await?;
    let queues: Vec<SasUrl> = res.of_kind(queue_kind(kind)).cloned().collect();
    if queues.is_empty() {
        return Err(Error::MissingResource(format!(
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
        let _permit = permit(gate).await;
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
                message_text: m.text,
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

/// A permit of `gate` (none without one), held while one storage request runs. The gate is
/// never closed, so acquiring only waits.
async fn permit(gate: Option<&Semaphore>) -> Option<tokio::sync::SemaphorePermit<'_>> {
    match gate {
        Some(g) => g.acquire().await.ok(),
        None => None,
    }
}

fn matches(sel: &DiscardSelector, m: &ReceivedNotification) -> bool {
    match sel {
        DiscardSelector::All | DiscardSelector::Count(_) => true,
        DiscardSelector::SourceId(id) => m.source_id().is_some_and(|s| s.eq_ignore_ascii_case(id)),
        DiscardSelector::SourceIds(ids) => m
            .source_id()
            .is_some_and(|s| ids.contains(s) || ids.iter().any(|i| i.eq_ignore_ascii_case(s))),
        DiscardSelector::MessageIds(ids) => ids.contains(&m.message_id),
    }
}

/// The visibility timeout for a receive in a discard pass: enough for the rounds still to come
/// (`remaining` messages, `per_round` a round, each taking `round_time`, plus the round that
/// finds the queue exhausted), doubled for jitter, in whole seconds, within
/// [`DISCARD_VISIBILITY_FLOOR`] and a 5-minute ceiling.
pub fn pass_visibility(remaining: u64, per_round: usize, round_time: Duration) -> Duration {
    let rounds = remaining
        .div_ceil(per_round.max(1) as u64)
        .saturating_add(1);
    let est = round_time
        .saturating_mul(u32::try_from(rounds).unwrap_or(u32::MAX))
        .saturating_mul(2);
    let secs = est
        .as_secs()
        .saturating_add(u64::from(est.subsec_nanos() > 0));
    Duration::from_secs(secs).clamp(DISCARD_VISIBILITY_FLOOR, DISCARD_VISIBILITY_CEILING)
}

/// The most receives one pass makes: for a pass that takes all it receives, twice the receives
/// the queues' count needs at `per_call` a receive (receives racing at the end take less), at
/// least [`MIN_DISCARD_RECEIVES`]; a selector gets that least bound only: it holds what it
/// does not take (other clients' messages) for the whole pass, so it looks no further.
pub fn max_receives(count_before: Option<u64>, per_call: usize, takes_all: bool) -> usize {
    if !takes_all {
        return MIN_DISCARD_RECEIVES;
    }
    let needed = count_before.map_or(0, |c| {
        usize::try_from(c.div_ceil(per_call.max(1) as u64)).unwrap_or(usize::MAX)
    });
    needed.saturating_mul(2).max(MIN_DISCARD_RECEIVES)
}

/// The visibility timeout of a receive whose messages are all taken (`--all`, `-n`): long
/// enough for one batch's work (receive, archive, delete; `batch_time` is the longest seen so
/// far), doubled for jitter plus a second, in whole seconds, within
/// [`DISCARD_VISIBILITY_FLOOR`] and the ceiling. Nothing of such a batch is held for the rest
/// of the pass, so the pass's length does not matter: a receive whose answer was lost (a
/// timeout, a reset) hides its messages only this long. Azure allows 1 s to 7 days
/// (<https://learn.microsoft.com/rest/api/storageservices/get-messages>); the SDKs' status
/// queues leave it to the service's default of 30 s.
pub fn batch_visibility(batch_time: Duration) -> Duration {
    let est = batch_time
        .saturating_mul(2)
        .saturating_add(Duration::from_secs(1));
    let secs = est
        .as_secs()
        .saturating_add(u64::from(est.subsec_nanos() > 0));
    Duration::from_secs(secs).clamp(DISCARD_VISIBILITY_FLOOR, DISCARD_VISIBILITY_CEILING)
}

/// A received message this pass does not take: hidden from everyone until released.
struct Held {
    msg: ReceivedNotification,
    /// When the receive that first hid it was sent.
    hidden_since: Instant,
    /// Its timeout lapses no earlier than this (request start + timeout): renew before it.
    renew_by: Instant,
    /// …and no later than this (answer received + timeout).
    visible_by: Instant,
}

fn grants_update(q: &SasUrl) -> bool {
    // No `sp` means some other authorization: try, and fall back on failure.
    q.grant().allows('u')
}

/// Sum of the queues' approximate counts, `None` if any is unreadable.
async fn total_count(client: &IngestClient, queues: &[SasUrl]) -> Option<u64> {
    let counts = futures::future::join_all(
        queues
            .iter()
            .map(|q| client.storage().approximate_message_count(q)),
    )
    .await;
    counts
        .into_iter()
        .try_fold(0u64, |sum, c| c.ok().map(|c| sum.saturating_add(c)))
}

/// What the queues still hold: (approximate count, of it invisible at most), summed over
/// `queues`; `None` if any count is unreadable. Get Queue Metadata counts invisible messages
/// too (Azure's x-ms-approximate-messages-count is never lower than the real number), a peek
/// sees only visible ones, so the difference bounds what is in flight — unless a peek came back
/// full (32): more may be visible behind it, and the invisible part is unknown (`None`; the
/// difference once reported 3,568 of 3,600 visible messages as invisible).
async fn census(client: &IngestClient, queues: &[SasUrl]) -> Option<(u64, Option<u64>)> {
    let storage = client.storage();
    let per_queue = futures::future::join_all(queues.iter().map(|q| async move {
        let count = storage.approximate_message_count(q).await.ok()?;
        let seen = storage.peek_messages(q, MAX_PER_CALL as u32).await.ok();
        let invisible = seen
            .filter(|s| s.len() < MAX_PER_CALL)
            .map(|s| count.saturating_sub(s.len() as u64));
        Some((count, invisible))
    }))
    .await;
    per_queue
        .into_iter()
        .try_fold((0u64, Some(0u64)), |(c, i), q| {
            q.map(|(qc, qi)| {
                (
                    c.saturating_add(qc),
                    i.zip(qi).map(|(i, qi)| i.saturating_add(qi)),
                )
            })
        })
}

/// One Update Message outcome: message id, when it was sent, when it was answered.
type Updated = (
    String,
    Instant,
    Instant,
    Result<crate::client::storage::UpdatedMessage>,
);

/// Update Message on every message in `targets`, `gate` bounding the requests in flight.
/// Takes owned messages: a borrowing stream here makes the discard future fail `Send`
/// inference.
async fn update_all(
    client: &IngestClient,
    targets: Vec<ReceivedNotification>,
    visibility: Duration,
    gate: &Semaphore,
) -> Vec<Updated> {
    let secs = u32::try_from(visibility.as_secs()).unwrap_or(u32::MAX);
    let storage = client.storage();
    futures::stream::iter(targets)
        .map(move |m| async move {
            let _permit = permit(Some(gate)).await;
            let sent = Instant::now();
            let r = match m.pop_receipt.as_deref() {
                Some(receipt) => {
                    storage
                        .update_message(&m.queue, &m.message_id, receipt, secs)
                        .await
                }
                None => Err(Error::Internal("no pop receipt".into())),
            };
            (m.message_id, sent, Instant::now(), r)
        })
        .buffer_unordered(MAX_PER_CALL)
        .collect()
        .await
}

/// Receive → append to the archive, flush and fsync → delete, in
/// [`IngestClient::discard_concurrency`] pipelines sharing that bound on requests in flight
/// (see [`pipeline`]). Nothing is deleted that was not archived first. Messages received but
/// not taken stay hidden only for the pass: each receive hides for the estimated rest of the
/// pass, held messages are renewed if the pass runs long, and at the end they are made visible
/// at once where the SAS grants `u`; otherwise their short timeout lapses (a real DM's
/// notification SAS is `rp`).
pub(crate) async fn discard(
    client: &IngestClient,
    kind: NotificationKind,
    selector: DiscardSelector,
    archive: &Path,
) -> Result<DiscardReport> {
    let file = crate::client::archive::open_for_append(archive).map_err(|e| {
        Error::Usage(format!(
            "cannot open the archive {}: {e}",
            archive.display()
        ))
    })?;
    let limit = match &selector {
        DiscardSelector::Count(n) => *n,
        DiscardSelector::MessageIds(ids) => ids.len(),
        _ => usize::MAX,
    };
    let queues: Vec<SasUrl> = client
        .resources()
        .await?
        .of_kind(queue_kind(kind))
        .cloned()
        .collect();
    let update_granted = !queues.is_empty() && queues.iter().all(grants_update);
    let report = DiscardReport {
        update_granted,
        passes: 1,
        ..Default::default()
    };
    let workers = client.discard_concurrency();
    let gate = Semaphore::new(workers);
    // The count sizes the pass; the time of that call is the first guess of a round's time.
    let t0 = Instant::now();
    let count_before = total_count(client, &queues).await;
    let plan = pipeline::Plan {
        kind,
        selector: &selector,
        archive,
        writer: Some(crate::client::archive::ArchiveWriter::new(file)),
        gate: &gate,
        limit,
        per_call: MAX_PER_CALL * queues.len().max(1),
        max_receives: max_receives(
            count_before,
            MAX_PER_CALL * queues.len().max(1),
            pipeline::takes_all(&selector),
        ),
        count_before,
        workers,
    };
    let (held, mut report, result) =
        pipeline::run(client, &plan, report, t0.elapsed().saturating_mul(2)).await;
    // Release what was held even when the pass failed: hiding it longer helps no one.
    release(client, held, &mut report, &gate).await;
    if let Err(e) = result {
        // Nothing done yet: a plain error. Otherwise say what was done, and that it stopped.
        if report.archived == 0 && report.deleted == 0 {
            return Err(e);
        }
        report.aborted = Some(crate::client::redact::redact(&e.to_string()));
        report.complete = false;
        return Ok(report);
    }
    let census = census(client, &queues).await;
    report.queue_count = census.map(|(count, _)| count);
    report.invisible = census.and_then(|(_, invisible)| invisible);
    // Released and failed messages are still counted; anything else was never received.
    report.not_seen = report
        .queue_count
        .map(|c| c.saturating_sub((report.released + report.errors.len()) as u64));
    let target_met = report.deleted + report.errors.len() >= limit;
    report.complete = report.errors.is_empty() && (target_met || report.not_seen == Some(0));
    Ok(report)
}

/// Least pause between passes of [`discard_until`] when the last one took nothing.
const RETRY_PAUSE: Duration = Duration::from_secs(1);

/// [`discard`] of everything, run again while the queues still hold messages — in flight
/// under another receive (a stopped pass's, another client's) or posted meanwhile — until
/// they are empty or `wait` has passed since the first pass ended. Each pause is told to `on_wait` (the report so far,
/// the time left) so a front end can say what it waits for. The report sums what every pass
/// archived and deleted; the rest describes the last pass.
pub(crate) async fn discard_until<F: FnMut(&DiscardReport, Duration)>(
    client: &IngestClient,
    kind: NotificationKind,
    archive: &Path,
    wait: Duration,
    mut on_wait: F,
) -> Result<DiscardReport> {
    // `wait` is for messages to reappear, so it runs from the end of the first pass: a long
    // first pass (10,000 messages on a slow server) must not use it up and stop with the rest
    // unseen. Later passes are bounded by it.
    let mut waiting_since: Option<Instant> = None;
    let mut total: Option<DiscardReport> = None;
    loop {
        let pass = match discard(client, kind, DiscardSelector::All, archive).await {
            Ok(pass) => pass,
            Err(e) => {
                let Some(mut t) = total else { return Err(e) };
                t.aborted = Some(redact(&e.to_string()));
                t.complete = false;
                return Ok(t);
            }
        };
        let took = pass.deleted > 0;
        let t = match total.take() {
            Some(before) => pass.after(&before),
            None => pass,
        };
        let start = *waiting_since.get_or_insert_with(Instant::now);
        let left = wait.saturating_sub(start.elapsed());
        let settled = t.complete || !t.errors.is_empty() || t.aborted.is_some();
        if settled || t.queue_count.is_none() || left.is_zero() {
            return Ok(t);
        }
        if !took {
            on_wait(&t, left);
            tokio::time::sleep(RETRY_PAUSE.min(left)).await;
        }
        total = Some(t);
    }
}

/// Records received messages as held (a re-received one keeps when it was first hidden).
fn absorb(
    held: &mut HashMap<String, Held>,
    msgs: Vec<ReceivedNotification>,
    sent: Instant,
    answered: Instant,
    visibility: Duration,
) {
    for msg in msgs {
        let hidden_since = held.get(&msg.message_id).map_or(sent, |h| h.hidden_since);
        held.insert(
            msg.message_id.clone(),
            Held {
                msg,
                hidden_since,
                renew_by: sent + visibility,
                visible_by: answered + visibility,
            },
        );
    }
}

/// Whether a held message whose timeout lapses at `renew_by` could reappear before the next
/// round (`round_time`, doubled, plus a second of slack) is over.
fn renewal_due(renew_by: Instant, now: Instant, round_time: Duration) -> bool {
    renew_by <= now + round_time.saturating_mul(2) + Duration::from_secs(1)
}

/// The held messages to renew now (those that could lapse before the next round ends), marked
/// as renewed for `visibility` so that another pipeline does not renew them too.
fn take_due(
    held: &mut HashMap<String, Held>,
    visibility: Duration,
    round_time: Duration,
) -> Vec<ReceivedNotification> {
    let now = Instant::now();
    held.values_mut()
        .filter(|h| renewal_due(h.renew_by, now, round_time) && grants_update(&h.msg.queue))
        .map(|h| {
            h.renew_by = now + visibility;
            h.msg.clone()
        })
        .collect()
}

/// Records renewals of `sent` (as [`take_due`] gave them): the new receipt and timeout, unless
/// the message was received again meanwhile (its hold then has another receipt).
fn apply_renewals(
    held: &mut HashMap<String, Held>,
    sent: &[ReceivedNotification],
    results: Vec<Updated>,
    visibility: Duration,
) {
    for (id, at, answered, r) in results {
        let Some(h) = held.get_mut(&id) else { continue };
        let same_receive = sent
            .iter()
            .any(|m| m.message_id == id && m.pop_receipt == h.msg.pop_receipt);
        match r {
            Ok(u) if same_receive => {
                h.msg.pop_receipt = Some(u.pop_receipt);
                h.renew_by = at + visibility;
                h.visible_by = answered + visibility;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(message = %id, error = %e, "renewing a held message failed"),
        }
    }
}

/// Hands held messages back: visible at once where the SAS grants `u`, else when their
/// timeout lapses. Fills the release fields of `report`.
async fn release(
    client: &IngestClient,
    held: HashMap<String, Held>,
    report: &mut DiscardReport,
    gate: &Semaphore,
) {
    report.released = held.len();
    let now_targets: Vec<ReceivedNotification> = held
        .values()
        .filter(|h| grants_update(&h.msg.queue))
        .map(|h| h.msg.clone())
        .collect();
    let results = update_all(client, now_targets, Duration::ZERO, gate).await;
    let mut released_at: HashMap<String, Instant> = HashMap::new();
    for (id, _, answered, r) in results {
        match r {
            Ok(_) => {
                released_at.insert(id, answered);
            }
            // Deleted by someone else, or received again after our hold lapsed: no longer
            // hidden by us.
            Err(Error::Storage { status, code, .. })
                if status == 404 || code == "PopReceiptMismatch" =>
            {
                released_at.insert(id, answered);
            }
            Err(e) => {
                tracing::warn!(message = %id, error = %e, "releasing a held message failed; it waits for its timeout")
            }
        }
    }
    let end = Instant::now();
    let mut within: Option<Duration> = None;
    for (id, h) in &held {
        let back = match released_at.get(id) {
            Some(t) => *t,
            None => {
                let left = h.visible_by.saturating_duration_since(end);
                within = Some(within.map_or(left, |w| w.max(left)));
                h.visible_by.max(end)
            }
        };
        report.longest_hidden = report
            .longest_hidden
            .max(back.saturating_duration_since(h.hidden_since));
    }
    report.released_now = released_at.len();
    report.visible_again_within = within;
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn pass_visibility_covers_the_rest_of_the_pass() {
        // Local and quick: the floor.
        assert_eq!(pass_visibility(100, 32, 10 * MS), DISCARD_VISIBILITY_FLOOR);
        assert_eq!(
            pass_visibility(0, 32, Duration::ZERO),
            DISCARD_VISIBILITY_FLOOR
        );
        // 1000 messages, 32 a round: 32 rounds + the last empty one, 200 ms each, doubled.
        assert_eq!(
            pass_visibility(1000, 32, 200 * MS),
            Duration::from_secs(14) // 33 × 0.2 × 2 = 13.2, rounded up
        );
        // Two queues take 64 a round: half the rounds.
        assert_eq!(
            pass_visibility(1000, 64, 200 * MS),
            Duration::from_secs(7) // 17 × 0.2 × 2 = 6.8
        );
        // Far too long a pass: capped (held messages are renewed instead).
        assert_eq!(
            pass_visibility(1_000_000, 32, Duration::from_secs(1)),
            DISCARD_VISIBILITY_CEILING
        );
        assert_eq!(
            pass_visibility(u64::MAX, 0, Duration::MAX),
            DISCARD_VISIBILITY_CEILING
        );
        // Whole seconds, never below the floor.
        for n in [1, 33, 500, 5000] {
            let v = pass_visibility(n, 32, 37 * MS);
            assert_eq!(v.subsec_nanos(), 0);
            assert!(v >= DISCARD_VISIBILITY_FLOOR);
        }
    }

    #[test]
    fn renewal_is_due_before_the_next_round_could_end() {
        let now = Instant::now();
        let round = 300 * MS;
        // Lapses in 1.6 s = 2 rounds + 1 s: renew now.
        assert!(renewal_due(now + 1600 * MS, now, round));
        assert!(renewal_due(now, now, round));
        // Lapses in 1.7 s: the next round still ends before.
        assert!(!renewal_due(now + 1700 * MS, now, round));
        assert!(!renewal_due(
            now + DISCARD_VISIBILITY_FLOOR,
            now,
            Duration::ZERO
        ));
    }

    #[test]
    fn release_summary_says_how() {
        let mut r = DiscardReport::default();
        assert_eq!(r.release_summary(), None);
        r.released = 3;
        r.released_now = 3;
        r.update_granted = true;
        assert_eq!(
            r.release_summary().unwrap(),
            "3 other message(s) were looked at and released now"
        );
        r.released_now = 0;
        r.update_granted = false;
        r.visible_again_within = Some(Duration::from_millis(4200));
        let s = r.release_summary().unwrap();
        assert!(
            s.contains("visible again in 5 s") && s.contains("does not grant update"),
            "{s}"
        );
        r.released_now = 1;
        r.update_granted = true;
        assert_eq!(
            r.release_summary().unwrap(),
            "3 other message(s) were looked at: 1 released now, 2 visible again in 5 s"
        );
        assert_eq!(r.released_later(), 2);
    }

    #[test]
    fn what_remains_is_said_and_passes_add_up() {
        let done = DiscardReport {
            complete: true,
            queue_count: Some(3),
            ..Default::default()
        };
        assert_eq!(done.remaining_summary(), None);
        // 40 invisible, 10 of them this pass's own holds (said by release_summary instead).
        let left = DiscardReport {
            archived: 2,
            deleted: 2,
            released: 10,
            queue_count: Some(50),
            invisible: Some(40),
            passes: 1,
            ..Default::default()
        };
        assert_eq!(left.invisible_elsewhere(), Some(30));
        let s = left.remaining_summary().unwrap();
        assert!(
            s.starts_with("50 message(s) still in the queue(s), about 30 of them invisible"),
            "{s}"
        );
        let unknown = DiscardReport::default();
        assert!(
            unknown
                .remaining_summary()
                .unwrap()
                .contains("could not be read")
        );
        let nothing_hidden = DiscardReport {
            queue_count: Some(5),
            invisible: Some(0),
            ..Default::default()
        };
        assert_eq!(
            nothing_hidden.remaining_summary().unwrap(),
            "5 message(s) still in the queue(s)"
        );
        let total = DiscardReport {
            archived: 1,
            deleted: 1,
            passes: 1,
            complete: true,
            ..Default::default()
        }
        .after(&left);
        assert_eq!((total.archived, total.deleted, total.passes), (3, 3, 2));
        // The rest describes the last pass.
        assert_eq!((total.released, total.complete), (0, true));
    }

    #[test]
    fn source_ids_match_case_insensitively() {
        let n = crate::client::wire::Notification {
            ingestion_source_id: Some("AbC".into()),
            ..Default::default()
        };
        let m = ReceivedNotification::fixture("m", None, &n.to_queue_text());
        let set = |ids: &[&str]| ids.iter().map(|s| s.to_string()).collect::<HashSet<_>>();
        assert!(matches(&DiscardSelector::SourceIds(set(&["x", "abc"])), &m));
        assert!(!matches(&DiscardSelector::SourceIds(set(&["x"])), &m));
        assert!(!matches(&DiscardSelector::SourceIds(HashSet::new()), &m));
        assert!(!grants_update(&m.queue));
        assert!(grants_update(
            &SasUrl::parse("https://a.queue.core.windows.net/q?sp=rpu&sig=s").unwrap()
        ));
    }
}
