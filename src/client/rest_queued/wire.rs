//! Wire types of the DM's REST queued-ingestion API (Preview): the configuration, the POST
//! request and answer, and the operation status with per-blob details. The client, the
//! emulator and the gateway all read and write these; nothing else spells the JSON.
//!
//! Sources: DOCS `kusto/management/data-ingestion/queued-ingest-configuration-http.md`,
//! `queued-ingest-use-http.md`, `queued-ingest-status-http.md`, and the Java ingest-v2 client's
//! `ingest-v2/src/main/resources/openapi.yaml`. The two disagree on the spelling of the status
//! fields (docs: `Succeeded`, `startTime`, `lastUpdated`; openapi: `succeeded`, `startedAt`,
//! `lastUpdateTime`), so readers match names case-insensitively and accept both, and writers
//! emit both (the Java client ignores unknown keys: `KustoBaseApiClient.kt`).

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::client::storage::SasUrl;
use crate::client::wire::{
    field, format_rfc3339, parse_timestamp, value_to_bool, value_to_string, value_to_u64,
};

/// The documented cap on blobs per POST ("more than 20 … is not supported",
/// `queued-ingest-use-http.md`); the configuration's `maxBlobsPerBatch` is the real one.
pub const DEFAULT_MAX_BLOBS_PER_BATCH: usize = 20;
/// The configuration docs' example `maxDataSize`: 6 GiB, the service's per-blob limit.
pub const DEFAULT_MAX_DATA_SIZE: u64 = 6 * 1024 * 1024 * 1024;

/// `GET /v1/rest/ingestion/configuration`.
#[derive(Debug, Clone, PartialEq)]
pub struct Configuration {
    /// Upload containers, each a container URL with its SAS.
    pub containers: Vec<SasUrl>,
    /// OneLake folders (Fabric); none for a classic cluster.
    pub lake_folders: Vec<SasUrl>,
    /// How long the client may cache this answer.
    pub refresh_interval: Option<Duration>,
    pub preferred_upload_method: Option<String>,
    pub max_blobs_per_batch: usize,
    pub max_data_size: Option<u64>,
    pub preferred_ingestion_method: Option<String>,
}

/// `d` as the .NET TimeSpan text the Java client parses (`ConfigurationCache.kt` splits on `.`
/// for days, then `:`): `hh:mm:ss` or `d.hh:mm:ss`, never with fractional seconds.
pub fn format_refresh_interval(d: Duration) -> String {
    let secs = d.as_secs();
    let (days, h, m, s) = (
        secs / 86_400,
        (secs / 3600) % 24,
        (secs / 60) % 60,
        secs % 60,
    );
    if days > 0 {
        format!("{days}.{h:02}:{m:02}:{s:02}")
    } else {
        format!("{h:02}:{m:02}:{s:02}")
    }
}

fn object<'a>(v: &'a Value, what: &str) -> Result<&'a Map<String, Value>, String> {
    v.as_object()
        .ok_or_else(|| format!("{what} is not a JSON object"))
}

fn paths(obj: &Map<String, Value>, name: &str) -> Result<Vec<SasUrl>, String> {
    let Some(list) = field(obj, name).filter(|v| !v.is_null()) else {
        return Ok(vec![]);
    };
    let list = list
        .as_array()
        .ok_or_else(|| format!("{name} is not an array"))?;
    list.iter()
        .map(|c| {
            let path = c
                .as_object()
                .and_then(|o| field(o, "path"))
                .and_then(value_to_string)
                .ok_or_else(|| format!("an entry of {name} has no path"))?;
            SasUrl::parse(&path).map_err(|e| format!("{name}: {e}"))
        })
        .collect()
}

fn opt_string(obj: &Map<String, Value>, name: &str) -> Option<String> {
    field(obj, name)
        .and_then(value_to_string)
        .filter(|s| !s.is_empty())
}

