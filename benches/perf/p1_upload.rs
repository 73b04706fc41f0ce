//! P1: `kingest submit` of a generated CSV (1 GiB; 16 MiB in the shortened form) to a
//! separately started emulator, no wait, against GNU `gzip -1 -c FILE > /dev/null` of the same
//! file in the same run. Also: the compressed sizes, kingest's peak RSS, the deflate alone on
//! one thread against gzip -1 per core, and its scaling over every core.

use std::io::{BufWriter, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use kingest::client::resources::ResourceKind;
use kingest::client::submit::gzip::{self, ParallelGzip};
use kingest::client::{ClientConfig, IngestClient};

use crate::procs::{EmulatorProcess, kingest, run_measured};
use crate::report::{Figure, Opts};

const CASE: &str = "P1";
const MIB: f64 = 1024.0 * 1024.0;
const SCHEMA: &str = ".create database perf persist ()\n\
    .create table Samples (Timestamp:datetime, Host:string, Metric:string, Value:real, \
    Count:long, Level:string, Message:string)\n";

pub fn run(opts: &Opts) -> Vec<Figure> {
    match measure(opts) {
        Ok(f) => f,
        Err(why) => vec![Figure::new(CASE, "submit a generated CSV").failed(why)],
    }
}

fn measure(opts: &Opts) -> Result<Vec<Figure>, String> {
    let size: usize = opts.pick(1 << 30, 16 << 20);
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let csv = dir.path().join("samples.csv");
    let rows = generate(&csv, size).map_err(|e| format!("generating the CSV: {e}"))?;
    let len = std::fs::metadata(&csv).map_err(|e| e.to_string())?.len();
    let mib = len as f64 / MIB;
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).map_err(|e| e.to_string())?;
    let schema = dir.path().join("schema.kql");
    std::fs::write(&schema, SCHEMA).map_err(|e| e.to_string())?;
    println!("generated {rows} rows, {mib:.1} MiB");

    // The baseline, timed; then its size (a second run, untimed, through a pipe).
    let gz_cpu0 = children_cpu_seconds();
    let t = Instant::now();
    let status = Command::new("gzip")
        .args(["-1", "-c"])
        .arg(&csv)
        .stdout(std::fs::File::create("/dev/null").map_err(|e| e.to_string())?)
        .status()
        .map_err(|e| format!("cannot run gzip: {e}"))?;
    let gz_wall = t.elapsed().as_secs_f64();
    let gz_cpu = children_cpu_seconds() - gz_cpu0;
    if !status.success() {
        return Err(format!("gzip -1 failed: {status}"));
    }
    let gz_size = gzip_size(&csv)?;

    // The deflate alone, in process: one worker, then one per core.
    let (one_wall, one_cpu, one_size) = deflate_pass(&csv, 1)?;
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let (all_wall, _, all_size) = deflate_pass(&csv, cores)?;
    if one_size != all_size {
        return Err(format!(
            "the output depends on the worker count: {one_size} vs {all_size} bytes"
        ));
    }

    // The submit, to a separate emulator (its 5-minute batching keeps it idle meanwhile).
    let emulator = EmulatorProcess::start(&home, &["--schema", schema.to_str().unwrap_or("")]);
    let emu_cpu0 = crate::procs::cpu_seconds(emulator.pid()).unwrap_or(0.0);
    let out_path = dir.path().join("submit.json");
    let mut cmd = kingest(&home, Some(&emulator.url));
    cmd.args(["submit", "-d", "perf", "-t", "Samples", "--json"])
        .arg(&csv)
        .stdout(std::fs::File::create(&out_path).map_err(|e| e.to_string())?)
        .stderr(Stdio::inherit());
    let k_cpu0 = children_cpu_seconds();
    let (status, peak_kib, wall) = run_measured(&mut cmd).map_err(|e| e.to_string())?;
    let k_cpu = children_cpu_seconds() - k_cpu0;
    let emu_cpu = crate::procs::cpu_seconds(emulator.pid()).unwrap_or(0.0) - emu_cpu0;
    let text = std::fs::read_to_string(&out_path).map_err(|e| e.to_string())?;
    if !status.success() {
        return Err(format!("kingest submit failed ({status}): {text}"));
    }
    let line: serde_json::Value = serde_json::from_str(text.trim())
        .map_err(|e| format!("submit --json printed {text:?}: {e}"))?;
    let blob_size = line["uploaded_bytes"].as_u64().unwrap_or(0);
    if line["raw_data_size"].as_u64() != Some(len) {
        return Err(format!("RawDataSize is not the file's size: {line}"));
    }
    let blob = line["blob"].as_str().unwrap_or_default().to_string();
    check_blob(&emulator.url, &blob, &csv, blob_size)?;
    drop(emulator);

    let ours = mib / wall;
    let base = mib / gz_wall;
    let per_core = |secs: f64| mib / secs.max(1e-9);
    let rss_mb = peak_kib as f64 * 1024.0 / 1e6;
    let what = opts.pick("1 GiB", "16 MiB");
    Ok(vec![
        Figure::new(CASE, format!("submit {what} CSV, no wait: MiB/s of source"))
            .ours(format!(
                "{ours:.1} MiB/s ({wall:.2} s, {k_cpu:.2} CPU-s; emulator {emu_cpu:.2} CPU-s)"
            ))
            .baseline(format!(
                "gzip -1 > /dev/null {base:.1} MiB/s ({gz_wall:.2} s)"
            ))
            .ratio(ours / base)
            .target("≥ 1.6×", ours / base >= 1.6, opts),
        Figure::new(CASE, "compressed size (the blob)")
            .ours(format!(
                "{:.1} MB ({:.2}× gzip -1's size)",
                blob_size as f64 / 1e6,
                blob_size as f64 / gz_size.max(1) as f64
            ))
            .baseline(format!("gzip -1 {:.1} MB", gz_size as f64 / 1e6))
            .ratio(gz_size as f64 / blob_size.max(1) as f64)
            .target(
                "≤ 1.05× gzip -1",
                blob_size as f64 <= 1.05 * gz_size as f64,
                opts,
            ),
        Figure::new(CASE, "peak RSS of kingest submit")
            .ours(format!("{rss_mb:.1} MB"))
            .target("≤ 64 MB", rss_mb <= 64.0, opts),
        Figure::new(
            CASE,
            format!("per core: deflate alone, 1 thread, level {}", gzip::LEVEL),
        )
        .ours(format!(
            "{:.1} MiB/CPU-s ({:.1} MiB/s wall)",
            per_core(one_cpu),
            mib / one_wall
        ))
        .baseline(format!(
            "gzip -1 {:.1} MiB/CPU-s ({base:.1} MiB/s wall)",
            per_core(gz_cpu)
        ))
        .ratio(per_core(one_cpu) / per_core(gz_cpu)),
        Figure::new(
            CASE,
            format!("scaling: deflate alone, {cores} threads vs 1"),
        )
        .ours(format!("{:.1} MiB/s", mib / all_wall))
        .baseline(format!("1 thread {:.1} MiB/s", mib / one_wall))
        .ratio(one_wall / all_wall),
    ])
}

