//! Rendering for the headless commands: JSON for scripts, lines for people. Untrusted text
//! (notification and status-table fields, file names) passes `crate::sanitize` on its way to
//! a human; JSON keeps exact values (JSON escapes control characters) but is redacted.

use std::io::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Value, json};

use crate::client::mgmt::V1Table;
use crate::client::tracking::Tracker;

/// The crate's one terminal sanitiser ([`crate::sanitize::sanitize`]) under the short name
/// the commands use.
pub use crate::sanitize::sanitize as safe;

/// `--quiet`: no progress lines or notices.
static QUIET: AtomicBool = AtomicBool::new(false);
/// Set once a write to stdout failed (the reader went away, `kingest … | head`).
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// `--quiet` was given: progress lines and notices are not printed.
pub fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// Data on stdout. When the reader has gone (a closed pipe) the rest of the data is dropped
/// quietly and the command finishes its work: `println!` would panic there, and stopping
/// half-way through a discard or submit would lose track of what it did.
pub fn write_stdout(bytes: &[u8]) {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(bytes).and_then(|()| out.flush()) {
        STDOUT_CLOSED.store(true, Ordering::Relaxed);
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("error: cannot write to stdout: {e}; the rest of the output is dropped");
        }
    }
}

/// `println!` for data: through [`write_stdout`].
macro_rules! outln {
    () => { $crate::cli::output::write_stdout(b"\n") };
    ($($arg:tt)*) => {
        $crate::cli::output::write_stdout(format!("{}\n", format_args!($($arg)*)).as_bytes())
    };
}
pub(crate) use outln;

/// `eprintln!` for progress lines and notices: nothing with `--quiet`. Errors and warnings
/// that change what the data means use `eprintln!`.
macro_rules! notice {
    ($($arg:tt)*) => {
        if !$crate::cli::output::quiet() {
            eprintln!($($arg)*);
        }
    };
}
pub(crate) use notice;

/// Pretty JSON on stdout, every string in it redacted.
pub fn print_json(v: &Value) {
    outln!("{}", redacted_json(v));
}

/// One JSON value on one line (`submit --json`), every string in it redacted.
pub fn print_json_line(v: &Value) {
    let mut v = v.clone();
    crate::client::redact::redact_json(&mut v);
    outln!("{v}");
}

fn redacted_json(v: &Value) -> String {
    let mut v = v.clone();
    crate::client::redact::redact_json(&mut v);
    serde_json::to_string_pretty(&v).unwrap_or_default()
}

/// Tab-separated tables with a header line.
pub fn print_tables(tables: &[V1Table]) {
    for t in tables {
        outln!(
            "{}",
            t.columns
                .iter()
                .map(|c| safe(&c.name))
                .collect::<Vec<_>>()
                .join("\t")
        );
        for row in &t.rows {
            outln!(
                "{}",
                row.iter()
                    .map(|v| safe(
                        &v.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| v.to_string())
                    ))
                    .collect::<Vec<_>>()
                    .join("\t")
            );
        }
    }
}

/// The tracked outcome of one source as a JSON object (`submit --wait --json`, `status`).
pub fn tracker_json(t: &Tracker) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    m.insert("source_id".into(), t.source_id.clone().into());
    m.insert("status".into(), t.state.label().into());
    m.insert("error_code".into(), json!(t.error.code));
    m.insert("failure_status".into(), json!(t.error.failure_status));
    m.insert(
        "details".into(),
        json!(
            t.error
                .details
                .as_deref()
                .map(crate::client::redact::redact)
        ),
    );
    m.insert("transient_failures".into(), t.transient_failures.into());
    m.insert("evidence".into(), json!(t.evidence));
    if let Some(p) = &t.table_problem {
        m.insert("table_problem".into(), p.clone().into());
    }
    if let Some(r) = &t.status_ref {
        m.insert("status_table".into(), r.display_name().into());
    }
    m
}

/// One or more lines describing a tracked source for people.
pub fn tracker_lines(t: &Tracker) -> Vec<String> {
    let mut out = vec![safe(&t.describe())];
    if let Some(d) = t.error.details.as_deref().filter(|d| !d.is_empty()) {
        out.push(format!("details: {}", safe(d)));
    }
    if let Some(code) = t.error.code.as_deref()
        && let Some(info) = crate::client::error_codes::lookup(code)
        && t.is_final()
        && !t.is_success()
    {
        out.push(format!("what to do: {}", info.hint));
    }
    if let Some(p) = &t.table_problem {
        out.push(format!("status table: {}", safe(p)));
    }
    if t.hidden_peeks > 0 && !t.is_final() {
        out.push(format!(
            "not seen in {} full peek window(s): a backlog of other clients' notifications may \
             hide it (report to the status table to track it exactly)",
            t.hidden_peeks
        ));
    }
    out
}

/// What the path that carried a source answered, for `submit`: which path (managed: and why
/// it went queued), the records a streaming request consumed, the rows of `.ingest into`.
pub fn delivery_lines(s: &crate::client::Submitted) -> Vec<String> {
    use crate::client::Delivery;
    let mut out = Vec::new();
    let path = s.delivery.path();
    if path != s.mode {
        out.push(format!("path: {path} (mode {})", s.mode));
    }
    if let Some(why) = &s.fallback {
        out.push(format!("queued because {}", safe(why)));
    }
    match &s.delivery {
        Delivery::Queue(_) => {}
        Delivery::Streamed { consumed_records }
            if s.answer
                .as_ref()
                .is_none_or(|a| a.state.is_final() && a.error.code.is_none()) =>
        {
            out.push(format!(
                "streamed: {consumed_records} record(s) consumed by the engine"
            ));
        }
        Delivery::Streamed { .. } => {}
        Delivery::Direct { rows, .. } => {
            out.push("ExtentId                              ItemLoaded  Duration  HasErrors  OperationId".into());
            for r in rows {
                out.push(format!(
                    "{}  {}  {}  {}  {}",
                    safe(&r.extent_id),
                    safe(&r.item_loaded),
                    safe(&r.duration),
                    r.has_errors,
                    safe(&r.operation_id)
                ));
            }
        }
        Delivery::RestQueued { operation_id, .. } => {
            out.push(format!("operation: {}", safe(operation_id)));
        }
    }
    out
}

/// The same for `--json`: mode, path, fallback, consumed records, rows.
pub fn delivery_json(s: &crate::client::Submitted, m: &mut serde_json::Map<String, Value>) {
    use crate::client::Delivery;
    m.insert("mode".into(), s.mode.as_str().into());
    m.insert("path".into(), s.delivery.path().as_str().into());
    if let Some(why) = &s.fallback {
        m.insert("fallback".into(), crate::client::redact::redact(why).into());
    }
    match &s.delivery {
        Delivery::Queue(q) => {
            m.insert("blob".into(), q.blob.redacted().into());
            m.insert("message_id".into(), q.message_id.clone().into());
        }
        Delivery::Streamed { consumed_records } => {
            m.insert("consumed_records".into(), (*consumed_records).into());
        }
        Delivery::Direct { blob, rows } => {
            m.insert("blob".into(), blob.redacted().into());
            let rows: Vec<_> = rows
                .iter()
                .map(|r| crate::client::direct::DirectRow {
                    item_loaded: crate::client::redact::redact(&r.item_loaded),
                    ..r.clone()
                })
                .collect();
            m.insert("rows".into(), json!(rows));
        }
        Delivery::RestQueued { operation_id, .. } => {
            m.insert("operation_id".into(), operation_id.clone().into());
        }
    }
}
