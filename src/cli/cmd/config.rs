//! `kingest config init|show|path|use NAME`: the config file without an endpoint. `show`
//! prints what `cli::resolve` made of it (the one merge), with each value's origin.

use std::path::PathBuf;

use serde_json::json;

use crate::cli::args::Common;
use crate::cli::args::{ConfigAction, Connection};
use crate::cli::output::{outln, print_json, safe};
use crate::cli::resolve::{Origin, Resolved, resolve};
use crate::cli::{EXIT_OK, Failure};

pub fn run(action: &ConfigAction, common: &Common) -> Result<i32, Failure> {
    let (path, explicit) =
        crate::config::path_in_use(common.config.as_deref()).ok_or_else(|| {
            Failure::usage("no config directory on this platform: pass --config FILE")
        })?;
    match action {
        ConfigAction::Path => path_cmd(&path, explicit, common.json),
        ConfigAction::Init { force, conn } => init(&path, *force, conn, common.json),
        ConfigAction::Use { name } => use_context(&path, name, common.json),
        ConfigAction::Show { conn } => {
            let file = crate::config::load(common.config.as_deref())
                .map_err(|e| Failure::usage(format!("{e:#}")))?;
            let resolved = resolve(conn, false, &file)?;
            show(&resolved, &path, common.json);
            Ok(EXIT_OK)
        }
    }
}

fn path_cmd(path: &std::path::Path, explicit: bool, json: bool) -> Result<i32, Failure> {
    let exists = path.is_file();
    let how = if explicit {
        "--config / KINGEST_CONFIG"
    } else {
        "default location"
    };
    if json {
        print_json(&json!({"path": path, "exists": exists, "explicit": explicit}));
    } else {
        let state = if exists {
            "exists".to_string()
        } else {
            "does not exist; `kingest config init` creates it".to_string()
        };
        outln!("{} ({how}; {state})", safe(&path.display().to_string()));
    }
    Ok(EXIT_OK)
}

/// A context name kingest writes as a bare TOML key.
fn check_name(name: &str) -> Result<(), Failure> {
    if !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        Ok(())
    } else {
        Err(Failure::usage(format!(
            "context name '{}': use letters, digits, '-' and '_'",
            safe(name)
        )))
    }
}

fn quoted(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn init(
    path: &std::path::Path,
    force: bool,
    conn: &Connection,
    json: bool,
) -> Result<i32, Failure> {
    if path.exists() && !force {
        return Err(Failure::usage(format!(
            "{} exists; pass --force to replace it",
            path.display()
        )));
    }
    let endpoint = match (&conn.ingest_url, &conn.cluster) {
        (Some(u), _) => Some(("ingest_url", u, false, "--ingest-url")),
        (None, Some(c)) => Some(("cluster", c, true, "--cluster")),
        (None, None) => None,
    };
    let name = conn.context.clone().unwrap_or_else(|| "default".into());
    let mut text = STARTER.to_string();
    if let Some((key, value, cluster, what)) = endpoint {
        check_name(&name)?;
        // Refuse what `load` would refuse, before anything is written.
        crate::client::connection_string::endpoint(value, cluster, what)?;
        text = format!(
            "default_context = {}\n\n{text}\n[contexts.{name}]\n{key} = {}\n",
            quoted(&name),
            quoted(value)
        );
        if conn.auth != crate::cli::args::AuthKind::Auto {
            use clap::ValueEnum as _;
            if let Some(v) = conn.auth.to_possible_value() {
                text.push_str(&format!("auth = {}\n", quoted(v.get_name())));
            }
        }
    }
    crate::config::parse(&text).map_err(|e| Failure::usage(format!("starter file: {e}")))?;
    crate::config::file::write_atomic(path, &text)
        .map_err(|e| Failure::usage(format!("cannot write {}: {e}", path.display())))?;
    let context = endpoint.map(|_| name);
    if json {
        print_json(&json!({"path": path, "context": context}));
    } else {
        outln!("wrote {}", safe(&path.display().to_string()));
        if let Some(n) = context {
            outln!("context {n} (the default context)");
        }
    }
    Ok(EXIT_OK)
}

/// Sets `default_context` with toml_edit, so the file's comments and layout stay.
fn use_context(path: &std::path::Path, name: &str, json: bool) -> Result<i32, Failure> {
    let text = crate::config::file::read_regular(path)
        .map_err(|e| Failure::usage(format!("cannot read config file {}: {e}", path.display())))?;
    let file = crate::config::parse(&text)
        .map_err(|e| Failure::usage(format!("config file {}, {e}", path.display())))?;
    if file.context(name).is_none() {
        return Err(Failure::usage(format!(
            "unknown context '{}': config file {}: {}",
            safe(name),
            path.display(),
            crate::config::validate::defined(&file)
        )));
    }
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e| Failure::usage(format!("config file {}: {e}", path.display())))?;
    match doc
        .get_mut("default_context")
        .and_then(|i| i.as_value_mut())
    {
        // The value's own comment (`# the usual one`) and spacing stay.
        Some(v) => {
            let decor = v.decor().clone();
            *v = name.into();
            *v.decor_mut() = decor;
        }
        None => doc["default_context"] = toml_edit::value(name),
    }
    crate::config::file::write_atomic(path, &doc.to_string())
        .map_err(|e| Failure::usage(format!("cannot write {}: {e}", path.display())))?;
    if json {
        print_json(&json!({"path": path, "default_context": name}));
    } else {
        outln!(
            "default context: {} ({})",
            safe(name),
            safe(&path.display().to_string())
        );
    }
    Ok(EXIT_OK)
}

