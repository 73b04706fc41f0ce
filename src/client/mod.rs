//! The shared client: everything that speaks to the Kusto DM service and Azure Storage. Used by
//! the TUI, the headless CLI and the emulator's worker. Knows nothing about terminals.

pub mod archive;
pub mod auth;
pub mod bulk;
pub mod cluster_status;
pub mod connection_string;
pub mod deadline;
pub mod direct;
pub mod discover;
pub mod error;
pub mod error_codes;
pub mod forensics;
pub mod inbox;
pub mod journal;
pub mod managed;
pub mod mgmt;
pub mod mode;
pub mod notifications;
pub mod preflight;
pub mod redact;
pub mod resources;
pub mod rest_queued;
pub mod resubmit;
pub mod retry;
pub mod storage;
pub mod streaming;
pub mod submit;
pub mod timeline;
pub mod tracking;
pub mod wire;

pub use error::{Error, Result};
pub use notifications::ReceivedNotification;
pub use resources::{IngestionResources, Resource, ResourceKind};
pub use submit::{ChunkOf, Delivery, Progress, QueueDelivery, SubmitRequest, Submitted};

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::client::mgmt::V1Table;
use crate::client::notifications::{DiscardReport, DiscardSelector};
use crate::client::retry::RetryPolicy;
use crate::client::storage::{SasUrl, Storage};
use crate::client::wire::{NotificationKind, StatusEntity};

/// The approximate depth of one queue resource.
#[derive(Debug)]
pub enum QueueDepth {
    Count(u64),
    /// The SAS does not allow reading it (the DM's add-only ingestion queues): not an error.
    NotReadable(String),
    Failed(Error),
}

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
    /// Settings left `None` are read by azure_identity from `AZURE_TENANT_ID`,
    /// `AZURE_CLIENT_ID` and `AZURE_FEDERATED_TOKEN_FILE`.
    WorkloadIdentity {
        tenant_id: Option<String>,
        client_id: Option<String>,
        token_file: Option<std::path::PathBuf>,
    },
    Token(auth::Secret),
    None,
}

impl AuthMethod {
    /// A short name for the status line and messages (never a secret).
    pub fn label(&self) -> &'static str {
        match self {
            AuthMethod::Auto => "auto",
            AuthMethod::Cli => "Azure CLI",
            AuthMethod::ManagedIdentity { .. } => "managed identity",
            AuthMethod::ClientSecret { .. } => "client secret",
            AuthMethod::WorkloadIdentity { .. } => "workload identity",
            AuthMethod::Token(_) => "static token",
            AuthMethod::None => "none",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The DM (ingest) endpoint, e.g. `https://ingest-x.region.kusto.windows.net` or the emulator URL.
    pub ingest_url: String,
    pub auth: AuthMethod,
    /// Per-request deadlines by kind.
    pub timeouts: deadline::Timeouts,
    pub retry: RetryPolicy,
    /// Discard pipelines run at once, and so the most storage requests a discard has in flight
    /// (config `discard_concurrency`; default [`notifications::DEFAULT_DISCARD_CONCURRENCY`]).
    pub discard_concurrency: usize,
    /// The HTTP transport of the credentials that call an authority (tests only: see
    /// [`auth::AuthTransport`]); `None`: azure_core's own.
    pub auth_transport: Option<auth::AuthTransport>,
}

/// The one client all front doors use. Cheap to clone.
#[derive(Clone)]
pub struct IngestClient {
    inner: Arc<Inner>,
}

struct Inner {
    ingest_url: String,
    http: reqwest::Client,
    storage: Storage,
    auth: auth::Authenticator,
    retry: RetryPolicy,
    timeouts: deadline::Timeouts,
    discard_concurrency: usize,
    cache: Arc<resources::ResourceCache>,
    ranking: std::sync::Mutex<resources::AccountRanking>,
}

impl ClientConfig {
    /// A client of `ingest_url` that signs in to nothing (a local emulator), with the default
    /// timeouts, retries and discard concurrency.
    pub fn unauthenticated(ingest_url: &str) -> Self {
        ClientConfig {
            ingest_url: ingest_url.to_string(),
            auth: AuthMethod::None,
            timeouts: deadline::Timeouts::default(),
            retry: RetryPolicy::default(),
            discard_concurrency: notifications::DEFAULT_DISCARD_CONCURRENCY,
            auth_transport: None,
        }
    }
}

pub use resources::RESOURCES_TTL;
const USER_AGENT: &str = concat!("kingest/", env!("CARGO_PKG_VERSION"));

/// The retry policy for a management command of `kind`. A command that ingests
/// (`.set-or-append`, `.ingest inline`, …) is not idempotent: a 5xx, reset or timeout may come
/// after it was applied, and sending it again would add the rows twice; so it is sent once and
/// its failure reported. The SDKs do the same: their `Mgmt`/`execute_mgmt` sends a command once
/// (Go azkustodata/kusto.go `Client.Mgmt`; Python azure-kusto-data client.py mounts no HTTP
/// retries unless `set_http_retries` is called) and retry only the read-only resource commands
/// (Go azkustoingest/internal/resources/resources.go, Python azure-kusto-ingest
/// _resource_manager.py).
fn mgmt_retry(kind: deadline::RequestKind, configured: &RetryPolicy) -> RetryPolicy {
    match kind {
        deadline::RequestKind::IngestCommand => RetryPolicy::none(),
        deadline::RequestKind::Mgmt | deadline::RequestKind::Storage => configured.clone(),
    }
}

impl IngestClient {
    pub fn new(cfg: ClientConfig) -> Result<Self> {
        Self::with_default_headers(cfg, reqwest::header::HeaderMap::new())
    }

