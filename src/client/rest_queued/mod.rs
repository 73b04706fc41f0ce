//! The DM's REST queued-ingestion API (Preview, DOCS
//! `kusto/management/data-ingestion/queued-ingest-*-http.md`): the wire types ([`wire`]), the
//! client's three calls, and the [`relay`] that serves the API in front of classic queued
//! ingestion (the emulator and `kingest gateway`).

pub mod relay;
pub mod wire;

pub use wire::{
    ApiError, BlobEntry, BlobState, BlobStatus, Configuration, OperationStatus, PostRequest,
    Properties,
};

use crate::client::IngestClient;
use crate::client::deadline::RequestKind;
use crate::client::error::{Error, Result};
use crate::client::retry::RetryPolicy;

/// The REST paths, with `database` and `table` percent-encoded as path segments.
pub fn queued_path(database: &str, table: &str, operation_id: Option<&str>) -> String {
    let enc = |s: &str| {
        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    let mut p = format!("/v1/rest/ingestion/queued/{}/{}", enc(database), enc(table));
    if let Some(op) = operation_id {
        p.push('/');
        p.push_str(&enc(op));
    }
    p
}

pub const CONFIGURATION_PATH: &str = "/v1/rest/ingestion/configuration";

impl IngestClient {
    /// One call of the API and its JSON answer; `what` names it in errors.
    async fn rest_json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<String>,
        what: &str,
    ) -> Result<serde_json::Value> {
        let url = format!("{}{path}", self.ingest_url());
        // A POST is sent once: a lost answer may have queued the blobs, and a second POST
        // would ingest them twice (as `.ingest` commands, see `mgmt_retry`).
        let (kind, retry) = match method {
            reqwest::Method::POST => (RequestKind::IngestCommand, RetryPolicy::none()),
            _ => (RequestKind::Mgmt, self.inner.retry.clone()),
        };
        let (_, _, bytes) = self.kusto_request(method, &url, kind, body, &retry).await?;
        serde_json::from_slice(&bytes)
            .map_err(|e| Error::BadResponse(format!("the {what} answer is not JSON: {e}")))
    }

    /// `GET /v1/rest/ingestion/configuration` on the DM.
    pub async fn rest_configuration(&self) -> Result<Configuration> {
        let v = self
            .rest_json(
                reqwest::Method::GET,
                CONFIGURATION_PATH,
                None,
                "configuration",
            )
            .await?;
        Configuration::from_json(&v).map_err(Error::BadResponse)
    }

    /// `POST /v1/rest/ingestion/queued/{db}/{table}`: the operation id ("" without tracking).
    pub async fn rest_post(
        &self,
        database: &str,
        table: &str,
        req: &PostRequest,
    ) -> Result<String> {
        let body = Some(req.to_json().to_string());
        let path = queued_path(database, table, None);
        let v = self
            .rest_json(reqwest::Method::POST, &path, body, "queued ingestion")
            .await?;
        wire::parse_post_response(&v).map_err(Error::BadResponse)
    }

    /// `GET …/{operationId}?details=true`.
    pub async fn rest_status(
        &self,
        database: &str,
        table: &str,
        operation_id: &str,
    ) -> Result<OperationStatus> {
        let path = format!(
            "{}?details=true",
            queued_path(database, table, Some(operation_id))
        );
        let v = self
            .rest_json(reqwest::Method::GET, &path, None, "status")
            .await?;
        OperationStatus::from_json(&v).map_err(Error::BadResponse)
    }
}
