//! The runtime: terminal setup/restore, the event loop, the executor that runs effects against
//! `IngestClient`, the submission journal and logging.
//!
//! Headless use (tests): build a `State`, a `Terminal<TestBackend>`, an mpsc channel and a
//! `ClientExecutor` (or `executor::Recorder`), then `event_loop::run(...)` with any
//! `Stream<Item = io::Result<Event>>` of keys ending in `q`; it returns the final `State`.

pub mod clock;
pub mod event_loop;
pub mod executor;
pub mod logging;
pub mod terminal;

use std::path::PathBuf;

use anyhow::Context as _;
use crossterm::event::EventStream;
use tokio::sync::mpsc;

use crate::app::Msg;
use crate::app::state::{PollConfig, Settings, State};
use crate::client::IngestClient;
use crate::client::journal::Journal;
use clock::Clock;
use executor::ClientExecutor;

#[derive(Debug, Clone)]
pub struct TuiOptions {
    /// Removes every dangerous binding (discard, CONSUME).
    pub read_only: bool,
    /// Where discarded notifications are archived (JSON lines) before deletion.
    pub archive_dir: PathBuf,
    /// Holds the per-cluster submission journals (`journal/`).
    pub state_dir: PathBuf,
    /// Finished submissions older than this are compacted out of the journal.
    pub journal_retention: chrono::TimeDelta,
    pub default_database: Option<String>,
    pub default_table: Option<String>,
    /// Where the submit dialog's path starts (e.g. the demo files' folder).
    pub default_path: Option<PathBuf>,
    pub poll: PollConfig,
    /// Size of each notification ring buffer.
    pub ring_capacity: usize,
    /// `None`: colour unless `NO_COLOR` is set.
    pub color: Option<bool>,
    pub theme: crate::app::state::ThemeName,
    /// The config context in use, whether it is production, and every context defined.
    pub context: Option<String>,
    pub production: bool,
    pub contexts: Vec<String>,
    /// Key overrides from the config file: action name → keys (`app::keymap` reads them).
    pub keys: std::collections::BTreeMap<String, Vec<String>>,
    /// Capture the mouse (wheel scroll, click to focus); off by default so the terminal's
    /// own selection keeps working.
    pub mouse: bool,
    /// Retention of the notification inbox (`STATE_DIR/inbox.sqlite3`).
    pub inbox: crate::client::inbox::InboxSettings,
}

impl Default for TuiOptions {
    fn default() -> Self {
        TuiOptions {
            read_only: false,
            archive_dir: PathBuf::from("."),
            state_dir: PathBuf::from("."),
            journal_retention: crate::client::journal::DEFAULT_RETENTION,
            default_database: None,
            default_table: None,
            default_path: None,
            poll: PollConfig::default(),
            ring_capacity: crate::app::stream::DEFAULT_CAPACITY,
            color: None,
            theme: Default::default(),
            context: None,
            production: false,
            contexts: Vec::new(),
            keys: Default::default(),
            mouse: false,
            inbox: Default::default(),
        }
    }
}

impl TuiOptions {
    /// The journal of the cluster at `ingest_url`.
    pub fn journal(&self, ingest_url: &str) -> Journal {
        Journal::in_state_dir(&self.state_dir, ingest_url)
    }

    /// The initial state for these options (no I/O besides the environment lookup).
    pub fn initial_state(&self, cluster: &str, now: chrono::DateTime<chrono::Utc>) -> State {
        let color = self
            .color
            .unwrap_or_else(|| std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()));
        let mut state = State::new(
            Settings {
                read_only: self.read_only,
                color,
                theme: self.theme,
                context: self.context.clone(),
                production: self.production,
                contexts: self.contexts.clone(),
                auth: String::new(),
                archive_dir: self.archive_dir.clone(),
                cluster: cluster.to_string(),
                poll: self.poll,
                ring_capacity: self.ring_capacity,
                keymap: Default::default(),
            },
            now,
        );
        // `tui::run` refuses bad overrides before the terminal is touched; any other caller
        // sees the reason on the status line, with the default keys.
        match crate::app::keymap::Keymap::with_overrides(&self.keys) {
            Ok(map) => state.settings.keymap = std::sync::Arc::new(map),
            Err(e) => {
                state.set_status(e, crate::app::state::Severity::Error);
            }
        }
        state.last_database = self.default_database.clone().unwrap_or_default();
        state.last_table = self.default_table.clone().unwrap_or_default();
        state.last_path = self
            .default_path
            .as_ref()
            .map(|p| format!("{}/", p.display()))
            .unwrap_or_default();
        state
    }
}

