//! `kingest submit`: upload and post each file, journal it, and with `--wait` track every
//! source to its final state through `client::tracking` (the same engine as the TUI).

use std::io::IsTerminal as _;
use std::time::Duration;

use chrono::Utc;
use serde_json::Value;

use crate::cli::args::{ReportLevelArg, ReportMethodArg, SubmitArgs};
use crate::cli::output::{safe, tracker_json, tracker_lines};
use crate::cli::resolve::Resolved;
use crate::cli::{EXIT_INGESTION_FAILED, EXIT_OK, Failure};
use crate::client::journal::{Journal, JournalRecord, Recorded};
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
    let database = args
        .database
        .clone()
        .or(resolved.database.clone())
        .filter(|d| !d.trim().is_empty())
        .ok_or_else(|| Failure::usage("--database is required"))?;
    let table = args
        .table
        .clone()
        .or(resolved.table.clone())
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| Failure::usage("--table is required"))?;
    let format = args
        .format
        .as_deref()
        .map(|f| {
            f.parse::<DataFormat>()
                .map_err(|_| Failure::usage(format!("unknown format '{}'", safe(f))))
        })
        .transpose()?;
    let report_level = match args.report_level {
        ReportLevelArg::Failures => ReportLevel::FailuresOnly,
        ReportLevelArg::None => ReportLevel::None,
        ReportLevelArg::All => ReportLevel::FailuresAndSuccesses,
    };
    let report_method = report_method(client, args.report_method, report_level).await?;
    if args.wait.is_some() && report_level == ReportLevel::None {
        return Err(Failure::usage(
            "--wait needs reporting: drop --report-level none",
        ));
    }
    let journal = resolved.journal(client.ingest_url());
    let mut sources = Vec::new();
    let mut submit_failed = false;
    for path in &args.files {
        let mut req = SubmitRequest::new(path.clone(), &database, &table);
        req.format = format;
        req.mapping_reference = args.mapping_ref.clone();
        req.mapping = args.mapping.clone();
        req.report_level = report_level;
        req.report_method = report_method;
        req.flush_immediately = args.flush;
        req.tags = args.tags.clone();
        req.ingest_if_not_exists = args.ingest_if_not_exists.clone();
        req.ignore_first_record = args.ignore_first_record;
        req.creation_time = args.creation_time.clone();
        req.retain_blob_on_success = !args.no_retain_blob;
        req.ignore_size_limit = args.ignore_size_limit;
        req.extra_properties = args
            .properties
            .iter()
            .map(|(k, v)| (k.clone(), Value::from(v.clone())))
            .collect();
        let file = path.display().to_string();
        let show_progress = !json_out && std::io::stderr().is_terminal();
        let progress: crate::client::ProgressFn = std::sync::Arc::new(move |p| {
            if show_progress && p.total > 0 {
                eprint!(
                    "\r  uploading {:>3}%  ({} bytes sent)",
                    p.read * 100 / p.total.max(1),
                    p.sent
                );
            }
        });
        match client.submit(req, progress).await {
            Ok(s) => {
                if show_progress {
                    eprint!("\r\x1b[2K");
                }
                let reports = report_level != ReportLevel::None;
                let tracker = Tracker::posted(
                    s.source_id.to_string(),
                    s.status_ref.clone().filter(|_| reports),
                    reports && report_method.uses_queue(),
                    Utc::now(),
                );
                let source = Source {
                    file,
                    report: (report_level, report_method),
                    next_read: tracker.next_table_read(Utc::now(), &resolved.poll.table),
                    submitted: s,
                    tracker,
                };
                journal_append(&journal, &source, &database, &table);
                sources.push(source);
            }
            Err(e) => {
                // Other files still go; the failure is reported and counted.
                submit_failed = true;
                if json_out {
                    let mut m = serde_json::Map::new();
                    m.insert("source_id".into(), Value::Null);
                    m.insert("file".into(), safe(&file).into());
                    m.insert("database".into(), database.clone().into());
                    m.insert("table".into(), table.clone().into());
                    m.insert("status".into(), "NotSubmitted".into());
                    m.insert("details".into(), safe(&e.to_string()).into());
                    println!("{}", Value::Object(m));
                } else {
                    eprintln!("error: {}: {}", safe(&file), safe(&e.to_string()));
                }
            }
        }
    }
    if let Some(secs) = args.wait
        && !sources.is_empty()
    {
        if !json_out
            && !args.flush
            && let Some(note) = batching_note(client, &database, &table).await
        {
            eprintln!("{note}");
        }
        wait(
            client,
            &journal,
            &mut sources,
            resolved,
            Duration::from_secs(secs),
            (&database, &table),
        )
        .await;
    }
    for s in &sources {
        if json_out {
            let mut m = tracker_json(&s.tracker);
            m.insert("file".into(), safe(&s.file).into());
            m.insert("database".into(), database.clone().into());
            m.insert("table".into(), table.clone().into());
            m.insert("blob".into(), s.submitted.blob.redacted().into());
            m.insert("message_id".into(), s.submitted.message_id.clone().into());
            m.insert("format".into(), s.submitted.format.wire_name().into());
            m.insert("raw_data_size".into(), s.submitted.raw_data_size.into());
            m.insert("uploaded_bytes".into(), s.submitted.uploaded_bytes.into());
            println!("{}", Value::Object(m));
        } else {
            println!(
                "{}  {}  source {}",
                s.tracker.state.label(),
                safe(&s.file),
                s.tracker.source_id
            );
            if args.wait.is_some() {
                for line in tracker_lines(&s.tracker) {
                    println!("    {line}");
                }
            }
        }
    }
    let all_ok = sources
        .iter()
        .all(|s| args.wait.is_none() || s.tracker.is_success());
    Ok(if all_ok && !submit_failed {
        EXIT_OK
    } else {
        EXIT_INGESTION_FAILED
    })
}

