//! Measuring other processes (the kingest binary, the emulator, baselines) through /proc, and
//! starting a separate `kingest emulator` on loopback.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The kingest binary of this build (release under `cargo bench`, debug under `cargo test`),
/// or the one `KINGEST_BIN` names (a release build measured from a debug test).
pub fn kingest_bin() -> PathBuf {
    std::env::var_os("KINGEST_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_kingest")))
}

/// A kingest command with its own HOME and config folders, so nothing of the user's is read;
/// `url` (an emulator's) as its cluster when given.
pub fn kingest(home: &Path, url: Option<&str>) -> Command {
    let mut c = Command::new(kingest_bin());
    c.env("HOME", home)
        .env("XDG_CONFIG_HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env_remove("KINGEST_CONFIG")
        .env_remove("KINGEST_TOKEN")
        .env_remove("KINGEST_INGEST_URL");
    if let Some(url) = url {
        c.env("KINGEST_INGEST_URL", url);
    }
    c
}

/// Peak resident set (VmHWM) of a live process, in KiB.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    status_field(pid, "VmHWM:")
}

/// Current resident set (VmRSS) of a live process, in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    status_field(pid, "VmRSS:")
}

fn status_field(pid: u32, field: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with(field))?;
    line[field.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// CPU seconds (user + system) a live process has used.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name, which may itself hold spaces.
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / clock_ticks_per_second())
}

fn clock_ticks_per_second() -> f64 {
    // sysconf(_SC_CLK_TCK) without unsafe code: `getconf` answers it, 100 on Linux.
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// Runs `cmd` to completion, sampling its peak RSS until it exits: (exit status, peak KiB,
/// wall seconds). VmHWM only grows, so the last sample before exit is the peak but for
/// what the final ~5 ms allocated.
pub fn run_measured(cmd: &mut Command) -> std::io::Result<(std::process::ExitStatus, u64, f64)> {
    let start = std::time::Instant::now();
    let mut child = cmd.spawn()?;
    let mut peak = 0;
    loop {
        if let Some(k) = peak_rss_kib(child.id()) {
            peak = peak.max(k);
        }
        if let Some(status) = child.try_wait()? {
            return Ok((status, peak, start.elapsed().as_secs_f64()));
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// A `kingest emulator` process on 127.0.0.1:0, killed when dropped.
pub struct EmulatorProcess {
    pub child: Child,
    pub url: String,
}

impl EmulatorProcess {
    /// Starts `kingest emulator` with `args` (after `--listen 127.0.0.1:0`) and waits for the
    /// URL it prints first.
    pub fn start(home: &Path, args: &[&str]) -> EmulatorProcess {
        let mut child = kingest(home, None)
            .args(["emulator", "--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("kingest emulator starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("emulator URL");
        EmulatorProcess {
            child,
            url: line.trim().to_string(),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for EmulatorProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
