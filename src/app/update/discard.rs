//! Discards: the confirmation (scope and archive named) and the result.

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use super::{advance, archive_path, clamp_selection, set_status};
use crate::app::keymap::Action;
use crate::app::state::{Confirm, ConfirmAction, Modal, Severity, State};
use crate::client::error::Problem;
use crate::client::notifications::DiscardReport;
use crate::client::wire::NotificationKind;

pub(super) fn ask_discard(state: &mut State, action: Action) {
    let Some(kind) = state.focus.kind() else {
        return;
    };
    let stream = state.stream(kind);
    let (ids, scope): (Vec<String>, String) = if let Some(group) = stream
        .selected_group()
        .filter(|_| action == Action::Discard)
    {
        // Grouped, `d` takes the selected group: the rows it counts, not just its newest.
        let ids: Vec<String> = stream
            .group_rows(group.key)
            .map(|r| r.message_id.clone())
            .collect();
        let scope = format!(
            "the {} listed {} notifications of group '{}'{}",
            ids.len(),
            kind.as_str(),
            group.key,
            filter_note(&stream.list.filter)
        );
        (ids, scope)
    } else if action == Action::Discard {
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
            .matching_rows()
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
                "{} listed {} notifications{}",
                ids.len(),
                kind.as_str(),
                filter_note(&stream.list.filter)
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

fn filter_note(filter: &str) -> String {
    if filter.is_empty() {
        String::new()
    } else {
        format!(" matching filter '{filter}'")
    }
}

pub(super) fn on_discarded(
    state: &mut State,
    kind: NotificationKind,
    at: DateTime<Utc>,
    ids: &[String],
    archive: &std::path::Path,
    result: Result<DiscardReport, Problem>,
) {
    advance(state, at);
    match result {
        Ok(report) => {
            let failed: HashSet<&str> = report.errors.iter().map(|(id, _)| id.as_str()).collect();
            let gone: HashSet<&str> = ids
                .iter()
                .map(String::as_str)
                .filter(|id| !failed.contains(id))
                .collect();
            let removed = state.stream_mut(kind).remove_ids(&gone);
            clamp_selection(state);
            let sev = if report.errors.is_empty() && report.complete {
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
            if let Some(summary) = report.release_summary() {
                text.push_str(&format!("; {summary}"));
            }
            if let Some(why) = &report.aborted {
                text.push_str(&format!("; stopped early: {why}"));
            } else if let Some(left) = report.remaining_summary()
                && report.errors.is_empty()
            {
                text.push_str(&format!(
                    "; not done: {left}; selected messages may be among them: try again later"
                ));
            } else if let Some(n) = report.invisible_elsewhere().filter(|n| *n > 0) {
                // Done, but say what else is in flight: it is not this discard's to wait for.
                text.push_str(&format!(
                    "; {n} other message(s) in the queue are invisible (held by another receive)"
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
