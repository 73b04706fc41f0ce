//! Starting the TUI for a resolved configuration: logging to a file (its path printed on
//! exit), the options, and the runtime.

use std::path::Path;

use crate::cli::resolve::Resolved;
use crate::cli::{EXIT_OK, Failure};
use crate::client::IngestClient;
use crate::runtime::TuiOptions;

/// The TUI's options from the resolved configuration.
pub fn options(resolved: &Resolved) -> TuiOptions {
    TuiOptions {
        read_only: resolved.read_only,
        archive_dir: resolved.archive_dir.clone(),
        state_dir: resolved.state_dir.clone(),
        journal_retention: resolved.journal_retention,
        default_database: resolved.database.clone(),
        default_table: resolved.table.clone(),
        default_path: None,
        poll: resolved.poll,
        ring_capacity: resolved.ring_capacity,
        color: None,
    }
}

/// Refuses (exit 2) where the TUI cannot run, before anything touches the terminal.
pub fn check_terminal() -> Result<(), Failure> {
    crate::runtime::terminal::check().map_err(|why| Failure::usage(why.message()))
}

/// Runs the TUI on `client` until quit; logs go to `log_dir/kingest.log`.
pub async fn run(client: IngestClient, opts: TuiOptions, log_dir: &Path) -> Result<i32, Failure> {
    check_terminal()?;
    let log_path = log_dir.join("kingest.log");
    let guard =
        crate::runtime::logging::init(&log_path).map_err(|e| Failure::usage(format!("{e:#}")))?;
    let result = crate::runtime::run_tui(client, opts).await;
    eprintln!("kingest: logs in {}", guard.path.display());
    drop(guard);
    result
        .map(|_| EXIT_OK)
        .map_err(|e| Failure::service(format!("{e:#}")))
}
