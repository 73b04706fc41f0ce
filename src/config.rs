//! The config file's types and parsing (`--config` or `~/.config/kingest/config.toml`). Only
//! this module reads the file; `cli::resolve` merges it with defaults, environment and flags.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Values a config file may set; every field is optional and flags win.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub ingest_url: Option<String>,
    pub cluster: Option<String>,
    pub auth: Option<String>,
    pub database: Option<String>,
    pub table: Option<String>,
    /// Where discarded notifications are archived by the TUI.
    pub archive_dir: Option<PathBuf>,
    /// Seconds between notification polls while idle (same as `[poll] peek_idle_secs`).
    pub poll_interval_secs: Option<u64>,
    /// Ring buffer size of each notification stream.
    pub stream_capacity: Option<usize>,
    pub read_only: Option<bool>,
    /// Where logs, journals and archives go (default: the platform's local data dir).
    pub state_dir: Option<PathBuf>,
    /// Finished submissions older than this are compacted out of the journal.
    pub journal_retention_hours: Option<u64>,
    /// Every poll interval.
    pub poll: Option<PollFile>,
}

/// `[poll]`: every interval of the background reads, in seconds unless named otherwise.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PollFile {
    /// Notification peeks while nothing of ours is in flight; backs off to `peek_max_secs`.
    pub peek_idle_secs: Option<u64>,
    /// Notification peeks while submissions are in flight.
    pub peek_busy_secs: Option<u64>,
    pub peek_max_secs: Option<u64>,
    /// Messages asked per peek (Azure returns at most 32 per queue).
    pub peek_count: Option<usize>,
    pub depths_secs: Option<u64>,
    pub resources_secs: Option<u64>,
    pub progress_tick_ms: Option<u64>,
    /// Status-table reads: `table_young_secs` for the first `table_young_for_secs` after the
    /// post, then `table_secs`, `table_slow_secs` after `table_slow_after_secs`, and
    /// `table_slowest_secs` after `table_slowest_after_secs`.
    pub table_young_secs: Option<u64>,
    pub table_young_for_secs: Option<u64>,
    pub table_secs: Option<u64>,
    pub table_slow_after_secs: Option<u64>,
    pub table_slow_secs: Option<u64>,
    pub table_slowest_after_secs: Option<u64>,
    pub table_slowest_secs: Option<u64>,
}

/// The default config file path, if the platform has a config directory.
pub fn default_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "kingest").map(|d| d.config_dir().join("config.toml"))
}

/// Where logs, the submission journal and archives go by default.
pub fn state_dir() -> PathBuf {
    directories::ProjectDirs::from("", "", "kingest")
        .map(|d| d.data_local_dir().to_path_buf())
        .unwrap_or_else(|| std::env::temp_dir().join("kingest"))
}

/// Loads `path` (an explicit path must exist; the default path may be absent).
pub fn load(path: Option<&Path>) -> anyhow::Result<FileConfig> {
    let (path, required) = match path {
        Some(p) => (p.to_path_buf(), true),
        None => match default_path() {
            Some(p) => (p, false),
            None => return Ok(FileConfig::default()),
        },
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            parse(&text).map_err(|e| anyhow::anyhow!("config file {}: {e}", path.display()))
        }
        Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => {
            Ok(FileConfig::default())
        }
        Err(e) => Err(anyhow::anyhow!(
            "cannot read config file {}: {e}",
            path.display()
        )),
    }
}

pub fn parse(text: &str) -> Result<FileConfig, String> {
    toml::from_str(text).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects_unknown_keys() {
        let c = parse("ingest_url = \"http://127.0.0.1:1\"\npoll_interval_secs = 3\n").unwrap();
        assert_eq!(c.ingest_url.as_deref(), Some("http://127.0.0.1:1"));
        assert_eq!(c.poll_interval_secs, Some(3));
        assert!(parse("ingest_ur = 1").is_err());
        assert!(parse("poll_interval_secs = \"x\"").is_err());
    }

    #[test]
    fn poll_table_and_its_errors_name_the_line_and_key() {
        let c = parse("[poll]\ntable_secs = 15\npeek_idle_secs = 20\n").unwrap();
        let p = c.poll.unwrap();
        assert_eq!((p.table_secs, p.peek_idle_secs), (Some(15), Some(20)));
        let e = parse("ingest_url = \"x\"\n[poll]\ntable_sec = 15\n").unwrap_err();
        assert!(e.contains("line 3") && e.contains("table_sec"), "{e}");
    }

    #[test]
    fn missing_explicit_file_is_an_error() {
        assert!(load(Some(Path::new("/nonexistent/kingest.toml"))).is_err());
    }
}
