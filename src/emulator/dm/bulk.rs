//! Bulk ingestion run by the DM: `.ingest-from-storage-queued`, `.list blobs`,
//! `.show queued ingestion operations` and `.cancel queued ingestion operation` (grammar in
//! [`crate::emulator::engine::bulk_commands`]; behaviour from dataexplorer-docs
//! `kusto/management/data-ingestion/`).
//!
//! Each discovered blob becomes an ordinary ingestion message in the DM's own ingestion
//! queue, so the worker batches and ingests it like any other; the worker reports back here
//! ([`BulkOps::on_dequeued`], [`BulkOps::drop_if_canceled`], [`BulkOps::on_finished`]) and
//! the counters follow real outcomes. A canceled operation's blobs that are not being
//! ingested yet (still queued, or in a batch not sealed) are dropped and count as Canceled
//! (best effort, as the cancel page says: blobs already being ingested may still land).
//!
//! Decisions where the docs are silent: a bad locator or an unreadable container fails the
//! command at once (the first listing page is read before answering), with the DM's download
//! codes (`Download_Forbidden`, `Download_SourceNotFound`; `BadRequest_InvalidBlobUri` for a
//! locator that is no URL); blob URLs are shown without their query (no SAS); per-blob
//! details exist only with `EnableTracking=true` (the counters always do).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::client::error::Error;
use crate::client::mgmt::V1Table;
use crate::client::redact::redact;
use crate::client::storage::{SasUrl, Storage};
use crate::client::wire::{IngestionMessage, ReportLevel, ReportMethod, format_timestamp};
use crate::emulator::engine::bulk_commands::{
    self, BulkCommand, BulkSource, IngestFromStorage, ListBlobs,
};
use crate::emulator::engine::{Engine, EngineError, IngestFailure, IngestOutcome};

/// Stand-alone `.list blobs` returns at most this many blobs, whatever MaxFiles says
/// (list-blobs.md).
pub const STANDALONE_LIST_CAP: u64 = 1000;
/// Operations kept for `.show` (oldest forgotten first); the docs give no retention.
const KEPT_OPERATIONS: usize = 1000;
/// Distinct failure reasons kept in SampleFailedReasons.
const SAMPLE_REASONS: usize = 3;
/// List Blobs page size (the storage maximum).
const PAGE: u32 = 5000;
/// Messages enqueued at once while queuing discovered blobs.
const ENQUEUE_CONCURRENCY: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BlobState {
    Pending,
    Succeeded,
    Failed,
    Canceled,
}

impl BlobState {
    fn as_str(self) -> &'static str {
        match self {
            BlobState::Pending => "Pending",
            BlobState::Succeeded => "Succeeded",
            BlobState::Failed => "Failed",
            BlobState::Canceled => "Canceled",
        }
    }
}

#[derive(Debug, Clone)]
struct BlobEntry {
    /// The blob URL without its query (so without the SAS).
    url: String,
    state: BlobState,
    started_at: Option<DateTime<Utc>>,
    completed_at: Option<DateTime<Utc>>,
    failed_reason: Option<String>,
}

#[derive(Debug, Clone)]
struct Operation {
    id: String,
    database: String,
    table: String,
    tracking: bool,
    started_on: DateTime<Utc>,
    last_updated_on: Option<DateTime<Utc>>,
    /// Every blob has been discovered and queued (or the listing stopped).
    discovery_done: bool,
    canceled: bool,
    blobs: Vec<BlobEntry>,
    sample_reasons: Vec<String>,
}

/// The counters of one operation, as `.show queued ingestion operations` returns them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counters {
    pub state: &'static str,
    pub discovered: u64,
    pub pending: u64,
    pub canceled: u64,
    pub ingested: u64,
    pub failed: u64,
}

impl Operation {
    fn counters(&self) -> Counters {
        let count = |s: BlobState| self.blobs.iter().filter(|b| b.state == s).count() as u64;
        let (pending, ingested, failed) = (
            count(BlobState::Pending),
            count(BlobState::Succeeded),
            count(BlobState::Failed),
        );
        let state = if self.canceled {
            "Canceled"
        } else if !self.discovery_done || pending > 0 {
            "InProgress"
        } else if failed > 0 && ingested == 0 {
            "Failed"
        } else {
            "Completed"
        };
        Counters {
            state,
            discovered: self.blobs.len() as u64,
            pending,
            canceled: count(BlobState::Canceled),
            ingested,
            failed,
        }
    }

