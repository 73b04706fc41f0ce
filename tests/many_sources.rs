//! Issue 9 sources over real HTTP against the emulator: standard input (`submit -`), many files
//! (folders with --pattern, globs, --parallel, --list-only, the live summary and the --report
//! file), and chunking (one source split at record boundaries into several blobs and
//! messages, tracked per chunk and aggregated; a failing chunk makes it PartiallySucceeded;
//! the header only in chunk 1).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Write as _;
use std::process::Stdio;

use common::{Env, kingest, stdout};

/// `kingest ARGS -d demo -t Events --flush --wait 60`: into the demo's Events table, tracked
/// to the end.
async fn submit_events(env: &Env, args: &[&str]) -> std::process::Output {
    let mut all = args.to_vec();
    all.extend(["-d", "demo", "-t", "Events", "--flush", "--wait", "60"]);
    kingest(env, &all).await
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// `kingest ARGS` with `input` on its standard input.
async fn kingest_stdin(env: &Env, args: &[&str], input: Vec<u8>) -> std::process::Output {
    kingest_stdin_env(env, &[], args, input).await
}

/// [`kingest_stdin`] with extra environment variables.
async fn kingest_stdin_env(
    env: &Env,
    vars: &[(&str, &str)],
    args: &[&str],
    input: Vec<u8>,
) -> std::process::Output {
    let mut cmd = common::kingest_command(env.emulator.url(), &env.dir.path().join("home"));
    cmd.envs(vars.iter().copied())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    tokio::task::spawn_blocking(move || {
        let mut child = cmd.spawn().unwrap();
        let mut w = child.stdin.take().unwrap();
        // Written from another thread while the child reads: a pipe holds only 64 KiB.
        let writer = std::thread::spawn(move || {
            // A child that refuses its arguments never reads: a broken pipe is its answer.
            let _ = w.write_all(&input);
        });
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap();
        out
    })
    .await
    .unwrap()
}

/// Every journal file under `dir`, concatenated.
fn journal_text(dir: &std::path::Path) -> String {
    let mut out = String::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.push_str(&journal_text(&p));
        } else if p
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("journal-"))
        {
            out.push_str(&std::fs::read_to_string(&p).unwrap_or_default());
        }
    }
    out
}

