//! The REST queued-ingestion API of the emulator over real HTTP: configuration, POST, status
//! with per-blob details driven by the DM worker's real outcome, the service's refusals, the
//! token rule; and the client's `--mode rest-queued`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{Env, client_for};
use kingest::client::rest_queued::{
    BlobEntry, BlobState, OperationStatus, PostRequest, Properties,
};
use kingest::client::storage::SasUrl;
use kingest::client::{AuthMethod, Error};
use kingest::emulator::EmulatorConfig;

/// Uploads `data` as `name` into the first container the configuration offers.
async fn upload(env: &Env, name: &str, data: &[u8]) -> SasUrl {
    let config = env.client.rest_configuration().await.unwrap();
    let blob = config.containers[0].child(name);
    env.client
        .storage()
        .put_blob(&blob, data.to_vec().into(), None)
        .await
        .unwrap();
    blob
}

/// [`upload`] of the demo's events.csv (25 rows).
async fn upload_events(env: &Env, name: &str) -> SasUrl {
    upload(env, name, include_bytes!("../assets/demo/events.csv")).await
}

fn request(blobs: Vec<SasUrl>, format: &str, tracking: bool) -> PostRequest {
    PostRequest {
        timestamp: Some(chrono::Utc::now()),
        blobs: blobs
            .into_iter()
            .map(|url| BlobEntry {
                url,
                source_id: None,
                raw_size: None,
            })
            .collect(),
        properties: Properties {
            format: format.into(),
            enable_tracking: tracking,
            ..Properties::default()
        },
    }
}