    fn note_failure(&mut self, reason: &str) {
        if self.sample_reasons.len() < SAMPLE_REASONS
            && !self.sample_reasons.iter().any(|r| r == reason)
        {
            self.sample_reasons.push(reason.to_string());
        }
    }
}

#[derive(Default)]
struct Ops {
    by_id: HashMap<String, Operation>,
    /// Source id of a queued message → (operation id, blob index).
    by_source: HashMap<String, (String, usize)>,
    order: VecDeque<String>,
}

/// The operations registry, shared by the mgmt handler and the DM worker.
#[derive(Default)]
pub struct BulkOps {
    ops: Mutex<Ops>,
    seq: AtomicU64,
}

impl BulkOps {
    fn lock(&self) -> std::sync::MutexGuard<'_, Ops> {
        self.ops.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// An id shaped like the docs' examples (`n;n;guid`); clients treat it as opaque.
    fn new_id(&self, now: DateTime<Utc>) -> String {
        let n = self.seq.fetch_add(1, Ordering::Relaxed) + 1;
        format!("{};{n};{}", now.timestamp(), uuid::Uuid::new_v4())
    }

    fn create(&self, op: Operation) {
        let mut ops = self.lock();
        ops.order.push_back(op.id.clone());
        ops.by_id.insert(op.id.clone(), op);
        while ops.order.len() > KEPT_OPERATIONS {
            if let Some(old) = ops.order.pop_front() {
                ops.by_id.remove(&old);
                ops.by_source.retain(|_, (id, _)| *id != old);
            }
        }
    }

    /// Adds a discovered blob; returns the source id its message carries, or `None` when the
    /// operation is gone or canceled (listing stops).
    fn add_blob(&self, op_id: &str, url: String) -> Option<String> {
        let mut ops = self.lock();
        let op = ops.by_id.get_mut(op_id).filter(|o| !o.canceled)?;
        op.blobs.push(BlobEntry {
            url,
            state: BlobState::Pending,
            started_at: None,
            completed_at: None,
            failed_reason: None,
        });
        op.last_updated_on = Some(Utc::now());
        let index = op.blobs.len() - 1;
        let source_id = uuid::Uuid::new_v4().to_string();
        ops.by_source
            .insert(source_id.clone(), (op_id.to_string(), index));
        Some(source_id)
    }

    fn with_blob(&self, source_id: &str, f: impl FnOnce(&mut Operation, usize)) {
        let mut ops = self.lock();
        let Some((op_id, index)) = ops.by_source.get(source_id).cloned() else {
            return;
        };
        if let Some(op) = ops.by_id.get_mut(&op_id) {
            f(op, index);
            op.last_updated_on = Some(Utc::now());
        }
    }

    fn set_outcome(&self, source_id: &str, state: BlobState, reason: Option<String>) {
        let now = Utc::now();
        self.with_blob(source_id, |op, i| {
            if let Some(r) = &reason {
                op.note_failure(r);
            }
            let b = &mut op.blobs[i];
            if b.state == BlobState::Pending {
                b.state = state;
                b.completed_at = (state == BlobState::Succeeded).then_some(now);
                b.failed_reason = reason;
            }
        });
        if state != BlobState::Pending {
            self.lock().by_source.remove(source_id);
        }
    }

    fn discovery_done(&self, op_id: &str, error: Option<String>) {
        let mut ops = self.lock();
        if let Some(op) = ops.by_id.get_mut(op_id) {
            op.discovery_done = true;
            op.last_updated_on = Some(Utc::now());
            if let Some(e) = error {
                op.note_failure(&e);
            }
        }
    }

    fn is_canceled(&self, op_id: &str) -> bool {
        self.lock().by_id.get(op_id).is_none_or(|o| o.canceled)
    }

