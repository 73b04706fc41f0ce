//! The TUI's line mode, for a terminal that cannot address the cursor (`TERM=dumb`, see
//! [`crate::runtime::terminal::capability`]): why, the ingestion resources as `kingest
//! resources` prints them, then each new notification of both queues (peeked, never removed)
//! as one line, and the journaled sources still tracking whenever their state changes. Every
//! line is sanitised: nothing but printable text and `\n` reaches the terminal.

use std::collections::{HashMap, HashSet};
use std::io::{self, Write};
use std::time::Duration;

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use crate::app::state::PollConfig;
use crate::cli::output::safe;
use crate::cli::{EXIT_OK, Failure};
use crate::client::error::Problem;
use crate::client::tracking::{Observation, Tracker};
use crate::client::wire::NotificationKind;
use crate::client::{IngestClient, ReceivedNotification, ResourceKind};
use crate::runtime::TuiOptions;

/// How much of a notification's `Details` one line shows.
const DETAILS_CHARS: usize = 120;

/// Past this many remembered message ids only those of the last round are kept: a message that
/// left the queue meanwhile cannot come back, so nothing is shown twice that is still there.
const SEEN_LIMIT: usize = 10_000;

const KINDS: [NotificationKind; 2] = [NotificationKind::Failure, NotificationKind::Success];

/// Runs the line mode on the process's terminal until Ctrl-C, `q`+Enter or end of input.
pub async fn run(client: IngestClient, opts: TuiOptions) -> Result<i32, Failure> {
    let stop = CancellationToken::new();
    quit_on_q_or_eof(stop.clone());
    let ctrl_c = stop.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            ctrl_c.cancel();
        }
    });
    let mut out = io::stdout();
    // Ctrl-C is caught now, so it must also end a start still waiting for a slow cluster.
    let result = tokio::select! {
        r = start(&client, &opts, &mut out, &stop, None) => r,
        _ = stop.cancelled() => Ok(()),
    };
    match result {
        // The reader went away (`… | head`): the output ends there, quietly.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(EXIT_OK),
        r => r
            .map(|()| EXIT_OK)
            .map_err(|e| Failure::service(format!("cannot write to the terminal: {e}"))),
    }
}

/// The line mode writing into `out`: the notice, the resources, then [`Follower::follow`] for
/// at most `rounds` rounds (`None`: until `stop`).
pub async fn start(
    client: &IngestClient,
    opts: &TuiOptions,
    out: &mut impl Write,
    stop: &CancellationToken,
    rounds: Option<usize>,
) -> io::Result<()> {
    writeln!(out, "{}", crate::runtime::terminal::LINE_MODE_NOTICE)?;
    let fetched = match crate::cli::cmd::resources::summary(client).await {
        Ok(lines) => {
            for l in lines {
                writeln!(out, "{l}")?;
            }
            true
        }
        Err(f) => {
            writeln!(
                out,
                "cannot read the ingestion resources: {}; following the queues anyway",
                safe(&f.message)
            )?;
            false
        }
    };
    let mut follower = Follower::new(opts.poll, tracking_sources(opts, client.ingest_url(), out)?);
    // Cached by the summary; not asked again of a cluster that just failed to answer.
    if fetched && let Ok(res) = client.resources().await {
        follower.queues = KINDS
            .iter()
            .map(|&k| {
                let urls = res.of_kind(queue_kind(k)).map(|u| u.without_query());
                (k, urls.collect::<Vec<_>>().join(", "))
            })
            .collect();
    }
    writeln!(
        out,
        "following the failure and success queues (peek: nothing is removed)"
    )?;
    out.flush()?;
    follower.follow(client, out, rounds, stop).await
}

/// The journal's sources of this cluster that are still tracking; a journal that cannot be
/// read is said and skipped (the queues are followed anyway).
fn tracking_sources(
    opts: &TuiOptions,
    ingest_url: &str,
    out: &mut impl Write,
) -> io::Result<Vec<Tracker>> {
    let journal = opts.journal(ingest_url);
    match journal.load(Utc::now(), opts.journal_retention) {
        Ok(loaded) => Ok(loaded
            .records
            .into_iter()
            .map(|r| r.tracker)
            .filter(|t| !t.is_final())
            .collect()),
        Err(e) => {
            writeln!(
                out,
                "cannot read the journal {}: {}",
                safe(&journal.path().display().to_string()),
                safe(&e.to_string())
            )?;
            Ok(vec![])
        }
    }
}

