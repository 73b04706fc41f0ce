//! Submit: read → gzip (in parallel on every core, while uploading: `upload`, `gzip`) →
//! upload to a temp container → status entity → post the ingestion message; progress
//! reported as bytes read/sent.

mod blob;
pub mod chunk;
pub mod gzip;
mod post;
mod properties;
pub(crate) mod rest;
pub mod resume;
mod stages;
mod upload;

pub use blob::{BlobSource, RawSize, format_from_url, raw_size};
pub(crate) use post::post;
pub use properties::check_extra_properties;
use stages::Stages;
#[cfg(debug_assertions)]
use stages::crash_point;
pub use upload::BLOCK_SIZE;
pub(crate) use upload::zip_uncompressed_size;
use upload::{Encoding, Uploaded, upload};

use std::path::PathBuf;

use serde_json::{Map, Value};

use crate::client::storage::SasUrl;
use crate::client::wire::{DataFormat, ReportLevel, ReportMethod, field};

#[derive(Debug, Clone)]
pub struct SubmitRequest {
    pub path: PathBuf,
    pub database: String,
    pub table: String,
    /// `None`: from the file extension.
    pub format: Option<DataFormat>,
    pub mapping_reference: Option<String>,
    /// Inline mapping JSON text (exclusive with `mapping_reference`).
    pub mapping: Option<String>,
    pub report_level: ReportLevel,
    pub report_method: ReportMethod,
    pub flush_immediately: bool,
    pub tags: Vec<String>,
    pub ingest_if_not_exists: Vec<String>,
    pub ignore_first_record: bool,
    /// Extent creation time; normalised by [`normalize_creation_time`], refused if it is not
    /// a date/time.
    pub creation_time: Option<String>,
    /// `false` makes the service delete the blob after a successful ingestion.
    pub retain_blob_on_success: bool,
    /// Send a source over the size limit anyway; also sets the message's `IgnoreSizeLimit`.
    pub ignore_size_limit: bool,
    /// Uncompressed size limit in bytes; `None` = [`SIZE_LIMIT`]. Tests set a small one.
    pub size_limit: Option<u64>,
    pub extra_properties: Map<String, Value>,
    /// Use this source id instead of a fresh one.
    pub source_id: Option<uuid::Uuid>,
    /// Send a file that changed while it was read (what was read, with a warning); by default
    /// such a source fails before its blob is committed: its last record may be torn.
    pub allow_growing: bool,
    /// Tag the post `ingest-by:<content hash>` with `ingestIfNotExists` on the same value, so
    /// the same content is ingested into the table at most once (see [`DEDUPE_COST`]).
    pub dedupe: bool,
    /// Where to record the submission before its upload and before its post, so a run that
    /// dies meanwhile leaves a record the next run reconciles.
    pub journal: Option<crate::client::journal::Journal>,
    /// Resume an interrupted upload to this blob, skipping the blocks it already has.
    pub resume: Option<Resume>,
    /// Threads compressing the gzip stream; `None`: one per available core. The stream is
    /// the same whatever the count (so it need not be journaled for a resume).
    pub compress_threads: Option<usize>,
    /// The ingestion path ([`IngestMode`](crate::client::mode::IngestMode)).
    pub mode: crate::client::mode::IngestMode,
    /// Read the data from standard input (`submit -`), not from `path` (then only a name):
    /// streamed, never held whole; the format must be given, and it cannot be resumed.
    pub from_stdin: bool,
    /// Split a text source into chunks of about this many uncompressed bytes, at record
    /// boundaries ([`chunk`]); `None`: never split. Only
    /// [`IngestClient::submit_chunks`](crate::client::IngestClient::submit_chunks) splits.
    pub chunk_size: Option<u64>,
    /// An existing blob to ingest as it is, instead of the file at `path` (no upload).
    pub blob: Option<BlobSource>,
    /// Add the extent tag `kingest:<source id>` (`submit --tag-source`): the row count by
    /// that tag joins the source's timeline. Opt-in: the batching policy seals a blob with
    /// its own tags in a batch of its own (see [`TAG_SOURCE_COST`]).
    pub tag_source: bool,
}

/// What `--tag-source` costs, for the front doors to say. DOCS `ingest-data-overview.md`:
/// "Data is batched based on ingestion properties" (tags are one, so a unique tag makes a
/// batch of one blob; the emulator's `dm/batching.rs` keys batches the same way), and
/// `kusto/management/extent-tags.md`: tags are kept in the extents' metadata.
pub const TAG_SOURCE_COST: &str = "a per-source extent tag makes the ingestion properties of \
     this source unique, so the service cannot batch it with other blobs (one small extent per \
     source), and every distinct tag stays in the extents' metadata";

/// An interrupted upload to resume (`client::resume`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resume {
    /// The blob URL without its query.
    pub blob: String,
    /// Uncommitted blocks the blob already has: (base64 id, size).
    pub staged: Vec<(String, u64)>,
}

impl SubmitRequest {
    pub fn new(path: impl Into<PathBuf>, database: &str, table: &str) -> Self {
        SubmitRequest {
            path: path.into(),
            database: database.to_string(),
            table: table.to_string(),
            format: None,
            mapping_reference: None,
            mapping: None,
            report_level: ReportLevel::FailuresAndSuccesses,
            report_method: ReportMethod::Queue,
            flush_immediately: false,
            tags: vec![],
            ingest_if_not_exists: vec![],
            ignore_first_record: false,
            creation_time: None,
            // Every SDK sends true: PY `ingestion_blob_info.py`, JAVA `IngestionBlobInfo.java`,
            // NODE `ingestionBlobInfo.ts`. The service's default (field absent) is false.
            retain_blob_on_success: true,
            ignore_size_limit: false,
            size_limit: None,
            extra_properties: Map::new(),
            source_id: None,
            allow_growing: false,
            dedupe: false,
            journal: None,
            resume: None,
            compress_threads: None,
            mode: crate::client::mode::IngestMode::Queued,
            from_stdin: false,
            chunk_size: None,
            blob: None,
            tag_source: false,
        }
    }