/// Polls the operation until no blob is in progress (at most 30 s).
async fn until_done(env: &Env, table: &str, op: &str) -> OperationStatus {
    for _ in 0..300 {
        let s = env.client.rest_status("demo", table, op).await.unwrap();
        if s.counts.is_done()
            && s.details
                .as_ref()
                .is_some_and(|d| d.iter().all(|b| b.status.is_final()))
        {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("operation {op} never finished");
}

#[tokio::test]
async fn configuration_offers_the_emulators_containers_and_limits() {
    let env = Env::start().await;
    let c = env.client.rest_configuration().await.unwrap();
    assert_eq!(c.max_blobs_per_batch, 20);
    assert!(!c.containers.is_empty());
    assert!(c.containers[0].query_param("sig").is_some(), "a SAS");
    assert_eq!(c.refresh_interval, Some(Duration::from_secs(3600)));
    // The raw text: a TimeSpan the Java client parses (hh:mm:ss, no fraction).
    let raw: serde_json::Value = reqwest::get(format!(
        "{}/v1/rest/ingestion/configuration",
        env.emulator.url()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(raw["containerSettings"]["refreshInterval"], "01:00:00");
    assert_eq!(raw["ingestionSettings"]["maxBlobsPerBatch"], 20);
    env.emulator.shutdown().await;
}

#[tokio::test]
async fn a_good_and_a_bad_blob_end_succeeded_and_failed_with_the_dms_error() {
    let env = Env::start().await;
    let before = env.row_count("Events").await;
    let good = upload_events(&env, "good.csv").await;
    // Named .gz but not gzip: the DM's download-and-decompress fails it permanently.
    let bad = upload(&env, "bad.csv.gz", b"this is not gzip").await;
    let op = env
        .client
        .rest_post("demo", "Events", &request(vec![good, bad], "csv", true))
        .await
        .unwrap();
    assert!(!op.is_empty(), "tracking asked: an operation id");
    let s = until_done(&env, "Events", &op).await;
    assert_eq!((s.counts.succeeded, s.counts.failed), (1, 1), "{s:?}");
    let details = s.details.unwrap();
    let failed = details
        .iter()
        .find(|b| b.status == BlobState::Failed)
        .unwrap();
    assert_eq!(failed.error_code.as_deref(), Some("BadRequest_InvalidBlob"));
    assert_eq!(failed.failure_status.as_deref(), Some("Permanent"));
    assert!(failed.url.as_deref().unwrap().ends_with("bad.csv.gz"));
    assert!(
        !failed.url.as_deref().unwrap().contains("sig="),
        "no SAS in the answer"
    );
    assert_eq!(env.row_count("Events").await, before + 25);
    env.emulator.shutdown().await;
}

#[tokio::test]
async fn without_tracking_the_operation_id_is_empty_and_the_data_lands() {
    let env = Env::start().await;
    let before = env.row_count("Events").await;
    let blob = upload_events(&env, "e.csv").await;
    let op = env
        .client
        .rest_post("demo", "Events", &request(vec![blob], "csv", false))
        .await
        .unwrap();
    assert_eq!(op, "");
    for _ in 0..300 {
        if env.row_count("Events").await == before + 25 {
            env.emulator.shutdown().await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the rows never arrived");
}

fn service_code(e: &Error) -> (u16, String) {
    match e {
        Error::Service { status, code, .. } => (*status, code.clone()),
        other => panic!("not a service error: {other:?}"),
    }
}

#[tokio::test]
async fn the_service_refuses_too_many_blobs_no_format_bad_urls_and_unknown_tables() {
    let env = Env::start().await;
    let url = format!(
        "{}/v1/rest/ingestion/queued/demo/Events",
        env.emulator.url()
    );
    let http = reqwest::Client::new();
    let blobs: Vec<serde_json::Value> = (0..21)
        .map(|i| serde_json::json!({"url": format!("{}/kingestemu/tempstorage/b{i}.csv", env.emulator.url())}))
        .collect();
    for (body, want) in [
        (
            serde_json::json!({"blobs": blobs, "properties": {"format": "csv"}}),
            "at most 20",
        ),
        (
            serde_json::json!({"blobs": [{"url": "https://a/c/b.csv"}], "properties": {}}),
            "format",
        ),
        (
            serde_json::json!({"blobs": [{"url": "not a url"}], "properties": {"format": "csv"}}),
            "blobs[0].url",
        ),
    ] {
        let r = http.post(&url).json(&body).send().await.unwrap();
        assert_eq!(r.status(), 400);
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], "General_BadRequest");
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(msg.contains(want), "{msg}");
    }
    let one = request(
        vec![SasUrl::parse("https://a.blob.core.windows.net/c/b.csv").unwrap()],
        "csv",
        true,
    );
    let e = env
        .client
        .rest_post("demo", "NoSuchTable", &one)
        .await
        .unwrap_err();
    assert_eq!(service_code(&e), (404, "BadRequest_TableNotExist".into()));
    let e = env
        .client
        .rest_post("nodb", "Events", &one)
        .await
        .unwrap_err();
    assert_eq!(
        service_code(&e),
        (404, "BadRequest_DatabaseNotExist".into())
    );
    let e = env
        .client
        .rest_status("demo", "Events", "no-such-operation")
        .await
        .unwrap_err();
    assert_eq!(service_code(&e).0, 404);
    env.emulator.shutdown().await;
}

#[tokio::test]
async fn require_token_guards_the_rest_api_as_it_guards_mgmt() {
    let env = Env::start_with(EmulatorConfig {
        require_token: Some("t0ken".into()),
        ..Default::default()
    })
    .await;
    let e = env.client.rest_configuration().await.unwrap_err();
    assert!(
        matches!(e, Error::Auth(_) | Error::Service { status: 401, .. }),
        "{e:?}"
    );
    let with = client_for(
        env.emulator.url(),
        AuthMethod::Token(kingest::client::auth::Secret::new("t0ken")),
    );
    let c = with.rest_configuration().await.unwrap();
    let blob = c.containers[0].child("t.csv");
    with.storage()
        .put_blob(
            &blob,
            include_bytes!("../assets/demo/events.csv").to_vec().into(),
            None,
        )
        .await
        .unwrap();
    let op = with
        .rest_post("demo", "Events", &request(vec![blob], "csv", true))
        .await
        .unwrap();
    // The relay's own requests carry the token too: the blob is ingested.
    for _ in 0..300 {
        let s = with.rest_status("demo", "Events", &op).await.unwrap();
        if s.counts.succeeded == 1 {
            env.emulator.shutdown().await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("never succeeded");
}

/// `kingest submit events.csv --mode rest-queued -d demo -t Events` plus `extra`.
async fn rest_submit(env: &Env, extra: &[&str]) -> std::process::Output {
    let file = env.file("events.csv");
    let mut args = vec!["submit", file.to_str().unwrap(), "--mode", "rest-queued"];
    args.extend(["-d", "demo", "-t", "Events"]);
    args.extend(extra);
    common::kingest(env, &args).await
}

fn json_lines(out: &std::process::Output) -> Vec<serde_json::Value> {
    common::stdout(out)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[tokio::test]
async fn submit_mode_rest_queued_uploads_posts_and_tracks_by_operation_id() {
    let env = Env::start().await;
    let before = env.row_count("Events").await;
    let out = rest_submit(&env, &["--wait", "60", "--json"]).await;
    let all = format!(
        "{}{}",
        common::stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{all}");
    let v = json_lines(&out).pop().unwrap();
    assert_eq!(v["status"], "Succeeded", "{v}");
    assert_eq!(v["mode"], "rest-queued");
    assert_eq!(v["evidence"], "Operation");
    assert!(!v["operation_id"].as_str().unwrap().is_empty());
    assert_eq!(env.row_count("Events").await, before + 25);
    for secret in env.emulator.issued_secrets() {
        assert!(
            !all.contains(&secret),
            "a secret the emulator issued was printed"
        );
    }
    env.emulator.shutdown().await;
}

#[tokio::test]
async fn a_rest_queued_source_the_dm_fails_ends_failed_with_its_error_code() {
    let env = Env::start().await;
    let out = rest_submit(
        &env,
        &[
            "--mapping-ref",
            "NoSuchMapping",
            "--flush",
            "--wait",
            "60",
            "--json",
        ],
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json_lines(&out).pop().unwrap();
    assert_eq!(v["status"], "Failed", "{v}");
    assert_eq!(v["failure_status"], "Permanent", "{v}");
    assert!(
        v["error_code"].as_str().unwrap().starts_with("BadRequest_"),
        "{v}"
    );
    env.emulator.shutdown().await;
}

#[tokio::test]
async fn twenty_one_blobs_go_in_two_posts_of_at_most_twenty() {
    let env = Env::start().await;
    let before = env.row_count("Events").await;
    let mut args: Vec<String> = [
        "submit",
        "--mode",
        "rest-queued",
        "-d",
        "demo",
        "-t",
        "Events",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for i in 0..21 {
        let blob = upload_events(&env, &format!("many-{i}.csv")).await;
        args.extend(["--blob".to_string(), blob.expose().to_string()]);
    }
    args.extend(["--flush", "--wait", "60", "--json"].map(String::from));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = common::kingest(&env, &refs).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 21);
    let mut ops: Vec<&str> = lines
        .iter()
        .map(|v| v["operation_id"].as_str().unwrap())
        .collect();
    ops.sort();
    ops.dedup();
    assert_eq!(ops.len(), 2, "two POSTs: {ops:?}");
    assert!(lines.iter().all(|v| v["status"] == "Succeeded"));
    assert_eq!(env.row_count("Events").await, before + 21 * 25);
    env.emulator.shutdown().await;
}

#[tokio::test]
async fn status_follows_a_rest_queued_source_through_its_journaled_operation() {
    let env = Env::start().await;
    let out = rest_submit(&env, &["--flush", "--json"]).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json_lines(&out).pop().unwrap();
    let sid = v["source_id"].as_str().unwrap().to_string();
    for _ in 0..100 {
        let out = common::kingest(&env, &["status", &sid, "--json"]).await;
        let s: serde_json::Value = serde_json::from_str(&common::stdout(&out)).unwrap();
        if s["status"] == "Succeeded" {
            assert_eq!(s["evidence"], "Operation", "{s}");
            assert_eq!(out.status.code(), Some(0));
            env.emulator.shutdown().await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("status never saw the operation succeed");
}

#[tokio::test]
async fn blobs_of_different_formats_go_in_one_post_per_format() {
    let env = Env::start().await;
    let before = env.row_count("Events").await;
    let csv = upload_events(&env, "mixed.csv").await;
    let tsv = upload(
        &env,
        "mixed.tsv",
        include_bytes!("../assets/demo/events.tsv"),
    )
    .await;
    let args = [
        "submit",
        "--mode",
        "rest-queued",
        "-d",
        "demo",
        "-t",
        "Events",
        "--blob",
        csv.expose(),
        "--blob",
        tsv.expose(),
        "--flush",
        "--wait",
        "60",
        "--json",
    ];
    let out = common::kingest(&env, &args).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["format"], "csv");
    assert_eq!(lines[1]["format"], "tsv");
    assert_ne!(lines[0]["operation_id"], lines[1]["operation_id"]);
    let tsv_rows = include_bytes!("../assets/demo/events.tsv")
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .count() as u64;
    assert_eq!(env.row_count("Events").await, before + 25 + tsv_rows);
    env.emulator.shutdown().await;
}

/// The REST API's relay on an independent storage peer: uploads, the status entity, the
/// queue message and the DM's status update all go through Azurite.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rest_api_works_on_azurite_storage() {
    let Some(az) = common::azurite() else { return };
    let env = Env::start_with(EmulatorConfig {
        storage: Some(az.connection_string()),
        ..Default::default()
    })
    .await;
    let before = env.row_count("Events").await;
    let good = upload_events(&env, "az-good.csv").await;
    assert!(
        good.expose().contains(&format!(":{}/", az.blob)),
        "an Azurite container"
    );
    let bad = upload(&env, "az-bad.csv.gz", b"not gzip").await;
    let op = env
        .client
        .rest_post("demo", "Events", &request(vec![good, bad], "csv", true))
        .await
        .unwrap();
    let s = until_done(&env, "Events", &op).await;
    assert_eq!((s.counts.succeeded, s.counts.failed), (1, 1), "{s:?}");
    assert_eq!(env.row_count("Events").await, before + 25);
    env.emulator.shutdown().await;
}
