//! `kingest check` over real HTTP against the emulator: exit codes as for submit, `--json`,
//! and every prediction the demo's files stand for; nothing is sent.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Env, kingest, stdout};
use kingest::cli::{EXIT_INGESTION_FAILED, EXIT_OK, EXIT_USAGE};

#[tokio::test(flavor = "multi_thread")]
async fn check_predicts_the_demo_outcomes_with_exit_codes() {
    let env = Env::start().await;
    let f = |n: &str| env.file(n).to_string_lossy().into_owned();
    let cases: Vec<(Vec<String>, i32, &str)> = vec![
        (
            vec![f("events.csv"), "-t".into(), "Events".into()],
            EXIT_OK,
            "predicted: Succeeded",
        ),
        (
            vec![f("bad-wrong-fields.csv"), "-t".into(), "Events".into()],
            EXIT_INGESTION_FAILED,
            "Stream_WrongNumberOfFields",
        ),
        (
            vec![f("bad-empty.csv"), "-t".into(), "Events".into()],
            EXIT_INGESTION_FAILED,
            "BadRequest_EmptyBlob",
        ),
        (
            vec![f("bad-unclosed-quote.csv"), "-t".into(), "Events".into()],
            EXIT_INGESTION_FAILED,
            "Stream_ClosingQuoteMissing",
        ),
        (
            vec![f("events.csv"), "-t".into(), "NoSuchTable".into()],
            EXIT_INGESTION_FAILED,
            "BadRequest_TableNotExist",
        ),
        (
            vec![
                f("events.csv"),
                "-d".into(),
                "nosuchdb".into(),
                "-t".into(),
                "Events".into(),
            ],
            EXIT_INGESTION_FAILED,
            "BadRequest_DatabaseNotExist",
        ),
        (
            vec![
                f("metrics.json"),
                "-t".into(),
                "Metrics".into(),
                "--mapping-ref".into(),
                "NoSuchMapping".into(),
            ],
            EXIT_INGESTION_FAILED,
            "BadRequest_MappingReferenceWasNotFound",
        ),
        (
            vec![
                f("metrics.json"),
                "-t".into(),
                "Metrics".into(),
                "--mapping-ref".into(),
                "MetricsJson".into(),
            ],
            EXIT_OK,
            "predicted: Succeeded",
        ),
        (
            vec![
                f("bad-not-json.json"),
                "-t".into(),
                "Metrics".into(),
                "--mapping-ref".into(),
                "MetricsJson".into(),
            ],
            EXIT_INGESTION_FAILED,
            "BadRequest_NoRecordsOrWrongFormat",
        ),
        (
            vec![f("events-header.csv"), "-t".into(), "Events".into()],
            EXIT_OK,
            "--ignore-first-record",
        ),
        (
            vec![f("no-such-file.csv"), "-t".into(), "Events".into()],
            EXIT_USAGE,
            "",
        ),
    ];
    for (args, code, want) in cases {
        let mut all = vec!["check".to_string()];
        all.extend(args.clone());
        if !args.iter().any(|a| a == "-d") {
            all.extend(["-d".to_string(), "demo".into()]);
        }
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        let o = kingest(&env, &refs).await;
        let text = format!("{}{}", stdout(&o), String::from_utf8_lossy(&o.stderr));
        assert_eq!(o.status.code(), Some(code), "{args:?}: {text}");
        assert!(text.contains(want), "{args:?}: {text}");
    }
    // Nothing was sent.
    assert_eq!(env.row_count("Events").await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn check_json_names_the_code_the_schema_and_the_policy() {
    let env = Env::start().await;
    let file = env.file("bad-wrong-fields.csv");
    let o = kingest(
        &env,
        &[
            "check",
            &file.to_string_lossy(),
            "-d",
            "demo",
            "-t",
            "Events",
            "--json",
        ],
    )
    .await;
    assert_eq!(o.status.code(), Some(EXIT_INGESTION_FAILED));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["prediction"]["error_code"], "Stream_WrongNumberOfFields");
    assert_eq!(v["prediction"]["permanent"], true);
    assert_eq!(v["columns"].as_array().unwrap().len(), 5, "{v}");
    assert!(
        v["batching"]["policy"]["MaximumBatchingTimeSpan"].is_string(),
        "{v}"
    );
    assert!(
        v["prediction"]["seal"].as_str().unwrap().contains("seals"),
        "{v}"
    );
}

/// Forensics of the demo's bad-wrong-fields.csv, submitted by the CLI (journaled): the bad
/// record on screen with its neighbours, why, and the fix.
#[tokio::test(flavor = "multi_thread")]
async fn failures_explain_shows_the_bad_record_of_the_demo_file() {
    let env = Env::start().await;
    let file = env.file("bad-wrong-fields.csv");
    let o = kingest(
        &env,
        &[
            "submit",
            &file.to_string_lossy(),
            "-d",
            "demo",
            "-t",
            "Events",
            "--report-method",
            "queue",
            "--wait",
            "60",
        ],
    )
    .await;
    assert_eq!(
        o.status.code(),
        Some(EXIT_INGESTION_FAILED),
        "{}",
        stdout(&o)
    );
    let peek = kingest(&env, &["failures", "peek", "--json"]).await;
    let v: serde_json::Value = serde_json::from_str(&stdout(&peek)).unwrap();
    let sid = v[0]["IngestionSourceId"].as_str().unwrap().to_string();
    let o = kingest(&env, &["failures", "explain", &sid]).await;
    let text = stdout(&o);
    assert_eq!(
        o.status.code(),
        Some(EXIT_OK),
        "{text}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(text.contains("> line    4 |  4 field(s) | 2025-03-01T10:00:00Z,Warning,checkout,missing duration column"), "{text}");
    assert!(text.contains("the table needs 5"), "{text}");
    assert!(text.contains("fix: record 4 lacks 1 field(s)"), "{text}");
    let o = kingest(&env, &["failures", "explain", &sid, "--json"]).await;
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["location"]["line"], 4);
    assert_eq!(v["expected_fields"], 5);
    assert_eq!(v["records"].as_array().unwrap().len(), 5);
    let o = kingest(&env, &["failures", "explain", "no-such-id"]).await;
    assert_eq!(o.status.code(), Some(EXIT_INGESTION_FAILED));
    let o = kingest(&env, &["successes", "explain", &sid]).await;
    assert_eq!(o.status.code(), Some(EXIT_USAGE));
}
