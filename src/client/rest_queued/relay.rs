//! The REST queued API's work behind its HTTP surface, done the classic way: each blob of a
//! POST becomes an ingestion message posted to the cluster's ingestion queue (resources →
//! status entity → queue), and each operation is tracked through the status table by the one
//! tracking engine ([`Tracker`]). The emulator serves its REST API with a relay over its own
//! queues (so the blobs go through the DM worker's batching and ingestion like any message),
//! and `kingest gateway` with one over any classic cluster.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use super::wire::{
    ApiError, BlobState, BlobStatus, Configuration, Counts, DEFAULT_MAX_BLOBS_PER_BATCH,
    DEFAULT_MAX_DATA_SIZE, OperationStatus, PostRequest,
};
use crate::client::error::Error;
use crate::client::resources::ResourceKind;
use crate::client::submit::{SubmitRequest, build_message, encode_for_queue};
use crate::client::tracking::{Observation, StatusRef, TrackState, Tracker};
use crate::client::wire::{DataFormat, ReportLevel, ReportMethod, StatusEntity};
use crate::client::{IngestClient, RESOURCES_TTL};

/// Checks a target before anything is posted (the emulator knows its databases and tables;
/// a gateway does not, and lets the DM report an unknown table per blob).
pub type TargetCheck = Arc<dyn Fn(&str, &str) -> Result<(), ApiError> + Send + Sync>;

/// Operations remembered; the oldest are forgotten first (the status of a forgotten one is 404).
const KEPT_OPERATIONS: usize = 10_000;

struct TrackedBlob {
    url: String,
    tracker: Tracker,
}

struct Operation {
    id: String,
    database: String,
    table: String,
    started: DateTime<Utc>,
    blobs: Vec<TrackedBlob>,
}

pub struct Relay {
    client: IngestClient,
    check_target: Option<TargetCheck>,
    max_blobs: usize,
    operations: Mutex<VecDeque<Operation>>,
}

/// A client-side failure as the service would answer it: 503 for what may pass (the cluster
/// could not be reached, storage throttled), 500 otherwise.
fn service_error(e: &Error) -> ApiError {
    let text = crate::client::redact::redact(&e.to_string());
    if e.is_transient() {
        ApiError {
            status: 503,
            code: "ServiceUnavailable".into(),
            message: format!("the cluster behind this endpoint could not be used: {text}"),
        }
    } else {
        ApiError {
            status: 500,
            code: "General_InternalServerError".into(),
            message: text,
        }
    }
}

/// A tracker's state as the REST status names it. The REST API knows no Skipped or
/// PartiallySucceeded (docs: InProgress, Succeeded, Failed, Canceled; openapi adds Queued):
/// both landed what there was to land, so they are Succeeded, their details saying which.
pub fn blob_state(t: &Tracker) -> BlobState {
    match t.state {
        TrackState::Queued => BlobState::Queued,
        TrackState::Pending | TrackState::Retrying => BlobState::InProgress,
        TrackState::Succeeded | TrackState::PartiallySucceeded | TrackState::Skipped => {
            BlobState::Succeeded
        }
        TrackState::Failed => BlobState::Failed,
        TrackState::Canceled => BlobState::Canceled,
    }
}

fn blob_status(b: &TrackedBlob) -> BlobStatus {
    let t = &b.tracker;
    let state = blob_state(t);
    let details = match t.state {
        TrackState::PartiallySucceeded | TrackState::Skipped => Some(t.describe()),
        _ => t.error.details.clone(),
    };
    BlobStatus {
        source_id: t.source_id.clone(),
        url: Some(b.url.clone()),
        status: state,
        started_at: Some(t.posted_at),
        last_update: Some(t.updated_at),
        error_code: t.error.code.clone(),
        failure_status: t.error.failure_status.clone(),
        details,
    }
}

