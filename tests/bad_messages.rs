#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Crafted notification queue messages (what a broken or hostile writer can put into a
//! cluster's shared failure queue) through the `kingest` binary: peek shows each one, decoded
//! or raw, with no terminal escape; peek deletes nothing; discard archives every one (the raw
//! text of those that do not decode) and then deletes it.

mod common;

use std::collections::{HashMap, HashSet};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use common::{Env, kingest, resign, stdout};
use kingest::client::resources::ResourceKind;
use serde_json::{Value, json};

fn b64(s: &str) -> String {
    STANDARD.encode(s)
}

/// A failure notification with `fields` over a valid base.
fn failure(fields: Value) -> String {
    let mut n = json!({
        "OperationId": "00000000-0000-0000-0000-0000000000aa",
        "Database": "demo",
        "Table": "Events",
        "FailedOn": "2026-01-01T00:00:00.0000000Z",
        "IngestionSourceId": uuid::Uuid::new_v4().to_string(),
        "ErrorCode": "BadRequest_EmptyBlob",
        "FailureStatus": "Permanent",
        "Details": "plain",
    });
    for (k, v) in fields.as_object().unwrap() {
        n[k] = v.clone();
    }
    b64(&n.to_string())
}

const ESCAPES: &str = "\u{1b}]0;owned\u{7}\u{1b}]52;c;ZWNobyBwd25lZA==\u{7}\u{1b}[5n\u{1b}[2J\u{9b}31m\u{202e}evil\u{2069}\u{61c}";

/// (label, message text as put, whether it decodes to a notification).
fn crafted() -> Vec<(&'static str, String, bool)> {
    // Just under Azure's 64 KiB text limit once base64-encoded.
    let big = "x".repeat(64 * 1024 * 3 / 4 - 400);
    vec![
        ("not base64", "this is ~not~ base64 at all!".into(), false),
        ("base64, not JSON", b64("hello, world"), false),
        ("JSON array", b64("[1,2,3]"), false),
        ("invalid UTF-8", STANDARD.encode([0xff, 0xfe, b'{']), false),
        ("truncated JSON", b64("{\"Details\":\"cut"), false),
        ("empty object", b64("{}"), true),
        (
            "raw JSON, no base64",
            json!({"FailedOn": "2026-01-01T00:00:00Z", "Details": "raw"}).to_string(),
            true,
        ),
        (
            "URL-safe base64 with newlines",
            {
                let t = URL_SAFE.encode(json!({"Details": "??>>??", "ErrorCode": "X"}).to_string());
                format!("{}\n{}", &t[..10], &t[10..])
            },
            true,
        ),
        (
            "BOM before JSON",
            b64(&format!("\u{feff}{}", json!({"Details": "bom"}))),
            true,
        ),
        ("64 KiB", failure(json!({"Details": big})), true),
        (
            "escapes in every field",
            failure(json!({
                "Details": ESCAPES, "Table": ESCAPES, "Database": ESCAPES, "ErrorCode": ESCAPES,
                "IngestionSourcePath": format!("https://a.blob.core.windows.net/c/{ESCAPES}.csv"),
                "IngestionSourceId": ESCAPES,
            })),
            true,
        ),
        ("escapes, undecodable", format!("not json {ESCAPES}"), false),
        (
            "unknown ErrorCode",
            failure(json!({"ErrorCode": "Totally_New_Code_v9", "FailureStatus": "Sideways"})),
            true,
        ),
        (
            "FailedOn not a date",
            failure(json!({"FailedOn": "yesterday-ish"})),
            true,
        ),
        (
            "FailedOn epoch number",
            failure(json!({"FailedOn": 1_767_225_600})),
            true,
        ),
        (
            "FailedOn year 1",
            failure(json!({"FailedOn": "0001-01-01T00:00:00"})),
            true,
        ),
        (
            "FailedOn year 9999",
            failure(json!({"FailedOn": "9999-12-31T23:59:59.9999999Z"})),
            true,
        ),
        (
            "FailedOn out of range",
            failure(json!({"FailedOn": "2025-13-45T99:99:99Z"})),
            true,
        ),
        ("FailedOn null", failure(json!({"FailedOn": null})), true),
        (
            "wrong types",
            failure(json!({"Database": 123, "ShouldRetry": "maybe", "Details": {"nested": [1]}})),
            true,
        ),
    ]
}

