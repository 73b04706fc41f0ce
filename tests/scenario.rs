//! The real event loop, the real executor and client, and the emulator over HTTP, with keys fed
//! in and the rendered screen read back: submit a good and a bad file → Succeeded and Failed
//! in the submissions pane and in the streams → peek → discard with confirmation → gone from
//! the queue, present in the archive.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::Env;
use common::tui::row_with;
use crossterm::event::KeyCode;
use kingest::client::wire::NotificationKind;
use kingest::runtime::TuiOptions;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_track_peek_and_discard_through_the_event_loop() {
    let env = Env::start().await;
    let state_dir = env.dir.path().join("state");
    let opts = TuiOptions {
        archive_dir: env.dir.path().join("archive"),
        state_dir: state_dir.clone(),
        default_database: Some("demo".into()),
        default_table: Some("Events".into()),
        default_path: Some(env.dir.path().to_path_buf()),
        color: Some(false),
        ..Default::default()
    };
    let journal = opts.journal(env.client.ingest_url());
    let script = |d: common::tui::Driver| async move {
        d.wait("resources", |s| {
            s.contains("readyforaggregation-secured") && s.contains("tempstorage")
        })
        .await;
        // The dialog starts in the files' folder with demo.Events filled in.
        d.key(KeyCode::Char('s'));
        d.wait("the submit dialog", |s| s.contains("Events")).await;
        d.text("events.csv");
        common::tui::report_to_queue_and_table(&d);
        d.key(KeyCode::Enter);
        d.key(KeyCode::Char('s'));
        d.wait("the second dialog", |s| {
            s.matches("events.csv").count() >= 1 && s.contains("Submit")
        })
        .await;
        d.text("bad-wrong-fields.csv");
        common::tui::report_to_queue_and_table(&d);
        d.key(KeyCode::Enter);

        let s = d
            .wait("both final in the submissions pane", |s| {
                row_with(s, "events.csv", "Succeeded") && row_with(s, "bad-wrong-fi", "Failed")
            })
            .await;
        assert!(!s.contains("sig="), "no SAS on screen:\n{s}");
        d.key(KeyCode::Char('p'));
        d.wait("both streams", |s| {
            s.contains("Stream_WrongNumberOf") && row_with(s, "Events", "events.csv.gz")
        })
        .await;

        // Focus the failures stream (its border turns thick), then discard its only message.
        for _ in 0..4 {
            if d.screen().contains("┏ Failures") {
                break;
            }
            d.key(KeyCode::Tab);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        d.wait("focus on failures", |s| s.contains("┏ Failures"))
            .await;
        d.key(KeyCode::Char('d'));
        let confirm = d
            .wait("the confirm dialog", |s| s.contains("Archive first"))
            .await;
        assert!(confirm.contains("Discard 1"), "{confirm}");
        d.key(KeyCode::Char('y'));
        d.wait("the discard report", |s| s.contains("discarded 1"))
            .await;
        d.key(KeyCode::Char('q'));
    };
    let end = common::tui::run(env.client.clone(), opts, script).await;
    assert!(end.quit);

    // Gone from the queue, present in the archive, and the journal recorded both sources.
    let left = env
        .client
        .peek(NotificationKind::Failure, 32)
        .await
        .unwrap();
    assert!(left.is_empty(), "the failure was deleted: {left:?}");
    let archived: Vec<serde_json::Value> = std::fs::read_dir(env.dir.path().join("archive"))
        .unwrap()
        .flat_map(|e| {
            std::fs::read_to_string(e.unwrap().path())
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(archived.len(), 1);
    assert_eq!(
        archived[0]["Decoded"]["ErrorCode"],
        "Stream_WrongNumberOfFields"
    );
    let text = std::fs::read_to_string(journal.path()).unwrap();
    assert!(text.contains("events.csv") && text.contains("bad-wrong-fields.csv"));
    // The only secret it keeps is each status table's SAS (to track after a restart or a
    // rotation); blob SAS never.
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let mut v2 = v.clone();
        if let Some(t) = v2.pointer_mut("/tracker/status_ref") {
            *t = serde_json::Value::Null;
        }
        assert!(
            !v2.to_string().contains("sig="),
            "SAS outside the status reference: {line}"
        );
    }
    env.emulator.shutdown().await;
}
