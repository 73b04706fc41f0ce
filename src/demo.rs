//! `kingest demo` and `kingest emulator`: the emulator with the embedded demo schema and sample
//! files, a background traffic generator, and the TUI (or a narrated headless run) on top.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::cli::{self, DemoArgs, EmulatorArgs, Failure};
use crate::client::retry::RetryPolicy;
use crate::client::wire::{DataFormat, ReportLevel, ReportMethod};
use crate::client::{AuthMethod, ClientConfig, IngestClient, SubmitRequest};
use crate::config::FileConfig;
use crate::emulator::{Emulator, EmulatorConfig};

/// The demo schema and files, embedded so the demo works from any directory.
pub const DEMO_SCHEMA: &str = include_str!("../assets/demo/schema.kql");
pub const DEMO_FILES: &[(&str, &[u8])] = &[
    ("events.csv", include_bytes!("../assets/demo/events.csv")),
    (
        "events-header.csv",
        include_bytes!("../assets/demo/events-header.csv"),
    ),
    ("events.tsv", include_bytes!("../assets/demo/events.tsv")),
    (
        "metrics.json",
        include_bytes!("../assets/demo/metrics.json"),
    ),
    (
        "metrics-multi.json",
        include_bytes!("../assets/demo/metrics-multi.json"),
    ),
    (
        "bad-wrong-fields.csv",
        include_bytes!("../assets/demo/bad-wrong-fields.csv"),
    ),
    (
        "bad-empty.csv",
        include_bytes!("../assets/demo/bad-empty.csv"),
    ),
    (
        "bad-unclosed-quote.csv",
        include_bytes!("../assets/demo/bad-unclosed-quote.csv"),
    ),
    (
        "bad-not-json.json",
        include_bytes!("../assets/demo/bad-not-json.json"),
    ),
];

/// One demo submission and the outcome it is meant to produce.
#[derive(Debug, Clone, Copy)]
pub struct Scenario {
    pub file: &'static str,
    pub database: &'static str,
    pub table: &'static str,
    pub format: Option<DataFormat>,
    pub mapping: Option<&'static str>,
    pub ignore_first_record: bool,
    pub expect: &'static str,
}

const fn scenario(file: &'static str, table: &'static str, expect: &'static str) -> Scenario {
    Scenario {
        file,
        database: "demo",
        table,
        format: None,
        mapping: None,
        ignore_first_record: false,
        expect,
    }
}

/// Good and bad alternate so a few seconds of demo traffic show both streams.
pub const SCENARIOS: &[Scenario] = &[
    scenario("events.csv", "Events", "Succeeded"),
    scenario(
        "bad-wrong-fields.csv",
        "Events",
        "Stream_WrongNumberOfFields",
    ),
    Scenario {
        mapping: Some("MetricsJson"),
        ..scenario("metrics.json", "Metrics", "Succeeded")
    },
    scenario("bad-empty.csv", "Events", "BadRequest_EmptyBlob"),
    Scenario {
        ignore_first_record: true,
        ..scenario("events-header.csv", "Events", "Succeeded")
    },
    scenario(
        "bad-unclosed-quote.csv",
        "Events",
        "Stream_ClosingQuoteMissing",
    ),
    scenario("events.tsv", "Events", "Succeeded"),
    Scenario {
        mapping: Some("MetricsJson"),
        ..scenario(
            "bad-not-json.json",
            "Metrics",
            "BadRequest_NoRecordsOrWrongFormat",
        )
    },
    Scenario {
        mapping: Some("MetricsJson"),
        format: Some(DataFormat::MultiJson),
        ..scenario("metrics-multi.json", "Metrics", "Succeeded")
    },
    scenario("events.csv", "NoSuchTable", "BadRequest_TableNotExist"),
    Scenario {
        database: "nosuchdb",
        ..scenario("events.csv", "Events", "BadRequest_DatabaseNotExist")
    },
    Scenario {
        mapping: Some("NoSuchMapping"),
        ..scenario(
            "metrics.json",
            "Metrics",
            "BadRequest_MappingReferenceWasNotFound",
        )
    },
];

impl Scenario {
    pub fn request(&self, dir: &Path) -> SubmitRequest {
        let mut req = SubmitRequest::new(dir.join(self.file), self.database, self.table);
        req.format = self.format;
        req.mapping_reference = self.mapping.map(str::to_string);
        req.ignore_first_record = self.ignore_first_record;
        req.report_level = ReportLevel::FailuresAndSuccesses;
        req.report_method = ReportMethod::QueueAndTable;
        req.tags = vec!["kingest-demo".into()];
        req
    }
}