impl Configuration {
    pub fn to_json(&self) -> Value {
        let list = |l: &[SasUrl]| -> Vec<Value> {
            l.iter().map(|u| json!({"path": u.expose()})).collect()
        };
        json!({
            "containerSettings": {
                "containers": list(&self.containers),
                "lakeFolders": list(&self.lake_folders),
                "refreshInterval": self.refresh_interval.map(format_refresh_interval),
                "preferredUploadMethod": self.preferred_upload_method,
            },
            "ingestionSettings": {
                "maxBlobsPerBatch": self.max_blobs_per_batch,
                "maxDataSize": self.max_data_size,
                "preferredIngestionMethod": self.preferred_ingestion_method,
            },
        })
    }

    pub fn from_json(v: &Value) -> Result<Self, String> {
        let top = object(v, "the configuration")?;
        let empty = Map::new();
        let containers = match field(top, "containerSettings") {
            Some(c) => object(c, "containerSettings")?,
            None => &empty,
        };
        let ingestion = match field(top, "ingestionSettings") {
            Some(i) => object(i, "ingestionSettings")?,
            None => &empty,
        };
        Ok(Configuration {
            containers: paths(containers, "containers")?,
            lake_folders: paths(containers, "lakeFolders")?,
            refresh_interval: opt_string(containers, "refreshInterval")
                .and_then(|t| crate::client::wire::parse_timespan(&t)),
            preferred_upload_method: opt_string(containers, "preferredUploadMethod"),
            max_blobs_per_batch: field(ingestion, "maxBlobsPerBatch")
                .and_then(value_to_u64)
                .and_then(|n| usize::try_from(n).ok())
                .filter(|n| *n > 0)
                .unwrap_or(DEFAULT_MAX_BLOBS_PER_BATCH),
            max_data_size: field(ingestion, "maxDataSize").and_then(value_to_u64),
            preferred_ingestion_method: opt_string(ingestion, "preferredIngestionMethod"),
        })
    }
}

/// One blob of a POST.
#[derive(Debug, Clone, PartialEq)]
pub struct BlobEntry {
    /// SAS or `;managed_identity=…` suffix allowed; kept secret.
    pub url: SasUrl,
    pub source_id: Option<uuid::Uuid>,
    /// Size before compression, when the caller knows it.
    pub raw_size: Option<u64>,
}

/// The properties of a POST, applying to every blob of it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Properties {
    /// Lower-case Kusto format name (`csv`, `multijson`, …).
    pub format: String,
    pub enable_tracking: bool,
    pub tags: Vec<String>,
    pub ingest_if_not_exists: Vec<String>,
    /// = the message's FlushImmediately.
    pub skip_batching: bool,
    pub delete_after_download: bool,
    pub mapping_reference: Option<String>,
    /// Inline mapping, JSON text.
    pub mapping: Option<String>,
    pub ignore_size_limit: bool,
    pub ignore_first_record: bool,
    pub creation_time: Option<String>,
    /// Everything else (`zipPattern`, `validationPolicy`, …), passed on as given
    /// (openapi: `additionalProperties: true`).
    pub other: Map<String, Value>,
}

/// The properties this module reads itself; the rest go to [`Properties::other`].
const KNOWN_PROPERTIES: [&str; 11] = [
    "format",
    "enableTracking",
    "tags",
    "ingestIfNotExists",
    "skipBatching",
    "deleteAfterDownload",
    "ingestionMappingReference",
    "ingestionMapping",
    "ignoreSizeLimit",
    "ignoreFirstRecord",
    "creationTime",
];

/// Formats the openapi's `format` enum lists.
pub const FORMATS: [&str; 18] = [
    "csv",
    "tsv",
    "scsv",
    "sohsv",
    "psv",
    "txt",
    "raw",
    "tsve",
    "json",
    "singlejson",
    "multijson",
    "avro",
    "parquet",
    "sstream",
    "orc",
    "apacheavro",
    "w3clogfile",
    "azmonstream",
];

fn string_list(v: Option<&Value>) -> Result<Vec<String>, String> {
    match v {
        None | Some(Value::Null) => Ok(vec![]),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| value_to_string(x).ok_or_else(|| "a list holds a null".to_string()))
            .collect(),
        Some(other) => Err(format!("expected a list of strings, got {other}")),
    }
}

