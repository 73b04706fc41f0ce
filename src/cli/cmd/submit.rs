//! `kingest submit`: upload and post each file, journal it, and with `--wait` track every
//! source to its final state through `client::tracking` (the same engine as the TUI).

use std::io::IsTerminal as _;
use std::time::Duration;

use chrono::Utc;
use serde_json::Value;

use crate::cli::args::{ReportLevelArg, ReportMethodArg, SubmitArgs};
use crate::cli::output::{
    delivery_json, delivery_lines, print_json_line, safe, tracker_json, tracker_lines,
};
use crate::cli::resolve::Resolved;
use crate::cli::{Failure, combine, exit_code, source_exit_code};
use crate::client::journal::{Journal, JournalRecord};
use crate::client::tracking::{Observation, Tracker};
use crate::client::wire::{DataFormat, NotificationKind, ReportLevel, ReportMethod};
use crate::client::{IngestClient, ResourceKind, SubmitRequest, Submitted};

/// One source as submitted.
struct Source {
    file: String,
    report: (ReportLevel, ReportMethod),
    submitted: Submitted,
    tracker: Tracker,
    next_read: Option<chrono::DateTime<Utc>>,
}

pub async fn run(
    client: &IngestClient,
    resolved: &Resolved,
    args: SubmitArgs,
    json_out: bool,
) -> Result<i32, Failure> {
    let database = required(&args.database, &resolved.database, "--database")?;
    let table = required(&args.table, &resolved.table, "--table")?;
    let format = format_flag(args.format.as_deref())?;
    let report_level = match args.report_level {
        ReportLevelArg::Failures => ReportLevel::FailuresOnly,
        ReportLevelArg::None => ReportLevel::None,
        ReportLevelArg::All => ReportLevel::FailuresAndSuccesses,
    };
    // Every check of the flags alone comes before the first request (a usage error is 2
    // whether or not the service answers); the method left to the service is asked last.
    let asked_method = asked_report_method(args.report_method, report_level)?;
    // Waiting needs every outcome reported: with failures only, a success never says so.
    if args.wait.is_some() && report_level != ReportLevel::FailuresAndSuccesses {
        return Err(Failure::usage(format!(
            "--wait needs successes reported too: drop --report-level {}",
            if report_level == ReportLevel::None {
                "none"
            } else {
                "failures"
            }
        )));
    }
    let journal = resolved.journal(client.ingest_url());
    // Every file shares these options: refuse bad ones (exit 2) before anything is uploaded.
    let mut template = SubmitRequest::new("", &database, &table);
    template.format = format;
    template.mapping_reference = args.mapping_ref.clone();
    template.mapping = args.mapping.clone();
    template.report_level = report_level;
    // Checked with the method the service's answer can lead to (a default never conflicts).
    template.report_method = asked_method
        .unwrap_or_else(|| crate::client::submit::default_report_method(report_level, true));
    template.flush_immediately = args.flush;
    template.tags = args.tags.clone();
    template.ingest_if_not_exists = args.ingest_if_not_exists.clone();
    template.ignore_first_record = args.ignore_first_record;
    template.creation_time = args.creation_time.clone();
    template.retain_blob_on_success = !args.no_retain_blob;
    template.ignore_size_limit = args.ignore_size_limit;
    template.allow_growing = args.allow_growing;
    template.mode = args.mode.into();
    template.dedupe = args.dedupe;
    template.compress_threads = args.compress_threads.map(usize::from);
    template.journal = Some(journal.clone());
    template.extra_properties = args
        .properties
        .iter()
        .map(|(k, v)| (k.clone(), Value::from(v.clone())))
        .collect();
    if let Some(p) = &args.zip_pattern {
        crate::client::submit::set_zip_pattern(&mut template, p, &args.files)
            .map_err(|e| Failure::usage(safe(&e.to_string())))?;
    }
    crate::client::submit::validate(&template).map_err(|e| Failure::usage(safe(&e.to_string())))?;
    let report_method = match asked_method {
        Some(m) => m,
        // A streamed source reports nothing: no need to ask the DM what it offers.
        None if template.mode == crate::client::mode::IngestMode::Streaming => {
            template.report_method
        }
        None => offered_report_method(client, report_level).await?,
    };
    template.report_method = report_method;
    if args.dedupe {
        eprintln!("note: {}", crate::client::submit::DEDUPE_COST);
    }
    let blobs = blob_sources(&args.blobs, &args.raw_sizes)?;
    reconcile(client, &journal).await;
    let if_not_exists = template.if_not_exists();
    let mut sources = Vec::new();
    // Exit codes of files that never reached the service.
    let mut not_submitted = Vec::new();
    let show_progress = !json_out && std::io::stderr().is_terminal();
    let mut results = Vec::new();
    for path in &args.files {
        let mut req = template.clone();
        req.path = path.clone();
        let progress: crate::client::ProgressFn = std::sync::Arc::new(move |p| {
            if show_progress && p.total > 0 {
                eprint!(
                    "\r  uploading {:>3}%  ({} bytes sent)",
                    p.read * 100 / p.total.max(1),
                    p.sent
                );
            }
        });
        let result = client.submit(req, progress).await;
        if show_progress {
            eprint!("\r\x1b[2K");
        }
        results.push((path.display().to_string(), result));
    }
    let blob_reqs: Vec<(String, SubmitRequest)> = blobs
        .into_iter()
        .map(|b| {
            let mut req = template.clone();
            req.blob = Some(b);
            (req.source_name(), req)
        })
        .collect();
    if template.mode == crate::client::mode::IngestMode::RestQueued {
        // As few POSTs as the API's maxBlobsPerBatch allows.
        let (names, reqs): (Vec<String>, Vec<SubmitRequest>) = blob_reqs.into_iter().unzip();
        results.extend(names.into_iter().zip(client.submit_rest_blobs(reqs).await));
    } else {
        for (shown, req) in blob_reqs {
            let quiet: crate::client::ProgressFn = std::sync::Arc::new(|_| {});
            results.push((shown, client.submit(req, quiet).await));
        }
    }
    for (file, result) in results {
        match result {
            Ok(s) => {
                if let Some(what) = &s.changed_while_read {
                    eprintln!(
                        "warning: {} changed while it was read ({}): sent what was read \
                         (--allow-growing)",
                        safe(&file),
                        safe(what)
                    );
                }
                let tracker = s.tracker(report_level, report_method, if_not_exists, Utc::now());
                if tracker.reposts > 0 {
                    eprintln!(
                        "note: {}: the answer to posting its message was lost; posted the same \
                         message again at once ({} more time(s)): copies in one batch are \
                         ingested once",
                        safe(&file),
                        tracker.reposts
                    );
                }
                let source = Source {
                    file,
                    report: (report_level, report_method),
                    next_read: tracker.next_table_read(Utc::now(), &resolved.poll.table),
                    submitted: s,
                    tracker,
                };
                journal_append(&journal, &source, (&database, &table));
                sources.push(source);
            }
            Err(e) => {
                // Other files still go; the failure is reported and counted.
                not_submitted.push(exit_code(&e));
                if json_out {
                    let mut m = serde_json::Map::new();
                    m.insert("source_id".into(), Value::Null);
                    m.insert("file".into(), file.clone().into());
                    m.insert("database".into(), database.clone().into());
                    m.insert("table".into(), table.clone().into());
                    m.insert("status".into(), "NotSubmitted".into());
                    m.insert("details".into(), e.to_string().into());
                    print_json_line(&Value::Object(m));
                } else {
                    eprintln!("error: {}: {}", safe(&file), safe(&e.to_string()));
                }
            }
        }
    }
    if let Some(secs) = args.wait
        && sources.iter().any(|s| !s.tracker.is_final())
    {
        let batching = if args.flush {
            None
        } else {
            let b = batching_policy(client, &database, &table).await;
            if !json_out {
                eprintln!("{}", b.note(Utc::now()));
            }
            Some(b)
        };
        let mut w = Waiting {
            client,
            journal: &journal,
            poll: resolved.poll,
            target: (&database, &table),
            batching,
        };
        w.run(&mut sources, Duration::from_secs(secs)).await;
    }
    for s in &sources {
        if json_out {
            let mut m = tracker_json(&s.tracker);
            m.insert("file".into(), s.file.clone().into());
            m.insert("database".into(), database.clone().into());
            m.insert("table".into(), table.clone().into());
            delivery_json(&s.submitted, &mut m);
            m.insert("format".into(), s.submitted.format.wire_name().into());
            m.insert("raw_data_size".into(), s.submitted.raw_data_size.into());
            m.insert("uploaded_bytes".into(), s.submitted.uploaded_bytes.into());
            print_json_line(&Value::Object(m));
        } else {
            println!(
                "{}  {}  source {}",
                s.tracker.state.label(),
                safe(&s.file),
                safe(&s.tracker.source_id)
            );
            for line in delivery_lines(&s.submitted) {
                println!("    {line}");
            }
            // The engine's answer is final at once: its details need no --wait.
            if args.wait.is_some() || s.submitted.answer.is_some() {
                for line in tracker_lines(&s.tracker) {
                    println!("    {line}");
                }
            }
        }
    }
    let outcomes = sources
        .iter()
        .map(|s| source_exit_code(&s.tracker, args.wait.is_some()));
    Ok(combine(not_submitted.into_iter().chain(outcomes)))
}

