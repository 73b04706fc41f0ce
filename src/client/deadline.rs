//! How long kingest waits, per kind of request, and what it says while it waits.
//!
//! Every request gets a total deadline (connect + send + the whole body) by its kind; a request
//! that misses it fails with an error naming the URL (redacted) and the limit, and is tried
//! once more at most (`client::retry`), so a stalled endpoint costs two limits. Any wait longer than
//! [`NOTICE_AFTER`] (a slow answer, a back-off before the next attempt) is announced as a
//! tracing event on the [`WAIT_TARGET`] target: the headless commands print those on stderr, the
//! TUI writes them to its log.

use std::future::Future;
use std::time::Duration;

use crate::client::error::Error;

/// The tracing target of "still waiting" notices.
pub const WAIT_TARGET: &str = "kingest::wait";
/// A wait longer than this is announced.
pub const NOTICE_AFTER: Duration = Duration::from_secs(3);
/// …and announced again this often while it lasts.
const NOTICE_EVERY: Duration = Duration::from_secs(15);

/// The limits, by kind of request (config `[timeouts]`, in seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP + TLS connect.
    pub connect: Duration,
    /// One blob, queue or table call (a 4 MiB block upload included).
    pub storage: Duration,
    /// A management query or command that does not ingest (`.get ingestion resources`, `.show …`).
    pub mgmt: Duration,
    /// A management command that ingests (`.ingest`, `.set-or-append`, …).
    pub ingest_command: Duration,
}

impl Default for Timeouts {
    /// 10 s to connect, 60 s per storage call and mgmt query, and one hour for commands that
    /// ingest: the SDKs' default for management commands (Python `_mgmt_default_timeout =
    /// timedelta(hours=1)` in azure-kusto-data client.py; Go `defaultMgmtTimeout = time.Hour` in
    /// azkustodata/kusto.go); the Go SDK gives `.get ingestion resources` 30 s
    /// (azkustoingest/internal/resources/resources.go).
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            storage: Duration::from_secs(60),
            mgmt: Duration::from_secs(60),
            ingest_command: Duration::from_secs(3600),
        }
    }
}

/// Which limit applies to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    Storage,
    Mgmt,
    IngestCommand,
}

impl RequestKind {
    /// The `[timeouts]` key that sets this kind's limit.
    pub fn config_key(self) -> &'static str {
        match self {
            RequestKind::Storage => "storage_secs",
            RequestKind::Mgmt => "mgmt_secs",
            RequestKind::IngestCommand => "ingest_command_secs",
        }
    }

    fn name(self) -> &'static str {
        match self {
            RequestKind::Storage => "storage",
            RequestKind::Mgmt => "mgmt",
            RequestKind::IngestCommand => "ingest command",
        }
    }

    /// The kind of a management command: those that ingest data get the long limit.
    pub fn of_csl(csl: &str) -> Self {
        let first = csl
            .trim_start()
            .split(|c: char| c.is_whitespace() || c == '<')
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        match first.as_str() {
            ".ingest"
            | ".ingest-from-storage-queued"
            | ".set"
            | ".append"
            | ".set-or-append"
            | ".set-or-replace"
            | ".replace"
            | ".move" => RequestKind::IngestCommand,
            _ => RequestKind::Mgmt,
        }
    }
}

impl Timeouts {
    /// The defaults, with `limit` for each storage call and mgmt query.
    pub fn per_call(limit: Duration) -> Self {
        Timeouts {
            storage: limit,
            mgmt: limit,
            ..Timeouts::default()
        }
    }

    pub fn limit(&self, kind: RequestKind) -> Duration {
        match kind {
            RequestKind::Storage => self.storage,
            RequestKind::Mgmt => self.mgmt,
            RequestKind::IngestCommand => self.ingest_command,
        }
    }
}

/// One request's deadline: what it is (a URL, shown only redacted), its kind and its limit.
#[derive(Clone)]
pub struct Deadline {
    /// As requested, secrets included: redacted only when shown, since every storage call
    /// makes a deadline and few of them are ever announced or missed.
    raw_url: String,
    pub kind: RequestKind,
    pub limit: Duration,
    pub connect: Duration,
}