/// Writes the embedded demo files into `dir` (created if needed).
pub fn write_demo_files(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for (name, bytes) in DEMO_FILES {
        std::fs::write(dir.join(name), bytes)?;
    }
    Ok(())
}

/// A client for a local emulator (no auth, short timeouts).
pub fn local_client(url: &str) -> Result<IngestClient, Failure> {
    Ok(IngestClient::new(ClientConfig {
        ingest_url: url.to_string(),
        auth: AuthMethod::None,
        timeout: Duration::from_secs(30),
        retry: RetryPolicy::default(),
    })?)
}

/// Submits demo scenarios round-robin every `every` until cancelled. Errors are logged, never fatal.
pub async fn traffic(
    client: IngestClient,
    dir: PathBuf,
    every: Duration,
    cancel: CancellationToken,
) {
    let mut i = 0usize;
    loop {
        let s = SCENARIOS[i % SCENARIOS.len()];
        i += 1;
        let noop: crate::client::ProgressFn = std::sync::Arc::new(|_| {});
        if let Err(e) = client.submit(s.request(&dir), noop).await {
            tracing::warn!(file = s.file, error = %e, "demo traffic submission failed");
        }
        // A good and a bad file at once, so both streams have data within seconds.
        if i == 1 {
            continue;
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}

async fn start_demo_emulator(listen: std::net::SocketAddr) -> Result<Emulator, Failure> {
    Emulator::start(EmulatorConfig {
        listen,
        schema: Some(DEMO_SCHEMA.to_string()),
        // The service's 5-minute batching would leave the demo's panes empty for minutes.
        batch_window: Some(Duration::from_secs(1)),
        // Short-lived notifications keep the demo's queues within one peek (32 messages).
        notification_ttl: Some(Duration::from_secs(60)),
        ..Default::default()
    })
    .await
    .map_err(|e| Failure {
        code: cli::EXIT_SERVICE,
        message: format!("cannot start the emulator: {e:#}"),
    })
}

/// `kingest demo`
pub async fn run(args: DemoArgs, file_cfg: &FileConfig, read_only: bool) -> Result<i32, Failure> {
    let emulator = start_demo_emulator(args.listen).await?;
    let dir = crate::config::state_dir().join(format!("demo-files-{}", std::process::id()));
    write_demo_files(&dir).map_err(|e| {
        Failure::usage(format!("cannot write demo files to {}: {e}", dir.display()))
    })?;
    let client = local_client(emulator.url())?;
    let result = if args.headless {
        narrate(&client, &dir, emulator.url()).await
    } else {
        let cancel = CancellationToken::new();
        let generator = (!args.no_traffic).then(|| {
            tokio::spawn(traffic(
                client.clone(),
                dir.clone(),
                Duration::from_secs(3),
                cancel.clone(),
            ))
        });
        let r = run_tui(client, file_cfg, read_only, Some(&dir)).await;
        cancel.cancel();
        if let Some(g) = generator {
            let _ = g.await;
        }
        r
    };
    emulator.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// The TUI on `client`: logs to a file whose path is printed on exit; `demo_dir` is where the
/// demo files are, for the submit dialog.
pub async fn run_tui(
    client: IngestClient,
    file_cfg: &FileConfig,
    read_only: bool,
    demo_dir: Option<&Path>,
) -> Result<i32, Failure> {
    let state_dir = crate::config::state_dir();
    let log_path = state_dir.join("kingest.log");
    let guard =
        crate::runtime::logging::init(&log_path).map_err(|e| Failure::usage(format!("{e:#}")))?;
    let mut poll = crate::app::state::PollConfig::default();
    if demo_dir.is_some() {
        // The demo's traffic never stops: poll as if busy, so the streams feel live.
        poll.peek_idle = poll.peek_busy;
        poll.peek_max = poll.peek_busy;
    }
    if let Some(secs) = file_cfg.poll_interval_secs {
        poll.peek_idle = Duration::from_secs(secs.max(1));
    }
    let opts = crate::runtime::TuiOptions {
        read_only: read_only || file_cfg.read_only.unwrap_or(false),
        archive_dir: file_cfg
            .archive_dir
            .clone()
            .unwrap_or_else(|| state_dir.join("archive")),
        state_dir: state_dir.clone(),
        default_database: file_cfg
            .database
            .clone()
            .or(demo_dir.map(|_| "demo".to_string())),
        default_table: file_cfg
            .table
            .clone()
            .or(demo_dir.map(|_| "Events".to_string())),
        poll,
        ring_capacity: file_cfg.stream_capacity.unwrap_or(500).max(1),
        default_path: demo_dir.map(Path::to_path_buf),
        color: None,
    };
    let result = crate::runtime::run_tui(client, opts).await;
    eprintln!("kingest: logs in {}", guard.path.display());
    drop(guard);
    result.map(|_| cli::EXIT_OK).map_err(|e| Failure {
        code: cli::EXIT_SERVICE,
        message: format!("{e:#}"),
    })
}

/// The headless demonstration: every scenario submitted and awaited, then the queues.
async fn narrate(client: &IngestClient, dir: &Path, url: &str) -> Result<i32, Failure> {
    println!("kingest demo: emulator at {url}\n");
    cli::resources(client, false).await?;
    println!();
    for s in SCENARIOS {
        println!(
            "--- {} into {}.{} (expect {})",
            s.file, s.database, s.table, s.expect
        );
        let args = cli::SubmitArgs {
            files: vec![dir.join(s.file)],
            database: Some(s.database.into()),
            table: Some(s.table.into()),
            format: s.format.map(|f| f.wire_name()),
            mapping_ref: s.mapping.map(str::to_string),
            mapping: None,
            report_level: cli::ReportLevelArg::All,
            report_method: Some(cli::ReportMethodArg::QueueAndTable),
            flush: true,
            tags: vec![],
            ingest_if_not_exists: vec![],
            ignore_first_record: s.ignore_first_record,
            creation_time: None,
            retain_blob: false,
            properties: vec![],
            wait: Some(30),
        };
        cli::submit(client, args, &FileConfig::default(), false).await?;
    }
    println!("\n--- failure queue (peek: nothing is removed)");
    cli::peek(
        client,
        crate::client::wire::NotificationKind::Failure,
        32,
        false,
    )
    .await?;
    println!("\n--- row counts");
    cli::mgmt(client, "demo", ".show tables details", false).await?;
    Ok(cli::EXIT_OK)
}

/// `kingest emulator`: prints its base URL as the first stdout line and serves until
/// Ctrl-C or SIGTERM.
pub async fn run_emulator(args: EmulatorArgs) -> Result<i32, Failure> {
    let schema = match &args.schema {
        Some(p) => Some(
            std::fs::read_to_string(p)
                .map_err(|e| Failure::usage(format!("cannot read schema {}: {e}", p.display())))?,
        ),
        None => None,
    };
    let secs = |flag: &str, v: Option<f64>| -> Result<Option<Duration>, Failure> {
        match v {
            None => Ok(None),
            Some(s) if s.is_finite() && s >= 0.0 => Ok(Some(Duration::from_secs_f64(s))),
            Some(_) => Err(Failure::usage(format!(
                "{flag} must be a non-negative number of seconds"
            ))),
        }
    };
    let faults = match &args.faults {
        None => crate::emulator::faults::FaultConfig::default(),
        Some(spec) => crate::emulator::faults::FaultConfig::parse(spec)
            .map_err(|e| Failure::usage(format!("--faults: {e}")))?,
    };
    let mut ingest_retry = crate::emulator::dm::RetrySettings::default();
    if let Some(n) = args.ingest_attempts {
        if n == 0 {
            return Err(Failure::usage("--ingest-attempts must be at least 1"));
        }
        ingest_retry.max_attempts = n;
    }
    if let Some(b) = secs("--retry-backoff", args.retry_backoff)? {
        ingest_retry.backoff = b;
    }
    let status_table_rotation = secs("--status-table-rotation", args.status_table_rotation)?;
    if status_table_rotation.is_some_and(|d| d.is_zero()) {
        return Err(Failure::usage("--status-table-rotation must be above 0"));
    }
    let emulator = Emulator::start(EmulatorConfig {
        listen: args.listen,
        schema,
        storage: args.storage,
        batch_window: secs("--batch-window", args.batch_window)?,
        require_token: args.require_token,
        faults,
        ingest_retry,
        status_table_rotation,
        ..Default::default()
    })
    .await
    .map_err(|e| Failure {
        code: cli::EXIT_SERVICE,
        message: format!("{e:#}"),
    })?;
    println!("{}", emulator.url());
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    eprintln!(
        "kingest emulator: ingest URL {} (storage account {}); Ctrl-C stops it",
        emulator.url(),
        emulator.storage_account()
    );
    wait_for_stop_signal().await;
    emulator.shutdown().await;
    Ok(cli::EXIT_OK)
}

/// Ctrl-C, SIGTERM or SIGHUP.
pub async fn wait_for_stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut hup)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
        ) else {
            let _ = tokio::signal::ctrl_c().await;
            return;
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
            _ = hup.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
