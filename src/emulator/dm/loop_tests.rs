//! The worker loop over real HTTP against a minimal fake of the storage endpoints it uses
//! (Get/Put/Delete Message, Get/Delete Blob), on 127.0.0.1:0.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes as Body;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio_util::sync::CancellationToken;

use super::*;
use crate::client::retry::RetryPolicy;
use crate::client::wire::decode_notification;

#[derive(Default)]
struct Fake {
    /// queue name → message texts not yet dequeued.
    queues: HashMap<String, Vec<String>>,
    /// queue name → texts posted by the worker.
    posted: HashMap<String, Vec<String>>,
    blobs: HashMap<String, Vec<u8>>,
    deleted_messages: Vec<String>,
    deleted_blobs: Vec<String>,
}

type Shared = Arc<Mutex<Fake>>;

const EMPTY_LIST: &str =
    "<?xml version=\"1.0\" encoding=\"utf-8\"?><QueueMessagesList></QueueMessagesList>";

fn message_xml(id: &str, text: &str) -> String {
    format!(
        "<QueueMessage><MessageId>{id}</MessageId><InsertionTime>Wed, 01 Jan 2025 00:00:00 GMT</InsertionTime>\
         <ExpirationTime>Wed, 08 Jan 2025 00:00:00 GMT</ExpirationTime><PopReceipt>pr-{id}</PopReceipt>\
         <TimeNextVisible>Wed, 01 Jan 2025 00:05:00 GMT</TimeNextVisible><DequeueCount>1</DequeueCount>\
         <MessageText>{text}</MessageText></QueueMessage>"
    )
}

/// Downloads of blobs named `gate-*` wait here until this many are in flight at once.
static GATE: std::sync::OnceLock<tokio::sync::Barrier> = std::sync::OnceLock::new();
const GATED: usize = 4;

async fn handle(State(s): State<Shared>, req: Request) -> Response {
    let method = req.method().clone();
    if method == Method::GET && req.uri().path().contains("/gate-") {
        GATE.get_or_init(|| tokio::sync::Barrier::new(GATED))
            .wait()
            .await;
    }
    // Path-style: /acct/<queue or container>[/messages | /blob…]
    let path: Vec<String> = req
        .uri()
        .path()
        .split('/')
        .skip(2)
        .map(String::from)
        .collect();
    let body = axum::body::to_bytes(req.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    let mut f = s.lock().unwrap();
    let first = path.first().cloned().unwrap_or_default();
    match (method, path.get(1).map(String::as_str)) {
        (Method::GET, Some("messages")) => {
            let msgs = f.queues.entry(first.clone()).or_default();
            let items: String = msgs
                .drain(..)
                .enumerate()
                .map(|(i, t)| message_xml(&format!("{first}-{i}"), &t))
                .collect();
            let xml = format!("<?xml version=\"1.0\" encoding=\"utf-8\"?><QueueMessagesList>{items}</QueueMessagesList>");
            (StatusCode::OK, xml).into_response()
        }
        (Method::POST, Some("messages")) => {
            let text = String::from_utf8_lossy(&body);
            let inner = text
                .split("<MessageText>")
                .nth(1)
                .and_then(|t| t.split("</MessageText>").next())
                .unwrap_or_default()
                .to_string();
            f.posted.entry(first).or_default().push(inner);
            (StatusCode::CREATED, EMPTY_LIST.replace("</QueueMessagesList>", &format!("{}</QueueMessagesList>", message_xml("new", "")))).into_response()
        }
        (Method::DELETE, Some("messages")) => {
            f.deleted_messages.push(path.get(2).cloned().unwrap_or_default());
            StatusCode::NO_CONTENT.into_response()
        }
        (Method::GET, Some(blob)) => match f.blobs.get(&format!("{first}/{blob}")) {
            Some(b) => (StatusCode::OK, Body::from(b.clone())).into_response(),
            None => (
                StatusCode::NOT_FOUND,
                [("x-ms-error-code", "BlobNotFound")],
                "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>BlobNotFound</Code><Message>no</Message></Error>",
            )
                .into_response(),
        },
        (Method::DELETE, Some(blob)) => {
            f.deleted_blobs.push(format!("{first}/{blob}"));
            StatusCode::ACCEPTED.into_response()
        }
        _ => StatusCode::BAD_REQUEST.into_response(),
    }
}

fn ingestion_message(base: &str, id: &str, blob: &str, level: u8) -> String {
    let v = serde_json::json!({
        "Id": id, "BlobPath": format!("{base}/tmp/{blob}?sv=1&sig=SECRET"),
        "DatabaseName": "demo", "TableName": "Events", "FlushImmediately": true,
        "ReportLevel": level, "ReportMethod": 0,
        "AdditionalProperties": {"authorizationContext": "good", "format": "csv"}
    });
    IngestionMessage::from_value(&v).unwrap().to_queue_text()
}

/// The fake storage on 127.0.0.1:0: its base URL, the stop token, the server task.
async fn serve(
    state: &Shared,
) -> (
    String,
    CancellationToken,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let app = axum::Router::new()
        .fallback(handle)
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/acct", listener.local_addr().unwrap());
    let stop = CancellationToken::new();
    let server_stop = stop.clone();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move { server_stop.cancelled().await })
            .await
    });
    (base, stop, server)
}

