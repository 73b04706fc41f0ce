//! Honest discards and archives that keep the evidence, through the `kingest` binary.
//!
//! - Right after discards killed mid-pass (what they held stays invisible for their pass-sized
//!   timeout), `discard --all` used to print "archived 0 and deleted 0" and stop; it now passes
//!   again as the held messages reappear, until the queue is empty.
//! - A discard that gives up says how many messages are still in the queue, how many of them
//!   are invisible, and exits 4.
//! - Archive lines keep the MessageText as received and the decoded JSON with every value's
//!   type; `failures archive` reads them back deduplicated and sanitised, and still reads the
//!   old format with a note.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::{Env, kingest, kingest_command, line_count, resign};
use kingest::client::ResourceKind;
use kingest::client::storage::SasUrl;
use kingest::client::wire::{Notification, NotificationKind};
use serde_json::Value;

async fn failure_queue(env: &Env) -> SasUrl {
    env.client
        .resources()
        .await
        .unwrap()
        .of_kind(ResourceKind::FailedIngestionsQueue)
        .next()
        .cloned()
        .unwrap()
}

/// Puts these message texts into the failure queue; returns MessageId → text.
async fn put_texts(env: &Env, texts: Vec<String>) -> HashMap<String, String> {
    let add = resign(&failure_queue(env).await, "a");
    let mut out = HashMap::new();
    for t in texts {
        let m = env
            .client
            .storage()
            .put_message(&add, &t, None, None)
            .await
            .unwrap();
        out.insert(m.message_id, t);
    }
    out
}

fn notification_texts(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            Notification {
                operation_id: Some(uuid::Uuid::new_v4().to_string()),
                database: Some("demo".into()),
                table: Some("Events".into()),
                failed_on: Some("2025-01-01T00:00:00.0000000Z".into()),
                ingestion_source_id: Some(uuid::Uuid::new_v4().to_string()),
                error_code: Some("BadRequest_EmptyBlob".into()),
                details: Some(format!("message {i}")),
                ..Default::default()
            }
            .to_queue_text()
        })
        .collect()
}

/// (approximate count, visible as a peek sees it) of the failure queue.
async fn census(env: &Env) -> (u64, usize) {
    let q = failure_queue(env).await;
    let count = env
        .client
        .storage()
        .approximate_message_count(&q)
        .await
        .unwrap();
    let visible = env
        .client
        .peek(NotificationKind::Failure, 32)
        .await
        .unwrap();
    (count, visible.len())
}

