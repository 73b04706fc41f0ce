//! The command line: `args` (clap types), `resolve` (the one merge of defaults ⊕ config file ⊕
//! environment ⊕ flags), `output` (human and JSON rendering) and `cmd/` (one file per command).
//!
//! Exit codes: [`EXIT_CODES`] (the README's table is checked against it); errors map to them
//! in one place, [`exit_code`], and per-source outcomes in [`source_exit_code`].

pub mod args;
pub mod cmd;
pub mod output;
pub mod parse;
pub mod resolve;

pub use args::{Cli, Command, DemoArgs, EmulatorArgs, QueueAction, SubmitArgs};

use crate::client::Error;
use crate::client::error::{Problem, ProblemKind};
use crate::client::tracking::Tracker;
use crate::client::wire::NotificationKind;

pub const EXIT_OK: i32 = 0;
pub const EXIT_INGESTION_FAILED: i32 = 1;
pub const EXIT_USAGE: i32 = 2;
pub const EXIT_SERVICE: i32 = 3;
pub const EXIT_GAVE_UP: i32 = 4;
pub const EXIT_REFUSED: i32 = 5;

/// Every exit code and what it means, as the README's table shows them.
pub const EXIT_CODES: [(i32, &str); 6] = [
    (
        EXIT_OK,
        "every source Succeeded (or was Skipped by `--ingest-if-not-exists` as asked); the command did what it was asked",
    ),
    (
        EXIT_INGESTION_FAILED,
        "a source Failed, PartiallySucceeded or was Skipped otherwise; `status` knows nothing of the source",
    ),
    (
        EXIT_USAGE,
        "usage or configuration: a bad flag or value, a missing or unreadable file, a bad config file, the TUI without a terminal",
    ),
    (
        EXIT_SERVICE,
        "service or network: connection refused, a timeout, an HTTP error (401, 403, 404, 5xx), a response that is not what the service sends",
    ),
    (
        EXIT_GAVE_UP,
        "gave up waiting: a source still not final at the `--wait` deadline (or when `status` looked), asked-for messages still in a queue after a discard",
    ),
    (
        EXIT_REFUSED,
        "`resubmit` refused: the source Succeeded, was Skipped, is still being retried or its outcome is unknown (pass `--force` to send it anyway)",
    ),
];

/// When several apply (e.g. one file missing, another Failed), the first of these wins.
pub const EXIT_PRECEDENCE: [i32; 6] = [
    EXIT_USAGE,
    EXIT_REFUSED,
    EXIT_SERVICE,
    EXIT_INGESTION_FAILED,
    EXIT_GAVE_UP,
    EXIT_OK,
];

/// The exit code of a run whose parts ended with `codes` ([`EXIT_PRECEDENCE`]).
pub fn combine(codes: impl IntoIterator<Item = i32>) -> i32 {
    codes
        .into_iter()
        .min_by_key(|c| EXIT_PRECEDENCE.iter().position(|p| p == c))
        .unwrap_or(EXIT_OK)
}

/// The one map from an error to an exit code.
pub fn exit_code(e: &Error) -> i32 {
    match e {
        Error::Usage(_) | Error::Io(_) => EXIT_USAGE,
        _ => EXIT_SERVICE,
    }
}

/// The exit code one source's tracker stands for: a success as the tracker decides it (a
/// Skipped the post asked for by `ingestIfNotExists` included, [`Tracker::is_success`]).
/// `waited`: the caller meant to learn the final state (`--wait`, `status`), so a state that
/// is not final means it gave up.
pub fn source_exit_code(tracker: &Tracker, waited: bool) -> i32 {
    if tracker.is_success() {
        EXIT_OK
    } else if tracker.is_final() {
        EXIT_INGESTION_FAILED
    } else if waited {
        EXIT_GAVE_UP
    } else {
        EXIT_OK
    }
}
/// A command failure with its exit code and a message for stderr.
#[derive(Debug)]
pub struct Failure {
    pub code: i32,
    pub message: String,
}

impl Failure {
    pub fn usage(msg: impl Into<String>) -> Self {
        Failure {
            code: EXIT_USAGE,
            message: msg.into(),
        }
    }

    pub fn service(msg: impl Into<String>) -> Self {
        Failure {
            code: EXIT_SERVICE,
            message: msg.into(),
        }
    }
}

impl From<Error> for Failure {
    /// The message says what to do where that is not obvious from the error.
    fn from(e: Error) -> Self {
        let problem = Problem::from(&e);
        let hint = match problem.kind {
            ProblemKind::Auth | ProblemKind::BadResponse => format!("\n  hint: {}", problem.hint()),
            ProblemKind::MissingResource => {
                "\n  hint: the service does not offer it: check the ingest URL and the cluster"
                    .into()
            }
            _ => String::new(),
        };
        Failure {
            code: exit_code(&e),
            message: format!("{}{hint}", problem.message),
        }
    }
}

