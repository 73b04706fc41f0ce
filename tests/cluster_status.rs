//! The cluster-wide view of the status tables over the emulator: entities of several clients
//! across more than one page, the page cap, filters, and the plain refusal without `r`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use chrono::Utc;
use common::{Env, kingest, stdout};
use futures::StreamExt as _;
use kingest::client::ResourceKind;
use kingest::client::cluster_status::{self, ScanOptions};
use kingest::client::storage::SasUrl;
use kingest::client::wire::StatusEntity;
use kingest::emulator::EmulatorConfig;
use serde_json::Value;

const STATES: [&str; 5] = [
    "Pending",
    "Succeeded",
    "Failed",
    "PartiallySucceeded",
    "Skipped",
];

async fn status_table(env: &Env) -> SasUrl {
    let res = env.client.resources().await.unwrap();
    res.of_kind(ResourceKind::IngestionsStatusTable)
        .next()
        .cloned()
        .expect("a status table")
}

/// `n` entities as three different clients write them (their own source ids), states cycling.
async fn fill(env: &Env, table: &SasUrl, n: usize) {
    let storage = env.client.storage();
    futures::stream::iter(0..n)
        .map(|i| async move {
            let id = format!("{:08x}-client{}-0000-0000-{i:012}", i * 7919, i % 3);
            let mut m =
                StatusEntity::pending_properties(&id, "blob://x", "Demo", "Events", Utc::now());
            m.insert("Status".into(), STATES[i % STATES.len()].into());
            if i % STATES.len() == 2 {
                m.insert("ErrorCode".into(), "BadRequest_InvalidCsvFormat".into());
                m.insert("FailureStatus".into(), "Permanent".into());
            }
            storage.insert_entity(table, &m).await.unwrap();
        })
        .buffer_unordered(32)
        .collect::<Vec<()>>()
        .await;
}

#[tokio::test]
async fn scans_every_clients_entities_page_by_page_within_the_cap() {
    let env = Env::start().await;
    let table = status_table(&env).await;
    fill(&env, &table, 2500).await;
    let tables = [table.clone()];

    let mut seen = Vec::new();
    let all = cluster_status::scan(
        env.client.storage(),
        &tables,
        &ScanOptions::default(),
        |p| seen.push((p.pages, p.entities, p.more)),
    )
    .await
    .unwrap();
    assert_eq!(
        seen,
        [(1, 1000, true), (2, 2000, true), (3, 2500, false)],
        "pages of at most 1000, continued by token"
    );
    assert!(!all.truncated);
    assert_eq!(all.entities.len(), 2500);
    for s in STATES {
        assert_eq!(all.counts[s], 500, "{s}");
    }
    let clients: std::collections::BTreeSet<String> = all
        .entities
        .iter()
        .filter_map(|e| e.entity.ingestion_source_id.clone())
        .map(|id| id.split('-').nth(1).unwrap_or_default().to_string())
        .collect();
    assert_eq!(clients.len(), 3, "every client's sources: {clients:?}");

    let capped = cluster_status::scan(
        env.client.storage(),
        &tables,
        &ScanOptions {
            max_pages: 2,
            ..Default::default()
        },
        |_| {},
    )
    .await
    .unwrap();
    assert!(capped.truncated, "the cap left a continuation token");
    assert_eq!((capped.pages, capped.entities.len()), (2, 2000));
    assert!(capped.summary_line(2).contains("page cap (2)"));

    let failed = cluster_status::scan(
        env.client.storage(),
        &tables,
        &ScanOptions {
            state: Some("Failed".into()),
            since: Some(Utc::now() - chrono::Duration::hours(1)),
            ..Default::default()
        },
        |_| {},
    )
    .await
    .unwrap();
    assert_eq!(failed.counts_line(), "Failed 500");
    assert!(
        failed
            .entities
            .iter()
            .all(|e| e.entity.error_code.as_deref() == Some("BadRequest_InvalidCsvFormat"))
    );

    let future = cluster_status::scan(
        env.client.storage(),
        &tables,
        &ScanOptions {
            since: Some(Utc::now() + chrono::Duration::hours(1)),
            ..Default::default()
        },
        |_| {},
    )
    .await
    .unwrap();
    assert_eq!((future.entities.len(), future.pages), (0, 1));

    // The CLI: progress on stderr, data on stdout, the cap reported.
    let out = kingest(&env, &["status", "--all", "--max-pages", "2"]).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("page 1 of at most 2, 1000 entities, more remain"),
        "{err}"
    );
    assert!(err.contains("stopped at the page cap (2)"), "{err}");
    let text = stdout(&out);
    let counted: usize = text
        .lines()
        .next()
        .unwrap()
        .split(", ")
        .map(|c| c.rsplit(' ').next().unwrap().parse::<usize>().unwrap())
        .sum();
    assert_eq!(counted, 2000, "{text:.300}");
    assert_eq!(text.lines().count(), 2001, "counts line + 2000 entities");

    let out = kingest(&env, &["status", "--all", "--state", "Failed", "--json"]).await;
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["counts"]["Failed"], 500);
    assert_eq!(v["truncated"], false);
    assert_eq!(v["entities"].as_array().unwrap().len(), 500);

    let out = kingest(&env, &["status", "--all", "--since", "1h", "--csv", "-q"]).await;
    let csv = stdout(&out);
    assert_eq!(
        csv.lines().next(),
        Some("time,state,source_id,database,table,error_code,failure_status,status_table")
    );
    assert_eq!(csv.lines().count(), 2501);
    assert!(out.stderr.is_empty(), "--quiet: no progress lines");
    assert!(!csv.contains("sig="), "no SAS in the data: {}", &csv[..200]);
}

#[tokio::test]
async fn a_status_table_sas_without_query_permission_is_refused_plainly() {
    let env = Env::start_with(EmulatorConfig {
        status_table_permissions: "aud".into(),
        ..Default::default()
    })
    .await;
    let table = status_table(&env).await;
    let err = cluster_status::scan(
        env.client.storage(),
        &[table],
        &ScanOptions::default(),
        |_| {},
    )
    .await
    .unwrap_err();
    let want = "the status table's SAS does not allow queries (sp=aud): only entities of this \
                client's own sources can be read by key";
    assert_eq!(err.to_string(), want);

    let out = kingest(&env, &["status", "--all"]).await;
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(want), "{stderr}");
    assert!(
        !stderr.contains("hint: the service does not offer it"),
        "{stderr}"
    );
}

#[tokio::test]
async fn the_service_refusing_a_query_gets_the_same_plain_answer() {
    // A SAS that claims `r` but was signed without it: the service answers 403.
    let env = Env::start_with(EmulatorConfig {
        status_table_permissions: "aud".into(),
        ..Default::default()
    })
    .await;
    let table = status_table(&env).await;
    let forged = SasUrl::parse(&table.expose().replace("sp=aud", "sp=raud")).unwrap();
    let err = cluster_status::scan(
        env.client.storage(),
        &[forged],
        &ScanOptions::default(),
        |_| {},
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("the status table's SAS does not allow queries (sp=raud)"),
        "{err}"
    );
}
