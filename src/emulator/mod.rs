//! `kingest emulator`: a local Kusto Data Management service with the Azure Storage subset it
//! needs, over real HTTP. One listener serves mgmt (`/v1/rest/…`) and path-style storage
//! (`/{account}/…`); a DM worker consumes the ingestion queue through the same HTTP client the
//! CLI and TUI use, so it can equally run against Azurite (`--storage`).

pub mod connection;
pub mod control;
pub mod dm;
pub mod engine;
pub mod faults;
pub mod http;
pub mod metrics;
pub mod sas;
pub mod status_tables;
pub mod storage;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use crate::client::mgmt::V1Table;
use crate::client::retry::RetryPolicy;
use crate::client::storage::{SasUrl, Storage};
use connection::StorageAccount;
use engine::Engine;
use sas::{AccountKey, SasResource, ServiceSas};

/// The built-in storage account's name and key (fixed, so URLs are predictable across runs).
pub const DEFAULT_ACCOUNT: &str = "kingestemu";
pub const DEFAULT_KEY: &str =
    "a2luZ2VzdC1lbXVsYXRvci1hY2NvdW50LWtleS1ub3QtYS1zZWNyZXQtMDEyMzQ1Njc4OQ==";

/// Object names, as a real DM names them.
const INGEST_QUEUES: [&str; 2] = [
    "readyforaggregation-secured",
    "readyforaggregation-secured-2",
];
const TEMP_CONTAINERS: [&str; 2] = ["tempstorage", "tempstorage-2"];
const SUCCESS_QUEUE: &str = "successfulingestions";
const FAILURE_QUEUE: &str = "failedingestions";
/// Lifetime of the SAS URLs handed out by `.get ingestion resources`.
const SAS_LIFETIME: chrono::TimeDelta = chrono::TimeDelta::hours(24);
/// Status-table SAS: a real DM's lasts about four days (see `status_tables`).
const STATUS_SAS_LIFETIME: chrono::TimeDelta = chrono::TimeDelta::days(4);
const INTERNAL_SAS_LIFETIME: chrono::TimeDelta = chrono::TimeDelta::days(3650);

#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    pub listen: SocketAddr,
    /// A schema script (Kusto commands) to run at start.
    pub schema: Option<String>,
    /// An Azure Storage connection string to use instead of the built-in storage.
    pub storage: Option<String>,
    /// Replaces MaximumBatchingTimeSpan of every IngestionBatching policy (default, database
    /// and table) when set; `None` keeps the service's (5 minutes unless a policy says
    /// otherwise). Item-count and size limits still apply.
    pub batch_window: Option<Duration>,
    pub require_token: Option<String>,
    /// How often the DM polls its queues when idle.
    pub poll_interval: Duration,
    /// Time-to-live of success/failure notifications (`None`: 7 days, as Azure).
    pub notification_ttl: Option<Duration>,
    /// SAS permissions of the notification queues handed to clients: `rp` as a real DM
    /// issues them; tests ask `rpu` to exercise Update Message.
    pub notification_queue_permissions: String,
    /// SAS permissions of the status table handed to clients: `raud` as a real DM (see
    /// `status_tables`); tests ask `aud` to see a client refuse the cluster-wide scan.
    pub status_table_permissions: String,
    /// Faults injected from the start (changeable later through [`Emulator::faults`]).
    pub faults: faults::FaultConfig,
    /// Sign the built-in storage's SAS with a key made for this run instead of the fixed,
    /// published [`DEFAULT_KEY`] (set when the emulator listens beyond loopback).
    pub random_account_key: bool,
    /// Attempts and back-off for transient ingest failures.
    pub ingest_retry: dm::RetrySettings,
    /// `None`: a new status table each UTC day, as the service; `Some(d)`: every `d`.
    pub status_table_rotation: Option<Duration>,
    /// The cluster's streaming ingestion feature and its size limit.
    pub streaming: http::streaming::StreamingConfig,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            schema: None,
            storage: None,
            batch_window: None,
            require_token: None,
            poll_interval: Duration::from_millis(250),
            notification_ttl: None,
            notification_queue_permissions: "rp".into(),
            status_table_permissions: "raud".into(),
            faults: faults::FaultConfig::default(),
            random_account_key: false,
            ingest_retry: dm::RetrySettings::default(),
            status_table_rotation: None,
            streaming: http::streaming::StreamingConfig::default(),
        }
    }
}

