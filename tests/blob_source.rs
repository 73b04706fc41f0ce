//! An existing blob as a source (`submit --blob URL [--raw-size N]`): no upload, RawDataSize
//! from the flag, the blob's metadata or its length (one HEAD), the SAS never shown.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Env, kingest, stdout};
use kingest::client::storage::SasUrl;
use kingest::client::submit::BlobSource;
use kingest::client::{ResourceKind, SubmitRequest};

const EVENTS: &[u8] = include_bytes!("../assets/demo/events.csv");

/// Puts `data` as `name` in the emulator's temp storage with `metadata` (x-ms-meta-*, as the
/// Azure Blob REST Put Blob takes it); returns the blob URL with the container's SAS.
async fn put(env: &Env, name: &str, data: &[u8], metadata: &[(&str, &str)]) -> SasUrl {
    let res = env.client.resources().await.unwrap();
    let blob = res
        .of_kind(ResourceKind::TempStorage)
        .next()
        .unwrap()
        .child(name);
    let mut req = reqwest::Client::new()
        .put(blob.expose())
        .header("x-ms-blob-type", "BlockBlob")
        .header("x-ms-version", "2025-07-05")
        .body(data.to_vec());
    for (k, v) in metadata {
        req = req.header(format!("x-ms-meta-{k}"), *v);
    }
    let r = req.send().await.unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    blob
}

fn blob_request(url: SasUrl, raw_size: Option<u64>) -> SubmitRequest {
    let mut r = SubmitRequest::new("", "demo", "Events");
    r.flush_immediately = true;
    r.report_method = kingest::client::wire::ReportMethod::Table;
    r.blob = Some(BlobSource { url, raw_size });
    r
}

#[tokio::test]
async fn raw_data_size_comes_from_the_flag_then_metadata_then_the_length() {
    let env = Env::start().await;
    let before = env.row_count("Events").await;
    let meta = put(
        &env,
        "meta.csv",
        EVENTS,
        &[
            ("rawSizeBytes", "777"),
            ("kustoUncompressedSizeBytes", "5000"),
        ],
    )
    .await;
    let legacy = put(&env, "legacy.csv", EVENTS, &[("rawSizeBytes", "777")]).await;
    let plain = put(&env, "plain.csv", EVENTS, &[]).await;
    let flag = put(
        &env,
        "flag.csv",
        EVENTS,
        &[("kustoUncompressedSizeBytes", "5000")],
    )
    .await;
    let cases = [
        (meta, None, 5000),
        (legacy, None, 777),
        (plain, None, EVENTS.len() as u64),
        (flag, Some(42), 42),
    ];
    let mut submitted = Vec::new();
    for (url, flag, want) in cases {
        let s = env.submit(blob_request(url.clone(), flag)).await;
        assert_eq!(s.raw_data_size, want, "{}", url.without_query());
        assert_eq!(s.uploaded_bytes, 0, "no upload");
        assert_eq!(
            s.queued().unwrap().blob,
            url,
            "the message names the given blob"
        );
        submitted.push(s);
    }
    for s in &submitted {
        let e = env.final_status(s).await;
        assert_eq!(e.status.unwrap().as_str(), "Succeeded", "{e:?}");
    }
    assert_eq!(env.row_count("Events").await, before + 4 * 25);
    env.emulator.shutdown().await;
}

#[tokio::test]
async fn a_missing_blob_is_a_clear_usage_error_before_anything_is_posted() {
    let env = Env::start().await;
    let res = env.client.resources().await.unwrap();
    let missing = res
        .of_kind(ResourceKind::TempStorage)
        .next()
        .unwrap()
        .child("nope.csv");
    let err = env
        .client
        .submit(blob_request(missing, None), std::sync::Arc::new(|_| {}))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
    // The CLI says so too, exit 2, the SAS not shown.
    let sig = "nope-signature-1234567890";
    let url = format!(
        "{}/kingestemu/tempstorage/nope.csv?sp=r&sig={sig}",
        env.emulator.url()
    );
    let out = kingest(
        &env,
        &["submit", "--blob", &url, "-d", "demo", "-t", "Events"],
    )
    .await;
    let all = format!("{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(!all.contains(sig), "{all}");
    let out = kingest(
        &env,
        &[
            "submit",
            "--blob",
            &url,
            "--raw-size",
            "1",
            "--raw-size",
            "2",
            "-d",
            "demo",
            "-t",
            "Events",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("one per blob"));
    env.emulator.shutdown().await;
}

#[tokio::test]
async fn the_cli_ingests_a_blob_and_waits_without_showing_its_sas() {
    let env = Env::start().await;
    let before = env.row_count("Events").await;
    let blob = put(&env, "cli.csv", EVENTS, &[]).await;
    let sig = blob.query_param("sig").unwrap();
    let out = kingest(
        &env,
        &[
            "submit",
            "--blob",
            blob.expose(),
            "-d",
            "demo",
            "-t",
            "Events",
            "--flush",
            "--wait",
            "60",
            "--json",
        ],
    )
    .await;
    let text = stdout(&out);
    let all = format!("{text}{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(!all.contains(&sig), "the SAS signature leaked: {all}");
    let v: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(v["status"], "Succeeded", "{v}");
    assert_eq!(v["raw_data_size"], EVENTS.len() as u64);
    assert_eq!(v["uploaded_bytes"], 0);
    assert_eq!(env.row_count("Events").await, before + 25);
    env.emulator.shutdown().await;
}

#[tokio::test]
async fn several_blobs_are_counted_in_the_report_and_bad_combinations_refused() {
    let env = Env::start().await;
    let a = put(&env, "many-a.csv", EVENTS, &[]).await;
    let b = put(&env, "many-b.csv", EVENTS, &[]).await;
    let before = env.row_count("Events").await;
    let target = ["-d", "demo", "-t", "Events"];
    let run = |extra: Vec<&str>| {
        let mut args = vec!["submit"];
        args.extend(extra);
        args.extend(target);
        args.into_iter().map(str::to_string).collect::<Vec<_>>()
    };
    let args = run(vec![
        "--blob",
        a.expose(),
        "--blob",
        b.expose(),
        "--flush",
        "--wait",
        "60",
    ]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = kingest(&env, &refs).await;
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("items discovered:              2"), "{err}");
    assert_eq!(env.row_count("Events").await, before + 50);
    // An existing blob cannot be streamed or ingested directly from here.
    for mode in ["streaming", "managed", "direct"] {
        let args = run(vec!["--blob", a.expose(), "--mode", mode]);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = kingest(&env, &refs).await;
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(out.status.code(), Some(2), "{mode}: {err}");
        assert!(err.contains("queued or rest-queued"), "{mode}: {err}");
    }
    // The same blob twice (its SAS not shown).
    let args = run(vec!["--blob", a.expose(), "--blob", a.expose()]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = kingest(&env, &refs).await;
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("given twice") && !err.contains("sig="),
        "{err}"
    );
    assert_eq!(
        env.row_count("Events").await,
        before + 50,
        "nothing more posted"
    );
    env.emulator.shutdown().await;
}
