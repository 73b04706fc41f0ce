//! What `update()` asks the runtime to do. Data only; the executor performs them.

use std::path::PathBuf;

use crate::app::state::JournalRecord;
use crate::client::SubmitRequest;
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
    TableStatus {
        id: u64,
        table: String,
        partition_key: String,
        row_key: String,
    },
    /// Receive, archive, then delete exactly these messages.
    Discard {
        kind: NotificationKind,
        ids: Vec<String>,
        archive: PathBuf,
    },
    Journal(Box<JournalRecord>),
    /// List file-system entries starting with `input`.
    Complete {
        input: String,
    },
}