/// Signs the SAS URLs handed to clients and to the DM worker.
pub struct Issuer {
    pub account: StorageAccount,
    pub key: AccountKey,
    /// Permissions of the notification queues' SAS in `.get ingestion resources`.
    pub notification_permissions: String,
    /// Permissions of the status table's SAS in `.get ingestion resources`.
    pub status_table_permissions: String,
    /// Every SAS signature and identity token handed out, newest last (bounded): so a test
    /// can scan a client's output for any secret the service gave it.
    issued: std::sync::Mutex<std::collections::VecDeque<String>>,
    /// The identity token handed out now and when it was made.
    identity: std::sync::Mutex<Option<(DateTime<Utc>, String)>>,
}

impl Issuer {
    /// A service SAS token for `resource`, valid for `lifetime`.
    fn token(
        &self,
        resource: SasResource,
        permissions: &str,
        now: DateTime<Utc>,
        lifetime: chrono::TimeDelta,
    ) -> String {
        let token = ServiceSas {
            account: self.account.name.clone(),
            resource,
            permissions: permissions.to_string(),
            start: Some(now - chrono::TimeDelta::minutes(5)),
            expiry: now + lifetime,
        }
        .token(&self.key);
        if let Some((_, sig)) =
            url::form_urlencoded::parse(token.as_bytes()).find(|(k, _)| k == "sig")
        {
            self.remember(sig.into_owned());
        }
        token
    }

    /// A `.get kusto identity token` answer: the same token for an hour, then a new one
    /// (the SDKs cache it that long: azure-kusto-python `_resource_manager`'s refresh period),
    /// so every client of the hour holds the same one, as clients of the service do.
    pub fn identity_token(&self, now: DateTime<Utc>) -> String {
        let mut current = self.identity.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((at, token)) = current.as_ref()
            && now - *at < chrono::TimeDelta::hours(1)
            && *at <= now
        {
            return token.clone();
        }
        let token = crate::emulator::sas::identity_token(&self.key, now);
        *current = Some((now, token.clone()));
        self.remember(token.clone());
        token
    }

    fn remember(&self, secret: String) {
        const KEEP: usize = 10_000;
        let mut issued = self.issued.lock().unwrap_or_else(|e| e.into_inner());
        if !issued.contains(&secret) {
            issued.push_back(secret);
            if issued.len() > KEEP {
                issued.pop_front();
            }
        }
    }

    /// Every SAS signature (decoded) and identity token issued so far.
    pub fn issued_secrets(&self) -> Vec<String> {
        let issued = self.issued.lock().unwrap_or_else(|e| e.into_inner());
        issued.iter().cloned().collect()
    }

    /// The URL of a queue, container or table on its service's endpoint, with a service SAS
    /// (for a blob: its container's URL carrying the blob's token).
    fn url(
        &self,
        resource: SasResource,
        permissions: &str,
        now: DateTime<Utc>,
        lifetime: chrono::TimeDelta,
    ) -> String {
        let path = match &resource {
            SasResource::Queue { queue } => format!("{}/{queue}", self.account.queue_endpoint),
            SasResource::Container { container } | SasResource::Blob { container, .. } => {
                format!("{}/{container}", self.account.blob_endpoint)
            }
            SasResource::Table { table } => format!("{}/{table}", self.account.table_endpoint),
        };
        format!(
            "{path}?{}",
            self.token(resource, permissions, now, lifetime)
        )
    }

    /// A queue URL as handed to clients (valid a day).
    pub fn queue_url(&self, queue: &str, permissions: &str, now: DateTime<Utc>) -> String {
        self.url(
            SasResource::Queue {
                queue: queue.into(),
            },
            permissions,
            now,
            SAS_LIFETIME,
        )
    }

    /// The DM worker's own queue access: a real DM holds the account key, so these URLs must
    /// outlive any run of the emulator.
    fn internal_queue_url(&self, queue: &str, permissions: &str, now: DateTime<Utc>) -> String {
        let resource = SasResource::Queue {
            queue: queue.into(),
        };
        self.url(resource, permissions, now, INTERNAL_SAS_LIFETIME)
    }

    /// A read+delete URL for a blob of this account (the DM's own access), else `None`.
    pub fn blob_admin_url(&self, blob: &SasUrl, now: DateTime<Utc>) -> Option<SasUrl> {
        let base = SasUrl::parse(&self.account.blob_endpoint).ok()?;
        if blob.account() != self.account.name
            || !blob.without_query().starts_with(&base.without_query())
        {
            return None;
        }
        let name = blob.sub_path();
        let resource = SasResource::Blob {
            container: blob.object_name(),
            blob: name.clone(),
        };
        // `child` percent-encodes the blob name into the path.
        Some(
            SasUrl::parse(&self.url(resource, "rd", now, SAS_LIFETIME))
                .ok()?
                .child(&name),
        )
    }

