//! Keys, paste and the actions they trigger.

use crossterm::event::{Event, KeyEvent};
use tui_input::backend::crossterm::EventHandler;

use super::{discard, polling, set_status, submissions};
use crate::app::effect::Effect;
use crate::app::form::SubmitForm;
use crate::app::keymap::{Action, Context, stack};
use crate::app::msg::Pointer;
use crate::app::state::{
    Confirm, ConfirmAction, DetailTarget, Leave, Modal, Mode, Pane, Severity, State,
};
use crate::client::wire::NotificationKind;

const PAGE: usize = 10;

/// The binding contexts active now, most specific first.
pub fn contexts(state: &State) -> &'static [Context] {
    match &state.modal {
        Some(Modal::Help { .. }) => stack::HELP,
        Some(Modal::Confirm(_)) => stack::CONFIRM,
        Some(Modal::Submit(_) | Modal::Bulk(_)) => stack::SUBMIT,
        Some(Modal::Filter { .. }) => stack::FILTER,
        Some(Modal::Command { .. }) => stack::COMMAND,
        Some(Modal::Contexts { .. }) => stack::CONTEXTS,
        Some(Modal::Cluster { .. }) => stack::CLUSTER,
        Some(Modal::Export(_)) => stack::EXPORT,
        Some(Modal::Copy(_)) => stack::COPY,
        Some(Modal::Detail { .. }) => stack::DETAIL,
        None if state.focus.kind().is_some() => stack::NOTIFICATIONS,
        None => stack::LIST,
    }
}

pub(super) fn on_key(state: &mut State, ev: KeyEvent, fx: &mut Vec<Effect>) {
    let action = state
        .settings
        .keymap
        .lookup(contexts(state), &ev, state.settings.read_only)
        .map(|b| b.action);
    match action {
        Some(action) => on_action(state, action, fx),
        None => on_text(state, ev),
    }
}

fn on_text(state: &mut State, ev: KeyEvent) {
    if let Some(input) = crate::app::bulk::input_mut(state) {
        input.handle_event(&Event::Key(ev));
        return;
    }
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
        Some(Modal::Filter { input, .. } | Modal::Command { input }) => {
            input.handle_event(&Event::Key(ev));
        }
        Some(Modal::Export(form)) => {
            form.path.handle_event(&Event::Key(ev));
        }
        _ => {}
    }
}

pub(super) fn on_paste(state: &mut State, text: &str) {
    let clean: String = text.chars().filter(|c| !c.is_control()).collect();
    let input = match &mut state.modal {
        Some(Modal::Submit(form)) => form.input_mut(),
        Some(Modal::Filter { input, .. } | Modal::Command { input }) => Some(input),
        Some(Modal::Bulk(_)) => crate::app::bulk::input_mut(state),
        Some(Modal::Export(form)) => Some(&mut form.path),
        _ => None,
    };
    if let Some(input) = input {
        let value = format!("{}{}", input.value(), clean);
        *input = tui_input::Input::new(value);
    }
}

