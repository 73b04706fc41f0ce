//! The submission journal: one JSON-lines file per cluster (keyed by the ingest URL) in the
//! state dir, so tracking survives a restart and `kingest status` finds a source's status
//! table after the service has rotated it. Each change appends a record; loading keeps the
//! last record per source, drops finished ones older than the retention, and rewrites the
//! file when that shrank it. The file holds status-table SAS URLs, so it is private (0600).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::client::tracking::Tracker;

/// One line of the journal: a posted source and its tracker as of `at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalRecord {
    pub at: DateTime<Utc>,
    /// The cluster (ingest URL) the source was submitted to.
    pub ingest_url: String,
    pub source_id: String,
    pub file: String,
    pub database: String,
    pub table: String,
    pub format: String,
    pub size: u64,
    pub report_level: String,
    pub report_method: String,
    /// Records written before modes existed were queued.
    #[serde(default)]
    pub mode: crate::client::mode::IngestMode,
    /// Blob URL without its query.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blob: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    pub tracker: Tracker,
    /// The chunk of a split source this record tracks (`source_id` is the chunk's message
    /// Id, `chunk.source_id` the source's); absent for a source sent whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunk: Option<crate::client::submit::ChunkOf>,
    /// Set while the source is not posted yet: written before its upload starts and again
    /// before its message is posted, so a run that dies meanwhile leaves a record the next run
    /// reconciles (`client::resume`). Absent on posted records, and on every record written
    /// before this field existed (they were written after the post).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unfinished: Option<Unfinished>,
}

/// Where an unposted submission was, and what resuming it needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unfinished {
    pub stage: Stage,
    /// The process that was submitting: its record is left alone while it runs.
    pub pid: u32,
    /// The request as asked (`SubmitRequest::to_json`).
    pub request: serde_json::Value,
    /// The file's size and modification time (ns since the epoch) when it was read.
    pub file_len: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_mtime_ns: Option<i128>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stage {
    /// Blocks were being uploaded (none, some or all of them).
    Uploading,
    /// The blob was committed; its message was being posted.
    Posting,
}

impl Unfinished {
    /// Whether the process that wrote it is gone (or is this one, which is not submitting it).
    pub fn owner_gone(&self) -> bool {
        if self.pid == std::process::id() {
            return false;
        }
        process_gone(self.pid)
    }
}

/// Whether process `pid` has ended. With /proc (Linux), by its entry; without it (macOS,
/// BSD), by asking `kill -0`. "Cannot tell" counts as alive: taking a live submit's record as
/// interrupted would resume or abandon it under its feet, while a record left alone is only
/// reconciled later.
fn process_gone(pid: u32) -> bool {
    if Path::new("/proc/self").exists() {
        return !Path::new(&format!("/proc/{pid}")).exists();
    }
    kill_probe(pid) == Liveness::Gone
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Liveness {
    Alive,
    Gone,
    CannotTell,
}

/// `kill -0 PID`: signal 0 delivers nothing, it only checks that the process exists (POSIX
/// `kill(1)`), and a subprocess keeps this crate free of `unsafe`.
fn kill_probe(pid: u32) -> Liveness {
    // 0 and negative numbers name process groups, not one process; no process has such a pid.
    if pid == 0 || i32::try_from(pid).is_err() {
        return Liveness::Gone;
    }
    match std::process::Command::new("kill")
        .args(["-0", &pid.to_string()])
        .env("LC_ALL", "C")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .output()
    {
        Ok(out) => liveness_of(out.status.success(), &String::from_utf8_lossy(&out.stderr)),
        Err(_) => Liveness::CannotTell,
    }
}

/// What `kill -0` said: success means it exists; only "No such process" (ESRCH) means gone;
/// anything else ("Operation not permitted": someone else's live process) cannot tell.
fn liveness_of(success: bool, stderr: &str) -> Liveness {
    if success {
        Liveness::Alive
    } else if stderr.to_ascii_lowercase().contains("no such process") {
        Liveness::Gone
    } else {
        Liveness::CannotTell
    }
}

impl JournalRecord {
    /// Nothing more can be learnt about it: final, or nothing left that could report.
    pub fn is_finished(&self, now: DateTime<Utc>) -> bool {
        self.unfinished.is_none() && !self.tracker.can_still_learn(now)
    }
}

/// What loading found.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The latest record of each kept source, oldest first.
    pub records: Vec<JournalRecord>,
    /// Lines that could not be read (a torn last write, a hand edit): reported, skipped.
    pub corrupt_lines: Vec<usize>,
    /// Finished sources dropped because they were older than the retention.
    pub compacted: usize,
}

