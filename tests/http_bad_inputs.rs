//! The client against servers that misbehave (tests/common/fake.rs on 127.0.0.1:0): stalls,
//! resets, truncated bodies, HTML pages, 401/403/404/409/429/500/503. Each error is of the
//! right kind, names what it must (the URL without its SAS, the limit) and dumps nothing raw;
//! a stall costs the configured deadline, not more.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::fake::{self, Answer};
use kingest::client::deadline::Timeouts;
use kingest::client::error::{Problem, ProblemKind};
use kingest::client::retry::RetryPolicy;
use kingest::client::wire::NotificationKind;
use kingest::client::{AuthMethod, ClientConfig, Error, IngestClient};

const LIMIT: Duration = Duration::from_secs(1);

fn client(url: &str, attempts: u32) -> IngestClient {
    IngestClient::new(ClientConfig {
        ingest_url: url.to_string(),
        auth: AuthMethod::None,
        timeouts: Timeouts {
            connect: LIMIT,
            storage: LIMIT,
            mgmt: LIMIT,
            ingest_command: LIMIT * 2,
        },
        retry: RetryPolicy {
            max_attempts: attempts,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_secs(5),
        },
        discard_concurrency: kingest::client::notifications::DEFAULT_DISCARD_CONCURRENCY,
        auth_transport: None,
    })
    .unwrap()
}

fn storage_requests(server: &fake::FakeServer, object: &str) -> usize {
    server
        .seen()
        .iter()
        .filter(|r| r.target.starts_with(&format!("/acct/{object}")))
        .count()
}

fn mgmt_requests(server: &fake::FakeServer, prefix: &str) -> usize {
    server
        .seen()
        .iter()
        .filter(|r| r.csl().is_some_and(|c| c.starts_with(prefix)))
        .count()
}

#[tokio::test]
async fn a_stalled_mgmt_endpoint_gets_one_more_try_and_names_url_and_limit() {
    let server = fake::start(|_| Answer::Stall).await;
    let started = Instant::now();
    let err = client(&server.url, 4)
        .refresh_resources()
        .await
        .unwrap_err();
    let took = started.elapsed();
    let text = err.to_string();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert!(
        text.contains(&format!("{}/v1/rest/mgmt", server.url)),
        "{text}"
    );
    assert!(
        text.contains("within 1 s") && text.contains("mgmt_secs"),
        "{text}"
    );
    // One more try after a stall, not all four, and both commands were asked at once (one
    // after the other, the first timeouts would have ended the call before the second was sent).
    assert!(took < LIMIT * 4, "took {took:?}");
    assert_eq!(mgmt_requests(&server, ".get ingestion resources"), 2);
    assert_eq!(mgmt_requests(&server, ".get kusto identity token"), 2);
}

#[tokio::test]
async fn a_body_that_stalls_after_the_headers_times_out_naming_the_queue_without_its_sas() {
    let server = fake::dm(|_, _| Answer::HeadersThenStall).await;
    let started = Instant::now();
    let err = client(&server.url, 4)
        .peek(NotificationKind::Failure, 5)
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        started.elapsed() < LIMIT * 4,
        "took {:?}",
        started.elapsed()
    );
    assert!(text.contains("/acct/failedingestions"), "{text}");
    assert!(
        text.contains("storage_secs") && text.contains("within 1 s"),
        "{text}"
    );
    assert!(!text.contains("SIG1"), "the SAS signature leaked: {text}");
    assert_eq!(
        storage_requests(&server, "failedingestions"),
        2,
        "one more try, not more"
    );
}

