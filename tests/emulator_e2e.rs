//! The client against the emulator over real HTTP: submit → status → notifications → discard,
//! every failure kind, SAS and bearer enforcement.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::{Env, client_for};
use kingest::client::notifications::DiscardSelector;
use kingest::client::storage::SasUrl;
use kingest::client::wire::{IngestionStatus, NotificationKind, ReportLevel, ReportMethod};
use kingest::client::{AuthMethod, Error, ReceivedNotification, ResourceKind, SubmitRequest};
use kingest::demo::SCENARIOS;
use kingest::emulator::EmulatorConfig;

/// The URL with one query parameter's (encoded) value rewritten.
fn replace_param(url: &str, name: &str, f: impl Fn(&str) -> String) -> String {
    let key = format!("{name}=");
    let at = url
        .find(&format!("?{key}"))
        .or_else(|| url.find(&format!("&{key}")));
    let start = at.expect("parameter present") + 1 + key.len();
    let end = url[start..].find('&').map_or(url.len(), |i| start + i);
    format!("{}{}{}", &url[..start], f(&url[start..end]), &url[end..])
}

fn request(env: &Env, file: &str, table: &str) -> SubmitRequest {
    let mut r = SubmitRequest::new(env.file(file), "demo", table);
    r.report_level = ReportLevel::FailuresAndSuccesses;
    r.report_method = ReportMethod::QueueAndTable;
    r.flush_immediately = true;
    r
}