fn worker_config(base: &str, engine: &Arc<Mutex<Engine>>) -> DmConfig {
    let url = |name: &str| SasUrl::parse(&format!("{base}/{name}?sv=1&sig=SECRET")).unwrap();
    DmConfig {
        storage: Storage::new(reqwest::Client::new(), RetryPolicy::none()),
        ingest_queues: vec![url("ingest")],
        success_queues: vec![url("ok")],
        failure_queues: vec![url("failed1"), url("failed2")],
        engine: engine.clone(),
        blob_admin: Arc::new(|u: &SasUrl| Some(u.clone())),
        token_check: Arc::new(|t: &str| t == "good"),
        faults: Arc::new(crate::emulator::faults::Faults::new()),
        metrics: Arc::new(crate::emulator::metrics::Metrics::new()),
        retry: RetrySettings::default(),
        own_account: "acct".into(),
        poll_interval: Duration::from_millis(20),
        notification_ttl: None,
        bulk: Default::default(),
    }
}

fn demo_engine() -> Arc<Mutex<Engine>> {
    let mut engine = Engine::new();
    engine
        .load_script(include_str!("../../../assets/demo/schema.kql"))
        .unwrap();
    Arc::new(Mutex::new(engine))
}

/// Waits (bounded by a count of polls, not by asserting on time) until `n` messages are
/// deleted, then stops the worker and the server.
async fn settle(
    state: &Shared,
    n: usize,
    stop: CancellationToken,
    worker: tokio::task::JoinHandle<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
) {
    for _ in 0..500 {
        if state.lock().unwrap().deleted_messages.len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.cancel();
    // A worker stuck on a request is left behind (the assertions then fail), not awaited.
    if let Ok(joined) = tokio::time::timeout(Duration::from_secs(5), worker).await {
        joined.unwrap();
    }
    let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
}

#[tokio::test]
async fn worker_ingests_reports_and_cleans_up() {
    let state: Shared = Arc::default();
    let (base, stop, server) = serve(&state).await;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, include_bytes!("../../../assets/demo/events.csv")).unwrap();
    {
        let mut f = state.lock().unwrap();
        f.blobs
            .insert("tmp/good.csv.gz".into(), gz.finish().unwrap());
        f.blobs.insert(
            "tmp/bad.csv".into(),
            include_bytes!("../../../assets/demo/bad-wrong-fields.csv").to_vec(),
        );
        f.queues.insert(
            "ingest".into(),
            vec![
                ingestion_message(&base, "s-good", "good.csv.gz", 2),
                ingestion_message(&base, "s-bad", "bad.csv", 0),
                ingestion_message(&base, "s-missing", "missing.csv", 0),
                "not a message".into(),
            ],
        );
    }
    let engine = demo_engine();
    let worker = tokio::spawn(run(worker_config(&base, &engine), stop.clone()));
    settle(&state, 4, stop, worker, server).await;

    let f = state.lock().unwrap();
    assert_eq!(f.deleted_messages.len(), 4, "every message is deleted");
    assert_eq!(engine.lock().unwrap().row_count("demo", "Events"), Some(25));
    assert_eq!(f.deleted_blobs, vec!["tmp/good.csv.gz".to_string()]);
    let ok = &f.posted["ok"];
    assert_eq!(ok.len(), 1);
    let n = decode_notification(&ok[0]).notification.unwrap();
    assert_eq!(n.ingestion_source_id.as_deref(), Some("s-good"));
    assert_eq!(
        n.ingestion_source_path.as_deref(),
        Some(format!("{base}/tmp/good.csv.gz").as_str())
    );
    let failures: Vec<Notification> = ["failed1", "failed2"]
        .iter()
        .flat_map(|q| f.posted.get(*q).cloned().unwrap_or_default())
        .map(|t| decode_notification(&t).notification.unwrap())
        .collect();
    assert_eq!(failures.len(), 3);
    // Round-robin over both failure queues.
    assert!(f.posted.contains_key("failed1") && f.posted.contains_key("failed2"));
    let code_of = |id: &str| {
        failures
            .iter()
            .find(|n| n.ingestion_source_id.as_deref() == Some(id))
            .and_then(|n| n.error_code.clone())
    };
    assert_eq!(
        code_of("s-bad").as_deref(),
        Some("Stream_WrongNumberOfFields")
    );
    assert_eq!(
        code_of("s-missing").as_deref(),
        Some("Download_SourceNotFound")
    );
    assert_eq!(
        code_of(NIL_GUID).as_deref(),
        Some("BadRequest_CorruptedMessage")
    );
    for n in &failures {
        let text = serde_json::to_string(n).unwrap();
        assert!(!text.contains("SECRET"), "{text}");
    }
    let shown = engine
        .lock()
        .unwrap()
        .execute(Some("demo"), ".show ingestion failures", Utc::now())
        .unwrap();
    assert_eq!(shown.rows.len(), 2);
}

/// The sources of sealed batches are attempted at once: each gated download waits until all
/// four are in flight, so a worker taking one source at a time would never finish one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sources_of_due_batches_download_concurrently() {
    let state: Shared = Arc::default();
    let (base, stop, server) = serve(&state).await;
    {
        let mut f = state.lock().unwrap();
        let mut texts = vec![];
        for i in 0..GATED {
            f.blobs.insert(
                format!("tmp/gate-{i}.csv"),
                format!("2025-01-01,Info,svc,m{i},{i}\n").into_bytes(),
            );
            texts.push(ingestion_message(
                &base,
                &format!("s-{i}"),
                &format!("gate-{i}.csv"),
                2,
            ));
        }
        f.queues.insert("ingest".into(), texts);
    }
    let engine = demo_engine();
    let worker = tokio::spawn(run(worker_config(&base, &engine), stop.clone()));
    settle(&state, GATED, stop, worker, server).await;
    assert_eq!(state.lock().unwrap().deleted_messages.len(), GATED);
    assert_eq!(
        engine.lock().unwrap().row_count("demo", "Events"),
        Some(GATED as u64)
    );
    assert_eq!(state.lock().unwrap().posted["ok"].len(), GATED);
}
