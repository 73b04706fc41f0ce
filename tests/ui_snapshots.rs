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
    s.successes.frozen = true;
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
