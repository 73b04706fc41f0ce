//! The one merge of configuration for every front door (TUI, CLI, demo): defaults ⊕ config
//! file (its top level, then the chosen context's keys) ⊕ environment ⊕ flags. clap has
//! already merged the environment under the flags (`env =` on each argument), so a value
//! present in `Connection` beats the file. Every value's origin is kept for `config show`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::app::state::PollConfig;
use crate::cli::Failure;
use crate::cli::args::{AuthKind, Connection};
use crate::client::auth::Secret;
use crate::client::connection_string::{CsAuth, Endpoint, endpoint as read_endpoint};
use crate::client::deadline::Timeouts;
use crate::client::journal::Journal;
use crate::client::retry::RetryPolicy;
use crate::client::{AuthMethod, ClientConfig, IngestClient};
use crate::config::{FileConfig, Layer};

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
    /// Retention of the notification inbox (`inbox_retention_days`, `inbox_max_rows`).
    pub inbox: crate::client::inbox::InboxSettings,
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
    /// Where each value set anywhere came from, by config key (`poll.table_secs`,
    /// `keys.quit`; `context`, `auth`, `ingest_url` always): `kingest config show`.
    pub origins: BTreeMap<String, Origin>,
    /// What this was resolved from, to resolve another context ([`Resolved::for_context`]).
    inputs: Arc<Inputs>,
}

#[derive(Clone)]
struct Inputs {
    conn: Connection,
    read_only: bool,
    mouse_flag: bool,
    file: FileConfig,
}

/// Not derived: `Connection` holds `--token` and `--client-secret` as plain strings.
impl std::fmt::Debug for Inputs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inputs")
            .field("context", &self.conn.context)
            .field("read_only", &self.read_only)
            .field("file", &self.file.path)
            .finish_non_exhaustive()
    }
}

/// Where a setting came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Default,
    /// The config file's top level.
    File,
    /// The chosen `[contexts.NAME]`.
    Context(String),
    /// An environment variable.
    Env(&'static str),
    /// A command-line flag.
    Flag(&'static str),
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Default => f.write_str("default"),
            Origin::File => f.write_str("file"),
            Origin::Context(n) => write!(f, "context {n}"),
            Origin::Env(v) => write!(f, "env {v}"),
            Origin::Flag(v) => write!(f, "flag {v}"),
        }
    }
}

/// A value clap took from `flag` or its environment variable `env`: the variable when it
/// holds that very value (clap does not say which it read).
fn given(env: &'static str, flag: &'static str, value: &str) -> Origin {
    match std::env::var(env) {
        Ok(v) if v == value => Origin::Env(env),
        _ => Origin::Flag(flag),
    }
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

    /// The notification inbox of the cluster at `ingest_url` (`STATE_DIR/inbox.sqlite3`).
    pub fn inbox(&self, ingest_url: &str) -> crate::client::Result<crate::client::inbox::Inbox> {
        crate::client::inbox::Inbox::open_with(
            &crate::client::inbox::path_in_state_dir(&self.state_dir),
            ingest_url,
            self.inbox,
        )
    }

    /// `--mouse` (a flag of the whole program, not of `Connection`) on top of the file's `mouse`.
    pub fn with_mouse_flag(mut self, on: bool) -> Self {
        if on {
            self.mouse = true;
            self.origins.insert("mouse".into(), Origin::Flag("--mouse"));
        }
        Arc::make_mut(&mut self.inputs).mouse_flag = on;
        self
    }

    /// The same command line resolved for context `name` instead (the TUI's context
    /// switcher): the endpoint flags (`--ingest-url`, `--cluster` and their variables) are
    /// dropped so the context's endpoint applies; every other flag still wins. An unknown
    /// name is a usage error listing the defined contexts.
    pub fn for_context(&self, name: &str) -> Result<Resolved, Failure> {
        let mut conn = self.inputs.conn.clone();
        conn.context = Some(name.to_string());
        conn.ingest_url = None;
        conn.cluster = None;
        Ok(resolve(&conn, self.inputs.read_only, &self.inputs.file)?
            .with_mouse_flag(self.inputs.mouse_flag))
    }

    /// The config file this was resolved from.
    pub fn file(&self) -> &FileConfig {
        &self.inputs.file
    }
}

