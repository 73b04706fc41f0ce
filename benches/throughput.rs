//! Throughput of kingest's hot paths, each measured side by side with a baseline in the same
//! run and reported as a ratio (machines are shared and noisy: absolute numbers are only
//! context). Run with `cargo bench --bench throughput`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::io::Write;
use std::time::{Duration, Instant};

use base64::Engine as _;
use flate2::Compression;
use flate2::write::GzEncoder;
use kingest::client::wire::decode_notification;
use kingest::emulator::engine::{Engine, IngestRequest};

/// Best of `rounds` runs of `f`, each at least ~50 ms of repetitions; returns seconds per call.
fn best(rounds: usize, mut f: impl FnMut()) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..rounds {
        let start = Instant::now();
        let mut n = 0u32;
        while start.elapsed() < Duration::from_millis(50) {
            f();
            n += 1;
        }
        best = best.min(start.elapsed().as_secs_f64() / f64::from(n));
    }
    best
}

fn report(name: &str, bytes: usize, ours: f64, baseline: f64, baseline_name: &str) {
    let mbps = |t: f64| bytes as f64 / t / 1e6;
    println!(
        "{name:<34} ours {:>8.1} MB/s   {baseline_name:<28} {:>8.1} MB/s   ratio ours/baseline {:.2}",
        mbps(ours),
        mbps(baseline),
        baseline / ours
    );
}

fn main() {
    // 1. Decoding a notification (base64 → lenient JSON → typed, unknown fields kept) against
    //    a plain serde_json parse of the same JSON text.
    let json = serde_json::json!({"OperationId":"6f9c…","Database":"demo","Table":"Events",
        "FailedOn":"2025-01-01T12:05:00.1234567Z","IngestionSourceId":"0b3c1f44-33a2-4f0e-9a59-4c1f2b8d1e77",
        "IngestionSourcePath":"https://acct.blob.core.windows.net/tmp/demo__Events__x__events.csv.gz",
        "Details":"Stream with ID 'events.csv' has a malformed CSV format","ErrorCode":"Stream_ClosingQuoteMissing",
        "FailureStatus":"Permanent","RootActivityId":"a1b2","OriginatesFromUpdatePolicy":false,"ShouldRetry":false})
    .to_string();
    let text = base64::engine::general_purpose::STANDARD.encode(&json);
    let ours = best(5, || {
        black_box(decode_notification(black_box(&text)));
    });
    let base = best(5, || {
        black_box(serde_json::from_str::<serde_json::Value>(black_box(&json)).ok());
    });
    report(
        "notification decode",
        json.len(),
        ours,
        base,
        "serde_json::Value parse",
    );

    // 2. The emulator's CSV ingest (RFC 4180 parsing, typed columns, append) against splitting
    //    the same bytes on newlines and commas.
    let mut csv = String::new();
    for i in 0..20_000 {
        csv.push_str(&format!(
            "2025-01-01T00:00:{:02}Z,Info,svc{},\"message, number {i}\",{}\n",
            i % 60,
            i % 7,
            i % 1000
        ));
    }
    let req = IngestRequest {
        database: "demo".into(),
        table: "Events".into(),
        format: "csv".into(),
        ..Default::default()
    };
    let now = chrono::Utc::now();
    let ours = best(3, || {
        let mut engine = Engine::new();
        engine
            .load_script(kingest::demo::DEMO_SCHEMA)
            .expect("demo schema");
        black_box(engine.ingest(&req, csv.as_bytes(), now).ok());
    });
    let base = best(3, || {
        let fields: usize = csv.lines().map(|l| l.split(',').count()).sum();
        black_box(fields);
    });
    report(
        "engine csv ingest (20k rows)",
        csv.len(),
        ours,
        base,
        "lines+split baseline",
    );

    // 3. Streamed gzip as submit does it (256 KiB reads, output drained as it fills) against
    //    compressing the whole buffer at once: streaming should cost nothing.
    let data = csv.repeat(5).into_bytes();
    let ours = best(3, || {
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        let mut out = 0usize;
        for chunk in data.chunks(256 * 1024) {
            enc.write_all(chunk).expect("gzip");
            out += std::mem::take(enc.get_mut()).len();
        }
        out += enc.finish().expect("gzip").len();
        black_box(out);
    });
    let base = best(3, || {
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        enc.write_all(&data).expect("gzip");
        black_box(enc.finish().expect("gzip").len());
    });
    report(
        "streamed gzip (submit)",
        data.len(),
        ours,
        base,
        "whole-buffer gzip",
    );
}
