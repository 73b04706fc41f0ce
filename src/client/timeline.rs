//! One source's timeline: what kingest saw of it, in order — each storage request of its
//! upload and post (with the `x-ms-client-request-id` support asks for), the queue's answer
//! to the post, each state the tracker moved to, each notification, and what the engine says.
//!
//! The storage side is recorded while a submit runs (a task-local log the one request path,
//! `storage::http`, writes each attempt to); the rest is the tracker's [`History`], kept in
//! the journal with the tracker so the CLI and the TUI show each other's sources.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::client::tracking::{Evidence, TrackState, Tracker};

/// Requests kept per source: the last ones (a big upload is thousands of Put Blocks).
pub const MAX_REQUESTS: usize = 48;
/// Transitions and notifications kept per source.
pub const MAX_EVENTS: usize = 32;

/// The extent tag `submit --tag-source` adds.
pub fn source_tag(source_id: &str) -> String {
    format!("kingest:{source_id}")
}

/// One storage request attempt, as sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    pub at: DateTime<Utc>,
    /// The storage operation ("Put Block", "Put Message", …).
    pub op: String,
    /// The URL's path: container/blob, queue or table (never the query: the SAS).
    pub target: String,
    /// `x-ms-client-request-id` as sent: one per attempt, as the Azure SDKs do.
    pub request_id: String,
    /// From 1, within one call's retries.
    pub attempt: u32,
    pub ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Why the attempt failed (redacted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The requests of one submit: the last [`MAX_REQUESTS`], and how many earlier were dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requests {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kept: Vec<Request>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub dropped: u32,
}

impl Requests {
    pub fn push(&mut self, r: Request) {
        if self.kept.len() >= MAX_REQUESTS {
            self.kept.remove(0);
            self.dropped = self.dropped.saturating_add(1);
        }
        self.kept.push(r);
    }

    pub fn is_empty(&self) -> bool {
        self.kept.is_empty() && self.dropped == 0
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

tokio::task_local! {
    static LOG: Arc<Mutex<Requests>>;
}

/// Runs `fut` with a request log: every storage attempt it makes (in this task) is recorded.
pub async fn recorded<F: std::future::Future>(fut: F) -> (F::Output, Requests) {
    let log = Arc::new(Mutex::new(Requests::default()));
    let out = LOG.scope(log.clone(), fut).await;
    let kept = log.lock().map(|l| l.clone()).unwrap_or_default();
    (out, kept)
}

/// Records one attempt when a log is in scope (a submit); otherwise does nothing.
pub(crate) fn note(r: Request) {
    let _ = LOG.try_with(|log| {
        if let Ok(mut l) = log.lock() {
            l.push(r);
        }
    });
}

/// The storage operation a request is, by its method and URL (Azure Storage REST names).
pub(crate) fn op_name(method: &reqwest::Method, url: &url::Url) -> String {
    let comp = url
        .query_pairs()
        .find(|(k, _)| k == "comp")
        .map(|(_, v)| v.to_ascii_lowercase());
    let path = url.path();
    let table = path.contains('(') || url.host_str().is_some_and(|h| h.contains(".table."));
    let name = match (method.as_str(), comp.as_deref()) {
        ("PUT", Some("block")) => "Put Block",
        ("PUT", Some("blocklist")) => "Put Block List",
        ("GET", Some("blocklist")) => "Get Block List",
        ("PUT", Some("metadata")) => "Set Blob Metadata",
        ("PUT", None) => "Put Blob",
        ("HEAD", _) => "Get Blob Properties",
        ("POST", _) if path.ends_with("/messages") => "Put Message",
        ("GET", _) if path.ends_with("/messages") => "Get Messages",
        ("DELETE", _) if path.contains("/messages/") => "Delete Message",
        ("POST", _) => "Insert Entity",
        ("GET", _) if table => "Query Entity",
        (m, _) => return format!("{m} request"),
    };
    name.to_string()
}

/// How the queue answered the post.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Posted {
    pub message_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insertion_time: Option<DateTime<Utc>>,
    /// account/queue.
    pub queue: String,
    /// The `x-ms-client-request-id` of the Put Message that landed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// A state the tracker moved to, with the view that said so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    pub at: DateTime<Utc>,
    pub state: TrackState,
    pub evidence: Evidence,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// A notification of this source, when first seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heard {
    /// When kingest first saw it.
    pub at: DateTime<Utc>,
    /// "success" or "failure".
    pub kind: String,
    pub message_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_activity_id: Option<String>,
    /// SucceededOn / FailedOn, as the service wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// What the tracker keeps for the timeline; every field optional so older journals load.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    #[serde(default, skip_serializing_if = "Requests::is_empty")]
    pub requests: Requests,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub posted: Option<Posted>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transitions: Vec<Transition>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notifications: Vec<Heard>,
    /// The `kingest:<source id>` extent tag, when the source was sent with one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
}

impl History {
    pub fn is_empty(&self) -> bool {
        *self == History::default()
    }

    pub(crate) fn transition(&mut self, t: Transition) {
        push_bounded(&mut self.transitions, t);
    }

    pub(crate) fn heard(&mut self, h: Heard) {
        push_bounded(&mut self.notifications, h);
    }

    /// The operation ids the notifications carried (for `.show ingestion failures`).
    pub fn operation_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = Vec::new();
        for id in self
            .notifications
            .iter()
            .filter_map(|n| n.operation_id.clone())
        {
            if !id.is_empty() && !ids.contains(&id) {
                ids.push(id);
            }
        }
        ids
    }
}

fn push_bounded<T>(v: &mut Vec<T>, item: T) {
    if v.len() >= MAX_EVENTS {
        v.remove(0);
    }
    v.push(item);
}

/// A row of the engine's `.show ingestion failures` for this source's operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineFailure {
    pub at: Option<DateTime<Utc>>,
    pub operation_id: String,
    pub error_code: String,
    pub failure_kind: String,
    pub root_activity_id: String,
    pub details: String,
}

