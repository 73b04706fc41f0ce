//! The real binary in a real terminal: `kingest demo` under tmux, keys in, screen text out.
//! Needs tmux (`.ci/run` installs it); prints SKIP without it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::tmux::{Session, tmux_available};

#[test]
fn demo_in_a_real_terminal() {
    if !tmux_available() {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let cmd = format!(
        "env HOME={h} XDG_DATA_HOME={h}/data XDG_CONFIG_HOME={h}/config TERM=xterm-256color {bin} demo",
        h = home.path().display(),
        bin = env!("CARGO_BIN_EXE_kingest"),
    );
    let s = Session::start(120, 40, &cmd);
    // All four panes with live data: resources listed, then notifications in both streams.
    s.wait_for("the four panes", Duration::from_secs(30), |t| {
        t.contains("Resources")
            && t.contains("Submissions")
            && t.contains("Failures")
            && t.contains("Successes")
    });
    let screen = s.wait_for("the resources", Duration::from_secs(30), |t| {
        t.contains("readyforaggregation-secured") && t.contains("tempstorage")
    });
    assert!(!screen.contains("sig="), "no SAS on screen");
    assert!(
        !s.mouse_reporting(),
        "without --mouse the terminal keeps the mouse"
    );
    // The demo's own traffic goes through the submissions model: its rows are listed with
    // their outcome (the streams show ErrorCodes, never the word Failed).
    s.wait_for(
        "a demo submission row in the Submissions pane",
        Duration::from_secs(60),
        |t| {
            !t.contains("No submissions yet")
                && t.lines()
                    .any(|l| l.contains("bad-wrong") && l.contains("Failed"))
        },
    );
    s.wait_for(
        "a failure and a success notification",
        Duration::from_secs(60),
        |t| t.contains("Stream_WrongNumberOf") && t.contains("events.csv"),
    );

    // Help overlay lists the bindings; Esc closes it.
    s.keys(&["?"]);
    let help = s.wait_for("the help overlay", Duration::from_secs(10), |t| {
        t.contains("discard")
    });
    assert!(help.contains("filter"), "{help}");
    s.keys(&["Escape"]);
    s.wait_for("help closed", Duration::from_secs(10), |t| {
        !t.contains("close help")
    });

    // Submit a demo file: the dialog starts in the demo folder with demo.Events filled in.
    s.keys(&["s"]);
    s.wait_for("the submit dialog", Duration::from_secs(10), |t| {
        t.contains("Events") && t.contains("demo/files-")
    });
    s.keys(&["-l", "events.csv"]);
    s.keys(&["Enter"]);
    s.wait_for("our submission to succeed", Duration::from_secs(60), |t| {
        t.lines()
            .any(|l| l.contains("events.cs") && l.contains("Succeeded"))
    });

    // Focus the failures stream, open the newest failure, then discard it with confirmation.
    s.focus("Failures");
    s.press(&["f"], "the frozen badge", |t| t.contains("FROZEN"));
    let detail = s.press(&["Enter"], "the detail view", |t| t.contains("What to do"));
    assert!(
        detail.contains("ErrorCode") && detail.contains("permanent"),
        "{detail}"
    );
    s.keys(&["Escape"]);
    // Wait for the view to close first: an ESC and a key that reach the terminal together
    // read as Alt+key (seen once on a loaded machine).
    s.wait_for("the detail view to close", Duration::from_secs(10), |t| {
        !t.contains("What to do")
    });
    s.keys(&["d"]);
    let confirm = s.wait_for("the confirm dialog", Duration::from_secs(10), |t| {
        t.contains("archive")
    });
    assert!(
        confirm.contains("discarded-failure-"),
        "the confirm dialog names the archive file:\n{confirm}"
    );
    s.keys(&["y"]);
    s.wait_for("the discard report", Duration::from_secs(30), |t| {
        t.contains("discarded 1")
    });
    let archive_dir = home.path().join("data/kingest/demo/archive");
    let archived: usize = std::fs::read_dir(&archive_dir)
        .unwrap_or_else(|e| panic!("no archive in {}: {e}", archive_dir.display()))
        .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
        .map(|t| t.lines().count())
        .sum();
    assert_eq!(archived, 1, "one notification archived");

    // Too small a terminal shows a clear message, and growing back restores the panes.
    let _ = Command::new("tmux")
        .args(["resize-window", "-t", &s.name, "-x", "50", "-y", "12"])
        .status();
    s.wait_for("the too-small screen", Duration::from_secs(10), |t| {
        t.to_lowercase().contains("too small")
    });
    let _ = Command::new("tmux")
        .args(["resize-window", "-t", &s.name, "-x", "120", "-y", "40"])
        .status();
    s.wait_for("the panes again", Duration::from_secs(10), |t| {
        t.contains("Submissions")
    });

    // q quits, restores the terminal and prints where the logs are.
    s.keys(&["q"]);
    let start = Instant::now();
    while !s.dead() {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "kingest did not exit on q:\n{}",
            s.screen()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // The line may have scrolled into history, and tmux may notice the exit before it has read
    // the last output: look in the scrollback, bounded.
    let start = Instant::now();
    while !s.history().contains("kingest: logs in ") {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the log path is printed on exit:\n{}",
            s.history()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Ctrl-Z gives the terminal back to the shell, which reports the job stopped; `fg` brings
/// the TUI back, repainted, with the mouse captured again (`--mouse`: an SGR click focuses
/// the pane under it, before and after the suspend).
#[test]
fn ctrl_z_suspends_to_the_shell_and_fg_resumes_with_the_mouse() {
    if !tmux_available() {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    // 121 columns: still the grid, and a session name apart from the demo test's (the name
    // carries the width).
    let s = Session::start(121, 40, "env PS1='shell$ ' bash --norc --noprofile -i");
    s.wait_for("the shell prompt", Duration::from_secs(10), |t| {
        t.contains("shell$")
    });
    let cmd = format!(
        "env HOME={h} XDG_DATA_HOME={h}/data XDG_CONFIG_HOME={h}/config TERM=xterm-256color {bin} demo --mouse",
        h = home.path().display(),
        bin = env!("CARGO_BIN_EXE_kingest"),
    );
    s.keys(&["-l", &cmd]);
    s.keys(&["Enter"]);
    let panes = |t: &str| t.contains("Resources") && t.contains("Successes");
    s.wait_for("the TUI", Duration::from_secs(30), panes);
    let mouse_on = || s.mouse_reporting();
    assert!(mouse_on(), "--mouse captures the mouse");
    let focused = |t: &str, pane: &str| t.contains(&format!("┏ {pane}"));
    // A left click (SGR: button 0 at column 5, row 30, 1-based) on the failures pane.
    let click = [
        "-H", "1b", "5b", "3c", "30", "3b", "35", "3b", "33", "30", "4d",
    ];
    s.keys(&click);
    s.wait_for(
        "the click to focus Failures",
        Duration::from_secs(10),
        |t| focused(t, "Failures"),
    );
    s.focus("Submissions");

    s.keys(&["C-z"]);
    s.wait_for(
        "the shell's job-control report",
        Duration::from_secs(10),
        |t| t.contains("Stopped") && !panes(t),
    );
    assert!(
        !mouse_on(),
        "the shell gets the mouse back while the TUI is stopped"
    );
    s.keys(&["-l", "fg"]);
    s.keys(&["Enter"]);
    s.wait_for("the TUI repainted", Duration::from_secs(10), |t| {
        panes(t) && !t.contains("Stopped") && focused(t, "Submissions")
    });
    assert!(mouse_on(), "captured again after fg");
    s.keys(&click);
    s.wait_for("a click after resuming", Duration::from_secs(10), |t| {
        focused(t, "Failures")
    });
    s.keys(&["q"]);
    s.wait_for("the shell again", Duration::from_secs(10), |t| {
        !panes(t) && t.contains("shell$")
    });
    assert!(!mouse_on(), "released on exit");
}
