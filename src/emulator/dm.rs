//! The DM worker: dequeue ingestion messages, batch, download, ingest, notify, update status.
//!
//! The per-message decisions are pure functions (`classify`, `ingest_request`, `blob_url`,
//! `unpack`, `outcome_to_reports`, `Batches`) so they can be tested without HTTP; `run`
//! only wires them to `Storage` calls.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;

use crate::client::error::Error;
use crate::client::redact::redact;
use crate::client::storage::{QueueMessage, SasUrl, Storage};
use crate::client::wire::{
    FailureStatus, IngestionMessage, IngestionStatus, Notification, NotificationKind, ReportLevel,
    decode_text, field, format_timestamp, parse_timestamp_str, value_to_string,
};
use crate::emulator::engine::{Engine, FailureRecord, IngestFailure, IngestOutcome, IngestRequest};
use crate::emulator::faults::Faults;

mod batching;
pub mod bulk;
mod duplicates;
mod redelivery;
mod retry;
mod status_table;
mod unpack;

pub use batching::{Batches, Seal};
use retry::Retries;
pub use retry::RetrySettings;
pub use unpack::{EntrySelector, unpack};

/// Produces a URL with read+delete rights for a blob the DM was told about (the DM owns the
/// account key, as the real service does).
pub type BlobAdmin = Arc<dyn Fn(&SasUrl) -> Option<SasUrl> + Send + Sync>;
/// Tells whether an `authorizationContext` was issued by this service.
pub type TokenCheck = Arc<dyn Fn(&str) -> bool + Send + Sync>;

pub struct DmConfig {
    pub storage: Storage,
    pub ingest_queues: Vec<SasUrl>,
    pub success_queues: Vec<SasUrl>,
    pub failure_queues: Vec<SasUrl>,
    pub engine: Arc<Mutex<Engine>>,
    pub blob_admin: BlobAdmin,
    pub token_check: TokenCheck,
    /// Injected faults (`ingest-transient…`); batching limits come from the engine's policies.
    pub faults: Arc<Faults>,
    /// Ingestion counters (results, rows, repeat ingestions of a source).
    pub metrics: Arc<crate::emulator::metrics::Metrics>,
    pub retry: RetrySettings,
    /// The storage account whose name a path-style status-table URL may have lost.
    pub own_account: String,
    /// How often to poll the ingestion queues when they were empty.
    pub poll_interval: Duration,
    /// Time-to-live of posted notifications (`None`: Azure's default of 7 days). The demo
    /// keeps them short so its shared queues stay within what one peek can see.
    pub notification_ttl: Option<Duration>,
    /// Bulk operations (`.ingest-from-storage-queued`) whose blobs come through the queues.
    pub bulk: Arc<bulk::BulkOps>,
}

/// Messages dequeued more often than this are poison.
pub const MAX_DEQUEUE_COUNT: u32 = 5;
/// Decompressed data beyond this is refused (protects the emulator from archive bombs).
pub const MAX_DATA_BYTES: u64 = 1 << 30;
const NIL_GUID: &str = "00000000-0000-0000-0000-000000000000";

pub(crate) fn fail(code: &str, status: FailureStatus, details: impl Into<String>) -> IngestFailure {
    IngestFailure {
        error_code: code.to_string(),
        details: details.into(),
        status,
    }
}

pub(crate) fn permanent(code: &str, details: impl Into<String>) -> IngestFailure {
    fail(code, FailureStatus::Permanent, details)
}

/// What to do with one dequeued message before batching.
#[derive(Debug)]
pub enum Intake {
    /// Valid: goes into a batch.
    Accept(Box<IngestionMessage>),
    /// Decoded but refused (auth, poison): reported per its ReportLevel/Method.
    Refuse(Box<IngestionMessage>, IngestFailure),
    /// Undecodable: a failure notification with whatever id could be recovered.
    Corrupt { source_id: String, details: String },
}