#[tokio::test]
async fn an_expired_sas_refreshes_the_resources_and_tries_once_more() {
    // Resources signed SIG1 then SIG2…; storage refuses SIG1 as Azure refuses an expired SAS.
    let fetches = Arc::new(AtomicUsize::new(0));
    let f = fetches.clone();
    let base = Arc::new(std::sync::Mutex::new(String::new()));
    let b = base.clone();
    let server = fake::start(move |req| {
        let base = b.lock().unwrap().clone();
        if req.csl().is_some_and(|c| c.starts_with(".get ingestion resources")) {
            let n = f.fetch_add(1, Ordering::SeqCst) + 1;
            return Answer::json(200, &fake::resources(&base, &format!("SIG{n}")));
        }
        if let Some(a) = fake::dm_mgmt(req, &base, "-") {
            return a;
        }
        if req.target.contains("sig=SIG1") {
            Answer::status(
                403,
                "application/xml",
                "<?xml version=\"1.0\"?><Error><Code>AuthenticationFailed</Code><Message>Signature not valid in the specified time frame</Message></Error>",
            )
        } else {
            fake::empty_queue()
        }
    })
    .await;
    *base.lock().unwrap() = server.url.clone();
    let c = client(&server.url, 2);
    let got = c.peek(NotificationKind::Failure, 5).await.unwrap();
    assert!(got.is_empty());
    assert_eq!(fetches.load(Ordering::SeqCst), 2, "refreshed once");
    assert_eq!(storage_requests(&server, "failedingestions"), 2);
}

#[tokio::test]
async fn a_submit_whose_post_is_refused_then_refreshed_leaves_one_journal_record() {
    // The post's SAS (SIG1) is refused, as Azure refuses an expired SAS; after the refresh
    // (SIG2) the submit succeeds. The retry supersedes the first attempt's journal record
    // rather than leaving a phantom "abandoned" one beside it.
    let fetches = Arc::new(AtomicUsize::new(0));
    let f = fetches.clone();
    let base = Arc::new(std::sync::Mutex::new(String::new()));
    let b = base.clone();
    let server = fake::start(move |req| {
        let base = b.lock().unwrap().clone();
        if req.csl().is_some_and(|c| c.starts_with(".get ingestion resources")) {
            let n = f.fetch_add(1, Ordering::SeqCst) + 1;
            return Answer::json(200, &fake::resources(&base, &format!("SIG{n}")));
        }
        if let Some(a) = fake::dm_mgmt(req, &base, "-") {
            return a;
        }
        let posting = req.method == "POST" && req.target.contains("/messages");
        if posting && req.target.contains("sig=SIG1") {
            Answer::status(
                403,
                "application/xml",
                "<Error><Code>AuthenticationFailed</Code><Message>Signature expired</Message></Error>",
            )
        } else if posting {
            Answer::status(
                201,
                "application/xml",
                "<?xml version=\"1.0\" encoding=\"utf-8\"?><QueueMessagesList><QueueMessage>\
                 <MessageId>m1</MessageId><InsertionTime>Wed, 01 Jan 2025 00:00:00 GMT</InsertionTime>\
                 <ExpirationTime>Wed, 08 Jan 2025 00:00:00 GMT</ExpirationTime><PopReceipt>p</PopReceipt>\
                 <TimeNextVisible>Wed, 01 Jan 2025 00:00:00 GMT</TimeNextVisible></QueueMessage>\
                 </QueueMessagesList>",
            )
        } else {
            Answer::status(201, "application/xml", "")
        }
    })
    .await;
    *base.lock().unwrap() = server.url.clone();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rows.csv");
    std::fs::write(&file, "a,1\nb,2\n").unwrap();
    let journal = kingest::client::journal::Journal::for_cluster(dir.path(), &server.url);
    let mut req = kingest::client::SubmitRequest::new(&file, "db", "T");
    req.journal = Some(journal.clone());
    let submitted = client(&server.url, 2)
        .submit(req, Arc::new(|_| {}))
        .await
        .unwrap();
    assert_eq!(fetches.load(Ordering::SeqCst), 2, "refreshed once");
    let loaded = journal
        .load(chrono::Utc::now(), chrono::TimeDelta::days(1))
        .unwrap();
    let ids: Vec<&str> = loaded
        .records
        .iter()
        .map(|r| r.source_id.as_str())
        .collect();
    assert_eq!(
        ids,
        [submitted.source_id.to_string()],
        "one record, the submit's"
    );
    let rec = &loaded.records[0];
    assert!(
        rec.unfinished.is_some() && !rec.tracker.is_final(),
        "the record is the retry's, not an abandoned one: {}",
        rec.tracker.describe()
    );
}

