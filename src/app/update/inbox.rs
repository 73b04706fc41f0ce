//! The inbox side of the streams: history restored at start, acknowledgements (local only:
//! the shared queue keeps every message), and the inbox's problems on the status line.

use super::set_status;
use crate::app::effect::Effect;
use crate::app::state::{NotificationRow, Severity, State};
use crate::client::inbox::AckOutcome;
use crate::client::wire::NotificationKind;
use crate::sanitize::sanitize;

/// Rows the inbox holds (newest first) join the stream under what the peeks bring.
pub(super) fn on_history(
    state: &mut State,
    kind: NotificationKind,
    result: Result<(Vec<NotificationRow>, Vec<String>), String>,
) {
    match result {
        Ok((rows, acked)) => {
            let stream = state.stream_mut(kind);
            stream.set_acked(acked.iter().map(String::as_str), true);
            let fresh: Vec<NotificationRow> = rows
                .into_iter()
                .filter(|r| !stream.contains(&r.message_id))
                .collect();
            if !fresh.is_empty() {
                // History is older than what the peeks already listed (a scan finds what lies
                // past them): re-list everything by time, oldest first, so rows keep their
                // order and a full ring keeps the newest.
                let mut all: Vec<NotificationRow> = stream.rows().cloned().collect();
                let listed: std::collections::HashSet<String> =
                    all.iter().map(|r| r.message_id.clone()).collect();
                stream.remove_ids(&listed.iter().map(String::as_str).collect());
                all.extend(fresh);
                all.sort_by_key(NotificationRow::when);
                for row in all {
                    stream.push(row);
                }
            }
            state.dirty = true;
        }
        Err(e) => on_problem(state, &e),
    }
}

pub(super) fn on_problem(state: &mut State, e: &str) {
    set_status(
        state,
        format!(
            "inbox: {}; the streams show only what this session peeks",
            sanitize(e)
        ),
        Severity::Warn,
    );
}

/// `a`: acknowledges the selected notification, or takes the acknowledgement back.
pub(super) fn toggle_ack(state: &mut State, fx: &mut Vec<Effect>) {
    let Some(kind) = state.focus.kind() else {
        return;
    };
    let stream = state.stream(kind);
    let ids: Vec<String> = match stream.selected_group() {
        // Grouped: the whole group the row stands for.
        Some(g) => stream
            .group_rows(g.key)
            .map(|r| r.message_id.clone())
            .collect(),
        None => stream
            .selected_row()
            .map(|r| vec![r.message_id.clone()])
            .unwrap_or_default(),
    };
    let Some(first) = ids.first() else {
        set_status(
            state,
            "nothing selected to acknowledge".into(),
            Severity::Info,
        );
        return;
    };
    let ack = !stream.is_acked(first);
    state
        .stream_mut(kind)
        .set_acked(ids.iter().map(String::as_str), ack);
    fx.push(Effect::Acknowledge { kind, ids, ack });
}

/// `A`: shows or hides acknowledged notifications.
pub(super) fn toggle_show_acked(state: &mut State) {
    let Some(kind) = state.focus.kind() else {
        return;
    };
    let s = state.stream_mut(kind);
    let show = !s.shows_acked();
    s.set_show_acked(show);
    let n = s.acked_len();
    let text = if show {
        format!(
            "showing {n} acknowledged {} notification(s), dimmed",
            kind.as_str()
        )
    } else {
        format!("hiding {n} acknowledged {} notification(s)", kind.as_str())
    };
    set_status(state, text, Severity::Info);
}

pub(super) fn on_acknowledged(
    state: &mut State,
    kind: NotificationKind,
    ack: bool,
    ids: &[String],
    result: Result<AckOutcome, String>,
) {
    let verb = if ack {
        "acknowledged"
    } else {
        "un-acknowledged"
    };
    match result {
        Ok(out) => {
            let hidden = if ack && !state.stream(kind).shows_acked() {
                " (hidden; A shows acknowledged)"
            } else {
                ""
            };
            set_status(
                state,
                format!(
                    "{verb} {} {} notification(s) in the inbox{hidden}; the shared queue keeps them",
                    out.changed + out.unchanged,
                    kind.as_str()
                ),
                Severity::Ok,
            );
        }
        Err(e) => set_status(
            state,
            format!(
                "{verb} {} notification(s) for this session only: the inbox refused: {}",
                ids.len(),
                sanitize(&e)
            ),
            Severity::Warn,
        ),
    }
}

