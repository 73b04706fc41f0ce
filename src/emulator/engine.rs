//! The emulated Kusto engine: databases, tables with schemas, ingestion mappings, rows;
//! management commands; parsing of data by format.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::client::mgmt::V1Table;
use crate::client::wire::FailureStatus;

/// A failed management command; the HTTP layer turns it into a OneApi error (400 unless 404).
#[derive(Debug, Clone, PartialEq)]
pub struct EngineError {
    pub status: u16,
    /// OneApi code, e.g. `General_BadRequest`, `BadRequest_EntityNotFound`, `BadRequest_SyntaxError`.
    pub code: String,
    pub message: String,
}

/// What to ingest where, as the DM worker read it from the message.
#[derive(Debug, Clone, Default)]
pub struct IngestRequest {
    pub database: String,
    pub table: String,
    /// Lowercase format name (`csv`, `json`, …); unknown → BadRequest_FormatNotSupported.
    pub format: String,
    pub mapping_reference: Option<String>,
    /// Inline mapping JSON text.
    pub mapping: Option<String>,
    pub ignore_first_record: bool,
    /// Tags of this source (`tags`), stored with the rows' extent.
    pub tags: Vec<String>,
    /// `ingestIfNotExists` tags: skip when an extent already has one of them.
    pub ingest_if_not_exists: Vec<String>,
    pub creation_time: Option<DateTime<Utc>>,
    pub source_id: String,
    pub extra: Map<String, Value>,
}

/// A successful ingest.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestOutcome {
    pub rows: u64,
    /// Records that could not be ingested (PartiallySucceeded when > 0 and rows > 0).
    pub rejected: u64,
    /// True when `ingestIfNotExists` matched and nothing was ingested.
    pub skipped_existing: bool,
}

/// A failed ingest with Kusto's error code name.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestFailure {
    pub error_code: String,
    pub details: String,
    pub status: FailureStatus,
}

/// A failure recorded for `.show ingestion failures`.
#[derive(Debug, Clone, PartialEq)]
pub struct FailureRecord {
    pub operation_id: String,
    pub database: String,
    pub table: String,
    pub failed_on: DateTime<Utc>,
    pub source_path: String,
    pub details: String,
    pub failure_status: FailureStatus,
    pub root_activity_id: String,
    pub error_code: String,
}

#[derive(Debug, Default)]
pub struct Engine {}

impl Engine {
    pub fn new() -> Self {
        Engine::default()
    }

    /// Runs one management command against `database` (the request's `db`).
    pub fn execute(
        &mut self,
        database: Option<&str>,
        csl: &str,
        now: DateTime<Utc>,
    ) -> Result<V1Table, EngineError> {
        todo!("{database:?} {csl} {now}")
    }

    /// Runs a schema script: Kusto commands, one per statement; `.create database X` makes X the
    /// current database for what follows. Returns the number of commands run.
    pub fn load_script(&mut self, text: &str) -> Result<usize, EngineError> {
        todo!("{text}")
    }

    /// Parses uncompressed `data` by format and appends its rows to the table.
    pub fn ingest(
        &mut self,
        req: &IngestRequest,
        data: &[u8],
        now: DateTime<Utc>,
    ) -> Result<IngestOutcome, IngestFailure> {
        todo!("{req:?} {} {now}", data.len())
    }

    pub fn record_failure(&mut self, failure: FailureRecord) {
        todo!("{failure:?}")
    }

    pub fn database_exists(&self, database: &str) -> bool {
        todo!("{database}")
    }

    pub fn row_count(&self, database: &str, table: &str) -> Option<u64> {
        todo!("{database} {table}")
    }
}