/// Decodes and validates a queue message.
pub fn classify(text: &str, dequeue_count: u32, token_ok: &dyn Fn(&str) -> bool) -> Intake {
    let msg = match IngestionMessage::from_queue_text(text) {
        Ok(m) if !m.id.trim().is_empty() => m,
        Ok(_) => {
            return Intake::Corrupt {
                source_id: NIL_GUID.into(),
                details: "the ingestion message has an empty Id".into(),
            };
        }
        Err(e) => {
            let source_id = decode_text(text)
                .as_ref()
                .and_then(Value::as_object)
                .and_then(|o| field(o, "Id").or_else(|| field(o, "SourceId")))
                .and_then(value_to_string)
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| NIL_GUID.into());
            return Intake::Corrupt {
                source_id,
                details: format!("the ingestion message could not be read: {e}"),
            };
        }
    };
    if dequeue_count > MAX_DEQUEUE_COUNT {
        let f = fail(
            "General_RetryAttemptsExceeded",
            FailureStatus::Exhausted,
            format!(
                "the message was dequeued {dequeue_count} times (limit {MAX_DEQUEUE_COUNT}) \
                 without completing; giving up"
            ),
        );
        return Intake::Refuse(Box::new(msg), f);
    }
    match msg.property_str("authorizationContext") {
        None => {
            let f = permanent(
                "BadRequest_InvalidKustoIdentityToken",
                "AdditionalProperties.authorizationContext is missing; get one with \
                 `.get kusto identity token`",
            );
            Intake::Refuse(Box::new(msg), f)
        }
        Some(token) if !token_ok(&token) => {
            let f = permanent(
                "BadRequest_InvalidKustoIdentityToken",
                "the authorizationContext was not issued by this service (or has expired)",
            );
            Intake::Refuse(Box::new(msg), f)
        }
        Some(_) => Intake::Accept(Box::new(msg)),
    }
}

/// The engine's view of a message. The identity token is left out (it is a secret).
pub fn ingest_request(msg: &IngestionMessage) -> IngestRequest {
    let mut extra = msg.additional_properties.clone();
    extra.retain(|k, _| !k.eq_ignore_ascii_case("authorizationContext"));
    IngestRequest {
        database: msg.database_name.clone(),
        table: msg.table_name.clone(),
        format: msg
            .property_str("format")
            .unwrap_or_else(|| "csv".into())
            .to_ascii_lowercase(),
        mapping_reference: msg
            .property_str("ingestionMappingReference")
            .or_else(|| msg.property_str("mappingReference")),
        mapping: msg.property_str("ingestionMapping"),
        ignore_first_record: msg.property_bool("ignoreFirstRecord"),
        tags: msg.property_list("tags"),
        ingest_if_not_exists: msg.property_list("ingestIfNotExists"),
        creation_time: msg
            .property_str("creationTime")
            .and_then(|t| parse_timestamp_str(&t)),
        source_id: msg.id.clone(),
        extra,
    }
}

/// The blob URL of a message, without LightIngest's `;managed_identity=…` suffix.
pub fn blob_url(blob_path: &str) -> Result<SasUrl, IngestFailure> {
    let mut path = blob_path.trim();
    if let Some(i) = path.to_ascii_lowercase().find(";managed_identity=") {
        path = &path[..i];
    }
    if path.is_empty() {
        return Err(permanent(
            "BadRequest_EmptyBlobUri",
            "the message has no BlobPath",
        ));
    }
    SasUrl::parse(path).map_err(|e| permanent("BadRequest_InvalidBlobUri", e.to_string()))
}

/// The source path as reported: no query, no `;…` suffix (so no secret).
pub fn source_path(blob_path: &str) -> String {
    match blob_url(blob_path) {
        Ok(u) => u.without_query(),
        Err(_) => {
            let end = blob_path.find(['?', ';']).unwrap_or(blob_path.len());
            blob_path[..end].to_string()
        }
    }
}

/// Maps a Get Blob error to Kusto's download error codes.
pub fn download_failure(blob: &SasUrl, err: &Error) -> IngestFailure {
    let details = format!("downloading {blob}: {}", redact(&err.to_string()));
    match err.status() {
        Some(404) => permanent("Download_SourceNotFound", details),
        Some(401 | 403) => permanent("Download_Forbidden", details),
        _ => fail("Download_UnknownError", FailureStatus::Transient, details),
    }
}

/// Ids of one processed source.
#[derive(Debug, Clone)]
pub struct ReportIds {
    pub operation_id: String,
    pub activity_id: String,
}

/// Everything the DM writes about one source.
#[derive(Debug, Clone, Default)]
pub struct Reports {
    pub notification: Option<(NotificationKind, Notification)>,
    /// Properties to merge into the status entity (when the message asked for a table).
    pub status: Option<Map<String, Value>>,
    /// For `.show ingestion failures`.
    pub failure: Option<FailureRecord>,
}

