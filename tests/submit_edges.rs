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
