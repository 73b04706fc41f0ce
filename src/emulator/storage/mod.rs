//! In-memory Azure Storage: blob containers, queues (visibility timeouts, pop receipts, dequeue
//! counts, TTL) and tables.
//!
//! Every operation takes `now` explicitly so tests can move time without sleeping; the HTTP
//! layer reads it from [`Store::now`], which uses the injected [`Clock`].

pub mod blob;
pub mod queue;
pub mod table;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};

pub use blob::{Blob, BlobHeaders, BlobProps, BlockListItem};
pub use queue::{MessageView, PutOptions};
pub use table::{Entity, TableWrite};

/// Source of the current time for the HTTP layer.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// Why a storage operation failed, with the Azure status and error code to answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct StoreError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

impl StoreError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        StoreError {
            status,
            code,
            message: message.into(),
        }
    }
    pub fn out_of_range(param: &str) -> Self {
        Self::new(
            400,
            "OutOfRangeQueryParameterValue",
            format!(
                "One of the query parameters specified in the request URI is outside the permissible range: {param}."
            ),
        )
    }
    pub fn invalid_query(param: &str) -> Self {
        Self::new(
            400,
            "InvalidQueryParameterValue",
            format!(
                "Value for one of the query parameters specified in the request URI is invalid: {param}."
            ),
        )
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

pub struct Store {
    clock: Clock,
    containers: Mutex<HashMap<String, blob::Container>>,
    queues: Mutex<HashMap<String, queue::Queue>>,
    /// Keyed by the lower-cased name: table names are case-insensitive.
    tables: Mutex<HashMap<String, table::Table>>,
    /// Last table timestamp handed out, so ETags stay unique under a frozen clock.
    last_table_ts: Mutex<DateTime<Utc>>,
}

impl Default for Store {
    fn default() -> Self {
        Store::with_clock(Arc::new(Utc::now))
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("containers", &lock(&self.containers).len())
            .field("queues", &lock(&self.queues).len())
            .field("tables", &lock(&self.tables).len())
            .finish()
    }
}

/// Locks a mutex, recovering from poisoning: the data stays structurally valid because every
/// critical section leaves it consistent before anything that could panic.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Store {
    pub fn new() -> Self {
        Store::default()
    }

    /// A store whose HTTP layer reads time from `clock` (tests use a settable clock).
    pub fn with_clock(clock: Clock) -> Self {
        Store {
            clock,
            containers: Mutex::default(),
            queues: Mutex::default(),
            tables: Mutex::default(),
            last_table_ts: Mutex::new(DateTime::<Utc>::MIN_UTC),
        }
    }

    /// The current time according to the injected clock.
    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    /// Creates the container if missing (idempotent).
    pub fn create_container(&self, name: &str) {
        let _ = self.create_container_at(name, self.now());
    }

    /// Creates the queue if missing (idempotent).
    pub fn create_queue(&self, name: &str) {
        let _ = self.create_queue_with(name, Default::default());
    }

    /// Creates the table if missing (idempotent).
    pub fn create_table(&self, name: &str) {
        let _ = self.create_table_checked(name);
    }

    pub fn container_exists(&self, name: &str) -> bool {
        lock(&self.containers).contains_key(name)
    }

    pub fn queue_exists(&self, name: &str) -> bool {
        lock(&self.queues).contains_key(name)
    }

    pub fn table_exists(&self, name: &str) -> bool {
        lock(&self.tables).contains_key(&name.to_ascii_lowercase())
    }
}

/// RFC 1123 (`Fri, 09 Oct 2009 21:04:30 GMT`), as Blob and Queue headers and XML use.
pub fn rfc1123(t: DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// Azure's opaque strong ETag for blobs and containers (`"0x8D…"`), unique per write.
pub(crate) fn new_etag() -> String {
    let id = uuid::Uuid::new_v4();
    let b = id.as_bytes();
    format!(
        "\"0x8D{}\"",
        b[..7]
            .iter()
            .map(|x| format!("{x:02X}"))
            .collect::<String>()
    )
}
