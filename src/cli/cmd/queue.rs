//! `kingest failures|successes peek|discard|archive` (scan, history, ack: `cmd::inbox`)

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::cli::args::{DiscardArgs, QueueAction};
use crate::cli::output::{notice, outln, print_json, safe};
use crate::cli::resolve::Resolved;
use crate::cli::{EXIT_GAVE_UP, EXIT_OK, EXIT_SERVICE, Failure};
use crate::client::notifications::DiscardSelector;
use crate::client::wire::NotificationKind;
use crate::client::{IngestClient, ReceivedNotification};

pub async fn run(
    client: &IngestClient,
    resolved: &Resolved,
    kind: NotificationKind,
    action: QueueAction,
    json: bool,
) -> Result<i32, Failure> {
    match action {
        QueueAction::Peek { n, .. } => peek(client, resolved, kind, n, json).await,
        QueueAction::Scan { yes, .. } => {
            super::inbox::scan(client, resolved, kind, yes, json).await
        }
        QueueAction::History(args) => super::inbox::history(client, resolved, kind, args, json),
        QueueAction::Ack { ids, unack, .. } => {
            super::inbox::ack(client, resolved, kind, ids, unack, json)
        }
        QueueAction::Discard(args) => discard(client, resolved, kind, args, json).await,
        QueueAction::Archive { files } => archive(resolved, kind, files, json),
        QueueAction::Explain { id, .. } => explain(client, resolved, kind, &id, json).await,
    }
}

/// `kingest failures explain ID`: finds the failure among those a peek sees (by message id or
/// source id) and explains it (`client::forensics`).
async fn explain(
    client: &IngestClient,
    resolved: &Resolved,
    kind: NotificationKind,
    id: &str,
    json_out: bool,
) -> Result<i32, Failure> {
    if kind != NotificationKind::Failure {
        return Err(Failure::usage(
            "explain is for failures: `kingest failures explain ID`",
        ));
    }
    let msgs = client.peek(kind, 32).await?;
    let found = msgs.iter().find_map(|m| {
        let n = m.decoded.notification.as_ref()?;
        (m.message_id == id || n.ingestion_source_id.as_deref() == Some(id)).then_some(n)
    });
    let Some(n) = found else {
        return Err(Failure {
            code: crate::cli::EXIT_INGESTION_FAILED,
            message: format!(
                "no failure notification {} among the {} a peek sees",
                safe(id),
                msgs.len()
            ),
        });
    };
    let journal = resolved.journal(client.ingest_url());
    let inv = crate::client::forensics::fetch::investigate(client, &journal, n).await?;
    if json_out {
        let mut v = serde_json::to_value(&inv.forensics).unwrap_or(Value::Null);
        if let Some(o) = v.as_object_mut() {
            o.insert(
                "source".into(),
                crate::client::redact::redact(&inv.source).into(),
            );
        }
        print_json(&v);
        return Ok(EXIT_OK);
    }
    outln!("{}", safe(&format!("forensics of {}", inv.source)));
    for l in crate::client::forensics::lines(&inv.forensics) {
        outln!("  {}", safe(&l));
    }
    Ok(EXIT_OK)
}

/// `kingest failures|successes peek`
pub async fn peek(
    client: &IngestClient,
    resolved: &Resolved,
    kind: NotificationKind,
    n: usize,
    json_out: bool,
) -> Result<i32, Failure> {
    let msgs = client.peek(kind, n).await?;
    super::inbox::record_peeked(client, resolved, &msgs);
    if json_out {
        print_json(&Value::Array(
            msgs.iter().map(ReceivedNotification::to_json).collect(),
        ));
        return Ok(EXIT_OK);
    }
    if msgs.is_empty() {
        outln!("no {} notifications", kind.as_str());
    }
    for m in &msgs {
        match &m.decoded.notification {
            Some(n) => {
                let when = n
                    .failed_on
                    .as_deref()
                    .or(n.succeeded_on.as_deref())
                    .unwrap_or("-");
                let path = n
                    .ingestion_source_path
                    .as_deref()
                    .map(crate::client::redact::strip_query)
                    .unwrap_or("-");
                outln!(
                    "{}  {}.{}  {}  {}  source {}  (dequeued {}×)",
                    safe(when),
                    safe(n.database.as_deref().unwrap_or("?")),
                    safe(n.table.as_deref().unwrap_or("?")),
                    safe(n.error_code.as_deref().unwrap_or("")),
                    safe(path.rsplit('/').next().unwrap_or(path)),
                    safe(n.ingestion_source_id.as_deref().unwrap_or("?")),
                    m.dequeue_count
                );
                if let Some(d) = n.details.as_deref().filter(|d| !d.is_empty()) {
                    outln!("    {}", safe(d));
                }
            }
            None => outln!(
                "undecodable message {} ({}): {}",
                safe(&m.message_id),
                safe(m.decoded.error.as_deref().unwrap_or("?")),
                safe(&m.decoded.raw)
            ),
        }
    }
    Ok(EXIT_OK)
}

