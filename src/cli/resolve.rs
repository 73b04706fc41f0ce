//! The one merge of configuration for every front door (TUI, CLI, demo): defaults ⊕ config
//! file ⊕ environment ⊕ flags. clap has already merged the environment under the flags (`env =`
//! on each argument), so a value present in `Connection` beats the file.

use std::path::PathBuf;
use std::time::Duration;

use crate::app::state::PollConfig;
use crate::cli::Failure;
use crate::cli::args::{AuthKind, Connection};
use crate::client::auth::{Secret, ingest_url_for};
use crate::client::deadline::Timeouts;
use crate::client::journal::Journal;
use crate::client::retry::RetryPolicy;
use crate::client::{AuthMethod, ClientConfig, IngestClient};
use crate::config::FileConfig;

/// Everything a command needs from configuration.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// `Err` with the reason when no endpoint is configured (fine for `emulator` and `demo`).
    pub client: Result<ClientConfig, String>,
    pub database: Option<String>,
    pub table: Option<String>,
    pub read_only: bool,
    pub state_dir: PathBuf,
    pub archive_dir: PathBuf,
    pub poll: PollConfig,
    pub ring_capacity: usize,
    pub journal_retention: chrono::TimeDelta,
    /// The config context chosen (`--context`, else `default_context`), if any.
    pub context: Option<String>,
    /// The chosen context says `production = true`.
    pub production: bool,
    /// Every context the config file defines, in file order.
    pub contexts: Vec<String>,
    pub theme: crate::app::state::ThemeName,
    /// `[keys]` overrides: action name → keys, checked by `app::keymap`.
    pub keys: std::collections::BTreeMap<String, Vec<String>>,
    /// `--mouse` or `mouse = true`.
    pub mouse: bool,
}

impl Resolved {
    pub fn client(&self) -> Result<IngestClient, Failure> {
        let cfg = self.client.clone().map_err(Failure::usage)?;
        Ok(IngestClient::new(cfg)?)
    }

    /// The journal of the cluster at `ingest_url`.
    pub fn journal(&self, ingest_url: &str) -> Journal {
        Journal::in_state_dir(&self.state_dir, ingest_url)
    }
}

pub fn resolve(conn: &Connection, read_only: bool, file: &FileConfig) -> Result<Resolved, Failure> {
    let state_dir = file
        .state_dir
        .clone()
        .unwrap_or_else(crate::config::state_dir);
    let client = match endpoint(conn, file)? {
        Some(ingest_url) => Ok(ClientConfig {
            ingest_url,
            auth: auth_method(conn, file)?,
            timeouts: timeouts(conn, file)?,
            retry: RetryPolicy::default(),
            discard_concurrency: discard_concurrency(conn, file)?,
            auth_transport: None,
        }),
        None => Err(
            "no endpoint: pass --ingest-url (or KINGEST_INGEST_URL) or --cluster, or set \
                     ingest_url in the config file; try `kingest demo` for a local one"
                .to_string(),
        ),
    };
    Ok(Resolved {
        client,
        database: file.database.clone(),
        table: file.table.clone(),
        read_only: read_only || file.read_only.unwrap_or(false),
        archive_dir: file
            .archive_dir
            .clone()
            .unwrap_or_else(|| state_dir.join("archive")),
        state_dir,
        poll: poll_config(file),
        ring_capacity: stream_capacity(file)?,
        journal_retention: file
            .journal_retention_hours
            .map_or(crate::client::journal::DEFAULT_RETENTION, |h| {
                chrono::TimeDelta::hours(h.min(100 * 365 * 24) as i64)
            }),
        context: None,
        production: false,
        contexts: Vec::new(),
        theme: Default::default(),
        keys: Default::default(),
        mouse: false,
    })
}

fn endpoint(conn: &Connection, file: &FileConfig) -> Result<Option<String>, Failure> {
    Ok(match (&conn.ingest_url, &conn.cluster) {
        (Some(u), _) => Some(u.clone()),
        (None, Some(c)) => Some(ingest_url_for(c)?),
        (None, None) => match (&file.ingest_url, &file.cluster) {
            (Some(u), _) => Some(u.clone()),
            (None, Some(c)) => Some(ingest_url_for(c)?),
            _ => None,
        },
    })
}

