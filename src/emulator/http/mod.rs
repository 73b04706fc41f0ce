//! The emulator's HTTP surface: Kusto mgmt and path-style Azure Storage on one listener.

pub mod mgmt;
pub mod storage;

use axum::Router;
use axum::routing::{get, post};

use crate::emulator::Shared;

/// Mgmt routes take precedence; every other path goes to the storage router.
pub fn router(shared: Shared, storage_state: storage::StorageState) -> Router {
    Router::new()
        .route("/v1/rest/mgmt", post(mgmt::execute))
        .route("/v1/rest/query", post(mgmt::execute))
        .route("/v1/rest/auth/metadata", get(mgmt::auth_metadata))
        .with_state(shared)
        .fallback_service(storage::router(storage_state))
}
