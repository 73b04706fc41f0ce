//! Queues with Azure's semantics: FIFO by insertion, invisible until `TimeNextVisible`, a new
//! pop receipt per dequeue, `DequeueCount`, TTL expiry and an approximate count.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};

use super::{Store, StoreError, StoreResult, lock};

/// Azure's limits: 7 days of visibility timeout, 64 KiB of message text, 32 per call.
pub const MAX_VISIBILITY_SECS: i64 = 604_800;
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
pub const MAX_MESSAGES_PER_CALL: u32 = 32;
/// Default time-to-live of a message: 7 days.
pub const DEFAULT_TTL_SECS: i64 = 604_800;

/// A queue's messages by insertion sequence (FIFO; a dequeued message keeps its place) with
/// an index by id, so a delete or update costs a lookup, not a scan and a shift of everything
/// behind it (10,000 queued notifications made every delete move the rest).
#[derive(Debug, Default)]
pub(crate) struct Queue {
    metadata: BTreeMap<String, String>,
    messages: BTreeMap<u64, Message>,
    by_id: HashMap<String, u64>,
    next_seq: u64,
    /// The earliest expiry of any message: nothing needs purging before then.
    earliest_expiry: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
struct Message {
    id: String,
    text: String,
    inserted: DateTime<Utc>,
    /// `None` = never expires (`messagettl=-1`).
    expires: Option<DateTime<Utc>>,
    next_visible: DateTime<Utc>,
    pop_receipt: String,
    dequeue_count: u32,
}

impl Message {
    fn expired(&self, now: DateTime<Utc>) -> bool {
        self.expires.is_some_and(|e| e <= now)
    }
    fn view(&self, with_receipt: bool, with_text: bool) -> MessageView {
        MessageView {
            message_id: self.id.clone(),
            insertion_time: self.inserted,
            expiration_time: self.expires,
            pop_receipt: with_receipt.then(|| self.pop_receipt.clone()),
            time_next_visible: with_receipt.then_some(self.next_visible),
            dequeue_count: self.dequeue_count,
            text: with_text.then(|| self.text.clone()),
        }
    }
}

/// One message as the service reports it; which fields are present depends on the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageView {
    pub message_id: String,
    pub insertion_time: DateTime<Utc>,
    /// `None` = never expires (shown as 31 Dec 9999 on the wire).
    pub expiration_time: Option<DateTime<Utc>>,
    pub pop_receipt: Option<String>,
    pub time_next_visible: Option<DateTime<Utc>>,
    pub dequeue_count: u32,
    pub text: Option<String>,
}

/// Query options of Put Message (seconds).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PutOptions {
    pub visibility_timeout: Option<i64>,
    /// `-1` = never expires.
    pub ttl: Option<i64>,
}

fn queue_not_found() -> StoreError {
    StoreError::new(404, "QueueNotFound", "The specified queue does not exist.")
}

fn message_not_found() -> StoreError {
    StoreError::new(
        404,
        "MessageNotFound",
        "The specified message does not exist.",
    )
}

/// Opaque pop receipt made of URL-safe characters, so clients that forget to encode it work.
fn new_pop_receipt() -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(uuid::Uuid::new_v4().as_bytes())
}

/// Checks a message's text length (UTF-8 bytes after XML unescaping).
pub fn check_text_len(text: &str) -> StoreResult<()> {
    if text.len() > MAX_MESSAGE_BYTES {
        // 413, as Azurite answers it (`src/queue/handlers/MessagesHandler.ts`, enqueue:
        // `getRequestBodyTooLarge` with MaxLimit 65536); Azure's queue error table also lists
        // a 400 `MessageTooLarge`, which Azurite defines but does not use for this.
        return Err(StoreError::new(
            413,
            "RequestBodyTooLarge",
            format!(
                "The request body is too large and exceeds the maximum permissible limit of {MAX_MESSAGE_BYTES} bytes."
            ),
        ));
    }
    Ok(())
}

