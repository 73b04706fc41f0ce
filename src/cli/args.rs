//! The command line's shape: clap types with grouped help headings. No logic here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Option headings, one name per kind of option (`--help` groups by them).
pub const CONNECTION: &str = "Connection";
pub const AUTHENTICATION: &str = "Authentication";
pub const OUTPUT: &str = "Output";
pub const CONFIGURATION: &str = "Configuration";
pub const TUI: &str = "TUI";
pub const TARGET: &str = "Target";

/// With no command: the TUI on the configured cluster. Connection and TUI flags belong to the
/// commands they affect; given before a command (`kingest --cluster URL resources`) they count
/// for it too, and a flag after the command wins ([`Connection::overlay`]).
#[derive(Debug, Parser)]
#[command(
    name = "kingest",
    version,
    about = "Run and troubleshoot Azure Data Explorer (Kusto) queued ingestion"
)]
pub struct Cli {
    #[command(flatten)]
    pub conn: Connection,
    #[command(flatten)]
    pub common: Common,
    #[command(flatten)]
    pub tui: TuiFlags,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Output and configuration flags every command takes (`global`: before or after the command).
#[derive(Debug, Clone, Default, Args)]
pub struct Common {
    /// Machine-readable output (JSON) on stdout; a command that has none refuses it (exit 2).
    #[arg(long, global = true, help_heading = OUTPUT)]
    pub json: bool,
    /// Only data and errors: no progress lines, notes or "waiting for" notices on stderr.
    #[arg(long, short = 'q', global = true, help_heading = OUTPUT, conflicts_with = "verbose")]
    pub quiet: bool,
    /// More logging on stderr: -v info, -vv debug (kingest's own events; secrets redacted;
    /// RUST_LOG, when set, chooses instead).
    #[arg(long, short = 'v', global = true, action = clap::ArgAction::Count, help_heading = OUTPUT)]
    pub verbose: u8,
    /// Config file (default: the platform config dir's kingest/config.toml).
    #[arg(
        long,
        global = true,
        env = "KINGEST_CONFIG",
        value_name = "FILE",
        help_heading = CONFIGURATION
    )]
    pub config: Option<PathBuf>,
}

/// Flags of the commands that open the TUI (no command, `demo`).
#[derive(Debug, Clone, Copy, Default, Args)]
pub struct TuiFlags {
    /// Hide and disable every dangerous action (discards).
    #[arg(long, help_heading = TUI)]
    pub read_only: bool,
    /// Capture the mouse (wheel scrolls, a click focuses a pane).
    #[arg(long, help_heading = TUI)]
    pub mouse: bool,
}

impl Command {
    /// The connection flags of the command, if it talks to a cluster.
    pub fn connection_mut(&mut self) -> Option<&mut Connection> {
        match self {
            Command::Resources { conn }
            | Command::Status { conn, .. }
            | Command::Mgmt { conn, .. }
            | Command::Submit(SubmitArgs { conn, .. })
            | Command::Resubmit(ResubmitArgs { conn, .. })
            | Command::Check(CheckArgs { conn, .. })
            | Command::Gateway(GatewayArgs { conn, .. }) => Some(conn),
            Command::Failures { action } | Command::Successes { action } => match action {
                QueueAction::Peek { conn, .. }
                | QueueAction::Explain { conn, .. }
                | QueueAction::Discard(DiscardArgs { conn, .. })
                | QueueAction::Scan { conn, .. }
                | QueueAction::History(HistoryArgs { conn, .. })
                | QueueAction::Ack { conn, .. } => Some(conn),
                QueueAction::Archive { .. } => None,
            },
            Command::Bulk(b) => match &mut b.action {
                Some(BulkAction::Status { conn, .. } | BulkAction::Cancel { conn, .. }) => {
                    Some(conn)
                }
                None => Some(&mut b.start.conn),
            },
            Command::Config(ConfigArgs { action }) => match action {
                ConfigAction::Init { conn, .. } | ConfigAction::Show { conn } => Some(conn),
                ConfigAction::Path | ConfigAction::Use { .. } => None,
            },
            Command::Emulator(_) | Command::Demo(_) | Command::Completions { .. } => None,
        }
    }
}