/// One row of `config show`: key, effective value, origin.
fn rows(r: &Resolved) -> Vec<(String, String, Origin)> {
    let origin = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| r.origins.get(*k).cloned())
            .unwrap_or(Origin::Default)
    };
    let secs = |d: std::time::Duration| {
        let s = d.as_secs_f64();
        if s.fract() == 0.0 {
            format!("{}", d.as_secs())
        } else {
            format!("{s}")
        }
    };
    let none = || "(none)".to_string();
    let mut out: Vec<(String, String, Origin)> = Vec::new();
    let mut row = |key: &str, value: String, from: &[&str]| {
        let o = if from.is_empty() {
            origin(&[key])
        } else {
            origin(from)
        };
        out.push((key.to_string(), value, o));
    };
    row("context", r.context.clone().unwrap_or_else(none), &[]);
    row("contexts", r.contexts.join(", "), &["contexts"]);
    match &r.client {
        Ok(c) => {
            row(
                "ingest_url",
                c.ingest_url.clone(),
                &["ingest_url", "cluster"],
            );
            let auth = crate::client::auth::resolve(&c.auth, &c.ingest_url);
            row("auth", auth.label().to_string(), &[]);
            row(
                "discard_concurrency",
                c.discard_concurrency.to_string(),
                &[],
            );
            let t = &c.timeouts;
            row("timeouts.connect_secs", secs(t.connect), &[]);
            row("timeouts.storage_secs", secs(t.storage), &[]);
            row("timeouts.mgmt_secs", secs(t.mgmt), &[]);
            row("timeouts.ingest_command_secs", secs(t.ingest_command), &[]);
        }
        Err(why) => row("ingest_url", format!("(none: {why})"), &[]),
    }
    row("database", r.database.clone().unwrap_or_else(none), &[]);
    row("table", r.table.clone().unwrap_or_else(none), &[]);
    row("read_only", r.read_only.to_string(), &[]);
    row("production", r.production.to_string(), &[]);
    row("theme", format!("{:?}", r.theme).to_lowercase(), &[]);
    row("mouse", r.mouse.to_string(), &[]);
    row("stream_capacity", r.ring_capacity.to_string(), &[]);
    row("state_dir", r.state_dir.display().to_string(), &[]);
    row("archive_dir", r.archive_dir.display().to_string(), &[]);
    row(
        "journal_retention_hours",
        r.journal_retention.num_hours().to_string(),
        &[],
    );
    row(
        "inbox_retention_days",
        r.inbox.retention_days.to_string(),
        &[],
    );
    row("inbox_max_rows", r.inbox.max_rows.to_string(), &[]);
    let p = &r.poll;
    row(
        "poll.peek_idle_secs",
        secs(p.peek_idle),
        &["poll.peek_idle_secs", "poll_interval_secs"],
    );
    for (key, d) in [
        ("poll.peek_busy_secs", p.peek_busy),
        ("poll.peek_busy_for_secs", p.peek_busy_for),
        ("poll.peek_max_secs", p.peek_max),
        ("poll.depths_secs", p.depths),
        ("poll.depths_max_secs", p.depths_max),
        ("poll.resources_secs", p.resources),
        ("poll.table_young_secs", p.table.young),
        ("poll.table_young_for_secs", p.table.young_for),
        ("poll.table_secs", p.table.normal),
        ("poll.table_slow_after_secs", p.table.slow_after),
        ("poll.table_slow_secs", p.table.slow),
        ("poll.table_slowest_after_secs", p.table.slowest_after),
        ("poll.table_slowest_secs", p.table.slowest),
    ] {
        row(key, secs(d), &[]);
    }
    row("poll.peek_count", p.peek_count.to_string(), &[]);
    row(
        "poll.progress_tick_ms",
        p.progress_tick.as_millis().to_string(),
        &[],
    );
    for (action, keys) in &r.keys {
        row(&format!("keys.{action}"), keys.join(", "), &[]);
    }
    out
}