impl Deadline {
    pub fn new(url: &str, kind: RequestKind, timeouts: &Timeouts) -> Self {
        Deadline {
            raw_url: url.to_string(),
            kind,
            limit: timeouts.limit(kind),
            connect: timeouts.connect,
        }
    }

    /// The URL without secrets, for messages.
    pub fn url(&self) -> String {
        crate::client::redact::redact(&self.raw_url)
    }

    /// The error for a request that missed its deadline (`connecting`: it never connected).
    pub fn missed(&self, connecting: bool) -> Error {
        if connecting {
            Error::Timeout {
                what: format!("could not connect to {}", self.url()),
                limit: self.connect,
                key: "connect_secs",
                kind: "connect",
            }
        } else {
            Error::Timeout {
                what: format!("no answer from {}", self.url()),
                limit: self.limit,
                key: self.kind.config_key(),
                kind: self.kind.name(),
            }
        }
    }
}

impl std::fmt::Debug for Deadline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deadline")
            .field("url", &self.url())
            .field("kind", &self.kind)
            .field("limit", &self.limit)
            .field("connect", &self.connect)
            .finish()
    }
}

/// Runs `fut`, announcing every [`NOTICE_EVERY`] after [`NOTICE_AFTER`] that it still waits
/// for `deadline`'s URL.
pub async fn announce_while<T>(
    deadline: &Deadline,
    attempt: u32,
    max_attempts: u32,
    fut: impl Future<Output = T>,
) -> T {
    let started = tokio::time::Instant::now();
    let mut next = started + NOTICE_AFTER;
    tokio::pin!(fut);
    loop {
        tokio::select! {
            out = &mut fut => return out,
            _ = tokio::time::sleep_until(next) => {
                tracing::info!(
                    target: WAIT_TARGET,
                    "waiting for {} (attempt {attempt} of {max_attempts}, {} s so far, limit {} s)",
                    deadline.url(),
                    started.elapsed().as_secs(),
                    deadline.limit.as_secs()
                );
                next += NOTICE_EVERY;
            }
        }
    }
}

/// Announces a back-off before the next attempt when it is long enough to notice.
pub fn announce_retry(
    deadline: &Deadline,
    attempt: u32,
    max_attempts: u32,
    wait: Duration,
    why: &Error,
) {
    if wait >= NOTICE_AFTER {
        tracing::info!(
            target: WAIT_TARGET,
            "{} failed ({}); attempt {} of {max_attempts} in {} s",
            deadline.url(),
            crate::client::redact::redact(&why.to_string()),
            attempt + 1,
            wait.as_secs()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_that_ingest_get_the_long_limit() {
        for csl in [
            ".ingest into table T (h'x')",
            "  .set-or-append T <| print 1",
            ".SET T <| print 1",
            ".append T <| print 1",
            ".set-or-replace T<|print 1",
        ] {
            assert_eq!(
                RequestKind::of_csl(csl),
                RequestKind::IngestCommand,
                "{csl}"
            );
        }
        for csl in [
            ".get ingestion resources",
            ".show tables",
            ".settings",
            ".show table T policy ingestionbatching",
            "",
        ] {
            assert_eq!(RequestKind::of_csl(csl), RequestKind::Mgmt, "{csl}");
        }
    }

    #[test]
    fn a_missed_deadline_names_the_url_without_secrets_and_the_limit() {
        let d = Deadline::new(
            "https://acct.queue.core.windows.net/q?sv=1&sig=SECRET",
            RequestKind::Storage,
            &Timeouts::default(),
        );
        let text = d.missed(false).to_string();
        assert!(!text.contains("SECRET"), "{text}");
        let debug = format!("{d:?}");
        assert!(!debug.contains("SECRET"), "{debug}");
        assert!(
            text.contains("https://acct.queue.core.windows.net/q"),
            "{text}"
        );
        assert!(text.contains("within 60 s"), "{text}");
        assert!(text.contains("storage_secs"), "{text}");
        let text = d.missed(true).to_string();
        assert!(
            text.contains("within 10 s") && text.contains("connect_secs"),
            "{text}"
        );
        assert!(!d.missed(false).is_transient());
    }
}