    /// The worker dequeued the message of `source_id`. Returns true when its operation was
    /// canceled: the message is to be deleted, not ingested (the blob counts as Canceled).
    pub fn on_dequeued(&self, source_id: &str) -> bool {
        let now = Utc::now();
        self.with_blob(source_id, |op, i| {
            if op.blobs[i].started_at.is_none() {
                op.blobs[i].started_at = Some(now);
            }
        });
        self.drop_if_canceled(source_id)
    }

    /// The batch holding `source_id` was sealed: true (and the blob Canceled) when its
    /// operation was canceled meanwhile, so the blob is dropped before it is ingested.
    pub fn drop_if_canceled(&self, source_id: &str) -> bool {
        let mut canceled = false;
        self.with_blob(source_id, |op, _| canceled = op.canceled);
        if canceled {
            self.set_outcome(source_id, BlobState::Canceled, None);
        }
        canceled
    }

    /// The worker finished the message of `source_id` (a no-op for other messages).
    pub fn on_finished(&self, source_id: &str, result: &Result<IngestOutcome, IngestFailure>) {
        match result {
            Ok(_) => self.set_outcome(source_id, BlobState::Succeeded, None),
            Err(f) => self.set_outcome(
                source_id,
                BlobState::Failed,
                Some(format!("{}: {}", f.error_code, redact(&f.details))),
            ),
        }
    }

    /// The counters of operation `id`, for tests and the emulator's own users.
    pub fn counters(&self, id: &str) -> Option<Counters> {
        self.lock().by_id.get(id).map(Operation::counters)
    }
}

/// What the DM needs to run bulk commands.
pub struct BulkService {
    pub ops: Arc<BulkOps>,
    pub storage: Storage,
    pub engine: Arc<Mutex<Engine>>,
    /// The DM's ingestion queues (add rights).
    pub ingest_queues: Vec<SasUrl>,
    /// An identity token the worker accepts, for the queued messages.
    pub identity_token: Arc<dyn Fn() -> String + Send + Sync>,
    next_queue: AtomicUsize,
}

fn err(status: u16, code: &str, message: impl Into<String>) -> EngineError {
    EngineError {
        status,
        code: code.into(),
        message: message.into(),
    }
}

fn syntax(message: String) -> EngineError {
    err(
        400,
        "BadRequest_SyntaxError",
        format!("Syntax error: {message}"),
    )
}

/// A listed blob.
struct Found {
    url: SasUrl,
    size: u64,
    captured: Vec<(String, DateTime<Utc>)>,
}

/// Walks a `.list blobs` source page by page.
struct Lister {
    container: SasUrl,
    prefix: String,
    list: ListBlobs,
    marker: Option<String>,
    done: bool,
    /// Blobs still to return (MaxFiles, and the stand-alone cap).
    remaining: u64,
}

impl Lister {
    fn new(list: ListBlobs, cap: Option<u64>) -> Result<Lister, EngineError> {
        let mut locator = list.locator.trim();
        // `;managed_identity=…` and other connection-string suffixes (the DM's own access).
        if let Some(i) = locator.find(';') {
            locator = &locator[..i];
        }
        let url = SasUrl::parse(locator).map_err(|e| {
            err(
                400,
                "BadRequest_InvalidBlobUri",
                format!("the .list blobs locator is not a storage URL: {e}"),
            )
        })?;
        let (container, prefix) = url.container_and_prefix();
        if container.object_name().is_empty() {
            return Err(err(
                400,
                "BadRequest_InvalidBlobUri",
                format!("the .list blobs locator names no container: {url}"),
            ));
        }
        let remaining = match (list.max_files, cap) {
            (Some(m), Some(c)) => m.min(c),
            (m, c) => m.or(c).unwrap_or(u64::MAX),
        };
        Ok(Lister {
            container,
            prefix,
            list,
            marker: None,
            done: remaining == 0,
            remaining,
        })
    }

    async fn next_page(&mut self, storage: &Storage) -> Result<Vec<Found>, EngineError> {
        if self.done {
            return Ok(Vec::new());
        }
        let page = storage
            .list_blobs(&self.container, &self.prefix, self.marker.as_deref(), PAGE)
            .await
            .map_err(|e| listing_error(&self.container, &e))?;
        self.marker = page.next_marker;
        self.done = self.marker.is_none();
        let mut out = Vec::new();
        for b in page.blobs {
            if self.remaining == 0 {
                break;
            }
            if let Some(s) = &self.list.suffix
                && !b.name.ends_with(s.as_str())
            {
                continue;
            }
            let captured = self
                .list
                .path_format
                .as_ref()
                .and_then(|pf| pf.capture(&b.name))
                .unwrap_or_default();
            out.push(Found {
                url: self.container.child(&b.name),
                size: b.size,
                captured,
            });
            self.remaining -= 1;
        }
        if self.remaining == 0 {
            self.done = true;
        }
        Ok(out)
    }
}