impl Properties {
    fn from_json(obj: &Map<String, Value>) -> Result<Self, String> {
        let b = |n: &str| field(obj, n).and_then(value_to_bool).unwrap_or(false);
        let s = |n: &str| opt_string(obj, n);
        let format = s("format")
            .ok_or("properties.format is required")?
            .to_ascii_lowercase();
        let mut other = obj.clone();
        other.retain(|k, _| !KNOWN_PROPERTIES.iter().any(|n| n.eq_ignore_ascii_case(k)));
        Ok(Properties {
            format,
            enable_tracking: b("enableTracking"),
            tags: string_list(field(obj, "tags")).map_err(|e| format!("tags: {e}"))?,
            ingest_if_not_exists: string_list(field(obj, "ingestIfNotExists"))
                .map_err(|e| format!("ingestIfNotExists: {e}"))?,
            skip_batching: b("skipBatching"),
            delete_after_download: b("deleteAfterDownload"),
            mapping_reference: s("ingestionMappingReference"),
            mapping: s("ingestionMapping"),
            ignore_size_limit: b("ignoreSizeLimit"),
            ignore_first_record: b("ignoreFirstRecord"),
            creation_time: s("creationTime"),
            other,
        })
    }

    fn to_json(&self) -> Value {
        let mut m = self.other.clone();
        m.insert("format".into(), self.format.clone().into());
        m.insert("enableTracking".into(), self.enable_tracking.into());
        let mut put_bool = |k: &str, v: bool| {
            if v {
                m.insert(k.into(), true.into());
            }
        };
        put_bool("skipBatching", self.skip_batching);
        put_bool("deleteAfterDownload", self.delete_after_download);
        put_bool("ignoreSizeLimit", self.ignore_size_limit);
        put_bool("ignoreFirstRecord", self.ignore_first_record);
        if !self.tags.is_empty() {
            m.insert("tags".into(), self.tags.clone().into());
        }
        if !self.ingest_if_not_exists.is_empty() {
            m.insert(
                "ingestIfNotExists".into(),
                self.ingest_if_not_exists.clone().into(),
            );
        }
        for (k, v) in [
            ("ingestionMappingReference", &self.mapping_reference),
            ("ingestionMapping", &self.mapping),
            ("creationTime", &self.creation_time),
        ] {
            if let Some(v) = v {
                m.insert(k.into(), v.clone().into());
            }
        }
        Value::Object(m)
    }
}

/// `POST /v1/rest/ingestion/queued/{database}/{table}`.
#[derive(Debug, Clone, PartialEq)]
pub struct PostRequest {
    pub timestamp: Option<DateTime<Utc>>,
    pub blobs: Vec<BlobEntry>,
    pub properties: Properties,
}

/// A refusal of a request, as the service answers it (a OneApi error body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl ApiError {
    /// 400 `General_BadRequest`: what the service answers for a request it cannot take
    /// (`kusto/api/rest/response.md` lists BadRequest; the code is the emulator's decision,
    /// issue9-research §4.2).
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError {
            status: 400,
            code: "General_BadRequest".into(),
            message: message.into(),
        }
    }

    pub fn not_found(code: &str, message: impl Into<String>) -> Self {
        ApiError {
            status: 404,
            code: code.into(),
            message: message.into(),
        }
    }
}

