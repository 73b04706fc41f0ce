//! Wire types of queued ingestion: the ingestion message, notifications, the status entity and
//! their enums. Writers emit what the Python/Go SDKs emit (PascalCase, numeric enums); readers
//! accept every shape real SDKs send (camelCase, string enums, odd timestamps) and keep unknown
//! fields, because the emulator and the client share this file and only lenient reading keeps
//! both honest against independent peers.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::client::redact::redact;

/// Azure's limit for one queue message, measured on the (base64) text.
pub const MAX_QUEUE_MESSAGE_BYTES: usize = 64 * 1024;

macro_rules! wire_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $num:expr $(, alias $alias:literal)*;)* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => stringify!($variant)),* }
            }
            pub fn as_number(self) -> i64 {
                match self { $($name::$variant => $num),* }
            }
            /// Accepts the name (any case), a documented alias, or the number, as text or JSON.
            pub fn parse_lenient(v: &Value) -> Option<Self> {
                match v {
                    Value::Number(n) => { let n = n.as_i64()?; $(if n == $num { return Some($name::$variant); })* None }
                    Value::String(s) => {
                        let t = s.trim();
                        if let Ok(n) = t.parse::<i64>() { return Self::parse_lenient(&Value::from(n)); }
                        $(if t.eq_ignore_ascii_case(stringify!($variant)) $(|| t.eq_ignore_ascii_case($alias))* { return Some($name::$variant); })*
                        None
                    }
                    _ => None,
                }
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
        }
        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> { s.serialize_str(self.as_str()) }
        }
        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                Self::parse_lenient(&Value::String(s.to_string()))
                    .ok_or_else(|| format!("unknown {} '{}'", stringify!($name), s))
            }
        }
    };
}

wire_enum!(
    /// `IngestionReportLevel`; numeric on the wire (Java sends names).
    ReportLevel { FailuresOnly = 0; None = 1, alias "DoNotReport"; FailuresAndSuccesses = 2; }
);
wire_enum!(
    /// `IngestionReportMethod`.
    ReportMethod { Queue = 0; Table = 1; QueueAndTable = 2; }
);
wire_enum!(
    /// `Status` of a status-table entity (string on the wire); `Queued` is client-side only.
    IngestionStatus { Pending = 0; Succeeded = 1; Failed = 2; Queued = 3; Skipped = 4; PartiallySucceeded = 5; }
);
wire_enum!(
    /// `FailureStatus` of a failure.
    FailureStatus { Unknown = 0; Permanent = 1; Transient = 2; Exhausted = 3; }
);

impl ReportMethod {
    pub fn uses_table(self) -> bool {
        matches!(self, ReportMethod::Table | ReportMethod::QueueAndTable)
    }
    pub fn uses_queue(self) -> bool {
        matches!(self, ReportMethod::Queue | ReportMethod::QueueAndTable)
    }
}

/// Where the DM should write the status of one source.
#[derive(Clone, PartialEq, Serialize)]
pub struct IngestionStatusInTable {
    /// Status-table URL including its SAS.
    #[serde(rename = "TableConnectionString")]
    pub table_connection_string: String,
    #[serde(rename = "PartitionKey")]
    pub partition_key: String,
    #[serde(rename = "RowKey")]
    pub row_key: String,
}

/// The JSON posted (base64) to a `SecuredReadyForAggregationQueue`. `Debug` redacts the SAS
/// URLs and the identity token it carries.
#[derive(Clone, PartialEq)]
pub struct IngestionMessage {
    pub id: String,
    pub blob_path: String,
    pub raw_data_size: Option<u64>,
    pub database_name: String,
    pub table_name: String,
    pub retain_blob_on_success: bool,
    pub flush_immediately: bool,
    pub ignore_size_limit: bool,
    pub report_level: ReportLevel,
    pub report_method: ReportMethod,
    pub source_message_creation_time: Option<String>,
    pub ingestion_status_in_table: Option<IngestionStatusInTable>,
    pub application_for_tracing: Option<String>,
    pub client_version_for_tracing: Option<String>,
    /// `authorizationContext`, `format`, `ingestionMappingReference`, `tags`, … (values as sent).
    pub additional_properties: Map<String, Value>,
}

impl std::fmt::Debug for IngestionStatusInTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IngestionStatusInTable")
            .field(
                "table_connection_string",
                &redact(&self.table_connection_string),
            )
            .field("partition_key", &self.partition_key)
            .field("row_key", &self.row_key)
            .finish()
    }
}

impl std::fmt::Debug for IngestionMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut props = self.additional_properties.clone();
        for (k, v) in props.iter_mut() {
            if k.eq_ignore_ascii_case("authorizationContext") {
                *v = Value::from("REDACTED");
            }
        }
        f.debug_struct("IngestionMessage")
            .field("id", &self.id)
            .field("blob_path", &redact(&self.blob_path))
            .field("raw_data_size", &self.raw_data_size)
            .field("database_name", &self.database_name)
            .field("table_name", &self.table_name)
            .field("report_level", &self.report_level)
            .field("report_method", &self.report_method)
            .field("flush_immediately", &self.flush_immediately)
            .field("retain_blob_on_success", &self.retain_blob_on_success)
            .field("ingestion_status_in_table", &self.ingestion_status_in_table)
            .field("additional_properties", &props)
            .finish_non_exhaustive()
    }
}

