#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Bulk ingestion run by the cluster, over real HTTP against the emulator:
//! `.ingest-from-storage-queued` with `.list blobs` and with an explicit blob list, the
//! counters of `.show queued ingestion operations` draining to the real outcomes, cancel,
//! stand-alone `.list blobs` and its 1,000 cap, the service's errors, and `kingest bulk`.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::{Env, kingest, stdout};
use kingest::client::Error;
use kingest::client::bulk::{BulkOperation, BulkRequest, BulkSource, BulkState};
use kingest::client::storage::SasUrl;
use kingest::emulator::EmulatorConfig;

const GOOD: &str = "2025-03-01T09:00:00Z,Information,search,a,1\n\
                    2025-03-01T09:00:01Z,Warning,auth,b,2\n\
                    2025-03-01T09:00:02Z,Error,search,c,3\n";
/// Not one record has the table's five fields: the blob fails.
const BAD: &str = "just,two\n";

/// A container of the emulator's account with a SAS for create, write, read and list.
async fn container(env: &Env, name: &str) -> SasUrl {
    let url = container_sas(env, name);
    env.client.storage().create_container(&url).await.unwrap();
    url
}

/// The URL and SAS of container `name`, without creating it.
fn container_sas(env: &Env, name: &str) -> SasUrl {
    let unsigned = format!(
        "{}/{}/{name}?sr=c",
        env.emulator.url(),
        kingest::emulator::DEFAULT_ACCOUNT
    );
    common::resign(&SasUrl::parse(&unsigned).unwrap(), "rcwl")
}

async fn upload(env: &Env, c: &SasUrl, blobs: &[(String, &str)]) {
    use futures::StreamExt as _;
    futures::stream::iter(blobs)
        .for_each_concurrent(16, |(name, body)| async move {
            env.client
                .storage()
                .put_blob(&c.child(name), Bytes::from(body.to_string()), None)
                .await
                .unwrap();
        })
        .await;
}

fn listing(c: &SasUrl, prefix: &str, suffix: Option<&str>, max: Option<u64>) -> BulkSource {
    BulkSource::Listing {
        container: c.clone(),
        credential: None,
        prefix: prefix.into(),
        suffix: suffix.map(str::to_string),
        max_files: max,
    }
}

fn request(table: &str, source: BulkSource) -> BulkRequest {
    BulkRequest {
        database: "demo".into(),
        table: table.into(),
        source,
        properties: vec![("format".into(), "csv".into())],
        skip_batching: false,
    }
}