fn listing_error(container: &SasUrl, e: &Error) -> EngineError {
    let message = format!("listing {container}: {}", redact(&e.to_string()));
    match e.status() {
        Some(404) => err(400, "Download_SourceNotFound", message),
        // 400, not 403: the caller's own credentials were fine, the locator's were not.
        Some(401 | 403) => err(400, "Download_Forbidden", message),
        _ => err(400, "Download_UnknownError", message),
    }
}

/// `CapturedVariables` as the docs show it: `{"creationTime":"03/20/2025 00:00:00"}`.
fn captured_json(captured: &[(String, DateTime<Utc>)]) -> Value {
    let m: Map<String, Value> = captured
        .iter()
        .map(|(k, v)| (k.clone(), v.format("%m/%d/%Y %H:%M:%S").to_string().into()))
        .collect();
    Value::Object(m)
}

const SUMMARY_COLUMNS: [(&str, &str); 12] = [
    ("IngestionOperationId", "string"),
    ("StartedOn", "datetime"),
    ("LastUpdatedOn", "datetime"),
    ("State", "string"),
    ("Discovered", "long"),
    ("Pending", "long"),
    ("Canceled", "long"),
    ("Ingested", "long"),
    ("Failed", "long"),
    ("SampleFailedReasons", "string"),
    ("Database", "string"),
    ("Table", "string"),
];

fn summary_row(op: &Operation) -> Vec<Value> {
    let c = op.counters();
    vec![
        op.id.clone().into(),
        format_timestamp(op.started_on).into(),
        op.last_updated_on
            .map(|t| Value::from(format_timestamp(t)))
            .unwrap_or(Value::Null),
        c.state.into(),
        c.discovered.into(),
        c.pending.into(),
        c.canceled.into(),
        c.ingested.into(),
        c.failed.into(),
        op.sample_reasons.join("; ").into(),
        op.database.clone().into(),
        op.table.clone().into(),
    ]
}

fn ts(t: Option<DateTime<Utc>>) -> Value {
    t.map(|t| Value::from(format_timestamp(t)))
        .unwrap_or(Value::Null)
}

impl BulkService {
    pub fn new(
        ops: Arc<BulkOps>,
        storage: Storage,
        engine: Arc<Mutex<Engine>>,
        ingest_queues: Vec<SasUrl>,
        identity_token: Arc<dyn Fn() -> String + Send + Sync>,
    ) -> Self {
        BulkService {
            ops,
            storage,
            engine,
            ingest_queues,
            identity_token,
            next_queue: AtomicUsize::new(0),
        }
    }

    /// Runs `csl` when it is a bulk command; `None` otherwise. `db` is the request's database.
    pub async fn execute(
        self: &Arc<Self>,
        db: Option<&str>,
        csl: &str,
        client_request_id: &str,
    ) -> Option<Result<V1Table, EngineError>> {
        let cmd = match bulk_commands::parse(csl)? {
            Ok(c) => c,
            Err(m) => return Some(Err(syntax(m))),
        };
        Some(match cmd {
            BulkCommand::ListBlobs(list) => self.list_standalone(list).await,
            BulkCommand::Ingest(cmd) => self.ingest(db, cmd, client_request_id).await,
            BulkCommand::Show { ids, details } => self.show(&ids, details),
            BulkCommand::Cancel { id } => self.cancel(&id),
        })
    }

    async fn list_standalone(&self, list: ListBlobs) -> Result<V1Table, EngineError> {
        let mut lister = Lister::new(list, Some(STANDALONE_LIST_CAP))?;
        let mut t = V1Table::new(
            "Table_0",
            &[
                ("BlobUri", "string"),
                ("SizeInBytes", "long"),
                ("CapturedVariables", "dynamic"),
            ],
        );
        while !lister.done {
            for f in lister.next_page(&self.storage).await? {
                t.rows.push(vec![
                    f.url.without_query().into(),
                    f.size.into(),
                    captured_json(&f.captured),
                ]);
            }
        }
        Ok(t)
    }

