//! Tracing to a file: never stdout/stderr while the terminal is taken.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

/// Keep it alive until exit: dropping it flushes the log. `path` is where the log went.
pub struct LogGuard {
    _guard: WorkerGuard,
    pub path: PathBuf,
}

/// Logs to `path` (appending); the level comes from `KINGEST_LOG` (default `info`).
pub fn init(path: &Path) -> anyhow::Result<LogGuard> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the log directory {}", dir.display()))?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open the log file {}", path.display()))?;
    let (writer, guard) = tracing_appender::non_blocking(file);
    let filter = EnvFilter::try_from_env("KINGEST_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init()
        .map_err(|e| anyhow::anyhow!("logging already initialised: {e}"))?;
    Ok(LogGuard {
        _guard: guard,
        path: path.to_path_buf(),
    })
}
