//! The emulator's injected faults over real HTTP, one fault at a time (`kingest emulator
//! --faults SPEC`, `.set emulator faults`), and the counters that say what was injected and
//! what was served (`.show emulator metrics`, `GET /metrics`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::Env;
use kingest::client::ResourceKind;
use kingest::client::storage::SasUrl;
use kingest::client::wire::{IngestionStatus, NotificationKind, ReportLevel, ReportMethod};
use kingest::client::{IngestClient, SubmitRequest};
use kingest::emulator::faults::FaultConfig;
use kingest::emulator::metrics::Origin;

fn set(env: &Env, spec: &str) {
    env.emulator.faults().set(FaultConfig::parse(spec).unwrap());
}

/// The success queue with rights to add and peek (the issued SAS has `rp` only).
async fn success_queue(client: &IngestClient) -> SasUrl {
    let res = client.refresh_resources().await.unwrap();
    let q = res
        .of_kind(ResourceKind::SuccessfulIngestionsQueue)
        .next()
        .unwrap();
    common::resign(q, "raup")
}

fn messages_url(q: &SasUrl, extra: &str) -> String {
    let (base, query) = q.expose().split_once('?').unwrap();
    format!("{base}/messages?{extra}{query}")
}

const ENVELOPE: &str = "<QueueMessage><MessageText>aGVsbG8=</MessageText></QueueMessage>";