/// What the engine said, when asked (an engine URL is known).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineView {
    pub failures: Vec<EngineFailure>,
    /// Rows in the extents tagged with the source's tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tagged_rows: Option<u64>,
    /// Why the engine could not be asked (redacted, sanitised by the caller).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

/// Asks the engine (`IngestClient::engine_mgmt`) for this source's `.show ingestion failures`
/// rows (by the operation ids its notifications carried) and, when it was sent with the
/// source tag, the rows of the extents tagged with it (`.show table T extents where tags has`,
/// DOCS `kusto/management/show-extents.md`). A command that fails is a problem noted, not an
/// error: the rest of the timeline stands.
pub async fn ask_engine(
    client: &crate::client::IngestClient,
    database: &str,
    table: &str,
    tracker: &Tracker,
) -> EngineView {
    let mut view = EngineView::default();
    let quote = |s: &str| s.replace('\\', "\\\\").replace('\'', "\\'");
    for op in tracker.history.operation_ids() {
        let csl = format!(
            ".show ingestion failures with (OperationId='{}')",
            quote(&op)
        );
        match client.engine_mgmt(database, &csl).await {
            Ok(tables) => view.failures.extend(failures_of(&tables)),
            Err(e) => view
                .problems
                .push(format!(".show ingestion failures failed: {e}")),
        }
    }
    if let Some(tag) = &tracker.history.tag {
        let csl = format!(
            ".show table ['{}'] extents where tags has '{}'",
            quote(table),
            quote(tag)
        );
        match client.engine_mgmt(database, &csl).await {
            Ok(tables) => view.tagged_rows = Some(tagged_rows(&tables)),
            Err(e) => view
                .problems
                .push(format!(".show table extents failed: {e}")),
        }
    }
    view
}

fn text(v: Option<&Value>) -> String {
    v.and_then(crate::client::wire::value_to_string)
        .unwrap_or_default()
}

