//! The emulator behaves like the service where a client can tell: batching policies, transient
//! failures and their retries, rotating status tables, the Node SDK's `tn`-only status-table
//! URL, duplicate blobs in a batch, and other clients' notifications in the shared queues.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use base64::Engine as _;
use common::Env;
use kingest::client::storage::SasUrl;
use kingest::client::wire::{
    IngestionStatus, Notification, NotificationKind, ReportLevel, ReportMethod, StatusEntity,
};
use kingest::client::{ReceivedNotification, ResourceKind, SubmitRequest};
use kingest::emulator::EmulatorConfig;
use kingest::emulator::dm::RetrySettings;
use kingest::emulator::faults::FaultConfig;
use serde_json::{Value, json};

fn request(env: &Env, file: &str, flush: bool) -> SubmitRequest {
    let mut r = SubmitRequest::new(env.file(file), "demo", "Events");
    r.report_level = ReportLevel::FailuresAndSuccesses;
    r.report_method = ReportMethod::QueueAndTable;
    r.flush_immediately = flush;
    r
}

fn lines(env: &Env, file: &str) -> u64 {
    std::fs::read_to_string(env.file(file))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count() as u64
}

/// One mgmt command's single result table as rows of (column → value).
async fn mgmt_rows(env: &Env, csl: &str) -> Vec<serde_json::Map<String, Value>> {
    let t = env.client.mgmt("demo", csl).await.unwrap().remove(0);
    t.rows
        .iter()
        .map(|r| {
            t.columns
                .iter()
                .zip(r)
                .map(|(c, v)| (c.name.clone(), v.clone()))
                .collect()
        })
        .collect()
}