impl PostRequest {
    /// Reads a body and checks it against `max_blobs`: one or more blobs (at most `max_blobs`),
    /// each an http(s) URL, no URL twice (the Java client refuses duplicates ignoring the query:
    /// `QueuedIngestClient.kt`), a known format.
    pub fn parse(body: &[u8], max_blobs: usize) -> Result<Self, ApiError> {
        let v: Value = serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("the body is not JSON: {e}")))?;
        let top = object(&v, "the body").map_err(ApiError::bad_request)?;
        let blobs = field(top, "blobs")
            .and_then(Value::as_array)
            .ok_or_else(|| ApiError::bad_request("'blobs' (an array) is required"))?;
        if blobs.is_empty() {
            return Err(ApiError::bad_request(
                "'blobs' is empty: give one blob or more",
            ));
        }
        if blobs.len() > max_blobs {
            return Err(ApiError::bad_request(format!(
                "{} blobs in one request: at most {max_blobs} are supported (maxBlobsPerBatch \
                 of /v1/rest/ingestion/configuration); split them over several requests",
                blobs.len()
            )));
        }
        let mut entries: Vec<BlobEntry> = Vec::with_capacity(blobs.len());
        for (i, b) in blobs.iter().enumerate() {
            let o = object(b, "a blob")
                .map_err(|e| ApiError::bad_request(format!("blobs[{i}]: {e}")))?;
            let url = field(o, "url")
                .and_then(value_to_string)
                .filter(|u| !u.trim().is_empty())
                .ok_or_else(|| ApiError::bad_request(format!("blobs[{i}] has no url")))?;
            let url = SasUrl::parse(&url)
                .map_err(|e| ApiError::bad_request(format!("blobs[{i}].url: {e}")))?;
            if entries
                .iter()
                .any(|e| e.url.without_query() == url.without_query())
            {
                return Err(ApiError::bad_request(format!(
                    "blobs[{i}] repeats {}: each blob may appear once",
                    url.without_query()
                )));
            }
            let source_id = match field(o, "sourceId").and_then(value_to_string) {
                None => None,
                Some(s) if s.is_empty() => None,
                Some(s) => Some(s.parse::<uuid::Uuid>().map_err(|_| {
                    ApiError::bad_request(format!("blobs[{i}].sourceId '{s}' is not a GUID"))
                })?),
            };
            let raw_size = match field(o, "rawSize") {
                None | Some(Value::Null) => None,
                Some(n) => Some(value_to_u64(n).ok_or_else(|| {
                    ApiError::bad_request(format!("blobs[{i}].rawSize is not a whole number"))
                })?),
            };
            entries.push(BlobEntry {
                url,
                source_id,
                raw_size,
            });
        }
        let props = field(top, "properties")
            .ok_or_else(|| ApiError::bad_request("'properties' is required"))?;
        let props = object(props, "properties").map_err(ApiError::bad_request)?;
        let properties = Properties::from_json(props).map_err(ApiError::bad_request)?;
        if !FORMATS.contains(&properties.format.as_str()) {
            return Err(ApiError::bad_request(format!(
                "unknown format '{}' (one of {})",
                properties.format,
                FORMATS.join(", ")
            )));
        }
        Ok(PostRequest {
            timestamp: field(top, "timestamp").and_then(parse_timestamp),
            blobs: entries,
            properties,
        })
    }

    /// The body, SAS included: only for the request itself.
    pub fn to_json(&self) -> Value {
        let blobs: Vec<Value> = self
            .blobs
            .iter()
            .map(|b| {
                let mut o = Map::new();
                o.insert("url".into(), b.url.expose().into());
                if let Some(id) = b.source_id {
                    o.insert("sourceId".into(), id.to_string().into());
                }
                o.insert("rawSize".into(), b.raw_size.into());
                Value::Object(o)
            })
            .collect();
        json!({
            "timestamp": self.timestamp.map(format_rfc3339),
            "blobs": blobs,
            "properties": self.properties.to_json(),
        })
    }
}

/// The POST's answer: the operation id, empty when tracking was not asked for.
pub fn post_response(operation_id: &str) -> Value {
    json!({"ingestionOperationId": operation_id})
}

pub fn parse_post_response(v: &Value) -> Result<String, String> {
    let o = object(v, "the answer")?;
    Ok(field(o, "ingestionOperationId")
        .and_then(value_to_string)
        .unwrap_or_default())
}

/// A blob's state in the status answer (docs: InProgress, Succeeded, Failed, Canceled; the
/// openapi adds Queued).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobState {
    Queued,
    InProgress,
    Succeeded,
    Failed,
    Canceled,
}