impl TuiFlags {
    /// Flags given before `demo` count for it as well.
    pub fn or(self, other: TuiFlags) -> TuiFlags {
        TuiFlags {
            read_only: self.read_only || other.read_only,
            mouse: self.mouse || other.mouse,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum AuthKind {
    /// --token if given, none for a loopback URL, else the Azure CLI.
    #[default]
    Auto,
    /// The Azure CLI's sign-in (`az login`).
    Cli,
    /// The managed identity of the VM, container or function.
    ManagedIdentity,
    /// An app registration's secret (--tenant-id, --client-id, --client-secret).
    ClientSecret,
    /// Workload identity federation (AZURE_FEDERATED_TOKEN_FILE).
    WorkloadIdentity,
    /// The bearer token of --token.
    Token,
    /// No Authorization header (the emulator).
    None,
}

#[derive(Clone, Default, Args)]
/// Where the cluster is and how to sign in: on the TUI and every command that talks to a cluster.
pub struct Connection {
    /// A named context of the config file (its `[contexts.NAME]`); default: `default_context`.
    #[arg(
        long,
        help_heading = CONNECTION,
        visible_alias = "profile",
        env = "KINGEST_CONTEXT",
        value_name = "NAME"
    )]
    pub context: Option<String>,
    /// The ingest (Data Management) URL, e.g. https://ingest-mycluster.westeurope.kusto.windows.net.
    #[arg(long, env = "KINGEST_INGEST_URL", help_heading = CONNECTION)]
    pub ingest_url: Option<String>,
    /// The engine URL; `ingest-` is put in front of the host to reach the DM.
    #[arg(long, env = "KINGEST_CLUSTER", help_heading = CONNECTION)]
    pub cluster: Option<String>,
    /// How to authenticate. auto = --token if given, none for a loopback URL, else the Azure CLI.
    #[arg(
        long,
        help_heading = AUTHENTICATION,
        value_enum,
        default_value = "auto",
        env = "KINGEST_AUTH"
    )]
    pub auth: AuthKind,
    /// A bearer token (for --auth token or auto).
    #[arg(long, env = "KINGEST_TOKEN", hide_env_values = true, help_heading = AUTHENTICATION)]
    pub token: Option<String>,
    /// Tenant for --auth client-secret.
    #[arg(long, env = "AZURE_TENANT_ID", help_heading = AUTHENTICATION)]
    pub tenant_id: Option<String>,
    /// Client id for --auth client-secret or a user-assigned managed identity.
    #[arg(long, env = "AZURE_CLIENT_ID", help_heading = AUTHENTICATION)]
    pub client_id: Option<String>,
    /// Secret for --auth client-secret.
    #[arg(
        long,
        help_heading = AUTHENTICATION,
        env = "AZURE_CLIENT_SECRET",
        hide_env_values = true
    )]
    pub client_secret: Option<String>,
    /// The longest wait for one storage call or mgmt query, in seconds (default 60; the config
    /// file's `[timeouts]` sets each kind, commands that ingest wait up to an hour).
    #[arg(long, value_name = "SECS", help_heading = CONNECTION,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: Option<u64>,
    /// Receive → archive → delete pipelines a discard runs at once, and so the most storage
    /// requests it has in flight (1 to 256; default 16; the config file's
    /// `discard_concurrency`).
    #[arg(long, env = "KINGEST_DISCARD_CONCURRENCY", value_name = "N", help_heading = CONNECTION)]
    pub discard_concurrency: Option<usize>,
}

/// Secrets never in Debug output: the token and client secret show as given or not, and a
/// URL (which may be a connection string with an AppKey) only up to its first `;`.
impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let url = |u: &Option<String>| {
            u.as_deref()
                .map(|u| crate::client::redact::redact(u.split(';').next().unwrap_or("")))
        };
        f.debug_struct("Connection")
            .field("context", &self.context)
            .field("ingest_url", &url(&self.ingest_url))
            .field("cluster", &url(&self.cluster))
            .field("auth", &self.auth)
            .field("token", &self.token.as_ref().map(|_| "REDACTED"))
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "REDACTED"),
            )
            .field("timeout", &self.timeout)
            .field("discard_concurrency", &self.discard_concurrency)
            .finish()
    }
}

