//! The real binary in a real terminal under tmux: a session of a given size running a
//! command, keys in, screen text (or its SGR colours) out.

use std::process::Command;
use std::time::{Duration, Instant};

pub struct Session {
    pub name: String,
}

impl Session {
    pub fn start(cols: u16, rows: u16, cmd: &str) -> Session {
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

    pub fn screen(&self) -> String {
        self.capture(&[])
    }

    /// The screen with its colours and attributes as SGR escape sequences.
    pub fn screen_ansi(&self) -> String {
        self.capture(&["-e"])
    }

    /// The screen plus up to 200 lines of scrollback.
    pub fn history(&self) -> String {
        self.capture(&["-S", "-200"])
    }

    pub fn capture(&self, extra: &[&str]) -> String {
        let mut args = vec!["capture-pane", "-p", "-t", self.name.as_str()];
        args.extend_from_slice(extra);
        let out = Command::new("tmux")
            .args(&args)
            .output()
            .expect("capture-pane");
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    pub fn keys(&self, keys: &[&str]) {
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
    pub fn wait_for(&self, what: &str, limit: Duration, pred: impl Fn(&str) -> bool) -> String {
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

    /// Sends `keys`, then waits (10 s at most) for the screen they lead to.
    pub fn press(&self, keys: &[&str], what: &str, pred: impl Fn(&str) -> bool) -> String {
        self.keys(keys);
        self.wait_for(what, Duration::from_secs(10), pred)
    }

    /// Tab until `pane` has the focus (its thick border), waiting for each move.
    pub fn focus(&self, pane: &str) {
        let focused = |t: &str| {
            t.split("┏ ")
                .nth(1)
                .and_then(|r| r.split_whitespace().next())
                .map(str::to_string)
        };
        for _ in 0..6 {
            let now = focused(&self.screen());
            if now.as_deref() == Some(pane) {
                return;
            }
            self.press(&["Tab"], "the focus to move", |t| focused(t) != now);
        }
        panic!("{pane} never took the focus:\n{}", self.screen());
    }

    /// Whether the program in the pane asked the terminal for mouse reports (tmux tracks it).
    pub fn mouse_reporting(&self) -> bool {
        let out = Command::new("tmux")
            .args([
                "display-message",
                "-p",
                "-t",
                &self.name,
                "#{mouse_any_flag}",
            ])
            .output()
            .expect("display-message");
        String::from_utf8_lossy(&out.stdout).trim() == "1"
    }

    pub fn dead(&self) -> bool {
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

pub fn tmux_available() -> bool {
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
