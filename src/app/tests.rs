//! `update()` unit tests: pure, no terminal, no clock.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::app::fixtures::{at, failure, failure_with, sample_state, submission, success, t0};
use crate::app::msg::SubmittedInfo;
use crate::app::state::{
    ConfirmAction, Modal, Mode, NotificationRow, Pane, PeekRound, Phase, Settings, State, SubState,
    TableRead,
};
use crate::app::{Effect, Msg, update};
use crate::client::journal::JournalRecord;
use crate::client::storage::SasUrl;
use crate::client::tracking::{StatusRef, TrackState, Tracker};
use crate::client::wire::{IngestionStatus, NotificationKind, ReportMethod, StatusEntity};

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
        .matching_rows()
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
        .matching_rows()
        .map(|r| r.message_id.clone())
        .collect();
    assert_eq!(ids, ["f3", "f2"]);
    // Esc on the list clears the filter.
    update(&mut s, code(KeyCode::Esc));
    assert_eq!(s.failures.visible_len(), 3);
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
    s.set_filter(Pane::Failures, "!emptyblob");
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

/// One full peek round as the runtime runs it: `p` asks for both peeks, then both answer.
fn round(
    s: &mut State,
    t: i64,
    failures: Vec<NotificationRow>,
    successes: Vec<NotificationRow>,
) -> Vec<Effect> {
    let fx = update(s, key('p'));
    assert_eq!(
        fx.iter()
            .filter(|f| matches!(f, Effect::Peek { .. }))
            .count(),
        2,
        "a round peeks both queues: {fx:?}"
    );
    let mut out = update(
        s,
        Msg::Peeked {
            kind: NotificationKind::Failure,
            at: at(t),
            result: Ok(failures),
        },
    );
    assert!(matches!(
        s.schedule.peek,
        PeekRound::Running { pending: 1, .. }
    ));
    out.extend(update(
        s,
        Msg::Peeked {
            kind: NotificationKind::Success,
            at: at(t),
            result: Ok(successes),
        },
    ));
    out
}

