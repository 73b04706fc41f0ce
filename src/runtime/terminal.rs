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