#[derive(Debug, Clone)]
pub struct Journal {
    path: PathBuf,
    ingest_url: String,
}

/// Finished sources are kept this long by default (`journal_retention_hours`).
pub const DEFAULT_RETENTION: chrono::TimeDelta = chrono::TimeDelta::days(7);

impl Journal {
    /// The folder of the journals inside a state dir.
    pub fn dir(state_dir: &Path) -> PathBuf {
        state_dir.join("journal")
    }

    /// The journal of `ingest_url` under `state_dir`.
    pub fn in_state_dir(state_dir: &Path, ingest_url: &str) -> Self {
        Self::for_cluster(&Self::dir(state_dir), ingest_url)
    }

    /// The journal of `ingest_url` inside `dir`.
    pub fn for_cluster(dir: &Path, ingest_url: &str) -> Self {
        let url = normalise(ingest_url);
        Journal {
            path: dir.join(file_name(&url)),
            ingest_url: url,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn ingest_url(&self) -> &str {
        &self.ingest_url
    }

    pub fn append(&self, record: &JournalRecord) -> std::io::Result<()> {
        let mut line = serde_json::to_string(record).map_err(std::io::Error::other)?;
        line.push('\n');
        let _lock = self.lock()?;
        let mut f = open_private(&self.path, false)?;
        f.write_all(line.as_bytes())?;
        f.flush()
    }

    /// Loads the latest record per source; finished sources older than `keep_finished` are
    /// dropped and the file is rewritten when anything was dropped or folded. Appends of other
    /// processes wait for the rewrite (a lock file), so none is lost.
    pub fn load(
        &self,
        now: DateTime<Utc>,
        keep_finished: chrono::TimeDelta,
    ) -> std::io::Result<Loaded> {
        let _lock = self.lock()?;
        let (mut out, lines) = self.read()?;
        let (keep, drop): (Vec<_>, Vec<_>) = std::mem::take(&mut out.records)
            .into_iter()
            .partition(|r| !(r.is_finished(now) && now - r.at > keep_finished));
        out.compacted = drop.len();
        out.records = keep;
        if out.records.len() < lines {
            self.rewrite(&out.records)?;
        }
        Ok(out)
    }

    /// The latest record of one source (case-insensitive id). Reads only.
    pub fn find(&self, source_id: &str) -> std::io::Result<Option<JournalRecord>> {
        let _lock = self.lock()?;
        Ok(self
            .read()?
            .0
            .records
            .into_iter()
            .rev()
            .find(|r| r.source_id.eq_ignore_ascii_case(source_id)))
    }

    /// The latest record of every chunk of split source `source_id`, in chunk order (empty
    /// for a source sent whole). Reads only.
    pub fn chunks_of(&self, source_id: &str) -> std::io::Result<Vec<JournalRecord>> {
        let _lock = self.lock()?;
        let mut chunks: Vec<JournalRecord> = self
            .read()?
            .0
            .records
            .into_iter()
            .filter(|r| {
                r.chunk
                    .is_some_and(|c| c.source_id.to_string().eq_ignore_ascii_case(source_id))
            })
            .collect();
        chunks.sort_by_key(|r| r.chunk.map(|c| c.index));
        Ok(chunks)
    }

    /// The latest records that are not posted yet and whose process is gone: submissions a
    /// run left behind (killed mid-upload or mid-post). Each is claimed for this process in
    /// the same lock (a copy naming this pid is appended), so two runs starting together do
    /// not both resume it.
    pub fn claim_interrupted(&self) -> std::io::Result<Vec<JournalRecord>> {
        let _lock = self.lock()?;
        let claimed: Vec<JournalRecord> = self
            .read()?
            .0
            .records
            .into_iter()
            .filter(|r| r.unfinished.as_ref().is_some_and(Unfinished::owner_gone))
            .collect();
        if !claimed.is_empty() {
            let mut f = open_private(&self.path, false)?;
            for r in &claimed {
                let mut mine = r.clone();
                if let Some(u) = mine.unfinished.as_mut() {
                    u.pid = std::process::id();
                }
                let mut line = serde_json::to_string(&mine).map_err(std::io::Error::other)?;
                line.push('\n');
                f.write_all(line.as_bytes())?;
            }
            f.flush()?;
        }
        Ok(claimed)
    }

    /// The latest record of each of this cluster's sources, oldest first, and the count of
    /// non-empty lines.
    fn read(&self) -> std::io::Result<(Loaded, usize)> {
        let f = match std::fs::File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok((Loaded::default(), 0));
            }
            Err(e) => return Err(e),
        };
        let mut out = Loaded::default();
        let mut order = Vec::new();
        let mut last: HashMap<String, JournalRecord> = HashMap::new();
        let mut lines = 0;
        for (i, line) in BufReader::new(f).lines().enumerate() {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            lines += 1;
            let rec = match serde_json::from_str::<JournalRecord>(&line) {
                Ok(r) if normalise(&r.ingest_url) == self.ingest_url => r,
                Ok(_) => continue,
                Err(_) => {
                    out.corrupt_lines.push(i + 1);
                    continue;
                }
            };
            if !last.contains_key(&rec.source_id) {
                order.push(rec.source_id.clone());
            }
            last.insert(rec.source_id.clone(), rec);
        }
        // A split source's own record is written before its upload and stays unposted: its
        // chunks are journaled under their own message ids once every one was posted, so
        // then they are its record (else the next run would report it interrupted).
        let split: std::collections::HashSet<String> = last
            .values()
            .filter_map(|r| r.chunk.map(|c| c.source_id.to_string()))
            .collect();
        out.records = order
            .into_iter()
            .filter_map(|id| last.remove(&id))
            .filter(|r| {
                !(r.unfinished.is_some() && split.contains(&r.source_id.to_ascii_lowercase()))
            })
            .collect();
        Ok((out, lines))
    }

