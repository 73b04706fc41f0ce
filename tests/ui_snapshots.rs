//! Snapshots of each pane and of the whole screen at 80×24, 120×40 and a too-small size, from
//! fixed states (no clock).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use kingest::app::fixtures::sample_state;
use kingest::app::state::{DetailTarget, Modal, Pane, State};
use kingest::client::wire::NotificationKind;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn render(state: &State, w: u16, h: u16) -> String {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| kingest::ui::draw(f, state)).unwrap();
    term.backend().to_string()
}

fn pane(p: Pane) -> String {
    let mut s = sample_state();
    s.focus = p;
    render(&s, 80, 24)
}

#[test]
fn whole_screen_120x40() {
    insta::assert_snapshot!(render(&sample_state(), 120, 40));
}

#[test]
fn whole_screen_80x24() {
    insta::assert_snapshot!(render(&sample_state(), 80, 24));
}

#[test]
fn too_small() {
    insta::assert_snapshot!(render(&sample_state(), 50, 12));
}

#[test]
fn pane_resources() {
    insta::assert_snapshot!(pane(Pane::Resources));
}

#[test]
fn pane_submissions() {
    insta::assert_snapshot!(pane(Pane::Submissions));
}

#[test]
fn pane_failures() {
    insta::assert_snapshot!(pane(Pane::Failures));
}

#[test]
fn pane_successes_frozen_read_only() {
    let mut s = sample_state();
    s.focus = Pane::Successes;
    s.successes.set_frozen(true);
    s.settings.read_only = true;
    insta::assert_snapshot!(render(&s, 80, 24));
}

#[test]
fn detail_of_a_failure() {
    let mut s = sample_state();
    s.focus = Pane::Failures;
    s.modal = Some(Modal::Detail {
        target: DetailTarget::Notification {
            kind: NotificationKind::Failure,
            message_id: "f2".into(),
        },
        raw: false,
        timeline: false,
        scroll: 0,
    });
    let screen = render(&s, 120, 40);
    assert!(!screen.contains("SECRET"), "SAS leaked");
    insta::assert_snapshot!(screen);
}

#[test]
fn help_overlay() {
    let mut s = sample_state();
    s.modal = Some(Modal::Help { scroll: 0 });
    insta::assert_snapshot!(render(&s, 120, 40));
}

/// Scrolled past its end, the help stops at its last line: every binding is reachable.
#[test]
fn help_overlay_scrolled_to_its_end_shows_the_last_bindings() {
    let mut s = sample_state();
    s.modal = Some(Modal::Help { scroll: 10_000 });
    let screen = render(&s, 120, 40);
    assert!(screen.contains("close help"), "{screen}");
    assert!(screen.contains("close the status-table view"), "{screen}");
    assert!(screen.contains(" of "), "{screen}");
}

#[test]
fn submit_dialog() {
    let mut s = sample_state();
    s.last_database = "db".into();
    s.last_table = "Logs".into();
    kingest::app::update(
        &mut s,
        kingest::app::Msg::Key(crossterm::event::KeyEvent::from(
            crossterm::event::KeyCode::Char('s'),
        )),
    );
    insta::assert_snapshot!(render(&s, 80, 24));
}

/// The submit dialog after `keys` typed and `paste` pasted into its File field, at 80×24;
/// returns the screen and the cursor position.
fn submit_dialog_with(typed: &str, paste: &str) -> (String, ratatui::layout::Position) {
    use crossterm::event::{KeyCode, KeyEvent};
    let mut s = sample_state();
    s.last_database = "db".into();
    s.last_table = "Logs".into();
    let key = |c| kingest::app::Msg::Key(KeyEvent::from(KeyCode::Char(c)));
    kingest::app::update(&mut s, key('s'));
    for c in typed.chars() {
        kingest::app::update(&mut s, key(c));
    }
    if !paste.is_empty() {
        kingest::app::update(&mut s, kingest::app::Msg::Paste(paste.into()));
    }
    let mut term = Terminal::new(TestBackend::new(80, 24)).unwrap();
    term.draw(|f| kingest::ui::draw(f, &s)).unwrap();
    let cursor = term.get_cursor_position().unwrap();
    (term.backend().to_string(), cursor)
}

/// The Source row of the dialog (the line with "▶ Source") and the cursor on it, inside the box.
fn file_row(screen: &str, cursor: ratatui::layout::Position) -> String {
    let rows: Vec<&str> = screen.lines().collect();
    let (i, row) = rows
        .iter()
        .enumerate()
        .find(|(_, r)| r.contains("▶ Source"))
        .expect("the Source row");
    assert_eq!(usize::from(cursor.y), i, "cursor on the Source row");
    // Inside the dialog: past the label, before the right border.
    assert!((17..79).contains(&cursor.x), "cursor at {cursor:?}");
    row.to_string()
}