#[test]
fn freeze_holds_new_rows_until_unfrozen() {
    let mut s = empty_state();
    s.focus = Pane::Failures;
    update(&mut s, key('f'));
    assert!(s.failures.is_frozen());
    round(
        &mut s,
        1,
        vec![failure("x", "sid", "BadRequest_EmptyBlob", 0)],
        vec![],
    );
    assert!(s.failures.is_empty());
    assert_eq!(s.failures.held_len(), 1);
    update(&mut s, key('f'));
    assert_eq!(s.failures.len(), 1);
    assert_eq!(s.failures.held_len(), 0);
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
    for r in 0..3 {
        let rows = (0..4)
            .map(|i| success(&format!("m{}", r * 2 + i), "sid", i))
            .collect();
        round(&mut s, r, vec![], rows);
    }
    assert_eq!(s.successes.len(), 3);
    let ids: Vec<_> = s.successes.rows().map(|r| r.message_id.clone()).collect();
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

fn journaled(fx: &[Effect]) -> Vec<TrackState> {
    fx.iter()
        .filter_map(|f| match f {
            Effect::Journal(r) => Some(r.tracker.state),
            _ => None,
        })
        .collect()
}

fn status_ref() -> StatusRef {
    StatusRef::new(
        SasUrl::parse(
            "http://127.0.0.1:1/acct/ingestionsstatus20250101?se=2099-01-01T00:00:00Z&sig=S",
        )
        .unwrap(),
        "p".into(),
        "r".into(),
    )
}

fn submitted(s: &mut State, id: u64, t: i64, status_ref: Option<StatusRef>) -> Vec<Effect> {
    submitted_info(s, id, t, status_ref, None)
}

fn submitted_info(
    s: &mut State,
    id: u64,
    t: i64,
    status_ref: Option<StatusRef>,
    operation: Option<crate::client::tracking::OperationRef>,
) -> Vec<Effect> {
    update(
        s,
        Msg::Submitted {
            id,
            at: at(t),
            result: Ok(vec![SubmittedInfo {
                source_id: "sid-1".into(),
                blob: Some("https://a/tmp/b".into()),
                message_id: Some("m".into()),
                format: "csv".into(),
                raw_data_size: 100,
                status_ref,
                reposts: 0,
                if_not_exists: false,
                answer: None,
                delivered: crate::app::state::Delivered::default(),
                operation: operation.map(Box::new),
                chunk: None,
                history: Default::default(),
            }]),
        },
    )
}

#[test]
fn a_rest_queued_submission_polls_its_operation_until_its_blob_is_final() {
    use crate::client::rest_queued::{BlobState, BlobStatus, OperationStatus, wire::Counts};
    let mut s = empty_state();
    let id = submit_one(&mut s);
    let op = crate::client::tracking::OperationRef {
        database: "db".into(),
        table: "Logs".into(),
        operation_id: "op-1".into(),
    };
    submitted_info(&mut s, id, 0, None, Some(op.clone()));
    let fx = update(&mut s, Msg::Tick(at(2)));
    assert!(
        fx.iter()
            .any(|f| matches!(f, Effect::OperationStatus { id: i, op: o } if *i == id && *o == op)),
        "{fx:?}"
    );
    let blob = |status, code: Option<&str>| BlobStatus {
        source_id: "sid-1".into(),
        url: None,
        status,
        started_at: None,
        last_update: None,
        error_code: code.map(str::to_string),
        failure_status: code.map(|_| "Permanent".into()),
        details: None,
    };
    let answer = |b: BlobStatus| OperationStatus {
        start_time: None,
        last_updated: None,
        counts: Counts::of(std::slice::from_ref(&b)),
        details: Some(vec![b]),
    };
    let running = answer(blob(BlobState::InProgress, None));
    update(
        &mut s,
        Msg::OperationStatus {
            id,
            at: at(3),
            result: Ok(running),
        },
    );
    assert!(matches!(
        s.submissions[0].phase,
        Phase::Posted {
            table_read: TableRead::Due(_),
            ..
        }
    ));
    let failed = answer(blob(BlobState::Failed, Some("BadRequest_InvalidBlob")));
    let fx = update(
        &mut s,
        Msg::OperationStatus {
            id,
            at: at(6),
            result: Ok(failed),
        },
    );
    assert_eq!(journaled(&fx), [TrackState::Failed]);
    assert!(matches!(
        s.submissions[0].phase,
        Phase::Posted {
            table_read: TableRead::Off,
            ..
        }
    ));
}

#[test]
fn queue_tracked_submission_goes_uploading_queued_retrying_succeeded() {
    let mut s = empty_state();
    let id = submit_one(&mut s);
    assert_eq!(s.submissions[0].state(), SubState::Uploading);
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
    s.submissions[0].report_method = ReportMethod::Queue;
    let fx = submitted(&mut s, id, 2, None);
    assert_eq!(journaled(&fx), [TrackState::Queued]);
    assert_eq!(
        s.submissions[0].state(),
        SubState::Track(TrackState::Queued)
    );
    // A transient failure: the service retries, so it is not final.
    let fx = round(
        &mut s,
        3,
        vec![failure_with(
            "f1",
            "SID-1",
            "General_RetryableError",
            "Transient",
            3,
        )],
        vec![],
    );
    assert_eq!(
        s.submissions[0].state(),
        SubState::Track(TrackState::Retrying)
    );
    assert_eq!(journaled(&fx), [TrackState::Retrying]);
    assert!(s.tracking());
    // Busy polling while tracking.
    assert_eq!(s.schedule.peek, PeekRound::Due(at(4)));
    // The same failure seen again changes nothing; the later success wins.
    let fx = round(
        &mut s,
        9,
        vec![failure_with(
            "f1",
            "SID-1",
            "General_RetryableError",
            "Transient",
            3,
        )],
        vec![success("n1", "SID-1", 8)],
    );
    assert_eq!(
        s.submissions[0].state(),
        SubState::Track(TrackState::Succeeded)
    );
    assert_eq!(journaled(&fx), [TrackState::Succeeded]);
    assert_eq!(s.submissions[0].tracker().unwrap().transient_failures, 1);
}

#[test]
fn failure_notification_correlates_and_consume_discards_own_only() {
    let mut s = empty_state();
    let mut row = submission(1, "/d/x.csv", SubState::Track(TrackState::Pending));
    row.source_id = Some("mine".into());
    if let Phase::Posted { tracker, .. } = &mut row.phase {
        tracker.source_id = "mine".into();
    }
    s.submissions.push(row);
    s.mode = Mode::Consume;
    let fx = round(
        &mut s,
        1,
        vec![
            failure("a", "mine", "BadRequest_EmptyBlob", 0),
            failure("b", "someone-else", "BadRequest_EmptyBlob", 0),
        ],
        vec![],
    );
    // An empty blob is Skipped, as the status table would say.
    assert_eq!(
        s.submissions[0].state(),
        SubState::Track(TrackState::Skipped)
    );
    assert_eq!(s.submissions[0].error_code(), Some("BadRequest_EmptyBlob"));
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
fn table_status_reads_back_off_and_drive_partial_success() {
    let mut s = empty_state();
    let id = submit_one(&mut s);
    submitted(&mut s, id, 0, Some(status_ref()));
    // Young: the first read 2 s after the post.
    assert!(
        !update(&mut s, Msg::Tick(at(1)))
            .iter()
            .any(|f| matches!(f, Effect::TableStatus { .. }))
    );
    let fx = update(&mut s, Msg::Tick(at(2)));
    assert!(
        fx.iter()
            .any(|f| matches!(f, Effect::TableStatus { id: i, .. } if *i == id))
    );
    // In flight: not asked twice.
    assert!(
        !update(&mut s, Msg::Tick(at(3)))
            .iter()
            .any(|f| matches!(f, Effect::TableStatus { .. }))
    );
    let pending = StatusEntity {
        status: Some(IngestionStatus::Pending),
        ..StatusEntity::default()
    };
    update(
        &mut s,
        Msg::TableStatus {
            id,
            at: at(30),
            result: Ok(Some(pending)),
        },
    );
    // Older than the young period: every 10 s.
    assert!(matches!(
        s.submissions[0].phase,
        Phase::Posted { table_read: TableRead::Due(t), .. } if t == at(40)
    ));
    update(&mut s, Msg::Tick(at(40)));
    let entity = StatusEntity {
        status: Some(IngestionStatus::PartiallySucceeded),
        error_code: Some("Stream_WrongNumberOfFields".into()),
        ..StatusEntity::default()
    };
    let fx = update(
        &mut s,
        Msg::TableStatus {
            id,
            at: at(41),
            result: Ok(Some(entity)),
        },
    );
    assert_eq!(journaled(&fx), [TrackState::PartiallySucceeded]);
    assert_eq!(
        s.submissions[0].state(),
        SubState::Track(TrackState::PartiallySucceeded)
    );
    assert!(matches!(
        s.submissions[0].phase,
        Phase::Posted {
            table_read: TableRead::Off,
            ..
        }
    ));
}

#[test]
fn a_restored_journal_reads_its_own_status_table_at_once() {
    let mut s = empty_state();
    let mut tracker = Tracker::posted("sid-9", Some(status_ref()), false, at(-3600));
    tracker.state = TrackState::Pending;
    let rec = JournalRecord {
        at: at(-3600),
        ingest_url: "http://127.0.0.1:1".into(),
        source_id: "sid-9".into(),
        file: "/d/old.csv".into(),
        database: "db".into(),
        table: "T".into(),
        format: "csv".into(),
        size: 5,
        report_level: "FailuresAndSuccesses".into(),
        report_method: "Table".into(),
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
    let fx = update(&mut s, Msg::Tick(at(0)));
    let asked: Vec<_> = fx
        .iter()
        .filter_map(|f| match f {
            Effect::TableStatus { at, .. } => Some(at.clone()),
            _ => None,
        })
        .collect();
    // The table it was submitted with (with its own SAS), not whatever is offered today.
    assert_eq!(asked, vec![status_ref()]);
}

/// The time the next peek round is due.
fn peek_due(s: &State) -> chrono::DateTime<chrono::Utc> {
    match s.schedule.peek {
        PeekRound::Due(t) => t,
        other => panic!("a round is running: {other:?}"),
    }
}

#[test]
fn idle_polling_keeps_the_idle_interval_and_sleeps_until_then() {
    let mut s = empty_state();
    let idle = s.settings.poll.peek_idle.as_secs() as i64;
    for t in [0, idle, 2 * idle, 3 * idle] {
        round(&mut s, t, vec![], vec![]);
        assert_eq!(peek_due(&s), at(t + idle), "no back-off by default");
    }
    // Nothing due before the next poll: the loop sleeps until exactly then.
    assert_eq!(s.next_wakeup(), Some(at(4 * idle)));
}

#[test]
fn a_configured_idle_back_off_doubles_resets_on_news_and_on_a_key() {
    let mut settings = Settings::default();
    settings.poll.peek_idle = std::time::Duration::from_secs(10);
    settings.poll.peek_max = std::time::Duration::from_secs(120);
    let mut s = State::new(settings, t0());
    // Rounds the schedule starts (a key would reset the back-off).
    let peek_round = |s: &mut State, t: i64, rows: Vec<NotificationRow>| {
        let fx = update(s, Msg::Tick(at(t)));
        assert_eq!(
            fx.iter()
                .filter(|f| matches!(f, Effect::Peek { .. }))
                .count(),
            2,
            "due at {t}"
        );
        for (kind, rows) in [
            (NotificationKind::Failure, rows),
            (NotificationKind::Success, vec![]),
        ] {
            update(
                s,
                Msg::Peeked {
                    kind,
                    at: at(t),
                    result: Ok(rows),
                },
            );
        }
        s.schedule.peek_interval.as_secs()
    };
    assert_eq!(peek_round(&mut s, 0, vec![]), 20);
    assert_eq!(peek_round(&mut s, 20, vec![]), 40);
    assert_eq!(peek_round(&mut s, 60, vec![]), 80);
    assert_eq!(peek_round(&mut s, 140, vec![]), 120);
    assert_eq!(peek_round(&mut s, 260, vec![failure("z", "x", "E", 0)]), 10);
    assert_eq!(peek_round(&mut s, 270, vec![]), 20);
    assert_eq!(peek_round(&mut s, 290, vec![]), 40);
    assert_eq!(peek_due(&s), at(330));
    // The operator presses a key at 300: the next round is at most one idle interval away.
    update(&mut s, Msg::Tick(at(300)));
    update(&mut s, code(KeyCode::Tab));
    assert_eq!(s.schedule.peek_interval.as_secs(), 10);
    assert_eq!(peek_due(&s), at(310));
}

#[test]
fn a_submission_speeds_polling_up_within_one_busy_interval_and_for_a_while() {
    let mut s = empty_state();
    let poll = s.settings.poll;
    let busy = poll.peek_busy.as_secs() as i64;
    round(&mut s, 0, vec![], vec![]);
    assert_eq!(peek_due(&s), at(20));
    // Submitted at 5 s: the next round is one busy interval away, not at 20 s.
    update(&mut s, Msg::Tick(at(5)));
    let id = submit_one(&mut s);
    assert!(s.peeks_busy());
    assert_eq!(peek_due(&s), at(5 + busy));
    // Rounds during the upload and after the post keep the busy pace.
    round(&mut s, 6, vec![], vec![]);
    assert_eq!(peek_due(&s), at(6 + busy));
    submitted(&mut s, id, 7, Some(status_ref()));
    round(&mut s, 8, vec![], vec![]);
    assert_eq!(peek_due(&s), at(8 + busy));
    // Still unreported `peek_busy_for` after the post: the idle pace again, though tracked.
    let late = 7 + poll.peek_busy_for.as_secs() as i64;
    round(&mut s, late, vec![], vec![]);
    assert!(s.tracking() && !s.peeks_busy());
    assert_eq!(peek_due(&s), at(late + poll.peek_idle.as_secs() as i64));
}

#[test]
fn depths_are_read_rarely_while_peeks_see_no_change_and_soon_after_one() {
    let mut s = empty_state();
    let poll = s.settings.poll;
    let (every, quiet) = (
        poll.depths.as_secs() as i64,
        poll.depths_max.as_secs() as i64,
    );
    let depths = |s: &mut State, t: i64| {
        update(
            s,
            Msg::Depths {
                at: at(t),
                result: Ok(vec![]),
            },
        );
        s.schedule.next_depths
    };
    assert_eq!(depths(&mut s, 0), Some(at(quiet)));
    // Empty peeks, again and again: nothing changed.
    round(&mut s, 1, vec![], vec![]);
    round(&mut s, 21, vec![], vec![]);
    assert_eq!(s.schedule.next_depths, Some(at(quiet)));
    // A new message: the depths are read `depths` after the last read.
    round(&mut s, 41, vec![failure("f1", "x", "E", 0)], vec![]);
    assert_eq!(s.schedule.next_depths, Some(at(every)));
    // Due: asked for once; the change was read, so the next read is the quiet one…
    let fx = update(&mut s, Msg::Tick(at(every)));
    assert_eq!(
        fx.iter()
            .filter(|f| matches!(f, Effect::QueueDepths))
            .count(),
        1
    );
    assert_eq!(depths(&mut s, every), Some(at(every + quiet)));
    // …unless the same message is still there (no change), or it is gone (a change).
    round(&mut s, every + 1, vec![failure("f1", "x", "E", 0)], vec![]);
    assert_eq!(s.schedule.next_depths, Some(at(every + quiet)));
    round(&mut s, every + 21, vec![], vec![]);
    assert_eq!(s.schedule.next_depths, Some(at(2 * every)));
    // A change seen while a read is out makes the following read come soon too.
    let fx = update(&mut s, Msg::Tick(at(2 * every)));
    assert!(fx.iter().any(|f| matches!(f, Effect::QueueDepths)));
    assert_eq!(s.schedule.next_depths, None);
    for (kind, rows) in [
        (NotificationKind::Failure, vec![failure("f2", "x", "E", 0)]),
        (NotificationKind::Success, vec![]),
    ] {
        update(
            &mut s,
            Msg::Peeked {
                kind,
                at: at(2 * every + 1),
                result: Ok(rows),
            },
        );
    }
    assert_eq!(depths(&mut s, 2 * every + 2), Some(at(3 * every + 2)));
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

#[test]
fn an_untrackable_source_does_not_keep_polling_busy() {
    let mut s = empty_state();
    let id = submit_one(&mut s);
    s.submissions[0].report_level = crate::client::wire::ReportLevel::None;
    submitted(&mut s, id, 0, None);
    // Posted with no reporting: nothing will ever say more, so the idle back-off applies.
    assert_eq!(
        s.submissions[0].state(),
        SubState::Track(TrackState::Queued)
    );
    assert!(!s.tracking() && !s.peeks_busy());
    round(&mut s, 1, vec![], vec![]);
    assert_eq!(s.schedule.peek_interval, s.settings.poll.peek_idle);
}

#[test]
fn a_queue_verdict_gets_one_confirming_table_read() {
    let mut s = empty_state();
    let id = submit_one(&mut s);
    s.submissions[0].report_method = ReportMethod::QueueAndTable;
    submitted(&mut s, id, 0, Some(status_ref()));
    round(
        &mut s,
        1,
        vec![failure("f", "sid-1", "Stream_WrongNumberOfFields", 1)],
        vec![],
    );
    assert_eq!(
        s.submissions[0].state(),
        SubState::Track(TrackState::Failed)
    );
    // The table alone knows PartiallySucceeded: one more read, shortly.
    let fx = update(&mut s, Msg::Tick(at(3)));
    assert!(
        fx.iter().any(|f| matches!(f, Effect::TableStatus { .. })),
        "{fx:?}"
    );
    let partial = StatusEntity {
        status: Some(IngestionStatus::PartiallySucceeded),
        ..StatusEntity::default()
    };
    update(
        &mut s,
        Msg::TableStatus {
            id,
            at: at(4),
            result: Ok(Some(partial)),
        },
    );
    assert_eq!(
        s.submissions[0].state(),
        SubState::Track(TrackState::PartiallySucceeded)
    );
    assert!(matches!(
        s.submissions[0].phase,
        Phase::Posted {
            table_read: TableRead::Off,
            ..
        }
    ));
}

#[test]
fn a_restored_source_whose_table_sas_expired_says_so() {
    let mut s = empty_state();
    let expired = StatusRef::new(
        SasUrl::parse(
            "http://127.0.0.1:1/acct/ingestionsstatus20240101?se=2024-01-02T00:00:00Z&sig=S",
        )
        .unwrap(),
        "p".into(),
        "r".into(),
    );
    let tracker = Tracker::posted("sid-8", Some(expired), false, at(-3600));
    let rec = JournalRecord {
        at: at(-3600),
        ingest_url: "http://127.0.0.1:1".into(),
        source_id: "sid-8".into(),
        file: "/d/old.csv".into(),
        database: "db".into(),
        table: "T".into(),
        format: "csv".into(),
        size: 5,
        report_level: "FailuresAndSuccesses".into(),
        report_method: "Table".into(),
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
    let row = &s.submissions[0];
    assert!(
        row.error_text().is_some_and(|e| e.contains("SAS expired")),
        "{row:?}"
    );
    assert!(matches!(
        row.phase,
        Phase::Posted {
            table_read: TableRead::Off,
            ..
        }
    ));
    assert!(!s.tracking(), "nothing can report on it any more");
}

/// A discard that could not see what another receive holds says what is left, how much of it
/// is invisible and when this pass's own holds come back, and is not shown as plain success.
#[test]
fn discard_result_says_what_is_still_invisible_and_when_it_reappears() {
    use crate::app::state::Severity;
    use crate::client::notifications::DiscardReport;
    let mut s = sample_state();
    let report = DiscardReport {
        archived: 1,
        deleted: 1,
        released: 3,
        visible_again_within: Some(std::time::Duration::from_secs(5)),
        queue_count: Some(114),
        not_seen: Some(111),
        invisible: Some(114),
        passes: 1,
        ..Default::default()
    };
    update(
        &mut s,
        Msg::Discarded {
            kind: NotificationKind::Failure,
            at: t0(),
            ids: vec!["f3".into(), "f9".into()],
            archive: "/tmp/a.jsonl".into(),
            result: Ok(report),
        },
    );
    let (text, sev) = s.status.clone().unwrap();
    assert_eq!(sev, Severity::Warn, "{text}");
    assert!(
        text.contains("114 message(s) still in the queue(s), about 111 of them invisible"),
        "{text}"
    );
    assert!(text.contains("reappear when its timeout lapses"), "{text}");
    assert!(text.contains("visible again in 5 s"), "{text}");
}

#[test]
fn a_throttled_peek_waits_as_long_as_the_service_asked() {
    use crate::client::error::{Problem, ProblemKind};
    let throttled = |secs| {
        Err(Problem::new(
            ProblemKind::Throttled {
                retry_after: Some(std::time::Duration::from_secs(secs)),
            },
            "throttled",
        ))
    };
    let mut s = empty_state();
    update(&mut s, key('p'));
    update(
        &mut s,
        Msg::Peeked {
            kind: NotificationKind::Failure,
            at: at(0),
            result: throttled(300),
        },
    );
    update(
        &mut s,
        Msg::Peeked {
            kind: NotificationKind::Success,
            at: at(0),
            result: Ok(vec![]),
        },
    );
    // The idle interval is 20 s; the service asked for 300.
    assert_eq!(s.schedule.peek, PeekRound::Due(at(300)));
    // Not throttled any more: back to the usual schedule.
    update(&mut s, Msg::Tick(at(300)));
    update(
        &mut s,
        Msg::Peeked {
            kind: NotificationKind::Failure,
            at: at(301),
            result: Ok(vec![]),
        },
    );
    update(
        &mut s,
        Msg::Peeked {
            kind: NotificationKind::Success,
            at: at(301),
            result: Ok(vec![]),
        },
    );
    match s.schedule.peek {
        PeekRound::Due(t) => assert!(t < at(301 + 300), "{t}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_streamed_or_direct_source_is_final_at_once_with_its_mode_and_rows() {
    use crate::app::state::Delivered;
    use crate::client::mode::IngestMode;
    use crate::client::tracking::Answer;
    let mut s = empty_state();
    let id = submit_one(&mut s);
    s.submissions[0].mode = IngestMode::Direct;
    let row = crate::client::direct::DirectRow {
        extent_id: "e-1".into(),
        item_loaded: "https://a/tmp/b.csv.gz".into(),
        duration: "00:00:00.0100000".into(),
        has_errors: false,
        operation_id: "op-1".into(),
    };
    let fx = update(
        &mut s,
        Msg::Submitted {
            id,
            at: at(2),
            result: Ok(vec![SubmittedInfo {
                source_id: "sid-1".into(),
                blob: Some("https://a/tmp/b.csv.gz".into()),
                message_id: None,
                format: "csv".into(),
                raw_data_size: 100,
                // Even with a status table offered, nothing is left to read.
                status_ref: Some(status_ref()),
                reposts: 0,
                if_not_exists: false,
                answer: Some(Answer::succeeded()),
                delivered: Delivered {
                    path: IngestMode::Direct,
                    direct_rows: vec![row.clone()],
                    ..Delivered::default()
                },
                operation: None,
                chunk: None,
                history: Default::default(),
            }]),
        },
    );
    assert_eq!(journaled(&fx), [TrackState::Succeeded]);
    let sub = &s.submissions[0];
    assert_eq!(sub.state(), SubState::Track(TrackState::Succeeded));
    assert!(matches!(
        sub.phase,
        Phase::Posted {
            table_read: TableRead::Off,
            ..
        }
    ));
    assert!(!s.tracking(), "a final source keeps no polling busy");
    assert_eq!(sub.delivered.as_ref().unwrap().direct_rows, [row]);
    // Later rounds never read a table for it.
    let fx = update(&mut s, Msg::Tick(at(30)));
    assert!(
        !fx.iter().any(|f| matches!(f, Effect::TableStatus { .. })),
        "{fx:?}"
    );
    assert!(
        s.status
            .as_ref()
            .is_some_and(|m| m.0.contains("direct Succeeded")),
        "{:?}",
        s.status
    );
}

#[test]
fn a_split_source_gets_a_row_per_chunk_listed_once_with_the_aggregate() {
    let mut s = empty_state();
    let id = submit_one(&mut s);
    let source = uuid::Uuid::from_u128(7);
    let infos = (1..=3)
        .map(|i| SubmittedInfo {
            source_id: format!("chunk-{i}"),
            blob: Some(format!("https://a/tmp/data.chunk000{i}.csv.gz")),
            message_id: Some(format!("m{i}")),
            format: "csv".into(),
            raw_data_size: 100,
            status_ref: None,
            reposts: 0,
            if_not_exists: false,
            answer: None,
            delivered: crate::app::state::Delivered::default(),
            operation: None,
            chunk: Some(crate::client::ChunkOf {
                source_id: source,
                index: i,
                count: 3,
            }),
            history: Default::default(),
        })
        .collect();
    let fx = update(
        &mut s,
        Msg::Submitted {
            id,
            at: at(1),
            result: Ok(infos),
        },
    );
    // Every chunk is tracked and journaled on its own, under the source it belongs to.
    assert_eq!(journaled(&fx).len(), 3);
    assert_eq!(s.submissions.len(), 3);
    let visible = s.visible_submissions();
    assert_eq!(visible.len(), 1, "one row per source");
    let first = visible[0].clone();
    assert_eq!(first.chunk.map(|c| c.index), Some(1));
    assert_eq!(s.chunks_of(&first).len(), 3);
    assert_eq!(s.source_state(&first), SubState::Track(TrackState::Queued));
    // Chunks 1 and 2 succeed, chunk 3 fails: the source is PartiallySucceeded.
    let rows = [
        success("s1", "chunk-1", 2),
        success("s2", "chunk-2", 2),
        failure("f3", "chunk-3", "Stream_WrongNumberOfFields", 2),
    ];
    for (kind, rows) in [
        (NotificationKind::Success, rows[..2].to_vec()),
        (NotificationKind::Failure, rows[2..].to_vec()),
    ] {
        update(
            &mut s,
            Msg::Peeked {
                kind,
                at: at(2),
                result: Ok(rows),
            },
        );
    }
    let first = s.visible_submissions()[0].clone();
    assert_eq!(
        s.source_state(&first),
        SubState::Track(TrackState::PartiallySucceeded)
    );
}

#[test]
fn a_background_submit_is_tracked_as_a_dialog_submit_but_keeps_the_users_view() {
    let mut s = empty_state();
    let first = submit_one(&mut s);
    submitted(&mut s, first, 1, Some(status_ref()));
    let said = s.status.clone();
    // The user moved down to an older row; the demo's traffic arrives meanwhile.
    s.submissions
        .push(submission(50, "older.csv", SubState::Uploading));
    s.submissions_list.selected = 1;
    let mut req = crate::client::SubmitRequest::new(
        std::path::PathBuf::from("/demo/bad-empty.csv"),
        "demo",
        "Events",
    );
    req.report_method = ReportMethod::QueueAndTable;
    let fx = update(&mut s, Msg::Submit(Box::new(req)));
    let id = match fx.as_slice() {
        [Effect::Submit { id, req }] => {
            assert_eq!(req.table, "Events");
            *id
        }
        other => panic!("unexpected {other:?}"),
    };
    let row = &s.submissions[0];
    assert_eq!((row.id, row.background), (id, true));
    assert_eq!(row.state(), SubState::Uploading);
    assert_eq!(row.report_method, ReportMethod::QueueAndTable);
    // The same row the user selected stays selected; the dialog's defaults are theirs.
    assert_eq!(s.visible_submissions()[s.submissions_list.selected].id, 50);
    assert_eq!(
        (s.last_database.as_str(), s.last_table.as_str()),
        ("db", "Logs")
    );
    // Posted and journaled as any submission, without taking the status line.
    let fx = submitted(&mut s, id, 2, Some(status_ref()));
    assert_eq!(journaled(&fx), [TrackState::Queued]);
    assert!(matches!(s.submissions[0].phase, Phase::Posted { .. }));
    assert!(said.is_some_and(|(t, _)| t.contains("data.csv")));
    assert!(
        s.status
            .as_ref()
            .is_some_and(|(t, _)| t.contains("data.csv")),
        "the user's message stays: {:?}",
        s.status
    );
}

#[test]
fn a_click_focuses_the_pane_and_the_wheel_moves_its_selection_by_three() {
    use crate::app::msg::Pointer;
    let mut s = crate::app::fixtures::sample_state();
    let pointer = |pane, action| Msg::Pointer { pane, action };
    assert_eq!(s.focus, Pane::Submissions);
    update(&mut s, pointer(Pane::Failures, Pointer::Click));
    assert_eq!(s.focus, Pane::Failures);
    assert_eq!(
        s.list(Pane::Failures).selected,
        0,
        "a click moves no selection"
    );
    s.submissions_list.selected = 0;
    update(&mut s, pointer(Pane::Submissions, Pointer::WheelDown));
    assert_eq!(s.focus, Pane::Submissions);
    assert_eq!(s.submissions_list.selected, 3);
    let last = s.visible_len(Pane::Submissions) - 1;
    assert!(last > 3, "the fixture has more than four rows");
    update(&mut s, pointer(Pane::Submissions, Pointer::WheelDown));
    assert_eq!(s.submissions_list.selected, last.min(6));
    update(&mut s, pointer(Pane::Submissions, Pointer::WheelUp));
    assert_eq!(s.submissions_list.selected, last.min(6) - 3);
    // A dialog owns the screen: the mouse changes nothing under it.
    update(&mut s, key('?'));
    update(&mut s, pointer(Pane::Resources, Pointer::WheelDown));
    assert_eq!(s.focus, Pane::Submissions);
    assert_eq!(s.resources_list.selected, 0);
}

#[test]
fn ctrl_z_asks_the_loop_to_suspend_and_plain_z_does_not() {
    let mut s = empty_state();
    update(&mut s, key('z'));
    assert!(!s.suspend);
    update(
        &mut s,
        Msg::Key(KeyEvent::new(KeyCode::Char('z'), KeyModifiers::CONTROL)),
    );
    assert!(s.suspend && !s.quit);
}

#[test]
fn a_failure_detail_asks_for_its_forensics_and_shows_what_comes_back() {
    let mut s = sample_state();
    s.focus = Pane::Failures;
    let fx = update(&mut s, code(KeyCode::Enter));
    let id = match fx.iter().find(|e| matches!(e, Effect::Forensics { .. })) {
        Some(Effect::Forensics { message_id, .. }) => message_id.clone(),
        _ => panic!("no forensics effect: {fx:?}"),
    };
    assert_eq!(s.forensics, Some((id.clone(), None)));
    // An answer for another failure is dropped.
    update(
        &mut s,
        Msg::Forensics {
            message_id: "other".into(),
            result: Ok(vec!["x".into()]),
        },
    );
    assert_eq!(s.forensics, Some((id.clone(), None)));
    update(
        &mut s,
        Msg::Forensics {
            message_id: id.clone(),
            result: Ok(vec!["> line 4".into()]),
        },
    );
    assert_eq!(s.forensics, Some((id, Some(Ok(vec!["> line 4".into()])))));
}

#[test]
fn ctrl_k_in_the_submit_dialog_runs_the_pre_flight_check_and_shows_it() {
    let mut s = sample_state();
    update(&mut s, key('s'));
    assert!(matches!(s.modal, Some(Modal::Submit(_))));
    if let Some(Modal::Submit(form)) = &mut s.modal {
        form.path = tui_input::Input::new("/data/events.csv".into());
        form.database = tui_input::Input::new("demo".into());
        form.table = tui_input::Input::new("Events".into());
    }
    let fx = update(
        &mut s,
        Msg::Key(KeyEvent::new(KeyCode::Char('k'), KeyModifiers::CONTROL)),
    );
    let asked = fx
        .iter()
        .find_map(|e| match e {
            Effect::Check { req } => Some(req.to_json()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{fx:?}"));
    update(
        &mut s,
        Msg::Checked {
            asked: asked.clone(),
            result: Ok(vec!["predicted: Succeeded".into()]),
        },
    );
    match &s.modal {
        Some(Modal::Submit(form)) => {
            assert_eq!(form.check, Some(Ok(vec!["predicted: Succeeded".into()])))
        }
        other => panic!("{other:?}"),
    }
    // An answer for a request the form no longer holds (edited since) is dropped.
    let mut stale = asked;
    stale["table"] = "SomeOtherTable".into();
    update(
        &mut s,
        Msg::Checked {
            asked: stale,
            result: Ok(vec!["predicted: Succeeded".into()]),
        },
    );
    match &s.modal {
        Some(Modal::Submit(form)) => assert_eq!(form.check, None),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_key_help_scrolls_and_closes() {
    let mut s = empty_state();
    update(&mut s, key('?'));
    assert!(matches!(s.modal, Some(Modal::Help { scroll: 0 })));
    update(&mut s, key('j'));
    update(&mut s, code(KeyCode::PageDown));
    assert!(
        matches!(s.modal, Some(Modal::Help { scroll }) if scroll > 1),
        "{:?}",
        s.modal
    );
    update(&mut s, key('k'));
    update(&mut s, code(KeyCode::Esc));
    assert!(s.modal.is_none());
}