    /// What resuming needs of the request, for the journal (no secret in it).
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "path": self.path.to_string_lossy(),
            "database": self.database,
            "table": self.table,
            "format": self.format.map(|f| f.wire_name()),
            "mapping_reference": self.mapping_reference,
            "mapping": self.mapping,
            "report_level": self.report_level.as_str(),
            "report_method": self.report_method.as_str(),
            "flush_immediately": self.flush_immediately,
            "tags": self.tags,
            "ingest_if_not_exists": self.ingest_if_not_exists,
            "ignore_first_record": self.ignore_first_record,
            "creation_time": self.creation_time,
            "retain_blob_on_success": self.retain_blob_on_success,
            "ignore_size_limit": self.ignore_size_limit,
            "size_limit": self.size_limit,
            "extra_properties": self.extra_properties,
            "allow_growing": self.allow_growing,
            "dedupe": self.dedupe,
            "mode": self.mode.as_str(),
            // Shown, never resumed (nothing is uploaded): without its SAS.
            "blob": self.blob.as_ref().map(|b| b.url.without_query()),
            "from_stdin": self.from_stdin,
            "chunk_size": self.chunk_size,
            "tag_source": self.tag_source,
        })
    }

    /// What the source is called on screen: the file's path, or the blob's URL without its
    /// query (no SAS).
    pub fn source_name(&self) -> String {
        match &self.blob {
            Some(b) => b.url.without_query(),
            None => self.path.display().to_string(),
        }
    }

    /// The request [`SubmitRequest::to_json`] wrote; `None` when it cannot be read back.
    pub fn from_json(v: &Value) -> Option<Self> {
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let b = |k: &str| v.get(k).and_then(Value::as_bool).unwrap_or(false);
        let list = |k: &str| -> Vec<String> {
            v.get(k)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut r = SubmitRequest::new(s("path")?, &s("database")?, &s("table")?);
        r.format = match s("format") {
            Some(f) => Some(f.parse().ok()?),
            None => None,
        };
        r.mapping_reference = s("mapping_reference");
        r.mapping = s("mapping");
        r.report_level = s("report_level")?.parse().ok()?;
        r.report_method = s("report_method")?.parse().ok()?;
        r.flush_immediately = b("flush_immediately");
        r.tags = list("tags");
        r.ingest_if_not_exists = list("ingest_if_not_exists");
        r.ignore_first_record = b("ignore_first_record");
        r.creation_time = s("creation_time");
        r.retain_blob_on_success = b("retain_blob_on_success");
        r.ignore_size_limit = b("ignore_size_limit");
        r.size_limit = v.get("size_limit").and_then(Value::as_u64);
        r.extra_properties = v
            .get("extra_properties")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        r.allow_growing = b("allow_growing");
        r.dedupe = b("dedupe");
        r.from_stdin = b("from_stdin");
        r.chunk_size = v.get("chunk_size").and_then(Value::as_u64);
        r.tag_source = b("tag_source");
        // Records written before modes existed were queued.
        r.mode = match s("mode") {
            Some(m) => m.parse().ok()?,
            None => crate::client::mode::IngestMode::Queued,
        };
        Some(r)
    }

    /// Whether the post asks `ingestIfNotExists` (`--ingest-if-not-exists` tags, or `dedupe`'s
    /// content tag), so a Skipped outcome is what was asked for. The one place that decides
    /// it: every front door hands it to
    /// [`Tracker::with_if_not_exists`](crate::client::tracking::Tracker::with_if_not_exists).
    pub fn if_not_exists(&self) -> bool {
        self.dedupe || !self.ingest_if_not_exists.is_empty()
    }

    /// The uncompressed size limit that applies, `None` when ignored.
    pub fn effective_size_limit(&self) -> Option<u64> {
        (!self.ignore_size_limit).then(|| self.size_limit.unwrap_or(SIZE_LIMIT))
    }
}

/// Uncompressed bytes per source the client refuses to send without `IgnoreSizeLimit`: 4 GiB,
/// as the C# client ("maximal size of 4GB", DOCS `kusto/api/netfx/kusto-ingest-client-errors.md`)
/// and Java ingest-v2 (`UPLOAD_CONTAINER_MAX_DATA_SIZE_BYTES`, `IngestV2.kt`) do. The service
/// itself takes at most 6 GB (DOCS `includes/cross-repo/ingestion-size-limit.md`).
pub const SIZE_LIMIT: u64 = 4 * 1024 * 1024 * 1024;

fn human_bytes(n: u64) -> String {
    const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
    const MIB: f64 = 1024.0 * 1024.0;
    let f = n as f64;
    if f >= GIB {
        format!("{:.1} GiB", f / GIB)
    } else if f >= MIB {
        format!("{:.1} MiB", f / MIB)
    } else {
        format!("{n} bytes")
    }
}

/// The refusal of a source over `limit`; `size` is its uncompressed size, or `None` when only
/// known to exceed the limit (a `.gz` stopped while decoding).
fn too_large(path: &std::path::Path, size: Option<u64>, limit: u64) -> Error {
    let what = match size {
        Some(n) => format!("is {} ({n} bytes) uncompressed, over", human_bytes(n)),
        None => "decodes to more than".to_string(),
    };
    Error::Usage(format!(
        "'{}' {what} the {} ({limit} bytes) size limit for one source: split it into smaller \
         files (1 GB or less is recommended), or pass --ignore-size-limit to send it anyway \
         (the service refuses sources over 6 GB)",
        path.display(),
        human_bytes(limit),
    ))
}

/// `--creation-time` as the wire wants it: ISO 8601 in UTC with 7 fraction digits
/// (`2024-01-02T03:04:05.0000000Z`, the .NET round-trip form used for other datetimes here;
/// the docs only ask for "an ISO8601 string", DOCS `kusto/ingestion-properties.md`; GO sends
/// RFC 3339). Accepted: RFC 3339 with `Z` or an offset (converted to UTC); `YYYY-MM-DD`
/// (midnight UTC); `YYYY-MM-DD[T ]HH:MM[:SS[.fff]]` without offset, taken as UTC. Anything
/// else, bare numbers included, is refused.
pub fn normalize_creation_time(text: &str) -> Result<String> {
    let s = text.trim();
    let refuse = || {
        Error::Usage(format!(
            "creation time '{text}' is not a date/time: use ISO 8601, e.g. 2024-01-02, \
             '2024-01-02 03:04:05' (taken as UTC) or 2024-01-02T03:04:05+01:00"
        ))
    };
    // Every accepted form starts with a four-digit year and a dash.
    if s.len() < 10 || !s.as_bytes()[..4].iter().all(u8::is_ascii_digit) || s.as_bytes()[4] != b'-'
    {
        return Err(refuse());
    }
    let t = if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        t.with_timezone(&chrono::Utc)
    } else if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        d.and_hms_opt(0, 0, 0).ok_or_else(refuse)?.and_utc()
    } else {
        let naive = s.strip_suffix(['Z', 'z']).unwrap_or(s);
        [
            "%Y-%m-%dT%H:%M:%S%.f",
            "%Y-%m-%d %H:%M:%S%.f",
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%d %H:%M",
        ]
        .iter()
        .find_map(|f| chrono::NaiveDateTime::parse_from_str(naive, f).ok())
        .ok_or_else(refuse)?
        .and_utc()
    };
    Ok(crate::client::wire::format_timestamp(t))
}

/// Upload progress of one source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub source_id: uuid::Uuid,
    /// Bytes of the local file read so far.
    pub read: u64,
    /// Bytes (compressed when gzipping) sent to storage so far.
    pub sent: u64,
    /// Size of the local file.
    pub total: u64,
}

/// What a finished submit returns, whatever path carried it: the fields every mode has, and
/// the path's own answer in [`Delivery`].
#[derive(Debug, Clone)]
pub struct Submitted {
    pub source_id: uuid::Uuid,
    pub format: DataFormat,
    /// Uncompressed size (as sent in `RawDataSize` when queued).
    pub raw_data_size: u64,
    /// Bytes sent: uploaded to the blob, or the body of a streaming request.
    pub uploaded_bytes: u64,
    /// How the file changed while it was read, when `allow_growing` let it through.
    pub changed_while_read: Option<String>,
    /// The mode asked for; [`Delivery::path`] is the one that finally carried the source
    /// (managed: streaming or queued).
    pub mode: crate::client::mode::IngestMode,
    /// Managed mode only: why it went queued instead of streaming.
    pub fallback: Option<String>,
    /// The engine's answer when it ingested synchronously (streaming, direct): the source is
    /// final at once ([`Tracker::start`](crate::client::tracking::Tracker::start)).
    pub answer: Option<crate::client::tracking::Answer>,
    pub delivery: Delivery,
    /// Which chunk of a split source this message carries (`source_id` is then the chunk's
    /// own message Id); `None` for a source sent whole.
    pub chunk: Option<ChunkOf>,
    /// The storage requests the submit made, for the timeline (`client::timeline`).
    pub requests: crate::client::timeline::Requests,
    /// The `kingest:<source id>` extent tag it was sent with.
    pub tag: Option<String>,
}

impl Submitted {
    /// The tracker this source starts with, reported at `level` by `method`: final at once
    /// when the engine answered, else posted and tracked until final.
    pub fn tracker(
        &self,
        level: ReportLevel,
        method: ReportMethod,
        if_not_exists: bool,
        now: chrono::DateTime<chrono::Utc>,
    ) -> crate::client::tracking::Tracker {
        let reports = level != ReportLevel::None;
        let q = self.queued();
        crate::client::tracking::Tracker::start(
            self.source_id.to_string(),
            self.answer.as_ref(),
            q.and_then(|q| q.status_ref.clone()).filter(|_| reports),
            reports && method.uses_queue() && q.is_some(),
            now,
        )
        .with_reposts(q.map_or(0, |q| q.reposts))
        .with_if_not_exists(if_not_exists)
        .with_operation(self.operation())
        .with_history(self.history())
    }

