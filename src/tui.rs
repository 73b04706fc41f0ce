//! Starting the TUI for a resolved configuration: logging to a file (its path printed on
//! exit), the options, and the runtime.

use std::path::Path;

use crate::app::Msg;
use crate::cli::resolve::Resolved;
use crate::cli::{EXIT_OK, Failure};
use crate::client::IngestClient;
use crate::runtime::terminal::Capability;
use crate::runtime::{Feed, Session, Switcher, TuiOptions};

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
        theme: resolved.theme,
        context: resolved.context.clone(),
        production: resolved.production,
        contexts: resolved.contexts.clone(),
        keys: resolved.keys.clone(),
        mouse: resolved.mouse,
        inbox: resolved.inbox,
    }
}

/// How the interactive view will draw here; refuses (exit 2) where it cannot run at all,
/// before anything touches the terminal.
pub fn check_terminal() -> Result<Capability, Failure> {
    match crate::runtime::terminal::check() {
        Capability::Refuse(why) => Err(Failure::usage(why.message())),
        can => Ok(can),
    }
}

/// Runs the TUI on `client` until quit, full screen or, where `TERM` cannot address the cursor,
/// as plain lines ([`crate::cli::cmd::watch`]); logs go to `log_dir/kingest.log`.
pub async fn run(client: IngestClient, opts: TuiOptions, log_dir: &Path) -> Result<i32, Failure> {
    run_fed(client, opts, log_dir, None, None).await
}

/// The `:ctx NAME` switcher for a run resolved as `resolved`: re-resolves for the context (the
/// other flags kept) and builds its client and options.
pub fn switcher(resolved: Resolved) -> Switcher {
    Box::new(move |name| {
        let next = resolved.for_context(name).map_err(|f| f.message)?;
        let client = next.client().map_err(|f| f.message)?;
        // `for_context` drops --ingest-url/--cluster: say so, the operator gave them.
        let note = flag_endpoint(&resolved).map(|flag| {
            format!(
                "on context {name}: its endpoint {} replaces the {flag} given on the command line",
                crate::sanitize::sanitize(client.ingest_url())
            )
        });
        Ok(Session {
            client,
            opts: options(&next),
            note,
        })
    })
}

/// The flag that gave `resolved` its endpoint, if a flag did.
fn flag_endpoint(resolved: &Resolved) -> Option<&'static str> {
    ["ingest_url", "cluster"]
        .iter()
        .find_map(|k| match resolved.origins.get(*k) {
            Some(crate::cli::resolve::Origin::Flag(flag)) => Some(*flag),
            _ => None,
        })
}

/// [`run`] with a [`Feed`] of outside messages (the demo's traffic).
pub async fn run_fed(
    client: IngestClient,
    opts: TuiOptions,
    log_dir: &Path,
    feed: Option<Feed>,
    switcher: Option<Switcher>,
) -> Result<i32, Failure> {
    // A bad `[keys]` override is a usage error (exit 2) before the terminal is touched.
    crate::app::keymap::Keymap::with_overrides(&opts.keys).map_err(Failure::usage)?;
    let mode = check_terminal()?;
    let log_path = log_dir.join("kingest.log");
    let guard = crate::runtime::logging::init(&log_path, mode == Capability::LineMode)
        .map_err(|e| Failure::usage(format!("{e:#}")))?;
    let result = if mode == Capability::LineMode {
        if let Some(feed) = feed {
            submit_fed(&client, &opts, feed);
        }
        crate::cli::cmd::watch::run(client, opts).await
    } else {
        crate::runtime::run_tui_fed(client, opts, feed, switcher)
            .await
            .map(|_| EXIT_OK)
            .map_err(|e| Failure::service(format!("{e:#}")))
    };
    eprintln!(
        "kingest: logs in {}",
        crate::sanitize::sanitize(&guard.path.display().to_string())
    );
    drop(guard);
    result
}

/// The line mode has no submissions list: the feed's submissions are sent as `kingest submit`
/// sends them, journaled, so the line mode follows them like any journaled source.
fn submit_fed(client: &IngestClient, opts: &TuiOptions, feed: Feed) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    feed(tx);
    let client = client.clone();
    let journal = opts.journal(client.ingest_url());
    tokio::spawn(async move {
        while let Some(msg) = rx.recv().await {
            if let Msg::Submit(mut req) = msg {
                req.journal = Some(journal.clone());
                let quiet: crate::client::ProgressFn = std::sync::Arc::new(|_| {});
                if let Err(e) = client.submit(*req, quiet).await {
                    tracing::warn!(error = %e, "a fed submission failed");
                }
            }
        }
    });
}
