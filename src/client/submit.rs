//! Submit: read → gzip (streamed, while uploading) → upload to a temp container → status entity
//! → post the ingestion message; progress reported as bytes read/sent.

use std::path::PathBuf;

use serde_json::{Map, Value};

use crate::client::storage::SasUrl;
use crate::client::wire::{DataFormat, ReportLevel, ReportMethod};

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
    pub creation_time: Option<String>,
    pub retain_blob_on_success: bool,
    pub extra_properties: Map<String, Value>,
    /// Use this source id instead of a fresh one.
    pub source_id: Option<uuid::Uuid>,
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
            retain_blob_on_success: false,
            extra_properties: Map::new(),
            source_id: None,
        }
    }
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

/// What a finished submit returns.
#[derive(Debug, Clone)]
pub struct Submitted {
    pub source_id: uuid::Uuid,
    pub blob: SasUrl,
    pub queue: SasUrl,
    pub message_id: String,
    pub format: DataFormat,
    /// Uncompressed size as sent in `RawDataSize`.
    pub raw_data_size: u64,
    /// Bytes uploaded.
    pub uploaded_bytes: u64,
    /// Where the status entity lives, when reporting to a table.
    pub status_entity: Option<(SasUrl, String, String)>,
}