/// Defaults ⊕ `[timeouts]` ⊕ `--timeout` (storage calls and mgmt queries).
fn timeouts(conn: &Connection, file: &FileConfig) -> Result<Timeouts, Failure> {
    let mut t = Timeouts::default();
    if let Some(f) = &file.timeouts {
        for (key, value, slot) in [
            ("connect_secs", f.connect_secs, &mut t.connect),
            ("storage_secs", f.storage_secs, &mut t.storage),
            ("mgmt_secs", f.mgmt_secs, &mut t.mgmt),
            (
                "ingest_command_secs",
                f.ingest_command_secs,
                &mut t.ingest_command,
            ),
        ] {
            if let Some(v) = value {
                *slot = Duration::try_from_secs_f64(v)
                    .ok()
                    .filter(|d| !d.is_zero())
                    .ok_or_else(|| {
                        Failure::usage(format!(
                            "config [timeouts] {key} = {v}: expected a positive number of seconds"
                        ))
                    })?;
            }
        }
    }
    if let Some(secs) = conn.timeout {
        t.storage = Duration::from_secs(secs.max(1));
        t.mgmt = t.storage;
    }
    Ok(t)
}

/// Rows each notification stream keeps (and a frozen one holds back); older ones are dropped,
/// and the pane says how many.
fn stream_capacity(file: &FileConfig) -> Result<usize, Failure> {
    match file.stream_capacity {
        None => Ok(crate::app::stream::DEFAULT_CAPACITY),
        Some(0) => Err(Failure::usage(format!(
            "config stream_capacity = 0: expected at least 1 row per stream (default {})",
            crate::app::stream::DEFAULT_CAPACITY
        ))),
        Some(n) => Ok(n),
    }
}

/// Most discard pipelines anyone may ask for: well past where a queue stops getting faster.
const MAX_DISCARD_CONCURRENCY: usize = 256;

/// Default ⊕ `discard_concurrency` ⊕ `--discard-concurrency` (or its environment variable).
fn discard_concurrency(conn: &Connection, file: &FileConfig) -> Result<usize, Failure> {
    let (n, from) = match (conn.discard_concurrency, file.discard_concurrency) {
        (Some(n), _) => (n, "--discard-concurrency"),
        (None, Some(n)) => (n, "config discard_concurrency"),
        (None, None) => {
            return Ok(crate::client::notifications::DEFAULT_DISCARD_CONCURRENCY);
        }
    };
    if (1..=MAX_DISCARD_CONCURRENCY).contains(&n) {
        Ok(n)
    } else {
        Err(Failure::usage(format!(
            "{from} = {n}: expected 1 to {MAX_DISCARD_CONCURRENCY} pipelines"
        )))
    }
}

fn poll_config(file: &FileConfig) -> PollConfig {
    let mut p = PollConfig::default();
    let secs = |v: Option<u64>, d: &mut Duration| {
        if let Some(v) = v {
            *d = Duration::from_secs(v.max(1));
        }
    };
    secs(file.poll_interval_secs, &mut p.peek_idle);
    if let Some(f) = &file.poll {
        secs(f.peek_idle_secs, &mut p.peek_idle);
        secs(f.peek_busy_secs, &mut p.peek_busy);
        secs(f.peek_busy_for_secs, &mut p.peek_busy_for);
        secs(f.peek_max_secs, &mut p.peek_max);
        secs(f.depths_secs, &mut p.depths);
        secs(f.depths_max_secs, &mut p.depths_max);
        secs(f.resources_secs, &mut p.resources);
        if let Some(ms) = f.progress_tick_ms {
            p.progress_tick = Duration::from_millis(ms.max(50));
        }
        if let Some(n) = f.peek_count {
            p.peek_count = n.clamp(1, 32);
        }
        let t = &mut p.table;
        secs(f.table_young_secs, &mut t.young);
        secs(f.table_young_for_secs, &mut t.young_for);
        secs(f.table_secs, &mut t.normal);
        secs(f.table_slow_after_secs, &mut t.slow_after);
        secs(f.table_slow_secs, &mut t.slow);
        secs(f.table_slowest_after_secs, &mut t.slowest_after);
        secs(f.table_slowest_secs, &mut t.slowest);
    }
    // No idle back-off unless asked for: the idle interval is what an operator waits at most
    // for another client's notification.
    if file.poll.as_ref().and_then(|f| f.peek_max_secs).is_none() {
        p.peek_max = p.peek_idle;
    }
    p
}