    fn check_target(
        &self,
        db: Option<&str>,
        cmd: &IngestFromStorage,
    ) -> Result<String, EngineError> {
        let database = cmd
            .database
            .as_deref()
            .or(db)
            .filter(|d| !d.trim().is_empty())
            .ok_or_else(|| {
                err(
                    400,
                    "General_BadRequest",
                    "no database: use `into table database(D).T` or send `db`",
                )
            })?
            .to_string();
        let engine = self.engine.lock().unwrap_or_else(|e| e.into_inner());
        if !engine.database_exists(&database) {
            return Err(err(
                404,
                "BadRequest_EntityNotFound",
                format!("Database '{database}' was not found."),
            ));
        }
        if engine.row_count(&database, &cmd.table).is_none() {
            return Err(err(
                404,
                "BadRequest_EntityNotFound",
                format!(
                    "Table '{}' was not found in database '{database}'.",
                    cmd.table
                ),
            ));
        }
        Ok(database)
    }

    async fn ingest(
        self: &Arc<Self>,
        db: Option<&str>,
        cmd: IngestFromStorage,
        client_request_id: &str,
    ) -> Result<V1Table, EngineError> {
        let database = self.check_target(db, &cmd)?;
        // Validate the whole source before answering: a bad locator, an unreadable container
        // or a malformed blob URL fails the command, not the operation.
        let mut first = Vec::new();
        let source = match &cmd.source {
            BulkSource::List(list) => {
                let mut lister = Lister::new(list.clone(), None)?;
                first = lister.next_page(&self.storage).await?;
                Discovery::Listing(Box::new(lister))
            }
            BulkSource::Blobs(urls) => {
                let mut parsed = Vec::new();
                for u in urls {
                    let url =
                        SasUrl::parse(u.split(';').next().unwrap_or_default()).map_err(|e| {
                            err(
                                400,
                                "BadRequest_InvalidBlobUri",
                                format!("not a blob URL: {e}"),
                            )
                        })?;
                    parsed.push(url);
                }
                Discovery::Explicit(parsed)
            }
        };
        let now = Utc::now();
        let id = self.ops.new_id(now);
        self.ops.create(Operation {
            id: id.clone(),
            database: database.clone(),
            table: cmd.table.clone(),
            tracking: cmd.enable_tracking,
            started_on: now,
            last_updated_on: None,
            discovery_done: false,
            canceled: false,
            blobs: Vec::new(),
            sample_reasons: Vec::new(),
        });
        let job = Job {
            svc: self.clone(),
            op_id: id.clone(),
            database,
            cmd,
        };
        tokio::spawn(job.run(source, first));
        let mut t = V1Table::new(
            "Table_0",
            &[
                ("IngestionOperationId", "string"),
                ("ClientRequestId", "string"),
                ("OperationInfo", "string"),
            ],
        );
        t.rows.push(vec![
            id.clone().into(),
            client_request_id.into(),
            format!(".show queued ingestion operations \"{id}\"").into(),
        ]);
        Ok(t)
    }

    fn show(&self, ids: &[String], details: bool) -> Result<V1Table, EngineError> {
        let ops = self.ops.lock();
        let find = |id: &String| {
            ops.by_id.get(id).ok_or_else(|| {
                err(
                    404,
                    "BadRequest_EntityNotFound",
                    format!("Queued ingestion operation '{id}' was not found."),
                )
            })
        };
        if details {
            let op = find(&ids[0])?;
            let mut t = V1Table::new(
                "Table_0",
                &[
                    ("IngestionOperationId", "string"),
                    ("BlobURL", "string"),
                    ("IngestionStatus", "string"),
                    ("StartedAt", "datetime"),
                    ("CompletedAt", "datetime"),
                    ("FailedReasons", "string"),
                ],
            );
            if op.tracking {
                for b in &op.blobs {
                    t.rows.push(vec![
                        op.id.clone().into(),
                        b.url.clone().into(),
                        b.state.as_str().into(),
                        ts(b.started_at),
                        ts(b.completed_at),
                        b.failed_reason.clone().unwrap_or_default().into(),
                    ]);
                }
            }
            return Ok(t);
        }
        let mut t = V1Table::new("Table_0", &SUMMARY_COLUMNS);
        for id in ids {
            t.rows.push(summary_row(find(id)?));
        }
        Ok(t)
    }