/// Runs `discard --all` and kills it (SIGKILL) as soon as it has archived one more line, again
/// until nothing is visible: every pass leaves what it had received but not yet deleted hidden
/// for its visibility timeout, as a terminal that died mid-discard does.
async fn interrupt_until_nothing_visible(env: &Env, archive: &Path) -> (usize, u64) {
    let home = env.dir.path().join("home");
    let mut kills = 0;
    for _ in 0..20 {
        let (count, visible) = census(env).await;
        if visible == 0 {
            return (kills, count);
        }
        let before = line_count(archive);
        let mut child = kingest_command(env.emulator.url(), &home)
            .args(["failures", "discard", "--all", "--yes", "--archive"])
            .arg(archive)
            .spawn()
            .unwrap();
        let start = Instant::now();
        while line_count(archive) <= before && child.try_wait().unwrap().is_none() {
            assert!(start.elapsed() < Duration::from_secs(60), "no progress");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        child.kill().unwrap();
        child.wait().unwrap();
        kills += 1;
    }
    panic!("messages stayed visible after {kills} interrupted discards");
}

/// MessageIds in the archive, read as plain JSON lines (so this test also runs against the
/// code before `client::archive` existed).
fn archived_ids(archive: &Path) -> HashSet<String> {
    std::fs::read_to_string(archive)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| v["MessageId"].as_str().map(str::to_string))
        .collect()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discard_all_right_after_an_interrupted_one_waits_and_empties_the_queue() {
    let env = Env::start().await;
    let put = put_texts(&env, notification_texts(150)).await;
    let archive = env.dir.path().join("archive.jsonl");
    let (kills, count) = interrupt_until_nothing_visible(&env, &archive).await;
    println!("{kills} discard(s) killed mid-pass: {count} messages left, none visible");
    assert!(count >= 100, "only {count} left invisible");

    let out = kingest(
        &env,
        &[
            "failures",
            "discard",
            "--all",
            "--yes",
            "--archive",
            archive.to_str().unwrap(),
        ],
    )
    .await;
    let (o, e) = (common::stdout(&out), stderr(&out));
    println!("stdout: {o}\nstderr: {e}");
    assert_eq!(out.status.code(), Some(0), "{o}{e}");
    assert!(!o.contains("archived 0 and deleted 0"), "{o}");
    assert!(o.contains(" passes)"), "{o}");
    assert!(e.contains("waiting up to"), "says what it waits for: {e}");
    assert!(e.contains("invisible"), "{e}");
    assert_eq!(census(&env).await, (0, 0));
    let ids: HashSet<String> = put.keys().cloned().collect();
    assert_eq!(archived_ids(&archive), ids, "every message archived");
    env.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_discard_that_gives_up_says_what_is_invisible_and_exits_4() {
    let env = Env::start().await;
    put_texts(&env, notification_texts(100)).await;
    // Another client holds the 64 oldest for ten minutes.
    let held: Vec<_> = [
        env.client
            .receive(NotificationKind::Failure, 32, Duration::from_secs(600))
            .await
            .unwrap(),
        env.client
            .receive(NotificationKind::Failure, 32, Duration::from_secs(600))
            .await
            .unwrap(),
    ]
    .concat();
    assert_eq!(held.len(), 64);
    let archive = env.dir.path().join("archive.jsonl");
    let out = kingest(
        &env,
        &[
            "failures",
            "discard",
            "--all",
            "--yes",
            "--wait",
            "2",
            "--archive",
            archive.to_str().unwrap(),
        ],
    )
    .await;
    let (o, e) = (common::stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(4), "{o}{e}");
    assert!(o.contains("archived 36 and deleted 36"), "{o}");
    assert!(
        e.contains("64 message(s) still in the queue(s), about 64 of them invisible"),
        "{e}"
    );
    assert!(e.contains("gave up after 2 s"), "{e}");
    // --json says the same; one pass with --wait 0.
    let out = kingest(
        &env,
        &[
            "--json",
            "failures",
            "discard",
            "--all",
            "--yes",
            "--wait",
            "0",
            "--archive",
            archive.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&common::stdout(&out)).unwrap();
    assert_eq!(v["queue_count"], 64);
    assert_eq!(v["invisible"], 64);
    assert_eq!(v["passes"], 1);
    assert_eq!(v["complete"], false);
    // Other selectors make one pass and exit 4 too when messages they may want are hidden.
    let out = kingest(
        &env,
        &[
            "failures",
            "discard",
            "-n",
            "5",
            "--yes",
            "--archive",
            archive.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    env.emulator.shutdown().await;
}

/// Values of unexpected types, escapes and a SAS in the service's own words.
const HOSTILE: &str = "{\"OperationId\":\"op\",\"Database\":\"demo\",\"Table\":\"Events\",\
\"FailedOn\":\"2026-12-01T00:00:00Z\",\"IngestionSourceId\":123,\
\"IngestionSourcePath\":\"https://a.blob.core.windows.net/c/b?sv=1&sig=BLOBSECRET\",\
\"Details\":{\"why\":\"\\u001b]0;pwned\\u0007\\u001b]52;c;ZXZpbA==\\u0007\\u001b[5n\",\"n\":[1,2.5,null]},\
\"ErrorCode\":\"\\u001b[2JBad\",\"FailureStatus\":\"Permanent\",\
\"OriginatesFromUpdatePolicy\":\"maybe\",\"ShouldRetry\":1}";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archives_keep_the_evidence_and_are_read_back_safely() {
    let env = Env::start().await;
    let b64 = base64::engine::general_purpose::STANDARD.encode(HOSTILE);
    let undecodable = "not a notification %% <&> ü".to_string();
    let put = put_texts(&env, vec![b64.clone(), undecodable.clone()]).await;
    let archive = env.dir.path().join("evidence.jsonl");
    let out = kingest(
        &env,
        &[
            "failures",
            "discard",
            "--all",
            "--yes",
            "--archive",
            archive.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&archive).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    // Byte for byte: the text as received, the decoded JSON with every type as sent.
    let text = std::fs::read_to_string(&archive).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    let want: Value = serde_json::from_str(HOSTILE).unwrap();
    for l in &lines {
        let id = l["MessageId"].as_str().unwrap();
        assert_eq!(l["MessageText"].as_str(), Some(put[id].as_str()));
        assert_eq!(l["Queue"], "failedingestions");
        assert!(l["InsertionTime"].is_string() && l["ArchivedAt"].is_string());
        if put[id] == b64 {
            assert_eq!(l["Decoded"], want);
            assert_eq!(l["Decoded"]["OriginatesFromUpdatePolicy"], "maybe");
            assert_eq!(l["Decoded"]["IngestionSourceId"], 123);
            assert!(l["Decoded"]["Details"].is_object());
        } else {
            assert!(l["Decoded"].is_null() && l["DecodeError"].is_string());
        }
    }

    // Read back, twice the same file: deduplicated, no escape reaches the terminal, no secret.
    let a = archive.to_str().unwrap();
    let out = kingest(&env, &["failures", "archive", a, a]).await;
    let (o, e) = (common::stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(0), "{e}");
    for id in put.keys() {
        assert_eq!(o.matches(id.as_str()).count(), 1, "{o}");
    }
    assert!(e.contains("2 duplicate line(s)"), "{e}");
    assert!(!o.contains('\u{1b}') && !o.contains('\u{7}'), "{o:?}");
    assert!(!o.contains("BLOBSECRET"), "{o}");
    assert!(o.contains("\"maybe\"") && o.contains("123"), "{o}");
    assert!(o.contains("undecodable"), "{o}");
    let out = kingest(&env, &["--json", "failures", "archive", a]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let o = common::stdout(&out);
    assert!(!o.contains("BLOBSECRET") && !o.contains('\u{1b}'), "{o}");
    let v: Vec<Value> = serde_json::from_str(&o).unwrap();
    let d = &v.iter().find(|e| e["DecodeError"].is_null()).unwrap()["Decoded"];
    assert_eq!(d["OriginatesFromUpdatePolicy"], "maybe");
    assert_eq!(d["IngestionSourceId"], 123);
    assert_eq!(d["Details"]["n"], serde_json::json!([1, 2.5, null]));
    // JSON escapes the sequences; the value is kept.
    assert!(
        d["Details"]["why"]
            .as_str()
            .unwrap()
            .contains("\u{1b}]52;c;")
    );
    // The successes stream does not show failure records.
    let out = kingest(&env, &["successes", "archive", a]).await;
    assert!(common::stdout(&out).contains("no archived success notifications"));
    assert!(stderr(&out).contains("other kind"), "{}", stderr(&out));
    env.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_format_archives_are_read_with_a_note_and_bad_lines_are_named() {
    let env = Env::start().await;
    let old = env.dir.path().join("old.jsonl");
    std::fs::write(
        &old,
        "{\"Database\":\"demo\",\"ErrorCode\":\"BadRequest_EmptyBlob\",\"MessageId\":\"m0\",\
         \"DequeueCount\":1,\"InsertionTime\":\"2025-01-01T00:00:00.000Z\",\"Queue\":\"fq\",\
         \"Kind\":\"failure\"}\nnot json \u{1b}[2J\n",
    )
    .unwrap();
    let out = kingest(&env, &["failures", "archive", old.to_str().unwrap()]).await;
    let (o, e) = (common::stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(0), "{e}");
    assert!(
        o.contains("m0") && o.contains("BadRequest_EmptyBlob"),
        "{o}"
    );
    assert!(e.contains("old archive format"), "{e}");
    assert!(e.contains("line 2 is not an archive record"), "{e}");
    assert!(!e.contains('\u{1b}'), "{e:?}");
    let missing = env.dir.path().join("missing.jsonl");
    let out = kingest(&env, &["failures", "archive", missing.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    env.emulator.shutdown().await;
}
