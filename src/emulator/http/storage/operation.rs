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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::http::storage::common::Dialect;

    fn ctx(query: &str) -> Ctx {
        Ctx {
            now: chrono::Utc::now(),
            request_id: String::new(),
            version: String::new(),
            client_request_id: None,
            pairs: url::form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect(),
            headers: Default::default(),
            dialect: Dialect::Xml,
        }
    }

    fn op(
        kind: Kind,
        method: &str,
        path: &str,
        query: &str,
    ) -> (&'static str, String, &'static str) {
        let segs: Vec<String> = path.split('/').map(str::to_string).collect();
        operation(kind, &method.parse().unwrap(), &segs, &ctx(query))
    }

    #[test]
    fn requests_are_named_as_the_rest_reference_names_them() {
        use Kind::*;
        for (kind, method, path, query, want) in [
            (
                Queue,
                "POST",
                "q/messages",
                "",
                ("queue", "q", "PutMessage"),
            ),
            (
                Queue,
                "GET",
                "q/messages",
                "peekonly=true",
                ("queue", "q", "PeekMessages"),
            ),
            (
                Queue,
                "GET",
                "q/messages",
                "numofmessages=32",
                ("queue", "q", "GetMessages"),
            ),
            (
                Queue,
                "DELETE",
                "q/messages/id1",
                "popreceipt=x",
                ("queue", "q", "DeleteMessage"),
            ),
            (
                Queue,
                "PUT",
                "q/messages/id1",
                "popreceipt=x",
                ("queue", "q", "UpdateMessage"),
            ),
            (
                Queue,
                "DELETE",
                "q/messages",
                "",
                ("queue", "q", "ClearMessages"),
            ),
            (
                Queue,
                "GET",
                "q",
                "comp=metadata",
                ("queue", "q", "GetQueueMetadata"),
            ),
            (Queue, "PUT", "q", "", ("queue", "q", "CreateQueue")),
            (Blob, "PUT", "c/a/b.csv", "", ("blob", "c", "PutBlob")),
            (
                Blob,
                "PUT",
                "c/b.csv",
                "comp=block&blockid=x",
                ("blob", "c", "PutBlock"),
            ),
            (
                Blob,
                "PUT",
                "c/b.csv",
                "comp=blocklist",
                ("blob", "c", "PutBlockList"),
            ),
            (Blob, "GET", "c/b.csv", "", ("blob", "c", "GetBlob")),
            (Blob, "DELETE", "c/b.csv", "", ("blob", "c", "DeleteBlob")),
            (
                Blob,
                "PUT",
                "c",
                "restype=container",
                ("blob", "c", "CreateContainer"),
            ),
            (Table, "POST", "t", "", ("table", "t", "InsertEntity")),
            (Table, "GET", "t()", "", ("table", "t", "QueryEntities")),
            (
                Table,
                "GET",
                "t(PartitionKey='a',RowKey='b')",
                "",
                ("table", "t", "GetEntity"),
            ),
            (
                Table,
                "MERGE",
                "t(PartitionKey='a',RowKey='b')",
                "",
                ("table", "t", "MergeEntity"),
            ),
            (
                TablesEndpoint,
                "POST",
                "Tables",
                "",
                ("table", "Tables", "CreateTable"),
            ),
            (Queue, "PATCH", "q/x/y/z", "", ("queue", "q", "Other")),
        ] {
            let (s, r, o) = op(kind, method, path, query);
            assert_eq!((s, r.as_str(), o), want, "{method} {path}?{query}");
        }
    }
}
