//! Command-line definitions and the headless commands. Exit codes: 0 success, 1 ingestion
//! failed, 2 usage/config error, 3 service or network error.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::{Value, json};

use crate::client::auth::{Secret, ingest_url_for};
use crate::client::notifications::DiscardSelector;
use crate::client::retry::RetryPolicy;
use crate::client::wire::{
    DataFormat, IngestionStatus, NotificationKind, ReportLevel, ReportMethod,
};
use crate::client::{
    AuthMethod, ClientConfig, Error, IngestClient, ReceivedNotification, SubmitRequest,
};
use crate::config::FileConfig;

pub const EXIT_OK: i32 = 0;
pub const EXIT_INGESTION_FAILED: i32 = 1;
pub const EXIT_USAGE: i32 = 2;
pub const EXIT_SERVICE: i32 = 3;

#[derive(Debug, Parser)]
#[command(
    name = "kingest",
    version,
    about = "Run and troubleshoot Azure Data Explorer (Kusto) queued ingestion"
)]
pub struct Cli {
    #[command(flatten)]
    pub conn: Connection,
    /// Machine-readable output (JSON) for scripts.
    #[arg(long, global = true)]
    pub json: bool,
    /// Config file (default: the platform config dir's kingest/config.toml).
    #[arg(long, global = true, env = "KINGEST_CONFIG")]
    pub config: Option<PathBuf>,
    /// TUI: hide and disable every dangerous action (discards).
    #[arg(long, global = true)]
    pub read_only: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuthKind {
    Auto,
    Cli,
    ManagedIdentity,
    ClientSecret,
    WorkloadIdentity,
    Token,
    None,
}

#[derive(Debug, Clone, Args)]
pub struct Connection {
    /// The ingest (Data Management) URL, e.g. https://ingest-mycluster.westeurope.kusto.windows.net.
    #[arg(long, global = true, env = "KINGEST_INGEST_URL")]
    pub ingest_url: Option<String>,
    /// The engine URL; `ingest-` is put in front of the host to reach the DM.
    #[arg(long, global = true, env = "KINGEST_CLUSTER")]
    pub cluster: Option<String>,
    /// How to authenticate. auto = --token if given, none for a loopback URL, else the Azure CLI.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "auto",
        env = "KINGEST_AUTH"
    )]
    pub auth: AuthKind,
    /// A bearer token (for --auth token or auto).
    #[arg(long, global = true, env = "KINGEST_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Tenant for --auth client-secret.
    #[arg(long, global = true, env = "AZURE_TENANT_ID")]
    pub tenant_id: Option<String>,
    /// Client id for --auth client-secret or a user-assigned managed identity.
    #[arg(long, global = true, env = "AZURE_CLIENT_ID")]
    pub client_id: Option<String>,
    /// Secret for --auth client-secret.
    #[arg(
        long,
        global = true,
        env = "AZURE_CLIENT_SECRET",
        hide_env_values = true
    )]
    pub client_secret: Option<String>,
    /// Per-request timeout in seconds.
    #[arg(long, global = true, default_value_t = 120)]
    pub timeout: u64,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the ingestion resources the service hands out (SAS redacted), with queue depths.
    Resources,
    /// Upload files and post ingestion messages.
    Submit(SubmitArgs),
    /// Show the status of a source (status table, then notification queues).
    Status { source_id: String },
    /// Failure notifications: peek (non-destructive) or discard (archived first).
    Failures {
        #[command(subcommand)]
        action: QueueAction,
    },
    /// Success notifications: peek or discard.
    Successes {
        #[command(subcommand)]
        action: QueueAction,
    },
    /// Run a management command on the ingest endpoint (e.g. `.show tables details`).
    Mgmt {
        csl: String,
        #[arg(long, short = 'd', default_value = "NetDefaultDB")]
        database: String,
    },
    /// Run the local ingestion service emulator.
    Emulator(EmulatorArgs),
    /// Start the emulator with the demo schema and traffic, and open the TUI on it.
    Demo(DemoArgs),
}