/// `--blob` URLs with their `--raw-size`s (paired in order: as many sizes as blobs, or none).
fn blob_sources(
    urls: &[String],
    sizes: &[u64],
) -> Result<Vec<crate::client::submit::BlobSource>, Failure> {
    if !sizes.is_empty() && sizes.len() != urls.len() {
        return Err(Failure::usage(format!(
            "{} --raw-size for {} --blob: give one per blob, in the same order, or none",
            sizes.len(),
            urls.len()
        )));
    }
    urls.iter()
        .enumerate()
        .map(|(i, u)| {
            let url = crate::client::storage::SasUrl::parse(u)
                .map_err(|e| Failure::usage(format!("--blob: {}", safe(&e.to_string()))))?;
            Ok(crate::client::submit::BlobSource {
                url,
                raw_size: sizes.get(i).copied(),
            })
        })
        .collect()
}

/// Resumes or abandons what an earlier run left unposted (killed mid-upload or mid-post), and
/// says so on stderr.
pub(crate) async fn reconcile(client: &IngestClient, journal: &Journal) {
    let quiet: crate::client::ProgressFn = std::sync::Arc::new(|_| {});
    for r in crate::client::submit::resume::reconcile(client, journal, quiet).await {
        eprintln!("note: {}", safe(&r.describe()));
    }
}

