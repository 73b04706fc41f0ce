#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Bulk operations in the TUI, from fixed states: rows with counters and a progress bar in
//! the submissions pane, the start dialog (whose container URL never shows its SAS), and the
//! confirmed cancel key.

use crossterm::event::{KeyCode, KeyEvent};
use kingest::app::bulk::BulkRow;
use kingest::app::fixtures::{at, sample_state};
use kingest::app::state::{ConfirmAction, Modal, Pane, State};
use kingest::app::{Effect, Msg, update};
use kingest::client::bulk::{BulkOperation, BulkState};
use kingest::client::error::Problem;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn render(state: &State, w: u16, h: u16) -> String {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| kingest::ui::draw(f, state)).unwrap();
    term.backend().to_string()
}

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::from(KeyCode::Char(c)))
}

fn op(id: &str, state: BulkState, counts: [u64; 5], reasons: &str) -> BulkOperation {
    let [discovered, pending, ingested, failed, canceled] = counts;
    BulkOperation {
        operation_id: id.into(),
        started_on: None,
        last_updated_on: None,
        state,
        discovered,
        pending,
        canceled,
        ingested,
        failed,
        sample_failed_reasons: reasons.into(),
        database: "db".into(),
        table: "Logs".into(),
    }
}

fn row(id: u64, source: &str, op: Option<BulkOperation>, error: Option<Problem>) -> BulkRow {
    BulkRow {
        id,
        operation_id: op.as_ref().map(|o| o.operation_id.clone()),
        source: source.into(),
        database: "db".into(),
        table: "Logs".into(),
        format: "csv".into(),
        op,
        error,
        started_at: at(-120 * id as i64),
        cancel_asked: false,
    }
}

/// The sample state with three bulk operations: running, finished with failures, refused.
fn with_bulk() -> State {
    let mut s = sample_state();
    let refused = Problem::from(kingest::client::Error::Service {
        status: 404,
        code: "BadRequest_EntityNotFound".into(),
        message: "Table 'Nope' was not found".into(),
        permanent: true,
    });
    s.bulk.rows = vec![
        row(
            1,
            "backfill/2024/ *.csv",
            Some(op(
                "1733000000;1;0a1b",
                BulkState::InProgress,
                [10387, 9391, 995, 1, 0],
                "Stream_WrongNumberOfFields: bad csv",
            )),
            None,
        ),
        row(
            2,
            "backfill/2023/",
            Some(op(
                "1733000000;2;9f8e",
                BulkState::Completed,
                [40, 0, 38, 2, 0],
                "",
            )),
            None,
        ),
        row(3, "other/", None, Some(refused)),
    ];
    s.focus = Pane::Submissions;
    s
}

#[test]
fn bulk_rows_show_counters_and_progress() {
    let mut s = with_bulk();
    // The first bulk row follows the sources.
    s.submissions_list.selected = s.visible_submissions().len();
    let screen = render(&s, 120, 40);
    assert!(screen.contains("▶ bulk back"), "{screen}");
    assert!(screen.contains("1733000000;1;0a1b  InProgress"), "{screen}");
    assert!(screen.contains("995/10387"), "{screen}");
    assert!(
        screen.contains("discovered 10387  pending 9391"),
        "{screen}"
    );
    assert!(screen.contains("Refused"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn bulk_dialog_never_shows_the_sas() {
    let mut s = sample_state();
    s.last_database = "db".into();
    s.last_table = "Logs".into();
    update(&mut s, key('b'));
    assert!(matches!(s.modal, Some(Modal::Bulk(_))));
    update(
        &mut s,
        Msg::Paste(
            "https://acct.blob.core.windows.net/backfill/2024?sv=2025-07-05&sp=rl&sig=U0VDUkVUU0lH"
                .into(),
        ),
    );
    let screen = render(&s, 80, 24);
    assert!(!screen.contains("U0VDUkVUU0lH"), "SAS shown:\n{screen}");
    assert!(screen.contains("sig=REDACTED"), "{screen}");
    insta::assert_snapshot!(screen);
    // Enter starts it: the effect carries the URL, the row names only container and prefix.
    let fx = update(&mut s, Msg::Key(KeyEvent::from(KeyCode::Enter)));
    assert!(
        matches!(&fx[..], [Effect::BulkStart { spec, .. }] if spec.container.as_deref().is_some_and(|c| c.contains("sig=U0VD"))),
        "{fx:?}"
    );
    assert_eq!(s.bulk.rows[0].source, "backfill/2024");
}

#[test]
fn cancel_key_asks_first_then_cancels() {
    let mut s = with_bulk();
    s.submissions_list.selected = s.visible_submissions().len();
    update(&mut s, key('X'));
    let Some(Modal::Confirm(c)) = &s.modal else {
        panic!("no confirmation: {:?}", s.modal)
    };
    assert_eq!(
        c.action,
        ConfirmAction::CancelBulk {
            operation_id: "1733000000;1;0a1b".into()
        }
    );
    let fx = update(&mut s, key('y'));
    assert!(
        matches!(&fx[..], [Effect::BulkCancel { operation_id }] if operation_id == "1733000000;1;0a1b"),
        "{fx:?}"
    );
    // Read-only: the key does nothing.
    let mut s = with_bulk();
    s.settings.read_only = true;
    s.submissions_list.selected = s.visible_submissions().len();
    update(&mut s, key('X'));
    assert!(s.modal.is_none());
}
