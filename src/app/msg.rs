//! Everything that can happen: input, time, and results of effects. Time arrives here; `update()`
//! never reads a clock.

use chrono::{DateTime, Utc};
use crossterm::event::KeyEvent;

use crate::app::state::Delivered;
use crate::app::state::{NotificationRow, ResourceEntry};
use crate::client::error::Problem;
use crate::client::journal::JournalRecord;
use crate::client::notifications::DiscardReport;
use crate::client::tracking::{Answer, StatusRef};
use crate::client::wire::{NotificationKind, StatusEntity};
use crate::client::{Delivery, Submitted};

/// One queue's approximate depth: (account, queue, count or error).
pub type Depth = (String, String, crate::app::state::DepthView);

/// Resources as fetched, already reduced to display data (no SAS).
#[derive(Debug, Clone, PartialEq)]
pub struct ResourcesSnapshot {
    pub entries: Vec<ResourceEntry>,
    pub fetched_at: DateTime<Utc>,
    pub token_fetched_at: DateTime<Utc>,
}

/// What a finished submit reports (the status reference's SAS is redacted in `Debug`).
#[derive(Debug, Clone, PartialEq)]
pub struct SubmittedInfo {
    pub source_id: String,
    /// Blob URL without its query (queued and direct), `None` when streamed.
    pub blob: Option<String>,
    /// The queue message id (queued only).
    pub message_id: Option<String>,
    pub format: String,
    pub raw_data_size: u64,
    pub status_ref: Option<StatusRef>,
    /// Copies posted again after a lost answer (`QueueDelivery::reposts`).
    pub reposts: u32,
    /// Posted with ingestIfNotExists (`SubmitRequest::if_not_exists`): Skipped is what was
    /// asked for.
    pub if_not_exists: bool,
    /// The engine's synchronous answer (streaming, direct): final at once.
    pub answer: Option<Answer>,
    pub delivered: Delivered,
    /// The REST queued operation to poll, when the source went that way with tracking.
    pub operation: Option<Box<crate::client::tracking::OperationRef>>,
    /// Which chunk of a split source this message carries (`Submitted::chunk`).
    pub chunk: Option<crate::client::ChunkOf>,
    /// The timeline's start (`Submitted::history`): requests and the post.
    pub history: Box<crate::client::timeline::History>,
}

impl SubmittedInfo {
    /// Display data of `s`, no secret kept but the status reference's (redacted in `Debug`).
    pub fn of(s: Submitted, if_not_exists: bool) -> Self {
        let (blob, message_id, status_ref, reposts) = match &s.delivery {
            Delivery::Queue(q) => (
                Some(q.blob.without_query()),
                Some(q.message_id.clone()),
                q.status_ref.clone(),
                q.reposts,
            ),
            Delivery::Direct { blob, .. } => (Some(blob.without_query()), None, None, 0),
            Delivery::Streamed { .. } | Delivery::RestQueued { .. } => (None, None, None, 0),
        };
        SubmittedInfo {
            history: Box::new(s.history()),
            source_id: s.source_id.to_string(),
            blob,
            message_id,
            format: s.format.wire_name(),
            raw_data_size: s.raw_data_size,
            status_ref,
            reposts,
            if_not_exists,
            answer: s.answer.clone(),
            delivered: Delivered::of(&s),
            operation: s.operation().map(Box::new),
            chunk: s.chunk,
        }
    }
}

/// What the mouse did (`--mouse`), over a pane the runtime found with `ui::pane_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pointer {
    /// Left button pressed.
    Click,
    WheelUp,
    WheelDown,
}

