//! Bulk operations in the TUI: the dialog that starts one (`.ingest-from-storage-queued`, see
//! `client::bulk`), the rows the submissions pane lists after the sources, the poll of their
//! counters and the confirmed cancel. Pure: effects out, messages in.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tui_input::Input;

use crate::app::effect::Effect;
use crate::app::keymap::Action;
use crate::app::state::{Confirm, ConfirmAction, Modal, Pane, Severity, State};
use crate::client::bulk::{BulkOperation, BulkSpec};
use crate::client::error::Problem;
use crate::client::wire::DataFormat;

/// How often the counters of running operations are read (the Java SDK polls its REST
/// status every 30 s; a local operator wants the bar to move).
pub const BULK_POLL: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkField {
    Container,
    Prefix,
    Pattern,
    Database,
    Table,
    Format,
}

impl BulkField {
    pub const ALL: [BulkField; 6] = [
        BulkField::Container,
        BulkField::Prefix,
        BulkField::Pattern,
        BulkField::Database,
        BulkField::Table,
        BulkField::Format,
    ];

    pub fn label(self) -> &'static str {
        match self {
            BulkField::Container => "Container URL",
            BulkField::Prefix => "Prefix",
            BulkField::Pattern => "Pattern",
            BulkField::Database => "Database",
            BulkField::Table => "Table",
            BulkField::Format => "Format",
        }
    }
}

/// The bulk dialog.
#[derive(Debug, Clone)]
pub struct BulkForm {
    pub container: Input,
    pub prefix: Input,
    pub pattern: Input,
    pub database: Input,
    pub table: Input,
    /// `None`: from the pattern's extension, else the service's csv.
    pub format: Option<DataFormat>,
    pub field: BulkField,
    pub error: Option<String>,
}

impl BulkForm {
    pub fn new(database: &str, table: &str) -> Self {
        BulkForm {
            container: Input::default(),
            prefix: Input::default(),
            pattern: Input::default(),
            database: Input::new(database.into()),
            table: Input::new(table.into()),
            format: None,
            field: BulkField::Container,
            error: None,
        }
    }

    fn step(&mut self, delta: isize) {
        let all = BulkField::ALL;
        let i = all.iter().position(|f| *f == self.field).unwrap_or(0) as isize;
        self.field = all[(i + delta).rem_euclid(all.len() as isize) as usize];
    }

    pub fn input_mut(&mut self) -> Option<&mut Input> {
        match self.field {
            BulkField::Container => Some(&mut self.container),
            BulkField::Prefix => Some(&mut self.prefix),
            BulkField::Pattern => Some(&mut self.pattern),
            BulkField::Database => Some(&mut self.database),
            BulkField::Table => Some(&mut self.table),
            BulkField::Format => None,
        }
    }

    fn cycle(&mut self, delta: isize) {
        if self.field != BulkField::Format {
            return;
        }
        let all = DataFormat::ALL;
        self.format = match self.format {
            None if delta > 0 => all.first().copied(),
            None => all.last().copied(),
            Some(f) => {
                let i = all.iter().position(|x| *x == f).unwrap_or(0) as isize + delta;
                // One step past either end is "from the pattern" again.
                usize::try_from(i).ok().and_then(|i| all.get(i).copied())
            }
        };
    }

    /// Checks the fields; the error says what to fix.
    pub fn to_spec(&self) -> Result<BulkSpec, String> {
        let text = |i: &Input| {
            let v = i.value().trim();
            (!v.is_empty()).then(|| v.to_string())
        };
        let container = text(&self.container)
            .ok_or("enter a container URL with a SAS that allows list and read")?;
        crate::client::storage::SasUrl::parse(container.split(';').next().unwrap_or_default())
            .map_err(|e| e.to_string())?;
        let database = text(&self.database).ok_or("enter a database name")?;
        let table = text(&self.table).ok_or("enter a table name")?;
        if let Some(p) = text(&self.pattern) {
            crate::client::bulk::Glob::new(&p).map_err(|e| e.to_string())?;
        }
        Ok(BulkSpec {
            database,
            table,
            container: Some(container),
            prefix: text(&self.prefix),
            pattern: text(&self.pattern),
            format: self.format,
            ..BulkSpec::default()
        })
    }
}

