//! `e` export and `y`/`Y` copy. Export writes what the focused pane lists (after its filter;
//! the groups when grouped) as CSV or JSON lines; copy offers the selected row's ids, its
//! JSON, or a ready `.show ingestion failures` command. Everything leaving through either is
//! redacted (`client::redact`); the file write and the OSC 52 sequence are effects the runtime
//! performs, never done here.

use std::collections::HashSet;
use std::path::PathBuf;

use base64::Engine as _;
use serde_json::{Map, Value};

use crate::app::effect::Effect;
use crate::app::keymap::Action;
use crate::app::state::{Modal, NotificationRow, Pane, Severity, State, SubmissionRow};
use crate::client::redact::redact;
use crate::sanitize::sanitize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Jsonl,
}

impl ExportFormat {
    pub fn ext(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Jsonl => "jsonl",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ExportFormat::Csv => "CSV",
            ExportFormat::Jsonl => "JSON lines",
        }
    }

    fn other(self) -> Self {
        match self {
            ExportFormat::Csv => ExportFormat::Jsonl,
            ExportFormat::Jsonl => ExportFormat::Csv,
        }
    }
}

/// The export dialog: format and path (a default in the current folder).
#[derive(Debug, Clone)]
pub struct ExportForm {
    pub pane: Pane,
    pub format: ExportFormat,
    pub path: tui_input::Input,
    /// What the pane would export now (shown in the dialog).
    pub rows: usize,
}

/// One choice of the copy chooser: what it is and the text copied.
#[derive(Debug, Clone, PartialEq)]
pub struct CopyItem {
    pub label: &'static str,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CopyMenu {
    pub items: Vec<CopyItem>,
    pub selected: usize,
}

/// What a pane exports: column names and one value per column per row.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    pub columns: Vec<&'static str>,
    pub rows: Vec<Vec<Value>>,
}

fn s(v: Option<&str>) -> Value {
    v.map_or(Value::Null, |v| Value::String(redact(v)))
}

fn time(t: Option<chrono::DateTime<chrono::Utc>>) -> Value {
    t.map_or(Value::Null, |t| Value::String(t.to_rfc3339()))
}

const NOTIFICATION_COLUMNS: &[&str] = &[
    "MessageId",
    "Queue",
    "InsertionTime",
    "DequeueCount",
    "Timestamp",
    "Database",
    "Table",
    "ErrorCode",
    "FailureStatus",
    "IngestionSourceId",
    "IngestionSourcePath",
    "OperationId",
    "RootActivityId",
    "Details",
];

fn notification_values(r: &NotificationRow) -> Vec<Value> {
    let n = r.decoded.notification.as_ref();
    let f = |get: fn(&crate::client::wire::Notification) -> Option<&str>| s(n.and_then(get));
    vec![
        s(Some(&r.message_id)),
        s(Some(&r.queue)),
        time(r.insertion_time),
        Value::from(r.dequeue_count),
        time(r.when()),
        f(|n| n.database.as_deref()),
        f(|n| n.table.as_deref()),
        f(|n| n.error_code.as_deref()),
        f(|n| n.failure_status.as_deref()),
        f(|n| n.ingestion_source_id.as_deref()),
        // The path may carry a SAS: redact strips its signature.
        f(|n| n.ingestion_source_path.as_deref()),
        f(|n| n.operation_id.as_deref()),
        f(|n| n.root_activity_id.as_deref()),
        match n {
            Some(n) => s(n.details.as_deref()),
            // Undecodable: its text is what there is to see.
            None => s(Some(&r.decoded.raw)),
        },
    ]
}

const SUBMISSION_COLUMNS: &[&str] = &[
    "Kind",
    "File",
    "Database",
    "Table",
    "Format",
    "State",
    "IngestionSourceId",
    "MessageId",
    "OperationId",
    "Blob",
    "ErrorCode",
    "Error",
    "StartedAt",
    "UpdatedAt",
];

/// The service's OperationId of a submission: the REST queued operation's, else the one its
/// notification (failure or success, as buffered) carries.
fn operation_id<'a>(state: &'a State, r: &'a SubmissionRow) -> Option<&'a str> {
    if let Some(op) = r.delivered.as_ref().and_then(|d| d.operation_id.as_deref()) {
        return Some(op);
    }
    if let Some(op) = r.tracker().and_then(|t| t.operation.as_ref()) {
        return Some(&op.operation_id);
    }
    let sid = r.source_id.as_deref()?;
    [&state.failures, &state.successes]
        .into_iter()
        .flat_map(|s| s.rows())
        .find(|n| n.source_id() == Some(sid))
        .and_then(|n| n.decoded.notification.as_ref()?.operation_id.as_deref())
}