impl IngestionMessage {
    /// Serialise as the SDKs do: PascalCase, numeric enums, compact.
    pub fn to_json(&self) -> String {
        let mut m = Map::new();
        m.insert("Id".into(), self.id.clone().into());
        m.insert("BlobPath".into(), self.blob_path.clone().into());
        if let Some(size) = self.raw_data_size {
            m.insert("RawDataSize".into(), size.into());
        }
        m.insert("DatabaseName".into(), self.database_name.clone().into());
        m.insert("TableName".into(), self.table_name.clone().into());
        m.insert(
            "RetainBlobOnSuccess".into(),
            self.retain_blob_on_success.into(),
        );
        m.insert("FlushImmediately".into(), self.flush_immediately.into());
        m.insert("IgnoreSizeLimit".into(), self.ignore_size_limit.into());
        m.insert("ReportLevel".into(), self.report_level.as_number().into());
        m.insert("ReportMethod".into(), self.report_method.as_number().into());
        if let Some(t) = &self.source_message_creation_time {
            m.insert("SourceMessageCreationTime".into(), t.clone().into());
        }
        if let Some(s) = &self.ingestion_status_in_table {
            m.insert(
                "IngestionStatusInTable".into(),
                serde_json::to_value(s).unwrap_or(Value::Null),
            );
        }
        if let Some(a) = &self.application_for_tracing {
            m.insert("ApplicationForTracing".into(), a.clone().into());
        }
        if let Some(c) = &self.client_version_for_tracing {
            m.insert("ClientVersionForTracing".into(), c.clone().into());
        }
        m.insert(
            "AdditionalProperties".into(),
            Value::Object(self.additional_properties.clone()),
        );
        Value::Object(m).to_string()
    }

    /// The queue `MessageText`: base64 of the JSON.
    pub fn to_queue_text(&self) -> String {
        B64.encode(self.to_json())
    }

    /// Parse a queue `MessageText`: base64 JSON (as SDKs send) or raw JSON, names matched
    /// case-insensitively, enums as numbers or names.
    pub fn from_queue_text(text: &str) -> Result<Self, String> {
        let json = decode_text(text)
            .ok_or_else(|| "message is neither base64 JSON nor JSON".to_string())?;
        Self::from_value(&json)
    }

    pub fn from_value(v: &Value) -> Result<Self, String> {
        let obj = v.as_object().ok_or("message is not a JSON object")?;
        let get = |name: &str| field(obj, name);
        let string = |name: &str| get(name).and_then(value_to_string);
        let id = string("Id").ok_or("missing Id")?;
        let blob_path = string("BlobPath").unwrap_or_default();
        let additional_properties = match get("AdditionalProperties") {
            Some(Value::Object(m)) => m.clone(),
            Some(Value::String(s)) if !s.trim().is_empty() => {
                match serde_json::from_str::<Value>(s) {
                    Ok(Value::Object(m)) => m,
                    _ => return Err("AdditionalProperties is not an object".into()),
                }
            }
            Some(Value::Null) | None => Map::new(),
            Some(_) => return Err("AdditionalProperties is not an object".into()),
        };
        let ingestion_status_in_table = match get("IngestionStatusInTable") {
            Some(Value::Object(t)) => Some(IngestionStatusInTable {
                table_connection_string: field(t, "TableConnectionString")
                    .and_then(value_to_string)
                    .unwrap_or_default(),
                partition_key: field(t, "PartitionKey")
                    .and_then(value_to_string)
                    .unwrap_or_default(),
                row_key: field(t, "RowKey")
                    .and_then(value_to_string)
                    .unwrap_or_default(),
            }),
            _ => None,
        };
        let enum_or = |name: &str| get(name).filter(|v| !v.is_null());
        Ok(IngestionMessage {
            id,
            blob_path,
            raw_data_size: get("RawDataSize").and_then(value_to_u64),
            database_name: string("DatabaseName").unwrap_or_default(),
            table_name: string("TableName").unwrap_or_default(),
            retain_blob_on_success: get("RetainBlobOnSuccess")
                .and_then(value_to_bool)
                .unwrap_or(false),
            flush_immediately: get("FlushImmediately")
                .and_then(value_to_bool)
                .unwrap_or(false),
            ignore_size_limit: get("IgnoreSizeLimit")
                .and_then(value_to_bool)
                .unwrap_or(false),
            report_level: match enum_or("ReportLevel") {
                Some(v) => ReportLevel::parse_lenient(v).ok_or("invalid ReportLevel")?,
                None => ReportLevel::FailuresOnly,
            },
            report_method: match enum_or("ReportMethod") {
                Some(v) => ReportMethod::parse_lenient(v).ok_or("invalid ReportMethod")?,
                None => ReportMethod::Queue,
            },
            source_message_creation_time: string("SourceMessageCreationTime"),
            ingestion_status_in_table,
            application_for_tracing: string("ApplicationForTracing"),
            client_version_for_tracing: string("ClientVersionForTracing"),
            additional_properties,
        })
    }