fn show(r: &Resolved, path: &std::path::Path, json: bool) {
    let file: Option<PathBuf> = r.file().path.clone();
    let rows = rows(r);
    if json {
        let values: Vec<_> = rows
            .iter()
            .map(|(k, v, o)| json!({"key": k, "value": v, "origin": o.to_string()}))
            .collect();
        print_json(&json!({"path": path, "loaded": file.is_some(), "values": values}));
        return;
    }
    let state = if file.is_some() {
        ""
    } else {
        " (not found: defaults)"
    };
    outln!("# {}{state}", safe(&path.display().to_string()));
    let width = rows.iter().map(|(k, _, _)| k.len()).max().unwrap_or(0);
    let vwidth = rows
        .iter()
        .map(|(_, v, _)| v.chars().count())
        .max()
        .unwrap_or(0)
        .min(48);
    for (k, v, o) in rows {
        let v = crate::client::redact::redact(&v);
        outln!("{k:width$}  {:vwidth$}  {o}", safe(&v));
    }
}

/// The starter file `config init` writes: every key, commented out, with its default.
const STARTER: &str = r#"# kingest configuration: `kingest config show` prints what is in effect and where each
# value came from. Keys at the top level apply to every context; a context's own keys win;
# KINGEST_* environment variables and flags win over both. README "Configuration" lists
# every key.

# The context used without --context (or KINGEST_CONTEXT):
# default_context = "dev"

# auth = "auto"                 # auto | cli | managed-identity | client-secret | workload-identity | token | none
# theme = "dark"                # dark | light
# mouse = false                 # capture the mouse in the TUI (as --mouse)
# read_only = false             # hide and disable discards
# stream_capacity = 100000      # rows each notification stream keeps
# discard_concurrency = 16
# journal_retention_hours = 168
# inbox_retention_days = 30     # notifications kept in the inbox (0: forever)
# inbox_max_rows = 100000       # at most this many in the inbox file (0: no cap)
# state_dir = "/path/to/state"  # logs, journals, archives
# archive_dir = "/path/to/archive"
#
# [poll]
# peek_idle_secs = 20
# table_secs = 10
#
# [timeouts]
# storage_secs = 60
#
# [keys]                        # action = "key" or ["key", "ctrl-key"]
# quit = ["q", "ctrl-c"]
#
# [contexts.dev]
# ingest_url = "http://127.0.0.1:8080"   # or cluster = "https://NAME.REGION.kusto.windows.net"
# auth = "none"
# database = "demo"
# table = "Events"
#
# [contexts.prod]
# cluster = "Data Source=https://NAME.REGION.kusto.windows.net;Initial Catalog=Db;Fed=True"
# production = true
# read_only = true
"#;