/// The visible rows of `pane` as a table, redacted.
pub fn table(state: &State, pane: Pane) -> Table {
    match pane {
        Pane::Resources => Table {
            columns: vec!["Kind", "Account", "Object", "Depth"],
            rows: state
                .visible_resources()
                .iter()
                .map(|r| {
                    let depth = match &r.depth {
                        Some(crate::app::state::DepthView::Count(n)) => Value::from(*n),
                        Some(crate::app::state::DepthView::NotReadable) => "not readable".into(),
                        Some(crate::app::state::DepthView::Error(e)) => s(Some(e)),
                        None => Value::Null,
                    };
                    vec![
                        r.kind.name().into(),
                        s(Some(&r.account)),
                        s(Some(&r.object)),
                        depth,
                    ]
                })
                .collect(),
        },
        Pane::Submissions => {
            let mut rows: Vec<Vec<Value>> = state
                .visible_submissions()
                .iter()
                .map(|r| {
                    vec![
                        "source".into(),
                        s(Some(&r.file)),
                        s(Some(&r.database)),
                        s(Some(&r.table)),
                        s(Some(&r.format)),
                        state.source_state(r).label().into(),
                        s(r.source_id.as_deref()),
                        s(r.message_id.as_deref()),
                        s(operation_id(state, r)),
                        s(r.blob.as_deref()),
                        s(r.error_code()),
                        s(r.error_text()),
                        time(Some(r.started_at)),
                        time(Some(r.updated_at)),
                    ]
                })
                .collect();
            rows.extend(crate::app::bulk::visible(state).iter().map(|b| {
                vec![
                    "bulk".into(),
                    s(Some(&b.source)),
                    s(Some(&b.database)),
                    s(Some(&b.table)),
                    s(Some(&b.format)),
                    b.label().into(),
                    Value::Null,
                    Value::Null,
                    s(b.operation_id.as_deref()),
                    Value::Null,
                    Value::Null,
                    s(b.error.as_ref().map(|e| e.to_string()).as_deref()),
                    time(Some(b.started_at)),
                    Value::Null,
                ]
            }));
            Table {
                columns: SUBMISSION_COLUMNS.to_vec(),
                rows,
            }
        }
        Pane::Failures | Pane::Successes => {
            let kind = pane
                .kind()
                .unwrap_or(crate::client::wire::NotificationKind::Failure);
            let stream = state.stream(kind);
            if stream.is_grouped() {
                use crate::app::filter::{Field, Fields as _};
                // The grouped view's key, one column a part (the view joins them with " · "),
                // then what the view shows of each group.
                let parts: &[(&str, Field)] = match kind {
                    crate::client::wire::NotificationKind::Failure => &[
                        ("ErrorCode", Field::Code),
                        ("Table", Field::Table),
                        ("FailureStatus", Field::Status),
                    ],
                    crate::client::wire::NotificationKind::Success => &[("Table", Field::Table)],
                };
                let groups: Vec<_> = stream.group_window(0, usize::MAX).collect();
                let keys: HashSet<&str> = groups.iter().map(|g| g.key).collect();
                let stats = stream.group_stats(&keys, state.now);
                let mut columns: Vec<&'static str> = parts.iter().map(|(c, _)| *c).collect();
                columns.extend(["Count", "FirstSeen", "LastSeen", "NewestMessageId"]);
                Table {
                    columns,
                    rows: groups
                        .iter()
                        .map(|g| {
                            let mut row: Vec<Value> = parts
                                .iter()
                                .map(|(_, f)| s(g.newest.field(*f).as_deref()))
                                .collect();
                            let st = stats.get(g.key);
                            row.extend([
                                Value::from(g.count),
                                time(st.map(|st| st.first)),
                                time(st.map(|st| st.last)),
                                s(Some(&g.newest.message_id)),
                            ]);
                            row
                        })
                        .collect(),
                }
            } else {
                Table {
                    columns: NOTIFICATION_COLUMNS.to_vec(),
                    rows: stream.matching_rows().map(notification_values).collect(),
                }
            }
        }
    }
}

