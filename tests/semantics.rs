//! Real-cluster semantics end to end, through the front doors (the `kingest` binary and the
//! headless TUI) over HTTP to the emulator: transient failures retried by the service, retries
//! exhausted, waiting out a batching policy set with `.alter`, tracking through the status table
//! behind other clients' traffic, a restart after the status table rotated, and one journal per
//! cluster.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::tui::row_with;
use common::{Env, kingest, stdout};
use crossterm::event::KeyCode;
use kingest::emulator::EmulatorConfig;
use kingest::emulator::dm::RetrySettings;
use kingest::emulator::faults::FaultConfig;
use kingest::runtime::TuiOptions;
use serde_json::Value;

fn faulty(times: u32, attempts: u32) -> EmulatorConfig {
    EmulatorConfig {
        faults: FaultConfig {
            ingest_transient_times: times,
            ..FaultConfig::default()
        },
        ingest_retry: RetrySettings {
            max_attempts: attempts,
            backoff: Duration::from_millis(200),
        },
        ..EmulatorConfig::default()
    }
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `kingest submit FILE -d demo -t Events EXTRA…`.
async fn submit(env: &Env, file: &str, extra: &[&str]) -> std::process::Output {
    let path = env.file(file);
    let mut args = vec![
        "submit",
        path.to_str().unwrap(),
        "-d",
        "demo",
        "-t",
        "Events",
    ];
    args.extend_from_slice(extra);
    kingest(env, &args).await
}

/// `submit … --wait=90 --json EXTRA…`: exit code, the one JSON line, stderr.
async fn submit_json(env: &Env, file: &str, extra: &[&str]) -> (Option<i32>, Value, String) {
    let mut args = vec!["--wait=90", "--json"];
    args.extend_from_slice(extra);
    let out = submit(env, file, &args).await;
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    let lines = json_lines(&stdout(&out));
    assert_eq!(
        lines.len(),
        1,
        "one line per source:\n{}\n{err}",
        stdout(&out)
    );
    (out.status.code(), lines[0].clone(), err)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_then_success_ends_succeeded_in_wait_status_and_the_tui() {
    let env = Env::start_with(faulty(2, 4)).await;
    // Queue and table: the queue shows each Transient attempt, the table the outcome.
    let (code, v, err) = submit_json(
        &env,
        "events.csv",
        &["--flush", "--report-method", "queue-and-table"],
    )
    .await;
    assert_eq!(code, Some(0), "{v}\n{err}");
    assert_eq!(v["status"], "Succeeded", "{v}");
    assert_eq!(v["error_code"], Value::Null, "a later success wins: {v}");
    // It really failed transiently first: the service said so in the failure queue.
    let id = v["source_id"].as_str().unwrap().to_string();
    let peek = kingest(&env, &["failures", "peek", "--json"]).await;
    let failures: Vec<Value> = serde_json::from_str(&stdout(&peek)).unwrap();
    let transient = failures
        .iter()
        .filter(|f| f["IngestionSourceId"] == id.as_str() && f["FailureStatus"] == "Transient")
        .count();
    assert_eq!(transient, 2, "{failures:?}");
    // `status` sees those Transient notifications after the success, and keeps Succeeded.
    let out = kingest(&env, &["status", &id, "--json"]).await;
    let st: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        (out.status.code(), st["status"].as_str()),
        (Some(0), Some("Succeeded")),
        "{st}"
    );
    assert_eq!(st["notifications"].as_array().unwrap().len(), 3, "{st}");

    // The default (table) report says the same, and `status` agrees from the journal.
    let (code, v, err) = submit_json(&env, "events.csv", &["--flush"]).await;
    assert_eq!(
        (code, v["status"].as_str()),
        (Some(0), Some("Succeeded")),
        "{v}\n{err}"
    );
    let id = v["source_id"].as_str().unwrap().to_string();
    let out = kingest(&env, &["status", &id, "--json"]).await;
    let st: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(out.status.code(), Some(0), "{st}");
    assert_eq!(st["status"], "Succeeded", "{st}");
    assert_eq!(st["known"], true);

    // The TUI: submitted through the dialog (queue and table), ending Succeeded.
    let opts = TuiOptions {
        state_dir: env.dir.path().join("tui"),
        archive_dir: env.dir.path().join("archive"),
        default_database: Some("demo".into()),
        default_table: Some("Events".into()),
        default_path: Some(env.dir.path().to_path_buf()),
        color: Some(false),
        ..Default::default()
    };
    let end = common::tui::run(env.client.clone(), opts, |d| async move {
        d.wait("resources", |s| s.contains("tempstorage")).await;
        d.key(KeyCode::Char('s'));
        d.wait("the submit dialog", |s| s.contains("Submit a file"))
            .await;
        d.text("events.csv");
        common::tui::report_to_queue_and_table(&d);
        d.key(KeyCode::Enter);
        d.wait("Succeeded after the retries", |s| {
            row_with(s, "events.csv", "Succeeded")
        })
        .await;
        d.key(KeyCode::Char('q'));
    })
    .await;
    let t = end.submissions[0].tracker().unwrap();
    assert_eq!(t.state.label(), "Succeeded", "{t:?}");
    assert!(t.error.code.is_none(), "{t:?}");
    env.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exhausted_retries_end_failed_with_exhausted() {
    let env = Env::start_with(faulty(10, 2)).await;
    let (code, v, err) = submit_json(&env, "events.csv", &["--flush"]).await;
    assert_eq!(code, Some(1), "{v}\n{err}");
    assert_eq!(v["status"], "Failed", "{v}");
    assert_eq!(v["failure_status"], "Exhausted", "{v}");
    let id = v["source_id"].as_str().unwrap().to_string();
    let out = kingest(&env, &["status", &id]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("Failed (Exhausted:"),
        "{}",
        stdout(&out)
    );
    env.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_without_flush_follows_a_batching_policy_set_with_alter() {
    // The service's own batching (no time override).
    let env = Env::start_exact(EmulatorConfig::default()).await;
    let show = kingest(
        &env,
        &[
            "mgmt",
            "-d",
            "demo",
            ".show table Events policy ingestionbatching",
            "--json",
        ],
    )
    .await;
    let v: Value = serde_json::from_str(&stdout(&show)).unwrap();
    let row = &v["Tables"][0]["Rows"][0];
    assert!(row.to_string().contains("IngestionBatchingPolicy"), "{v}");
    assert_eq!(
        row[2],
        Value::Null,
        "no policy of its own: the service's defaults: {v}"
    );
    let shown = kingest(
        &env,
        &["mgmt", "-d", "demo", ".show emulator batching Events"],
    )
    .await;
    assert!(stdout(&shown).contains("00:05:00"), "{}", stdout(&shown));

    let alter = kingest(
        &env,
        &[
            "mgmt",
            "-d",
            "demo",
            r#".alter table Events policy ingestionbatching '{"MaximumBatchingTimeSpan":"00:00:10"}'"#,
        ],
    )
    .await;
    assert_eq!(
        alter.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&alter.stderr)
    );
    let out = submit(&env, "events.csv", &["--wait=120"]).await;
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(0), "{}\n{err}", stdout(&out));
    assert!(stdout(&out).starts_with("Succeeded"), "{}", stdout(&out));
    assert!(
        err.contains("the table's policy seals a batch after 00:00:10"),
        "the policy is read and said: {err}"
    );
    // Not a terminal: one live line per change of state, not one per second.
    let live = err.lines().filter(|l| l.contains("waiting")).count();
    assert!(live <= 4, "{err}");
    env.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tracked_through_the_table_behind_other_clients_notifications() {
    let env = Env::start().await;
    env.emulator
        .inject_foreign_notifications(50, 50)
        .await
        .unwrap();
    let depth = env
        .client
        .peek(kingest::client::wire::NotificationKind::Failure, 32)
        .await
        .unwrap();
    assert_eq!(
        depth.len(),
        32,
        "the failure queue holds more than a peek sees"
    );
    let (code, v, err) = submit_json(&env, "bad-wrong-fields.csv", &["--flush"]).await;
    assert_eq!(code, Some(1), "{v}\n{err}");
    assert_eq!(v["status"], "Failed");
    assert_eq!(v["error_code"], "Stream_WrongNumberOfFields");
    assert_eq!(v["evidence"], "Table", "{v}");
    let (code, v, _) = submit_json(&env, "events.csv", &["--flush"]).await;
    assert_eq!(
        (code, v["status"].as_str()),
        (Some(0), Some("Succeeded")),
        "{v}"
    );
    env.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_tui_tracks_a_source_whose_status_table_rotated() {
    // A 3 s batching window, so the source is still pending when the first session ends.
    let env = Env::start_with(EmulatorConfig {
        batch_window: Some(Duration::from_secs(3)),
        ..EmulatorConfig::default()
    })
    .await;
    let state_dir = env.dir.path().join("home/data/kingest");
    // Submitted (and journaled) by the CLI without waiting.
    let out = submit(&env, "events.csv", &["--json"]).await;
    let v: Value = serde_json::from_str(stdout(&out).lines().next().unwrap()).unwrap();
    let first_table = v["status_table"].as_str().unwrap().to_string();
    let rotated = env.emulator.rotate_status_table().await.unwrap();
    assert!(
        !first_table.ends_with(&rotated),
        "{first_table} vs {rotated}"
    );

    let opts = TuiOptions {
        state_dir: state_dir.clone(),
        color: Some(false),
        ..Default::default()
    };
    let end = common::tui::run(env.client.clone(), opts, |d| async move {
        d.wait("the journaled source to succeed", |s| {
            row_with(s, "events.csv", "Succeeded")
        })
        .await;
        d.key(KeyCode::Char('q'));
    })
    .await;
    let t = end.submissions[0].tracker().unwrap();
    assert_eq!(t.status_ref.as_ref().unwrap().display_name(), first_table);
    env.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_clusters_tui_shows_none_of_the_first_clusters_journal() {
    let a = Env::start().await;
    let b = Env::start().await;
    let home = a.dir.path().join("home");
    let out = submit(&a, "events.csv", &["--flush"]).await;
    assert_eq!(out.status.code(), Some(0));
    let opts = TuiOptions {
        state_dir: home.join("data/kingest"),
        color: Some(false),
        ..Default::default()
    };
    // Cluster B: nothing of A's restored.
    let end = common::tui::run(b.client.clone(), opts.clone(), |d| async move {
        d.wait("resources", |s| s.contains("tempstorage")).await;
        d.key(KeyCode::Char('q'));
    })
    .await;
    assert!(end.submissions.is_empty(), "{:?}", end.submissions);
    // Cluster A: its source is there.
    let end = common::tui::run(a.client.clone(), opts, |d| async move {
        d.wait("A's source", |s| row_with(s, "events.csv", "Succeeded"))
            .await;
        d.key(KeyCode::Char('q'));
    })
    .await;
    assert_eq!(end.submissions.len(), 1);
    a.emulator.shutdown().await;
    b.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reporting_that_cannot_be_tracked_is_refused_before_upload() {
    let env = Env::start().await;
    // Failures only to a table: a success would leave the row Pending forever.
    let out = submit(
        &env,
        "events.csv",
        &["--report-level", "failures", "--report-method", "table"],
    )
    .await;
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("Pending forever"), "{err}");
    // Waiting on failures only: a success never says so.
    let out = submit(
        &env,
        "events.csv",
        &["--report-level", "failures", "--wait=5"],
    )
    .await;
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--wait needs successes reported"), "{err}");
    // Nothing was uploaded by either.
    assert_eq!(env.row_count("Events").await, 0);
    // `status` of a source nobody knows: exit 1 and it says so.
    let out = kingest(&env, &["status", "00000000-0000-4000-8000-000000000000"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("nothing known"), "{}", stdout(&out));
    env.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discard_mine_takes_only_this_clusters_journaled_sources() {
    let env = Env::start().await;
    env.emulator
        .inject_foreign_notifications(0, 10)
        .await
        .unwrap();
    let (code, v, _) = submit_json(
        &env,
        "bad-wrong-fields.csv",
        &["--flush", "--report-method", "queue-and-table"],
    )
    .await;
    assert_eq!(
        (code, v["status"].as_str()),
        (Some(1), Some("Failed")),
        "{v}"
    );
    let mine = v["source_id"].as_str().unwrap().to_string();
    let archive = env.dir.path().join("mine.jsonl");
    let out = kingest(
        &env,
        &[
            "failures",
            "discard",
            "--mine",
            "--archive",
            archive.to_str().unwrap(),
            "--yes",
            "--json",
        ],
    )
    .await;
    let r: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(out.status.code(), Some(0), "{r}");
    assert_eq!(
        (r["archived"].as_u64(), r["deleted"].as_u64()),
        (Some(1), Some(1)),
        "{r}"
    );
    let archived = std::fs::read_to_string(&archive).unwrap();
    assert!(archived.contains(&mine), "{archived}");
    // The ten other clients' failures are still there, visible again once the pass's short
    // timeout lapses (the DM's notification SAS has no update right to release them at once).
    let start = std::time::Instant::now();
    let left = loop {
        let left = env
            .client
            .peek(kingest::client::wire::NotificationKind::Failure, 32)
            .await
            .unwrap();
        if left.len() >= 10 || start.elapsed() > Duration::from_secs(15) {
            break left;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(left.len(), 10);
    assert!(left.iter().all(|m| m.source_id() != Some(mine.as_str())));
    env.emulator.shutdown().await;
}
