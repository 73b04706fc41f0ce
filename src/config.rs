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
    /// Receive → archive → delete pipelines of a discard (its storage requests in flight).
    pub discard_concurrency: Option<usize>,
    /// Finished submissions older than this are compacted out of the journal.
    pub journal_retention_hours: Option<u64>,
    /// Every poll interval.
    pub poll: Option<PollFile>,
    /// Request deadlines by kind.
    pub timeouts: Option<TimeoutsFile>,
}

/// `[timeouts]`: the longest kingest waits for one request of each kind, in seconds (decimals
/// allowed). Defaults in `client::deadline::Timeouts`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TimeoutsFile {
    pub connect_secs: Option<f64>,
    pub storage_secs: Option<f64>,
    pub mgmt_secs: Option<f64>,
    pub ingest_command_secs: Option<f64>,
}

/// `[poll]`: every interval of the background reads, in seconds unless named otherwise.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PollFile {
    /// Notification peeks while nothing of ours is in flight (backing off to `peek_max_secs`
    /// when that is set higher).
    pub peek_idle_secs: Option<u64>,
    /// Notification peeks while a submission is in flight, for `peek_busy_for_secs` after its
    /// post.
    pub peek_busy_secs: Option<u64>,
    pub peek_busy_for_secs: Option<u64>,
    pub peek_max_secs: Option<u64>,
    /// Messages asked per peek (Azure returns at most 32 per queue).
    pub peek_count: Option<usize>,
    /// Queue depths when something may have changed them, else every `depths_max_secs`.
    pub depths_secs: Option<u64>,
    pub depths_max_secs: Option<u64>,
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

/// A config file larger than this is refused rather than read.
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// Loads `path` (an explicit path must exist; the default path may be absent). Only a regular
/// file is read: a FIFO, a directory or a device (`/dev/zero`) is refused before opening it,
/// since reading one could block or never end.
pub fn load(path: Option<&Path>) -> anyhow::Result<FileConfig> {
    let (path, required) = match path {
        Some(p) => (p.to_path_buf(), true),
        None => match default_path() {
            Some(p) => (p, false),
            None => return Ok(FileConfig::default()),
        },
    };
    match read_regular(&path) {
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

/// The text of `path` if it is a regular file of a sane size (symlinks followed).
fn read_regular(path: &Path) -> std::io::Result<String> {
    use std::io::Read as _;
    let meta = std::fs::metadata(path)?;
    let ft = meta.file_type();
    if !ft.is_file() {
        let what = if ft.is_dir() {
            "a directory"
        } else {
            "not a regular file (a FIFO, socket or device?)"
        };
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("it is {what}; a config file must be a regular file"),
        ));
    }
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "it is {} bytes, over the {MAX_CONFIG_BYTES}-byte limit",
                meta.len()
            ),
        ));
    }
    let mut text = String::new();
    std::fs::File::open(path)?
        .take(MAX_CONFIG_BYTES + 1)
        .read_to_string(&mut text)?;
    Ok(text)
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

    #[test]
    fn only_regular_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let e = format!("{:#}", load(Some(dir.path())).unwrap_err());
        assert!(e.contains("a directory"), "{e}");
        // A device that never ends: refused without reading (this would not return otherwise).
        let e = format!("{:#}", load(Some(Path::new("/dev/zero"))).unwrap_err());
        assert!(e.contains("not a regular file"), "{e}");
        let good = dir.path().join("c.toml");
        std::fs::write(&good, "[timeouts]\nstorage_secs = 1.5\n").unwrap();
        let c = load(Some(&good)).unwrap();
        assert_eq!(c.timeouts.unwrap().storage_secs, Some(1.5));
    }
}
