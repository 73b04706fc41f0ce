//! The one request path for blob, queue and table calls: common headers, retries, and mapping
//! responses and transport failures to [`Error`] without ever carrying a URL.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use super::{STORAGE_VERSION, Storage, xml};
use crate::client::deadline::{Deadline, RequestKind};
use crate::client::error::{Error, Result};
use crate::client::redact::redact;
use crate::client::timeline;

/// A successful response, body fully read.
pub(crate) struct Reply {
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl Storage {
    /// Sends the request `build` makes (once per attempt) with the storage headers, through the
    /// retry policy. Non-2xx answers become errors.
    pub(crate) async fn execute<F>(&self, build: F) -> Result<Reply>
    where
        F: Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    {
        let build = &build;
        let http = &self.http;
        let first = build(http).build().map_err(|e| transport_error(e, None))?;
        let deadline = &Deadline::new(first.url().as_str(), RequestKind::Storage, &self.timeouts);
        let op = &timeline::op_name(first.method(), first.url());
        let target = &first.url().path().to_string();
        let attempts = &std::sync::atomic::AtomicU32::new(0);
        self.retry
            .run_for(deadline, move || async move {
                let attempt = attempts.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                let at = chrono::Utc::now();
                let started = std::time::Instant::now();
                // One id per attempt, kept for the source's timeline (as the Azure SDKs'
                // RequestIdPolicy sets a fresh one on each try).
                let request_id = uuid::Uuid::new_v4().to_string();
                let noted = |status: Option<u16>, error: Option<&Error>| {
                    timeline::note(timeline::Request {
                        at,
                        op: op.clone(),
                        target: target.clone(),
                        request_id: request_id.clone(),
                        attempt,
                        ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                        status,
                        error: error.map(|e| redact(&e.to_string())),
                    })
                };
                let req = build(http)
                    .timeout(deadline.limit)
                    .header("x-ms-version", STORAGE_VERSION)
                    .header("x-ms-date", httpdate::fmt_http_date(SystemTime::now()))
                    .header("x-ms-client-request-id", request_id.as_str());
                let resp = match req.send().await {
                    Ok(r) => r,
                    Err(e) => {
                        let e = transport_error(e, Some(deadline));
                        noted(None, Some(&e));
                        return Err(e);
                    }
                };
                let status = resp.status();
                let headers = resp.headers().clone();
                let body = match resp.bytes().await {
                    Ok(b) => b,
                    Err(e) => {
                        let e = transport_error(e, Some(deadline));
                        noted(Some(status.as_u16()), Some(&e));
                        return Err(e);
                    }
                };
                let result = answer(deadline, status, headers, body);
                noted(Some(status.as_u16()), result.as_ref().err());
                result
            })
            .await
    }
}

/// A storage answer as the caller sees it: an HTML page or a non-2xx status is an error.
fn answer(
    deadline: &Deadline,
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Reply> {
    let content_type = headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if status.is_success() && crate::client::mgmt::looks_like_html(content_type, &body) {
        // Storage never answers HTML: a proxy or sign-in page did. Named, not shown
        // (parsed as XML it could pass for an empty list).
        Err(Error::BadResponse(format!(
            "{} answered {} with an HTML page ({} bytes), not an Azure Storage answer: \
                         did a proxy or sign-in page answer?",
            deadline.url(),
            status.as_u16(),
            body.len()
        )))
    } else if status.is_success() {
        Ok(Reply { headers, body })
    } else {
        Err(response_error(status, &headers, &body))
    }
}

/// Treats an error whose storage code is one of `codes` (e.g. "already exists") as success.
pub(crate) fn tolerate(result: Result<Reply>, codes: &[&str]) -> Result<()> {
    match result {
        Ok(_) => Ok(()),
        Err(Error::Storage { code, .. }) if codes.contains(&code.as_str()) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Maps a reqwest failure (no response, or a body cut short). Its own text never carries the
/// URL; a missed deadline names the (redacted) URL and the limit.
pub(crate) fn transport_error(err: reqwest::Error, deadline: Option<&Deadline>) -> Error {
    let err = err.without_url();
    if err.is_timeout()
        && let Some(d) = deadline
    {
        return d.missed(err.is_connect());
    }
    let text = redact(&error_chain(&err));
    if err.is_builder() {
        Error::Internal(format!("cannot build storage request: {text}"))
    } else if (err.is_decode() && !cut_short(&err)) || err.is_redirect() {
        Error::BadResponse(text)
    } else if err.is_connect() {
        Error::Unreachable(text)
    } else {
        // Timeouts, refused or reset connections, truncated bodies: all worth another try.
        Error::Transient(text)
    }
}

/// Whether a body error is the connection ending before the body did (worth another try),
/// not a body that cannot be decoded.
fn cut_short(err: &reqwest::Error) -> bool {
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        if s.downcast_ref::<reqwest::Error>()
            .is_some_and(|e| e.is_body())
        {
            return true;
        }
        source = s.source();
    }
    false
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

/// Maps a non-2xx storage response to an error, per Azure's conventions.
pub(crate) fn response_error(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Error {
    let (body_code, body_message) = parse_error_body(body);
    let code = headers
        .get("x-ms-error-code")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or(body_code)
        .unwrap_or_default();
    let message = body_message
        .map(|m| clean_message(&m))
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("").to_string());
    let s = status.as_u16();
    if s == 429 || (s == 503 && (code == "ServerBusy" || code.is_empty())) {
        return Error::Throttled {
            retry_after: retry_after(headers, SystemTime::now()),
        };
    }
    if status.is_server_error() {
        let code = if code.is_empty() { "-" } else { &code };
        return Error::Transient(format!("storage answered {s} {code}: {message}"));
    }
    if status.is_client_error() {
        return Error::Storage {
            status: s,
            code,
            message,
        };
    }
    Error::BadResponse(format!("unexpected storage status {s}"))
}

/// `(code, message)` from an XML `<Error>` or a table JSON `odata.error` body.
fn parse_error_body(body: &[u8]) -> (Option<String>, Option<String>) {
    let text = String::from_utf8_lossy(body);
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(trimmed) {
            let err = v.get("odata.error").or_else(|| v.get("error"));
            let code = err
                .and_then(|e| e.get("code"))
                .and_then(|c| c.as_str())
                .map(str::to_string);
            let message = err.and_then(|e| e.get("message")).and_then(|m| {
                m.get("value")
                    .and_then(|v| v.as_str())
                    .or_else(|| m.as_str())
                    .map(str::to_string)
            });
            return (code, message);
        }
        return (None, None);
    }
    match xml::records(&text, "Error") {
        Ok(recs) => match recs.into_iter().next() {
            Some(mut rec) => (rec.remove("Code"), rec.remove("Message")),
            None => (None, None),
        },
        Err(_) => (None, None),
    }
}

/// First line only (Azure appends RequestId/Time lines), no control characters, no secrets,
/// bounded length.
fn clean_message(m: &str) -> String {
    let first = m.lines().next().unwrap_or("").trim();
    // Redacted before it is cut short: a cut must not leave half a token behind.
    let cleaned: String = first.chars().filter(|c| !c.is_control()).collect();
    redact(&cleaned).chars().take(300).collect()
}

/// `Retry-After` as delta-seconds or an HTTP date (relative to `now`).
pub(crate) fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let v = headers.get("retry-after")?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    const AUTH_XML: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>AuthenticationFailed</Code><Message>Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.\nRequestId:0c3b7f0e-0000\nTime:2025-01-01T00:00:00.0000000Z</Message><AuthenticationErrorDetail>Signature did not match.</AuthenticationErrorDetail></Error>";

    #[test]
    fn forbidden_is_a_storage_error_with_code_and_first_line() {
        let e = response_error(
            StatusCode::FORBIDDEN,
            &HeaderMap::new(),
            AUTH_XML.as_bytes(),
        );
        match e {
            Error::Storage {
                status,
                code,
                message,
            } => {
                assert_eq!(status, 403);
                assert_eq!(code, "AuthenticationFailed");
                assert!(message.starts_with("Server failed to authenticate"));
                assert!(!message.contains("RequestId"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn header_code_wins_and_empty_body_is_fine() {
        let h = headers(&[("x-ms-error-code", "BlobNotFound")]);
        let e = response_error(StatusCode::NOT_FOUND, &h, b"");
        assert!(matches!(
            e,
            Error::Storage { status: 404, ref code, ref message }
                if code == "BlobNotFound" && message == "Not Found"
        ));
    }

    #[test]
    fn table_json_errors_are_parsed() {
        let body = br#"{"odata.error":{"code":"EntityAlreadyExists","message":{"lang":"en-US","value":"The specified entity already exists.\nRequestId:x"}}}"#;
        let e = response_error(StatusCode::CONFLICT, &HeaderMap::new(), body);
        assert!(matches!(
            e,
            Error::Storage { status: 409, ref code, ref message }
                if code == "EntityAlreadyExists" && message == "The specified entity already exists."
        ));
    }

    #[test]
    fn throttling_and_server_errors_are_transient() {
        let h = headers(&[("retry-after", "7"), ("x-ms-error-code", "ServerBusy")]);
        let e = response_error(StatusCode::SERVICE_UNAVAILABLE, &h, b"");
        assert!(
            matches!(e, Error::Throttled { retry_after: Some(d) } if d == Duration::from_secs(7))
        );
        assert!(e.is_transient());
        let e = response_error(StatusCode::TOO_MANY_REQUESTS, &HeaderMap::new(), b"");
        assert!(matches!(e, Error::Throttled { retry_after: None }));
        let busy = "<Error><Code>InternalError</Code><Message>boom</Message></Error>";
        let e = response_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &HeaderMap::new(),
            busy.as_bytes(),
        );
        assert!(
            matches!(e, Error::Transient(ref m) if m.contains("InternalError") && m.contains("boom"))
        );
        let e = response_error(StatusCode::NOT_MODIFIED, &HeaderMap::new(), b"");
        assert!(matches!(e, Error::BadResponse(_)));
    }

    #[test]
    fn messages_are_sanitised() {
        let body = "<Error><Code>X</Code><Message>see http://h/q?sig=SECRET&amp;a=1 \u{1b}[31m</Message></Error>";
        let e = response_error(StatusCode::BAD_REQUEST, &HeaderMap::new(), body.as_bytes());
        let text = e.to_string();
        assert!(!text.contains("SECRET"), "{text}");
        assert!(!text.contains('\u{1b}'), "{text}");
        // Garbage bodies do not panic and still give a status message.
        let e = response_error(StatusCode::BAD_REQUEST, &HeaderMap::new(), b"<<<\xff{");
        assert!(matches!(e, Error::Storage { status: 400, .. }));
        let e = response_error(StatusCode::BAD_REQUEST, &HeaderMap::new(), b"{not json");
        assert!(matches!(e, Error::Storage { status: 400, .. }));
    }

    #[test]
    fn retry_after_accepts_seconds_and_dates() {
        let now = httpdate::parse_http_date("Wed, 01 Jan 2025 00:00:00 GMT").unwrap();
        let h = headers(&[("retry-after", "Wed, 01 Jan 2025 00:00:05 GMT")]);
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(5)));
        let h = headers(&[("retry-after", "Tue, 31 Dec 2024 00:00:00 GMT")]);
        assert_eq!(retry_after(&h, now), Some(Duration::ZERO));
        let h = headers(&[("retry-after", "soon")]);
        assert_eq!(retry_after(&h, now), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    /// A loopback server answering 503 ServerBusy `busy` times, then 201; records headers.
    async fn flaky_server(
        busy: usize,
    ) -> (
        String,
        std::sync::Arc<std::sync::Mutex<Vec<HeaderMap>>>,
        tokio::task::JoinHandle<()>,
    ) {
        use axum::http::StatusCode as S;
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<HeaderMap>::new()));
        let log = seen.clone();
        let app = axum::Router::new().fallback(move |headers: HeaderMap| {
            let log = log.clone();
            async move {
                let mut log = log.lock().unwrap();
                log.push(headers);
                if log.len() <= busy {
                    (
                        S::SERVICE_UNAVAILABLE,
                        [("x-ms-error-code", "ServerBusy"), ("retry-after", "0")],
                        "",
                    )
                } else {
                    (
                        S::CREATED,
                        [("x-ms-error-code", ""), ("retry-after", "")],
                        "ok",
                    )
                }
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        (format!("http://{addr}/acct/q?sv=1&sig=SECRET"), seen, task)
    }

    fn storage(attempts: u32) -> Storage {
        let retry = crate::client::retry::RetryPolicy {
            max_attempts: attempts,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
        };
        Storage::new(reqwest::Client::new(), retry)
    }

    #[tokio::test]
    async fn busy_answers_are_retried_with_storage_headers() {
        let (url, seen, task) = flaky_server(2).await;
        let reply = storage(4)
            .execute(|http| http.get(url.as_str()))
            .await
            .unwrap();
        assert_eq!(&reply.body[..], b"ok");
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 3);
        for h in &seen {
            assert_eq!(h["x-ms-version"], STORAGE_VERSION);
            let date = h["x-ms-date"].to_str().unwrap();
            assert!(httpdate::parse_http_date(date).is_ok(), "{date}");
            assert!(uuid::Uuid::parse_str(h["x-ms-client-request-id"].to_str().unwrap()).is_ok());
        }
        // Each attempt is its own request.
        assert_ne!(
            seen[0]["x-ms-client-request-id"],
            seen[1]["x-ms-client-request-id"]
        );
        task.abort();
    }

    #[tokio::test]
    async fn retries_run_out_as_throttled() {
        let (url, seen, task) = flaky_server(10).await;
        let err = storage(2)
            .execute(|http| http.get(url.as_str()))
            .await
            .err()
            .unwrap();
        assert!(matches!(err, Error::Throttled { .. }), "{err:?}");
        assert_eq!(seen.lock().unwrap().len(), 2);
        task.abort();
    }

    #[tokio::test]
    async fn connection_failures_are_unreachable_transient_and_url_free() {
        // A port that was free a moment ago: connection refused.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let err = reqwest::Client::new()
            .get(format!("http://127.0.0.1:{port}/acct/q?sig=SECRET"))
            .send()
            .await
            .unwrap_err();
        let mapped = transport_error(err, None);
        // Never sent: retried, but not counted as a post that may have landed.
        assert!(matches!(mapped, Error::Unreachable(_)), "{mapped:?}");
        assert!(mapped.is_transient());
        let text = format!("{mapped} {mapped:?}");
        assert!(
            !text.contains("SECRET") && !text.contains("127.0.0.1"),
            "{text}"
        );
    }
}