/// Polls the operation until `done` holds (at most 30 s).
async fn wait_for(env: &Env, id: &str, done: impl Fn(&BulkOperation) -> bool) -> BulkOperation {
    let mut last = None;
    for _ in 0..300 {
        let op = env.client.bulk_status(id).await.unwrap();
        if done(&op) {
            return op;
        }
        last = Some(op);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("operation {id} never reached the state; last {last:?}");
}

fn service_code(e: &Error) -> &str {
    match e {
        Error::Service { code, .. } => code,
        other => panic!("not a service error: {other:?}"),
    }
}

#[tokio::test]
async fn listed_blobs_drain_to_completed_with_real_outcomes() {
    let env = Env::start().await;
    let c = container(&env, "backfill").await;
    let mut blobs: Vec<(String, &str)> = (0..6)
        .map(|i| (format!("day1/good-{i}.csv"), GOOD))
        .collect();
    blobs.push(("day1/bad-0.csv".into(), BAD));
    blobs.push(("day1/bad-1.csv".into(), BAD));
    // Outside the suffix and outside the prefix: never discovered.
    blobs.push(("day1/readme.json".into(), "{}"));
    blobs.push(("day2/good.csv".into(), GOOD));
    upload(&env, &c, &blobs).await;
    let before = env.row_count("Events").await;

    let started = env
        .client
        .bulk_start(&request("Events", listing(&c, "day1/", Some(".csv"), None)))
        .await
        .unwrap();
    assert!(started.operation_info.contains(&started.operation_id));
    let op = wait_for(&env, &started.operation_id, |o| o.state.is_final()).await;
    assert_eq!(op.state, BulkState::Completed, "{op:?}");
    assert_eq!(
        (
            op.discovered,
            op.pending,
            op.ingested,
            op.failed,
            op.canceled
        ),
        (8, 0, 6, 2, 0)
    );
    assert!(!op.sample_failed_reasons.is_empty());
    assert_eq!(
        (op.database.as_str(), op.table.as_str()),
        ("demo", "Events")
    );
    assert_eq!(env.row_count("Events").await, before + 18);

    let details = env
        .client
        .bulk_details(&started.operation_id)
        .await
        .unwrap();
    assert_eq!(details.len(), 8);
    let failed: Vec<_> = details.iter().filter(|b| b.status == "Failed").collect();
    assert_eq!(failed.len(), 2);
    assert!(
        failed
            .iter()
            .all(|b| b.blob_url.contains("/day1/bad-") && !b.failed_reasons.is_empty())
    );
    assert!(
        details
            .iter()
            .filter(|b| b.status == "Succeeded")
            .all(|b| b.completed_at.is_some())
    );
    // The listed blobs are the user's data: still there after ingestion.
    assert!(
        env.client
            .storage()
            .get_blob(&c.child("day1/good-0.csv"))
            .await
            .is_ok()
    );
    // No SAS anywhere in what the service reports.
    let secrets = env.emulator.issued_secrets();
    let sig = c.query_param("sig").unwrap();
    for b in &details {
        assert!(
            !b.blob_url.contains(&sig) && !b.blob_url.contains('?'),
            "{}",
            b.blob_url
        );
        for s in &secrets {
            assert!(!b.failed_reasons.contains(s.as_str()));
        }
    }

    // MaxFiles caps what an operation discovers; the batch of one table still lands.
    let capped = env
        .client
        .bulk_start(&request("Events", listing(&c, "day1/good-", None, Some(3))))
        .await
        .unwrap();
    let op = wait_for(&env, &capped.operation_id, |o| o.state.is_final()).await;
    assert_eq!((op.discovered, op.ingested, op.failed), (3, 3, 0));
    assert_eq!(env.row_count("Events").await, before + 27);
    env.emulator.shutdown().await;
}

#[tokio::test]
async fn explicit_blob_list_and_a_missing_blob() {
    let env = Env::start().await;
    let c = container(&env, "explicit").await;
    upload(&env, &c, &[("a.csv".into(), GOOD), ("b.csv".into(), GOOD)]).await;
    let before = env.row_count("Events").await;
    let source = BulkSource::Blobs(vec![
        c.child("a.csv"),
        c.child("b.csv"),
        c.child("gone.csv"),
    ]);
    let started = env
        .client
        .bulk_start(&request("Events", source))
        .await
        .unwrap();
    let op = wait_for(&env, &started.operation_id, |o| o.state.is_final()).await;
    assert_eq!(
        (op.state.clone(), op.discovered, op.ingested, op.failed),
        (BulkState::Completed, 3, 2, 1)
    );
    assert!(
        op.sample_failed_reasons.contains("Download_SourceNotFound"),
        "{op:?}"
    );
    assert_eq!(env.row_count("Events").await, before + 6);
    // Several ids in one call.
    let both = env
        .client
        .bulk_statuses(&[started.operation_id.clone(), started.operation_id.clone()])
        .await
        .unwrap();
    assert_eq!(both.len(), 2);
    env.emulator.shutdown().await;
}

/// An emulator sealing batches after `secs`, container `name` with `n` good blobs under
/// `prefix`, and the Events row count before any bulk run.
async fn good_blobs_in_slow_batches(
    secs: u64,
    name: &str,
    prefix: &str,
    n: usize,
) -> (Env, SasUrl, u64) {
    let env = Env::start_exact(EmulatorConfig {
        batch_window: Some(Duration::from_secs(secs)),
        ..Default::default()
    })
    .await;
    let c = container(&env, name).await;
    let blobs: Vec<(String, &str)> = (0..n).map(|i| (format!("{prefix}{i}.csv"), GOOD)).collect();
    upload(&env, &c, &blobs).await;
    let before = env.row_count("Events").await;
    (env, c, before)
}

#[tokio::test]
async fn cancel_drops_blobs_not_yet_ingested() {
    // Blobs wait in an open batch for 5 s: long enough to cancel them before they land.
    let (env, c, before) = good_blobs_in_slow_batches(5, "tocancel", "", 5).await;
    let started = env
        .client
        .bulk_start(&request("Events", listing(&c, "", None, None)))
        .await
        .unwrap();
    let id = &started.operation_id;
    wait_for(&env, id, |o| o.discovered == 5).await;
    let canceled = env.client.bulk_cancel(id).await.unwrap();
    assert_eq!(canceled.state, BulkState::Canceled);
    let op = wait_for(&env, id, |o| o.pending == 0).await;
    assert_eq!(
        (op.state, op.canceled, op.ingested),
        (BulkState::Canceled, 5, 0)
    );
    assert_eq!(env.row_count("Events").await, before);
    // Unknown ids are refused, for show and cancel alike.
    let e = env.client.bulk_cancel("1;1;nope").await.unwrap_err();
    assert_eq!(service_code(&e), "BadRequest_EntityNotFound");
    let e = env.client.bulk_status("1;1;nope").await.unwrap_err();
    assert_eq!(service_code(&e), "BadRequest_EntityNotFound");
    env.emulator.shutdown().await;
}

#[tokio::test]
async fn standalone_list_blobs_is_capped_at_1000() {
    let env = Env::start().await;
    let c = container(&env, "many").await;
    let mut blobs: Vec<(String, &str)> = (0..1005)
        .map(|i| (format!("bulk/{i:04}.csv"), "x"))
        .collect();
    blobs.push(("sales/year=2024/month=03/day=16/s.parquet".into(), "p"));
    upload(&env, &c, &blobs).await;
    let list = |tail: &str| {
        let csl = format!(".list blobs (h\"{}\") {tail}", c.expose());
        let client = env.client.clone();
        async move { client.mgmt("demo", &csl).await.unwrap().remove(0) }
    };
    let t = list("MaxFiles=5000").await;
    assert_eq!(t.rows.len(), 1000);
    let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["BlobUri", "SizeInBytes", "CapturedVariables"]);
    let t = list("Suffix=\".csv\" MaxFiles=3").await;
    assert_eq!(t.rows.len(), 3);
    assert_eq!(t.rows[0][1], 1);
    assert!(!t.rows[0][0].as_str().unwrap().contains('?'));
    let t = list(
        "Suffix=\"parquet\" PathFormat=(\"sales/year=\" datetime_pattern(\"yyyy'/month='MM'/day='dd\", creationTime) \"/\")",
    )
    .await;
    assert_eq!(t.rows.len(), 1);
    assert_eq!(t.rows[0][2]["creationTime"], "03/16/2024 00:00:00");
    env.emulator.shutdown().await;
}

