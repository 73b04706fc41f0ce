//! One tracking engine for every front door (TUI, `submit --wait`, `status`): a pure,
//! synchronous state machine per source. Inputs are status-entity reads, notifications seen,
//! peek windows that did not contain the source, operation-id states and the clock; outputs
//! are the state (Kusto's names), the error info, and when to look next.
//!
//! Semantics, from the Kusto.Ingest status reference (`kusto/api/netfx/kusto-ingest-client-status`
//! in dataexplorer-docs) and the SDKs' `FailureStatus` enums (Unknown, Permanent, Transient,
//! Exhausted):
//! - `Transient`: the service retries the source itself. Not final: shown as retrying, and a
//!   later success wins.
//! - `Permanent` and `Exhausted` (retries used up): final failures.
//! - `BlobAlreadyReceived_*`: the service saw this blob before; error-codes.md says of
//!   `BlobAlreadyReceived_BlobAlreadyFoundInBatch` "only one copy of the blob will be used", so
//!   the data was ingested once. Not a failure of the data: shown as Skipped, counted a success.
//! - `PartiallySucceeded` only comes from the status table (no notification carries it);
//!   `Skipped` from the table, or from an empty blob's `BadRequest_EmptyBlob` failure — the
//!   status reference: "Skipped: No data was supplied and the ingest operation was skipped".

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::client::notifications::ReceivedNotification;
use crate::client::storage::SasUrl;
use crate::client::timeline::{Heard, History, Transition};
use crate::client::wire::{
    FailureStatus, IngestionStatus, Notification, NotificationKind, StatusEntity, field,
    value_to_string,
};

/// Where one source's status entity lives: the full status-table URL with its SAS, and the
/// entity keys. `Display`/`Debug` redact the signature.
#[derive(Clone, PartialEq, Eq)]
pub struct StatusRef {
    table: SasUrl,
    pub partition_key: String,
    pub row_key: String,
}

impl StatusRef {
    /// `table` may name the table in its path or only in the SAS `tn` parameter (the Node SDK
    /// sends the account's table endpoint: its `TableClient.url` omits the table); the stored
    /// URL always names it in the path.
    pub fn new(table: SasUrl, partition_key: String, row_key: String) -> Self {
        let table = Self::table_in_path(&table, None).unwrap_or(table);
        StatusRef {
            table,
            partition_key,
            row_key,
        }
    }

    /// The status-table URL with the table in its path: as given, or with the SAS's `tn`
    /// appended. A path-style URL that lost its account segment too (the Node SDK's origin on
    /// a path-style endpoint) gets `account` when one is given. The one place for this rule:
    /// the client's journal and the emulator's DM both use it.
    pub fn table_in_path(url: &SasUrl, account: Option<&str>) -> Result<SasUrl, String> {
        if !url.object_name().is_empty() {
            return Ok(url.clone());
        }
        let Some(tn) = url.query_param("tn").filter(|t| !t.trim().is_empty()) else {
            return Err(
                "the status table URL names no table, in its path or in its SAS (tn)".into(),
            );
        };
        match account {
            Some(a) if url.is_path_style() && url.account().is_empty() => {
                Ok(url.child(a).child(&tn))
            }
            _ => Ok(url.child(&tn)),
        }
    }

    /// From an `IngestionStatusInTable` object in any casing (`TableConnectionString` or
    /// `tableConnectionString`, …).
    pub fn from_json(v: &Value) -> Result<Self, String> {
        let obj = v
            .as_object()
            .ok_or("the status reference is not an object")?;
        let get = |name: &str| field(obj, name).and_then(value_to_string);
        let url = get("TableConnectionString").ok_or("no TableConnectionString")?;
        let table = SasUrl::parse(&url).map_err(|e| e.to_string())?;
        let pk = get("PartitionKey").ok_or("no PartitionKey")?;
        let rk = get("RowKey").ok_or("no RowKey")?;
        Ok(StatusRef::new(table, pk, rk))
    }

