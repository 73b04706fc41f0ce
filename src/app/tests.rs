//! `update()` unit tests: pure, no terminal, no clock.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::app::fixtures::{at, failure, sample_state, submission, success, t0};
use crate::app::msg::SubmittedInfo;
use crate::app::state::{ConfirmAction, Modal, Mode, Pane, Settings, State, SubState};
use crate::app::{Effect, Msg, update};
use crate::client::wire::{IngestionStatus, NotificationKind, StatusEntity};

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}
fn code(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}
fn typed(state: &mut State, s: &str) {
    for c in s.chars() {
        update(state, key(c));
    }
}
fn empty_state() -> State {
    State::new(Settings::default(), t0())
}

#[test]
fn tab_cycles_focus_both_ways() {
    let mut s = empty_state();
    assert_eq!(s.focus, Pane::Submissions);
    update(&mut s, code(KeyCode::Tab));
    assert_eq!(s.focus, Pane::Failures);
    update(&mut s, code(KeyCode::Tab));
    update(&mut s, code(KeyCode::Tab));
    assert_eq!(s.focus, Pane::Resources);
    update(&mut s, code(KeyCode::BackTab));
    assert_eq!(s.focus, Pane::Successes);
}

#[test]
fn filter_substring_and_inverted() {
    let mut s = sample_state();
    s.focus = Pane::Failures;
    update(&mut s, key('/'));
    typed(&mut s, "emptyblob");
    update(&mut s, code(KeyCode::Enter));
    assert!(s.modal.is_none());
    let ids: Vec<_> = s
        .failures
        .visible()
        .iter()
        .map(|r| r.message_id.clone())
        .collect();
    assert_eq!(ids, ["f1"]);
    update(&mut s, key('/'));
    update(&mut s, code(KeyCode::Home));
    typed(&mut s, "!");
    update(&mut s, code(KeyCode::Enter));
    assert_eq!(s.failures.list.filter, "!emptyblob");
    let ids: Vec<_> = s
        .failures
        .visible()
        .iter()
        .map(|r| r.message_id.clone())
        .collect();
    assert_eq!(ids, ["f3", "f2"]);
    // Esc on the list clears the filter.
    update(&mut s, code(KeyCode::Esc));
    assert_eq!(s.failures.visible().len(), 3);
}

#[test]
fn discard_needs_confirmation_and_archives_first() {
    let mut s = sample_state();
    s.focus = Pane::Failures;
    assert!(update(&mut s, key('d')).is_empty());
    let Some(Modal::Confirm(c)) = &s.modal else {
        panic!("no confirm dialog");
    };
    assert!(c.lines.iter().any(|l| l.contains("f3")), "{:?}", c.lines);
    assert!(
        c.lines
            .iter()
            .any(|l| l.contains("discarded-failure-20250101T120000Z.jsonl"))
    );
    // n cancels without effects.
    assert!(update(&mut s, key('n')).is_empty());
    assert!(s.modal.is_none());
    update(&mut s, key('d'));
    let fx = update(&mut s, key('y'));
    match fx.as_slice() {
        [Effect::Discard { kind, ids, archive }] => {
            assert_eq!(*kind, NotificationKind::Failure);
            assert_eq!(ids, &["f3".to_string()]);
            assert!(archive.ends_with("discarded-failure-20250101T120000Z.jsonl"));
        }
        other => panic!("unexpected effects {other:?}"),
    }
}