/// `S`: asks before a scan, saying what other clients will notice.
pub(super) fn ask_scan(state: &mut State) {
    let Some(kind) = state.focus.kind() else {
        return;
    };
    state.modal = Some(crate::app::state::Modal::Confirm(
        crate::app::state::Confirm {
            title: format!("Scan the {} queues into the inbox", kind.as_str()),
            lines: vec![
                "A scan receives every message past the 32 a peek sees, deletes none, and".into(),
                "records them in the local inbox.".into(),
                "While it runs, OTHER CLIENTS lose sight of those messages: hidden about as long"
                    .into(),
                "as the scan runs (at least 5 s, at most 5 min on a very long queue), released at"
                    .into(),
                "once where the SAS grants update (u), else when that timeout lapses; and each"
                    .into(),
                "message's DequeueCount rises by one.".into(),
            ],
            action: crate::app::state::ConfirmAction::Scan(kind),
        },
    ));
}

/// A scan ended: what it saw, how the messages were handed back; the streams are reloaded.
pub(super) fn on_scanned(
    state: &mut State,
    kind: NotificationKind,
    result: Result<crate::client::notifications::ScanReport, crate::client::error::Problem>,
    fx: &mut Vec<Effect>,
) {
    match result {
        Ok(r) => {
            let released = match r.visible_again_within_ms {
                None => "all released at once".to_string(),
                Some(ms) => format!("visible again to others within {:.1} s", ms as f64 / 1000.0),
            };
            let mut text = format!(
                "scan of {}: {} seen ({} new in the inbox), {released}",
                kind.as_str(),
                r.seen,
                r.new_in_inbox
            );
            if let Some(n) = r.not_seen.filter(|n| *n > 0) {
                text.push_str(&format!("; {n} not seen (held by another client)"));
            }
            let sev = match (&r.inbox_error, &r.aborted) {
                (Some(e), _) => {
                    text.push_str(&format!("; recording failed: {}", sanitize(e)));
                    Severity::Warn
                }
                (None, Some(why)) => {
                    text.push_str(&format!("; stopped early: {}", sanitize(why)));
                    Severity::Warn
                }
                (None, None) => Severity::Ok,
            };
            set_status(state, text, sev);
            fx.push(Effect::LoadInbox {
                limit: state.settings.ring_capacity,
            });
        }
        Err(p) => set_status(
            state,
            format!(
                "scan of {} failed: {}",
                kind.as_str(),
                sanitize(&p.to_string())
            ),
            Severity::Error,
        ),
    }
}

#[cfg(test)]
mod tests {
    use crate::app::effect::Effect;
    use crate::app::fixtures::{at, failure, failure_with, sample_state};
    use crate::app::msg::Msg;
    use crate::app::state::{Pane, State};
    use crate::app::update;
    use crate::client::wire::NotificationKind;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use std::collections::HashSet;