    /// The wire shape, with the secret: only for the ingestion message and the journal.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert(
            "TableConnectionString".into(),
            self.table.expose().to_string().into(),
        );
        m.insert("PartitionKey".into(), self.partition_key.clone().into());
        m.insert("RowKey".into(), self.row_key.clone().into());
        Value::Object(m)
    }

    pub fn table(&self) -> &SasUrl {
        &self.table
    }

    /// `account/table`, for display.
    pub fn display_name(&self) -> String {
        format!("{}/{}", self.table.account(), self.table.object_name())
    }

    /// The SAS expiry (`se`), when the URL has one.
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.table.grant().expires_at
    }

    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at().is_some_and(|e| e <= now)
    }
}

impl std::fmt::Debug for StatusRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatusRef")
            .field("table", &self.table)
            .field("partition_key", &self.partition_key)
            .field("row_key", &self.row_key)
            .finish()
    }
}

impl Serialize for StatusRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

impl<'de> Deserialize<'de> for StatusRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        StatusRef::from_json(&v).map_err(serde::de::Error::custom)
    }
}

/// A source's state, in Kusto's words plus `Retrying` (a Transient failure the service retries)
/// and `Canceled` (operation-id tracking of the REST queued and bulk APIs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TrackState {
    Queued,
    Pending,
    Retrying,
    Succeeded,
    Failed,
    PartiallySucceeded,
    Skipped,
    Canceled,
}

impl TrackState {
    pub fn label(self) -> &'static str {
        match self {
            TrackState::Queued => "Queued",
            TrackState::Pending => "Pending",
            TrackState::Retrying => "Retrying",
            TrackState::Succeeded => "Succeeded",
            TrackState::Failed => "Failed",
            TrackState::PartiallySucceeded => "PartiallySucceeded",
            TrackState::Skipped => "Skipped",
            TrackState::Canceled => "Canceled",
        }
    }

    pub fn is_final(self) -> bool {
        !matches!(
            self,
            TrackState::Queued | TrackState::Pending | TrackState::Retrying
        )
    }

    fn from_status(s: IngestionStatus) -> Self {
        match s {
            IngestionStatus::Queued => TrackState::Queued,
            IngestionStatus::Pending => TrackState::Pending,
            IngestionStatus::Succeeded => TrackState::Succeeded,
            IngestionStatus::Failed => TrackState::Failed,
            IngestionStatus::Skipped => TrackState::Skipped,
            IngestionStatus::PartiallySucceeded => TrackState::PartiallySucceeded,
        }
    }

    /// An operation state of the REST queued / bulk APIs (`.show queued ingestion operations`,
    /// per-blob details): InProgress/Pending/Queued are not final.
    pub fn from_operation_state(s: &str) -> Option<Self> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "queued" | "scheduled" => TrackState::Queued,
            "pending" | "inprogress" | "in progress" | "throttled" => TrackState::Pending,
            "succeeded" | "completed" | "ingested" => TrackState::Succeeded,
            "failed" | "badinput" | "abandoned" => TrackState::Failed,
            "partiallysucceeded" => TrackState::PartiallySucceeded,
            "skipped" => TrackState::Skipped,
            "canceled" | "cancelled" => TrackState::Canceled,
            _ => return None,
        })
    }
}

/// kingest's aggregate state of a source split into chunks (`client::submit::chunk`): the
/// service tracks each chunk as an ingestion of its own and knows no such total. Not final
/// while a chunk is not (Retrying, else Pending, else Queued); once all are final: their state
/// when they agree, PartiallySucceeded when some succeeded (as [`Tracker::is_success`] decides)
/// and others did not, Failed when none did.
pub fn aggregate(chunks: &[&Tracker]) -> TrackState {
    let open = |s: TrackState| chunks.iter().any(|t| t.state == s);
    if chunks.iter().any(|t| !t.is_final()) {
        return [TrackState::Retrying, TrackState::Pending]
            .into_iter()
            .find(|s| open(*s))
            .unwrap_or(TrackState::Queued);
    }
    let Some(first) = chunks.first() else {
        return TrackState::Queued;
    };
    if chunks.iter().all(|t| t.state == first.state) {
        return first.state;
    }
    let ok = chunks.iter().filter(|t| t.is_success()).count();
    match ok {
        0 => TrackState::Failed,
        n if n == chunks.len() => TrackState::Succeeded,
        _ => TrackState::PartiallySucceeded,
    }
}

