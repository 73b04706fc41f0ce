#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The TUI's line mode (`TERM=dumb` on a terminal): the library runner writing into a buffer
//! against the emulator. Every line plain text, each notification once, failed peeks said and
//! survived, journaled sources followed to their outcome.

mod common;

use std::time::Duration;

use common::{Env, resign};
use kingest::cli::cmd::watch;
use kingest::client::journal::{Journal, JournalRecord};
use kingest::client::tracking::Tracker;
use kingest::client::wire::{Notification, NotificationKind};
use kingest::client::{IngestClient, ResourceKind};
use kingest::emulator::EmulatorConfig;
use kingest::runtime::TuiOptions;
use tokio_util::sync::CancellationToken;

/// Options with fast `[poll]` intervals and a state folder of the test's own.
fn options(state: &std::path::Path) -> TuiOptions {
    let mut opts = TuiOptions {
        state_dir: state.to_path_buf(),
        archive_dir: state.join("archive"),
        ..Default::default()
    };
    opts.poll.peek_idle = Duration::from_millis(20);
    opts.poll.peek_busy = Duration::from_millis(20);
    opts.poll.peek_max = Duration::from_millis(40);
    opts
}

/// Puts a failure notification of `source` into the failure queue; returns its MessageId.
async fn put_failure(client: &IngestClient, source: &str, details: &str) -> String {
    let res = client.resources().await.unwrap();
    let queue = res
        .of_kind(ResourceKind::FailedIngestionsQueue)
        .next()
        .cloned()
        .unwrap();
    let n = Notification {
        operation_id: Some(uuid::Uuid::new_v4().to_string()),
        database: Some("demo".into()),
        table: Some("Events".into()),
        failed_on: Some("2025-01-01T00:00:00.0000000Z".into()),
        ingestion_source_id: Some(source.into()),
        error_code: Some("BadRequest_EmptyBlob".into()),
        failure_status: Some("Permanent".into()),
        details: Some(details.into()),
        ..Default::default()
    };
    client
        .storage()
        .put_message(&resign(&queue, "a"), &n.to_queue_text(), None, None)
        .await
        .unwrap()
        .message_id
}

async fn run(client: &IngestClient, opts: &TuiOptions, rounds: usize) -> String {
    let mut out = Vec::new();
    watch::start(
        client,
        opts,
        &mut out,
        &CancellationToken::new(),
        Some(rounds),
    )
    .await
    .unwrap();
    assert_plain(&out);
    String::from_utf8(out).unwrap()
}

