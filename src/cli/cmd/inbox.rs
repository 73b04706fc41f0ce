//! `kingest failures|successes scan|history|ack`: the notification inbox
//! (`client::inbox`) from the command line.

use serde_json::{Value, json};

use crate::cli::args::HistoryArgs;
use crate::cli::output::{notice, outln, print_json, safe, write_stdout};
use crate::cli::resolve::Resolved;
use crate::cli::{EXIT_GAVE_UP, EXIT_OK, EXIT_SERVICE, Failure};
use crate::client::IngestClient;
use crate::client::inbox::{AckFilter, GroupBy, Inbox, InboxEntry, InboxGroup, InboxQuery};
use crate::client::redact::redact;
use crate::client::wire::NotificationKind;

fn open(client: &IngestClient, resolved: &Resolved) -> Result<Inbox, Failure> {
    resolved
        .inbox(client.ingest_url())
        .map_err(|e| Failure::usage(safe(&e.to_string())))
}

/// Records what a peek read; a broken inbox is a warning, never the peek's failure.
pub fn record_peeked(
    client: &IngestClient,
    resolved: &Resolved,
    msgs: &[crate::client::ReceivedNotification],
) {
    let recorded = resolved
        .inbox(client.ingest_url())
        .and_then(|inbox| inbox.record(msgs));
    if let Err(e) = recorded {
        eprintln!(
            "warning: not recorded in the inbox: {}",
            safe(&e.to_string())
        );
    }
}

/// `kingest failures|successes scan [--yes]`
pub async fn scan(
    client: &IngestClient,
    resolved: &Resolved,
    kind: NotificationKind,
    yes: bool,
    json_out: bool,
) -> Result<i32, Failure> {
    // Before touching the queues: a scan that cannot record would disturb others for nothing.
    let inbox = open(client, resolved)?;
    let warning = format!(
        "A scan receives every {} notification in the shared queue(s) and deletes none. While \
         it runs other clients do not see these messages (hidden about as long as the scan \
         runs: at least 5 s, at most 5 min on a very long queue), and each one's DequeueCount \
         rises by one; they are made visible again at once where the queue SAS grants update \
         (u), else when that timeout lapses.",
        kind.as_str()
    );
    if !yes {
        if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
            return Err(Failure::usage(format!(
                "{warning}\nscanning needs confirmation: pass --yes when not on a terminal"
            )));
        }
        eprint!("{warning}\nScan? [y/N] ");
        let mut answer = String::new();
        std::io::stdin()
            .read_line(&mut answer)
            .map_err(|e| Failure::usage(e.to_string()))?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            eprintln!("nothing scanned");
            return Ok(EXIT_OK);
        }
    } else {
        notice!("{warning}");
    }
    let report = client.scan(kind, Some(&inbox)).await?;
    if json_out {
        let mut v = serde_json::to_value(&report).unwrap_or(Value::Null);
        if let Value::Object(m) = &mut v {
            m.insert("kind".into(), kind.as_str().into());
            m.insert("inbox".into(), inbox.path().display().to_string().into());
        }
        print_json(&v);
    } else {
        outln!(
            "scanned {} {} notification(s): {} new in the inbox, {} seen before",
            report.seen,
            kind.as_str(),
            report.new_in_inbox,
            report.updated_in_inbox
        );
        let later = report.seen.saturating_sub(report.released_now);
        if report.seen > 0 {
            outln!(
                "released {} at once{}; hidden at most {} ms",
                report.released_now,
                match (later, report.visible_again_within_ms) {
                    (0, _) => String::new(),
                    (n, within) => format!(
                        ", {n} visible again within {} s{}",
                        within.unwrap_or(0).div_ceil(1000),
                        if report.update_granted {
                            ""
                        } else {
                            " (the queue SAS does not grant update)"
                        }
                    ),
                },
                report.longest_hidden_ms
            );
        }
        let count = |c: Option<u64>| c.map_or_else(|| "unreadable".into(), |c| c.to_string());
        outln!(
            "queue count before {}, after {}",
            count(report.count_before),
            count(report.count_after)
        );
    }
    if let Some(e) = &report.inbox_error {
        eprintln!("error: the scan's messages were not recorded: {}", safe(e));
    }
    if let Some(why) = &report.aborted {
        eprintln!("error: the scan stopped early: {}", safe(why));
    }
    if !report.complete && report.aborted.is_none() {
        eprintln!(
            "warning: {} counted message(s) not seen: held by another client's receive (they \
             reappear when its timeout lapses) or past the scan's receive limit; run it again \
             later",
            report
                .not_seen
                .map_or_else(|| "some".into(), |n| n.to_string())
        );
    }
    Ok(
        if report.aborted.is_some() || report.inbox_error.is_some() {
            EXIT_SERVICE
        } else if report.complete {
            EXIT_OK
        } else {
            EXIT_GAVE_UP
        },
    )
}