/// What went wrong (or is being retried), as the service said it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
}

impl ErrorInfo {
    fn is_transient(&self) -> bool {
        self.failure_status
            .as_deref()
            .and_then(|s| FailureStatus::parse_lenient(&Value::from(s)))
            == Some(FailureStatus::Transient)
    }

    fn already_received(&self) -> bool {
        self.code
            .as_deref()
            .is_some_and(|c| c.starts_with("BlobAlreadyReceived"))
    }

    /// The final state of a failure, from the queue or the table alike: a blob already
    /// ingested once or an empty one is Skipped, anything else Failed.
    fn final_failure(&self) -> TrackState {
        let empty = self
            .code
            .as_deref()
            .is_some_and(|c| c.eq_ignore_ascii_case("BadRequest_EmptyBlob"));
        if self.already_received() || empty {
            TrackState::Skipped
        } else {
            TrackState::Failed
        }
    }

    fn is_empty(&self) -> bool {
        self.code.is_none() && self.failure_status.is_none() && self.details.is_none()
    }
}

/// What the engine answered for a source it ingested synchronously (streaming, direct).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    /// Final: Succeeded, PartiallySucceeded (some rows of a direct ingestion have errors) or
    /// Failed.
    pub state: TrackState,
    #[serde(default, skip_serializing_if = "ErrorInfo::is_empty")]
    pub error: ErrorInfo,
}

impl Answer {
    pub fn succeeded() -> Self {
        Answer {
            state: TrackState::Succeeded,
            error: ErrorInfo::default(),
        }
    }

    /// A failure the service reported (its error code, permanence and message).
    pub fn failed(code: &str, permanent: bool, details: &str) -> Self {
        Answer {
            state: TrackState::Failed,
            error: ErrorInfo {
                code: Some(code.to_string()),
                failure_status: Some(if permanent { "Permanent" } else { "Transient" }.into()),
                details: Some(details.to_string()),
            },
        }
    }
}

/// Which view of the service the current state came from. The status table is authoritative
/// over the queues (it alone knows PartiallySucceeded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Evidence {
    Table,
    Queue,
    Operation,
    /// The engine's own answer to a synchronous ingestion (streaming, direct).
    Engine,
    /// Set locally (a submit that never reached the service, a journal restore).
    Client,
}