    fn cancel(&self, id: &str) -> Result<V1Table, EngineError> {
        let mut ops = self.ops.lock();
        let op = ops.by_id.get_mut(id).ok_or_else(|| {
            err(
                404,
                "BadRequest_EntityNotFound",
                format!("Queued ingestion operation '{id}' was not found."),
            )
        })?;
        // A finished operation stays as it ended: nothing is left to stop.
        let finished = op.discovery_done && op.counters().pending == 0;
        if !finished {
            op.canceled = true;
            op.last_updated_on = Some(Utc::now());
        }
        let mut t = V1Table::new("Table_0", &SUMMARY_COLUMNS);
        t.rows.push(summary_row(op));
        Ok(t)
    }

    fn message(
        &self,
        job: &Job,
        source_id: String,
        url: &SasUrl,
        size: Option<u64>,
        captured: &[(String, DateTime<Utc>)],
    ) -> IngestionMessage {
        let compressed = {
            let n = url.sub_path().to_ascii_lowercase();
            n.ends_with(".gz") || n.ends_with(".zip")
        };
        let raw = size.map(|s| match job.cmd.compression_factor {
            Some(f) if compressed => (s as f64 * f) as u64,
            _ => s,
        });
        let mut props: Map<String, Value> = job
            .cmd
            .properties
            .iter()
            .map(|(k, v)| (k.clone(), Value::from(v.clone())))
            .collect();
        props.insert(
            "authorizationContext".into(),
            (self.identity_token)().into(),
        );
        if let Some((_, at)) = captured
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("creationTime"))
        {
            props.insert("creationTime".into(), format_timestamp(*at).into());
        }
        IngestionMessage {
            id: source_id,
            blob_path: url.expose().to_string(),
            raw_data_size: raw,
            database_name: job.database.clone(),
            table_name: job.cmd.table.clone(),
            // The blobs are the user's data: never deleted after ingestion.
            retain_blob_on_success: true,
            flush_immediately: job.cmd.skip_batching,
            ignore_size_limit: false,
            // Outcomes come back through the worker's hooks, not notifications.
            report_level: ReportLevel::None,
            report_method: ReportMethod::Queue,
            source_message_creation_time: Some(format_timestamp(Utc::now())),
            ingestion_status_in_table: None,
            application_for_tracing: Some("Kusto.DM.BulkIngestion".into()),
            client_version_for_tracing: None,
            additional_properties: props,
        }
    }

    async fn enqueue(&self, msg: &IngestionMessage) -> Result<(), Error> {
        let n = self.next_queue.fetch_add(1, Ordering::Relaxed);
        let Some(q) = self.ingest_queues.get(n % self.ingest_queues.len().max(1)) else {
            return Err(Error::Usage("the DM has no ingestion queue".into()));
        };
        self.storage
            .put_message(q, &msg.to_queue_text(), None, None)
            .await
            .map(|_| ())
    }
}

enum Discovery {
    Listing(Box<Lister>),
    Explicit(Vec<SasUrl>),
}

/// The background part of one `.ingest-from-storage-queued`: discovers and queues blobs.
struct Job {
    svc: Arc<BulkService>,
    op_id: String,
    database: String,
    cmd: IngestFromStorage,
}

impl Job {
    async fn run(self, source: Discovery, first: Vec<Found>) {
        let error = match source {
            Discovery::Explicit(urls) => {
                let found = urls
                    .into_iter()
                    .map(|url| Found {
                        url,
                        size: 0,
                        captured: Vec::new(),
                    })
                    .collect();
                self.queue(found, false).await;
                None
            }
            Discovery::Listing(mut lister) => {
                let mut page = first;
                loop {
                    if !self.queue(page, true).await || lister.done {
                        break None;
                    }
                    match lister.next_page(&self.svc.storage).await {
                        Ok(p) => page = p,
                        Err(e) => break Some(format!("listing stopped: {}", e.message)),
                    }
                }
            }
        };
        self.svc.ops.discovery_done(&self.op_id, error);
    }