#[test]
fn discard_filtered_states_count_and_scope() {
    let mut s = sample_state();
    s.focus = Pane::Failures;
    s.failures.list.filter = "!emptyblob".into();
    update(&mut s, key('D'));
    let Some(Modal::Confirm(c)) = &s.modal else {
        panic!("no confirm dialog");
    };
    assert_eq!(c.title, "Discard 2 message(s)?");
    assert!(c.lines[0].contains("matching filter '!emptyblob'"));
    match &c.action {
        ConfirmAction::Discard { ids, .. } => assert_eq!(ids, &["f3", "f2"]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn read_only_gates_every_dangerous_action() {
    let mut s = sample_state();
    s.settings.read_only = true;
    s.focus = Pane::Failures;
    for c in ['d', 'D', 'm'] {
        assert!(update(&mut s, key(c)).is_empty());
        assert!(s.modal.is_none(), "{c} opened a dialog in read-only");
    }
    assert_eq!(s.mode, Mode::Peek);
    // Even a confirm dialog left over cannot produce a discard.
    s.modal = Some(Modal::Confirm(crate::app::state::Confirm {
        title: String::new(),
        lines: vec![],
        action: ConfirmAction::Discard {
            kind: NotificationKind::Failure,
            ids: vec!["f1".into()],
            archive: "a.jsonl".into(),
        },
    }));
    assert!(update(&mut s, key('y')).is_empty());
}

#[test]
fn freeze_holds_new_rows_until_unfrozen() {
    let mut s = empty_state();
    s.focus = Pane::Failures;
    update(&mut s, key('f'));
    assert!(s.failures.frozen);
    s.schedule.peeks_in_flight = 1;
    update(
        &mut s,
        Msg::Peeked {
            kind: NotificationKind::Failure,
            at: at(1),
            result: Ok(vec![failure("x", "sid", "BadRequest_EmptyBlob", 0)]),
        },
    );
    assert!(s.failures.ring.is_empty());
    assert_eq!(s.failures.held.len(), 1);
    update(&mut s, key('f'));
    assert_eq!(s.failures.ring.len(), 1);
    assert!(s.failures.held.is_empty());
}

#[test]
fn ring_buffer_is_bounded_and_deduplicated() {
    let mut s = State::new(
        Settings {
            ring_capacity: 3,
            ..Settings::default()
        },
        t0(),
    );
    for round in 0..3 {
        let rows = (0..4)
            .map(|i| success(&format!("m{}", round * 2 + i), "sid", i))
            .collect();
        s.schedule.peeks_in_flight = 1;
        update(
            &mut s,
            Msg::Peeked {
                kind: NotificationKind::Success,
                at: at(round),
                result: Ok(rows),
            },
        );
    }
    assert_eq!(s.successes.ring.len(), 3);
    let ids: Vec<_> = s
        .successes
        .ring
        .iter()
        .map(|r| r.message_id.clone())
        .collect();
    assert_eq!(ids, ["m7", "m6", "m5"]);
}

fn submit_one(s: &mut State) -> u64 {
    update(s, key('s'));
    typed(s, "/tmp/data.csv");
    update(s, code(KeyCode::Down));
    typed(s, "db");
    update(s, code(KeyCode::Down));
    typed(s, "Logs");
    let fx = update(s, code(KeyCode::Enter));
    match fx.as_slice() {
        [Effect::Submit { id, req }] => {
            assert_eq!(req.table, "Logs");
            assert_eq!(req.format, Some(crate::client::wire::DataFormat::Csv));
            *id
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn submission_goes_uploading_queued_pending_succeeded() {
    let mut s = empty_state();
    let id = submit_one(&mut s);
    assert_eq!(s.submissions[0].state, SubState::Uploading);
    assert_eq!(s.last_table, "Logs");
    update(
        &mut s,
        Msg::Upload {
            id,
            at: at(1),
            source_id: "sid-1".into(),
            read: 50,
            sent: 20,
            total: 100,
        },
    );
    assert_eq!(s.submissions[0].read, 50);
    let fx = update(
        &mut s,
        Msg::Submitted {
            id,
            at: at(2),
            result: Ok(SubmittedInfo {
                source_id: "sid-1".into(),
                blob: "https://a/tmp/b".into(),
                message_id: "m".into(),
                format: "csv".into(),
                raw_data_size: 100,
                status_location: None,
            }),
        },
    );
    assert!(matches!(fx.as_slice(), [Effect::Journal(r)] if r.state == SubState::Queued));
    assert_eq!(s.submissions[0].state, SubState::Queued);
    // A peek round after queueing without news: now pending.
    s.schedule.peeks_in_flight = 1;
    update(
        &mut s,
        Msg::Peeked {
            kind: NotificationKind::Failure,
            at: at(3),
            result: Ok(vec![]),
        },
    );
    assert_eq!(s.submissions[0].state, SubState::Pending);
    // Busy polling while tracking.
    assert_eq!(s.schedule.next_peek, Some(at(5)));
    s.schedule.peeks_in_flight = 1;
    let fx = update(
        &mut s,
        Msg::Peeked {
            kind: NotificationKind::Success,
            at: at(6),
            result: Ok(vec![success("n1", "SID-1", 5)]),
        },
    );
    assert_eq!(s.submissions[0].state, SubState::Succeeded);
    assert!(matches!(fx.as_slice(), [Effect::Journal(r)] if r.state == SubState::Succeeded));
}

#[test]
fn failure_notification_correlates_and_consume_discards_own_only() {
    let mut s = empty_state();
    let mut row = submission(1, "/d/x.csv", SubState::Pending);
    row.source_id = Some("mine".into());
    s.submissions.push(row);
    s.mode = Mode::Consume;
    s.schedule.peeks_in_flight = 1;
    let fx = update(
        &mut s,
        Msg::Peeked {
            kind: NotificationKind::Failure,
            at: at(1),
            result: Ok(vec![
                failure("a", "mine", "BadRequest_EmptyBlob", 0),
                failure("b", "someone-else", "BadRequest_EmptyBlob", 0),
            ]),
        },
    );
    // An empty blob is Skipped, as the status table would say.
    assert_eq!(s.submissions[0].state, SubState::Skipped);
    assert_eq!(
        s.submissions[0].error_code.as_deref(),
        Some("BadRequest_EmptyBlob")
    );
    let discards: Vec<_> = fx
        .iter()
        .filter_map(|f| match f {
            Effect::Discard { ids, .. } => Some(ids.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(discards, vec![vec!["a".to_string()]]);
}

#[test]
fn table_status_drives_partial_success() {
    let mut s = empty_state();
    let mut row = submission(7, "/d/x.csv", SubState::Queued);
    row.status_location = Some(crate::app::state::StatusLocation {
        table: "t".into(),
        partition_key: "p".into(),
        row_key: "r".into(),
    });
    row.next_status_at = Some(at(3));
    s.submissions.push(row);
    assert!(
        !update(&mut s, Msg::Tick(at(2)))
            .iter()
            .any(|f| matches!(f, Effect::TableStatus { .. }))
    );
    let fx = update(&mut s, Msg::Tick(at(3)));
    assert!(
        fx.iter()
            .any(|f| matches!(f, Effect::TableStatus { id: 7, .. }))
    );
    // In flight: not asked twice.
    assert!(
        !update(&mut s, Msg::Tick(at(4)))
            .iter()
            .any(|f| matches!(f, Effect::TableStatus { .. }))
    );
    let entity = StatusEntity {
        status: Some(IngestionStatus::PartiallySucceeded),
        ..StatusEntity::default()
    };
    update(
        &mut s,
        Msg::TableStatus {
            id: 7,
            at: at(5),
            result: Ok(Some(entity)),
        },
    );
    assert_eq!(s.submissions[0].state, SubState::PartiallySucceeded);
    assert_eq!(s.submissions[0].next_status_at, None);
}

#[test]
fn idle_polling_backs_off_and_resets_on_news() {
    let mut s = empty_state();
    let peek_round = |s: &mut State, t: i64, rows| {
        s.schedule.peeks_in_flight = 1;
        update(
            s,
            Msg::Peeked {
                kind: NotificationKind::Failure,
                at: at(t),
                result: Ok(rows),
            },
        );
        s.schedule.peek_interval.as_secs()
    };
    assert_eq!(peek_round(&mut s, 0, vec![]), 10);
    assert_eq!(peek_round(&mut s, 10, vec![]), 20);
    assert_eq!(peek_round(&mut s, 30, vec![]), 40);
    assert_eq!(peek_round(&mut s, 70, vec![]), 60);
    assert_eq!(peek_round(&mut s, 130, vec![failure("z", "x", "E", 0)]), 5);
    // Nothing due before the next poll: the loop sleeps until exactly then.
    assert_eq!(s.next_wakeup(), Some(at(135)));
}

#[test]
fn submit_dialog_validation_is_inline() {
    let mut s = empty_state();
    update(&mut s, key('s'));
    let fx = update(&mut s, code(KeyCode::Enter));
    assert!(fx.is_empty());
    let Some(Modal::Submit(form)) = &s.modal else {
        panic!("dialog closed");
    };
    assert!(form.error.as_deref().unwrap_or_default().contains("path"));
    // Tab on the path asks for completions.
    typed(&mut s, "/tm");
    let fx = update(&mut s, code(KeyCode::Tab));
    assert!(matches!(fx.as_slice(), [Effect::Complete { input }] if input == "/tm"));
    update(&mut s, code(KeyCode::Esc));
    assert!(s.modal.is_none());
}

#[test]
fn quit_keys() {
    let mut s = empty_state();
    update(&mut s, key('q'));
    assert!(s.quit);
    let mut s = empty_state();
    update(
        &mut s,
        Msg::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
    );
    assert!(s.quit);
}