/// One input to a tracker.
#[derive(Debug, Clone, Copy)]
pub enum Observation<'a> {
    /// The status entity as read from the table.
    Entity(&'a StatusEntity),
    /// The entity does not exist (yet).
    EntityMissing,
    /// The table could not be read; the text says why.
    /// (Also a REST queued operation's status that cannot be read: the source's status
    /// source, whatever it is, is unreadable for now.)
    TableUnreadable(&'a str),
    /// A notification naming this source. Seeing the same message again (every peek shows it
    /// until it expires) changes nothing.
    Notification {
        kind: NotificationKind,
        message_id: &'a str,
        notification: &'a Notification,
    },
    /// A peek of the notification queues did not contain this source; `window_full` when a
    /// queue returned as many messages as a peek can see (older messages may hide ours).
    NotInPeek { window_full: bool },
    /// Time passed: notices a status-table SAS that has expired meanwhile.
    Clock,
    /// An operation-id status (REST queued / bulk).
    Operation {
        state: &'a str,
        error_code: Option<&'a str>,
        details: Option<&'a str>,
    },
    /// A REST queued operation's status with its per-blob details: this source's blob (by
    /// source id) carries its state, error code, failure status and details. An answer
    /// without this blob changes nothing.
    RestStatus(&'a crate::client::rest_queued::OperationStatus),
}

/// How often a status entity is read: fast while a source is young (an upload just
/// finished), then backing off with age — 10 s (the Go SDK's constant poll interval), 60 s,
/// 120 s (the Go SDK's back-offs after read errors, and LightIngest polls every 30 s).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TablePoll {
    pub young: std::time::Duration,
    pub young_for: std::time::Duration,
    pub normal: std::time::Duration,
    pub slow_after: std::time::Duration,
    pub slow: std::time::Duration,
    pub slowest_after: std::time::Duration,
    pub slowest: std::time::Duration,
}

impl Default for TablePoll {
    fn default() -> Self {
        use std::time::Duration as D;
        TablePoll {
            young: D::from_secs(2),
            young_for: D::from_secs(20),
            normal: D::from_secs(10),
            slow_after: D::from_secs(10 * 60),
            slow: D::from_secs(60),
            slowest_after: D::from_secs(60 * 60),
            slowest: D::from_secs(120),
        }
    }
}

impl TablePoll {
    /// The interval for a source posted `age` ago.
    pub fn interval(&self, age: chrono::TimeDelta) -> std::time::Duration {
        let age = age.to_std().unwrap_or_default();
        if age < self.young_for {
            self.young
        } else if age < self.slow_after {
            self.normal
        } else if age < self.slowest_after {
            self.slow
        } else {
            self.slowest
        }
    }
}

/// The tracked state of one source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tracker {
    pub source_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_ref: Option<StatusRef>,
    /// Notifications of this source go to the queues (ReportMethod Queue/QueueAndTable with a
    /// report level that reports).
    pub by_queue: bool,
    pub posted_at: DateTime<Utc>,
    pub state: TrackState,
    pub evidence: Evidence,
    #[serde(default, skip_serializing_if = "ErrorInfo::is_empty")]
    pub error: ErrorInfo,
    /// Transient failures seen so far (each one a retry by the service).
    #[serde(default)]
    pub transient_failures: u32,
    pub updated_at: DateTime<Utc>,
    /// Why the table cannot be read (expired SAS, …); tracking goes on through the queues.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_problem: Option<String>,
    /// Peeks in a row that did not contain this source while their window was full.
    #[serde(default)]
    pub hidden_peeks: u32,
    /// Message ids of notifications already applied (bounded).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seen_messages: Vec<String>,
    /// Copies of the message posted again because an answer was lost (it may have landed).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub reposts: u32,
    /// Of those, copies the service dropped as duplicates in their batch.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub duplicates_dropped: u32,
    /// The post asked `ingestIfNotExists`: a Skipped outcome is what was asked for.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub if_not_exists: bool,
    /// The REST queued API's operation this source is a blob of: tracked by its status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<OperationRef>,
    /// What the timeline shows (`client::timeline`): requests, the post, each transition and
    /// notification, bounded. Absent from journals written before it existed.
    #[serde(default, skip_serializing_if = "History::is_empty")]
    pub history: History,
}

/// Where a REST queued-ingestion operation's status is read:
/// `GET /v1/rest/ingestion/queued/{database}/{table}/{operation_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationRef {
    pub database: String,
    pub table: String,
    pub operation_id: String,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// The error code of [`Tracker::abandoned`] (kingest's, not the service's).
pub const ABANDONED: &str = "kingest_AbandonedLocally";

/// The service's answer to a later copy of a blob in the same batch (error-codes.md: "only one
/// copy of the blob will be used for ingestion").
const DUPLICATE_IN_BATCH: &str = "BlobAlreadyReceived_BlobAlreadyFoundInBatch";

const SEEN_MESSAGES: usize = 16;

