//! The concurrent part of a discard pass: `workers` pipelines, each looping receive → archive
//! the batch (one write, one fsync) → delete the batch, all holding permits of one semaphore
//! while a storage request runs, so no more than `workers` requests are ever in flight. The
//! rule of the one-at-a-time pass is kept per message: no delete is sent before its archive
//! line is durable. What the pipelines share is locked only between requests.
//!
//! Messages in hand (received to be taken, not yet deleted) are bounded by a second semaphore
//! ([`in_hand_window`]): two receives' worth, not `workers` × 32. On a slow server the
//! difference is what a receive's visibility timeout must cover: 512 messages at Azurite's
//! ~20 deletes/s is 25 s before the last of them is deleted, 64 is 3 s. A pass that takes
//! everything it receives (`--all`, `-n`) hides for one batch's work ([`batch_visibility`]),
//! not the rest of the pass, so a receive whose answer was lost leaves its messages hidden only
//! that long. If a batch still outlives its timeout and its messages are received again, the
//! later receive deletes them with its own receipt (archived once already: no second line),
//! and the first delete's failure is dropped ([`settle_deletes`]).

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use tokio::sync::Semaphore;

use super::{
    DiscardReport, DiscardSelector, Held, MAX_PER_CALL, ReceivedNotification, absorb,
    apply_renewals, batch_visibility, matches, pass_visibility, permit, read_gated, take_due,
    update_all,
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
    /// `None` for a pass that takes nothing (a scan): it never writes.
    pub writer: Option<ArchiveWriter>,
    /// One permit per storage request in flight.
    pub gate: &'a Semaphore,
    /// Most messages to take (delete or fail to delete).
    pub limit: usize,
    /// Messages one receive asks for (32 a queue).
    pub per_call: usize,
    /// The queues' count when the pass began, if readable.
    pub count_before: Option<u64>,
    /// Most receives of the pass, over all pipelines.
    pub max_receives: usize,
    pub workers: usize,
}

/// The pipelines' common state.
struct Shared {
    report: DiscardReport,
    /// Message ids received this pass, each with the pop receipt of its latest receive: a
    /// delete with an older one was superseded (its batch outlived its timeout and another
    /// receive took the message).
    seen: HashMap<String, Option<String>>,
    /// Received, not taken: released when the pass ends.
    held: HashMap<String, Held>,
    /// Ids taken (archived, or being archived) this pass: received again, they are deleted
    /// again, never archived twice, counted once, and never end the pass as "seen already".
    taken_ids: HashSet<String>,
    /// Messages taken (archived, or being archived) this pass: never more than the limit.
    taken: usize,
    /// Messages asked for by receives in flight: a count is not over-asked (what is received
    /// past it stays hidden from other clients until the pass ends).
    asking: usize,
    receives: usize,
    /// The longest receive-archive-delete round of a pipeline so far.
    round_time: Duration,
    /// The longest time from sending a receive to its batch's last delete answer so far.
    batch_time: Duration,
    /// A pipeline found the queues exhausted (or showing only messages seen already).
    exhausted: bool,
    /// The first error that stops the pass.
    failure: Option<Error>,
}

impl Shared {
    /// A pass's state before its first receive; `first_round_time` is the first guess of a
    /// round's (and a batch's) time.
    fn new(report: DiscardReport, first_round_time: Duration) -> Shared {
        Shared {
            report,
            seen: HashMap::new(),
            held: HashMap::new(),
            taken_ids: HashSet::new(),
            taken: 0,
            asking: 0,
            receives: 0,
            round_time: first_round_time,
            batch_time: first_round_time,
            exhausted: false,
            failure: None,
        }
    }
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
    let shared = Mutex::new(Shared::new(report, first_round_time));
    let window = Semaphore::new(in_hand_window(plan.per_call));
    futures::future::join_all(
        (0..plan.workers.max(1)).map(|_| pipeline(client, plan, &shared, &window)),
    )
    .await;
    let s = shared.into_inner().unwrap_or_else(PoisonError::into_inner);
    let result = s.failure.map_or(Ok(()), Err);
    (s.held, s.report, result)
}

/// Most messages in hand at once: two receives' worth, so one batch's deletes (up to
/// `MAX_PER_CALL` at once, enough for every request slot) run while the next is received and
/// archived. A batch holds its room until its last delete answers.
pub(super) fn in_hand_window(per_call: usize) -> usize {
    per_call.saturating_mul(2)
}

