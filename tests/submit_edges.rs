//! Input edges of `submit` (issue 7 items 7, 9, 10): properties kingest sets itself, creation
//! times, files that change while read, ambiguous posts, `--dedupe`, interrupted submissions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Env, kingest, stdout};

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// Temp-container blobs the emulator holds (committed), listed with a re-signed SAS.
async fn blob_count(env: &Env) -> usize {
    let res = env.client.resources().await.unwrap();
    let http = reqwest::Client::new();
    let mut n = 0;
    for c in res.of_kind(kingest::client::ResourceKind::TempStorage) {
        let url = format!(
            "{}&restype=container&comp=list",
            common::resign(c, "l").expose()
        );
        let body = http.get(url).send().await.unwrap().text().await.unwrap();
        n += body.matches("<Blob>").count();
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn properties_kingest_sets_are_refused_naming_the_flag() {
    let env = Env::start().await;
    let file = env.file("events.csv");
    let f = file.to_str().unwrap();
    for (prop, flag) in [
        ("format=json", "--format"),
        ("authorizationContext=forged", "identity token"),
        ("AuthorizationContext=forged", "identity token"),
        ("tags=[\"x\"]", "--tag"),
        ("creationTime=2020-01-01", "--creation-time"),
        ("ingestionMappingReference=M", "--mapping-ref"),
        ("csvMappingReference=M", "--mapping-ref"),
        ("ingestIfNotExists=[\"x\"]", "--ingest-if-not-exists"),
        ("reportLevel=0", "--report-level"),
        ("flushImmediately=true", "--flush"),
    ] {
        let out = kingest(
            &env,
            &[
                "submit",
                f,
                "-d",
                "demo",
                "-t",
                "Events",
                "--property",
                prop,
            ],
        )
        .await;
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{prop}: {err}");
        assert!(
            err.contains(flag) && err.contains("kingest sets itself"),
            "{prop}: {err}"
        );
    }
    // Refused before any byte was uploaded.
    assert_eq!(blob_count(&env).await, 0);
    // A property kingest does not set goes through.
    let out = kingest(
        &env,
        &[
            "submit",
            f,
            "-d",
            "demo",
            "-t",
            "Events",
            "--property",
            "zipPattern=*.csv",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn numeric_creation_times_are_usage_errors() {
    let env = Env::start().await;
    let file = env.file("events.csv");
    for bad in ["1", "1700000000", "yesterday"] {
        let out = kingest(
            &env,
            &[
                "submit",
                file.to_str().unwrap(),
                "-d",
                "demo",
                "-t",
                "Events",
                "--creation-time",
                bad,
            ],
        )
        .await;
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{bad}: {err}");
        assert!(
            err.contains("ISO 8601") && err.contains("2024-01-02"),
            "{err}"
        );
    }
    assert_eq!(blob_count(&env).await, 0);
    let out = kingest(
        &env,
        &[
            "submit",
            file.to_str().unwrap(),
            "-d",
            "demo",
            "-t",
            "Events",
            "--creation-time",
            "2024-01-02T03:04:05Z",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("Queued"), "{}", stdout(&out));
}

/// Lines of CSV for `demo.Events`, `len` bytes or a little more.
fn events_csv(len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 64);
    let mut i = 0u64;
    while out.len() < len {
        out.extend_from_slice(
            format!("2024-01-01T00:00:00Z,e{i},{}\n", i * 7919 % 100_003).as_bytes(),
        );
        i += 1;
    }
    out
}

/// Submits `path` through the library, running `on_progress` once, from the progress
/// callback, after the first chunk was read and before the end: the file changes while it is
/// being read, deterministically.
async fn submit_changing(
    env: &Env,
    path: &std::path::Path,
    allow_growing: bool,
    change: impl Fn(&std::path::Path) + Send + Sync + 'static,
) -> kingest::client::Result<kingest::client::Submitted> {
    let mut req = kingest::client::SubmitRequest::new(path, "demo", "Events");
    req.allow_growing = allow_growing;
    let done = std::sync::atomic::AtomicBool::new(false);
    let p = path.to_path_buf();
    env.client
        .submit(
            req,
            std::sync::Arc::new(move |pr| {
                if pr.read > 0
                    && pr.read < pr.total
                    && !done.swap(true, std::sync::atomic::Ordering::SeqCst)
                {
                    change(&p);
                }
            }),
        )
        .await
}

fn append(path: &std::path::Path) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(b"2024-01-01T00:00:00Z,late,1\n").unwrap();
}

/// Sets the file's mtime an hour back, so a change is seen even on coarse clocks.
fn age(path: &std::path::Path) {
    let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    f.set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(3600))
        .unwrap();
}

async fn queued_messages(env: &Env) -> u64 {
    let res = env.client.resources().await.unwrap();
    let mut n = 0;
    for q in res.of_kind(kingest::client::ResourceKind::SecuredReadyForAggregationQueue) {
        n += env
            .client
            .storage()
            .approximate_message_count(&common::resign(q, "r"))
            .await
            .unwrap();
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_grows_while_read_fails_unless_allowed() {
    // A huge batching window: nothing the test posts is ingested (and deleted) meanwhile.
    let env = Env::start_with(kingest::emulator::EmulatorConfig {
        batch_window: Some(std::time::Duration::from_secs(600)),
        ..Default::default()
    })
    .await;
    let path = env.file("growing.csv");
    let body = events_csv(1024 * 1024);
    std::fs::write(&path, &body).unwrap();
    age(&path);
    let err = submit_changing(&env, &path, false, append)
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, kingest::client::Error::Usage(_)), "{err:?}");
    assert!(
        msg.contains("changed while it was read")
            && msg.contains(&format!("from {} to {}", body.len(), body.len() + 28))
            && msg.contains("--allow-growing"),
        "{msg}"
    );
    // Nothing committed, nothing posted.
    assert_eq!(blob_count(&env).await, 0);
    assert_eq!(queued_messages(&env).await, 0);

    // The same size, rewritten in place: only the mtime tells.
    std::fs::write(&path, &body).unwrap();
    age(&path);
    let rewrite = |p: &std::path::Path| {
        use std::io::{Seek, Write};
        let mut f = std::fs::OpenOptions::new().write(true).open(p).unwrap();
        f.seek(std::io::SeekFrom::Start(0)).unwrap();
        f.write_all(b"2024-01-01T00:00:00Z,e0,0\n").unwrap();
    };
    let msg = submit_changing(&env, &path, false, rewrite)
        .await
        .unwrap_err()
        .to_string();
    assert!(msg.contains("modification time changed"), "{msg}");
    assert_eq!(queued_messages(&env).await, 0);

    // --allow-growing: what was read is sent, and the change is said.
    std::fs::write(&path, &body).unwrap();
    age(&path);
    let s = submit_changing(&env, &path, true, append).await.unwrap();
    assert_eq!(s.raw_data_size, body.len() as u64 + 28);
    assert!(s.changed_while_read.unwrap().contains("size went from"));
    assert_eq!(queued_messages(&env).await, 1);

    // An unchanged file passes without a word.
    let quiet = env.file("events.csv");
    let s = submit_changing(&env, &quiet, false, |_| {}).await.unwrap();
    assert!(s.changed_while_read.is_none());
}

/// A loopback TCP proxy in front of the emulator. Answers are rewritten so the storage URLs
/// the emulator hands out point at the proxy too (same length: both ports have as many
/// digits). The first Put Message of an ingestion is forwarded, then its answer is dropped
/// with the connection: the post landed, the client never hears so.
struct LossyProxy {
    url: String,
    dropped: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    port: u16,
}

impl LossyProxy {
    /// The first Put Message's answer is dropped (the connection reset).
    fn start(upstream: &str) -> LossyProxy {
        Self::start_with(upstream, false)
    }

    /// `stall`: the first Put Message's answer is held back instead (no reset; the client's
    /// storage limit runs out).
    fn start_with(upstream: &str, stall: bool) -> LossyProxy {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, AtomicUsize};
        let up: std::net::SocketAddr = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .unwrap();
        let listener = loop {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            if l.local_addr().unwrap().port().to_string().len() == up.port().to_string().len() {
                break l;
            }
        };
        let port = listener.local_addr().unwrap().port();
        let from = format!("127.0.0.1:{}", up.port()).into_bytes();
        let to = format!("127.0.0.1:{port}").into_bytes();
        let dropped = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let armed = Arc::new(AtomicBool::new(true));
        {
            let (dropped, stop) = (dropped.clone(), stop.clone());
            std::thread::spawn(move || {
                for client in listener.incoming() {
                    if stop.load(std::sync::atomic::Ordering::SeqCst) {
                        return;
                    }
                    let Ok(client) = client else { continue };
                    let Ok(server) = std::net::TcpStream::connect(up) else {
                        continue;
                    };
                    let doomed = Arc::new(AtomicBool::new(false));
                    let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                    let (armed, doomed2) = (armed.clone(), doomed.clone());
                    std::thread::spawn(move || pump_requests(client, server, &armed, &doomed2));
                    let (from, to, dropped) = (from.clone(), to.clone(), dropped.clone());
                    std::thread::spawn(move || {
                        pump_answers(s2, c2, &from, &to, &doomed, &dropped, stall)
                    });
                }
            });
        }
        LossyProxy {
            url: format!("http://127.0.0.1:{port}"),
            dropped,
            stop,
            port,
        }
    }
}

impl Drop for LossyProxy {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = std::net::TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Client → emulator, unchanged; the first Put Message to an ingestion queue dooms the
/// connection's next answer.
fn pump_requests(
    mut client: std::net::TcpStream,
    mut server: std::net::TcpStream,
    armed: &std::sync::atomic::AtomicBool,
    doomed: &std::sync::atomic::AtomicBool,
) {
    use std::io::{Read, Write};
    use std::sync::atomic::Ordering::SeqCst;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match client.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let text = String::from_utf8_lossy(&buf[..n]);
        if let Some(line) = text.lines().next()
            && line.starts_with("POST ")
            && line.contains("/messages")
            && line.contains("readyforaggregation")
            && armed.swap(false, SeqCst)
        {
            doomed.store(true, SeqCst);
        }
        if server.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = server.shutdown(std::net::Shutdown::Write);
}

/// Emulator → client with the emulator's address rewritten to the proxy's; a doomed answer is
/// swallowed and both connections closed, or (`stall`) swallowed while the connection stays
/// open until the client gives up on it.
fn pump_answers(
    mut server: std::net::TcpStream,
    mut client: std::net::TcpStream,
    from: &[u8],
    to: &[u8],
    doomed: &std::sync::atomic::AtomicBool,
    dropped: &std::sync::atomic::AtomicUsize,
    stall: bool,
) {
    use std::io::{Read, Write};
    use std::sync::atomic::Ordering::SeqCst;
    let mut buf = vec![0u8; 64 * 1024];
    let mut carry: Vec<u8> = Vec::new();
    let mut held = false;
    loop {
        let n = match server.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if doomed.load(SeqCst) && stall {
            // Count the held answer once; read on (and discard) until the client closes its
            // side and the emulator follows.
            if !held {
                held = true;
                dropped.fetch_add(1, SeqCst);
            }
            continue;
        }
        if doomed.load(SeqCst) {
            dropped.fetch_add(1, SeqCst);
            let _ = client.shutdown(std::net::Shutdown::Both);
            let _ = server.shutdown(std::net::Shutdown::Both);
            return;
        }
        carry.extend_from_slice(&buf[..n]);
        let mut out = Vec::with_capacity(carry.len());
        let mut i = 0;
        while i < carry.len() {
            if carry[i..].starts_with(from) {
                out.extend_from_slice(to);
                i += from.len();
            } else if from.starts_with(&carry[i..]) {
                // A possible start of the address at the end of what came: wait for more.
                break;
            } else {
                out.push(carry[i]);
                i += 1;
            }
        }
        carry.drain(..i);
        if client.write_all(&out).is_err() {
            break;
        }
    }
    let _ = client.shutdown(std::net::Shutdown::Write);
}

/// `submit FILE` into demo.Events, reporting to the queues, waiting: after the global `flags`.
fn queue_submit_args<'a>(flags: &[&'a str], file: &'a std::path::Path) -> Vec<&'a str> {
    let mut args = flags.to_vec();
    args.extend([
        "submit",
        file.to_str().unwrap(),
        "-d",
        "demo",
        "-t",
        "Events",
        "--report-method",
        "queue",
        "--wait=60",
    ]);
    args
}

/// A lost post answer was posted again at once, and the rows landed once.
async fn assert_reposted_and_ingested_once(
    env: &Env,
    file: &std::path::Path,
    before: u64,
    text: &str,
    err: &str,
) {
    assert!(
        err.contains("posted the same message again at once"),
        "{err}"
    );
    assert!(
        text.contains("Succeeded") && text.contains("ingested once"),
        "{text}\n{err}"
    );
    assert_eq!(
        env.row_count("Events").await,
        before + lines_of(file),
        "rows counted once"
    );
}

fn lines_of(path: &std::path::Path) -> u64 {
    std::fs::read_to_string(path).unwrap().lines().count() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_post_answer_is_reposted_at_once_and_ingested_once() {
    let env = Env::start_with(kingest::emulator::EmulatorConfig {
        batch_window: Some(std::time::Duration::from_secs(2)),
        ..Default::default()
    })
    .await;
    let proxy = LossyProxy::start(env.emulator.url());
    let file = env.file("events.csv");
    let before = env.row_count("Events").await;
    let out = common::kingest_at(
        &proxy.url,
        &env.dir.path().join("home"),
        &queue_submit_args(&[], &file),
    )
    .await;
    let (text, err) = (stdout(&out), stderr(&out));
    assert_eq!(
        proxy.dropped.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "one answer dropped: {err}"
    );
    assert_eq!(out.status.code(), Some(0), "{text}\n{err}");
    assert_reposted_and_ingested_once(&env, &file, before, &text, &err).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_answer_that_never_comes_is_reposted_at_once_and_ingested_once() {
    // The batch stays open well past the 1 s storage limit, so both copies share it.
    let env = Env::start_with(kingest::emulator::EmulatorConfig {
        batch_window: Some(std::time::Duration::from_secs(6)),
        ..Default::default()
    })
    .await;
    let proxy = LossyProxy::start_with(env.emulator.url(), true);
    let file = env.file("events.csv");
    let before = env.row_count("Events").await;
    let config = env.dir.path().join("short-storage.toml");
    std::fs::write(&config, "[timeouts]\nstorage_secs = 1\n").unwrap();
    let out = common::kingest_at(
        &proxy.url,
        &env.dir.path().join("home"),
        &queue_submit_args(&["--config", config.to_str().unwrap()], &file),
    )
    .await;
    let (text, err) = (stdout(&out), stderr(&out));
    assert_eq!(
        proxy.dropped.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "one answer held back: {err}"
    );
    assert_eq!(out.status.code(), Some(0), "{text}\n{err}");
    // The configured storage limit applied to Put Message (not the 60 s default).
    assert!(
        err.contains("storage_secs") && err.contains("within 1 s"),
        "{err}"
    );
    assert_reposted_and_ingested_once(&env, &file, before, &text, &err).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dedupe_skips_the_second_copy_of_the_same_content() {
    let env = Env::start().await;
    let file = env.file("events.csv");
    let before = env.row_count("Events").await;
    let args = [
        "submit",
        file.to_str().unwrap(),
        "-d",
        "demo",
        "-t",
        "Events",
        "--dedupe",
        "--wait=60",
    ];
    let first = kingest(&env, &args).await;
    let err = stderr(&first);
    assert_eq!(first.status.code(), Some(0), "{}\n{err}", stdout(&first));
    assert!(stdout(&first).contains("Succeeded"), "{}", stdout(&first));
    // It says what it costs.
    assert!(
        err.contains("SingleBlob_IngestByTag") && err.contains("ingest-by:"),
        "{err}"
    );
    // The same content under another name: skipped, as asked, exit 0.
    let copy = env.file("events-copy.csv");
    std::fs::copy(&file, &copy).unwrap();
    let mut again = args;
    again[1] = copy.to_str().unwrap();
    let second = kingest(&env, &again).await;
    let text = stdout(&second);
    assert_eq!(second.status.code(), Some(0), "{text}\n{}", stderr(&second));
    assert!(
        text.contains("Skipped") && text.contains("ingestIfNotExists"),
        "{text}"
    );
    assert_eq!(env.row_count("Events").await, before + lines_of(&file));
    // Without --dedupe the same content goes in again (nothing is deduplicated silently).
    let plain = kingest(&env, &again[..6]).await;
    assert_eq!(plain.status.code(), Some(0), "{}", stderr(&plain));
}

/// Runs the binary as `common::kingest` does, with extra environment variables.
async fn kingest_env(env: &Env, vars: &[(&str, &str)], args: &[&str]) -> std::process::Output {
    use assert_cmd::cargo::CommandCargoExt;
    let home = env.dir.path().join("home");
    let url = env.emulator.url().to_string();
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        std::process::Command::cargo_bin("kingest")
            .unwrap()
            .env("KINGEST_INGEST_URL", url)
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", &home)
            .env("XDG_DATA_HOME", home.join("data"))
            .env_remove("KINGEST_CONFIG")
            .env_remove("KINGEST_TOKEN")
            .envs(vars)
            .args(&args)
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

/// The last journal line of `source_id` (the journal is the only `journal-*.jsonl` file).
fn journal_line(env: &Env, source_id: Option<&str>) -> serde_json::Value {
    fn find(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                find(&p, out);
            } else if p
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("journal-")
                && p.extension().is_some_and(|x| x == "jsonl")
            {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    find(&env.dir.path().join("home"), &mut files);
    assert_eq!(files.len(), 1, "{files:?}");
    let text = std::fs::read_to_string(&files[0]).unwrap();
    text.lines()
        .rev()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| source_id.is_none_or(|id| v["source_id"] == id))
        .expect("a journal line")
}

/// A `.csv.gz` stored without compression (so its blocks are its bytes).
fn stored_gz(path: &std::path::Path, lines: usize) {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::none());
    gz.write_all(&common::noise_events(lines)).unwrap();
    std::fs::write(path, gz.finish().unwrap()).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submit_killed_mid_upload_is_resumed_by_the_next_run() {
    let env = Env::start().await;
    let big = env.file("big.csv.gz");
    // ~9.5 MiB: three blocks of at most 4 MiB.
    let lines = 140_000;
    stored_gz(&big, lines);
    let before = env.row_count("Events").await;
    let out = kingest_env(
        &env,
        &[("KINGEST_TEST_CRASH_AT", "block:2")],
        &[
            "submit",
            big.to_str().unwrap(),
            "-d",
            "demo",
            "-t",
            "Events",
        ],
    )
    .await;
    assert!(
        !out.status.success(),
        "the crash point was not reached: {}",
        stderr(&out)
    );
    // The record written before the upload is there, not posted.
    let rec = journal_line(&env, None);
    assert_eq!(rec["unfinished"]["stage"], "Uploading", "{rec}");
    let id = rec["source_id"].as_str().unwrap().to_string();
    assert!(
        !rec["blob"].as_str().unwrap().contains('?'),
        "no SAS in {rec}"
    );

    // The next run reconciles it: two blocks reused, the third sent, posted and tracked.
    let small = env.file("events.csv");
    let out = kingest(
        &env,
        &[
            "submit",
            small.to_str().unwrap(),
            "-d",
            "demo",
            "-t",
            "Events",
            "--flush",
            "--wait=60",
        ],
    )
    .await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{}\n{err}", stdout(&out));
    assert!(
        err.contains("resumed the interrupted upload")
            && err.contains("2 block(s) were already uploaded"),
        "{err}"
    );
    let rec = journal_line(&env, Some(&id));
    assert!(
        rec.get("unfinished").is_none() && rec["message_id"].is_string(),
        "{rec}"
    );
    // Both files ingested, the resumed one whole.
    let want = before + lines as u64 + lines_of(&small);
    let mut got = 0;
    for _ in 0..300 {
        got = env.row_count("Events").await;
        if got >= want {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(got, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_upload_of_a_changed_file_is_abandoned_naming_its_blob() {
    let env = Env::start().await;
    let big = env.file("big.csv.gz");
    stored_gz(&big, 140_000);
    let out = kingest_env(
        &env,
        &[("KINGEST_TEST_CRASH_AT", "block:1")],
        &[
            "submit",
            big.to_str().unwrap(),
            "-d",
            "demo",
            "-t",
            "Events",
        ],
    )
    .await;
    assert!(!out.status.success());
    let rec = journal_line(&env, None);
    let id = rec["source_id"].as_str().unwrap().to_string();
    let blob = rec["blob"].as_str().unwrap().to_string();
    // The file is rewritten meanwhile: its staged blocks no longer match it.
    stored_gz(&big, 1000);
    let out = kingest(&env, &["status", &id]).await;
    let (text, err) = (stdout(&out), stderr(&out));
    assert!(
        err.contains("abandoned the interrupted submission"),
        "{err}"
    );
    assert!(
        text.contains("Failed") && text.contains("orphan blob") && text.contains(&blob),
        "{text}"
    );
    assert!(!text.contains("sig="), "{text}");
    assert_eq!(out.status.code(), Some(1), "{text}\n{err}");
    // Reconciled once: the next run has nothing left to do.
    let again = kingest(&env, &["status", &id]).await;
    assert!(!stderr(&again).contains("abandoned"), "{}", stderr(&again));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submit_killed_mid_post_is_abandoned_not_reposted() {
    let env = Env::start().await;
    let file = env.file("events.csv");
    let out = kingest_env(
        &env,
        &[("KINGEST_TEST_CRASH_AT", "post")],
        &[
            "submit",
            file.to_str().unwrap(),
            "-d",
            "demo",
            "-t",
            "Events",
        ],
    )
    .await;
    assert!(!out.status.success());
    let rec = journal_line(&env, None);
    assert_eq!(rec["unfinished"]["stage"], "Posting", "{rec}");
    let id = rec["source_id"].as_str().unwrap().to_string();
    // `submit` reconciles too; a post that may have landed is not posted again.
    let out = kingest(
        &env,
        &[
            "submit",
            file.to_str().unwrap(),
            "-d",
            "demo",
            "-t",
            "Events",
        ],
    )
    .await;
    let err = stderr(&out);
    assert!(
        err.contains("abandoned") && err.contains("may or may not have reached"),
        "{err}"
    );
    assert!(err.contains("--dedupe"), "{err}");
    assert_eq!(out.status.code(), Some(0), "{err}");
    let rec = journal_line(&env, Some(&id));
    assert_eq!(rec["tracker"]["state"], "Failed", "{rec}");
    assert!(rec.get("unfinished").is_none(), "{rec}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gzipped_while_streaming_upload_resumes_with_the_same_blocks() {
    let env = Env::start().await;
    let big = env.file("big.csv");
    // About 10 MB gzipped here: the gzip stream kingest makes must come out the same again.
    let lines = 280_000;
    std::fs::write(&big, common::noise_events(lines)).unwrap();
    let before = env.row_count("Events").await;
    let out = kingest_env(
        &env,
        &[("KINGEST_TEST_CRASH_AT", "block:2")],
        &[
            "submit",
            big.to_str().unwrap(),
            "-d",
            "demo",
            "-t",
            "Events",
        ],
    )
    .await;
    assert!(!out.status.success(), "{}", stderr(&out));
    let id = journal_line(&env, None)["source_id"]
        .as_str()
        .unwrap()
        .to_string();
    let out = kingest(&env, &["status", &id]).await;
    let err = stderr(&out);
    assert!(err.contains("2 block(s) were already uploaded"), "{err}");
    let mut got = 0;
    for _ in 0..300 {
        got = env.row_count("Events").await;
        if got >= before + lines as u64 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(got, before + lines as u64, "every row once, none torn");
}
