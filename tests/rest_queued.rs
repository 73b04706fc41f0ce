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
    let good = upload(
        &env,
        "good.csv",
        include_bytes!("../assets/demo/events.csv"),
    )
    .await;
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
    let blob = upload(&env, "e.csv", include_bytes!("../assets/demo/events.csv")).await;
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