#[tokio::test]
async fn bad_commands_get_the_service_codes() {
    let env = Env::start().await;
    let c = container(&env, "errs").await;
    upload(&env, &c, &[("a.csv".into(), GOOD)]).await;
    let run = |csl: String| {
        let client = env.client.clone();
        async move { client.mgmt("demo", &csl).await.unwrap_err() }
    };
    let loc = c.expose().to_string();
    let e = run(format!(
        ".ingest-from-storage-queued into table Nope <| .list blobs (h'{loc}')"
    ))
    .await;
    assert_eq!(service_code(&e), "BadRequest_EntityNotFound");
    let e = run(format!(
        ".ingest-from-storage-queued into table Events <| .list blobs h'{loc}'"
    ))
    .await;
    assert_eq!(service_code(&e), "BadRequest_SyntaxError");
    let e =
        run(".ingest-from-storage-queued into table Events <| .list blobs ('not a url')".into())
            .await;
    assert_eq!(service_code(&e), "BadRequest_InvalidBlobUri");
    let missing = container_sas(&env, "nosuchcontainer");
    let e = run(format!(".list blobs (h'{}')", missing.expose())).await;
    assert_eq!(service_code(&e), "Download_SourceNotFound");
    // A SAS without list rights: the cluster cannot enumerate the container.
    let no_list = common::resign(&c, "r");
    let e = run(format!(
        ".ingest-from-storage-queued into table Events <| .list blobs (h'{}')",
        no_list.expose()
    ))
    .await;
    assert_eq!(service_code(&e), "Download_Forbidden");
    // The SAS of the locator never comes back in an error.
    let sig = no_list.query_param("sig").unwrap();
    assert!(!e.to_string().contains(&sig), "{e}");
    let e = run(".show queued ingestion operations ('a', 'b') details".into()).await;
    assert_eq!(service_code(&e), "BadRequest_SyntaxError");
    env.emulator.shutdown().await;
}

/// Runs `kingest [pre…] bulk args… -d demo -t T`; asserts the exit code; (stdout, stderr).
async fn bulk_cli(
    env: &Env,
    pre: &[&str],
    args: &[&str],
    table: &str,
    code: i32,
) -> (String, String) {
    let mut all: Vec<&str> = pre.to_vec();
    all.push("bulk");
    all.extend_from_slice(args);
    all.extend_from_slice(&["-d", "demo", "-t", table]);
    let out = kingest(env, &all).await;
    let (so, se) = (
        stdout(&out),
        String::from_utf8_lossy(&out.stderr).to_string(),
    );
    assert_eq!(out.status.code(), Some(code), "{all:?}\n{so}\n{se}");
    (so, se)
}