pub fn resolve(conn: &Connection, read_only: bool, file: &FileConfig) -> Result<Resolved, Failure> {
    let (context, context_origin) = choose_context(conn, file)?;
    let (layer, mut origins) = merged_layer(file, context.as_deref())?;
    if let Some(o) = context_origin {
        origins.insert("context".into(), o);
    }
    if !file.contexts.is_empty() {
        origins.insert("contexts".into(), Origin::File);
    }
    let state_dir = layer
        .state_dir
        .clone()
        .unwrap_or_else(crate::config::state_dir);
    let flag_endpoint = flag_endpoint(conn)?;
    let file_endpoint = file_endpoint(&layer, file, &origins)?;
    let endpoint = flag_endpoint.as_ref().or(file_endpoint.as_ref());
    let auth = auth_method(
        conn,
        &layer,
        flag_endpoint.as_ref().map(|e| &e.1),
        file_endpoint.as_ref().map(|e| &e.1),
        &mut origins,
    )?;
    // Checked with or without an endpoint: a bad value is an error either way.
    let timeouts = timeouts(conn, &layer, file, &origins)?;
    let discard_concurrency = discard_concurrency(conn, &layer, file, &origins)?;
    let client = match endpoint {
        Some((origin, ep)) => {
            origins.insert("ingest_url".into(), origin.clone());
            Ok(ClientConfig {
                ingest_url: ep.ingest_url.clone(),
                auth,
                timeouts,
                retry: RetryPolicy::default(),
                discard_concurrency,
                auth_transport: None,
            })
        }
        None => Err(
            "no endpoint: pass --ingest-url (or KINGEST_INGEST_URL) or --cluster, or set \
                     ingest_url in the config file; try `kingest demo` for a local one"
                .to_string(),
        ),
    };
    if let Some(n) = conn.discard_concurrency {
        let o = given(
            "KINGEST_DISCARD_CONCURRENCY",
            "--discard-concurrency",
            &n.to_string(),
        );
        origins.insert("discard_concurrency".into(), o);
    }
    if conn.timeout.is_some() {
        for k in ["timeouts.storage_secs", "timeouts.mgmt_secs"] {
            origins.insert(k.into(), Origin::Flag("--timeout"));
        }
    }
    // The flag's connection string's database first; then, level by level (the context over
    // the top), the `database` key over that level's connection string.
    let database = match &flag_endpoint {
        Some((
            o,
            Endpoint {
                database: Some(d), ..
            },
        )) => Some((d.clone(), o.clone())),
        _ => {
            let key = layer.database.clone().map(|d| {
                let o = origins.get("database").cloned().unwrap_or(Origin::File);
                (d, o, 1)
            });
            // A file connection string's database goes with its endpoint: not when a flag
            // replaced that.
            let cs = file_endpoint
                .as_ref()
                .filter(|_| flag_endpoint.is_none())
                .and_then(|(o, e)| e.database.clone().map(|d| (d, o.clone(), 0)));
            let level = |o: &Origin| u8::from(matches!(o, Origin::Context(_)));
            key.into_iter()
                .chain(cs)
                .max_by_key(|(_, o, rank)| (level(o), *rank))
                .map(|(d, o, _)| (d, o))
        }
    };
    if let Some((_, o)) = &database {
        origins.insert("database".into(), o.clone());
    }
    let theme = match &layer.theme {
        Some(t) => t.parse().map_err(Failure::usage)?,
        None => Default::default(),
    };
    let keys = layer
        .keys
        .iter()
        .flatten()
        .map(|(action, spec)| (action.clone(), spec.keys()))
        .collect();
    Ok(Resolved {
        client,
        database: database.map(|(d, _)| d),
        table: layer.table.clone(),
        read_only: read_only || layer.read_only.unwrap_or(false),
        archive_dir: layer
            .archive_dir
            .clone()
            .unwrap_or_else(|| state_dir.join("archive")),
        state_dir,
        poll: poll_config(&layer),
        ring_capacity: stream_capacity(&layer, file, &origins)?,
        journal_retention: layer
            .journal_retention_hours
            .map_or(crate::client::journal::DEFAULT_RETENTION, |h| {
                chrono::TimeDelta::hours(h.min(100 * 365 * 24) as i64)
            }),
        inbox: {
            let d = crate::client::inbox::InboxSettings::default();
            crate::client::inbox::InboxSettings {
                retention_days: layer.inbox_retention_days.unwrap_or(d.retention_days),
                max_rows: layer.inbox_max_rows.unwrap_or(d.max_rows),
            }
        },
        production: layer.production.unwrap_or(false),
        contexts: file.context_names(),
        context,
        theme,
        keys,
        mouse: layer.mouse.unwrap_or(false),
        origins: {
            if read_only {
                origins.insert("read_only".into(), Origin::Flag("--read-only"));
            }
            origins
        },
        inputs: Arc::new(Inputs {
            conn: conn.clone(),
            read_only,
            mouse_flag: false,
            file: file.clone(),
        }),
    })
}