/// The final status of a source.
pub fn final_status(result: &Result<IngestOutcome, IngestFailure>) -> IngestionStatus {
    match result {
        Ok(o) if o.skipped_existing => IngestionStatus::Skipped,
        Ok(o) if o.rejected > 0 => IngestionStatus::PartiallySucceeded,
        Ok(_) => IngestionStatus::Succeeded,
        Err(f) if f.error_code == "BadRequest_EmptyBlob" => IngestionStatus::Skipped,
        Err(_) => IngestionStatus::Failed,
    }
}

/// Decides the notification, status-entity update and failure record for one source,
/// following its ReportLevel and ReportMethod.
pub fn outcome_to_reports(
    msg: &IngestionMessage,
    result: &Result<IngestOutcome, IngestFailure>,
    ids: &ReportIds,
    now: DateTime<Utc>,
) -> Reports {
    let status = final_status(result);
    let partial_failure;
    let failure: Option<&IngestFailure> = match result {
        Err(f) => Some(f),
        Ok(o) if o.rejected > 0 => {
            partial_failure = permanent(
                "BadRequest_NoRecordsOrWrongFormat",
                format!(
                    "{} record(s) ingested, {} record(s) rejected as malformed",
                    o.rows, o.rejected
                ),
            );
            Some(&partial_failure)
        }
        Ok(_) => None,
    };
    let details = match (result, failure) {
        (_, Some(f)) => f.details.clone(),
        (Ok(o), None) if o.skipped_existing => {
            "skipped: an extent with one of the ingestIfNotExists tags already exists".into()
        }
        (Ok(o), None) => format!("{} record(s) ingested", o.rows),
        (Err(_), None) => String::new(),
    };
    let path = source_path(&msg.blob_path);
    let record = match result {
        Err(f) => Some(FailureRecord {
            operation_id: ids.operation_id.clone(),
            database: msg.database_name.clone(),
            table: msg.table_name.clone(),
            failed_on: now,
            source_path: path.clone(),
            details: f.details.clone(),
            failure_status: f.status,
            root_activity_id: ids.activity_id.clone(),
            error_code: f.error_code.clone(),
        }),
        Ok(_) => None,
    };
    let wanted = match msg.report_level {
        ReportLevel::None => false,
        ReportLevel::FailuresOnly => failure.is_some(),
        ReportLevel::FailuresAndSuccesses => true,
    };
    let mut reports = Reports {
        failure: record,
        ..Reports::default()
    };
    let stamp = format_timestamp(now);
    if wanted && msg.report_method.uses_queue() {
        let mut n = Notification {
            operation_id: Some(ids.operation_id.clone()),
            database: Some(msg.database_name.clone()),
            table: Some(msg.table_name.clone()),
            ingestion_source_id: Some(msg.id.clone()),
            ingestion_source_path: Some(path.clone()),
            root_activity_id: Some(ids.activity_id.clone()),
            ..Notification::default()
        };
        let kind = match failure {
            Some(f) => {
                n.failed_on = Some(stamp.clone());
                n.details = Some(f.details.clone());
                n.error_code = Some(f.error_code.clone());
                n.failure_status = Some(f.status.to_string());
                n.originates_from_update_policy = Some(false);
                n.should_retry = Some(f.status == FailureStatus::Transient);
                NotificationKind::Failure
            }
            None => {
                n.succeeded_on = Some(stamp.clone());
                NotificationKind::Success
            }
        };
        reports.notification = Some((kind, n));
    }
    // The status entity always gets its final state (unless reporting is off): a client
    // that inserted a Pending entity must not wait forever for a success it did not ask
    // to be notified of.
    if msg.report_level != ReportLevel::None
        && msg.report_method.uses_table()
        && msg.ingestion_status_in_table.is_some()
    {
        let mut m = Map::new();
        m.insert("Status".into(), status.as_str().into());
        m.insert("UpdatedOn".into(), stamp.into());
        m.insert("UpdatedOn@odata.type".into(), "Edm.DateTime".into());
        m.insert("OperationId".into(), ids.operation_id.clone().into());
        m.insert("ActivityId".into(), ids.activity_id.clone().into());
        m.insert(
            "ErrorCode".into(),
            failure
                .map(|f| f.error_code.clone())
                .unwrap_or_default()
                .into(),
        );
        m.insert(
            "FailureStatus".into(),
            failure
                .map(|f| f.status)
                .unwrap_or(FailureStatus::Unknown)
                .as_str()
                .into(),
        );
        m.insert("Details".into(), details.into());
        m.insert("OriginatesFromUpdatePolicy".into(), false.into());
        reports.status = Some(m);
    }
    reports
}