#[tokio::test]
async fn cli_bulk_waits_reports_and_cancels() {
    let env = Env::start().await;
    let c = container(&env, "cli").await;
    let names = [
        "logs/x-1.csv",
        "logs/x-2.csv",
        "logs/y-1.csv",
        "other/x-3.csv",
    ];
    let blobs: Vec<(String, &str)> = names
        .iter()
        .map(|n| (n.to_string(), if n.contains("x-2") { BAD } else { GOOD }))
        .collect();
    upload(&env, &c, &blobs).await;
    let before = env.row_count("Events").await;
    let url = c.expose().to_string();
    let sig = c.query_param("sig").unwrap();
    // `*.csv` under a prefix: the cluster lists (Suffix); one bad blob → exit 1.
    let args = [
        "--container",
        &url,
        "--prefix",
        "logs/",
        "--pattern",
        "*.csv",
        "--wait",
        "60",
    ];
    let (so, se) = bulk_cli(&env, &[], &args, "Events", 1).await;
    assert!(so.starts_with("operation "), "{so}");
    assert!(
        so.contains("Completed  discovered 3  pending 0  ingested 2  failed 1"),
        "{so}"
    );
    assert!(
        so.contains("failed: ") && so.contains("logs/x-2.csv"),
        "{so}"
    );
    assert!(
        se.contains("InProgress") || se.contains("Completed"),
        "{se}"
    );
    assert!(!so.contains(&sig) && !se.contains(&sig));
    assert_eq!(env.row_count("Events").await, before + 6);

    // A glob `.list blobs` cannot say: kingest lists and sends the three matches itself.
    let args = [
        "--container",
        &url,
        "--pattern",
        "*/x-?.csv",
        "--wait",
        "60",
    ];
    let (so, _) = bulk_cli(&env, &["--json"], &args, "Events", 1).await;
    let v: serde_json::Value = serde_json::from_str(&so).unwrap();
    assert_eq!(v["operation"]["discovered"], 3, "{v}");
    assert_eq!(v["operation"]["state"], "Completed");
    assert_eq!(v["failed_blobs"].as_array().unwrap().len(), 1);
    let id = v["operation_id"].as_str().unwrap().to_string();

    // status --details, and cancel of a finished operation (it stays as it ended).
    let out = kingest(&env, &["bulk", "status", &id, "--details"]).await;
    let so = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{so}");
    let succeeded = so.lines().filter(|l| l.starts_with("Succeeded\t")).count();
    assert_eq!(succeeded, 2, "{so}");
    let out = kingest(&env, &["--json", "bulk", "cancel", &id]).await;
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["operation"]["state"], "Completed");

    // Explicit blobs, all good: exit 0.
    let blob = c.child("logs/y-1.csv");
    bulk_cli(
        &env,
        &[],
        &["--blob", blob.expose(), "--wait", "60"],
        "Events",
        0,
    )
    .await;
    // Usage errors: exit 2, before anything is sent.
    bulk_cli(&env, &[], &[], "Events", 2).await;
    bulk_cli(&env, &[], &["--container", "not a url"], "Events", 2).await;
    // An unknown table: the service's error, exit 3.
    let (_, se) = bulk_cli(&env, &[], &["--container", &url], "Nope", 3).await;
    assert!(se.contains("BadRequest_EntityNotFound"), "{se}");
    env.emulator.shutdown().await;
}

/// The same drain with the emulator on Azurite (`--storage`): the DM lists the user's
/// container in Azurite through its SAS and ingests through Azurite's queues.
#[tokio::test]
async fn listing_runs_against_azurite_storage() {
    use kingest::emulator::sas::{AccountKey, AccountSas};
    let Some(az) = common::azurite() else { return };
    let env = Env::start_with(EmulatorConfig {
        storage: Some(az.connection_string()),
        ..Default::default()
    })
    .await;
    // An account SAS: Azurite, as Azure, creates containers only with one.
    let key = AccountKey::from_base64(kingest::emulator::connection::DEV_KEY).unwrap();
    let now = chrono::Utc::now();
    let token = AccountSas {
        account: "devstoreaccount1".into(),
        services: "b".into(),
        resource_types: "sco".into(),
        permissions: "rwlc".into(),
        start: Some(now - chrono::TimeDelta::minutes(5)),
        expiry: now + chrono::TimeDelta::hours(1),
    }
    .token(&key);
    let c = SasUrl::parse(&format!(
        "http://127.0.0.1:{}/devstoreaccount1/backfill?{token}",
        az.blob
    ))
    .unwrap();
    env.client.storage().create_container(&c).await.unwrap();
    let mut blobs: Vec<(String, &str)> = (0..3).map(|i| (format!("d/{i}.csv"), GOOD)).collect();
    blobs.push(("d/bad.csv".into(), BAD));
    upload(&env, &c, &blobs).await;
    let before = env.row_count("Events").await;
    let started = env
        .client
        .bulk_start(&request("Events", listing(&c, "d/", Some(".csv"), None)))
        .await
        .unwrap();
    let op = wait_for(&env, &started.operation_id, |o| o.state.is_final()).await;
    assert_eq!((op.discovered, op.ingested, op.failed), (4, 3, 1), "{op:?}");
    assert_eq!(env.row_count("Events").await, before + 9);
    env.emulator.shutdown().await;
}