/// `kingest failures|successes discard`
pub async fn discard(
    client: &IngestClient,
    resolved: &Resolved,
    kind: NotificationKind,
    args: DiscardArgs,
    json_out: bool,
) -> Result<i32, Failure> {
    let (selector, scope) = if args.all {
        (
            DiscardSelector::All,
            "EVERY CLIENT'S (not only yours: the queues are shared by everyone ingesting into this cluster)".to_string(),
        )
    } else if args.mine {
        let journal = resolved.journal(client.ingest_url());
        let loaded = journal
            .load(chrono::Utc::now(), resolved.journal_retention)
            .map_err(|e| {
                Failure::usage(format!(
                    "cannot read the journal {}: {e}",
                    journal.path().display()
                ))
            })?;
        let ids: HashSet<String> = loaded
            .records
            .iter()
            .map(|r| r.source_id.to_ascii_lowercase())
            .collect();
        if ids.is_empty() {
            notice!(
                "nothing to discard: no submissions to {} in the journal",
                safe(client.ingest_url())
            );
            return Ok(EXIT_OK);
        }
        let n = ids.len();
        (
            DiscardSelector::SourceIds(ids),
            format!("your own ({n} journaled source(s)')"),
        )
    } else if let Some(id) = &args.source_id {
        (
            DiscardSelector::SourceId(id.clone()),
            format!("source {}'s", safe(id)),
        )
    } else if let Some(n) = args.n {
        (DiscardSelector::Count(n), format!("at most {n}"))
    } else {
        return Err(Failure::usage("choose --all, --source-id or -n"));
    };
    if !args.yes {
        if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
            return Err(Failure::usage(
                "discarding needs confirmation: pass --yes when not on a terminal",
            ));
        }
        eprint!(
            "Delete {scope} {} notification(s) from the shared queue(s), after appending them to {}?\n\
             Other messages the pass looks at are hidden from other clients only while it runs. [y/N] ",
            kind.as_str(),
            safe(&args.archive.display().to_string())
        );
        let mut answer = String::new();
        std::io::stdin()
            .read_line(&mut answer)
            .map_err(|e| Failure::usage(e.to_string()))?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            eprintln!("nothing deleted");
            return Ok(EXIT_OK);
        }
    }
    let report = if matches!(selector, DiscardSelector::All) {
        let wait = std::time::Duration::from_secs(args.wait);
        let mut pauses = 0u32;
        client
            .discard_until(kind, &args.archive, wait, |r, left| {
                // Pauses are about a second apart: say it at the first, then every 10th.
                if pauses.is_multiple_of(10) {
                    notice!(
                        "waiting up to {} s more for messages to reappear: {}",
                        left.as_secs(),
                        r.remaining_summary().unwrap_or_default()
                    );
                }
                pauses += 1;
            })
            .await?
    } else {
        client.discard(kind, selector, &args.archive).await?
    };
    if json_out {
        print_json(&json!({
            "archived": report.archived, "deleted": report.deleted, "released": report.released,
            "released_now": report.released_now, "update_granted": report.update_granted,
            "visible_again_within_secs": report.visible_again_within.map(|d| d.as_secs_f64()),
            "longest_hidden_ms": report.longest_hidden.as_millis() as u64,
            "queue_count": report.queue_count, "not_seen": report.not_seen,
            "invisible": report.invisible, "invisible_elsewhere": report.invisible_elsewhere(),
            "passes": report.passes,
            "complete": report.complete, "aborted": report.aborted,
            "archive": args.archive.display().to_string(),
            "errors": report.errors.iter().map(|(id, e)| json!({"MessageId": id, "error": e})).collect::<Vec<_>>()
        }));
    } else {
        outln!(
            "archived {} and deleted {} {} notification(s) → {}{}",
            report.archived,
            report.deleted,
            kind.as_str(),
            safe(&args.archive.display().to_string()),
            if report.passes > 1 {
                format!(" ({} passes)", report.passes)
            } else {
                String::new()
            }
        );
        if let Some(summary) = report.release_summary() {
            outln!("{}", safe(&summary));
        }
        if let Some(why) = &report.aborted {
            eprintln!("error: the pass stopped early: {}", safe(why));
        }
        for (id, e) in &report.errors {
            eprintln!(
                "error: message {} was archived but not deleted: {}",
                safe(id),
                safe(e)
            );
        }
    }
    if let Some(left) = report.remaining_summary()
        && report.errors.is_empty()
        && report.aborted.is_none()
    {
        let not_seen = report
            .not_seen
            .map(|n| n.to_string())
            .unwrap_or_else(|| "some".into());
        eprintln!(
            "warning: not done: {left}; {not_seen} of them never seen by this discard, asked-for \
             messages may be among them: {}",
            if args.all {
                format!(
                    "gave up after {} s (--wait {}): run it again later or wait longer",
                    args.wait, args.wait
                )
            } else {
                "run it again later".into()
            }
        );
    }
    Ok(if !report.errors.is_empty() || report.aborted.is_some() {
        EXIT_SERVICE
    } else if report.complete {
        EXIT_OK
    } else {
        // Asked-for messages may still be in a queue.
        EXIT_GAVE_UP
    })
}

