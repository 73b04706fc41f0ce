//! `kingest emulator`: the local ingestion service.

use std::time::Duration;

use crate::cli::args::EmulatorArgs;
use crate::cli::{EXIT_OK, Failure};
use crate::emulator::{Emulator, EmulatorConfig};

/// `kingest emulator`: prints its base URL as the first stdout line and serves until
/// Ctrl-C or SIGTERM.
pub async fn run(args: EmulatorArgs) -> Result<i32, Failure> {
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
        notification_queue_permissions: args.notification_permissions,
        ..Default::default()
    })
    .await
    .map_err(|e| Failure::service(format!("{e:#}")))?;
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
    Ok(EXIT_OK)
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