#[tokio::test]
async fn a_sas_refused_again_after_the_refresh_fails_clearly_without_looping() {
    let server = fake::dm(|_, _| {
        Answer::status(
            403,
            "application/xml",
            "<Error><Code>AuthorizationFailure</Code><Message>This request is not authorized.</Message></Error>",
        )
    })
    .await;
    let err = client(&server.url, 2)
        .peek(NotificationKind::Failure, 5)
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::Auth(_)), "{err:?}");
    assert!(
        text.contains("again after fresh ingestion resources"),
        "{text}"
    );
    assert!(text.contains("AuthorizationFailure"), "{text}");
    assert_eq!(
        storage_requests(&server, "failedingestions"),
        2,
        "once more, not more"
    );
    assert_eq!(mgmt_requests(&server, ".get ingestion resources"), 2);
}

#[tokio::test]
async fn a_missing_queue_is_a_missing_resource() {
    let server = fake::dm(|_, _| {
        Answer::status(404, "application/xml", "<Error><Code>QueueNotFound</Code><Message>The specified queue does not exist.</Message></Error>")
            .with_header("x-ms-error-code", "QueueNotFound")
    })
    .await;
    let err = client(&server.url, 3)
        .peek(NotificationKind::Success, 5)
        .await
        .unwrap_err();
    let p = Problem::from(&err);
    assert_eq!(p.kind, ProblemKind::MissingResource, "{err:?}");
    assert!(p.message.contains("QueueNotFound"), "{p}");
    assert_eq!(
        storage_requests(&server, "successfulingestions"),
        1,
        "not retried"
    );
}

#[tokio::test]
async fn a_conflict_is_permanent_and_not_retried() {
    let server = fake::dm(|_, _| {
        Answer::status(409, "application/xml", "<Error><Code>QueueBeingDeleted</Code><Message>The specified queue is being deleted.</Message></Error>")
    })
    .await;
    let err = client(&server.url, 3)
        .peek(NotificationKind::Failure, 5)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Storage { status: 409, ref code, .. } if code == "QueueBeingDeleted"),
        "{err:?}"
    );
    assert_eq!(storage_requests(&server, "failedingestions"), 1);
}