    /// Registers and enqueues `found`; false when the operation was canceled meanwhile.
    async fn queue(&self, found: Vec<Found>, sized: bool) -> bool {
        use futures::StreamExt as _;
        let ops = &self.svc.ops;
        let mut msgs = Vec::new();
        for f in &found {
            let Some(source_id) = ops.add_blob(&self.op_id, f.url.without_query()) else {
                return false;
            };
            let size = sized.then_some(f.size);
            msgs.push(self.svc.message(self, source_id, &f.url, size, &f.captured));
        }
        futures::stream::iter(msgs)
            .for_each_concurrent(ENQUEUE_CONCURRENCY, |m| async move {
                if let Err(e) = self.svc.enqueue(&m).await {
                    let reason = format!("could not queue the blob: {}", redact(&e.to_string()));
                    ops.set_outcome(&m.id, BlobState::Failed, Some(reason));
                }
            })
            .await;
        !ops.is_canceled(&self.op_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(n: usize) -> (BulkOps, String, Vec<String>) {
        let ops = BulkOps::default();
        let id = ops.new_id(Utc::now());
        ops.create(Operation {
            id: id.clone(),
            database: "db".into(),
            table: "T".into(),
            tracking: true,
            started_on: Utc::now(),
            last_updated_on: None,
            discovery_done: false,
            canceled: false,
            blobs: Vec::new(),
            sample_reasons: Vec::new(),
        });
        let sources = (0..n)
            .map(|i| ops.add_blob(&id, format!("http://h/a/c/{i}")).unwrap())
            .collect();
        (ops, id, sources)
    }

    fn landed() -> Result<IngestOutcome, IngestFailure> {
        Ok(IngestOutcome {
            rows: 1,
            rejected: 0,
            skipped_existing: false,
        })
    }

    fn failure() -> Result<IngestOutcome, IngestFailure> {
        Err(crate::emulator::dm::fail(
            "Stream_WrongNumberOfFields",
            crate::client::wire::FailureStatus::Permanent,
            "bad csv",
        ))
    }

    #[test]
    fn counters_follow_outcomes_and_state_waits_for_discovery() {
        let (ops, id, s) = op(3);
        assert_eq!(ops.counters(&id).unwrap().state, "InProgress");
        ops.on_finished(&s[0], &landed());
        ops.on_finished(&s[1], &failure());
        ops.on_finished(&s[2], &landed());
        let c = ops.counters(&id).unwrap();
        assert_eq!(
            (c.discovered, c.pending, c.ingested, c.failed),
            (3, 0, 2, 1)
        );
        // Discovery still running: not Completed yet.
        assert_eq!(c.state, "InProgress");
        ops.discovery_done(&id, None);
        assert_eq!(ops.counters(&id).unwrap().state, "Completed");
        // A second report of a finished source does not count twice.
        ops.on_finished(&s[0], &failure());
        assert_eq!(ops.counters(&id).unwrap().failed, 1);
    }

    #[test]
    fn all_failed_is_failed_and_cancel_drops_pending() {
        let (ops, id, s) = op(1);
        ops.on_finished(&s[0], &failure());
        ops.discovery_done(&id, None);
        assert_eq!(ops.counters(&id).unwrap().state, "Failed");

        let (ops, id, s) = op(2);
        assert!(!ops.on_dequeued(&s[0]));
        ops.lock().by_id.get_mut(&id).unwrap().canceled = true;
        assert!(ops.on_dequeued(&s[1]));
        ops.on_finished(&s[0], &landed());
        let c = ops.counters(&id).unwrap();
        assert_eq!(
            (c.state, c.ingested, c.canceled, c.pending),
            ("Canceled", 1, 1, 0)
        );
        // A canceled operation takes no more blobs.
        assert!(ops.add_blob(&id, "http://h/a/c/x".into()).is_none());
        // Unknown sources (ordinary queue messages) are not bulk blobs.
        assert!(!ops.on_dequeued("not-bulk"));
    }
}
