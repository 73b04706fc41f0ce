//! Discard archives: JSON lines, one per discarded notification, that keep the evidence — the
//! `MessageText` exactly as the queue returned it (base64 as the DM posts it), its decoded JSON
//! with every value as sent (a `"maybe"` where a bool belongs, an object as Details, `123`
//! where a string belongs), and where and when it was read. An archive is state, not output:
//! created with mode 0600, written unredacted (it is what the service sent), and only ever
//! shown through the sanitiser by its readers. Reading dedupes by MessageId (a pass killed
//! between archiving and deleting archives the message again next time) and still reads the
//! first format (`ReceivedNotification::to_json` lines, which converted and redacted values).

use std::collections::HashSet;
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::Path;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::client::notifications::ReceivedNotification;
use crate::client::wire::{decode_text, format_rfc3339};

/// The `Format` of a line written now; lines without one are the first format.
pub const FORMAT: &str = "kingest-archive/2";

/// One archived notification as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct ArchiveEntry {
    pub message_id: String,
    /// `failure` or `success`.
    pub kind: Option<String>,
    /// The queue's name (never its SAS).
    pub queue: Option<String>,
    pub insertion_time: Option<String>,
    pub archived_at: Option<String>,
    pub dequeue_count: Option<u64>,
    /// `MessageText` exactly as received; `None` in first-format lines, which did not keep it.
    pub message_text: Option<String>,
    /// The decoded notification JSON as sent; first-format lines: the fields as they kept them.
    pub decoded: Option<Value>,
    /// Why `MessageText` could not be decoded.
    pub decode_error: Option<String>,
    /// A first-format line (values may have been converted or redacted when archived).
    pub old_format: bool,
    /// 1-based line number in its file.
    pub line: usize,
}

/// What an archive holds: entries deduplicated by MessageId (first occurrence kept), and what
/// was skipped.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ArchiveContents {
    pub entries: Vec<ArchiveEntry>,
    /// Lines whose MessageId was already read.
    pub duplicates: usize,
    /// Of `entries`: first-format lines.
    pub old_format: usize,
    /// Lines that are not an archive record (line number, why), e.g. a line torn by a crash.
    pub bad_lines: Vec<(usize, String)>,
}

/// The archive line for `m`: no trailing newline.
pub fn line(m: &ReceivedNotification, archived_at: DateTime<Utc>) -> String {
    let mut o = Map::new();
    o.insert("Format".into(), FORMAT.into());
    o.insert("MessageId".into(), m.message_id.clone().into());
    o.insert("Kind".into(), m.kind.as_str().into());
    o.insert("Queue".into(), m.queue.object_name().into());
    o.insert(
        "InsertionTime".into(),
        m.insertion_time
            .map(format_rfc3339)
            .map_or(Value::Null, Value::from),
    );
    o.insert("ArchivedAt".into(), format_rfc3339(archived_at).into());
    o.insert("DequeueCount".into(), m.dequeue_count.into());
    o.insert("MessageText".into(), m.message_text.clone().into());
    // serde_json keeps key order (preserve_order) and every value's type; MessageText stays
    // the exact evidence should a number exceed what a JSON number here can hold.
    match decode_text(&m.message_text) {
        Some(v) => {
            o.insert("Decoded".into(), v);
        }
        None => {
            o.insert("Decoded".into(), Value::Null);
            o.insert(
                "DecodeError".into(),
                "message is neither base64 JSON nor JSON".into(),
            );
        }
    }
    Value::Object(o).to_string()
}