#[derive(Debug, Subcommand)]
pub enum QueueAction {
    /// Show up to N notifications without removing them.
    Peek {
        #[arg(short = 'n', long, default_value_t = 20)]
        n: usize,
    },
    /// Receive, archive (JSON lines) and delete notifications.
    Discard(DiscardArgs),
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("scope").required(true).args(["all", "source_id", "n"])))]
pub struct DiscardArgs {
    /// Everything currently in the queues.
    #[arg(long)]
    pub all: bool,
    /// Only notifications of this source.
    #[arg(long)]
    pub source_id: Option<String>,
    /// At most N, oldest first.
    #[arg(short = 'n', long)]
    pub n: Option<usize>,
    /// File the discarded notifications are appended to before deletion.
    #[arg(long, required = true)]
    pub archive: PathBuf,
    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ReportLevelArg {
    Failures,
    None,
    All,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ReportMethodArg {
    Queue,
    Table,
    QueueAndTable,
}

#[derive(Debug, Args)]
pub struct SubmitArgs {
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    #[arg(long, short = 'd')]
    pub database: Option<String>,
    #[arg(long, short = 't')]
    pub table: Option<String>,
    /// Data format (default: from the file extension).
    #[arg(long, short = 'f')]
    pub format: Option<String>,
    /// Name of a pre-created ingestion mapping.
    #[arg(long)]
    pub mapping_ref: Option<String>,
    /// Inline ingestion mapping (JSON array).
    #[arg(long)]
    pub mapping: Option<String>,
    #[arg(long, value_enum, default_value = "all")]
    pub report_level: ReportLevelArg,
    /// Default: queue, or queue-and-table with --wait (the status table tracks reliably).
    #[arg(long, value_enum)]
    pub report_method: Option<ReportMethodArg>,
    /// Ask the service to skip batching.
    #[arg(long)]
    pub flush: bool,
    /// Extent tag (repeatable).
    #[arg(long = "tag")]
    pub tags: Vec<String>,
    /// Skip ingestion when an extent already has this tag (repeatable).
    #[arg(long)]
    pub ingest_if_not_exists: Vec<String>,
    /// The first record is a header.
    #[arg(long)]
    pub ignore_first_record: bool,
    /// Extent creation time (ISO 8601).
    #[arg(long)]
    pub creation_time: Option<String>,
    /// Keep the blob after a successful ingestion.
    #[arg(long)]
    pub retain_blob: bool,
    /// Extra ingestion property KEY=VALUE (repeatable).
    #[arg(long = "property", value_parser = parse_key_value)]
    pub properties: Vec<(String, String)>,
    /// Wait for the outcome, at most SECS seconds (default 300).
    #[arg(long, num_args = 0..=1, default_missing_value = "300", value_name = "SECS")]
    pub wait: Option<u64>,
}

fn parse_key_value(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.to_string()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| format!("expected KEY=VALUE, got '{s}'"))
}

#[derive(Debug, Args)]
pub struct EmulatorArgs {
    /// Address to listen on; port 0 lets the OS choose. The first stdout line is the base URL.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
    /// Kusto commands to run at start (.create database/table/mapping).
    #[arg(long)]
    pub schema: Option<PathBuf>,
    /// Use this Azure Storage connection string (e.g. Azurite's) instead of built-in storage.
    #[arg(long, env = "KINGEST_EMULATOR_STORAGE", hide_env_values = true)]
    pub storage: Option<String>,
    /// Replace MaximumBatchingTimeSpan of every IngestionBatching policy with SECS (unset: the
    /// service's policies, 5 minutes unless `.alter … policy ingestionbatching` says otherwise).
    #[arg(long, value_name = "SECS")]
    pub batch_window: Option<f64>,
    /// Faults to inject, e.g. `ingest-transient=0.3` or `ingest-transient-times=2`
    /// (comma-separated NAME=VALUE; also storage-busy, storage-reset, storage-latency-ms).
    #[arg(long, value_name = "SPEC", env = "KINGEST_EMULATOR_FAULTS")]
    pub faults: Option<String>,
    /// Ingest attempts per source before a transient failure becomes Exhausted (default 3).
    #[arg(long, value_name = "N")]
    pub ingest_attempts: Option<u32>,
    /// Wait before the first retry of a transient failure, doubled per retry (default 1).
    #[arg(long, value_name = "SECS")]
    pub retry_backoff: Option<f64>,
    /// Hand out a new status table every SECS (default: each UTC day, as the service).
    #[arg(long, value_name = "SECS")]
    pub status_table_rotation: Option<f64>,
    /// Make mgmt calls demand `Authorization: Bearer T`.
    #[arg(long, env = "KINGEST_EMULATOR_TOKEN", hide_env_values = true)]
    pub require_token: Option<String>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Do not generate background ingestion traffic.
    #[arg(long)]
    pub no_traffic: bool,
    /// Address for the in-process emulator.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: std::net::SocketAddr,
    /// Run the narrated headless demonstration instead of the TUI.
    #[arg(long)]
    pub headless: bool,
}

/// A command failure with its exit code and a message for stderr.
#[derive(Debug)]
pub struct Failure {
    pub code: i32,
    pub message: String,
}

impl Failure {
    pub fn usage(msg: impl Into<String>) -> Self {
        Failure {
            code: EXIT_USAGE,
            message: msg.into(),
        }
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let code = match e {
            Error::Invalid(_) | Error::Io(_) => EXIT_USAGE,
            _ => EXIT_SERVICE,
        };
        Failure {
            code,
            message: e.to_string(),
        }
    }
}

/// Builds the client from flags ⊕ config file.
pub fn client(conn: &Connection, file: &FileConfig) -> Result<IngestClient, Failure> {
    let ingest_url = match (&conn.ingest_url, &conn.cluster) {
        (Some(u), _) => u.clone(),
        (None, Some(c)) => ingest_url_for(c)?,
        (None, None) => match (&file.ingest_url, &file.cluster) {
            (Some(u), _) => u.clone(),
            (None, Some(c)) => ingest_url_for(c)?,
            _ => {
                return Err(Failure::usage(
                    "no endpoint: pass --ingest-url (or KINGEST_INGEST_URL) or --cluster; try `kingest demo` for a local one",
                ));
            }
        },
    };
    let auth = auth_method(conn, file)?;
    Ok(IngestClient::new(ClientConfig {
        ingest_url,
        auth,
        timeout: Duration::from_secs(conn.timeout.max(1)),
        retry: RetryPolicy::default(),
    })?)
}

fn auth_method(conn: &Connection, file: &FileConfig) -> Result<AuthMethod, Failure> {
    let kind = match (conn.auth, &file.auth) {
        (AuthKind::Auto, Some(a)) => AuthKind::from_str(a, true)
            .map_err(|_| Failure::usage(format!("config auth '{a}' is not a known method")))?,
        (k, _) => k,
    };
    Ok(match kind {
        AuthKind::Auto => match &conn.token {
            Some(t) => AuthMethod::Token(Secret::new(t.clone())),
            None => AuthMethod::Auto,
        },
        AuthKind::Cli => AuthMethod::Cli,
        AuthKind::ManagedIdentity => AuthMethod::ManagedIdentity {
            client_id: conn.client_id.clone(),
        },
        AuthKind::ClientSecret => AuthMethod::ClientSecret {
            tenant_id: conn
                .tenant_id
                .clone()
                .ok_or_else(|| Failure::usage("--auth client-secret needs --tenant-id"))?,
            client_id: conn
                .client_id
                .clone()
                .ok_or_else(|| Failure::usage("--auth client-secret needs --client-id"))?,
            secret: Secret::new(
                conn.client_secret
                    .clone()
                    .ok_or_else(|| Failure::usage("--auth client-secret needs --client-secret"))?,
            ),
        },
        AuthKind::WorkloadIdentity => AuthMethod::WorkloadIdentity,
        AuthKind::Token => {
            AuthMethod::Token(Secret::new(conn.token.clone().ok_or_else(|| {
                Failure::usage("--auth token needs --token or KINGEST_TOKEN")
            })?))
        }
        AuthKind::None => AuthMethod::None,
    })
}

fn print_json(v: &Value) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

/// `kingest resources`
pub async fn resources(client: &IngestClient, json_out: bool) -> Result<i32, Failure> {
    let res = client.refresh_resources().await?;
    let depths: HashMap<String, String> = match client.queue_depths().await {
        Ok(d) => d
            .into_iter()
            .map(|(r, c)| {
                let depth = match c {
                    Ok(n) => n.to_string(),
                    // Add-only ingestion queues cannot be counted by design: not an error.
                    Err(Error::Invalid(m)) if m.starts_with("n/a") => "n/a".to_string(),
                    Err(e) => format!("error: {e}"),
                };
                (r.url.without_query(), depth)
            })
            .collect(),
        Err(e) => {
            eprintln!("warning: could not read queue depths: {e}");
            HashMap::new()
        }
    };
    if json_out {
        let list: Vec<Value> = res
            .resources
            .iter()
            .map(|r| {
                json!({"ResourceTypeName": r.kind.name(), "StorageRoot": r.url.redacted(), "Account": r.url.account(),
                       "Object": r.url.object_name(), "ApproximateMessageCount": depths.get(&r.url.without_query()),
                       "SasExpiry": r.url.query_param("se")})
            })
            .collect();
        print_json(
            &json!({"IngestUrl": client.ingest_url(), "FetchedAt": res.fetched_at.to_rfc3339(), "Resources": list,
                           "IdentityToken": "present (not shown)"}),
        );
    } else {
        println!(
            "Ingestion resources of {} (fetched {})",
            client.ingest_url(),
            res.fetched_at.format("%Y-%m-%d %H:%M:%S UTC")
        );
        for kind in crate::client::ResourceKind::ALL {
            println!("{}:", kind.name());
            for url in res.of_kind(kind) {
                let depth = depths
                    .get(&url.without_query())
                    .map(|d| format!("  ~{d} messages"))
                    .unwrap_or_default();
                let exp = url
                    .query_param("se")
                    .map(|e| format!("  SAS until {e}"))
                    .unwrap_or_default();
                println!("  {}/{}{depth}{exp}", url.account(), url.object_name());
            }
        }
        println!(
            "Identity token: present ({} characters, not shown)",
            res.identity_token.expose().len()
        );
    }
    Ok(EXIT_OK)
}

/// The state of one submitted source, as printed by `submit` and `status`.
#[derive(Debug, Clone)]
struct SourceState {
    file: String,
    source_id: String,
    database: String,
    table: String,
    status: IngestionStatus,
    error_code: Option<String>,
    failure_status: Option<String>,
    details: Option<String>,
    extra: serde_json::Map<String, Value>,
}

impl SourceState {
    fn to_json(&self) -> Value {
        let mut m = serde_json::Map::new();
        m.insert("source_id".into(), self.source_id.clone().into());
        m.insert("file".into(), self.file.clone().into());
        m.insert("database".into(), self.database.clone().into());
        m.insert("table".into(), self.table.clone().into());
        m.insert("status".into(), self.status.as_str().into());
        m.insert("error_code".into(), self.error_code.clone().into());
        m.insert("failure_status".into(), self.failure_status.clone().into());
        m.insert("details".into(), self.details.clone().into());
        for (k, v) in &self.extra {
            m.insert(k.clone(), v.clone());
        }
        Value::Object(m)
    }

