//! How long a discard hides other clients' messages. A failure queue holds 100 notifications,
//! 5 of them from source X spread through it; `discard(SourceId(X))` must look past the first
//! 32, so it holds what it receives until the pass ends. Another client then has to see every
//! other message again within a few seconds: at once where the SAS grants `u` (Update
//! Message), after the pass-sized timeout where it does not (`rp`, as a real DM issues).
//! Peek shows at most 32 messages, so the other client counts them by receiving.
//!
//! Measured here (debug build, loopback emulator, 2026-12): the pass takes ~20–60 ms; with `rpu`
//! the other client sees all 95 others ~15 ms after it (hidden ~70 ms in all); with `rp` ~5.0 s
//! after it (the 5 s floor of the pass-sized timeout). Before this, every message a discard
//! looked at stayed hidden for a fixed 30 s.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::{Env, client_for, resign};
use kingest::client::notifications::{DISCARD_VISIBILITY_FLOOR, DiscardSelector};
use kingest::client::wire::{Notification, NotificationKind};
use kingest::client::{AuthMethod, ResourceKind};
use kingest::emulator::EmulatorConfig;

const TOTAL: usize = 100;
const X_AT: [usize; 5] = [10, 40, 70, 97, 99];

/// Fills the failure queue; returns X's source id and the message ids of everything else.
async fn fill(env: &Env) -> (String, HashSet<String>) {
    let res = env.client.resources().await.unwrap();
    let queue = res
        .of_kind(ResourceKind::FailedIngestionsQueue)
        .next()
        .cloned()
        .unwrap();
    let add = resign(&queue, "a");
    let x = uuid::Uuid::new_v4().to_string();
    let mut others = HashSet::new();
    for i in 0..TOTAL {
        let source = if X_AT.contains(&i) {
            x.clone()
        } else {
            uuid::Uuid::new_v4().to_string()
        };
        let n = Notification {
            operation_id: Some(uuid::Uuid::new_v4().to_string()),
            database: Some("demo".into()),
            table: Some("Events".into()),
            failed_on: Some("2025-01-01T00:00:00.0000000Z".into()),
            ingestion_source_id: Some(source),
            error_code: Some("BadRequest_EmptyBlob".into()),
            failure_status: Some("Permanent".into()),
            ..Default::default()
        };
        let m = env
            .client
            .storage()
            .put_message(&add, &n.to_queue_text(), None, None)
            .await
            .unwrap();
        if !X_AT.contains(&i) {
            others.insert(m.message_id);
        }
    }
    (x, others)
}

/// Another client receives until it has held every one of `others`; returns how long that
/// took, or panics after `deadline`.
async fn time_until_all_visible(
    env: &Env,
    others: &HashSet<String>,
    deadline: Duration,
) -> Duration {
    let observer = client_for(env.emulator.url(), AuthMethod::None);
    let start = Instant::now();
    let mut got = HashSet::new();
    while got.len() < others.len() {
        assert!(
            start.elapsed() < deadline,
            "only {} of {} other messages visible after {deadline:?}",
            got.len(),
            others.len()
        );
        let batch = observer
            .receive(NotificationKind::Failure, 32, Duration::from_secs(600))
            .await
            .unwrap();
        if batch.is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        got.extend(batch.into_iter().map(|m| m.message_id));
    }
    assert!(got.is_subset(others), "no target survived");
    start.elapsed()
}

