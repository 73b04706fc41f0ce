//! The DM worker: dequeue ingestion messages, batch, download, ingest, notify, update status.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::client::storage::{SasUrl, Storage};
use crate::emulator::engine::Engine;

/// Produces a URL with read+delete rights for a blob the DM was told about (the DM owns the
/// account key, as the real service does).
pub type BlobAdmin = Arc<dyn Fn(&SasUrl) -> Option<SasUrl> + Send + Sync>;
/// Tells whether an `authorizationContext` was issued by this service.
pub type TokenCheck = Arc<dyn Fn(&str) -> bool + Send + Sync>;

pub struct DmConfig {
    pub storage: Storage,
    pub ingest_queues: Vec<SasUrl>,
    pub success_queues: Vec<SasUrl>,
    pub failure_queues: Vec<SasUrl>,
    pub engine: Arc<Mutex<Engine>>,
    pub blob_admin: BlobAdmin,
    pub token_check: TokenCheck,
    /// How long a batch stays open unless `FlushImmediately`.
    pub batch_window: Duration,
    /// How often to poll the ingestion queues when they were empty.
    pub poll_interval: Duration,
}

/// Runs the worker until `shutdown` fires.
pub async fn run(cfg: DmConfig, shutdown: CancellationToken) {
    let _ = (cfg.batch_window, shutdown);
    todo!()
}