/// The rows of `.show ingestion failures`, whatever order its columns come in.
pub fn failures_of(tables: &[crate::client::mgmt::V1Table]) -> Vec<EngineFailure> {
    let Some(t) = tables.first() else {
        return Vec::new();
    };
    let col = |r: &[Value], name: &str| text(t.column_index(name).and_then(|i| r.get(i)));
    t.rows
        .iter()
        .map(|r| EngineFailure {
            at: crate::client::wire::parse_timestamp_str(&col(r, "FailedOn")),
            operation_id: col(r, "OperationId"),
            error_code: col(r, "ErrorCode"),
            failure_kind: col(r, "FailureKind"),
            root_activity_id: col(r, "RootActivityId"),
            details: col(r, "Details"),
        })
        .collect()
}

/// The sum of `RowCount` over the extents listed.
pub fn tagged_rows(tables: &[crate::client::mgmt::V1Table]) -> u64 {
    tables.first().map_or(0, |t| {
        t.column("RowCount")
            .filter_map(|v| v.and_then(|v| v.as_u64().or_else(|| text(Some(v)).parse().ok())))
            .sum()
    })
}

/// One line of the timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub at: DateTime<Utc>,
    /// "request", "posted", "state", "notification", "engine_failure".
    pub kind: &'static str,
    pub summary: String,
    /// Ids shown in full (support needs them): request_id, message_id, operation_id, ….
    pub ids: Vec<(&'static str, String)>,
}

/// The timeline of `tracker` (with what the engine said), ordered by time; events at the
/// same instant keep the order they happened in (request, post, notification, the state it
/// led to).
pub fn assemble(tracker: &Tracker, engine: Option<&EngineView>) -> Vec<Event> {
    let h = &tracker.history;
    let mut out = Vec::new();
    for r in &h.requests.kept {
        let outcome = match (&r.status, &r.error) {
            (_, Some(e)) => format!("failed: {e}"),
            (Some(s), None) => s.to_string(),
            (None, None) => "no answer".into(),
        };
        out.push(Event {
            at: r.at,
            kind: "request",
            summary: format!(
                "{} {} (attempt {}) → {outcome} in {} ms",
                r.op, r.target, r.attempt, r.ms
            ),
            ids: vec![("request_id", r.request_id.clone())],
        });
    }
    if let Some(p) = &h.posted {
        let mut ids = vec![("message_id", p.message_id.clone())];
        if let Some(r) = &p.request_id {
            ids.push(("request_id", r.clone()));
        }
        // When the Put Message's answer came: the queue's InsertionTime is whole seconds.
        let answered = h
            .requests
            .kept
            .iter()
            .find(|r| Some(&r.request_id) == p.request_id.as_ref())
            .map(|r| r.at + chrono::TimeDelta::milliseconds(i64::try_from(r.ms).unwrap_or(0)));
        let inserted = p
            .insertion_time
            .map(|t| {
                format!(
                    " (InsertionTime {})",
                    crate::client::wire::format_timestamp(t)
                )
            })
            .unwrap_or_default();
        out.push(Event {
            at: answered.or(p.insertion_time).unwrap_or(tracker.posted_at),
            kind: "posted",
            summary: format!("queued in {}{inserted}", p.queue),
            ids,
        });
    }
    for n in &h.notifications {
        let mut ids = vec![("message_id", n.message_id.clone())];
        ids.extend(n.operation_id.clone().map(|v| ("operation_id", v)));
        ids.extend(n.root_activity_id.clone().map(|v| ("root_activity_id", v)));
        let on =
            n.on.as_deref()
                .map(|o| format!(" on {o}"))
                .unwrap_or_default();
        let code = n
            .code
            .as_deref()
            .map(|c| format!(" {c}"))
            .unwrap_or_default();
        out.push(Event {
            at: n.at,
            kind: "notification",
            summary: format!("{} notification{code} (the service:{on})", n.kind),
            ids,
        });
    }
    for t in &h.transitions {
        let by = match t.evidence {
            Evidence::Table => "status table",
            Evidence::Queue => "notification queue",
            Evidence::Operation => "operation status",
            Evidence::Engine => "engine",
            Evidence::Client => "client",
        };
        let code = t
            .code
            .as_deref()
            .map(|c| format!(" ({c})"))
            .unwrap_or_default();
        out.push(Event {
            at: t.at,
            kind: "state",
            summary: format!("{}{code}, from the {by}", t.state.label()),
            ids: vec![],
        });
    }
    for f in engine.map(|e| e.failures.as_slice()).unwrap_or_default() {
        out.push(Event {
            at: f.at.unwrap_or(tracker.updated_at),
            kind: "engine_failure",
            summary: format!(
                ".show ingestion failures: {} {}: {}",
                f.failure_kind, f.error_code, f.details
            ),
            ids: vec![
                ("operation_id", f.operation_id.clone()),
                ("root_activity_id", f.root_activity_id.clone()),
            ],
        });
    }
    // Stable: ties keep the order above.
    out.sort_by_key(|e| e.at);
    out
}

