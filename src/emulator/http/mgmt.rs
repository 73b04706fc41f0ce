//! Kusto management endpoints of the emulator: `/v1/rest/mgmt`, `/v1/rest/query`,
//! `/v1/rest/auth/metadata`.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::client::mgmt::V1Table;
use crate::emulator::Shared;

/// A OneApi error response, as Kusto sends them.
pub fn one_api_error(status: StatusCode, code: &str, message: &str) -> Response {
    let at_type = match status.as_u16() {
        401 | 403 => "Kusto.Data.Exceptions.KustoRequestDeniedException",
        404 => "Kusto.Data.Exceptions.EntityNotFoundException",
        s if s >= 500 => "Kusto.Data.Exceptions.KustoServiceException",
        _ => "Kusto.Data.Exceptions.KustoBadRequestException",
    };
    let e = OneApiError {
        status,
        code,
        message,
        at_type,
        at_message: message,
        permanent: status.is_client_error(),
    };
    e.response()
}

/// The fields of a OneApi error body (protocol.md §1.4) where an endpoint sets them itself.
pub struct OneApiError<'a> {
    pub status: StatusCode,
    pub code: &'a str,
    pub message: &'a str,
    pub at_type: &'a str,
    pub at_message: &'a str,
    pub permanent: bool,
}

impl OneApiError<'_> {
    pub fn response(&self) -> Response {
        let body = json!({"error": {
            "code": self.code,
            "message": self.message,
            "@type": self.at_type,
            "@message": self.at_message,
            "@context": {"timestamp": crate::client::wire::format_timestamp(chrono::Utc::now()), "serviceAlias": "KINGEST-EMULATOR"},
            "@permanent": self.permanent,
        }});
        (
            self.status,
            [("x-ms-activity-id", uuid::Uuid::new_v4().to_string())],
            Json(body),
        )
            .into_response()
    }
}

pub(crate) fn tables_response(tables: Vec<V1Table>) -> Response {
    (
        StatusCode::OK,
        [("x-ms-activity-id", uuid::Uuid::new_v4().to_string())],
        Json(json!({"Tables": tables})),
    )
        .into_response()
}

pub(crate) fn authorized(shared: &Shared, headers: &HeaderMap) -> bool {
    let Some(want) = &shared.require_token else {
        return true;
    };
    headers
        .get("authorization")
        .and_then(|h| h.to_str().ok())
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .is_some_and(|t| constant_time_eq(t.trim().as_bytes(), want.as_bytes()))
}

/// Compares without an early exit, so response time does not reveal how much matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Mgmt request bodies beyond this are refused with 413 `PayloadTooLarge` (the code Kusto's
/// REST docs list, `kusto/api/rest/response.md`; the limit is the emulator's own: the docs
/// give none, and the largest body a client sends here is a schema script).
pub const MAX_MGMT_BODY: usize = 4 * 1024 * 1024;

pub(crate) fn unauthorized() -> Response {
    one_api_error(
        StatusCode::UNAUTHORIZED,
        "Unauthorized",
        "This emulator was started with --require-token: send 'Authorization: Bearer <token>'.",
    )
}

/// `POST /v1/rest/mgmt` and `/v1/rest/query`: `{"db","csl","properties"}`.
pub async fn execute(
    State(shared): State<Shared>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    if !authorized(&shared, &headers) {
        return unauthorized();
    }
    let too_large = || {
        one_api_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PayloadTooLarge",
            &format!("The request body exceeds the emulator's limit of {MAX_MGMT_BODY} bytes."),
        )
    };
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_MGMT_BODY as u64) {
        return too_large();
    }
    let Ok(body) = axum::body::to_bytes(body, MAX_MGMT_BODY).await else {
        return too_large();
    };
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        return one_api_error(
            StatusCode::BAD_REQUEST,
            "General_BadRequest",
            "The request body is not JSON.",
        );
    };
    let Some(csl) = req.get("csl").and_then(Value::as_str) else {
        return one_api_error(
            StatusCode::BAD_REQUEST,
            "General_BadRequest",
            "The request body has no 'csl'.",
        );
    };
    let db = req
        .get("db")
        .and_then(Value::as_str)
        .filter(|d| !d.is_empty() && *d != "NetDefaultDB");
    let command = csl
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_lowercase();
    let origin = if shared.control.faults.is_internal(&headers) {
        crate::emulator::metrics::Origin::Dm
    } else {
        crate::emulator::metrics::Origin::Client
    };
    shared
        .control
        .metrics
        .mgmt_command(command.trim_end_matches(';'), origin);
    if let Some(result) = shared
        .control
        .execute(csl.trim().trim_end_matches(';'))
        .await
    {
        return match result {
            Ok(t) => tables_response(vec![t]),
            Err(e) => one_api_error(StatusCode::BAD_REQUEST, e.code, &e.message),
        };
    }
    if let Some(parsed) =
        crate::emulator::engine::ingest_into::parse(csl.trim().trim_end_matches(';'))
    {
        return super::direct::execute(&shared, db, parsed).await;
    }
    match command.trim_end_matches(';') {
        ".get ingestion resources" => {
            let now = chrono::Utc::now();
            match shared.control.status_tables.current(now).await {
                Ok(table) => tables_response(vec![shared.issuer.resources_table(now, &table)]),
                Err(e) => one_api_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "General_InternalServerError",
                    &format!("status table: {e:#}"),
                ),
            }
        }
        ".get kusto identity token" => {
            let mut t = V1Table::new("Table_0", &[("AuthorizationContext", "string")]);
            t.rows.push(vec![
                shared.issuer.identity_token(chrono::Utc::now()).into(),
            ]);
            tables_response(vec![t])
        }
        _ => {
            let result = match shared.engine.lock() {
                Ok(mut engine) => engine.execute(db, csl, chrono::Utc::now()),
                Err(_) => {
                    return one_api_error(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "General_InternalServerError",
                        "engine state poisoned",
                    );
                }
            };
            match result {
                Ok(t) => tables_response(vec![t]),
                Err(e) => one_api_error(
                    StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST),
                    &e.code,
                    &e.message,
                ),
            }
        }
    }
}

/// `GET /metrics`: the counters in Prometheus text format; the mgmt token applies.
pub async fn metrics(State(shared): State<Shared>, headers: HeaderMap) -> Response {
    if !authorized(&shared, &headers) {
        return unauthorized();
    }
    let text = crate::emulator::metrics::prometheus_text(&shared.control.metric_samples());
    (
        StatusCode::OK,
        [("content-type", "text/plain; version=0.0.4; charset=utf-8")],
        text,
    )
        .into_response()
}

/// `GET /v1/rest/auth/metadata`: a sane answer; the emulator itself never checks AAD tokens.
pub async fn auth_metadata(State(shared): State<Shared>) -> Response {
    Json(json!({"AzureAD": {
        "LoginEndpoint": "https://login.microsoftonline.com",
        "LoginMfaRequired": false,
        "KustoClientAppId": "db662dc1-0cfe-4e1c-a843-19a68e65be58",
        "KustoClientRedirectUri": "https://microsoft/kustoclient",
        "KustoServiceResourceId": shared.base_url,
        "FirstPartyAuthorityUrl": "https://login.microsoftonline.com/f8cdef31-a31e-4b4a-93e4-5f571e91255a"
    }, "dSTS": {}}))
    .into_response()
}