/// Writes about `size` bytes of CSV: ISO timestamps, host names, metrics, counts, levels and
/// quoted messages with commas and doubled quotes. Deterministic (a fixed-seed xorshift).
fn generate(path: &Path, size: usize) -> std::io::Result<u64> {
    const REGIONS: [&str; 6] = [
        "eu-west", "eu-north", "us-east", "us-west", "asia-se", "au-east",
    ];
    const ROLES: [&str; 5] = ["web", "api", "db", "cache", "worker"];
    const METRICS: [&str; 7] = [
        "cpu_pct",
        "mem_mb",
        "disk_io",
        "net_rx",
        "net_tx",
        "latency_ms",
        "queue_len",
    ];
    const LEVELS: [&str; 10] = [
        "INFO", "INFO", "INFO", "INFO", "INFO", "WARN", "WARN", "ERROR", "DEBUG", "INFO",
    ];
    const VERBS: [&str; 4] = ["GET", "POST", "PUT", "DELETE"];
    const PATHS: [&str; 6] = [
        "/api/v1/orders",
        "/api/v1/users",
        "/health",
        "/api/v2/search",
        "/static/app.js",
        "/api/v1/cart",
    ];
    const USERS: [&str; 6] = ["alice", "bob", "carol", "dave", "erin", "frank"];
    const STATUS: [u16; 10] = [200, 200, 200, 201, 204, 304, 400, 404, 500, 503];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut below = |n: usize| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % n as u64) as usize
    };
    let start = chrono::DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z")
        .map(|t| t.to_utc())
        .unwrap_or_default();
    let mut ms = 0i64;
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let (mut written, mut rows) = (0usize, 0u64);
    let mut line = Vec::with_capacity(256);
    while written < size {
        ms += below(40) as i64;
        let t = start + chrono::TimeDelta::milliseconds(ms);
        line.clear();
        writeln!(
            line,
            "{},{}-{}-{:03}.prod.contoso.net,{},{}.{:02},{},{},\"{} {}?id={}, user \"\"{}\"\" \
             status {}, took {} ms\"",
            t.format("%Y-%m-%dT%H:%M:%S%.3fZ"),
            ROLES[below(5)],
            REGIONS[below(6)],
            below(40),
            METRICS[below(7)],
            below(10_000),
            below(100),
            below(5000),
            LEVELS[below(10)],
            VERBS[below(4)],
            PATHS[below(6)],
            below(100_000),
            USERS[below(6)],
            STATUS[below(10)],
            below(2000),
        )?;
        out.write_all(&line)?;
        written += line.len();
        rows += 1;
    }
    out.flush()?;
    Ok(rows)
}

