//! `update(&mut State, Msg) -> Vec<Effect>`: every decision of the TUI, pure and synchronous.

use chrono::{DateTime, Utc};
use crossterm::event::{Event, KeyEvent, KeyEventKind};
use tui_input::backend::crossterm::EventHandler;

use crate::app::effect::Effect;
use crate::app::form::SubmitForm;
use crate::app::keymap::{self, Action, Context};
use crate::app::msg::{Msg, ResourcesSnapshot, SubmittedInfo};
use crate::app::state::{
    Confirm, ConfirmAction, DetailTarget, JournalRecord, Modal, Mode, NotificationRow, Pane,
    Severity, State, SubState, SubmissionRow,
};
use crate::client::wire::{NotificationKind, ReportLevel, ReportMethod, StatusEntity};

const PAGE: usize = 10;

fn dur(d: std::time::Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// The effects to run when the TUI starts.
pub fn start(state: &mut State) -> Vec<Effect> {
    state.resources.loading = true;
    let mut fx = vec![Effect::LoadResources { force: false }];
    peek_now(state, &mut fx);
    fx
}

pub fn update(state: &mut State, msg: Msg) -> Vec<Effect> {
    let mut fx = Vec::new();
    match msg {
        Msg::Key(ev) => {
            if ev.kind != KeyEventKind::Release {
                on_key(state, ev, &mut fx);
                state.dirty = true;
            }
        }
        Msg::Paste(text) => {
            on_paste(state, &text);
            state.dirty = true;
        }
        Msg::Resize(w, h) => {
            state.size = (w, h);
            state.dirty = true;
        }
        Msg::Tick(now) => on_tick(state, now, &mut fx),
        Msg::Resources { at, result } => on_resources(state, at, result, &mut fx),
        Msg::Depths { at, result } => {
            advance(state, at);
            match result {
                Ok(depths) => {
                    for e in &mut state.resources.entries {
                        if let Some((_, _, d)) = depths
                            .iter()
                            .find(|(a, o, _)| *a == e.account && *o == e.object)
                        {
                            e.depth = Some(d.clone());
                        }
                    }
                    state.resources.depths_at = Some(at);
                }
                Err(e) => state.resources.error = Some(e),
            }
            state.schedule.next_depths = Some(at + dur(state.settings.poll.depths));
        }
        Msg::Peeked { kind, at, result } => on_peeked(state, kind, at, result, &mut fx),
        Msg::Upload {
            id,
            at,
            source_id,
            read,
            sent,
            total,
        } => {
            advance(state, at);
            if let Some(row) = row_mut(state, id)
                && row.state == SubState::Uploading
            {
                row.source_id = Some(source_id);
                row.read = read;
                row.sent = sent;
                row.total = total;
                row.updated_at = at;
            }
        }
        Msg::Submitted { id, at, result } => on_submitted(state, id, at, result, &mut fx),
        Msg::TableStatus { id, at, result } => on_table_status(state, id, at, result, &mut fx),
        Msg::Discarded {
            kind,
            at,
            ids,
            archive,
            result,
        } => {
            advance(state, at);
            match result {
                Ok(report) => {
                    let failed: Vec<&String> = report.errors.iter().map(|(id, _)| id).collect();
                    let removed = state.stream_mut(kind).ring.remove_where(|r| {
                        ids.contains(&r.message_id) && !failed.contains(&&r.message_id)
                    });
                    clamp_selection(state);
                    let sev = if report.errors.is_empty() {
                        Severity::Ok
                    } else {
                        Severity::Warn
                    };
                    let mut text = format!(
                        "discarded {} {} notification(s) (archived {} to {}); {} removed from the list",
                        report.deleted,
                        kind.as_str(),
                        report.archived,
                        archive.display(),
                        removed
                    );
                    if !report.errors.is_empty() {
                        text.push_str(&format!(
                            "; {} could not be deleted and stay queued",
                            report.errors.len()
                        ));
                    }
                    set_status(state, text, sev);
                }
                Err(e) => set_status(
                    state,
                    format!("discard failed, nothing deleted that was not archived: {e}"),
                    Severity::Error,
                ),
            }
        }
        Msg::Completions { input, candidates } => {
            if let Some(Modal::Submit(form)) = &mut state.modal {
                form.apply_completions(&input, candidates);
                state.dirty = true;
            }
        }
        Msg::Journal(records) => on_journal(state, records),
        Msg::Quit => state.quit = true,
    }
    fx
}

fn advance(state: &mut State, at: DateTime<Utc>) {
    if at > state.now {
        state.now = at;
    }
    state.dirty = true;
}

fn set_status(state: &mut State, text: String, sev: Severity) {
    state.status = Some((text, sev));
    state.dirty = true;
}

fn row_mut(state: &mut State, id: u64) -> Option<&mut SubmissionRow> {
    state.submissions.iter_mut().find(|r| r.id == id)
}

fn peek_now(state: &mut State, fx: &mut Vec<Effect>) {
    if state.schedule.peeks_in_flight > 0 {
        return;
    }
    let n = state.settings.poll.peek_count;
    fx.push(Effect::Peek {
        kind: NotificationKind::Failure,
        n,
    });
    fx.push(Effect::Peek {
        kind: NotificationKind::Success,
        n,
    });
    state.schedule.peeks_in_flight = 2;
    state.schedule.round_new = false;
    state.schedule.next_peek = None;
}

fn on_tick(state: &mut State, now: DateTime<Utc>, fx: &mut Vec<Effect>) {
    advance(state, now);
    let minute_ago = state.now - chrono::Duration::seconds(60);
    for s in [&mut state.failures, &mut state.successes] {
        while s.arrivals.front().is_some_and(|t| *t < minute_ago) {
            s.arrivals.pop_front();
        }
    }
    if state.schedule.next_peek.is_some_and(|t| t <= now) {
        peek_now(state, fx);
    }
    if state.schedule.next_depths.is_some_and(|t| t <= now) {
        state.schedule.next_depths = None;
        fx.push(Effect::QueueDepths);
    }
    if state.schedule.next_resources.is_some_and(|t| t <= now) {
        state.schedule.next_resources = None;
        fx.push(Effect::LoadResources { force: false });
    }
    for row in &mut state.submissions {
        if row.status_in_flight || row.next_status_at.is_none_or(|t| t > now) {
            continue;
        }
        if let Some(loc) = &row.status_location {
            row.status_in_flight = true;
            fx.push(Effect::TableStatus {
                id: row.id,
                table: loc.table.clone(),
                partition_key: loc.partition_key.clone(),
                row_key: loc.row_key.clone(),
            });
        }
    }
}

fn on_resources(
    state: &mut State,
    at: DateTime<Utc>,
    result: Result<ResourcesSnapshot, String>,
    fx: &mut Vec<Effect>,
) {
    advance(state, at);
    state.resources.loading = false;
    match result {
        Ok(snap) => {
            // Keep depths we already know for entries that stay.
            let old = std::mem::take(&mut state.resources.entries);
            state.resources.entries = snap
                .entries
                .into_iter()
                .map(|mut e| {
                    e.depth = old
                        .iter()
                        .find(|o| o.account == e.account && o.object == e.object)
                        .and_then(|o| o.depth.clone());
                    e
                })
                .collect();
            state.resources.fetched_at = Some(snap.fetched_at);
            state.resources.token_fetched_at = Some(snap.token_fetched_at);
            state.resources.error = None;
            fx.push(Effect::QueueDepths);
            state.schedule.next_depths = None;
        }
        Err(e) => state.resources.error = Some(e),
    }
    state.schedule.next_resources = Some(at + dur(state.settings.poll.resources));
}

fn on_peeked(
    state: &mut State,
    kind: NotificationKind,
    at: DateTime<Utc>,
    result: Result<Vec<NotificationRow>, String>,
    fx: &mut Vec<Effect>,
) {
    advance(state, at);
    state.schedule.peeks_in_flight = state.schedule.peeks_in_flight.saturating_sub(1);
    match result {
        Ok(mut rows) => {
            state.stream_mut(kind).error = None;
            state.stream_mut(kind).last_peek = Some(at);
            // Oldest first, so that pushing each as newest leaves the newest on top.
            rows.sort_by_key(|r| r.when());
            let mut consumed = Vec::new();
            for row in rows {
                if correlate(state, &row, at, fx) && state.mode == Mode::Consume {
                    consumed.push(row.message_id.clone());
                }
                let stream = state.stream_mut(kind);
                if stream.ring.contains(&row.message_id)
                    || stream.held.iter().any(|h| h.message_id == row.message_id)
                {
                    continue;
                }
                stream.arrivals.push_back(at);
                if stream.frozen {
                    stream.held.push(row);
                } else {
                    stream.ring.push_newest(row);
                }
                state.schedule.round_new = true;
            }
            // Our tracked sources are now being watched.
            for row in &mut state.submissions {
                if row.state == SubState::Queued && row.tracked_by_queue() && row.updated_at <= at {
                    row.state = SubState::Pending;
                }
            }
            if !consumed.is_empty() && !state.settings.read_only {
                fx.push(Effect::Discard {
                    kind,
                    ids: consumed,
                    archive: archive_path(state, kind),
                });
            }
        }
        Err(e) => state.stream_mut(kind).error = Some(e),
    }
    if state.schedule.peeks_in_flight == 0 {
        let poll = state.settings.poll;
        let interval = if state.tracking() {
            poll.peek_busy
        } else if state.schedule.round_new {
            poll.peek_idle
        } else {
            (state.schedule.peek_interval * 2).clamp(poll.peek_idle, poll.peek_max)
        };
        state.schedule.peek_interval = interval;
        state.schedule.next_peek = Some(at + dur(interval));
    }
    clamp_selection(state);
}

/// Moves our submission matching `row`'s `IngestionSourceId` to its final state. Returns whether
/// the notification belongs to one of our submissions.
fn correlate(
    state: &mut State,
    row: &NotificationRow,
    at: DateTime<Utc>,
    fx: &mut Vec<Effect>,
) -> bool {
    let Some(sid) = row.source_id() else {
        return false;
    };
    let Some(sub) = state.submissions.iter_mut().find(|s| {
        s.source_id
            .as_deref()
            .is_some_and(|x| x.eq_ignore_ascii_case(sid))
    }) else {
        return false;
    };
    // A status entity is authoritative (it alone knows PartiallySucceeded): tracked-by-table
    // rows take their state from it, not from the queues.
    if !sub.state.is_final() && sub.status_location.is_none() {
        let n = row.decoded.notification.as_ref();
        if let Some(n) = n {
            sub.state =
                SubState::from_status(crate::client::wire::status_from_notification(row.kind, n));
        }
        if row.kind == NotificationKind::Failure {
            sub.error_code = n.and_then(|n| n.error_code.clone());
            sub.error = n.and_then(|n| n.details.clone());
        }
        sub.updated_at = at;
        sub.next_status_at = None;
        fx.push(Effect::Journal(Box::new(record_of(sub, at))));
    }
    true
}

fn on_submitted(
    state: &mut State,
    id: u64,
    at: DateTime<Utc>,
    result: Result<SubmittedInfo, String>,
    fx: &mut Vec<Effect>,
) {
    advance(state, at);
    let busy = state.settings.poll.peek_busy;
    let table_every = state.settings.poll.table_status;
    let Some(row) = row_mut(state, id) else {
        return;
    };
    row.updated_at = at;
    match result {
        Ok(info) => {
            row.state = SubState::Queued;
            row.source_id = Some(info.source_id);
            row.blob = Some(info.blob);
            row.message_id = Some(info.message_id);
            row.format = info.format;
            if row.total == 0 {
                row.total = info.raw_data_size;
            }
            row.read = row.total;
            if row.report_level != ReportLevel::None && row.report_method.uses_table() {
                row.next_status_at = info.status_location.as_ref().map(|_| at + dur(table_every));
            }
            row.status_location = info.status_location;
            let record = record_of(row, at);
            let file = row.file.clone();
            fx.push(Effect::Journal(Box::new(record)));
            set_status(state, format!("queued {file}"), Severity::Ok);
            // Watch closely while something of ours is in flight.
            let soon = at + dur(busy);
            if state.schedule.next_peek.is_some_and(|t| t > soon) {
                state.schedule.next_peek = Some(soon);
            }
        }
        Err(e) => {
            row.state = SubState::Failed;
            row.error = Some(e.clone());
            let file = row.file.clone();
            set_status(
                state,
                format!("submit of {file} failed: {e}"),
                Severity::Error,
            );
        }
    }
}

fn on_table_status(
    state: &mut State,
    id: u64,
    at: DateTime<Utc>,
    result: Result<Option<StatusEntity>, String>,
    fx: &mut Vec<Effect>,
) {
    advance(state, at);
    let every = dur(state.settings.poll.table_status);
    let Some(row) = row_mut(state, id) else {
        return;
    };
    row.status_in_flight = false;
    if row.state.is_final() {
        return;
    }
    match result {
        Ok(Some(entity)) => {
            let new_state = entity
                .status
                .map_or(SubState::Pending, SubState::from_status);
            row.state = new_state;
            if entity.error_code.is_some() {
                row.error_code = entity.error_code;
            }
            if entity.details.is_some() {
                row.error = entity.details;
            }
            row.updated_at = at;
            if new_state.is_final() {
                row.next_status_at = None;
                fx.push(Effect::Journal(Box::new(record_of(row, at))));
            } else {
                row.next_status_at = Some(at + every);
            }
        }
        Ok(None) => row.next_status_at = Some(at + every),
        Err(e) => {
            row.error = Some(format!("status table: {e}"));
            row.next_status_at = Some(at + every + every);
        }
    }
}

fn on_journal(state: &mut State, records: Vec<JournalRecord>) {
    let now = state.now;
    for r in records {
        if state
            .submissions
            .iter()
            .any(|s| s.source_id.as_deref() == Some(r.source_id.as_str()))
        {
            continue;
        }
        let id = state.next_submission_id;
        state.next_submission_id += 1;
        let pending = !r.state.is_final();
        let row = SubmissionRow {
            id,
            file: r.file,
            database: r.database,
            table: r.table,
            format: r.format,
            report_level: r
                .report_level
                .parse()
                .unwrap_or(ReportLevel::FailuresAndSuccesses),
            report_method: r.report_method.parse().unwrap_or(ReportMethod::Queue),
            // An upload interrupted by the restart never got queued.
            state: if r.state == SubState::Uploading {
                SubState::Failed
            } else {
                r.state
            },
            total: r.size,
            read: r.size,
            sent: 0,
            started_at: r.at,
            updated_at: r.at,
            source_id: Some(r.source_id),
            blob: r.blob,
            message_id: r.message_id,
            error: if r.state == SubState::Uploading {
                Some("interrupted by a restart before it was queued".into())
            } else {
                r.error
            },
            error_code: None,
            next_status_at: (pending && r.status_location.is_some()).then_some(now),
            status_location: r.status_location,
            status_in_flight: false,
        };
        state.submissions.push(row);
    }
    state
        .submissions
        .sort_by_key(|s| std::cmp::Reverse(s.started_at));
    state.dirty = true;
}

pub fn record_of(row: &SubmissionRow, at: DateTime<Utc>) -> JournalRecord {
    JournalRecord {
        at,
        source_id: row.source_id.clone().unwrap_or_default(),
        file: row.file.clone(),
        database: row.database.clone(),
        table: row.table.clone(),
        format: row.format.clone(),
        size: row.total,
        report_level: row.report_level.as_str().to_string(),
        report_method: row.report_method.as_str().to_string(),
        state: row.state,
        blob: row.blob.clone(),
        message_id: row.message_id.clone(),
        error: row.error.clone(),
        status_location: row.status_location.clone(),
    }
}

fn archive_path(state: &State, kind: NotificationKind) -> std::path::PathBuf {
    state.settings.archive_dir.join(format!(
        "discarded-{}-{}.jsonl",
        kind.as_str(),
        state.now.format("%Y%m%dT%H%M%SZ")
    ))
}

/// The binding contexts active now, most specific first.
pub fn contexts(state: &State) -> Vec<Context> {
    match &state.modal {
        Some(Modal::Help) => vec![Context::Help],
        Some(Modal::Confirm(_)) => vec![Context::Confirm],
        Some(Modal::Submit(_)) => vec![Context::SubmitDialog],
        Some(Modal::Filter { .. }) => vec![Context::FilterInput],
        Some(Modal::Detail { .. }) => vec![Context::Detail, Context::Global],
        None if state.focus.kind().is_some() => {
            vec![Context::Notifications, Context::List, Context::Global]
        }
        None => vec![Context::List, Context::Global],
    }
}

fn on_key(state: &mut State, ev: KeyEvent, fx: &mut Vec<Effect>) {
    let ctxs = contexts(state);
    match keymap::lookup(&ctxs, &ev, state.settings.read_only) {
        Some(b) => on_action(state, b.action, fx),
        None => on_text(state, ev),
    }
}

fn on_text(state: &mut State, ev: KeyEvent) {
    match &mut state.modal {
        Some(Modal::Submit(form)) => {
            let before = form.path.value().to_string();
            if let Some(input) = form.input_mut() {
                input.handle_event(&Event::Key(ev));
            }
            if form.path.value() != before {
                form.completions.clear();
                form.error = None;
            }
        }
        Some(Modal::Filter { input, .. }) => {
            input.handle_event(&Event::Key(ev));
        }
        _ => {}
    }
}

fn on_paste(state: &mut State, text: &str) {
    let clean: String = text.chars().filter(|c| !c.is_control()).collect();
    let input = match &mut state.modal {
        Some(Modal::Submit(form)) => form.input_mut(),
        Some(Modal::Filter { input, .. }) => Some(input),
        _ => None,
    };
    if let Some(input) = input {
        let value = format!("{}{}", input.value(), clean);
        *input = tui_input::Input::new(value);
    }
}

fn on_action(state: &mut State, action: Action, fx: &mut Vec<Effect>) {
    match action {
        Action::FocusNext | Action::FocusPrev => {
            let step = if action == Action::FocusNext { 1 } else { 3 };
            state.focus = Pane::ALL[(state.focus.index() + step) % 4];
        }
        Action::Up
        | Action::Down
        | Action::PageUp
        | Action::PageDown
        | Action::Top
        | Action::Bottom => move_selection(state, action),
        Action::OpenDetail => {
            let target = match state.focus {
                Pane::Resources => None,
                Pane::Submissions => state
                    .visible_submissions()
                    .get(state.submissions_list.selected)
                    .map(|r| DetailTarget::Submission(r.id)),
                Pane::Failures | Pane::Successes => {
                    let kind = state.focus.kind().unwrap_or(NotificationKind::Failure);
                    state
                        .stream(kind)
                        .selected_row()
                        .map(|r| DetailTarget::Notification {
                            kind,
                            message_id: r.message_id.clone(),
                        })
                }
            };
            if let Some(target) = target {
                state.modal = Some(Modal::Detail {
                    target,
                    raw: false,
                    scroll: 0,
                });
            }
        }
        Action::Back => match state.modal {
            Some(_) => state.modal = None,
            None => {
                let list = state.list_mut(state.focus);
                list.filter.clear();
                list.selected = 0;
            }
        },
        Action::OpenSubmit => {
            let mut form = SubmitForm::new(&state.last_database, &state.last_table);
            form.path = tui_input::Input::new(state.last_path.clone());
            state.modal = Some(Modal::Submit(Box::new(form)))
        }
        Action::PeekNow => {
            if state.schedule.peeks_in_flight > 0 {
                set_status(state, "a peek is already running".into(), Severity::Info);
            } else {
                peek_now(state, fx);
            }
        }
        Action::Discard | Action::DiscardFiltered => ask_discard(state, action),
        Action::Filter => {
            let pane = state.focus;
            let current = state.list(pane).filter.clone();
            state.modal = Some(Modal::Filter {
                pane,
                input: tui_input::Input::new(current),
            });
        }
        Action::Freeze => {
            if let Some(kind) = state.focus.kind() {
                let s = state.stream_mut(kind);
                s.frozen = !s.frozen;
                if !s.frozen {
                    for row in std::mem::take(&mut s.held) {
                        s.ring.push_newest(row);
                    }
                }
            }
        }
        Action::ToggleMode => match state.mode {
            Mode::Consume => state.mode = Mode::Peek,
            Mode::Peek => {
                state.modal = Some(Modal::Confirm(Confirm {
                    title: "Switch to CONSUME".into(),
                    lines: vec![
                        "Notifications matching this session's own submissions will be".into(),
                        "received, archived, then deleted from the shared queues.".into(),
                        format!(
                            "Archive files go to {}",
                            state.settings.archive_dir.display()
                        ),
                    ],
                    action: ConfirmAction::SetMode(Mode::Consume),
                }))
            }
        },
        Action::Refresh => {
            state.resources.loading = true;
            fx.push(Effect::LoadResources { force: true });
        }
        Action::Help => state.modal = Some(Modal::Help),
        Action::Quit => state.quit = true,
        Action::ToggleRaw => {
            if let Some(Modal::Detail { raw, scroll, .. }) = &mut state.modal {
                *raw = !*raw;
                *scroll = 0;
            }
        }
        Action::ConfirmYes => {
            if let Some(Modal::Confirm(c)) = state.modal.take() {
                match c.action {
                    ConfirmAction::Discard { kind, ids, archive } if !state.settings.read_only => {
                        set_status(
                            state,
                            format!(
                                "discarding {} {} notification(s)…",
                                ids.len(),
                                kind.as_str()
                            ),
                            Severity::Info,
                        );
                        fx.push(Effect::Discard { kind, ids, archive });
                    }
                    ConfirmAction::SetMode(mode) if !state.settings.read_only => state.mode = mode,
                    _ => {}
                }
            }
        }
        Action::ConfirmNo | Action::DialogCancel | Action::FilterCancel => state.modal = None,
        Action::DialogSubmit => submit(state, fx),
        Action::DialogComplete => {
            if let Some(Modal::Submit(form)) = &mut state.modal {
                if form.field == crate::app::form::Field::Path {
                    fx.push(Effect::Complete {
                        input: form.path.value().to_string(),
                    });
                } else {
                    form.next_field();
                }
            }
        }
        Action::DialogNextField
        | Action::DialogPrevField
        | Action::DialogCycleNext
        | Action::DialogCyclePrev => {
            if let Some(Modal::Submit(form)) = &mut state.modal {
                match action {
                    Action::DialogNextField => form.next_field(),
                    Action::DialogPrevField => form.prev_field(),
                    Action::DialogCycleNext => form.cycle(1),
                    _ => form.cycle(-1),
                }
            }
        }
        Action::FilterApply => {
            if let Some(Modal::Filter { pane, input }) = state.modal.take() {
                let list = state.list_mut(pane);
                list.filter = input.value().to_string();
                list.selected = 0;
            }
        }
    }
}

fn move_selection(state: &mut State, action: Action) {
    if let Some(Modal::Detail { scroll, .. }) = &mut state.modal {
        *scroll = match action {
            Action::Up => scroll.saturating_sub(1),
            Action::Down => scroll.saturating_add(1),
            _ => *scroll,
        };
        return;
    }
    let len = state.visible_len(state.focus);
    let list = state.list_mut(state.focus);
    let last = len.saturating_sub(1);
    list.selected = match action {
        Action::Up => list.selected.saturating_sub(1),
        Action::Down => (list.selected + 1).min(last),
        Action::PageUp => list.selected.saturating_sub(PAGE),
        Action::PageDown => (list.selected + PAGE).min(last),
        Action::Top => 0,
        _ => last,
    };
}

fn clamp_selection(state: &mut State) {
    for pane in Pane::ALL {
        let len = state.visible_len(pane);
        let list = state.list_mut(pane);
        list.selected = list.selected.min(len.saturating_sub(1));
    }
}

fn ask_discard(state: &mut State, action: Action) {
    let Some(kind) = state.focus.kind() else {
        return;
    };
    let stream = state.stream(kind);
    let (ids, scope): (Vec<String>, String) = if action == Action::Discard {
        match stream.selected_row() {
            Some(r) => (
                vec![r.message_id.clone()],
                format!(
                    "the selected {} notification (MessageId {})",
                    kind.as_str(),
                    r.message_id
                ),
            ),
            None => (vec![], String::new()),
        }
    } else {
        let ids: Vec<String> = stream
            .visible()
            .iter()
            .map(|r| r.message_id.clone())
            .collect();
        let scope = if stream.list.filter.is_empty() {
            format!(
                "ALL {} listed {} notifications (no filter)",
                ids.len(),
                kind.as_str()
            )
        } else {
            format!(
                "{} listed {} notifications matching filter '{}'",
                ids.len(),
                kind.as_str(),
                stream.list.filter
            )
        };
        (ids, scope)
    };
    if ids.is_empty() {
        set_status(state, "nothing to discard".into(), Severity::Info);
        return;
    }
    let archive = archive_path(state, kind);
    state.modal = Some(Modal::Confirm(Confirm {
        title: format!("Discard {} message(s)?", ids.len()),
        lines: vec![
            format!("Scope: {scope}"),
            format!("Archive first: {}", archive.display()),
            "Then delete from the shared queue (receive, archive, delete).".into(),
        ],
        action: ConfirmAction::Discard { kind, ids, archive },
    }));
}

fn submit(state: &mut State, fx: &mut Vec<Effect>) {
    let Some(Modal::Submit(form)) = &mut state.modal else {
        return;
    };
    let req = match form.to_request() {
        Ok(r) => r,
        Err(e) => {
            form.error = Some(e);
            return;
        }
    };
    state.modal = None;
    state.last_database = req.database.clone();
    state.last_table = req.table.clone();
    if let Some(dir) = req.path.parent().filter(|d| !d.as_os_str().is_empty()) {
        state.last_path = format!("{}/", dir.display());
    }
    let id = state.next_submission_id;
    state.next_submission_id += 1;
    let now = state.now;
    state.submissions.insert(
        0,
        SubmissionRow {
            format: req.format.map(|f| f.wire_name()).unwrap_or_default(),
            ..SubmissionRow::new(
                id,
                req.path.display().to_string(),
                req.database.clone(),
                req.table.clone(),
                req.report_level,
                req.report_method,
                now,
            )
        },
    );
    state.submissions_list.selected = 0;
    fx.push(Effect::Submit {
        id,
        req: Box::new(req),
    });
}