/// The TUI over the real event loop, executor and emulator: `b` starts an operation from the
/// dialog, its row drains to Completed with its counters; `X` then `y` cancels a second one
/// while its blobs wait in an open batch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tui_starts_tracks_and_cancels_bulk_operations() {
    use crossterm::event::KeyCode;
    let (env, c, before) = good_blobs_in_slow_batches(3, "tui", "t/", 3).await;
    let opts = kingest::runtime::TuiOptions {
        archive_dir: env.dir.path().join("archive"),
        state_dir: env.dir.path().join("state"),
        default_database: Some("demo".into()),
        default_table: Some("Events".into()),
        color: Some(false),
        ..Default::default()
    };
    let url = c.expose().to_string();
    let sig = c.query_param("sig").unwrap();
    let script = |d: common::tui::Driver| async move {
        d.wait("resources", |s| s.contains("readyforaggregation-secured"))
            .await;
        let start = |pattern: &'static str| {
            d.key(KeyCode::Char('b'));
            d.text(&url);
            d.key(KeyCode::Down);
            d.key(KeyCode::Down);
            d.text(pattern);
            d.key(KeyCode::Enter);
        };
        d.key(KeyCode::Char('b'));
        let dialog = d
            .wait("the bulk dialog", |s| s.contains("Bulk ingestion run"))
            .await;
        assert!(dialog.contains("Events"), "{dialog}");
        d.key(KeyCode::Esc);
        start("t/*.csv");
        let s = d
            .wait("the first operation Completed", |s| {
                common::tui::row_with(s, "bulk tui/", "Completed") && s.contains("3/3")
            })
            .await;
        assert!(
            s.contains("discovered 3  pending 0  ingested 3  failed 0"),
            "{s}"
        );
        start("*.csv");
        d.wait("the second operation running", |s| {
            s.lines().filter(|l| l.contains("bulk tui/")).count() == 2 && s.contains("InProgress")
        })
        .await;
        d.key(KeyCode::Char('X'));
        d.wait("the confirmation", |s| s.contains("Cancel bulk operation"))
            .await;
        d.key(KeyCode::Char('y'));
        let s = d
            .wait("the second operation Canceled", |s| {
                s.contains("Canceled") && s.contains("canceled 3")
            })
            .await;
        assert!(!s.contains(&sig), "SAS on screen:\n{s}");
        d.key(KeyCode::Char('q'));
    };
    common::tui::run(env.client.clone(), opts, script).await;
    assert_eq!(env.row_count("Events").await, before + 9);
    env.emulator.shutdown().await;
}

/// PathFormat's captured creationTime becomes the extent's creation time.
#[tokio::test]
async fn path_format_sets_the_extent_creation_time() {
    let env = Env::start().await;
    let c = container(&env, "dated").await;
    upload(&env, &c, &[("y=2024/m=03/d=16/a.csv".into(), GOOD)]).await;
    let csl = format!(
        ".ingest-from-storage-queued into table Events EnableTracking=true with (format='csv') \
         <| .list blobs (h'{}') PathFormat=(\"y=\" datetime_pattern(\"yyyy'/m='MM'/d='dd\", creationTime) \"/\")",
        c.expose()
    );
    let t = env.client.mgmt("demo", &csl).await.unwrap().remove(0);
    let id = t.rows[0][0].as_str().unwrap().to_string();
    let op = wait_for(&env, &id, |o| o.state.is_final()).await;
    assert_eq!(op.ingested, 1, "{op:?}");
    let t = env
        .client
        .mgmt("demo", ".show table Events extents")
        .await
        .unwrap()
        .remove(0);
    let created = t.column("CreatedOn").next().flatten().unwrap().to_string();
    assert!(created.contains("2024-03-16"), "{created}");
    env.emulator.shutdown().await;
}