    fn print_human(&self) {
        println!(
            "{:<18} {}  →  {}.{}  (source {})",
            self.status.as_str(),
            self.file,
            self.database,
            self.table,
            self.source_id
        );
        if let Some(code) = &self.error_code {
            let info = crate::client::error_codes::describe(code);
            println!(
                "    {code} [{}]: {}",
                self.failure_status.as_deref().unwrap_or(if info.permanent {
                    "Permanent"
                } else {
                    "Transient"
                }),
                info.meaning
            );
            if let Some(d) = &self.details {
                println!("    details: {}", crate::client::redact::redact(d));
            }
            println!("    what to do: {}", info.hint);
        } else if let Some(d) = self.details.as_ref().filter(|d| !d.is_empty()) {
            println!("    {}", crate::client::redact::redact(d));
        }
    }
}

/// `kingest submit`
pub async fn submit(
    client: &IngestClient,
    args: SubmitArgs,
    file_cfg: &FileConfig,
    json_out: bool,
) -> Result<i32, Failure> {
    let database = args
        .database
        .clone()
        .or(file_cfg.database.clone())
        .ok_or_else(|| Failure::usage("--database is required"))?;
    let table = args
        .table
        .clone()
        .or(file_cfg.table.clone())
        .ok_or_else(|| Failure::usage("--table is required"))?;
    let format = args
        .format
        .as_deref()
        .map(|f| {
            f.parse::<DataFormat>()
                .map_err(|_| Failure::usage(format!("unknown format '{f}'")))
        })
        .transpose()?;
    let report_level = match args.report_level {
        ReportLevelArg::Failures => ReportLevel::FailuresOnly,
        ReportLevelArg::None => ReportLevel::None,
        ReportLevelArg::All => ReportLevel::FailuresAndSuccesses,
    };
    let report_method = match (args.report_method, args.wait) {
        (Some(ReportMethodArg::Queue), _) => ReportMethod::Queue,
        (Some(ReportMethodArg::Table), _) => ReportMethod::Table,
        (Some(ReportMethodArg::QueueAndTable), _) | (None, Some(_)) => ReportMethod::QueueAndTable,
        (None, None) => ReportMethod::Queue,
    };
    if args.wait.is_some() && report_level == ReportLevel::None {
        return Err(Failure::usage(
            "--wait needs reporting: drop --report-level none",
        ));
    }
    let mut states = Vec::new();
    let mut trackers = Vec::new();
    let mut submit_failed = false;
    for path in &args.files {
        let mut req = SubmitRequest::new(path.clone(), &database, &table);
        req.format = format;
        req.mapping_reference = args.mapping_ref.clone();
        req.mapping = args.mapping.clone();
        req.report_level = report_level;
        req.report_method = report_method;
        req.flush_immediately = args.flush;
        req.tags = args.tags.clone();
        req.ingest_if_not_exists = args.ingest_if_not_exists.clone();
        req.ignore_first_record = args.ignore_first_record;
        req.creation_time = args.creation_time.clone();
        req.retain_blob_on_success = args.retain_blob;
        req.extra_properties = args
            .properties
            .iter()
            .map(|(k, v)| (k.clone(), Value::from(v.clone())))
            .collect();
        let file = path.display().to_string();
        let show_progress = !json_out && std::io::IsTerminal::is_terminal(&std::io::stderr());
        let progress: crate::client::ProgressFn = std::sync::Arc::new(move |p| {
            if show_progress && p.total > 0 {
                eprint!(
                    "\r  uploading {:>3}%  ({} bytes sent)",
                    p.read * 100 / p.total.max(1),
                    p.sent
                );
            }
        });
        match client.submit(req, progress).await {
            Ok(s) => {
                if show_progress {
                    eprint!("\r\x1b[2K");
                }
                let mut extra = serde_json::Map::new();
                extra.insert("blob".into(), s.blob.redacted().into());
                extra.insert("message_id".into(), s.message_id.clone().into());
                extra.insert("format".into(), s.format.wire_name().into());
                extra.insert("raw_data_size".into(), s.raw_data_size.into());
                extra.insert("uploaded_bytes".into(), s.uploaded_bytes.into());
                let state = SourceState {
                    file,
                    source_id: s.source_id.to_string(),
                    database: database.clone(),
                    table: table.clone(),
                    status: IngestionStatus::Queued,
                    error_code: None,
                    failure_status: None,
                    details: None,
                    extra,
                };
                trackers.push(s.status_entity.clone());
                states.push(state);
            }
            Err(e) => {
                // Other files still go; the failure is reported and counted.
                submit_failed = true;
                let code = if matches!(e, Error::Invalid(_) | Error::Io(_)) {
                    "InvalidInput"
                } else {
                    "SubmitFailed"
                };
                if json_out {
                    println!(
                        "{}",
                        json!({"source_id": null, "file": file, "database": database, "table": table, "status": "Failed",
                        "error_code": code, "failure_status": "Permanent", "details": e.to_string()})
                    );
                } else {
                    eprintln!("error: {file}: {e}");
                }
            }
        }
    }
    if let Some(secs) = args.wait {
        wait_for(client, &mut states, &trackers, Duration::from_secs(secs)).await;
    }
    for s in &states {
        if json_out {
            println!("{}", s.to_json());
        } else {
            s.print_human();
        }
    }
    let all_ok = states.iter().all(|s| match args.wait {
        Some(_) => s.status == IngestionStatus::Succeeded,
        None => true,
    });
    Ok(if all_ok && !submit_failed {
        EXIT_OK
    } else {
        EXIT_INGESTION_FAILED
    })
}

/// Polls status entities (when reporting to a table) and peeks the notification queues until
/// every source is final or the time is up.
async fn wait_for(
    client: &IngestClient,
    states: &mut [SourceState],
    trackers: &[Option<(crate::client::storage::SasUrl, String, String)>],
    limit: Duration,
) {
    let deadline = tokio::time::Instant::now() + limit;
    let mut interval = Duration::from_millis(300);
    loop {
        for (s, t) in states.iter_mut().zip(trackers) {
            if s.status.is_final() && s.status != IngestionStatus::Queued {
                continue;
            }
            if let Some((table, pk, rk)) = t {
                match client.table_status(table, pk, rk).await {
                    Ok(Some(e)) => {
                        if let Some(st) = e.status {
                            s.status = if st == IngestionStatus::Queued {
                                IngestionStatus::Pending
                            } else {
                                st
                            };
                        }
                        s.error_code = e.error_code;
                        s.failure_status = e.failure_status;
                        s.details = e.details;
                    }
                    Ok(None) => {}
                    Err(e) => tracing::warn!(error = %e, "reading the status table failed"),
                }
            } else if s.status == IngestionStatus::Queued {
                s.status = IngestionStatus::Pending;
            }
        }
        // Queue-only sources: correlate notifications by IngestionSourceId.
        if states
            .iter()
            .zip(trackers)
            .any(|(s, t)| t.is_none() && !s.status.is_final())
        {
            for kind in [NotificationKind::Failure, NotificationKind::Success] {
                if let Ok(msgs) = client.peek(kind, 32).await {
                    for m in msgs {
                        apply_notification(states, trackers, &m);
                    }
                }
            }
        }
        if states.iter().all(|s| s.status.is_final()) || tokio::time::Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(interval).await;
        interval = (interval * 3 / 2).min(Duration::from_secs(5));
    }
    for s in states.iter_mut() {
        if s.status == IngestionStatus::Queued {
            s.status = IngestionStatus::Pending;
        }
    }
}

fn apply_notification(
    states: &mut [SourceState],
    trackers: &[Option<(crate::client::storage::SasUrl, String, String)>],
    m: &ReceivedNotification,
) {
    let Some(n) = &m.decoded.notification else {
        return;
    };
    let Some(id) = n.ingestion_source_id.as_deref() else {
        return;
    };
    for (s, t) in states.iter_mut().zip(trackers) {
        if t.is_some() || !s.source_id.eq_ignore_ascii_case(id) {
            continue;
        }
        s.status = crate::client::wire::status_from_notification(m.kind, n);
        if m.kind == NotificationKind::Failure {
            s.error_code = n.error_code.clone();
            s.failure_status = n.failure_status.clone();
            s.details = n.details.clone();
        }
    }
}

/// `kingest status SOURCE_ID`
pub async fn status(
    client: &IngestClient,
    source_id: &str,
    json_out: bool,
) -> Result<i32, Failure> {
    let res = client.resources().await?;
    let mut found: Option<Value> = None;
    let mut human = Vec::new();
    for table in res.of_kind(crate::client::ResourceKind::IngestionsStatusTable) {
        match client.table_status(table, source_id, source_id).await {
            Ok(Some(e)) => {
                human.push(format!(
                    "status table: {}{}{}",
                    e.status.map(|s| s.as_str()).unwrap_or("unknown"),
                    e.error_code
                        .as_deref()
                        .map(|c| format!("  {c}"))
                        .unwrap_or_default(),
                    e.details
                        .as_deref()
                        .filter(|d| !d.is_empty())
                        .map(|d| format!("  {}", crate::client::redact::redact(d)))
                        .unwrap_or_default(),
                ));
                found = Some(serde_json::to_value(&e).unwrap_or(Value::Null));
                break;
            }
            Ok(None) => {}
            Err(e) => eprintln!("warning: reading {table} failed: {e}"),
        }
    }
    let mut notes = Vec::new();
    for kind in [NotificationKind::Success, NotificationKind::Failure] {
        match client.peek(kind, 64).await {
            Ok(msgs) => {
                for m in msgs.iter().filter(|m| {
                    m.source_id()
                        .is_some_and(|s| s.eq_ignore_ascii_case(source_id))
                }) {
                    human.push(format!("{} notification: {}", kind.as_str(), m.to_json()));
                    notes.push(m.to_json());
                }
            }
            Err(e) => eprintln!(
                "warning: peeking {} notifications failed: {e}",
                kind.as_str()
            ),
        }
    }
    let failed = found
        .as_ref()
        .and_then(|v| v.get("status"))
        .and_then(Value::as_str)
        .is_some_and(|s| s != "Succeeded" && s != "Pending")
        || notes
            .iter()
            .any(|n| n.get("Kind").and_then(Value::as_str) == Some("failure"));
    if json_out {
        print_json(
            &json!({"source_id": source_id, "status_entity": found, "notifications": notes}),
        );
    } else if human.is_empty() {
        println!(
            "nothing known about {source_id}: no status entity, and no notification among the first ones of each queue"
        );
    } else {
        for line in human {
            println!("{line}");
        }
    }
    Ok(if failed {
        EXIT_INGESTION_FAILED
    } else {
        EXIT_OK
    })
}

/// `kingest failures|successes peek`
pub async fn peek(
    client: &IngestClient,
    kind: NotificationKind,
    n: usize,
    json_out: bool,
) -> Result<i32, Failure> {
    let msgs = client.peek(kind, n).await?;
    if json_out {
        print_json(&Value::Array(
            msgs.iter().map(ReceivedNotification::to_json).collect(),
        ));
        return Ok(EXIT_OK);
    }
    if msgs.is_empty() {
        println!("no {} notifications", kind.as_str());
    }
    for m in &msgs {
        match &m.decoded.notification {
            Some(n) => {
                let when = n
                    .failed_on
                    .as_deref()
                    .or(n.succeeded_on.as_deref())
                    .unwrap_or("-");
                let path = n
                    .ingestion_source_path
                    .as_deref()
                    .map(crate::client::redact::strip_query)
                    .unwrap_or("-");
                println!(
                    "{when}  {}.{}  {}  {}  source {}  (dequeued {}×)",
                    n.database.as_deref().unwrap_or("?"),
                    n.table.as_deref().unwrap_or("?"),
                    n.error_code.as_deref().unwrap_or(""),
                    path.rsplit('/').next().unwrap_or(path),
                    n.ingestion_source_id.as_deref().unwrap_or("?"),
                    m.dequeue_count
                );
                if let Some(d) = n.details.as_deref().filter(|d| !d.is_empty()) {
                    println!("    {}", crate::client::redact::redact(d));
                }
            }
            None => println!(
                "undecodable message {} ({}): {}",
                m.message_id,
                m.decoded.error.as_deref().unwrap_or("?"),
                crate::client::redact::redact(&m.decoded.raw)
            ),
        }
    }
    Ok(EXIT_OK)
}

/// `kingest failures|successes discard`
pub async fn discard(
    client: &IngestClient,
    kind: NotificationKind,
    args: DiscardArgs,
    json_out: bool,
) -> Result<i32, Failure> {
    let (selector, scope) = if args.all {
        (DiscardSelector::All, "every".to_string())
    } else if let Some(id) = &args.source_id {
        (
            DiscardSelector::SourceId(id.clone()),
            format!("source {id}'s"),
        )
    } else if let Some(n) = args.n {
        (DiscardSelector::Count(n), format!("at most {n}"))
    } else {
        return Err(Failure::usage("choose --all, --source-id or -n"));
    };
    if !args.yes {
        if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
            return Err(Failure::usage(
                "discarding needs confirmation: pass --yes when not on a terminal",
            ));
        }
        eprint!(
            "Delete {scope} {} notification(s) from the shared queue(s), after appending them to {}? [y/N] ",
            kind.as_str(),
            args.archive.display()
        );
        let mut answer = String::new();
        std::io::stdin()
            .read_line(&mut answer)
            .map_err(|e| Failure::usage(e.to_string()))?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            eprintln!("nothing deleted");
            return Ok(EXIT_OK);
        }
    }
    let report = client.discard(kind, selector, &args.archive).await?;
    if json_out {
        print_json(
            &json!({"archived": report.archived, "deleted": report.deleted, "released": report.released,
            "archive": args.archive.display().to_string(),
            "errors": report.errors.iter().map(|(id, e)| json!({"MessageId": id, "error": e})).collect::<Vec<_>>()}),
        );
    } else {
        println!(
            "archived {} and deleted {} {} notification(s) → {}",
            report.archived,
            report.deleted,
            kind.as_str(),
            args.archive.display()
        );
        if report.released > 0 {
            println!(
                "{} other message(s) were looked at and left in the queue (visible again within 30 s)",
                report.released
            );
        }
        for (id, e) in &report.errors {
            eprintln!("error: message {id} was archived but not deleted: {e}");
        }
    }
    Ok(if report.errors.is_empty() {
        EXIT_OK
    } else {
        EXIT_SERVICE
    })
}

/// `kingest mgmt`
pub async fn mgmt(
    client: &IngestClient,
    database: &str,
    csl: &str,
    json_out: bool,
) -> Result<i32, Failure> {
    let tables = client.mgmt(database, csl).await?;
    if json_out {
        print_json(&json!({"Tables": tables}));
        return Ok(EXIT_OK);
    }
    for t in tables {
        println!(
            "{}",
            t.columns
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join("\t")
        );
        for row in &t.rows {
            println!(
                "{}",
                row.iter()
                    .map(|v| v
                        .as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string()))
                    .collect::<Vec<_>>()
                    .join("\t")
            );
        }
    }
    Ok(EXIT_OK)
}
