//! The concurrent part of a discard pass: `workers` pipelines, each looping receive → archive
//! the batch (one write, one fsync) → delete the batch, all holding permits of one semaphore
//! while a storage request runs, so no more than `workers` requests are ever in flight. The
//! rule of the one-at-a-time pass is kept per message: no delete is sent before its archive
//! line is durable. What the pipelines share is locked only between requests.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use tokio::sync::Semaphore;

use super::{
    DiscardReport, DiscardSelector, Held, MAX_DISCARD_ROUNDS, MAX_PER_CALL, ReceivedNotification,
    absorb, apply_renewals, matches, pass_visibility, permit, read_gated, take_due, update_all,
};
use crate::client::IngestClient;
use crate::client::archive::ArchiveWriter;
use crate::client::error::{Error, Result};
use crate::client::wire::NotificationKind;

/// What a pass is asked to do and with what.
pub(super) struct Plan<'a> {
    pub kind: NotificationKind,
    pub selector: &'a DiscardSelector,
    pub archive: &'a Path,
    pub writer: ArchiveWriter,
    /// One permit per storage request in flight.
    pub gate: &'a Semaphore,
    /// Most messages to take (delete or fail to delete).
    pub limit: usize,
    /// Messages one receive asks for (32 a queue).
    pub per_call: usize,
    /// The queues' count when the pass began, if readable.
    pub count_before: Option<u64>,
    pub workers: usize,
}

/// The pipelines' common state.
struct Shared {
    report: DiscardReport,
    /// Message ids received this pass.
    seen: HashSet<String>,
    /// Received, not taken: released when the pass ends.
    held: HashMap<String, Held>,
    /// Messages taken (archived, or being archived) this pass: never more than the limit.
    taken: usize,
    /// Messages asked for by receives in flight: a count is not over-asked (what is received
    /// past it stays hidden from other clients until the pass ends).
    asking: usize,
    receives: usize,
    /// The longest receive-archive-delete round of a pipeline so far.
    round_time: Duration,
    /// A pipeline found the queues exhausted (or showing only messages seen already).
    exhausted: bool,
    /// The first error that stops the pass.
    failure: Option<Error>,
}