/// Given the TUI's message channel at start: a source of messages from outside the terminal
/// (the demo's traffic sends `Msg::Submit` through it).
pub type Feed = Box<dyn FnOnce(mpsc::UnboundedSender<Msg>) + Send>;

/// Takes the terminal, runs the TUI until quit (q, Ctrl-C, SIGTERM, SIGHUP) and gives the
/// terminal back, also on error. Logging is set up by the caller (`logging::init`).
pub async fn run_tui(client: IngestClient, opts: TuiOptions) -> anyhow::Result<()> {
    run_tui_fed(client, opts, None, None).await
}

/// One context's share of a TUI run: its client and options, and a note for the status line
/// when it starts (e.g. that a flag's endpoint was replaced by the context's).
pub struct Session {
    pub client: IngestClient,
    pub opts: TuiOptions,
    pub note: Option<String>,
}

/// Builds the session of the named context for `:ctx NAME`, or says why it cannot.
pub type Switcher = Box<dyn Fn(&str) -> Result<Session, String> + Send + Sync>;

/// [`run_tui`] with `feed` given the message channel once the journal is restored, and
/// `switcher` making `:ctx NAME` real (without one the switch is refused on the status line).
pub async fn run_tui_fed(
    client: IngestClient,
    opts: TuiOptions,
    feed: Option<Feed>,
    switcher: Option<Switcher>,
) -> anyhow::Result<()> {
    // What an earlier run left unposted is resumed or abandoned before the screen is taken
    // over, so it can be said on stderr; later sessions (after `:ctx`) only log it.
    for r in reconcile(&client, &opts).await {
        eprintln!("note: {}", crate::sanitize::sanitize(&r));
    }
    let mouse = opts.mouse;
    let first = Session {
        client,
        opts,
        note: None,
    };
    let mut term = terminal::init(mouse).context("cannot set up the terminal")?;
    let mut events = EventStream::new();
    let result = run_sessions(
        &mut term,
        &mut events,
        first,
        feed,
        switcher.as_ref(),
        Clock::system(),
        true,
    )
    .await;
    let restored = terminal::restore();
    result?;
    restored.context("cannot restore the terminal")?;
    Ok(())
}

/// Resumes or abandons what an earlier run left unposted in this cluster's journal; returns
/// what was done, also logged.
async fn reconcile(client: &IngestClient, opts: &TuiOptions) -> Vec<String> {
    let journal = opts.journal(client.ingest_url());
    let quiet: crate::client::ProgressFn = std::sync::Arc::new(|_| {});
    let done = crate::client::submit::resume::reconcile(client, &journal, quiet).await;
    done.iter()
        .map(|r| {
            tracing::info!(source_id = %r.record().source_id, "{}", r.describe());
            r.describe()
        })
        .collect()
}

/// A session's running parts: its executor and the channel its results come back on.
struct Running {
    executor: ClientExecutor,
    rx: mpsc::UnboundedReceiver<Msg>,
    tx: mpsc::UnboundedSender<Msg>,
}

fn start(session: Session, clock: Clock, signals: bool) -> anyhow::Result<(Running, State)> {
    let (tx, rx) = mpsc::unbounded_channel();
    let journal = session.opts.journal(session.client.ingest_url());
    if let Some(msg) = restore(&journal, clock.now(), session.opts.journal_retention) {
        let _ = tx.send(msg);
    }
    if signals {
        spawn_signal_watch(tx.clone())?;
    }
    let mut state = session
        .opts
        .initial_state(session.client.ingest_url(), clock.now());
    state.settings.auth = session.client.auth_label().to_string();
    if let Some(note) = session.note {
        state.status = Some((note, crate::app::state::Severity::Warn));
    }
    // Without its inbox the TUI still runs: the streams then show what this session peeks.
    let inbox = match crate::client::inbox::Inbox::open_with(
        &crate::client::inbox::path_in_state_dir(&session.opts.state_dir),
        session.client.ingest_url(),
        session.opts.inbox,
    ) {
        Ok(i) => Some(std::sync::Arc::new(i)),
        Err(e) => {
            tracing::warn!(error = %e, "cannot open the inbox");
            let _ = tx.send(Msg::InboxProblem(e.to_string()));
            None
        }
    };
    let executor =
        ClientExecutor::new(session.client, tx.clone(), clock, Some(journal)).with_inbox(inbox);
    Ok((Running { executor, rx, tx }, state))
}

