//! `kingest` with no command: the TUI on the configured cluster.

use crate::cli::Failure;
use crate::cli::resolve::Resolved;

pub async fn run(resolved: &Resolved) -> Result<i32, Failure> {
    crate::tui::check_terminal()?;
    let client = resolved.client()?;
    let switcher = crate::tui::switcher(resolved.clone());
    crate::tui::run_fed(
        client,
        crate::tui::options(resolved),
        &resolved.state_dir,
        None,
        Some(switcher),
    )
    .await
}
