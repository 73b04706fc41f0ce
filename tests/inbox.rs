//! The inbox over real HTTP: 500 failure notifications in the emulator's failure queue, a
//! `failures scan` reads them all (past the 32 a peek shows) into the inbox, deletes nothing,
//! and hands them back: another client then peeks the same first messages and counts 500.
//! `history` groups, searches and exports them; `ack` hides one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::{Env, client_for, kingest, resign, stdout};
use kingest::client::inbox::{GroupBy, Inbox, InboxQuery};
use kingest::client::storage::SasUrl;
use kingest::client::wire::{Notification, NotificationKind};
use kingest::client::{AuthMethod, ResourceKind};
use kingest::emulator::EmulatorConfig;
use serde_json::Value;

const TOTAL: usize = 500;
const DEADLINE: Duration = Duration::from_secs(30);

fn code_of(i: usize) -> &'static str {
    if i % 5 < 3 {
        "BadRequest_EmptyBlob"
    } else {
        "Stream_WrongNumberOfFields"
    }
}

async fn failure_queue(env: &Env) -> SasUrl {
    let res = env.client.resources().await.unwrap();
    res.of_kind(ResourceKind::FailedIngestionsQueue)
        .next()
        .cloned()
        .unwrap()
}

/// Posts `n` failure notifications, 3 in 5 `BadRequest_EmptyBlob` (table Events), the rest
/// `Stream_WrongNumberOfFields` (table Logs).
async fn fill(env: &Env, n: usize) {
    let add = resign(&failure_queue(env).await, "a");
    for i in 0..n {
        let notification = Notification {
            operation_id: Some(uuid::Uuid::new_v4().to_string()),
            database: Some("demo".into()),
            table: Some(if i % 5 < 3 { "Events" } else { "Logs" }.into()),
            failed_on: Some("2026-01-01T00:00:00.0000000Z".into()),
            ingestion_source_id: Some(uuid::Uuid::new_v4().to_string()),
            ingestion_source_path: Some(format!(
                "https://acct.blob.core.windows.net/c/f{i}.csv?sv=2024&sig=SECRETSIG{i}"
            )),
            error_code: Some(code_of(i).into()),
            failure_status: Some("Permanent".into()),
            details: Some(format!("row {i}, \"quoted\", with commas")),
            ..Default::default()
        };
        env.client
            .storage()
            .put_message(&add, &notification.to_queue_text(), None, None)
            .await
            .unwrap();
    }
}

/// Another client's view: the first 32 message ids a peek shows, and the queue's count.
async fn observe(env: &Env) -> (Vec<String>, u64) {
    let observer = client_for(env.emulator.url(), AuthMethod::None);
    let ids = observer
        .peek(NotificationKind::Failure, 32)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.message_id)
        .collect();
    let queue = failure_queue(env).await;
    let count = observer
        .storage()
        .approximate_message_count(&queue)
        .await
        .unwrap();
    (ids, count)
}

