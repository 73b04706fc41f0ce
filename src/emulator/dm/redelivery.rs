//! Injected duplicate deliveries (`duplicate-delivery=P`). Azure queues deliver at least once:
//! a message whose visibility ran out before its delete comes back and is processed again
//! (Azure Queue Storage docs, "Get Messages": a message "becomes visible again" when its
//! visibility timeout expires before deletion). The emulator models the common case: the
//! second copy arrives after the first was processed, so it lands in a later batch and the
//! service ingests the source a second time (duplicates are only detected within a batch:
//! `BlobAlreadyReceived_BlobAlreadyFoundInBatch`), or skips it when `ingestIfNotExists`
//! matches. Its pop receipt is the stale one, so its delete fails as on Azure.

use std::collections::HashMap;

use crate::client::storage::{QueueMessage, SasUrl};

/// Copies of messages chosen for a second delivery.
#[derive(Debug, Default)]
pub struct Redeliveries {
    /// By message id, until the first copy is done.
    held: HashMap<String, (SasUrl, QueueMessage)>,
    /// Released: delivered at the next receive.
    ready: Vec<(SasUrl, QueueMessage)>,
}

impl Redeliveries {
    /// Keeps a copy of `m` to deliver again once its first copy is finished.
    pub fn hold(&mut self, queue: &SasUrl, m: &QueueMessage) {
        let mut copy = m.clone();
        copy.dequeue_count = copy.dequeue_count.saturating_add(1);
        self.held
            .insert(m.message_id.clone(), (queue.clone(), copy));
    }

    /// The first copy of `message_id` is finished: its second copy may come.
    pub fn release(&mut self, message_id: &str) {
        if let Some(copy) = self.held.remove(message_id) {
            self.ready.push(copy);
        }
    }

    pub fn take_ready(&mut self) -> Vec<(SasUrl, QueueMessage)> {
        std::mem::take(&mut self.ready)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_copy_comes_once_after_release() {
        let q = SasUrl::parse("http://127.0.0.1:1/acct/q?sig=x").unwrap();
        let m = QueueMessage {
            message_id: "m1".into(),
            insertion_time: None,
            expiration_time: None,
            pop_receipt: Some("r".into()),
            time_next_visible: None,
            dequeue_count: 1,
            text: "t".into(),
        };
        let mut r = Redeliveries::default();
        r.hold(&q, &m);
        assert!(r.take_ready().is_empty());
        r.release("other");
        assert!(r.take_ready().is_empty());
        r.release("m1");
        let ready = r.take_ready();
        assert_eq!(ready.len(), 1);
        assert_eq!(ready[0].1.dequeue_count, 2);
        r.release("m1");
        assert!(r.take_ready().is_empty());
    }
}
