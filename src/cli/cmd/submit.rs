//! `kingest submit`: find the sources (files, folders, globs, standard input:
//! `client::discover`), upload and post them a few at a time (a text source over
//! `--chunk-size` split into chunks: `client::submit::chunk`), journal each message, and with
//! `--wait` track every one to its final state through `client::tracking` (the same engine
//! as the TUI, `wait`); LightIngest-like counters and report file in `report`.

mod outcome;
mod report;
mod wait;

use std::io::IsTerminal as _;
use std::time::Duration;

use chrono::Utc;
use futures::StreamExt as _;
use serde_json::Value;

use crate::cli::args::{ReportLevelArg, ReportMethodArg, SubmitArgs};
use crate::cli::output::{notice, print_json_line, safe};
use crate::cli::resolve::Resolved;
use crate::cli::{Failure, combine, exit_code, source_exit_code};
use crate::client::discover::Found;
use crate::client::journal::{Journal, JournalRecord};
use crate::client::tracking::{TrackState, Tracker};
use crate::client::wire::{DataFormat, ReportLevel, ReportMethod};
use crate::client::{IngestClient, ResourceKind, SubmitRequest, Submitted};
use outcome::{list_only, print_outcomes};
use report::{ReportFormat, Summary};
use wait::Waiting;

/// One message posted: a source sent whole, or one chunk of a split one.
struct Unit {
    file: String,
    report: (ReportLevel, ReportMethod),
    submitted: Submitted,
    tracker: Tracker,
    next_read: Option<chrono::DateTime<Utc>>,
    /// What was asked (`SubmitRequest::to_json`) and the file's size and mtime when sent:
    /// journaled so `resubmit` can send it again.
    request: Value,
    stamp: Option<(u64, Option<i128>)>,
    /// The source this one resubmits.
    resubmit_of: Option<String>,
}

/// One source as discovered: its messages (several when it was split), or why it was not
/// posted.
struct Source {
    file: String,
    /// The id the user sees (a split source's chunks each have their own message Id).
    source_id: Option<String>,
    /// Its messages, as indices into the units.
    units: Vec<usize>,
    error: Option<String>,
}

impl Source {
    /// Its state: its one message's, or kingest's aggregate over its chunks; `None` when it
    /// was not posted.
    fn state(&self, units: &[Unit]) -> Option<TrackState> {
        let trackers: Vec<&Tracker> = self
            .units
            .iter()
            .filter_map(|&i| units.get(i).map(|u| &u.tracker))
            .collect();
        match trackers.as_slice() {
            [] => None,
            [one] => Some(one.state),
            many => Some(crate::client::tracking::aggregate(many)),
        }
    }

    /// "2 Succeeded, 1 Failed" over its chunks.
    fn chunk_counts(&self, units: &[Unit]) -> String {
        wait::state_counts(
            self.units
                .iter()
                .filter_map(|&i| units.get(i).map(|u| &u.tracker)),
        )
    }
}

/// The live line's pace when stderr is not a terminal (LightIngest prints every 10 s).
const LIVE_EVERY: Duration = Duration::from_secs(10);

