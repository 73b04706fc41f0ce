//! Shared request context, Azure-shaped error bodies and response helpers.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode};
use chrono::{DateTime, Utc};

use crate::emulator::sas::SasDenied;
use crate::emulator::storage::table::format_timestamp;
use crate::emulator::storage::{StoreError, rfc1123};

/// The `x-ms-version` we answer when the client sent none.
pub const DEFAULT_VERSION: &str = "2025-07-05";

/// How errors are rendered: Blob and Queue speak XML, Table speaks OData JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Xml,
    Json,
}

/// Per-request facts every handler needs.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub now: DateTime<Utc>,
    pub request_id: String,
    pub version: String,
    pub client_request_id: Option<String>,
    /// Decoded query pairs (SAS included).
    pub pairs: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub dialect: Dialect,
}

impl Ctx {
    pub fn query(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `x-ms-meta-*` request headers as metadata.
    pub fn metadata(&self) -> std::collections::BTreeMap<String, String> {
        self.headers
            .iter()
            .filter_map(|(k, v)| {
                let name = k.as_str().strip_prefix("x-ms-meta-")?;
                Some((name.to_string(), v.to_str().ok()?.to_string()))
            })
            .collect()
    }

    /// Integer query parameter; 400 `InvalidQueryParameterValue` when malformed.
    pub fn int_query(&self, name: &str) -> Result<Option<i64>, ApiError> {
        match self.query(name) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse::<i64>()
                .map(Some)
                .map_err(|_| StoreError::invalid_query(name).into()),
        }
    }

    pub fn error(&self, e: ApiError) -> Response<Body> {
        let msg = format!(
            "{}\nRequestId:{}\nTime:{}",
            e.message,
            self.request_id,
            format_timestamp(self.now)
        );
        let (ct, body) = match self.dialect {
            Dialect::Xml => (
                "application/xml",
                format!(
                    "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>{}</Code><Message>{}</Message></Error>",
                    e.code,
                    xml_escape(&msg)
                ),
            ),
            Dialect::Json => (
                "application/json;odata=minimalmetadata;streaming=true;charset=utf-8",
                serde_json::json!({"odata.error":{"code":e.code,"message":{"lang":"en-US","value":msg}}})
                    .to_string(),
            ),
        };
        let mut r = Response::new(Body::from(body));
        *r.status_mut() = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
        set(&mut r, "content-type", ct);
        set(&mut r, "x-ms-error-code", e.code);
        if let Some(ra) = e.retry_after {
            set(&mut r, "retry-after", &ra.to_string());
        }
        self.finish(r)
    }

    /// Adds the headers every storage response carries.
    pub fn finish(&self, mut r: Response<Body>) -> Response<Body> {
        set(&mut r, "x-ms-request-id", &self.request_id);
        set(&mut r, "x-ms-version", &self.version);
        set(&mut r, "date", &rfc1123(self.now));
        set(&mut r, "server", "kingest-emulator");
        if let Some(id) = &self.client_request_id {
            set(&mut r, "x-ms-client-request-id", id);
        }
        r
    }
}

/// An error answer: status, Azure error code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub retry_after: Option<u32>,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }
    pub fn unsupported(what: &str) -> Self {
        ApiError::new(
            400,
            "UnsupportedHttpVerb",
            format!("The resource doesn't support the specified operation: {what}."),
        )
    }
    pub fn missing_header(name: &str) -> Self {
        ApiError::new(
            400,
            "MissingRequiredHeader",
            format!("An HTTP header that's mandatory for this request is not specified: {name}."),
        )
    }
    pub fn invalid_body(what: &str) -> Self {
        ApiError::new(
            400,
            "InvalidXmlDocument",
            format!("XML specified is not syntactically valid: {what}."),
        )
    }
    pub fn too_large(status: u16) -> Self {
        ApiError::new(
            status,
            "RequestBodyTooLarge",
            "The request body is too large and exceeds the maximum permissible limit.",
        )
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::new(e.status, e.code, e.message)
    }
}

impl From<SasDenied> for ApiError {
    fn from(e: SasDenied) -> Self {
        ApiError::new(403, e.code, e.message)
    }
}

pub type ApiResult = Result<Response<Body>, ApiError>;

/// Sets a header, skipping values that are not valid header text (never panics).
pub fn set(r: &mut Response<Body>, name: &str, value: &str) {
    if let (Ok(n), Ok(v)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
        r.headers_mut().insert(n, v);
    }
}

/// A response with a status and an optional body.
pub fn reply(status: u16, body: impl Into<Body>) -> Response<Body> {
    let mut r = Response::new(body.into());
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    r
}

/// An XML response with the declaration Azure sends.
pub fn xml(status: u16, doc: &str) -> Response<Body> {
    let mut r = reply(
        status,
        format!("<?xml version=\"1.0\" encoding=\"utf-8\"?>{doc}"),
    );
    set(&mut r, "content-type", "application/xml");
    r
}

pub fn xml_escape(s: &str) -> String {
    quick_xml::escape::escape(s).into_owned()
}

/// Reads the whole body, refusing more than `limit` bytes with `too_large_status`.
pub async fn read_body(
    body: Body,
    headers: &HeaderMap,
    limit: usize,
    too_large_status: u16,
) -> Result<bytes::Bytes, ApiError> {
    let declared = headers
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(ApiError::too_large(too_large_status));
    }
    axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| ApiError::too_large(too_large_status))
}

/// Container and queue names: 3–63 lower-case letters, digits and single inner dashes.
pub(super) fn check_resource_name(name: &str) -> Result<(), ApiError> {
    let ok = (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--");
    if ok {
        Ok(())
    } else {
        // Azure's own wording, typo included.
        Err(ApiError::new(
            400,
            "InvalidResourceName",
            "The specifed resource name contains invalid characters.",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn body_limits_by_header_and_by_stream() {
        let mut h = HeaderMap::new();
        let ok = read_body(Body::from("12345"), &h, 5, 413).await.unwrap();
        assert_eq!(&ok[..], b"12345");
        let e = read_body(Body::from("123456"), &h, 5, 413)
            .await
            .unwrap_err();
        assert_eq!((e.status, e.code), (413, "RequestBodyTooLarge"));
        h.insert("content-length", HeaderValue::from_static("300000000"));
        let e = read_body(Body::from("1"), &h, 5, 400).await.unwrap_err();
        assert_eq!((e.status, e.code), (400, "RequestBodyTooLarge"));
    }
}