fn assert_no_terminal_control(what: &str, out: &str) {
    let bad = out.chars().find(|&c| {
        (c.is_control() && c != '\n')
            || matches!(c, '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    });
    assert!(bad.is_none(), "{what} printed {bad:?}: {out}");
}

/// What may stand for an undecodable message: its text as received or, when that text was JSON
/// (plain or base64) but no notification, that JSON.
fn kept(text: &str) -> Vec<String> {
    let mut k = vec![text.to_string()];
    k.extend(kingest::client::wire::decode_text(text).map(|v| v.to_string()));
    k
}

/// Every string inside `v`.
fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(o) => o.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crafted_failure_messages_are_shown_kept_and_archived() {
    let env = Env::start().await;
    let res = env.client.resources().await.unwrap();
    let queue = res
        .of_kind(ResourceKind::FailedIngestionsQueue)
        .next()
        .cloned()
        .unwrap();
    let add = resign(&queue, "a");
    let cases = crafted();
    let mut put: HashMap<String, (&str, String, bool)> = HashMap::new();
    for (label, text, decodes) in &cases {
        let m = env
            .client
            .storage()
            .put_message(&add, text, None, None)
            .await
            .unwrap_or_else(|e| panic!("{label}: {e}"));
        put.insert(m.message_id, (*label, text.clone(), *decodes));
    }

    // Human peek: every message has a line, undecodable ones say so; nothing drives the terminal.
    let out = kingest(&env, &["failures", "peek", "-n", "50"]).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let human = stdout(&out);
    assert_no_terminal_control("peek", &human);
    assert_no_terminal_control("peek stderr", &String::from_utf8_lossy(&out.stderr));
    let undecodable = cases.iter().filter(|c| !c.2).count();
    assert_eq!(
        human.matches("undecodable message").count(),
        undecodable,
        "{human}"
    );
    assert!(
        human.contains("Totally_New_Code_v9") && human.contains("this is ~not~ base64"),
        "{human}"
    );

    // JSON peek, twice: all there, nothing removed; undecodable ones carry their raw text.
    for round in 0..2 {
        let out = kingest(&env, &["failures", "peek", "-n", "50", "--json"]).await;
        assert_eq!(out.status.code(), Some(0), "round {round}");
        let peeked: Vec<Value> = serde_json::from_str(&stdout(&out)).unwrap();
        let ids: HashSet<&str> = peeked
            .iter()
            .map(|m| m["MessageId"].as_str().unwrap())
            .collect();
        assert_eq!(
            ids,
            put.keys().map(String::as_str).collect(),
            "round {round}"
        );
        for m in &peeked {
            let (label, text, decodes) = &put[m["MessageId"].as_str().unwrap()];
            assert_eq!(m.get("DecodeError").is_none(), *decodes, "{label}: {m}");
            if !decodes {
                assert!(
                    kept(text).contains(&m["Raw"].as_str().unwrap().to_string()),
                    "{label}: {m}"
                );
            }
        }
        let details: Vec<&str> = peeked
            .iter()
            .filter_map(|m| m["Details"].as_str())
            .collect();
        // --json keeps the exact value (escaped by JSON, not stripped).
        assert!(details.contains(&ESCAPES), "{details:?}");
    }

    // Discard everything: each archived (raw text kept when it does not decode), then deleted.
    let archive = env.dir.path().join("bad.jsonl");
    let out = kingest(
        &env,
        &[
            "failures",
            "discard",
            "--all",
            "--archive",
            archive.to_str().unwrap(),
            "--yes",
            "--json",
        ],
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        report["archived"].as_u64(),
        Some(cases.len() as u64),
        "{report}"
    );
    assert_eq!(
        report["deleted"].as_u64(),
        Some(cases.len() as u64),
        "{report}"
    );
    let lines: Vec<Value> = std::fs::read_to_string(&archive)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let archived: HashSet<&str> = lines
        .iter()
        .map(|l| l["MessageId"].as_str().unwrap())
        .collect();
    assert_eq!(archived, put.keys().map(String::as_str).collect());
    for l in &lines {
        let (label, text, decodes) = &put[l["MessageId"].as_str().unwrap()];
        if !decodes {
            let mut all = Vec::new();
            strings(l, &mut all);
            assert!(
                kept(text).iter().any(|k| all.contains(k)),
                "{label}: raw text not archived in {l}"
            );
        }
    }
    let out = kingest(&env, &["failures", "peek", "--json"]).await;
    assert_eq!(stdout(&out).trim(), "[]");
    env.emulator.shutdown().await;
}

/// The same crafted messages in the TUI (headless, real event loop): listed, the undecodable
/// ones marked, the detail view of one open, and not a control character on screen; nothing
/// is removed by looking.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crafted_failure_messages_in_the_tui() {
    use crossterm::event::KeyCode;
    let env = Env::start().await;
    let res = env.client.resources().await.unwrap();
    let queue = res
        .of_kind(ResourceKind::FailedIngestionsQueue)
        .next()
        .cloned()
        .unwrap();
    let add = resign(&queue, "a");
    let cases = crafted();
    for (label, text, _) in &cases {
        env.client
            .storage()
            .put_message(&add, text, None, None)
            .await
            .unwrap_or_else(|e| panic!("{label}: {e}"));
    }
    let opts = kingest::runtime::TuiOptions {
        archive_dir: env.dir.path().join("archive"),
        state_dir: env.dir.path().join("state"),
        color: Some(false),
        ..Default::default()
    };
    let n = cases.len();
    let script = |d: common::tui::Driver| async move {
        d.key(KeyCode::Char('p'));
        let s = d
            .wait("the crafted failures", |s| {
                s.contains("undecoda") && s.contains("Totally_New")
            })
            .await;
        assert_no_terminal_control("the TUI", &s);
        for _ in 0..4 {
            if d.screen().contains("┏ Failures") {
                break;
            }
            let before = d.screen();
            d.key(KeyCode::Tab);
            d.wait("the focus to move", move |s| s != before).await;
        }
        d.wait("focus on failures", |s| s.contains("┏ Failures"))
            .await;
        // Every row's detail, raw view included.
        for _ in 0..n {
            d.key(KeyCode::Enter);
            let s = d.wait("the detail view", |s| s.contains("Esc")).await;
            assert_no_terminal_control("the detail view", &s);
            d.key(KeyCode::Char('R'));
            assert_no_terminal_control("the raw view", &d.screen());
            d.key(KeyCode::Esc);
            d.key(KeyCode::Down);
        }
        assert_no_terminal_control("the TUI", &d.screen());
        d.key(KeyCode::Char('q'));
    };
    let end = common::tui::run(env.client.clone(), opts, script).await;
    assert!(end.quit);
    let left = env
        .client
        .peek(kingest::client::wire::NotificationKind::Failure, 32)
        .await
        .unwrap();
    assert_eq!(left.len(), n, "looking removed nothing");
    env.emulator.shutdown().await;
}
