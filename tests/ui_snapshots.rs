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
        scroll: 0,
    });
    let screen = render(&s, 120, 40);
    assert!(!screen.contains("SECRET"), "SAS leaked");
    insta::assert_snapshot!(screen);
}

#[test]
fn help_overlay() {
    let mut s = sample_state();
    s.modal = Some(Modal::Help);
    insta::assert_snapshot!(render(&s, 120, 40));
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
    // Up from the first field wraps to the last one: Dedupe.
    kingest::app::update(&mut s, key(KeyCode::Up));
    kingest::app::update(
        &mut s,
        kingest::app::Msg::Key(KeyEvent::new(KeyCode::Char('n'), KeyModifiers::CONTROL)),
    );
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
        scroll: 0,
    });
    let screen = render(&s, 140, 60);
    assert!(screen.contains("Forensics"), "{screen}");
    assert!(screen.contains("missing duration column"), "{screen}");
    assert!(!screen.contains('\x1b'), "escape reached the screen");
    insta::assert_snapshot!(screen);
}
