//! Secret scan: every headless command, a TUI session, the log file, a panic and everything
//! left on disk are scanned (also percent- and base64-decoded) for the secrets the emulator
//! issued (every SAS signature, the identity token), the configured `--token`, and crafted ones
//! planted in a notification's Details (a SAS signature in several encodings, a JWT, a bearer
//! token) and echoed in error bodies by a server. Only the 0600 journal and the discard archive
//! may hold a secret.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};

use base64::Engine as _;
use common::{Env, kingest, kingest_at, resign};
use crossterm::event::KeyCode;
use kingest::client::wire::Notification;
use kingest::client::{AuthMethod, ResourceKind};
use kingest::emulator::EmulatorConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The configured token (the emulator requires it).
const TOKEN: &str = "cfgTok3n-9f8e7d6c5b4a39281706f5e4d3c2b1a0";

/// Crafted secrets planted in Details, each in the encoding it is planted with.
const CRAFTED: &[&str] = &[
    "CraftedRawSig0a1b2c3d4e5f6g7h8i9j",
    "CraftedFreeSig0a1b2c3d4e5f6g7h8i9j",
    "CraftedPctSig0a1b2c3d4e5f6g7h8i9j",
    "CraftedDblPctSig0a1b2c3d4e5f6g7h8i9j",
    "CraftedJsonSig0a1b2c3d4e5f6g7h8i9j",
    "CraftedB64Sig0a1b2c3d4e5f6g7h8i9j",
    "CraftedBearer0a1b2c3d4e5f6g7h8i9j",
    "CraftedJwtSignature0a1b2c3d4e5f6",
];

fn crafted_details(identity: &str, real_sas: &str) -> String {
    let jwt_head = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256"}"#);
    let jwt_body = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"sub":"x"}"#);
    format!(
        "copy of https://x.blob.core.windows.net/c/b.csv?sv=2025&sig={}&se=1 failed; \
         retry with sig={} ; encoded u=https%3A%2F%2Fx%2Fc%3Fsv%3D1%26sig%3D{}%26se%3D1 \
         twice %253Fsig%253D{}%2526se%253D1 json {{\"sig\":\"{}\"}} \
         auth Bearer {} jwt {jwt_head}.{jwt_body}.{} \
         echo Authorization: Bearer {TOKEN} identity {identity} status {real_sas}",
        CRAFTED[0], CRAFTED[1], CRAFTED[2], CRAFTED[3], CRAFTED[4], CRAFTED[6], CRAFTED[7]
    )
}

/// A loopback HTTP server answering every request with `status` and a body that echoes the
/// request's headers (the bearer token among them), as a careless proxy or service might.
async fn echo_server(status: u16, json: bool) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16384];
                let mut got = Vec::new();
                // Headers are enough; the body is small.
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&got).to_string();
                // The credentials first, so a shortened message still holds them.
                let auth = head
                    .lines()
                    .find(|l| l.to_ascii_lowercase().starts_with("authorization:"))
                    .unwrap_or_default()
                    .to_string();
                let head = format!(
                    "{auth}; token {}; {head}",
                    auth.rsplit(' ').next().unwrap_or_default()
                );
                let body = if json {
                    serde_json::json!({"error": {"code": "Echo", "message": format!("bad request: {head}"), "@permanent": true}})
                        .to_string()
                } else {
                    format!("denied. You sent:\n{head}")
                };
                let reply = format!(
                    "HTTP/1.1 {status} Echo\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    if json {
                        "application/json"
                    } else {
                        "text/plain"
                    },
                    body.len()
                );
                let _ = sock.write_all(reply.as_bytes()).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    (url, task)
}