/// `status --all`: a capped scan of the status tables (a full table scan, so never a poll).
#[derive(Debug, Clone, Args)]
pub struct StatusScanArgs {
    /// Every client's table-tracked sources: scan the cluster's status tables (a full table
    /// scan, capped by --max-pages), with counts per state.
    #[arg(long)]
    pub all: bool,
    /// Only entities written within this age (90s, 30m, 1h, 2d; default: all).
    #[arg(long, value_name = "AGE", requires = "all")]
    pub since: Option<String>,
    /// Stop after N pages of up to 1000 entities (over all tables).
    #[arg(long, value_name = "N", default_value_t = crate::client::cluster_status::DEFAULT_MAX_PAGES as u32,
          value_parser = clap::value_parser!(u32).range(1..), requires = "all")]
    pub max_pages: u32,
    /// Only entities in this state as the service writes it (Pending, Succeeded, Failed,
    /// PartiallySucceeded, Skipped).
    #[arg(long, value_name = "STATE", requires = "all")]
    pub state: Option<String>,
    /// The entities as CSV on stdout (the counts go to stderr).
    #[arg(long, requires = "all", help_heading = OUTPUT)]
    pub csv: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the ingestion resources the service hands out (SAS redacted), with queue depths.
    Resources {
        #[command(flatten)]
        conn: Connection,
    },
    /// Upload files and post ingestion messages.
    Submit(SubmitArgs),
    /// Pre-flight check: predict the service's answer to a file (schema, mappings, the first
    /// records, size) and when its batch would seal; sends nothing. Exit codes as for submit.
    Check(CheckArgs),
    /// Show the status of a source (its journaled status table, then the notification queues),
    /// or with --all every client's sources in the cluster's status tables.
    Status {
        #[command(flatten)]
        conn: Connection,
        /// The source id (IngestionSourceId) printed by `submit`.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        source_id: Option<String>,
        /// Show the source's timeline: each storage request with its x-ms-client-request-id,
        /// the queue post, each state seen, the notifications, the engine's failure rows and
        /// (with `submit --tag-source`) the rows by its extent tag, in time order.
        #[arg(long, conflicts_with = "all")]
        timeline: bool,
        #[command(flatten)]
        scan: StatusScanArgs,
    },
    /// Send a journaled source again as a new source (its file, else its retained blob):
    /// a Failed one at once; a Succeeded, Skipped, retrying or unknown one only with --force.
    Resubmit(ResubmitArgs),
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
        #[command(flatten)]
        conn: Connection,
        /// The command text, e.g. `.show version`.
        csl: String,
        /// Database the command runs in (a command on the cluster, e.g. `.show databases`,
        /// runs in any).
        #[arg(long, short = 'd', default_value = "NetDefaultDB")]
        database: String,
    },
    /// Bulk ingestion run by the cluster: `.ingest-from-storage-queued` over a container or
    /// a blob list, tracked by operation id (`bulk status`, `bulk cancel`).
    Bulk(BulkArgs),
    /// Run the local ingestion service emulator.
    Emulator(EmulatorArgs),
    /// Start the emulator with the demo schema and traffic, and open the TUI on it.
    Demo(DemoArgs),
    /// Serve the REST queued-ingestion API in front of the cluster (--cluster/--ingest-url).
    Gateway(GatewayArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell) on stdout.
    Completions {
        /// The shell to complete in.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// The config file: create it, show the effective settings, its path, the default context.
    Config(ConfigArgs),
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub conn: Connection,
    /// The file to check (`.gz` is read through).
    pub file: PathBuf,
    /// Target database (default: the config file's `database`).
    #[arg(long, short = 'd')]
    pub database: Option<String>,
    /// Target table (default: the config file's `table`).
    #[arg(long, short = 't')]
    pub table: Option<String>,
    /// Data format (default: the file's extension, else csv).
    #[arg(long, short = 'f')]
    pub format: Option<String>,
    /// Name of a pre-created ingestion mapping.
    #[arg(long)]
    pub mapping_ref: Option<String>,
    /// The first record is a header.
    #[arg(long)]
    pub ignore_first_record: bool,
    /// Records to read from the start of the file.
    #[arg(long, value_name = "N", default_value_t = crate::client::preflight::DEFAULT_RECORDS)]
    pub records: usize,
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub action: ConfigAction,
}