fn queue_kind(kind: NotificationKind) -> ResourceKind {
    match kind {
        NotificationKind::Failure => ResourceKind::FailedIngestionsQueue,
        NotificationKind::Success => ResourceKind::SuccessfulIngestionsQueue,
    }
}

/// Peeks both queues on the `[poll]` schedule and prints what it had not printed yet.
pub struct Follower {
    poll: PollConfig,
    seen: HashSet<String>,
    /// Journaled sources still in flight, with the line last printed for each.
    tracking: Vec<(Tracker, String)>,
    /// The queues' URLs without their SAS, for the line of a failed peek.
    queues: HashMap<NotificationKind, String>,
    /// Queues already said to hold more than a peek can see (said once per queue).
    full_said: HashSet<NotificationKind>,
}

impl Follower {
    pub fn new(poll: PollConfig, tracking: Vec<Tracker>) -> Self {
        Follower {
            poll,
            seen: HashSet::new(),
            tracking: tracking.into_iter().map(|t| (t, String::new())).collect(),
            queues: HashMap::new(),
            full_said: HashSet::new(),
        }
    }

    /// Rounds until `stop` (or `rounds` of them), each after the interval
    /// [`PollConfig::next_peek`] gives: the busy one while journaled sources are in flight.
    pub async fn follow(
        &mut self,
        client: &IngestClient,
        out: &mut impl Write,
        rounds: Option<usize>,
        stop: &CancellationToken,
    ) -> io::Result<()> {
        let mut interval = Duration::ZERO;
        let mut done = 0usize;
        loop {
            let news = tokio::select! {
                _ = stop.cancelled() => return Ok(()),
                news = self.round(client, out) => news?,
            };
            out.flush()?;
            done += 1;
            if rounds.is_some_and(|r| done >= r) {
                return Ok(());
            }
            interval = self
                .poll
                .next_peek(interval, news, !self.tracking.is_empty());
            tokio::select! {
                _ = stop.cancelled() => return Ok(()),
                _ = tokio::time::sleep(interval) => {}
            }
        }
    }

    /// One round: both queues peeked together; whether anything new was printed.
    pub async fn round(&mut self, client: &IngestClient, out: &mut impl Write) -> io::Result<bool> {
        let n = self.poll.peek_count;
        let (failures, successes) = futures::future::join(
            client.peek(NotificationKind::Failure, n),
            client.peek(NotificationKind::Success, n),
        )
        .await;
        let mut news = false;
        let mut peeked = Vec::new();
        let mut window_full = false;
        let mut this_round = HashSet::new();
        let mut failed = false;
        for (kind, result) in KINDS.into_iter().zip([failures, successes]) {
            match result {
                Ok(msgs) => {
                    let full = msgs.len() >= n;
                    window_full |= full;
                    // Azure lets a peek see only the oldest messages: newer ones stay unseen
                    // until others' are removed. Said once, as the TUI's stream title does.
                    if full && self.full_said.insert(kind) {
                        writeln!(
                            out,
                            "{}  the {} queue holds {n} or more messages: a peek sees only the \
                             oldest {n}, so newer ones are not shown until older ones go",
                            Utc::now().format("%H:%M:%S"),
                            kind.as_str()
                        )?;
                        news = true;
                    }
                    for m in &msgs {
                        this_round.insert(m.message_id.clone());
                        if self.seen.insert(m.message_id.clone()) {
                            writeln!(out, "{}", notification_line(m))?;
                            news = true;
                        }
                    }
                    peeked.extend(msgs);
                }
                Err(e) => {
                    failed = true;
                    let queues = self
                        .queues
                        .get(&kind)
                        .filter(|q| !q.is_empty())
                        .map(|q| format!(" ({q})"))
                        .unwrap_or_default();
                    writeln!(
                        out,
                        "{}  peek of the {} queue{queues} failed: {}; trying again",
                        Utc::now().format("%H:%M:%S"),
                        kind.as_str(),
                        safe(&Problem::from(&e).to_string())
                    )?;
                }
            }
        }
        // Forget ids no longer peeked, but only after a round that read every queue.
        if self.seen.len() > SEEN_LIMIT && !failed {
            self.seen = this_round;
        }
        let complete = (!failed).then_some(peeked.as_slice());
        news |= self.observe(complete, window_full, out)?;
        Ok(news)
    }

