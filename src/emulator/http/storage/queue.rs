//! Queue endpoints: create, metadata, put/get/peek/delete/update/clear messages.

use axum::body::Body;
use axum::http::Method;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::StorageState;
use super::common::{
    ApiError, ApiResult, Ctx, check_resource_name, read_body, reply, set, xml, xml_escape,
};
use crate::emulator::sas::{SasResource, SasService, verify_service_sas};
use crate::emulator::storage::{MessageView, PutOptions, StoreError, rfc1123};

/// Envelope bytes we read: 64 KiB of text may grow ~6x when XML-escaped.
const MAX_ENVELOPE: usize = 512 * 1024;
/// What Azure shows as the expiry of a message that never expires.
const NEVER: &str = "Fri, 31 Dec 9999 23:59:59 GMT";

fn authorize(st: &StorageState, ctx: &Ctx, queue: &str, letter: char) -> Result<(), ApiError> {
    let object = SasResource::Queue {
        queue: queue.to_string(),
    };
    verify_service_sas(
        &st.key,
        SasService::Queue,
        &st.account,
        &object,
        &ctx.pairs,
        letter,
        ctx.now,
    )
    .map_err(Into::into)
}

#[derive(Deserialize)]
#[serde(rename = "QueueMessage")]
struct Envelope {
    #[serde(rename = "MessageText", default)]
    message_text: Option<String>,
}

fn parse_envelope(raw: &[u8]) -> Result<String, ApiError> {
    let text = std::str::from_utf8(raw).map_err(|_| ApiError::invalid_body("not UTF-8"))?;
    let env: Envelope =
        quick_xml::de::from_str(text).map_err(|_| ApiError::invalid_body("QueueMessage"))?;
    Ok(env.message_text.unwrap_or_default())
}

fn time(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(|| NEVER.to_string(), rfc1123)
}

/// `<QueueMessagesList>` with the fields each call reports.
fn messages_xml(list: &[MessageView]) -> String {
    let mut doc = String::from("<QueueMessagesList>");
    for m in list {
        doc.push_str("<QueueMessage>");
        doc.push_str(&format!(
            "<MessageId>{}</MessageId>",
            xml_escape(&m.message_id)
        ));
        doc.push_str(&format!(
            "<InsertionTime>{}</InsertionTime>",
            rfc1123(m.insertion_time)
        ));
        doc.push_str(&format!(
            "<ExpirationTime>{}</ExpirationTime>",
            time(m.expiration_time)
        ));
        if let Some(pr) = &m.pop_receipt {
            doc.push_str(&format!("<PopReceipt>{}</PopReceipt>", xml_escape(pr)));
        }
        if let Some(t) = m.time_next_visible {
            doc.push_str(&format!(
                "<TimeNextVisible>{}</TimeNextVisible>",
                rfc1123(t)
            ));
        }
        if let Some(text) = &m.text {
            doc.push_str(&format!("<DequeueCount>{}</DequeueCount>", m.dequeue_count));
            doc.push_str(&format!("<MessageText>{}</MessageText>", xml_escape(text)));
        }
        doc.push_str("</QueueMessage>");
    }
    doc.push_str("</QueueMessagesList>");
    doc
}

fn count(ctx: &Ctx) -> Result<u32, ApiError> {
    match ctx.int_query("numofmessages")? {
        None => Ok(1),
        Some(n) => u32::try_from(n).map_err(|_| StoreError::out_of_range("numofmessages").into()),
    }
}