/// One bulk operation in the submissions pane.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkRow {
    /// Local id until the service answers.
    pub id: u64,
    pub operation_id: Option<String>,
    /// Where the blobs come from, without any SAS: `container/prefix pattern`.
    pub source: String,
    pub database: String,
    pub table: String,
    pub format: String,
    pub op: Option<BulkOperation>,
    /// The start or the last poll failed.
    pub error: Option<Problem>,
    pub started_at: DateTime<Utc>,
    pub cancel_asked: bool,
}

impl BulkRow {
    /// Nothing will change any more: refused at the start, or final with nothing pending.
    pub fn is_final(&self) -> bool {
        match (&self.operation_id, &self.op) {
            (None, _) => self.error.is_some(),
            (Some(_), Some(op)) => op.is_settled(),
            (Some(_), None) => false,
        }
    }

    pub fn label(&self) -> String {
        match (&self.operation_id, &self.op) {
            (None, _) if self.error.is_some() => "Refused".into(),
            (None, _) => "Starting".into(),
            (Some(_), None) => "Queued".into(),
            (Some(_), Some(op)) => op.state.label().to_string(),
        }
    }

    pub fn filter_text(&self) -> String {
        format!(
            "bulk {} {}.{} {} {}",
            self.source,
            self.database,
            self.table,
            self.label(),
            self.operation_id.as_deref().unwrap_or_default()
        )
    }
}

impl crate::app::filter::Fields for BulkRow {
    fn field(&self, f: crate::app::filter::Field) -> Option<std::borrow::Cow<'_, str>> {
        use crate::app::filter::Field;
        match f {
            Field::Code => None,
            Field::Table => Some(self.table.as_str().into()),
            Field::Db => Some(self.database.as_str().into()),
            Field::Status => Some(self.label().into()),
        }
    }
}

/// The bulk operations of this session, newest first, and their poll.
#[derive(Debug, Clone, Default)]
pub struct BulkView {
    pub rows: Vec<BulkRow>,
    pub next_id: u64,
    /// The next read of the running operations' counters; `None` while one is out.
    pub next_poll: Option<DateTime<Utc>>,
    pub polling: bool,
}

