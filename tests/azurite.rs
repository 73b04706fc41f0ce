//! Conformance of our storage client and SAS signer with an independent peer: Azurite.
//! Set `KINGEST_AZURITE_BIN` to the `azurite` executable; without it every test prints SKIP.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use kingest::client::Error;
use kingest::client::retry::RetryPolicy;
use kingest::client::storage::{SasUrl, Storage};
use kingest::emulator::sas::{AccountKey, AccountSas, SasResource, ServiceSas};
use serde_json::{Map, Value, json};

const ACCOUNT: &str = "devstoreaccount1";
const KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

fn key() -> AccountKey {
    AccountKey::from_base64(KEY).unwrap()
}

fn window() -> (Option<DateTime<Utc>>, DateTime<Utc>) {
    let now = Utc::now();
    (
        Some(now - chrono::Duration::minutes(5)),
        now + chrono::Duration::hours(1),
    )
}

fn account_token() -> String {
    let (start, expiry) = window();
    AccountSas {
        account: ACCOUNT.into(),
        services: "bqt".into(),
        resource_types: "sco".into(),
        permissions: "rwdlacup".into(),
        start,
        expiry,
    }
    .token(&key())
}

fn service_token(resource: SasResource, permissions: &str) -> String {
    let (start, expiry) = window();
    ServiceSas {
        account: ACCOUNT.into(),
        resource,
        permissions: permissions.into(),
        start,
        expiry,
    }
    .token(&key())
}

fn url(port: u16, path: &str, token: &str) -> SasUrl {
    SasUrl::parse(&format!("http://127.0.0.1:{port}/{ACCOUNT}/{path}?{token}")).unwrap()
}

fn storage() -> Storage {
    Storage::new(reqwest::Client::new(), RetryPolicy::none())
}

fn tamper(token: &str) -> String {
    let i = token.find("sig=").unwrap() + 4;
    let repl = if &token[i..i + 1] == "A" { "B" } else { "A" };
    format!("{}{repl}{}", &token[..i], &token[i + 1..])
}

fn assert_status(result: Result<impl std::fmt::Debug, Error>, status: u16) {
    match result {
        Err(Error::Storage { status: s, .. }) if s == status => {}
        other => panic!("expected storage error {status}, got {other:?}"),
    }
}

#[tokio::test]
async fn blobs_round_trip() {
    let Some(az) = common::azurite() else { return };
    let st = storage();
    let admin = url(az.blob, "conform", &account_token());
    st.create_container(&admin).await.unwrap();
    st.create_container(&admin).await.unwrap(); // already exists: fine

    let name = "dir/hello.txt";
    let sas = service_token(
        SasResource::Blob {
            container: "conform".into(),
            blob: name.into(),
        },
        "racwd",
    );
    let blob = url(az.blob, &format!("conform/{name}"), &sas);
    st.put_blob(
        &blob,
        Bytes::from_static(b"hello, azurite"),
        Some("text/plain"),
    )
    .await
    .unwrap();
    assert_eq!(&st.get_blob(&blob).await.unwrap()[..], b"hello, azurite");

    // Several blocks, committed in order, through a container SAS.
    let csas = service_token(
        SasResource::Container {
            container: "conform".into(),
        },
        "racwdl",
    );
    let big = url(az.blob, "conform", &csas).child("blocks/data.csv");
    let parts: [&[u8]; 3] = [b"a,1\n", b"b,2\n", b"c,3\n"];
    let mut ids = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        let id = STANDARD.encode(format!("block-{i:06}"));
        st.put_block(&big, &id, Bytes::copy_from_slice(part))
            .await
            .unwrap();
        ids.push(id);
    }
    st.put_block_list(&big, &ids, Some("text/csv"))
        .await
        .unwrap();
    assert_eq!(&st.get_blob(&big).await.unwrap()[..], b"a,1\nb,2\nc,3\n");

    // An empty upload is a real (zero-length) blob.
    let empty = url(az.blob, "conform", &csas).child("empty.json");
    st.put_blob(&empty, Bytes::new(), None).await.unwrap();
    assert!(st.get_blob(&empty).await.unwrap().is_empty());

    st.delete_blob(&blob).await.unwrap();
    match st.get_blob(&blob).await {
        Err(Error::Storage {
            status: 404, code, ..
        }) => assert_eq!(code, "BlobNotFound"),
        other => panic!("expected 404, got {other:?}"),
    }
    st.delete_blob(&blob).await.unwrap(); // missing: fine

    // A blob SAS does not open another blob; a tampered signature is refused.
    let other = url(az.blob, "conform/other.txt", &sas);
    assert_status(st.put_blob(&other, Bytes::new(), None).await, 403);
    let forged = url(az.blob, &format!("conform/{name}"), &tamper(&sas));
    assert_status(st.get_blob(&forged).await, 403);
}

