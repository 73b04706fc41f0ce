//! The shared client: everything that speaks to the Kusto DM service and Azure Storage. Used by
//! the TUI, the headless CLI and the emulator's worker. Knows nothing about terminals.

pub mod auth;
pub mod error;
pub mod error_codes;
pub mod mgmt;
pub mod notifications;
pub mod redact;
pub mod resources;
pub mod retry;
pub mod storage;
pub mod submit;
pub mod wire;

pub use error::{Error, Result};
pub use notifications::ReceivedNotification;
pub use resources::{IngestionResources, Resource, ResourceKind};
pub use submit::{Progress, SubmitRequest, Submitted};

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::client::mgmt::V1Table;
use crate::client::notifications::{DiscardReport, DiscardSelector};
use crate::client::retry::RetryPolicy;
use crate::client::storage::SasUrl;
use crate::client::wire::{NotificationKind, StatusEntity};

/// Called with upload progress; must be cheap.
pub type ProgressFn = Arc<dyn Fn(Progress) + Send + Sync>;

/// How to authenticate to the Kusto endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum AuthMethod {
    /// Token if given, none for a loopback endpoint, else the Azure CLI.
    #[default]
    Auto,
    Cli,
    ManagedIdentity {
        client_id: Option<String>,
    },
    ClientSecret {
        tenant_id: String,
        client_id: String,
        secret: auth::Secret,
    },
    WorkloadIdentity,
    Token(auth::Secret),
    None,
}

#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The DM (ingest) endpoint, e.g. `https://ingest-x.region.kusto.windows.net` or the emulator URL.
    pub ingest_url: String,
    pub auth: AuthMethod,
    /// Per-request timeout.
    pub timeout: Duration,
    pub retry: RetryPolicy,
}

/// The one client all front doors use. Cheap to clone.
#[derive(Clone)]
pub struct IngestClient {
    _private: (),
}

#[allow(unused_variables)]
impl IngestClient {
    pub fn new(cfg: ClientConfig) -> Result<Self> {
        todo!()
    }
    pub fn ingest_url(&self) -> &str {
        todo!()
    }
    /// Cached resources and identity token (1 h).
    pub async fn resources(&self) -> Result<Arc<IngestionResources>> {
        todo!()
    }
    /// Fetch resources and token now, replacing the cache.
    pub async fn refresh_resources(&self) -> Result<Arc<IngestionResources>> {
        todo!()
    }
    /// Approximate message count of every queue resource.
    pub async fn queue_depths(&self) -> Result<Vec<(Resource, Result<u64>)>> {
        todo!()
    }
    /// Upload and enqueue one source.
    pub async fn submit(&self, req: SubmitRequest, progress: ProgressFn) -> Result<Submitted> {
        todo!()
    }
    /// Read one status entity.
    pub async fn table_status(
        &self,
        table: &SasUrl,
        partition_key: &str,
        row_key: &str,
    ) -> Result<Option<StatusEntity>> {
        todo!()
    }
    /// Peek up to `n` notifications across all queues of `kind`; changes nothing.
    pub async fn peek(
        &self,
        kind: NotificationKind,
        n: usize,
    ) -> Result<Vec<ReceivedNotification>> {
        todo!()
    }
    /// Receive (dequeue) up to `n` with a visibility timeout.
    pub async fn receive(
        &self,
        kind: NotificationKind,
        n: usize,
        visibility: Duration,
    ) -> Result<Vec<ReceivedNotification>> {
        todo!()
    }
    /// Delete one received notification by its pop receipt.
    pub async fn delete(&self, msg: &ReceivedNotification) -> Result<()> {
        todo!()
    }
    /// Receive, append matching ones to `archive` (JSON lines, flushed), then delete them.
    pub async fn discard(
        &self,
        kind: NotificationKind,
        selector: DiscardSelector,
        archive: &Path,
    ) -> Result<DiscardReport> {
        todo!()
    }
    /// A management command on the ingest endpoint.
    pub async fn mgmt(&self, database: &str, csl: &str) -> Result<Vec<V1Table>> {
        todo!()
    }
}