    /// The timeline's start: the requests made, and the queue's answer to the post (with the
    /// request id of the Put Message that landed).
    pub fn history(&self) -> crate::client::timeline::History {
        use crate::client::timeline::{History, Posted};
        let posted = self.queued().map(|q| Posted {
            message_id: q.message_id.clone(),
            insertion_time: q.insertion_time,
            queue: format!("{}/{}", q.queue.account(), q.queue.object_name()),
            request_id: self
                .requests
                .kept
                .iter()
                .rev()
                .find(|r| r.op == "Put Message" && r.error.is_none())
                .map(|r| r.request_id.clone()),
        });
        History {
            requests: self.requests.clone(),
            posted,
            tag: self.tag.clone(),
            ..History::default()
        }
    }

    /// The REST queued operation to track, when the source went that way with tracking.
    pub fn operation(&self) -> Option<crate::client::tracking::OperationRef> {
        match &self.delivery {
            Delivery::RestQueued {
                operation_id,
                database,
                table,
            } if !operation_id.is_empty() => Some(crate::client::tracking::OperationRef {
                database: database.clone(),
                table: table.clone(),
                operation_id: operation_id.clone(),
            }),
            _ => None,
        }
    }

    /// Where the status entity lives, when queued with table reporting.
    pub fn status_ref(&self) -> Option<&crate::client::tracking::StatusRef> {
        self.queued().and_then(|q| q.status_ref.as_ref())
    }

    /// The queued path's answer, when the source went through an ingestion queue.
    pub fn queued(&self) -> Option<&QueueDelivery> {
        match &self.delivery {
            Delivery::Queue(q) => Some(q),
            _ => None,
        }
    }
}

/// How a source reached the service, with what that path answered.
#[derive(Debug, Clone)]
pub enum Delivery {
    /// Uploaded to a temp blob and posted to an ingestion queue: tracked until final.
    Queue(Box<QueueDelivery>),
    /// Streaming ingestion: the engine ingested it at once (`ConsumedRecordsCount`).
    Streamed { consumed_records: u64 },
    /// Direct ingestion: `.ingest into` ran on the engine over the uploaded blob.
    Direct {
        blob: SasUrl,
        rows: Vec<crate::client::direct::DirectRow>,
    },
    /// The DM's REST queued API: tracked by operation id.
    /// (empty: tracking not asked).
    RestQueued {
        operation_id: String,
        database: String,
        table: String,
    },
}

impl Delivery {
    /// The path that carried the source.
    pub fn path(&self) -> crate::client::mode::IngestMode {
        use crate::client::mode::IngestMode;
        match self {
            Delivery::Queue(_) => IngestMode::Queued,
            Delivery::Streamed { .. } => IngestMode::Streaming,
            Delivery::Direct { .. } => IngestMode::Direct,
            Delivery::RestQueued { .. } => IngestMode::RestQueued,
        }
    }
}

/// What the queued path hands back: where the blob and the message went.
#[derive(Debug, Clone)]
pub struct QueueDelivery {
    pub blob: SasUrl,
    pub queue: SasUrl,
    pub message_id: String,
    /// Where the status entity lives, when reporting to a table.
    pub status_ref: Option<crate::client::tracking::StatusRef>,
    /// The queue's InsertionTime for the message.
    pub insertion_time: Option<chrono::DateTime<chrono::Utc>>,
    /// Copies of the message posted again after an answer was lost (see [`post`]).
    pub reposts: u32,
    /// The `ingest-by:` value of `dedupe`.
    pub dedupe_tag: Option<String>,
    /// Blocks of an interrupted upload that were found staged and not sent again.
    pub blocks_reused: usize,
}

/// One chunk of a source split by [`chunk`]: each is its own blob and message, with its own
/// `Id` (the service reports per message), grouped under the user's source id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChunkOf {
    /// The source id the user sees for every chunk.
    pub source_id: uuid::Uuid,
    /// From 1.
    pub index: usize,
    pub count: usize,
}

/// What `dedupe` costs, for the front doors to say: DOCS `kusto/management/batching-policy.md`
/// (a blob with an ingest-by tag is sealed alone: `SingleBlob_IngestByTag`) and
/// `kusto/management/extent-tags.md` ("assigning unique ingest-by tags for each ingestion
/// call can significantly impact performance").
pub const DEDUPE_COST: &str = "--dedupe tags every post ingest-by:<sha256 of the file> with \
    ingestIfNotExists on it: the service seals each such blob in a batch of its own \
    (SingleBlob_IngestByTag, no batching with other files) and every unique ingest-by tag adds \
    to what the engine checks on each ingestion into the table; use it for files that must \
    not be ingested twice, not for a stream of small ones";

/// The `ingest-by:` value for content whose SHA-256 is `digest`.
fn dedupe_value(digest: &[u8]) -> String {
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256-{hex}")
}

/// A file's size and modification time, taken before reading and again at the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Snapshot {
    len: u64,
    modified: Option<std::time::SystemTime>,
}

impl Snapshot {
    fn of(meta: &std::fs::Metadata) -> Self {
        Snapshot {
            len: meta.len(),
            modified: meta.modified().ok(),
        }
    }

    /// The modification time in ns since the epoch, as the journal keeps it.
    fn mtime_ns(&self) -> Option<i128> {
        let t = self.modified?;
        Some(match t.duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => d.as_nanos() as i128,
            Err(e) => -(e.duration().as_nanos() as i128),
        })
    }
}

/// `path`'s size and modification time (ns since the epoch), as the journal keeps them.
pub fn file_stamp(path: &std::path::Path) -> Option<(u64, Option<i128>)> {
    let s = Snapshot::of(&std::fs::metadata(path).ok()?);
    Some((s.len, s.mtime_ns()))
}

/// Whether `path` still has the size and mtime the journal noted: an interrupted upload of
/// it can be resumed.
pub fn unchanged_since(path: &std::path::Path, len: u64, mtime_ns: Option<i128>) -> bool {
    std::fs::metadata(path).is_ok_and(|m| {
        let now = Snapshot::of(&m);
        now.len == len && now.mtime_ns() == mtime_ns
    })
}

/// How the file changed between `before` (taken when the submit started) and `after` (at
/// the end of reading), given the bytes read; `None` when it did not.
fn change_while_read(before: Snapshot, after: Snapshot, read: u64) -> Option<String> {
    let mut what = Vec::new();
    if after.len != before.len {
        what.push(format!(
            "its size went from {} to {} bytes",
            before.len, after.len
        ));
    }
    if read != before.len && read != after.len {
        what.push(format!("{read} bytes were read"));
    } else if read != before.len {
        what.push(format!("{read} bytes were read, not {}", before.len));
    }
    if after.modified != before.modified {
        what.push("its modification time changed".to_string());
    }
    (!what.is_empty()).then(|| what.join(", "))
}

use crate::client::error::{Error, Result};
use crate::client::resources::ResourceKind;
use crate::client::wire::{
    IngestionMessage, IngestionStatusInTable, MAX_QUEUE_MESSAGE_BYTES, StatusEntity,
};
use crate::client::{IngestClient, ProgressFn};

/// At most this many storage resources are tried, as the SDKs do.
const MAX_ATTEMPTS: usize = 3;

/// Blob name: `{db}__{table}__{sourceId}__{file}[.gz]`.
pub fn blob_name(
    database: &str,
    table: &str,
    source_id: &uuid::Uuid,
    file_name: &str,
    gzip: bool,
) -> String {
    let clean: String = file_name
        .chars()
        .map(|c| {
            if c.is_control() || matches!(c, '\\' | '/' | '?' | '#') {
                '_'
            } else {
                c
            }
        })
        .collect();
    format!(
        "{database}__{table}__{source_id}__{clean}{}",
        if gzip { ".gz" } else { "" }
    )
}