fn lock(s: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    s.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs the pipelines to the end of the pass: (what is held, the report, the error that
/// stopped it early).
pub(super) async fn run(
    client: &IngestClient,
    plan: &Plan<'_>,
    report: DiscardReport,
    first_round_time: Duration,
) -> (HashMap<String, Held>, DiscardReport, Result<()>) {
    let shared = Mutex::new(Shared {
        report,
        seen: HashSet::new(),
        held: HashMap::new(),
        taken: 0,
        asking: 0,
        receives: 0,
        round_time: first_round_time,
        exhausted: false,
        failure: None,
    });
    futures::future::join_all((0..plan.workers.max(1)).map(|_| pipeline(client, plan, &shared)))
        .await;
    let s = shared.into_inner().unwrap_or_else(PoisonError::into_inner);
    let result = s.failure.map_or(Ok(()), Err);
    (s.held, s.report, result)
}

/// One receive's worth of work, decided under the lock.
struct Turn {
    want: usize,
    visibility: Duration,
    /// Held messages to renew before receiving.
    due: Vec<ReceivedNotification>,
}

/// The next receive of a pipeline, or `None` when the pass is over for it.
fn next_turn(s: &mut Shared, plan: &Plan<'_>) -> Option<Turn> {
    if s.exhausted || s.failure.is_some() || s.taken >= plan.limit {
        return None;
    }
    if s.receives >= MAX_DISCARD_ROUNDS {
        return None;
    }
    // Whole batches for a selector: its targets may sit anywhere in the queue.
    let want = match plan.selector {
        DiscardSelector::Count(_) => (plan.limit - s.taken)
            .saturating_sub(s.asking)
            .min(plan.per_call),
        _ => plan.per_call,
    };
    if want == 0 {
        // Receives in flight cover the rest of the count.
        return None;
    }
    // Unknown count: assume one more round than we have seen.
    let remaining = plan.count_before.map_or(plan.per_call as u64, |c| {
        c.saturating_sub(s.seen.len() as u64)
    });
    let visibility = pass_visibility(remaining, plan.per_call * plan.workers, s.round_time);
    let round_time = s.round_time;
    s.receives += 1;
    s.asking += want;
    Some(Turn {
        want,
        visibility,
        due: take_due(&mut s.held, visibility, round_time),
    })
}

/// Of a received batch: (to archive then delete, archived earlier but their delete failed:
/// delete again without a second archive line). The rest is held.
fn sort_batch(
    s: &mut Shared,
    plan: &Plan<'_>,
    batch: Vec<ReceivedNotification>,
    received: (Instant, Instant, Duration),
) -> (Vec<ReceivedNotification>, Vec<ReceivedNotification>) {
    let (mut take, mut again, mut others) = (Vec::new(), Vec::new(), Vec::new());
    s.seen.extend(batch.iter().map(|m| m.message_id.clone()));
    for m in batch {
        if !matches(plan.selector, &m) || s.taken >= plan.limit {
            others.push(m);
            continue;
        }
        s.held.remove(&m.message_id);
        if s.report.errors.iter().any(|(id, _)| *id == m.message_id) {
            again.push(m);
            continue;
        }
        s.taken += 1;
        take.push(m);
    }
    let (sent, answered, visibility) = received;
    absorb(&mut s.held, others, sent, answered, visibility);
    (take, again)
}

async fn pipeline(client: &IngestClient, plan: &Plan<'_>, shared: &Mutex<Shared>) {
    loop {
        let round_start = Instant::now();
        let Some(turn) = next_turn(&mut lock(shared), plan) else {
            return;
        };
        if !turn.due.is_empty() {
            let results = update_all(client, turn.due.clone(), turn.visibility, plan.gate).await;
            apply_renewals(&mut lock(shared).held, &turn.due, results, turn.visibility);
        }
        let sent = Instant::now();
        let batch = read_gated(
            client,
            plan.kind,
            turn.want,
            Some(turn.visibility),
            Some(plan.gate),
        )
        .await;
        let received = (sent, Instant::now(), turn.visibility);
        let (take, again) = {
            let mut s = lock(shared);
            s.asking -= turn.want;
            let batch = match batch {
                Ok(b) => b,
                Err(e) => {
                    s.failure.get_or_insert(e);
                    return;
                }
            };
            // The queues are exhausted, or only show messages seen already: the targets are
            // gone, and further receives would only hide other clients' messages.
            if batch.is_empty() || batch.iter().all(|m| s.seen.contains(&m.message_id)) {
                // A re-received message has a new receipt: keep it so it can still be released.
                absorb(&mut s.held, batch, received.0, received.1, received.2);
                s.exhausted = true;
                return;
            }
            sort_batch(&mut s, plan, batch, received)
        };
        if !take.is_empty() {
            let now = chrono::Utc::now();
            let lines = take
                .iter()
                .map(|m| crate::client::archive::line(m, now))
                .collect();
            if let Err(e) = plan.writer.append_all(lines).await {
                let mut s = lock(shared);
                // Not archived, so not deleted: hand them back with the held ones.
                s.taken -= take.len();
                absorb(&mut s.held, take, received.0, received.1, received.2);
                // Stop every pipeline: deleting without an archive would lose data.
                s.failure
                    .get_or_insert(Error::Io(std::io::Error::other(format!(
                        "writing the archive {} failed: {e}",
                        plan.archive.display()
                    ))));
                return;
            }
            lock(shared).report.archived += take.len();
        }
        let retried: HashSet<String> = again.iter().map(|m| m.message_id.clone()).collect();
        let results = delete_all(client, take.into_iter().chain(again).collect(), plan.gate).await;
        let mut s = lock(shared);
        for (id, r) in results {
            let earlier = retried
                .contains(&id)
                .then(|| s.report.errors.iter().position(|(e, _)| *e == id))
                .flatten();
            match (r, earlier) {
                (Ok(()), Some(i)) => {
                    s.report.errors.remove(i);
                    s.report.deleted += 1;
                }
                (Ok(()), None) => s.report.deleted += 1,
                (Err(e), Some(i)) => s.report.errors[i].1 = e.to_string(),
                (Err(e), None) => s.report.errors.push((id, e.to_string())),
            }
        }
        s.round_time = s.round_time.max(round_start.elapsed());
    }
}

/// Deletes every message of `msgs` (archived already), each delete holding a permit of `gate`.
async fn delete_all(
    client: &IngestClient,
    msgs: Vec<ReceivedNotification>,
    gate: &Semaphore,
) -> Vec<(String, Result<()>)> {
    futures::stream::iter(msgs)
        .map(|m| async move {
            let _permit = permit(Some(gate)).await;
            let r = client.delete(&m).await;
            (m.message_id, r)
        })
        .buffer_unordered(MAX_PER_CALL)
        .collect()
        .await
}