    /// `.get ingestion resources`: the five resource types with fresh SAS URLs, as a real DM
    /// scopes them (ingestion queue add-only; notification queues read+process; temp
    /// containers create/write plus read for the DM's download; the current status table
    /// read/add/update/delete for four days, as in the Java SDK's fixtures).
    pub fn resources_table(&self, now: DateTime<Utc>, status_table: &str) -> V1Table {
        let mut t = V1Table::new(
            "Table_0",
            &[("ResourceTypeName", "string"), ("StorageRoot", "string")],
        );
        let mut push = |kind: &str, url: String| t.rows.push(vec![kind.into(), url.into()]);
        for q in INGEST_QUEUES {
            push(
                "SecuredReadyForAggregationQueue",
                self.queue_url(q, "a", now),
            );
        }
        push(
            "FailedIngestionsQueue",
            self.queue_url(FAILURE_QUEUE, &self.notification_permissions, now),
        );
        push(
            "SuccessfulIngestionsQueue",
            self.queue_url(SUCCESS_QUEUE, &self.notification_permissions, now),
        );
        for c in TEMP_CONTAINERS {
            let container = SasResource::Container {
                container: c.into(),
            };
            push("TempStorage", self.url(container, "rcw", now, SAS_LIFETIME));
        }
        push(
            "IngestionsStatusTable",
            self.url(
                SasResource::Table {
                    table: status_table.into(),
                },
                &self.status_table_permissions,
                now,
                STATUS_SAS_LIFETIME,
            ),
        );
        t
    }
}

/// The REST queued API of the DM: a relay into this emulator's own ingestion queues (over
/// HTTP, marked internal so injected faults spare it, with the required token if any), so its
/// blobs go through the DM worker's batching and ingestion like any queued message. An
/// unknown database or table is refused before anything is queued, with the DM's ingestion
/// codes (DOCS `kusto/error-codes.md`: `BadRequest_DatabaseNotExist`, `…TableNotExist`).
fn rest_queued_api(
    base_url: &str,
    engine: &Arc<Mutex<Engine>>,
    token: Option<&str>,
    internal_token: &str,
) -> anyhow::Result<http::rest_queued::RestApi> {
    use crate::client::rest_queued::ApiError;
    let mut cfg = crate::client::ClientConfig::unauthenticated(base_url);
    if let Some(t) = token {
        cfg.auth = crate::client::AuthMethod::Token(crate::client::auth::Secret::new(t));
    }
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        faults::INTERNAL_HEADER,
        reqwest::header::HeaderValue::from_str(internal_token)?,
    );
    let client = crate::client::IngestClient::with_default_headers(cfg, headers)?;
    let engine = engine.clone();
    let check = move |database: &str, table: &str| -> Result<(), ApiError> {
        let e = engine.lock().unwrap_or_else(|e| e.into_inner());
        if !e.database_exists(database) {
            return Err(ApiError::not_found(
                "BadRequest_DatabaseNotExist",
                format!("database '{database}' does not exist"),
            ));
        }
        if e.row_count(database, table).is_none() {
            return Err(ApiError::not_found(
                "BadRequest_TableNotExist",
                format!("table '{table}' does not exist in database '{database}'"),
            ));
        }
        Ok(())
    };
    Ok(http::rest_queued::RestApi {
        relay: crate::client::rest_queued::relay::Relay::new(client, Some(Arc::new(check))),
        token: token.map(str::to_string),
        token_hint: "This emulator was started with --require-token",
    })
}

/// State shared by the HTTP handlers.
#[derive(Clone)]
pub struct Shared {
    pub issuer: Arc<Issuer>,
    pub engine: Arc<Mutex<Engine>>,
    pub require_token: Option<String>,
    pub base_url: String,
    pub control: Arc<control::Control>,
    /// `.ingest-from-storage-queued` and its companions (run by the DM).
    pub bulk: Arc<dm::bulk::BulkService>,
    /// The REST queued-ingestion API (`/v1/rest/ingestion/…`).
    pub rest_queued: Arc<http::rest_queued::RestApi>,
    pub streaming: http::streaming::StreamingConfig,
}

