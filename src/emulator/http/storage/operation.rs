//! The Azure REST operation a storage request is, for the request counters. Names as in the
//! Azure Storage REST reference (Put Message, Put Block List, Insert Entity, …).

use axum::http::Method;

use super::Kind;
use super::common::Ctx;

/// Service label, resource name and operation name of one request.
pub fn operation(
    kind: Kind,
    method: &Method,
    segs: &[String],
    ctx: &Ctx,
) -> (&'static str, String, &'static str) {
    let first = segs.first().cloned().unwrap_or_default();
    let comp = ctx.query("comp");
    let m = method.as_str();
    match kind {
        Kind::Queue => {
            let rest: Vec<&str> = segs.iter().skip(1).map(String::as_str).collect();
            let peek = ctx
                .query("peekonly")
                .is_some_and(|v| v.eq_ignore_ascii_case("true"));
            let op = match (m, rest.as_slice(), comp) {
                ("PUT", [], None) => "CreateQueue",
                ("GET" | "HEAD", [], Some("metadata")) => "GetQueueMetadata",
                ("POST", ["messages"], _) => "PutMessage",
                ("GET", ["messages"], _) if peek => "PeekMessages",
                ("GET", ["messages"], _) => "GetMessages",
                ("DELETE", ["messages"], _) => "ClearMessages",
                ("DELETE", ["messages", _], _) => "DeleteMessage",
                ("PUT", ["messages", _], _) => "UpdateMessage",
                _ => "Other",
            };
            ("queue", first, op)
        }
        Kind::Blob => {
            let op = match (segs.len() > 1, m, comp) {
                (false, "PUT", None) => "CreateContainer",
                (false, "GET" | "HEAD", None) => "GetContainerProperties",
                (false, "DELETE", None) => "DeleteContainer",
                (false, "GET", Some("list")) => "ListBlobs",
                (true, "PUT", None) => "PutBlob",
                (true, "PUT", Some("block")) => "PutBlock",
                (true, "PUT", Some("blocklist")) => "PutBlockList",
                (true, "GET", None) => "GetBlob",
                (true, "HEAD", None) => "GetBlobProperties",
                (true, "DELETE", None) => "DeleteBlob",
                _ => "Other",
            };
            ("blob", first, op)
        }
        Kind::TablesEndpoint => (
            "table",
            "Tables".into(),
            if m == "POST" { "CreateTable" } else { "Other" },
        ),
        Kind::Table => {
            let (table, keys) = match first.split_once('(') {
                Some((t, k)) => (t.to_string(), !k.trim_end_matches(')').trim().is_empty()),
                None => (first.clone(), false),
            };
            let op = match (m, keys) {
                ("POST", false) => "InsertEntity",
                ("GET", true) => "GetEntity",
                ("GET", false) => "QueryEntities",
                ("PUT", true) => "UpdateEntity",
                ("MERGE" | "PATCH", true) => "MergeEntity",
                ("DELETE", true) => "DeleteEntity",
                _ => "Other",
            };
            ("table", table, op)
        }
    }
}
