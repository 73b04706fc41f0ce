//! Streaming ingestion on the engine endpoint: `POST /v1/rest/ingest/{db}/{table}?streamFormat=F
//! [&mappingName=M][&sourceKind=uri]` (DOCS `kusto/api/rest/streaming-ingest.md`). The rows land
//! in the same tables the DM worker fills, through the same decompression and parsing, and are
//! visible at once.
//!
//! What the service does where the docs say nothing is taken from the SDKs (research notes §1):
//! - the body is sniffed (gzip magic, zip magic, else plain) because clients label raw parquet
//!   and zip bodies `Content-Encoding: gzip` (PY `base_ingest_client.py` `_should_compress`,
//!   JAVA v1 `ClientImpl.executeStreamingIngest`);
//! - `streamFormat` and the query keys are read case-insensitively (GO sends `Csv`, the others
//!   `csv`), as is the `sourceUri` key of a `sourceKind=uri` body (JAVA v2 sends `SourceUri`);
//! - success is 200 with one v1 table `ConsumedRecordsCount, UpdatePolicyStatus,
//!   UpdatePolicyFailureCode, UpdatePolicyFailureReason` (PY test fixtures modelled on the
//!   service; PY indexes `Tables[0]`, so an empty answer would crash it);
//! - the cluster feature being off is a 404 (PY `client_base.py` `_handle_http_error`; maintainer
//!   in github.com/Azure/azure-kusto-python/issues/187), the table/database policy being off a
//!   400 `BadRequest_StreamingIngestionPolicyNotEnabled`, too much data a 413.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::mgmt::{OneApiError, authorized, tables_response, unauthorized};
use crate::client::mgmt::V1Table;
use crate::emulator::Shared;
use crate::emulator::dm;
use crate::emulator::engine::{IngestFailure, IngestRequest};

/// The documented limit: "The data size limit for a streaming ingestion request is 4 MB"
/// (DOCS `ingest-data-streaming.md`, "Limitations").
pub const DEFAULT_LIMIT: u64 = 4 * 1024 * 1024;

/// Which size the limit applies to. The docs do not say; the Java SDK's policy constant is
/// named "max streaming uncompressed raw size" (`ManagedStreamingQueuingPolicy.java`), so the
/// emulator measures the data after decompression unless told to measure the request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LimitOn {
    #[default]
    Data,
    Body,
}

/// The cluster's streaming settings (`kingest emulator --no-streaming`, `--streaming-limit`,
/// `--streaming-limit-on`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamingConfig {
    /// The cluster feature ("Streaming ingestion: On" in the portal). Off: the endpoint is 404.
    pub enabled: bool,
    pub limit: u64,
    pub limit_on: LimitOn,
}

impl Default for StreamingConfig {
    fn default() -> Self {
        StreamingConfig {
            enabled: true,
            limit: DEFAULT_LIMIT,
            limit_on: LimitOn::Data,
        }
    }
}

/// A refusal, rendered as a OneApi error.
struct Refusal {
    status: StatusCode,
    code: String,
    message: String,
    /// `@message`, when it says more than `message`.
    detail: Option<String>,
    at_type: &'static str,
    permanent: bool,
}

impl Refusal {
    fn new(status: StatusCode, code: &str, message: String, at_type: &'static str) -> Self {
        Refusal {
            status,
            code: code.to_string(),
            message,
            detail: None,
            at_type,
            permanent: true,
        }
    }

    /// Data the engine could not ingest: 400, the shape a live cluster answers (an Azure
    /// WebJobs Kusto extension end-to-end test records `Request is invalid and cannot be
    /// executed.` with `@type` StreamingIngestionRequestException); `code` carries the
    /// ingestion error code so a client can tell why.
    fn bad_data(db: &str, table: &str, f: &IngestFailure) -> Self {
        Refusal {
            status: StatusCode::BAD_REQUEST,
            code: f.error_code.clone(),
            message: "Request is invalid and cannot be executed.".into(),
            detail: Some(format!(
                "Bad streaming ingestion request to {db}.{table} : {}",
                f.details
            )),
            at_type: "Kusto.DataNode.Exceptions.StreamingIngestionRequestException",
            permanent: f.status != crate::client::wire::FailureStatus::Transient,
        }
    }

