//! `R`: resubmit the selected source (Submissions pane, or a failure in the Failures stream
//! whose source kingest sent) as a new source, by the policy of `client::resubmit` — the
//! same as `kingest resubmit`. A source not known to have Failed asks first, with the warning.

use super::{set_status, submissions};
use crate::app::effect::Effect;
use crate::app::state::{Confirm, ConfirmAction, Modal, Pane, Severity, State};
use crate::client::resubmit::{Origin, Verdict, plan_from, risk};

/// `R` pressed in a list.
pub(super) fn ask(state: &mut State, fx: &mut Vec<Effect>) {
    match target(state) {
        Ok(row) => send(state, row, false, fx),
        Err(why) => set_status(state, why, Severity::Warn),
    }
}

/// The submission row `R` is about, or why there is none.
fn target(state: &State) -> Result<u64, String> {
    match state.focus {
        Pane::Submissions => state
            .visible_submissions()
            .get(state.submissions_list.selected)
            .map(|r| r.id)
            .ok_or_else(|| "select a source in the submissions pane to resubmit it".into()),
        Pane::Failures => {
            let n = state
                .failures
                .selected_row()
                .ok_or("select a failure to resubmit its source")?;
            let id = n
                .decoded
                .notification
                .as_ref()
                .and_then(|x| x.ingestion_source_id.as_deref())
                .ok_or("this failure names no source id: nothing to resubmit")?;
            state
                .submissions
                .iter()
                .filter(|r| r.chunk.is_none_or(|c| c.index == 1))
                .find(|r| {
                    r.source_id
                        .as_deref()
                        .is_some_and(|s| s.eq_ignore_ascii_case(id))
                        || r.chunk
                            .is_some_and(|c| c.source_id.to_string().eq_ignore_ascii_case(id))
                })
                .or_else(|| {
                    // A chunk's failure: its source is listed by its first chunk.
                    let chunk = state.submissions.iter().find(|r| {
                        r.source_id
                            .as_deref()
                            .is_some_and(|s| s.eq_ignore_ascii_case(id))
                    })?;
                    let c = chunk.chunk?;
                    state.submissions.iter().find(|r| {
                        r.chunk
                            .is_some_and(|o| o.source_id == c.source_id && o.index == 1)
                    })
                })
                .map(|r| r.id)
                .ok_or_else(|| {
                    format!(
                        "source {id} was not sent by kingest to this cluster (not in its \
                         journal): nothing to resubmit"
                    )
                })
        }
        _ => Err(
            "resubmit works on a source in the submissions pane or a failure in the failures \
             stream"
                .into(),
        ),
    }
}

/// Resubmits row `row_id`'s source when the policy allows (or `force`), else asks first.
pub(super) fn send(state: &mut State, row_id: u64, force: bool, fx: &mut Vec<Effect>) {
    let Some(row) = state.submissions.iter().find(|r| r.id == row_id) else {
        return;
    };
    if row.tracker().is_none() {
        set_status(
            state,
            format!("{} is not posted yet: nothing to resubmit", row.file),
            Severity::Warn,
        );
        return;
    }
    let shown_id = row
        .chunk
        .map(|c| c.source_id.to_string())
        .or_else(|| row.source_id.clone())
        .unwrap_or_default();
    let records: Vec<_> = state
        .chunks_of(row)
        .into_iter()
        .filter_map(|r| submissions::record_of(r, &state.settings.cluster, state.now))
        .collect();
    let plan = match plan_from(&shown_id, &records, force) {
        Ok(p) => p,
        Err(e) => {
            set_status(state, format!("cannot resubmit: {e}"), Severity::Error);
            return;
        }
    };
    match plan.verdict {
        Verdict::Refuse(why) => {
            let mut lines = vec![
                format!("Source {shown_id}"),
                plan.file.clone(),
                String::new(),
            ];
            lines.extend(wrap(&format!("Not resubmitted by default: {why}.")));
            lines.push(String::new());
            lines.extend(wrap(&format!(
                "y resubmits it anyway as a new source: {}.",
                risk(plan.request.dedupe)
            )));
            state.modal = Some(Modal::Confirm(Confirm {
                title: "Resubmit anyway?".into(),
                lines,
                action: ConfirmAction::Resubmit { row: row_id },
            }));
        }
        Verdict::Send { ref warning } => {
            if let Origin::Blob(_) = plan.origin {
                set_status(
                    state,
                    format!(
                        "{} is not readable here: `kingest resubmit {shown_id}` re-posts its \
                         retained blob",
                        plan.file
                    ),
                    Severity::Warn,
                );
                return;
            }
            let mut text = format!("resubmitting {shown_id} as a new source");
            if let Some(note) = plan.origin_note() {
                text = format!("{text}; {note}");
            }
            let sev = if warning.is_some() {
                Severity::Warn
            } else {
                Severity::Info
            };
            if let Some(w) = warning.clone() {
                text = format!("{text}; {w}");
            }
            submissions::enqueue(state, plan.request, false, fx);
            let new_id = state.next_submission_id - 1;
            if let Some(r) = state.submissions.iter_mut().find(|r| r.id == new_id) {
                r.resubmit_of = Some(shown_id);
            }
            state.submissions_list.selected = 0;
            set_status(state, text, sev);
        }
    }
}

