//! `update(&mut State, Msg) -> Vec<Effect>`: every decision of the TUI, pure and synchronous.
//! Split by concern: `input` (keys, paste, actions, dialogs), `polling` (the schedule of
//! peeks, depths and resources), `submissions` (submit, tracking through `client::tracking`,
//! the journal) and `discard` (confirmation and results).

mod contexts;
mod discard;
mod inbox;
mod input;
mod polling;
mod resubmit;
mod submissions;

use chrono::{DateTime, Utc};
use crossterm::event::KeyEventKind;

use crate::app::effect::Effect;
use crate::app::msg::Msg;
use crate::app::state::{Modal, Pane, Severity, State, SubmissionRow};
use crate::client::wire::NotificationKind;

pub use contexts::{confirm_production, switch_failed};
pub use input::contexts;
pub use submissions::record_of;

fn dur(d: std::time::Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// The effects to run when the TUI starts.
pub fn start(state: &mut State) -> Vec<Effect> {
    state.resources.loading = true;
    let mut fx = vec![
        Effect::LoadResources { force: false },
        Effect::LoadInbox {
            limit: state.settings.ring_capacity,
        },
    ];
    polling::peek_now(state, &mut fx);
    fx
}

pub fn update(state: &mut State, msg: Msg) -> Vec<Effect> {
    let mut fx = Vec::new();
    match msg {
        Msg::Key(ev) => {
            if ev.kind != KeyEventKind::Release {
                polling::on_activity(state);
                input::on_key(state, ev, &mut fx);
                state.dirty = true;
            }
        }
        Msg::Paste(text) => {
            polling::on_activity(state);
            input::on_paste(state, &text);
            state.dirty = true;
        }
        Msg::Pointer { pane, action } => {
            polling::on_activity(state);
            input::on_pointer(state, pane, action);
        }
        Msg::Resize(w, h) => {
            state.size = (w, h);
            state.dirty = true;
        }
        Msg::Tick(now) => {
            polling::on_tick(state, now, &mut fx);
            submissions::on_tick(state, &mut fx);
            crate::app::bulk::on_tick(state, &mut fx);
        }
        Msg::Resources { at, result } => polling::on_resources(state, at, result, &mut fx),
        Msg::Depths { at, result } => polling::on_depths(state, at, result),
        Msg::Peeked { kind, at, result } => polling::on_peeked(state, kind, at, result, &mut fx),
        Msg::Upload {
            id,
            at,
            source_id,
            read,
            sent,
            total,
        } => submissions::on_upload(state, id, at, source_id, (read, sent, total)),
        Msg::Submitted { id, at, result } => {
            submissions::on_submitted(state, id, at, result, &mut fx)
        }
        Msg::Checked { asked, result } => {
            if let Some(Modal::Submit(form)) = &mut state.modal {
                let current = form.to_request().ok().map(|r| r.to_json());
                form.check = if current.as_ref() == Some(&asked) {
                    Some(result)
                } else {
                    // Edited since: the answer is for another file or table.
                    None
                };
                state.dirty = true;
            }
        }
        Msg::Forensics { message_id, result } => {
            if let Some((id, found)) = &mut state.forensics
                && *id == message_id
            {
                *found = Some(result);
                state.dirty = true;
            }
        }
        Msg::TableStatus { id, at, result } => {
            submissions::on_table_status(state, id, at, result, &mut fx)
        }
        Msg::OperationStatus { id, at, result } => {
            submissions::on_operation_status(state, id, at, result, &mut fx)
        }
        Msg::Discarded {
            kind,
            at,
            ids,
            archive,
            result,
        } => discard::on_discarded(state, kind, at, &ids, &archive, result),
        Msg::Completions { input, candidates } => {
            if let Some(Modal::Submit(form)) = &mut state.modal {
                form.apply_completions(&input, candidates);
                state.dirty = true;
            }
        }
        Msg::BulkStarted { id, at, result } => {
            advance(state, at);
            crate::app::bulk::on_started(state, id, at, result)
        }
        Msg::BulkStatus { at, ids, result } => {
            advance(state, at);
            crate::app::bulk::on_status(state, at, &ids, result)
        }
        Msg::BulkCanceled {
            operation_id,
            at,
            result,
        } => {
            advance(state, at);
            crate::app::bulk::on_canceled(state, &operation_id, at, result)
        }
        Msg::ClusterProgress(p) => crate::app::cluster::on_progress(state, p),
        Msg::ClusterScanned { at, result } => {
            advance(state, at);
            crate::app::cluster::on_scanned(state, result)
        }
        Msg::Discovered { input, result } => {
            if let Some(Modal::Submit(form)) = &mut state.modal {
                form.apply_matches(&input, result);
                state.dirty = true;
            }
        }
        Msg::History { kind, result } => inbox::on_history(state, kind, result),
        Msg::Acknowledged {
            kind,
            ack,
            ids,
            result,
        } => inbox::on_acknowledged(state, kind, ack, &ids, result),
        Msg::InboxProblem(e) => inbox::on_problem(state, &e),
        Msg::Scanned { kind, result } => inbox::on_scanned(state, kind, result, &mut fx),
        Msg::Exported {
            path,
            rows,
            what,
            result,
        } => crate::app::export::on_exported(state, &path, rows, &what, result),
        Msg::Submit(req) => submissions::submit_background(state, *req, &mut fx),
        Msg::Journal(records) => submissions::on_journal(state, records),
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
    state.set_status(text, sev);
}

fn row_mut(state: &mut State, id: u64) -> Option<&mut SubmissionRow> {
    state.submissions.iter_mut().find(|r| r.id == id)
}

fn clamp_selection(state: &mut State) {
    for pane in Pane::ALL {
        let len = state.visible_len(pane);
        let list = state.list_mut(pane);
        list.selected = list.selected.min(len.saturating_sub(1));
    }
}

fn archive_path(state: &State, kind: NotificationKind) -> std::path::PathBuf {
    state.settings.archive_dir.join(format!(
        "discarded-{}-{}.jsonl",
        kind.as_str(),
        state.now.format("%Y%m%dT%H%M%SZ")
    ))
}