    fn press(s: &mut State, c: char) -> Vec<Effect> {
        update(
            s,
            Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)),
        )
    }

    fn visible(s: &State) -> Vec<String> {
        s.failures
            .matching_rows()
            .map(|r| r.message_id.clone())
            .collect()
    }

    #[test]
    fn start_asks_for_the_inbox_and_history_joins_the_stream_as_history() {
        let mut s = sample_state();
        let fx = update::start(&mut s);
        assert!(fx.iter().any(|e| matches!(e, Effect::LoadInbox { .. })));
        let before = s.failures.len();
        update(
            &mut s,
            Msg::History {
                kind: NotificationKind::Failure,
                result: Ok((
                    vec![
                        failure("old-2", "s2", "BadRequest_EmptyBlob", -7200),
                        failure("old-1", "s1", "BadRequest_EmptyBlob", -7300),
                    ],
                    vec!["old-1".into()],
                )),
            },
        );
        // The acknowledged one is hidden; the other is listed, and it is history.
        assert_eq!(s.failures.len(), before + 2);
        let ids = visible(&s);
        assert!(ids.contains(&"old-2".to_string()) && !ids.contains(&"old-1".to_string()));
        // Older than every peeked row: listed below them, not on top.
        assert_eq!(ids.last().map(String::as_str), Some("old-2"), "{ids:?}");
        let old = s.failures.row("old-2").unwrap();
        assert!(s.failures.is_history(old));
        // The filter applies to history rows too.
        s.set_filter(Pane::Failures, "old-2");
        assert_eq!(visible(&s), ["old-2"]);
        // An unreadable inbox is said, and the streams go on.
        update(
            &mut s,
            Msg::InboxProblem("database disk image is malformed".into()),
        );
        assert!(
            s.status
                .as_ref()
                .unwrap()
                .0
                .contains("inbox: database disk image")
        );
    }

    #[test]
    fn a_acknowledges_locally_capital_a_shows_them_and_a_again_takes_it_back() {
        let mut s = sample_state();
        s.focus = Pane::Failures;
        s.failures
            .push(failure("m-new", "s", "BadRequest_EmptyBlob", 10));
        let id = s.failures.selected_row().unwrap().message_id.clone();
        let fx = press(&mut s, 'a');
        let [Effect::Acknowledge { kind, ids, ack }] = fx.as_slice() else {
            panic!("{fx:?}")
        };
        assert_eq!(
            (*kind, ids.as_slice(), *ack),
            (NotificationKind::Failure, [id.clone()].as_slice(), true)
        );
        assert!(!visible(&s).contains(&id), "hidden by default");
        update(
            &mut s,
            Msg::Acknowledged {
                kind: NotificationKind::Failure,
                ack: true,
                ids: vec![id.clone()],
                result: Ok(crate::client::inbox::AckOutcome {
                    changed: 1,
                    ..Default::default()
                }),
            },
        );
        let text = s.status.clone().unwrap().0;
        assert!(
            text.contains("acknowledged 1 failure") && text.contains("queue keeps"),
            "{text}"
        );
        press(&mut s, 'A');
        assert!(visible(&s).contains(&id), "shown on request");
        // Select it and take the acknowledgement back.
        let pos = visible(&s).iter().position(|m| *m == id).unwrap();
        s.failures.list.selected = pos;
        let fx = press(&mut s, 'a');
        assert!(matches!(
            fx.as_slice(),
            [Effect::Acknowledge { ack: false, .. }]
        ));
        assert!(!s.failures.is_acked(&id));
        // No inbox: said, kept for the session.
        update(
            &mut s,
            Msg::Acknowledged {
                kind: NotificationKind::Failure,
                ack: false,
                ids: vec![id],
                result: Err("no inbox is open".into()),
            },
        );
        assert!(s.status.unwrap().0.contains("for this session only"));
    }

    #[test]
    fn capital_s_confirms_then_scans_and_reloads_the_streams_from_the_inbox() {
        let mut s = sample_state();
        s.focus = Pane::Failures;
        assert!(press(&mut s, 'S').is_empty());
        match &s.modal {
            Some(crate::app::state::Modal::Confirm(c)) => {
                let all = c.lines.join(" ");
                assert!(
                    all.contains("lose sight") && all.contains("DequeueCount"),
                    "{all}"
                );
            }
            other => panic!("{other:?}"),
        }
        let fx = press(&mut s, 'y');
        assert!(matches!(
            fx.as_slice(),
            [Effect::Scan {
                kind: NotificationKind::Failure
            }]
        ));
        let fx = update(
            &mut s,
            Msg::Scanned {
                kind: NotificationKind::Failure,
                result: Ok(crate::client::notifications::ScanReport {
                    seen: 500,
                    new_in_inbox: 468,
                    visible_again_within_ms: None,
                    ..Default::default()
                }),
            },
        );
        assert!(matches!(fx.as_slice(), [Effect::LoadInbox { .. }]));
        let text = s.status.clone().unwrap().0;
        assert!(text.contains("500 seen (468 new"), "{text}");
        // Read-only: no scan key at all.
        let mut ro = sample_state();
        ro.settings.read_only = true;
        ro.focus = Pane::Failures;
        press(&mut ro, 'S');
        assert!(ro.modal.is_none());
    }

    #[test]
    fn groups_are_code_table_status_with_first_last_and_a_per_minute_count() {
        let mut s = sample_state();
        s.now = at(0);
        let mut st = crate::app::stream::Stream::new(NotificationKind::Failure, 100);
        st.push(failure_with("a", "s", "E1", "Permanent", -125));
        st.push(failure_with("b", "s", "E1", "Permanent", -61));
        st.push(failure_with("c", "s", "E1", "Permanent", -5));
        st.push(failure_with("d", "s", "E1", "Transient", -5));
        st.set_grouped(true);
        let keys: Vec<String> = st.group_window(0, 10).map(|g| g.key.to_string()).collect();
        assert_eq!(keys, ["E1 · Logs · Transient", "E1 · Logs · Permanent"]);
        let want: HashSet<&str> = ["E1 · Logs · Permanent"].into_iter().collect();
        let stats = st.group_stats(&want, s.now);
        let g = &stats["E1 · Logs · Permanent"];
        assert_eq!((g.first, g.last), (at(-125), at(-5)));
        let n = g.per_minute.len();
        // t0 is on a minute: -5 s is the minute before, -61 s two, -125 s three.
        assert_eq!(&g.per_minute[n - 4..], [1, 1, 1, 0]);
        assert_eq!(g.per_minute.iter().sum::<u32>(), 3);
        assert_eq!(stats.len(), 1, "only the groups asked for");
    }
}