async fn notifications_for(
    env: &Env,
    kind: NotificationKind,
    source: &str,
) -> Vec<ReceivedNotification> {
    for _ in 0..100 {
        let found: Vec<_> = env
            .client
            .peek(kind, 32)
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.source_id() == Some(source))
            .collect();
        if !found.is_empty() {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Vec::new()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn good_file_succeeds_and_rows_are_counted() {
    let env = Env::start().await;
    let before = env.row_count("Events").await;
    let s = env.submit(request(&env, "events.csv", "Events")).await;
    let blob = &s.queued().unwrap().blob;
    let sig = blob.query_param("sig").unwrap();
    assert!(
        !format!("{blob} {blob:?}").contains(&sig),
        "SAS redacted in Display/Debug"
    );
    assert!(blob.without_query().ends_with("__events.csv.gz"));
    let status = env.final_status(&s).await;
    assert_eq!(
        status.status,
        Some(IngestionStatus::Succeeded),
        "{status:?}"
    );
    let lines = std::fs::read_to_string(env.file("events.csv"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count() as u64;
    assert_eq!(env.row_count("Events").await, before + lines);
    let ok = notifications_for(&env, NotificationKind::Success, &s.source_id.to_string()).await;
    assert_eq!(ok.len(), 1, "one success notification");
    let n = ok[0].decoded.notification.as_ref().unwrap();
    assert_eq!(
        (n.database.as_deref(), n.table.as_deref()),
        (Some("demo"), Some("Events"))
    );
    assert!(n.succeeded_on.is_some());
    env.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_failure_kind_reports_its_code_in_queue_and_table() {
    let env = Env::start().await;
    let failing: Vec<_> = SCENARIOS
        .iter()
        .filter(|s| s.expect != "Succeeded")
        .collect();
    assert!(failing.len() >= 7);
    let mut submitted = Vec::new();
    for sc in &failing {
        let mut req = sc.request(env.dir.path());
        req.flush_immediately = true;
        submitted.push((sc, env.submit(req).await));
    }
    for (sc, s) in &submitted {
        let status = env.final_status(s).await;
        let want_status = if sc.expect == "BadRequest_EmptyBlob" {
            IngestionStatus::Skipped
        } else {
            IngestionStatus::Failed
        };
        assert_eq!(status.status, Some(want_status), "{}: {status:?}", sc.file);
        assert_eq!(
            status.error_code.as_deref(),
            Some(sc.expect),
            "{}: {status:?}",
            sc.file
        );
        assert_eq!(
            status.failure_status.as_deref(),
            Some("Permanent"),
            "{}",
            sc.file
        );
        let fails =
            notifications_for(&env, NotificationKind::Failure, &s.source_id.to_string()).await;
        assert_eq!(fails.len(), 1, "{}: one failure notification", sc.file);
        let n = fails[0].decoded.notification.as_ref().unwrap();
        assert_eq!(n.error_code.as_deref(), Some(sc.expect), "{}", sc.file);
        assert_eq!(n.failure_status.as_deref(), Some("Permanent"));
        assert!(n.details.as_deref().is_some_and(|d| !d.is_empty()));
        assert!(
            !n.ingestion_source_path
                .as_deref()
                .unwrap_or("")
                .contains("sig="),
            "no SAS in notifications"
        );
    }
    env.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_blob_and_bad_identity_token_and_corrupt_message() {
    let env = Env::start().await;
    let res = env.client.resources().await.unwrap();
    let queue = res
        .of_kind(ResourceKind::SecuredReadyForAggregationQueue)
        .next()
        .unwrap()
        .clone();
    let container = res
        .of_kind(ResourceKind::TempStorage)
        .next()
        .unwrap()
        .clone();

    // A message pointing at a blob that was never uploaded.
    let missing = container.child("demo__Events__x__never-uploaded.csv");
    let mut req = request(&env, "events.csv", "Events");
    req.report_method = ReportMethod::Queue;
    let id = uuid::Uuid::new_v4();
    let msg = kingest::client::submit::build_message(
        &req,
        kingest::client::wire::DataFormat::Csv,
        &id,
        &missing,
        10,
        res.identity_token.expose(),
        None,
    );
    env.client
        .storage()
        .put_message(&queue, &msg.to_queue_text(), None, None)
        .await
        .unwrap();
    let f = notifications_for(&env, NotificationKind::Failure, &id.to_string()).await;
    assert_eq!(
        f[0].decoded
            .notification
            .as_ref()
            .unwrap()
            .error_code
            .as_deref(),
        Some("Download_SourceNotFound")
    );

    // A forged identity token.
    let id2 = uuid::Uuid::new_v4();
    let msg = kingest::client::submit::build_message(
        &req,
        kingest::client::wire::DataFormat::Csv,
        &id2,
        &missing,
        10,
        "forged-token",
        None,
    );
    env.client
        .storage()
        .put_message(&queue, &msg.to_queue_text(), None, None)
        .await
        .unwrap();
    let f = notifications_for(&env, NotificationKind::Failure, &id2.to_string()).await;
    assert_eq!(
        f[0].decoded
            .notification
            .as_ref()
            .unwrap()
            .error_code
            .as_deref(),
        Some("BadRequest_InvalidKustoIdentityToken")
    );

    // Not base64 JSON at all.
    let before = env
        .client
        .peek(NotificationKind::Failure, 32)
        .await
        .unwrap()
        .len();
    env.client
        .storage()
        .put_message(&queue, "this is not an ingestion message", None, None)
        .await
        .unwrap();
    let mut corrupt = None;
    for _ in 0..100 {
        let all = env
            .client
            .peek(NotificationKind::Failure, 32)
            .await
            .unwrap();
        if all.len() > before {
            corrupt = all.into_iter().find(|m| {
                m.decoded
                    .notification
                    .as_ref()
                    .and_then(|n| n.error_code.as_deref())
                    == Some("BadRequest_CorruptedMessage")
            });
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        corrupt.is_some(),
        "a corrupted message is reported, not dropped silently"
    );
    env.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peek_removes_nothing_and_discard_archives_then_deletes() {
    let env = Env::start().await;
    let mut ids = HashSet::new();
    for file in ["bad-wrong-fields.csv", "bad-unclosed-quote.csv"] {
        let mut r = request(&env, file, "Events");
        r.report_method = ReportMethod::Queue;
        ids.insert(env.submit(r).await.source_id.to_string());
    }
    let mut seen = Vec::new();
    for _ in 0..100 {
        seen = env
            .client
            .peek(NotificationKind::Failure, 32)
            .await
            .unwrap();
        if seen.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(seen.len(), 2);
    // Peeking again sees the same messages, undequeued.
    let again = env
        .client
        .peek(NotificationKind::Failure, 32)
        .await
        .unwrap();
    assert_eq!(
        again.iter().map(|m| &m.message_id).collect::<Vec<_>>(),
        seen.iter().map(|m| &m.message_id).collect::<Vec<_>>()
    );
    assert!(
        again
            .iter()
            .all(|m| m.dequeue_count == 0 && m.pop_receipt.is_none())
    );

    let archive = env.dir.path().join("archive/failures.jsonl");
    // The newest of two: a discard must find its target behind other messages.
    let one: HashSet<String> = [seen[1].message_id.clone()].into();
    let report = env
        .client
        .discard(
            NotificationKind::Failure,
            DiscardSelector::MessageIds(one),
            &archive,
        )
        .await
        .unwrap();
    assert_eq!((report.archived, report.deleted), (1, 1), "{report:?}");
    let text = std::fs::read_to_string(&archive).unwrap();
    let line: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(line["MessageId"], seen[1].message_id.as_str());
    let decoded = &line["Decoded"];
    assert!(ids.contains(decoded["IngestionSourceId"].as_str().unwrap()));
    assert!(decoded["ErrorCode"].is_string() && decoded["FailedOn"].is_string());
    // What the service sent, kept exact (it may quote a SAS): private to the user, and the
    // queue's own SAS is not part of it.
    assert!(line["MessageText"].is_string());
    assert!(!line["Queue"].as_str().unwrap().contains('?'));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&archive).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "archives are private");
    }

    // The other one was only released: it comes back and can be discarded with --all.
    let rest = DiscardSelector::All;
    let mut total = 0;
    for _ in 0..50 {
        total += env
            .client
            .discard(NotificationKind::Failure, rest.clone(), &archive)
            .await
            .unwrap()
            .deleted;
        if total >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    assert_eq!(total, 1);
    assert_eq!(
        std::fs::read_to_string(&archive).unwrap().lines().count(),
        2
    );
    assert!(
        env.client
            .peek(NotificationKind::Failure, 32)
            .await
            .unwrap()
            .is_empty()
    );
    env.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_and_expired_sas_are_refused() {
    let env = Env::start().await;
    let res = env.client.resources().await.unwrap();
    let queue = res
        .of_kind(ResourceKind::FailedIngestionsQueue)
        .next()
        .unwrap()
        .clone();
    env.client
        .storage()
        .peek_messages(&queue, 1)
        .await
        .expect("the issued SAS works");

    let sig = queue.query_param("sig").unwrap();
    let tampered = replace_param(queue.expose(), "sig", |v| {
        format!("{}{}", if v.starts_with('A') { "B" } else { "A" }, &v[1..])
    });
    assert_ne!(tampered, queue.expose());
    let err = env
        .client
        .storage()
        .peek_messages(&SasUrl::parse(&tampered).unwrap(), 1)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(403), "{err}");
    assert!(
        !err.to_string().contains(&sig),
        "the signature never appears in errors"
    );

    // A correctly signed token that has expired: refused for its expiry, not its signature.
    use kingest::emulator::sas::{AccountKey, SasResource, ServiceSas};
    let key = AccountKey::from_base64(kingest::emulator::DEFAULT_KEY).unwrap();
    let long_ago = chrono::Utc::now() - chrono::TimeDelta::days(2);
    let token = ServiceSas {
        account: kingest::emulator::DEFAULT_ACCOUNT.into(),
        resource: SasResource::Queue {
            queue: queue.object_name(),
        },
        permissions: "rp".into(),
        start: Some(long_ago),
        expiry: long_ago + chrono::TimeDelta::hours(1),
    }
    .token(&key);
    let expired = format!("{}?{token}", queue.without_query());
    let fresh = ServiceSas {
        account: kingest::emulator::DEFAULT_ACCOUNT.into(),
        resource: SasResource::Queue {
            queue: queue.object_name(),
        },
        permissions: "rp".into(),
        start: Some(long_ago),
        expiry: chrono::Utc::now() + chrono::TimeDelta::hours(1),
    }
    .token(&key);
    let same_key_fresh = SasUrl::parse(&format!("{}?{fresh}", queue.without_query())).unwrap();
    env.client
        .storage()
        .peek_messages(&same_key_fresh, 1)
        .await
        .expect("the same key, unexpired, works");
    let err = env
        .client
        .storage()
        .peek_messages(&SasUrl::parse(&expired).unwrap(), 1)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(403));
    assert!(err.to_string().to_lowercase().contains("expire"), "{err}");

    // The ingestion queue SAS is add-only: reading it is refused.
    let ingest = res
        .of_kind(ResourceKind::SecuredReadyForAggregationQueue)
        .next()
        .unwrap()
        .clone();
    let err = env
        .client
        .storage()
        .peek_messages(&ingest, 1)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(403));
    env.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_token_demands_a_bearer() {
    let env = Env::start_with(EmulatorConfig {
        require_token: Some("s3cret".into()),
        ..Default::default()
    })
    .await;
    match env.client.resources().await {
        Err(Error::Auth(msg)) => assert!(msg.contains("401"), "{msg}"),
        other => panic!("expected 401, got {other:?}"),
    }
    let authed = client_for(
        env.emulator.url(),
        AuthMethod::Token(kingest::client::auth::Secret::new("s3cret")),
    );
    assert!(authed.resources().await.is_ok());
    let wrong = client_for(
        env.emulator.url(),
        AuthMethod::Token(kingest::client::auth::Secret::new("nope")),
    );
    assert!(matches!(wrong.resources().await, Err(Error::Auth(_))));
    env.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_file_goes_up_in_blocks_with_exact_raw_size() {
    let env = Env::start().await;
    // ~12 MB of poorly compressible CSV so that gzip output spans several 4 MiB blocks.
    let path = env.dir.path().join("big.csv");
    let mut text = String::new();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut rows = 0u64;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    while text.len() < 12_000_000 {
        let (a, b, c, d) = (next(), next(), next(), next());
        text.push_str(&format!(
            "2025-01-01T00:00:00Z,Info,svc{},{a:x}{b:x}{c:x}{d:x},{}\n",
            a % 7,
            b % 1000
        ));
        rows += 1;
    }
    std::fs::write(&path, &text).unwrap();
    let before = env.row_count("Events").await;
    let sent = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = sent.clone();
    let mut req = SubmitRequest::new(&path, "demo", "Events");
    req.report_method = ReportMethod::Table;
    req.flush_immediately = true;
    let s = env
        .client
        .submit(
            req,
            std::sync::Arc::new(move |p| sink.lock().unwrap().push(p)),
        )
        .await
        .unwrap();
    assert_eq!(s.raw_data_size, text.len() as u64);
    assert!(
        s.uploaded_bytes > 4 * 1024 * 1024,
        "several blocks: {}",
        s.uploaded_bytes
    );
    let progress = sent.lock().unwrap().clone();
    assert!(
        progress
            .windows(2)
            .all(|w| w[0].read <= w[1].read && w[0].sent <= w[1].sent)
    );
    assert_eq!(progress.last().unwrap().read, text.len() as u64);
    assert_eq!(
        env.final_status(&s).await.status,
        Some(IngestionStatus::Succeeded)
    );
    assert_eq!(env.row_count("Events").await, before + rows);
    env.emulator.shutdown().await;
}