    /// `size` `None`: only known to be over (decoding stopped at the limit).
    fn too_large(what: &str, size: Option<u64>, limit: u64) -> Self {
        let is = size.map_or_else(|| "more than that".to_string(), |n| format!("{n} bytes"));
        Refusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PayloadTooLarge",
            format!(
                "The streaming ingestion request's {what} is {is}, over the limit of {limit} \
                 bytes; use queued ingestion for larger data."
            ),
            "Kusto.Data.Exceptions.KustoRequestPayloadTooLargeException",
        )
    }

    fn response(&self) -> Response {
        OneApiError {
            status: self.status,
            code: &self.code,
            message: &self.message,
            at_type: self.at_type,
            at_message: self.detail.as_deref().unwrap_or(&self.message),
            permanent: self.permanent,
        }
        .response()
    }
}

/// The query parameters that matter, keys matched case-insensitively.
#[derive(Debug, Default, PartialEq)]
struct Params {
    format: Option<String>,
    mapping: Option<String>,
    from_uri: bool,
}

fn params(query: Option<&str>) -> Params {
    let mut p = Params::default();
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        let v = v.trim().to_string();
        match k.to_ascii_lowercase().as_str() {
            "streamformat" => p.format = Some(v.to_ascii_lowercase()).filter(|s| !s.is_empty()),
            "mappingname" => p.mapping = Some(v).filter(|s| !s.is_empty()),
            "sourcekind" => p.from_uri = v.eq_ignore_ascii_case("uri"),
            _ => {}
        }
    }
    p
}

/// The blob a `sourceKind=uri` body names (`sourceUri`, any casing).
fn source_uri(body: &[u8]) -> Result<String, Refusal> {
    let bad = |m: &str| {
        Refusal::new(
            StatusCode::BAD_REQUEST,
            "BadRequest_InvalidBlobUri",
            m.to_string(),
            "Kusto.DataNode.Exceptions.StreamingIngestionRequestException",
        )
    };
    let v: Value = serde_json::from_slice(body)
        .map_err(|_| bad("sourceKind=uri needs a JSON body {\"sourceUri\": \"<blob URL>\"}"))?;
    v.as_object()
        .and_then(|o| {
            o.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("sourceUri"))
                .and_then(|(_, v)| v.as_str())
        })
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .ok_or_else(|| bad("the sourceKind=uri body has no sourceUri"))
}

/// A name for the body that makes [`dm::unpack`] unpack what its first bytes say it is.
fn sniffed_name(body: &[u8]) -> &'static str {
    if body.starts_with(&[0x1f, 0x8b]) {
        "stream.gz"
    } else if body.starts_with(b"PK\x03\x04") {
        "stream.zip"
    } else {
        "stream"
    }
}

/// The data of a body or blob named `name`. Gzip is decoded here only so far as the limit
/// allows (a small body must not expand without bound in memory); zip and plain data go
/// through the DM's [`dm::unpack`] (every entry of a zip: a stream carries no zipPattern).
fn unpack(name: &str, raw: &[u8], cfg: StreamingConfig) -> Result<Vec<Vec<u8>>, IngestFailure> {
    if !name.to_ascii_lowercase().ends_with(".gz") || cfg.limit_on != LimitOn::Data {
        return dm::unpack(name, raw, None);
    }
    use std::io::Read as _;
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(raw)
        .take(cfg.limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| IngestFailure {
            error_code: "BadRequest_InvalidBlob".into(),
            details: format!("the gzip data cannot be decoded: {e}"),
            status: crate::client::wire::FailureStatus::Permanent,
        })?;
    Ok(vec![out])
}