/// No escape or other control byte: only printable text and `\n`.
fn assert_plain(out: &[u8]) {
    if let Some(at) = out
        .iter()
        .position(|&b| b < 0x20 && b != b'\n' || b == 0x7f)
    {
        panic!(
            "control byte {:#04x} at {at} in {:?}",
            out[at],
            String::from_utf8_lossy(out)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_new_notification_is_one_plain_line_once() {
    let env = Env::start().await;
    let state = tempfile::tempdir().unwrap();
    let source = uuid::Uuid::new_v4().to_string();
    let hostile = "bad \x1b[2J\x1b]0;owned\x07 row\r\nnext https://a.blob.core.windows.net/c/f?sv=1&sig=SECRETSIG";
    put_failure(&env.client, &source, hostile).await;
    let out = run(&env.client, &options(state.path()), 3).await;
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].contains("TERM is dumb") && lines[0].contains("cursor addressing"));
    assert!(lines[0].contains("q+Enter"), "{}", lines[0]);
    // The resources as `kingest resources` prints them.
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("Ingestion resources of ")),
        "{out}"
    );
    assert!(lines.contains(&"FailedIngestionsQueue:"), "{out}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("Identity token: present")),
        "{out}"
    );
    let shown: Vec<&&str> = lines.iter().filter(|l| l.contains(&source)).collect();
    assert_eq!(shown.len(), 1, "three rounds, one line: {out}");
    let line = shown[0];
    assert!(
        line.starts_with(
            "2025-01-01T00:00:00.0000000Z  failure  demo.Events  BadRequest_EmptyBlob/Permanent"
        ),
        "{line}"
    );
    assert!(
        line.ends_with("bad  row  next https://a.blob.core.windows.net/c/f?sv=1&sig=REDACTED"),
        "{line}"
    );
    assert!(!out.contains("SECRETSIG"), "a signature on screen: {out}");
    // Peeked, not received: the message is still there for everyone.
    let left = env
        .client
        .peek(NotificationKind::Failure, 32)
        .await
        .unwrap();
    assert_eq!(left.len(), 1);
    env.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_peek_is_one_line_per_round_and_the_follower_goes_on() {
    // Notification queues that grant no read: every peek is refused with a 403.
    let env = Env::start_with(EmulatorConfig {
        notification_queue_permissions: "a".into(),
        ..Default::default()
    })
    .await;
    let state = tempfile::tempdir().unwrap();
    let out = run(&env.client, &options(state.path()), 2).await;
    let failed: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("peek of the failure queue"))
        .collect();
    assert_eq!(failed.len(), 2, "{out}");
    assert!(failed[0].contains("failed: auth"), "{}", failed[0]);
    // The queue is named, without its SAS.
    let queue = format!("({}/kingestemu/failedingestions)", env.emulator.url());
    assert!(failed[0].contains(&queue), "{}", failed[0]);
    assert!(!out.contains("sig="), "{out}");
    assert!(
        out.lines().any(|l| l.contains("peek of the success queue")),
        "{out}"
    );
    env.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journaled_source_in_flight_is_followed_to_its_failure() {
    let env = Env::start().await;
    let state = tempfile::tempdir().unwrap();
    let opts = options(state.path());
    let source = uuid::Uuid::new_v4().to_string();
    let now = chrono::Utc::now();
    Journal::in_state_dir(&opts.state_dir, env.client.ingest_url())
        .append(&JournalRecord {
            at: now,
            ingest_url: env.client.ingest_url().into(),
            source_id: source.clone(),
            file: "x.csv".into(),
            database: "demo".into(),
            table: "Events".into(),
            format: "csv".into(),
            size: 1,
            report_level: "FailuresAndSuccesses".into(),
            report_method: "Queue".into(),
            blob: None,
            message_id: None,
            tracker: Tracker::posted(&source, None, true, now),
            unfinished: None,
        })
        .unwrap();
    // The journal is read: the source is shown as it was left.
    let out = run(&env.client, &opts, 1).await;
    let about = format!("source {source}: ");
    assert_eq!(
        out.lines()
            .filter(|l| l.contains(&about))
            .collect::<Vec<_>>()
            .len(),
        1,
        "{out}"
    );
    assert!(out.contains(&format!("{about}Queued")), "{out}");
    // Followed through the shared tracker: a line when its state changes, then no more.
    let mut follower =
        watch::Follower::new(opts.poll, vec![Tracker::posted(&source, None, true, now)]);
    let mut buf = Vec::new();
    follower.round(&env.client, &mut buf).await.unwrap();
    put_failure(&env.client, &source, "empty").await;
    for _ in 0..3 {
        follower.round(&env.client, &mut buf).await.unwrap();
    }
    assert_plain(&buf);
    let out = String::from_utf8(buf).unwrap();
    let states: Vec<&str> = out
        .lines()
        .filter_map(|l| l.split_once(&about).map(|(_, s)| s))
        .collect();
    assert_eq!(states.len(), 2, "{out}");
    assert!(states[0].starts_with("Queued"), "{out}");
    assert!(
        states[1].starts_with("Skipped (BadRequest_EmptyBlob)"),
        "{out}"
    );
    env.emulator.shutdown().await;
}

/// Line mode is for a terminal that cannot address the cursor, not for a pipe: with stdout
/// captured, `TERM=dumb` (or no TERM) still refuses with exit 2 and writes nothing to stdout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dumb_term_without_a_terminal_still_refuses() {
    let env = Env::start().await;
    let home = env.dir.path().join("home");
    for args in [&[][..], &["demo"][..]] {
        for term in [Some("dumb"), None] {
            let mut cmd = common::kingest_command(env.emulator.url(), &home);
            match term {
                Some(t) => cmd.env("TERM", t),
                None => cmd.env_remove("TERM"),
            };
            cmd.args(args)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
                .await
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{args:?} TERM={term:?}: {err}");
            assert!(
                out.stdout.is_empty(),
                "{args:?} TERM={term:?}: {:?}",
                out.stdout
            );
            assert!(err.contains("kingest failures peek"), "{err}");
        }
    }
    env.emulator.shutdown().await;
}
