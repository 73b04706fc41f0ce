//! Direct ingestion on the engine's mgmt endpoint: `.ingest [async] into table T (h'blob', …)
//! with (…)` reads each blob from storage and ingests it synchronously into the tables the DM
//! worker fills, through the same request mapping ([`dm::ingest_request`]), decompression and
//! parsing (DOCS `kusto/management/data-ingestion/ingest-into-command.md`).
//!
//! One row per blob: the extent it created, or a zero extent id with `HasErrors` when it failed
//! while others landed. When every blob fails the command itself fails with the first
//! blob's ingestion error code (400), as the command reports errors like any other (inferred:
//! the docs describe only the success table). `async` returns the operation id at once and
//! ingests in the background; `.show operations <id>` follows it.

use std::time::Instant;

use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;

use super::mgmt::{one_api_error, tables_response};
use crate::client::wire::{IngestionMessage, ReportLevel, ReportMethod};
use crate::emulator::Shared;
use crate::emulator::dm;
use crate::emulator::engine::ingest_into::{self, IngestInto, ItemResult, Operation};
use crate::emulator::engine::{EngineError, FailureRecord, IngestFailure};

/// Runs a parsed `.ingest into` in `db` (the request's database, `None` for the default).
pub async fn execute(
    shared: &Shared,
    db: Option<&str>,
    parsed: Result<IngestInto, EngineError>,
) -> Response {
    let cmd = match parsed {
        Ok(c) => c,
        Err(e) => return engine_error(&e),
    };
    let target = {
        let engine = shared.engine.lock().unwrap_or_else(|e| e.into_inner());
        engine
            .resolve_database(cmd.database.as_deref().or(db))
            .and_then(|d| match engine.row_count(&d, &cmd.table) {
                Some(_) => Ok(d),
                None => Err(EngineError {
                    status: 404,
                    code: "BadRequest_EntityNotFound".into(),
                    message: format!("Table '{}' was not found.", cmd.table),
                }),
            })
    };
    let database = match target {
        Ok(d) => d,
        Err(e) => return engine_error(&e),
    };
    let operation_id = uuid::Uuid::new_v4().to_string();
    let started = Utc::now();
    let op = |state, status: String| {
        operation(
            &operation_id,
            started,
            (&database, &cmd.table),
            state,
            status,
        )
    };
    record(shared, op("InProgress", String::new()));
    if cmd.is_async {
        let shared = shared.clone();
        let (database, id) = (database.clone(), operation_id.clone());
        tokio::spawn(async move {
            let items = ingest_all(&shared, &database, &cmd, &id).await;
            let (state, status) = match items {
                Ok(items) => (
                    "Completed",
                    format!(
                        "{} extent(s) created",
                        items.iter().filter(|i| i.extent_id.is_some()).count()
                    ),
                ),
                Err(f) => ("Failed", format!("{}: {}", f.error_code, f.details)),
            };
            let done = operation(&id, started, (&database, &cmd.table), state, status);
            record(&shared, done);
        });
        return tables_response(vec![ingest_into::async_table(&operation_id)]);
    }
    match ingest_all(shared, &database, &cmd, &operation_id).await {
        Ok(items) => {
            record(shared, op("Completed", format!("{} item(s)", items.len())));
            tables_response(vec![ingest_into::result_table(&items, &operation_id)])
        }
        Err(f) => {
            record(
                shared,
                op("Failed", format!("{}: {}", f.error_code, f.details)),
            );
            one_api_error(
                StatusCode::BAD_REQUEST,
                &f.error_code,
                &format!(
                    "Ingestion into '{database}.{}' failed: {}",
                    cmd.table, f.details
                ),
            )
        }
    }
}

/// The operations-log entry of `id` as of now.
fn operation(
    id: &str,
    started: chrono::DateTime<Utc>,
    (database, table): (&str, &str),
    state: &'static str,
    status: String,
) -> Operation {
    Operation {
        id: id.to_string(),
        operation: "DataIngestPull".into(),
        started,
        updated: Utc::now(),
        state,
        status,
        database: database.to_string(),
        table: table.to_string(),
    }
}

fn record(shared: &Shared, op: Operation) {
    shared
        .engine
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .record_operation(op);
}

fn engine_error(e: &EngineError) -> Response {
    one_api_error(
        StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST),
        &e.code,
        &e.message,
    )
}

/// Every source in order: its row, or (when none landed) the first failure.
async fn ingest_all(
    shared: &Shared,
    database: &str,
    cmd: &IngestInto,
    operation_id: &str,
) -> Result<Vec<ItemResult>, IngestFailure> {
    let mut items = Vec::new();
    let mut first_failure = None;
    for source in &cmd.sources {
        let t0 = Instant::now();
        let item = dm::source_path(source);
        let result = ingest_one(shared, database, cmd, source).await;
        let duration = t0.elapsed();
        match result {
            Ok(extent_id) => items.push(ItemResult {
                extent_id,
                item,
                duration,
                has_errors: false,
            }),
            Err(f) => {
                shared
                    .engine
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .record_failure(FailureRecord {
                        operation_id: operation_id.to_string(),
                        database: database.to_string(),
                        table: cmd.table.clone(),
                        failed_on: Utc::now(),
                        source_path: item.clone(),
                        details: f.details.clone(),
                        failure_status: f.status,
                        root_activity_id: uuid::Uuid::new_v4().to_string(),
                        error_code: f.error_code.clone(),
                    });
                first_failure.get_or_insert(f);
                items.push(ItemResult {
                    extent_id: None,
                    item,
                    duration,
                    has_errors: true,
                });
            }
        }
    }
    match first_failure {
        Some(f) if items.iter().all(|i| i.has_errors) => Err(f),
        _ => Ok(items),
    }
}

/// Reads, unpacks and ingests one blob; the extent it created (`None`: nothing was, e.g.
/// `ingestIfNotExists` matched).
async fn ingest_one(
    shared: &Shared,
    database: &str,
    cmd: &IngestInto,
    source: &str,
) -> Result<Option<String>, IngestFailure> {
    let msg = message(database, &cmd.table, source, cmd);
    let req = dm::ingest_request(&msg);
    let blob = dm::blob_url(source)?;
    let bytes = shared
        .control
        .storage
        .get_blob(&blob)
        .await
        .map_err(|e| dm::download_failure(&blob, &e))?;
    let data = dm::decompress(&blob.sub_path(), &bytes)?;
    let mut engine = shared.engine.lock().unwrap_or_else(|e| e.into_inner());
    let outcome = engine.ingest(&req, &data, Utc::now())?;
    Ok((!outcome.skipped_existing && outcome.rows > 0)
        .then(|| engine.last_extent_id(database, &cmd.table))
        .flatten())
}

/// The command as the message the DM would have read, so both paths map properties to an
/// ingest request in one place.
fn message(database: &str, table: &str, source: &str, cmd: &IngestInto) -> IngestionMessage {
    IngestionMessage {
        id: uuid::Uuid::new_v4().to_string(),
        blob_path: source.to_string(),
        raw_data_size: None,
        database_name: database.to_string(),
        table_name: table.to_string(),
        retain_blob_on_success: true,
        flush_immediately: true,
        ignore_size_limit: false,
        report_level: ReportLevel::None,
        report_method: ReportMethod::Queue,
        source_message_creation_time: None,
        ingestion_status_in_table: None,
        application_for_tracing: None,
        client_version_for_tracing: None,
        additional_properties: cmd.properties.clone(),
    }
}