#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Write a commented starter file; with --cluster or --ingest-url (a URL or a connection
    /// string) also its first context, named by --context (default "default").
    Init {
        /// Replace an existing file.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        conn: Connection,
    },
    /// Print the chosen context's effective settings and where each came from (secrets
    /// redacted).
    Show {
        #[command(flatten)]
        conn: Connection,
    },
    /// Print the config file's path and whether it exists.
    Path,
    /// Make NAME the default context (`default_context`), keeping the file's comments.
    Use {
        /// A context the file defines.
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum QueueAction {
    /// Show up to N notifications without removing them.
    Peek {
        #[command(flatten)]
        conn: Connection,
        /// How many notifications to show at most.
        #[arg(short = 'n', long, default_value_t = 20)]
        n: usize,
    },
    /// Receive, archive (JSON lines) and delete notifications.
    Discard(DiscardArgs),
    /// Forensics of one failure (failures only): the bad record of its source with its
    /// neighbours, the table's schema and mapping, and a fix.
    Explain {
        #[command(flatten)]
        conn: Connection,
        /// The notification's message id or the source id (IngestionSourceId).
        id: String,
    },
    /// Read discard archives back (deduplicated by MessageId, sanitised; `--json` redacted).
    Archive {
        /// Archive files; default: this kind's `discarded-*` files in the archive folder.
        files: Vec<PathBuf>,
    },
    /// Read every notification, past the 32 a peek shows, into the inbox; deletes nothing,
    /// but other clients lose sight of them for a few seconds and their DequeueCount rises.
    Scan {
        #[command(flatten)]
        conn: Connection,
        /// Do not ask for confirmation (needed when stdin is not a terminal).
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// The inbox: every notification kingest has seen (peek, scan, TUI) for this cluster,
    /// newest first, or grouped.
    History(HistoryArgs),
    /// Acknowledge inbox notifications by MessageId: `history` hides them (they are kept).
    Ack {
        #[command(flatten)]
        conn: Connection,
        /// MessageIds (as `history` shows them).
        #[arg(required = true, value_name = "ID")]
        ids: Vec<String>,
        /// Clear the acknowledgement instead.
        #[arg(long)]
        unack: bool,
    },
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    #[command(flatten)]
    pub conn: Connection,
    /// Group by code, table and/or status (repeat it or give a comma list): counts, first and
    /// last seen, and the last hour minute by minute.
    #[arg(long, value_name = "COLUMNS")]
    pub group_by: Vec<String>,
    /// Only notifications whose code, table, database, source id, details, path or MessageId
    /// contains TEXT (case-insensitive).
    #[arg(long, value_name = "TEXT")]
    pub search: Option<String>,
    /// Only acknowledged notifications.
    #[arg(long, conflicts_with = "all")]
    pub acked: bool,
    /// Acknowledged and not.
    #[arg(long)]
    pub all: bool,
    /// CSV on stdout (RFC 4180 quoting; values exact, secrets redacted).
    #[arg(long)]
    pub csv: bool,
    /// At most N notifications (or groups); 0: all.
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub limit: usize,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("scope").required(true).args(["all", "mine", "source_id", "n"])))]
pub struct DiscardArgs {
    #[command(flatten)]
    pub conn: Connection,
    /// Everything currently in the queues: every client's notifications, not only yours.
    #[arg(long)]
    pub all: bool,
    /// Only notifications of sources this machine submitted to this cluster (the journal).
    #[arg(long)]
    pub mine: bool,
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
    /// With --all: pass again while messages in flight (invisible) may reappear, for at most
    /// SECS seconds after the first pass (0: one pass). A stopped kingest discard hides what it held for 5 s to
    /// 5 min.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub wait: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportLevelArg {
    /// Report failures only.
    Failures,
    /// Report nothing.
    None,
    /// Report failures and successes.
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportMethodArg {
    /// The notification queues every client shares.
    Queue,
    /// The status table (one row per source).
    Table,
    /// Both.
    QueueAndTable,
}

/// `--mode`: [`IngestMode`](crate::client::mode::IngestMode) on the command line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// Upload a blob, post a queue message; the DM batches it.
    #[default]
    Queued,
    /// One POST to the engine's streaming endpoint (small data, rows at once).
    Streaming,
    /// Streaming when small, queued on size or transient errors.
    Managed,
    /// `.ingest into` on the engine (synchronous; for exploration).
    Direct,
    /// The DM's REST queued-ingestion API.
    RestQueued,
}

