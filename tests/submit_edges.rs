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