/// Runs sessions in one terminal until quit: the first on `first`, then one per `:ctx NAME`
/// that `switcher` can build. A switch that cannot be built, or a production context not yet
/// confirmed, resumes the current session (its executor kept running) with the reason or the
/// question on screen. `feed` belongs to the first session: its channel closes on a switch, so
/// the feed (the demo's traffic, bound to the demo's emulator) stops there.
/// `signals`: SIGTERM/SIGHUP quit (off in tests). Returns the final state.
pub async fn run_sessions<B, S>(
    terminal: &mut ratatui::Terminal<B>,
    events: &mut S,
    first: Session,
    feed: Option<Feed>,
    switcher: Option<&Switcher>,
    clock: Clock,
    signals: bool,
) -> anyhow::Result<State>
where
    B: ratatui::backend::Backend + terminal::Suspend,
    B::Error: Send + Sync + 'static,
    S: futures::Stream<Item = std::io::Result<crossterm::event::Event>> + Unpin,
{
    use crate::app::state::Leave;
    use crate::app::update::{confirm_production, switch_failed};
    let (mut running, mut state) = start(first, clock, signals)?;
    if let Some(feed) = feed {
        feed(running.tx.clone());
    }
    loop {
        state = event_loop::run(
            terminal,
            &mut *events,
            &mut running.executor,
            &mut running.rx,
            state,
            clock,
        )
        .await?;
        let Some(Leave::SwitchContext { name, confirmed }) = state.leave.take() else {
            break;
        };
        let built = match switcher {
            Some(switch) => switch(&name),
            None => Err("this session cannot switch contexts".into()),
        };
        match built {
            Err(e) => switch_failed(&mut state, &name, &e),
            Ok(s) if s.opts.production && !confirmed => {
                confirm_production(&mut state, &name, s.client.ingest_url());
            }
            Ok(s) => {
                for r in reconcile(&s.client, &s.opts).await {
                    tracing::info!("after switching to {name}: {r}");
                }
                running.executor.shutdown();
                (running, state) = start(s, clock, signals)?;
                // The new header and panes replace the old ones entirely.
                terminal.clear()?;
            }
        }
    }
    running.executor.shutdown();
    Ok(state)
}

/// The message that restores `journal`'s submissions (this cluster's only), if it has any.
/// Unreadable lines and an unreadable file are logged, never fatal.
pub fn restore(
    journal: &Journal,
    now: chrono::DateTime<chrono::Utc>,
    retention: chrono::TimeDelta,
) -> Option<Msg> {
    match journal.load(now, retention) {
        Ok(loaded) => {
            if !loaded.corrupt_lines.is_empty() {
                tracing::warn!(path = %journal.path().display(), lines = ?loaded.corrupt_lines,
                    "skipped unreadable lines of the submission journal");
            }
            (!loaded.records.is_empty()).then_some(Msg::Journal(loaded.records))
        }
        Err(e) => {
            tracing::warn!(error = %e, path = %journal.path().display(), "cannot read the submission journal");
            None
        }
    }
}

#[cfg(unix)]
fn spawn_signal_watch(tx: mpsc::UnboundedSender<Msg>) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut hup = signal(SignalKind::hangup())?;
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = hup.recv() => {}
        }
        let _ = tx.send(Msg::Quit);
    });
    Ok(())
}

#[cfg(not(unix))]
fn spawn_signal_watch(_tx: mpsc::UnboundedSender<Msg>) -> anyhow::Result<()> {
    Ok(())
}