/// A dequeued message waiting in a batch.
#[derive(Debug, Clone)]
pub struct Pending {
    pub queue: SasUrl,
    pub message_id: String,
    pub pop_receipt: String,
    pub msg: IngestionMessage,
}

struct Worker {
    cfg: DmConfig,
    batches: Batches,
    retries: Retries,
    redeliveries: redelivery::Redeliveries,
    /// Round-robin positions over the notification queues.
    next_success: AtomicUsize,
    next_failure: AtomicUsize,
}

/// Sources of sealed batches (and retries) processed at once: each waits mostly on storage
/// round trips (download, notification, status row, delete), so a few in flight keep both
/// cores busy; bounded so a burst of batches does not open hundreds of connections.
const CONCURRENT_SOURCES: usize = 16;

/// How long dequeued messages stay hidden: through the longest batching time plus every retry.
fn visibility_for(longest_batch: Duration, retry: &RetrySettings) -> u32 {
    const MAX_VISIBILITY: u64 = 7 * 24 * 3600;
    let secs = (longest_batch + retry.total_backoff()).as_secs() + 60;
    u32::try_from(secs.clamp(300, MAX_VISIBILITY)).unwrap_or(u32::MAX)
}

/// Runs the worker until `shutdown` fires. Messages of unsealed batches stay invisible and
/// come back after their visibility timeout when the worker stops early.
pub async fn run(cfg: DmConfig, shutdown: CancellationToken) {
    let mut w = Worker {
        cfg,
        batches: Batches::new(),
        retries: Retries::default(),
        redeliveries: Default::default(),
        next_success: AtomicUsize::new(0),
        next_failure: AtomicUsize::new(0),
    };
    tracing::info!(
        queues = w.cfg.ingest_queues.len(),
        "DM worker started (retries: {:?})",
        w.cfg.retry
    );
    loop {
        if shutdown.is_cancelled() {
            break;
        }
        let longest = w.engine().longest_batching_time();
        let received = w.receive(visibility_for(longest, &w.cfg.retry)).await;
        let mut due = Vec::new();
        for batch in w.batches.take_due(Instant::now()) {
            due.extend(w.process_batch(batch).await);
        }
        due.extend(
            w.retries
                .take_due(Instant::now())
                .into_iter()
                .map(|w| (w.pending, w.attempts + 1, w.operation_id)),
        );
        w.attempt_all(due).await;
        if received == 0 {
            let idle = w.cfg.poll_interval.max(Duration::from_millis(10));
            let now = Instant::now();
            let wait = [w.batches.next_due(now), w.retries.next_due(now)]
                .into_iter()
                .flatten()
                .fold(idle, Duration::min);
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }
    tracing::info!("DM worker stopped");
}

impl Worker {
    fn engine(&self) -> std::sync::MutexGuard<'_, Engine> {
        self.cfg.engine.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn receive(&mut self, visibility: u32) -> usize {
        let mut received = 0;
        for (q, m) in self.redeliveries.take_ready() {
            received += 1;
            self.intake(&q, m, true).await;
        }
        for q in self.cfg.ingest_queues.clone() {
            let msgs = match self.cfg.storage.get_messages(&q, 32, visibility).await {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!(queue = %q, "get messages failed: {}", redact(&e.to_string()));
                    continue;
                }
            };
            received += msgs.len();
            for m in msgs {
                self.intake(&q, m, false).await;
            }
        }
        received
    }

    /// Takes one dequeued message; `redelivered` marks an injected second delivery (which is
    /// not chosen for yet another).
    async fn intake(&mut self, queue: &SasUrl, m: QueueMessage, redelivered: bool) {
        let check = self.cfg.token_check.clone();
        let Some(pop_receipt) = m.pop_receipt.clone() else {
            tracing::warn!(message_id = %m.message_id, "dequeued message without pop receipt");
            return;
        };
        match classify(&m.text, m.dequeue_count, &|t| check(t)) {
            Intake::Accept(msg) => {
                if self.retries.refresh(&m.message_id, &pop_receipt) {
                    return;
                }
                if self.cfg.bulk.on_dequeued(&msg.id) {
                    tracing::debug!(source_id = %msg.id, "blob of a canceled bulk operation dropped");
                    self.delete_message(queue, &m.message_id, &pop_receipt)
                        .await;
                    return;
                }
                if !redelivered && self.cfg.faults.duplicate_delivery() {
                    self.redeliveries.hold(queue, &m);
                }
                let (policy, _) = self
                    .engine()
                    .effective_batching(&msg.database_name, &msg.table_name);
                let p = Pending {
                    queue: queue.clone(),
                    message_id: m.message_id,
                    pop_receipt,
                    msg: *msg,
                };
                let source_id = p.msg.id.clone();
                let sealed = self.batches.add(p, policy, Instant::now());
                tracing::debug!(%source_id, ?sealed, "message batched");
            }
            Intake::Refuse(msg, f) => {
                tracing::info!(source_id = %msg.id, code = %f.error_code, "message refused");
                self.finish(&msg, Err(f), &new_ids(), None).await;
                self.delete_message(queue, &m.message_id, &pop_receipt)
                    .await;
            }
            Intake::Corrupt { source_id, details } => {
                tracing::info!(%source_id, "corrupt ingestion message: {details}");
                self.cfg.metrics.ingest_result("Corrupt");
                let now = Utc::now();
                let ids = new_ids();
                let n = Notification {
                    operation_id: Some(ids.operation_id.clone()),
                    failed_on: Some(format_timestamp(now)),
                    ingestion_source_id: Some(source_id),
                    details: Some(details),
                    error_code: Some("BadRequest_CorruptedMessage".into()),
                    failure_status: Some(FailureStatus::Permanent.to_string()),
                    root_activity_id: Some(ids.activity_id),
                    originates_from_update_policy: Some(false),
                    should_retry: Some(false),
                    ..Notification::default()
                };
                self.post(NotificationKind::Failure, &n).await;
                self.delete_message(queue, &m.message_id, &pop_receipt)
                    .await;
            }
        }
    }

    /// Answers the duplicates of a sealed batch; returns its sources to attempt, under the
    /// batch's operation id.
    async fn process_batch(&mut self, batch: Vec<Pending>) -> Vec<(Pending, u32, String)> {
        let operation_id = uuid::Uuid::new_v4().to_string();
        let (unique, duplicates) = batching::split_duplicates(batch);
        for d in duplicates {
            self.answer_duplicate(&d.duplicate, &d.kept, &operation_id)
                .await;
            self.redeliveries.release(&d.duplicate.message_id);
        }
        unique
            .into_iter()
            .map(|p| (p, 1, operation_id.clone()))
            .collect()
    }

    /// Checks, downloads, decompresses and ingests one source. Returns the blob URL too, so
    /// that a success can delete it.
    async fn ingest_one(
        &self,
        msg: &IngestionMessage,
        attempt: u32,
    ) -> (Result<IngestOutcome, IngestFailure>, Option<SasUrl>) {
        let req = ingest_request(msg);
        if let Err(f) = self.check_target(&req) {
            return (Err(f), None);
        }
        let blob = match blob_url(&msg.blob_path) {
            Ok(b) => b,
            Err(f) => return (Err(f), None),
        };
        let bytes = match self.cfg.storage.get_blob(&blob).await {
            Ok(b) => b,
            Err(e) => return (Err(download_failure(&blob, &e)), Some(blob)),
        };
        let entries = match unpack(&blob.sub_path(), &bytes, req.zip_pattern()) {
            Ok(d) => d,
            Err(f) => return (Err(f), Some(blob)),
        };
        if self.cfg.faults.ingest_fails(attempt) {
            // General_InternalServerError is Transient in dataexplorer-docs `error-codes.md`.
            let f = fail(
                "General_InternalServerError",
                FailureStatus::Transient,
                format!("injected transient failure of attempt {attempt} (emulator faults)"),
            );
            return (Err(f), Some(blob));
        }
        let entries: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
        let result = self.engine().ingest_entries(&req, &entries, Utc::now());
        (result, Some(blob))
    }

    fn check_target(&self, req: &IngestRequest) -> Result<(), IngestFailure> {
        if req.database.trim().is_empty() {
            return Err(permanent(
                "BadRequest_EmptyDatabaseName",
                "the message has no DatabaseName",
            ));
        }
        if req.table.trim().is_empty() {
            return Err(permanent(
                "BadRequest_InvalidOrEmptyTableName",
                "the message has no TableName",
            ));
        }
        let engine = self.cfg.engine.lock().unwrap_or_else(|e| e.into_inner());
        if !engine.database_exists(&req.database) {
            return Err(permanent(
                "BadRequest_DatabaseNotExist",
                format!("database '{}' does not exist", req.database),
            ));
        }
        if engine.row_count(&req.database, &req.table).is_none() {
            return Err(permanent(
                "BadRequest_TableNotExist",
                format!(
                    "table '{}' does not exist in database '{}'",
                    req.table, req.database
                ),
            ));
        }
        Ok(())
    }

    /// Writes the reports of one source and deletes its blob after a success.
    async fn finish(
        &self,
        msg: &IngestionMessage,
        result: Result<IngestOutcome, IngestFailure>,
        ids: &ReportIds,
        blob: Option<&SasUrl>,
    ) {
        self.count(msg, &result);
        self.cfg.bulk.on_finished(&msg.id, &result);
        let reports = outcome_to_reports(msg, &result, ids, Utc::now());
        if let Some(f) = reports.failure {
            self.cfg
                .engine
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .record_failure(f);
        }
        if let Some((kind, n)) = &reports.notification {
            self.post(*kind, n).await;
        }
        if let (Some(props), Some(target)) = (&reports.status, &msg.ingestion_status_in_table) {
            self.update_status(target, props).await;
        }
        if let (Ok(_), Some(blob)) = (&result, blob)
            && !msg.retain_blob_on_success
        {
            match (self.cfg.blob_admin)(blob) {
                Some(admin) => {
                    if let Err(e) = self.cfg.storage.delete_blob(&admin).await {
                        tracing::warn!(%blob, "deleting ingested blob failed: {}", redact(&e.to_string()));
                    }
                }
                None => tracing::debug!(%blob, "no delete rights for blob; kept"),
            }
        }
    }

    /// The result and, for stored rows, the source in the ingestion counters.
    fn count(&self, msg: &IngestionMessage, result: &Result<IngestOutcome, IngestFailure>) {
        let m = &self.cfg.metrics;
        match result {
            Err(f) if f.error_code == duplicates::FOUND_IN_BATCH => {
                m.ingest_result("DuplicateInBatch")
            }
            other => m.ingest_result(final_status(other).as_str()),
        }
        if let Ok(o) = result
            && !o.skipped_existing
        {
            m.ingested(&msg.id, o.rows);
        }
    }

    async fn post(&self, kind: NotificationKind, n: &Notification) {
        let (queues, next) = match kind {
            NotificationKind::Success => (&self.cfg.success_queues, &self.next_success),
            NotificationKind::Failure => (&self.cfg.failure_queues, &self.next_failure),
        };
        if queues.is_empty() {
            tracing::warn!(
                "no {} queue configured; notification dropped",
                kind.as_str()
            );
            return;
        }
        let q = &queues[next.fetch_add(1, Ordering::Relaxed) % queues.len()];
        if let Err(e) = self
            .cfg
            .storage
            .put_message(
                q,
                &n.to_queue_text(),
                None,
                self.cfg.notification_ttl.map(|d| d.as_secs().max(1) as i64),
            )
            .await
        {
            tracing::warn!(queue = %q, "posting {} notification failed: {}", kind.as_str(), redact(&e.to_string()));
        }
    }

    async fn update_status(
        &self,
        target: &crate::client::wire::IngestionStatusInTable,
        props: &Map<String, Value>,
    ) {
        let table =
            match status_table::resolve(&target.table_connection_string, &self.cfg.own_account) {
                Ok(t) => t,
                Err(e) => {
                    tracing::warn!("status table URL unusable: {}", redact(&e));
                    return;
                }
            };
        let storage = &self.cfg.storage;
        let merged = storage
            .merge_entity(&table, &target.partition_key, &target.row_key, props)
            .await;
        let result = match merged {
            // The client did not insert a Pending entity first: create it.
            Err(e) if e.status() == Some(404) => {
                let mut entity = props.clone();
                entity.insert("PartitionKey".into(), target.partition_key.clone().into());
                entity.insert("RowKey".into(), target.row_key.clone().into());
                storage.insert_entity(&table, &entity).await
            }
            other => other,
        };
        if let Err(e) = result {
            tracing::warn!(%table, "status entity update failed: {}", redact(&e.to_string()));
        }
    }

    async fn delete_message(&self, queue: &SasUrl, id: &str, pop_receipt: &str) {
        if let Err(e) = self
            .cfg
            .storage
            .delete_message(queue, id, pop_receipt)
            .await
        {
            tracing::warn!(%queue, message_id = id, "delete message failed: {}", redact(&e.to_string()));
        }
    }
}

fn new_ids() -> ReportIds {
    ReportIds {
        operation_id: uuid::Uuid::new_v4().to_string(),
        activity_id: uuid::Uuid::new_v4().to_string(),
    }
}

#[cfg(test)]
mod loop_tests;
#[cfg(test)]
mod tests;