/// `kingest failures|successes history`
pub fn history(
    client: &IngestClient,
    resolved: &Resolved,
    kind: NotificationKind,
    args: HistoryArgs,
    json_out: bool,
) -> Result<i32, Failure> {
    if json_out && args.csv {
        return Err(Failure::usage("choose one of --json and --csv"));
    }
    let mut by = GroupBy::default();
    for spec in &args.group_by {
        by.add(spec).map_err(Failure::usage)?;
    }
    let inbox = open(client, resolved)?;
    let q = InboxQuery {
        kind,
        search: args.search.clone(),
        acked: if args.all {
            AckFilter::All
        } else if args.acked {
            AckFilter::Acked
        } else {
            AckFilter::Unacked
        },
        limit: (args.limit > 0).then_some(args.limit),
        offset: 0,
    };
    let total = inbox.count_matching(&q)?;
    if !args.group_by.is_empty() {
        let mut groups = inbox.groups(&q, by)?;
        let all_groups = groups.len();
        if args.limit > 0 {
            groups.truncate(args.limit);
        }
        if json_out {
            print_json(&serde_json::to_value(&groups).unwrap_or(Value::Null));
        } else if args.csv {
            write_stdout(groups_csv(&groups, by).as_bytes());
        } else {
            print_groups(&groups, by, kind, total);
        }
        if groups.len() < all_groups {
            notice!(
                "{} more group(s): --limit 0 shows all",
                all_groups - groups.len()
            );
        }
        return Ok(EXIT_OK);
    }
    let entries = inbox.list(&q)?;
    if json_out {
        print_json(&Value::Array(entries.iter().map(entry_json).collect()));
    } else if args.csv {
        write_stdout(entries_csv(&entries).as_bytes());
    } else {
        if entries.is_empty() {
            outln!(
                "no {} notifications in the inbox{}",
                kind.as_str(),
                if q.acked == AckFilter::Unacked {
                    " (acknowledged ones: --acked)"
                } else {
                    ""
                }
            );
        }
        for e in &entries {
            print_entry(e);
        }
    }
    if (entries.len() as u64) < total {
        notice!("{} of {total} shown: --limit 0 shows all", entries.len());
    }
    Ok(EXIT_OK)
}

/// `kingest failures|successes ack ID... [--unack]`
pub fn ack(
    client: &IngestClient,
    resolved: &Resolved,
    kind: NotificationKind,
    ids: Vec<String>,
    unack: bool,
    json_out: bool,
) -> Result<i32, Failure> {
    let inbox = open(client, resolved)?;
    let out = if unack {
        inbox.unacknowledge(kind, &ids)?
    } else {
        inbox.acknowledge(kind, &ids)?
    };
    if json_out {
        print_json(&json!({
            "acknowledged": !unack, "changed": out.changed, "unchanged": out.unchanged,
            "unknown": out.unknown,
        }));
    } else {
        outln!(
            "{} {} {} notification(s){}",
            if unack {
                "unacknowledged"
            } else {
                "acknowledged"
            },
            out.changed,
            kind.as_str(),
            if out.unchanged > 0 {
                format!(" ({} already were)", out.unchanged)
            } else {
                String::new()
            }
        );
    }
    for id in &out.unknown {
        eprintln!(
            "warning: no {} notification {} in the inbox of {}",
            kind.as_str(),
            safe(id),
            safe(client.ingest_url())
        );
    }
    Ok(if out.unknown.is_empty() {
        EXIT_OK
    } else {
        crate::cli::EXIT_USAGE
    })
}

fn entry_json(e: &InboxEntry) -> Value {
    serde_json::to_value(e).unwrap_or(Value::Null)
}

fn time(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map(crate::client::wire::format_rfc3339)
        .unwrap_or_default()
}

fn print_entry(e: &InboxEntry) {
    let o = |s: &Option<String>| safe(s.as_deref().unwrap_or("?"));
    outln!(
        "{}  {}  {}.{}  {}  {}  source {}  (dequeued {}×{})",
        safe(&e.message_id),
        time(e.insertion_time.or(Some(e.first_seen))),
        o(&e.database),
        o(&e.table),
        safe(e.error_code.as_deref().unwrap_or("")),
        safe(e.failure_status.as_deref().unwrap_or("")),
        o(&e.source_id),
        e.dequeue_count,
        if e.acknowledged_at.is_some() {
            ", acknowledged"
        } else {
            ""
        }
    );
    if let Some(d) = e.details.as_deref().filter(|d| !d.is_empty()) {
        outln!("    {}", safe(d));
    }
}

