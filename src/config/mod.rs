//! The config file's types and parsing (`--config`, `KINGEST_CONFIG` or
//! `~/.config/kingest/config.toml`, [`file`]), with file, line and key in every error
//! ([`locate`]). Only this module reads the file; `cli::resolve` merges it with defaults, the
//! chosen context, environment and flags.
//!
//! Shape: top-level keys apply to every context; `default_context = "dev"` picks a context;
//! each `[contexts.NAME]` holds the same keys as the top level (its own win), and
//! `[keys]` / `[contexts.NAME.keys]` override key bindings.

pub mod file;
pub mod locate;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use file::{default_path, load, path_in_use, state_dir};

/// The keys one level of the file sets (the top level or one context); every field is
/// optional and flags win.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Layer {
    /// A URL or a Kusto connection string (`client::connection_string`).
    pub ingest_url: Option<String>,
    /// A URL or a Kusto connection string.
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
    /// Inbox rows not seen for this many days are dropped (0: kept forever).
    pub inbox_retention_days: Option<u32>,
    /// The inbox file keeps at most this many notifications (0: no cap).
    pub inbox_max_rows: Option<u64>,
    /// TUI colours: "dark" or "light".
    pub theme: Option<String>,
    /// A production cluster: the TUI shows the context's name in red.
    pub production: Option<bool>,
    /// TUI: capture the mouse (as `--mouse`).
    pub mouse: Option<bool>,
    /// Every poll interval.
    pub poll: Option<PollFile>,
    /// Request deadlines by kind.
    pub timeouts: Option<TimeoutsFile>,
    /// Key overrides: action name → a key or a list of keys (checked by `app::keymap`).
    pub keys: Option<BTreeMap<String, KeySpec>>,
    /// Top level only: the context used without `--context`.
    #[serde(skip_serializing)]
    pub default_context: Option<String>,
    /// Top level only: the named contexts.
    #[serde(skip_serializing)]
    pub contexts: Option<BTreeMap<String, Layer>>,
}

/// `action = "x"` or `action = ["x", "ctrl-x"]`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(untagged)]
pub enum KeySpec {
    One(String),
    Many(Vec<String>),
}

impl KeySpec {
    pub fn keys(&self) -> Vec<String> {
        match self {
            KeySpec::One(k) => vec![k.clone()],
            KeySpec::Many(ks) => ks.clone(),
        }
    }
}

/// A whole config file: its top level, its contexts in file order, and where it came from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FileConfig {
    /// Keys outside any context: they apply to every context.
    pub top: Layer,
    pub default_context: Option<String>,
    /// `[contexts.NAME]` tables in file order.
    pub contexts: Vec<(String, Layer)>,
    /// The file read (`None`: there was none).
    pub path: Option<PathBuf>,
    /// The line of every key, for errors found after parsing.
    pub lines: locate::Lines,
}

impl FileConfig {
    pub fn context(&self, name: &str) -> Option<&Layer> {
        self.contexts
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, l)| l)
    }

    pub fn context_names(&self) -> Vec<String> {
        self.contexts.iter().map(|(n, _)| n.clone()).collect()
    }

    /// "line N: KEY" for a key path such as `["contexts", "dev", "auth"]`.
    pub fn at(&self, key: &[&str]) -> String {
        match self.lines.line_of(key) {
            Some(n) => format!("line {n}: {}", key.join(".")),
            None => key.join("."),
        }
    }

    /// "config file F, line N: KEY": where a value found wrong after loading was set.
    pub fn describe(&self, key: &[&str]) -> String {
        match &self.path {
            Some(p) => format!("config file {}, {}", p.display(), self.at(key)),
            None => format!("config {}", self.at(key)),
        }
    }
}

/// `[timeouts]`: the longest kingest waits for one request of each kind, in seconds (decimals
/// allowed). Defaults in `client::deadline::Timeouts`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TimeoutsFile {
    pub connect_secs: Option<f64>,
    pub storage_secs: Option<f64>,
    pub mgmt_secs: Option<f64>,
    pub ingest_command_secs: Option<f64>,
}

/// `[poll]`: every interval of the background reads, in seconds unless named otherwise.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
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

/// Parses a config file's text (no file: errors name no path). For tests and `config show`.
pub fn parse(text: &str) -> Result<FileConfig, String> {
    parse_inner(text, None)
}

/// Parses the text of the file at `path`; errors start with "line N" (the caller names the
/// file).
pub(crate) fn parse_file(text: &str, path: &std::path::Path) -> Result<FileConfig, String> {
    parse_inner(text, Some(path))
}

fn parse_inner(text: &str, path: Option<&std::path::Path>) -> Result<FileConfig, String> {
    let lines = locate::Lines::of(text)?;
    let mut top: Layer = toml::from_str(text).map_err(|e| {
        let Some(span) = e.span() else {
            return e.message().trim().to_string();
        };
        let key = lines
            .key_at(text, span.start)
            .map(|k| format!(" {k}"))
            .unwrap_or_default();
        format!(
            "line {}:{key}: {}",
            locate::line_at(text, span.start),
            e.message().trim()
        )
    })?;
    let default_context = top.default_context.take();
    let mut by_name = top.contexts.take().unwrap_or_default();
    let mut contexts: Vec<(String, Layer)> = lines
        .context_order()
        .into_iter()
        .filter_map(|n| by_name.remove(&n).map(|l| (n, l)))
        .collect();
    contexts.extend(by_name);
    let file = FileConfig {
        top,
        default_context,
        contexts,
        path: path.map(|p| p.to_path_buf()),
        lines,
    };
    validate::check(&file)?;
    Ok(file)
}

pub mod validate;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects_unknown_keys() {
        let c = parse("ingest_url = \"http://127.0.0.1:1\"\npoll_interval_secs = 3\n").unwrap();
        assert_eq!(c.top.ingest_url.as_deref(), Some("http://127.0.0.1:1"));
        assert_eq!(c.top.poll_interval_secs, Some(3));
        assert!(parse("ingest_ur = 1").is_err());
        let e = parse("\npoll_interval_secs = \"x\"").unwrap_err();
        assert!(e.contains("line 2: poll_interval_secs"), "{e}");
    }

    #[test]
    fn poll_table_and_its_errors_name_the_line_and_key() {
        let c = parse("[poll]\ntable_secs = 15\npeek_idle_secs = 20\n").unwrap();
        let p = c.top.poll.unwrap();
        assert_eq!((p.table_secs, p.peek_idle_secs), (Some(15), Some(20)));
        let e = parse("database = \"x\"\n[poll]\ntable_sec = 15\n").unwrap_err();
        assert!(e.contains("line 3") && e.contains("table_sec"), "{e}");
    }

    #[test]
    fn contexts_keep_file_order_and_keys_take_one_or_many() {
        let c = parse(
            "default_context = \"b\"\n[keys]\nquit = \"x\"\n[contexts.b]\n[contexts.a]\nkeys = { quit = [\"w\", \"ctrl-y\"] }\n",
        )
        .unwrap();
        assert_eq!(c.context_names(), ["b", "a"]);
        assert_eq!(c.default_context.as_deref(), Some("b"));
        assert_eq!(c.top.keys.as_ref().unwrap()["quit"].keys(), ["x"]);
        let a = c.context("a").unwrap();
        assert_eq!(a.keys.as_ref().unwrap()["quit"].keys(), ["w", "ctrl-y"]);
        assert_eq!(c.at(&["contexts", "a", "keys"]), "line 6: contexts.a.keys");
    }
}