/// Waits (deadline loop, no fixed sleep) until another client sees `before` again.
async fn until_seen_as(env: &Env, before: &(Vec<String>, u64)) {
    let start = Instant::now();
    loop {
        let now = observe(env).await;
        if now == *before {
            return;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "another client still sees {} first messages, count {} (before: {}, {})",
            now.0.len(),
            now.1,
            before.0.len(),
            before.1
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn json(out: &std::process::Output) -> Value {
    assert!(
        out.status.success(),
        "{:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_records_all_500_deletes_nothing_and_history_groups_them() {
    let env = Env::start_with(EmulatorConfig {
        notification_queue_permissions: "rpu".into(),
        ..Default::default()
    })
    .await;
    fill(&env, TOTAL).await;
    let before = observe(&env).await;
    assert_eq!((before.0.len(), before.1), (32, TOTAL as u64));

    // Not on a terminal and no --yes: refused with the warning, nothing received.
    let refused = kingest(&env, &["failures", "scan"]).await;
    assert_eq!(refused.status.code(), Some(2));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("DequeueCount rises") && err.contains("--yes"),
        "{err}"
    );
    assert_eq!(observe(&env).await, before);

    let report = json(&kingest(&env, &["--json", "failures", "scan", "--yes"]).await);
    assert_eq!(report["seen"], TOTAL);
    assert_eq!(report["new_in_inbox"], TOTAL);
    assert_eq!(report["count_before"], TOTAL);
    assert_eq!(report["count_after"], TOTAL);
    assert_eq!(report["released_now"], TOTAL);
    assert_eq!(report["update_granted"], true);
    assert_eq!(report["complete"], true);
    assert_eq!(report["kind"], "failure");
    // Released with Update Message: another client sees the queue as before.
    until_seen_as(&env, &before).await;

    // A second scan finds the same messages: nothing new, all seen before.
    let again = json(&kingest(&env, &["--json", "failures", "scan", "--yes"]).await);
    assert_eq!(
        (again["seen"].as_u64(), again["new_in_inbox"].as_u64()),
        (Some(500), Some(0))
    );
    assert_eq!(again["updated_in_inbox"], TOTAL);
    until_seen_as(&env, &before).await;

    // Grouped by code, as CSV.
    let csv = kingest(
        &env,
        &["failures", "history", "--group-by", "code", "--csv"],
    )
    .await;
    assert!(csv.status.success());
    let text = stdout(&csv);
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("error_code,count,first_seen,last_seen,per_minute")
    );
    let counts: HashMap<String, u64> = lines
        .map(|l| {
            let mut f = l.split(',');
            (
                f.next().unwrap().to_string(),
                f.next().unwrap().parse().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        counts,
        HashMap::from([
            ("BadRequest_EmptyBlob".to_string(), 300),
            ("Stream_WrongNumberOfFields".to_string(), 200)
        ])
    );

    // Every row, as JSON: the fields, redacted, DequeueCount raised by the two scans.
    let rows = json(&kingest(&env, &["--json", "failures", "history", "--limit", "0"]).await);
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), TOTAL);
    let first = &rows[0];
    for key in [
        "id",
        "message_id",
        "first_seen",
        "last_seen",
        "dequeue_count",
        "insertion_time",
        "error_code",
        "failure_status",
        "table",
        "database",
        "source_id",
        "source_path",
        "details",
        "acknowledged_at",
        "json",
    ] {
        assert!(first.get(key).is_some(), "no {key} in {first}");
    }
    assert_eq!(first["dequeue_count"], 2);
    assert_eq!(first["database"], "demo");
    let all_text = serde_json::to_string(rows).unwrap();
    assert!(
        !all_text.contains("SECRETSIG"),
        "a SAS signature in the export"
    );

    // The CSV of every row quotes the details (commas, quotes) and is redacted.
    let csv = stdout(&kingest(&env, &["failures", "history", "--csv", "--limit", "0"]).await);
    assert!(
        csv.contains(r#""row 0, ""quoted"", with commas""#),
        "{}",
        &csv[..400.min(csv.len())]
    );
    assert!(!csv.contains("SECRETSIG"));
    assert_eq!(csv.lines().count(), TOTAL + 1);

    // Grouped by code and table, as JSON.
    let groups = json(
        &kingest(
            &env,
            &[
                "--json",
                "failures",
                "history",
                "--group-by",
                "code,table",
                "--search",
                "logs",
            ],
        )
        .await,
    );
    let groups = groups.as_array().unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0]["error_code"], "Stream_WrongNumberOfFields");
    assert_eq!(groups[0]["table"], "Logs");
    assert_eq!(groups[0]["count"], 200);
    assert_eq!(groups[0]["per_minute"].as_array().unwrap().len(), 60);

    // Ack one: gone from the default view, listed with --acked, back with --unack.
    let id = first["message_id"].as_str().unwrap().to_string();
    let acked = json(&kingest(&env, &["--json", "failures", "ack", &id]).await);
    assert_eq!(acked["changed"], 1);
    let count = |args: &'static [&'static str]| {
        let env = &env;
        async move {
            let mut full = vec!["--json", "failures", "history", "--limit", "0"];
            full.extend_from_slice(args);
            json(&kingest(env, &full).await).as_array().unwrap().len()
        }
    };
    assert_eq!(count(&[]).await, TOTAL - 1);
    assert_eq!(count(&["--acked"]).await, 1);
    assert_eq!(count(&["--all"]).await, TOTAL);
    let unknown = kingest(&env, &["failures", "ack", "no-such-id"]).await;
    assert_eq!(unknown.status.code(), Some(2));
    json(&kingest(&env, &["--json", "failures", "ack", "--unack", &id]).await);
    assert_eq!(count(&[]).await, TOTAL);

    // The scan deleted nothing.
    assert_eq!(observe(&env).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_update_the_scan_leaves_them_to_their_short_timeout_and_peek_records() {
    // A real DM's notification SAS: `rp`, no Update Message.
    let env = Env::start().await;
    fill(&env, 50).await;
    let before = observe(&env).await;
    let path = env.dir.path().join("inbox.sqlite3");
    let inbox = Inbox::open(&path, env.client.ingest_url()).unwrap();

    // A peek records what it saw.
    let peeked = env
        .client
        .peek(NotificationKind::Failure, 10)
        .await
        .unwrap();
    assert_eq!(inbox.record(&peeked).unwrap().new, 10);

    let report = env
        .client
        .scan(NotificationKind::Failure, Some(&inbox))
        .await
        .unwrap();
    assert_eq!(
        (report.seen, report.new_in_inbox, report.updated_in_inbox),
        (50, 40, 10)
    );
    assert_eq!(report.released_now, 0);
    assert!(!report.update_granted);
    let within = report.visible_again_within_ms.unwrap();
    assert!(within <= 300_000, "{within}");
    assert_eq!(report.count_after, Some(50));
    until_seen_as(&env, &before).await;

    let groups = inbox
        .groups(
            &InboxQuery::new(NotificationKind::Failure),
            GroupBy::parse("table").unwrap(),
        )
        .unwrap();
    let by_table: HashMap<_, _> = groups
        .iter()
        .map(|g| (g.table.clone().unwrap(), g.count))
        .collect();
    assert_eq!(
        by_table,
        HashMap::from([("Events".into(), 30), ("Logs".into(), 20)])
    );

    // The CLI's peek records into the state dir's inbox.
    let out = kingest(&env, &["failures", "peek", "-n", "5"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = json(&kingest(&env, &["--json", "failures", "history"]).await);
    assert_eq!(rows.as_array().unwrap().len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_inbox_file_is_a_warning_for_peek_and_an_error_for_history() {
    let env = Env::start().await;
    fill(&env, 3).await;
    // Where the CLI's state dir puts it (XDG_DATA_HOME=home/data).
    let out = kingest(&env, &["--json", "config", "show"]).await;
    let state_dir = json(&out)["values"]
        .as_array()
        .and_then(|rows| {
            rows.iter()
                .find(|r| r["key"] == "state_dir")
                .and_then(|r| r["value"].as_str().map(String::from))
        })
        .unwrap_or_else(|| panic!("no state_dir in {}", stdout(&out)));
    let path = std::path::Path::new(&state_dir).join("inbox.sqlite3");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(
        &path,
        b"this is not a database, it is a text file; ".repeat(200),
    )
    .unwrap();

    let peek = kingest(&env, &["failures", "peek"]).await;
    assert!(peek.status.success());
    assert_eq!(
        stdout(&peek)
            .lines()
            .filter(|l| l.contains("BadRequest"))
            .count(),
        3
    );
    let err = String::from_utf8_lossy(&peek.stderr);
    assert!(
        err.contains("not recorded in the inbox") && err.contains("move the file away"),
        "{err}"
    );

    let history = kingest(&env, &["failures", "history"]).await;
    assert_eq!(history.status.code(), Some(2));
    let err = String::from_utf8_lossy(&history.stderr);
    assert!(err.contains("cannot be used"), "{err}");
    let scan = kingest(&env, &["failures", "scan", "--yes"]).await;
    assert_eq!(scan.status.code(), Some(2));
    // The scan refused before receiving anything.
    assert_eq!(observe(&env).await.1, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_held_by_another_client_are_reported_not_seen_and_an_empty_queue_is_complete() {
    let env = Env::start_with(EmulatorConfig {
        notification_queue_permissions: "rpu".into(),
        ..Default::default()
    })
    .await;
    let empty = json(&kingest(&env, &["--json", "failures", "scan", "--yes"]).await);
    assert_eq!(
        (empty["seen"].as_u64(), empty["complete"].as_bool()),
        (Some(0), Some(true))
    );

    fill(&env, 20).await;
    // Another client holds 5 for a minute: the count includes them, a scan cannot see them.
    let other = client_for(env.emulator.url(), AuthMethod::None);
    let held = other
        .receive(NotificationKind::Failure, 5, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(held.len(), 5);
    let out = kingest(&env, &["--json", "failures", "scan", "--yes"]).await;
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["seen"], 15);
    assert_eq!(report["count_before"], 20);
    assert_eq!(report["invisible_before"], 5);
    assert_eq!(report["not_seen"], 5);
    assert_eq!(report["complete"], false);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("5 counted message(s) not seen"), "{err}");
    // The other client's hold is untouched: it can still delete them with its receipts.
    for m in &held {
        other.delete(m).await.unwrap();
    }
}