    /// An exclusive lock on `journal-….lock`, released when the file is dropped.
    fn lock(&self) -> std::io::Result<std::fs::File> {
        let f = open_private(&self.path.with_extension("lock"), false)?;
        f.lock()?;
        Ok(f)
    }

    fn rewrite(&self, records: &[JournalRecord]) -> std::io::Result<()> {
        let tmp = self
            .path
            .with_extension(format!("jsonl.{}.tmp", std::process::id()));
        {
            let mut f = open_private(&tmp, true)?;
            for r in records {
                let mut line = serde_json::to_string(r).map_err(std::io::Error::other)?;
                line.push('\n');
                f.write_all(line.as_bytes())?;
            }
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &self.path)
    }
}

/// The one spelling of a cluster URL for files and keys (journal, inbox).
pub(crate) fn normalise(url: &str) -> String {
    url.trim().trim_end_matches('/').to_ascii_lowercase()
}

/// `journal-{host}[-{port}]-{hash}.jsonl`: readable, and distinct for distinct URLs.
fn file_name(url: &str) -> String {
    let host: String = url
        .split("://")
        .nth(1)
        .unwrap_or(url)
        .split('/')
        .next()
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '-'
            }
        })
        .take(80)
        .collect();
    // FNV-1a: stable across versions and platforms, unlike std's hasher.
    let hash = url.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("journal-{host}-{:08x}.jsonl", hash as u32)
}