/// `--context` (or KINGEST_CONTEXT), else the file's `default_context`, else none.
fn choose_context(
    conn: &Connection,
    file: &FileConfig,
) -> Result<(Option<String>, Option<Origin>), Failure> {
    let (name, origin) = match (&conn.context, &file.default_context) {
        (Some(n), _) => (n.clone(), given("KINGEST_CONTEXT", "--context", n)),
        (None, Some(n)) => (n.clone(), Origin::File),
        (None, None) => return Ok((None, None)),
    };
    if file.context(&name).is_none() {
        let place = file.path.as_ref().map_or_else(
            || "no config file".to_string(),
            |p| format!("config file {}", p.display()),
        );
        return Err(Failure::usage(format!(
            "unknown context '{name}' ({origin}): {place}: {}",
            crate::config::validate::defined(file)
        )));
    }
    Ok((Some(name), Some(origin)))
}

/// The top level with the context's keys on top (tables such as `[poll]` key by key; the
/// endpoint as one: a context's `cluster` replaces the top level's `ingest_url`), and where
/// each key came from.
fn merged_layer(
    file: &FileConfig,
    context: Option<&str>,
) -> Result<(Layer, BTreeMap<String, Origin>), Failure> {
    let table = |l: &Layer| match toml::Value::try_from(l) {
        Ok(toml::Value::Table(t)) => Ok(t),
        other => Err(Failure::usage(format!(
            "config: cannot merge the file's keys ({other:?})"
        ))),
    };
    let mut merged = table(&file.top)?;
    let mut origins = BTreeMap::new();
    leaves(&merged, "", &Origin::File, &mut origins);
    if let Some(name) = context
        && let Some(layer) = file.context(name)
    {
        let over = table(layer)?;
        if over.contains_key("ingest_url") || over.contains_key("cluster") {
            for k in ["ingest_url", "cluster"] {
                merged.remove(k);
                origins.remove(k);
            }
        }
        leaves(&over, "", &Origin::Context(name.to_string()), &mut origins);
        deep_merge(&mut merged, over);
    }
    let layer = toml::Value::Table(merged)
        .try_into::<Layer>()
        .map_err(|e| Failure::usage(format!("config: cannot merge the file's keys: {e}")))?;
    Ok((layer, origins))
}

fn deep_merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => deep_merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

fn leaves(t: &toml::Table, prefix: &str, origin: &Origin, out: &mut BTreeMap<String, Origin>) {
    for (k, v) in t {
        let key = format!("{prefix}{k}");
        match v {
            toml::Value::Table(inner) => leaves(inner, &format!("{key}."), origin, out),
            _ => {
                out.insert(key, origin.clone());
            }
        }
    }
}