pub(crate) async fn submit(
    client: &IngestClient,
    mut req: SubmitRequest,
    progress: ProgressFn,
) -> Result<Submitted> {
    req.chunk_size = None;
    let mut sent = submit_all(client, req, progress).await?;
    sent.pop()
        .ok_or_else(|| Error::Internal("the submit posted no message".into()))
}

/// The upload paths (queued, direct): one [`Submitted`] per message, several when the source
/// was split into chunks (`req.chunk_size`).
pub(crate) async fn submit_all(
    client: &IngestClient,
    req: SubmitRequest,
    progress: ProgressFn,
) -> Result<Vec<Submitted>> {
    let mut stages = Stages::default();
    let result = submit_staged(client, req, progress, &mut stages).await;
    if let Err(e) = &result {
        stages.abandon(&format!("the submit failed after its upload started: {e}"));
    }
    result
}

/// A source checked, its format known and its file's metadata read: what every mode starts
/// from.
pub(crate) struct Source {
    pub(crate) format: DataFormat,
    pub(crate) meta: std::fs::Metadata,
    pub(crate) path_text: String,
}

/// Validates `req`, finds its format (given, else from the extension) and reads its file's
/// metadata.
pub(crate) async fn source(req: &SubmitRequest) -> Result<Source> {
    validate(req)?;
    let path_text = req.path.to_string_lossy().to_string();
    let format = match req.format {
        Some(f) => f,
        None => DataFormat::from_path(&path_text).ok_or_else(|| {
            Error::Usage(format!("cannot tell the format of '{path_text}' from its extension: pass a format (e.g. --format csv)"))
        })?,
    };
    let meta = tokio::fs::metadata(&req.path)
        .await
        .map_err(|e| Error::Usage(format!("cannot read '{path_text}': {e}")))?;
    if !meta.is_file() {
        return Err(Error::Usage(format!("'{path_text}' is not a file")));
    }
    Ok(Source {
        format,
        meta,
        path_text,
    })
}

/// The name standard input goes by: in blob names, the journal and reports.
pub const STDIN_NAME: &str = "stdin";

/// How the source travels: a `.gz` or `.zip` as it is, a binary format as it is (clients
/// never compress those: research §8), anything else gzipped; a stream by its format alone.
async fn encoding_of(req: &SubmitRequest, format: DataFormat) -> Encoding {
    let lower = req.path.to_string_lossy().to_ascii_lowercase();
    if req.from_stdin {
        // A stream has no extension: its bytes are what the format says.
        if format.is_compressible() {
            Encoding::Gzip
        } else {
            Encoding::AsIs { gz: false }
        }
    } else if lower.ends_with(".gz") {
        Encoding::AsIs { gz: true }
    } else if lower.ends_with(".zip") {
        let path = req.path.clone();
        let raw = tokio::task::spawn_blocking(move || zip_uncompressed_size(&path))
            .await
            .ok()
            .flatten();
        Encoding::Zip { raw }
    } else if !format.is_compressible() {
        Encoding::AsIs { gz: false }
    } else {
        Encoding::Gzip
    }
}

/// The splitter of a source that may be cut into chunks: text we gzip ourselves, in a format
/// whose records can be told apart, bigger than the chunk size (or a stream, whose size is
/// unknown).
fn splitter_of(
    req: &SubmitRequest,
    format: DataFormat,
    encoding: Encoding,
    len: Option<u64>,
) -> Option<chunk::Chunking> {
    let limit = req.chunk_size?;
    let records = chunk::Records::of(format)?;
    let fits = len.is_some_and(|n| n <= limit);
    (encoding == Encoding::Gzip && !fits).then(|| chunk::Chunking {
        splitter: chunk::Splitter::new(records),
        limit,
    })
}

/// `data.csv` as chunk 2: `data.chunk0002.csv` (the extension stays last); chunk 1 keeps the
/// file's name.
fn chunk_file_name(file_name: &str, index: usize) -> String {
    match file_name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => format!("{stem}.chunk{index:04}.{ext}"),
        _ => format!("{file_name}.chunk{index:04}"),
    }
}

/// Whether `blob` (a URL or name) is a chunk after the first of a split source, as
/// [`chunk_file_name`] names them.
pub fn is_chunk_blob(blob: &str) -> bool {
    let name = blob.rsplit('/').next().unwrap_or(blob);
    name.match_indices(".chunk").any(|(i, m)| {
        let digits = &name[i + m.len()..];
        digits.len() > 4 && digits.as_bytes()[..4].iter().all(u8::is_ascii_digit)
    })
}

/// A source uploaded to a temp blob (the queued and direct paths).
struct UploadedSource {
    source_id: uuid::Uuid,
    format: DataFormat,
    blob: SasUrl,
    done: Uploaded,
}

/// One chunk uploaded and committed, not posted yet.
struct UploadedChunk {
    blob: SasUrl,
    done: Uploaded,
}

/// What every upload path starts from: the checked request's format, and the file's metadata
/// (`None` for standard input).
async fn origin(req: &SubmitRequest) -> Result<(DataFormat, Option<std::fs::Metadata>, String)> {
    if !req.from_stdin {
        let src = source(req).await?;
        return Ok((src.format, Some(src.meta), src.path_text));
    }
    validate(req)?;
    let format = req.format.ok_or_else(|| {
        Error::Usage(
            "standard input has no file extension to tell its format: pass one (e.g. \
             --format csv)"
                .into(),
        )
    })?;
    Ok((format, None, STDIN_NAME.to_string()))
}

/// Every chunk of a source uploaded and committed, not posted yet.
struct Uploads {
    source_id: uuid::Uuid,
    format: DataFormat,
    chunks: Vec<UploadedChunk>,
    /// The ingestion resources the upload used (`None`: uploaded to given containers).
    resources: Option<std::sync::Arc<crate::client::IngestionResources>>,
}

/// Where a source is uploaded: the cluster's temp containers (queued, direct), or the
/// containers the REST queued API's configuration names.
enum UploadTo {
    TempStorage,
    Containers(Vec<SasUrl>),
}

async fn submit_staged(
    client: &IngestClient,
    req: SubmitRequest,
    progress: ProgressFn,
    stages: &mut Stages,
) -> Result<Vec<Submitted>> {
    if let Some(source) = req.blob.clone() {
        return blob::submit(client, req, source, stages)
            .await
            .map(|s| vec![s]);
    }
    let up = upload_source(client, &req, &progress, stages, UploadTo::TempStorage).await?;
    if req.mode == crate::client::mode::IngestMode::Direct {
        // `submit` never splits: one chunk.
        let Uploads {
            source_id,
            format,
            mut chunks,
            ..
        } = up;
        if chunks.len() != 1 {
            // `.ingest into` names one blob here: the callers send a direct source whole.
            return Err(Error::Internal(format!(
                "a direct source was uploaded as {} blobs, not one",
                chunks.len()
            )));
        }
        let c = chunks
            .pop()
            .ok_or_else(|| Error::Internal("nothing was uploaded".into()))?;
        let up = UploadedSource {
            source_id,
            format,
            blob: c.blob,
            done: c.done,
        };
        return direct_tail(client, &req, up, stages).await.map(|s| vec![s]);
    }
    post_chunks(client, req, up, stages).await
}

