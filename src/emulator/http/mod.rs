//! The emulator's HTTP surface: Kusto mgmt and path-style Azure Storage on one listener, and
//! `GET /metrics` (Prometheus text; not part of the Kusto API).

pub mod direct;
pub mod inject;
pub mod mgmt;
pub mod storage;
pub mod streaming;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, post};

use crate::emulator::Shared;
use crate::emulator::metrics::Origin;

/// Mgmt routes take precedence; every other path goes to the storage router.
pub fn router(shared: Shared, storage_state: storage::StorageState) -> Router {
    let kusto = Router::new()
        .route("/v1/rest/mgmt", post(mgmt::execute))
        .route("/v1/rest/query", post(mgmt::execute))
        .route("/v1/rest/auth/metadata", get(mgmt::auth_metadata))
        .route(
            "/v1/rest/ingest/{database}/{table}",
            post(streaming::ingest),
        )
        // mgmt::execute reads the body itself, with its own limit and a OneApi error.
        .layer(DefaultBodyLimit::disable())
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            mgmt_faults,
        ));
    Router::new()
        .route("/metrics", get(mgmt::metrics))
        .with_state(shared.clone())
        .merge(kusto.with_state(shared))
        .fallback_service(storage::router(storage_state))
}

/// Counts a mgmt request and applies the request faults to it.
async fn mgmt_faults(State(shared): State<Shared>, req: Request, next: Next) -> Response {
    let faults = shared.control.faults.clone();
    let endpoint = match req.uri().path() {
        "/v1/rest/mgmt" => "mgmt",
        "/v1/rest/query" => "query",
        p if p.starts_with("/v1/rest/ingest/") => "ingest",
        _ => "auth-metadata",
    };
    let headers = req.headers().clone();
    let origin = if faults.is_internal(&headers) {
        Origin::Dm
    } else {
        Origin::Client
    };
    shared.control.metrics.mgmt_request(endpoint, origin);
    let busy = |retry_after: u32| {
        let mut r = mgmt::one_api_error(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            // Kusto's subcodes are the HTTP reason phrases (`kusto/api/rest/response.md`, which
            // adds that "any valid HTTP code may be returned").
            "ServiceUnavailable",
            "The service is temporarily unavailable (injected by the emulator's faults); retry later.",
        );
        if let Ok(v) = axum::http::HeaderValue::try_from(retry_after.to_string()) {
            r.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
        }
        r
    };
    inject::apply(&faults, &headers, busy, next.run(req)).await
}