impl Tracker {
    /// A source just posted to the ingestion queue.
    pub fn posted(
        source_id: impl Into<String>,
        status_ref: Option<StatusRef>,
        by_queue: bool,
        now: DateTime<Utc>,
    ) -> Self {
        Tracker {
            source_id: source_id.into(),
            status_ref,
            by_queue,
            posted_at: now,
            state: TrackState::Queued,
            evidence: Evidence::Client,
            error: ErrorInfo::default(),
            transient_failures: 0,
            updated_at: now,
            table_problem: None,
            hidden_peeks: 0,
            seen_messages: Vec::new(),
            reposts: 0,
            duplicates_dropped: 0,
            if_not_exists: false,
            operation: None,
            history: History::default(),
        }
    }

    /// A source that will never report: its submit was interrupted or failed after its upload
    /// started, and was given up locally. Final (Failed), with `why` as its details.
    pub fn abandoned(source_id: impl Into<String>, why: String, now: DateTime<Utc>) -> Self {
        let mut t = Tracker::posted(source_id, None, false, now);
        t.state = TrackState::Failed;
        t.error = ErrorInfo {
            code: Some(ABANDONED.into()),
            failure_status: Some("Permanent".into()),
            details: Some(why),
        };
        t
    }

    /// A source the engine ingested synchronously (streaming, direct): final at once, with
    /// the engine's answer. Nothing is left to poll.
    pub fn answered(source_id: impl Into<String>, answer: &Answer, now: DateTime<Utc>) -> Self {
        let mut t = Tracker::posted(source_id, None, false, now);
        t.state = answer.state;
        t.evidence = Evidence::Engine;
        t.error = answer.error.clone();
        t.history.transition(Transition {
            at: now,
            state: t.state,
            evidence: t.evidence,
            code: t.error.code.clone(),
        });
        t
    }

    /// The tracker a finished submit starts with: final at once when the engine answered
    /// (`answer`), else posted and tracked through `status_ref` and/or the queues.
    pub fn start(
        source_id: impl Into<String>,
        answer: Option<&Answer>,
        status_ref: Option<StatusRef>,
        by_queue: bool,
        now: DateTime<Utc>,
    ) -> Self {
        match answer {
            Some(a) => Tracker::answered(source_id, a, now),
            None => Tracker::posted(source_id, status_ref, by_queue, now),
        }
    }

    /// `n` copies of the message were posted again after lost answers: a copy the service
    /// drops as a duplicate in its batch then says nothing about the outcome, which the kept
    /// copy (same source id) reports.
    pub fn with_reposts(mut self, n: u32) -> Self {
        self.reposts = n;
        self
    }

    /// Tracked through the REST queued operation `op` (an empty id: none, nothing to poll).
    pub fn with_operation(mut self, op: Option<OperationRef>) -> Self {
        self.operation = op.filter(|o| !o.operation_id.is_empty());
        self
    }

    /// Starts the timeline with what the submit saw (its requests and post).
    pub fn with_history(mut self, history: History) -> Self {
        let seen = std::mem::replace(&mut self.history, history);
        for t in seen.transitions {
            self.history.transition(t);
        }
        for n in seen.notifications {
            self.history.heard(n);
        }
        self
    }

    /// The post asked `ingestIfNotExists`: Skipped is a success.
    pub fn with_if_not_exists(mut self, asked: bool) -> Self {
        self.if_not_exists = asked;
        self
    }

    pub fn is_final(&self) -> bool {
        self.state.is_final()
    }

    /// Whether anything can still tell us more: not final, and a queue to hear from or a
    /// status table whose SAS still works.
    pub fn can_still_learn(&self, now: DateTime<Utc>) -> bool {
        !self.is_final()
            && (self.by_queue
                || self.operation.is_some()
                || self.status_ref.as_ref().is_some_and(|r| !r.is_expired(now)))
    }

