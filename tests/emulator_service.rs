//! The emulator as a service on a network: the mgmt token, SAS signature / expiry / permission
//! checks and request-size limits, over real HTTP on loopback. (The "bound beyond loopback"
//! decision is a unit test of `cli::cmd::emulator::exposure`: tests never bind elsewhere.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use common::Env;
use kingest::client::ResourceKind;
use kingest::client::storage::SasUrl;
use kingest::emulator::EmulatorConfig;
use kingest::emulator::sas::{AccountKey, SasResource, ServiceSas};

const TOKEN: &str = "s3cret-emulator-token";

async fn mgmt(env: &Env, auth: Option<&str>) -> reqwest::Response {
    let mut r = reqwest::Client::new()
        .post(format!("{}/v1/rest/mgmt", env.emulator.url()))
        .json(&serde_json::json!({"db": "demo", "csl": ".show tables"}));
    if let Some(a) = auth {
        r = r.header("authorization", a);
    }
    r.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_mgmt_token_is_required_and_checked() {
    let env = Env::start_with(EmulatorConfig {
        require_token: Some(TOKEN.into()),
        ..Default::default()
    })
    .await;
    for auth in [
        None,
        Some("Bearer wrong"),
        Some(TOKEN),
        Some("Basic czNjcmV0"),
    ] {
        let r = mgmt(&env, auth).await;
        assert_eq!(r.status(), 401, "{auth:?}");
        let body = r.text().await.unwrap();
        assert!(body.contains("\"Unauthorized\""), "{body}");
        assert!(!body.contains(TOKEN), "the token is never echoed: {body}");
    }
    let r = mgmt(&env, Some(&format!("Bearer {TOKEN}"))).await;
    assert_eq!(r.status(), 200);
    // The metrics endpoint is behind the same token.
    let metrics = format!("{}/metrics", env.emulator.url());
    let http = reqwest::Client::new();
    assert_eq!(http.get(&metrics).send().await.unwrap().status(), 401);
    let r = http.get(&metrics).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("kingest_emulator_mgmt_requests_total")
    );
    // As on Kusto, the auth metadata is public (a client reads it before it has a token).
    let r = http
        .get(format!("{}/v1/rest/auth/metadata", env.emulator.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    env.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_token_configured_mgmt_is_open() {
    let env = Env::start().await;
    assert_eq!(mgmt(&env, None).await.status(), 200);
    assert_eq!(mgmt(&env, Some("Bearer anything")).await.status(), 200);
    env.emulator.shutdown().await;
}

async fn error_code(r: reqwest::Response) -> (u16, String) {
    let status = r.status().as_u16();
    let code = r
        .headers()
        .get("x-ms-error-code")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, code)
}

fn with_query(url: &SasUrl, path_suffix: &str, extra: &str) -> String {
    let (base, query) = url.expose().split_once('?').unwrap();
    format!("{base}{path_suffix}?{extra}{query}")
}

/// The issued URL with one character of its signature changed.
fn tampered(url: &SasUrl) -> SasUrl {
    let text = url.expose();
    let at = text.find("sig=").unwrap() + 4;
    let mut bytes = text.as_bytes().to_vec();
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    SasUrl::parse(&String::from_utf8(bytes).unwrap()).unwrap()
}

/// A queue SAS signed with the emulator's key that expired an hour ago.
fn expired_queue_url(url: &SasUrl) -> SasUrl {
    let key = AccountKey::from_base64(kingest::emulator::DEFAULT_KEY).unwrap();
    let now = chrono::Utc::now();
    let token = ServiceSas {
        account: kingest::emulator::DEFAULT_ACCOUNT.into(),
        resource: SasResource::Queue {
            queue: url.object_name(),
        },
        permissions: "a".into(),
        start: Some(now - chrono::TimeDelta::hours(2)),
        expiry: now - chrono::TimeDelta::hours(1),
    }
    .token(&key);
    SasUrl::parse(&format!("{}?{token}", url.without_query())).unwrap()
}

const ENVELOPE: &str = "<QueueMessage><MessageText>aGk=</MessageText></QueueMessage>";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sas_signature_expiry_and_permissions_are_checked() {
    let env = Env::start().await;
    let res = env.client.refresh_resources().await.unwrap();
    let ingest = res
        .of_kind(ResourceKind::SecuredReadyForAggregationQueue)
        .next()
        .unwrap()
        .clone();
    let container = res
        .of_kind(ResourceKind::TempStorage)
        .next()
        .unwrap()
        .clone();
    let table = res
        .of_kind(ResourceKind::IngestionsStatusTable)
        .next()
        .unwrap()
        .clone();
    let http = reqwest::Client::new();
    let put = |url: String| http.post(url).body(ENVELOPE).send();

    // Expired: 403 AuthenticationFailed.
    let r = put(with_query(&expired_queue_url(&ingest), "/messages", "")).await;
    assert_eq!(
        error_code(r.unwrap()).await,
        (403, "AuthenticationFailed".into())
    );
    // Tampered signature: 403 (Queue: AuthenticationFailed; Blob, Table: AuthorizationFailure,
    // as Azurite answers).
    let r = put(with_query(&tampered(&ingest), "/messages", "")).await;
    assert_eq!(
        error_code(r.unwrap()).await,
        (403, "AuthenticationFailed".into())
    );
    let blob = tampered(&container).child("x.csv");
    let r = http
        .put(blob.expose())
        .header("x-ms-blob-type", "BlockBlob")
        .body("a,b")
        .send()
        .await;
    assert_eq!(
        error_code(r.unwrap()).await,
        (403, "AuthorizationFailure".into())
    );
    let r = http
        .get(with_query(&tampered(&table), "()", ""))
        .header("accept", "application/json")
        .send()
        .await;
    assert_eq!(error_code(r.unwrap()).await.0, 403);
    // Wrong permission: the ingestion queue is add-only, so no dequeue, no peek.
    for extra in ["", "peekonly=true&"] {
        let r = http
            .get(with_query(&ingest, "/messages", extra))
            .send()
            .await;
        assert_eq!(
            error_code(r.unwrap()).await,
            (403, "AuthorizationPermissionMismatch".into()),
            "{extra}"
        );
    }
    // The temp container is create/write/read: deleting a blob is not allowed.
    let r = http.delete(container.child("x.csv").expose()).send().await;
    assert_eq!(
        error_code(r.unwrap()).await,
        (403, "AuthorizationPermissionMismatch".into())
    );
    // No SAS at all.
    let r = put(format!("{}/messages", ingest.without_query())).await;
    assert_eq!(error_code(r.unwrap()).await.0, 403);
    // And the issued URL itself works.
    let r = put(with_query(&ingest, "/messages", "")).await.unwrap();
    assert_eq!(r.status(), 201);
    env.emulator.shutdown().await;
}

/// Sends a request head by hand (declaring a body it never sends) and returns the status
/// line and body of the answer.
fn raw_request(base: &str, head: &str) -> String {
    raw_request_with_body(base, head, &[])
}

/// Like [`raw_request`], then `body` written as far as the server reads it: a server that
/// answers an over-limit body early may close before it is all sent (as Azure does), which a
/// client library reports as a broken request rather than the answer.
fn raw_request_with_body(base: &str, head: &str, body: &[u8]) -> String {
    let addr = base.strip_prefix("http://").unwrap();
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(head.as_bytes()).unwrap();
    for chunk in body.chunks(65536) {
        if s.write_all(chunk).is_err() {
            break;
        }
    }
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    // Read until the answer is complete or the server closes.
    while let Ok(n) = s.read(&mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&out);
        if text.contains("</Error>") || text.contains("}}") {
            break;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_sizes_are_limited_as_azure_and_kusto_do() {
    let env = Env::start().await;
    let res = env.client.refresh_resources().await.unwrap();
    let success = common::resign(
        res.of_kind(ResourceKind::SuccessfulIngestionsQueue)
            .next()
            .unwrap(),
        "raup",
    );
    let http = reqwest::Client::new();
    // Put Message: 64 KiB of text is the most; one byte more is 413 RequestBodyTooLarge.
    for (len, want) in [(64 * 1024, 201), (64 * 1024 + 1, 413)] {
        let body = format!(
            "<QueueMessage><MessageText>{}</MessageText></QueueMessage>",
            "x".repeat(len)
        );
        let r = http
            .post(with_query(&success, "/messages", ""))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), want, "{len}");
        if want == 413 {
            assert_eq!(r.headers()["x-ms-error-code"], "RequestBodyTooLarge");
        }
    }
    // Put Block beyond the emulator's per-request limit: refused from the declared length,
    // before any byte of the body is read.
    let container = res.of_kind(ResourceKind::TempStorage).next().unwrap();
    let block = container.child("big.bin");
    let (_, query) = block.expose().split_once('?').unwrap();
    let path = block.without_query();
    let path = &path[path.find("/kingestemu").unwrap()..];
    let too_big = kingest::emulator::http::storage::MAX_BLOB_BODY + 1;
    let base = env.emulator.url().to_string();
    let head = format!(
        "PUT {path}?comp=block&blockid=YmxvY2sx&{query} HTTP/1.1\r\nHost: x\r\n\
         Content-Length: {too_big}\r\n\r\n"
    );
    let answer = tokio::task::spawn_blocking({
        let base = base.clone();
        move || raw_request(&base, &head)
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(
        answer.contains("<Code>RequestBodyTooLarge</Code>"),
        "{answer}"
    );
    // Mgmt: a body over the limit is 413 PayloadTooLarge, declared or streamed.
    let limit = kingest::emulator::http::mgmt::MAX_MGMT_BODY;
    let big = format!(
        "{{\"db\":\"demo\",\"csl\":\".show tables\",\"pad\":\"{}\"}}",
        "x".repeat(limit)
    );
    let declared = format!(
        "POST /v1/rest/mgmt HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n",
        big.len()
    );
    let answer = tokio::task::spawn_blocking({
        let base = base.clone();
        move || raw_request_with_body(&base, &declared, big.as_bytes())
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("PayloadTooLarge"), "{answer}");
    // Streamed (chunked, no length declared): refused once the limit is passed.
    let mut chunked = Vec::new();
    for _ in 0..=limit / 65536 {
        chunked.extend_from_slice(format!("{:x}\r\n", 65536).as_bytes());
        chunked.extend_from_slice(&[b' '; 65536]);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let head = "POST /v1/rest/mgmt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    let answer = tokio::task::spawn_blocking({
        let base = base.clone();
        move || raw_request_with_body(&base, head, &chunked)
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    // Under the limit still works.
    assert_eq!(mgmt(&env, None).await.status(), 200);
    env.emulator.shutdown().await;
}

fn kingest_emulator(args: &[&str]) -> std::process::Output {
    let home = tempfile::tempdir().unwrap();
    std::process::Command::new(env!("CARGO_BIN_EXE_kingest"))
        .arg("emulator")
        .args(args)
        .env("HOME", home.path())
        .env_remove("KINGEST_EMULATOR_FAULTS")
        .env_remove("KINGEST_EMULATOR_TOKEN")
        .output()
        .unwrap()
}

#[test]
fn bad_fault_specs_and_an_empty_token_are_usage_errors() {
    for (args, needle) in [
        (
            vec!["--faults", "http5xx=0.1,stall=2"],
            "fault spec item 'stall=2'",
        ),
        (vec!["--faults", "latency=200"], "'latency=200'"),
        (vec!["--faults", "http5xx=0.7,reset=0.7"], "'reset=0.7'"),
        (vec!["--faults", "slow-body"], "'slow-body'"),
        (vec!["--require-token", " "], "--require-token"),
    ] {
        let mut all = vec!["--listen", "127.0.0.1:0"];
        all.extend(args.iter().copied());
        let out = kingest_emulator(&all);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "no URL printed: {args:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_takes_the_issue_spec_and_a_token() {
    let spec = "http5xx=0.1,retry-after=2,reset=0.05,latency=200ms,stall=0.01,slow-body=0.05,\
                ingest-transient=0.05,duplicate-delivery=0.02,seed=42";
    let home = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_kingest"))
        .args(["emulator", "--listen", "127.0.0.1:0", "--faults", spec])
        .env("HOME", home.path())
        .env("KINGEST_EMULATOR_TOKEN", TOKEN)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
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
    let http = reqwest::Client::new();
    let show = serde_json::json!({"db": "demo", "csl": ".show emulator faults"});
    // The faults apply to mgmt too: retry past the injected ones.
    let mut shown = None;
    for _ in 0..20 {
        let r = http
            .post(format!("{url}/v1/rest/mgmt"))
            .bearer_auth(TOKEN)
            .timeout(Duration::from_secs(3))
            .json(&show)
            .send()
            .await;
        if let Ok(r) = r
            && r.status() == 200
            && let Ok(v) = r.json::<serde_json::Value>().await
        {
            shown = v["Tables"][0]["Rows"][0][0].as_str().map(str::to_string);
            break;
        }
    }
    let shown = shown.expect(".show emulator faults answered");
    let parsed = kingest::emulator::faults::FaultConfig::parse(&shown).unwrap();
    assert_eq!(
        parsed,
        kingest::emulator::faults::FaultConfig::parse(spec).unwrap()
    );
    let r = http
        .post(format!("{url}/v1/rest/mgmt"))
        .timeout(Duration::from_secs(3))
        .json(&show)
        .send()
        .await;
    if let Ok(r) = r {
        assert_ne!(r.status(), 200, "no token, no answer");
    }
    child.kill().await.unwrap();
}
