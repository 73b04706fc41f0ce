//! `kingest failures|successes peek|discard`

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::cli::args::{DiscardArgs, QueueAction};
use crate::cli::output::{print_json, safe};
use crate::cli::resolve::Resolved;
use crate::cli::{EXIT_OK, EXIT_SERVICE, Failure};
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
        QueueAction::Peek { n } => peek(client, kind, n, json).await,
        QueueAction::Discard(args) => discard(client, resolved, kind, args, json).await,
    }
}

/// `kingest failures|successes peek`
pub async fn peek(
    client: &IngestClient,
    kind: NotificationKind,
    n: usize,
    json_out: bool,
) -> Result<i32, Failure> {
    let msgs = client.peek(kind, n).await?;
    if json_out {
        print_json(&Value::Array(
            msgs.iter().map(ReceivedNotification::to_json).collect(),
        ));
        return Ok(EXIT_OK);
    }
    if msgs.is_empty() {
        println!("no {} notifications", kind.as_str());
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
                println!(
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
                    println!("    {}", safe(d));
                }
            }
            None => println!(
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
            eprintln!(
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
    let report = client.discard(kind, selector, &args.archive).await?;
    if json_out {
        print_json(&json!({
            "archived": report.archived, "deleted": report.deleted, "released": report.released,
            "released_now": report.released_now, "update_granted": report.update_granted,
            "visible_again_within_secs": report.visible_again_within.map(|d| d.as_secs_f64()),
            "longest_hidden_ms": report.longest_hidden.as_millis() as u64,
            "queue_count": report.queue_count, "not_seen": report.not_seen,
            "complete": report.complete, "aborted": report.aborted,
            "archive": args.archive.display().to_string(),
            "errors": report.errors.iter().map(|(id, e)| json!({"MessageId": id, "error": e})).collect::<Vec<_>>()
        }));
    } else {
        println!(
            "archived {} and deleted {} {} notification(s) → {}",
            report.archived,
            report.deleted,
            kind.as_str(),
            safe(&args.archive.display().to_string())
        );
        if let Some(summary) = report.release_summary() {
            println!("{}", safe(&summary));
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
    if !report.complete && report.errors.is_empty() && report.aborted.is_none() {
        eprintln!(
            "warning: {} message(s) in the queue were not seen by this pass (held by another \
             client, posted meanwhile, or past the round limit); targets may be among them: run \
             it again later",
            report
                .not_seen
                .map(|n| n.to_string())
                .unwrap_or_else(|| "some".into())
        );
    }
    Ok(if report.errors.is_empty() && report.complete {
        EXIT_OK
    } else {
        EXIT_SERVICE
    })
}
