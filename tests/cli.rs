//! The `kingest` binary against an in-process emulator: submit --wait --json, peek, discard,
//! status, exit codes, and that no SAS signature reaches the output.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Env, kingest, kingest_at, stdout};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_wait_json_reports_each_source() {
    let env = Env::start().await;
    let good = env.file("events.csv");
    let bad = env.file("bad-wrong-fields.csv");
    let out = kingest(
        &env,
        &[
            "--config",
            "/nonexistent/kingest.toml",
            "submit",
            good.to_str().unwrap(),
            bad.to_str().unwrap(),
            "-d",
            "demo",
            "-t",
            "Events",
            "--flush",
            "--wait=60",
            "--json",
        ],
    )
    .await;
    // A missing explicit config file is a usage error: check the usage exit code first.
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = kingest(
        &env,
        &[
            "submit",
            good.to_str().unwrap(),
            bad.to_str().unwrap(),
            "-d",
            "demo",
            "-t",
            "Events",
            "--flush",
            "--wait=60",
            "--json",
        ],
    )
    .await;
    let text = stdout(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "one source failed → exit 1\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["status"], "Succeeded");
    assert_eq!(lines[0]["database"], "demo");
    assert!(lines[0]["source_id"].as_str().unwrap().len() == 36);
    assert_eq!(lines[1]["status"], "Failed");
    assert_eq!(lines[1]["error_code"], "Stream_WrongNumberOfFields");
    assert_eq!(lines[1]["failure_status"], "Permanent");
    assert!(lines[1]["details"].as_str().is_some_and(|d| !d.is_empty()));
    assert_eq!(
        text.matches("sig=").count(),
        text.matches("sig=REDACTED").count(),
        "no SAS in the output: {text}"
    );

    // Human output explains the failure.
    let out = kingest(
        &env,
        &[
            "submit",
            bad.to_str().unwrap(),
            "-d",
            "demo",
            "-t",
            "Events",
            "--flush",
            "--wait=60",
        ],
    )
    .await;
    let text = stdout(&out);
    assert!(
        text.contains("Failed")
            && text.contains("Stream_WrongNumberOfFields")
            && text.contains("what to do"),
        "{text}"
    );

    // status of the failed source
    let id = lines[1]["source_id"].as_str().unwrap();
    let out = kingest(&env, &["status", id, "--json"]).await;
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["status_entity"]["status"], "Failed");
    env.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peek_then_discard_with_archive() {
    let env = Env::start().await;
    let bad = env.file("bad-unclosed-quote.csv");
    let out = kingest(
        &env,
        &[
            "submit",
            bad.to_str().unwrap(),
            "-d",
            "demo",
            "-t",
            "Events",
            "--flush",
            "--wait=60",
            "--report-method",
            "queue",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));

    let out = kingest(&env, &["failures", "peek", "--json"]).await;
    assert_eq!(out.status.code(), Some(0));
    let peeked: Vec<Value> = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(peeked.len(), 1);
    let n = &peeked[0];
    for k in [
        "OperationId",
        "Database",
        "Table",
        "FailedOn",
        "IngestionSourceId",
        "IngestionSourcePath",
        "Details",
        "ErrorCode",
        "FailureStatus",
        "RootActivityId",
        "OriginatesFromUpdatePolicy",
        "ShouldRetry",
        "MessageId",
        "DequeueCount",
        "InsertionTime",
    ] {
        assert!(n.get(k).is_some(), "{k} missing in {n}");
    }
    assert_eq!(n["ErrorCode"], "Stream_ClosingQuoteMissing");

    // Peek again: still there. Discard without --yes off a terminal refuses (exit 2).
    let archive = env.dir.path().join("failures.jsonl");
    let out = kingest(
        &env,
        &[
            "failures",
            "discard",
            "--all",
            "--archive",
            archive.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    let out = kingest(&env, &["failures", "peek", "--json"]).await;
    assert_eq!(
        serde_json::from_str::<Vec<Value>>(&stdout(&out))
            .unwrap()
            .len(),
        1
    );

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
        (report["archived"].as_u64(), report["deleted"].as_u64()),
        (Some(1), Some(1))
    );
    let archived: Value =
        serde_json::from_str(std::fs::read_to_string(&archive).unwrap().trim()).unwrap();
    assert_eq!(archived["MessageId"], n["MessageId"]);
    let out = kingest(&env, &["failures", "peek", "--json"]).await;
    assert!(
        serde_json::from_str::<Vec<Value>>(&stdout(&out))
            .unwrap()
            .is_empty()
    );
    env.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resources_hide_signatures_and_errors_have_exit_codes() {
    let env = Env::start().await;
    let out = kingest(&env, &["resources", "--json"]).await;
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["Resources"].as_array().unwrap().len(), 7);
    assert!(
        text.contains("sig=REDACTED") && !text.contains("kingest1."),
        "{text}"
    );

    let missing = kingest(
        &env,
        &[
            "submit",
            "/nonexistent/file.csv",
            "-d",
            "demo",
            "-t",
            "Events",
        ],
    )
    .await;
    // A missing file is a usage error (issue 7: it used to exit 1).
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read"));
    let no_table = kingest(&env, &["submit", "x.csv", "-d", "demo"]).await;
    assert_eq!(no_table.status.code(), Some(2));
    let unknown_format = kingest(
        &env,
        &[
            "submit",
            env.file("events.csv").to_str().unwrap(),
            "-d",
            "demo",
            "-t",
            "Events",
            "--format",
            "xlsx",
        ],
    )
    .await;
    assert_eq!(unknown_format.status.code(), Some(2));
    let (url, home) = (env.emulator.url().to_string(), env.dir.path().join("home"));
    env.emulator.shutdown().await;

    // Nothing listens any more: a network error.
    let down = kingest_at(&url, &home, &["resources"]).await;
    assert_eq!(
        down.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&down.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_file_supplies_database_and_table() {
    let env = Env::start().await;
    let cfg = env.dir.path().join("kingest.toml");
    std::fs::write(&cfg, "database = \"demo\"\ntable = \"Events\"\n").unwrap();
    let good = env.file("events.csv");
    let out = kingest(
        &env,
        &[
            "--config",
            cfg.to_str().unwrap(),
            "submit",
            good.to_str().unwrap(),
            "--flush",
            "--wait=60",
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
    let line: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(
        (line["database"].as_str(), line["table"].as_str()),
        (Some("demo"), Some("Events"))
    );
    assert_eq!(line["status"], "Succeeded");

    std::fs::write(&cfg, "databse = \"demo\"\n").unwrap();
    let bad = kingest(&env, &["--config", cfg.to_str().unwrap(), "resources"]).await;
    assert_eq!(
        bad.status.code(),
        Some(2),
        "a misspelt key is a usage error"
    );
    assert!(String::from_utf8_lossy(&bad.stderr).contains("databse"));
    env.emulator.shutdown().await;
}

/// `kingest demo --headless`: every demo scenario ends with the outcome it is meant to produce.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headless_demo_narrates_every_outcome() {
    let home = tempfile::tempdir().unwrap();
    let out = kingest_at("http://127.0.0.1:9", home.path(), &["demo", "--headless"]).await;
    let text = stdout(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for s in kingest::demo::SCENARIOS {
        let block = text
            .split("--- ")
            .find(|b| {
                b.starts_with(s.file)
                    && b.contains(&format!("{}.{}", s.database, s.table))
                    && b.contains(s.expect)
            })
            .unwrap_or_else(|| {
                panic!(
                    "no narrated outcome for {} into {}.{}:\n{text}",
                    s.file, s.database, s.table
                )
            });
        let status_line = block.lines().nth(1).unwrap_or_default();
        if s.expect == "Succeeded" {
            assert!(status_line.starts_with("Succeeded"), "{block}");
        } else {
            assert!(
                block.lines().skip(1).any(|l| l.contains(s.expect)),
                "{block}"
            );
        }
    }
}