impl BlobState {
    pub fn as_str(self) -> &'static str {
        match self {
            BlobState::Queued => "Queued",
            BlobState::InProgress => "InProgress",
            BlobState::Succeeded => "Succeeded",
            BlobState::Failed => "Failed",
            BlobState::Canceled => "Canceled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            BlobState::Queued,
            BlobState::InProgress,
            BlobState::Succeeded,
            BlobState::Failed,
            BlobState::Canceled,
        ]
        .into_iter()
        .find(|b| b.as_str().eq_ignore_ascii_case(s.trim()))
        .or_else(|| {
            s.trim()
                .eq_ignore_ascii_case("cancelled")
                .then_some(BlobState::Canceled)
        })
    }

    /// Still running: the Java client's completion rule (`IngestionResultUtils.kt`).
    pub fn is_final(self) -> bool {
        !matches!(self, BlobState::Queued | BlobState::InProgress)
    }
}

/// One blob of an operation.
#[derive(Debug, Clone, PartialEq)]
pub struct BlobStatus {
    pub source_id: String,
    /// Without its query: the answer never carries a SAS.
    pub url: Option<String>,
    pub status: BlobState,
    pub started_at: Option<DateTime<Utc>>,
    pub last_update: Option<DateTime<Utc>>,
    /// Only for Failed (docs).
    pub error_code: Option<String>,
    pub failure_status: Option<String>,
    pub details: Option<String>,
}

/// Blob counts by state (docs spell them PascalCase, the openapi camelCase).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub succeeded: u64,
    pub failed: u64,
    pub in_progress: u64,
    pub canceled: u64,
}

/// `GET /v1/rest/ingestion/queued/{database}/{table}/{operationId}[?details=true]`.
#[derive(Debug, Clone, PartialEq)]
pub struct OperationStatus {
    pub start_time: Option<DateTime<Utc>>,
    pub last_updated: Option<DateTime<Utc>>,
    pub counts: Counts,
    /// Present only when `details=true` was asked.
    pub details: Option<Vec<BlobStatus>>,
}

impl Counts {
    pub fn of(blobs: &[BlobStatus]) -> Self {
        let mut c = Counts::default();
        for b in blobs {
            match b.status {
                BlobState::Succeeded => c.succeeded += 1,
                BlobState::Failed => c.failed += 1,
                BlobState::Canceled => c.canceled += 1,
                BlobState::Queued | BlobState::InProgress => c.in_progress += 1,
            }
        }
        c
    }

    pub fn is_done(&self) -> bool {
        self.in_progress == 0
    }
}

fn stamp(t: Option<DateTime<Utc>>) -> Value {
    t.map(format_rfc3339).into()
}

impl BlobStatus {
    fn to_json(&self) -> Value {
        let mut o = Map::new();
        o.insert("sourceId".into(), self.source_id.clone().into());
        if let Some(u) = &self.url {
            o.insert("url".into(), u.clone().into());
        }
        o.insert("status".into(), self.status.as_str().into());
        // Docs' names, then the openapi's.
        o.insert("startTime".into(), stamp(self.started_at));
        o.insert("lastUpdated".into(), stamp(self.last_update));
        o.insert("startedAt".into(), stamp(self.started_at));
        o.insert("lastUpdateTime".into(), stamp(self.last_update));
        if self.status == BlobState::Failed {
            for (k, v) in [
                ("errorCode", &self.error_code),
                ("failureStatus", &self.failure_status),
                ("details", &self.details),
            ] {
                o.insert(k.into(), v.clone().into());
            }
        } else if let Some(d) = &self.details {
            o.insert("details".into(), d.clone().into());
        }
        Value::Object(o)
    }

    fn from_json(v: &Value) -> Result<Self, String> {
        let o = object(v, "a blob status")?;
        let s = |n: &str| opt_string(o, n);
        let t = |a: &str, b: &str| {
            field(o, a)
                .or_else(|| field(o, b))
                .and_then(parse_timestamp)
        };
        let status = s("status").ok_or("a blob status has no status")?;
        Ok(BlobStatus {
            source_id: s("sourceId").unwrap_or_default(),
            url: s("url"),
            status: BlobState::parse(&status)
                .ok_or_else(|| format!("unknown blob status '{status}'"))?,
            started_at: t("startedAt", "startTime"),
            last_update: t("lastUpdateTime", "lastUpdated"),
            error_code: s("errorCode"),
            failure_status: s("failureStatus"),
            details: s("details"),
        })
    }
}