impl From<ModeArg> for crate::client::mode::IngestMode {
    fn from(m: ModeArg) -> Self {
        use crate::client::mode::IngestMode;
        match m {
            ModeArg::Queued => IngestMode::Queued,
            ModeArg::Streaming => IngestMode::Streaming,
            ModeArg::Managed => IngestMode::Managed,
            ModeArg::Direct => IngestMode::Direct,
            ModeArg::RestQueued => IngestMode::RestQueued,
        }
    }
}

#[derive(Debug, Args)]
pub struct SubmitArgs {
    #[command(flatten)]
    pub conn: Connection,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Local files, folders (every file below, see --pattern) or globs (`logs/*.csv`,
    /// `data/**/*.json`) to ingest; `-` reads standard input (needs --format).
    #[arg(required_unless_present = "blobs")]
    pub files: Vec<PathBuf>,
    /// An existing blob to ingest as it is, no upload (repeatable): a URL with a SAS the
    /// service can read, or a `;managed_identity=…` suffix.
    #[arg(long = "blob", value_name = "URL")]
    pub blobs: Vec<String>,
    /// The uncompressed size of each --blob in order (repeatable; default: the blob's
    /// kustoUncompressedSizeBytes or rawSizeBytes metadata, else its length).
    #[arg(long = "raw-size", value_name = "BYTES", requires = "blobs")]
    pub raw_sizes: Vec<u64>,
    /// Only files whose name matches this glob, in the folders given (e.g. "*.csv").
    #[arg(long, value_name = "GLOB")]
    pub pattern: Option<String>,
    /// Sources uploaded and posted at once.
    #[arg(long, value_name = "N", default_value = "4", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub parallel: u16,
    /// Print the files that would be ingested, with their sizes, and exit.
    #[arg(long)]
    pub list_only: bool,
    /// Split text sources bigger than this (uncompressed) at record boundaries into chunks,
    /// one blob and message each: 1GiB, 512MiB, 10MB, or bytes.
    #[arg(long, value_name = "SIZE", default_value = "1GiB", value_parser = crate::client::submit::chunk::parse_size)]
    pub chunk_size: u64,
    /// Write one row per source (and per chunk) to FILE: CSV or JSON lines, by its
    /// extension or --report-format.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// The format of the --report file.
    #[arg(long, value_enum, requires = "report")]
    pub report_format: Option<ReportFileFormat>,
    /// How the data reaches the service.
    #[arg(long, value_enum, default_value = "queued")]
    pub mode: ModeArg,
    /// Inline ingestion mapping (JSON array).
    #[arg(long)]
    pub mapping: Option<String>,
    /// What the service reports (failures alone cannot be tracked through a table).
    #[arg(long, value_enum, default_value = "all")]
    pub report_level: ReportLevelArg,
    /// Where the service reports. Default: the status table, as LightIngest does, so each
    /// source is tracked exactly and nothing is added to the queues every client shares.
    /// (When the service offers no status table: queue.)
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
    /// Extent creation time, sent as ISO 8601 UTC: 2024-01-02, "2024-01-02 03:04:05" (UTC),
    /// or 2024-01-02T03:04:05+01:00.
    #[arg(long)]
    pub creation_time: Option<String>,
    /// Let the service delete the blob after a successful ingestion (RetainBlobOnSuccess
    /// false; needs delete rights). By default the blob is kept, as every SDK asks.
    #[arg(long)]
    pub no_retain_blob: bool,
    /// Submit a source over the service's size limit anyway (IgnoreSizeLimit).
    #[arg(long)]
    pub ignore_size_limit: bool,
    /// Send a file that changes while it is read (what was read, with a warning). By
    /// default such a file fails: its last record may be torn.
    #[arg(long)]
    pub allow_growing: bool,
    /// Ingest each file's content into the table at most once: tags the post
    /// ingest-by:<sha256 of the file> with ingestIfNotExists on it. Costs batching (each such
    /// blob is sealed alone) and engine work per unique tag; a second copy ends Skipped.
    #[arg(long)]
    pub dedupe: bool,
    /// Add the extent tag kingest:<source id>, so `status --timeline` can count the rows
    /// that landed from this source. Opt-in: the service batches only blobs whose ingestion
    /// properties (tags included) match, so each tagged source is ingested alone (one small
    /// extent each), and every distinct tag stays in the extents' metadata.
    #[arg(long)]
    pub tag_source: bool,
    /// For .zip sources: the regular expression (or, when it is not one, the glob) that
    /// selects the archive's entries to ingest, sent as the zipPattern property.
    #[arg(long, value_name = "REGEX")]
    pub zip_pattern: Option<String>,
    /// Threads gzipping each file (default: one per core); the blob is the same either way.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub compress_threads: Option<u16>,
    /// Wait for the final state, at most SECS seconds (default 900: the service's default
    /// batching policy seals a batch after up to 5 minutes unless --flush).
    #[arg(long, num_args = 0..=1, default_missing_value = "900", value_name = "SECS")]
    pub wait: Option<u64>,
}

/// Where the data goes and how it reads: the flags `submit` and `bulk` share.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = TARGET)]
pub struct TargetArgs {
    /// Target database (default: the config file's `database`).
    #[arg(long, short = 'd')]
    pub database: Option<String>,
    /// Target table (default: the config file's `table`).
    #[arg(long, short = 't')]
    pub table: Option<String>,
    /// Data format, e.g. csv, json, parquet (default: submit takes each file's extension,
    /// bulk --pattern's, else the service's csv).
    #[arg(long, short = 'f')]
    pub format: Option<String>,
    /// Name of a pre-created ingestion mapping.
    #[arg(long)]
    pub mapping_ref: Option<String>,
    /// The first record of each file or blob is a header.
    #[arg(long)]
    pub ignore_first_record: bool,
    /// Extra ingestion property KEY=VALUE (repeatable); properties kingest sets itself
    /// (format, tags, creationTime, …) are refused: use their flags.
    #[arg(long = "property", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub properties: Vec<(String, String)>,
}

/// `submit --report` file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFileFormat {
    /// Comma-separated values with a header line.
    Csv,
    /// One JSON object a line.
    Jsonl,
}