/// Upload: ranked containers, at most 3 attempts per chunk, each from the start of the
/// chunk, journaled as it goes (`stages`); the source read once and cut into chunks as it
/// streams by.
async fn upload_source(
    client: &IngestClient,
    req: &SubmitRequest,
    progress: &ProgressFn,
    stages: &mut Stages,
    to: UploadTo,
) -> Result<Uploads> {
    let (format, meta, path_text) = origin(req).await?;
    let len = meta.as_ref().map(std::fs::Metadata::len);
    let encoding = encoding_of(req, format).await;
    let splitter = splitter_of(req, format, encoding, len);
    // Refuse before any byte is sent where the uncompressed size is known up front; a `.gz`
    // is checked while it is decoded during the upload, a stream and each chunk while read.
    if let (Some(limit), Some(len), None) = (req.effective_size_limit(), len, &splitter) {
        let known = match encoding {
            Encoding::AsIs { gz: true } => None,
            // An unreadable directory: the file's length is the least it holds.
            Encoding::Zip { raw } => Some(raw.unwrap_or(len).max(len)),
            _ => Some(len),
        };
        if let Some(size) = known.filter(|&n| n > limit) {
            return Err(too_large(&req.path, Some(size), limit));
        }
    }
    let file_name = if req.from_stdin {
        format!("{STDIN_NAME}.{}", format.wire_name())
    } else {
        req.path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_else(|| "data".into())
    };
    let source_id = req.source_id.unwrap_or_else(uuid::Uuid::new_v4);
    let chunked = splitter.is_some();
    // The first chunk keeps the plain name: a source that turns out to fit in one chunk (a
    // stream) is named as if it was never split, and resuming an interrupted first chunk
    // sends the whole file to it, the same blocks first.
    let name_of = |index: usize| {
        let file = if chunked && index > 1 {
            chunk_file_name(&file_name, index)
        } else {
            file_name.clone()
        };
        blob_name(
            &req.database,
            &req.table,
            &source_id,
            &file,
            encoding == Encoding::Gzip,
        )
    };
    let (resources, mut containers) = match to {
        UploadTo::TempStorage => {
            let resources = client.resources().await?;
            let containers = client.ranked(resources.of_kind(ResourceKind::TempStorage));
            (Some(resources), containers)
        }
        UploadTo::Containers(c) => (None, c),
    };

    // Upload: ranked containers, at most 3 attempts per chunk, each from the start of the
    // chunk; a resumed upload goes to the container it started in.
    if let Some(r) = &req.resume {
        containers.retain(|c| c.child(&name_of(1)).without_query() == r.blob);
        if containers.is_empty() {
            return Err(Error::MissingResource(format!(
                "the container of the interrupted upload ({}) is no longer offered",
                r.blob
            )));
        }
    }
    if let Some(j) = &req.journal {
        stages.journal = Some(j.clone());
        stages.written = Some(crate::client::journal::JournalRecord {
            at: chrono::Utc::now(),
            ingest_url: j.ingest_url().to_string(),
            source_id: source_id.to_string(),
            file: path_text.clone(),
            database: req.database.clone(),
            table: req.table.clone(),
            format: format.wire_name(),
            size: len.unwrap_or(0),
            report_level: req.report_level.as_str().to_string(),
            report_method: req.report_method.as_str().to_string(),
            mode: req.mode,
            blob: None,
            message_id: None,
            tracker: crate::client::tracking::Tracker::posted(
                source_id.to_string(),
                None,
                false,
                chrono::Utc::now(),
            ),
            chunk: None,
            unfinished: Some(crate::client::journal::Unfinished {
                stage: crate::client::journal::Stage::Uploading,
                pid: std::process::id(),
                request: req.to_json(),
                file_len: len.unwrap_or(0),
                file_mtime_ns: meta.as_ref().and_then(|m| Snapshot::of(m).mtime_ns()),
            }),
            request: None,
            file_len: None,
            file_mtime_ns: None,
            resubmit_of: None,
        });
    }
    let stream = if req.from_stdin {
        chunk::Stream::Stdin(tokio::io::stdin())
    } else {
        chunk::Stream::File(tokio::fs::File::open(&req.path).await?)
    };
    let mut input = chunk::Input::new(stream, splitter);
    let start = meta.as_ref().map(Snapshot::of);
    let mut uploaded: Vec<UploadedChunk> = Vec::new();
    loop {
        let name = name_of(uploaded.len() + 1);
        let sent_before = uploaded.iter().map(|c| c.done.sent).sum();
        let mut last_err = None;
        let mut this = None;
        for container in containers.iter().take(MAX_ATTEMPTS) {
            let blob = container.child(&name);
            stages.mark(crate::client::journal::Stage::Uploading, &blob);
            let reading = upload::Reading {
                input: &mut input,
                start,
                source_id,
                progress,
                sent_before,
            };
            match upload(client, req, &blob, encoding, reading).await {
                Ok(done) => {
                    client.record_storage_result(&container.account(), true);
                    this = Some(UploadedChunk { blob, done });
                    break;
                }
                Err(e @ (Error::Io(_) | Error::Usage(_))) => return Err(e),
                Err(e) => {
                    tracing::warn!(container = %container, error = %e, "upload failed; trying the next container");
                    client.record_storage_result(&container.account(), false);
                    if !input.restart_chunk().await? {
                        return Err(Error::Io(std::io::Error::other(format!(
                            "uploading {STDIN_NAME} failed ({e}), and standard input cannot \
                             be read again to send it elsewhere"
                        ))));
                    }
                    last_err = Some(e);
                }
            }
        }
        let Some(this) = this else {
            return Err(last_err.unwrap_or_else(|| {
                Error::MissingResource("the service offered no TempStorage container".into())
            }));
        };
        uploaded.push(this);
        if !input.next_chunk().await? {
            break;
        }
    }

    Ok(Uploads {
        source_id,
        format,
        chunks: uploaded,
        resources,
    })
}

/// Every chunk is committed: posts one message each, in order. A source sent whole keeps its
/// source id as the message Id; each chunk of a split one gets its own (see README
/// "Chunking": the service reports per message).
async fn post_chunks(
    client: &IngestClient,
    req: SubmitRequest,
    up: Uploads,
    stages: &mut Stages,
) -> Result<Vec<Submitted>> {
    let Uploads {
        source_id,
        format,
        chunks: uploaded,
        resources,
    } = up;
    let resources = match resources {
        Some(r) => r,
        None => client.resources().await?,
    };
    let count = uploaded.len();
    let mut posted = Vec::with_capacity(count);
    for (i, c) in uploaded.into_iter().enumerate() {
        let chunk = (count > 1).then_some(ChunkOf {
            source_id,
            index: i + 1,
            count,
        });
        let message_id = if chunk.is_some() {
            uuid::Uuid::new_v4()
        } else {
            source_id
        };
        let mut req = req.clone();
        // The service applies ignoreFirstRecord to "the first record of every file" (DOCS
        // `kusto/includes/ingestion-properties.md`), here every blob: only the first chunk
        // has the header.
        if i > 0 {
            req.ignore_first_record = false;
        }
        let raw = Some(c.done.raw);
        match post_one(client, &resources, req, format, message_id, c, raw, stages).await {
            Ok(mut s) => {
                s.chunk = chunk;
                posted.push(s);
            }
            Err(e) if !posted.is_empty() => {
                let ids: Vec<String> = posted.iter().map(|s| s.source_id.to_string()).collect();
                return Err(Error::Io(std::io::Error::other(format!(
                    "chunk {} of {count} of source {source_id} could not be posted ({e}); \
                     chunks 1 to {} were posted with message ids {}",
                    i + 1,
                    posted.len(),
                    ids.join(", ")
                ))));
            }
            Err(e) => return Err(e),
        }
    }
    // Posted: the front door writes the tracked records.
    stages.written = None;
    Ok(posted)
}