impl OperationStatus {
    pub fn to_json(&self) -> Value {
        let c = &self.counts;
        let mut o = Map::new();
        o.insert("startTime".into(), stamp(self.start_time));
        o.insert("lastUpdated".into(), stamp(self.last_updated));
        o.insert(
            "status".into(),
            json!({
                "Succeeded": c.succeeded, "Failed": c.failed,
                "InProgress": c.in_progress, "Canceled": c.canceled,
                "succeeded": c.succeeded, "failed": c.failed,
                "inProgress": c.in_progress, "canceled": c.canceled,
            }),
        );
        if let Some(d) = &self.details {
            o.insert(
                "details".into(),
                d.iter().map(BlobStatus::to_json).collect::<Vec<_>>().into(),
            );
        }
        Value::Object(o)
    }

    pub fn from_json(v: &Value) -> Result<Self, String> {
        let o = object(v, "the status")?;
        let empty = Map::new();
        let st = match field(o, "status") {
            Some(s) => object(s, "status")?,
            None => &empty,
        };
        // Case-insensitive lookup finds `Succeeded` and `succeeded` alike.
        let n = |k: &str| field(st, k).and_then(value_to_u64).unwrap_or(0);
        let details = match field(o, "details") {
            None | Some(Value::Null) => None,
            Some(Value::Array(a)) => Some(
                a.iter()
                    .map(BlobStatus::from_json)
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            Some(_) => return Err("details is not an array".into()),
        };
        Ok(OperationStatus {
            start_time: field(o, "startTime")
                .or_else(|| field(o, "startedAt"))
                .and_then(parse_timestamp),
            last_updated: field(o, "lastUpdated")
                .or_else(|| field(o, "lastUpdateTime"))
                .and_then(parse_timestamp),
            counts: Counts {
                succeeded: n("succeeded"),
                failed: n("failed"),
                in_progress: n("inProgress"),
                canceled: n("canceled"),
            },
            details,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(n: usize) -> Vec<u8> {
        let blobs: Vec<Value> = (0..n)
            .map(|i| json!({"url": format!("https://a.blob.core.windows.net/c/b{i}.csv?sig=x")}))
            .collect();
        serde_json::to_vec(&json!({"blobs": blobs, "properties": {"format": "csv"}})).unwrap()
    }

    #[test]
    fn posts_over_the_blob_cap_or_without_format_are_refused() {
        assert_eq!(PostRequest::parse(&body(20), 20).unwrap().blobs.len(), 20);
        let err = PostRequest::parse(&body(21), 20).unwrap_err();
        assert_eq!((err.status, err.code.as_str()), (400, "General_BadRequest"));
        assert!(err.message.contains("at most 20"), "{}", err.message);
        let no_format = json!({"blobs": [{"url": "https://a/c/b"}], "properties": {}});
        let err = PostRequest::parse(no_format.to_string().as_bytes(), 20).unwrap_err();
        assert!(err.message.contains("format"), "{}", err.message);
        for bad in [
            json!({"blobs": [{"url": "not a url"}], "properties": {"format": "csv"}}),
            json!({"blobs": [{"url": "ftp://x/y"}], "properties": {"format": "csv"}}),
            json!({"blobs": [], "properties": {"format": "csv"}}),
            json!({"blobs": [{"url": "https://a/c/b"}], "properties": {"format": "xls"}}),
            json!({"blobs": [{"url": "https://a/c/b?sig=1"}, {"url": "https://a/c/b?sig=2"}], "properties": {"format": "csv"}}),
            json!({"blobs": [{"url": "https://a/c/b", "sourceId": "nope"}], "properties": {"format": "csv"}}),
        ] {
            let err = PostRequest::parse(bad.to_string().as_bytes(), 20).unwrap_err();
            assert_eq!(err.status, 400, "{bad}");
        }
        assert!(PostRequest::parse(b"{", 20).is_err());
    }

    #[test]
    fn a_post_reads_any_casing_and_round_trips() {
        let v = json!({
            "Timestamp": "2026-01-02T03:04:05Z",
            "Blobs": [{"URL": "https://a.blob.core.windows.net/c/b.csv.gz?sig=s", "SourceId": "0f8fad5b-d9cb-469f-a165-70867728950e", "RawSize": 42}],
            "Properties": {"Format": "CSV", "EnableTracking": true, "Tags": ["a"], "zipPattern": ".*"}
        });
        let r = PostRequest::parse(v.to_string().as_bytes(), 20).unwrap();
        assert_eq!(r.properties.format, "csv");
        assert!(r.properties.enable_tracking);
        assert_eq!(r.blobs[0].raw_size, Some(42));
        assert_eq!(r.properties.other.get("zipPattern"), Some(&json!(".*")));
        let back = PostRequest::parse(r.to_json().to_string().as_bytes(), 20).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn status_reads_both_spellings_and_writes_both() {
        let docs = json!({"startTime": "2026-01-01T00:00:00Z", "lastUpdated": "2026-01-01T00:01:00Z",
            "status": {"Succeeded": 1, "Failed": 1, "InProgress": 0, "Canceled": 0},
            "details": [{"sourceId": "s", "url": "https://a/c/b", "status": "Failed", "startTime": "2026-01-01T00:00:00Z",
                "errorCode": "BadRequest_InvalidBlob", "failureStatus": "Permanent", "details": "bad"}]});
        let openapi = json!({"startTime": "2026-01-01T00:00:00Z",
            "status": {"succeeded": 1, "failed": 1, "inProgress": 0, "canceled": 0},
            "details": [{"sourceId": "s", "status": "Failed", "startedAt": "2026-01-01T00:00:00Z",
                "lastUpdateTime": "2026-01-01T00:01:00Z", "errorCode": "BadRequest_InvalidBlob", "failureStatus": "Permanent"}]});
        for v in [docs, openapi] {
            let s = OperationStatus::from_json(&v).unwrap();
            assert_eq!(s.counts.succeeded, 1);
            assert_eq!(s.counts.failed, 1);
            let d = &s.details.as_ref().unwrap()[0];
            assert_eq!(d.status, BlobState::Failed);
            assert!(d.started_at.is_some());
            assert_eq!(d.failure_status.as_deref(), Some("Permanent"));
            let out = s.to_json();
            for k in ["Succeeded", "succeeded", "inProgress", "InProgress"] {
                assert!(out["status"].get(k).is_some(), "{k}");
            }
            for k in [
                "startTime",
                "startedAt",
                "lastUpdated",
                "lastUpdateTime",
                "errorCode",
            ] {
                assert!(out["details"][0].get(k).is_some(), "{k}");
            }
            assert_eq!(OperationStatus::from_json(&out).unwrap(), s);
        }
    }

    #[test]
    fn configuration_round_trips_with_a_java_readable_interval() {
        assert_eq!(
            format_refresh_interval(Duration::from_secs(3600)),
            "01:00:00"
        );
        assert_eq!(
            format_refresh_interval(Duration::from_secs(86_400 + 61)),
            "1.00:01:01"
        );
        let c = Configuration {
            containers: vec![SasUrl::parse("https://a.blob.core.windows.net/c?sig=s").unwrap()],
            lake_folders: vec![],
            refresh_interval: Some(Duration::from_secs(3600)),
            preferred_upload_method: Some("Storage".into()),
            max_blobs_per_batch: 20,
            max_data_size: Some(DEFAULT_MAX_DATA_SIZE),
            preferred_ingestion_method: Some("REST".into()),
        };
        let v = c.to_json();
        assert_eq!(v["containerSettings"]["refreshInterval"], "01:00:00");
        assert_eq!(v["ingestionSettings"]["maxBlobsPerBatch"], 20);
        assert_eq!(Configuration::from_json(&v).unwrap(), c);
        let none = Configuration::from_json(&json!({})).unwrap();
        assert_eq!(none.max_blobs_per_batch, DEFAULT_MAX_BLOBS_PER_BATCH);
    }

    #[test]
    fn the_post_answer_is_the_operation_id() {
        assert_eq!(parse_post_response(&post_response("op")).unwrap(), "op");
        assert_eq!(
            parse_post_response(&json!({"IngestionOperationId": ""})).unwrap(),
            ""
        );
    }
}
