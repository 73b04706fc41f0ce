//! `kingest gateway` over real HTTP: the REST queued API in front of the emulator as a
//! classic cluster (resources → queue → status table), its per-operation status, and the
//! bearer-token rules.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::BufRead as _;
use std::process::Stdio;
use std::time::Duration;

use common::{Env, client_for, kingest_command};
use kingest::client::rest_queued::{BlobEntry, BlobState, PostRequest, Properties};
use kingest::client::storage::SasUrl;
use kingest::client::{AuthMethod, Error, IngestClient};
use kingest::gateway::Gateway;

fn request(blobs: Vec<SasUrl>) -> PostRequest {
    PostRequest {
        timestamp: None,
        blobs: blobs
            .into_iter()
            .map(|url| BlobEntry {
                url,
                source_id: None,
                raw_size: Some(1234),
            })
            .collect(),
        properties: Properties {
            format: "csv".into(),
            enable_tracking: true,
            ..Properties::default()
        },
    }
}

/// Uploads `data` as `name` into a container of the gateway's configuration (the cluster's
/// temp storage), as a script would.
async fn upload(gw: &IngestClient, name: &str, data: &[u8]) -> SasUrl {
    let c = gw.rest_configuration().await.unwrap();
    let blob = c.containers[0].child(name);
    gw.storage()
        .put_blob(&blob, data.to_vec().into(), None)
        .await
        .unwrap();
    blob
}

#[tokio::test]
async fn a_blob_posted_to_the_gateway_is_ingested_by_the_classic_cluster_and_tracked() {
    let env = Env::start().await;
    let before = env.row_count("Events").await;
    let cluster = client_for(env.emulator.url(), AuthMethod::None);
    let gateway = Gateway::start(cluster, "127.0.0.1:0".parse().unwrap(), None)
        .await
        .unwrap();
    let gw = client_for(gateway.url(), AuthMethod::None);
    let good = upload(&gw, "g.csv", include_bytes!("../assets/demo/events.csv")).await;
    let bad = upload(&gw, "b.csv.gz", b"not gzip").await;
    let op = gw
        .rest_post("demo", "Events", &request(vec![good, bad]))
        .await
        .unwrap();
    assert!(!op.is_empty());
    let mut last = None;
    for _ in 0..300 {
        let s = gw.rest_status("demo", "Events", &op).await.unwrap();
        if s.counts.is_done() {
            last = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let s = last.expect("the operation finished");
    assert_eq!((s.counts.succeeded, s.counts.failed), (1, 1), "{s:?}");
    let failed = s
        .details
        .as_ref()
        .unwrap()
        .iter()
        .find(|b| b.status == BlobState::Failed)
        .unwrap();
    assert_eq!(failed.error_code.as_deref(), Some("BadRequest_InvalidBlob"));
    assert_eq!(failed.failure_status.as_deref(), Some("Permanent"));
    assert_eq!(env.row_count("Events").await, before + 25);
    // The status is the gateway's own: another table's path does not find it.
    assert!(gw.rest_status("demo", "Metrics", &op).await.is_err());
    gateway.shutdown().await;
    env.emulator.shutdown().await;
}

#[tokio::test]
async fn the_gateway_wants_a_token_off_loopback_and_checks_it_when_given() {
    let env = Env::start().await;
    let cluster = client_for(env.emulator.url(), AuthMethod::None);
    // Refused before anything is bound.
    let err = Gateway::start(cluster.clone(), "0.0.0.0:0".parse().unwrap(), None)
        .await
        .err()
        .unwrap();
    assert!(err.contains("--require-token"), "{err}");
    let gateway = Gateway::start(
        cluster,
        "127.0.0.1:0".parse().unwrap(),
        Some("gw-s3cret".into()),
    )
    .await
    .unwrap();
    let anonymous = client_for(gateway.url(), AuthMethod::None);
    let e = anonymous.rest_configuration().await.unwrap_err();
    assert!(
        matches!(e, Error::Auth(_) | Error::Service { status: 401, .. }),
        "{e:?}"
    );
    let wrong = client_for(
        gateway.url(),
        AuthMethod::Token(kingest::client::auth::Secret::new("nope")),
    );
    assert!(wrong.rest_configuration().await.is_err());
    let right = client_for(
        gateway.url(),
        AuthMethod::Token(kingest::client::auth::Secret::new("gw-s3cret")),
    );
    assert!(
        !right
            .rest_configuration()
            .await
            .unwrap()
            .containers
            .is_empty()
    );
    gateway.shutdown().await;
    env.emulator.shutdown().await;
}

#[tokio::test]
async fn the_gateway_command_prints_its_url_and_serves_the_api() {
    let env = Env::start().await;
    let home = env.dir.path().join("home");
    let mut child = kingest_command(env.emulator.url(), &home)
        .args(["gateway", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let url = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap();
        line.trim().to_string()
    })
    .await
    .unwrap();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let gw = client_for(&url, AuthMethod::None);
    let c = gw.rest_configuration().await.unwrap();
    assert_eq!(c.max_blobs_per_batch, 20);
    child.kill().unwrap();
    child.wait().unwrap();
    // Binding beyond loopback without a token is refused with a usage error.
    let out = kingest_command(env.emulator.url(), &home)
        .args(["gateway", "--listen", "0.0.0.0:0"])
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--require-token"));
    env.emulator.shutdown().await;
}