impl Queue {
    fn purge(&mut self, now: DateTime<Utc>) {
        if self.earliest_expiry.is_none_or(|e| e > now) {
            return;
        }
        let by_id = &mut self.by_id;
        self.messages.retain(|_, m| {
            let keep = !m.expired(now);
            if !keep {
                by_id.remove(&m.id);
            }
            keep
        });
        self.earliest_expiry = self.messages.values().filter_map(|m| m.expires).min();
    }

    fn push(&mut self, msg: Message) {
        if let Some(e) = msg.expires {
            self.earliest_expiry = Some(self.earliest_expiry.map_or(e, |x| x.min(e)));
        }
        self.by_id.insert(msg.id.clone(), self.next_seq);
        self.messages.insert(self.next_seq, msg);
        self.next_seq += 1;
    }

    fn get_mut(&mut self, id: &str) -> Option<&mut Message> {
        let seq = self.by_id.get(id)?;
        self.messages.get_mut(seq)
    }

    fn remove(&mut self, id: &str) {
        if let Some(seq) = self.by_id.remove(id) {
            self.messages.remove(&seq);
        }
    }

    fn clear(&mut self) {
        self.messages.clear();
        self.by_id.clear();
        self.earliest_expiry = None;
    }
}

impl Store {
    fn with_queue<T>(
        &self,
        name: &str,
        now: DateTime<Utc>,
        f: impl FnOnce(&mut Queue) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let mut qs = lock(&self.queues);
        let q = qs.get_mut(name).ok_or_else(queue_not_found)?;
        q.purge(now);
        f(q)
    }

    /// Create Queue: `Ok(true)` when created, `Ok(false)` when it exists with the same
    /// metadata (Azure answers 204), 409 `QueueAlreadyExists` when the metadata differs.
    pub fn create_queue_with(
        &self,
        name: &str,
        metadata: BTreeMap<String, String>,
    ) -> StoreResult<bool> {
        let mut qs = lock(&self.queues);
        match qs.get(name) {
            Some(q) if q.metadata == metadata => Ok(false),
            Some(_) => Err(StoreError::new(
                409,
                "QueueAlreadyExists",
                "The specified queue already exists.",
            )),
            None => {
                qs.insert(
                    name.to_string(),
                    Queue {
                        metadata,
                        ..Queue::default()
                    },
                );
                Ok(true)
            }
        }
    }

    pub fn delete_queue(&self, name: &str) -> StoreResult<()> {
        lock(&self.queues)
            .remove(name)
            .map(|_| ())
            .ok_or_else(queue_not_found)
    }

