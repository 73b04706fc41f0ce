//! The REST queued-ingestion API's HTTP surface (`/v1/rest/ingestion/…`), served by the
//! emulator and by `kingest gateway` alike: routing, the bearer-token rule, body limits and
//! OneApi errors here; the work in a [`Relay`].

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::client::rest_queued::CONFIGURATION_PATH;
use crate::client::rest_queued::relay::Relay;
use crate::client::rest_queued::wire::{ApiError, PostRequest, post_response};
use crate::emulator::http::mgmt::{bearer_ok, one_api_error};

/// POST bodies beyond this are refused with 413: twenty blob URLs and their properties
/// need a few kilobytes; the limit is the emulator's own (the docs give none).
pub const MAX_POST_BODY: usize = 1024 * 1024;

/// What the routes share.
pub struct RestApi {
    pub relay: Relay,
    /// The bearer token every request must carry, if any.
    pub token: Option<String>,
    /// Said in the 401 answer: how this server was told to want a token.
    pub token_hint: &'static str,
}

type Api = State<Arc<RestApi>>;

fn error(e: &ApiError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    one_api_error(status, &e.code, &e.message)
}

fn json(v: serde_json::Value) -> Response {
    (
        StatusCode::OK,
        [("x-ms-activity-id", uuid::Uuid::new_v4().to_string())],
        axum::Json(v),
    )
        .into_response()
}

/// The 401 for a request without the right token, else `None`.
fn refuse(api: &RestApi, headers: &HeaderMap) -> Option<Response> {
    (!bearer_ok(api.token.as_deref(), headers)).then(|| {
        one_api_error(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            &format!("{}: send 'Authorization: Bearer <token>'.", api.token_hint),
        )
    })
}

pub fn router(api: Arc<RestApi>) -> Router {
    Router::new()
        .route(CONFIGURATION_PATH, get(configuration))
        .route("/v1/rest/ingestion/queued/{database}/{table}", post(ingest))
        .route(
            "/v1/rest/ingestion/queued/{database}/{table}/{operation}",
            get(status),
        )
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(api)
}

async fn configuration(State(api): Api, headers: HeaderMap) -> Response {
    if let Some(r) = refuse(&api, &headers) {
        return r;
    }
    match api.relay.configuration().await {
        Ok(c) => json(c.to_json()),
        Err(e) => error(&e),
    }
}

async fn ingest(
    State(api): Api,
    Path((database, table)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    if let Some(r) = refuse(&api, &headers) {
        return r;
    }
    let Ok(body) = axum::body::to_bytes(body, MAX_POST_BODY).await else {
        return one_api_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PayloadTooLarge",
            &format!("The request body exceeds {MAX_POST_BODY} bytes."),
        );
    };
    let req = match PostRequest::parse(&body, api.relay.max_blobs()) {
        Ok(r) => r,
        Err(e) => return error(&e),
    };
    match api.relay.post(&database, &table, req).await {
        Ok(id) => json(post_response(&id)),
        Err(e) => error(&e),
    }
}

#[derive(serde::Deserialize)]
struct StatusQuery {
    #[serde(default)]
    details: Option<String>,
}

async fn status(
    State(api): Api,
    Path((database, table, operation)): Path<(String, String, String)>,
    Query(q): Query<StatusQuery>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = refuse(&api, &headers) {
        return r;
    }
    let details = q
        .details
        .as_deref()
        .is_some_and(|d| d.trim().eq_ignore_ascii_case("true"));
    match api
        .relay
        .status(&database, &table, &operation, details)
        .await
    {
        Ok(s) => json(s.to_json()),
        Err(e) => error(&e),
    }
}
