//! The real binary in a real terminal: `kingest demo` under tmux, keys in, screen text out.
//! Needs tmux (`.ci/run` installs it); prints SKIP without it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;
use std::time::{Duration, Instant};

struct Session {
    name: String,
}

impl Session {
    fn start(cols: u16, rows: u16, cmd: &str) -> Session {
        let name = format!("kingest-test-{}-{}", std::process::id(), cols);
        let ok = Command::new("tmux")
            .args([
                "new-session",
                "-d",
                "-s",
                &name,
                "-x",
                &cols.to_string(),
                "-y",
                &rows.to_string(),
                cmd,
            ])
            .status()
            .expect("tmux runs")
            .success();
        assert!(ok, "tmux new-session failed");
        let _ = Command::new("tmux")
            .args(["set-option", "-t", &name, "remain-on-exit", "on"])
            .status();
        Session { name }
    }

    fn screen(&self) -> String {
        self.capture(&[])
    }

    /// The screen plus up to 200 lines of scrollback.
    fn history(&self) -> String {
        self.capture(&["-S", "-200"])
    }

    fn capture(&self, extra: &[&str]) -> String {
        let mut args = vec!["capture-pane", "-p", "-t", self.name.as_str()];
        args.extend_from_slice(extra);
        let out = Command::new("tmux")
            .args(&args)
            .output()
            .expect("capture-pane");
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", self.name.as_str()];
        args.extend_from_slice(keys);
        assert!(
            Command::new("tmux")
                .args(&args)
                .status()
                .expect("send-keys")
                .success()
        );
    }

    /// Waits (bounded) until `pred` holds for the screen; returns the last screen either way.
    fn wait_for(&self, what: &str, limit: Duration, pred: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if pred(&s) {
                return s;
            }
            if start.elapsed() > limit {
                panic!("timed out waiting for {what}; screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn dead(&self) -> bool {
        let out = Command::new("tmux")
            .args(["display-message", "-p", "-t", &self.name, "#{pane_dead}"])
            .output()
            .expect("display-message");
        String::from_utf8_lossy(&out.stdout).trim() == "1"
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.name])
            .status();
    }
}

fn tmux_available() -> bool {
    let ok = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        if std::env::var("KINGEST_REQUIRE_PEERS").is_ok_and(|v| v == "1") {
            panic!("tmux is not installed but KINGEST_REQUIRE_PEERS=1");
        }
        println!("SKIP tmux end-to-end: tmux not installed");
    }
    ok
}

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
        t.contains("ingest queue") && t.contains("tempstorage")
    });
    assert!(!screen.contains("sig="), "no SAS on screen");
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
    for _ in 0..4 {
        if s.screen().contains("┏ Failures") {
            break;
        }
        s.keys(&["Tab"]);
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(
        s.screen().contains("┏ Failures"),
        "the failures pane takes focus:\n{}",
        s.screen()
    );
    s.keys(&["f"]);
    s.wait_for("the frozen badge", Duration::from_secs(10), |t| {
        t.contains("FROZEN")
    });
    s.keys(&["Enter"]);
    let detail = s.wait_for("the detail view", Duration::from_secs(10), |t| {
        t.contains("What to do")
    });
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