/// `text` in lines of at most 68 columns (the confirm dialog's inner width), at spaces.
fn wrap(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > 68 {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    use crate::app::fixtures::{at, failure, t0};
    use crate::app::state::{ConfirmAction, Modal, Pane, Settings, State};
    use crate::app::{Effect, Msg, update};
    use crate::client::journal::JournalRecord;
    use crate::client::tracking::{TrackState, Tracker};
    use crate::client::wire::NotificationKind;

    fn key(c: char) -> Msg {
        Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
    }

    /// A state with one journaled source of `file` in `state`.
    fn with_source(file: &std::path::Path, sid: &str, state: TrackState) -> State {
        let mut s = State::new(Settings::default(), t0());
        let mut tracker = Tracker::posted(sid, None, true, at(-60));
        tracker.state = state;
        let rec = JournalRecord {
            at: at(-60),
            ingest_url: s.settings.cluster.clone(),
            source_id: sid.into(),
            file: file.display().to_string(),
            database: "db".into(),
            table: "T".into(),
            format: "csv".into(),
            size: 4,
            report_level: "FailuresAndSuccesses".into(),
            report_method: "Queue".into(),
            mode: Default::default(),
            blob: None,
            message_id: None,
            tracker,
            chunk: None,
            unfinished: None,
            request: None,
            file_len: None,
            file_mtime_ns: None,
            resubmit_of: None,
        };
        update(&mut s, Msg::Journal(vec![rec]));
        s
    }

    fn submits(fx: &[Effect]) -> Vec<std::path::PathBuf> {
        fx.iter()
            .filter_map(|f| match f {
                Effect::Submit { req, .. } => Some(req.path.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn r_on_a_succeeded_source_asks_first_with_the_warning_then_resubmits() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.csv");
        std::fs::write(&file, "1,a\n").unwrap();
        let mut s = with_source(&file, "sid-ok", TrackState::Succeeded);
        let fx = update(&mut s, key('R'));
        assert!(submits(&fx).is_empty(), "{fx:?}");
        let Some(Modal::Confirm(c)) = &s.modal else {
            panic!("a confirm dialog: {:?}", s.modal);
        };
        assert!(matches!(c.action, ConfirmAction::Resubmit { .. }));
        let text = c.lines.join(" ");
        assert!(text.contains("already landed"), "{text}");
        assert!(text.contains("may land twice"), "{text}");
        let fx = update(&mut s, key('y'));
        assert_eq!(submits(&fx), vec![file]);
        assert_eq!(s.submissions[0].resubmit_of.as_deref(), Some("sid-ok"));
    }

    #[test]
    fn r_on_a_failed_source_resubmits_at_once_and_n_cancels_a_forced_one() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.csv");
        std::fs::write(&file, "1,a\n").unwrap();
        let mut s = with_source(&file, "sid-bad", TrackState::Failed);
        let fx = update(&mut s, key('R'));
        assert_eq!(submits(&fx), vec![file.clone()]);
        assert!(s.modal.is_none());
        let (text, _) = s.status.clone().unwrap();
        assert!(
            text.contains("resubmitting sid-bad as a new source"),
            "{text}"
        );

        let mut s = with_source(&file, "sid-wait", TrackState::Pending);
        update(&mut s, key('R'));
        let fx = update(&mut s, key('n'));
        assert!(submits(&fx).is_empty());
        assert_eq!(s.submissions.len(), 1);
    }

    #[test]
    fn r_on_a_failure_of_a_source_kingest_did_not_send_is_refused_with_a_message() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.csv");
        std::fs::write(&file, "1,a\n").unwrap();
        let mut s = with_source(&file, "sid-mine", TrackState::Failed);
        update(&mut s, key('p'));
        update(
            &mut s,
            Msg::Peeked {
                kind: NotificationKind::Failure,
                at: at(0),
                result: Ok(vec![failure(
                    "m1",
                    "sid-other",
                    "Stream_WrongNumberOfFields",
                    0,
                )]),
            },
        );
        s.focus = Pane::Failures;
        let fx = update(&mut s, key('R'));
        assert!(submits(&fx).is_empty());
        let (text, _) = s.status.clone().unwrap();
        assert!(text.contains("was not sent by kingest"), "{text}");

        // A failure of its own source resubmits that source.
        update(&mut s, key('p'));
        update(
            &mut s,
            Msg::Peeked {
                kind: NotificationKind::Failure,
                at: at(1),
                result: Ok(vec![failure(
                    "m2",
                    "sid-mine",
                    "Stream_WrongNumberOfFields",
                    1,
                )]),
            },
        );
        s.failures.list.selected = 0;
        let picked = s.failures.selected_row().and_then(|r| {
            r.decoded
                .notification
                .as_ref()
                .and_then(|n| n.ingestion_source_id.clone())
        });
        if picked.as_deref() != Some("sid-mine") {
            s.failures.list.selected = 1;
        }
        let fx = update(&mut s, key('R'));
        assert_eq!(submits(&fx), vec![file], "{:?}", s.status);
    }
}
