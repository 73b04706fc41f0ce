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
    put(
        client,
        ResourceKind::FailedIngestionsQueue,
        &n.to_queue_text(),
    )
    .await
}

/// Posts `text` as it is into the queue of `kind` (re-signed for add); returns its MessageId.
async fn put(client: &IngestClient, kind: ResourceKind, text: &str) -> String {
    let res = client.resources().await.unwrap();
    let queue = res.of_kind(kind).next().cloned().unwrap();
    client
        .storage()
        .put_message(&resign(&queue, "a"), text, None, None)
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
    let garbage = put(
        &env.client,
        ResourceKind::SuccessfulIngestionsQueue,
        "not json \x1b[2Jclear \x1b]8;;http://x\x07link",
    )
    .await;
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
    // A message that is no notification is shown too, once, as what it is.
    let shown: Vec<&&str> = lines.iter().filter(|l| l.contains(&garbage)).collect();
    assert_eq!(shown.len(), 1, "{out}");
    assert!(
        shown[0].contains("  success  undecodable message "),
        "{}",
        shown[0]
    );
    assert!(
        shown[0].contains("not json") && shown[0].contains("link"),
        "{}",
        shown[0]
    );
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
            mode: Default::default(),
            blob: None,
            message_id: None,
            tracker: Tracker::posted(&source, None, true, now),
            chunk: None,
            unfinished: None,
            request: None,
            file_len: None,
            file_mtime_ns: None,
            resubmit_of: None,
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

/// `kingest ARGS` on a real pseudo-terminal (util-linux `script`) with `TERM=dumb` and
/// `home` as HOME, until its output contains `until`; then `q`+Enter. Returns the exit code and
/// the output with the pty's `\r` removed, after asserting that no other control byte (no
/// escape) appeared. `None` (and SKIP printed) without `script`.
async fn on_a_dumb_pty(
    url: &str,
    home: &std::path::Path,
    args: &[&str],
    until: &str,
) -> Option<(Option<i32>, String)> {
    use std::io::{Read as _, Write as _};
    use std::process::{Command, Stdio};
    use std::sync::{Arc, Mutex};
    use std::time::Instant;

    if Command::new("script").arg("--version").output().is_err() {
        println!("SKIP line mode on a pty: `script` (util-linux) not installed");
        return None;
    }
    let bin = assert_cmd::cargo::cargo_bin("kingest");
    let command = std::iter::once(bin.display().to_string())
        .chain(args.iter().map(|a| a.to_string()))
        .collect::<Vec<_>>()
        .join(" ");
    let mut child = Command::new("script")
        .args(["-qfec", &command, "/dev/null"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("SHELL", "/bin/sh")
        .env("TERM", "dumb")
        .env("KINGEST_INGEST_URL", url)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut stdout = child.stdout.take().unwrap();
    let sink = seen.clone();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    let text = || String::from_utf8_lossy(&seen.lock().unwrap()).to_string();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !text().contains(until) {
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("no {until:?} in: {}", text());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.stdin.as_mut().unwrap().write_all(b"q\n").unwrap();
    let status = tokio::task::spawn_blocking(move || {
        let status = child.wait().unwrap();
        reader.join().unwrap();
        status
    })
    .await
    .unwrap();
    // The pty turns each `\n` into `\r\n`; nothing else below 0x20 may appear.
    let bytes: Vec<u8> = seen
        .lock()
        .unwrap()
        .iter()
        .copied()
        .filter(|&b| b != b'\r')
        .collect();
    assert_plain(&bytes);
    Some((status.code(), String::from_utf8(bytes).unwrap()))
}

/// The real binary on a dumb terminal: the line mode, not a refusal; a hostile notification
/// arrives as plain text; `q`+Enter quits with exit 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_on_a_dumb_terminal_shows_lines_without_escapes() {
    let env = Env::start().await;
    let source = uuid::Uuid::new_v4().to_string();
    put_failure(&env.client, &source, "evil \x1b[31mred\x1b[0m \x07bell").await;
    let home = env.dir.path().join("home");
    let Some((code, out)) = on_a_dumb_pty(env.emulator.url(), &home, &[], &source).await else {
        return;
    };
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("showing a line-mode view"), "{out}");
    assert!(out.contains("FailedIngestionsQueue:"), "{out}");
    let line = out.lines().find(|l| l.contains(&source)).unwrap();
    assert!(
        line.contains("failure  demo.Events  BadRequest_EmptyBlob/Permanent"),
        "{line}"
    );
    assert!(line.contains("evil ") && line.contains("bell"), "{line}");
    env.emulator.shutdown().await;
}

/// `kingest demo` on a dumb terminal: the same line mode on the demo's own emulator, its
/// background traffic arriving as notification lines.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_on_a_dumb_terminal_follows_its_traffic_in_lines() {
    let home = tempfile::tempdir().unwrap();
    // Any address: the demo starts its own emulator and ignores the configured cluster.
    let Some((code, out)) = on_a_dumb_pty(
        "http://127.0.0.1:9",
        home.path(),
        &["demo"],
        "  failure  demo.",
    )
    .await
    else {
        return;
    };
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("showing a line-mode view"), "{out}");
    assert!(
        out.contains("Ingestion resources of http://127.0.0.1:"),
        "{out}"
    );
}

/// A cluster that does not answer: the line mode says so and follows on, a line per failed
/// peek, instead of ending.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_cluster_is_said_and_followed_on() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = common::client_for(
        &format!("http://127.0.0.1:{port}"),
        kingest::client::AuthMethod::None,
    );
    let state = tempfile::tempdir().unwrap();
    let out = run(&client, &options(state.path()), 2).await;
    assert!(
        out.lines()
            .any(|l| l.starts_with("cannot read the ingestion resources: ")
                && l.ends_with("; following the queues anyway")),
        "{out}"
    );
    let failed = out
        .lines()
        .filter(|l| l.contains("peek of the failure queue failed: "))
        .count();
    assert_eq!(failed, 2, "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_fuller_than_a_peek_is_said_once() {
    let env = Env::start().await;
    let state = tempfile::tempdir().unwrap();
    let mut opts = options(state.path());
    opts.poll.peek_count = 2;
    for i in 0..3 {
        put_failure(&env.client, &format!("source-{i}"), "full window").await;
    }
    let out = run(&env.client, &opts, 3).await;
    let said: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("a peek sees only the oldest 2"))
        .collect();
    assert_eq!(said.len(), 1, "once, not every round: {out}");
    assert!(said[0].contains("failure queue"), "{}", said[0]);
    assert!(
        !out.contains("source-2"),
        "the third is beyond the window: {out}"
    );
}