fn auth_method(conn: &Connection, file: &FileConfig) -> Result<AuthMethod, Failure> {
    use clap::ValueEnum as _;
    let kind = match (conn.auth, &file.auth) {
        (AuthKind::Auto, Some(a)) => AuthKind::from_str(a, true)
            .map_err(|_| Failure::usage(format!("config auth '{a}' is not a known method")))?,
        (k, _) => k,
    };
    let need = |v: &Option<String>, what: &str| {
        v.clone()
            .ok_or_else(|| Failure::usage(format!("--auth client-secret needs {what}")))
    };
    Ok(match kind {
        AuthKind::Auto => match &conn.token {
            Some(t) => AuthMethod::Token(Secret::new(t.clone())),
            None => AuthMethod::Auto,
        },
        AuthKind::Cli => AuthMethod::Cli,
        AuthKind::ManagedIdentity => AuthMethod::ManagedIdentity {
            client_id: conn.client_id.clone(),
        },
        AuthKind::ClientSecret => AuthMethod::ClientSecret {
            tenant_id: need(&conn.tenant_id, "--tenant-id")?,
            client_id: need(&conn.client_id, "--client-id")?,
            secret: Secret::new(need(&conn.client_secret, "--client-secret")?),
        },
        AuthKind::WorkloadIdentity => AuthMethod::WorkloadIdentity {
            tenant_id: conn.tenant_id.clone(),
            client_id: conn.client_id.clone(),
            token_file: None,
        },
        AuthKind::Token => {
            AuthMethod::Token(Secret::new(conn.token.clone().ok_or_else(|| {
                Failure::usage("--auth token needs --token or KINGEST_TOKEN")
            })?))
        }
        AuthKind::None => AuthMethod::None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn() -> Connection {
        Connection::default()
    }

    fn file(text: &str) -> FileConfig {
        crate::config::parse(text).unwrap()
    }

    #[test]
    fn precedence_table() {
        let flag = |f: &mut Connection| f.ingest_url = Some("http://127.0.0.1:1".into());
        let cluster_flag =
            |f: &mut Connection| f.cluster = Some("https://c.kusto.windows.net".into());
        let none = |_: &mut Connection| {};
        type Case<'a> = (&'a str, &'a dyn Fn(&mut Connection), Option<&'a str>);
        let cases: [Case; 5] = [
            ("", &none, None),
            (
                "ingest_url = \"http://127.0.0.1:2\"",
                &none,
                Some("http://127.0.0.1:2"),
            ),
            (
                "ingest_url = \"http://127.0.0.1:2\"",
                &flag,
                Some("http://127.0.0.1:1"),
            ),
            (
                "cluster = \"https://x.kusto.windows.net\"",
                &none,
                Some("https://ingest-x.kusto.windows.net"),
            ),
            (
                "ingest_url = \"http://127.0.0.1:2\"",
                &cluster_flag,
                Some("https://ingest-c.kusto.windows.net"),
            ),
        ];
        for (text, set, want) in cases {
            let mut c = conn();
            set(&mut c);
            let r = resolve(&c, false, &file(text)).unwrap();
            assert_eq!(
                r.client.as_ref().ok().map(|c| c.ingest_url.as_str()),
                want,
                "{text}"
            );
        }
    }

    #[test]
    fn auth_from_file_unless_a_flag_chose_one() {
        let mut c = conn();
        c.ingest_url = Some("http://127.0.0.1:1".into());
        let r = resolve(&c, false, &file("auth = \"none\"")).unwrap();
        assert_eq!(r.client.unwrap().auth, AuthMethod::None);
        c.auth = AuthKind::Cli;
        let r = resolve(&c, false, &file("auth = \"none\"")).unwrap();
        assert_eq!(r.client.unwrap().auth, AuthMethod::Cli);
        assert!(
            resolve(
                &conn(),
                false,
                &file("auth = \"bogus\"\ningest_url = \"http://x\"")
            )
            .is_err()
        );
        c.auth = AuthKind::Token;
        assert_eq!(
            resolve(&c, false, &file("")).unwrap_err().code,
            crate::cli::EXIT_USAGE
        );
    }

    #[test]
    fn timeouts_merge_defaults_file_and_flag() {
        let mut c = conn();
        c.ingest_url = Some("http://127.0.0.1:1".into());
        let t = |c: &Connection, text: &str| {
            resolve(c, false, &file(text)).map(|r| r.client.unwrap().timeouts)
        };
        assert_eq!(t(&c, "").unwrap(), Timeouts::default());
        let got = t(
            &c,
            "[timeouts]\nconnect_secs = 0.5\nstorage_secs = 2\ningest_command_secs = 7200\n",
        )
        .unwrap();
        assert_eq!(got.connect, Duration::from_millis(500));
        assert_eq!(got.storage, Duration::from_secs(2));
        assert_eq!(got.mgmt, Duration::from_secs(60));
        assert_eq!(got.ingest_command, Duration::from_secs(7200));
        c.timeout = Some(5);
        let got = t(&c, "[timeouts]\nstorage_secs = 2\n").unwrap();
        assert_eq!(
            (got.storage, got.mgmt),
            (Duration::from_secs(5), Duration::from_secs(5))
        );
        for bad in ["-1", "0", "1e300", "nan"] {
            let e = t(&c, &format!("[timeouts]\nmgmt_secs = {bad}\n")).unwrap_err();
            assert_eq!(e.code, crate::cli::EXIT_USAGE, "{bad}");
            assert!(e.message.contains("mgmt_secs"), "{}", e.message);
        }
    }

    #[test]
    fn stream_capacity_defaults_reads_the_file_and_refuses_zero() {
        let cap = |text: &str| resolve(&conn(), false, &file(text)).map(|r| r.ring_capacity);
        assert_eq!(cap("").unwrap(), 100_000);
        assert_eq!(cap("stream_capacity = 250\n").unwrap(), 250);
        let e = cap("stream_capacity = 0\n").unwrap_err();
        assert_eq!(e.code, crate::cli::EXIT_USAGE);
        assert!(e.message.contains("stream_capacity"), "{}", e.message);
        // The TUI's streams take it from there (initial_state).
        let opts = crate::runtime::TuiOptions {
            ring_capacity: cap("stream_capacity = 250\n").unwrap(),
            ..Default::default()
        };
        let state = opts.initial_state("http://127.0.0.1:1", chrono::Utc::now());
        assert_eq!(state.failures.capacity(), 250);
        assert_eq!(state.successes.capacity(), 250);
    }

    #[test]
    fn discard_concurrency_merges_default_file_and_flag() {
        let n = |flag: Option<usize>, text: &str| {
            let c = Connection {
                ingest_url: Some("http://127.0.0.1:1".into()),
                discard_concurrency: flag,
                ..conn()
            };
            resolve(&c, false, &file(text)).map(|r| r.client.unwrap().discard_concurrency)
        };
        assert_eq!(
            n(None, "").unwrap(),
            crate::client::notifications::DEFAULT_DISCARD_CONCURRENCY
        );
        assert_eq!(n(None, "discard_concurrency = 4").unwrap(), 4);
        assert_eq!(n(Some(2), "discard_concurrency = 4").unwrap(), 2);
        for (flag, text, named) in [
            (Some(0), "", "--discard-concurrency"),
            (
                Some(257),
                "discard_concurrency = 4",
                "--discard-concurrency",
            ),
            (
                None,
                "discard_concurrency = 0",
                "config discard_concurrency",
            ),
        ] {
            let e = n(flag, text).unwrap_err();
            assert_eq!(e.code, crate::cli::EXIT_USAGE);
            assert!(e.message.contains(named), "{}", e.message);
        }
        assert!(crate::config::parse("discard_concurrency = -1").is_err());
    }

    #[test]
    fn every_poll_interval_is_a_key_and_read_only_merges() {
        let r = resolve(
            &conn(),
            false,
            &file(
                "read_only = true\npoll_interval_secs = 7\n[poll]\npeek_busy_secs = 3\npeek_busy_for_secs = 90\ndepths_secs = 40\ndepths_max_secs = 400\ntable_secs = 30\ntable_slowest_secs = 300\npeek_count = 99\n",
            ),
        )
        .unwrap();
        assert!(r.read_only);
        assert_eq!(r.poll.peek_idle, Duration::from_secs(7));
        // No back-off unless peek_max_secs says so.
        assert_eq!(r.poll.peek_max, Duration::from_secs(7));
        assert_eq!(r.poll.peek_busy, Duration::from_secs(3));
        assert_eq!(r.poll.peek_busy_for, Duration::from_secs(90));
        assert_eq!(
            (r.poll.depths, r.poll.depths_max),
            (Duration::from_secs(40), Duration::from_secs(400))
        );
        assert_eq!(r.poll.table.normal, Duration::from_secs(30));
        assert_eq!(r.poll.table.slowest, Duration::from_secs(300));
        assert_eq!(r.poll.peek_count, 32);
        let r = resolve(
            &conn(),
            false,
            &file("[poll]\npeek_idle_secs = 5\npeek_max_secs = 60\n"),
        )
        .unwrap();
        assert_eq!(
            (r.poll.peek_idle, r.poll.peek_max),
            (Duration::from_secs(5), Duration::from_secs(60))
        );
        let r = resolve(&conn(), true, &file("")).unwrap();
        assert!(r.read_only);
        assert_eq!(r.poll, PollConfig::default());
        assert!(r.client.is_err());
        assert_eq!(r.journal_retention, chrono::TimeDelta::days(7));
    }
}
