//! Taking and giving back the terminal, also on panic.

use std::io::{self, Stdout};

use crossterm::event::{DisableBracketedPaste, EnableBracketedPaste};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

pub type Tty = Terminal<CrosstermBackend<Stdout>>;

/// Why the TUI cannot run here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoTui {
    /// stdout (or stdin) is a file or a pipe: frames would land in the file, and keys would
    /// never arrive.
    NotATerminal,
    /// `TERM` is `dumb` or unset: no cursor addressing, so no full-screen UI (Emacs' shell, a
    /// CI log, a serial console).
    DumbTerminal,
}

impl NoTui {
    pub fn message(self) -> &'static str {
        match self {
            NoTui::NotATerminal => {
                "the TUI needs a terminal on stdin and stdout; without one use the headless \
                 commands: `kingest resources`, `kingest submit`, `kingest status`, \
                 `kingest failures peek` (see `kingest --help`)"
            }
            NoTui::DumbTerminal => {
                "TERM is dumb or unset, so this terminal cannot draw the TUI; set TERM (e.g. \
                 TERM=xterm-256color) or use the headless commands: `kingest resources`, \
                 `kingest submit`, `kingest status`, `kingest failures peek` (see `kingest --help`)"
            }
        }
    }
}

/// Whether the TUI can start: both ends a terminal and a `TERM` that can address the cursor.
/// Decided before the terminal is touched (no raw mode, no escape written).
pub fn capability(stdin_tty: bool, stdout_tty: bool, term: Option<&str>) -> Result<(), NoTui> {
    if !(stdin_tty && stdout_tty) {
        return Err(NoTui::NotATerminal);
    }
    // Windows consoles have no TERM and draw fine.
    if cfg!(windows) {
        return Ok(());
    }
    match term.map(str::trim) {
        None | Some("") | Some("dumb") => Err(NoTui::DumbTerminal),
        Some(_) => Ok(()),
    }
}

/// [`capability`] of this process.
pub fn check() -> Result<(), NoTui> {
    use std::io::IsTerminal as _;
    let term = std::env::var("TERM").ok();
    capability(
        io::stdin().is_terminal(),
        io::stdout().is_terminal(),
        term.as_deref(),
    )
}

/// Raw mode, alternate screen, bracketed paste; installs the panic hook first.
pub fn init() -> io::Result<Tty> {
    install_panic_hook();
    enable_raw_mode()?;
    let mut out = io::stdout();
    if let Err(e) = execute!(out, EnterAlternateScreen, EnableBracketedPaste) {
        let _ = restore();
        return Err(e);
    }
    Terminal::new(CrosstermBackend::new(out))
}

/// Undo `init`; safe to call more than once.
pub fn restore() -> io::Result<()> {
    let raw = disable_raw_mode();
    let screen = execute!(
        io::stdout(),
        DisableBracketedPaste,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
    raw.and(screen)
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
    fn the_tui_needs_two_terminal_ends_and_a_real_term() {
        let xterm = Some("xterm-256color");
        assert_eq!(capability(true, true, xterm), Ok(()));
        assert_eq!(capability(true, false, xterm), Err(NoTui::NotATerminal));
        assert_eq!(capability(false, true, xterm), Err(NoTui::NotATerminal));
        assert_eq!(
            capability(false, false, Some("dumb")),
            Err(NoTui::NotATerminal)
        );
        if !cfg!(windows) {
            for term in [Some("dumb"), Some(""), Some(" dumb "), None] {
                assert_eq!(
                    capability(true, true, term),
                    Err(NoTui::DumbTerminal),
                    "{term:?}"
                );
            }
        }
        assert_eq!(capability(true, true, Some("linux")), Ok(()));
        for e in [NoTui::NotATerminal, NoTui::DumbTerminal] {
            assert!(e.message().contains("kingest failures peek"));
        }
    }
}