    /// A client whose every request also carries `headers` (the emulator's relay marks its
    /// own requests as internal with one).
    pub fn with_default_headers(
        cfg: ClientConfig,
        headers: reqwest::header::HeaderMap,
    ) -> Result<Self> {
        let ingest_url = cfg.ingest_url.trim().trim_end_matches('/').to_string();
        let parsed = url::Url::parse(&ingest_url)
            .map_err(|e| Error::Usage(format!("ingest URL '{ingest_url}' is not a URL: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(Error::Usage(format!(
                "ingest URL '{ingest_url}' must be http(s)"
            )));
        }
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(cfg.timeouts.connect)
            .default_headers(headers)
            .build()
            .map_err(|e| Error::Internal(format!("cannot build the HTTP client: {e}")))?;
        let auth = auth::Authenticator::new(&cfg.auth, &ingest_url, cfg.auth_transport.as_ref())?;
        Ok(IngestClient {
            inner: Arc::new(Inner {
                storage: Storage::new(http.clone(), cfg.retry.clone()).with_timeouts(cfg.timeouts),
                ingest_url,
                http,
                auth,
                retry: cfg.retry,
                timeouts: cfg.timeouts,
                discard_concurrency: cfg.discard_concurrency.max(1),
                cache: Arc::default(),
                ranking: std::sync::Mutex::new(resources::AccountRanking::default()),
            }),
        })
    }

    pub fn ingest_url(&self) -> &str {
        &self.inner.ingest_url
    }

