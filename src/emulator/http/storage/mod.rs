//! Path-style Azure Storage endpoints (`/{account}/{container}/{blob}`, `/{account}/{queue}/messages…`,
//! `/{account}/{table}(…)`) over the in-memory [`Store`], with service SAS checked on every call.
//!
//! One listener serves Blob, Queue and Table, so each request is routed by its shape: the
//! `Tables` endpoint and `(`-addressed entities go to Table, `restype=container` and a SAS
//! with `sr` go to Blob, a SAS with `tn` to Table; otherwise the kind of the existing object of
//! that name decides, and `PUT /{account}/{name}` creates a queue.

mod blob;
mod common;
mod operation;
mod queue;
mod table;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, Response};
use percent_encoding::percent_decode_str;

use common::{ApiError, Ctx, DEFAULT_VERSION, Dialect};

use crate::emulator::faults::Faults;
use crate::emulator::http::inject;
use crate::emulator::metrics::{Metrics, Origin};
use crate::emulator::sas::AccountKey;
use crate::emulator::storage::Store;

pub use blob::MAX_BLOB_BODY;
pub use table::parse_entity_path;

#[derive(Clone)]
pub struct StorageState {
    pub store: Arc<Store>,
    pub account: String,
    pub key: AccountKey,
    pub faults: Arc<Faults>,
    /// Request counters (every request, faulted ones included).
    pub metrics: Arc<Metrics>,
}

/// Router serving every storage path of `state.account`; anything else is 400 `InvalidUri`.
///
/// It has no routes, only a fallback, so mount it with
/// `mgmt_router.fallback_service(storage::router(state))`: explicit routes such as
/// `/v1/rest/mgmt` win, and every other path lands here. (Do not `.merge()` it into a router
/// that has its own fallback: axum refuses to merge two fallbacks.)
pub fn router(state: StorageState) -> axum::Router {
    axum::Router::new().fallback(handle).with_state(state)
}

/// The storage service kind a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Blob,
    Queue,
    Table,
    TablesEndpoint,
}

fn classify(st: &StorageState, ctx: &Ctx, method: &Method, segs: &[String]) -> Kind {
    let first = segs.first().map(String::as_str).unwrap_or("");
    if first == "Tables" && segs.len() == 1 {
        return Kind::TablesEndpoint;
    }
    if first.contains('(') {
        return Kind::Table;
    }
    if ctx.query("restype") == Some("container") || ctx.query("sr").is_some() {
        return Kind::Blob;
    }
    if ctx.query("tn").is_some() {
        return Kind::Table;
    }
    let messages = segs.get(1).is_some_and(|s| s == "messages") && segs.len() <= 3;
    if messages && st.store.queue_exists(first) {
        return Kind::Queue;
    }
    if st.store.queue_exists(first) {
        return Kind::Queue;
    }
    if st.store.container_exists(first) {
        return Kind::Blob;
    }
    if st.store.table_exists(first) {
        return Kind::Table;
    }
    // Nothing of that name: guess from the shape, so the error names the right resource.
    let json = ctx
        .header("content-type")
        .or(ctx.header("accept"))
        .is_some_and(|v| v.contains("json"));
    if messages
        || ctx.query("comp") == Some("metadata")
        || (segs.len() == 1 && method == Method::PUT)
    {
        Kind::Queue
    } else if json && segs.len() == 1 {
        Kind::Table
    } else if segs.len() == 1 {
        Kind::Queue
    } else {
        Kind::Blob
    }
}

fn decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

async fn handle(State(st): State<StorageState>, req: Request) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let pairs: Vec<(String, String)> = parts
        .uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let raw_segs: Vec<&str> = parts.uri.path().split('/').skip(1).collect();
    let header = |n: &str| {
        parts
            .headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let mut ctx = Ctx {
        now: st.store.now(),
        request_id: uuid::Uuid::new_v4().to_string(),
        version: header("x-ms-version").unwrap_or_else(|| DEFAULT_VERSION.to_string()),
        client_request_id: header("x-ms-client-request-id"),
        pairs,
        headers: parts.headers.clone(),
        dialect: Dialect::Xml,
    };
    let account = raw_segs.first().map(|s| decode(s)).unwrap_or_default();
    if account != st.account {
        return ctx.error(ApiError::new(
            400,
            "InvalidUri",
            "The requested URI does not represent any resource on the server.",
        ));
    }
    // Object name segments after the account; a trailing empty segment (`/q/`) is dropped.
    let mut segs: Vec<String> = raw_segs[1..].iter().map(|s| decode(s)).collect();
    if segs.last().is_some_and(String::is_empty) {
        segs.pop();
    }
    if segs.is_empty() {
        return ctx.error(ApiError::new(
            400,
            "InvalidUri",
            "Account-level operations are not supported by the emulator.",
        ));
    }
    let kind = classify(&st, &ctx, &parts.method, &segs);
    if matches!(kind, Kind::Table | Kind::TablesEndpoint) {
        ctx.dialect = Dialect::Json;
    }
    let method = &parts.method;
    let (service, resource, op) = operation::operation(kind, method, &segs, &ctx);
    let internal = st.faults.is_internal(&parts.headers);
    let origin = if internal { Origin::Dm } else { Origin::Client };
    st.metrics.storage_request(service, &resource, op, origin);
    let busy = |retry_after: u32| {
        let mut e = ApiError::new(
            503,
            "ServerBusy",
            "The server is currently unable to receive requests. Please retry your request.",
        );
        e.retry_after = Some(retry_after);
        ctx.error(e)
    };
    let dispatch = dispatch(&st, &ctx, method, kind, &segs, &raw_segs, body);
    inject::apply(&st.faults, &parts.headers, busy, dispatch).await
}

async fn dispatch(
    st: &StorageState,
    ctx: &Ctx,
    method: &Method,
    kind: Kind,
    segs: &[String],
    raw_segs: &[&str],
    body: Body,
) -> Response<Body> {
    let result = match kind {
        Kind::TablesEndpoint => table::handle_tables(st, ctx, method, body).await,
        Kind::Table if segs.len() == 1 => table::handle(st, ctx, method, &segs[0], body).await,
        Kind::Table => Err(ApiError::new(
            400,
            "InvalidUri",
            "Unexpected path below a table.",
        )),
        Kind::Queue => queue::handle(st, ctx, method, &segs[0], &segs[1..], body).await,
        Kind::Blob => {
            // Blob names keep their `/`: re-join the raw segments, then decode once.
            let name = (raw_segs.len() > 2).then(|| decode(&raw_segs[2..].join("/")));
            blob::handle(st, ctx, method, &segs[0], name.as_deref(), body).await
        }
    };
    match result {
        Ok(r) => ctx.finish(r),
        Err(e) => {
            tracing::debug!(status = e.status, code = e.code, "storage request refused");
            ctx.error(e)
        }
    }
}
