//! A discard's storage requests in flight never exceed its configured concurrency, and it does
//! use that many: a fake DM (tests/common/fake.rs) whose failure queue answers every storage
//! request after a short latency, so that a client's requests overlap, counts the most it was
//! answering at once. Through the library (`discard_concurrency` in the client config) and
//! through the binary (`--discard-concurrency`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::fake::{self, Answer, Request};
use kingest::client::notifications::DiscardSelector;
use kingest::client::retry::RetryPolicy;
use kingest::client::wire::{Notification, NotificationKind};
use kingest::client::{ClientConfig, IngestClient};

/// What every queue answer waits: long enough for the pipelines' requests to overlap.
const LATENCY: Duration = Duration::from_millis(20);
const MESSAGES: usize = 120;

/// The failure queue: (message id, pop receipt of its receive, if received).
type Queue = Arc<Mutex<Vec<(String, Option<String>)>>>;

fn message_xml(id: &str, receipt: Option<&str>) -> String {
    let text = Notification {
        ingestion_source_id: Some(format!("src-{id}")),
        error_code: Some("BadRequest_EmptyBlob".into()),
        ..Default::default()
    }
    .to_queue_text();
    let receipt = receipt.map_or(String::new(), |r| {
        format!("<PopReceipt>{r}</PopReceipt><TimeNextVisible>Mon, 01 Jan 2035 00:00:00 GMT</TimeNextVisible>")
    });
    format!(
        "<QueueMessage><MessageId>{id}</MessageId><InsertionTime>Mon, 01 Jan 2024 00:00:00 GMT</InsertionTime>\
         <ExpirationTime>Mon, 08 Jan 2035 00:00:00 GMT</ExpirationTime>{receipt}<DequeueCount>1</DequeueCount>\
         <MessageText>{text}</MessageText></QueueMessage>"
    )
}

/// Azure's Get/Peek/Delete Message and Get Queue Metadata over `queue`, each answered after
/// [`LATENCY`]; receives hide for good (the pass is shorter than any timeout).
fn queue_service(queue: &Queue, req: &Request) -> Answer {
    let url = url::Url::parse(&format!("http://x{}", req.target)).unwrap();
    let q = |k: &str| {
        url.query_pairs()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.to_string())
    };
    let path: Vec<&str> = url.path().trim_start_matches('/').split('/').collect();
    let mut msgs = queue.lock().unwrap();
    let answer = match (req.method.as_str(), &path[..]) {
        ("GET", [_, "failedingestions"]) if q("comp").as_deref() == Some("metadata") => {
            Answer::status(200, "application/xml", "")
                .with_header("x-ms-approximate-messages-count", &msgs.len().to_string())
        }
        ("GET", [_, "failedingestions", "messages"]) => {
            let n: usize = q("numofmessages").unwrap().parse().unwrap();
            let peek = q("peekonly").is_some();
            let mut xml = String::from("<QueueMessagesList>");
            for (id, receipt) in msgs.iter_mut().filter(|(_, r)| r.is_none()).take(n) {
                if !peek {
                    *receipt = Some(format!("r-{id}"));
                }
                xml.push_str(&message_xml(id, receipt.as_deref()));
            }
            xml.push_str("</QueueMessagesList>");
            Answer::status(200, "application/xml", xml)
        }
        ("DELETE", [_, "failedingestions", "messages", id]) => {
            let receipt = q("popreceipt");
            match msgs.iter().position(|(m, r)| m == id && *r == receipt) {
                Some(i) => {
                    msgs.remove(i);
                    Answer::status(204, "application/xml", "")
                }
                None => Answer::status(
                    404,
                    "application/xml",
                    "<Error><Code>MessageNotFound</Code></Error>",
                ),
            }
        }
        _ => fake::empty_queue(),
    };
    Answer::Later {
        after: LATENCY,
        answer: Box::new(answer),
    }
}

async fn fake_dm() -> (fake::FakeServer, Queue) {
    let queue: Queue = Arc::new(Mutex::new(
        (0..MESSAGES).map(|i| (format!("m{i:04}"), None)).collect(),
    ));
    let q = queue.clone();
    let server = fake::dm(move |req, _| queue_service(&q, req)).await;
    (server, queue)
}

fn archived_ids(path: &std::path::Path) -> HashSet<String> {
    let contents = kingest::client::archive::read(path).unwrap();
    assert_eq!(contents.duplicates, 0);
    contents.entries.into_iter().map(|e| e.message_id).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_library_keeps_to_its_configured_concurrency() {
    let (server, queue) = fake_dm().await;
    let client = IngestClient::new(ClientConfig {
        retry: RetryPolicy::none(),
        discard_concurrency: 3,
        ..ClientConfig::unauthenticated(&server.url)
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("a.jsonl");
    let report = client
        .discard(NotificationKind::Failure, DiscardSelector::All, &archive)
        .await
        .unwrap();
    assert_eq!((report.archived, report.deleted), (MESSAGES, MESSAGES));
    assert!(report.complete, "{report:?}");
    assert!(queue.lock().unwrap().is_empty());
    assert_eq!(archived_ids(&archive).len(), MESSAGES);
    // Bounded, and used: one receive and 32 deletes a pipeline would be ≥ 33 unbounded.
    assert_eq!(server.peak_in_flight(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_flag_sets_the_binary_s_concurrency() {
    let (server, queue) = fake_dm().await;
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("a.jsonl");
    let archive_arg = archive.display().to_string();
    let out = common::kingest_at(
        &server.url,
        &dir.path().join("home"),
        &[
            "--discard-concurrency",
            "2",
            "failures",
            "discard",
            "--all",
            "--yes",
            "--archive",
            &archive_arg,
        ],
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(queue.lock().unwrap().is_empty());
    assert_eq!(archived_ids(&archive).len(), MESSAGES);
    assert_eq!(server.peak_in_flight(), 2);
}