/// A running emulator. Dropping it does not stop it: call [`Emulator::shutdown`].
pub struct Emulator {
    url: String,
    storage_account: String,
    pub engine: Arc<Mutex<Engine>>,
    control: Arc<control::Control>,
    issuer: Arc<Issuer>,
    cancel: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Emulator {
    /// Binds, creates the storage objects, runs the schema and starts the DM worker.
    pub async fn start(cfg: EmulatorConfig) -> anyhow::Result<Emulator> {
        let listener = tokio::net::TcpListener::bind(cfg.listen)
            .await
            .with_context(|| format!("cannot listen on {}", cfg.listen))?;
        let addr = listener.local_addr()?;
        let base_url = format!("http://{addr}");

        let mut engine = Engine::new();
        engine.set_batching_time_override(cfg.batch_window);
        if let Some(schema) = &cfg.schema {
            engine
                .load_script(schema)
                .map_err(|e| anyhow::anyhow!("schema: {}", e.message))?;
        }
        let engine = Arc::new(Mutex::new(engine));

        let faults = Arc::new(faults::Faults::default());
        faults.set(cfg.faults.clone());
        let metrics = Arc::new(metrics::Metrics::new());
        // The DM's own requests carry the faults' internal token: exempt from faults.
        let mut internal = reqwest::header::HeaderMap::new();
        internal.insert(
            faults::INTERNAL_HEADER,
            reqwest::header::HeaderValue::from_str(faults.internal_token())?,
        );
        let storage_client = Storage::new(
            reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(5))
                .default_headers(internal)
                .build()?,
            RetryPolicy::default(),
        );
        let store = Arc::new(storage::Store::new());
        let (account, key) = match &cfg.storage {
            None => {
                let key = if cfg.random_account_key {
                    use base64::Engine as _;
                    let bytes: [u8; 64] = rand::random();
                    base64::engine::general_purpose::STANDARD.encode(bytes)
                } else {
                    DEFAULT_KEY.to_string()
                };
                (
                    StorageAccount::path_style(&base_url, DEFAULT_ACCOUNT),
                    AccountKey::from_base64(&key).map_err(anyhow::Error::msg)?,
                )
            }
            Some(cs) => {
                let (acct, key) = connection::parse(cs)?;
                (
                    acct,
                    AccountKey::from_base64(&key)
                        .map_err(|e| anyhow::anyhow!("AccountKey: {e}"))?,
                )
            }
        };
        let issuer = Arc::new(Issuer {
            account,
            key,
            notification_permissions: cfg.notification_queue_permissions.clone(),
            status_table_permissions: cfg.status_table_permissions.clone(),
            issued: Default::default(),
            identity: Default::default(),
        });

        let storage_state = http::storage::StorageState {
            store: store.clone(),
            account: DEFAULT_ACCOUNT.to_string(),
            key: issuer.key.clone(),
            faults: faults.clone(),
            metrics: metrics.clone(),
        };
        // The storage routes serve before the objects exist: creating them in an external
        // account goes over HTTP, the built-in store is filled directly.
        let cancel = CancellationToken::new();
        let mut tasks = Vec::new();

        // Storage objects: directly in the built-in store, over HTTP for an external account.
        let now = Utc::now();
        let table_home = if cfg.storage.is_none() {
            for q in INGEST_QUEUES.iter().chain([&SUCCESS_QUEUE, &FAILURE_QUEUE]) {
                store.create_queue(q);
            }
            for c in TEMP_CONTAINERS {
                store.create_container(c);
            }
            status_tables::TableHome::Builtin(store.clone())
        } else {
            connection::create_queues_and_containers(
                &storage_client,
                &issuer,
                &INGEST_QUEUES,
                &TEMP_CONTAINERS,
                &[SUCCESS_QUEUE, FAILURE_QUEUE],
            )
            .await
            .context("creating queues and containers in the external storage")?;
            status_tables::TableHome::External {
                storage: storage_client.clone(),
                issuer: issuer.clone(),
            }
        };
        let status_tables =
            status_tables::StatusTables::start(table_home, cfg.status_table_rotation, now)
                .await
                .context("creating the status table")?;
        let parse = |s: String| SasUrl::parse(&s).map_err(|e| anyhow::anyhow!("{e}"));
        let control = Arc::new(control::Control {
            faults: faults.clone(),
            metrics: metrics.clone(),
            status_tables: Arc::new(status_tables),
            storage: storage_client.clone(),
            success_queue: parse(issuer.internal_queue_url(SUCCESS_QUEUE, "a", now))?,
            failure_queue: parse(issuer.internal_queue_url(FAILURE_QUEUE, "a", now))?,
            notification_ttl: cfg.notification_ttl,
        });
        let bulk_ops = Arc::new(dm::bulk::BulkOps::default());
        let token_issuer = issuer.clone();
        let bulk = Arc::new(dm::bulk::BulkService::new(
            bulk_ops.clone(),
            storage_client.clone(),
            engine.clone(),
            INGEST_QUEUES
                .iter()
                .map(|q| parse(issuer.internal_queue_url(q, "a", now)))
                .collect::<anyhow::Result<_>>()?,
            Arc::new(move || token_issuer.identity_token(Utc::now())),
        ));
        let shared = Shared {
            issuer: issuer.clone(),
            engine: engine.clone(),
            require_token: cfg.require_token.clone(),
            base_url: base_url.clone(),
            control: control.clone(),
            bulk,
            rest_queued: Arc::new(rest_queued_api(
                &base_url,
                &engine,
                cfg.require_token.as_deref(),
                faults.internal_token(),
            )?),
            streaming: cfg.streaming,
        };
        let app = http::router(shared, storage_state);
        let server_cancel = cancel.clone();
        tasks.push(tokio::spawn(async move {
            let serve =
                axum::serve(listener, app).with_graceful_shutdown(server_cancel.cancelled_owned());
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "emulator HTTP server stopped");
            }
        }));

        let dm_issuer = issuer.clone();
        let token_key = issuer.key.clone();
        let dm = dm::DmConfig {
            storage: storage_client,
            ingest_queues: INGEST_QUEUES
                .iter()
                .map(|q| parse(issuer.internal_queue_url(q, "rp", now)))
                .collect::<anyhow::Result<_>>()?,
            success_queues: vec![parse(issuer.internal_queue_url(SUCCESS_QUEUE, "a", now))?],
            failure_queues: vec![parse(issuer.internal_queue_url(FAILURE_QUEUE, "a", now))?],
            engine: engine.clone(),
            blob_admin: Arc::new(move |blob| dm_issuer.blob_admin_url(blob, Utc::now())),
            token_check: Arc::new(move |t| sas::check_identity_token(&token_key, t, Utc::now())),
            faults,
            metrics,
            retry: cfg.ingest_retry,
            own_account: issuer.account.name.clone(),
            poll_interval: cfg.poll_interval,
            notification_ttl: cfg.notification_ttl,
            bulk: bulk_ops,
        };
        tasks.push(tokio::spawn(dm::run(dm, cancel.clone())));

        Ok(Emulator {
            url: base_url,
            storage_account: issuer.account.name.clone(),
            engine,
            control,
            issuer,
            cancel,
            tasks,
        })
    }

    /// The base URL, which is the ingest URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn storage_account(&self) -> &str {
        &self.storage_account
    }

    /// Every SAS signature and identity token this emulator handed out so far.
    pub fn issued_secrets(&self) -> Vec<String> {
        self.issuer.issued_secrets()
    }

    /// The injected faults, changeable while running.
    pub fn faults(&self) -> &faults::Faults {
        &self.control.faults
    }

    /// The counters (requests, ingestions, injected faults), as `.show emulator metrics`.
    pub fn metrics(&self) -> Vec<metrics::Sample> {
        self.control.metric_samples()
    }

    /// The request and ingestion counters themselves.
    pub fn counters(&self) -> &metrics::Metrics {
        &self.control.metrics
    }

    /// Posts notifications of other clients (random source ids, other databases) into the
    /// success and failure queues, as a busy cluster's shared queues hold.
    pub async fn inject_foreign_notifications(
        &self,
        successes: usize,
        failures: usize,
    ) -> anyhow::Result<()> {
        self.control
            .inject_foreign_notifications(successes, failures)
            .await
    }

    /// Hands out the next day's status table from now on; returns its name.
    pub async fn rotate_status_table(&self) -> anyhow::Result<String> {
        self.control.status_tables.rotate(Utc::now()).await
    }

    /// Every status table handed out so far, oldest first.
    pub async fn status_tables(&self) -> Vec<String> {
        self.control.status_tables.names().await
    }

    /// Stops the DM worker and the server and waits for both.
    pub async fn shutdown(self) {
        self.cancel.cancel();
        self.control.faults.release_stalls();
        for t in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
        }
    }
}