fn parse_key_value(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.to_string()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| format!("expected KEY=VALUE, got '{s}'"))
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BulkArgs {
    #[command(subcommand)]
    pub action: Option<BulkAction>,
    #[command(flatten)]
    pub start: BulkStartArgs,
}

#[derive(Debug, Subcommand)]
pub enum BulkAction {
    /// Show an operation's counters (`.show queued ingestion operations`).
    Status {
        #[command(flatten)]
        conn: Connection,
        /// The operation id `kingest bulk` printed.
        operation_id: String,
        /// Also list each blob with its status and failure reason.
        #[arg(long)]
        details: bool,
    },
    /// Cancel an operation (best effort: blobs already being ingested may still land).
    Cancel {
        #[command(flatten)]
        conn: Connection,
        /// The operation id `kingest bulk` printed.
        operation_id: String,
    },
}

#[derive(Debug, Args)]
pub struct BulkStartArgs {
    #[command(flatten)]
    pub conn: Connection,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Container (or container/folder) URL with a SAS allowing list and read; the cluster
    /// lists it itself (`.list blobs`).
    #[arg(long, value_name = "URL", conflicts_with = "blobs")]
    pub container: Option<String>,
    /// An existing blob URL (with SAS) to ingest (repeatable): an explicit blob list.
    #[arg(long = "blob", value_name = "URL")]
    pub blobs: Vec<String>,
    /// Only blobs whose names start with P (inside the container).
    #[arg(long, value_name = "P", requires = "container")]
    pub prefix: Option<String>,
    /// Glob on blob names (`*` any text, `/` included; `?`; `[a-z]`). `*.ext` becomes the
    /// service's Suffix; other patterns make kingest list the container and send the matches.
    #[arg(long, value_name = "GLOB", requires = "container")]
    pub pattern: Option<String>,
    /// At most N blobs (MaxFiles).
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,
    /// Ingest each blob on its own instead of batching (SkipBatching).
    #[arg(long)]
    pub skip_batching: bool,
    /// Track the operation to its end, at most SECS seconds (default 3600).
    #[arg(long, num_args = 0..=1, default_missing_value = "3600", value_name = "SECS")]
    pub wait: Option<u64>,
}

