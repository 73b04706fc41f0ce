//! Queue REST: Put, Get (dequeue), Peek, Delete Message, Get Queue Metadata, Create Queue.

use chrono::{DateTime, Utc};

use super::{SasUrl, Storage};
use crate::client::error::Result;

/// One message as Azure returns it. `pop_receipt`/`time_next_visible` only after Put or Get.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueMessage {
    pub message_id: String,
    pub insertion_time: Option<DateTime<Utc>>,
    pub expiration_time: Option<DateTime<Utc>>,
    pub pop_receipt: Option<String>,
    pub time_next_visible: Option<DateTime<Utc>>,
    pub dequeue_count: u32,
    /// `MessageText` exactly as stored (XML-unescaped); empty for a Put response.
    pub text: String,
}

impl Storage {
    /// Put Message. `text` is sent as is (callers base64 what must be base64).
    pub async fn put_message(
        &self,
        queue: &SasUrl,
        text: &str,
        visibility_timeout: Option<u32>,
        ttl_secs: Option<i64>,
    ) -> Result<QueueMessage> {
        todo!("{queue} {text} {visibility_timeout:?} {ttl_secs:?}")
    }
    /// Get Messages: dequeue up to `n` (1..=32) with a visibility timeout in seconds.
    pub async fn get_messages(
        &self,
        queue: &SasUrl,
        n: u32,
        visibility_timeout: u32,
    ) -> Result<Vec<QueueMessage>> {
        todo!("{queue} {n} {visibility_timeout}")
    }
    /// Peek Messages: up to `n` (1..=32), changes nothing.
    pub async fn peek_messages(&self, queue: &SasUrl, n: u32) -> Result<Vec<QueueMessage>> {
        todo!("{queue} {n}")
    }
    /// Delete Message by id and pop receipt.
    pub async fn delete_message(
        &self,
        queue: &SasUrl,
        message_id: &str,
        pop_receipt: &str,
    ) -> Result<()> {
        todo!("{queue} {message_id} {pop_receipt}")
    }
    /// `x-ms-approximate-messages-count` from Get Queue Metadata.
    pub async fn approximate_message_count(&self, queue: &SasUrl) -> Result<u64> {
        todo!("{queue}")
    }
    /// Create Queue; "already exists" is not an error.
    pub async fn create_queue(&self, queue: &SasUrl) -> Result<()> {
        todo!("{queue}")
    }
}