fn json_lines(o: &std::process::Output) -> Vec<serde_json::Value> {
    stdout(o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standard_input_is_streamed_and_sized_by_what_was_read() {
    let env = Env::start().await;
    let data = common::noise_events(3000);
    let args = [
        "--json", "submit", "-", "--format", "csv", "-d", "demo", "-t", "Events", "--flush",
        "--wait", "60",
    ];
    let out = kingest_stdin(&env, &args, data.clone()).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    let l = &lines[0];
    assert_eq!(l["status"], "Succeeded", "{l}");
    assert_eq!(l["file"], "stdin");
    assert_eq!(
        l["raw_data_size"],
        data.len() as u64,
        "RawDataSize = bytes read"
    );
    assert!(
        l["blob"].as_str().unwrap().contains("__stdin.csv.gz"),
        "{l}"
    );
    assert_eq!(env.row_count("Events").await, 3000);
    // The journal records it under its name.
    let journal = journal_text(&env.dir.path().join("home"));
    assert!(journal.contains("\"file\":\"stdin\""), "{journal}");

    // Streaming reads its source whole before choosing: not a stream's mode.
    let args = [
        "submit",
        "-",
        "--format",
        "csv",
        "--mode",
        "streaming",
        "-d",
        "demo",
        "-t",
        "Events",
    ];
    let out = kingest_stdin(&env, &args, data.clone()).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--mode queued"), "{}", stderr(&out));

    // No format: refused before anything is read or sent.
    let out = kingest_stdin(&env, &["submit", "-", "-d", "demo", "-t", "Events"], data).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--format"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_stdin_submit_is_abandoned_not_resumed() {
    let env = Env::start().await;
    // Enough poorly compressible rows for more than one 4 MiB block once gzipped.
    let data = common::noise_events(200_000);
    let args = [
        "submit", "-", "--format", "csv", "-d", "demo", "-t", "Events",
    ];
    let vars = [("KINGEST_TEST_CRASH_AT", "block:1")];
    let out = kingest_stdin_env(&env, &vars, &args, data).await;
    assert!(!out.status.success(), "the crash point was not reached");
    let journal = journal_text(&env.dir.path().join("home"));
    let rec: serde_json::Value = journal
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap();
    assert_eq!(rec["file"], "stdin", "{rec}");
    let id = rec["source_id"].as_str().unwrap().to_string();
    // The next run cannot read the stream again: it says so and gives the source up.
    let out = kingest(&env, &["status", &id]).await;
    let (text, err) = (stdout(&out), stderr(&out));
    assert!(
        err.contains("abandoned the interrupted submission"),
        "{err}"
    );
    assert!(
        text.contains("Failed") && text.contains("standard input, which cannot be read again"),
        "{text}"
    );
    assert_eq!(env.row_count("Events").await, 0);
}

/// A folder of `n` small Events files, the last one bad (an unclosed quote).
fn folder(env: &Env, n: usize) -> std::path::PathBuf {
    let dir = env.dir.path().join("many");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    for i in 0..n {
        let sub = if i % 2 == 0 { "" } else { "sub/" };
        let body = if i + 1 == n {
            b"2025-03-01T09:00:00Z,Error,svc,\"never closed,1\n".to_vec()
        } else {
            common::noise_events(10 + i)
        };
        std::fs::write(dir.join(format!("{sub}f{i}.csv")), body).unwrap();
    }
    std::fs::write(dir.join("notes.txt"), b"not data").unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_goes_in_parallel_with_a_live_summary_and_a_report_file() {
    let env = Env::start().await;
    let dir = folder(&env, 5);
    let report = env.dir.path().join("report.csv");
    let out = submit_events(
        &env,
        &[
            "submit",
            dir.to_str().unwrap(),
            "--pattern",
            "*.csv",
            "--parallel",
            "3",
            "--report",
            report.to_str().unwrap(),
        ],
    )
    .await;
    let err = stderr(&out);
    // One bad file: the ingestion failed exit code, the other four in.
    assert_eq!(out.status.code(), Some(1), "{err}\n{}", stdout(&out));
    for want in [
        "items discovered:              5",
        "items posted:                  5",
        "successfully completed:        4 out of 5",
        "failed:                        1 out of 5",
        "unknown or still in progress:  0 out of 5",
    ] {
        assert!(err.contains(want), "{want}:\n{err}");
    }
    assert_eq!(env.row_count("Events").await, 10 + 11 + 12 + 13);
    let text = std::fs::read_to_string(&report).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "Local File,Blob,Source Id,Chunk,Message Source Id,Ingestion Status,Ingestion Details,Errors"
    );
    assert_eq!(lines.len(), 6, "{text}");
    assert_eq!(
        lines.iter().filter(|l| l.contains(",Succeeded,")).count(),
        4
    );
    let bad = lines.iter().find(|l| l.contains("f4.csv")).unwrap();
    assert!(bad.contains(",Failed,") && bad.contains("Stream_"), "{bad}");
    assert!(!text.contains("sig="), "no SAS in the report: {text}");
    assert!(!text.contains("notes.txt"), "--pattern filters by name");

    // The same as JSON lines, named by the extension; a glob instead of the folder.
    let report = env.dir.path().join("report.jsonl");
    let glob = format!("{}/**/f[0-1].csv", dir.display());
    let out = submit_events(
        &env,
        &["submit", &glob, "--report", report.to_str().unwrap()],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows: Vec<serde_json::Value> = std::fs::read_to_string(&report)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2, "{rows:?}");
    for r in &rows {
        assert_eq!(r["status"], "Succeeded", "{r}");
        assert!(r["blob"].as_str().unwrap().starts_with("http"), "{r}");
        assert_eq!(r["source_id"], r["message_source_id"], "sent whole: {r}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_only_prints_the_sources_and_sends_nothing() {
    let env = Env::start().await;
    let dir = folder(&env, 3);
    let big = env.dir.path().join("big.csv");
    std::fs::write(&big, common::noise_events(2000)).unwrap();
    let out = kingest(
        &env,
        &[
            "submit",
            dir.to_str().unwrap(),
            big.to_str().unwrap(),
            "--list-only",
            "--chunk-size",
            "40KiB",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    // The folder's four files (no --pattern), the big one with its chunks.
    assert!(text.contains("5 source(s)"), "{text}");
    assert!(
        text.contains("notes.txt") && text.contains("f2.csv"),
        "{text}"
    );
    let len = std::fs::metadata(&big).unwrap().len();
    let chunks = len.div_ceil(40 * 1024);
    assert!(
        text.contains(&format!(
            "{len:>14}  {}  (about {chunks} chunks)",
            big.display()
        )),
        "{text}"
    );
    assert_eq!(env.row_count("Events").await, 0);
    // A glob that matches nothing is a usage error.
    let out = kingest(&env, &["submit", "/nonexistent/*.csv", "--list-only"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot list"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_split_source_is_partially_succeeded_when_one_chunk_fails() {
    let env = Env::start().await;
    let mut data = common::noise_events(600);
    let good = 600;
    // The last chunk: an unclosed quote (its records never end, so it stays whole).
    data.extend_from_slice(b"2025-03-01T09:00:00Z,Error,svc,\"never closed,1\nmore,lines\n");
    let file = env.dir.path().join("split.csv");
    std::fs::write(&file, &data).unwrap();
    let report = env.dir.path().join("split-report.jsonl");
    let out = submit_events(
        &env,
        &[
            "--json",
            "submit",
            file.to_str().unwrap(),
            "--chunk-size",
            "20KiB",
            "--report",
            report.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let lines = json_lines(&out);
    let aggregate = &lines[0];
    assert_eq!(aggregate["aggregate"], true, "{aggregate}");
    assert_eq!(aggregate["status"], "PartiallySucceeded", "{aggregate}");
    let chunks = &lines[1..];
    let n = chunks.len();
    assert!(n >= 3, "{lines:?}");
    assert_eq!(aggregate["chunks"], n);
    let source = aggregate["source_id"].as_str().unwrap();
    let mut ids = std::collections::HashSet::new();
    let (mut raw, mut landed) = (0, 0);
    for (i, c) in chunks.iter().enumerate() {
        assert_eq!(c["chunk"]["source_id"], source, "one source id: {c}");
        assert_eq!(c["chunk"]["index"], i + 1);
        assert_eq!(c["chunk"]["count"], n);
        assert!(ids.insert(c["source_id"].as_str().unwrap().to_string()));
        assert_ne!(c["source_id"], source, "each chunk has its own message Id");
        raw += c["raw_data_size"].as_u64().unwrap();
        let want = if i + 1 == n { "Failed" } else { "Succeeded" };
        assert_eq!(c["status"], want, "{c}");
        if i + 1 < n {
            landed = raw;
        }
    }
    assert_eq!(raw, data.len() as u64, "the chunks cover the file exactly");
    // Every record of the chunks that succeeded, none of the failed one's.
    let rows = data[..landed as usize]
        .iter()
        .filter(|&&b| b == b'\n')
        .count();
    assert!(rows > 0 && rows < good, "{rows}");
    assert_eq!(env.row_count("Events").await, rows as u64);
    let err = stderr(&out);
    assert!(
        err.contains("partially succeeded:           1 out of 1"),
        "{err}"
    );
    // The report: the source's aggregate row, then one row per chunk with its own id.
    let rows: Vec<serde_json::Value> = std::fs::read_to_string(&report)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), n + 1, "{rows:?}");
    assert_eq!(rows[0]["chunk"], format!("{n} chunks"));
    assert_eq!(rows[0]["status"], "PartiallySucceeded");
    assert!(rows[0]["details"].as_str().unwrap().contains("aggregate"));
    for (i, r) in rows[1..].iter().enumerate() {
        assert_eq!(r["source_id"], source);
        assert_eq!(r["chunk"], format!("{}/{n}", i + 1));
        assert_eq!(r["message_source_id"], chunks[i]["source_id"]);
    }
    assert!(
        rows[n]["errors"].as_str().unwrap().contains("Stream_"),
        "{}",
        rows[n]
    );
    // A later run follows the source by the id the user saw: each chunk, none abandoned.
    let out = kingest(&env, &["status", source]).await;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains(&format!("was sent in {n} chunks")), "{text}");
    assert!(text.contains(&format!("chunk {n}/{n}")), "{text}");
    assert!(
        !text.to_lowercase().contains("abandon") && !text.contains("nothing known"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_first_chunk_skips_the_header() {
    let env = Env::start().await;
    let mut data = b"Timestamp,Level,Service,Message,DurationMs\n".to_vec();
    data.extend_from_slice(&common::noise_events(900));
    let file = env.dir.path().join("header.csv");
    std::fs::write(&file, &data).unwrap();
    let out = submit_events(
        &env,
        &[
            "submit",
            file.to_str().unwrap(),
            "--chunk-size",
            "30KiB",
            "--ignore-first-record",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with("Succeeded (kingest's aggregate over "),
        "{text}"
    );
    assert!(text.matches("    chunk ").count() >= 3, "{text}");
    // Every row but the header: no chunk lost its first record.
    assert_eq!(env.row_count("Events").await, 900);
}

#[path = "../benches/perf/procs.rs"]
mod procs;

/// Writes a CSV of at least `bytes` Events rows to `path`; returns its line count.
fn big_csv(path: &std::path::Path, bytes: u64) -> u64 {
    let mut w = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    let block = common::noise_events(10_000);
    let per_block = 10_000u64;
    let (mut written, mut lines) = (0u64, 0u64);
    while written < bytes {
        w.write_all(&block).unwrap();
        written += block.len() as u64;
        lines += per_block;
    }
    w.flush().unwrap();
    lines
}

/// The Done-when case of issue 9: a generated CSV submitted with `--chunk-size` arrives as 3
/// chunks under one source id, with the emulator's row count equal to the file's, while the
/// client's peak RSS stays below the file's size (and a fixed bound). CI runs it scaled down
/// (64 MiB in 25 MiB chunks); `KINGEST_HEAVY=1` runs the full 2.5 GiB in 1 GiB chunks (with `KINGEST_BIN`
/// pointing at a release build to be quick). The emulator runs as its own process, so the
/// client's VmHWM is the client's alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_big_csv_arrives_as_three_chunks_under_one_source_in_bounded_memory() {
    let heavy = std::env::var("KINGEST_HEAVY").is_ok_and(|v| v == "1");
    let (size, chunk, chunk_arg) = if heavy {
        (5u64 << 29, 1u64 << 30, "1GiB")
    } else {
        (64u64 << 20, 25u64 << 20, "25MiB")
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.csv");
    let lines = tokio::task::spawn_blocking({
        let file = file.clone();
        move || big_csv(&file, size)
    })
    .await
    .unwrap();
    let len = std::fs::metadata(&file).unwrap().len();
    assert!(len > 2 * chunk && len < 3 * chunk, "{len}");
    let home = dir.path().join("home");
    let schema = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/demo/schema.kql");
    let emulator =
        procs::EmulatorProcess::start(&home, &["--schema", schema, "--batch-window", "0.3"]);
    let out_path = dir.path().join("out.jsonl");
    let mut cmd = procs::kingest(&home, Some(&emulator.url));
    cmd.args(["--json", "submit"])
        .arg(&file)
        .args(["--chunk-size", chunk_arg, "-d", "demo", "-t", "Events"])
        .args(["--flush", "--wait", "3600"])
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(Stdio::inherit());
    let (status, peak_kib, secs) =
        tokio::task::spawn_blocking(move || procs::run_measured(&mut cmd))
            .await
            .unwrap()
            .unwrap();
    let text = std::fs::read_to_string(&out_path).unwrap();
    assert!(status.success(), "{status}: {text}");
    let out: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(out.len(), 4, "the aggregate and 3 chunks: {text}");
    assert_eq!(out[0]["status"], "Succeeded");
    assert_eq!(out[0]["chunks"], 3);
    let source = &out[0]["source_id"];
    for c in &out[1..] {
        assert_eq!(c["chunk"]["source_id"], *source, "{c}");
        assert_eq!(c["status"], "Succeeded", "{c}");
    }
    let client = common::client_for(&emulator.url, kingest::client::AuthMethod::None);
    let rows = common::row_count(&client, "Events").await;
    eprintln!(
        "{} bytes, {lines} lines in 3 chunks of {chunk_arg}: {rows} rows; client peak RSS \
         {peak_kib} KiB; {secs:.1} s",
        len
    );
    assert_eq!(rows, lines);
    // Bounded: read pieces, gzip windows and a few 4 MiB blocks, never the file (nor, at
    // full size, a chunk).
    assert!(
        peak_kib < 160 * 1024 && peak_kib * 1024 < len,
        "peak RSS {peak_kib} KiB"
    );
}
