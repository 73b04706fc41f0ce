//! The emulator's storage endpoints over real sockets: raw reqwest calls checked against
//! Azure's shapes, and the official Rust storage crates as an independent client.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Duration, Utc};
use kingest::emulator::faults::Faults;
use kingest::emulator::http::storage::{StorageState, router};
use kingest::emulator::sas::{AccountKey, SasResource, ServiceSas};
use kingest::emulator::storage::Store;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::oneshot;

const ACCOUNT: &str = "devstoreaccount1";
const KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// A running emulator with a clock the test moves by hand.
struct Emu {
    base: String,
    store: Arc<Store>,
    key: AccountKey,
    faults: Arc<Faults>,
    offset_secs: Arc<AtomicI64>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    http: reqwest::Client,
}

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_750_000_000, 0).unwrap_or_default()
}

impl Emu {
    async fn start() -> Emu {
        let offset_secs = Arc::new(AtomicI64::new(0));
        let off = offset_secs.clone();
        let store = Arc::new(Store::with_clock(Arc::new(move || {
            t0() + Duration::seconds(off.load(Ordering::SeqCst))
        })));
        let key = AccountKey::from_base64(KEY).unwrap();
        let faults = Arc::new(Faults::new());
        let state = StorageState {
            store: store.clone(),
            account: ACCOUNT.to_string(),
            key: key.clone(),
            faults: faults.clone(),
            metrics: Default::default(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let app = router(state);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Emu {
            base: format!("http://{addr}/{ACCOUNT}"),
            store,
            key,
            faults,
            offset_secs,
            stop: Some(tx),
            task: Some(task),
            http: reqwest::Client::new(),
        }
    }

    fn advance(&self, secs: i64) {
        self.offset_secs.fetch_add(secs, Ordering::SeqCst);
    }

    fn sas(&self, resource: SasResource, perms: &str) -> String {
        ServiceSas {
            account: ACCOUNT.to_string(),
            resource,
            permissions: perms.to_string(),
            start: Some(t0() - Duration::minutes(5)),
            expiry: t0() + Duration::days(30),
        }
        .token(&self.key)
    }

    fn container_sas(&self, c: &str, perms: &str) -> String {
        self.sas(
            SasResource::Container {
                container: c.into(),
            },
            perms,
        )
    }

    fn queue_sas(&self, q: &str, perms: &str) -> String {
        self.sas(SasResource::Queue { queue: q.into() }, perms)
    }

    fn table_sas(&self, t: &str, perms: &str) -> String {
        self.sas(SasResource::Table { table: t.into() }, perms)
    }

    async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

fn header<'a>(r: &'a reqwest::Response, name: &str) -> &'a str {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// Asserts an XML error answer: status, `x-ms-error-code` and `<Code>`.
async fn assert_xml_error(r: reqwest::Response, status: u16, code: &str) {
    assert_eq!(r.status().as_u16(), status);
    assert_eq!(header(&r, "x-ms-error-code"), code);
    assert!(!header(&r, "x-ms-request-id").is_empty());
    let body = r.text().await.unwrap();
    assert!(body.starts_with("<?xml"), "{body}");
    assert!(
        body.contains(&format!("<Error><Code>{code}</Code><Message>")),
        "{body}"
    );
}

fn xml_field(doc: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = doc.find(&open)? + open.len();
    let end = doc[start..].find(&format!("</{name}>"))? + start;
    Some(doc[start..end].to_string())
}

#[tokio::test]
async fn blob_put_get_head_list_delete() {
    let emu = Emu::start().await;
    emu.store.create_container("data");
    let sas = emu.container_sas("data", "racwdl");
    let url = format!("{}/data/dir/hello.txt?{sas}", emu.base);

    let r = emu
        .http
        .put(&url)
        .header("x-ms-blob-type", "BlockBlob")
        .header("content-type", "text/plain")
        .header("x-ms-meta-kustoUncompressedSizeBytes", "5")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let etag = header(&r, "etag").to_string();
    assert!(etag.starts_with("\"0x"), "{etag}");
    assert!(!header(&r, "last-modified").is_empty());
    assert_eq!(header(&r, "x-ms-version"), "2025-07-05");
    assert!(header(&r, "date").ends_with("GMT"));

    let r = emu.http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "content-length"), "5");
    assert_eq!(header(&r, "content-type"), "text/plain");
    assert_eq!(header(&r, "etag"), etag);
    assert_eq!(header(&r, "x-ms-blob-type"), "BlockBlob");
    assert_eq!(header(&r, "x-ms-meta-kustouncompressedsizebytes"), "5");
    assert_eq!(r.text().await.unwrap(), "hello");