    /// An additional property by name, case-insensitively (`mappingReference` is the legacy
    /// alias of `ingestionMappingReference`).
    pub fn property(&self, name: &str) -> Option<&Value> {
        field(&self.additional_properties, name)
    }

    pub fn property_str(&self, name: &str) -> Option<String> {
        self.property(name)
            .and_then(value_to_string)
            .filter(|s| !s.is_empty())
    }

    pub fn property_bool(&self, name: &str) -> bool {
        self.property(name).and_then(value_to_bool).unwrap_or(false)
    }

    /// A property that holds a JSON array either natively or as JSON text (tags, ingestIfNotExists).
    pub fn property_list(&self, name: &str) -> Vec<String> {
        match self.property(name) {
            Some(Value::Array(a)) => a.iter().filter_map(value_to_string).collect(),
            Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
                Ok(Value::Array(a)) => a.iter().filter_map(value_to_string).collect(),
                _ if s.trim().is_empty() => vec![],
                _ => vec![s.clone()],
            },
            _ => vec![],
        }
    }
}

/// Which notification queue a message came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotificationKind {
    Success,
    Failure,
}

impl NotificationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::Success => "success",
            NotificationKind::Failure => "failure",
        }
    }
}

/// A decoded success or failure notification. Field names follow Kusto; anything unknown is kept
/// in `extra` so that nothing the service says is lost.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    #[serde(
        rename = "OperationId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub operation_id: Option<String>,
    #[serde(rename = "Database", default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    #[serde(rename = "Table", default, skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    #[serde(
        rename = "SucceededOn",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub succeeded_on: Option<String>,
    #[serde(rename = "FailedOn", default, skip_serializing_if = "Option::is_none")]
    pub failed_on: Option<String>,
    #[serde(
        rename = "IngestionSourceId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub ingestion_source_id: Option<String>,
    #[serde(
        rename = "IngestionSourcePath",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub ingestion_source_path: Option<String>,
    #[serde(rename = "Details", default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    #[serde(rename = "ErrorCode", default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(
        rename = "FailureStatus",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub failure_status: Option<String>,
    #[serde(
        rename = "RootActivityId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub root_activity_id: Option<String>,
    #[serde(
        rename = "OriginatesFromUpdatePolicy",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub originates_from_update_policy: Option<bool>,
    #[serde(
        rename = "ShouldRetry",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub should_retry: Option<bool>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Notification {
    /// Build from any JSON object: names case-insensitive, values of any scalar type.
    pub fn from_value(v: &Value) -> Result<Self, String> {
        let obj = v.as_object().ok_or("notification is not a JSON object")?;
        let mut n = Notification::default();
        for (k, val) in obj {
            let s = || value_to_string(val);
            match k.to_ascii_lowercase().as_str() {
                "operationid" => n.operation_id = s(),
                "database" => n.database = s(),
                "table" => n.table = s(),
                "succeededon" => n.succeeded_on = s(),
                "failedon" => n.failed_on = s(),
                "ingestionsourceid" => n.ingestion_source_id = s(),
                "ingestionsourcepath" => n.ingestion_source_path = s(),
                "details" => n.details = s(),
                "errorcode" => n.error_code = s(),
                "failurestatus" => n.failure_status = s(),
                "rootactivityid" => n.root_activity_id = s(),
                "originatesfromupdatepolicy" => {
                    n.originates_from_update_policy = value_to_bool(val)
                }
                "shouldretry" => n.should_retry = value_to_bool(val),
                _ => {
                    n.extra.insert(k.clone(), val.clone());
                }
            }
        }
        Ok(n)
    }

    /// When it happened: `FailedOn` or `SucceededOn`, parsed leniently.
    pub fn timestamp(&self) -> Option<DateTime<Utc>> {
        self.failed_on
            .as_deref()
            .or(self.succeeded_on.as_deref())
            .and_then(parse_timestamp_str)
    }

    pub fn kind(&self) -> NotificationKind {
        if self.failed_on.is_some() || self.error_code.is_some() {
            NotificationKind::Failure
        } else {
            NotificationKind::Success
        }
    }

    /// Base64 JSON, as the DM writes notifications.
    pub fn to_queue_text(&self) -> String {
        B64.encode(serde_json::to_string(self).unwrap_or_default())
    }
}

/// .NET ticks (100 ns) per second, as Kusto's timespans count them.
pub const TICKS_PER_SEC: i64 = 10_000_000;