fn open_private(path: &Path, truncate: bool) -> std::io::Result<std::fs::File> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut o = std::fs::OpenOptions::new();
    o.create(true);
    if truncate {
        o.write(true).truncate(true);
    } else {
        o.append(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_proc_kill_tells_a_live_process_from_a_gone_one() {
        assert_eq!(kill_probe(std::process::id()), Liveness::Alive);
        // Above every system's pid limit (Linux 2^22, macOS 99998).
        assert_eq!(kill_probe(99_999_999), Liveness::Gone);
        assert_eq!(kill_probe(0), Liveness::Gone);
    }

    #[test]
    fn what_kill_cannot_tell_counts_as_alive() {
        assert_eq!(liveness_of(true, ""), Liveness::Alive);
        assert_eq!(
            liveness_of(false, "kill: (4242): No such process"),
            Liveness::Gone
        );
        assert_eq!(
            liveness_of(false, "kill: 4242: Operation not permitted"),
            Liveness::CannotTell
        );
        assert_eq!(liveness_of(false, ""), Liveness::CannotTell);
        assert!(!process_gone(std::process::id()));
    }
    use crate::client::tracking::{Observation, Tracker};
    use crate::client::wire::{IngestionStatus, StatusEntity};

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_796_083_200 + s, 0).unwrap()
    }

    fn rec(url: &str, id: &str, at: DateTime<Utc>, done: bool) -> JournalRecord {
        let mut tracker = Tracker::posted(id, None, true, at);
        if done {
            let e = StatusEntity {
                status: Some(IngestionStatus::Succeeded),
                ..StatusEntity::default()
            };
            tracker.observe(Observation::Entity(&e), at);
        }
        JournalRecord {
            at,
            ingest_url: url.into(),
            source_id: id.into(),
            file: "/d/x.csv".into(),
            database: "db".into(),
            table: "T".into(),
            format: "csv".into(),
            size: 10,
            report_level: "FailuresAndSuccesses".into(),
            report_method: "Table".into(),
            mode: Default::default(),
            blob: None,
            message_id: None,
            tracker,
            chunk: None,
            unfinished: None,
        }
    }

    const A: &str = "http://127.0.0.1:1";
    const B: &str = "https://ingest-b.westeurope.kusto.windows.net";

    #[test]
    fn each_cluster_has_its_own_file_and_sees_only_its_sources() {
        let dir = tempfile::tempdir().unwrap();
        let a = Journal::for_cluster(dir.path(), A);
        let b = Journal::for_cluster(dir.path(), &format!("{B}/"));
        assert_ne!(a.path(), b.path());
        a.append(&rec(A, "a1", t(0), false)).unwrap();
        b.append(&rec(B, "b1", t(0), false)).unwrap();
        let got = a.load(t(1), chrono::TimeDelta::days(7)).unwrap();
        assert_eq!(got.records.len(), 1);
        assert_eq!(got.records[0].source_id, "a1");
        let got = b.load(t(1), chrono::TimeDelta::days(7)).unwrap();
        assert_eq!(got.records[0].source_id, "b1");
        assert!(
            b.path()
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("journal-ingest-b.westeurope.kusto.windows.net-")
        );
    }

    #[test]
    fn last_record_wins_corrupt_lines_are_reported_and_old_finished_ones_compacted() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::for_cluster(dir.path(), A);
        j.append(&rec(A, "old", t(0), false)).unwrap();
        j.append(&rec(A, "old", t(10), true)).unwrap();
        j.append(&rec(A, "live", t(20), false)).unwrap();
        j.append(&rec(A, "recent", t(5000), true)).unwrap();
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(j.path())
            .unwrap();
        f.write_all(b"{\"torn\":\n").unwrap();
        let got = j.load(t(5000), chrono::TimeDelta::hours(1)).unwrap();
        let ids: Vec<_> = got.records.iter().map(|r| r.source_id.as_str()).collect();
        assert_eq!(ids, ["live", "recent"]);
        assert_eq!(got.corrupt_lines, vec![5]);
        assert_eq!(got.compacted, 1);
        // Rewritten: two lines left, and loading again changes nothing.
        let text = std::fs::read_to_string(j.path()).unwrap();
        assert_eq!(text.lines().count(), 2);
        let again = j.load(t(5000), chrono::TimeDelta::hours(1)).unwrap();
        assert_eq!(again.records, got.records);
        assert!(again.corrupt_lines.is_empty());
        assert_eq!(j.find("LIVE").unwrap().unwrap().source_id, "live");
    }

    #[test]
    fn appends_during_compactions_are_not_lost() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::for_cluster(dir.path(), A);
        // Old finished records, so every load compacts and rewrites.
        for i in 0..50 {
            j.append(&rec(A, &format!("old{i}"), t(0), true)).unwrap();
        }
        let writer = {
            let j = j.clone();
            std::thread::spawn(move || {
                for i in 0..200 {
                    j.append(&rec(A, &format!("new{i}"), Utc::now(), false))
                        .unwrap();
                }
            })
        };
        for _ in 0..50 {
            j.load(Utc::now(), chrono::TimeDelta::hours(1)).unwrap();
        }
        writer.join().unwrap();
        let got = j.load(Utc::now(), chrono::TimeDelta::hours(1)).unwrap();
        assert_eq!(got.records.len(), 200, "every append survived the rewrites");
        assert!(got.corrupt_lines.is_empty());
    }

    #[test]
    fn records_of_the_previous_format_are_read_as_posted() {
        // A line as written before `unfinished` existed (the previous release's format).
        let old = r#"{"at":"2026-11-30T10:00:00Z","ingest_url":"http://127.0.0.1:1","source_id":"s1","file":"/d/x.csv","database":"db","table":"T","format":"csv","size":10,"report_level":"FailuresAndSuccesses","report_method":"Queue","blob":"http://127.0.0.1:1/acct/c/b","message_id":"m","tracker":{"source_id":"s1","by_queue":true,"posted_at":"2026-11-30T10:00:00Z","state":"Queued","evidence":"Client","updated_at":"2026-11-30T10:00:00Z"}}"#;
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::for_cluster(dir.path(), A);
        std::fs::create_dir_all(dir.path()).unwrap();
        std::fs::write(j.path(), format!("{old}\n")).unwrap();
        let got = j.load(t(0), DEFAULT_RETENTION).unwrap();
        assert!(got.corrupt_lines.is_empty());
        assert_eq!(got.records.len(), 1);
        assert!(got.records[0].unfinished.is_none());
        assert!(j.claim_interrupted().unwrap().is_empty());
    }

    #[test]
    fn interrupted_records_are_claimed_once() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::for_cluster(dir.path(), A);
        let mut r = rec(A, "u1", t(0), false);
        r.unfinished = Some(Unfinished {
            stage: Stage::Uploading,
            // A pid no process has (beyond Linux's pid_max).
            pid: u32::MAX - 1,
            request: serde_json::json!({}),
            file_len: 1,
            file_mtime_ns: None,
        });
        j.append(&r).unwrap();
        let mut live = rec(A, "u2", t(0), false);
        live.unfinished = r.unfinished.clone().map(|mut u| {
            u.pid = std::process::id();
            u
        });
        j.append(&live).unwrap();
        let claimed = j.claim_interrupted().unwrap();
        assert_eq!(claimed.len(), 1, "only the record whose process is gone");
        assert_eq!(claimed[0].source_id, "u1");
        // Now this process owns it: not claimed again.
        assert!(j.claim_interrupted().unwrap().is_empty());
        assert!(!j.find("u1").unwrap().unwrap().is_finished(t(0)));
    }

    #[test]
    fn a_split_sources_unposted_record_gives_way_to_its_posted_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::for_cluster(dir.path(), A);
        let source = uuid::Uuid::from_u128(9);
        let mut own = rec(A, &source.to_string(), t(0), false);
        own.unfinished = Some(Unfinished {
            stage: Stage::Posting,
            pid: u32::MAX - 1,
            request: serde_json::json!({}),
            file_len: 1,
            file_mtime_ns: None,
        });
        j.append(&own).unwrap();
        // Another source, interrupted for real: still claimed.
        let mut other = own.clone();
        other.source_id = "u-other".into();
        j.append(&other).unwrap();
        for index in 1..=2 {
            let mut c = rec(A, &format!("chunk-{index}"), t(1), false);
            c.chunk = Some(crate::client::submit::ChunkOf {
                source_id: source,
                index,
                count: 2,
            });
            j.append(&c).unwrap();
        }
        let claimed = j.claim_interrupted().unwrap();
        assert_eq!(claimed.len(), 1, "{claimed:?}");
        assert_eq!(claimed[0].source_id, "u-other");
        let loaded = j.load(t(2), DEFAULT_RETENTION).unwrap();
        let ids: Vec<&str> = loaded
            .records
            .iter()
            .map(|r| r.source_id.as_str())
            .collect();
        assert_eq!(ids, ["u-other", "chunk-1", "chunk-2"]);
    }

    #[cfg(unix)]
    #[test]
    fn the_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::for_cluster(dir.path(), A);
        j.append(&rec(A, "a", t(0), false)).unwrap();
        let mode = std::fs::metadata(j.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0);
    }
}