impl Relay {
    pub fn new(client: IngestClient, check_target: Option<TargetCheck>) -> Self {
        Relay {
            client,
            check_target,
            max_blobs: DEFAULT_MAX_BLOBS_PER_BATCH,
            operations: Mutex::new(VecDeque::new()),
        }
    }

    pub fn max_blobs(&self) -> usize {
        self.max_blobs
    }

    /// The configuration: the cluster's temp containers as upload containers, valid as long
    /// as its resources are cached.
    pub async fn configuration(&self) -> Result<Configuration, ApiError> {
        let res = self
            .client
            .resources()
            .await
            .map_err(|e| service_error(&e))?;
        Ok(Configuration {
            containers: res.of_kind(ResourceKind::TempStorage).cloned().collect(),
            lake_folders: vec![],
            refresh_interval: RESOURCES_TTL.to_std().ok(),
            preferred_upload_method: Some("Storage".into()),
            max_blobs_per_batch: self.max_blobs,
            max_data_size: Some(DEFAULT_MAX_DATA_SIZE),
            preferred_ingestion_method: Some("REST".into()),
        })
    }

    /// Posts every blob of `req`; returns the operation id ("" when tracking was not asked).
    pub async fn post(
        &self,
        database: &str,
        table: &str,
        req: PostRequest,
    ) -> Result<String, ApiError> {
        if let Some(check) = &self.check_target {
            check(database, table)?;
        }
        let p = &req.properties;
        let format: DataFormat = p.format.parse().map_err(|_| {
            ApiError::bad_request(format!("format '{}' is not supported here", p.format))
        })?;
        let mut sub = SubmitRequest::new("", database, table);
        sub.format = Some(format);
        sub.mapping_reference = p.mapping_reference.clone();
        sub.mapping = p.mapping.clone();
        sub.tags = p.tags.clone();
        sub.ingest_if_not_exists = p.ingest_if_not_exists.clone();
        sub.ignore_first_record = p.ignore_first_record;
        sub.creation_time = p.creation_time.clone();
        sub.flush_immediately = p.skip_batching;
        sub.retain_blob_on_success = !p.delete_after_download;
        sub.ignore_size_limit = p.ignore_size_limit;
        sub.extra_properties = p.other.clone();
        // Tracking: every outcome in the status table; else nothing reported (failures stay
        // visible in `.show ingestion failures`).
        (sub.report_level, sub.report_method) = if p.enable_tracking {
            (ReportLevel::FailuresAndSuccesses, ReportMethod::Table)
        } else {
            (ReportLevel::None, ReportMethod::Queue)
        };
        crate::client::submit::validate(&sub).map_err(|e| ApiError::bad_request(e.to_string()))?;

        let res = self
            .client
            .resources()
            .await
            .map_err(|e| service_error(&e))?;
        let status_table = match p.enable_tracking {
            true => Some(
                res.of_kind(ResourceKind::IngestionsStatusTable)
                    .next()
                    .cloned()
                    .ok_or_else(|| {
                        service_error(&Error::MissingResource(
                            "the cluster offers no IngestionsStatusTable to track with".into(),
                        ))
                    })?,
            ),
            false => None,
        };
        let queues = self
            .client
            .ranked(res.of_kind(ResourceKind::SecuredReadyForAggregationQueue));
        let now = Utc::now();
        let mut tracked = Vec::new();
        let mut posted = 0;
        let mut first_error = None;
        for b in &req.blobs {
            let source_id = b.source_id.unwrap_or_else(uuid::Uuid::new_v4);
            let key = source_id.to_string();
            let url = b.url.without_query();
            let outcome: Result<Option<StatusRef>, Error> = async {
                let status_ref = match &status_table {
                    Some(t) => {
                        let props =
                            StatusEntity::pending_properties(&key, &url, database, table, now);
                        match self.client.storage().insert_entity(t, &props).await {
                            Err(Error::Storage { code, .. }) if code == "EntityAlreadyExists" => {}
                            other => other?,
                        }
                        Some(StatusRef::new(t.clone(), key.clone(), key.clone()))
                    }
                    None => None,
                };
                let mut message = build_message(
                    &sub,
                    format,
                    &source_id,
                    &b.url,
                    b.raw_size.unwrap_or(0),
                    res.identity_token.expose(),
                    status_ref.as_ref(),
                );
                message.raw_data_size = b.raw_size;
                let text = encode_for_queue(&message)?;
                crate::client::submit::post(&self.client, &queues, &text).await?;
                Ok(status_ref)
            }
            .await;
            let tracker = match outcome {
                Ok(status_ref) => {
                    posted += 1;
                    Tracker::posted(key, status_ref, false, now)
                }
                Err(e) => {
                    let why = format!(
                        "the blob could not be queued for ingestion: {}",
                        crate::client::redact::redact(&e.to_string())
                    );
                    first_error.get_or_insert(e);
                    Tracker::abandoned(key, why, now)
                }
            };
            tracked.push(TrackedBlob { url, tracker });
        }
        if posted == 0
            && let Some(e) = first_error
        {
            return Err(service_error(&e));
        }
        if !p.enable_tracking {
            return Ok(String::new());
        }
        let id = uuid::Uuid::new_v4().to_string();
        let mut ops = self.operations.lock().unwrap_or_else(|e| e.into_inner());
        if ops.len() >= KEPT_OPERATIONS {
            ops.pop_front();
        }
        ops.push_back(Operation {
            id: id.clone(),
            database: database.to_string(),
            table: table.to_string(),
            started: now,
            blobs: tracked,
        });
        Ok(id)
    }