/// `[-][d.]hh:mm:ss[.fffffff]` or a KQL literal like `1d`, `2h`, `30m`, `10s`, `100ms`.
/// Returns 100-ns ticks.
pub fn parse_timespan_ticks(t: &str) -> Option<i64> {
    let (neg, body) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let ticks = if body.contains(':') {
        let (days, clock) = match body.split_once('.') {
            Some((d, rest)) if rest.contains(':') => (d.parse::<i64>().ok()?, rest),
            _ => (0, body),
        };
        let parts: Vec<&str> = clock.split(':').collect();
        if parts.len() != 3 {
            return None;
        }
        let h: i64 = parts[0].parse().ok()?;
        let m: i64 = parts[1].parse().ok()?;
        let (s, frac) = match parts[2].split_once('.') {
            Some((s, f)) => (s.parse::<i64>().ok()?, f),
            None => (parts[2].parse::<i64>().ok()?, ""),
        };
        if m >= 60 || s >= 60 || frac.len() > 7 || !frac.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let frac_ticks = if frac.is_empty() {
            0
        } else {
            format!("{frac:0<7}").parse::<i64>().ok()?
        };
        ((days * 24 + h) * 3600 + m * 60 + s)
            .checked_mul(TICKS_PER_SEC)?
            .checked_add(frac_ticks)?
    } else {
        let split = body.find(|c: char| c.is_ascii_alphabetic())?;
        let (num, unit) = body.split_at(split);
        let n: f64 = num.parse().ok()?;
        let unit_ticks: f64 = match unit {
            "d" | "day" | "days" => 86_400.0 * TICKS_PER_SEC as f64,
            "h" | "hr" | "hrs" | "hour" | "hours" => 3_600.0 * TICKS_PER_SEC as f64,
            "m" | "min" | "minute" | "minutes" => 60.0 * TICKS_PER_SEC as f64,
            "s" | "sec" | "second" | "seconds" => TICKS_PER_SEC as f64,
            "ms" | "milli" | "millis" | "millisecond" | "milliseconds" => 10_000.0,
            "microsecond" | "microseconds" => 10.0,
            "tick" | "ticks" => 1.0,
            _ => return None,
        };
        let v = n * unit_ticks;
        if !v.is_finite() || v.abs() > 9.0e18 {
            return None;
        }
        v.round() as i64
    };
    Some(if neg { -ticks } else { ticks })
}

pub fn format_timespan_ticks(ticks: i64) -> String {
    let sign = if ticks < 0 { "-" } else { "" };
    let t = ticks.unsigned_abs();
    let per_sec = TICKS_PER_SEC as u64;
    let frac = t % per_sec;
    let secs = t / per_sec;
    let (d, h, m, s) = (
        secs / 86_400,
        (secs / 3600) % 24,
        (secs / 60) % 60,
        secs % 60,
    );
    let mut out = String::from(sign);
    if d > 0 {
        out.push_str(&format!("{d}."));
    }
    out.push_str(&format!("{h:02}:{m:02}:{s:02}"));
    if frac > 0 {
        out.push_str(&format!(".{frac:07}"));
    }
    out
}

/// A non-negative timespan (`[d.]hh:mm:ss[.fffffff]`, or a KQL literal like `10s`) as a
/// `Duration`, e.g. a policy's MaximumBatchingTimeSpan.
pub fn parse_timespan(t: &str) -> Option<std::time::Duration> {
    let ticks = u64::try_from(parse_timespan_ticks(t.trim())?).ok()?;
    Some(std::time::Duration::from_nanos(ticks.saturating_mul(100)))
}

/// `d` as `[d.]hh:mm:ss[.fffffff]`.
pub fn format_timespan(d: std::time::Duration) -> String {
    format_timespan_ticks(i64::try_from(d.as_nanos() / 100).unwrap_or(i64::MAX))
}

/// A notification queue message text decoded as far as possible. An undecodable text is kept
/// raw with the reason, never dropped.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedNotification {
    pub notification: Option<Notification>,
    /// The decoded JSON text when decoding worked, else the message text as received.
    pub raw: String,
    pub error: Option<String>,
}

impl DecodedNotification {
    /// Drops `raw` when the decoded notification holds the same JSON (equal as values), which
    /// halves what a buffered row costs; `raw_text` rebuilds it then, keys in kingest's order.
    pub fn compact(&mut self) {
        if let Some(n) = &self.notification
            && !self.raw.is_empty()
            && serde_json::to_value(n).ok() == serde_json::from_str::<Value>(&self.raw).ok()
        {
            self.raw = String::new();
        }
    }

    /// The JSON text (or, undecodable, the message text), whether or not `compact` dropped it.
    pub fn raw_text(&self) -> std::borrow::Cow<'_, str> {
        match &self.notification {
            Some(n) if self.raw.is_empty() => serde_json::to_string(n)
                .map(std::borrow::Cow::Owned)
                .unwrap_or_default(),
            _ => std::borrow::Cow::Borrowed(&self.raw),
        }
    }
}

pub fn decode_notification(text: &str) -> DecodedNotification {
    match decode_text(text) {
        Some(v) => match Notification::from_value(&v) {
            Ok(n) => DecodedNotification {
                notification: Some(n),
                raw: v.to_string(),
                error: None,
            },
            Err(e) => DecodedNotification {
                notification: None,
                raw: v.to_string(),
                error: Some(e),
            },
        },
        None => DecodedNotification {
            notification: None,
            raw: text.to_string(),
            error: Some("message is neither base64 JSON nor JSON".into()),
        },
    }
}

