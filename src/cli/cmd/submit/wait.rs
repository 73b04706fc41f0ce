//! `--wait`: tracking every posted message (a source sent whole, or each chunk of a split
//! one) to its final state through `client::tracking`, with a live line on stderr.

use std::io::IsTerminal as _;
use std::time::Duration;

use chrono::Utc;
use serde_json::Value;

use crate::cli::output::notice;

use super::{Unit, journal_append};
use crate::cli::output::safe;
use crate::client::IngestClient;
use crate::client::journal::Journal;
use crate::client::tracking::{Observation, Tracker};
use crate::client::wire::NotificationKind;

/// Tracking every source to its final state, with a live line on stderr.
pub(super) struct Waiting<'a> {
    pub(super) client: &'a IngestClient,
    pub(super) journal: &'a Journal,
    pub(super) poll: crate::app::state::PollConfig,
    pub(super) target: (&'a str, &'a str),
    /// `None` with `--flush`.
    pub(super) batching: Option<Batching>,
}

impl Waiting<'_> {
    /// Until every message is final (or cannot be tracked) or `limit` is up; `summary` says
    /// where the sources stand, for the live line.
    pub(super) async fn run(
        &mut self,
        sources: &mut [Unit],
        limit: Duration,
        summary: impl Fn(&[Unit]) -> String,
    ) {
        let started = tokio::time::Instant::now();
        let deadline = started + limit;
        let tty = std::io::stderr().is_terminal() && !crate::cli::output::quiet();
        let mut peek_every = self.poll.peek_busy;
        let mut next_peek = started;
        let mut last_states = String::new();
        loop {
            self.read_due_tables(sources).await;
            self.read_due_operations(sources).await;
            let queue_tracked = |s: &Unit| s.tracker.by_queue && !s.tracker.is_final();
            if sources.iter().any(queue_tracked) && tokio::time::Instant::now() >= next_peek {
                // The TUI's pace: busy for `peek_busy_for` after the post, then idle.
                let news = self.peek_round(sources).await;
                let busy = started.elapsed() < self.poll.peek_busy_for;
                peek_every = self.poll.next_peek(peek_every, news, busy);
                next_peek = tokio::time::Instant::now() + peek_every;
            }
            let states = summary(sources);
            if tty {
                eprint!(
                    "\r\x1b[2K{}",
                    self.live_line(&states, started.elapsed(), sources)
                );
            } else if states != last_states {
                // Not a terminal: one line per change, not one per second.
                notice!("{}", self.live_line(&states, started.elapsed(), sources));
            }
            last_states = states;
            let done = sources
                .iter()
                .all(|s| !s.tracker.can_still_learn(Utc::now()));
            let now = tokio::time::Instant::now();
            if done || now >= deadline {
                break;
            }
            let until_read = sources
                .iter()
                .filter_map(|s| s.next_read)
                .min()
                .and_then(|t| (t - Utc::now()).to_std().ok());
            let until_peek = sources
                .iter()
                .any(queue_tracked)
                .then(|| next_peek.saturating_duration_since(now));
            // Wake at least every second so the live line's age moves.
            let sleep = [until_read, until_peek]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(Duration::from_secs(1))
                .clamp(Duration::from_millis(100), Duration::from_secs(1))
                .min(deadline.saturating_duration_since(now));
            tokio::time::sleep(sleep).await;
        }
        // Final from the queues: one read of the table, which alone knows PartiallySucceeded.
        for s in sources.iter_mut() {
            if s.tracker.wants_table_confirmation(Utc::now()) {
                s.next_read = Some(Utc::now());
            }
        }
        self.read_due_tables(sources).await;
        if tty {
            eprint!("\r\x1b[2K");
        }
        if sources.iter().any(|s| !s.tracker.is_final()) {
            eprintln!(
                "gave up waiting after {} s; `kingest status SOURCE_ID` looks again later",
                started.elapsed().as_secs()
            );
        }
    }

    /// Reads each REST queued operation some due source belongs to (once per operation, all
    /// at once) and feeds the answer to every source of it.
    async fn read_due_operations(&self, sources: &mut [Unit]) {
        let now = Utc::now();
        let mut ops: Vec<crate::client::tracking::OperationRef> = Vec::new();
        for s in sources.iter() {
            if let Some(op) = &s.tracker.operation
                && !s.tracker.is_final()
                && s.next_read.is_some_and(|t| t <= now)
                && !ops.contains(op)
            {
                ops.push(op.clone());
            }
        }
        let reads = futures::future::join_all(ops.iter().map(|op| {
            self.client
                .rest_status(&op.database, &op.table, &op.operation_id)
        }))
        .await;
        for (op, result) in ops.iter().zip(reads) {
            let now = Utc::now();
            for s in sources
                .iter_mut()
                .filter(|s| s.tracker.operation.as_ref() == Some(op))
            {
                if s.tracker.observe_rest_read(result.as_ref(), now) {
                    journal_append(self.journal, s, self.target);
                }
                s.next_read = s.tracker.next_table_read(now, &self.poll.table);
            }
        }
    }

    /// Reads every status entity that is due (all at once) and feeds it to its tracker.
    async fn read_due_tables(&self, sources: &mut [Unit]) {
        let now = Utc::now();
        let due: Vec<(usize, crate::client::tracking::StatusRef)> = sources
            .iter()
            .enumerate()
            .filter(|(_, s)| {
                let confirm = s.tracker.wants_table_confirmation(now);
                !((s.tracker.is_final() && !confirm) || s.next_read.is_none_or(|t| t > now))
            })
            .filter_map(|(i, s)| s.tracker.status_ref.clone().map(|at| (i, at)))
            .collect();
        let reads =
            futures::future::join_all(due.iter().map(|(_, at)| self.client.table_status(at))).await;
        for ((i, _), result) in due.into_iter().zip(reads) {
            let Some(s) = sources.get_mut(i) else {
                continue;
            };
            let text = result.as_ref().err().map(|e| safe(&e.to_string()));
            let obs = match &result {
                Ok(Some(e)) => Observation::Entity(e),
                Ok(None) => Observation::EntityMissing,
                Err(_) => Observation::TableUnreadable(text.as_deref().unwrap_or_default()),
            };
            let now = Utc::now();
            if s.tracker.observe(obs, now) {
                journal_append(self.journal, s, self.target);
            }
            s.next_read = s.tracker.next_table_read(now, &self.poll.table);
        }
    }

    /// Peeks both notification queues once and feeds what names our queue-tracked sources.
    /// Returns whether anything changed.
    async fn peek_round(&self, sources: &mut [Unit]) -> bool {
        let mut changed = false;
        // Both queues at once: a stalled one costs one deadline, not two.
        let kinds = [NotificationKind::Failure, NotificationKind::Success];
        let peeks = futures::future::join_all(
            kinds.map(|kind| self.client.peek(kind, self.poll.peek_count)),
        )
        .await;
        for (kind, peeked) in kinds.into_iter().zip(peeks) {
            let msgs = match peeked {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!(error = %e, "peeking {} notifications failed", kind.as_str());
                    continue;
                }
            };
            let window_full = msgs.len() >= self.poll.peek_count;
            for s in sources.iter_mut().filter(|s| s.tracker.by_queue) {
                let before = (s.tracker.state, s.tracker.error.clone());
                s.tracker.observe_peek(&msgs, window_full, Utc::now());
                if (s.tracker.state, s.tracker.error.clone()) != before {
                    changed = true;
                    journal_append(self.journal, s, self.target);
                }
            }
        }
        changed
    }

    fn live_line(&self, states: &str, age: Duration, sources: &[Unit]) -> String {
        let mut line = format!("  waiting {} s: {states}", age.as_secs());
        if let Some(b) = &self.batching
            && sources.iter().any(|s| !s.tracker.is_final())
        {
            line.push_str(&format!(
                " · batching: sealed after up to {} unless --flush",
                safe(&b.time_span)
            ));
        }
        line
    }
}

