//! The gzip stream `submit` writes (pieces compressed in parallel, client/submit/gzip.rs) is
//! ONE member that single-member readers decode whole: Python's zlib decodes it in one call,
//! and the emulator ingests every row of it, on built-in storage and on Azurite.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::Env;
use kingest::client::SubmitRequest;
use kingest::client::submit::BLOCK_SIZE;
use kingest::client::submit::gzip::{self, BLOCK};
use kingest::client::wire::{IngestionStatus, ReportMethod};

/// A file of `lines` events rows, and its length.
fn write_events(env: &Env, name: &str, lines: usize) -> (std::path::PathBuf, usize) {
    let path = env.file(name);
    let data = common::noise_events(lines);
    std::fs::write(&path, &data).unwrap();
    (path, data.len())
}

/// Poorly compressible rows: several gzip pieces and, gzipped, more than one Put Block.
const LINES: usize = 220_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_zlib_decodes_a_submitted_blob_whole_in_one_call() {
    // zlib is in Python's standard library: any python3 does.
    let python = std::env::var("KINGEST_PYTHON")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "python3".into());
    let env = Env::start().await;
    let (path, len) = write_events(&env, "noisy.csv", LINES);
    assert!(len > 8 * BLOCK, "{len} bytes: several gzip pieces");
    let s = env
        .submit(SubmitRequest::new(&path, "demo", "Events"))
        .await;
    assert!(
        s.uploaded_bytes > BLOCK_SIZE as u64,
        "more than one Put Block: {} bytes of {}",
        s.uploaded_bytes,
        s.raw_data_size
    );
    let blob = env
        .client
        .storage()
        .get_blob(&s.queued().unwrap().blob)
        .await
        .unwrap();
    assert_eq!(blob.len() as u64, s.uploaded_bytes);
    // The parallel compressor's stream, the same whatever the number of its workers.
    let data = std::fs::read(&path).unwrap();
    let alone = tokio::task::spawn_blocking(move || gzip::compress(&data, 1, gzip::LEVEL))
        .await
        .unwrap()
        .unwrap();
    assert!(blob[..] == alone[..]);
    let gz = env.file("noisy.csv.gz");
    std::fs::write(&gz, &blob).unwrap();
    // One decompress call on the whole blob: a second member, or a stream cut short, leaves
    // eof false or bytes in unused_data.
    let script = "import sys, zlib\n\
        d = zlib.decompressobj(31)\n\
        out = d.decompress(open(sys.argv[1], 'rb').read())\n\
        same = out == open(sys.argv[2], 'rb').read()\n\
        print(f'eof={d.eof} unused={len(d.unused_data)} tail={len(d.unconsumed_tail)} same={same}')\n";
    let out = tokio::process::Command::new(&python)
        .arg("-c")
        .arg(script)
        .arg(&gz)
        .arg(&path)
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(text.trim(), "eof=True unused=0 tail=0 same=True");
}

/// Submits `LINES` rows in several pieces and Put Blocks and waits until all are ingested.
async fn ingests_every_row(env: &Env) {
    let (path, _) = write_events(env, "noisy.csv", LINES);
    let before = env.row_count("Events").await;
    let mut req = SubmitRequest::new(&path, "demo", "Events");
    req.report_method = ReportMethod::Table;
    req.flush_immediately = true;
    let s = env.submit(req).await;
    assert!(
        s.uploaded_bytes > BLOCK_SIZE as u64,
        "more than one Put Block: {} bytes of {}",
        s.uploaded_bytes,
        s.raw_data_size
    );
    assert_eq!(s.raw_data_size, std::fs::metadata(&path).unwrap().len());
    let st = env.final_status(&s).await;
    assert_eq!(st.status, Some(IngestionStatus::Succeeded), "{st:?}");
    assert_eq!(env.row_count("Events").await, before + LINES as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emulator_ingests_every_row_of_a_multi_block_gzip() {
    ingests_every_row(&Env::start().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_azurite_backed_emulator_ingests_every_row_of_a_multi_block_gzip() {
    let Some(az) = common::azurite() else { return };
    let cfg = kingest::emulator::EmulatorConfig {
        storage: Some(az.connection_string()),
        ..Default::default()
    };
    ingests_every_row(&Env::start_with(cfg).await).await;
}

/// The blob a `submit --json` line names (its SAS redacted), read with the container's SAS.
async fn blob_named(env: &Env, line: &serde_json::Value) -> bytes::Bytes {
    let named = line["blob"].as_str().unwrap();
    let plain = named.split('?').next().unwrap();
    let name = plain.rsplit('/').next().unwrap();
    let res = env.client.resources().await.unwrap();
    let blob = res
        .of_kind(kingest::client::resources::ResourceKind::TempStorage)
        .map(|c| c.child(name))
        .find(|b| b.without_query() == plain)
        .unwrap();
    env.client.storage().get_blob(&blob).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_blob_is_the_same_whatever_the_compress_threads() {
    let env = Env::start().await;
    let (path, _) = write_events(&env, "noisy.csv", 40_000);
    let file = path.to_string_lossy().to_string();
    let submit = |threads: &str| {
        let flags = format!("--database=demo --table=Events --json --compress-threads={threads}");
        let mut args = vec!["submit".to_string(), file.clone()];
        args.extend(flags.split(' ').map(str::to_string));
        args
    };
    let mut blobs = Vec::new();
    for threads in ["1", "3"] {
        let args = submit(threads);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = common::kingest(&env, &args).await;
        let text = common::stdout(&out);
        assert!(out.status.success(), "{text}");
        let line: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        blobs.push(blob_named(&env, &line).await);
    }
    assert!(blobs[0] == blobs[1], "1 thread and 3 threads differ");
    let data = std::fs::read(&path).unwrap();
    assert!(data.len() > 2 * BLOCK, "several pieces");
    let mut d = flate2::read::GzDecoder::new(&blobs[0][..]);
    let mut back = Vec::new();
    std::io::Read::read_to_end(&mut d, &mut back).unwrap();
    assert!(back == data);

    let args = submit("0");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = common::kingest(&env, &args).await;
    assert_eq!(out.status.code(), Some(2), "a usage error");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--compress-threads"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
