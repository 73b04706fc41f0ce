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