/// The report method: as asked, else the status table wherever the service offers one (as
/// LightIngest does). FailuresOnly with a table is refused, as the Node SDK refuses it: the
/// service writes no success to the table, so a succeeded source's row stays Pending forever.
async fn report_method(
    client: &IngestClient,
    asked: Option<ReportMethodArg>,
    level: ReportLevel,
) -> Result<ReportMethod, Failure> {
    let method = match asked {
        Some(ReportMethodArg::Queue) => ReportMethod::Queue,
        Some(ReportMethodArg::Table) => ReportMethod::Table,
        Some(ReportMethodArg::QueueAndTable) => ReportMethod::QueueAndTable,
        None if level == ReportLevel::FailuresOnly => ReportMethod::Queue,
        None => {
            let res = client.resources().await?;
            if res
                .of_kind(ResourceKind::IngestionsStatusTable)
                .next()
                .is_some()
            {
                ReportMethod::Table
            } else {
                eprintln!("note: the service offers no status table; reporting to the queues");
                ReportMethod::Queue
            }
        }
    };
    if level == ReportLevel::FailuresOnly && method.uses_table() {
        return Err(Failure::usage(
            "--report-level failures cannot report to the status table: the service writes no \
             success there, so a source that succeeds stays Pending forever. Use \
             --report-level all with a table, or --report-method queue",
        ));
    }
    Ok(method)
}

fn journal_append(journal: &Journal, s: &Source, database: &str, table: &str) {
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
        blob: Some(s.submitted.blob.without_query()),
        message_id: Some(s.submitted.message_id.clone()),
        recorded: Recorded::Posted {
            tracker: Box::new(s.tracker.clone()),
        },
    };
    if let Err(e) = journal.append(&rec) {
        eprintln!(
            "warning: cannot write the journal {}: {e}",
            journal.path().display()
        );
    }
}