/// Whether a pass takes every message it receives: nothing is held past its batch.
pub(super) fn takes_all(selector: &DiscardSelector) -> bool {
    matches!(selector, DiscardSelector::All | DiscardSelector::Count(_))
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
    if s.receives >= plan.max_receives {
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
    let visibility = if takes_all(plan.selector) {
        batch_visibility(s.batch_time)
    } else {
        pass_visibility(remaining, plan.per_call * plan.workers, s.round_time)
    };
    let round_time = s.round_time;
    s.receives += 1;
    s.asking += want;
    Some(Turn {
        want,
        visibility,
        due: take_due(&mut s.held, visibility, round_time),
    })
}

/// What a pipeline does with a received batch.
#[derive(Debug, Default)]
struct Accepted {
    /// To archive, then delete.
    take: Vec<ReceivedNotification>,
    /// Taken earlier this pass and received again (their delete failed, or their batch
    /// outlived its timeout): delete with this receipt, without a second archive line.
    again: Vec<ReceivedNotification>,
}

/// Sorts a received batch under the lock: taken again, to take, or held (released when the
/// pass ends). A batch that is empty, or whose other messages were all seen already, means the
/// queues are exhausted for this pass: further receives would only hide other clients'
/// messages. Messages taken before never count as "seen already": on a slow server they come
/// back at the head of the queue while the rest is still there.
fn accept_batch(
    s: &mut Shared,
    plan: &Plan<'_>,
    batch: Vec<ReceivedNotification>,
    received: (Instant, Instant, Duration),
) -> Accepted {
    let (again, rest): (Vec<_>, Vec<_>) = batch
        .into_iter()
        .partition(|m| s.taken_ids.contains(&m.message_id));
    let rest_seen = rest.iter().all(|m| s.seen.contains_key(&m.message_id));
    for m in again.iter().chain(&rest) {
        s.seen.insert(m.message_id.clone(), m.pop_receipt.clone());
    }
    let (sent, answered, visibility) = received;
    if rest_seen && (!rest.is_empty() || again.is_empty()) {
        // A re-received message has a new receipt: keep it so it can still be released.
        absorb(&mut s.held, rest, sent, answered, visibility);
        s.exhausted = true;
        return Accepted {
            take: Vec::new(),
            again,
        };
    }
    let (mut take, mut others) = (Vec::new(), Vec::new());
    for m in rest {
        if !matches(plan.selector, &m) || s.taken >= plan.limit {
            others.push(m);
            continue;
        }
        s.held.remove(&m.message_id);
        s.taken += 1;
        s.taken_ids.insert(m.message_id.clone());
        take.push(m);
    }
    absorb(&mut s.held, others, sent, answered, visibility);
    Accepted { take, again }
}

/// Lands a batch's delete answers: (message id, receipt used, outcome). `retried` are the
/// batch's ids taken earlier (a failure of theirs is already in the report's errors).
fn settle_deletes(
    s: &mut Shared,
    results: Vec<(String, Option<String>, Result<()>)>,
    retried: &HashSet<String>,
) {
    for (id, receipt, r) in results {
        if r.is_err() && s.seen.get(&id).is_some_and(|latest| *latest != receipt) {
            // Received again since (this batch outlived its timeout): that receive deletes it
            // (it was taken: see `accept_batch`).
            continue;
        }
        let earlier = retried
            .contains(&id)
            .then(|| s.report.errors.iter().position(|(e, _)| *e == id))
            .flatten();
        match (r, earlier) {
            (Ok(()), Some(i)) => {
                s.report.errors.remove(i);
                s.report.deleted += 1;
            }
            // Taken again after a superseded first delete: this is its first answer.
            (Ok(()), None) => s.report.deleted += 1,
            (Err(e), Some(i)) => s.report.errors[i].1 = e.to_string(),
            (Err(e), None) => s.report.errors.push((id, e.to_string())),
        }
    }
}

async fn pipeline(
    client: &IngestClient,
    plan: &Plan<'_>,
    shared: &Mutex<Shared>,
    window: &Semaphore,
) {
    loop {
        let round_start = Instant::now();
        let Some(turn) = next_turn(&mut lock(shared), plan) else {
            return;
        };
        if !turn.due.is_empty() {
            let results = update_all(client, turn.due.clone(), turn.visibility, plan.gate).await;
            apply_renewals(&mut lock(shared).held, &turn.due, results, turn.visibility);
        }
        // Room in hand for the whole batch; what is not taken is given back once sorted. The
        // window is never closed, so this only waits.
        let Ok(mut hand) = window
            .acquire_many(u32::try_from(turn.want).unwrap_or(u32::MAX))
            .await
        else {
            lock(shared).asking -= turn.want;
            return;
        };
        {
            // The wait for room may be long: the pass may have ended meanwhile.
            let mut s = lock(shared);
            if s.exhausted || s.failure.is_some() {
                s.asking -= turn.want;
                return;
            }
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
        let Accepted { take, again } = {
            let mut s = lock(shared);
            s.asking -= turn.want;
            match batch {
                Ok(b) => accept_batch(&mut s, plan, b, received),
                Err(e) => {
                    s.failure.get_or_insert(e);
                    return;
                }
            }
        };
        let kept = take.len() + again.len();
        drop(hand.split(hand.num_permits().saturating_sub(kept)));
        if !take.is_empty() {
            let now = chrono::Utc::now();
            let lines = take
                .iter()
                .map(|m| crate::client::archive::line(m, now))
                .collect();
            let written = match &plan.writer {
                Some(w) => w.append_all(lines).await,
                None => Err(std::io::Error::other("this pass has no archive")),
            };
            if let Err(e) = written {
                let mut s = lock(shared);
                // Not archived, so not deleted: hand them back with the held ones.
                s.taken -= take.len();
                for m in &take {
                    s.taken_ids.remove(&m.message_id);
                }
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
        settle_deletes(&mut s, results, &retried);
        s.round_time = s.round_time.max(round_start.elapsed());
        s.batch_time = s.batch_time.max(sent.elapsed());
        drop(hand);
    }
}

/// Deletes every message of `msgs` (archived already), each delete holding a permit of `gate`:
/// (message id, the pop receipt used, the outcome).
async fn delete_all(
    client: &IngestClient,
    msgs: Vec<ReceivedNotification>,
    gate: &Semaphore,
) -> Vec<(String, Option<String>, Result<()>)> {
    futures::stream::iter(msgs)
        .map(|m| async move {
            let _permit = permit(Some(gate)).await;
            let r = client.delete(&m).await;
            (m.message_id, m.pop_receipt, r)
        })
        .buffer_unordered(MAX_PER_CALL)
        .collect()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::notifications::{DISCARD_VISIBILITY_FLOOR, max_receives};

    const QUEUED: u64 = 10_000;

    /// Runs `f` with a one-queue plan of `selector` over [`QUEUED`] messages.
    fn with_plan(selector: DiscardSelector, f: impl FnOnce(&Plan<'_>)) {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("a.jsonl");
        let file = crate::client::archive::open_for_append(&archive).unwrap();
        let gate = Semaphore::new(16);
        f(&Plan {
            kind: NotificationKind::Failure,
            selector: &selector,
            archive: &archive,
            writer: Some(ArchiveWriter::new(file)),
            gate: &gate,
            limit: usize::MAX,
            per_call: MAX_PER_CALL,
            count_before: Some(QUEUED),
            max_receives: max_receives(Some(QUEUED), MAX_PER_CALL, takes_all(&selector)),
            workers: 16,
        });
    }

    #[test]
    fn a_pass_taking_all_hides_for_one_batch_not_the_rest_of_the_pass() {
        // Rounds of a second (a slow server): 10,000 left at 16 × 32 a round is 20 rounds.
        let round = Duration::from_secs(1);
        with_plan(DiscardSelector::All, |plan| {
            let mut s = Shared::new(DiscardReport::default(), round);
            let turn = next_turn(&mut s, plan).unwrap();
            // 2 × 1 s + 1 s, under the floor. Sized to the pass it was 42 s: a receive whose
            // answer was lost hid its 32 messages that long (300 s at the ceiling).
            assert_eq!(turn.visibility, DISCARD_VISIBILITY_FLOOR);
            s.batch_time = Duration::from_secs(4);
            assert_eq!(
                next_turn(&mut s, plan).unwrap().visibility,
                Duration::from_secs(9)
            );
        });
        // A selector holds what it does not take until the pass ends: sized to the pass.
        with_plan(DiscardSelector::SourceId("x".into()), |plan| {
            let mut s = Shared::new(DiscardReport::default(), round);
            assert_eq!(
                next_turn(&mut s, plan).unwrap().visibility,
                Duration::from_secs(42)
            );
        });
    }

    #[test]
    fn one_pass_may_receive_all_of_a_long_queue() {
        with_plan(DiscardSelector::All, |plan| {
            let mut s = Shared::new(DiscardReport::default(), Duration::from_millis(10));
            // 10,000 at 32 a receive needs 313; a fixed 200 ended the pass at 6,400.
            let mut turns = 0;
            while next_turn(&mut s, plan).is_some() {
                s.asking = 0;
                turns += 1;
            }
            assert_eq!(turns, 626);
        });
        assert_eq!(max_receives(None, 32, true), 200);
        assert_eq!(max_receives(Some(100), 64, true), 200);
        assert_eq!(max_receives(Some(u64::MAX), 0, true), usize::MAX);
        // A selector holds other clients' messages for the whole pass: it looks no further.
        assert_eq!(max_receives(Some(QUEUED), MAX_PER_CALL, false), 200);
    }

    #[test]
    fn the_window_holds_two_receives() {
        assert_eq!(in_hand_window(32), 64);
        assert_eq!(in_hand_window(usize::MAX), usize::MAX);
    }

    fn received(id: &str, receipt: &str) -> ReceivedNotification {
        ReceivedNotification::fixture(id, Some(receipt), "{}")
    }

    fn ids(msgs: &[ReceivedNotification]) -> Vec<&str> {
        msgs.iter().map(|m| m.message_id.as_str()).collect()
    }

    /// A slow server: batch A's deletes outlive its visibility timeout, its messages come back
    /// at the head of the queue, and pipeline B receives them (and nothing else) while A's
    /// deletes, made with the old receipts, fail. The pass must delete them with B's receipts,
    /// archive and count them once, and go on: it stopped there as "only seen messages",
    /// released them and said it had left nothing (exit 0), with all three still queued.
    #[test]
    fn messages_taken_and_received_again_are_deleted_again_not_taken_for_exhaustion() {
        with_plan(DiscardSelector::All, |plan| {
            let at = (Instant::now(), Instant::now(), DISCARD_VISIBILITY_FLOOR);
            let mut s = Shared::new(DiscardReport::default(), Duration::from_secs(1));
            let a = accept_batch(
                &mut s,
                plan,
                ["m1", "m2", "m3"].map(|i| received(i, "r1")).into(),
                at,
            );
            assert_eq!((ids(&a.take), a.again.len()), (vec!["m1", "m2", "m3"], 0));
            s.report.archived += a.take.len();

            let b = accept_batch(
                &mut s,
                plan,
                ["m1", "m2", "m3"].map(|i| received(i, "r2")).into(),
                at,
            );
            assert!(b.take.is_empty(), "archived once only");
            assert_eq!(ids(&b.again), ["m1", "m2", "m3"]);
            assert!(!s.exhausted, "the rest of the queue may follow");
            assert!(
                s.held.is_empty(),
                "nothing to release: they are the pass's own"
            );

            // A's answers arrive after B's receive (receipt r1 superseded), then B's.
            let mismatch = || Err(Error::Internal("PopReceiptMismatch".into()));
            let first =
                ["m1", "m2", "m3"].map(|i| (i.to_string(), Some("r1".to_string()), mismatch()));
            settle_deletes(&mut s, first.into(), &HashSet::new());
            let retried = ids(&b.again).into_iter().map(String::from).collect();
            let second =
                ["m1", "m2", "m3"].map(|i| (i.to_string(), Some("r2".to_string()), Ok(())));
            settle_deletes(&mut s, second.into(), &retried);
            assert_eq!((s.report.archived, s.report.deleted), (3, 3));
            assert!(s.report.errors.is_empty());

            // A first delete that failed before the message came back is retried and cleared.
            let c = accept_batch(&mut s, plan, vec![received("m4", "r1")], at);
            assert_eq!(ids(&c.take), ["m4"]);
            settle_deletes(
                &mut s,
                vec![("m4".into(), Some("r1".into()), mismatch())],
                &HashSet::new(),
            );
            assert_eq!(s.report.errors.len(), 1);
            let d = accept_batch(&mut s, plan, vec![received("m4", "r2")], at);
            assert_eq!((d.take.len(), ids(&d.again)), (0, vec!["m4"]));
            let retried = HashSet::from(["m4".to_string()]);
            settle_deletes(
                &mut s,
                vec![("m4".into(), Some("r2".into()), Ok(()))],
                &retried,
            );
            assert!(s.report.errors.is_empty());
            assert_eq!(s.report.deleted, 4);

            // An empty receive: the queues are exhausted for this pass.
            let empty = accept_batch(&mut s, plan, Vec::new(), at);
            assert!(empty.take.is_empty() && empty.again.is_empty() && s.exhausted);
        });
    }
}
