//! P6: the emulator's DM worker ingesting many small queued sources, and its engine parsing a
//! large CSV file against a bare `lines()` + `split(',')` pass over the same bytes.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use kingest::client::retry::RetryPolicy;
use kingest::client::storage::SasUrl;
use kingest::client::submit::{SubmitRequest, build_message, encode_for_queue};
use kingest::client::wire::DataFormat;
use kingest::client::{ClientConfig, IngestClient, ResourceKind};
use kingest::emulator::engine::{Engine, IngestRequest};
use kingest::emulator::{Emulator, EmulatorConfig};

use crate::report::{Figure, Opts};

const CASE: &str = "P6";

pub fn run(opts: &Opts) -> Vec<Figure> {
    let mut figures = vec![dm_case(opts)];
    figures.extend(csv_case(opts));
    figures
}

// ---- (a) the DM worker -------------------------------------------------------------------

fn dm_case(opts: &Opts) -> Figure {
    let n = opts.pick(10_000, 300);
    let what = format!("DM: {n} small queued sources ingested, messages/s");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    match rt.block_on(dm_ingest(n)) {
        Ok(m) => {
            let rate = n as f64 / m.secs;
            Figure::new(CASE, what)
                .ours(format!(
                    "{rate:.0} msg/s ({n} in {:.2} s; posting took {:.2} s)",
                    m.secs, m.post_secs
                ))
                .target("≥ 500 msg/s", rate >= 500.0, opts)
        }
        Err(e) => Figure::new(CASE, what).failed(e),
    }
}

struct DmMeasure {
    /// First post to the last row and success notification.
    secs: f64,
    post_secs: f64,
}

/// One CSV row per blob, for the demo schema's `Events`.
fn small_blob(i: usize) -> String {
    format!(
        "2025-01-01T00:{:02}:{:02}Z,Info,svc{},\"small source {i}, one row\",{}\n",
        (i / 60) % 60,
        i % 60,
        i % 7,
        i % 1000
    )
}

async fn dm_ingest(n: usize) -> Result<DmMeasure, String> {
    let emulator = Emulator::start(EmulatorConfig {
        schema: Some(kingest::demo::DEMO_SCHEMA.to_string()),
        // A short batching window (the service's is 5 minutes); batches of the default
        // policy's 500 items seal by count before it.
        batch_window: Some(Duration::from_millis(200)),
        poll_interval: Duration::from_millis(50),
        ..EmulatorConfig::default()
    })
    .await
    .map_err(|e| format!("emulator: {e:#}"))?;
    let result = measure_dm(&emulator, n).await;
    emulator.shutdown().await;
    result
}