#[tokio::test]
async fn queue_messages_round_trip() {
    let Some(az) = common::azurite() else { return };
    let st = storage();
    st.create_queue(&url(az.queue, "conformq", &account_token()))
        .await
        .unwrap();
    st.create_queue(&url(az.queue, "conformq", &account_token()))
        .await
        .unwrap(); // already exists: fine

    let sas = service_token(
        SasResource::Queue {
            queue: "conformq".into(),
        },
        "raup",
    );
    let q = url(az.queue, "conformq", &sas);
    let text = STANDARD.encode("{\"hello\":\"héllo <&>\"}");
    let put = st.put_message(&q, &text, None, Some(3600)).await.unwrap();
    assert!(!put.message_id.is_empty());
    assert!(put.pop_receipt.is_some());
    assert!(put.insertion_time.is_some());

    let peeked = st.peek_messages(&q, 32).await.unwrap();
    assert_eq!(peeked.len(), 1);
    assert_eq!(peeked[0].message_id, put.message_id);
    assert_eq!(peeked[0].text, text);
    assert_eq!(peeked[0].dequeue_count, 0);
    assert_eq!(peeked[0].pop_receipt, None);
    assert_eq!(st.approximate_message_count(&q).await.unwrap(), 1);

    let got = st.get_messages(&q, 5, 60).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].text, text);
    assert_eq!(got[0].dequeue_count, 1);
    assert!(got[0].time_next_visible.is_some());
    let receipt = got[0].pop_receipt.clone().unwrap();
    assert!(st.peek_messages(&q, 1).await.unwrap().is_empty()); // invisible now

    st.delete_message(&q, &got[0].message_id, &receipt)
        .await
        .unwrap();
    assert_eq!(st.approximate_message_count(&q).await.unwrap(), 0);

    // Read-only SAS cannot add; a tampered signature is refused.
    let read_only = url(
        az.queue,
        "conformq",
        &service_token(
            SasResource::Queue {
                queue: "conformq".into(),
            },
            "r",
        ),
    );
    assert_status(st.put_message(&read_only, "eA==", None, None).await, 403);
    let forged = url(az.queue, "conformq", &tamper(&sas));
    assert_status(st.peek_messages(&forged, 1).await, 403);
}

#[tokio::test]
async fn table_entities_round_trip() {
    let Some(az) = common::azurite() else { return };
    let st = storage();
    let admin = url(az.table, "IngestStatus", &account_token());
    st.create_table(&admin).await.unwrap();
    st.create_table(&admin).await.unwrap(); // already exists: fine

    let sas = service_token(
        SasResource::Table {
            table: "IngestStatus".into(),
        },
        "raud",
    );
    let t = url(az.table, "IngestStatus", &sas);
    // Keys may not hold `/ \\ # ?`; a quote and a space exercise the address escaping.
    let (pk, rk) = ("p'1", "r 1");
    let mut entity = Map::new();
    entity.insert("PartitionKey".into(), json!(pk));
    entity.insert("RowKey".into(), json!(rk));
    entity.insert("Status".into(), json!("Pending"));
    entity.insert("Attempts".into(), json!(1));
    st.insert_entity(&t, &entity).await.unwrap();
    match st.insert_entity(&t, &entity).await {
        Err(Error::Storage {
            status: 409, code, ..
        }) => assert_eq!(code, "EntityAlreadyExists"),
        other => panic!("expected 409, got {other:?}"),
    }

    let got = st.get_entity(&t, pk, rk).await.unwrap().unwrap();
    assert_eq!(got.get("Status"), Some(&Value::from("Pending")));
    assert_eq!(got.get("PartitionKey"), Some(&Value::from(pk)));

    let mut patch = Map::new();
    patch.insert("Status".into(), json!("Succeeded"));
    st.merge_entity(&t, pk, rk, &patch).await.unwrap();
    let got = st.get_entity(&t, pk, rk).await.unwrap().unwrap();
    assert_eq!(got.get("Status"), Some(&Value::from("Succeeded")));
    assert_eq!(got.get("Attempts"), Some(&Value::from(1)));

    assert_eq!(st.get_entity(&t, "nope", "nope").await.unwrap(), None);
    assert_status(st.merge_entity(&t, "nope", "nope", &patch).await, 404);

    let forged = url(az.table, "IngestStatus", &tamper(&sas));
    assert_status(st.get_entity(&forged, pk, rk).await, 403);
}

/// `kingest emulator --storage <Azurite>`: the emulator signs SAS URLs for Azurite's account,
/// clients upload and enqueue there, and the DM worker consumes from Azurite.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulator_runs_on_azurite_storage() {
    let Some(az) = common::azurite() else { return };
    let cfg = kingest::emulator::EmulatorConfig {
        storage: Some(az.connection_string()),
        ..Default::default()
    };
    let env = common::Env::start_with(cfg).await;
    let res = env.client.resources().await.unwrap();
    assert!(
        res.resources
            .iter()
            .all(|r| r.url.account() == "devstoreaccount1")
    );
    assert!(
        res.resources
            .iter()
            .all(|r| r.url.expose().contains(&format!(":{}/", az.queue))
                || r.url.expose().contains(&format!(":{}/", az.blob))
                || r.url.expose().contains(&format!(":{}/", az.table)))
    );
    let before = env.row_count("Events").await;
    let mut good = kingest::client::SubmitRequest::new(env.file("events.csv"), "demo", "Events");
    good.report_method = kingest::client::wire::ReportMethod::QueueAndTable;
    good.report_level = kingest::client::wire::ReportLevel::FailuresAndSuccesses;
    good.flush_immediately = true;
    let mut bad = good.clone();
    bad.path = env.file("bad-wrong-fields.csv");
    let good = env.submit(good).await;
    let bad = env.submit(bad).await;
    let g = env.final_status(&good).await;
    assert_eq!(
        g.status,
        Some(kingest::client::wire::IngestionStatus::Succeeded),
        "{g:?}"
    );
    let b = env.final_status(&bad).await;
    assert_eq!(
        b.error_code.as_deref(),
        Some("Stream_WrongNumberOfFields"),
        "{b:?}"
    );
    assert!(env.row_count("Events").await > before);
    let failures = env
        .client
        .peek(kingest::client::wire::NotificationKind::Failure, 32)
        .await
        .unwrap();
    assert!(
        failures
            .iter()
            .any(|m| m.source_id() == Some(bad.source_id.to_string().as_str()))
    );
    env.emulator.shutdown().await;
}
