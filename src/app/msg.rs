//! Everything that can happen: input, time, and results of effects. Time arrives here; `update()`
//! never reads a clock.

use chrono::{DateTime, Utc};
use crossterm::event::KeyEvent;

use crate::app::state::{NotificationRow, ResourceEntry};
use crate::client::error::Problem;
use crate::client::journal::JournalRecord;
use crate::client::notifications::DiscardReport;
use crate::client::tracking::StatusRef;
use crate::client::wire::{NotificationKind, StatusEntity};

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
    pub blob: String,
    pub message_id: String,
    pub format: String,
    pub raw_data_size: u64,
    pub status_ref: Option<StatusRef>,
    /// Copies posted again after a lost answer (`Submitted::reposts`).
    pub reposts: u32,
    /// Posted with ingestIfNotExists (`SubmitRequest::if_not_exists`): Skipped is what was
    /// asked for.
    pub if_not_exists: bool,
    /// Which chunk of a split source this message carries (`Submitted::chunk`).
    pub chunk: Option<crate::client::ChunkOf>,
}

#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    Paste(String),
    Resize(u16, u16),
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
    TableStatus {
        id: u64,
        at: DateTime<Utc>,
        result: Result<Option<StatusEntity>, Problem>,
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
    /// The files `input` (a glob or folder) stands for (`client::discover`).
    Discovered {
        input: String,
        result: Result<Vec<crate::client::discover::Found>, String>,
    },
    /// Submissions restored from the journal (folded: last record per source).
    Journal(Vec<JournalRecord>),
    /// SIGTERM/SIGHUP or end of input.
    Quit,
}