#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    Paste(String),
    Resize(u16, u16),
    /// A mouse action over `pane`.
    Pointer {
        pane: crate::app::state::Pane,
        action: Pointer,
    },
    /// The loop woke up at this time.
    Tick(DateTime<Utc>),
    Resources {
        at: DateTime<Utc>,
        result: Result<ResourcesSnapshot, Problem>,
    },
    /// Approximate depths per (account, object).
    Depths {
        at: DateTime<Utc>,
        result: Result<Vec<Depth>, Problem>,
    },
    Peeked {
        kind: NotificationKind,
        at: DateTime<Utc>,
        result: Result<Vec<NotificationRow>, Problem>,
    },
    Upload {
        id: u64,
        at: DateTime<Utc>,
        source_id: String,
        read: u64,
        sent: u64,
        total: u64,
    },
    /// A submit's messages: one for a source sent whole, one per chunk of a split one.
    Submitted {
        id: u64,
        at: DateTime<Utc>,
        result: Result<Vec<SubmittedInfo>, Problem>,
    },
    /// The submit dialog's pre-flight check: lines to show, or why it could not run.
    Checked {
        /// The request checked (`SubmitRequest::to_json`): an answer for a form since edited
        /// is dropped, so a prediction never shows against another file.
        asked: serde_json::Value,
        result: Result<Vec<String>, String>,
    },
    /// What forensics found for the failure `message_id`: lines to show, or why none.
    Forensics {
        message_id: String,
        result: Result<Vec<String>, String>,
    },
    TableStatus {
        id: u64,
        at: DateTime<Utc>,
        result: Result<Option<StatusEntity>, Problem>,
    },
    /// A REST queued operation's status, read for submission `id`.
    OperationStatus {
        id: u64,
        at: DateTime<Utc>,
        result: Result<crate::client::rest_queued::OperationStatus, Problem>,
    },
    Discarded {
        kind: NotificationKind,
        at: DateTime<Utc>,
        ids: Vec<String>,
        archive: std::path::PathBuf,
        result: Result<DiscardReport, Problem>,
    },
    Completions {
        input: String,
        candidates: Vec<String>,
    },
    /// A bulk operation started (its operation id) or was refused.
    BulkStarted {
        id: u64,
        at: DateTime<Utc>,
        result: Result<String, Problem>,
    },
    BulkStatus {
        at: DateTime<Utc>,
        ids: Vec<String>,
        result: Result<Vec<crate::client::bulk::BulkOperation>, Problem>,
    },
    /// A page of the status-table scan was read.
    ClusterProgress(crate::client::cluster_status::Progress),
    /// The status-table scan ended.
    ClusterScanned {
        at: DateTime<Utc>,
        result: Result<crate::client::cluster_status::ScanResult, Problem>,
    },
    BulkCanceled {
        operation_id: String,
        at: DateTime<Utc>,
        result: Result<crate::client::bulk::BulkOperation, Problem>,
    },
    /// The files `input` (a glob or folder) stands for (`client::discover`).
    Discovered {
        input: String,
        result: Result<Vec<crate::client::discover::Found>, String>,
    },
    /// What the inbox holds of a stream, newest first, and which of those are acknowledged.
    History {
        kind: NotificationKind,
        result: Result<(Vec<NotificationRow>, Vec<String>), String>,
    },
    /// The inbox recorded (or refused) an acknowledgement.
    Acknowledged {
        kind: NotificationKind,
        ack: bool,
        ids: Vec<String>,
        result: Result<crate::client::inbox::AckOutcome, String>,
    },
    /// A scan ended (`Effect::Scan`).
    Scanned {
        kind: NotificationKind,
        result: Result<crate::client::notifications::ScanReport, Problem>,
    },
    /// The inbox could not be opened or written: the streams go on without it.
    InboxProblem(String),
    /// An export was written (or not).
    Exported {
        path: std::path::PathBuf,
        rows: usize,
        what: String,
        result: Result<(), String>,
    },
    /// A submission from outside the dialog (the demo's traffic): rows, upload progress,
    /// tracking and the journal exactly as for a dialog submit.
    Submit(Box<crate::client::SubmitRequest>),
    /// Submissions restored from the journal (folded: last record per source).
    Journal(Vec<JournalRecord>),
    /// SIGTERM/SIGHUP or end of input.
    Quit,
}