/// `kingest failures|successes archive [FILE...]`: archived notifications, deduplicated by
/// MessageId across files, sanitised for the terminal; `--json` keeps values and types with
/// strings redacted (the exact `MessageText` stays in the 0600 file).
pub fn archive(
    resolved: &Resolved,
    kind: NotificationKind,
    files: Vec<std::path::PathBuf>,
    json_out: bool,
) -> Result<i32, Failure> {
    let files = if files.is_empty() {
        default_archives(&resolved.archive_dir, kind)?
    } else {
        files
    };
    let mut contents = crate::client::archive::ArchiveContents::default();
    let mut seen = HashSet::new();
    let mut rows = Vec::new();
    for f in &files {
        let text = std::fs::read(f).map_err(|e| {
            Failure::usage(format!(
                "cannot read the archive {}: {e}",
                safe(&f.display().to_string())
            ))
        })?;
        let before = (contents.entries.len(), contents.bad_lines.len());
        crate::client::archive::merge(&mut contents, &mut seen, &String::from_utf8_lossy(&text));
        rows.extend(
            contents.entries[before.0..]
                .iter()
                .map(|e| (f.clone(), e.clone())),
        );
        for (line, why) in &contents.bad_lines[before.1..] {
            eprintln!(
                "warning: {} line {line} is not an archive record ({}): skipped",
                safe(&f.display().to_string()),
                safe(why)
            );
        }
    }
    let (rows, other_kind): (Vec<_>, Vec<_>) = rows
        .into_iter()
        .partition(|(_, e)| e.kind.as_deref().is_none_or(|k| k == kind.as_str()));
    if json_out {
        print_json(&Value::Array(
            rows.iter().map(|(f, e)| archive_entry_json(f, e)).collect(),
        ));
    } else {
        if rows.is_empty() {
            outln!("no archived {} notifications", kind.as_str());
        }
        for (f, e) in &rows {
            outln!(
                "{}  inserted {}  archived {}  queue {}  ({} line {})",
                safe(&e.message_id),
                safe(e.insertion_time.as_deref().unwrap_or("-")),
                safe(e.archived_at.as_deref().unwrap_or("-")),
                safe(e.queue.as_deref().unwrap_or("-")),
                safe(&f.display().to_string()),
                e.line
            );
            match (&e.decoded, &e.decode_error) {
                (Some(d), None) => outln!("    {}", safe(&d.to_string())),
                (d, err) => outln!(
                    "    undecodable ({}): {}",
                    safe(err.as_deref().unwrap_or("?")),
                    safe(
                        &d.as_ref()
                            .and_then(|d| d.as_str().map(str::to_string))
                            .or_else(|| e.message_text.clone())
                            .unwrap_or_default()
                    )
                ),
            }
        }
    }
    if contents.duplicates > 0 {
        notice!(
            "{} duplicate line(s) (the same MessageId archived again after a discard stopped \
             before its delete) shown once",
            contents.duplicates
        );
    }
    if contents.old_format > 0 {
        notice!(
            "note: {} record(s) are in the old archive format (before {}): it kept no \
             MessageText and converted or redacted some values when archiving",
            contents.old_format,
            crate::client::archive::FORMAT
        );
    }
    if !other_kind.is_empty() {
        notice!(
            "{} record(s) of the other kind of notification not shown",
            other_kind.len()
        );
    }
    Ok(EXIT_OK)
}

/// This kind's archives in the archive folder (the TUI writes `discarded-KIND-TIME.jsonl`).
fn default_archives(
    dir: &std::path::Path,
    kind: NotificationKind,
) -> Result<Vec<std::path::PathBuf>, Failure> {
    let prefix = format!("discarded-{}-", kind.as_str());
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => {
            return Err(Failure::usage(format!(
                "cannot read the archive folder {}: {e}",
                safe(&dir.display().to_string())
            )));
        }
    };
    let mut files: Vec<_> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".jsonl"))
        })
        .collect();
    files.sort();
    Ok(files)
}

fn archive_entry_json(file: &std::path::Path, e: &crate::client::archive::ArchiveEntry) -> Value {
    let mut decoded = e.decoded.clone().unwrap_or(Value::Null);
    crate::client::redact::redact_json(&mut decoded);
    let mut v = json!({
        "MessageId": e.message_id, "Kind": e.kind, "Queue": e.queue,
        "InsertionTime": e.insertion_time, "ArchivedAt": e.archived_at,
        "DequeueCount": e.dequeue_count, "Decoded": decoded,
        "DecodeError": e.decode_error, "OldFormat": e.old_format,
        "File": file.display().to_string(), "Line": e.line,
    });
    // Undecodable text is shown (redacted): it is all there is to see.
    if e.decode_error.is_some()
        && let Some(t) = &e.message_text
    {
        v["MessageText"] = crate::client::redact::redact(t).into();
    }
    v
}
