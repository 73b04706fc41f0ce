//! Exit codes of the real binary, table-tested per command: each row is the command line, the
//! server behind it and the expected code. Also: the README's exit-code table is exactly
//! `cli::EXIT_CODES`, a stall costs the configured deadline and says what it waits for, and
//! the TUI refuses to draw into a file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::fake::{self, Answer};
use common::{Env, kingest_at, stdout};
use kingest::cli::{EXIT_GAVE_UP, EXIT_INGESTION_FAILED, EXIT_OK, EXIT_SERVICE, EXIT_USAGE};
use kingest::emulator::EmulatorConfig;

/// What answers at the ingest URL.
#[derive(Clone, Copy, Debug)]
enum Server {
    /// The emulator (300 ms batching).
    Emulator,
    /// A port nobody listens on.
    Refused,
    /// A fake answering every request with 500.
    Http500,
    /// A fake answering every request with 401.
    Http401,
    /// A fake answering every request with a 200 HTML page.
    Html,
    /// A fake that reads requests and never answers (with `[timeouts]` of 1 s).
    Stall,
}

struct Servers {
    env: Env,
    fakes: Vec<(Server, fake::FakeServer)>,
    refused: String,
    /// A config file with 1 s deadlines.
    short: PathBuf,
}

impl Servers {
    async fn start() -> Servers {
        let env = Env::start().await;
        let html = "<!DOCTYPE html><html><body>Sign in</body></html>";
        let fakes = vec![
            (
                Server::Http500,
                fake::start(|_| {
                    Answer::json(500, &serde_json::json!({"error": {"code": "InternalServiceError", "message": "boom"}}))
                })
                .await,
            ),
            (
                Server::Http401,
                fake::start(|_| Answer::json(401, &serde_json::json!({"error": {"code": "Unauthorized", "message": "no"}}))).await,
            ),
            (
                Server::Html,
                fake::start(move |_| Answer::status(200, "text/html", html)).await,
            ),
            (Server::Stall, fake::start(|_| Answer::Stall).await),
        ];
        let refused = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            format!("http://{}", l.local_addr().unwrap())
        };
        let short = env.dir.path().join("short.toml");
        std::fs::write(
            &short,
            "[timeouts]\nconnect_secs = 1\nstorage_secs = 1\nmgmt_secs = 1\n",
        )
        .unwrap();
        Servers {
            env,
            fakes,
            refused,
            short,
        }
    }

    fn url(&self, s: Server) -> String {
        match s {
            Server::Emulator => self.env.emulator.url().to_string(),
            Server::Refused => self.refused.clone(),
            other => self
                .fakes
                .iter()
                .find(|(k, _)| std::mem::discriminant(k) == std::mem::discriminant(&other))
                .map(|(_, f)| f.url.clone())
                .unwrap(),
        }
    }
}

async fn run(servers: &Servers, server: Server, args: &[String]) -> std::process::Output {
    run_owned(servers, server, args.to_vec()).await
}

async fn run_owned(servers: &Servers, server: Server, args: Vec<String>) -> std::process::Output {
    let mut full: Vec<String> = Vec::new();
    if matches!(server, Server::Stall) {
        full.extend(["--config".into(), servers.short.display().to_string()]);
    }
    full.extend(args);
    let home = servers.env.dir.path().join("home");
    let refs: Vec<&str> = full.iter().map(String::as_str).collect();
    kingest_at(&servers.url(server), &home, &refs).await
}

fn args(text: &str, dir: &Path) -> Vec<String> {
    text.split(' ')
        .filter(|a| !a.is_empty())
        .map(|a| {
            a.replace("DIR", &dir.display().to_string())
                .replace("EMPTY", "")
                .replace('~', " ")
        })
        .collect()
}

