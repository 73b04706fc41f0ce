//! The command line: `args` (clap types), `resolve` (the one merge of defaults ⊕ config file ⊕
//! environment ⊕ flags), `output` (human and JSON rendering) and `cmd/` (one file per command).
//!
//! Exit codes: 0 success, 1 ingestion failed (or a source could not be submitted), 2 usage or
//! configuration error, 3 service or network error.

pub mod args;
pub mod cmd;
pub mod output;
pub mod resolve;

pub use args::{Cli, Command, DemoArgs, EmulatorArgs, QueueAction, SubmitArgs};

use crate::client::Error;
use crate::client::wire::NotificationKind;

pub const EXIT_OK: i32 = 0;
pub const EXIT_INGESTION_FAILED: i32 = 1;
pub const EXIT_USAGE: i32 = 2;
pub const EXIT_SERVICE: i32 = 3;
pub const EXIT_GAVE_UP: i32 = 4;

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

    pub fn service(msg: impl Into<String>) -> Self {
        Failure {
            code: EXIT_SERVICE,
            message: msg.into(),
        }
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let code = match e {
            Error::Usage(_) | Error::Io(_) => EXIT_USAGE,
            _ => EXIT_SERVICE,
        };
        Failure {
            code,
            message: e.to_string(),
        }
    }
}

/// Runs one command line to its exit code.
pub async fn run(cli: Cli) -> Result<i32, Failure> {
    let file =
        crate::config::load(cli.config.as_deref()).map_err(|e| Failure::usage(format!("{e:#}")))?;
    let resolved = resolve::resolve(&cli.conn, cli.read_only, &file)?;
    let json = cli.json;
    match cli.command {
        None => cmd::tui::run(&resolved).await,
        Some(Command::Demo(args)) => cmd::demo::run(args, &resolved).await,
        Some(Command::Emulator(args)) => {
            headless_logs();
            cmd::emulator::run(args).await
        }
        Some(cmd) => {
            headless_logs();
            let client = resolved.client()?;
            match cmd {
                Command::Resources => cmd::resources::run(&client, json).await,
                Command::Submit(args) => cmd::submit::run(&client, &resolved, args, json).await,
                Command::Status { source_id } => {
                    cmd::status::run(&client, &resolved, &source_id, json).await
                }
                Command::Failures { action } => {
                    cmd::queue::run(&client, &resolved, NotificationKind::Failure, action, json)
                        .await
                }
                Command::Successes { action } => {
                    cmd::queue::run(&client, &resolved, NotificationKind::Success, action, json)
                        .await
                }
                Command::Mgmt { csl, database } => {
                    cmd::mgmt::run(&client, &database, &csl, json).await
                }
                Command::Emulator(_) | Command::Demo(_) => Ok(EXIT_OK),
            }
        }
    }
}

/// Headless commands log warnings to stderr; RUST_LOG raises the level.
fn headless_logs() {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(crate::runtime::logging::Sanitized(std::io::stderr))
        .try_init();
}