    /// Feeds one peek of a notification queue: every message naming this source, or "not in
    /// this window" when none does (`window_full`: the peek saw as many as a peek can).
    /// Returns the messages that named it; the tracker's change shows in `updated_at`.
    pub fn observe_peek<'a>(
        &mut self,
        msgs: &'a [ReceivedNotification],
        window_full: bool,
        now: DateTime<Utc>,
    ) -> Vec<&'a ReceivedNotification> {
        let mine: Vec<&ReceivedNotification> = msgs
            .iter()
            .filter(|m| {
                m.source_id()
                    .is_some_and(|id| id.eq_ignore_ascii_case(&self.source_id))
            })
            .collect();
        for m in &mine {
            if let Some(n) = &m.decoded.notification {
                let obs = Observation::Notification {
                    kind: m.kind,
                    message_id: &m.message_id,
                    notification: n,
                };
                self.observe(obs, now);
            }
        }
        if mine.is_empty() {
            self.observe(Observation::NotInPeek { window_full }, now);
        }
        mine
    }

    /// Final from the queues while a status table could still say more (only the table knows
    /// PartiallySucceeded): worth one confirming read.
    pub fn wants_table_confirmation(&self, now: DateTime<Utc>) -> bool {
        self.is_final()
            && self.evidence == Evidence::Queue
            && self.status_ref.as_ref().is_some_and(|r| !r.is_expired(now))
    }

    /// "the status table's SAS expired at …" when it has.
    fn expired(&self, now: DateTime<Utc>) -> Option<String> {
        let r = self.status_ref.as_ref().filter(|r| r.is_expired(now))?;
        Some(format!(
            "the status table's SAS expired at {}: its entity can no longer be read",
            r.expires_at()
                .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                .unwrap_or_default()
        ))
    }

    /// Whether `--wait` and `status` should report success.
    pub fn is_success(&self) -> bool {
        match self.state {
            TrackState::Succeeded => true,
            TrackState::Skipped => self.already_ingested() || self.skipped_as_asked(),
            _ => false,
        }
    }

    /// Skipped because `ingestIfNotExists` matched, as the post asked (not an empty blob).
    pub fn skipped_as_asked(&self) -> bool {
        self.state == TrackState::Skipped
            && self.if_not_exists
            && !self
                .error
                .code
                .as_deref()
                .is_some_and(|c| c.eq_ignore_ascii_case("BadRequest_EmptyBlob"))
    }

    /// Skipped because the service had already ingested this blob.
    pub fn already_ingested(&self) -> bool {
        self.error.already_received()
    }

    /// A one-line description: "Retrying (transient: CODE)", "Failed (Permanent: CODE)", …
    pub fn describe(&self) -> String {
        let code = self.error.code.as_deref().unwrap_or("no error code");
        match self.state {
            TrackState::Retrying => format!(
                "retrying (transient: {code}; {} attempt(s) failed so far)",
                self.transient_failures
            ),
            TrackState::Failed => format!(
                "Failed ({}: {code})",
                self.error.failure_status.as_deref().unwrap_or("Unknown")
            ),
            TrackState::Succeeded if self.duplicates_dropped > 0 => format!(
                "Succeeded: ingested once ({} re-posted copy(ies) dropped by the service as \
                 {DUPLICATE_IN_BATCH})",
                self.duplicates_dropped
            ),
            TrackState::Skipped if self.already_ingested() => {
                format!("Skipped: already ingested once ({code})")
            }
            TrackState::Skipped if self.skipped_as_asked() => {
                "Skipped: already ingested (ingestIfNotExists matched an ingest-by tag, as asked)"
                    .to_string()
            }
            TrackState::Skipped => format!("Skipped ({code})"),
            s => s.label().to_string(),
        }
    }

    /// Feed one observation; returns whether anything shown changed.
    pub fn observe(&mut self, obs: Observation<'_>, now: DateTime<Utc>) -> bool {
        let before = (
            self.state,
            self.error.clone(),
            self.table_problem.clone(),
            self.hidden_peeks,
            self.duplicates_dropped,
        );
        match obs {
            Observation::Entity(e) => self.on_entity(e),
            Observation::EntityMissing => self.table_problem = None,
            Observation::TableUnreadable(why) => {
                self.table_problem = Some(match self.expired(now) {
                    Some(msg) => msg,
                    None => why.to_string(),
                })
            }
            Observation::Clock => {
                if !self.is_final()
                    && self.table_problem.is_none()
                    && let Some(msg) = self.expired(now)
                {
                    self.table_problem = Some(msg);
                }
            }
            Observation::Notification {
                kind,
                message_id,
                notification,
            } => {
                self.hidden_peeks = 0;
                if !self.seen_messages.iter().any(|m| m == message_id) {
                    if self.seen_messages.len() >= SEEN_MESSAGES {
                        self.seen_messages.remove(0);
                    }
                    self.seen_messages.push(message_id.to_string());
                    self.history.heard(Heard {
                        at: now,
                        kind: kind.as_str().to_string(),
                        message_id: message_id.to_string(),
                        operation_id: notification.operation_id.clone(),
                        root_activity_id: notification.root_activity_id.clone(),
                        on: notification
                            .succeeded_on
                            .clone()
                            .or_else(|| notification.failed_on.clone()),
                        code: notification.error_code.clone(),
                    });
                    self.on_notification(kind, notification);
                }
            }
            Observation::NotInPeek { window_full } => {
                if !self.is_final() && window_full {
                    self.hidden_peeks = self.hidden_peeks.saturating_add(1);
                }
            }
            Observation::Operation {
                state,
                error_code,
                details,
            } => {
                if let Some(s) = TrackState::from_operation_state(state) {
                    let err = ErrorInfo {
                        code: error_code.map(str::to_string),
                        failure_status: None,
                        details: details.map(str::to_string),
                    };
                    self.apply(s, Evidence::Operation, (!err.is_empty()).then_some(err));
                }
            }
            Observation::RestStatus(status) => self.on_rest_status(status),
        }
        let changed = before
            != (
                self.state,
                self.error.clone(),
                self.table_problem.clone(),
                self.hidden_peeks,
                self.duplicates_dropped,
            );
        if changed {
            self.updated_at = now;
        }
        if before.0 != self.state || (before.1.code != self.error.code && !self.error.is_empty()) {
            self.history.transition(Transition {
                at: now,
                state: self.state,
                evidence: self.evidence,
                code: self.error.code.clone(),
            });
        }
        changed
    }

    fn on_entity(&mut self, e: &StatusEntity) {
        self.table_problem = None;
        let err = ErrorInfo {
            code: e.error_code.clone(),
            failure_status: e.failure_status.clone(),
            details: e.details.clone(),
        };
        let Some(status) = e.status else {
            return;
        };
        let state = match TrackState::from_status(status) {
            // A Pending row carrying a Transient failure: the service is retrying. A Failed
            // row is final whatever its FailureStatus: "Status remains 'Pending' during the
            // ingestion process" (kusto-ingest-client-status.md), as the Go SDK's IsFinal.
            TrackState::Pending if err.is_transient() => TrackState::Retrying,
            TrackState::Failed => err.final_failure(),
            TrackState::Queued => TrackState::Pending,
            s => s,
        };
        let err = (!err.is_empty()).then_some(err);
        self.apply(state, Evidence::Table, err);
    }

    /// Feeds one read of this source's REST queued operation (CLI and TUI alike): a failed read
    /// is the source's problem until a good one clears it. Returns whether anything changed.
    pub fn observe_rest_read<E: std::fmt::Display>(
        &mut self,
        result: Result<&crate::client::rest_queued::OperationStatus, &E>,
        now: DateTime<Utc>,
    ) -> bool {
        match result {
            Ok(status) => self.observe(Observation::RestStatus(status), now),
            Err(e) => {
                let why = format!("the REST queued operation's status cannot be read: {e}");
                self.observe(Observation::TableUnreadable(&why), now)
            }
        }
    }

    fn on_rest_status(&mut self, status: &crate::client::rest_queued::OperationStatus) {
        use crate::client::rest_queued::BlobState;
        // The status is readable again: an earlier read failure no longer applies.
        self.table_problem = None;
        let Some(blob) = status
            .details
            .iter()
            .flatten()
            .find(|b| b.source_id.eq_ignore_ascii_case(&self.source_id))
        else {
            return;
        };
        let state = match blob.status {
            BlobState::Queued => TrackState::Queued,
            BlobState::InProgress => TrackState::Pending,
            BlobState::Succeeded => TrackState::Succeeded,
            BlobState::Failed => TrackState::Failed,
            BlobState::Canceled => TrackState::Canceled,
        };
        let err = ErrorInfo {
            code: blob.error_code.clone(),
            failure_status: blob.failure_status.clone(),
            details: blob.details.clone(),
        };
        let err = (state != TrackState::Succeeded && !err.is_empty()).then_some(err);
        self.apply(state, Evidence::Operation, err);
    }

    fn on_notification(&mut self, kind: NotificationKind, n: &Notification) {
        let err = ErrorInfo {
            code: n.error_code.clone(),
            failure_status: n.failure_status.clone(),
            details: n.details.clone(),
        };
        // Our own re-posted copy, dropped in the batch the first copy is in: that copy's
        // notification carries the outcome.
        if self.reposts > 0
            && kind == NotificationKind::Failure
            && err.code.as_deref() == Some(DUPLICATE_IN_BATCH)
            && self.duplicates_dropped < self.reposts
        {
            self.duplicates_dropped += 1;
            return;
        }
        match kind {
            NotificationKind::Success => self.apply(TrackState::Succeeded, Evidence::Queue, None),
            NotificationKind::Failure => {
                let state = if err.is_transient() && !err.already_received() {
                    TrackState::Retrying
                } else {
                    err.final_failure()
                };
                self.apply(state, Evidence::Queue, Some(err));
            }
        }
    }

    /// The one transition rule. Final states stay, except that the table may refine a final
    /// state the queues or the client set; a success wins over retrying.
    fn apply(&mut self, state: TrackState, evidence: Evidence, err: Option<ErrorInfo>) {
        if self.state.is_final() {
            let refine =
                evidence == Evidence::Table && self.evidence != Evidence::Table && state.is_final();
            if !refine {
                return;
            }
        }
        // A plain Pending read after a queue said "retrying" does not undo the retry.
        if state == TrackState::Pending && self.state == TrackState::Retrying {
            return;
        }
        if state == TrackState::Retrying {
            // Each notification is one failed attempt; a table row counts when it changes.
            let new_attempt = evidence != Evidence::Table
                || self.state != TrackState::Retrying
                || err.as_ref().is_some_and(|e| *e != self.error);
            if new_attempt {
                self.transient_failures = self.transient_failures.saturating_add(1);
            }
        }
        match err {
            // A later success wins: the transient error is history, kept only as a count.
            _ if state == TrackState::Succeeded => self.error = ErrorInfo::default(),
            Some(err) => self.error = err,
            None => {}
        }
        self.state = state;
        self.evidence = evidence;
    }

    /// When the status entity should next be read, after a read (or the post) at `last`.
    /// `None` when there is nothing to read: final, no table, or the table's SAS expired.
    /// A REST queued operation is read on the same schedule.
    pub fn next_table_read(&self, last: DateTime<Utc>, poll: &TablePoll) -> Option<DateTime<Utc>> {
        let readable = match &self.status_ref {
            Some(r) => !r.is_expired(last),
            None => self.operation.is_some(),
        };
        if self.is_final() || !readable {
            return None;
        }
        let every = poll.interval(last - self.posted_at);
        Some(last + chrono::TimeDelta::from_std(every).unwrap_or(chrono::TimeDelta::MAX))
    }
}

#[cfg(test)]
mod tests;