/// The path of a merged key in the file, for errors: `contexts.NAME.KEY` or `KEY`.
fn file_key(origins: &BTreeMap<String, Origin>, key: &str) -> Vec<String> {
    let mut path: Vec<String> = match origins.get(key) {
        Some(Origin::Context(n)) => vec!["contexts".into(), n.clone()],
        _ => Vec::new(),
    };
    path.extend(key.split('.').map(str::to_string));
    path
}

fn describe(file: &FileConfig, origins: &BTreeMap<String, Origin>, key: &str) -> String {
    let path = file_key(origins, key);
    file.describe(&path.iter().map(String::as_str).collect::<Vec<_>>())
}

fn usage(e: crate::client::Error) -> Failure {
    Failure::from(e)
}

/// `--ingest-url`, else `--cluster` (a URL or a connection string).
fn flag_endpoint(conn: &Connection) -> Result<Option<(Origin, Endpoint)>, Failure> {
    Ok(match (&conn.ingest_url, &conn.cluster) {
        (Some(u), _) => Some((
            given("KINGEST_INGEST_URL", "--ingest-url", u),
            read_endpoint(u, false, "--ingest-url").map_err(usage)?,
        )),
        (None, Some(c)) => Some((
            given("KINGEST_CLUSTER", "--cluster", c),
            read_endpoint(c, true, "--cluster").map_err(usage)?,
        )),
        (None, None) => None,
    })
}

/// The merged layer's `ingest_url`, else its `cluster`.
fn file_endpoint(
    layer: &Layer,
    file: &FileConfig,
    origins: &BTreeMap<String, Origin>,
) -> Result<Option<(Origin, Endpoint)>, Failure> {
    for (key, value, cluster) in [
        ("ingest_url", &layer.ingest_url, false),
        ("cluster", &layer.cluster, true),
    ] {
        if let Some(v) = value {
            let ep = read_endpoint(v, cluster, &describe(file, origins, key)).map_err(usage)?;
            return Ok(Some((
                origins.get(key).cloned().unwrap_or(Origin::File),
                ep,
            )));
        }
    }
    Ok(None)
}