async fn run(perms: &str) {
    let env = Env::start_with(EmulatorConfig {
        notification_queue_permissions: perms.into(),
        ..Default::default()
    })
    .await;
    let (x, others) = fill(&env).await;
    let archive = env.dir.path().join("archive.jsonl");
    let started = Instant::now();
    let report = env
        .client
        .discard(
            NotificationKind::Failure,
            DiscardSelector::SourceId(x.clone()),
            &archive,
        )
        .await
        .unwrap();
    let pass = started.elapsed();
    let after = time_until_all_visible(&env, &others, Duration::from_secs(15)).await;
    println!(
        "sp={perms}: pass {pass:?}; report: longest hidden {:?}, released now {}, visible again within {:?}; \
         another client saw all {} others {after:?} after the pass (hidden ≤ {:?} in all)",
        report.longest_hidden,
        report.released_now,
        report.visible_again_within,
        others.len(),
        pass + after,
    );
    assert_eq!((report.archived, report.deleted), (5, 5), "{report:?}");
    assert_eq!(report.released, TOTAL - 5, "{report:?}");
    assert!(report.errors.is_empty(), "{report:?}");
    assert_eq!(report.queue_count, Some((TOTAL - 5) as u64), "{report:?}");
    assert_eq!(report.not_seen, Some(0), "{report:?}");
    assert!(report.complete, "{report:?}");
    let lines = std::fs::read_to_string(&archive).unwrap();
    assert_eq!(lines.lines().count(), 5);
    for l in lines.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        assert_eq!(v["Decoded"]["IngestionSourceId"], x.as_str());
    }
    if perms.contains('u') {
        assert!(report.update_granted);
        assert_eq!(report.released_now, TOTAL - 5);
        assert_eq!(report.visible_again_within, None);
        assert!(report.longest_hidden <= pass, "{report:?}");
        assert!(
            after < Duration::from_secs(2),
            "released at once, seen after {after:?}"
        );
    } else {
        assert!(!report.update_granted);
        assert_eq!(report.released_now, 0);
        let within = report.visible_again_within.expect("left to the timeout");
        assert!(within <= DISCARD_VISIBILITY_FLOOR, "{within:?}");
        assert!(report.longest_hidden <= pass + DISCARD_VISIBILITY_FLOOR + Duration::from_secs(1));
        assert!(
            after <= within + Duration::from_secs(2),
            "said visible within {within:?}, seen after {after:?}"
        );
        assert!(
            report
                .release_summary()
                .unwrap()
                .contains("visible again in"),
            "{:?}",
            report.release_summary()
        );
    }
    env.emulator.shutdown().await;
}

#[tokio::test]
async fn released_at_once_where_the_sas_grants_update() {
    run("rpu").await;
}

#[tokio::test]
async fn short_timeout_where_the_sas_is_read_and_process_only() {
    run("rp").await;
}

/// Messages another client holds are not seen by the pass: the report says so and is not
/// complete, so a front end does not print plain success.
#[tokio::test]
async fn messages_in_flight_elsewhere_make_the_discard_incomplete() {
    let env = Env::start_with(EmulatorConfig {
        notification_queue_permissions: "rpu".into(),
        ..Default::default()
    })
    .await;
    let (x, _) = fill(&env).await;
    // Another client holds the 32 oldest, target 10 among them.
    let other = client_for(env.emulator.url(), AuthMethod::None);
    let held = other
        .receive(NotificationKind::Failure, 32, Duration::from_secs(600))
        .await
        .unwrap();
    assert_eq!(held.len(), 32);
    let archive = env.dir.path().join("archive.jsonl");
    let report = env
        .client
        .discard(
            NotificationKind::Failure,
            DiscardSelector::SourceId(x),
            &archive,
        )
        .await
        .unwrap();
    println!("{report:?}");
    assert_eq!(report.deleted, 4, "{report:?}");
    assert_eq!(report.released, TOTAL - 32 - 4);
    assert_eq!(report.not_seen, Some(32), "{report:?}");
    assert!(!report.complete, "{report:?}");
    env.emulator.shutdown().await;
}

/// The same pass through the binary, as an operator runs it: `kingest failures discard
/// --source-id X` over 100 messages, then another client sees every other one within seconds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_the_cli_the_others_are_visible_within_seconds() {
    let env = Env::start().await;
    let (x, others) = fill(&env).await;
    let archive = env.dir.path().join("cli-archive.jsonl");
    let out = common::kingest(
        &env,
        &[
            "failures",
            "discard",
            "--source-id",
            &x,
            "--archive",
            archive.to_str().unwrap(),
            "--yes",
            "--json",
        ],
    )
    .await;
    let text = common::stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        (v["archived"].as_u64(), v["deleted"].as_u64()),
        (Some(5), Some(5)),
        "{v}"
    );
    assert_eq!(v["complete"], true, "{v}");
    let after = time_until_all_visible(&env, &others, Duration::from_secs(15)).await;
    println!(
        "through the CLI (sp=rp): another client saw all {} others {after:?} after it",
        others.len()
    );
    assert!(
        after <= DISCARD_VISIBILITY_FLOOR + Duration::from_secs(2),
        "{after:?}"
    );
    env.emulator.shutdown().await;
}