/// Opens `path` for appending, creating it (and its folder) with mode 0600 and tightening an
/// existing archive to 0600. A last line torn by a crash is ended first, so the next record
/// starts on a line of its own.
pub fn open_for_append(path: &Path) -> std::io::Result<std::fs::File> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.create(true).read(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    #[cfg(unix)]
    let existed = path.exists();
    let mut file = opts.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        if !existed {
            // The new file's directory entry must be durable too before anything is deleted
            // on the strength of its lines (fsync of the file alone does not cover it).
            let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
            std::fs::File::open(dir.unwrap_or(Path::new(".")))?.sync_all()?;
        }
    }
    let len = file.metadata()?.len();
    if len > 0 {
        let mut last = [0u8; 1];
        file.seek(SeekFrom::Start(len - 1))?;
        file.read_exact(&mut last)?;
        if last[0] != b'\n' {
            append(&mut file, "")?;
        }
    }
    Ok(file)
}

/// Appends one line and makes it durable (flush and fsync) before the caller deletes anything.
pub fn append(file: &mut std::fs::File, line: &str) -> std::io::Result<()> {
    writeln!(file, "{line}")?;
    file.flush()?;
    file.sync_data()
}

/// Appends whole lines (each ended by a newline) in one write and makes them durable with a
/// single fsync: a discard archives a received batch, then deletes it.
pub fn append_all<S: AsRef<str>>(file: &mut std::fs::File, lines: &[S]) -> std::io::Result<()> {
    let mut buf = String::with_capacity(lines.iter().map(|l| l.as_ref().len() + 1).sum());
    for l in lines {
        buf.push_str(l.as_ref());
        buf.push('\n');
    }
    file.write_all(buf.as_bytes())?;
    file.flush()?;
    file.sync_data()
}

/// An archive shared by concurrent discard pipelines. One lock around write and fsync: batches
/// never interleave (no torn or mixed lines), and a batch is durable before
/// [`ArchiveWriter::append_all`] returns. The blocking write runs off the async workers so the
/// other pipelines' requests keep moving during an fsync.
///
/// Group commit: batches that arrive while a write and fsync runs wait together, and the next
/// holder of the lock writes all of them (each still whole, one after another) with one fsync.
/// An fsync costs about 4 ms here, so one a batch of 32 capped a discard at ~8,000 messages/s
/// (P2 of `benches/perf`), below what the emulator deletes.
#[derive(Clone)]
pub struct ArchiveWriter {
    state: std::sync::Arc<std::sync::Mutex<Writer>>,
    /// Batches waiting for the lock, each with where its outcome goes.
    pending: std::sync::Arc<std::sync::Mutex<Vec<Pending>>>,
    /// Writes with their fsync so far (fewer than batches when they were grouped).
    commits: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

type Pending = (
    Vec<String>,
    tokio::sync::oneshot::Sender<std::io::Result<()>>,
);

struct Writer {
    file: std::fs::File,
    /// The first failed write or fsync: the file may end in half a line, and Linux may have
    /// dropped unwritten pages while a later fsync reports success, so no later batch is
    /// written after it (its deletes would rest on a record nobody can read).
    failed: Option<String>,
}

impl ArchiveWriter {
    pub fn new(file: std::fs::File) -> ArchiveWriter {
        ArchiveWriter {
            state: std::sync::Arc::new(std::sync::Mutex::new(Writer { file, failed: None })),
            pending: std::sync::Arc::default(),
            commits: std::sync::Arc::default(),
        }
    }

    /// Writes with their fsync attempted so far (a failed one included).
    pub fn commits(&self) -> usize {
        self.commits.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// [`append_all`] of `lines` (with any batches waiting beside them) under the lock, on a
    /// blocking thread; refused once any append failed.
    pub async fn append_all(&self, lines: Vec<String>) -> std::io::Result<()> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push((lines, tx));
        let (state, pending, commits) = (
            self.state.clone(),
            self.pending.clone(),
            self.commits.clone(),
        );
        // This task writes our batch unless an earlier one took it along; either way the
        // writer answers on `rx`.
        let task = tokio::task::spawn_blocking(move || {
            let mut w = state.lock().unwrap_or_else(|poisoned| {
                let mut w = poisoned.into_inner();
                w.failed
                    .get_or_insert_with(|| "an earlier archive write panicked".into());
                w
            });
            let group = std::mem::take(
                &mut *pending
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner),
            );
            if group.is_empty() {
                return;
            }
            let r = match &w.failed {
                Some(why) => Err(format!(
                    "an earlier archive write failed ({why}): nothing more is archived or deleted"
                )),
                None => {
                    commits.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let lines: Vec<&str> = group
                        .iter()
                        .flat_map(|(b, _)| b.iter().map(String::as_str))
                        .collect();
                    append_all(&mut w.file, &lines).map_err(|e| {
                        w.failed = Some(e.to_string());
                        e.to_string()
                    })
                }
            };
            for (_, tx) in group {
                let _ = tx.send(r.clone().map_err(std::io::Error::other));
            }
        });
        match rx.await {
            Ok(r) => r,
            Err(_) => Err(std::io::Error::other(match task.await {
                Err(e) => format!("the archive writer stopped: {e}"),
                Ok(()) => "the archive writer stopped".to_string(),
            })),
        }
    }
}