pub async fn run(
    client: &IngestClient,
    resolved: &Resolved,
    args: SubmitArgs,
    json_out: bool,
) -> Result<i32, Failure> {
    let started = tokio::time::Instant::now();
    let found = crate::client::discover::discover(&args.files, args.pattern.as_deref())
        .map_err(|e| Failure::usage(safe(&e)))?;
    let format = format_flag(args.target.format.as_deref())?;
    if args.list_only {
        list_only(&found, format, args.chunk_size, json_out);
        return Ok(crate::cli::EXIT_OK);
    }
    if found.iter().any(|f| f.stdin) && format.is_none() {
        return Err(Failure::usage(
            "standard input ('-') has no extension to tell its format: pass --format",
        ));
    }
    let report_file = match &args.report {
        Some(p) => Some((
            p.clone(),
            ReportFormat::of(p, args.report_format).map_err(|e| Failure::usage(safe(&e)))?,
        )),
        None => None,
    };
    let database = required(&args.target.database, &resolved.database, "--database")?;
    let table = required(&args.target.table, &resolved.table, "--table")?;
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
    template.mapping_reference = args.target.mapping_ref.clone();
    template.mapping = args.mapping.clone();
    template.report_level = report_level;
    // Checked with the method the service's answer can lead to (a default never conflicts).
    template.report_method = asked_method
        .unwrap_or_else(|| crate::client::submit::default_report_method(report_level, true));
    template.flush_immediately = args.flush;
    template.tags = args.tags.clone();
    template.ingest_if_not_exists = args.ingest_if_not_exists.clone();
    template.ignore_first_record = args.target.ignore_first_record;
    template.creation_time = args.creation_time.clone();
    template.retain_blob_on_success = !args.no_retain_blob;
    template.ignore_size_limit = args.ignore_size_limit;
    template.allow_growing = args.allow_growing;
    template.mode = args.mode.into();
    template.dedupe = args.dedupe;
    template.tag_source = args.tag_source;
    template.compress_threads = args.compress_threads.map(usize::from);
    template.chunk_size = Some(args.chunk_size);
    template.journal = Some(journal.clone());
    template.extra_properties = args
        .target
        .properties
        .iter()
        .map(|(k, v)| (k.clone(), Value::from(v.clone())))
        .collect();
    if let Some(p) = &args.zip_pattern {
        // Checked against what was found (a folder's files) and the blobs' names.
        let names: Vec<std::path::PathBuf> = found
            .iter()
            .map(|f| f.path.clone())
            .chain(
                args.blobs
                    .iter()
                    .map(|b| b.split(['?', ';']).next().unwrap_or(b).into()),
            )
            .collect();
        crate::client::submit::set_zip_pattern(&mut template, p, &names)
            .map_err(|e| Failure::usage(safe(&e.to_string())))?;
    }
    crate::client::submit::validate(&template).map_err(|e| Failure::usage(safe(&e.to_string())))?;
    let report_method = match asked_method {
        Some(m) => m,
        // A streamed source reports nothing: no need to ask the DM what it offers.
        // Nor one sent by the REST queued API, which tracks by operation id.
        None if matches!(
            template.mode,
            crate::client::mode::IngestMode::Streaming
                | crate::client::mode::IngestMode::RestQueued
        ) =>
        {
            template.report_method
        }
        None => offered_report_method(client, report_level).await?,
    };
    template.report_method = report_method;
    if args.dedupe {
        notice!("note: {}", crate::client::submit::DEDUPE_COST);
    }
    if args.tag_source {
        notice!("note: {}", crate::client::submit::TAG_SOURCE_COST);
    }
    let blobs = blob_sources(&args.blobs, &args.raw_sizes)?;
    if let Some(b) = blobs.first() {
        let mut req = template.clone();
        req.blob = Some(b.clone());
        crate::client::submit::validate(&req).map_err(|e| Failure::usage(safe(&e.to_string())))?;
    }
    reconcile(client, &journal).await;
    // Each source's request as journaled, by the name the stream gives it.
    let mut requests: std::collections::HashMap<String, Value> = found
        .iter()
        .filter(|f| !f.stdin)
        .map(|f| {
            let mut req = template.clone();
            req.path = f.path.clone();
            (f.path.display().to_string(), req.to_json())
        })
        .collect();
    for b in &blobs {
        let mut req = template.clone();
        req.blob = Some(b.clone());
        requests.insert(req.source_name(), req.to_json());
    }
    let if_not_exists = template.if_not_exists();
    let discovered = found.len() + blobs.len();
    let many = discovered > 1;
    let tty = !json_out && std::io::stderr().is_terminal() && !crate::cli::output::quiet();
    let mut live = Live::new(tty);
    let submits = futures::stream::iter(found.iter().cloned())
        .map(|f: Found| {
            let mut req = template.clone();
            req.from_stdin = f.stdin;
            req.path = if f.stdin {
                crate::client::submit::STDIN_NAME.into()
            } else {
                f.path.clone()
            };
            let show_progress = tty && !many;
            let progress: crate::client::ProgressFn = std::sync::Arc::new(move |p| {
                if !show_progress {
                } else if p.total > 0 {
                    eprint!(
                        "\r  uploading {:>3}%  ({} bytes sent)",
                        p.read * 100 / p.total.max(1),
                        p.sent
                    );
                } else {
                    eprint!("\r  uploading: {} bytes read, {} sent", p.read, p.sent);
                }
            });
            let file = if f.stdin {
                crate::client::submit::STDIN_NAME.to_string()
            } else {
                f.path.display().to_string()
            };
            async move { (file, client.submit_chunks(req, progress).await) }
        })
        .buffered(usize::from(args.parallel))
        .chain(blob_submits(client, &template, blobs));
    futures::pin_mut!(submits);
    let mut units: Vec<Unit> = Vec::new();
    let mut sources: Vec<Source> = Vec::new();
    // Exit codes of files that never reached the service.
    let mut not_submitted = Vec::new();
    while let Some((file, result)) = submits.next().await {
        if tty && !many {
            eprint!("\r\x1b[2K");
        }
        match result {
            Ok(posted) => {
                let mut source = Source {
                    file: file.clone(),
                    source_id: posted
                        .first()
                        .map(|s| s.chunk.map_or(s.source_id, |c| c.source_id).to_string()),
                    units: Vec::new(),
                    error: None,
                };
                if posted.len() > 1 && !json_out {
                    notice!(
                        "note: {} was split into {} chunks at record boundaries (--chunk-size \
                         {} bytes), one blob and message each",
                        safe(&file),
                        posted.len(),
                        args.chunk_size
                    );
                }
                for s in posted {
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
                        notice!(
                            "note: {}: the answer to posting its message was lost; posted the \
                             same message again at once ({} more time(s)): copies in one batch \
                             are ingested once",
                            safe(&file),
                            tracker.reposts
                        );
                    }
                    let unit = Unit {
                        file: file.clone(),
                        report: (report_level, report_method),
                        next_read: tracker.next_table_read(Utc::now(), &resolved.poll.table),
                        submitted: s,
                        tracker,
                        request: requests.get(&file).cloned().unwrap_or(Value::Null),
                        stamp: crate::client::submit::file_stamp(std::path::Path::new(&file)),
                        resubmit_of: None,
                    };
                    journal_append(&journal, &unit, (&database, &table));
                    source.units.push(units.len());
                    units.push(unit);
                }
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
                    live.clear();
                    eprintln!("error: {}: {}", safe(&file), safe(&e.to_string()));
                }
                sources.push(Source {
                    file,
                    source_id: None,
                    units: Vec::new(),
                    error: Some(e.to_string()),
                });
            }
        }
        if many && !json_out {
            live.show(&Summary::of(discovered, &sources, &units).line());
        }
    }
    live.clear();
    if let Some(secs) = args.wait
        && units.iter().any(|u| !u.tracker.is_final())
    {
        let batching = if args.flush {
            None
        } else {
            let b = wait::batching_policy(client, &database, &table).await;
            if !json_out {
                notice!("{}", b.note(Utc::now()));
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
        let summary = |units: &[Unit]| {
            if sources.len() > 1 || units.len() > 1 {
                Summary::of(discovered, &sources, units).line()
            } else {
                wait::state_counts(units.iter().map(|u| &u.tracker))
            }
        };
        w.run(&mut units, Duration::from_secs(secs), summary).await;
    }
    print_outcomes(
        &sources,
        &units,
        (&database, &table),
        json_out,
        args.wait.is_some(),
    );
    if let Some((path, format)) = &report_file
        && let Err(e) = report::write(path, *format, &sources, &units)
    {
        eprintln!(
            "warning: cannot write the report {}: {}",
            safe(&path.display().to_string()),
            safe(&e.to_string())
        );
    }
    let summary = Summary::of(discovered, &sources, &units);
    if many || report_file.is_some() || summary.chunks > summary.posted {
        for line in summary.report(
            started.elapsed().as_secs(),
            report_file.as_ref().map(|(p, _)| p.as_path()),
        ) {
            notice!("{}", safe(&line));
        }
    }
    let outcomes = units
        .iter()
        .map(|u| source_exit_code(&u.tracker, args.wait.is_some()));
    Ok(combine(not_submitted.into_iter().chain(outcomes)))
}

/// The live summary line on stderr: redrawn in place on a terminal, else printed when it
/// changed and [`LIVE_EVERY`] has passed.
struct Live {
    tty: bool,
    shown: bool,
    last: Option<(tokio::time::Instant, String)>,
}

impl Live {
    fn new(tty: bool) -> Self {
        Live {
            tty,
            shown: false,
            last: None,
        }
    }

    fn show(&mut self, line: &str) {
        if self.tty {
            eprint!("\r\x1b[2K  {line}");
            self.shown = true;
            return;
        }
        let due = self
            .last
            .as_ref()
            .is_none_or(|(at, text)| text != line && at.elapsed() >= LIVE_EVERY);
        if due {
            notice!("  {line}");
            self.last = Some((tokio::time::Instant::now(), line.to_string()));
        }
    }

    fn clear(&mut self) {
        if self.shown {
            eprint!("\r\x1b[2K");
            self.shown = false;
        }
    }
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
    let mut seen = std::collections::HashSet::new();
    if let Some(twice) = urls
        .iter()
        .find(|u| !seen.insert(u.split('?').next().unwrap_or(u).to_ascii_lowercase()))
    {
        // The REST queued API refuses a POST naming a blob twice; a queue would ingest it twice.
        return Err(Failure::usage(format!(
            "--blob {} is given twice",
            safe(crate::client::redact::strip_query(twice))
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

/// The `--blob` sources' submits, after the files': through the REST queued API as few POSTs
/// as its `maxBlobsPerBatch` allows, else one at a time.
fn blob_submits<'a>(
    client: &'a IngestClient,
    template: &SubmitRequest,
    blobs: Vec<crate::client::submit::BlobSource>,
) -> futures::stream::LocalBoxStream<'a, (String, crate::client::Result<Vec<Submitted>>)> {
    let reqs: Vec<SubmitRequest> = blobs
        .into_iter()
        .map(|b| {
            let mut req = template.clone();
            req.blob = Some(b);
            req
        })
        .collect();
    let names: Vec<String> = reqs.iter().map(SubmitRequest::source_name).collect();
    if template.mode == crate::client::mode::IngestMode::RestQueued {
        futures::stream::once(async move {
            let answers = client.submit_rest_blobs(reqs).await;
            futures::stream::iter(
                names
                    .into_iter()
                    .zip(answers.into_iter().map(|a| a.map(|s| vec![s]))),
            )
        })
        .flatten()
        .boxed_local()
    } else {
        futures::stream::iter(names.into_iter().zip(reqs))
            .then(move |(name, req)| async move {
                let quiet: crate::client::ProgressFn = std::sync::Arc::new(|_| {});
                (name, client.submit(req, quiet).await.map(|s| vec![s]))
            })
            .boxed_local()
    }
}

/// Resumes or abandons what an earlier run left unposted (killed mid-upload or mid-post), and
/// says so on stderr.
pub(crate) async fn reconcile(client: &IngestClient, journal: &Journal) {
    let quiet: crate::client::ProgressFn = std::sync::Arc::new(|_| {});
    for r in crate::client::submit::resume::reconcile(client, journal, quiet).await {
        notice!("note: {}", safe(&r.describe()));
    }
}

/// `--format F`: a known data format, else a usage error.
pub(crate) fn format_flag(f: Option<&str>) -> Result<Option<DataFormat>, Failure> {
    f.map(|f| {
        f.parse::<DataFormat>()
            .map_err(|_| Failure::usage(format!("unknown format '{}'", safe(f))))
    })
    .transpose()
}

/// A flag's value, else the configured default; empty counts as missing.
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
        notice!("note: the service offers no status table; reporting to the queues");
    }
    Ok(crate::client::submit::default_report_method(level, offered))
}

fn journal_append(journal: &Journal, s: &Unit, (database, table): (&str, &str)) {
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
        chunk: s.submitted.chunk,
        unfinished: None,
        request: (!s.request.is_null()).then(|| s.request.clone()),
        file_len: s.stamp.map(|(len, _)| len),
        file_mtime_ns: s.stamp.and_then(|(_, t)| t),
        resubmit_of: s.resubmit_of.clone(),
    };
    if let Err(e) = journal.append(&rec) {
        eprintln!(
            "warning: cannot write the journal {}: {}",
            safe(&journal.path().display().to_string()),
            safe(&e.to_string())
        );
    }
}

/// A resubmission (`kingest resubmit`): one request sent as a new source, journaled with a
/// link to the original, waited for and reported as `submit` does.
pub(crate) struct Resend {
    pub file: String,
    pub request: SubmitRequest,
    pub resubmit_of: String,
    pub wait: Option<u64>,
}

/// Sends `r`; returns the exit code and each message's final tracker with its dedupe tag.
pub(crate) async fn resend(
    client: &IngestClient,
    resolved: &Resolved,
    r: Resend,
    json_out: bool,
) -> Result<(i32, Vec<(Tracker, Option<String>)>), Failure> {
    let journal = resolved.journal(client.ingest_url());
    let mut req = r.request;
    req.journal = Some(journal.clone());
    let (level, method) = (req.report_level, req.report_method);
    if r.wait.is_some() && level != ReportLevel::FailuresAndSuccesses {
        return Err(Failure::usage(format!(
            "--wait needs successes reported too, and this source was sent with report level \
             {}: resubmit it without --wait and follow it with `kingest status`",
            level.as_str()
        )));
    }
    let (database, table) = (req.database.clone(), req.table.clone());
    let if_not_exists = req.if_not_exists();
    let request_json = req.to_json();
    let flush = req.flush_immediately;
    let stamp = (req.blob.is_none() && !req.from_stdin)
        .then(|| crate::client::submit::file_stamp(&req.path))
        .flatten();
    let quiet: crate::client::ProgressFn = std::sync::Arc::new(|_| {});
    let posted = if req.blob.is_some() {
        client.submit(req, quiet).await.map(|s| vec![s])
    } else {
        client.submit_chunks(req, quiet).await
    }?;
    let mut source = Source {
        file: r.file.clone(),
        source_id: posted
            .first()
            .map(|s| s.chunk.map_or(s.source_id, |c| c.source_id).to_string()),
        units: Vec::new(),
        error: None,
    };
    let mut units = Vec::new();
    for s in posted {
        let tracker = s.tracker(level, method, if_not_exists, Utc::now());
        let unit = Unit {
            file: r.file.clone(),
            report: (level, method),
            next_read: tracker.next_table_read(Utc::now(), &resolved.poll.table),
            submitted: s,
            tracker,
            request: request_json.clone(),
            stamp,
            resubmit_of: Some(r.resubmit_of.clone()),
        };
        journal_append(&journal, &unit, (&database, &table));
        source.units.push(units.len());
        units.push(unit);
    }
    if let Some(secs) = r.wait
        && units.iter().any(|u| !u.tracker.is_final())
    {
        let batching = if flush {
            None
        } else {
            let b = wait::batching_policy(client, &database, &table).await;
            if !json_out {
                notice!("{}", b.note(Utc::now()));
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
        let summary = |units: &[Unit]| wait::state_counts(units.iter().map(|u| &u.tracker));
        w.run(&mut units, Duration::from_secs(secs), summary).await;
    }
    let sources = [source];
    print_outcomes(
        &sources,
        &units,
        (&database, &table),
        json_out,
        r.wait.is_some(),
    );
    let code = combine(
        units
            .iter()
            .map(|u| source_exit_code(&u.tracker, r.wait.is_some())),
    );
    let out = units
        .into_iter()
        .map(|u| {
            let tag = u.submitted.queued().and_then(|q| q.dedupe_tag.clone());
            (u.tracker, tag)
        })
        .collect();
    Ok((code, out))
}
