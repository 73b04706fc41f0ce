//! The demo's traffic through the TUI's own submit path: `demo::traffic` feeds the real event
//! loop (real executor and client, the emulator over HTTP) and its submissions appear in the
//! Submissions pane, upload, and reach their final states, journaled as a dialog submit is.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::Env;
use common::tui::row_with;
use crossterm::event::KeyCode;
use kingest::app::state::SubState;
use kingest::client::tracking::TrackState;
use kingest::runtime::TuiOptions;
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_traffic_rows_are_tracked_to_final_states_in_the_submissions_pane() {
    let env = Env::start().await;
    let opts = TuiOptions {
        archive_dir: env.dir.path().join("archive"),
        state_dir: env.dir.path().join("state"),
        color: Some(false),
        ..Default::default()
    };
    let journal = opts.journal(env.client.ingest_url());
    let cancel = CancellationToken::new();
    let (dir, stop) = (env.dir.path().to_path_buf(), cancel.clone());
    let feed: kingest::runtime::Feed = Box::new(move |tx| {
        tokio::spawn(kingest::demo::traffic(
            tx,
            dir,
            Duration::from_millis(200),
            stop,
        ));
    });
    let script = |d: common::tui::Driver| async move {
        // The first two scenarios: a good file and a bad one, sent at once.
        let s = d
            .wait("demo rows final in the submissions pane", |s| {
                row_with(s, "events.cs", "Succeeded") && row_with(s, "bad-wrong", "Failed")
            })
            .await;
        assert!(!s.contains("No submissions yet"), "{s}");
        cancel.cancel();
        d.key(KeyCode::Char('q'));
    };
    let end = common::tui::run_fed(env.client.clone(), opts, Some(feed), script).await;
    let demo: Vec<_> = end.submissions.iter().filter(|r| r.background).collect();
    assert!(demo.len() >= 2, "{:#?}", end.submissions);
    let find = |file: &str, state: TrackState| {
        demo.iter()
            .any(|r| r.file.contains(file) && r.state() == SubState::Track(state))
    };
    assert!(find("events.csv", TrackState::Succeeded), "{demo:#?}");
    assert!(
        find("bad-wrong-fields.csv", TrackState::Failed),
        "{demo:#?}"
    );
    // Uploaded through the executor: the rows know their size and blob, as a dialog submit's.
    let good = demo
        .iter()
        .find(|r| r.file.contains("events.csv") && r.state().is_final())
        .unwrap();
    assert!(
        good.total > 0 && good.read == good.total && good.blob.is_some(),
        "{good:#?}"
    );
    let text = std::fs::read_to_string(journal.path()).unwrap();
    assert!(text.contains("bad-wrong-fields.csv"), "journaled: {text}");
    env.emulator.shutdown().await;
}