/// The status entity (when reporting to a table) and the message of one blob (uploaded, or
/// given: `submit --blob`). `raw_data_size` `None` leaves RawDataSize out, as the SDKs do when
/// they do not know it.
#[allow(clippy::too_many_arguments)]
async fn post_one(
    client: &IngestClient,
    resources: &crate::client::IngestionResources,
    mut req: SubmitRequest,
    format: DataFormat,
    message_id: uuid::Uuid,
    uploaded: UploadedChunk,
    raw_data_size: Option<u64>,
    stages: &mut Stages,
) -> Result<Submitted> {
    let UploadedChunk {
        blob,
        done:
            Uploaded {
                raw: _,
                sent: uploaded_bytes,
                changed,
                digest,
                reused,
            },
    } = uploaded;
    // Status entity before the message, so the DM always finds it.
    let reports = req.report_level != ReportLevel::None;
    let mut status_ref = None;
    if reports && req.report_method.uses_table() {
        let table = resources
            .of_kind(ResourceKind::IngestionsStatusTable)
            .next()
            .cloned()
            .ok_or_else(|| {
                Error::MissingResource(
                    "table reporting asked for, but the service offered no IngestionsStatusTable"
                        .into(),
                )
            })?;
        let key = message_id.to_string();
        let props = StatusEntity::pending_properties(
            &key,
            &blob.without_query(),
            &req.database,
            &req.table,
            chrono::Utc::now(),
        );
        match client.storage().insert_entity(&table, &props).await {
            // A retried insert whose first try landed: the Pending entity is there.
            Err(Error::Storage { code, .. }) if code == "EntityAlreadyExists" => {}
            other => other?,
        }
        status_ref = Some(crate::client::tracking::StatusRef::new(
            table,
            key.clone(),
            key,
        ));
    }

    // Each chunk's content hash: chunks of one source never share an ingest-by tag, so one
    // landing cannot make another Skipped.
    let dedupe_tag = digest.map(|d| dedupe_value(&d));
    if let Some(v) = &dedupe_tag {
        req.tags.push(format!("ingest-by:{v}"));
        req.ingest_if_not_exists.push(v.clone());
    }
    let mut message = build_message(
        &req,
        format,
        &message_id,
        &blob,
        raw_data_size.unwrap_or(0),
        resources.identity_token.expose(),
        status_ref.as_ref(),
    );
    message.raw_data_size = raw_data_size;
    let text = encode_for_queue(&message)?;
    stages.mark(crate::client::journal::Stage::Posting, &blob);
    #[cfg(debug_assertions)]
    crash_point("post");
    let queues = client.ranked(resources.of_kind(ResourceKind::SecuredReadyForAggregationQueue));
    let (m, queue, reposts) = post(client, &queues, &text).await?;
    Ok(Submitted {
        source_id: message_id,
        format,
        raw_data_size: raw_data_size.unwrap_or(0),
        uploaded_bytes,
        changed_while_read: changed,
        mode: req.mode,
        fallback: None,
        answer: None,
        delivery: Delivery::Queue(Box::new(QueueDelivery {
            blob,
            queue,
            message_id: m.message_id,
            insertion_time: m.insertion_time,
            status_ref,
            reposts,
            dedupe_tag,
            blocks_reused: reused,
        })),
        chunk: None,
        requests: Default::default(),
        tag: None,
    })
}

/// Direct ingestion of an uploaded source: `.ingest into` on the engine with the properties a
/// queued message would carry; final at once with the engine's answer.
async fn direct_tail(
    client: &IngestClient,
    req: &SubmitRequest,
    up: UploadedSource,
    stages: &mut Stages,
) -> Result<Submitted> {
    let mut props = build_message(
        req,
        up.format,
        &up.source_id,
        &up.blob,
        up.done.raw,
        "",
        None,
    )
    .additional_properties;
    props.retain(|k, _| !k.eq_ignore_ascii_case("authorizationContext"));
    stages.mark(crate::client::journal::Stage::Posting, &up.blob);
    let (answer, rows) = crate::client::direct::ingest_into(client, req, &up.blob, &props).await?;
    stages.written = None;
    Ok(Submitted {
        source_id: up.source_id,
        format: up.format,
        raw_data_size: up.done.raw,
        uploaded_bytes: up.done.sent,
        changed_while_read: up.done.changed,
        mode: req.mode,
        fallback: None,
        answer: Some(answer),
        delivery: Delivery::Direct {
            blob: up.blob,
            rows,
        },
        chunk: None,
        requests: Default::default(),
        tag: None,
    })
}

/// The ingestion property that selects a zip's entries (DOCS
/// `kusto/includes/ingestion-properties.md`).
const ZIP_PATTERN: &str = "zipPattern";

/// `--zip-pattern`: the `zipPattern` property of every source, all of which must be `.zip`
/// files (the service ignores it elsewhere: a flag given for nothing is a mistake); refused
/// when `--property` gave one too.
pub fn set_zip_pattern(req: &mut SubmitRequest, pattern: &str, files: &[PathBuf]) -> Result<()> {
    if let Some(f) = files
        .iter()
        .find(|f| !f.to_string_lossy().to_ascii_lowercase().ends_with(".zip"))
    {
        return Err(Error::Usage(format!(
            "--zip-pattern selects the entries of .zip sources; '{}' is not one",
            f.display()
        )));
    }
    if field(&req.extra_properties, ZIP_PATTERN).is_some() {
        return Err(Error::Usage(
            "--zip-pattern and --property zipPattern=… both set the zipPattern: give one".into(),
        ));
    }
    if pattern.trim().is_empty() {
        return Err(Error::Usage("--zip-pattern needs a pattern".into()));
    }
    req.extra_properties
        .insert(ZIP_PATTERN.into(), Value::from(pattern));
    Ok(())
}

/// The queue text (base64 JSON) of `message`, or a clear error when Azure would refuse it.
pub fn encode_for_queue(message: &IngestionMessage) -> Result<String> {
    let text = message.to_queue_text();
    if text.len() > MAX_QUEUE_MESSAGE_BYTES {
        return Err(Error::Usage(format!(
            "the ingestion message is {} bytes once encoded, over Azure's {} byte queue limit: \
             use a mapping reference instead of an inline mapping, or fewer tags",
            text.len(),
            MAX_QUEUE_MESSAGE_BYTES
        )));
    }
    Ok(text)
}

/// The report method when none was asked for: the status table wherever the service offers
/// one (as LightIngest does: each source tracked exactly, nothing added to the queues every
/// client shares), else the queues; failures only always go to the queues.
pub fn default_report_method(level: ReportLevel, offers_status_table: bool) -> ReportMethod {
    if level == ReportLevel::FailuresOnly || !offers_status_table {
        ReportMethod::Queue
    } else {
        ReportMethod::Table
    }
}

/// Why a report level and method cannot go together, if they cannot: FailuresOnly with a
/// table leaves a succeeded source's row Pending forever (the service writes no success
/// there), so the Node SDK refuses it and so does every front door here.
pub fn reporting_conflict(level: ReportLevel, method: ReportMethod) -> Option<&'static str> {
    (level == ReportLevel::FailuresOnly && method.uses_table()).then_some(
        "reporting failures only cannot use the status table: the service writes no success \
         there, so a source that succeeds stays Pending forever; report all to a table, or \
         failures to the queue",
    )
}

/// Checks everything about a request but its file: refusals before anything is uploaded.
pub fn validate(req: &SubmitRequest) -> Result<()> {
    check_extra_properties(&req.extra_properties)?;
    if let Some(why) = reporting_conflict(req.report_level, req.report_method) {
        return Err(Error::Usage(why.into()));
    }
    if req.database.trim().is_empty() {
        return Err(Error::Usage("a database is required".into()));
    }
    if req.table.trim().is_empty() {
        return Err(Error::Usage("a table is required".into()));
    }
    if req.mapping.is_some() && req.mapping_reference.is_some() {
        return Err(Error::Usage(
            "give either a mapping reference or an inline mapping, not both".into(),
        ));
    }
    if let Some(m) = &req.mapping
        && serde_json::from_str::<serde_json::Value>(m)
            .map(|v| !v.is_array())
            .unwrap_or(true)
    {
        return Err(Error::Usage(
            "the inline mapping must be a JSON array".into(),
        ));
    }
    if let Some(t) = &req.creation_time {
        normalize_creation_time(t)?;
    }
    use crate::client::mode::IngestMode;
    if req.blob.is_some() && !matches!(req.mode, IngestMode::Queued | IngestMode::RestQueued) {
        // Streaming and direct read a local file here; an existing blob goes by a message.
        return Err(Error::Usage(format!(
            "an existing blob goes by mode queued or rest-queued, not {}",
            req.mode
        )));
    }
    Ok(())
}

