//! `kingest status SOURCE_ID --timeline --json` over the emulator: the storage requests with
//! their x-ms-client-request-ids, the queue post, the transitions, the notification's
//! OperationId and the engine's failure row; with `submit --tag-source`, the rows by the tag.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Env, kingest, stdout};
use serde_json::Value;

async fn submit(env: &Env, file: &str, extra: &[&str]) -> (i32, Value) {
    let path = env.file(file);
    let mut args = vec![
        "submit",
        path.to_str().unwrap(),
        "-d",
        "demo",
        "-t",
        "Events",
        "--flush",
        "--wait=60",
        "--json",
    ];
    args.extend_from_slice(extra);
    let out = kingest(env, &args).await;
    let line: Value = serde_json::from_str(stdout(&out).trim())
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap_or(-1), line)
}

async fn timeline(env: &Env, id: &str) -> Value {
    let out = kingest(env, &["status", id, "--timeline", "--json"]).await;
    let text = stdout(&out);
    assert_eq!(
        text.matches("sig=").count(),
        text.matches("sig=REDACTED").count(),
        "no SAS in the output: {text}"
    );
    let v: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{e}: {text} {}", String::from_utf8_lossy(&out.stderr)));
    v["timeline"].clone()
}

fn events<'a>(t: &'a Value, kind: &str) -> Vec<&'a Value> {
    t["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == kind)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_source_has_its_whole_timeline() {
    let env = Env::start().await;
    let (code, line) = submit(
        &env,
        "bad-wrong-fields.csv",
        &["--report-method", "queue-and-table"],
    )
    .await;
    assert_eq!(code, 1, "{line}");
    let id = line["source_id"].as_str().unwrap();
    let t = timeline(&env, id).await;

    // Every storage request with its own request id, in full.
    let requests = events(&t, "request");
    assert!(
        requests
            .iter()
            .any(|r| r["summary"].as_str().unwrap().starts_with("Put Blob")),
        "{t:#}"
    );
    let ids: Vec<&str> = requests
        .iter()
        .map(|r| r["request_id"].as_str().unwrap())
        .collect();
    for i in &ids {
        assert!(uuid::Uuid::parse_str(i).is_ok(), "{i}");
    }
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "one id per attempt");

    // The post: the message id the queue gave, and the Put Message's request id.
    let posted = events(&t, "posted");
    assert_eq!(posted.len(), 1, "{t:#}");
    assert!(!posted[0]["message_id"].as_str().unwrap().is_empty());
    assert!(ids.contains(&posted[0]["request_id"].as_str().unwrap()));

    // The transitions, ending Failed.
    let states: Vec<&str> = events(&t, "state")
        .iter()
        .map(|e| e["summary"].as_str().unwrap())
        .collect();
    assert!(
        states
            .last()
            .is_some_and(|s| s.starts_with("Failed (Stream_WrongNumberOfFields)")),
        "{states:?}"
    );

    // The notification's ids, and the engine's row for its operation.
    let heard = events(&t, "notification");
    assert!(!heard.is_empty(), "{t:#}");
    let op = heard[0]["operation_id"].as_str().unwrap();
    assert!(!op.is_empty());
    assert!(heard[0]["root_activity_id"].as_str().is_some());
    let engine = events(&t, "engine_failure");
    assert!(
        engine.iter().any(|e| e["operation_id"] == op),
        "the engine's .show ingestion failures row: {t:#}"
    );

    // Ordered by time, offsets from the first event.
    let offsets: Vec<i64> = t["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["offset_ms"].as_i64().unwrap())
        .collect();
    assert_eq!(offsets[0], 0);
    assert!(offsets.windows(2).all(|w| w[0] <= w[1]), "{offsets:?}");

    // The text form shows the same ids in full.
    let out = kingest(&env, &["status", id, "--timeline"]).await;
    let text = stdout(&out);
    assert!(text.contains("timeline:"), "{text}");
    assert!(text.contains(ids[0]), "{text}");
    assert!(text.contains(op), "{text}");
    env.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tag_source_counts_the_rows_by_its_extent_tag() {
    let env = Env::start().await;
    let (code, line) = submit(&env, "events.csv", &["--tag-source"]).await;
    assert_eq!(code, 0, "{line}");
    let id = line["source_id"].as_str().unwrap();
    let t = timeline(&env, id).await;
    assert_eq!(t["tag"], format!("kingest:{id}"));
    let rows = env.row_count("Events").await;
    assert!(rows > 0);
    assert_eq!(t["tagged_rows"], rows, "{t:#}");
    assert!(
        events(&t, "state")
            .iter()
            .any(|e| e["summary"].as_str().unwrap().starts_with("Succeeded")),
        "{t:#}"
    );

    // Without the flag: no tag, no count asked.
    let (_, line) = submit(&env, "events.csv", &[]).await;
    let t = timeline(&env, line["source_id"].as_str().unwrap()).await;
    assert!(
        t.get("tag").is_none() && t.get("tagged_rows").is_none(),
        "{t:#}"
    );
    env.emulator.shutdown().await;
}