/// base64(JSON) or plain JSON text → JSON value. Tolerates whitespace and URL-safe base64.
pub fn decode_text(text: &str) -> Option<Value> {
    let t = text.trim();
    if (t.starts_with('{') || t.starts_with('['))
        && let Ok(v) = serde_json::from_str(t)
    {
        return Some(v);
    }
    let compact: String = t.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = B64
        .decode(&compact)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(&compact))
        .or_else(|_| {
            base64::engine::general_purpose::STANDARD_NO_PAD.decode(compact.trim_end_matches('='))
        })
        .ok()?;
    let s = String::from_utf8(bytes).ok()?;
    let s = s.trim_start_matches('\u{feff}');
    serde_json::from_str(s).ok()
}

/// A status-table entity (one per source), read from any of the shapes SDKs and the DM write.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StatusEntity {
    pub partition_key: String,
    pub row_key: String,
    pub status: Option<IngestionStatus>,
    pub ingestion_source_id: Option<String>,
    pub ingestion_source_path: Option<String>,
    pub database: Option<String>,
    pub table: Option<String>,
    pub updated_on: Option<DateTime<Utc>>,
    pub operation_id: Option<String>,
    pub activity_id: Option<String>,
    pub error_code: Option<String>,
    pub failure_status: Option<String>,
    pub details: Option<String>,
    pub originates_from_update_policy: Option<bool>,
}

impl StatusEntity {
    pub fn from_map(m: &Map<String, Value>) -> Self {
        let s = |name: &str| {
            field(m, name)
                .and_then(value_to_string)
                .filter(|s| !s.is_empty())
        };
        StatusEntity {
            partition_key: s("PartitionKey").unwrap_or_default(),
            row_key: s("RowKey").unwrap_or_default(),
            status: field(m, "Status").and_then(IngestionStatus::parse_lenient),
            ingestion_source_id: s("IngestionSourceId"),
            ingestion_source_path: s("IngestionSourcePath"),
            database: s("Database"),
            table: s("Table"),
            updated_on: field(m, "UpdatedOn").and_then(parse_timestamp),
            operation_id: s("OperationId"),
            activity_id: s("ActivityId"),
            error_code: s("ErrorCode"),
            failure_status: s("FailureStatus"),
            details: s("Details"),
            originates_from_update_policy: field(m, "OriginatesFromUpdatePolicy")
                .and_then(value_to_bool),
        }
    }

    /// The properties a client inserts before posting the message (Status = Pending).
    pub fn pending_properties(
        source_id: &str,
        source_path: &str,
        database: &str,
        table: &str,
        now: DateTime<Utc>,
    ) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("PartitionKey".into(), source_id.into());
        m.insert("RowKey".into(), source_id.into());
        m.insert("Status".into(), "Pending".into());
        m.insert("IngestionSourceId".into(), source_id.into());
        m.insert("IngestionSourcePath".into(), source_path.into());
        m.insert("Database".into(), database.into());
        m.insert("Table".into(), table.into());
        m.insert("UpdatedOn".into(), format_timestamp(now).into());
        m.insert("UpdatedOn@odata.type".into(), "Edm.DateTime".into());
        m.insert("Details".into(), "".into());
        m
    }
}

/// Case-insensitive field lookup (Java SDKs send camelCase).
pub fn field<'a>(m: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    m.get(name).or_else(|| {
        m.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

pub fn value_to_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

pub fn value_to_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Some(true),
            "false" | "0" | "no" | "" => Some(false),
            _ => None,
        },
        Value::Number(n) => n.as_i64().map(|n| n != 0),
        _ => None,
    }
}