    /// Feeds the peek (`None` when a queue could not be read: absence proves nothing then) to
    /// the journaled sources' trackers; prints each whose state changed and
    /// stops following those that reached a final state.
    fn observe(
        &mut self,
        peeked: Option<&[ReceivedNotification]>,
        window_full: bool,
        out: &mut impl Write,
    ) -> io::Result<bool> {
        let now = Utc::now();
        let mut news = false;
        for (tracker, shown) in &mut self.tracking {
            if let Some(peeked) = peeked {
                tracker.observe_peek(peeked, window_full, now);
            }
            tracker.observe(Observation::Clock, now);
            // While in flight only the state line: the rest (a count of peeks) changes every
            // round and would repeat the source on each.
            let lines = crate::cli::output::tracker_lines(tracker);
            let line = if tracker.is_final() {
                lines.join("; ")
            } else {
                lines.into_iter().next().unwrap_or_default()
            };
            if line != *shown {
                writeln!(
                    out,
                    "{}  source {}: {line}",
                    now.format("%H:%M:%S"),
                    safe(&tracker.source_id)
                )?;
                *shown = line;
                news = true;
            }
        }
        self.tracking.retain(|(t, _)| !t.is_final());
        Ok(news)
    }
}

/// One notification as one line: time, kind, database.table, ErrorCode/FailureStatus, and
/// the start of the Details; all of it sanitised.
pub fn notification_line(m: &ReceivedNotification) -> String {
    let inserted = m.insertion_time.map(|t| t.to_rfc3339());
    let Some(n) = &m.decoded.notification else {
        return format!(
            "{}  {}  undecodable message {} ({}): {}",
            safe(inserted.as_deref().unwrap_or("-")),
            m.kind.as_str(),
            safe(&m.message_id),
            safe(m.decoded.error.as_deref().unwrap_or("?")),
            short(&safe(&m.decoded.raw))
        );
    };
    let when = n
        .failed_on
        .as_deref()
        .or(n.succeeded_on.as_deref())
        .or(inserted.as_deref())
        .unwrap_or("-");
    let outcome = [n.error_code.as_deref(), n.failure_status.as_deref()]
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("/");
    let mut line = format!(
        "{}  {}  {}.{}  {}  source {}",
        safe(when),
        m.kind.as_str(),
        safe(n.database.as_deref().unwrap_or("?")),
        safe(n.table.as_deref().unwrap_or("?")),
        if outcome.is_empty() {
            "-".to_string()
        } else {
            safe(&outcome)
        },
        safe(n.ingestion_source_id.as_deref().unwrap_or("?")),
    );
    if let Some(d) = n.details.as_deref().filter(|d| !d.is_empty()) {
        line.push_str("  ");
        line.push_str(&short(&safe(d)));
    }
    line
}

/// At most [`DETAILS_CHARS`] characters, an ellipsis where cut.
fn short(s: &str) -> String {
    if s.chars().count() <= DETAILS_CHARS {
        return s.to_string();
    }
    let mut cut: String = s.chars().take(DETAILS_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// `q` + Enter or the end of input stops the line mode. A plain thread, not a tokio task: a
/// blocked read of stdin must not hold up the runtime's shutdown.
fn quit_on_q_or_eof(stop: CancellationToken) {
    std::thread::spawn(move || {
        let mut line = String::new();
        loop {
            line.clear();
            match io::stdin().read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) if matches!(line.trim(), "q" | "Q" | "quit") => break,
                Ok(_) => {}
            }
        }
        stop.cancel();
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_details_are_cut_with_an_ellipsis() {
        let long = "é".repeat(DETAILS_CHARS + 5);
        let cut = short(&long);
        assert_eq!(cut.chars().count(), DETAILS_CHARS);
        assert!(cut.ends_with('…'));
        assert_eq!(short("fine"), "fine");
    }
}