/// A flag's value, else the configured default; empty counts as missing.
/// `--format F`: a known data format, else a usage error.
pub(crate) fn format_flag(f: Option<&str>) -> Result<Option<DataFormat>, Failure> {
    f.map(|f| {
        f.parse::<DataFormat>()
            .map_err(|_| Failure::usage(format!("unknown format '{}'", safe(f))))
    })
    .transpose()
}

pub(crate) fn required(
    flag: &Option<String>,
    default: &Option<String>,
    name: &str,
) -> Result<String, Failure> {
    flag.clone()
        .or_else(|| default.clone())
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| Failure::usage(format!("{name} is required")))
}

/// The report method: as asked, else the status table wherever the service offers one (as
/// LightIngest does); a conflict with the level is refused before anything is uploaded.
/// `--report-method` as given, refused (usage) when it cannot go with the report level;
/// `None`: the service's offer decides ([`offered_report_method`]).
fn asked_report_method(
    asked: Option<ReportMethodArg>,
    level: ReportLevel,
) -> Result<Option<ReportMethod>, Failure> {
    let Some(method) = asked.map(|a| match a {
        ReportMethodArg::Queue => ReportMethod::Queue,
        ReportMethodArg::Table => ReportMethod::Table,
        ReportMethodArg::QueueAndTable => ReportMethod::QueueAndTable,
    }) else {
        return Ok(None);
    };
    if let Some(why) = crate::client::submit::reporting_conflict(level, method) {
        return Err(Failure::usage(format!(
            "--report-level failures with --report-method {}: {why}",
            method.as_str()
        )));
    }
    Ok(Some(method))
}

/// The default report method: the status table when the service offers one.
async fn offered_report_method(
    client: &IngestClient,
    level: ReportLevel,
) -> Result<ReportMethod, Failure> {
    let res = client.resources().await?;
    let offered = res
        .of_kind(ResourceKind::IngestionsStatusTable)
        .next()
        .is_some();
    if !offered {
        eprintln!("note: the service offers no status table; reporting to the queues");
    }
    Ok(crate::client::submit::default_report_method(level, offered))
}

