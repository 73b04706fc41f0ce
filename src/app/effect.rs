//! What `update()` asks the runtime to do. Data only; the executor performs them.

use std::path::PathBuf;

use crate::client::SubmitRequest;
use crate::client::journal::JournalRecord;
use crate::client::tracking::StatusRef;
use crate::client::wire::NotificationKind;

#[derive(Debug, Clone)]
pub enum Effect {
    LoadResources {
        force: bool,
    },
    QueueDepths,
    Peek {
        kind: NotificationKind,
        n: usize,
    },
    Submit {
        id: u64,
        req: Box<SubmitRequest>,
    },
    /// Read the status entity of submission `id`.
    TableStatus {
        id: u64,
        at: StatusRef,
    },
    /// Read the REST queued operation submission `id` belongs to.
    OperationStatus {
        id: u64,
        op: crate::client::tracking::OperationRef,
    },
    /// Receive, archive, then delete exactly these messages.
    Discard {
        kind: NotificationKind,
        ids: Vec<String>,
        archive: PathBuf,
    },
    Journal(Box<JournalRecord>),
    /// The pre-flight check of the submit dialog's source (`client::preflight`).
    Check {
        req: Box<SubmitRequest>,
    },
    /// Forensics of one failure (`client::forensics::fetch::investigate`).
    Forensics {
        message_id: String,
        notification: Box<crate::client::wire::Notification>,
    },
    /// Plan and post a bulk operation (`IngestClient::bulk_request`, `bulk_start`).
    BulkStart {
        id: u64,
        spec: Box<crate::client::bulk::BulkSpec>,
    },
    /// Read the counters of these bulk operations.
    BulkStatus {
        ids: Vec<String>,
    },
    BulkCancel {
        operation_id: String,
    },
    /// Scan the status tables the service offers (`client::cluster_status`), reporting pages.
    ClusterScan {
        opts: crate::client::cluster_status::ScanOptions,
    },
    /// List file-system entries starting with `input`.
    Complete {
        input: String,
    },
    /// List the files a glob or folder in the submit dialog stands for.
    Discover {
        input: String,
    },
    /// Write `contents` (already redacted) to `path` atomically (`app::export`).
    Export {
        path: PathBuf,
        contents: String,
        rows: usize,
        /// What was exported, for the status line (`failures CSV`).
        what: String,
    },
    /// Read the inbox's history of both streams (`Msg::History`).
    LoadInbox {
        /// Rows per stream at most (the ring's capacity).
        limit: usize,
    },
    /// Mark these notifications acknowledged (or not) in the inbox; never touches a queue.
    Acknowledge {
        kind: NotificationKind,
        ids: Vec<String>,
        ack: bool,
    },
    /// Read every notification of `kind` past the peek window into the inbox, deleting
    /// nothing (`IngestClient::scan`).
    Scan {
        kind: NotificationKind,
    },
    /// Put `text` on the terminal's clipboard through OSC 52: the event loop writes it to the
    /// terminal it draws on (`app::export::osc52`).
    Clipboard {
        text: String,
    },
}