/// Bytes `gzip -1 -c` writes for `path`.
fn gzip_size(path: &Path) -> Result<u64, String> {
    let mut child = Command::new("gzip")
        .args(["-1", "-c"])
        .arg(path)
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run gzip: {e}"))?;
    let mut stdout = child.stdout.take().ok_or("no stdout")?;
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        match stdout.read(&mut buf) {
            Ok(0) => break,
            Ok(k) => n += k as u64,
            Err(e) => return Err(e.to_string()),
        }
    }
    child.wait().map_err(|e| e.to_string())?;
    Ok(n)
}

/// kingest's compressor alone over the file with `workers` threads: (wall seconds, CPU
/// seconds of this process, output bytes). Reading is included, as gzip's is.
fn deflate_pass(path: &Path, workers: usize) -> Result<(f64, f64, u64), String> {
    let io = |e: std::io::Error| e.to_string();
    let cpu0 = crate::procs::cpu_seconds(std::process::id()).unwrap_or(0.0);
    let t = Instant::now();
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut gz = ParallelGzip::new(workers, gzip::LEVEL).map_err(io)?;
    let mut size = 0u64;
    loop {
        let mut piece = vec![0u8; gzip::BLOCK];
        let n = read_full(&mut file, &mut piece).map_err(io)?;
        piece.truncate(n);
        let last = n < gzip::BLOCK;
        gz.push(piece, last).map_err(io)?;
        while gz.in_flight() >= gz.window() || (last && gz.in_flight() > 0) {
            if let Some(out) = gz.next_blocking() {
                size += out.map_err(io)?.len() as u64;
            }
        }
        if last {
            break;
        }
    }
    drop(gz);
    Ok((
        t.elapsed().as_secs_f64(),
        crate::procs::cpu_seconds(std::process::id()).unwrap_or(0.0) - cpu0,
        size,
    ))
}

/// Downloads the blob the submit wrote and checks it is ONE gzip member of the file's bytes
/// (a single-member decoder, nothing after it) of the size the submit reported.
fn check_blob(url: &str, blob: &str, csv: &Path, size: u64) -> Result<(), String> {
    let rt = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let body = rt.block_on(async {
        let client =
            IngestClient::new(ClientConfig::unauthenticated(url)).map_err(|e| e.to_string())?;
        let resources = client.resources().await.map_err(|e| e.to_string())?;
        let plain = blob.split('?').next().unwrap_or_default();
        let name = plain.rsplit('/').next().unwrap_or_default();
        let at = resources
            .of_kind(ResourceKind::TempStorage)
            .map(|c| c.child(name))
            .find(|b| b.without_query() == plain)
            .ok_or_else(|| format!("no container holds {plain}"))?;
        client
            .storage()
            .get_blob(&at)
            .await
            .map_err(|e| e.to_string())
    })?;
    if body.len() as u64 != size {
        return Err(format!(
            "the blob is {} bytes, the submit said {size}",
            body.len()
        ));
    }
    let mut decoder = flate2::read::GzDecoder::new(&body[..]);
    let mut file = std::fs::File::open(csv).map_err(|e| e.to_string())?;
    let (mut a, mut b) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    loop {
        let n = read_full(&mut decoder, &mut a).map_err(|e| format!("gunzip: {e}"))?;
        let m = read_full(&mut file, &mut b[..n.max(1)]).map_err(|e| e.to_string())?;
        if a[..n] != b[..m] {
            return Err("the blob does not decode to the file".into());
        }
        if n == 0 {
            break;
        }
    }
    let rest = decoder.into_inner();
    if !rest.is_empty() {
        return Err(format!(
            "{} bytes follow the first gzip member: not one member",
            rest.len()
        ));
    }
    Ok(())
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// CPU seconds of this process's children that have been waited for (gzip, kingest).
fn children_cpu_seconds() -> f64 {
    stat_ticks(&[13, 14]) / 100.0
}

/// Sum of the given fields (counted after the command name) of /proc/self/stat, in ticks
/// (USER_HZ: 100 per second on Linux).
fn stat_ticks(fields: &[usize]) -> f64 {
    let Ok(s) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    let Some(i) = s.rfind(')') else { return 0.0 };
    let f: Vec<&str> = s[i + 2..].split(' ').collect();
    fields
        .iter()
        .filter_map(|&k| f.get(k).and_then(|v| v.parse::<f64>().ok()))
        .sum()
}