    /// The operation's state, after reading the status entity of every blob still running.
    pub async fn status(
        &self,
        database: &str,
        table: &str,
        operation_id: &str,
        details: bool,
    ) -> Result<OperationStatus, ApiError> {
        let not_found = || {
            ApiError::not_found(
                "NotFound",
                format!(
                    "no ingestion operation '{operation_id}' for table '{table}' in database \
                     '{database}'"
                ),
            )
        };
        let pending: Vec<(usize, StatusRef)> = {
            let ops = self.operations.lock().unwrap_or_else(|e| e.into_inner());
            let op = ops
                .iter()
                .find(|o| o.id == operation_id)
                .filter(|o| o.database == database && o.table == table)
                .ok_or_else(not_found)?;
            op.blobs
                .iter()
                .enumerate()
                .filter(|(_, b)| !b.tracker.is_final())
                .filter_map(|(i, b)| b.tracker.status_ref.clone().map(|r| (i, r)))
                .collect()
        };
        let reads = futures::future::join_all(
            pending
                .iter()
                .map(|(_, r)| async move { self.client.table_status(r).await }),
        )
        .await;
        let now = Utc::now();
        let mut ops = self.operations.lock().unwrap_or_else(|e| e.into_inner());
        let op = ops
            .iter_mut()
            .find(|o| o.id == operation_id)
            .ok_or_else(not_found)?;
        for ((i, _), read) in pending.iter().zip(reads) {
            let Some(b) = op.blobs.get_mut(*i) else {
                continue;
            };
            let why;
            let obs = match &read {
                Ok(Some(e)) => Observation::Entity(e),
                Ok(None) => Observation::EntityMissing,
                Err(e) => {
                    why = crate::client::redact::redact(&e.to_string());
                    Observation::TableUnreadable(&why)
                }
            };
            b.tracker.observe(obs, now);
        }
        let blobs: Vec<BlobStatus> = op.blobs.iter().map(blob_status).collect();
        Ok(OperationStatus {
            start_time: Some(op.started),
            last_updated: blobs.iter().filter_map(|b| b.last_update).max(),
            counts: Counts::of(&blobs),
            details: details.then_some(blobs),
        })
    }
}