fn dur(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

fn status(state: &mut State, text: String, sev: Severity) {
    state.set_status(text, sev);
}

pub fn open_dialog(state: &mut State) {
    let form = BulkForm::new(&state.last_database, &state.last_table);
    state.modal = Some(Modal::Bulk(Box::new(form)));
}

/// The dialog's share of the actions; false when the bulk dialog is not open.
pub fn on_dialog_action(state: &mut State, action: Action, fx: &mut Vec<Effect>) -> bool {
    let Some(Modal::Bulk(form)) = &mut state.modal else {
        return false;
    };
    match action {
        Action::DialogNextField | Action::DialogComplete => form.step(1),
        Action::DialogPrevField => form.step(-1),
        Action::DialogCycleNext => form.cycle(1),
        Action::DialogCyclePrev => form.cycle(-1),
        Action::DialogSubmit => match form.to_spec() {
            Ok(spec) => {
                state.modal = None;
                start(state, spec, fx);
            }
            Err(e) => form.error = Some(e),
        },
        Action::DialogCancel => state.modal = None,
        _ => return false,
    }
    true
}

/// Text typed into the focused field.
pub fn input_mut(state: &mut State) -> Option<&mut Input> {
    match &mut state.modal {
        Some(Modal::Bulk(form)) => {
            form.error = None;
            form.input_mut()
        }
        _ => None,
    }
}

fn source_label(spec: &BulkSpec) -> String {
    let container = spec
        .container
        .as_deref()
        .and_then(|c| crate::client::storage::SasUrl::parse(c.split(';').next()?).ok())
        .map(|u| {
            let (c, p) = u.container_and_prefix();
            format!("{}/{p}", c.object_name())
        })
        .unwrap_or_default();
    let mut s = format!("{container}{}", spec.prefix.as_deref().unwrap_or_default());
    if let Some(p) = &spec.pattern {
        s.push_str(&format!(" {p}"));
    }
    s
}

fn start(state: &mut State, spec: BulkSpec, fx: &mut Vec<Effect>) {
    let id = state.bulk.next_id;
    state.bulk.next_id += 1;
    state.last_database = spec.database.clone();
    state.last_table = spec.table.clone();
    state.bulk.rows.insert(
        0,
        BulkRow {
            id,
            operation_id: None,
            source: source_label(&spec),
            database: spec.database.clone(),
            table: spec.table.clone(),
            format: spec
                .format
                .or_else(|| spec.pattern.as_deref().and_then(DataFormat::from_path))
                .map(|f| f.wire_name())
                .unwrap_or_default(),
            op: None,
            error: None,
            started_at: state.now,
            cancel_asked: false,
        },
    );
    // The new operation is selected: bulk rows follow the sources in the pane.
    state.focus = Pane::Submissions;
    state.submissions_list.selected = state.visible_submissions().len();
    fx.push(Effect::BulkStart {
        id,
        spec: Box::new(spec),
    });
}

pub fn on_started(state: &mut State, id: u64, at: DateTime<Utc>, result: Result<String, Problem>) {
    let Some(row) = state.bulk.rows.iter_mut().find(|r| r.id == id) else {
        return;
    };
    match result {
        Ok(op) => {
            row.operation_id = Some(op);
            row.error = None;
            state.bulk.next_poll = Some(state.bulk.next_poll.map_or(at, |t| t.min(at)));
        }
        Err(e) => {
            let text = format!("bulk ingestion refused: {e}");
            row.error = Some(e);
            status(state, text, Severity::Error);
        }
    }
    state.dirty = true;
}

/// The ids whose counters to read now (running operations), if a poll is due.
pub fn on_tick(state: &mut State, fx: &mut Vec<Effect>) {
    if state.bulk.polling || state.bulk.next_poll.is_none_or(|t| t > state.now) {
        return;
    }
    let ids: Vec<String> = state
        .bulk
        .rows
        .iter()
        .filter(|r| !r.is_final())
        .filter_map(|r| r.operation_id.clone())
        .collect();
    if ids.is_empty() {
        state.bulk.next_poll = None;
        return;
    }
    state.bulk.polling = true;
    state.bulk.next_poll = None;
    fx.push(Effect::BulkStatus { ids });
}

pub fn on_status(
    state: &mut State,
    at: DateTime<Utc>,
    ids: &[String],
    result: Result<Vec<BulkOperation>, Problem>,
) {
    state.bulk.polling = false;
    match result {
        Ok(ops) => {
            for op in ops {
                if let Some(row) = state
                    .bulk
                    .rows
                    .iter_mut()
                    .find(|r| r.operation_id.as_deref() == Some(op.operation_id.as_str()))
                {
                    row.error = None;
                    row.op = Some(op);
                }
            }
        }
        Err(e) => {
            for row in state.bulk.rows.iter_mut() {
                if row.operation_id.as_ref().is_some_and(|i| ids.contains(i)) {
                    row.error = Some(e.clone());
                }
            }
        }
    }
    state.bulk.next_poll = Some(at + dur(BULK_POLL));
    state.dirty = true;
}

/// The bulk row under the submissions selection, if any (they follow the sources).
pub fn selected(state: &State) -> Option<&BulkRow> {
    if state.focus != Pane::Submissions {
        return None;
    }
    let sources = state.visible_submissions().len();
    let index = state.submissions_list.selected.checked_sub(sources)?;
    visible(state).get(index).copied()
}

/// Bulk rows that pass the submissions filter.
pub fn visible(state: &State) -> Vec<&BulkRow> {
    let filter = crate::app::state::Filter::new(&state.submissions_list.filter);
    state
        .bulk
        .rows
        .iter()
        .filter(|r| filter.matches_fields(&r.filter_text(), *r))
        .collect()
}

/// `X`: asks to cancel the selected bulk operation.
pub fn ask_cancel(state: &mut State) {
    let Some(row) = selected(state) else {
        status(
            state,
            "select a bulk operation in the submissions pane to cancel it".into(),
            Severity::Info,
        );
        return;
    };
    let Some(id) = row.operation_id.clone() else {
        status(
            state,
            "the operation has not started".into(),
            Severity::Info,
        );
        return;
    };
    if row.is_final() {
        status(
            state,
            format!("operation {id} has already ended"),
            Severity::Info,
        );
        return;
    }
    state.modal = Some(Modal::Confirm(Confirm {
        title: "Cancel bulk operation".into(),
        lines: vec![
            format!("Operation {id}"),
            format!("into {}.{} from {}", row.database, row.table, row.source),
            "Blobs not yet ingested are dropped (Canceled); blobs already being".into(),
            "ingested may still land.".into(),
        ],
        action: ConfirmAction::CancelBulk { operation_id: id },
    }));
}

pub fn confirmed_cancel(state: &mut State, operation_id: String, fx: &mut Vec<Effect>) {
    if let Some(row) = state
        .bulk
        .rows
        .iter_mut()
        .find(|r| r.operation_id.as_deref() == Some(operation_id.as_str()))
    {
        row.cancel_asked = true;
    }
    status(state, format!("canceling {operation_id}…"), Severity::Info);
    fx.push(Effect::BulkCancel { operation_id });
}

pub fn on_canceled(
    state: &mut State,
    operation_id: &str,
    at: DateTime<Utc>,
    result: Result<BulkOperation, Problem>,
) {
    let row = state
        .bulk
        .rows
        .iter_mut()
        .find(|r| r.operation_id.as_deref() == Some(operation_id));
    match (result, row) {
        (Ok(op), Some(row)) => {
            row.op = Some(op);
            status(
                state,
                format!("cancel of {operation_id} requested"),
                Severity::Info,
            );
        }
        (Ok(_), None) => {}
        (Err(e), _) => status(
            state,
            format!("cancel of {operation_id} failed: {e}"),
            Severity::Error,
        ),
    }
    // The counters keep moving after a cancel: read them again soon.
    state.bulk.next_poll = Some(at + dur(BULK_POLL));
    state.dirty = true;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::state::Settings;
    use crate::client::bulk::BulkState;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + s, 0).unwrap()
    }

    fn op(id: &str, state: BulkState, pending: u64) -> BulkOperation {
        BulkOperation {
            operation_id: id.into(),
            started_on: None,
            last_updated_on: None,
            state,
            discovered: 10,
            pending,
            canceled: 0,
            ingested: 10 - pending,
            failed: 0,
            sample_failed_reasons: String::new(),
            database: "db".into(),
            table: "T".into(),
        }
    }

    fn started() -> (State, Vec<Effect>) {
        let mut s = State::new(Settings::default(), t(0));
        open_dialog(&mut s);
        let mut fx = Vec::new();
        let Some(Modal::Bulk(form)) = &mut s.modal else {
            panic!()
        };
        form.container =
            Input::new("https://a.blob.core.windows.net/c/day1?sv=1&sig=c2VjcmV0".into());
        form.database = Input::new("db".into());
        form.table = Input::new("T".into());
        form.pattern = Input::new("*.csv".into());
        assert!(on_dialog_action(&mut s, Action::DialogSubmit, &mut fx));
        (s, fx)
    }

    #[test]
    fn the_dialog_says_what_to_fix() {
        let mut f = BulkForm::new("", "");
        assert!(f.to_spec().unwrap_err().contains("container URL"));
        f.container = Input::new("not a url".into());
        assert!(f.to_spec().unwrap_err().contains("not a URL"));
        f.container = Input::new("https://a.blob.core.windows.net/c?sig=x".into());
        assert!(f.to_spec().unwrap_err().contains("database"));
        f.database = Input::new("db".into());
        f.table = Input::new("T".into());
        f.pattern = Input::new("a[b".into());
        assert!(f.to_spec().unwrap_err().contains("unclosed"));
        f.pattern = Input::new("*.json".into());
        f.field = BulkField::Format;
        f.cycle(1);
        let spec = f.to_spec().unwrap();
        assert_eq!(spec.format, Some(DataFormat::ALL[0]));
        assert_eq!(spec.pattern.as_deref(), Some("*.json"));
    }

    #[test]
    fn start_poll_and_finish() {
        let (mut s, fx) = started();
        assert!(s.modal.is_none());
        assert!(matches!(&fx[..], [Effect::BulkStart { id: 0, .. }]));
        let row = &s.bulk.rows[0];
        // The row names the container and prefix, never the SAS.
        assert_eq!(row.source, "c/day1 *.csv");
        assert_eq!(row.format, "csv");
        assert_eq!(row.label(), "Starting");
        assert_eq!(selected(&s).map(|r| r.id), Some(0));
        on_started(&mut s, 0, t(1), Ok("1;1;g".into()));
        // The loop wakes for the poll.
        assert!(s.next_wakeup().is_some_and(|w| w <= t(1)));
        s.now = t(1);
        let mut fx = Vec::new();
        on_tick(&mut s, &mut fx);
        assert!(matches!(&fx[..], [Effect::BulkStatus { ids }] if ids == &["1;1;g".to_string()]));
        // No second poll while one is out.
        let mut again = Vec::new();
        on_tick(&mut s, &mut again);
        assert!(again.is_empty());
        on_status(
            &mut s,
            t(2),
            &["1;1;g".into()],
            Ok(vec![op("1;1;g", BulkState::InProgress, 4)]),
        );
        assert_eq!(s.bulk.rows[0].label(), "InProgress");
        assert_eq!(s.bulk.next_poll, Some(t(4)));
        s.now = t(4);
        let mut fx = Vec::new();
        on_tick(&mut s, &mut fx);
        on_status(
            &mut s,
            t(5),
            &["1;1;g".into()],
            Ok(vec![op("1;1;g", BulkState::Completed, 0)]),
        );
        assert!(s.bulk.rows[0].is_final());
        // Nothing left to poll.
        s.now = t(10);
        let mut fx = Vec::new();
        on_tick(&mut s, &mut fx);
        assert!(fx.is_empty());
    }

    #[test]
    fn cancel_is_confirmed_and_refused_start_is_final() {
        let (mut s, _) = started();
        ask_cancel(&mut s);
        assert!(s.modal.is_none(), "not started yet: nothing to cancel");
        on_started(&mut s, 0, t(1), Ok("1;1;g".into()));
        ask_cancel(&mut s);
        let Some(Modal::Confirm(c)) = &s.modal else {
            panic!("{:?}", s.modal)
        };
        assert_eq!(
            c.action,
            ConfirmAction::CancelBulk {
                operation_id: "1;1;g".into()
            }
        );
        let mut fx = Vec::new();
        confirmed_cancel(&mut s, "1;1;g".into(), &mut fx);
        assert!(matches!(&fx[..], [Effect::BulkCancel { .. }]));
        on_canceled(
            &mut s,
            "1;1;g",
            t(2),
            Ok(op("1;1;g", BulkState::Canceled, 3)),
        );
        assert_eq!(s.bulk.rows[0].label(), "Canceled");
        // Blobs still pending after the cancel: the counters are read again.
        assert!(!s.bulk.rows[0].is_final());
        assert_eq!(s.bulk.next_poll, Some(t(4)));

        let (mut s, _) = started();
        let problem = Problem::from(crate::client::Error::Usage("bad".into()));
        on_started(&mut s, 0, t(1), Err(problem));
        assert!(s.bulk.rows[0].is_final());
        assert_eq!(s.bulk.rows[0].label(), "Refused");
    }
}