/// The last hour as block characters, one a minute, scaled to the busiest minute.
fn sparkline(per_minute: &[u32]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = per_minute.iter().copied().max().unwrap_or(0);
    per_minute
        .iter()
        .map(|&n| match n {
            0 => ' ',
            n => BARS[((u64::from(n) * 8).div_ceil(u64::from(max)) as usize).clamp(1, 8) - 1],
        })
        .collect()
}

fn group_label(g: &InboxGroup, by: GroupBy) -> String {
    let o = |s: &Option<String>| safe(s.as_deref().unwrap_or("(none)"));
    let mut parts = Vec::new();
    if by.code {
        parts.push(o(&g.error_code));
    }
    if by.table {
        parts.push(format!("table {}", o(&g.table)));
    }
    if by.status {
        parts.push(o(&g.failure_status));
    }
    parts.join("  ")
}

fn print_groups(groups: &[InboxGroup], by: GroupBy, kind: NotificationKind, total: u64) {
    if groups.is_empty() {
        outln!("no {} notifications in the inbox", kind.as_str());
        return;
    }
    outln!(
        "{total} {} notification(s) in {} group(s); last hour, a minute a column:",
        kind.as_str(),
        groups.len()
    );
    for g in groups {
        outln!(
            "{:>7}  {}  first {}  last {}",
            g.count,
            group_label(g, by),
            time(Some(g.first_seen)),
            time(Some(g.last_seen)),
        );
        if g.per_minute.iter().any(|&n| n > 0) {
            outln!("         |{}|", sparkline(&g.per_minute));
        }
    }
}

/// One CSV field (`app::export::csv_field`), redacted, not sanitised: a file keeps exact
/// values.
fn csv_field(s: &str) -> String {
    crate::app::export::csv_field(&redact(s))
}

fn csv_row(fields: &[String]) -> String {
    let mut line = fields
        .iter()
        .map(|f| csv_field(f))
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

fn entries_csv(entries: &[InboxEntry]) -> String {
    let mut out = csv_row(
        &[
            "message_id",
            "kind",
            "insertion_time",
            "first_seen",
            "last_seen",
            "dequeue_count",
            "error_code",
            "failure_status",
            "database",
            "table",
            "source_id",
            "source_path",
            "operation_id",
            "root_activity_id",
            "failed_on",
            "succeeded_on",
            "acknowledged_at",
            "details",
        ]
        .map(String::from),
    );
    let o = |s: &Option<String>| s.clone().unwrap_or_default();
    for e in entries {
        out.push_str(&csv_row(&[
            e.message_id.clone(),
            e.kind.to_string(),
            time(e.insertion_time),
            time(Some(e.first_seen)),
            time(Some(e.last_seen)),
            e.dequeue_count.to_string(),
            o(&e.error_code),
            o(&e.failure_status),
            o(&e.database),
            o(&e.table),
            o(&e.source_id),
            o(&e.source_path),
            o(&e.operation_id),
            o(&e.root_activity_id),
            o(&e.failed_on),
            o(&e.succeeded_on),
            time(e.acknowledged_at),
            o(&e.details),
        ]));
    }
    out
}

/// Only the grouped columns, then count, first and last seen, and the last hour's minutes
/// (space-separated, oldest first).
fn groups_csv(groups: &[InboxGroup], by: GroupBy) -> String {
    let mut header = Vec::new();
    for (on, name) in [
        (by.code, "error_code"),
        (by.table, "table"),
        (by.status, "failure_status"),
    ] {
        if on {
            header.push(name.to_string());
        }
    }
    header.extend(["count", "first_seen", "last_seen", "per_minute"].map(String::from));
    let mut out = csv_row(&header);
    for g in groups {
        let mut row = Vec::new();
        for (on, v) in [
            (by.code, &g.error_code),
            (by.table, &g.table),
            (by.status, &g.failure_status),
        ] {
            if on {
                row.push(v.clone().unwrap_or_default());
            }
        }
        row.push(g.count.to_string());
        row.push(time(Some(g.first_seen)));
        row.push(time(Some(g.last_seen)));
        row.push(
            g.per_minute
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(" "),
        );
        out.push_str(&csv_row(&row));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_only_when_needed_and_redacted() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_field(" pad"), "\" pad\"");
        assert_eq!(csv_field(""), "");
        let f = csv_field("https://a.blob.core.windows.net/c/b?sp=r&sig=SECRETSIG");
        assert!(!f.contains("SECRETSIG"), "{f}");
        assert_eq!(csv_row(&["a".into(), "b,c".into()]), "a,\"b,c\"\r\n");
    }

    #[test]
    fn sparkline_scales_to_the_busiest_minute() {
        assert_eq!(sparkline(&[0, 1, 2, 4, 8]), " ▁▂▄█");
        assert_eq!(sparkline(&[0, 0]), "  ");
        assert_eq!(sparkline(&[u32::MAX, 1]), "█▁");
    }
}