/// Defaults ⊕ `[timeouts]` ⊕ `--timeout` (storage calls and mgmt queries).
fn timeouts(
    conn: &Connection,
    layer: &Layer,
    file: &FileConfig,
    origins: &BTreeMap<String, Origin>,
) -> Result<Timeouts, Failure> {
    let mut t = Timeouts::default();
    if let Some(f) = &layer.timeouts {
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
                            "{} = {v}: expected a positive number of seconds",
                            describe(file, origins, &format!("timeouts.{key}"))
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
fn stream_capacity(
    layer: &Layer,
    file: &FileConfig,
    origins: &BTreeMap<String, Origin>,
) -> Result<usize, Failure> {
    match layer.stream_capacity {
        None => Ok(crate::app::stream::DEFAULT_CAPACITY),
        Some(0) => Err(Failure::usage(format!(
            "{} = 0: expected at least 1 row per stream (default {})",
            describe(file, origins, "stream_capacity"),
            crate::app::stream::DEFAULT_CAPACITY
        ))),
        Some(n) => Ok(n),
    }
}

/// Most discard pipelines anyone may ask for: well past where a queue stops getting faster.
const MAX_DISCARD_CONCURRENCY: usize = 256;

/// Default ⊕ `discard_concurrency` ⊕ `--discard-concurrency` (or its environment variable).
fn discard_concurrency(
    conn: &Connection,
    layer: &Layer,
    file: &FileConfig,
    origins: &BTreeMap<String, Origin>,
) -> Result<usize, Failure> {
    let (n, from) = match (conn.discard_concurrency, layer.discard_concurrency) {
        (Some(n), _) => (n, "--discard-concurrency".to_string()),
        (None, Some(n)) => (n, describe(file, origins, "discard_concurrency")),
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

fn poll_config(file: &Layer) -> PollConfig {
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

/// The sign-in, strongest first: `--auth` (or KINGEST_AUTH); the flag endpoint's connection
/// string; the file's `auth`; the file endpoint's connection string; else auto (`--token` if
/// given). A connection string with `Fed=True` alone names no credential: the next one applies.
fn auth_method(
    conn: &Connection,
    layer: &Layer,
    flag_cs: Option<&Endpoint>,
    file_cs: Option<&Endpoint>,
    origins: &mut BTreeMap<String, Origin>,
) -> Result<AuthMethod, Failure> {
    use clap::ValueEnum as _;
    let from_cs = |cs: Option<&Endpoint>| {
        cs.and_then(|e| e.auth.clone()).map(|a| match a {
            CsAuth::ClientSecret {
                tenant_id,
                client_id,
                secret,
            } => AuthMethod::ClientSecret {
                tenant_id,
                client_id,
                secret,
            },
            CsAuth::Token(t) => AuthMethod::Token(t),
            CsAuth::None => AuthMethod::None,
        })
    };
    let endpoint_origin = origins
        .get("ingest_url")
        .or(origins.get("cluster"))
        .cloned();
    let kind = if conn.auth != AuthKind::Auto {
        origins.insert(
            "auth".into(),
            given("KINGEST_AUTH", "--auth", &auth_name(conn.auth)),
        );
        conn.auth
    } else if let Some(m) = from_cs(flag_cs) {
        let o = if conn.ingest_url.is_some() {
            given(
                "KINGEST_INGEST_URL",
                "--ingest-url",
                conn.ingest_url.as_deref().unwrap_or(""),
            )
        } else {
            given(
                "KINGEST_CLUSTER",
                "--cluster",
                conn.cluster.as_deref().unwrap_or(""),
            )
        };
        origins.insert("auth".into(), o);
        return Ok(m);
    } else if let Some(t) = &conn.token {
        // An explicit token (flag or KINGEST_TOKEN) beats every file layer.
        origins.insert("auth".into(), given("KINGEST_TOKEN", "--token", t));
        return Ok(AuthMethod::Token(Secret::new(t.clone())));
    } else if let Some(a) = layer.auth.as_ref().filter(|_| {
        // A context's connection string that names a credential beats the top level's `auth`.
        !(matches!(origins.get("auth"), Some(Origin::File))
            && matches!(endpoint_origin, Some(Origin::Context(_)))
            && file_cs.is_some_and(|e| e.auth.is_some()))
    }) {
        // Checked when the file was read (config::validate).
        AuthKind::from_str(a, true)
            .map_err(|_| Failure::usage(format!("config auth '{a}' is not a known method")))?
    } else if let Some(m) = from_cs(file_cs) {
        if let Some(o) = endpoint_origin {
            origins.insert("auth".into(), o);
        }
        return Ok(m);
    } else {
        AuthKind::Auto
    };
    let need = |v: &Option<String>, what: &str| {
        v.clone()
            .ok_or_else(|| Failure::usage(format!("--auth client-secret needs {what}")))
    };
    Ok(match kind {
        AuthKind::Auto => match &conn.token {
            Some(t) => {
                origins.insert("auth".into(), given("KINGEST_TOKEN", "--token", t));
                AuthMethod::Token(Secret::new(t.clone()))
            }
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

/// `client-secret` for `AuthKind::ClientSecret` (its `--auth` value).
fn auth_name(kind: AuthKind) -> String {
    use clap::ValueEnum as _;
    kind.to_possible_value()
        .map(|v| v.get_name().to_string())
        .unwrap_or_default()
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
        assert!(crate::config::parse("auth = \"bogus\"\ningest_url = \"http://x\"").is_err());
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
                "line 1: discard_concurrency",
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

    fn contexts_file() -> FileConfig {
        file(concat!(
            "default_context = \"dev\"\n",
            "database = \"top\"\n",
            "theme = \"light\"\n",
            "ingest_url = \"http://127.0.0.1:7\"\n",
            "[poll]\ntable_secs = 30\n",
            "[keys]\nquit = \"x\"\n",
            "[contexts.dev]\nauth = \"none\"\ntable = \"T\"\nread_only = true\n",
            "[contexts.dev.poll]\npeek_idle_secs = 3\n",
            "[contexts.dev.keys]\nquit = [\"w\", \"ctrl-y\"]\n",
            "[contexts.prod]\n",
            "cluster = \"Data Source=https://p.kusto.windows.net;Initial Catalog=ProdDb;Fed=True\"\n",
            "production = true\ntheme = \"dark\"\nmouse = true\n",
            "[contexts.sp]\n",
            "ingest_url = \"Data Source=https://ingest-s.kusto.windows.net;AppClientId=app;AppKey=sp-key-123456789;Authority Id=t1\"\n",
        ))
    }

    #[test]
    fn contexts_precedence_table() {
        let f = contexts_file();
        // (--context, --ingest-url, want: context, ingest_url, database, table, read_only,
        //  production, theme, peek_idle, table poll, quit keys, auth label)
        type Want<'a> = (
            Option<&'a str>,
            &'a str,
            Option<&'a str>,
            Option<&'a str>,
            bool,
            bool,
            &'a str,
            u64,
            u64,
            &'a [&'a str],
            &'a str,
        );
        #[rustfmt::skip]
        let cases: [(Option<&str>, Option<&str>, Want); 4] = [
            (None, None, (Some("dev"), "http://127.0.0.1:7", Some("top"), Some("T"), true, false, "light", 3, 30, &["w", "ctrl-y"], "none")),
            (Some("prod"), None, (Some("prod"), "https://ingest-p.kusto.windows.net", Some("ProdDb"), None, false, true, "dark", 20, 30, &["x"], "auto")),
            (Some("prod"), Some("http://127.0.0.1:9"), (Some("prod"), "http://127.0.0.1:9", Some("top"), None, false, true, "dark", 20, 30, &["x"], "auto")),
            (Some("sp"), None, (Some("sp"), "https://ingest-s.kusto.windows.net", Some("top"), None, false, false, "light", 20, 30, &["x"], "client secret")),
        ];
        for (ctx, url, want) in cases {
            let c = Connection {
                context: ctx.map(str::to_string),
                ingest_url: url.map(str::to_string),
                ..conn()
            };
            let r = resolve(&c, false, &f).unwrap();
            let client = r.client.as_ref().unwrap();
            let got: Want = (
                r.context.as_deref(),
                client.ingest_url.as_str(),
                r.database.as_deref(),
                r.table.as_deref(),
                r.read_only,
                r.production,
                if r.theme == crate::app::state::ThemeName::Light {
                    "light"
                } else {
                    "dark"
                },
                r.poll.peek_idle.as_secs(),
                r.poll.table.normal.as_secs(),
                &[],
                client.auth.label(),
            );
            let quit: Vec<&str> = r.keys["quit"].iter().map(String::as_str).collect();
            assert_eq!(
                (
                    got.0, got.1, got.2, got.3, got.4, got.5, got.6, got.7, got.8, got.10
                ),
                (
                    want.0, want.1, want.2, want.3, want.4, want.5, want.6, want.7, want.8, want.10
                ),
                "{ctx:?} {url:?}"
            );
            assert_eq!(quit, want.9, "{ctx:?}");
            assert_eq!(r.contexts, ["dev", "prod", "sp"]);
        }
        // Origins say which level set a value.
        let r = resolve(
            &Connection {
                context: Some("prod".into()),
                ..conn()
            },
            false,
            &f,
        )
        .unwrap();
        assert_eq!(r.origins["theme"], Origin::Context("prod".into()));
        assert_eq!(r.origins["database"], Origin::Context("prod".into()));
        assert_eq!(r.origins["poll.table_secs"], Origin::File);
        assert!(r.mouse && r.clone().with_mouse_flag(false).mouse);
    }

    #[test]
    fn an_unknown_context_is_a_usage_error_listing_the_defined_ones() {
        let c = Connection {
            context: Some("nope".into()),
            ..conn()
        };
        let e = resolve(&c, false, &contexts_file()).unwrap_err();
        assert_eq!(e.code, crate::cli::EXIT_USAGE);
        assert!(
            e.message.contains("unknown context 'nope'")
                && e.message.contains("defined: dev, prod, sp"),
            "{}",
            e.message
        );
        let e = resolve(&c, false, &file("")).unwrap_err();
        assert!(
            e.message.contains("defines no [contexts.NAME]"),
            "{}",
            e.message
        );
    }

    #[test]
    fn for_context_drops_the_endpoint_flags_and_keeps_the_others() {
        let c = Connection {
            ingest_url: Some("http://127.0.0.1:9".into()),
            discard_concurrency: Some(3),
            ..conn()
        };
        let r = resolve(&c, false, &contexts_file())
            .unwrap()
            .with_mouse_flag(true);
        assert_eq!(r.context.as_deref(), Some("dev"));
        let p = r.for_context("prod").unwrap();
        let client = p.client.unwrap();
        assert_eq!(client.ingest_url, "https://ingest-p.kusto.windows.net");
        assert_eq!(client.discard_concurrency, 3);
        assert!(p.production && p.mouse);
        // The inputs kept for this hold flags with secrets: their Debug leaves them out.
        let c = Connection {
            token: Some("tok-abc-123456789".into()),
            ..conn()
        };
        let r = resolve(&c, false, &contexts_file()).unwrap();
        assert!(!format!("{r:?}").contains("tok-abc"));
        assert!(r.for_context("nope").is_err());
    }

    #[test]
    fn connection_string_flags_carry_auth_and_database() {
        let c = Connection {
            cluster: Some("Data Source=https://x.kusto.windows.net;Initial Catalog=D;User Token=user-token-abcdef".into()),
            ..conn()
        };
        let r = resolve(&c, false, &file("database = \"other\"\nauth = \"cli\"")).unwrap();
        assert_eq!(r.database.as_deref(), Some("D"));
        let client = r.client.unwrap();
        assert_eq!(client.ingest_url, "https://ingest-x.kusto.windows.net");
        assert_eq!(
            client.auth,
            AuthMethod::Token(Secret::new("user-token-abcdef"))
        );
        // --auth still wins over the string's token.
        let c = Connection {
            auth: AuthKind::Cli,
            ..c
        };
        assert_eq!(
            resolve(&c, false, &file("")).unwrap().client.unwrap().auth,
            AuthMethod::Cli
        );
        let bad = Connection {
            cluster: Some("Data Source=https://x;Colour=1".into()),
            ..conn()
        };
        let e = resolve(&bad, false, &file("")).unwrap_err();
        assert!(
            e.message.contains("--cluster") && e.message.contains("'Colour'"),
            "{}",
            e.message
        );
    }
}

#[cfg(test)]
mod auth_layer_tests {
    use super::*;

    fn file(text: &str) -> FileConfig {
        crate::config::parse(text).unwrap()
    }

    #[test]
    fn a_contexts_connection_string_beats_the_top_levels_auth_and_a_token_flag_beats_both() {
        let f = file(
            "auth = \"cli\"\ndefault_context = \"sp\"\n[contexts.sp]\ncluster = \"Data Source=https://s.kusto.windows.net;AppClientId=c;AppKey=k;Authority Id=t\"\n[contexts.plain]\ncluster = \"https://p.kusto.windows.net\"\n",
        );
        let auth = |c: &Connection| resolve(c, false, &f).unwrap().client.unwrap().auth;
        assert_eq!(auth(&Connection::default()).label(), "client secret");
        let plain = Connection {
            context: Some("plain".into()),
            ..Connection::default()
        };
        assert_eq!(auth(&plain).label(), "Azure CLI");
        let token = Connection {
            token: Some("t0k".into()),
            ..Connection::default()
        };
        assert_eq!(auth(&token).label(), "static token");
    }
}
