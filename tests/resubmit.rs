//! `kingest resubmit` against the emulator: a Failed source resubmitted after its file was
//! fixed succeeds; a Succeeded one is refused (exit 5) unless `--force`, which warns; a
//! `--dedupe` source forced again is skipped by the service, and kingest says so.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Env, kingest, stdout};
use kingest::cli::{EXIT_OK, EXIT_REFUSED};
use serde_json::Value;

/// Every journal file's text under `dir`.
fn journal_text(dir: &std::path::Path) -> String {
    let mut out = String::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.push_str(&journal_text(&p));
        } else if p.extension().is_some_and(|x| x == "jsonl") {
            out.push_str(&std::fs::read_to_string(&p).unwrap_or_default());
        }
    }
    out
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// `submit FILE --json --flush --wait` (plus `extra`): its source id and exit code.
async fn submit(env: &Env, file: &std::path::Path, extra: &[&str]) -> (String, Option<i32>) {
    let mut args = vec![
        "submit",
        file.to_str().unwrap(),
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
    let line = stdout(&out);
    let v: Value = serde_json::from_str(line.lines().next().unwrap()).unwrap();
    (
        v["source_id"].as_str().unwrap().to_string(),
        out.status.code(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_source_fixed_and_resubmitted_succeeds() {
    let env = Env::start().await;
    let bad = env.file("bad-wrong-fields.csv");
    let (id, code) = submit(&env, &bad, &[]).await;
    assert_eq!(code, Some(1));
    let rows_before = env.row_count("Events").await;
    // The fix: the good rows only.
    std::fs::copy(env.file("events.csv"), &bad).unwrap();
    let out = kingest(&env, &["resubmit", &id, "--wait=60"]).await;
    let (text, err) = (stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(EXIT_OK), "{text}\n{err}");
    assert!(text.contains("Succeeded"), "{text}");
    assert!(err.contains("changed since it was sent"), "{err}");
    assert_eq!(env.row_count("Events").await, rows_before + 25);
    // Journaled as a new source linked to the original.
    let linked = format!("\"resubmit_of\":\"{id}\"");
    assert!(
        journal_text(&env.dir.path().join("home")).contains(&linked),
        "no journal record with {linked}"
    );
    env.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_succeeded_source_is_refused_unless_forced() {
    let env = Env::start().await;
    let good = env.file("events.csv");
    let (id, code) = submit(&env, &good, &[]).await;
    assert_eq!(code, Some(0));
    let out = kingest(&env, &["resubmit", &id]).await;
    assert_eq!(out.status.code(), Some(EXIT_REFUSED), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("already landed") && stderr(&out).contains("--force"),
        "{}",
        stderr(&out)
    );
    assert_eq!(env.row_count("Events").await, 25);
    let out = kingest(&env, &["resubmit", &id, "--force", "--wait=60", "--json"]).await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(EXIT_OK), "{err}");
    assert!(err.contains("may land twice"), "{err}");
    let v: Value = serde_json::from_str(stdout(&out).lines().next().unwrap()).unwrap();
    assert_ne!(v["source_id"].as_str().unwrap(), id);
    assert_eq!(env.row_count("Events").await, 50);
    env.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dedupe_source_forced_again_is_skipped_by_the_service() {
    let env = Env::start().await;
    let good = env.file("events.csv");
    let (id, code) = submit(&env, &good, &["--dedupe"]).await;
    assert_eq!(code, Some(0));
    let out = kingest(&env, &["resubmit", &id, "--force", "--wait=60"]).await;
    let (text, err) = (stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(EXIT_OK), "{text}\n{err}");
    assert!(err.contains("--dedupe, so the same ingest-by tag"), "{err}");
    assert!(
        err.contains("skipped by the service: its data already landed (ingest-by tag sha256-"),
        "{text}\n{err}"
    );
    assert_eq!(env.row_count("Events").await, 25);
    env.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_source_is_a_usage_error() {
    let env = Env::start().await;
    let out = kingest(&env, &["resubmit", "00000000-0000-0000-0000-000000000000"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("not in the journal"),
        "{}",
        stderr(&out)
    );
    env.emulator.shutdown().await;
}