pub fn value_to_u64(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// UTC with 7 fractional digits and `Z`, as the .NET service writes.
pub fn format_timestamp(t: DateTime<Utc>) -> String {
    let mut out = String::with_capacity(28);
    push_timestamp(t, &mut out);
    out
}

/// [`format_timestamp`] appended to `out` (the emulator writes every ingested datetime value
/// into one column buffer).
pub fn push_timestamp(t: DateTime<Utc>, out: &mut String) {
    use chrono::{Datelike, Timelike};
    let ticks = t.timestamp_subsec_nanos() / 100;
    match u32::try_from(t.year()) {
        Ok(year) if year <= 9999 && ticks < 10_000_000 => {
            // The common case by hand: `format!` was most of the emulator's CSV conversion
            // time. The same digits as `%Y-%m-%dT%H:%M:%S` (a leap second, written :60,
            // is left to strftime with the other rare forms).
            let mut push = |n: u32, width: u32, after: char| {
                for place in (0..width).rev() {
                    let digit = n / 10u32.pow(place) % 10;
                    out.push(char::from(b'0' + digit as u8));
                }
                out.push(after);
            };
            push(year, 4, '-');
            push(t.month(), 2, '-');
            push(t.day(), 2, 'T');
            push(t.hour(), 2, ':');
            push(t.minute(), 2, ':');
            push(t.second(), 2, '.');
            push(ticks, 7, 'Z');
        }
        _ => {
            out.push_str(&t.format("%Y-%m-%dT%H:%M:%S").to_string());
            out.push_str(&format!(".{ticks:07}Z"));
        }
    }
}

pub fn format_rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Timestamps arrive as ISO 8601 with or without `Z`/offset and 0–9 fraction digits, RFC 1123,
/// or epoch seconds/milliseconds (numbers or numeric strings).
pub fn parse_timestamp(v: &Value) -> Option<DateTime<Utc>> {
    match v {
        Value::String(s) => parse_timestamp_str(s),
        Value::Number(n) => n.as_f64().and_then(epoch_to_datetime),
        _ => None,
    }
}

pub fn parse_timestamp_str(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(t) = DateTime::parse_from_rfc2822(s) {
        return Some(t.with_timezone(&Utc));
    }
    let naive = s.trim_end_matches(['Z', 'z']);
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(naive, fmt) {
            return Some(t.and_utc());
        }
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(naive, "%Y-%m-%d") {
        return d.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
    }
    // `/Date(1700000000000)/` (old OData) or a bare epoch number.
    let digits = s.trim_start_matches("/Date(").trim_end_matches(")/");
    digits.parse::<f64>().ok().and_then(epoch_to_datetime)
}

fn epoch_to_datetime(x: f64) -> Option<DateTime<Utc>> {
    if !x.is_finite() || x < 0.0 {
        return None;
    }
    // Anything past year 5138 in seconds is taken as milliseconds.
    let secs = if x > 1e11 { x / 1000.0 } else { x };
    DateTime::from_timestamp(secs.trunc() as i64, ((secs.fract()) * 1e9) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn compact_drops_the_text_only_when_the_notification_says_the_same() {
        let text = json!({
            "Table": "Logs", "ErrorCode": "BadRequest_EmptyBlob", "ShouldRetry": false,
            "Database": "db", "Custom": {"a": [1, 2]}
        })
        .to_string();
        let mut d = decode_notification(&text);
        let before: Value = serde_json::from_str(&d.raw_text()).unwrap();
        d.compact();
        assert!(d.raw.is_empty(), "lossless: the text goes");
        let after: Value = serde_json::from_str(&d.raw_text()).unwrap();
        assert_eq!(after, before);
        // A known field sent as a number decodes to a string: the text must stay.
        let mut d = decode_notification(r#"{"Table": 7, "ErrorCode": "X"}"#);
        d.compact();
        assert_eq!(d.raw_text(), r#"{"Table":7,"ErrorCode":"X"}"#);
        let mut d = decode_notification("not json");
        d.compact();
        assert_eq!(d.raw_text(), "not json");
    }

    #[test]
    fn numbers_in_a_notification_survive_a_round_trip() {
        // Found by the `notification` fuzz target: without serde_json's exact float parsing a
        // large number read back as its neighbour, so re-encoding changed the evidence.
        let text = B64.encode(r#"{"SuccededOn":1000003155883751428441880,"Details":"x"}"#);
        let n = decode_notification(&text).notification.unwrap();
        let again = decode_notification(&n.to_queue_text())
            .notification
            .unwrap();
        assert_eq!(again, n);
    }

    #[test]
    fn python_message_round_trips() {
        let py = r#"{"BlobPath":"https://acct.blob.core.windows.net/tmp/db__T__g__data.csv.gz?sv=1&sig=x","RawDataSize":123456,"DatabaseName":"db","TableName":"T","RetainBlobOnSuccess":true,"FlushImmediately":false,"IgnoreSizeLimit":false,"ReportLevel":2,"ReportMethod":0,"SourceMessageCreationTime":"2025-01-01T12:00:00.123456","Id":"5b1f0f3e-0000-4000-8000-000000000001","ApplicationForTracing":"app","ClientVersionForTracing":"Kusto.Python.Client:{6.0.4}","AdditionalProperties":{"authorizationContext":"tok","format":"csv","ignoreFirstRecord":true}}"#;
        let text = B64.encode(py);
        let m = IngestionMessage::from_queue_text(&text).unwrap();
        assert_eq!(m.raw_data_size, Some(123456));
        assert_eq!(m.report_level, ReportLevel::FailuresAndSuccesses);
        assert_eq!(m.report_method, ReportMethod::Queue);
        assert!(m.property_bool("ignoreFirstRecord"));
        assert_eq!(m.property_str("format").as_deref(), Some("csv"));
        let again = IngestionMessage::from_queue_text(&m.to_queue_text()).unwrap();
        assert_eq!(again, m);
    }

    #[test]
    fn debug_output_hides_secrets() {
        let v = json!({"Id":"a","BlobPath":"https://a/b?sv=1&sig=TOPSECRET","AdditionalProperties":{"authorizationContext":"TOKENVALUE"},
            "IngestionStatusInTable":{"TableConnectionString":"https://t/x?sig=TABLESECRET","PartitionKey":"p","RowKey":"r"}});
        let m = IngestionMessage::from_value(&v).unwrap();
        let dbg = format!("{m:?}");
        assert!(
            !dbg.contains("TOPSECRET")
                && !dbg.contains("TOKENVALUE")
                && !dbg.contains("TABLESECRET"),
            "{dbg}"
        );
        assert!(dbg.contains("sig=REDACTED"));
    }

    #[test]
    fn missing_retain_blob_means_delete_as_the_service_does() {
        // DOCS `kusto/api/netfx/kusto-ingest-client-rest.md`: RetainBlobOnSuccess "Default is
        // false", i.e. the service deletes the blob after a success unless told otherwise.
        let bare = json!({"Id":"a","BlobPath":"https://a/b","DatabaseName":"db","TableName":"T"});
        let m = IngestionMessage::from_queue_text(&bare.to_string()).unwrap();
        assert!(!m.retain_blob_on_success);
        assert!(!m.ignore_size_limit);
    }

    #[test]
    fn java_camel_case_and_string_enums() {
        let java = json!({"id":"abc","blobPath":"https://a/b","rawDataSize":"10","databaseName":"db","tableName":"T",
            "retainBlobOnSuccess":"true","reportLevel":"FailuresAndSuccesses","reportMethod":"QueueAndTable",
            "ingestionStatusInTable":{"tableConnectionString":"https://t?sig=1","partitionKey":"p","rowKey":"r"},
            "additionalProperties":{"authorizationContext":"tok","ignoreFirstRecord":"true","tags":"[\"a\",\"b\"]"}});
        let m = IngestionMessage::from_queue_text(&java.to_string()).unwrap();
        assert_eq!(m.raw_data_size, Some(10));
        assert!(m.retain_blob_on_success);
        assert_eq!(m.report_method, ReportMethod::QueueAndTable);
        assert_eq!(m.ingestion_status_in_table.as_ref().unwrap().row_key, "r");
        assert!(m.property_bool("IgnoreFirstRecord"));
        assert_eq!(m.property_list("tags"), vec!["a", "b"]);
    }

    #[test]
    fn numeric_string_enum_and_aliases() {
        assert_eq!(
            ReportLevel::parse_lenient(&json!("1")),
            Some(ReportLevel::None)
        );
        assert_eq!(
            ReportLevel::parse_lenient(&json!("donotreport")),
            Some(ReportLevel::None)
        );
        assert_eq!(ReportLevel::parse_lenient(&json!(7)), None);
        assert_eq!(
            "partiallysucceeded".parse::<IngestionStatus>(),
            Ok(IngestionStatus::PartiallySucceeded)
        );
    }

    #[test]
    fn corrupted_messages_are_errors() {
        assert!(IngestionMessage::from_queue_text("not base64 !!").is_err());
        assert!(IngestionMessage::from_queue_text(&B64.encode("[1,2]")).is_err());
        assert!(IngestionMessage::from_queue_text(&B64.encode("{\"BlobPath\":\"x\"}")).is_err());
        let bad_enum = json!({"Id":"a","ReportLevel":"sometimes"});
        assert!(IngestionMessage::from_value(&bad_enum).is_err());
    }

    #[test]
    fn notification_lenient_and_keeps_unknown_fields() {
        let text = B64.encode(
            json!({"OperationId":"op","Database":"db","Table":"T","FailedOn":"2017-02-14T22:25:03.1147331Z",
            "IngestionSourceId":"sid","ErrorCode":1,"FailureStatus":"Permanent","originatesFromUpdatePolicy":"false",
            "ShouldRetry":false,"Future":{"x":1}})
            .to_string(),
        );
        let d = decode_notification(&text);
        let n = d.notification.unwrap();
        assert_eq!(n.error_code.as_deref(), Some("1"));
        assert_eq!(n.originates_from_update_policy, Some(false));
        assert_eq!(n.extra.get("Future"), Some(&json!({"x":1})));
        assert_eq!(n.kind(), NotificationKind::Failure);
        assert_eq!(n.timestamp().unwrap().timestamp_subsec_nanos(), 114_733_100);
        let back = decode_notification(&n.to_queue_text())
            .notification
            .unwrap();
        assert_eq!(back, n);
    }

    #[test]
    fn undecodable_notification_is_kept_raw() {
        let d = decode_notification("%%% not a notification");
        assert!(d.notification.is_none());
        assert_eq!(d.raw, "%%% not a notification");
        assert!(d.error.is_some());
    }

    #[test]
    fn timestamps_in_every_shape() {
        let want = DateTime::parse_from_rfc3339("2025-01-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        for s in [
            "2025-01-01T12:00:00Z",
            "2025-01-01T12:00:00",
            "2025-01-01T12:00:00.0000000Z",
            "2025-01-01 12:00:00",
            "2025-01-01T14:00:00+02:00",
            "Wed, 01 Jan 2025 12:00:00 GMT",
            "1735732800",
            "1735732800000",
            "/Date(1735732800000)/",
        ] {
            assert_eq!(parse_timestamp_str(s), Some(want), "{s}");
        }
        assert_eq!(parse_timestamp(&json!(1735732800.0)), Some(want));
        assert_eq!(parse_timestamp_str("yesterday"), None);
        assert_eq!(format_timestamp(want), "2025-01-01T12:00:00.0000000Z");
    }

    #[test]
    fn format_timestamp_matches_strftime_at_every_year_range() {
        let strftime = |t: DateTime<Utc>| {
            let base = t.format("%Y-%m-%dT%H:%M:%S").to_string();
            format!("{base}.{:07}Z", t.timestamp_subsec_nanos() / 100)
        };
        let at = |y, mo, d, h, mi, s, nanos| {
            chrono::NaiveDate::from_ymd_opt(y, mo, d)
                .and_then(|d| d.and_hms_nano_opt(h, mi, s, nanos))
                .unwrap()
                .and_utc()
        };
        for t in [
            at(2025, 1, 2, 3, 4, 5, 123_456_789),
            at(1, 1, 1, 0, 0, 0, 0),
            at(0, 12, 31, 23, 59, 59, 999_999_999),
            at(9999, 12, 31, 23, 59, 59, 100),
            at(10000, 1, 1, 0, 0, 0, 0),
            at(-1, 6, 15, 12, 0, 0, 0),
            // A leap second: chrono's nanoseconds run past one second.
            at(2016, 12, 31, 23, 59, 59, 1_500_000_000),
        ] {
            assert_eq!(format_timestamp(t), strftime(t), "{t:?}");
        }
    }

    #[test]
    fn status_entity_from_go_and_node_shapes() {
        let go = json!({"PartitionKey":"sid","RowKey":"00000000-0000-0000-0000-000000000000","Status":"Failed",
            "UpdatedOn":"2025-01-01T12:00:00.123456789Z","ErrorCode":"BadRequest_EmptyBlob","FailureStatus":"Permanent"});
        let e = StatusEntity::from_map(go.as_object().unwrap());
        assert_eq!(e.status, Some(IngestionStatus::Failed));
        assert!(e.updated_on.is_some());
        let node =
            json!({"PartitionKey":"a","RowKey":"a","Status":"Pending","UpdatedOn":"1735732800000"});
        let e = StatusEntity::from_map(node.as_object().unwrap());
        assert_eq!(e.status, Some(IngestionStatus::Pending));
        assert_eq!(e.updated_on.unwrap().timestamp(), 1735732800);
    }
}

wire_enum!(
    /// Kusto data formats (`format` property, lowercase on the wire).
    DataFormat {
        Csv = 0; Tsv = 1; Scsv = 2; Sohsv = 3; Psv = 4; Txt = 5; Tsve = 6; Raw = 7;
        Json = 8; SingleJson = 9; MultiJson = 10; W3cLogFile = 11;
        Avro = 12; ApacheAvro = 13; Parquet = 14; Orc = 15; SStream = 16;
    }
);

impl DataFormat {
    /// The lowercase name sent in `AdditionalProperties.format`.
    pub fn wire_name(self) -> String {
        self.as_str().to_ascii_lowercase()
    }

    /// Binary formats are uploaded as they are; text formats are gzipped.
    pub fn is_compressible(self) -> bool {
        !matches!(
            self,
            DataFormat::Avro
                | DataFormat::ApacheAvro
                | DataFormat::Parquet
                | DataFormat::Orc
                | DataFormat::SStream
        )
    }

    /// Mapping kind (`ingestionMappingType`) this format takes.
    pub fn mapping_kind(self) -> &'static str {
        match self {
            DataFormat::Json | DataFormat::SingleJson | DataFormat::MultiJson => "Json",
            DataFormat::Avro => "Avro",
            DataFormat::ApacheAvro => "ApacheAvro",
            DataFormat::Parquet => "Parquet",
            DataFormat::Orc => "Orc",
            DataFormat::SStream => "SStream",
            DataFormat::W3cLogFile => "W3CLogFile",
            _ => "Csv",
        }
    }

    /// Format from a file name, looking through `.gz`/`.zip` (`data.csv.gz` → csv).
    ///
    /// ```
    /// use kingest::client::wire::DataFormat;
    /// assert_eq!(DataFormat::from_path("logs/2025-01-01.csv.gz"), Some(DataFormat::Csv));
    /// assert_eq!(DataFormat::from_path("events.jsonl"), Some(DataFormat::Json));
    /// assert_eq!(DataFormat::from_path("README"), None);
    /// ```
    pub fn from_path(path: &str) -> Option<Self> {
        let name = path
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or(path)
            .to_ascii_lowercase();
        let name = name.trim_end_matches(".gz").trim_end_matches(".zip");
        let ext = name.rsplit_once('.')?.1;
        match ext {
            "jsonl" | "ndjson" => Some(DataFormat::Json),
            "log" => Some(DataFormat::Txt),
            _ => ext.parse().ok(),
        }
    }
}
