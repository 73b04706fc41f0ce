//! Taking and giving back the terminal, also on panic.

use std::io::{self, Stdout};
use std::sync::atomic::{AtomicBool, Ordering};

use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

pub type Tty = Terminal<CrosstermBackend<Stdout>>;

/// Why the TUI cannot run here at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoTui {
    /// stdout (or stdin) is a file or a pipe: frames would land in the file, and keys would
    /// never arrive.
    NotATerminal,
}

impl NoTui {
    pub fn message(self) -> &'static str {
        match self {
            NoTui::NotATerminal => {
                "the TUI needs a terminal on stdin and stdout; without one use the headless \
                 commands: `kingest resources`, `kingest submit`, `kingest status`, \
                 `kingest failures peek` (see `kingest --help`)"
            }
        }
    }
}

/// How the interactive view can draw on this process's ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capability {
    /// A terminal that addresses the cursor: the full-screen TUI.
    FullScreen,
    /// A terminal, but `TERM` is `dumb`, empty or unset (Emacs' shell, a serial console): no
    /// cursor addressing, so plain lines without a single escape byte.
    LineMode,
    /// No terminal: refuse (exit 2) before writing anything.
    Refuse(NoTui),
}

/// The line the line mode starts with, saying why it is not the full-screen UI.
pub const LINE_MODE_NOTICE: &str = "kingest: TERM is dumb or unset: the full-screen UI needs \
     cursor addressing; showing a line-mode view (Ctrl-C or q+Enter to quit)";

/// The one decision about the terminal, taken before it is touched (no raw mode, no escape
/// written): both ends a terminal, then `TERM` picks full screen or line mode.
pub fn capability(stdin_tty: bool, stdout_tty: bool, term: Option<&str>) -> Capability {
    if !(stdin_tty && stdout_tty) {
        return Capability::Refuse(NoTui::NotATerminal);
    }
    // Windows consoles have no TERM and draw fine.
    if cfg!(windows) {
        return Capability::FullScreen;
    }
    match term.map(str::trim) {
        None | Some("") | Some("dumb") => Capability::LineMode,
        Some(_) => Capability::FullScreen,
    }
}

/// [`capability`] of this process.
pub fn check() -> Capability {
    use std::io::IsTerminal as _;
    let term = std::env::var("TERM").ok();
    capability(
        io::stdin().is_terminal(),
        io::stdout().is_terminal(),
        term.as_deref(),
    )
}

/// Whether `init` captured the mouse: the terminal is one per process, and every way out
/// (`restore` on exit, error, panic, suspend) must release what was taken.
static MOUSE: AtomicBool = AtomicBool::new(false);

/// Raw mode, alternate screen, bracketed paste, and mouse capture when `mouse` (`--mouse`);
/// installs the panic hook first.
pub fn init(mouse: bool) -> io::Result<Tty> {
    install_panic_hook();
    MOUSE.store(mouse, Ordering::SeqCst);
    enter()?;
    Terminal::new(CrosstermBackend::new(io::stdout()))
}

/// Takes the terminal as `init` left it configured (again after a suspend).
fn enter() -> io::Result<()> {
    enable_raw_mode()?;
    let mut out = io::stdout();
    let mut taken = execute!(out, EnterAlternateScreen, EnableBracketedPaste);
    if taken.is_ok() && MOUSE.load(Ordering::SeqCst) {
        taken = execute!(out, EnableMouseCapture);
    }
    if let Err(e) = taken {
        let _ = restore();
        return Err(e);
    }
    Ok(())
}

/// Undo `init`; safe to call more than once.
pub fn restore() -> io::Result<()> {
    let raw = disable_raw_mode();
    let mut out = io::stdout();
    let mouse = if MOUSE.load(Ordering::SeqCst) {
        execute!(out, DisableMouseCapture)
    } else {
        Ok(())
    };
    let screen = execute!(
        out,
        DisableBracketedPaste,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
    raw.and(mouse).and(screen)
}

/// Where the event loop draws, and what Ctrl-Z does to it.
pub trait Suspend {
    /// Gives the terminal back, stops the process until the shell continues it (`fg`), then
    /// takes the terminal again. The caller redraws everything afterwards. A headless
    /// backend (tests) has no process to stop: by default the loop only redraws.
    fn suspend(&mut self) -> io::Result<()> {
        Ok(())
    }

    /// Writes bytes that are no frame (the OSC 52 clipboard sequence) straight to the
    /// terminal. A headless backend has none: dropped.
    fn write_raw(&mut self, _bytes: &[u8]) -> io::Result<()> {
        Ok(())
    }
}

impl<W: io::Write> Suspend for CrosstermBackend<W> {
    fn suspend(&mut self) -> io::Result<()> {
        restore()?;
        stop_process()?;
        enter()
    }

    fn write_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        io::Write::write_all(self, bytes)?;
        io::Write::flush(self)
    }
}

impl Suspend for ratatui::backend::TestBackend {}

/// SIGTSTP with its default action (stop): `raise` returns once SIGCONT arrives. Nothing in
/// the process handles SIGTSTP (crossterm only watches SIGWINCH), so the default applies.
#[cfg(unix)]
fn stop_process() -> io::Result<()> {
    signal_hook::low_level::raise(signal_hook::consts::SIGTSTP)
}

/// No job control outside unix: the terminal is given back and taken again at once.
#[cfg(not(unix))]
fn stop_process() -> io::Result<()> {
    Ok(())
}

/// Restores the terminal before the previous hook prints the panic, so it is readable. Only a
/// panic of the thread that runs the event loop ends the UI: a panicking background task is
/// caught by tokio, and restoring the terminal under a running UI would leave it garbled.
pub fn install_panic_hook() {
    let previous = std::panic::take_hook();
    let ui_thread = std::thread::current().id();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().id() == ui_thread {
            let _ = restore();
            previous(info);
        } else {
            tracing::error!(
                "a background task panicked: {}",
                crate::sanitize::panic_report(info)
            );
        }
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_terminal_ends_and_term_pick_full_screen_line_mode_or_refusal() {
        let refuse = Capability::Refuse(NoTui::NotATerminal);
        let xterm = Some("xterm-256color");
        assert_eq!(capability(true, true, xterm), Capability::FullScreen);
        assert_eq!(capability(true, false, xterm), refuse);
        assert_eq!(capability(false, true, xterm), refuse);
        // Not a terminal wins over a dumb TERM: nothing is written into a file or pipe.
        for term in [Some("dumb"), None] {
            assert_eq!(capability(false, false, term), refuse);
            assert_eq!(capability(true, false, term), refuse);
        }
        if !cfg!(windows) {
            for term in [Some("dumb"), Some(""), Some(" dumb "), None] {
                assert_eq!(
                    capability(true, true, term),
                    Capability::LineMode,
                    "{term:?}"
                );
            }
        }
        assert_eq!(
            capability(true, true, Some("linux")),
            Capability::FullScreen
        );
        assert!(
            NoTui::NotATerminal
                .message()
                .contains("kingest failures peek")
        );
        assert!(LINE_MODE_NOTICE.contains("cursor addressing"));
        assert!(!LINE_MODE_NOTICE.bytes().any(|b| b < 0x20));
    }
}
