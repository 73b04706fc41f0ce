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
    if !(args.batch_window.is_finite() && args.batch_window >= 0.0) {
        return Err(Failure::usage(
            "--batch-window must be a non-negative number of seconds",
        ));
    }
    let emulator = Emulator::start(EmulatorConfig {
        listen: args.listen,
        schema,
        storage: args.storage,
        batch_window: Duration::from_secs_f64(args.batch_window),
        require_token: args.require_token,
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