/// Tracks every source until it is final or `limit` is up, with a live line on stderr.
async fn wait(
    client: &IngestClient,
    journal: &Journal,
    sources: &mut [Source],
    resolved: &Resolved,
    limit: Duration,
    (database, table): (&str, &str),
) {
    let started = tokio::time::Instant::now();
    let deadline = started + limit;
    let poll = resolved.poll;
    let tty = std::io::stderr().is_terminal();
    let mut peek_every = poll.peek_busy;
    let mut next_peek = tokio::time::Instant::now();
    let mut last_line = String::new();
    loop {
        let now = Utc::now();
        for s in sources.iter_mut() {
            let due = s.next_read.is_some_and(|t| t <= now);
            if !due || s.tracker.is_final() {
                continue;
            }
            let Some(at) = s.tracker.status_ref.clone() else {
                continue;
            };
            let result = client.table_status(&at).await;
            let text = result.as_ref().err().map(|e| safe(&e.to_string()));
            let obs = match &result {
                Ok(Some(e)) => Observation::Entity(e),
                Ok(None) => Observation::EntityMissing,
                Err(_) => Observation::TableUnreadable(text.as_deref().unwrap_or_default()),
            };
            let at_now = Utc::now();
            if s.tracker.observe(obs, at_now) {
                journal_append(journal, s, database, table);
            }
            s.next_read = s.tracker.next_table_read(at_now, &poll.table);
        }
        if tokio::time::Instant::now() >= next_peek
            && sources
                .iter()
                .any(|s| s.tracker.by_queue && !s.tracker.is_final())
        {
            let mut new = false;
            for kind in [NotificationKind::Failure, NotificationKind::Success] {
                let Ok(msgs) = client.peek(kind, poll.peek_count).await else {
                    continue;
                };
                let full = msgs.len() >= poll.peek_count;
                for s in sources.iter_mut().filter(|s| s.tracker.by_queue) {
                    let mut seen = false;
                    for m in &msgs {
                        let Some(n) = &m.decoded.notification else {
                            continue;
                        };
                        if !m
                            .source_id()
                            .is_some_and(|id| id.eq_ignore_ascii_case(&s.tracker.source_id))
                        {
                            continue;
                        }
                        seen = true;
                        let obs = Observation::Notification {
                            kind,
                            message_id: &m.message_id,
                            notification: n,
                        };
                        if s.tracker.observe(obs, Utc::now()) {
                            new = true;
                            journal_append(journal, s, database, table);
                        }
                    }
                    if !seen {
                        s.tracker
                            .observe(Observation::NotInPeek { window_full: full }, Utc::now());
                    }
                }
            }
            // Back off while nothing changes, as the TUI does.
            peek_every = if new {
                poll.peek_busy
            } else {
                (peek_every * 2).min(poll.peek_max.min(poll.peek_busy * 6).max(poll.peek_busy))
            };
            next_peek = tokio::time::Instant::now() + peek_every;
        }
        let line = live_line(sources, started.elapsed());
        if tty {
            eprint!("\r\x1b[2K{line}");
        } else if line != last_line {
            eprintln!("{line}");
        }
        last_line = line;
        if sources
            .iter()
            .all(|s| s.tracker.is_final() || !s.tracker.is_trackable())
            || tokio::time::Instant::now() >= deadline
        {
            break;
        }
        let next_read = sources
            .iter()
            .filter_map(|s| s.next_read)
            .min()
            .and_then(|t| (t - Utc::now()).to_std().ok())
            .unwrap_or(Duration::ZERO);
        let queue_wait = next_peek.saturating_duration_since(tokio::time::Instant::now());
        let any_queue = sources
            .iter()
            .any(|s| s.tracker.by_queue && !s.tracker.is_final());
        let mut sleep = if any_queue {
            next_read.min(queue_wait)
        } else {
            next_read
        };
        if sources.iter().all(|s| s.next_read.is_none()) && !any_queue {
            sleep = Duration::from_secs(1);
        }
        // Wake at least every second so the live line's age moves.
        let sleep = sleep.clamp(Duration::from_millis(100), Duration::from_secs(1));
        tokio::time::sleep(
            sleep.min(deadline.saturating_duration_since(tokio::time::Instant::now())),
        )
        .await;
    }
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

fn live_line(sources: &[Source], age: Duration) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for s in sources {
        let label = s.tracker.state.label();
        match counts.iter_mut().find(|(l, _)| *l == label) {
            Some((_, n)) => *n += 1,
            None => counts.push((label, 1)),
        }
    }
    let states = counts
        .iter()
        .map(|(l, n)| format!("{n} {l}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut line = format!("  waiting {} s: {states}", age.as_secs());
    if sources.iter().any(|s| !s.tracker.is_final()) {
        line.push_str(" · batching: the service seals batches after up to 5 min unless --flush");
    }
    line
}

/// The table's batching policy from the engine, when it can be read, as one line.
async fn batching_note(client: &IngestClient, database: &str, table: &str) -> Option<String> {
    let csl = format!(
        ".show table ['{}'] policy ingestionbatching",
        table.replace('\'', "\\'")
    );
    let tables = client.engine_mgmt(database, &csl).await.ok()?;
    let t = tables.first()?;
    let col = t.columns.iter().position(|c| c.name == "Policy")?;
    let policy = t.rows.first()?.get(col)?;
    let parsed: Option<Value> = match policy {
        Value::String(s) => serde_json::from_str(s).ok(),
        Value::Object(_) => Some(policy.clone()),
        _ => None,
    };
    let (span, items, mb, whose) = match &parsed {
        Some(Value::Object(p)) => (
            p.get("MaximumBatchingTimeSpan")
                .and_then(Value::as_str)
                .unwrap_or("00:05:00")
                .to_string(),
            p.get("MaximumNumberOfItems")
                .and_then(Value::as_u64)
                .unwrap_or(500),
            p.get("MaximumRawDataSizeMB")
                .and_then(Value::as_u64)
                .unwrap_or(1024),
            "the table's policy",
        ),
        _ => (
            "00:05:00".to_string(),
            500,
            1024,
            "the service's default policy",
        ),
    };
    Some(format!(
        "batching: {whose} seals a batch after {} or {items} blobs or {mb} MB, whichever comes first (--flush skips batching)",
        safe(&span)
    ))
}