    /// The sign-in method in use (after `auto` was resolved), for the status line.
    pub fn auth_label(&self) -> &'static str {
        self.inner.auth.method().label()
    }

    /// The storage client (shared HTTP connection pool and retry policy).
    pub fn storage(&self) -> &Storage {
        &self.inner.storage
    }

    /// Cached resources and identity token (1 h); concurrent callers share one fetch.
    pub async fn resources(&self) -> Result<Arc<IngestionResources>> {
        self.load_resources(false).await
    }

    /// Fetch resources and token now, replacing the cache (joining a fetch already running).
    pub async fn refresh_resources(&self) -> Result<Arc<IngestionResources>> {
        self.load_resources(true).await
    }

    async fn load_resources(&self, force: bool) -> Result<Arc<IngestionResources>> {
        use futures::FutureExt as _;
        let client = self.clone();
        self.inner
            .cache
            .get(force, move || {
                async move { client.fetch_resources().await }.boxed()
            })
            .await
    }

    /// One `.get ingestion resources` and one `.get kusto identity token`. Both commands go
    /// out together, so a stalled endpoint costs one deadline, not two.
    async fn fetch_resources(&self) -> Result<Arc<IngestionResources>> {
        let (resources, token) = futures::future::join(
            self.mgmt("NetDefaultDB", ".get ingestion resources"),
            self.mgmt("NetDefaultDB", ".get kusto identity token"),
        )
        .await;
        let table = mgmt::primary(resources?, "resources")?;
        let list = resources::parse_resources(&table)?;
        for kind in [
            ResourceKind::SecuredReadyForAggregationQueue,
            ResourceKind::TempStorage,
        ] {
            if !list.iter().any(|r| r.kind == kind) {
                return Err(Error::BadResponse(format!(
                    "the service returned no {} resource",
                    kind.name()
                )));
            }
        }
        let token_table = mgmt::primary(token?, "identity token")?;
        let token = resources::parse_identity_token(&token_table)?;
        let now = chrono::Utc::now();
        Ok(Arc::new(IngestionResources {
            resources: list,
            fetched_at: now,
            identity_token: auth::Secret::new(token),
            token_fetched_at: now,
        }))
    }

    /// Approximate message count of every queue resource. A queue whose SAS does not grant
    /// read (the DM's add-only ingestion queues) is reported as not readable, without a call.
    pub async fn queue_depths(&self) -> Result<Vec<(Resource, QueueDepth)>> {
        let res = self.resources().await?;
        let queues: Vec<Resource> = res
            .resources
            .iter()
            .filter(|r| r.kind.is_queue())
            .cloned()
            .collect();
        let counts = futures::future::join_all(queues.iter().map(|r| async move {
            let grant = r.url.grant();
            match grant.permissions {
                Some(sp) if !grant.allows('r') => {
                    QueueDepth::NotReadable(format!("the SAS grants only '{sp}'"))
                }
                _ => match self.inner.storage.approximate_message_count(&r.url).await {
                    Ok(n) => QueueDepth::Count(n),
                    Err(e) => QueueDepth::Failed(e),
                },
            }
        }))
        .await;
        Ok(queues.into_iter().zip(counts).collect())
    }

    /// Send one source by its mode: upload and enqueue (queued), one streaming request
    /// (streaming), either (managed), or upload and `.ingest into` (direct).
    pub async fn submit(&self, mut req: SubmitRequest, progress: ProgressFn) -> Result<Submitted> {
        // One source id for both tries: the retry after a refused SAS supersedes the first
        // try's journal record (and overwrites its blob) rather than leaving an "abandoned"
        // record of a submit that succeeded.
        req.source_id.get_or_insert_with(uuid::Uuid::new_v4);
        let tag = tag_source(&mut req);
        let (out, requests) = timeline::recorded(self.submit_one(req, progress)).await;
        out.map(|mut s| {
            s.requests = requests;
            s.tag = tag;
            s
        })
    }

    async fn submit_one(&self, mut req: SubmitRequest, progress: ProgressFn) -> Result<Submitted> {
        if req.from_stdin
            && matches!(
                req.mode,
                mode::IngestMode::Streaming | mode::IngestMode::Managed
            )
        {
            // Both read the source whole before choosing (and managed may read it twice).
            return Err(Error::Usage(format!(
                "standard input cannot go by mode {}: it is read once, as it streams by; use \
                 --mode queued (or direct), or save it to a file first",
                req.mode
            )));
        }
        match req.mode {
            mode::IngestMode::Queued | mode::IngestMode::Direct => {
                req.chunk_size = None;
                let mut sent = self.submit_queued(req, progress).await?;
                sent.pop()
                    .ok_or_else(|| Error::Internal("the submit posted no message".into()))
            }
            mode::IngestMode::Streaming => streaming::stream(self, &req, &progress).await,
            mode::IngestMode::Managed => managed::submit(self, req, progress).await,
            mode::IngestMode::RestQueued => submit::rest::submit(self, req, progress).await,
        }
    }

    /// Existing blobs of one target and options through the REST queued API, as few POSTs as
    /// its `maxBlobsPerBatch` allows: each source's answer, in order.
    pub async fn submit_rest_blobs(&self, mut reqs: Vec<SubmitRequest>) -> Vec<Result<Submitted>> {
        let mut tags = Vec::with_capacity(reqs.len());
        for r in &mut reqs {
            r.source_id.get_or_insert_with(uuid::Uuid::new_v4);
            tags.push(tag_source(r));
        }
        let mut out = submit::rest::submit_blobs(self, reqs).await;
        for (s, tag) in out.iter_mut().zip(tags) {
            if let Ok(s) = s {
                s.tag = tag;
            }
        }
        out
    }

    /// As [`submit`](Self::submit), but a text source over `req.chunk_size` is split at
    /// record boundaries into several blobs and messages, one [`Submitted`] each
    /// (`client::submit::chunk`). Only the queued mode splits; the others send it whole.
    pub async fn submit_chunks(
        &self,
        mut req: SubmitRequest,
        progress: ProgressFn,
    ) -> Result<Vec<Submitted>> {
        if req.mode != mode::IngestMode::Queued || req.chunk_size.is_none() {
            return self.submit(req, progress).await.map(|s| vec![s]);
        }
        req.source_id.get_or_insert_with(uuid::Uuid::new_v4);
        let tag = tag_source(&mut req);
        let (out, requests) = timeline::recorded(self.submit_queued(req, progress)).await;
        out.map(|mut sent| {
            // Each chunk's timeline holds the requests of the whole source.
            for s in &mut sent {
                s.requests = requests.clone();
                s.tag = tag.clone();
            }
            sent
        })
    }

    /// The upload paths (queued, direct); standard input is read once, so it is not tried
    /// again with fresh SAS (the bytes already read are gone).
    pub(crate) async fn submit_queued(
        &self,
        req: SubmitRequest,
        progress: ProgressFn,
    ) -> Result<Vec<Submitted>> {
        if req.from_stdin {
            return submit::submit_all(self, req, progress).await;
        }
        self.with_fresh_sas(|| submit::submit_all(self, req.clone(), progress.clone()))
            .await
    }

    /// Runs `op`; when storage refuses a SAS the service handed out (403: expired, rotated or
    /// revoked), fetches the ingestion resources again and runs it once more — the SDKs refresh
    /// their resources on a schedule (protocol.md §2.3), a refused SAS brings that forward.
    async fn with_fresh_sas<T, F, Fut>(&self, op: F) -> Result<T>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        match op().await {
            Err(e @ Error::Storage { status: 403, .. }) => {
                tracing::warn!(error = %e, "storage refused a SAS; fetching fresh ingestion resources and trying once more");
                self.refresh_resources().await?;
                op().await.map_err(|again| match again {
                    Error::Storage {
                        status: 403,
                        code,
                        message,
                    } => Error::Auth(format!(
                        "storage refused the SAS again after fresh ingestion resources were \
                         fetched ({code}: {message}); the service's storage credentials may be \
                         broken, or the clock of this machine is off"
                    )),
                    other => other,
                })
            }
            other => other,
        }
    }

    /// Read one status entity.
    pub async fn table_status(&self, at: &tracking::StatusRef) -> Result<Option<StatusEntity>> {
        let entity = self
            .inner
            .storage
            .get_entity(at.table(), &at.partition_key, &at.row_key)
            .await?;
        Ok(entity.as_ref().map(StatusEntity::from_map))
    }

    /// Peek up to `n` notifications across all queues of `kind`; changes nothing.
    pub async fn peek(
        &self,
        kind: NotificationKind,
        n: usize,
    ) -> Result<Vec<ReceivedNotification>> {
        self.with_fresh_sas(|| notifications::read(self, kind, n, None))
            .await
    }

    /// Receive (dequeue) up to `n` with a visibility timeout.
    pub async fn receive(
        &self,
        kind: NotificationKind,
        n: usize,
        visibility: Duration,
    ) -> Result<Vec<ReceivedNotification>> {
        self.with_fresh_sas(|| notifications::read(self, kind, n, Some(visibility)))
            .await
    }

    /// Delete one received notification by its pop receipt.
    pub async fn delete(&self, msg: &ReceivedNotification) -> Result<()> {
        let receipt = msg.pop_receipt.as_deref().ok_or_else(|| {
            Error::Internal(
                "this message was peeked, not received: it has no pop receipt to delete it with"
                    .into(),
            )
        })?;
        self.inner
            .storage
            .delete_message(&msg.queue, &msg.message_id, receipt)
            .await
    }

    /// Receive, append matching ones to `archive` (JSON lines, fsynced), then delete them;
    /// what else was received is released when the pass ends (see [`DiscardReport`]).
    pub async fn discard(
        &self,
        kind: NotificationKind,
        selector: DiscardSelector,
        archive: &Path,
    ) -> Result<DiscardReport> {
        notifications::discard(self, kind, selector, archive).await
    }

    /// Read every notification of `kind` (past the 32 a peek shows) into `inbox`, deleting
    /// nothing; other clients lose sight of them for a few seconds and their DequeueCount
    /// rises (see [`notifications::scan`]).
    pub async fn scan(
        &self,
        kind: NotificationKind,
        inbox: Option<&inbox::Inbox>,
    ) -> Result<notifications::ScanReport> {
        notifications::scan::scan(self, kind, inbox).await
    }

    /// Discard pipelines run at once (each receive → archive → delete), which bounds the
    /// storage requests a discard has in flight.
    pub fn discard_concurrency(&self) -> usize {
        self.inner.discard_concurrency
    }

    /// Discard everything, passing again while messages in flight may reappear, until the
    /// queues are empty or `wait` has passed; `on_wait(report so far, time left)` hears each
    /// pause.
    pub async fn discard_until<F: FnMut(&DiscardReport, std::time::Duration)>(
        &self,
        kind: NotificationKind,
        archive: &Path,
        wait: std::time::Duration,
        on_wait: F,
    ) -> Result<DiscardReport> {
        notifications::discard_until(self, kind, archive, wait, on_wait).await
    }

    /// A management command on the ingest endpoint.
    pub async fn mgmt(&self, database: &str, csl: &str) -> Result<Vec<V1Table>> {
        self.mgmt_at(&self.inner.ingest_url, database, csl).await
    }

    /// A management command on the cluster's engine (the ingest URL without `ingest-`; the
    /// same URL for a local emulator), e.g. to read a table's policies.
    pub async fn engine_mgmt(&self, database: &str, csl: &str) -> Result<Vec<V1Table>> {
        let engine = auth::engine_url(&self.inner.ingest_url);
        self.mgmt_at(&engine, database, csl).await
    }

    async fn mgmt_at(&self, base: &str, database: &str, csl: &str) -> Result<Vec<V1Table>> {
        let url = format!("{base}/v1/rest/mgmt");
        let body = mgmt::request_body(database, csl);
        let kind = deadline::RequestKind::of_csl(csl);
        let retry = mgmt_retry(kind, &self.inner.retry);
        let (status, content_type, bytes) = self
            .kusto_request(reqwest::Method::POST, &url, kind, Some(body), &retry)
            .await?;
        mgmt::parse_response(&bytes)
            .map_err(|e| mgmt::not_kusto(&redact::redact(&url), status, &content_type, &bytes, e))
    }

    /// One Kusto REST call (mgmt, the REST queued API) with the headers the SDKs send and the
    /// client's credential: `(status, content type, body)` of a 2xx answer, else the OneApi
    /// error it carried. `retry` decides whether a failed call is sent again.
    pub(crate) async fn kusto_request(
        &self,
        method: reqwest::Method,
        url: &str,
        kind: deadline::RequestKind,
        body: Option<String>,
        retry: &RetryPolicy,
    ) -> Result<(u16, String, bytes::Bytes)> {
        let deadline = &deadline::Deadline::new(url, kind, &self.inner.timeouts);
        let transport = |e| storage::http::transport_error(e, Some(deadline));
        retry
            .run_for(deadline, || async {
                let mut req = self
                    .kusto_call(method.clone(), url, "KIngest.execute", deadline.limit)
                    .await?;
                if let Some(b) = &body {
                    req = req
                        .header("Content-Type", "application/json; charset=utf-8")
                        .body(b.clone());
                }
                let resp = req.send().await.map_err(transport)?;
                let status = resp.status().as_u16();
                let retry_after =
                    storage::http::retry_after(resp.headers(), std::time::SystemTime::now());
                let content_type = resp
                    .headers()
                    .get(reqwest::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                let bytes = resp.bytes().await.map_err(transport)?;
                if (200..300).contains(&status) {
                    Ok((status, content_type, bytes))
                } else {
                    Err(self.error_answer(status, retry_after, &bytes).await)
                }
            })
            .await
    }

    /// A POST to a Kusto endpoint with the headers every SDK sends (protocol.md §1.3) and
    /// the credential, if any; `request_id` prefixes the client request id.
    pub(crate) async fn kusto_post(
        &self,
        url: &str,
        request_id: &str,
        limit: Duration,
    ) -> Result<reqwest::RequestBuilder> {
        self.kusto_call(reqwest::Method::POST, url, request_id, limit)
            .await
    }

    /// [`IngestClient::kusto_post`] for any method (the REST queued API's GETs).
    pub(crate) async fn kusto_call(
        &self,
        method: reqwest::Method,
        url: &str,
        request_id: &str,
        limit: Duration,
    ) -> Result<reqwest::RequestBuilder> {
        let mut req = self
            .inner
            .http
            .request(method, url)
            .timeout(limit)
            .header("Accept", "application/json")
            .header("Accept-Encoding", "gzip,deflate")
            .header("x-ms-version", "2024-12-12")
            .header(
                "x-ms-client-request-id",
                format!("{request_id};{}", uuid::Uuid::new_v4()),
            )
            .header("x-ms-app", "kingest")
            .header(
                "x-ms-client-version",
                format!("Kusto.kingest:{{{}}}", env!("CARGO_PKG_VERSION")),
            );
        if let Some(h) = self.inner.auth.header(&self.inner.http, limit).await? {
            req = req.header("Authorization", h);
        }
        Ok(req)
    }

    /// The cluster's engine URL (the ingest URL without `ingest-`).
    pub fn engine_url(&self) -> String {
        auth::engine_url(&self.inner.ingest_url)
    }

    /// The error a Kusto endpoint's non-2xx answer stands for. A 401/403 names the credential
    /// that signed the request and how to fix it; a 401 also forgets the token, so the next
    /// call gets a fresh one.
    pub(crate) async fn error_answer(
        &self,
        status: u16,
        retry_after: Option<Duration>,
        body: &[u8],
    ) -> Error {
        match mgmt::parse_error(status, retry_after, body) {
            Error::Auth(detail) => self.inner.auth.refused(status, &detail).await,
            other => other,
        }
    }

    pub(crate) fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry
    }

    pub(crate) fn timeouts(&self) -> &deadline::Timeouts {
        &self.inner.timeouts
    }

    pub(crate) fn record_storage_result(&self, account: &str, ok: bool) {
        if let Ok(mut r) = self.inner.ranking.lock() {
            r.record(account, ok, chrono::Utc::now());
        }
    }

    pub(crate) fn ranked<'a>(&self, urls: impl IntoIterator<Item = &'a SasUrl>) -> Vec<SasUrl> {
        match self.inner.ranking.lock() {
            Ok(r) => r.order(urls, chrono::Utc::now()),
            Err(_) => urls.into_iter().cloned().collect(),
        }
    }
}

/// `tag_source`: adds `kingest:<source id>` to the request's tags (once); the tag, if any.
fn tag_source(req: &mut SubmitRequest) -> Option<String> {
    let id = req.source_id?;
    if !req.tag_source {
        return None;
    }
    let tag = timeline::source_tag(&id.to_string());
    if !req.tags.contains(&tag) {
        req.tags.push(tag.clone());
    }
    Some(tag)
}

#[cfg(test)]
mod tests {
    use super::*;
    use deadline::RequestKind;

    #[test]
    fn commands_that_ingest_are_sent_once_and_queries_retried() {
        let configured = RetryPolicy::default();
        for csl in [
            ".set-or-append T <| print 1",
            ".ingest inline into table T <| 1",
            ".append T <| print 1",
        ] {
            let kind = RequestKind::of_csl(csl);
            assert_eq!(mgmt_retry(kind, &configured).max_attempts, 1, "{csl}");
        }
        let kind = RequestKind::of_csl(".get ingestion resources");
        assert_eq!(
            mgmt_retry(kind, &configured).max_attempts,
            configured.max_attempts
        );
    }
}
