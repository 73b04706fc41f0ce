//! Success/failure notification queues: peek across all queues of a kind, receive with a
//! visibility timeout, delete by pop receipt. Undecodable messages are kept raw.

use chrono::{DateTime, Utc};

use crate::client::storage::SasUrl;
use crate::client::wire::{DecodedNotification, NotificationKind};

/// One message read from a notification queue.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedNotification {
    pub kind: NotificationKind,
    /// The queue it was read from (SAS kept for deleting; `Display` redacts).
    pub queue: SasUrl,
    pub message_id: String,
    /// Present only after a receive (consume); needed to delete.
    pub pop_receipt: Option<String>,
    pub dequeue_count: u32,
    pub insertion_time: Option<DateTime<Utc>>,
    pub decoded: DecodedNotification,
}

/// Which notifications a discard removes.
#[derive(Debug, Clone, PartialEq)]
pub enum DiscardSelector {
    /// Everything currently in the queues of that kind.
    All,
    /// Messages whose `IngestionSourceId` equals this.
    SourceId(String),
    /// These message ids (what the TUI shows selected or filtered).
    MessageIds(std::collections::HashSet<String>),
    /// At most this many, oldest first.
    Count(usize),
}

/// The result of a discard: what was archived and deleted, and what could not be.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DiscardReport {
    pub archived: usize,
    pub deleted: usize,
    /// Messages received but not matching (they reappear after the visibility timeout).
    pub released: usize,
    /// Per-message errors (message id, error text); those messages stay in the queue.
    pub errors: Vec<(String, String)>,
}