/// "2 Pending, 1 Succeeded", in the order states first appear.
pub(super) fn state_counts<'a>(trackers: impl IntoIterator<Item = &'a Tracker>) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for t in trackers {
        let label = t.state.label();
        match counts.iter_mut().find(|(l, _)| *l == label) {
            Some((_, n)) => *n += 1,
            None => counts.push((label, 1)),
        }
    }
    counts
        .iter()
        .map(|(l, n)| format!("{n} {l}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The IngestionBatching policy in force for the target table, as far as the engine says.
pub(super) struct Batching {
    time_span: String,
    items: u64,
    size_mb: u64,
    /// Where it came from: the table's, the database's, or the service's default policy.
    whose: &'static str,
}

impl Batching {
    pub(super) fn note(&self, posted_at: chrono::DateTime<Utc>) -> String {
        let seal = crate::client::wire::parse_timespan(&self.time_span)
            .and_then(|d| chrono::TimeDelta::from_std(d).ok())
            .map(|d| {
                format!(
                    "; a batch opened now seals by {} at the latest",
                    (posted_at + d).format("%H:%M:%S UTC")
                )
            })
            .unwrap_or_default();
        format!(
            "batching: {} seals a batch after {}, {} blobs or {} MB, whichever comes first{seal} (--flush skips batching)",
            self.whose,
            safe(&self.time_span),
            self.items,
            self.size_mb
        )
    }
}

/// The effective IngestionBatching policy: the table's, else the database's, else the
/// service's defaults (5 min, 500 blobs, 1024 MB: batching-policy.md), read from the engine.
/// An engine that cannot be asked means the defaults.
pub(super) async fn batching_policy(
    client: &IngestClient,
    database: &str,
    table: &str,
) -> Batching {
    let quote = |name: &str| name.replace('\'', "\\'");
    let levels = [
        (
            format!(".show table ['{}'] policy ingestionbatching", quote(table)),
            "the table's policy",
        ),
        (
            format!(
                ".show database ['{}'] policy ingestionbatching",
                quote(database)
            ),
            "the database's policy",
        ),
    ];
    for (csl, whose) in levels {
        if let Some(p) = policy_of(client, database, &csl).await {
            let num = |k: &str, d: u64| p.get(k).and_then(Value::as_u64).unwrap_or(d);
            return Batching {
                time_span: p
                    .get("MaximumBatchingTimeSpan")
                    .and_then(Value::as_str)
                    .unwrap_or("00:05:00")
                    .to_string(),
                items: num("MaximumNumberOfItems", 500),
                size_mb: num("MaximumRawDataSizeMB", 1024),
                whose,
            };
        }
    }
    Batching {
        time_span: "00:05:00".into(),
        items: 500,
        size_mb: 1024,
        whose: "the service's default policy",
    }
}

/// The `Policy` object of a `.show … policy` answer; `None` when null or unreadable.
async fn policy_of(
    client: &IngestClient,
    database: &str,
    csl: &str,
) -> Option<serde_json::Map<String, Value>> {
    let tables = client.engine_mgmt(database, csl).await.ok()?;
    let t = tables.first()?;
    let col = t.columns.iter().position(|c| c.name == "Policy")?;
    match t.rows.first()?.get(col)? {
        Value::String(s) => match serde_json::from_str::<Value>(s).ok()? {
            Value::Object(m) => Some(m),
            _ => None,
        },
        Value::Object(m) => Some(m.clone()),
        _ => None,
    }
}