/// Milliseconds from the first event.
pub fn offset_ms(events: &[Event], e: &Event) -> i64 {
    events
        .first()
        .map_or(0, |f| (e.at - f.at).num_milliseconds())
}

/// `+1.234s`.
pub fn offset_text(ms: i64) -> String {
    format!("+{}.{:03}s", ms / 1000, (ms % 1000).abs())
}

/// The JSON form: the events with their offsets, plus what is not a moment (row count).
pub fn to_json(tracker: &Tracker, engine: Option<&EngineView>) -> Value {
    let events = assemble(tracker, engine);
    let list: Vec<Value> = events
        .iter()
        .map(|e| {
            let mut m = Map::new();
            m.insert(
                "at".into(),
                crate::client::wire::format_timestamp(e.at).into(),
            );
            m.insert("offset_ms".into(), offset_ms(&events, e).into());
            m.insert("kind".into(), e.kind.into());
            m.insert("summary".into(), e.summary.clone().into());
            for (k, v) in &e.ids {
                m.insert((*k).into(), v.clone().into());
            }
            Value::Object(m)
        })
        .collect();
    let mut m = Map::new();
    m.insert("source_id".into(), tracker.source_id.clone().into());
    m.insert("state".into(), tracker.state.label().into());
    m.insert("events".into(), list.into());
    if tracker.history.requests.dropped > 0 {
        m.insert(
            "requests_not_kept".into(),
            tracker.history.requests.dropped.into(),
        );
    }
    if let Some(t) = &tracker.history.tag {
        m.insert("tag".into(), t.clone().into());
    }
    if let Some(e) = engine {
        if let Some(n) = e.tagged_rows {
            m.insert("tagged_rows".into(), n.into());
        }
        if !e.problems.is_empty() {
            m.insert("engine_problems".into(), e.problems.clone().into());
        }
    }
    let mut v = Value::Object(m);
    crate::client::redact::redact_json(&mut v);
    v
}

/// The text form, one line per event: offset, time, kind, summary, ids in full.
pub fn lines(tracker: &Tracker, engine: Option<&EngineView>) -> Vec<String> {
    let events = assemble(tracker, engine);
    let mut out = Vec::new();
    if tracker.history.requests.dropped > 0 {
        out.push(format!(
            "({} earlier request(s) not kept)",
            tracker.history.requests.dropped
        ));
    }
    for e in &events {
        let ids: Vec<String> = e.ids.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut line = format!(
            "{:>9}  {}  {:<12}  {}",
            offset_text(offset_ms(&events, e)),
            e.at.format("%H:%M:%S%.3f"),
            e.kind,
            e.summary
        );
        if !ids.is_empty() {
            line.push_str("  ");
            line.push_str(&ids.join(" "));
        }
        out.push(crate::client::redact::redact(&line));
    }
    if let Some(t) = &tracker.history.tag {
        match engine.and_then(|e| e.tagged_rows) {
            Some(n) => out.push(format!("rows in extents tagged {t}: {n}")),
            None => out.push(format!(
                "extent tag {t} (row count not asked of the engine)"
            )),
        }
    }
    for p in engine.map(|e| e.problems.as_slice()).unwrap_or_default() {
        out.push(format!("engine: {p}"));
    }
    out
}

#[cfg(test)]
mod tests;