async fn measure_dm(emulator: &Emulator, n: usize) -> Result<DmMeasure, String> {
    let client = IngestClient::new(ClientConfig {
        timeouts: kingest::client::deadline::Timeouts::per_call(Duration::from_secs(30)),
        retry: RetryPolicy::quick(3, Duration::from_millis(500)),
        ..ClientConfig::unauthenticated(emulator.url())
    })
    .map_err(|e| e.to_string())?;
    let client = Arc::new(client);
    let res = client.resources().await.map_err(|e| e.to_string())?;
    let first = |kind| {
        res.of_kind(kind)
            .next()
            .cloned()
            .ok_or(format!("no {kind:?} resource"))
    };
    let container = first(ResourceKind::TempStorage)?;
    let ingest_queues: Vec<SasUrl> = res
        .of_kind(ResourceKind::SecuredReadyForAggregationQueue)
        .cloned()
        .collect();
    let success = first(ResourceKind::SuccessfulIngestionsQueue)?;
    let failure = first(ResourceKind::FailedIngestionsQueue)?;
    let token = res.identity_token.expose().to_string();

    // The blobs first (not timed), concurrently, then every message ready to post.
    let req = SubmitRequest::new("small.csv", "demo", "Events");
    let texts: Vec<String> = futures::stream::iter(0..n)
        .map(|i| {
            let (client, container, req, token) = (&client, &container, &req, &token);
            async move {
                let body = small_blob(i);
                let blob = container.child(&format!("p6/{i:05}.csv"));
                client
                    .storage()
                    .put_blob(&blob, Bytes::from(body.clone()), None)
                    .await
                    .map_err(|e| format!("put blob: {e}"))?;
                let id = uuid::Uuid::new_v4();
                let msg = build_message(
                    req,
                    DataFormat::Csv,
                    &id,
                    &blob,
                    body.len() as u64,
                    token,
                    None,
                );
                encode_for_queue(&msg).map_err(|e| e.to_string())
            }
        })
        .buffer_unordered(32)
        .try_collect()
        .await?;

    let start = Instant::now();
    futures::stream::iter(texts.iter().enumerate())
        .map(|(i, text)| {
            let q = &ingest_queues[i % ingest_queues.len()];
            let client = &client;
            async move {
                client
                    .storage()
                    .put_message(q, text, None, None)
                    .await
                    .map(|_| ())
                    .map_err(|e| format!("post: {e}"))
            }
        })
        .buffer_unordered(32)
        .try_collect::<()>()
        .await?;
    let post_secs = start.elapsed().as_secs_f64();

    let deadline = start + Duration::from_secs(if n > 1000 { 600 } else { 120 });
    loop {
        let rows = row_count(&client).await?;
        let succeeded = client
            .storage()
            .approximate_message_count(&success)
            .await
            .map_err(|e| e.to_string())?;
        let failed = client
            .storage()
            .approximate_message_count(&failure)
            .await
            .map_err(|e| e.to_string())?;
        if failed > 0 {
            return Err(format!("{failed} failure notification(s)"));
        }
        if rows == n as u64 && succeeded == n as u64 {
            break;
        }
        if rows > n as u64 || succeeded > n as u64 {
            return Err(format!("{rows} rows and {succeeded} successes for {n}"));
        }
        if Instant::now() > deadline {
            return Err(format!(
                "timed out with {rows} rows and {succeeded} successes of {n}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(DmMeasure {
        secs: start.elapsed().as_secs_f64(),
        post_secs,
    })
}

async fn row_count(client: &IngestClient) -> Result<u64, String> {
    let t = client
        .mgmt("demo", "Events | count")
        .await
        .map_err(|e| e.to_string())?;
    t.first()
        .and_then(|t| t.rows.first())
        .and_then(|r| r.first())
        .and_then(|v| v.as_u64())
        .ok_or_else(|| format!("no count in {t:?}"))
}

// ---- (b) CSV parsing ---------------------------------------------------------------------

/// Realistic log CSV (timestamps, levels, services, quoted messages with commas and the odd
/// doubled quote, durations) of about `bytes`; returns it and its row count.
fn generate_csv(bytes: usize) -> (String, usize) {
    const LEVELS: [&str; 4] = ["Info", "Warning", "Error", "Verbose"];
    let mut csv = String::with_capacity(bytes + 256);
    let mut rows = 0;
    while csv.len() < bytes {
        let i = rows;
        let message = if i % 10 == 0 {
            format!(
                "\"request {i} failed: \"\"timeout\"\", retrying, attempt {}\"",
                i % 5
            )
        } else {
            format!(
                "\"handled GET /api/items/{} in {} ms, cache hit\"",
                i % 977,
                i % 250
            )
        };
        csv.push_str(&format!(
            "2025-01-{:02}T{:02}:{:02}:{:02}.{:03}Z,{},svc-{},{message},{}\n",
            1 + (i / 86_400) % 28,
            (i / 3600) % 24,
            (i / 60) % 60,
            i % 60,
            i % 1000,
            LEVELS[i % LEVELS.len()],
            i % 13,
            i % 5000
        ));
        rows += 1;
    }
    (csv, rows)
}

/// Best of `rounds` timings of `f`, in seconds.
fn best(rounds: usize, mut f: impl FnMut()) -> f64 {
    (0..rounds)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::MAX, f64::min)
}

fn csv_case(opts: &Opts) -> Vec<Figure> {
    let big = opts.pick(256 << 20, 4 << 20);
    // Within the table's stored rows (100,000), so every row is also converted and kept.
    let kept = opts.pick(8 << 20, 256 << 10);
    vec![
        csv_figure(
            opts,
            big,
            format!("engine CSV ingest, {} MiB, MiB/s", big >> 20),
            Some(0.5),
        ),
        csv_figure(
            opts,
            kept,
            format!(
                "engine CSV ingest, {} KiB (every row kept), MiB/s",
                kept >> 10
            ),
            None,
        ),
    ]
}

fn csv_figure(opts: &Opts, bytes: usize, what: String, target: Option<f64>) -> Figure {
    let (csv, rows) = generate_csv(bytes);
    let req = IngestRequest {
        database: "demo".into(),
        table: "Events".into(),
        format: "csv".into(),
        source_id: "p6".into(),
        ..Default::default()
    };
    let now = chrono::Utc::now();
    let rounds = opts.pick(3, 1);
    let mut ingested = Ok(0);
    let ours = best(rounds, || {
        let mut engine = Engine::new();
        if let Err(e) = engine.load_script(kingest::demo::DEMO_SCHEMA) {
            ingested = Err(e.to_string());
            return;
        }
        ingested = engine
            .ingest(&req, black_box(csv.as_bytes()), now)
            .map(|o| o.rows)
            .map_err(|f| format!("{}: {}", f.error_code, f.details));
    });
    match ingested {
        Ok(r) if r == rows as u64 => {}
        Ok(r) => return Figure::new(CASE, what).failed(format!("{r} rows of {rows}")),
        Err(e) => return Figure::new(CASE, what).failed(e),
    }
    let mut fields = 0;
    let base = best(rounds, || {
        fields = black_box(&csv)
            .lines()
            .map(|l| l.split(',').count())
            .sum::<usize>();
    });
    black_box(fields);
    let mibs = |secs: f64| csv.len() as f64 / secs / f64::from(1 << 20);
    let ratio = base / ours;
    let f = Figure::new(CASE, what)
        .ours(format!("{:.0} MiB/s ({rows} rows)", mibs(ours)))
        .baseline(format!("lines+split {:.0} MiB/s", mibs(base)))
        .ratio(ratio);
    match target {
        Some(t) => f.target(format!("≥ {t}× the bare pass"), ratio >= t, opts),
        None => f,
    }
}
