//! Checks before and during upload against the emulator: the size limit (refused before any
//! byte is sent where the size is known; a `.gz` stopped once its decoded size crosses it;
//! `ignore_size_limit` sends anyway), and RetainBlobOnSuccess as the DM honours it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Env, resign};
use kingest::client::wire::{IngestionStatus, ReportMethod};
use kingest::client::{Error, Progress, ResourceKind, SubmitRequest};

const LIMIT: u64 = 1024 * 1024;

/// Poorly compressible bytes (xorshift), so a `.gz` of them is about as big as they are.
fn noise(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(format!("{x:016x}\n").as_bytes());
    }
    out.truncate(len);
    out
}

/// Committed blobs in every temp container and messages in every ingestion queue.
async fn blobs_and_messages(env: &Env) -> (usize, u64) {
    let res = env.client.resources().await.unwrap();
    let http = reqwest::Client::new();
    let mut blobs = 0;
    for c in res.of_kind(ResourceKind::TempStorage) {
        let url = format!("{}&restype=container&comp=list", resign(c, "l").expose());
        let body = http.get(url).send().await.unwrap().text().await.unwrap();
        assert!(body.contains("<EnumerationResults"), "{body}");
        blobs += body.matches("<Blob>").count();
    }
    let mut messages = 0;
    for q in res.of_kind(ResourceKind::SecuredReadyForAggregationQueue) {
        messages += env
            .client
            .storage()
            .approximate_message_count(&resign(q, "r"))
            .await
            .unwrap();
    }
    (blobs, messages)
}

type Seen = Arc<Mutex<Vec<Progress>>>;

async fn submit(
    env: &Env,
    req: SubmitRequest,
) -> (kingest::client::Result<kingest::client::Submitted>, Seen) {
    let seen: Seen = Arc::default();
    let sink = seen.clone();
    let r = env
        .client
        .submit(req, Arc::new(move |p| sink.lock().unwrap().push(p)))
        .await;
    (r, seen)
}

fn refusal(r: kingest::client::Result<kingest::client::Submitted>) -> String {
    match r {
        Err(Error::Usage(m)) => {
            assert!(
                m.contains("--ignore-size-limit") && m.contains("split") && m.contains("1.0 MiB"),
                "{m}"
            );
            m
        }
        other => panic!("expected a size refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn sources_over_the_limit_are_refused_before_upload() {
    let env = Env::start().await;
    // A plain file: its length.
    let plain = env.file("big.csv");
    std::fs::write(&plain, noise(LIMIT as usize + 1)).unwrap();
    let mut req = SubmitRequest::new(&plain, "demo", "Events");
    req.size_limit = Some(LIMIT);
    let (r, seen) = submit(&env, req).await;
    println!("plain: {}", refusal(r));
    assert!(seen.lock().unwrap().is_empty(), "no upload started");

    // A zip: the central directory's total, though the archive itself is small.
    let zipped = env.file("big.zip");
    let mut z = zip::ZipWriter::new(std::fs::File::create(&zipped).unwrap());
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    z.start_file("a.csv", opts).unwrap();
    z.write_all(&vec![b'a'; LIMIT as usize + 10]).unwrap();
    z.finish().unwrap();
    assert!(std::fs::metadata(&zipped).unwrap().len() < LIMIT / 10);
    let mut req = SubmitRequest::new(&zipped, "demo", "Events");
    req.format = Some(kingest::client::wire::DataFormat::Csv);
    req.size_limit = Some(LIMIT);
    let (r, seen) = submit(&env, req).await;
    println!("zip: {}", refusal(r));
    assert!(seen.lock().unwrap().is_empty(), "no upload started");

    assert_eq!(blobs_and_messages(&env).await, (0, 0));
    env.emulator.shutdown().await;
}

#[tokio::test]
async fn gz_is_stopped_once_decoded_bytes_cross_the_limit() {
    let env = Env::start().await;
    let path = env.file("big.csv.gz");
    let data = noise(3 * LIMIT as usize);
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&data).unwrap();
    let gz = enc.finish().unwrap();
    std::fs::write(&path, &gz).unwrap();
    let mut req = SubmitRequest::new(&path, "demo", "Events");
    req.size_limit = Some(LIMIT);
    let (r, seen) = submit(&env, req).await;
    let msg = refusal(r);
    assert!(msg.contains("decodes to more than"), "{msg}");
    let read = seen
        .lock()
        .unwrap()
        .iter()
        .map(|p| p.read)
        .max()
        .unwrap_or(0);
    println!(
        "gz: stopped after reading {read} of {} bytes: {msg}",
        gz.len()
    );
    assert!(read < gz.len() as u64, "stopped mid-way");
    assert_eq!(blobs_and_messages(&env).await, (0, 0));
    env.emulator.shutdown().await;
}

/// Polls until the blob is gone (true) or the deadline passes (false).
async fn blob_deleted(
    env: &Env,
    blob: &kingest::client::storage::SasUrl,
    within: Duration,
) -> bool {
    let start = Instant::now();
    loop {
        match env.client.storage().get_blob(blob).await {
            Err(Error::Storage { status: 404, .. }) => return true,
            Ok(_) if start.elapsed() > within => return false,
            Ok(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            Err(e) => panic!("{e}"),
        }
    }
}

#[tokio::test]
async fn ignore_flag_sends_anyway_and_the_dm_honours_retain_blob() {
    let env = Env::start().await;
    let events = env.file("events.csv");
    let len = std::fs::metadata(&events).unwrap().len();
    // Over a tiny limit, but ignored: sent, ingested, and (the default) the blob is kept.
    let mut req = SubmitRequest::new(&events, "demo", "Events");
    req.size_limit = Some(len / 2);
    req.ignore_size_limit = true;
    req.report_method = ReportMethod::Table;
    req.flush_immediately = true;
    let (r, _) = submit(&env, req).await;
    let kept = r.unwrap();
    assert_eq!(
        env.final_status(&kept).await.status,
        Some(IngestionStatus::Succeeded)
    );
    assert!(
        !blob_deleted(
            &env,
            &kept.queued().unwrap().blob,
            Duration::from_millis(500)
        )
        .await,
        "retained"
    );

    // RetainBlobOnSuccess false: the DM deletes the blob after the success.
    let mut req = SubmitRequest::new(&events, "demo", "Events");
    req.retain_blob_on_success = false;
    req.report_method = ReportMethod::Table;
    req.flush_immediately = true;
    let (r, _) = submit(&env, req).await;
    let gone = r.unwrap();
    assert_eq!(
        env.final_status(&gone).await.status,
        Some(IngestionStatus::Succeeded)
    );
    assert!(
        blob_deleted(&env, &gone.queued().unwrap().blob, Duration::from_secs(10)).await,
        "deleted"
    );
    env.emulator.shutdown().await;
}