#[tokio::test]
async fn retry_after_of_a_throttled_peek_and_mgmt_call_is_honoured() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c2 = calls.clone();
    let server = fake::dm(move |_, _| {
        if c2.fetch_add(1, Ordering::SeqCst) == 0 {
            Answer::status(429, "application/xml", "").with_header("Retry-After", "1")
        } else {
            fake::empty_queue()
        }
    })
    .await;
    let c = client(&server.url, 3);
    c.resources().await.unwrap();
    let started = Instant::now();
    c.peek(NotificationKind::Failure, 5).await.unwrap();
    // The back-off alone is 1 ms: only the header makes it wait a second.
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);

    let mgmt_calls = Arc::new(AtomicUsize::new(0));
    let m = mgmt_calls.clone();
    let server = fake::start(move |_| {
        if m.fetch_add(1, Ordering::SeqCst) == 0 {
            Answer::json(
                429,
                &serde_json::json!({"error": {"code": "TooManyRequests", "message": "slow down"}}),
            )
            .with_header("Retry-After", "1")
        } else {
            Answer::json(200, &fake::v1(&["Value"], vec![vec!["ok".into()]]))
        }
    })
    .await;
    let started = Instant::now();
    let t = client(&server.url, 3)
        .mgmt("db", ".show version")
        .await
        .unwrap();
    assert_eq!(t[0].rows[0][0], "ok");
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn server_errors_and_busy_answers_are_retried_then_reported() {
    for (status, code) in [(500, "InternalError"), (503, "ServerBusy")] {
        let calls = Arc::new(AtomicUsize::new(0));
        let c2 = calls.clone();
        let server = fake::dm(move |_, _| {
            c2.fetch_add(1, Ordering::SeqCst);
            Answer::status(
                status,
                "application/xml",
                format!("<Error><Code>{code}</Code><Message>m</Message></Error>"),
            )
            .with_header("x-ms-error-code", code)
            .with_header("Retry-After", "0")
        })
        .await;
        let err = client(&server.url, 3)
            .peek(NotificationKind::Failure, 5)
            .await
            .unwrap_err();
        assert!(err.is_transient(), "{status}: {err:?}");
        assert_eq!(
            calls.load(Ordering::SeqCst),
            3,
            "{status}: every attempt used"
        );
    }
    // A 500 from mgmt too, and a later success wins.
    let calls = Arc::new(AtomicUsize::new(0));
    let c2 = calls.clone();
    let server = fake::start(move |_| {
        if c2.fetch_add(1, Ordering::SeqCst) == 0 {
            Answer::json(
                500,
                &serde_json::json!({"error": {"code": "Internal", "message": "boom"}}),
            )
        } else {
            Answer::json(200, &fake::v1(&["Value"], vec![]))
        }
    })
    .await;
    client(&server.url, 3)
        .mgmt("db", ".show version")
        .await
        .unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_command_that_ingests_is_not_sent_again_after_a_server_error() {
    // A 503 may come after the rows were added: sending `.set-or-append` again could add them
    // twice, so it is tried once and the error reported; a read-only command is retried.
    let server = fake::start(|_| {
        Answer::json(
            503,
            &serde_json::json!({"error": {"code": "ServiceUnavailable", "message": "busy"}}),
        )
        .with_header("Retry-After", "0")
    })
    .await;
    let c = client(&server.url, 3);
    let err = c
        .engine_mgmt("db", ".set-or-append T <| print x = 1")
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    assert_eq!(
        mgmt_requests(&server, ".set-or-append"),
        1,
        "tried once: {err}"
    );
    c.mgmt("db", ".show version").await.unwrap_err();
    assert_eq!(
        mgmt_requests(&server, ".show version"),
        3,
        "a query is retried"
    );
}

#[tokio::test]
async fn resets_and_truncated_bodies_are_transient_and_say_so() {
    for answer in [
        Answer::Reset,
        Answer::Truncated {
            body: b"{\"Tables\":[".to_vec(),
            claimed: 5000,
        },
    ] {
        let server = fake::start(move |_| answer.clone()).await;
        let err = client(&server.url, 2)
            .mgmt("db", ".show version")
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Transient(_)), "{err:?}");
        assert_eq!(server.seen().len(), 2, "retried once: {err}");
    }
}

#[tokio::test]
async fn an_html_page_is_named_not_shown() {
    let page = "<!DOCTYPE html><html><head><title>Sign in</title></head><body><script>alert(1)</script></body></html>";
    let server = fake::start(move |_| Answer::status(200, "text/html; charset=utf-8", page)).await;
    let err = client(&server.url, 2).resources().await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::BadResponse(_)), "{err:?}");
    assert!(
        text.contains(&format!("{}/v1/rest/mgmt", server.url)),
        "{text}"
    );
    assert!(text.contains("HTML page"), "{text}");
    assert!(!text.contains('<'), "raw HTML in the message: {text}");
    // The same page as an error status (a proxy's 502).
    let server = fake::start(move |_| Answer::status(502, "text/html", page)).await;
    let err = client(&server.url, 1).resources().await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("HTML page") && !text.contains('<'), "{text}");
    // A 200 HTML page in place of a queue answer is not an empty queue.
    let server = fake::dm(move |_, _| Answer::status(200, "text/html", page)).await;
    let err = client(&server.url, 1)
        .peek(NotificationKind::Failure, 1)
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::BadResponse(_)), "{err:?}");
    assert!(
        text.contains("/acct/failedingestions") && text.contains("HTML page"),
        "{text}"
    );
    assert!(!text.contains('<') && !text.contains("SIG1"), "{text}");
    // And as a storage error status.
    let server = fake::dm(move |_, _| Answer::status(502, "text/html", page)).await;
    let err = client(&server.url, 1)
        .peek(NotificationKind::Failure, 1)
        .await
        .unwrap_err();
    assert!(!err.to_string().contains('<'), "{err}");
}