/// Text as it is, and as a reader could decode it: percent-decoded (twice), JSON slashes
/// unescaped, and every base64-looking run decoded.
fn readings(text: &str) -> Vec<String> {
    let once = percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .to_string();
    let twice = percent_encoding::percent_decode_str(&once)
        .decode_utf8_lossy()
        .to_string();
    let mut out = vec![text.to_string(), once, twice, text.replace("\\/", "/")];
    let is_b64 = |c: char| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '-' | '_');
    for run in text.split(|c: char| !is_b64(c)).filter(|r| r.len() >= 16) {
        use base64::engine::general_purpose::{
            STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD,
        };
        let trimmed = run.trim_end_matches('=');
        for bytes in [
            STANDARD.decode(run),
            URL_SAFE.decode(run),
            STANDARD_NO_PAD.decode(trimmed),
            URL_SAFE_NO_PAD.decode(trimmed),
        ]
        .into_iter()
        .flatten()
        {
            out.push(String::from_utf8_lossy(&bytes).to_string());
        }
    }
    out
}

/// Where in `text` (any reading) a secret, or a 16-character end of one, shows.
fn leaks(text: &str, secrets: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    for reading in readings(text) {
        for s in secrets {
            let n = s.chars().count();
            let mut probes = vec![s.clone()];
            if n >= 24 {
                probes.push(s.chars().take(16).collect());
                probes.push(s.chars().skip(n - 16).collect());
            }
            for p in probes {
                if reading.contains(&p) && !found.contains(&p) {
                    found.push(p);
                }
            }
        }
    }
    found
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

struct Scan {
    /// (what, text) of everything kingest showed or wrote.
    seen: Vec<(String, String)>,
}

impl Scan {
    fn output(&mut self, what: &str, o: &std::process::Output) {
        self.seen.push((
            format!("{what} stdout"),
            String::from_utf8_lossy(&o.stdout).to_string(),
        ));
        self.seen.push((
            format!("{what} stderr"),
            String::from_utf8_lossy(&o.stderr).to_string(),
        ));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_kingest_shows_or_writes_holds_a_secret() {
    let logs = tempfile::tempdir().unwrap();
    let log_path = logs.path().join("kingest.log");
    let log_guard = kingest::runtime::logging::init(&log_path, false).unwrap();

    let env = Env::start_with(EmulatorConfig {
        require_token: Some(TOKEN.into()),
        ..Default::default()
    })
    .await;
    let client = common::client_for(
        env.emulator.url(),
        AuthMethod::Token(kingest::client::auth::Secret::new(TOKEN)),
    );
    let home = env.dir.path().join("home");
    let mut scan = Scan { seen: Vec::new() };

    // Plant: a failure notification whose Details holds every crafted secret and real ones
    // (the identity token, a status-table SAS URL), and an undecodable base64 message.
    let res = client.resources().await.unwrap();
    let failures = res
        .of_kind(ResourceKind::FailedIngestionsQueue)
        .next()
        .cloned()
        .unwrap();
    let status_sas = res
        .of_kind(ResourceKind::IngestionsStatusTable)
        .next()
        .unwrap()
        .expose()
        .to_string();
    let n = Notification {
        operation_id: Some(uuid::Uuid::new_v4().to_string()),
        database: Some("demo".into()),
        table: Some("Events".into()),
        failed_on: Some("2026-01-01T00:00:00.0000000Z".into()),
        ingestion_source_id: Some(uuid::Uuid::new_v4().to_string()),
        ingestion_source_path: Some(format!(
            "https://x.blob.core.windows.net/c/b.csv?sv=1&sig={}",
            CRAFTED[0]
        )),
        details: Some(crafted_details(res.identity_token.expose(), &status_sas)),
        error_code: Some("BadRequest_EmptyBlob".into()),
        failure_status: Some("Permanent".into()),
        ..Default::default()
    };
    let add = resign(&failures, "a");
    let storage = client.storage();
    storage
        .put_message(&add, &n.to_queue_text(), None, None)
        .await
        .unwrap();
    let undecodable = base64::engine::general_purpose::STANDARD
        .encode(format!("not json: https://x/c/b?sig={}&se=1", CRAFTED[5]));
    storage
        .put_message(&add, &undecodable, None, None)
        .await
        .unwrap();

    // Every headless flow.
    let tok = ["--token", TOKEN];
    let file = env.file("events.csv");
    let file = file.to_str().unwrap();
    let submit = [
        "submit",
        file,
        "-d",
        "demo",
        "-t",
        "Events",
        "--flush",
        "--wait=60",
    ];
    // An existing blob in the temp container, named with the container's issued SAS.
    let blob = res
        .of_kind(ResourceKind::TempStorage)
        .next()
        .unwrap()
        .child("scan-existing.csv");
    storage
        .put_blob(&blob, std::fs::read(file).unwrap().into(), None)
        .await
        .unwrap();
    let blob_url = blob.expose().to_string();
    let blob_submit = [
        "submit",
        "--blob",
        &blob_url,
        "-d",
        "demo",
        "-t",
        "Events",
        "--flush",
        "--wait=60",
    ];
    let mut source_id = String::new();
    let flows: Vec<(&str, Vec<&str>)> = vec![
        ("submit --blob --wait", blob_submit.to_vec()),
        (
            "submit --blob --mode rest-queued --wait --json",
            [&blob_submit[..], &["--mode", "rest-queued", "--json"]].concat(),
        ),
        (
            "submit --mode rest-queued --wait",
            [&submit[..], &["--mode", "rest-queued"]].concat(),
        ),
        ("resources", vec!["resources"]),
        ("resources --json", vec!["resources", "--json"]),
        ("submit --wait", submit.to_vec()),
        ("submit --wait --json", [&submit[..], &["--json"]].concat()),
        ("failures peek", vec!["failures", "peek"]),
        ("failures peek --json", vec!["failures", "peek", "--json"]),
        ("successes peek", vec!["successes", "peek"]),
        ("successes peek --json", vec!["successes", "peek", "--json"]),
        (
            "mgmt .show tables",
            vec!["mgmt", "-d", "demo", ".show tables"],
        ),
        (
            "mgmt identity token",
            vec!["mgmt", ".get kusto identity token"],
        ),
        (
            "mgmt identity token --json",
            vec!["mgmt", ".get kusto identity token", "--json"],
        ),
        (
            "mgmt ingestion resources",
            vec!["mgmt", ".get ingestion resources"],
        ),
        (
            "mgmt ingestion resources --json",
            vec!["mgmt", ".get ingestion resources", "--json"],
        ),
    ];
    for (what, args) in flows {
        let out = kingest(&env, &[&tok[..], &args[..]].concat()).await;
        if what == "submit --wait --json" {
            let v: serde_json::Value =
                serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().next().unwrap())
                    .unwrap();
            source_id = v["source_id"].as_str().unwrap().to_string();
        }
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        scan.output(what, &out);
    }
    for args in [
        vec!["status", source_id.as_str()],
        vec!["status", source_id.as_str(), "--json"],
    ] {
        let out = kingest(&env, &[&tok[..], &args[..]].concat()).await;
        scan.output(&args.join(" "), &out);
    }
    // A wrong token: the emulator's 401.
    let out = kingest(
        &env,
        &["--token", "wrongTok3n-0123456789abcdef", "resources"],
    )
    .await;
    scan.output("resources with a wrong token", &out);

    // Servers whose error bodies echo the request, bearer token included.
    let mut echoes = Vec::new();
    for (status, json) in [(401, false), (400, true)] {
        let (url, server) = echo_server(status, json).await;
        let out = kingest_at(&url, &home, &["--token", TOKEN, "resources"]).await;
        assert_ne!(out.status.code(), Some(0));
        echoes.push(String::from_utf8_lossy(&out.stderr).to_string());
        scan.output(&format!("echo server {status}"), &out);
        let out = kingest_at(&url, &home, &["--token", TOKEN, "resources", "--json"]).await;
        scan.output(&format!("echo server {status} --json"), &out);
        server.abort();
    }

    // Discard into an archive: an allowed home of secrets (evidence of what the service sent).
    let archive = env.dir.path().join("failures-archive.jsonl");
    let out = kingest(
        &env,
        &[
            "--token",
            TOKEN,
            "failures",
            "discard",
            "--all",
            "--yes",
            "--archive",
            archive.to_str().unwrap(),
        ],
    )
    .await;
    scan.output("failures discard", &out);

    // Re-plant for the TUI, then a TUI session: every screen is scanned.
    storage
        .put_message(&add, &n.to_queue_text(), None, None)
        .await
        .unwrap();
    storage
        .put_message(&add, &undecodable, None, None)
        .await
        .unwrap();
    let opts = kingest::runtime::TuiOptions {
        state_dir: env.dir.path().join("tui-state"),
        color: Some(false),
        ..Default::default()
    };
    let shots = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let keep = shots.clone();
    common::tui::run(client.clone(), opts, |d| async move {
        let keep = |s: String| keep.lock().unwrap().push(s);
        keep(d.wait("resources", |s| s.contains("tempstorage")).await);
        d.key(KeyCode::Char('p'));
        keep(
            d.wait("the planted failure", |s| {
                s.contains("BadRequest_EmptyBlob")
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
        let mut previous = String::new();
        for _ in 0..2 {
            d.key(KeyCode::Enter);
            // A detail view (its title), and not the one seen before.
            let shown = d
                .wait("a detail view", |s| {
                    s.contains("(R raw, Esc back)") && s != previous
                })
                .await;
            keep(shown.clone());
            previous = shown;
            d.key(KeyCode::Esc);
            d.wait("the list again", |s| !s.contains("(R raw, Esc back)"))
                .await;
            d.key(KeyCode::Down);
        }
        d.key(KeyCode::Char('q'));
    })
    .await;
    for (i, s) in shots.lock().unwrap().iter().enumerate() {
        scan.seen.push((format!("TUI screen {i}"), s.clone()));
    }
    let tui_showed_details = scan
        .seen
        .iter()
        .any(|(w, s)| w.starts_with("TUI") && s.contains("sig=REDACTED"));

    // A background task's panic: the TUI's hook logs it (to the log file).
    let previous = std::panic::take_hook();
    kingest::runtime::terminal::install_panic_hook();
    let panic_text = format!(
        "boom at {status_sas} with Bearer {TOKEN} and {}",
        res.identity_token.expose()
    );
    let _ = std::thread::spawn(move || panic!("{panic_text}")).join();
    std::panic::set_hook(previous);

    // Flush and read the log.
    drop(log_guard);
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains("a background task panicked"), "{log}");
    scan.seen.push(("log file".into(), log));

    // Everything on disk: the journal (0600) and the archive may hold secrets, nothing else.
    let mut files = Vec::new();
    files_under(env.dir.path(), &mut files);
    files_under(logs.path(), &mut files);
    let mut journals = 0;
    for f in files {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        if f == archive {
            continue;
        }
        if name.starts_with("journal-") && name.ends_with(".jsonl") {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&f).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{} is private", f.display());
            journals += 1;
            continue;
        }
        let bytes = std::fs::read(&f).unwrap();
        scan.seen.push((
            format!("file {}", f.display()),
            String::from_utf8_lossy(&bytes).to_string(),
        ));
    }
    assert!(journals > 0, "the CLI journaled its submissions");
    assert!(archive.exists(), "the discard archived");

    // The secrets: all the emulator issued, the token, the crafted ones.
    let mut secrets = env.emulator.issued_secrets();
    assert!(
        secrets.len() > 5,
        "the emulator issued SAS and identity tokens"
    );
    secrets.push(TOKEN.to_string());
    secrets.extend(CRAFTED.iter().map(|s| s.to_string()));
    let mut failures = Vec::new();
    for (what, text) in &scan.seen {
        let found = leaks(text, &secrets);
        if !found.is_empty() {
            failures.push(format!("{what}: {found:?}\n{text}"));
        }
    }
    assert!(
        failures.is_empty(),
        "secrets leaked:\n{}",
        failures.join("\n----\n")
    );
    // What was redacted was still shown, not dropped (checked after the scan, so a scan
    // failure is the one reported when redaction is missing).
    assert!(tui_showed_details, "the TUI showed the Details (redacted)");
    for err in echoes {
        assert!(
            err.contains("REDACTED"),
            "the echo is shown, redacted: {err}"
        );
    }
    env.emulator.shutdown().await;
}
