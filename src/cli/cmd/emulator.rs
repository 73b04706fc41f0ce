//! `kingest emulator`: the local ingestion service.

use std::net::SocketAddr;
use std::time::Duration;

use crate::cli::args::EmulatorArgs;
use crate::cli::output::{notice, outln};
use crate::cli::{EXIT_OK, Failure};
use crate::emulator::{Emulator, EmulatorConfig};

/// `kingest emulator`: prints its base URL as the first stdout line and serves until
/// Ctrl-C or SIGTERM.
/// With `--json` the first line is a JSON object with the URLs instead.
pub async fn run(args: EmulatorArgs, json: bool) -> Result<i32, Failure> {
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
    if args
        .require_token
        .as_deref()
        .is_some_and(|t| t.trim().is_empty())
    {
        return Err(Failure::usage(
            "--require-token (or KINGEST_EMULATOR_TOKEN) is empty: give a token, or leave it unset",
        ));
    }
    let exposed = match exposure(args.listen, args.require_token.is_some()) {
        Ok(e) => e,
        Err(why) => return Err(Failure::usage(why)),
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
        status_table_permissions: args.status_table_permissions,
        // Off loopback the well-known built-in key would let anyone forge SAS tokens.
        random_account_key: exposed.is_some(),
        streaming: crate::emulator::http::streaming::StreamingConfig {
            enabled: !args.no_streaming,
            limit: args
                .streaming_limit
                .unwrap_or(crate::emulator::http::streaming::DEFAULT_LIMIT),
            limit_on: if args.streaming_limit_on == "body" {
                crate::emulator::http::streaming::LimitOn::Body
            } else {
                crate::emulator::http::streaming::LimitOn::Data
            },
        },
        ..Default::default()
    })
    .await
    .map_err(|e| Failure::service(format!("{e:#}")))?;
    if let Some(warning) = exposed {
        eprintln!("{warning}");
    }
    if json {
        crate::cli::output::print_json_line(&serde_json::json!({
            "url": emulator.url(),
            "ingest_url": emulator.url(),
            "storage_account": emulator.storage_account(),
        }));
    } else {
        outln!("{}", emulator.url());
    }
    notice!(
        "kingest emulator: ingest URL {} (storage account {}); Ctrl-C stops it",
        emulator.url(),
        emulator.storage_account()
    );
    wait_for_stop_signal().await;
    emulator.shutdown().await;
    Ok(EXIT_OK)
}

/// Whether binding to `addr` exposes the emulator beyond this machine: `Ok(None)` for a
/// loopback address, `Ok(Some(warning))` for any other with a token, `Err` without one (mgmt
/// commands, control commands included, would be open to anyone who can reach the port).
pub fn exposure(addr: SocketAddr, token: bool) -> Result<Option<String>, String> {
    if addr.ip().is_loopback() {
        return Ok(None);
    }
    if !token {
        return Err(format!(
            "--listen {addr} is not a loopback address: other machines could reach the emulator \
             and run any mgmt command on it. Pass --require-token TOKEN (or set \
             KINGEST_EMULATOR_TOKEN) to bind there, or listen on 127.0.0.1"
        ));
    }
    Ok(Some(format!(
        "WARNING: kingest emulator listens on {addr}, which other machines may reach.\n\
         WARNING: mgmt calls need the bearer token; storage SAS are signed with a key made for \
         this run; everything travels as plain HTTP (no TLS), tokens and SAS included.\n\
         WARNING: it is a test tool: do not expose it to networks you do not trust."
    )))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_quiet_elsewhere_needs_a_token_and_warns() {
        for a in ["127.0.0.1:8080", "[::1]:0", "127.5.6.7:1"] {
            assert_eq!(exposure(a.parse().unwrap(), false), Ok(None), "{a}");
        }
        for a in ["0.0.0.0:8080", "[::]:8080", "192.168.1.10:80"] {
            let addr: SocketAddr = a.parse().unwrap();
            let refused = exposure(addr, false).unwrap_err();
            assert!(refused.contains("--require-token"), "{refused}");
            assert!(refused.contains(&addr.to_string()), "{refused}");
            let warning = exposure(addr, true).unwrap().unwrap();
            assert!(warning.starts_with("WARNING:"), "{warning}");
            assert!(warning.contains(&addr.to_string()) && warning.contains("no TLS"));
        }
    }
}
