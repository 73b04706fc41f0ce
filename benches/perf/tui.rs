//! The real TUI binary in a pseudo-terminal (a private tmux server, 200×50) against a separate
//! emulator, for the cases that measure it from outside (P4 idle cost, P5 latency, P7
//! start-up): its screen, its pid, its log, and the emulator's counters.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

/// What the TUI logs: the first frame (debug) and every frame (trace) of the event loop.
const LOG_FILTER: &str = "info,kingest::runtime::event_loop=trace";

pub struct Tui {
    socket: String,
    pub pid: u32,
    pub log: PathBuf,
    /// Just before tmux was asked to start it.
    pub spawned: SystemTime,
}

impl Tui {
    /// Starts `kingest` (the TUI) with its own HOME under `home`, `config` as its config file
    /// and `url` as its cluster.
    pub fn start(home: &Path, url: &str, config: &str) -> Result<Tui, String> {
        let conf_dir = home.join("kingest");
        std::fs::create_dir_all(&conf_dir).map_err(|e| e.to_string())?;
        std::fs::write(conf_dir.join("config.toml"), config).map_err(|e| e.to_string())?;
        let h = home.display();
        let cmd = format!(
            "exec env -u KINGEST_CONFIG -u KINGEST_TOKEN HOME={h} XDG_CONFIG_HOME={h} \
             XDG_DATA_HOME={h}/data KINGEST_INGEST_URL={url} KINGEST_LOG={LOG_FILTER} \
             TERM=xterm-256color {bin}",
            bin = super::procs::kingest_bin().display(),
        );
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let socket = format!("kingest-perf-{}-{n}", std::process::id());
        let session = |name: &str, cmd: &str| {
            Command::new("tmux")
                .args([
                    "-L",
                    &socket,
                    "-f",
                    "/dev/null",
                    "new-session",
                    "-d",
                    "-s",
                    name,
                ])
                .args(["-x", "200", "-y", "50", cmd])
                .status()
                .map_err(|e| format!("tmux: {e}"))?
                .success()
                .then_some(())
                .ok_or_else(|| "tmux new-session failed".to_string())
        };
        // The server is up before the clock starts: start-up is kingest's, not tmux's.
        session("hold", "exec sleep 86400")?;
        let spawned = SystemTime::now();
        session("main", &cmd)?;
        let mut tui = Tui {
            socket,
            pid: 0,
            log: home.join("data/kingest/kingest.log"),
            spawned,
        };
        tui.tmux(&["set-option", "-t", "main", "remain-on-exit", "on"]);
        let pid = tui.tmux(&["display-message", "-p", "-t", "main", "#{pane_pid}"]);
        tui.pid = pid
            .trim()
            .parse()
            .map_err(|_| format!("no pane pid: {pid:?}"))?;
        Ok(tui)
    }

    fn tmux(&self, args: &[&str]) -> String {
        Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }

    pub fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-t", "main"])
    }

    /// Keys as tmux names them (`Enter`, `Escape`), or literal text with `-l` first.
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "main"];
        args.extend_from_slice(keys);
        self.tmux(&args);
    }

    /// Polls the screen every `every` until `pred` holds; the time it took.
    pub fn wait_for(
        &self,
        what: &str,
        limit: Duration,
        every: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> Result<Duration, String> {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if pred(&s) {
                return Ok(start.elapsed());
            }
            if start.elapsed() > limit {
                return Err(format!("no {what} within {limit:?}; screen:\n{s}"));
            }
            std::thread::sleep(every);
        }
    }

    /// When the log says the first frame was drawn (waits up to `limit` for the line).
    pub fn first_frame_at(&self, limit: Duration) -> Result<SystemTime, String> {
        let start = Instant::now();
        loop {
            if let Some(t) = self.log_times("first frame drawn").first() {
                return Ok(*t);
            }
            if start.elapsed() > limit {
                return Err(format!("no 'first frame drawn' in {}", self.log.display()));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Frames drawn so far, by the log.
    pub fn frames(&self) -> usize {
        self.log_times("frame drawn frames=").len()
    }

    /// Timestamps of the log lines containing `text`.
    fn log_times(&self, text: &str) -> Vec<SystemTime> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains(text))
            .filter_map(|l| l.split_whitespace().next())
            .filter_map(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(SystemTime::from)
            .collect()
    }
}

impl Drop for Tui {
    fn drop(&mut self) {
        self.tmux(&["kill-server"]);
    }
}

/// Context switches of every thread of `pid` so far: how often it woke up.
pub fn wakeups(pid: u32) -> Option<u64> {
    let mut total = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        let status = std::fs::read_to_string(task.ok()?.path().join("status")).ok()?;
        for l in status.lines() {
            if let Some(v) = l
                .strip_prefix("voluntary_ctxt_switches:")
                .or_else(|| l.strip_prefix("nonvoluntary_ctxt_switches:"))
            {
                total += v.trim().parse::<u64>().ok()?;
            }
        }
    }
    Some(total)
}