pub async fn handle(
    st: &StorageState,
    ctx: &Ctx,
    method: &Method,
    queue: &str,
    rest: &[String],
    body: Body,
) -> ApiResult {
    let store = &st.store;
    let now = ctx.now;
    match (method.as_str(), rest) {
        ("PUT", []) if ctx.query("comp").is_none() => {
            authorize(st, ctx, queue, 'a')?;
            check_resource_name(queue)?;
            let created = store.create_queue_with(queue, ctx.metadata())?;
            Ok(reply(if created { 201 } else { 204 }, Body::empty()))
        }
        ("GET" | "HEAD", []) if ctx.query("comp") == Some("metadata") => {
            authorize(st, ctx, queue, 'r')?;
            let (n, md) = store.queue_metadata(queue, now)?;
            let mut r = reply(200, Body::empty());
            set(&mut r, "x-ms-approximate-messages-count", &n.to_string());
            for (k, v) in &md {
                set(&mut r, &format!("x-ms-meta-{k}"), v);
            }
            Ok(r)
        }
        ("POST", [m]) if m == "messages" => {
            authorize(st, ctx, queue, 'a')?;
            let opts = PutOptions {
                visibility_timeout: ctx.int_query("visibilitytimeout")?,
                ttl: ctx.int_query("messagettl")?,
            };
            let raw = read_body(body, &ctx.headers, MAX_ENVELOPE, 413).await?;
            let text = parse_envelope(&raw)?;
            let view = store.put_message(queue, &text, opts, now)?;
            Ok(xml(201, &messages_xml(&[view])))
        }
        ("GET", [m]) if m == "messages" => {
            let n = count(ctx)?;
            let list = if ctx
                .query("peekonly")
                .is_some_and(|v| v.eq_ignore_ascii_case("true"))
            {
                authorize(st, ctx, queue, 'r')?;
                store.peek_messages(queue, n, now)?
            } else {
                authorize(st, ctx, queue, 'p')?;
                let vis = ctx.int_query("visibilitytimeout")?.unwrap_or(30);
                store.get_messages(queue, n, vis, now)?
            };
            Ok(xml(200, &messages_xml(&list)))
        }
        ("DELETE", [m]) if m == "messages" => {
            authorize(st, ctx, queue, 'p')?;
            store.clear_messages(queue, now)?;
            Ok(reply(204, Body::empty()))
        }
        ("DELETE", [m, id]) if m == "messages" => {
            authorize(st, ctx, queue, 'p')?;
            let receipt = pop_receipt(ctx)?;
            store.delete_message(queue, id, receipt, now)?;
            Ok(reply(204, Body::empty()))
        }
        ("PUT", [m, id]) if m == "messages" => {
            authorize(st, ctx, queue, 'u')?;
            let receipt = pop_receipt(ctx)?;
            let vis = ctx.int_query("visibilitytimeout")?.ok_or_else(|| {
                ApiError::new(
                    400,
                    "MissingRequiredQueryParameter",
                    "visibilitytimeout is required.",
                )
            })?;
            let raw = read_body(body, &ctx.headers, MAX_ENVELOPE, 413).await?;
            let text = if raw.iter().all(u8::is_ascii_whitespace) {
                None
            } else {
                Some(parse_envelope(&raw)?)
            };
            let (receipt, next) =
                store.update_message(queue, id, receipt, vis, text.as_deref(), now)?;
            let mut r = reply(204, Body::empty());
            set(&mut r, "x-ms-popreceipt", &receipt);
            set(&mut r, "x-ms-time-next-visible", &rfc1123(next));
            Ok(r)
        }
        (m, _) => Err(ApiError::unsupported(m)),
    }
}

fn pop_receipt(ctx: &Ctx) -> Result<&str, ApiError> {
    ctx.query("popreceipt").ok_or_else(|| {
        ApiError::new(
            400,
            "MissingRequiredQueryParameter",
            "popreceipt is required.",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_with_or_without_declaration_and_escapes() {
        let a = b"<?xml version='1.0' encoding='utf-8'?>\n<QueueMessage><MessageText>h\xc3\xa9llo &lt;&amp;&gt;</MessageText></QueueMessage>";
        assert_eq!(parse_envelope(a).unwrap(), "héllo <&>");
        let b = b"<QueueMessage><MessageText>aGk=</MessageText></QueueMessage>";
        assert_eq!(parse_envelope(b).unwrap(), "aGk=");
        let c = b"<QueueMessage><MessageText></MessageText></QueueMessage>";
        assert_eq!(parse_envelope(c).unwrap(), "");
        assert!(parse_envelope(b"<QueueMessage><MessageText>x").is_err());
        assert!(parse_envelope(b"{}").is_err());
    }
}