async fn peek_count(http: &reqwest::Client, q: &SasUrl) -> usize {
    let body = http
        .get(messages_url(q, "peekonly=true&numofmessages=32&"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    body.matches("<QueueMessage>").count()
}

/// An exchange that did not complete: no response, or a body that broke off.
async fn broken(r: reqwest::Result<reqwest::Response>) -> bool {
    match r {
        Err(_) => true,
        Ok(r) => r.bytes().await.is_err(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http5xx_is_a_503_with_retry_after_on_storage_and_mgmt() {
    let env = Env::start().await;
    let q = success_queue(&env.client).await;
    let http = reqwest::Client::new();
    set(&env, "http5xx=1,retry-after=2");
    let r = http
        .post(messages_url(&q, ""))
        .body(ENVELOPE)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["retry-after"], "2");
    assert_eq!(r.headers()["x-ms-error-code"], "ServerBusy");
    assert!(r.text().await.unwrap().contains("<Code>ServerBusy</Code>"));
    let r = http
        .post(format!("{}/v1/rest/mgmt", env.emulator.url()))
        .json(&serde_json::json!({"db": "demo", "csl": ".show tables"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["retry-after"], "2");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "ServiceUnavailable");
    set(&env, "none");
    assert_eq!(peek_count(&http, &q).await, 0, "a 503 stored nothing");
    assert_eq!(env.emulator.faults().injected()["http5xx"], 2);
    env.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_after_handling_lands_the_message_reset_before_does_not() {
    let env = Env::start().await;
    let q = success_queue(&env.client).await;
    let http = reqwest::Client::new();
    set(&env, "reset=1");
    let r = http.post(messages_url(&q, "")).body(ENVELOPE).send().await;
    assert!(broken(r).await, "the answer must break off");
    set(&env, "none");
    assert_eq!(peek_count(&http, &q).await, 1, "handled, so it landed");
    set(&env, "reset-before=1");
    let r = http.post(messages_url(&q, "")).body(ENVELOPE).send().await;
    assert!(broken(r).await);
    set(&env, "none");
    assert_eq!(
        peek_count(&http, &q).await,
        1,
        "not handled, so nothing new"
    );
    // Even an answer without a body (Clear Messages: 204) never arrives.
    set(&env, "reset-before=1");
    let r = http.delete(messages_url(&q, "")).send().await;
    assert!(
        broken(r).await,
        "a reset before handling must not look like a 204"
    );
    set(&env, "none");
    assert_eq!(peek_count(&http, &q).await, 1, "not cleared");
    let injected = env.emulator.faults().injected();
    assert_eq!((injected["reset"], injected["reset-before"]), (1, 2));
    env.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_delays_every_request() {
    let env = Env::start().await;
    let q = success_queue(&env.client).await;
    let http = reqwest::Client::new();
    set(&env, "latency=300ms");
    let started = Instant::now();
    assert_eq!(peek_count(&http, &q).await, 0);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(env.emulator.faults().injected()["latency"], 1);
    env.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stall_holds_until_the_client_gives_up_and_shutdown_releases_it() {
    let env = Env::start().await;
    let q = success_queue(&env.client).await;
    set(&env, "stall=1");
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(400))
        .build()
        .unwrap();
    let e = impatient
        .get(messages_url(&q, "peekonly=true&"))
        .send()
        .await
        .unwrap_err();
    assert!(e.is_timeout(), "{e}");
    // A patient client waits until the emulator stops; then the exchange breaks.
    let url = messages_url(&q, "peekonly=true&");
    let patient = tokio::spawn(async move { reqwest::Client::new().get(url).send().await });
    while env.emulator.faults().injected()["stall"] < 2 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!patient.is_finished());
    env.emulator.shutdown().await;
    assert!(broken(patient.await.unwrap()).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_body_trickles_the_same_answer() {
    let env = Env::start().await;
    let q = success_queue(&env.client).await;
    let http = reqwest::Client::new();
    for _ in 0..3 {
        let r = http.post(messages_url(&q, "")).body(ENVELOPE).send().await;
        assert_eq!(r.unwrap().status(), 201);
    }
    let url = messages_url(&q, "peekonly=true&numofmessages=32&");
    let whole = http.get(&url).send().await.unwrap().text().await.unwrap();
    set(&env, "slow-body=1");
    let mut r = http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let mut pieces = 0;
    let mut body = Vec::new();
    while let Some(chunk) = r.chunk().await.unwrap() {
        pieces += 1;
        body.extend_from_slice(&chunk);
    }
    assert!(pieces >= 2, "{pieces} piece(s)");
    let trickled = String::from_utf8(body).unwrap();
    // Same messages; only the time stamps of the answer could differ.
    assert_eq!(
        trickled.matches("<MessageId>").count(),
        whole.matches("<MessageId>").count()
    );
    assert_eq!(trickled.len(), whole.len());
    assert_eq!(env.emulator.faults().injected()["slow-body"], 1);
    env.emulator.shutdown().await;
}

fn events(env: &Env) -> SubmitRequest {
    let mut r = SubmitRequest::new(env.file("events.csv"), "demo", "Events");
    r.report_level = ReportLevel::FailuresAndSuccesses;
    r.report_method = ReportMethod::Table;
    r
}

fn event_lines(env: &Env) -> u64 {
    std::fs::read_to_string(env.file("events.csv"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count() as u64
}

fn sample(env: &Env, name: &str) -> u64 {
    env.emulator
        .metrics()
        .iter()
        .filter(|s| s.name == name)
        .map(|s| s.value)
        .sum()
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..300 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what} never happened");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_delivery_ingests_again_in_a_later_batch_unless_ingest_if_not_exists() {
    let env = Env::start().await;
    let n = event_lines(&env);
    set(&env, "duplicate-delivery=1");
    let s = env.submit(events(&env)).await;
    assert_eq!(
        env.final_status(&s).await.status,
        Some(IngestionStatus::Succeeded)
    );
    wait_for("the repeat ingestion", || {
        sample(&env, "kingest_emulator_repeat_ingestions_total") == 1
    })
    .await;
    assert_eq!(env.row_count("Events").await, 2 * n, "ingested twice");
    assert_eq!(sample(&env, "kingest_emulator_repeat_rows_total"), n);
    assert_eq!(env.emulator.faults().injected()["duplicate-delivery"], 1);

    // With an ingest-by tag and ingestIfNotExists the second copy is skipped.
    let mut r = events(&env);
    r.tags = vec!["ingest-by:events-once".into()];
    r.ingest_if_not_exists = vec!["events-once".into()];
    let s = env.submit(r).await;
    env.final_status(&s).await;
    wait_for("the second delivery", || {
        env.emulator
            .metrics()
            .iter()
            .any(|s| s.labels.iter().any(|(_, v)| v == "Skipped"))
    })
    .await;
    assert_eq!(env.row_count("Events").await, 3 * n);
    assert_eq!(sample(&env, "kingest_emulator_repeat_ingestions_total"), 1);
    env.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dm_is_not_behind_the_clients_faults() {
    let env = Env::start().await;
    let s = env.submit(events(&env)).await;
    // Every client request fails from now on; the DM still ingests and reports.
    set(&env, "http5xx=1");
    let n = event_lines(&env);
    wait_for("the ingestion", || {
        let engine = env.emulator.engine.lock().unwrap();
        engine.row_count("demo", "Events") == Some(n)
    })
    .await;
    assert!(
        env.client
            .table_status(s.status_ref().unwrap())
            .await
            .is_err()
    );
    set(&env, "none");
    assert_eq!(
        env.final_status(&s).await.status,
        Some(IngestionStatus::Succeeded)
    );
    env.emulator.shutdown().await;
}

/// `.show emulator metrics` as (metric, labels, value).
async fn metrics_rows(env: &Env) -> Vec<(String, String, u64)> {
    let t = env
        .client
        .mgmt("demo", ".show emulator metrics")
        .await
        .unwrap()
        .remove(0);
    let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["Metric", "Labels", "Value"]);
    t.rows
        .iter()
        .map(|r| {
            (
                r[0].as_str().unwrap().to_string(),
                r[1].as_str().unwrap().to_string(),
                r[2].as_u64().unwrap(),
            )
        })
        .collect()
}

fn client_storage_sum(rows: &[(String, String, u64)], service: &str, operation: &str) -> u64 {
    rows.iter()
        .filter(|(m, l, _)| {
            m == "kingest_emulator_storage_requests_total"
                && l.contains(&format!("service=\"{service}\""))
                && l.contains(&format!("operation=\"{operation}\""))
                && l.contains("origin=\"client\"")
        })
        .map(|(_, _, v)| v)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_are_exact_for_one_submit_with_one_injected_503() {
    let env = Env::start().await;
    env.client.resources().await.unwrap();
    // The first client request after this one gets a 503; the client retries it.
    env.emulator.faults().fail_next(1);
    let s = env.submit(events(&env)).await;
    assert_eq!(
        env.final_status(&s).await.status,
        Some(IngestionStatus::Succeeded)
    );
    let rows = metrics_rows(&env).await;
    assert_eq!(client_storage_sum(&rows, "blob", "PutBlob"), 2, "{rows:#?}");
    assert_eq!(client_storage_sum(&rows, "table", "InsertEntity"), 1);
    assert_eq!(client_storage_sum(&rows, "queue", "PutMessage"), 1);
    assert_eq!(client_storage_sum(&rows, "queue", "GetMessages"), 0);
    // Per queue: the message went to exactly one of the two ingestion queues.
    let queue = s.queued().unwrap().queue.object_name();
    assert_eq!(
        env.emulator
            .counters()
            .storage_count("queue", &queue, "PutMessage", Origin::Client),
        1
    );
    let value = |metric: &str, labels: &str| {
        rows.iter()
            .find(|(m, l, _)| m == metric && l == labels)
            .map(|(_, _, v)| *v)
    };
    assert_eq!(
        value("kingest_emulator_faults_injected_total", "kind=\"http5xx\""),
        Some(1)
    );
    let n = event_lines(&env);
    assert_eq!(value("kingest_emulator_rows_ingested_total", ""), Some(n));
    assert_eq!(
        value(
            "kingest_emulator_ingest_results_total",
            "result=\"Succeeded\""
        ),
        Some(1)
    );
    assert_eq!(
        value("kingest_emulator_repeat_ingestions_total", ""),
        Some(0)
    );
    // The DM's own reads are counted apart.
    let dm_reads: u64 = rows
        .iter()
        .filter(|(m, l, _)| {
            m == "kingest_emulator_storage_requests_total"
                && l.contains("operation=\"GetMessages\"")
                && l.contains("origin=\"dm\"")
        })
        .map(|(_, _, v)| v)
        .sum();
    assert!(dm_reads >= 1);

    // The same counters in Prometheus text.
    let text = reqwest::get(format!("{}/metrics", env.emulator.url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let line = format!(
        "kingest_emulator_storage_requests_total{{service=\"queue\",resource=\"{queue}\",operation=\"PutMessage\",origin=\"client\"}} 1"
    );
    assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
    assert!(
        text.lines()
            .any(|l| l == "kingest_emulator_faults_injected_total{kind=\"http5xx\"} 1")
    );
    assert!(text.contains("# TYPE kingest_emulator_storage_requests_total counter"));
    env.emulator.shutdown().await;
}

/// What an idle TUI costs is read from these counters (benches/perf P4): each notification
/// queue's peeks and depth reads are counted apart, and the DM-throttled resource commands by
/// name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_queue_and_per_command_counters_count() {
    let env = Env::start().await;
    let (a, b) = futures::future::join(env.client.resources(), env.client.resources()).await;
    a.unwrap();
    b.unwrap();
    for kind in [
        NotificationKind::Failure,
        NotificationKind::Failure,
        NotificationKind::Success,
    ] {
        env.client.peek(kind, 32).await.unwrap();
    }
    env.client.queue_depths().await.unwrap();
    let counters = env.emulator.counters();
    let count = |queue: &str, op: &str| counters.storage_count("queue", queue, op, Origin::Client);
    assert_eq!(count("failedingestions", "PeekMessages"), 2);
    assert_eq!(count("successfulingestions", "PeekMessages"), 1);
    assert_eq!(count("failedingestions", "GetQueueMetadata"), 1);
    assert_eq!(count("successfulingestions", "GetQueueMetadata"), 1);
    for command in [".get ingestion resources", ".get kusto identity token"] {
        assert_eq!(
            counters.command_count(command, Origin::Client),
            1,
            "{command}"
        );
    }
    let rows = metrics_rows(&env).await;
    let line = |command: &str| {
        rows.iter()
            .find(|(m, l, _)| {
                m == "kingest_emulator_mgmt_commands_total"
                    && l == &format!("command=\"{command}\",origin=\"client\"")
            })
            .map(|(_, _, v)| *v)
    };
    assert_eq!(line(".get ingestion resources"), Some(1), "{rows:#?}");
    // `.show emulator metrics` itself.
    assert_eq!(line("other"), Some(1), "{rows:#?}");
    env.emulator.shutdown().await;
}