#[derive(Debug, Args)]
pub struct EmulatorArgs {
    /// Address to listen on; port 0 lets the OS choose. The first stdout line is the base URL.
    /// Anything but loopback needs --require-token (and is warned about on stderr).
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
    /// Faults to inject, comma-separated NAME=VALUE, e.g. `http5xx=0.1,retry-after=2,reset=0.05,
    /// latency=200ms,stall=0.01,slow-body=0.05,ingest-transient=0.05,duplicate-delivery=0.02,
    /// seed=42` (also reset-before, ingest-transient-times=N). Rates are per request (HTTP)
    /// or per ingestion (ingest-*, duplicate-delivery).
    #[arg(long, value_name = "SPEC", env = "KINGEST_EMULATOR_FAULTS")]
    pub faults: Option<String>,
    /// Ingest attempts per source before a transient failure becomes Exhausted (default 3).
    #[arg(long, value_name = "N")]
    pub ingest_attempts: Option<u32>,
    /// Wait before the first retry of a transient failure, doubled per retry (default 1).
    #[arg(long, value_name = "SECS")]
    pub retry_backoff: Option<f64>,
    /// SAS permissions of the notification queues handed out: `rp` (read + process, as real
    /// DMs issue them) or `rpu` (also update, so discards can release messages at once).
    #[arg(long, value_name = "PERMS", default_value = "rp", value_parser = ["rp", "rpu"])]
    pub notification_permissions: String,
    /// SAS permissions of the status table handed out: `raud` (as real DMs issue them) or
    /// `aud` (no query: `status --all` is refused, as with a DM that withholds `r`).
    #[arg(long, value_name = "PERMS", default_value = "raud", value_parser = ["raud", "aud"])]
    pub status_table_permissions: String,
    /// Hand out a new status table every SECS (default: each UTC day, as the service).
    #[arg(long, value_name = "SECS")]
    pub status_table_rotation: Option<f64>,
    /// Make mgmt calls, the REST queued API (and GET /metrics) demand `Authorization: Bearer T`.
    #[arg(long, env = "KINGEST_EMULATOR_TOKEN", hide_env_values = true)]
    pub require_token: Option<String>,
    /// Turn the cluster's streaming ingestion feature off: `/v1/rest/ingest/…` answers 404, as
    /// a cluster without it does. (On, each table or database still needs `.alter … policy
    /// streamingingestion enable`.)
    #[arg(long)]
    pub no_streaming: bool,
    /// Streaming ingestion's size limit in bytes (default 4 MiB, the documented 4 MB).
    #[arg(long, value_name = "BYTES")]
    pub streaming_limit: Option<u64>,
    /// What the streaming limit measures: the data after decompression (default) or the
    /// request body as sent.
    #[arg(long, value_name = "WHAT", default_value = "data", value_parser = ["data", "body"])]
    pub streaming_limit_on: String,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub tui: TuiFlags,
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

#[derive(Debug, Args)]
pub struct GatewayArgs {
    #[command(flatten)]
    pub conn: Connection,
    /// Address to listen on; port 0 lets the OS choose. The first stdout line is the base URL.
    /// Anything but loopback needs --require-token.
    #[arg(long, default_value = "127.0.0.1:8090")]
    pub listen: std::net::SocketAddr,
    /// Make every request demand `Authorization: Bearer T` (--token stays the credential
    /// for the cluster).
    #[arg(long, env = "KINGEST_GATEWAY_TOKEN", hide_env_values = true)]
    pub require_token: Option<String>,
}

/// `kingest resubmit SOURCE_ID`.
#[derive(Debug, Clone, Args)]
pub struct ResubmitArgs {
    #[command(flatten)]
    pub conn: Connection,
    /// The source id (IngestionSourceId) printed by `submit` or shown in the TUI.
    pub source_id: String,
    /// Send a source that Succeeded, was Skipped, is still being retried or whose outcome is
    /// unknown (its data may land twice; a --dedupe source is skipped by the service).
    #[arg(long)]
    pub force: bool,
    /// Wait for the final state, at most SECS seconds (default 900).
    #[arg(long, num_args = 0..=1, default_missing_value = "900", value_name = "SECS")]
    pub wait: Option<u64>,
}
