//! Binary formats and zip sources end to end over HTTP: `kingest submit` of Parquet and Avro
//! files (uploaded as they are, never gzipped), a gzipped Parquet file, zip sources whose
//! `--zip-pattern` selects entries, a corrupt file's error code, and the official Python SDK
//! ingesting a Parquet file (with `KINGEST_PYTHON`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Write;

use common::{Env, kingest, peer, stdout};
use kingest::emulator::engine::samples::{self, SAMPLE_TABLE, sample_rows};
use serde_json::Value;

async fn env_with_samples() -> Env {
    let env = Env::start().await;
    env.client.mgmt("demo", SAMPLE_TABLE).await.unwrap();
    env
}

fn write(env: &Env, name: &str, data: &[u8]) -> String {
    let path = env.file(name);
    std::fs::write(&path, data).unwrap();
    path.to_str().unwrap().to_string()
}

fn parquet() -> Vec<u8> {
    samples::parquet(parquet::basic::Compression::SNAPPY).unwrap()
}

/// `kingest submit FILES -d demo -t TABLE --flush --wait 60 ARGS…`.
async fn submit(env: &Env, table: &str, files: &[&str], more: &[&str]) -> std::process::Output {
    let mut args = vec!["submit"];
    args.extend_from_slice(files);
    args.extend_from_slice(&["-d", "demo", "-t", table, "--flush", "--wait", "60"]);
    args.extend_from_slice(more);
    kingest(env, &args).await
}

fn ok(out: &std::process::Output) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout: {}\nstderr: {}",
        stdout(out),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Rows of `demo.table`, sorted (sources of one batch may land in either order).
async fn sorted_rows(env: &Env, table: &str) -> Vec<Vec<Value>> {
    let mut rows = env.client.mgmt("demo", table).await.unwrap().remove(0).rows;
    rows.sort_by_key(|r| serde_json::to_string(r).unwrap());
    rows
}

/// Names of the blobs in the temp containers.
async fn blob_names(env: &Env) -> Vec<String> {
    let res = env.client.resources().await.unwrap();
    let mut names = Vec::new();
    for c in res.of_kind(kingest::client::ResourceKind::TempStorage) {
        let url = format!(
            "{}&restype=container&comp=list",
            common::resign(c, "l").expose()
        );
        let body = reqwest::get(url).await.unwrap().text().await.unwrap();
        for part in body.split("<Name>").skip(1) {
            names.push(part.split("</Name>").next().unwrap_or("").to_string());
        }
    }
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parquet_and_avro_files_go_up_as_they_are_and_arrive_by_column_name() {
    let env = env_with_samples().await;
    let p = write(&env, "samples.parquet", &parquet());
    let avro = samples::avro(apache_avro::Codec::Deflate(Default::default())).unwrap();
    let a = write(&env, "samples.avro", &avro);
    ok(&submit(&env, "Samples", &[&p, &a], &[]).await);
    assert_eq!(env.row_count("Samples").await, 4);
    let mut want: Vec<Vec<Value>> = sample_rows().into_iter().chain(sample_rows()).collect();
    want.sort_by_key(|r| serde_json::to_string(r).unwrap());
    assert_eq!(sorted_rows(&env, "Samples").await, want);
    // Binary formats are never gzipped (every SDK leaves them as they are, research §8).
    let names = blob_names(&env).await;
    assert!(
        names.iter().any(|n| n.ends_with("samples.parquet"))
            && names.iter().any(|n| n.ends_with("samples.avro"))
            && !names.iter().any(|n| n.ends_with(".gz")),
        "{names:?}"
    );
    env.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gzipped_parquet_file_is_decompressed_first_and_a_corrupt_one_fails() {
    let env = env_with_samples().await;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&parquet()).unwrap();
    let g = write(&env, "samples.parquet.gz", &gz.finish().unwrap());
    ok(&submit(&env, "Samples", &[&g], &[]).await);
    assert_eq!(env.row_count("Samples").await, 2);
    let mut broken = parquet();
    broken.truncate(broken.len() - 8);
    let b = write(&env, "broken.parquet", &broken);
    let out = submit(&env, "Samples", &[&b], &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = format!("{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("BadRequest_InvalidBlob"), "{text}");
    assert_eq!(env.row_count("Samples").await, 2);
    env.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zip_pattern_selects_the_entries_that_are_ingested() {
    let env = env_with_samples().await;
    let before = env.row_count("Events").await;
    let row = |n: u32| format!("2025-01-01T00:00:0{n}Z,Info,zip,entry {n},{n}\n");
    // notes.txt read as CSV would be a one-field record: Stream_WrongNumberOfFields.
    let csvs = samples::zip(&[
        ("a.csv", (row(1) + &row(2)).as_bytes()),
        ("notes.txt", b"not a record of Events\n"),
        ("sub/b.csv", row(3).as_bytes()),
    ])
    .unwrap();
    let z = write(&env, "bundle.zip", &csvs);
    ok(&submit(
        &env,
        "Events",
        &[&z],
        &["-f", "csv", "--zip-pattern", r"\.csv$"],
    )
    .await);
    assert_eq!(env.row_count("Events").await, before + 3);
    // The docs' glob form, and binary entries: the format is the one named before `.zip`.
    let pz = samples::zip(&[("x.parquet", &parquet()), ("readme.md", b"# not parquet\n")]).unwrap();
    let p = write(&env, "samples.parquet.zip", &pz);
    ok(&submit(&env, "Samples", &[&p], &["--zip-pattern", "*.parquet"]).await);
    assert_eq!(sorted_rows(&env, "Samples").await, sample_rows());
    // Nothing selected: the service's empty-archive code, and no rows.
    let out = submit(
        &env,
        "Events",
        &[&z],
        &["-f", "csv", "--zip-pattern", "^none/"],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = format!("{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("BadRequest_EmptyArchive"), "{text}");
    assert_eq!(env.row_count("Events").await, before + 3);
    // --zip-pattern on a file that is no zip is refused before anything is sent.
    let out = submit(
        &env,
        "Samples",
        &[&p, &write(&env, "s.parquet", &parquet())],
        &["--zip-pattern", "x"],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not one"));
    env.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_ingests_a_parquet_file_through_the_emulator() {
    let Some(python) = peer("KINGEST_PYTHON", "python SDK parquet ingest") else {
        return;
    };
    let env = env_with_samples().await;
    let p = write(&env, "samples.parquet", &parquet());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/sdk_ingest.py");
    let url = env.emulator.url().to_string();
    let out = tokio::process::Command::new(&python)
        .args([script, &url, "demo", "Samples", &p, "parquet"])
        .output()
        .await
        .expect("python runs");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "python SDK run failed ({:?})\nstdout: {text}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let line: Value = serde_json::from_str(text.lines().last().unwrap_or("")).unwrap();
    assert_eq!(line["found"], "success");
    assert_eq!(sorted_rows(&env, "Samples").await, sample_rows());
    env.emulator.shutdown().await;
}
