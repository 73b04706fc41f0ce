//! Streaming, managed and direct ingestion over real HTTP against the emulator's engine
//! endpoint: `POST /v1/rest/ingest/{db}/{table}` with its limit, policy and cluster switch, the
//! managed mode's fallbacks and retries, `.ingest [async] into` with its rows, the CLI's output,
//! and the official Python SDK's streaming clients as an independent peer (`KINGEST_PYTHON`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use common::{Env, kingest, peer, stdout};
use kingest::client::mode::IngestMode;
use kingest::client::tracking::TrackState;
use kingest::client::wire::{IngestionStatus, ReportMethod};
use kingest::client::{Delivery, SubmitRequest, Submitted};
use kingest::emulator::EmulatorConfig;
use kingest::emulator::http::streaming::{LimitOn, StreamingConfig};

const EVENTS_ROWS: u64 = 25;

fn request(env: &Env, file: &str, table: &str, mode: IngestMode) -> SubmitRequest {
    let mut r = SubmitRequest::new(env.file(file), "demo", table);
    r.mode = mode;
    r.flush_immediately = true;
    r.report_method = ReportMethod::Table;
    r
}

async fn submit(env: &Env, req: SubmitRequest) -> Submitted {
    env.client
        .submit(req, Arc::new(|_| {}))
        .await
        .expect("submit")
}

async fn enable_streaming(env: &Env, table: &str) {
    env.client
        .engine_mgmt(
            "demo",
            &format!(".alter table {table} policy streamingingestion enable"),
        )
        .await
        .unwrap();
}

/// A managed submit of a demo file into Events.
async fn managed(env: &Env, file: &str) -> Submitted {
    submit(env, request(env, file, "Events", IngestMode::Managed)).await
}

/// `s` went queued for a reason naming `why`, and landed.
async fn queued_because(env: &Env, s: &Submitted, why: &str) {
    assert_eq!(s.delivery.path(), IngestMode::Queued, "{:?}", s.delivery);
    let reason = s.fallback.as_deref().unwrap_or_default();
    assert!(reason.contains(why), "{reason}");
    assert_eq!(
        env.final_status(s).await.status,
        Some(IngestionStatus::Succeeded)
    );
}

/// Streaming `file` into Events is answered Failed with `code`.
async fn stream_fails(env: &Env, file: &str, code: &str) {
    let s = submit(env, request(env, file, "Events", IngestMode::Streaming)).await;
    assert_eq!(
        answer_code(&s),
        (TrackState::Failed, Some(code.to_string()))
    );
}

fn answer_code(s: &Submitted) -> (TrackState, Option<String>) {
    let a = s.answer.as_ref().expect("an engine answer");
    (a.state, a.error.code.clone())
}