/// The notifications of `source` of one kind, once `done` holds for them (30 s deadline).
async fn notifications_until(
    env: &Env,
    kind: NotificationKind,
    source: &str,
    done: impl Fn(&[Notification]) -> bool,
) -> Vec<Notification> {
    let mut found = Vec::new();
    for _ in 0..300 {
        found = env
            .client
            .peek(kind, 32)
            .await
            .unwrap()
            .into_iter()
            .filter(|m: &ReceivedNotification| m.source_id() == Some(source))
            .filter_map(|m| m.decoded.notification)
            .collect();
        if done(&found) {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("notifications of {source} never complete: {found:?}");
}

async fn entity(env: &Env, table: &SasUrl, pk: &str, rk: &str) -> Option<StatusEntity> {
    let at = kingest::client::tracking::StatusRef::new(table.clone(), pk.into(), rk.into());
    env.client.table_status(&at).await.unwrap()
}

/// Polls an entity until it is final (30 s deadline).
async fn final_entity(env: &Env, table: &SasUrl, pk: &str, rk: &str) -> StatusEntity {
    for _ in 0..300 {
        if let Some(e) = entity(env, table, pk, rk).await
            && e.status.is_some_and(|s| s != IngestionStatus::Pending)
        {
            return e;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("entity {pk}/{rk} never left Pending");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_batching_by_default_and_a_table_policy_seals_by_count() {
    let env = Env::start_exact(EmulatorConfig::default()).await;
    let eff = &mgmt_rows(&env, ".show emulator batching Events").await[0];
    let policy: Value = serde_json::from_str(eff["Policy"].as_str().unwrap()).unwrap();
    assert_eq!(
        policy,
        json!({"MaximumBatchingTimeSpan":"00:05:00","MaximumNumberOfItems":500,"MaximumRawDataSizeMB":1024})
    );
    assert_eq!(eff["PolicySource"], "Default");
    assert_eq!(eff["BatchingTimeOverride"], Value::Null);
    let shown = &mgmt_rows(&env, ".show table Events policy ingestionbatching").await[0];
    assert_eq!(shown["Policy"], Value::Null, "unset policy shows null");

    // Two items seal the batch long before its 5 minutes: both share one operation.
    let set = ".alter table Events policy ingestionbatching '{\"MaximumNumberOfItems\": 2}'";
    let altered = &mgmt_rows(&env, set).await[0];
    assert_eq!(altered["EntityName"], "[demo].[Events]");
    let before = env.row_count("Events").await;
    let a = env.submit(request(&env, "events.csv", false)).await;
    let b = env.submit(request(&env, "events.csv", false)).await;
    let (ea, eb) = (env.final_status(&a).await, env.final_status(&b).await);
    assert_eq!(ea.status, Some(IngestionStatus::Succeeded), "{ea:?}");
    assert_eq!(eb.status, Some(IngestionStatus::Succeeded), "{eb:?}");
    assert_eq!(ea.operation_id, eb.operation_id, "one batch, one operation");
    assert_eq!(
        env.row_count("Events").await,
        before + 2 * lines(&env, "events.csv")
    );
    env.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_failures_are_retried_then_succeed() {
    let env = Env::start_with(EmulatorConfig {
        ingest_retry: RetrySettings {
            max_attempts: 4,
            backoff: Duration::from_secs(1),
        },
        ..Default::default()
    })
    .await;
    // Through the mgmt command, the outside handle for running emulators.
    let set = &mgmt_rows(&env, ".set emulator faults 'ingest-transient-times=2'").await[0];
    assert_eq!(set["Faults"], "ingest-transient-times=2");
    let before = env.row_count("Events").await;
    let s = env.submit(request(&env, "events.csv", true)).await;
    let id = s.source_id.to_string();
    // Right after the first Transient report (the retry is a second away) the row is Pending.
    notifications_until(&env, NotificationKind::Failure, &id, |f| !f.is_empty()).await;
    let at = s.status_ref().cloned().unwrap();
    let row = entity(&env, at.table(), &at.partition_key, &at.row_key)
        .await
        .unwrap();
    assert_eq!(row.status, Some(IngestionStatus::Pending), "{row:?}");
    let status = env.final_status(&s).await;
    assert_eq!(
        status.status,
        Some(IngestionStatus::Succeeded),
        "{status:?}"
    );
    let failures =
        notifications_until(&env, NotificationKind::Failure, &id, |f| f.len() >= 2).await;
    assert_eq!(failures.len(), 2, "{failures:?}");
    for f in &failures {
        assert_eq!(f.failure_status.as_deref(), Some("Transient"), "{f:?}");
        assert_eq!(f.should_retry, Some(true));
        assert_eq!(f.error_code.as_deref(), Some("General_InternalServerError"));
    }
    notifications_until(&env, NotificationKind::Success, &id, |s| s.len() == 1).await;
    assert_eq!(
        env.row_count("Events").await,
        before + lines(&env, "events.csv"),
        "ingested once"
    );
    env.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_failures_exhaust_the_attempts() {
    let env = Env::start_with(EmulatorConfig {
        faults: FaultConfig::parse("ingest-transient=1").unwrap(),
        ingest_retry: RetrySettings {
            max_attempts: 2,
            backoff: Duration::from_millis(50),
        },
        ..Default::default()
    })
    .await;
    let before = env.row_count("Events").await;
    let s = env.submit(request(&env, "events.csv", true)).await;
    let id = s.source_id.to_string();
    let status = env.final_status(&s).await;
    assert_eq!(status.status, Some(IngestionStatus::Failed), "{status:?}");
    assert_eq!(status.failure_status.as_deref(), Some("Exhausted"));
    assert_eq!(
        status.error_code.as_deref(),
        Some("General_RetryAttemptsExceeded")
    );
    let failures = notifications_until(&env, NotificationKind::Failure, &id, |f| {
        f.iter()
            .any(|n| n.failure_status.as_deref() == Some("Exhausted"))
    })
    .await;
    let kinds: Vec<_> = failures
        .iter()
        .map(|n| n.failure_status.clone().unwrap_or_default())
        .collect();
    assert_eq!(kinds, vec!["Transient", "Exhausted"]);
    assert_eq!(env.row_count("Events").await, before);
    // Faults can be switched off again while running.
    env.emulator.faults().set(FaultConfig::default());
    let s = env.submit(request(&env, "events.csv", true)).await;
    assert_eq!(
        env.final_status(&s).await.status,
        Some(IngestionStatus::Succeeded)
    );
    env.emulator.shutdown().await;
}

fn status_table(env_resources: &kingest::client::IngestionResources) -> SasUrl {
    env_resources
        .of_kind(ResourceKind::IngestionsStatusTable)
        .next()
        .unwrap()
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_tables_rotate_and_old_ones_keep_working() {
    let env = Env::start().await;
    let first = status_table(&env.client.resources().await.unwrap());
    let today = chrono::Utc::now().format("%Y%m%d").to_string();
    assert_eq!(first.object_name(), format!("ingestionsstatus{today}"));
    let parse =
        |p: &str| chrono::DateTime::parse_from_rfc3339(&first.query_param(p).unwrap()).unwrap();
    assert!(
        parse("se") - parse("st") >= chrono::TimeDelta::days(3),
        "multi-day SAS"
    );
    assert_eq!(
        first.query_param("tn").as_deref(),
        Some(first.object_name().as_str())
    );

    // A source is tracked in today's table; then the DM hands out the next one.
    let mut old = request(&env, "events.csv", false);
    old.flush_immediately = false;
    let a = env.submit(old).await;
    let rotated = &mgmt_rows(&env, ".rotate emulator status table").await[0];
    let second = status_table(&env.client.refresh_resources().await.unwrap());
    assert_eq!(rotated["TableName"], second.object_name().as_str());
    assert_ne!(first.object_name(), second.object_name());
    let b = env.submit(request(&env, "events.csv", true)).await;
    assert_eq!(
        a.status_ref().unwrap().table().object_name(),
        first.object_name()
    );
    assert_eq!(
        b.status_ref().unwrap().table().object_name(),
        second.object_name()
    );
    for s in [&a, &b] {
        let e = env.final_status(s).await;
        assert_eq!(e.status, Some(IngestionStatus::Succeeded), "{e:?}");
    }
    assert_eq!(env.emulator.status_tables().await.len(), 2);
    env.emulator.shutdown().await;
}

async fn identity_token(env: &Env) -> String {
    let t = env
        .client
        .mgmt("NetDefaultDB", ".get kusto identity token")
        .await
        .unwrap()
        .remove(0);
    t.rows[0][0].as_str().unwrap().to_string()
}

/// Uploads `file` gzipped to the first temp container; returns the blob URL with SAS.
async fn upload(env: &Env, file: &str) -> SasUrl {
    let res = env.client.resources().await.unwrap();
    let container = res.of_kind(ResourceKind::TempStorage).next().unwrap();
    let blob = container.child(&format!(
        "demo__Events__{}__{file}.gz",
        uuid::Uuid::new_v4()
    ));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &std::fs::read(env.file(file)).unwrap()).unwrap();
    let body = bytes::Bytes::from(gz.finish().unwrap());
    env.client
        .storage()
        .put_blob(&blob, body, None)
        .await
        .unwrap();
    blob
}

async fn post(env: &Env, message: &Value) {
    let res = env.client.resources().await.unwrap();
    let queue = res
        .of_kind(ResourceKind::SecuredReadyForAggregationQueue)
        .next()
        .unwrap();
    let text = base64::engine::general_purpose::STANDARD.encode(message.to_string());
    env.client
        .storage()
        .put_message(queue, &text, None, None)
        .await
        .unwrap();
}

/// The status table's URL as the Node SDK's `TableClient.url` has it: origin + SAS, no path.
fn node_style(table: &SasUrl) -> String {
    let full = table.expose();
    let (base, query) = full.split_once('?').unwrap();
    let origin = base.split('/').take(3).collect::<Vec<_>>().join("/");
    format!("{origin}?{query}")
}

async fn insert_pending(env: &Env, table: &SasUrl, id: &str) {
    let mut e = serde_json::Map::new();
    for (k, v) in [
        ("PartitionKey", id),
        ("RowKey", id),
        ("Status", "Pending"),
        ("IngestionSourceId", id),
        ("Database", "demo"),
        ("Table", "Events"),
    ] {
        e.insert(k.into(), v.into());
    }
    env.client.storage().insert_entity(table, &e).await.unwrap();
}

/// Posts Node-shaped messages whose status URL names the table only in `tn` and checks that
/// their rows reach Succeeded.
async fn tn_only_rows_are_updated(env: &Env) {
    let table = status_table(&env.client.resources().await.unwrap());
    let token = identity_token(env).await;
    let without_table = {
        let (base, query) = table.expose().split_once('?').unwrap();
        let account_url = base.rsplit_once('/').unwrap().0;
        format!("{account_url}?{query}")
    };
    // Node's exact value (a path-style origin loses the account too), and the account URL.
    for connection in [node_style(&table), without_table] {
        let id = uuid::Uuid::new_v4().to_string();
        insert_pending(env, &table, &id).await;
        let blob = upload(env, "events.csv").await;
        // Field names as Node's IngestionBlobInfo / IngestionStatusInTableDescription send them.
        let msg = json!({
            "BlobPath": blob.expose(), "DatabaseName": "demo", "TableName": "Events",
            "RetainBlobOnSuccess": true, "FlushImmediately": true, "IgnoreSizeLimit": false,
            "ReportLevel": 2, "ReportMethod": 1, "Id": id,
            "SourceMessageCreationTime": chrono::Utc::now().to_rfc3339(),
            "IngestionStatusInTable": {"tableConnectionString": connection, "partitionKey": id, "rowKey": id},
            "AdditionalProperties": {"authorizationContext": token, "format": "csv"}
        });
        post(env, &msg).await;
        let e = final_entity(env, &table, &id, &id).await;
        assert_eq!(
            e.status,
            Some(IngestionStatus::Succeeded),
            "{connection}: {e:?}"
        );
        assert!(e.operation_id.is_some());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_style_camel_case_status_with_the_table_only_in_tn() {
    let env = Env::start().await;
    tn_only_rows_are_updated(&env).await;
    env.emulator.shutdown().await;
}

/// The same on Azurite: the rotated table is created there, and `tn` resolves against
/// Azurite's path-style account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_azurite_status_tables_rotate_and_tn_only_urls_resolve() {
    let Some(az) = common::azurite() else { return };
    let env = Env::start_with(EmulatorConfig {
        storage: Some(az.connection_string()),
        ..Default::default()
    })
    .await;
    let first = status_table(&env.client.resources().await.unwrap());
    env.emulator.rotate_status_table().await.unwrap();
    let second = status_table(&env.client.refresh_resources().await.unwrap());
    assert_ne!(first.object_name(), second.object_name());
    tn_only_rows_are_updated(&env).await;
    env.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_blob_twice_in_one_batch_is_ingested_once() {
    // A long window, and a policy sealing at two items: both posts land in one batch.
    let env = Env::start_with(EmulatorConfig {
        batch_window: Some(Duration::from_secs(600)),
        ..Default::default()
    })
    .await;
    mgmt_rows(
        &env,
        ".alter-merge table Events policy ingestionbatching '{\"MaximumNumberOfItems\": 2}'",
    )
    .await;
    let table = status_table(&env.client.resources().await.unwrap());
    let token = identity_token(&env).await;
    let blob = upload(&env, "events.csv").await;
    let before = env.row_count("Events").await;
    let ids: Vec<String> = (0..2).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    for id in &ids {
        insert_pending(&env, &table, id).await;
        post(
            &env,
            &json!({
                "Id": id, "BlobPath": blob.expose(), "DatabaseName": "demo", "TableName": "Events",
                "RetainBlobOnSuccess": true, "ReportLevel": 0, "ReportMethod": 2,
                "IngestionStatusInTable": {"TableConnectionString": table.expose(), "PartitionKey": id, "RowKey": id},
                "AdditionalProperties": {"authorizationContext": token, "format": "csv"}
            }),
        )
        .await;
    }
    let first = final_entity(&env, &table, &ids[0], &ids[0]).await;
    let second = final_entity(&env, &table, &ids[1], &ids[1]).await;
    assert_eq!(first.status, Some(IngestionStatus::Succeeded), "{first:?}");
    assert_eq!(second.status, Some(IngestionStatus::Failed), "{second:?}");
    let code = "BlobAlreadyReceived_BlobAlreadyFoundInBatch";
    assert_eq!(second.error_code.as_deref(), Some(code));
    assert_eq!(second.failure_status.as_deref(), Some("Permanent"));
    let n = notifications_until(&env, NotificationKind::Failure, &ids[1], |f| !f.is_empty()).await;
    assert_eq!(n[0].error_code.as_deref(), Some(code));
    assert_eq!(n[0].should_retry, Some(false));
    assert_eq!(
        env.row_count("Events").await,
        before + lines(&env, "events.csv"),
        "one copy ingested"
    );
    env.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_clients_notifications_fill_the_queues() {
    let env = Env::start().await;
    env.emulator
        .inject_foreign_notifications(40, 35)
        .await
        .unwrap();
    let rows = mgmt_rows(&env, ".emulate other clients notifications 3 2").await;
    assert_eq!(
        (rows[0]["Successes"].as_u64(), rows[0]["Failures"].as_u64()),
        (Some(3), Some(2))
    );
    let depth = |kind: ResourceKind| {
        let env = &env;
        async move {
            let res = env.client.resources().await.unwrap();
            let q = res.of_kind(kind).next().unwrap().clone();
            env.client
                .storage()
                .approximate_message_count(&q)
                .await
                .unwrap()
        }
    };
    assert_eq!(depth(ResourceKind::SuccessfulIngestionsQueue).await, 43);
    assert_eq!(depth(ResourceKind::FailedIngestionsQueue).await, 37);
    let peeked = env
        .client
        .peek(NotificationKind::Failure, 32)
        .await
        .unwrap();
    assert_eq!(peeked.len(), 32);
    let mut sources: Vec<_> = peeked.iter().filter_map(|m| m.source_id()).collect();
    sources.sort();
    sources.dedup();
    assert_eq!(sources.len(), 32, "random source ids");
    assert!(peeked.iter().all(|m| {
        m.decoded
            .notification
            .as_ref()
            .is_some_and(|n| n.database.as_deref() != Some("demo"))
    }));
    let codes: std::collections::HashSet<_> = peeked
        .iter()
        .filter_map(|m| m.decoded.notification.as_ref()?.failure_status.clone())
        .collect();
    assert!(
        codes.contains("Permanent") && codes.contains("Transient"),
        "{codes:?}"
    );

    // Ours sits behind the backlog in the queues, but its status-table row is final.
    let s = env.submit(request(&env, "events.csv", true)).await;
    let e = env.final_status(&s).await;
    assert_eq!(e.status, Some(IngestionStatus::Succeeded), "{e:?}");
    assert!(depth(ResourceKind::SuccessfulIngestionsQueue).await >= 44);
    env.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulator_command_reads_its_fidelity_flags() {
    let bin = env!("CARGO_BIN_EXE_kingest");
    let home = tempfile::tempdir().unwrap();
    let bad = tokio::process::Command::new(bin)
        .args([
            "emulator",
            "--listen",
            "127.0.0.1:0",
            "--faults",
            "ingest-transient=0.5,bogus=1",
        ])
        .env("HOME", home.path())
        .env_remove("KINGEST_EMULATOR_FAULTS")
        .output()
        .await
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(stderr.contains("bogus=1"), "{stderr}");

    let mut child = tokio::process::Command::new(bin)
        .args([
            "emulator",
            "--listen",
            "127.0.0.1:0",
            "--batch-window",
            "0.3",
        ])
        .args(["--ingest-attempts", "2", "--retry-backoff", "0.05"])
        .args(["--status-table-rotation", "86400"])
        .args(["--notification-permissions", "rpu"])
        .env("HOME", home.path())
        .env("KINGEST_EMULATOR_FAULTS", "ingest-transient-times=1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stdout));
    let url = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("the URL line in time")
        .unwrap()
        .expect("a URL line");
    let client = common::client_for(&url, kingest::client::AuthMethod::None);
    let faults = client
        .mgmt("demo", ".show emulator faults")
        .await
        .unwrap()
        .remove(0);
    assert_eq!(faults.rows[0][0], "ingest-transient-times=1");
    // The notification queues are handed out with update rights, as asked.
    let res = client.refresh_resources().await.unwrap();
    let failures = res
        .of_kind(kingest::client::ResourceKind::FailedIngestionsQueue)
        .next()
        .unwrap();
    assert_eq!(failures.query_param("sp").as_deref(), Some("rpu"));
    child.kill().await.unwrap();
}