#[test]
fn submit_dialog_80_wide_characters() {
    let (screen, cursor) = submit_dialog_with(&"日".repeat(80), "");
    let row = file_row(&screen, cursor);
    assert!(row.contains("日日日日"), "the field went blank: {row}");
    insta::assert_snapshot!(screen);
}

#[test]
fn submit_dialog_cjk_and_emoji_paste() {
    let paste = format!(
        "/data/{}/数据👨\u{200d}👩\u{200d}👧🇯🇵報告.csv",
        "长路径".repeat(12)
    );
    let (screen, cursor) = submit_dialog_with("", &paste);
    let row = file_row(&screen, cursor);
    assert!(
        row.contains("報告.csv"),
        "the end of the paste is shown: {row}"
    );
    insta::assert_snapshot!(screen);
}

#[test]
fn submit_dialog_right_to_left() {
    let (screen, cursor) = submit_dialog_with("/נתונים/ملفّ_", "קובץ.csv");
    let row = file_row(&screen, cursor);
    assert!(row.contains("קובץ.csv") && row.contains("ملفّ"), "{row}");
    insta::assert_snapshot!(screen);
}

#[test]
fn submit_dialog_dedupe_says_its_cost() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let mut s = sample_state();
    let key = |k| kingest::app::Msg::Key(KeyEvent::from(k));
    kingest::app::update(&mut s, key(KeyCode::Char('s')));
    let ctrl_n =
        || kingest::app::Msg::Key(KeyEvent::new(KeyCode::Char('n'), KeyModifiers::CONTROL));
    // Up from the first field wraps to the last one: Tag source, then Dedupe.
    kingest::app::update(&mut s, key(KeyCode::Up));
    kingest::app::update(&mut s, ctrl_n());
    let screen = render(&s, 80, 24);
    let row = screen.lines().find(|r| r.contains("Tag source")).unwrap();
    assert!(
        row.contains("yes") && row.contains("batched alone"),
        "{row}"
    );
    kingest::app::update(&mut s, key(KeyCode::Up));
    kingest::app::update(&mut s, ctrl_n());
    let screen = render(&s, 80, 24);
    let row = screen.lines().find(|r| r.contains("Dedupe")).unwrap();
    assert!(
        row.contains("yes") && row.contains("SingleBlob_IngestByTag"),
        "{row}"
    );
}

/// A failures stream whose ring (3 rows) is full: 5 arrived, so 2 older ones were dropped.
fn full_failures_ring() -> State {
    use kingest::app::fixtures::failure_with;
    let mut s = sample_state();
    s.focus = Pane::Failures;
    s.failures = kingest::app::stream::Stream::new(NotificationKind::Failure, 3);
    for (i, (code, status)) in [
        ("Stream_ClosingQuoteMissing", "Permanent"),
        ("BadRequest_EmptyBlob", "Permanent"),
        ("General_RetryAttemptsExceeded", "Transient"),
        ("Stream_ClosingQuoteMissing", "Permanent"),
        ("Stream_ClosingQuoteMissing", "Permanent"),
    ]
    .into_iter()
    .enumerate()
    {
        let id = format!("m{i}");
        s.failures.push(failure_with(
            &id,
            &format!("src-{i}"),
            code,
            status,
            i as i64 * 10 - 60,
        ));
    }
    s
}

