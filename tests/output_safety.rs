//! Escape injection: untrusted text carrying terminal control sequences (retitle, clipboard
//! write, device status report, clear screen, C1 controls, bidi overrides) reaches every human
//! output path — `failures|successes peek`, `status`, `submit --wait`, `mgmt` tables, stderr
//! error lines, TUI screens — and none of it may reach the terminal; the visible text stays.
//! `--json` keeps the exact value (JSON escapes the controls).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Env, kingest, resign, stdout};
use crossterm::event::KeyCode;
use kingest::client::ResourceKind;
use kingest::client::wire::Notification;
use serde_json::Value;

/// Every attack the issue names, between the letters A..I that must stay visible.
const EVIL: &str = "A\u{1b}]0;pwned-title\u{7}B\u{1b}]52;c;ZXZpbCBjbGlwYm9hcmQ=\u{7}C\u{1b}[5nD\u{1b}[2JE\u{9b}31mF\u{9d}0;t\u{9c}G\u{202e}H\u{2066}I";
const VISIBLE: &str = "ABCDEFGHI";

/// No escape, C0 control (other than newline and the tab kingest separates columns with), C1
/// control or bidi control in `text`.
fn assert_clean(what: &str, text: &str) {
    for (i, c) in text.char_indices() {
        let bad = (c.is_control() && !matches!(c, '\n' | '\t'))
            || ('\u{80}'..='\u{9f}').contains(&c)
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{61c}');
        assert!(
            !bad,
            "{what}: control character {:?} at byte {i} reached the terminal:\n{text:?}",
            c
        );
    }
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// Both streams of a command's output are clean; returns stdout + stderr.
fn clean_output(what: &str, o: &std::process::Output) -> String {
    assert_clean(&format!("{what} stdout"), &stdout(o));
    assert_clean(&format!("{what} stderr"), &stderr(o));
    format!("{}{}", stdout(o), stderr(o))
}

fn evil_notification(failed: bool) -> Notification {
    Notification {
        operation_id: Some(uuid::Uuid::new_v4().to_string()),
        database: Some(format!("db{EVIL}")),
        table: Some(format!("T{EVIL}")),
        failed_on: failed.then(|| "2026-01-01T00:00:00.0000000Z".into()),
        succeeded_on: (!failed).then(|| "2026-01-01T00:00:00.0000000Z".into()),
        ingestion_source_id: Some(uuid::Uuid::new_v4().to_string()),
        ingestion_source_path: Some(format!("https://a.blob.core.windows.net/c/f{EVIL}.csv")),
        details: Some(format!("details {EVIL}")),
        error_code: failed.then(|| format!("Code{EVIL}")),
        failure_status: failed.then(|| "Permanent".into()),
        ..Default::default()
    }
}

/// Posts `text` into the notification queue of `kind` (re-signed for add).
async fn plant(env: &Env, kind: ResourceKind, text: &str) {
    let res = env.client.resources().await.unwrap();
    let queue = res.of_kind(kind).next().cloned().unwrap();
    env.client
        .storage()
        .put_message(&resign(&queue, "a"), text, None, None)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peek_human_output_strips_escapes_and_json_keeps_them() {
    let env = Env::start().await;
    plant(
        &env,
        ResourceKind::FailedIngestionsQueue,
        &evil_notification(true).to_queue_text(),
    )
    .await;
    // Undecodable: printed raw in the human listing.
    plant(
        &env,
        ResourceKind::FailedIngestionsQueue,
        &format!("not json {EVIL}"),
    )
    .await;
    plant(
        &env,
        ResourceKind::SuccessfulIngestionsQueue,
        &evil_notification(false).to_queue_text(),
    )
    .await;

    let out = kingest(&env, &["failures", "peek"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = clean_output("failures peek", &out);
    assert!(text.contains(&format!("details {VISIBLE}")), "{text}");
    assert!(text.contains(&format!("Code{VISIBLE}")), "{text}");
    assert!(text.contains(&format!("not json {VISIBLE}")), "{text}");

    let out = kingest(&env, &["successes", "peek"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = clean_output("successes peek", &out);
    assert!(text.contains(&format!("details {VISIBLE}")), "{text}");
    assert!(text.contains(&format!("T{VISIBLE}")), "{text}");

    // --json: the exact value, escaped by JSON (so the raw bytes are not on stdout either).
    let out = kingest(&env, &["failures", "peek", "--json"]).await;
    assert!(!stdout(&out).contains('\u{1b}'), "JSON escapes ESC");
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let details: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["Details"].as_str())
        .collect();
    assert_eq!(details, [format!("details {EVIL}")], "{v}");
    env.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_of_a_crafted_entity_is_sanitised() {
    let env = Env::start().await;
    let res = env.client.resources().await.unwrap();
    let table = res
        .of_kind(ResourceKind::IngestionsStatusTable)
        .next()
        .cloned()
        .unwrap();
    let id = uuid::Uuid::new_v4().to_string();
    let mut e = serde_json::Map::new();
    for (k, v) in [
        ("PartitionKey", id.clone()),
        ("RowKey", id.clone()),
        ("Status", "Failed".into()),
        ("IngestionSourceId", id.clone()),
        ("IngestionSourcePath", format!("https://a/c/{EVIL}.csv")),
        ("Database", format!("demo{EVIL}")),
        ("Table", format!("Events{EVIL}")),
        ("ErrorCode", format!("Code{EVIL}")),
        ("FailureStatus", "Permanent".into()),
        ("Details", format!("entity {EVIL}")),
    ] {
        e.insert(k.into(), v.into());
    }
    env.client
        .storage()
        .insert_entity(&table, &e)
        .await
        .unwrap();

    let out = kingest(&env, &["status", &id]).await;
    let text = clean_output("status", &out);
    assert_eq!(out.status.code(), Some(1), "a failed source: {text}");
    assert!(text.contains(&format!("entity {VISIBLE}")), "{text}");
    assert!(text.contains(&format!("Code{VISIBLE}")), "{text}");

    let out = kingest(&env, &["status", &id, "--json"]).await;
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["details"], format!("entity {EVIL}"), "{v}");
    env.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_wait_sanitises_file_and_mapping_names() {
    let env = Env::start().await;
    // A file whose name holds every sequence, and a mapping name the service echoes in Details.
    let evil_file = env.file(&format!("{EVIL}.csv"));
    std::fs::copy(env.file("events.csv"), &evil_file).unwrap();
    let evil_path = evil_file.to_str().unwrap();
    let out = kingest(
        &env,
        &[
            "submit",
            evil_path,
            "-d",
            "demo",
            "-t",
            "Events",
            "--mapping-ref",
            &format!("map{EVIL}"),
            "--flush",
            "--wait=60",
        ],
    )
    .await;
    let text = clean_output("submit --wait", &out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("MappingReferenceWasNotFound"), "{text}");
    assert!(
        text.contains(&format!("map{VISIBLE}")),
        "the echoed name: {text}"
    );
    assert!(
        text.contains(&format!("{VISIBLE}.csv")),
        "the file name: {text}"
    );

    // --json keeps the exact file name and Details.
    let out = kingest(
        &env,
        &[
            "submit",
            evil_path,
            "-d",
            "demo",
            "-t",
            "Events",
            "--mapping-ref",
            &format!("map{EVIL}"),
            "--flush",
            "--wait=60",
            "--json",
        ],
    )
    .await;
    let v: Value = serde_json::from_str(stdout(&out).lines().next().unwrap()).unwrap();
    assert_eq!(v["file"], evil_path, "{v}");
    assert!(
        v["details"]
            .as_str()
            .unwrap()
            .contains(&format!("map{EVIL}")),
        "{v}"
    );

    // A file that does not exist: the error line on stderr.
    let missing = env.file(&format!("missing{EVIL}.csv"));
    let out = kingest(
        &env,
        &[
            "submit",
            missing.to_str().unwrap(),
            "-d",
            "demo",
            "-t",
            "Events",
        ],
    )
    .await;
    let text = clean_output("submit of a missing file", &out);
    assert_ne!(out.status.code(), Some(0));
    assert!(text.contains(&format!("missing{VISIBLE}.csv")), "{text}");

    // A bad argument value: clap's usage error quotes it.
    let level = format!("lvl{EVIL}");
    let out = kingest(&env, &["submit", evil_path, "--report-level", &level]).await;
    let text = clean_output("a usage error", &out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains(&format!("lvl{VISIBLE}")), "{text}");
    env.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mgmt_tables_and_error_lines_are_sanitised() {
    let env = Env::start().await;
    // A table whose name holds the sequences, listed by `.show tables`.
    let create = format!(".create table ['T{EVIL}'] (A:string)");
    let out = kingest(&env, &["mgmt", "-d", "demo", &create]).await;
    clean_output("mgmt .create", &out);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = kingest(&env, &["mgmt", "-d", "demo", ".show tables"]).await;
    let text = clean_output("mgmt .show tables", &out);
    assert!(text.contains(&format!("T{VISIBLE}")), "{text}");
    let out = kingest(&env, &["mgmt", "-d", "demo", ".show tables", "--json"]).await;
    assert!(
        stdout(&out).contains("\\u001b]0;pwned"),
        "JSON keeps it, escaped"
    );

    // The service's error message echoes the name: stderr, through main's error line.
    let show = format!(".show table ['nope{EVIL}'] policy ingestionbatching");
    let out = kingest(&env, &["mgmt", "-d", "demo", &show]).await;
    let text = clean_output("mgmt error", &out);
    assert_ne!(out.status.code(), Some(0), "{text}");
    assert!(text.contains(&format!("nope{VISIBLE}")), "{text}");
    env.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tui_screens_strip_escapes() {
    let env = Env::start().await;
    plant(
        &env,
        ResourceKind::FailedIngestionsQueue,
        &evil_notification(true).to_queue_text(),
    )
    .await;
    plant(
        &env,
        ResourceKind::FailedIngestionsQueue,
        &format!("not json {EVIL}"),
    )
    .await;
    let opts = kingest::runtime::TuiOptions {
        state_dir: env.dir.path().join("state"),
        color: Some(false),
        ..Default::default()
    };
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let screens = seen.clone();
    common::tui::run(env.client.clone(), opts, |d| async move {
        let keep = |s: &str| screens.lock().unwrap().push(s.to_string());
        keep(&d.wait("resources", |s| s.contains("tempstorage")).await);
        d.key(KeyCode::Char('p'));
        keep(
            &d.wait("the crafted failure row", |s| {
                s.contains(&format!("Code{VISIBLE}"))
            })
            .await,
        );
        for _ in 0..4 {
            let before = d.screen();
            if before.contains("┏ Failures") {
                break;
            }
            d.key(KeyCode::Tab);
            d.wait("the focus to move", |s| s != before).await;
        }
        d.wait("focus on failures", |s| s.contains("┏ Failures"))
            .await;
        // The detail view of each row: Details, raw text, error code.
        d.key(KeyCode::Enter);
        let details = format!("details {VISIBLE}");
        let not_json = format!("not json {VISIBLE}");
        let first = d
            .wait("the detail view", |s| {
                s.contains(&details) || s.contains(&not_json)
            })
            .await;
        keep(&first);
        // The other row's detail view: the one the first was not.
        let other = if first.contains(&details) {
            not_json.clone()
        } else {
            details.clone()
        };
        d.key(KeyCode::Esc);
        d.key(KeyCode::Down);
        d.key(KeyCode::Enter);
        keep(
            &d.wait("the second detail view", |s| s.contains(&other))
                .await,
        );
        d.key(KeyCode::Esc);
        d.key(KeyCode::Char('q'));
    })
    .await;
    let screens = seen.lock().unwrap().clone();
    let all = screens.join("\n");
    for s in screens.iter() {
        assert_clean("TUI screen", s);
    }
    assert!(all.contains(&format!("details {VISIBLE}")), "{all}");
    assert!(all.contains(&format!("not json {VISIBLE}")), "{all}");
    env.emulator.shutdown().await;
}