/// A raw streaming POST: (HTTP status, body as JSON).
async fn post(
    env: &Env,
    path_query: &str,
    body: Vec<u8>,
    gzip_header: bool,
) -> (u16, serde_json::Value) {
    let mut req = reqwest::Client::new()
        .post(format!(
            "{}/v1/rest/ingest/{path_query}",
            env.emulator.url()
        ))
        .body(body);
    if gzip_header {
        req = req.header("Content-Encoding", "gzip");
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(serde_json::Value::Null))
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_ingests_at_once_and_reports_the_records() {
    let env = Env::start().await;
    enable_streaming(&env, "Events").await;
    enable_streaming(&env, "Metrics").await;
    let before = env.row_count("Events").await;
    let s = submit(
        &env,
        request(&env, "events.csv", "Events", IngestMode::Streaming),
    )
    .await;
    assert!(
        matches!(
            s.delivery,
            Delivery::Streamed {
                consumed_records: EVENTS_ROWS
            }
        ),
        "{:?}",
        s.delivery
    );
    assert_eq!(answer_code(&s), (TrackState::Succeeded, None));
    // Visible at once: no batching, no tracking.
    assert_eq!(env.row_count("Events").await, before + EVENTS_ROWS);
    assert!(s.uploaded_bytes < s.raw_data_size, "the body is gzipped");

    // JSON through a named mapping.
    let mut r = request(&env, "metrics.json", "Metrics", IngestMode::Streaming);
    r.mapping_reference = Some("MetricsJson".into());
    let s = submit(&env, r).await;
    assert!(
        matches!(
            s.delivery,
            Delivery::Streamed {
                consumed_records: 20
            }
        ),
        "{:?}",
        s.delivery
    );

    // The emulator sniffs the body: gzip without the header, plain with it, a CamelCase
    // format (GO's spelling).
    let csv = std::fs::read(env.file("events.csv")).unwrap();
    let (st, v) = post(&env, "demo/Events?streamFormat=Csv", gzip(&csv), false).await;
    assert_eq!(
        (st, &v["Tables"][0]["Rows"][0][0]),
        (200, &serde_json::json!(25)),
        "{v}"
    );
    let (st, _) = post(&env, "demo/Events?streamFormat=csv", csv.clone(), true).await;
    assert_eq!(st, 200);

    // sourceKind=uri: the engine reads the blob itself (key in JAVA v2's casing).
    let res = env.client.resources().await.unwrap();
    let container = res
        .of_kind(kingest::client::ResourceKind::TempStorage)
        .next()
        .unwrap()
        .clone();
    let blob = container.child("uri-source.csv.gz");
    env.client
        .storage()
        .put_blob(&blob, gzip(&csv).into(), None)
        .await
        .unwrap();
    let body = serde_json::json!({ "SourceUri": blob.expose() }).to_string();
    let (st, v) = post(
        &env,
        "demo/Events?streamFormat=csv&sourceKind=uri",
        body.into_bytes(),
        false,
    )
    .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["Tables"][0]["Rows"][0][0], 25);
    assert_eq!(env.row_count("Events").await, before + 4 * EVENTS_ROWS);
    env.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_refusals_have_the_services_status_and_code() {
    let env = Env::start().await;
    // Policy off (the default): 400 BadRequest_StreamingIngestionPolicyNotEnabled.
    let csv = std::fs::read(env.file("events.csv")).unwrap();
    let (st, v) = post(&env, "demo/Events?streamFormat=csv", gzip(&csv), true).await;
    assert_eq!(st, 400);
    assert_eq!(
        v["error"]["code"],
        "BadRequest_StreamingIngestionPolicyNotEnabled"
    );
    assert_eq!(v["error"]["@permanent"], true);
    stream_fails(
        &env,
        "events.csv",
        "BadRequest_StreamingIngestionPolicyNotEnabled",
    )
    .await;

    // The database's policy enables it; the table's overrides the database's.
    let status_after = |csl: &'static str| {
        let (env, body) = (&env, gzip(&csv));
        async move {
            env.client.engine_mgmt("demo", csl).await.unwrap();
            post(env, "demo/Events?streamFormat=csv", body, true)
                .await
                .0
        }
    };
    assert_eq!(
        status_after(".alter database demo policy streamingingestion enable").await,
        200
    );
    assert_eq!(
        status_after(".alter table Events policy streamingingestion disable").await,
        400
    );
    enable_streaming(&env, "Events").await;

    // Empty and malformed data: 400 with the OneApi shape of a live cluster.
    let (st, v) = post(&env, "demo/Events?streamFormat=csv", gzip(b""), true).await;
    assert_eq!(st, 400);
    assert_eq!(v["error"]["code"], "Stream_NoDataToIngest");
    assert_eq!(
        v["error"]["message"],
        "Request is invalid and cannot be executed."
    );
    assert_eq!(
        v["error"]["@type"],
        "Kusto.DataNode.Exceptions.StreamingIngestionRequestException"
    );
    assert!(
        v["error"]["@message"]
            .as_str()
            .unwrap()
            .contains("demo.Events"),
        "{v}"
    );
    stream_fails(&env, "bad-wrong-fields.csv", "Stream_WrongNumberOfFields").await;
    let (st, v) = post(&env, "demo/Nope?streamFormat=csv", gzip(&csv), true).await;
    assert_eq!(
        (st, &v["error"]["code"]),
        (400, &serde_json::json!("BadRequest_TableNotExist"))
    );
    let (st, _) = post(&env, "demo/Events", gzip(&csv), true).await;
    assert_eq!(st, 400, "no streamFormat");

    // What streaming cannot carry is refused before anything is sent.
    let mut r = request(&env, "events.csv", "Events", IngestMode::Streaming);
    r.tags = vec!["a".into()];
    let err = env
        .client
        .submit(r, Arc::new(|_| {}))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("tags") && err.contains("--mode queued"),
        "{err}"
    );
    env.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cluster_switch_is_a_404_and_the_limit_a_413() {
    let off = Env::start_with(EmulatorConfig {
        streaming: StreamingConfig {
            enabled: false,
            ..StreamingConfig::default()
        },
        ..EmulatorConfig::default()
    })
    .await;
    enable_streaming(&off, "Events").await;
    let csv = std::fs::read(off.file("events.csv")).unwrap();
    let (st, v) = post(&off, "demo/Events?streamFormat=csv", gzip(&csv), true).await;
    assert_eq!(
        (st, &v["error"]["code"]),
        (
            404,
            &serde_json::json!("StreamingIngestionFunctionalityDisabled")
        )
    );
    stream_fails(
        &off,
        "events.csv",
        "StreamingIngestionFunctionalityDisabled",
    )
    .await;
    off.emulator.shutdown().await;

    // 1 KiB of data at most: events.csv (1.6 KiB) is over it once decompressed, though its
    // gzip body is not.
    let small = Env::start_with(EmulatorConfig {
        streaming: StreamingConfig {
            limit: 1024,
            ..StreamingConfig::default()
        },
        ..EmulatorConfig::default()
    })
    .await;
    enable_streaming(&small, "Events").await;
    let body = gzip(&csv);
    assert!(body.len() < 1024 && csv.len() > 1024);
    let (st, v) = post(&small, "demo/Events?streamFormat=csv", body.clone(), true).await;
    assert_eq!(
        (st, &v["error"]["code"]),
        (413, &serde_json::json!("PayloadTooLarge"))
    );
    stream_fails(&small, "events.csv", "PayloadTooLarge").await;
    small.emulator.shutdown().await;

    // Measuring the body instead lets the same request through.
    let wire = Env::start_with(EmulatorConfig {
        streaming: StreamingConfig {
            limit: 1024,
            limit_on: LimitOn::Body,
            ..StreamingConfig::default()
        },
        ..EmulatorConfig::default()
    })
    .await;
    enable_streaming(&wire, "Events").await;
    assert_eq!(
        post(&wire, "demo/Events?streamFormat=csv", body, true)
            .await
            .0,
        200
    );
    assert_eq!(
        post(&wire, "demo/Events?streamFormat=csv", csv, false)
            .await
            .0,
        413
    );
    wire.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_streams_small_sources_and_queues_the_rest() {
    let env = Env::start().await;
    // Streaming unavailable (the policy is off): queued, and it lands.
    let s = managed(&env, "events.csv").await;
    queued_because(&env, &s, "not enabled").await;

    enable_streaming(&env, "Events").await;
    let before = env.row_count("Events").await;
    let s = managed(&env, "events.csv").await;
    assert_eq!(s.delivery.path(), IngestMode::Streaming);
    assert_eq!((s.mode, s.fallback.clone()), (IngestMode::Managed, None));
    assert_eq!(env.row_count("Events").await, before + EVENTS_ROWS);

    // Over 4 MiB uncompressed: queued without a streaming attempt.
    let big = env.dir.path().join("big.csv");
    std::fs::write(&big, common::noise_events(60_000)).unwrap();
    assert!(std::fs::metadata(&big).unwrap().len() > 4 * 1024 * 1024);
    let mut r = request(&env, "events.csv", "Events", IngestMode::Managed);
    r.path = big;
    let s = submit(&env, r).await;
    queued_because(&env, &s, "streaming limit").await;

    // Transient failures are retried (two 503s, then it streams)…
    env.emulator.faults().fail_next(2);
    let s = managed(&env, "events.csv").await;
    assert_eq!(s.delivery.path(), IngestMode::Streaming, "{:?}", s.fallback);
    // …and after three the source goes queued.
    env.emulator.faults().fail_next(3);
    let s = managed(&env, "events.csv").await;
    queued_because(&env, &s, "3 times").await;

    // A permanent refusal of the data is the answer: queued would fail the same way.
    let s = managed(&env, "bad-wrong-fields.csv").await;
    assert_eq!(s.delivery.path(), IngestMode::Streaming);
    assert_eq!(
        answer_code(&s),
        (
            TrackState::Failed,
            Some("Stream_WrongNumberOfFields".into())
        )
    );
    env.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_queues_what_the_service_finds_too_large() {
    let env = Env::start_with(EmulatorConfig {
        streaming: StreamingConfig {
            limit: 1024,
            ..StreamingConfig::default()
        },
        ..EmulatorConfig::default()
    })
    .await;
    enable_streaming(&env, "Events").await;
    let s = managed(&env, "events.csv").await;
    assert_eq!(s.delivery.path(), IngestMode::Queued);
    let why = s.fallback.clone().unwrap();
    assert!(why.contains("PayloadTooLarge"), "{why}");
    assert_eq!(
        env.final_status(&s).await.status,
        Some(IngestionStatus::Succeeded)
    );
    env.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_ingestion_returns_its_rows() {
    let env = Env::start().await;
    let before = env.row_count("Events").await;
    let s = submit(
        &env,
        request(&env, "events.csv", "Events", IngestMode::Direct),
    )
    .await;
    let Delivery::Direct { blob, rows } = &s.delivery else {
        panic!("{:?}", s.delivery);
    };
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = &rows[0];
    assert!(!row.has_errors);
    assert_ne!(row.extent_id, uuid::Uuid::nil().to_string());
    uuid::Uuid::parse_str(&row.operation_id).unwrap();
    assert_eq!(row.item_loaded, blob.without_query());
    assert!(row.duration.starts_with("00:00:"), "{}", row.duration);
    assert_eq!(answer_code(&s), (TrackState::Succeeded, None));
    // Synchronous: the rows are there when the command returns.
    assert_eq!(env.row_count("Events").await, before + EVENTS_ROWS);
    let extents = env
        .client
        .engine_mgmt("demo", ".show table Events extents")
        .await
        .unwrap();
    assert!(
        extents[0]
            .column("ExtentId")
            .any(|v| v.and_then(|v| v.as_str()) == Some(row.extent_id.as_str())),
        "the extent is the table's: {extents:?}"
    );

    // Properties travel: a header skipped with ignoreFirstRecord through a named mapping.
    let mut r = request(&env, "events-header.csv", "Events", IngestMode::Direct);
    r.ignore_first_record = true;
    r.mapping_reference = Some("EventsCsv".into());
    let s = submit(&env, r).await;
    assert_eq!(answer_code(&s), (TrackState::Succeeded, None));
    // events-header.csv: a header and 15 records.
    assert_eq!(env.row_count("Events").await, before + EVENTS_ROWS + 15);

    // Bad data: the command fails with the ingestion error code; the source is Failed.
    let s = submit(
        &env,
        request(&env, "bad-wrong-fields.csv", "Events", IngestMode::Direct),
    )
    .await;
    assert_eq!(
        answer_code(&s),
        (
            TrackState::Failed,
            Some("Stream_WrongNumberOfFields".into())
        )
    );

    // `.ingest async into` answers the operation at once; `.show operations` follows it.
    let blob = match &submit(
        &env,
        request(&env, "events.csv", "Events", IngestMode::Direct),
    )
    .await
    .delivery
    {
        Delivery::Direct { blob, .. } => blob.clone(),
        other => panic!("{other:?}"),
    };
    let t = env
        .client
        .engine_mgmt(
            "demo",
            &format!(
                ".ingest async into table Events (h'{}') with (format='csv')",
                blob.expose()
            ),
        )
        .await
        .unwrap();
    let id = t[0].rows[0][0].as_str().unwrap().to_string();
    let mut state = String::new();
    for _ in 0..100 {
        let ops = env
            .client
            .engine_mgmt("demo", &format!(".show operations {id}"))
            .await
            .unwrap();
        state = ops[0]
            .column("State")
            .next()
            .flatten()
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string();
        if state != "InProgress" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(state, "Completed");
    assert_eq!(env.row_count("Events").await, before + 3 * EVENTS_ROWS + 15);
    env.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_prints_each_modes_outcome_with_the_queued_exit_codes() {
    let env = Env::start().await;
    let file = env.file("events.csv");
    let file = file.to_str().unwrap();
    let args =
        |mode: &'static str| vec!["submit", "-d", "demo", "-t", "Events", "--mode", mode, file];
    // Policy off: streaming fails (exit 1, the code of a failed ingestion), managed queues.
    let out = kingest(&env, &args("streaming")).await;
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("BadRequest_StreamingIngestionPolicyNotEnabled"),
        "{}",
        stdout(&out)
    );
    let out = kingest(&env, &args("managed")).await;
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stdout(&out).contains("path: queued (mode managed)"),
        "{}",
        stdout(&out)
    );

    enable_streaming(&env, "Events").await;
    let mut json = args("streaming");
    json.insert(1, "--json");
    let out = kingest(&env, &json).await;
    assert_eq!(out.status.code(), Some(0));
    let line: serde_json::Value =
        serde_json::from_str(stdout(&out).lines().last().unwrap()).unwrap();
    assert_eq!(line["status"], "Succeeded");
    assert_eq!(line["mode"], "streaming");
    assert_eq!(line["consumed_records"], 25);

    let out = kingest(&env, &args("direct")).await;
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(
        text.contains("ExtentId") && text.contains("HasErrors") && text.contains("false"),
        "{text}"
    );
    assert!(!text.contains("sig="), "no SAS on screen: {text}");
    env.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_sdks_streaming_clients_ingest_through_the_engine_endpoint() {
    let Some(python) = peer("KINGEST_PYTHON", "python SDK streaming conformance") else {
        return;
    };
    let env = Env::start().await;
    env.client
        .engine_mgmt(
            "demo",
            ".alter database demo policy streamingingestion enable",
        )
        .await
        .unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/sdk_streaming.py");
    for mode in ["streaming", "managed"] {
        let out = tokio::process::Command::new(&python)
            .args([
                script,
                env.emulator.url(),
                "demo",
                env.file("events.csv").to_str().unwrap(),
                env.file("metrics.json").to_str().unwrap(),
                mode,
            ])
            .output()
            .await
            .expect("python runs");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{mode}: {:?}\nstdout: {text}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let line: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
        assert_eq!(line["added"]["Events"], 25, "{mode}: {line}");
        assert_eq!(line["added"]["Metrics"], 20, "{mode}: {line}");
        assert!(
            line["statuses"]
                .as_array()
                .unwrap()
                .iter()
                .all(|s| s == "IngestionStatus.SUCCESS"),
            "{mode}: {line}"
        );
    }
    env.emulator.shutdown().await;
}
