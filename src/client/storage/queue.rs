//! Queue REST: Put, Get (dequeue), Peek, Update, Delete Message, Get Queue Metadata, Create
//! Queue.

use chrono::{DateTime, Utc};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::http::tolerate;
use super::{SasUrl, Storage, xml};
use crate::client::error::{Error, Result};

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

/// Characters kept raw in a message id path segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.');

/// Get Messages allows a visibility timeout of 1 s to 7 days (Update Message: 0 s to 7 days).
const MAX_VISIBILITY_SECS: u32 = 7 * 24 * 3600;

/// What Update Message answers: the receipt to use from now on and when the message shows.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdatedMessage {
    pub pop_receipt: String,
    pub time_next_visible: Option<DateTime<Utc>>,
}

fn clamp_count(n: u32) -> String {
    n.clamp(1, 32).to_string()
}

fn parse_time(s: Option<&String>) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc2822(s?.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Parses a `QueueMessagesList` body (Put, Get and Peek answers).
pub(crate) fn parse_messages(body: &str) -> Result<Vec<QueueMessage>> {
    xml::records(body, "QueueMessage")?
        .into_iter()
        .map(|mut rec| {
            let message_id = rec
                .remove("MessageId")
                .filter(|id| !id.is_empty())
                .ok_or_else(|| Error::BadResponse("queue message without MessageId".into()))?;
            let dequeue_count = match rec.get("DequeueCount") {
                Some(c) => c
                    .trim()
                    .parse()
                    .map_err(|_| Error::BadResponse(format!("bad DequeueCount {:?}", c.trim())))?,
                None => 0,
            };
            Ok(QueueMessage {
                insertion_time: parse_time(rec.get("InsertionTime")),
                expiration_time: parse_time(rec.get("ExpirationTime")),
                time_next_visible: parse_time(rec.get("TimeNextVisible")),
                pop_receipt: rec.remove("PopReceipt").filter(|p| !p.is_empty()),
                text: rec.remove("MessageText").unwrap_or_default(),
                dequeue_count,
                message_id,
            })
        })
        .collect()
}

fn body_text(reply: &super::http::Reply) -> Result<&str> {
    std::str::from_utf8(&reply.body)
        .map_err(|_| Error::BadResponse("queue answer is not UTF-8".into()))
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
        let vt = visibility_timeout.map(|v| v.to_string());
        let ttl = ttl_secs.map(|v| v.to_string());
        let mut params = Vec::new();
        if let Some(v) = &vt {
            params.push(("visibilitytimeout", v.as_str()));
        }
        if let Some(v) = &ttl {
            params.push(("messagettl", v.as_str()));
        }
        let url = queue.request_url("/messages", &params);
        let body = xml::document("QueueMessage", &[("MessageText", text)]);
        let reply = self
            .execute(|http| {
                http.post(url.clone())
                    .header("Content-Type", "application/xml")
                    .header("Accept", "application/xml")
                    .body(body.clone())
            })
            .await?;
        let mut msgs = parse_messages(body_text(&reply)?)?;
        if msgs.is_empty() {
            return Err(Error::BadResponse("Put Message answered no message".into()));
        }
        Ok(msgs.swap_remove(0))
    }

    /// Get Messages: dequeue up to `n` (1..=32) with a visibility timeout in seconds.
    pub async fn get_messages(
        &self,
        queue: &SasUrl,
        n: u32,
        visibility_timeout: u32,
    ) -> Result<Vec<QueueMessage>> {
        let n = clamp_count(n);
        let vt = visibility_timeout.clamp(1, MAX_VISIBILITY_SECS).to_string();
        let url = queue.request_url(
            "/messages",
            &[("numofmessages", &n), ("visibilitytimeout", &vt)],
        );
        let reply = self
            .execute(|http| http.get(url.clone()).header("Accept", "application/xml"))
            .await?;
        parse_messages(body_text(&reply)?)
    }

    /// Peek Messages: up to `n` (1..=32), changes nothing.
    pub async fn peek_messages(&self, queue: &SasUrl, n: u32) -> Result<Vec<QueueMessage>> {
        let n = clamp_count(n);
        let url = queue.request_url("/messages", &[("peekonly", "true"), ("numofmessages", &n)]);
        let reply = self
            .execute(|http| http.get(url.clone()).header("Accept", "application/xml"))
            .await?;
        parse_messages(body_text(&reply)?)
    }

    /// Update Message, visibility only: hide the message for `visibility_timeout` more seconds
    /// from now (0 = visible at once). Needs `u` in the queue SAS. The old pop receipt stops
    /// working; the answer's `x-ms-popreceipt` replaces it
    /// (<https://learn.microsoft.com/rest/api/storageservices/update-message>).
    pub async fn update_message(
        &self,
        queue: &SasUrl,
        message_id: &str,
        pop_receipt: &str,
        visibility_timeout: u32,
    ) -> Result<UpdatedMessage> {
        let suffix = format!("/messages/{}", utf8_percent_encode(message_id, SEGMENT));
        let vt = visibility_timeout.min(MAX_VISIBILITY_SECS).to_string();
        let url = queue.request_url(
            &suffix,
            &[("popreceipt", pop_receipt), ("visibilitytimeout", &vt)],
        );
        // No body: the text stays as it is.
        let reply = self
            .execute(|http| {
                http.put(url.clone())
                    .header(reqwest::header::CONTENT_LENGTH, 0)
                    .body(bytes::Bytes::new())
            })
            .await?;
        let pop_receipt = reply
            .header("x-ms-popreceipt")
            .filter(|p| !p.is_empty())
            .ok_or_else(|| Error::BadResponse("Update Message answered no pop receipt".into()))?
            .to_string();
        let next = reply.header("x-ms-time-next-visible").map(str::to_string);
        Ok(UpdatedMessage {
            pop_receipt,
            time_next_visible: parse_time(next.as_ref()),
        })
    }

    /// Delete Message by id and pop receipt.
    pub async fn delete_message(
        &self,
        queue: &SasUrl,
        message_id: &str,
        pop_receipt: &str,
    ) -> Result<()> {
        let suffix = format!("/messages/{}", utf8_percent_encode(message_id, SEGMENT));
        let url = queue.request_url(&suffix, &[("popreceipt", pop_receipt)]);
        self.execute(|http| http.delete(url.clone())).await?;
        Ok(())
    }

    /// `x-ms-approximate-messages-count` from Get Queue Metadata.
    pub async fn approximate_message_count(&self, queue: &SasUrl) -> Result<u64> {
        let url = queue.request_url("", &[("comp", "metadata")]);
        let reply = self.execute(|http| http.get(url.clone())).await?;
        let count = reply
            .header("x-ms-approximate-messages-count")
            .ok_or_else(|| Error::BadResponse("queue metadata without a message count".into()))?;
        count
            .trim()
            .parse()
            .map_err(|_| Error::BadResponse(format!("bad approximate message count {count:?}")))
    }

    /// Create Queue; "already exists" is not an error.
    pub async fn create_queue(&self, queue: &SasUrl) -> Result<()> {
        let url = queue.request_url("", &[]);
        let result = self
            .execute(|http| {
                http.put(url.clone())
                    .header(reqwest::header::CONTENT_LENGTH, 0)
                    .body(bytes::Bytes::new())
            })
            .await;
        tolerate(result, &["QueueAlreadyExists"])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GET_XML: &str = "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?><QueueMessagesList><QueueMessage><MessageId>8ad1b3a4-6b0b-4b8e-9c5a-1f0e2c3d4e5f</MessageId><InsertionTime>Fri, 09 Oct 2009 21:04:30 GMT</InsertionTime><ExpirationTime>Fri, 16 Oct 2009 21:04:30 GMT</ExpirationTime><PopReceipt>AgAAAAMAAAAAAAAA+2/Bg4VL2gE=</PopReceipt><TimeNextVisible>Fri, 09 Oct 2009 23:29:20 GMT</TimeNextVisible><DequeueCount>2</DequeueCount><MessageText>aMOpbGxvIDwmPg==</MessageText></QueueMessage><QueueMessage><MessageId>m2</MessageId><InsertionTime>Fri, 09 Oct 2009 21:04:31 GMT</InsertionTime><ExpirationTime>Fri, 16 Oct 2009 21:04:31 GMT</ExpirationTime><DequeueCount>0</DequeueCount><MessageText>h&#233;llo &lt;&amp;&gt;</MessageText></QueueMessage></QueueMessagesList>";

    const PUT_XML: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<QueueMessagesList>\n  <QueueMessage>\n    <MessageId>m1</MessageId>\n    <InsertionTime>Wed, 01 Jan 2025 00:00:00 GMT</InsertionTime>\n    <ExpirationTime>Wed, 08 Jan 2025 00:00:00 GMT</ExpirationTime>\n    <PopReceipt>pr1</PopReceipt>\n    <TimeNextVisible>Wed, 01 Jan 2025 00:00:00 GMT</TimeNextVisible>\n  </QueueMessage>\n</QueueMessagesList>";

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn parses_get_response() {
        let msgs = parse_messages(GET_XML).unwrap();
        assert_eq!(msgs.len(), 2);
        let m = &msgs[0];
        assert_eq!(m.message_id, "8ad1b3a4-6b0b-4b8e-9c5a-1f0e2c3d4e5f");
        assert_eq!(m.insertion_time, Some(t("2009-10-09T21:04:30Z")));
        assert_eq!(m.expiration_time, Some(t("2009-10-16T21:04:30Z")));
        assert_eq!(m.time_next_visible, Some(t("2009-10-09T23:29:20Z")));
        assert_eq!(
            m.pop_receipt.as_deref(),
            Some("AgAAAAMAAAAAAAAA+2/Bg4VL2gE=")
        );
        assert_eq!(m.dequeue_count, 2);
        assert_eq!(m.text, "aMOpbGxvIDwmPg==");
        // Peek shape: no receipt; entities resolved.
        assert_eq!(msgs[1].pop_receipt, None);
        assert_eq!(msgs[1].time_next_visible, None);
        assert_eq!(msgs[1].text, "héllo <&>");
    }

    #[test]
    fn parses_put_response_with_whitespace() {
        let msgs = parse_messages(PUT_XML).unwrap();
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0].message_id, "m1");
        assert_eq!(msgs[0].pop_receipt.as_deref(), Some("pr1"));
        assert_eq!(msgs[0].dequeue_count, 0);
        assert_eq!(msgs[0].text, "");
        assert_eq!(msgs[0].insertion_time, Some(t("2025-01-01T00:00:00Z")));
    }

    #[test]
    fn rejects_bad_messages_and_accepts_empty_lists() {
        assert!(
            parse_messages("<QueueMessagesList></QueueMessagesList>")
                .unwrap()
                .is_empty()
        );
        assert!(parse_messages("<QueueMessagesList/>").unwrap().is_empty());
        let no_id = "<QueueMessagesList><QueueMessage><MessageText>x</MessageText></QueueMessage></QueueMessagesList>";
        assert!(matches!(parse_messages(no_id), Err(Error::BadResponse(_))));
        let bad_count = "<QueueMessagesList><QueueMessage><MessageId>a</MessageId><DequeueCount>many</DequeueCount></QueueMessage></QueueMessagesList>";
        assert!(matches!(
            parse_messages(bad_count),
            Err(Error::BadResponse(_))
        ));
        // Odd times are tolerated as absent rather than failing the whole list.
        let odd = "<QueueMessagesList><QueueMessage><MessageId>a</MessageId><InsertionTime>yesterday</InsertionTime></QueueMessage></QueueMessagesList>";
        assert_eq!(parse_messages(odd).unwrap()[0].insertion_time, None);
    }

    #[test]
    fn message_body_shape() {
        assert_eq!(
            xml::document("QueueMessage", &[("MessageText", "a<b")]),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<QueueMessage><MessageText>a&lt;b</MessageText></QueueMessage>"
        );
    }

    #[test]
    fn counts_are_clamped() {
        assert_eq!(clamp_count(0), "1");
        assert_eq!(clamp_count(5), "5");
        assert_eq!(clamp_count(100), "32");
    }
}
