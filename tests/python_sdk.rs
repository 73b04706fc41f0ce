//! Conformance with an independent peer: the official Python `azure-kusto-ingest` SDK ingests
//! through `kingest emulator` and finds its success notification. Needs `KINGEST_PYTHON` (a
//! python with azure-kusto-ingest installed; `.ci/run` makes a venv).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Env, peer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_queued_ingest_through_the_emulator() {
    let Some(python) = peer("KINGEST_PYTHON", "python SDK conformance") else {
        return;
    };
    let env = Env::start().await;
    let before = env.row_count("Events").await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/sdk_ingest.py");
    let csv = env.file("events.csv");
    let url = env.emulator.url().to_string();
    let out = tokio::process::Command::new(&python)
        .args([script, &url, "demo", "Events", csv.to_str().unwrap()])
        .output()
        .await
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "python SDK run failed ({:?})\nstdout: {stdout}\nstderr: {stderr}",
        out.status
    );
    let line: serde_json::Value =
        serde_json::from_str(stdout.lines().last().unwrap_or("")).unwrap();
    assert_eq!(line["found"], "success");
    assert_eq!(line["database"], "demo");
    assert_eq!(line["table"], "Events");
    let rows = std::fs::read_to_string(&csv)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count() as u64;
    assert_eq!(env.row_count("Events").await, before + rows);
    env.emulator.shutdown().await;
}