#[tokio::test]
async fn unauthorized_mgmt_is_an_auth_error_with_what_to_do() {
    let server = fake::start(|_| {
        Answer::json(
            401,
            &serde_json::json!({"error": {"code": "Unauthorized", "message": "token expired"}}),
        )
    })
    .await;
    let err = client(&server.url, 3).resources().await.unwrap_err();
    let p = Problem::from(&err);
    assert_eq!(p.kind, ProblemKind::Auth, "{err:?}");
    assert!(p.hint().contains("az login"), "{}", p.hint());
    assert_eq!(
        mgmt_requests(&server, ".get ingestion resources"),
        1,
        "not retried"
    );
}

/// The TUI asks for resources and peeks both queues at once on start-up; the DM throttles
/// these commands, so every concurrent caller shares one fetch.
#[tokio::test]
async fn concurrent_callers_send_each_resources_command_once() {
    let server = fake::dm(|_, _| fake::empty_queue()).await;
    let c = client(&server.url, 1);
    let resources = futures::future::join_all((0..8).map(|_| c.resources())).await;
    let (failures, successes) = futures::future::join(
        c.peek(NotificationKind::Failure, 32),
        c.peek(NotificationKind::Success, 32),
    )
    .await;
    assert!(resources.iter().all(Result::is_ok));
    assert!(failures.is_ok() && successes.is_ok());
    assert_eq!(mgmt_requests(&server, ".get ingestion resources"), 1);
    assert_eq!(mgmt_requests(&server, ".get kusto identity token"), 1);
    let first = resources[0].as_ref().unwrap();
    assert!(
        resources
            .iter()
            .all(|r| Arc::ptr_eq(r.as_ref().unwrap(), first))
    );
}

/// A refused fetch reaches every caller that waited for it, and is not cached: the next call
/// asks again.
#[tokio::test]
async fn a_failed_resources_fetch_is_shared_then_retried() {
    let refused = Arc::new(AtomicUsize::new(0));
    let r = refused.clone();
    let base = Arc::new(std::sync::Mutex::new(String::new()));
    let b = base.clone();
    let server = fake::start(move |req| {
        let csl = req.csl().unwrap_or_default();
        if csl.starts_with(".get ingestion resources") && r.fetch_add(1, Ordering::SeqCst) == 0 {
            return Answer::json(
                403,
                &serde_json::json!({"error": {"code": "Forbidden", "message": "not yet", "@permanent": true}}),
            );
        }
        fake::dm_mgmt(req, &b.lock().unwrap(), "SIG1").unwrap_or_else(fake::empty_queue)
    })
    .await;
    *base.lock().unwrap() = server.url.clone();
    let c = client(&server.url, 3);
    let results = futures::future::join_all((0..5).map(|_| c.resources())).await;
    assert_eq!(mgmt_requests(&server, ".get ingestion resources"), 1);
    for r in &results {
        assert!(matches!(r, Err(Error::Auth(_))), "{:?}", r.as_ref().err());
    }
    c.resources().await.unwrap();
    assert_eq!(mgmt_requests(&server, ".get ingestion resources"), 2);
    c.resources().await.unwrap();
    assert_eq!(
        mgmt_requests(&server, ".get ingestion resources"),
        2,
        "cached"
    );
}
