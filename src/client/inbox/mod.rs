//! The inbox: every success/failure notification kingest has seen, per cluster, kept in one
//! SQLite file in the state dir (`inbox.sqlite3`, next to the journal) so that what a peek or a
//! scan saw outlives the queue's 32-message window and the service's deletion of old messages.
//! [`store`] holds the schema, retention and queries; the scan that fills it from past the peek
//! window is `client::notifications::scan`.
//!
//! The file is an operator's too: `sqlite3 inbox.sqlite3 'select * from notifications_readable'`.
//! A corrupt or unreadable file is an error of [`Inbox::open`] only; callers carry on without
//! the inbox.

mod store;

pub use store::{
    AckFilter, AckOutcome, GroupBy, Inbox, InboxEntry, InboxGroup, InboxQuery, InboxSettings,
    RecordOutcome, SCHEMA_VERSION, SPARK_MINUTES,
};

use std::path::{Path, PathBuf};

/// The inbox file under `state_dir` (one for every cluster: rows carry the ingest URL).
pub fn path_in_state_dir(state_dir: &Path) -> PathBuf {
    state_dir.join("inbox.sqlite3")
}