/// Runs one command line to its exit code.
pub async fn run(cli: Cli) -> Result<i32, Failure> {
    let Cli {
        conn,
        common,
        tui,
        command,
    } = cli;
    let json = common.json;
    if common.json {
        refuse_json(command.as_ref())?;
    }
    output::set_quiet(common.quiet);
    let mut command = command;
    // `config` works without an endpoint, and `path` / `init` even with a broken file.
    if let Some(Command::Config(args)) = &command {
        return cmd::config::run(&args.action, &common);
    }
    // Neither reads the config: a broken file must not break `source <(kingest completions
    // bash)` in a shell's rc file, nor a local emulator.
    match command {
        Some(Command::Completions { shell }) => return Ok(cmd::completions::run(shell)),
        Some(Command::Emulator(args)) => {
            headless_logs(&common);
            return cmd::emulator::run(args, json).await;
        }
        other => command = other,
    }
    let file = crate::config::load(common.config.as_deref())
        .map_err(|e| Failure::usage(format!("{e:#}")))?;
    // The command's own connection flags (those given before it already carried over).
    let conn = command
        .as_mut()
        .and_then(Command::connection_mut)
        .map_or(conn, |c| c.clone());
    // Those given before `demo` were carried to it by `parse`.
    let tui = match &command {
        Some(Command::Demo(d)) => d.tui,
        _ => tui,
    };
    let resolved = resolve::resolve(&conn, tui.read_only, &file)?.with_mouse_flag(tui.mouse);
    match command {
        None => cmd::tui::run(&resolved).await,
        Some(Command::Demo(args)) => cmd::demo::run(args, &resolved).await,
        Some(cmd) => {
            headless_logs(&common);
            let client = resolved.client()?;
            match cmd {
                Command::Resources { .. } => cmd::resources::run(&client, json).await,
                Command::Submit(args) => cmd::submit::run(&client, &resolved, args, json).await,
                Command::Resubmit(args) => cmd::resubmit::run(&client, &resolved, args, json).await,
                Command::Check(args) => cmd::check::run(&client, &resolved, args, json).await,
                Command::Status {
                    source_id,
                    scan,
                    timeline,
                    ..
                } => match source_id {
                    Some(id) if !scan.all => {
                        cmd::status::run(&client, &resolved, &id, json, timeline).await
                    }
                    _ => cmd::status_scan::run(&client, &scan, json).await,
                },
                Command::Failures { action } => {
                    cmd::queue::run(&client, &resolved, NotificationKind::Failure, action, json)
                        .await
                }
                Command::Successes { action } => {
                    cmd::queue::run(&client, &resolved, NotificationKind::Success, action, json)
                        .await
                }
                Command::Bulk(args) => cmd::bulk::run(&client, &resolved, args, json).await,
                Command::Mgmt { csl, database, .. } => {
                    cmd::mgmt::run(&client, &database, &csl, json).await
                }
                Command::Gateway(args) => cmd::gateway::run(&client, args, json).await,
                Command::Emulator(_)
                | Command::Demo(_)
                | Command::Completions { .. }
                | Command::Config(_) => Ok(EXIT_OK),
            }
        }
    }
}

/// `--json` where a command has no JSON to give: a usage error saying so, before anything runs.
fn refuse_json(command: Option<&Command>) -> Result<(), Failure> {
    let why = match command {
        None => "the TUI is for a terminal; script the headless commands instead",
        Some(Command::Demo(_)) => {
            "`demo` is the TUI (or, with --headless, a narration for people); script \
             `kingest emulator --json` and the commands instead"
        }
        Some(Command::Completions { .. }) => "a completion script is shell code, not data",
        Some(_) => return Ok(()),
    };
    Err(Failure::usage(format!("--json is not offered here: {why}")))
}

/// Headless commands log warnings to stderr (-v info, -vv debug, -q errors only; RUST_LOG,
/// when set, chooses instead), and say what they wait for when a wait gets long
/// (`client::deadline`'s notices, as plain lines; none with --quiet). Both writers sanitise and
/// redact every line.
fn headless_logs(common: &args::Common) {
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let wait = crate::client::deadline::WAIT_TARGET;
    // -v raises kingest's own events only: HTTP libraries' debug lines are noise here.
    let level = match (common.quiet, common.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "warn,kingest=info",
        (false, _) => "warn,kingest=debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| level.into())
        .add_directive(
            format!("{wait}=off")
                .parse()
                .unwrap_or_else(|_| tracing::Level::WARN.into()),
        );
    let logs = tracing_subscriber::fmt::layer()
        .with_writer(crate::runtime::logging::Sanitized(std::io::stderr))
        .with_filter(filter);
    let _ = tracing_subscriber::registry()
        .with(logs)
        .with((!common.quiet).then(crate::runtime::logging::wait_notices))
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::tracking::TrackState;

    #[test]
    fn a_skip_is_a_success_only_when_the_post_asked_for_it() {
        let skipped = |asked: bool| {
            let mut t =
                Tracker::posted("s", None, true, chrono::Utc::now()).with_if_not_exists(asked);
            t.state = TrackState::Skipped;
            t
        };
        assert_eq!(source_exit_code(&skipped(true), true), EXIT_OK);
        assert_eq!(
            source_exit_code(&skipped(false), true),
            EXIT_INGESTION_FAILED
        );
        let pending = Tracker::posted("s", None, true, chrono::Utc::now());
        assert_eq!(source_exit_code(&pending, true), EXIT_GAVE_UP);
        assert_eq!(source_exit_code(&pending, false), EXIT_OK);
    }
}