fn on_action(state: &mut State, action: Action, fx: &mut Vec<Effect>) {
    if crate::app::bulk::on_dialog_action(state, action, fx)
        || crate::app::export::on_dialog_action(state, action, fx)
    {
        return;
    }
    if let (Some(Modal::Copy(_)), Action::DialogSubmit) = (&state.modal, action) {
        crate::app::export::choose(state, fx);
        return;
    }
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
                // A failure's forensics are computed while its detail is open.
                if let DetailTarget::Notification {
                    kind: NotificationKind::Failure,
                    message_id,
                } = &target
                    && let Some(n) = state
                        .stream(NotificationKind::Failure)
                        .row(message_id)
                        .and_then(|r| r.decoded.notification.clone())
                {
                    state.forensics = Some((message_id.clone(), None));
                    fx.push(Effect::Forensics {
                        message_id: message_id.clone(),
                        notification: Box::new(n),
                    });
                }
                state.modal = Some(Modal::Detail {
                    target,
                    raw: false,
                    timeline: false,
                    scroll: 0,
                });
            }
        }
        Action::Back => match state.modal {
            Some(_) => state.modal = None,
            None => state.set_filter(state.focus, ""),
        },
        Action::OpenSubmit => {
            let mut form = SubmitForm::new(&state.last_database, &state.last_table);
            // Not known yet (resources still loading): assume the usual, a status table.
            let offered = state.resources.entries.is_empty()
                || state
                    .resources
                    .entries
                    .iter()
                    .any(|e| e.kind == crate::client::ResourceKind::IngestionsStatusTable);
            form.report_method =
                crate::client::submit::default_report_method(form.report_level, offered);
            form.path = tui_input::Input::new(state.last_path.clone());
            state.modal = Some(Modal::Submit(Box::new(form)))
        }
        Action::PeekNow => {
            if matches!(
                state.schedule.peek,
                crate::app::state::PeekRound::Running { .. }
            ) {
                set_status(state, "a peek is already running".into(), Severity::Info);
            } else {
                polling::peek_now(state, fx);
            }
        }
        Action::Discard | Action::DiscardFiltered => discard::ask_discard(state, action),
        Action::ClusterStatus => crate::app::cluster::ask(state),
        Action::OpenBulk => crate::app::bulk::open_dialog(state),
        Action::Export => crate::app::export::open_export(state),
        Action::Copy => crate::app::export::open_copy(state),
        Action::CopyCommand => crate::app::export::copy_command(state, fx),
        Action::Acknowledge => super::inbox::toggle_ack(state, fx),
        Action::ShowAcked => super::inbox::toggle_show_acked(state),
        Action::Scan => super::inbox::ask_scan(state),
        Action::CancelBulk => crate::app::bulk::ask_cancel(state),
        Action::Resubmit => super::resubmit::ask(state, fx),
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
                s.set_frozen(!s.is_frozen());
            }
        }
        Action::ToggleGroup => {
            if let Some(kind) = state.focus.kind() {
                let s = state.stream_mut(kind);
                s.set_grouped(!s.is_grouped());
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
        Action::Help => state.modal = Some(Modal::Help { scroll: 0 }),
        Action::Quit => state.quit = true,
        Action::Suspend => state.suspend = true,
        Action::Command => {
            state.modal = Some(Modal::Command {
                input: tui_input::Input::default(),
            })
        }
        Action::CommandRun => {
            if let Some(Modal::Command { input }) = state.modal.take() {
                super::contexts::run_command(state, input.value());
            }
        }
        Action::SwitchContext => {
            if let Some(Modal::Contexts { selected }) = state.modal
                && let Some(name) = state.settings.contexts.get(selected).cloned()
            {
                super::contexts::request_switch(state, &name);
            }
        }
        Action::ToggleRaw => {
            if let Some(Modal::Detail { raw, scroll, .. }) = &mut state.modal {
                *raw = !*raw;
                *scroll = 0;
            }
        }
        Action::ToggleTimeline => {
            if let Some(Modal::Detail {
                timeline, scroll, ..
            }) = &mut state.modal
            {
                *timeline = !*timeline;
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
                    ConfirmAction::CancelBulk { operation_id } if !state.settings.read_only => {
                        crate::app::bulk::confirmed_cancel(state, operation_id, fx)
                    }
                    ConfirmAction::Resubmit { row } => super::resubmit::send(state, row, true, fx),
                    ConfirmAction::ClusterScan => crate::app::cluster::confirmed(state, fx),
                    ConfirmAction::Scan(kind) if !state.settings.read_only => {
                        set_status(
                            state,
                            format!("scanning the {} queues into the inbox…", kind.as_str()),
                            Severity::Info,
                        );
                        fx.push(Effect::Scan { kind });
                    }
                    ConfirmAction::SwitchContext(name) => {
                        state.leave = Some(Leave::SwitchContext {
                            name,
                            confirmed: true,
                        })
                    }
                    _ => {}
                }
            }
        }
        Action::ConfirmNo | Action::DialogCancel | Action::FilterCancel | Action::CommandCancel => {
            state.modal = None
        }
        Action::DialogSubmit => submissions::submit(state, fx),
        Action::DialogCheck => {
            if let Some(Modal::Submit(form)) = &mut state.modal {
                match form.to_request() {
                    Ok(req) => {
                        form.check = Some(Ok(vec!["checking…".into()]));
                        fx.push(Effect::Check { req: Box::new(req) });
                    }
                    Err(e) => form.error = Some(e),
                }
            }
        }
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
                state.set_filter(pane, input.value());
            }
        }
    }
}

/// Rows one wheel notch moves a list's selection.
const WHEEL_ROWS: usize = 3;

/// The mouse as the keys it stands for: a click focuses the pane under it, the wheel focuses
/// it and moves its selection. Ignored while a dialog is open (it owns the screen).
pub(super) fn on_pointer(state: &mut State, pane: Pane, action: Pointer) {
    if state.modal.is_some() {
        return;
    }
    state.focus = pane;
    let step = match action {
        Pointer::Click => None,
        Pointer::WheelUp => Some(Action::Up),
        Pointer::WheelDown => Some(Action::Down),
    };
    if let Some(step) = step {
        for _ in 0..WHEEL_ROWS {
            move_selection(state, step);
        }
    }
    state.dirty = true;
}

fn move_selection(state: &mut State, action: Action) {
    if let Some(Modal::Help { scroll }) = &mut state.modal {
        // Clamped when drawn: the overlay knows its height.
        *scroll = match action {
            Action::Up => scroll.saturating_sub(1),
            Action::Down => scroll.saturating_add(1),
            Action::PageUp => scroll.saturating_sub(PAGE),
            Action::PageDown => scroll.saturating_add(PAGE),
            Action::Top => 0,
            _ => *scroll,
        };
        return;
    }
    if let Some(Modal::Contexts { selected }) = &mut state.modal {
        let last = state.settings.contexts.len().saturating_sub(1);
        *selected = match action {
            Action::Up => selected.saturating_sub(1),
            _ => (*selected + 1).min(last),
        };
        return;
    }
    if let Some(Modal::Cluster { scroll }) = &mut state.modal {
        let last = state.cluster.rows().saturating_sub(1);
        *scroll = match action {
            Action::Up => scroll.saturating_sub(1),
            Action::Down => (*scroll + 1).min(last),
            Action::PageUp => scroll.saturating_sub(PAGE),
            Action::PageDown => (*scroll + PAGE).min(last),
            _ => *scroll,
        };
        return;
    }
    if let Some(Modal::Copy(menu)) = &mut state.modal {
        crate::app::export::move_choice(menu, action == Action::Down);
        return;
    }
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