fn journal_append(journal: &Journal, s: &Source, (database, table): (&str, &str)) {
    let rec = JournalRecord {
        at: Utc::now(),
        ingest_url: journal.ingest_url().to_string(),
        source_id: s.tracker.source_id.clone(),
        file: s.file.clone(),
        database: database.to_string(),
        table: table.to_string(),
        format: s.submitted.format.wire_name(),
        size: s.submitted.raw_data_size,
        report_level: s.report.0.as_str().to_string(),
        report_method: s.report.1.as_str().to_string(),
        mode: s.submitted.mode,
        blob: s.submitted.queued().map(|q| q.blob.without_query()),
        message_id: s.submitted.queued().map(|q| q.message_id.clone()),
        tracker: s.tracker.clone(),
        unfinished: None,
    };
    if let Err(e) = journal.append(&rec) {
        eprintln!(
            "warning: cannot write the journal {}: {}",
            safe(&journal.path().display().to_string()),
            safe(&e.to_string())
        );
    }
}

/// Tracking every source to its final state, with a live line on stderr.
struct Waiting<'a> {
    client: &'a IngestClient,
    journal: &'a Journal,
    poll: crate::app::state::PollConfig,
    target: (&'a str, &'a str),
    /// `None` with `--flush`.
    batching: Option<Batching>,
}

impl Waiting<'_> {
    /// Until every source is final (or cannot be tracked) or `limit` is up.
    async fn run(&mut self, sources: &mut [Source], limit: Duration) {
        let started = tokio::time::Instant::now();
        let deadline = started + limit;
        let tty = std::io::stderr().is_terminal();
        let mut peek_every = self.poll.peek_busy;
        let mut next_peek = started;
        let mut last_states = String::new();
        loop {
            self.read_due_tables(sources).await;
            self.read_due_operations(sources).await;
            let queue_tracked = |s: &Source| s.tracker.by_queue && !s.tracker.is_final();
            if sources.iter().any(queue_tracked) && tokio::time::Instant::now() >= next_peek {
                // The TUI's pace: busy for `peek_busy_for` after the post, then idle.
                let news = self.peek_round(sources).await;
                let busy = started.elapsed() < self.poll.peek_busy_for;
                peek_every = self.poll.next_peek(peek_every, news, busy);
                next_peek = tokio::time::Instant::now() + peek_every;
            }
            let states = state_counts(sources);
            if tty {
                eprint!(
                    "\r\x1b[2K{}",
                    self.live_line(&states, started.elapsed(), sources)
                );
            } else if states != last_states {
                // Not a terminal: one line per change, not one per second.
                eprintln!("{}", self.live_line(&states, started.elapsed(), sources));
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

    /// Reads every status entity that is due (all at once) and feeds it to its tracker.
    async fn read_due_tables(&self, sources: &mut [Source]) {
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

    /// Reads each REST queued operation some due source belongs to (once per operation, all
    /// at once) and feeds the answer to every source of it.
    async fn read_due_operations(&self, sources: &mut [Source]) {
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
                match &result {
                    Ok(status) => {
                        if s.tracker.observe(Observation::RestStatus(status), now) {
                            journal_append(self.journal, s, self.target);
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "reading the REST queued operation's status failed")
                    }
                }
                s.next_read = s.tracker.next_table_read(now, &self.poll.table);
            }
        }
    }

    /// Peeks both notification queues once and feeds what names our queue-tracked sources.
    /// Returns whether anything changed.
    async fn peek_round(&self, sources: &mut [Source]) -> bool {
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

    fn live_line(&self, states: &str, age: Duration, sources: &[Source]) -> String {
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
fn state_counts(sources: &[Source]) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for s in sources {
        let label = s.tracker.state.label();
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
struct Batching {
    time_span: String,
    items: u64,
    size_mb: u64,
    /// Where it came from: the table's, the database's, or the service's default policy.
    whose: &'static str,
}

impl Batching {
    fn note(&self, posted_at: chrono::DateTime<Utc>) -> String {
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
async fn batching_policy(client: &IngestClient, database: &str, table: &str) -> Batching {
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