    let r = emu
        .http
        .get(&url)
        .header("x-ms-range", "bytes=1-3")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(header(&r, "content-range"), "bytes 1-3/5");
    assert_eq!(r.text().await.unwrap(), "ell");

    let r = emu.http.head(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "content-length"), "5");

    let list = format!("{}/data?restype=container&comp=list&{sas}", emu.base);
    let r = emu.http.get(&list).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body = r.text().await.unwrap();
    assert!(body.contains("<Name>dir/hello.txt</Name>"), "{body}");
    assert!(
        body.contains("<Content-Length>5</Content-Length>"),
        "{body}"
    );

    let r = emu.http.delete(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let r = emu.http.get(&url).send().await.unwrap();
    assert_xml_error(r, 404, "BlobNotFound").await;
    emu.stop().await;
}

#[tokio::test]
async fn blob_errors_and_blocks() {
    let emu = Emu::start().await;
    emu.store.create_container("data");
    let sas = emu.container_sas("data", "racwdl");
    let blob = |name: &str, extra: &str| format!("{}/data/{name}?{extra}{sas}", emu.base);

    // x-ms-blob-type is required.
    let r = emu.http.put(blob("a", "")).body("x").send().await.unwrap();
    assert_xml_error(r, 400, "MissingRequiredHeader").await;

    // Missing container.
    let other = emu.container_sas("nope", "racwdl");
    let r = emu
        .http
        .get(format!("{}/nope/a?{other}", emu.base))
        .send()
        .await
        .unwrap();
    assert_xml_error(r, 404, "ContainerNotFound").await;

    // Put Block x2 + Put Block List in a chosen order.
    for (id, data) in [("YmxrMQ==", "one "), ("YmxrMg==", "two")] {
        let r = emu
            .http
            .put(blob(
                "big",
                &format!("comp=block&blockid={}&", id.replace('=', "%3D")),
            ))
            .body(data)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let list = "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList><Latest>YmxrMg==</Latest><Latest>YmxrMQ==</Latest></BlockList>";
    let r = emu
        .http
        .put(blob("big", "comp=blocklist&"))
        .header("x-ms-blob-content-type", "application/gzip")
        .body(list)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = emu.http.get(blob("big", "")).send().await.unwrap();
    assert_eq!(header(&r, "content-type"), "application/gzip");
    assert_eq!(r.text().await.unwrap(), "twoone ");

    // `If-None-Match: *` does not overwrite.
    let r = emu
        .http
        .put(blob("big", ""))
        .header("x-ms-blob-type", "BlockBlob")
        .header("if-none-match", "*")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_xml_error(r, 409, "BlobAlreadyExists").await;

    // A block list naming an unknown block.
    let bad = "<BlockList><Uncommitted>Zm9v</Uncommitted></BlockList>";
    let r = emu
        .http
        .put(blob("big", "comp=blocklist&"))
        .body(bad)
        .send()
        .await
        .unwrap();
    assert_xml_error(r, 400, "InvalidBlockList").await;

    // Container create through a container SAS; a second create conflicts.
    let sas2 = emu.container_sas("fresh", "c");
    let url = format!("{}/fresh?restype=container&{sas2}", emu.base);
    let r = emu.http.put(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = emu.http.put(&url).send().await.unwrap();
    assert_xml_error(r, 409, "ContainerAlreadyExists").await;
    emu.stop().await;
}

#[tokio::test]
async fn sas_is_checked_on_every_call() {
    let emu = Emu::start().await;
    emu.store.create_container("data");
    emu.store.create_queue("q1");
    let u = |path: &str| format!("{}/{path}", emu.base);

    // No SAS at all.
    let r = emu.http.get(u("data/a")).send().await.unwrap();
    assert_xml_error(r, 403, "AuthorizationFailure").await;
    let r = emu
        .http
        .get(u("q1/messages?peekonly=true"))
        .send()
        .await
        .unwrap();
    assert_xml_error(r, 403, "AuthenticationFailed").await;

    // Read-only SAS cannot write; tampered signature fails.
    let ro = emu.container_sas("data", "r");
    let r = emu
        .http
        .put(u(&format!("data/a?{ro}")))
        .header("x-ms-blob-type", "BlockBlob")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_xml_error(r, 403, "AuthorizationPermissionMismatch").await;
    let tampered = ro.replace("sig=", "sig=A");
    let r = emu
        .http
        .get(u(&format!("data/a?{tampered}")))
        .send()
        .await
        .unwrap();
    assert_xml_error(r, 403, "AuthorizationFailure").await;

    // A blob SAS does not open another blob.
    let one = emu.sas(
        SasResource::Blob {
            container: "data".into(),
            blob: "one".into(),
        },
        "rcw",
    );
    let r = emu
        .http
        .get(u(&format!("data/other?{one}")))
        .send()
        .await
        .unwrap();
    assert_xml_error(r, 403, "AuthorizationFailure").await;

    // Queue SAS `r` cannot add; a SAS expires with the (injected) clock.
    let r_only = emu.queue_sas("q1", "r");
    let r = emu
        .http
        .post(u(&format!("q1/messages?{r_only}")))
        .body("<QueueMessage><MessageText>x</MessageText></QueueMessage>")
        .send()
        .await
        .unwrap();
    assert_xml_error(r, 403, "AuthorizationPermissionMismatch").await;
    emu.advance(31 * 24 * 3600);
    let r = emu
        .http
        .get(u(&format!("q1/messages?peekonly=true&{r_only}")))
        .send()
        .await
        .unwrap();
    assert_xml_error(r, 403, "AuthenticationFailed").await;

    // Another account's path is not ours.
    let r = emu
        .http
        .get(emu.base.replace(ACCOUNT, "otheraccount") + "/data/a")
        .send()
        .await
        .unwrap();
    assert_xml_error(r, 400, "InvalidUri").await;
    emu.stop().await;
}

#[tokio::test]
async fn queue_semantics_over_http() {
    let emu = Emu::start().await;
    emu.store.create_queue("ingest");
    let sas = emu.queue_sas("ingest", "raup");
    let msgs = |q: &str| format!("{}/ingest/messages?{q}{sas}", emu.base);

    // With and without the XML declaration; text is XML-unescaped and stored as is.
    let bodies = [
        "<?xml version='1.0' encoding='utf-8'?>\n<QueueMessage><MessageText>first &lt;&amp;&gt;</MessageText></QueueMessage>",
        "<QueueMessage><MessageText>second</MessageText></QueueMessage>",
    ];
    let mut put_ids = Vec::new();
    for b in bodies {
        let r = emu.http.post(msgs("")).body(b).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        let doc = r.text().await.unwrap();
        assert!(
            doc.contains("<PopReceipt>") && doc.contains("<TimeNextVisible>"),
            "{doc}"
        );
        assert!(!doc.contains("<MessageText>"), "{doc}");
        put_ids.push(xml_field(&doc, "MessageId").unwrap());
    }

    let r = emu
        .http
        .head(format!("{}/ingest?comp=metadata&{sas}", emu.base))
        .send()
        .await
        .unwrap();
    assert_eq!(header(&r, "x-ms-approximate-messages-count"), "2");

    // Peek: no receipt, nothing changes.
    let r = emu
        .http
        .get(msgs("peekonly=true&numofmessages=32&"))
        .send()
        .await
        .unwrap();
    let doc = r.text().await.unwrap();
    assert!(
        doc.contains("<MessageText>first &lt;&amp;&gt;</MessageText>"),
        "{doc}"
    );
    assert!(!doc.contains("<PopReceipt>"), "{doc}");
    assert!(doc.contains("<DequeueCount>0</DequeueCount>"), "{doc}");

    // Get one with a 30 s visibility timeout: FIFO, count 1.
    let r = emu
        .http
        .get(msgs("numofmessages=1&visibilitytimeout=30&"))
        .send()
        .await
        .unwrap();
    let doc = r.text().await.unwrap();
    assert_eq!(
        xml_field(&doc, "MessageId").as_deref(),
        Some(put_ids[0].as_str())
    );
    assert_eq!(xml_field(&doc, "DequeueCount").as_deref(), Some("1"));
    let receipt1 = xml_field(&doc, "PopReceipt").unwrap();

    // While invisible only "second" is peeked; after 30 s "first" is back.
    let doc = emu
        .http
        .get(msgs("peekonly=true&numofmessages=32&"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(doc.matches("<QueueMessage>").count(), 1);
    assert!(doc.contains("second"));
    emu.advance(30);
    let doc = emu
        .http
        .get(msgs("numofmessages=1&"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        xml_field(&doc, "MessageId").as_deref(),
        Some(put_ids[0].as_str())
    );
    assert_eq!(xml_field(&doc, "DequeueCount").as_deref(), Some("2"));
    let receipt2 = xml_field(&doc, "PopReceipt").unwrap();

    // The stale receipt is refused; the fresh one deletes; again → not found.
    let del = |receipt: &str| {
        let mut u = url::Url::parse(&format!(
            "{}/ingest/messages/{}?{sas}",
            emu.base, put_ids[0]
        ))
        .unwrap();
        u.query_pairs_mut().append_pair("popreceipt", receipt);
        emu.http.delete(u).send()
    };
    assert_xml_error(del(&receipt1).await.unwrap(), 400, "PopReceiptMismatch").await;
    assert_eq!(
        del(&receipt2).await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    assert_xml_error(del(&receipt2).await.unwrap(), 404, "MessageNotFound").await;

    // Limits.
    let r = emu
        .http
        .get(msgs("numofmessages=33&"))
        .send()
        .await
        .unwrap();
    assert_xml_error(r, 400, "OutOfRangeQueryParameterValue").await;
    let big = format!(
        "<QueueMessage><MessageText>{}</MessageText></QueueMessage>",
        "x".repeat(64 * 1024 + 1)
    );
    let r = emu.http.post(msgs("")).body(big).send().await.unwrap();
    assert_xml_error(r, 413, "RequestBodyTooLarge").await;

    // TTL: a 60 s message disappears, a -1 one stays.
    let env = "<QueueMessage><MessageText>ttl</MessageText></QueueMessage>";
    let r = emu
        .http
        .post(msgs("messagettl=60&"))
        .body(env)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = emu
        .http
        .post(msgs("messagettl=-1&"))
        .body(env)
        .send()
        .await
        .unwrap();
    let doc = r.text().await.unwrap();
    assert_eq!(
        xml_field(&doc, "ExpirationTime").as_deref(),
        Some("Fri, 31 Dec 9999 23:59:59 GMT")
    );
    emu.advance(61);
    let r = emu
        .http
        .get(format!("{}/ingest?comp=metadata&{sas}", emu.base))
        .send()
        .await
        .unwrap();
    // "second" (7-day TTL) and the never-expiring one remain.
    assert_eq!(header(&r, "x-ms-approximate-messages-count"), "2");

    // Clear.
    let r = emu.http.delete(msgs("")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = emu
        .http
        .get(format!("{}/ingest?comp=metadata&{sas}", emu.base))
        .send()
        .await
        .unwrap();
    assert_eq!(header(&r, "x-ms-approximate-messages-count"), "0");

    // Missing queue.
    let other = emu.queue_sas("missing", "raup");
    let r = emu
        .http
        .get(format!("{}/missing/messages?{other}", emu.base))
        .send()
        .await
        .unwrap();
    assert_xml_error(r, 404, "QueueNotFound").await;
    emu.stop().await;
}

#[tokio::test]
async fn table_endpoints() {
    let emu = Emu::start().await;
    let sas = emu.table_sas("Status", "raud");
    let u = |path: &str| format!("{}/{path}?{sas}", emu.base);

    // Create Table: 201 with a body, then 409.
    let r = emu
        .http
        .post(u("Tables"))
        .header("accept", "application/json;odata=minimalmetadata")
        .json(&json!({"TableName": "Status"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["TableName"], "Status");
    assert!(
        body["odata.metadata"]
            .as_str()
            .unwrap()
            .ends_with("/$metadata#Tables/@Element")
    );
    let r = emu
        .http
        .post(u("Tables"))
        .json(&json!({"TableName": "Status"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let err: Value = r.json().await.unwrap();
    assert_eq!(err["odata.error"]["code"], "TableAlreadyExists");
    assert_eq!(err["odata.error"]["message"]["lang"], "en-US");

    // Insert (204 with Prefer), conflict as JSON.
    let entity = json!({"PartitionKey":"db","RowKey":"it's/50%","Status":"Pending",
        "UpdatedOn":"2025-01-01T00:00:00Z","UpdatedOn@odata.type":"Edm.DateTime"});
    let r = emu
        .http
        .post(u("Status"))
        .header("prefer", "return-no-content")
        .json(&entity)
        .send()
        .await;
    // `/` is not allowed in keys: Azure answers 400.
    assert_eq!(r.unwrap().status(), StatusCode::BAD_REQUEST);
    let entity = json!({"PartitionKey":"db","RowKey":"it's 50%","Status":"Pending",
        "UpdatedOn":"2025-01-01T00:00:00Z","UpdatedOn@odata.type":"Edm.DateTime"});
    let r = emu
        .http
        .post(u("Status"))
        .header("prefer", "return-no-content")
        .json(&entity)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(header(&r, "etag").starts_with("W/\"datetime'"));
    let r = emu
        .http
        .post(u("Status"))
        .json(&entity)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(header(&r, "x-ms-error-code"), "EntityAlreadyExists");

    // Get with '' escaping and percent-encoding; nometadata is flat.
    let path = "Status(PartitionKey='db',RowKey='it''s%2050%25')";
    let r = emu
        .http
        .get(u(path))
        .header("accept", "application/json;odata=nometadata")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let got: Value = r.json().await.unwrap();
    assert_eq!(got["RowKey"], "it's 50%");
    assert_eq!(got["Status"], "Pending");
    assert!(got.get("Timestamp").is_some());
    assert!(got.get("odata.etag").is_none() && got.get("UpdatedOn@odata.type").is_none());

    let r = emu
        .http
        .get(u(path))
        .header("accept", "application/json;odata=minimalmetadata")
        .send()
        .await
        .unwrap();
    let got: Value = r.json().await.unwrap();
    assert!(got["odata.etag"].as_str().unwrap().starts_with("W/"));
    assert!(
        got["odata.metadata"]
            .as_str()
            .unwrap()
            .ends_with("#Status/@Element")
    );
    assert_eq!(got["UpdatedOn@odata.type"], "Edm.DateTime");

    // Merge with If-Match: *; replace of a missing entity → 404.
    let r = emu
        .http
        .request(reqwest::Method::from_bytes(b"MERGE").unwrap(), u(path))
        .header("if-match", "*")
        .json(&json!({"Status":"Succeeded"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let got: Value = emu
        .http
        .get(u(path))
        .header("accept", "application/json;odata=nometadata")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got["Status"], "Succeeded");
    assert_eq!(got["UpdatedOn"], "2025-01-01T00:00:00Z");
    let r = emu
        .http
        .put(u("Status(PartitionKey='db',RowKey='none')"))
        .header("if-match", "*")
        .json(&json!({"Status":"x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let err: Value = r.json().await.unwrap();
    assert_eq!(err["odata.error"]["code"], "ResourceNotFound");

    // Query with a simple filter.
    let mut q = url::Url::parse(&u("Status()")).unwrap();
    q.query_pairs_mut()
        .append_pair("$filter", "PartitionKey eq 'db' and Status eq 'Succeeded'");
    let got: Value = emu
        .http
        .get(q)
        .header("accept", "application/json;odata=nometadata")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got["value"].as_array().map(Vec::len), Some(1));

    // A read-only SAS cannot insert.
    let ro = emu.table_sas("Status", "r");
    let r = emu
        .http
        .post(format!("{}/Status?{ro}", emu.base))
        .json(&json!({"PartitionKey":"a","RowKey":"b"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let err: Value = r.json().await.unwrap();
    assert_eq!(
        err["odata.error"]["code"],
        "AuthorizationPermissionMismatch"
    );
    emu.stop().await;
}

#[tokio::test]
async fn injected_server_busy() {
    let emu = Emu::start().await;
    emu.store.create_queue("q1");
    let sas = emu.queue_sas("q1", "r");
    let url = format!("{}/q1?comp=metadata&{sas}", emu.base);
    emu.faults.fail_next(1);
    let r = emu.http.get(&url).send().await.unwrap();
    assert_eq!(header(&r, "retry-after"), "1");
    assert_xml_error(r, 503, "ServerBusy").await;
    let r = emu.http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    emu.faults.set_error_rate(1.0);
    let r = emu.http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    emu.faults.set_error_rate(0.0);
    emu.faults.set_reset_rate(1.0);
    let broken = match emu.http.get(&url).send().await {
        Err(_) => true,
        Ok(r) => r.bytes().await.is_err(),
    };
    assert!(broken, "an injected reset must break the exchange");
    emu.stop().await;
}

/// The official `azure_storage_queue` crate as an independent client.
#[tokio::test]
async fn official_queue_crate() {
    use azure_storage_queue::QueueClient;
    use azure_storage_queue::models::{
        QueueClientGetPropertiesResultHeaders, QueueClientPeekMessagesOptions,
        QueueClientReceiveMessagesOptions, QueueMessage,
    };

    let emu = Emu::start().await;
    emu.store.create_queue("official");
    let sas = emu.queue_sas("official", "raup");
    let url = azure_core::http::Url::parse(&format!("{}/official?{sas}", emu.base)).unwrap();
    let client = QueueClient::new(url, None, None).unwrap();

    let msg = QueueMessage {
        message_text: Some("hello <official> & co".into()),
    };
    let sent = client
        .send_message(msg.try_into().unwrap(), None)
        .await
        .unwrap()
        .into_model()
        .unwrap();
    let sent = sent.items.unwrap_or_default();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].pop_receipt.is_some());

    let props = client.get_properties(None).await.unwrap();
    assert_eq!(props.approximate_messages_count().unwrap(), Some(1));

    let peeked = client
        .peek_messages(Some(QueueClientPeekMessagesOptions {
            number_of_messages: Some(5),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_model()
        .unwrap()
        .items
        .unwrap_or_default();
    assert_eq!(peeked.len(), 1);
    assert_eq!(
        peeked[0].message_text.as_deref(),
        Some("hello <official> & co")
    );
    assert_eq!(peeked[0].dequeue_count, Some(0));

    let got = client
        .receive_messages(Some(QueueClientReceiveMessagesOptions {
            number_of_messages: Some(1),
            visibility_timeout: Some(60),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_model()
        .unwrap()
        .items
        .unwrap_or_default();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].dequeue_count, Some(1));
    let id = got[0].message_id.clone().unwrap();
    let receipt = got[0].pop_receipt.clone().unwrap();
    client.delete_message(&id, &receipt, None).await.unwrap();
    let err = client
        .delete_message(&id, &receipt, None)
        .await
        .unwrap_err();
    assert_eq!(
        err.http_status(),
        Some(azure_core::http::StatusCode::NotFound)
    );
    emu.stop().await;
}

/// The official `azure_storage_blob` crate as an independent client.
#[tokio::test]
async fn official_blob_crate() {
    use azure_core::http::RequestContent;
    use azure_storage_blob::BlobContainerClient;
    use futures::TryStreamExt;

    let emu = Emu::start().await;
    emu.store.create_container("official");
    let sas = emu.container_sas("official", "racwdl");
    let url = azure_core::http::Url::parse(&format!("{}/official?{sas}", emu.base)).unwrap();
    let container = BlobContainerClient::new(url, None, None).unwrap();
    let blob = container.blob_client("dir/data.csv");
    blob.upload(RequestContent::from(b"a,b\n1,2\n".to_vec()), None)
        .await
        .unwrap();
    assert!(blob.exists().await.unwrap());
    assert!(!container.blob_client("missing").exists().await.unwrap());

    let data = blob
        .download(None)
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap();
    assert_eq!(&data[..], b"a,b\n1,2\n");

    let mut names = Vec::new();
    let mut pager = container.list_blobs(None).unwrap();
    while let Some(item) = pager.try_next().await.unwrap() {
        names.push(item.name.unwrap_or_default());
    }
    assert_eq!(names, ["dir/data.csv"]);
    emu.stop().await;
}

/// Mounted as the lead does: explicit mgmt routes first, storage as the fallback service.
#[tokio::test]
async fn mounts_as_fallback_next_to_mgmt_routes() {
    let store = Arc::new(Store::new());
    store.create_queue("q1");
    let key = AccountKey::from_base64(KEY).unwrap();
    let faults = Arc::new(Faults::new());
    let state = StorageState {
        store,
        account: ACCOUNT.to_string(),
        key: key.clone(),
        faults: faults.clone(),
        metrics: Default::default(),
    };
    let app = axum::Router::new()
        .route("/v1/rest/mgmt", axum::routing::post(|| async { "mgmt" }))
        .fallback_service(router(state));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
    });
    let http = reqwest::Client::new();
    let r = http
        .post(format!("http://{addr}/v1/rest/mgmt"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "mgmt");
    let sas = ServiceSas {
        account: ACCOUNT.to_string(),
        resource: SasResource::Queue { queue: "q1".into() },
        permissions: "r".into(),
        start: None,
        expiry: Utc::now() + Duration::hours(1),
    }
    .token(&key);
    let url = format!("http://{addr}/{ACCOUNT}/q1?comp=metadata&{sas}");
    let r = http.get(&url).send().await.unwrap();
    assert_eq!(header(&r, "x-ms-approximate-messages-count"), "0");
    faults.fail_next(1);
    let r = http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let r = http
        .get(format!("http://{addr}/v1/other"))
        .send()
        .await
        .unwrap();
    assert_xml_error(r, 400, "InvalidUri").await;
    let _ = tx.send(());
    let _ = task.await;
}