/// Reads and parses one archive file.
pub fn read(path: &Path) -> std::io::Result<ArchiveContents> {
    let bytes = std::fs::read(path)?;
    Ok(parse(&String::from_utf8_lossy(&bytes)))
}

/// Parses archive text; see [`ArchiveContents`].
pub fn parse(text: &str) -> ArchiveContents {
    let mut out = ArchiveContents::default();
    let mut seen = HashSet::new();
    merge(&mut out, &mut seen, text);
    out
}

/// Adds the records of `text` to `out`, deduplicating against `seen` (for several files).
pub fn merge(out: &mut ArchiveContents, seen: &mut HashSet<String>, text: &str) {
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        match entry(raw, n) {
            Ok(e) => {
                if !seen.insert(e.message_id.clone()) {
                    out.duplicates += 1;
                    continue;
                }
                out.old_format += usize::from(e.old_format);
                out.entries.push(e);
            }
            Err(why) => out.bad_lines.push((n, why)),
        }
    }
}

fn entry(raw: &str, line: usize) -> Result<ArchiveEntry, String> {
    let v: Value = serde_json::from_str(raw).map_err(|e| format!("not JSON: {e}"))?;
    let Value::Object(mut o) = v else {
        return Err("not a JSON object".into());
    };
    let message_id = match o.remove("MessageId") {
        Some(Value::String(s)) if !s.is_empty() => s,
        _ => return Err("no MessageId".into()),
    };
    let text = |o: &mut Map<String, Value>, k: &str| match o.remove(k) {
        Some(Value::String(s)) => Some(s),
        _ => None,
    };
    let format = o.remove("Format");
    let kind = text(&mut o, "Kind");
    let queue = text(&mut o, "Queue");
    let insertion_time = text(&mut o, "InsertionTime");
    let dequeue_count = o.remove("DequeueCount").and_then(|c| c.as_u64());
    match format {
        Some(Value::String(f)) if f == FORMAT => Ok(ArchiveEntry {
            message_id,
            kind,
            queue,
            insertion_time,
            archived_at: text(&mut o, "ArchivedAt"),
            dequeue_count,
            message_text: text(&mut o, "MessageText"),
            decoded: o.remove("Decoded").filter(|d| !d.is_null()),
            decode_error: text(&mut o, "DecodeError"),
            old_format: false,
            line,
        }),
        Some(other) => Err(format!("unknown archive format {other}")),
        // The first format: Kusto's fields at the top level beside the ones taken above.
        None => {
            let decode_error = text(&mut o, "DecodeError");
            let decoded = match o.remove("Raw") {
                Some(raw) if decode_error.is_some() => Some(raw),
                _ => Some(Value::Object(o)),
            };
            Ok(ArchiveEntry {
                message_id,
                kind,
                queue,
                insertion_time,
                archived_at: None,
                dequeue_count,
                message_text: None,
                decoded,
                decode_error,
                old_format: true,
                line,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    fn received(id: &str, text: &str) -> ReceivedNotification {
        ReceivedNotification {
            insertion_time: Some("2026-12-01T10:00:00Z".parse().unwrap()),
            ..ReceivedNotification::fixture(id, Some("receipt"), text)
        }
    }

    const HOSTILE: &str = r#"{"OperationId":"op","Database":"db","Table":"T","FailedOn":"2026-12-01T00:00:00Z","IngestionSourceId":123,"IngestionSourcePath":"https://a.blob.core.windows.net/c/b?sig=BLOBSIG","Details":{"nested":[1,2.5,null,"\u001b]0;title\u0007"],"x":true},"ErrorCode":"\u001b[5n","FailureStatus":"Permanent","OriginatesFromUpdatePolicy":"maybe","ShouldRetry":null,"Extra":18446744073709551615,"Float":1.5e-7,"日本":"emoji 🦀"}"#;

    #[test]
    fn hostile_values_survive_the_round_trip_exactly() {
        let b64 = base64::engine::general_purpose::STANDARD.encode(HOSTILE);
        let l = line(&received("m1", &b64), Utc::now());
        assert!(!l.contains('\n'), "one line: {l}");
        assert!(
            !l.contains("SECRETSIG"),
            "the queue's SAS is not evidence: {l}"
        );
        let got = parse(&format!("{l}\n"));
        assert_eq!(got.bad_lines, vec![]);
        let e = &got.entries[0];
        assert_eq!(
            e.message_text.as_deref(),
            Some(b64.as_str()),
            "text as received"
        );
        let want: Value = serde_json::from_str(HOSTILE).unwrap();
        assert_eq!(e.decoded.as_ref(), Some(&want));
        let d = e.decoded.as_ref().unwrap();
        assert_eq!(d["OriginatesFromUpdatePolicy"], "maybe");
        assert_eq!(d["IngestionSourceId"], 123);
        assert!(d["Details"].is_object());
        assert_eq!(d["Extra"].as_u64(), Some(u64::MAX));
        // Unredacted: the archive is what the service sent (kept 0600, never printed raw).
        assert!(
            d["IngestionSourcePath"]
                .as_str()
                .unwrap()
                .contains("BLOBSIG")
        );
        // Key order as sent.
        let keys: Vec<&String> = d.as_object().unwrap().keys().collect();
        let want_keys: Vec<&String> = want.as_object().unwrap().keys().collect();
        assert_eq!(keys, want_keys);
        assert_eq!(e.queue.as_deref(), Some("fq"));
        assert_eq!(e.kind.as_deref(), Some("failure"));
        assert_eq!(
            e.insertion_time.as_deref(),
            Some("2026-12-01T10:00:00.000Z")
        );
        assert!(e.archived_at.is_some() && !e.old_format);
    }

    #[test]
    fn undecodable_and_plain_json_texts_are_kept_as_received() {
        for text in [
            "not base64 \u{1b}[2J at all",
            "%%%",
            "{\"a\":\"plain json\"}",
            "",
        ] {
            let got = parse(&line(&received("m", text), Utc::now()));
            let e = &got.entries[0];
            assert_eq!(e.message_text.as_deref(), Some(text));
            if text.starts_with('{') {
                assert_eq!(e.decoded.as_ref().unwrap()["a"], "plain json");
                assert_eq!(e.decode_error, None);
            } else {
                assert_eq!(e.decoded, None);
                assert!(e.decode_error.is_some(), "{text:?}");
            }
        }
    }

    #[tokio::test]
    async fn after_a_failed_append_the_writer_refuses_every_later_batch() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        std::fs::write(&path, "").unwrap();
        // Opened read-only: the write fails as a full disk would.
        let w = ArchiveWriter::new(std::fs::File::open(&path).unwrap());
        let first = w.append_all(vec!["{}".into()]).await.unwrap_err();
        assert!(!first.to_string().contains("earlier"), "{first}");
        let second = w.append_all(vec!["{}".into()]).await.unwrap_err();
        assert!(
            second
                .to_string()
                .contains("an earlier archive write failed"),
            "{second}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn batches_waiting_on_a_commit_are_written_together_and_stay_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        let w = ArchiveWriter::new(open_for_append(&path).unwrap());
        // As if a write and fsync were running: eight batches queue up behind it.
        let (locked, release) = (std::sync::mpsc::channel(), std::sync::mpsc::channel::<()>());
        let state = w.state.clone();
        let holder = std::thread::spawn(move || {
            let _held = state.lock().unwrap();
            locked.0.send(()).unwrap();
            release.1.recv().unwrap();
        });
        locked.1.recv().unwrap();
        let tasks: Vec<_> = (0..8)
            .map(|b| {
                let w = w.clone();
                tokio::spawn(async move {
                    w.append_all((0..3).map(|i| format!("{b}-{i}")).collect())
                        .await
                })
            })
            .collect();
        while w.pending.lock().unwrap().len() < 8 {
            tokio::task::yield_now().await;
        }
        release.0.send(()).unwrap();
        holder.join().unwrap();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        // One fsync for all eight (one each before).
        assert_eq!(w.commits(), 1);
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 24);
        for batch in lines.chunks(3) {
            let b = batch[0].split('-').next().unwrap();
            assert_eq!(
                batch,
                [format!("{b}-0"), format!("{b}-1"), format!("{b}-2")]
            );
        }
    }

    #[test]
    fn reading_dedupes_by_message_id_and_reports_torn_lines() {
        let a = line(&received("a", "e30="), Utc::now());
        let b = line(&received("b", "e30="), Utc::now());
        let text = format!("{a}\n{b}\n{a}\n\n{{\"Format\":\"kingest-arch");
        let got = parse(&text);
        let ids: Vec<&str> = got.entries.iter().map(|e| e.message_id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(got.duplicates, 1);
        assert_eq!(got.bad_lines.len(), 1);
        assert_eq!(got.bad_lines[0].0, 5);
        let odd = parse("[1]\n{\"MessageId\":\"\"}\n{\"MessageId\":\"x\",\"Format\":\"v9\"}\n");
        assert_eq!(odd.entries, vec![]);
        assert_eq!(odd.bad_lines.len(), 3);
    }

    #[test]
    fn first_format_lines_are_still_read_and_marked() {
        let old = r#"{"OperationId":"op","Database":"db","ErrorCode":"BadRequest_EmptyBlob","Details":"x","MessageId":"m0","DequeueCount":2,"InsertionTime":"2025-01-01T00:00:00Z","Queue":"fq","Kind":"failure"}
{"Raw":"%%%","DecodeError":"message is neither base64 JSON nor JSON","MessageId":"m1","DequeueCount":1,"InsertionTime":null,"Queue":"fq","Kind":"failure"}"#;
        let got = parse(old);
        assert_eq!(got.old_format, 2);
        let e = &got.entries[0];
        assert!(e.old_format && e.message_text.is_none());
        assert_eq!(e.dequeue_count, Some(2));
        assert_eq!(
            e.decoded.as_ref().unwrap()["ErrorCode"],
            "BadRequest_EmptyBlob"
        );
        assert!(e.decoded.as_ref().unwrap().get("MessageId").is_none());
        assert_eq!(got.entries[1].decoded, Some(Value::from("%%%")));
        assert!(got.entries[1].decode_error.is_some());
    }

    #[test]
    fn archives_are_private_and_a_torn_tail_does_not_swallow_the_next_record() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/a.jsonl");
        let a = line(&received("a", "e30="), Utc::now());
        // A crash mid-write left half a record without its newline.
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &a[..a.len() / 2]).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        let mut f = open_for_append(&path).unwrap();
        append(&mut f, &a).unwrap();
        drop(f);
        let got = read(&path).unwrap();
        assert_eq!(got.entries.len(), 1, "{got:?}");
        assert_eq!(got.bad_lines.len(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
            let fresh = dir.path().join("fresh.jsonl");
            drop(open_for_append(&fresh).unwrap());
            let mode = std::fs::metadata(&fresh).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }
}