fn check(row: &str, out: &std::process::Output, want: i32) {
    assert_eq!(
        out.status.code(),
        Some(want),
        "{row}\nstdout: {}\nstderr: {}",
        stdout(out),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_per_command() {
    let s = Servers::start().await;
    let dir = s.env.dir.path().to_path_buf();
    std::fs::write(dir.join("empty.csv"), "").unwrap();
    std::fs::create_dir_all(dir.join("a-dir")).unwrap();
    std::fs::write(dir.join("bad.toml"), "ingest_url = [").unwrap();
    std::fs::write(
        dir.join("bad-timeouts.toml"),
        "[timeouts]\nstorage_secs = -1\n",
    )
    .unwrap();
    let fifo = dir.join("fifo.toml");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    use Server::*;
    let submit = "submit DIR/events.csv -d demo -t Events";
    let rows: Vec<(String, Server, i32)> = vec![
        // resources
        ("resources".into(), Emulator, EXIT_OK),
        ("resources".into(), Refused, EXIT_SERVICE),
        ("resources".into(), Http500, EXIT_SERVICE),
        ("resources".into(), Http401, EXIT_SERVICE),
        ("resources".into(), Html, EXIT_SERVICE),
        ("resources".into(), Stall, EXIT_SERVICE),
        // submit without --wait: posted is success; every way of not getting there
        (submit.into(), Emulator, EXIT_OK),
        (submit.into(), Refused, EXIT_SERVICE),
        (
            format!("{submit} --report-method queue"),
            Refused,
            EXIT_SERVICE,
        ),
        (
            format!("{submit} --report-method table"),
            Http500,
            EXIT_SERVICE,
        ),
        (
            format!("{submit} --report-method table"),
            Http401,
            EXIT_SERVICE,
        ),
        (
            format!("{submit} --report-method queue"),
            Html,
            EXIT_SERVICE,
        ),
        (
            format!("{submit} --report-method queue"),
            Stall,
            EXIT_SERVICE,
        ),
        (
            "submit DIR/no-such-file.csv -d demo -t Events".into(),
            Emulator,
            EXIT_USAGE,
        ),
        (
            "submit DIR/a-dir -d demo -t Events".into(),
            Emulator,
            EXIT_USAGE,
        ),
        (
            "submit DIR/events.csv -d EMPTY -t Events".into(),
            Emulator,
            EXIT_USAGE,
        ),
        (
            format!("{submit} --mapping {{not-json"),
            Emulator,
            EXIT_USAGE,
        ),
        (
            format!("{submit} --creation-time yesterday"),
            Emulator,
            EXIT_USAGE,
        ),
        (
            format!("{submit} --report-level failures --report-method table"),
            Emulator,
            EXIT_USAGE,
        ),
        // flag checks come before any request: 2 with the service down too
        (
            format!("{submit} --wait=5 --report-level none"),
            Refused,
            EXIT_USAGE,
        ),
        (
            format!("{submit} --wait=5 --report-level failures"),
            Refused,
            EXIT_USAGE,
        ),
        (
            format!("{submit} --mapping {{not-json"),
            Refused,
            EXIT_USAGE,
        ),
        // one file missing, the other fine: the usage error wins
        (
            format!("{submit} DIR/no-such-file.csv"),
            Emulator,
            EXIT_USAGE,
        ),
        // submit --wait: final states
        (format!("{submit} --flush --wait=60"), Emulator, EXIT_OK),
        (
            "submit DIR/bad-wrong-fields.csv -d demo -t Events --flush --wait=60".into(),
            Emulator,
            EXIT_INGESTION_FAILED,
        ),
        (
            "submit DIR/empty.csv -d demo -t Events --flush --wait=60".into(),
            Emulator,
            EXIT_INGESTION_FAILED,
        ),
        // status
        (
            "status 00000000-0000-0000-0000-000000000000".into(),
            Emulator,
            EXIT_INGESTION_FAILED,
        ),
        (
            "status 00000000-0000-0000-0000-000000000000".into(),
            Refused,
            EXIT_SERVICE,
        ),
        // notification queues
        ("failures peek".into(), Emulator, EXIT_OK),
        ("successes peek -n 1".into(), Emulator, EXIT_OK),
        ("failures peek".into(), Refused, EXIT_SERVICE),
        ("failures peek".into(), Http401, EXIT_SERVICE),
        (
            "failures discard --all --archive DIR/archive.jsonl --yes".into(),
            Refused,
            EXIT_SERVICE,
        ),
        // mgmt
        (
            "mgmt -d demo .show~tables~details".into(),
            Emulator,
            EXIT_OK,
        ),
        ("mgmt .show~version".into(), Refused, EXIT_SERVICE),
        ("mgmt .show~version".into(), Http500, EXIT_SERVICE),
        // configuration
        (
            "--config DIR/nope.toml resources".into(),
            Emulator,
            EXIT_USAGE,
        ),
        (
            "--config DIR/bad.toml resources".into(),
            Emulator,
            EXIT_USAGE,
        ),
        (
            "--config DIR/bad-timeouts.toml resources".into(),
            Emulator,
            EXIT_USAGE,
        ),
        (
            "--config DIR/fifo.toml resources".into(),
            Emulator,
            EXIT_USAGE,
        ),
        ("--config DIR/a-dir resources".into(), Emulator, EXIT_USAGE),
        ("--config /dev/zero resources".into(), Emulator, EXIT_USAGE),
        ("--auth token resources".into(), Emulator, EXIT_USAGE),
        ("resources --no-such-flag".into(), Emulator, EXIT_USAGE),
        // the TUI with stdout captured (not a terminal)
        ("".into(), Emulator, EXIT_USAGE),
        ("demo".into(), Emulator, EXIT_USAGE),
        // the demo's emulator takes no token: refused off loopback before binding (TEST-NET-1
        // is on no interface here, so without the check the bind itself fails, with 3)
        (
            "demo --headless --listen 192.0.2.1:0".into(),
            Emulator,
            EXIT_USAGE,
        ),
    ];
    // Independent rows run together; the binary is the slow part.
    let outs = futures::future::join_all(
        rows.iter()
            .map(|(a, server, _)| run_owned(&s, *server, args(a, &dir))),
    )
    .await;
    for ((a, server, want), out) in rows.iter().zip(&outs) {
        check(&format!("`kingest {a}` against {server:?}"), out, *want);
    }
}

/// Rows that need state: the ingest-by tag before the skip, the source id before `status`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_that_depend_on_earlier_submissions() {
    let s = Servers::start().await;
    let dir = s.env.dir.path().to_path_buf();
    let tag = format!("t{}", std::process::id());
    let first = run(
        &s,
        Server::Emulator,
        &args(
            &format!("submit DIR/events.csv -d demo -t Events --tag ingest-by:{tag} --flush --wait=60 --json"),
            &dir,
        ),
    )
    .await;
    check("tagged submit", &first, EXIT_OK);
    let line: serde_json::Value =
        serde_json::from_str(stdout(&first).lines().next().unwrap()).unwrap();
    let id = line["source_id"].as_str().unwrap().to_string();
    // Skipped because ingestIfNotExists matched, as asked: a success.
    let skipped = run(
        &s,
        Server::Emulator,
        &args(
            &format!("submit DIR/events.csv -d demo -t Events --ingest-if-not-exists {tag} --flush --wait=60 --json"),
            &dir,
        ),
    )
    .await;
    check("skipped as asked", &skipped, EXIT_OK);
    assert!(
        stdout(&skipped).contains("\"Skipped\""),
        "{}",
        stdout(&skipped)
    );
    let status = run(&s, Server::Emulator, &[String::from("status"), id]).await;
    check("status of a succeeded source", &status, EXIT_OK);

    // Batching of two minutes: Pending at a 1 s deadline is giving up, and so is `status`.
    let slow = Env::start_with(EmulatorConfig {
        batch_window: Some(Duration::from_secs(120)),
        ..Default::default()
    })
    .await;
    let home = dir.join("home");
    let file = dir.join("events.csv").display().to_string();
    let out = kingest_at(
        slow.emulator.url(),
        &home,
        &[
            "submit", &file, "-d", "demo", "-t", "Events", "--wait=1", "--json",
        ],
    )
    .await;
    check("pending at the --wait deadline", &out, EXIT_GAVE_UP);
    let line: serde_json::Value =
        serde_json::from_str(stdout(&out).lines().next().unwrap()).unwrap();
    assert!(
        ["Queued", "Pending"].contains(&line["status"].as_str().unwrap()),
        "{line}"
    );
    let id = line["source_id"].as_str().unwrap();
    let out = kingest_at(slow.emulator.url(), &home, &["status", id]).await;
    check("status of a pending source", &out, EXIT_GAVE_UP);
    // The same source with the service gone: every read fails, a service failure, not 4.
    let url = slow.emulator.url().to_string();
    slow.emulator.shutdown().await;
    let out = kingest_at(&url, &home, &["status", id]).await;
    check(
        "status of a journaled source, service stopped",
        &out,
        EXIT_SERVICE,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stall_costs_the_configured_deadline_and_names_url_and_limit() {
    let s = Servers::start().await;
    let started = Instant::now();
    let out = run(&s, Server::Stall, &["resources".into()]).await;
    let took = started.elapsed();
    check("resources against a stall", &out, EXIT_SERVICE);
    let err = String::from_utf8_lossy(&out.stderr);
    let url = s.url(Server::Stall);
    assert!(
        err.contains(&format!("no answer from {url}/v1/rest/mgmt within 1 s")),
        "{err}"
    );
    assert!(err.contains("mgmt_secs"), "{err}");
    // Generous: the binary's start included. Serial requests with retries took 481 s.
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_wait_says_on_stderr_what_it_waits_for() {
    let server = fake::start(|_| Answer::Stall).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, "[timeouts]\nmgmt_secs = 5\n").unwrap();
    let out = kingest_at(
        &server.url,
        dir.path(),
        &["--config", cfg.to_str().unwrap(), "mgmt", ".show version"],
    )
    .await;
    check("mgmt against a stall", &out, EXIT_SERVICE);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "waiting for {}/v1/rest/mgmt (attempt 1 of 4",
            server.url
        )),
        "{err}"
    );
    assert!(err.contains("limit 5 s"), "{err}");
    assert!(err.contains("within 5 s"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tui_refuses_to_draw_into_a_file() {
    let env = Env::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("screen.txt");
    let file = std::fs::File::create(&path).unwrap();
    let bin = assert_cmd::cargo::cargo_bin("kingest");
    let url = env.emulator.url().to_string();
    let home = dir.path().to_path_buf();
    let status = tokio::task::spawn_blocking(move || {
        std::process::Command::new(bin)
            .env("KINGEST_INGEST_URL", url)
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", &home)
            .env("XDG_DATA_HOME", home.join("data"))
            .env("TERM", "xterm-256color")
            .stdout(file)
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    check("the TUI with stdout in a file", &status, EXIT_USAGE);
    let written = std::fs::read(&path).unwrap();
    assert!(
        !written.contains(&0x1b),
        "escape bytes in the file: {written:?}"
    );
    let err = String::from_utf8_lossy(&status.stderr);
    assert!(
        err.contains("kingest failures peek") && err.contains("kingest submit"),
        "{err}"
    );
}

#[test]
fn the_readme_exit_code_table_is_the_one_in_cli() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = readme
        .split_once("<!-- exit-codes:start -->")
        .and_then(|(_, rest)| rest.split_once("<!-- exit-codes:end -->"))
        .map(|(t, _)| t)
        .expect("README.md has an exit-code table between <!-- exit-codes:start --> and <!-- exit-codes:end -->");
    let rows: Vec<(i32, String)> = section
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with('|') && !l.starts_with("|---") && !l.starts_with("| code"))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split(" | ").map(str::trim).collect();
            (
                cells[0].trim_matches('*').parse().unwrap(),
                cells[1].to_string(),
            )
        })
        .collect();
    let expected: Vec<(i32, String)> = kingest::cli::EXIT_CODES
        .iter()
        .map(|(c, m)| (*c, m.to_string()))
        .collect();
    assert_eq!(rows, expected, "README's table:\n{section}");
    assert!(
        section.contains(&precedence_line()),
        "README must state the precedence: {}",
        precedence_line()
    );
}

fn precedence_line() -> String {
    let order: Vec<String> = kingest::cli::EXIT_PRECEDENCE
        .iter()
        .map(|c| c.to_string())
        .collect();
    format!("the first of {} wins", order.join(", "))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthorized_says_what_to_do_and_html_is_not_dumped() {
    let s = Servers::start().await;
    let out = run(&s, Server::Http401, &["resources".into()]).await;
    check("resources against 401", &out, EXIT_SERVICE);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("authentication failed") && err.contains("az login"),
        "{err}"
    );
    let out = run(&s, Server::Html, &["resources".into()]).await;
    check("resources against an HTML page", &out, EXIT_SERVICE);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("HTML page") && !err.contains("<html"), "{err}");
}