/// `POST /v1/rest/ingest/{db}/{table}`.
pub async fn ingest(
    State(shared): State<Shared>,
    Path((db, table)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    if !authorized(&shared, &headers) {
        return unauthorized();
    }
    let request_id = headers
        .get("x-ms-client-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut response = match run(&shared, &db, &table, query.as_deref(), &headers, body).await {
        Ok(t) => tables_response(vec![t]),
        Err(r) => r.response(),
    };
    if let Some(id) = request_id
        .as_deref()
        .and_then(|v| axum::http::HeaderValue::from_str(v).ok())
    {
        response.headers_mut().insert("x-ms-client-request-id", id);
    }
    response.into_response()
}

async fn run(
    shared: &Shared,
    db: &str,
    table: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: axum::body::Body,
) -> Result<V1Table, Refusal> {
    let cfg = shared.streaming;
    if !cfg.enabled {
        return Err(Refusal::new(
            StatusCode::NOT_FOUND,
            "StreamingIngestionFunctionalityDisabled",
            "Streaming ingestion is not enabled on this cluster (the emulator runs with \
             --no-streaming): enable the cluster's streaming ingestion feature, or use queued \
             ingestion."
                .into(),
            "Kusto.Data.Exceptions.EntityNotFoundException",
        ));
    }
    let p = params(query);
    let format = p.format.clone().ok_or_else(|| {
        Refusal::new(
            StatusCode::BAD_REQUEST,
            "General_BadRequest",
            "The streaming ingestion request has no streamFormat parameter.".into(),
            "Kusto.Data.Exceptions.KustoBadRequestException",
        )
    })?;
    // A body beyond twice the limit is refused before it is read whatever is measured: data
    // that large cannot decompress to less than the limit in practice, and this bounds memory.
    let wire_cap = match cfg.limit_on {
        LimitOn::Body => cfg.limit,
        LimitOn::Data => cfg.limit.saturating_mul(2),
    };
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(n) = declared.filter(|&n| n > wire_cap) {
        return Err(Refusal::too_large("body", Some(n), wire_cap));
    }
    let cap = usize::try_from(wire_cap).unwrap_or(usize::MAX);
    let Ok(bytes) = axum::body::to_bytes(body, cap).await else {
        return Err(Refusal::too_large("body", None, wire_cap));
    };
    check_target(shared, db, table)?;
    let (name, raw) = if p.from_uri {
        let uri = source_uri(&bytes)?;
        let blob = dm::blob_url(&uri).map_err(|f| Refusal::bad_data(db, table, &f))?;
        let data = shared
            .control
            .storage
            .get_blob(&blob)
            .await
            .map_err(|e| Refusal::bad_data(db, table, &dm::download_failure(&blob, &e)))?;
        if cfg.limit_on == LimitOn::Body && data.len() as u64 > cfg.limit {
            return Err(Refusal::too_large(
                "blob",
                Some(data.len() as u64),
                cfg.limit,
            ));
        }
        // A blob is named by its extension, as the DM reads it.
        (blob.sub_path(), data)
    } else {
        if cfg.limit_on == LimitOn::Body && bytes.len() as u64 > cfg.limit {
            return Err(Refusal::too_large(
                "body",
                Some(bytes.len() as u64),
                cfg.limit,
            ));
        }
        (sniffed_name(&bytes).to_string(), bytes)
    };
    let entries = unpack(&name, &raw, cfg).map_err(|f| match f.error_code.as_str() {
        "Stream_InputStreamTooLarge" => Refusal::too_large("data", None, cfg.limit),
        _ => Refusal::bad_data(db, table, &f),
    })?;
    let data_len: u64 = entries.iter().map(|e| e.len() as u64).sum();
    if cfg.limit_on == LimitOn::Data && data_len > cfg.limit {
        return Err(Refusal::too_large(
            "data (decompressed)",
            // Gzip is decoded only up to the limit: its true size is not known.
            (!name.to_ascii_lowercase().ends_with(".gz")).then_some(data_len),
            cfg.limit,
        ));
    }
    let req = IngestRequest {
        database: db.to_string(),
        table: table.to_string(),
        format,
        mapping_reference: p.mapping,
        source_id: uuid::Uuid::new_v4().to_string(),
        ..IngestRequest::default()
    };
    let outcome = {
        let mut engine = shared.engine.lock().unwrap_or_else(|e| e.into_inner());
        let refs: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
        engine.ingest_entries(&req, &refs, chrono::Utc::now())
    }
    .map_err(|f| {
        // The DM's name for an empty blob; a stream says it its own way (PY's live message:
        // "The input stream is empty after processing").
        if f.error_code == "BadRequest_EmptyBlob" {
            Refusal::bad_data(
                db,
                table,
                &IngestFailure {
                    error_code: "Stream_NoDataToIngest".into(),
                    details: "The input stream is empty after processing, tip:check stream \
                              validity"
                        .into(),
                    status: f.status,
                },
            )
        } else {
            Refusal::bad_data(db, table, &f)
        }
    })?;
    Ok(consumed_table(outcome.rows))
}

/// Unknown database or table (400, permanent: the same codes as a queued source), then the
/// policy (400 `BadRequest_StreamingIngestionPolicyNotEnabled`).
fn check_target(shared: &Shared, db: &str, table: &str) -> Result<(), Refusal> {
    let engine = shared.engine.lock().unwrap_or_else(|e| e.into_inner());
    let refuse = |code: &str, message: String, at_type| {
        Refusal::new(StatusCode::BAD_REQUEST, code, message, at_type)
    };
    if !engine.database_exists(db) {
        return Err(refuse(
            "BadRequest_DatabaseNotExist",
            format!("Database '{db}' does not exist."),
            "Kusto.Data.Exceptions.KustoBadRequestException",
        ));
    }
    if engine.row_count(db, table).is_none() {
        return Err(refuse(
            "BadRequest_TableNotExist",
            format!("Table '{table}' does not exist in database '{db}'."),
            "Kusto.Data.Exceptions.KustoBadRequestException",
        ));
    }
    if !engine.streaming_enabled(db, table) {
        // The code third-party tools match on; the type name is inferred (research §1.4).
        return Err(refuse(
            "BadRequest_StreamingIngestionPolicyNotEnabled",
            format!(
                "Streaming ingestion policy is not enabled for table '{db}.{table}': run \
                 `.alter table {table} policy streamingingestion enable` (or on the database)."
            ),
            "Kusto.DataNode.Exceptions.StreamingIngestionPolicyNotEnabledException",
        ));
    }
    Ok(())
}

/// The success answer: one row, the records consumed and no update policy.
fn consumed_table(rows: u64) -> V1Table {
    let mut t = V1Table::new(
        "Table_0",
        &[
            ("ConsumedRecordsCount", "long"),
            ("UpdatePolicyStatus", "string"),
            ("UpdatePolicyFailureCode", "string"),
            ("UpdatePolicyFailureReason", "string"),
        ],
    );
    t.rows.push(vec![
        rows.into(),
        "Inactive".into(),
        "Unknown".into(),
        Value::Null,
    ]);
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_keys_and_format_are_read_whatever_their_case() {
        let p = params(Some("StreamFormat=Csv&MAPPINGNAME=m1&sourcekind=URI&x=1"));
        assert_eq!(
            p,
            Params {
                format: Some("csv".into()),
                mapping: Some("m1".into()),
                from_uri: true,
            }
        );
        assert_eq!(params(None), Params::default());
        assert_eq!(
            params(Some("streamFormat=&mappingName=")),
            Params::default()
        );
    }

    #[test]
    fn the_body_is_sniffed_not_trusted() {
        assert_eq!(sniffed_name(&[0x1f, 0x8b, 8, 0]), "stream.gz");
        assert_eq!(sniffed_name(b"PK\x03\x04rest"), "stream.zip");
        assert_eq!(sniffed_name(b"PAR1...."), "stream");
        assert_eq!(sniffed_name(b""), "stream");
    }

    #[test]
    fn source_uri_key_in_any_casing() {
        assert_eq!(
            source_uri(br#"{"SourceUri": "https://a/b.csv"}"#).ok(),
            Some("https://a/b.csv".to_string())
        );
        assert_eq!(
            source_uri(b"{\"sourceUri\":\"https://a/b\"}\n").ok(),
            Some("https://a/b".to_string())
        );
        assert!(source_uri(b"{}").is_err());
        assert!(source_uri(b"not json").is_err());
    }

    #[test]
    fn the_success_table_is_the_one_the_sdks_parse() {
        let t = consumed_table(7);
        let v = serde_json::to_value(&t).unwrap();
        assert_eq!(v["Columns"][0]["ColumnName"], "ConsumedRecordsCount");
        assert_eq!(v["Columns"][0]["DataType"], "Int64");
        assert_eq!(v["Columns"][0]["ColumnType"], "long");
        assert_eq!(v["Rows"][0][0], 7);
        assert_eq!(v["Rows"][0][1], "Inactive");
    }
}