    /// Approximate message count (unexpired, visible or not) and metadata.
    pub fn queue_metadata(
        &self,
        name: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<(u64, BTreeMap<String, String>)> {
        self.with_queue(name, now, |q| {
            Ok((q.messages.len() as u64, q.metadata.clone()))
        })
    }

    /// Put Message; the returned view has a pop receipt and `TimeNextVisible` but no text.
    pub fn put_message(
        &self,
        name: &str,
        text: &str,
        opts: PutOptions,
        now: DateTime<Utc>,
    ) -> StoreResult<MessageView> {
        check_text_len(text)?;
        let ttl = opts.ttl.unwrap_or(DEFAULT_TTL_SECS);
        if ttl == 0 || ttl < -1 {
            return Err(StoreError::out_of_range("messagettl"));
        }
        let vis = opts.visibility_timeout.unwrap_or(0);
        if !(0..=MAX_VISIBILITY_SECS).contains(&vis) || (ttl > 0 && vis >= ttl) {
            return Err(StoreError::out_of_range("visibilitytimeout"));
        }
        let expires = if ttl == -1 {
            None
        } else {
            // Saturate: an absurd ttl means "practically never".
            Some(
                Duration::try_seconds(ttl)
                    .and_then(|d| now.checked_add_signed(d))
                    .unwrap_or(DateTime::<Utc>::MAX_UTC),
            )
        };
        let msg = Message {
            id: uuid::Uuid::new_v4().to_string(),
            text: text.to_string(),
            inserted: now,
            expires,
            next_visible: now + Duration::seconds(vis),
            pop_receipt: new_pop_receipt(),
            dequeue_count: 0,
        };
        let view = msg.view(true, false);
        self.with_queue(name, now, |q| {
            q.push(msg);
            Ok(view)
        })
    }

    /// Get Messages: dequeue up to `n` visible messages, hiding them for `visibility_secs`.
    pub fn get_messages(
        &self,
        name: &str,
        n: u32,
        visibility_secs: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<MessageView>> {
        if !(1..=MAX_MESSAGES_PER_CALL).contains(&n) {
            return Err(StoreError::out_of_range("numofmessages"));
        }
        if !(1..=MAX_VISIBILITY_SECS).contains(&visibility_secs) {
            return Err(StoreError::out_of_range("visibilitytimeout"));
        }
        self.with_queue(name, now, |q| {
            let out = q
                .messages
                .values_mut()
                .filter(|m| m.next_visible <= now)
                .take(n as usize)
                .map(|m| {
                    m.dequeue_count = m.dequeue_count.saturating_add(1);
                    m.pop_receipt = new_pop_receipt();
                    m.next_visible = now + Duration::seconds(visibility_secs);
                    m.view(true, true)
                })
                .collect();
            Ok(out)
        })
    }

    /// Peek Messages: up to `n` visible messages, changing nothing; no pop receipts.
    pub fn peek_messages(
        &self,
        name: &str,
        n: u32,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<MessageView>> {
        if !(1..=MAX_MESSAGES_PER_CALL).contains(&n) {
            return Err(StoreError::out_of_range("numofmessages"));
        }
        let qs = lock(&self.queues);
        let q = qs.get(name).ok_or_else(queue_not_found)?;
        Ok(q.messages
            .values()
            .filter(|m| !m.expired(now) && m.next_visible <= now)
            .take(n as usize)
            .map(|m| m.view(false, true))
            .collect())
    }

    /// Delete Message: 404 `MessageNotFound`, or 400 `PopReceiptMismatch` when it was
    /// dequeued again since `pop_receipt` was issued.
    pub fn delete_message(
        &self,
        name: &str,
        id: &str,
        pop_receipt: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.with_queue(name, now, |q| {
            let m = q.get_mut(id).ok_or_else(message_not_found)?;
            if m.pop_receipt != pop_receipt {
                return Err(pop_receipt_mismatch());
            }
            q.remove(id);
            Ok(())
        })
    }

    /// Update Message: new visibility (and text if given); returns the new pop receipt and
    /// `TimeNextVisible`.
    pub fn update_message(
        &self,
        name: &str,
        id: &str,
        pop_receipt: &str,
        visibility_secs: i64,
        text: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<(String, DateTime<Utc>)> {
        if !(0..=MAX_VISIBILITY_SECS).contains(&visibility_secs) {
            return Err(StoreError::out_of_range("visibilitytimeout"));
        }
        if let Some(t) = text {
            check_text_len(t)?;
        }
        self.with_queue(name, now, |q| {
            let m = q.get_mut(id).ok_or_else(message_not_found)?;
            if m.pop_receipt != pop_receipt {
                return Err(pop_receipt_mismatch());
            }
            if let Some(t) = text {
                m.text = t.to_string();
            }
            m.pop_receipt = new_pop_receipt();
            m.next_visible = now + Duration::seconds(visibility_secs);
            Ok((m.pop_receipt.clone(), m.next_visible))
        })
    }

    /// Clear Messages.
    pub fn clear_messages(&self, name: &str, now: DateTime<Utc>) -> StoreResult<()> {
        self.with_queue(name, now, |q| {
            q.clear();
            Ok(())
        })
    }
}

fn pop_receipt_mismatch() -> StoreError {
    StoreError::new(
        400,
        "PopReceiptMismatch",
        "The specified pop receipt did not match the pop receipt for a dequeued message.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + secs, 0).unwrap()
    }

    fn store() -> Store {
        let s = Store::new();
        s.create_queue("q");
        s
    }

    #[test]
    fn fifo_visibility_and_dequeue_count() {
        let s = store();
        for text in ["a", "b", "c"] {
            s.put_message("q", text, PutOptions::default(), t(0))
                .unwrap();
        }
        let got = s.get_messages("q", 2, 30, t(1)).unwrap();
        let texts: Vec<_> = got.iter().map(|m| m.text.clone().unwrap()).collect();
        assert_eq!(texts, ["a", "b"]);
        assert!(got.iter().all(|m| m.dequeue_count == 1));
        assert_eq!(got[0].time_next_visible, Some(t(31)));
        // Only "c" is visible until the timeout passes.
        let peek = s.peek_messages("q", 32, t(30)).unwrap();
        assert_eq!(peek.len(), 1);
        assert_eq!(peek[0].text.as_deref(), Some("c"));
        assert_eq!(peek[0].pop_receipt, None);
        // At t=31 "a" and "b" reappear, in insertion order, and count again when dequeued.
        let again = s.get_messages("q", 32, 10, t(31)).unwrap();
        let texts: Vec<_> = again.iter().map(|m| m.text.clone().unwrap()).collect();
        assert_eq!(texts, ["a", "b", "c"]);
        assert_eq!(again[0].dequeue_count, 2);
        assert_eq!(again[2].dequeue_count, 1);
        assert_eq!(s.queue_metadata("q", t(31)).unwrap().0, 3);
    }

    #[test]
    fn peek_changes_nothing() {
        let s = store();
        s.put_message("q", "a", PutOptions::default(), t(0))
            .unwrap();
        let p1 = s.peek_messages("q", 1, t(1)).unwrap();
        let p2 = s.peek_messages("q", 1, t(1)).unwrap();
        assert_eq!(p1, p2);
        assert_eq!(p1[0].dequeue_count, 0);
        assert_eq!(s.get_messages("q", 1, 30, t(1)).unwrap().len(), 1);
    }

    #[test]
    fn pop_receipt_mismatch_after_redequeue() {
        let s = store();
        s.put_message("q", "a", PutOptions::default(), t(0))
            .unwrap();
        let first = s.get_messages("q", 1, 5, t(0)).unwrap().remove(0);
        let second = s.get_messages("q", 1, 5, t(5)).unwrap().remove(0);
        assert_eq!(first.message_id, second.message_id);
        assert_ne!(first.pop_receipt, second.pop_receipt);
        let err = s
            .delete_message(
                "q",
                &first.message_id,
                first.pop_receipt.as_deref().unwrap(),
                t(6),
            )
            .unwrap_err();
        assert_eq!((err.status, err.code), (400, "PopReceiptMismatch"));
        s.delete_message(
            "q",
            &second.message_id,
            second.pop_receipt.as_deref().unwrap(),
            t(6),
        )
        .unwrap();
        let err = s
            .delete_message(
                "q",
                &second.message_id,
                second.pop_receipt.as_deref().unwrap(),
                t(6),
            )
            .unwrap_err();
        assert_eq!((err.status, err.code), (404, "MessageNotFound"));
        assert_eq!(s.queue_metadata("q", t(6)).unwrap().0, 0);
    }

    #[test]
    fn put_receipt_deletes_and_initial_visibility_hides() {
        let s = store();
        let opts = PutOptions {
            visibility_timeout: Some(10),
            ttl: None,
        };
        let put = s.put_message("q", "a", opts, t(0)).unwrap();
        assert!(s.peek_messages("q", 1, t(9)).unwrap().is_empty());
        assert_eq!(s.peek_messages("q", 1, t(10)).unwrap().len(), 1);
        s.delete_message(
            "q",
            &put.message_id,
            put.pop_receipt.as_deref().unwrap(),
            t(10),
        )
        .unwrap();
    }

    #[test]
    fn ttl_expiry_and_never_expiring() {
        let s = store();
        let short = PutOptions {
            visibility_timeout: None,
            ttl: Some(60),
        };
        let forever = PutOptions {
            visibility_timeout: None,
            ttl: Some(-1),
        };
        s.put_message("q", "short", short, t(0)).unwrap();
        let f = s.put_message("q", "forever", forever, t(0)).unwrap();
        assert_eq!(f.expiration_time, None);
        assert_eq!(s.queue_metadata("q", t(59)).unwrap().0, 2);
        assert_eq!(s.queue_metadata("q", t(60)).unwrap().0, 1);
        let left = s.peek_messages("q", 32, t(10_000_000)).unwrap();
        assert_eq!(left[0].text.as_deref(), Some("forever"));
        // The default TTL is 7 days.
        let d = s
            .put_message("q", "d", PutOptions::default(), t(0))
            .unwrap();
        assert_eq!(d.expiration_time, Some(t(DEFAULT_TTL_SECS)));
    }

    #[test]
    fn limits_are_enforced() {
        let s = store();
        for n in [0, 33] {
            assert_eq!(
                s.get_messages("q", n, 30, t(0)).unwrap_err().code,
                "OutOfRangeQueryParameterValue"
            );
            assert_eq!(s.peek_messages("q", n, t(0)).unwrap_err().status, 400);
        }
        assert_eq!(s.get_messages("q", 32, 0, t(0)).unwrap_err().status, 400);
        let big = "x".repeat(MAX_MESSAGE_BYTES + 1);
        let err = s
            .put_message("q", &big, PutOptions::default(), t(0))
            .unwrap_err();
        assert_eq!((err.status, err.code), (413, "RequestBodyTooLarge"));
        let ok = "x".repeat(MAX_MESSAGE_BYTES);
        s.put_message("q", &ok, PutOptions::default(), t(0))
            .unwrap();
        let bad_vis = PutOptions {
            visibility_timeout: Some(100),
            ttl: Some(50),
        };
        assert_eq!(
            s.put_message("q", "x", bad_vis, t(0)).unwrap_err().status,
            400
        );
        let bad_ttl = PutOptions {
            visibility_timeout: None,
            ttl: Some(0),
        };
        assert_eq!(
            s.put_message("q", "x", bad_ttl, t(0)).unwrap_err().status,
            400
        );
        assert_eq!(
            s.put_message("nope", "x", PutOptions::default(), t(0))
                .unwrap_err()
                .code,
            "QueueNotFound"
        );
    }

    #[test]
    fn update_message_extends_visibility_and_rotates_receipt() {
        let s = store();
        s.put_message("q", "a", PutOptions::default(), t(0))
            .unwrap();
        let m = s.get_messages("q", 1, 5, t(0)).unwrap().remove(0);
        let (receipt, next) = s
            .update_message(
                "q",
                &m.message_id,
                m.pop_receipt.as_deref().unwrap(),
                100,
                Some("b"),
                t(1),
            )
            .unwrap();
        assert_eq!(next, t(101));
        assert!(s.peek_messages("q", 1, t(50)).unwrap().is_empty());
        assert_eq!(
            s.delete_message("q", &m.message_id, m.pop_receipt.as_deref().unwrap(), t(2))
                .unwrap_err()
                .code,
            "PopReceiptMismatch"
        );
        let peek = s.peek_messages("q", 1, t(101)).unwrap();
        assert_eq!(peek[0].text.as_deref(), Some("b"));
        s.delete_message("q", &m.message_id, &receipt, t(101))
            .unwrap();
    }

    #[test]
    fn create_is_idempotent_with_same_metadata_and_clear_empties() {
        let s = Store::new();
        assert_eq!(s.create_queue_with("q", BTreeMap::new()), Ok(true));
        assert_eq!(s.create_queue_with("q", BTreeMap::new()), Ok(false));
        let md = BTreeMap::from([("k".to_string(), "v".to_string())]);
        assert_eq!(s.create_queue_with("q", md).unwrap_err().status, 409);
        s.put_message("q", "a", PutOptions::default(), t(0))
            .unwrap();
        s.clear_messages("q", t(0)).unwrap();
        assert_eq!(s.queue_metadata("q", t(0)).unwrap().0, 0);
    }
}