#[test]
fn pane_failures_says_how_many_rows_the_full_ring_dropped() {
    let s = full_failures_ring();
    let screen = render(&s, 80, 24);
    assert!(screen.contains("2 older dropped (keeps 3)"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn pane_failures_grouped_by_error_code() {
    let mut s = full_failures_ring();
    kingest::app::update(
        &mut s,
        kingest::app::Msg::Key(crossterm::event::KeyEvent::from(
            crossterm::event::KeyCode::Char('z'),
        )),
    );
    let screen = render(&s, 80, 24);
    assert!(screen.contains("BY ErrorCode"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn submit_dialog_lists_what_a_glob_matches_before_submitting() {
    use crossterm::event::{KeyCode, KeyEvent};
    use kingest::client::discover::Found;
    let mut s = sample_state();
    s.last_database = "db".into();
    s.last_table = "Logs".into();
    s.last_path = "/logs/*.csv".into();
    let key = |c| kingest::app::Msg::Key(KeyEvent::from(c));
    kingest::app::update(&mut s, key(KeyCode::Char('s')));
    // Enter on a glob lists it first: nothing is submitted yet.
    let fx = kingest::app::update(&mut s, key(KeyCode::Enter));
    assert!(
        matches!(fx.as_slice(), [kingest::app::Effect::Discover { input }] if input == "/logs/*.csv"),
        "{fx:?}"
    );
    let files = (1..=6)
        .map(|i| Found {
            path: format!("/logs/day{i}.csv").into(),
            size: Some(1000 * i),
            stdin: false,
        })
        .collect();
    kingest::app::update(
        &mut s,
        kingest::app::Msg::Discovered {
            input: "/logs/*.csv".into(),
            result: Ok(files),
        },
    );
    insta::assert_snapshot!(render(&s, 80, 24));
    // Enter again: one row (and one submit) per file.
    let before = s.submissions.len();
    let fx = kingest::app::update(&mut s, key(KeyCode::Enter));
    let submits = fx
        .iter()
        .filter(|f| matches!(f, kingest::app::Effect::Submit { .. }))
        .count();
    assert_eq!(submits, 6);
    assert_eq!(s.submissions.len(), before + 6);
}

#[test]
fn detail_of_a_split_source_lists_its_chunks() {
    let mut s = sample_state();
    let id = s
        .submissions
        .iter()
        .find(|r| r.chunk.is_some_and(|c| c.index == 1))
        .unwrap()
        .id;
    s.modal = Some(kingest::app::state::Modal::Detail {
        target: kingest::app::state::DetailTarget::Submission(id),
        raw: false,
        timeline: false,
        scroll: 0,
    });
    insta::assert_snapshot!(render(&s, 120, 40));
}

#[test]
fn pane_submissions_wide_has_a_mode_column() {
    // At 80 columns (tabbed) the pane is the whole width; at 110 it has room for the mode.
    let mut s = sample_state();
    s.focus = Pane::Submissions;
    let screen = render(&s, 110, 24);
    assert!(screen.contains("Mode"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn export_dialog() {
    use kingest::app::export::{ExportForm, ExportFormat};
    let mut s = sample_state();
    s.focus = Pane::Failures;
    s.modal = Some(Modal::Export(Box::new(ExportForm {
        pane: Pane::Failures,
        format: ExportFormat::Csv,
        path: tui_input::Input::new("kingest-failures-20260101T000000Z.csv".into()),
        rows: s.visible_len(Pane::Failures),
    })));
    insta::assert_snapshot!(render(&s, 100, 30));
}

#[test]
fn copy_chooser_redacts_and_sanitises() {
    let mut s = sample_state();
    s.focus = Pane::Failures;
    kingest::app::export::open_copy(&mut s);
    assert!(matches!(s.modal, Some(Modal::Copy(_))), "{:?}", s.modal);
    let screen = render(&s, 100, 30);
    assert!(!screen.contains("SECRET"), "SAS leaked");
    assert!(screen.contains("with (OperationId='op-1')"), "{screen}");
    insta::assert_snapshot!(screen);
}

/// A grouped failures stream over the last hour: counts, first and last seen, and the
/// per-minute sparkline (newest minute on the right).
#[test]
fn pane_failures_grouped_with_sparkline() {
    use kingest::app::fixtures::failure_with;
    let mut s = sample_state();
    s.focus = Pane::Failures;
    s.failures = kingest::app::stream::Stream::new(NotificationKind::Failure, 1000);
    let mut n = 0;
    for minute in 0..60i64 {
        // A burst of wrong field counts 40 minutes ago, empty blobs now and then, a steady
        // trickle of transient retries.
        let mut add = |code: &str, status: &str, count: i64| {
            for k in 0..count {
                n += 1;
                s.failures.push(failure_with(
                    &format!("m{n}"),
                    &format!("src-{n}"),
                    code,
                    status,
                    -(minute * 60) - k,
                ));
            }
        };
        if (38..44).contains(&minute) {
            add(
                "Stream_WrongNumberOfFields",
                "Permanent",
                8 - (minute - 41).abs(),
            );
        }
        if minute % 7 == 0 {
            add("BadRequest_EmptyBlob", "Permanent", 1 + minute % 3);
        }
        if minute % 2 == 0 {
            add("General_RetryAttemptsExceeded", "Transient", 1);
        }
    }
    kingest::app::update(
        &mut s,
        kingest::app::Msg::Key(crossterm::event::KeyEvent::from(
            crossterm::event::KeyCode::Char('z'),
        )),
    );
    let screen = render(&s, 140, 30);
    assert!(
        screen.contains("BY ErrorCode × Table × FailureStatus"),
        "{screen}"
    );
    assert!(screen.contains('█'), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn detail_timeline_of_a_submission() {
    use kingest::client::timeline::{Heard, History, Posted, Request, Requests, Transition};
    use kingest::client::tracking::{Evidence, TrackState};
    let t = |s: i64| chrono::DateTime::from_timestamp(1_760_000_000 + s, 0).unwrap();
    let mut s = sample_state();
    let row = s
        .submissions
        .iter_mut()
        .find(|r| r.tracker().is_some())
        .unwrap();
    let id = row.id;
    let mut requests = Requests::default();
    for (i, (op, status)) in [
        ("Put Blob", None),
        ("Put Blob", Some(201)),
        ("Put Message", Some(201)),
    ]
    .into_iter()
    .enumerate()
    {
        requests.push(Request {
            at: t(i as i64),
            op: op.into(),
            target: "/acct/tempstorage/demo__Events__x__events.csv.gz".into(),
            request_id: format!("0000000{i}-1111-2222-3333-444444444444"),
            attempt: if i == 1 { 2 } else { 1 },
            ms: 12,
            status,
            error: status.is_none().then(|| "connection reset".into()),
        });
    }
    if let kingest::app::state::Phase::Posted { tracker, .. } = &mut row.phase {
        tracker.history = History {
            requests,
            posted: Some(Posted {
                message_id: "5cd072ad-79b4-48cb-a346-ef5b0e69e168".into(),
                insertion_time: Some(t(2)),
                queue: "acct/readyforaggregation-secured".into(),
                request_id: Some("00000002-1111-2222-3333-444444444444".into()),
            }),
            transitions: vec![Transition {
                at: t(4),
                state: TrackState::Pending,
                evidence: Evidence::Table,
                code: None,
            }],
            notifications: vec![Heard {
                at: t(9),
                kind: "failure".into(),
                message_id: "8f0e0a52-1f7e-4c5e-9d55-3c1d2f0b7a10".into(),
                operation_id: Some("f1840ce7-2be7-4245-aa51-2db0eb5ae5d4".into()),
                root_activity_id: Some("822a2677-17f7-481b-a973-c5333de6ebb5".into()),
                on: Some("2025-10-09T08:53:28Z".into()),
                code: Some("Stream_WrongNumberOfFields".into()),
            }],
            tag: Some("kingest:x".into()),
        };
    }
    s.modal = Some(Modal::Detail {
        target: DetailTarget::Submission(id),
        raw: false,
        timeline: true,
        scroll: 0,
    });
    let screen = render(&s, 120, 40);
    assert!(
        screen.contains("00000001-1111-2222-3333-444444444444"),
        "{screen}"
    );
    insta::assert_snapshot!(screen);
}

/// The "Forensics" section of a failure's detail: the demo's bad-wrong-fields.csv explained
/// (a terminal escape in the file text shows sanitised).
#[test]
fn detail_of_a_failure_with_forensics() {
    use kingest::client::forensics::{SentAs, explain, lines};
    use kingest::client::preflight::TableFacts;
    let facts = TableFacts::known(
        "demo",
        "Events",
        &[
            ("Timestamp", "datetime"),
            ("Level", "string"),
            ("Service", "string"),
            ("Message", "string"),
            ("DurationMs", "long"),
        ],
    );
    let mut data = include_bytes!("../assets/demo/bad-wrong-fields.csv").to_vec();
    data.extend_from_slice(b"2025-03-01T09:04:00Z,Error,auth,\x1b[31mred\x1b[0m,5\n");
    let sent = SentAs {
        format: "csv".into(),
        mapping_ref: None,
        ignore_first_record: false,
    };
    let f = explain(
        &data,
        &sent,
        "Stream_WrongNumberOfFields",
        "record 4 (line 4) has 4 field(s)",
        &facts,
    );
    let mut found = vec!["source: bad-wrong-fields.csv".to_string()];
    found.extend(lines(&f));
    let mut s = sample_state();
    s.focus = Pane::Failures;
    s.forensics = Some(("f2".into(), Some(Ok(found))));
    s.modal = Some(Modal::Detail {
        target: DetailTarget::Notification {
            kind: NotificationKind::Failure,
            message_id: "f2".into(),
        },
        raw: false,
        timeline: false,
        scroll: 0,
    });
    let screen = render(&s, 140, 60);
    assert!(screen.contains("Forensics"), "{screen}");
    assert!(screen.contains("missing duration column"), "{screen}");
    assert!(!screen.contains('\x1b'), "escape reached the screen");
    insta::assert_snapshot!(screen);
}