/// The ingestion message with every field of protocol.md §4.
pub fn build_message(
    req: &SubmitRequest,
    format: DataFormat,
    source_id: &uuid::Uuid,
    blob: &SasUrl,
    raw_data_size: u64,
    identity_token: &str,
    status_ref: Option<&crate::client::tracking::StatusRef>,
) -> IngestionMessage {
    let mut props = serde_json::Map::new();
    props.insert("authorizationContext".into(), identity_token.into());
    props.insert("format".into(), format.wire_name().into());
    if let Some(m) = &req.mapping_reference {
        props.insert("ingestionMappingReference".into(), m.clone().into());
    }
    if let Some(m) = &req.mapping {
        props.insert("ingestionMapping".into(), m.clone().into());
    }
    if req.mapping.is_some() || req.mapping_reference.is_some() {
        props.insert("ingestionMappingType".into(), format.mapping_kind().into());
    }
    if !req.tags.is_empty() {
        props.insert(
            "tags".into(),
            serde_json::to_string(&req.tags).unwrap_or_default().into(),
        );
    }
    if !req.ingest_if_not_exists.is_empty() {
        props.insert(
            "ingestIfNotExists".into(),
            serde_json::to_string(&req.ingest_if_not_exists)
                .unwrap_or_default()
                .into(),
        );
    }
    if req.ignore_first_record {
        props.insert("ignoreFirstRecord".into(), true.into());
    }
    // `submit` has refused what does not normalise.
    if let Some(t) = req
        .creation_time
        .as_deref()
        .and_then(|t| normalize_creation_time(t).ok())
    {
        props.insert("creationTime".into(), t.into());
    }
    // `validate` refused extra properties that collide with these.
    for (k, v) in &req.extra_properties {
        props.entry(k.clone()).or_insert_with(|| v.clone());
    }
    IngestionMessage {
        id: source_id.to_string(),
        blob_path: blob.expose().to_string(),
        raw_data_size: Some(raw_data_size),
        database_name: req.database.clone(),
        table_name: req.table.clone(),
        retain_blob_on_success: req.retain_blob_on_success,
        flush_immediately: req.flush_immediately,
        ignore_size_limit: req.ignore_size_limit,
        report_level: req.report_level,
        report_method: req.report_method,
        source_message_creation_time: Some(crate::client::wire::format_timestamp(
            chrono::Utc::now(),
        )),
        ingestion_status_in_table: status_ref.map(|r| IngestionStatusInTable {
            table_connection_string: r.table().expose().to_string(),
            partition_key: r.partition_key.clone(),
            row_key: r.row_key.clone(),
        }),
        application_for_tracing: Some("kingest".into()),
        client_version_for_tracing: Some(format!(
            "Kusto.kingest:{{{}}}",
            env!("CARGO_PKG_VERSION")
        )),
        additional_properties: props,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedupe_and_asked_tags_both_ask_if_not_exists() {
        let mut r = SubmitRequest::new("f.csv", "db", "T");
        assert!(!r.if_not_exists());
        r.dedupe = true;
        assert!(r.if_not_exists());
        r.dedupe = false;
        r.ingest_if_not_exists = vec!["batch-1".into()];
        assert!(r.if_not_exists());
    }

    #[test]
    fn chunks_after_the_first_are_named_and_recognised() {
        assert_eq!(chunk_file_name("data.csv", 2), "data.chunk0002.csv");
        assert_eq!(chunk_file_name("noext", 12), "noext.chunk0012");
        let id = uuid::Uuid::nil();
        let name = blob_name("db", "T", &id, &chunk_file_name("a.csv", 3), true);
        assert!(is_chunk_blob(&format!("https://a/c/{name}")), "{name}");
        assert!(!is_chunk_blob(&blob_name("db", "T", &id, "a.csv", true)));
        assert!(!is_chunk_blob("https://a/c/x.chunky.csv.gz"));
    }

    #[test]
    fn blob_names_follow_the_sdk_pattern() {
        let id = uuid::Uuid::nil();
        assert_eq!(
            blob_name("db", "T", &id, "data.csv", true),
            "db__T__00000000-0000-0000-0000-000000000000__data.csv.gz"
        );
        assert_eq!(
            blob_name("db", "T", &id, "a/b?.parquet", false),
            format!("db__T__{id}__a_b_.parquet")
        );
    }

    #[test]
    fn message_has_every_field() {
        let mut req = SubmitRequest::new("/tmp/x.csv", "db", "T");
        req.mapping_reference = Some("M".into());
        req.tags = vec!["a".into(), "ingest-by:b".into()];
        req.ingest_if_not_exists = vec!["b".into()];
        req.ignore_first_record = true;
        req.creation_time = Some("2025-01-01".into());
        req.flush_immediately = true;
        req.report_method = ReportMethod::QueueAndTable;
        req.extra_properties
            .insert("zipPattern".into(), "*.csv".into());
        let blob = SasUrl::parse("https://a.blob.core.windows.net/c/b.csv.gz?sp=rw&sig=s").unwrap();
        let table = SasUrl::parse("https://a.table.core.windows.net/status?sig=t").unwrap();
        let status =
            crate::client::tracking::StatusRef::new(table, "pk".to_string(), "rk".to_string());
        let id = uuid::Uuid::new_v4();
        let m = build_message(&req, DataFormat::Csv, &id, &blob, 42, "tok", Some(&status));
        let back = IngestionMessage::from_queue_text(&m.to_queue_text()).unwrap();
        assert_eq!(back, m);
        let v: serde_json::Value = serde_json::from_str(&m.to_json()).unwrap();
        for k in [
            "Id",
            "BlobPath",
            "RawDataSize",
            "DatabaseName",
            "TableName",
            "RetainBlobOnSuccess",
            "FlushImmediately",
            "ReportLevel",
            "ReportMethod",
            "SourceMessageCreationTime",
            "IngestionStatusInTable",
            "AdditionalProperties",
        ] {
            assert!(v.get(k).is_some(), "{k}");
        }
        assert_eq!(v["ReportMethod"], 2);
        assert_eq!(v["IngestionStatusInTable"]["RowKey"], "rk");
        let p = &v["AdditionalProperties"];
        assert_eq!(p["authorizationContext"], "tok");
        assert_eq!(p["format"], "csv");
        assert_eq!(p["ingestionMappingReference"], "M");
        assert_eq!(p["ingestionMappingType"], "Csv");
        assert_eq!(p["tags"], "[\"a\",\"ingest-by:b\"]");
        assert_eq!(p["ingestIfNotExists"], "[\"b\"]");
        assert_eq!(p["ignoreFirstRecord"], true);
        assert_eq!(p["creationTime"], "2025-01-01T00:00:00.0000000Z");
        assert_eq!(p["zipPattern"], "*.csv");
    }

    #[test]
    fn oversized_messages_are_refused_before_posting() {
        let blob = SasUrl::parse("https://a.blob.core.windows.net/c/b.csv.gz?sig=s").unwrap();
        let mut req = SubmitRequest::new("/tmp/x.csv", "db", "T");
        let id = uuid::Uuid::nil();
        let ok = build_message(&req, DataFormat::Csv, &id, &blob, 1, "tok", None);
        assert!(encode_for_queue(&ok).is_ok());
        let columns: Vec<String> = (0..2000)
            .map(|i| format!(r#"{{"column":"Column{i}","datatype":"string","Properties":{{"Ordinal":"{i}"}}}}"#))
            .collect();
        req.mapping = Some(format!("[{}]", columns.join(",")));
        let big = build_message(&req, DataFormat::Csv, &id, &blob, 1, "tok", None);
        let err = encode_for_queue(&big).unwrap_err().to_string();
        assert!(
            err.contains("65536") && err.contains("mapping reference"),
            "{err}"
        );
    }

    #[test]
    fn creation_time_is_normalised_to_utc_or_refused() {
        let z = "2024-01-02T03:04:05.0000000Z";
        for ok in [
            "2024-01-02T03:04:05Z",
            "2024-01-02T03:04:05.000Z",
            "2024-01-02T04:04:05+01:00",
            "2024-01-01T22:04:05-05:00",
            " 2024-01-02 03:04:05 ",
            "2024-01-02T03:04:05",
            "2024-01-02 03:04:05Z",
        ] {
            assert_eq!(normalize_creation_time(ok).unwrap(), z, "{ok}");
        }
        assert_eq!(
            normalize_creation_time("2024-01-02").unwrap(),
            "2024-01-02T00:00:00.0000000Z"
        );
        assert_eq!(
            normalize_creation_time("2024-01-02 03:04").unwrap(),
            "2024-01-02T03:04:00.0000000Z"
        );
        assert_eq!(
            normalize_creation_time("2024-01-02T03:04:05.1234567Z").unwrap(),
            "2024-01-02T03:04:05.1234567Z"
        );
        for bad in [
            "1",
            "",
            "1700000000",
            "yesterday",
            "2024",
            "2024-13-01",
            "2024-02-30",
            "02/01/2024",
            "Tue, 02 Jan 2024 03:04:05 GMT",
            "2024-01-02T25:00:00Z",
        ] {
            let err = normalize_creation_time(bad).unwrap_err().to_string();
            assert!(err.contains("ISO 8601"), "{bad}: {err}");
        }
        let mut r = SubmitRequest::new("x.csv", "db", "T");
        r.creation_time = Some("1".into());
        assert!(validate(&r).is_err());
    }

    #[test]
    fn defaults_retain_the_blob_and_apply_the_size_limit() {
        let mut r = SubmitRequest::new("x.csv", "db", "T");
        assert!(r.retain_blob_on_success);
        assert_eq!(r.effective_size_limit(), Some(SIZE_LIMIT));
        assert_eq!(SIZE_LIMIT, 4_294_967_296);
        r.size_limit = Some(10);
        assert_eq!(r.effective_size_limit(), Some(10));
        let blob = SasUrl::parse("https://a.blob.core.windows.net/c/b.csv.gz?sig=s").unwrap();
        let id = uuid::Uuid::nil();
        let m = build_message(&r, DataFormat::Csv, &id, &blob, 1, "tok", None);
        assert!(m.retain_blob_on_success && !m.ignore_size_limit);
        r.ignore_size_limit = true;
        assert_eq!(r.effective_size_limit(), None);
        let m = build_message(&r, DataFormat::Csv, &id, &blob, 1, "tok", None);
        let v: serde_json::Value = serde_json::from_str(&m.to_json()).unwrap();
        assert_eq!(v["IgnoreSizeLimit"], true);
        assert_eq!(v["RetainBlobOnSuccess"], true);
        let err = too_large(std::path::Path::new("big.csv"), Some(5 << 30), SIZE_LIMIT).to_string();
        assert!(
            err.contains("5.0 GiB")
                && err.contains("4.0 GiB")
                && err.contains("--ignore-size-limit")
                && err.contains("split"),
            "{err}"
        );
    }

    #[test]
    fn changes_while_read_are_named() {
        let t0 = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(100);
        let t1 = t0 + std::time::Duration::from_nanos(1);
        let at = |len, modified| Snapshot {
            len,
            modified: Some(modified),
        };
        assert_eq!(change_while_read(at(10, t0), at(10, t0), 10), None);
        let grew = change_while_read(at(10, t0), at(12, t1), 12).unwrap();
        assert!(
            grew.contains("from 10 to 12 bytes") && grew.contains("modification time"),
            "{grew}"
        );
        let shrank = change_while_read(at(10, t0), at(4, t0), 4).unwrap();
        assert!(
            shrank.contains("from 10 to 4") && shrank.contains("4 bytes were read, not 10"),
            "{shrank}"
        );
        assert!(
            change_while_read(at(10, t0), at(10, t1), 10)
                .unwrap()
                .contains("modification")
        );
        // Grew then shrank back to the same size between two reads: the count tells.
        assert!(
            change_while_read(at(10, t0), at(10, t0), 14)
                .unwrap()
                .contains("14 bytes were read")
        );
        let mut r = SubmitRequest::new("x.csv", "db", "T");
        r.extra_properties.insert("Format".into(), "json".into());
        let err = validate(&r).unwrap_err().to_string();
        assert!(
            err.contains("--format") && err.contains("kingest sets itself"),
            "{err}"
        );
        r.extra_properties.clear();
        r.extra_properties.insert("zipPattern".into(), "*".into());
        assert!(validate(&r).is_ok());
    }

    #[test]
    fn requests_survive_the_journal() {
        let mut r = SubmitRequest::new("/d/x.json", "db", "T");
        r.format = Some(DataFormat::MultiJson);
        r.mapping_reference = Some("M".into());
        r.report_level = ReportLevel::FailuresOnly;
        r.report_method = ReportMethod::Queue;
        r.flush_immediately = true;
        r.tags = vec!["a".into()];
        r.ingest_if_not_exists = vec!["b".into()];
        r.creation_time = Some("2024-01-02".into());
        r.retain_blob_on_success = false;
        r.extra_properties.insert("zipPattern".into(), "*".into());
        r.allow_growing = true;
        r.dedupe = true;
        let back = SubmitRequest::from_json(&r.to_json()).unwrap();
        assert_eq!(back.to_json(), r.to_json());
        assert_eq!(back.format, Some(DataFormat::MultiJson));
        assert!(back.dedupe && back.allow_growing && !back.retain_blob_on_success);
        assert!(SubmitRequest::from_json(&serde_json::json!({"path": "x"})).is_none());
    }

    #[test]
    fn zip_pattern_flag() {
        let zips = [PathBuf::from("a.ZIP"), PathBuf::from("d/b.csv.zip")];
        let mut z = SubmitRequest::new("", "db", "T");
        set_zip_pattern(&mut z, r"\.csv$", &zips).unwrap();
        assert!(validate(&z).is_ok());
        assert_eq!(z.extra_properties["zipPattern"], r"\.csv$");
        // Given twice (a --property of any case counts).
        let err = set_zip_pattern(&mut z, "*.csv", &zips)
            .unwrap_err()
            .to_string();
        assert!(err.contains("both"), "{err}");
        let mut p = SubmitRequest::new("", "db", "T");
        p.extra_properties.insert("ZIPPATTERN".into(), "x".into());
        assert!(set_zip_pattern(&mut p, "*.csv", &zips).is_err());
        let mut r = SubmitRequest::new("", "db", "T");
        assert!(set_zip_pattern(&mut r, " ", &zips).is_err());
        let files = [PathBuf::from("a.zip"), PathBuf::from("b.csv")];
        let err = set_zip_pattern(&mut r, "x", &files)
            .unwrap_err()
            .to_string();
        assert!(err.contains("'b.csv' is not one"), "{err}");
        assert!(r.extra_properties.is_empty());
    }

    #[test]
    fn validation_catches_bad_requests() {
        let mut r = SubmitRequest::new("x.csv", "", "T");
        assert!(validate(&r).is_err());
        r.database = "db".into();
        r.mapping = Some("{not json".into());
        assert!(validate(&r).is_err());
        r.mapping = Some("[]".into());
        r.mapping_reference = Some("M".into());
        assert!(validate(&r).is_err());
        r.mapping_reference = None;
        assert!(validate(&r).is_ok());
    }
}