/// The one CSV field writer of every export (TUI `e`, `history --csv`, `status --all --csv`,
/// submit reports): quoted when it must be (RFC 4180: a comma, quote, line break, or spaces at
/// an end), and a text starting `=`, `+`, `-`, `@` or a tab gets a leading `'` so a spreadsheet
/// does not run it as a formula (OWASP "CSV injection"); numbers such as `-5` stay as they are.
/// Details and paths come from other clients and the service: untrusted.
pub fn csv_field(s: &str) -> String {
    let formula = s.starts_with(['=', '+', '-', '@', '\t']) && s.parse::<f64>().is_err();
    let s = if formula {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) || s.starts_with(' ') || s.ends_with(' ') {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// The file's text: CSV with a header row, or one JSON object per line.
pub fn render(table: &Table, format: ExportFormat) -> String {
    let mut out = String::new();
    match format {
        ExportFormat::Csv => {
            let header: Vec<String> = table.columns.iter().map(|c| csv_field(c)).collect();
            out.push_str(&header.join(","));
            out.push_str("\r\n");
            for row in &table.rows {
                let cells: Vec<String> = row
                    .iter()
                    .map(|v| match v {
                        Value::Null => String::new(),
                        Value::String(t) => csv_field(t),
                        other => csv_field(&other.to_string()),
                    })
                    .collect();
                out.push_str(&cells.join(","));
                out.push_str("\r\n");
            }
        }
        ExportFormat::Jsonl => {
            for row in &table.rows {
                let obj: Map<String, Value> = table
                    .columns
                    .iter()
                    .zip(row)
                    .filter(|(_, v)| !v.is_null())
                    .map(|(c, v)| (c.to_string(), v.clone()))
                    .collect();
                out.push_str(&Value::Object(obj).to_string());
                out.push('\n');
            }
        }
    }
    out
}

fn pane_word(pane: Pane) -> &'static str {
    match pane {
        Pane::Resources => "resources",
        Pane::Submissions => "submissions",
        Pane::Failures => "failures",
        Pane::Successes => "successes",
    }
}

/// `kingest-failures-20260102T030405Z.csv` in the current folder.
pub fn default_path(state: &State, pane: Pane, format: ExportFormat) -> String {
    let grouped = if pane.kind().is_some_and(|k| state.stream(k).is_grouped()) {
        "-groups"
    } else {
        ""
    };
    format!(
        "kingest-{}{grouped}-{}.{}",
        pane_word(pane),
        state.now.format("%Y%m%dT%H%M%SZ"),
        format.ext()
    )
}

/// `e`: opens the export dialog for the focused pane.
pub fn open_export(state: &mut State) {
    let pane = state.focus;
    let format = ExportFormat::Csv;
    state.modal = Some(Modal::Export(Box::new(ExportForm {
        pane,
        format,
        path: tui_input::Input::new(default_path(state, pane, format)),
        rows: state.visible_len(pane),
    })));
}

/// The export dialog's keys; `false` when the export dialog is not open.
pub fn on_dialog_action(state: &mut State, action: Action, fx: &mut Vec<Effect>) -> bool {
    let Some(Modal::Export(form)) = &mut state.modal else {
        return false;
    };
    match action {
        Action::DialogCycleNext | Action::DialogCyclePrev => {
            let old = form.format;
            form.format = old.other();
            // A path still ending in the old extension follows the format.
            let path = form.path.value();
            if let Some(stem) = path.strip_suffix(&format!(".{}", old.ext())) {
                form.path = tui_input::Input::new(format!("{stem}.{}", form.format.ext()));
            }
        }
        Action::DialogSubmit => {
            let path = form.path.value().trim().to_string();
            if path.is_empty() {
                state.set_status("give a file to export to".into(), Severity::Error);
                return true;
            }
            let (pane, format) = (form.pane, form.format);
            state.modal = None;
            let table = table(state, pane);
            let rows = table.rows.len();
            state.set_status(
                format!("exporting {rows} {} row(s)…", pane_word(pane)),
                Severity::Info,
            );
            fx.push(Effect::Export {
                path: PathBuf::from(path),
                contents: render(&table, format),
                rows,
                what: format!("{} {}", pane_word(pane), format.label()),
            });
        }
        Action::DialogCancel => state.modal = None,
        _ => {}
    }
    true
}

/// The runtime wrote (or failed to write) an export.
pub fn on_exported(
    state: &mut State,
    path: &std::path::Path,
    rows: usize,
    what: &str,
    result: Result<(), String>,
) {
    match result {
        Ok(()) => state.set_status(
            format!(
                "exported {rows} row(s) ({what}) to {}",
                sanitize(&path.display().to_string())
            ),
            Severity::Ok,
        ),
        Err(e) => state.set_status(
            format!(
                "cannot export to {}: {}",
                sanitize(&path.display().to_string()),
                sanitize(&e)
            ),
            Severity::Error,
        ),
    }
}

/// A KQL string literal of `text` (single quotes, `\` and `'` escaped).
fn kql_string(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// The command that shows the engine's failure rows of an operation.
pub fn show_failures_command(operation_id: &str) -> String {
    format!(
        ".show ingestion failures with (OperationId={})",
        kql_string(operation_id)
    )
}

/// What `y` offers for the selected row of the focused pane.
pub fn copy_items(state: &State) -> Vec<CopyItem> {
    let mut items = Vec::new();
    let mut push = |label: &'static str, text: Option<String>| {
        if let Some(text) = text.filter(|t| !t.is_empty()) {
            items.push(CopyItem {
                label,
                text: redact(&text),
            });
        }
    };
    match state.focus {
        Pane::Failures | Pane::Successes => {
            let kind = state
                .focus
                .kind()
                .unwrap_or(crate::client::wire::NotificationKind::Failure);
            if let Some(r) = state.stream(kind).selected_row() {
                let n = r.decoded.notification.as_ref();
                let op = n.and_then(|n| n.operation_id.clone());
                push("source id", r.source_id().map(str::to_string));
                push("operation id", op.clone());
                push("message JSON", Some(r.decoded.raw_text().into_owned()));
                push(
                    ".show ingestion failures",
                    op.as_deref().map(show_failures_command),
                );
            }
        }
        Pane::Submissions => {
            if let Some(r) = state
                .visible_submissions()
                .get(state.submissions_list.selected)
            {
                let op = operation_id(state, r).map(str::to_string);
                push("source id", r.source_id.clone());
                push("operation id", op.clone());
                let t = table(state, Pane::Submissions);
                let json = t.rows.get(state.submissions_list.selected).map(|row| {
                    let obj: Map<String, Value> = t
                        .columns
                        .iter()
                        .zip(row)
                        .filter(|(_, v)| !v.is_null())
                        .map(|(c, v)| (c.to_string(), v.clone()))
                        .collect();
                    Value::Object(obj).to_string()
                });
                push("row JSON", json);
                push(
                    ".show ingestion failures",
                    op.as_deref().map(show_failures_command),
                );
            }
        }
        Pane::Resources => {}
    }
    items
}

/// `y`: the chooser of what to copy from the selected row.
pub fn open_copy(state: &mut State) {
    let items = copy_items(state);
    if items.is_empty() {
        state.set_status("nothing to copy: select a row first".into(), Severity::Info);
        return;
    }
    state.modal = Some(Modal::Copy(CopyMenu { items, selected: 0 }));
}

/// `Y`: the `.show ingestion failures` command of the selected row, directly.
pub fn copy_command(state: &mut State, fx: &mut Vec<Effect>) {
    match copy_items(state)
        .into_iter()
        .find(|i| i.label == ".show ingestion failures")
    {
        Some(item) => copy(state, item, fx),
        None => state.set_status(
            "the selected row has no OperationId to build `.show ingestion failures` from".into(),
            Severity::Info,
        ),
    }
}

/// Enter in the chooser.
pub fn choose(state: &mut State, fx: &mut Vec<Effect>) {
    if let Some(Modal::Copy(menu)) = state.modal.take()
        && let Some(item) = menu.items.into_iter().nth(menu.selected)
    {
        copy(state, item, fx);
    }
}

/// Up/Down in the chooser.
pub fn move_choice(menu: &mut CopyMenu, down: bool) {
    let last = menu.items.len().saturating_sub(1);
    menu.selected = if down {
        (menu.selected + 1).min(last)
    } else {
        menu.selected.saturating_sub(1)
    };
}

/// Longest text shown after "copied …" on the status line.
const PREVIEW: usize = 60;

fn copy(state: &mut State, item: CopyItem, fx: &mut Vec<Effect>) {
    let preview: String = item.text.chars().take(PREVIEW).collect();
    let more = if item.text.chars().count() > PREVIEW {
        "…"
    } else {
        ""
    };
    state.set_status(
        format!(
            "copied {} to the clipboard (OSC 52, {} bytes): {}{more}",
            item.label,
            item.text.len(),
            sanitize(&preview.replace(['\n', '\r'], " "))
        ),
        Severity::Ok,
    );
    fx.push(Effect::Clipboard { text: item.text });
}

/// The OSC 52 sequence that puts `text` on the terminal's clipboard (`c`), also over SSH:
/// `ESC ] 52 ; c ; <base64> BEL` (xterm's ctlseqs, "Manipulate Selection Data").
pub fn osc52(text: &str) -> Vec<u8> {
    let mut out = b"\x1b]52;c;".to_vec();
    out.extend(
        base64::engine::general_purpose::STANDARD
            .encode(text.as_bytes())
            .into_bytes(),
    );
    out.push(0x07);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused_but_numbers_kept() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field(" padded"), "\" padded\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_field("-5"), "-5");
        assert_eq!(csv_field("+cmd|' /C calc'!A0"), "'+cmd|' /C calc'!A0");
    }

    #[test]
    fn osc52_is_esc_bracket_52_c_base64_bel() {
        assert_eq!(osc52("hi"), b"\x1b]52;c;aGk=\x07".to_vec());
        assert_eq!(osc52(""), b"\x1b]52;c;\x07".to_vec());
        // Whatever the text holds, the sequence carries no other control byte.
        let seq = osc52("a\x1b]0;evil\x07\n");
        assert!(seq[1..seq.len() - 1].iter().all(|b| !b.is_ascii_control()));
    }

    #[test]
    fn csv_quotes_when_needed_and_jsonl_skips_nulls() {
        let t = Table {
            columns: vec!["A", "B"],
            rows: vec![
                vec!["x,y".into(), Value::Null],
                vec!["say \"hi\"".into(), Value::from(3)],
            ],
        };
        assert_eq!(
            render(&t, ExportFormat::Csv),
            "A,B\r\n\"x,y\",\r\n\"say \"\"hi\"\"\",3\r\n"
        );
        assert_eq!(
            render(&t, ExportFormat::Jsonl),
            "{\"A\":\"x,y\"}\n{\"A\":\"say \\\"hi\\\"\",\"B\":3}\n"
        );
    }

    #[test]
    fn the_command_quotes_the_operation_id() {
        assert_eq!(
            show_failures_command("ab-1"),
            ".show ingestion failures with (OperationId='ab-1')"
        );
        assert_eq!(
            show_failures_command("x') | y"),
            ".show ingestion failures with (OperationId='x\\') | y')"
        );
    }

    use crate::app::fixtures::{failure, sample_state};
    use crate::app::msg::Msg;
    use crate::app::update;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    fn press(s: &mut State, code: KeyCode) -> Vec<Effect> {
        update(s, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
    }

    fn failures_state() -> State {
        let mut s = sample_state();
        s.focus = Pane::Failures;
        s.failures.set_grouped(false);
        s.failures
            .push(failure("m-a", "src-a", "BadRequest_EmptyBlob", 1));
        s.failures
            .push(failure("m-b", "src-b", "Stream_WrongNumberOfFields", 2));
        s
    }

    #[test]
    fn e_exports_the_filtered_rows_as_csv_or_jsonl_redacted() {
        let mut s = failures_state();
        s.set_filter(Pane::Failures, "code:wrongnumber");
        assert!(press(&mut s, KeyCode::Char('e')).is_empty());
        let Some(Modal::Export(form)) = &s.modal else {
            panic!("{:?}", s.modal)
        };
        assert_eq!(form.rows, 1);
        assert!(
            form.path.value().starts_with("kingest-failures-")
                && form.path.value().ends_with(".csv"),
            "{}",
            form.path.value()
        );
        // Ctrl-N switches the format, and the default name follows.
        update(
            &mut s,
            Msg::Key(KeyEvent::new(KeyCode::Char('n'), KeyModifiers::CONTROL)),
        );
        let Some(Modal::Export(form)) = &s.modal else {
            panic!()
        };
        assert_eq!(form.format, ExportFormat::Jsonl);
        assert!(form.path.value().ends_with(".jsonl"));
        let fx = press(&mut s, KeyCode::Enter);
        assert!(s.modal.is_none());
        let [Effect::Export { contents, rows, .. }] = fx.as_slice() else {
            panic!("{fx:?}")
        };
        assert_eq!(*rows, 1);
        assert_eq!(contents.lines().count(), 1);
        let v: Value = serde_json::from_str(contents.lines().next().unwrap()).unwrap();
        assert_eq!(v["ErrorCode"], "Stream_WrongNumberOfFields");
        assert!(!contents.contains("SECRET"), "{contents}");
        assert!(contents.contains("sig=REDACTED"), "{contents}");
        // The runtime's answer lands on the status line, an error too.
        on_exported(
            &mut s,
            std::path::Path::new("/x/f.jsonl"),
            1,
            "failures JSON lines",
            Ok(()),
        );
        assert!(s.status.as_ref().unwrap().0.contains("exported 1 row(s)"));
        update(
            &mut s,
            Msg::Exported {
                path: "/nope/f.csv".into(),
                rows: 1,
                what: "failures CSV".into(),
                result: Err("Permission denied (os error 13)".into()),
            },
        );
        let (text, sev) = s.status.clone().unwrap();
        assert_eq!(sev, Severity::Error);
        assert!(
            text.contains("cannot export to /nope/f.csv: Permission denied"),
            "{text}"
        );
    }

    #[test]
    fn the_grouped_view_exports_its_groups_and_esc_cancels() {
        let mut s = failures_state();
        s.failures.set_grouped(true);
        let t = table(&s, Pane::Failures);
        assert_eq!(
            t.columns,
            [
                "ErrorCode",
                "Table",
                "FailureStatus",
                "Count",
                "FirstSeen",
                "LastSeen",
                "NewestMessageId"
            ]
        );
        assert_eq!(t.rows.len(), s.failures.visible_len());
        // Each key part in its own column, and the group's own count.
        let g = s.failures.group_window(0, 1).next().unwrap();
        let first = &t.rows[0];
        let code = first[0].as_str().unwrap();
        assert!(g.key.starts_with(code), "{} vs {code}", g.key);
        assert!(!code.contains('·'));
        assert_eq!(first[3], Value::from(g.count));
        assert!(first[4].is_string() && first[5].is_string(), "{first:?}");
        press(&mut s, KeyCode::Char('e'));
        let Some(Modal::Export(form)) = &s.modal else {
            panic!()
        };
        assert!(form.path.value().contains("failures-groups"));
        // Typing edits the path; an empty one is refused in place.
        for _ in 0..200 {
            press(&mut s, KeyCode::Backspace);
        }
        assert!(press(&mut s, KeyCode::Enter).is_empty());
        assert!(matches!(s.modal, Some(Modal::Export(_))));
        press(&mut s, KeyCode::Esc);
        assert!(s.modal.is_none());
    }

    #[test]
    fn y_offers_ids_json_and_command_and_capital_y_copies_the_command() {
        let mut s = failures_state();
        press(&mut s, KeyCode::Char('y'));
        let Some(Modal::Copy(menu)) = &s.modal else {
            panic!("{:?}", s.modal)
        };
        let labels: Vec<&str> = menu.items.iter().map(|i| i.label).collect();
        assert_eq!(
            labels,
            [
                "source id",
                "operation id",
                "message JSON",
                ".show ingestion failures"
            ]
        );
        assert!(!menu.items[2].text.contains("SECRET"));
        press(&mut s, KeyCode::Down);
        let fx = press(&mut s, KeyCode::Enter);
        assert!(s.modal.is_none());
        let [Effect::Clipboard { text }] = fx.as_slice() else {
            panic!("{fx:?}")
        };
        assert_eq!(text, "op-1");
        assert!(s.status.as_ref().unwrap().0.contains("copied operation id"));
        let fx = press(&mut s, KeyCode::Char('Y'));
        let [Effect::Clipboard { text }] = fx.as_slice() else {
            panic!("{fx:?}")
        };
        assert_eq!(text, ".show ingestion failures with (OperationId='op-1')");
        // Esc closes the chooser without copying; nothing selected, nothing to copy.
        press(&mut s, KeyCode::Char('y'));
        assert!(press(&mut s, KeyCode::Esc).is_empty());
        assert!(s.modal.is_none());
        s.focus = Pane::Resources;
        press(&mut s, KeyCode::Char('y'));
        assert!(s.modal.is_none());
        assert!(s.status.as_ref().unwrap().0.contains("nothing to copy"));
    }
}