/// The emulator's counters of client requests (GET /metrics): storage requests by (resource,
/// operation), and mgmt commands by name.
#[derive(Debug, Default, Clone)]
pub struct Counters {
    pub storage: BTreeMap<(String, String), u64>,
    pub commands: BTreeMap<String, u64>,
}

impl Counters {
    pub fn read(rt: &tokio::runtime::Runtime, url: &str) -> Result<Counters, String> {
        let text = rt
            .block_on(async { reqwest::get(format!("{url}/metrics")).await?.text().await })
            .map_err(|e| format!("GET /metrics: {e}"))?;
        let mut c = Counters::default();
        for line in text.lines().filter(|l| l.contains("origin=\"client\"")) {
            let Some((head, value)) = line.rsplit_once(' ') else {
                continue;
            };
            let Ok(value) = value.parse::<u64>() else {
                continue;
            };
            let label = |k: &str| {
                let start = head.find(&format!("{k}=\""))? + k.len() + 2;
                let len = head[start..].find('"')?;
                Some(head[start..start + len].to_string())
            };
            if head.starts_with("kingest_emulator_storage_requests_total{") {
                if let (Some(r), Some(o)) = (label("resource"), label("operation")) {
                    c.storage.insert((r, o), value);
                }
            } else if head.starts_with("kingest_emulator_mgmt_commands_total{")
                && let Some(cmd) = label("command")
            {
                c.commands.insert(cmd, value);
            }
        }
        Ok(c)
    }

    /// Storage requests per resource since `before`.
    pub fn per_resource_since(&self, before: &Counters) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for ((r, o), v) in &self.storage {
            let was = before
                .storage
                .get(&(r.clone(), o.clone()))
                .copied()
                .unwrap_or(0);
            *out.entry(r.clone()).or_default() += v - was.min(*v);
        }
        out
    }

    pub fn count(&self, resource: &str, operation: &str) -> u64 {
        self.storage
            .get(&(resource.to_string(), operation.to_string()))
            .copied()
            .unwrap_or(0)
    }

    pub fn command(&self, name: &str) -> u64 {
        self.commands.get(name).copied().unwrap_or(0)
    }
}

/// Posts one failure notification of "another client" into the emulator's failure queue
/// (`.emulate other clients notifications 0 1`).
pub fn post_failure(rt: &tokio::runtime::Runtime, url: &str) -> Result<(), String> {
    let body = serde_json::json!({"db": "NetDefaultDB", "csl": ".emulate other clients notifications 0 1"});
    let status = rt
        .block_on(async {
            reqwest::Client::new()
                .post(format!("{url}/v1/rest/mgmt"))
                .json(&body)
                .send()
                .await
        })
        .map_err(|e| format!("posting a notification: {e}"))?
        .status();
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("posting a notification: HTTP {status}"))
    }
}

/// The number after `title ` on the screen (e.g. `Failures 3 ·`).
pub fn count_after(screen: &str, title: &str) -> Option<usize> {
    let i = screen.find(&format!("{title} "))? + title.len() + 1;
    let digits: String = screen[i..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// A tokio runtime for the few HTTP calls a case makes.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// The demo schema as a file, for an emulator started with `--schema`, and the demo files.
pub fn demo_files(dir: &Path) -> Result<PathBuf, String> {
    let schema = dir.join("schema.kql");
    std::fs::write(&schema, kingest::demo::DEMO_SCHEMA).map_err(|e| e.to_string())?;
    kingest::demo::write_demo_files(dir).map_err(|e| e.to_string())?;
    Ok(schema)
}

/// Submits `file` to demo.Events from the TUI's dialog (the config names the database and
/// table); waits until the dialog is gone.
pub fn submit(tui: &Tui, file: &Path) -> Result<(), String> {
    tui.keys(&["s"]);
    tui.wait_for(
        "the submit dialog",
        Duration::from_secs(10),
        Duration::from_millis(20),
        |s| s.contains("Events"),
    )?;
    tui.keys(&["-l", &file.display().to_string()]);
    tui.keys(&["Enter"]);
    Ok(())
}

pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        f64::NAN
    } else {
        v[v.len() / 2]
    }
}
