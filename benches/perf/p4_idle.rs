//! P4: the TUI left idle against a separately started emulator, no traffic: its CPU (by
//! /proc/PID/stat), its wakeups and frames, and the storage calls per minute per queue the
//! emulator counted. Start-up's resource commands (single flight) and how soon polling speeds
//! up when a submission starts are measured on the same TUI. The baseline, run beside it
//! against its own emulator, is the same binary with the polling schedule kingest had before
//! (peeks every 10 s backing off to 120 s, depths every 30 s).

use std::path::Path;
use std::time::{Duration, Instant};

use crate::procs::{EmulatorProcess, cpu_seconds};
use crate::report::{Figure, Opts};
use crate::tui::{Counters, Tui, demo_files, runtime, submit, wakeups};

const OURS: &str = "database = \"demo\"\ntable = \"Events\"\n";
const BEFORE: &str = "database = \"demo\"\ntable = \"Events\"\n[poll]\npeek_idle_secs = 10\n\
                      peek_max_secs = 120\npeek_busy_secs = 5\ndepths_secs = 30\ndepths_max_secs = 30\n";

pub fn run(opts: &Opts) -> Vec<Figure> {
    match measure(opts) {
        Ok(f) => f,
        Err(e) => vec![Figure::new("P4", "TUI idle against a separate emulator").failed(e)],
    }
}

/// One TUI and its emulator, settled after start-up.
struct Rig {
    emulator: EmulatorProcess,
    tui: Tui,
    startup: Counters,
}

fn rig(dir: &Path, name: &str, schema: &Path, config: &str) -> Result<Rig, String> {
    let rt = runtime();
    let emulator = EmulatorProcess::start(
        &dir.join(format!("{name}-emulator")),
        &["--schema", &schema.display().to_string()],
    );
    let tui = Tui::start(&dir.join(format!("{name}-tui")), &emulator.url, config)?;
    tui.wait_for(
        "the resources with their depths",
        Duration::from_secs(60),
        Duration::from_millis(50),
        |s| s.contains("failedingestions") && s.contains("~0") && s.contains("Failures 0"),
    )?;
    let startup = Counters::read(&rt, &emulator.url)?;
    Ok(Rig {
        emulator,
        tui,
        startup,
    })
}

/// What one idle window cost.
struct Idle {
    cpu_pct: f64,
    /// (resource, calls per minute), busiest first.
    per_queue: Vec<(String, f64)>,
    mgmt_per_min: f64,
    wakeups_per_min: f64,
    frames_per_min: f64,
}

struct Sample {
    at: Instant,
    cpu: f64,
    counters: Counters,
    wakeups: u64,
    frames: usize,
}

fn sample(rt: &tokio::runtime::Runtime, r: &Rig) -> Result<Sample, String> {
    Ok(Sample {
        at: Instant::now(),
        cpu: cpu_seconds(r.tui.pid).ok_or("no CPU time of the TUI (did it exit?)")?,
        counters: Counters::read(rt, &r.emulator.url)?,
        wakeups: wakeups(r.tui.pid).ok_or("no context switches of the TUI")?,
        frames: r.tui.frames(),
    })
}

fn idle(a: &Sample, b: &Sample) -> Idle {
    let secs = (b.at - a.at).as_secs_f64();
    let per_min = |n: f64| n * 60.0 / secs;
    let mut per_queue: Vec<(String, f64)> = b
        .counters
        .per_resource_since(&a.counters)
        .into_iter()
        .map(|(r, n)| (r, per_min(n as f64)))
        .collect();
    per_queue.sort_by(|x, y| y.1.total_cmp(&x.1));
    let mgmt: u64 =
        b.counters.commands.values().sum::<u64>() - a.counters.commands.values().sum::<u64>();
    Idle {
        cpu_pct: (b.cpu - a.cpu) / secs * 100.0,
        per_queue,
        mgmt_per_min: per_min(mgmt as f64),
        wakeups_per_min: per_min((b.wakeups - a.wakeups) as f64),
        frames_per_min: per_min((b.frames - a.frames) as f64),
    }
}

fn busiest(i: &Idle) -> f64 {
    i.per_queue.first().map_or(0.0, |q| q.1)
}

fn queues_text(i: &Idle) -> String {
    let list: Vec<String> = i
        .per_queue
        .iter()
        .map(|(r, n)| format!("{r} {n:.1}"))
        .collect();
    if list.is_empty() {
        "none".into()
    } else {
        list.join(", ")
    }
}

fn measure(opts: &Opts) -> Result<Vec<Figure>, String> {
    let window = Duration::from_secs(opts.pick(60, 5));
    let rt = runtime();
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let schema = demo_files(dir.path())?;
    let ours = rig(dir.path(), "ours", &schema, OURS)?;
    let before = rig(dir.path(), "before", &schema, BEFORE)?;
    // Let start-up's first peek round and depth read land before the window opens.
    std::thread::sleep(Duration::from_secs(1));
    let (a, a0) = (sample(&rt, &ours)?, sample(&rt, &before)?);
    std::thread::sleep(window);
    let (b, b0) = (sample(&rt, &ours)?, sample(&rt, &before)?);
    let (now, then) = (idle(&a, &b), idle(&a0, &b0));
    if now.per_queue.is_empty() {
        return Err("the emulator counted no storage call of the idle TUI at all".into());
    }

    // Start-up: each DM-throttled command once, shared by every concurrent caller.
    let resources = ours.startup.command(".get ingestion resources");
    let token = ours.startup.command(".get kusto identity token");
    if resources == 0 || token == 0 {
        return Err(format!(
            "start-up sent {resources} resources and {token} token commands"
        ));
    }

    // A submission starts: how long until the next peek of the failure queue.
    let peeks = |c: &Counters| c.count("failedingestions", "PeekMessages");
    let before_submit = peeks(&Counters::read(&rt, &ours.emulator.url)?);
    submit(&ours.tui, &dir.path().join("events.csv"))?;
    let submitted = Instant::now();
    let speed_up = loop {
        if peeks(&Counters::read(&rt, &ours.emulator.url)?) > before_submit {
            break submitted.elapsed();
        }
        if submitted.elapsed() > Duration::from_secs(30) {
            return Err("no peek within 30 s of a submission starting".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let busy = kingest::app::state::PollConfig::default().peek_busy;

    let w = window.as_secs();
    // /proc counts CPU in clock ticks (10 ms): below one tick in the window reads as zero.
    let resolution = 100.0 * 0.01 / window.as_secs_f64();
    let pct = |p: f64| {
        if p > 0.0 {
            format!("{p:.3} %")
        } else {
            format!("< {resolution:.3} % (no 10 ms tick)")
        }
    };
    let mut cpu = Figure::new("P4", format!("idle TUI CPU over {w} s, % of one core"))
        .ours(pct(now.cpu_pct))
        .baseline(format!("{} (schedule before)", pct(then.cpu_pct)))
        .target("≤ 0.1 %", now.cpu_pct <= 0.1, opts);
    if now.cpu_pct > 0.0 && then.cpu_pct > 0.0 {
        cpu = cpu.ratio(then.cpu_pct / now.cpu_pct);
    }
    Ok(vec![
        cpu,
        Figure::new(
            "P4",
            format!("idle storage calls/min per queue ({})", queues_text(&now)),
        )
        .ours(format!("{:.1}/min", busiest(&now)))
        .baseline(format!(
            "{:.1}/min ({})",
            busiest(&then),
            queues_text(&then)
        ))
        .ratio(busiest(&then) / busiest(&now).max(1e-6))
        .target("≤ 4/min", busiest(&now) <= 4.0, opts),
        Figure::new(
            "P4",
            "idle wakeups/min (context switches), frames/min, mgmt/min",
        )
        .ours(format!(
            "{:.0}, {:.1}, {:.1}",
            now.wakeups_per_min, now.frames_per_min, now.mgmt_per_min
        ))
        .baseline(format!(
            "{:.0}, {:.1}, {:.1}",
            then.wakeups_per_min, then.frames_per_min, then.mgmt_per_min
        )),
        Figure::new(
            "P4",
            "start-up .get ingestion resources / .get kusto identity token",
        )
        .ours(format!("{resources} / {token}"))
        .baseline(format!(
            "{} / {} (schedule before, same client)",
            before.startup.command(".get ingestion resources"),
            before.startup.command(".get kusto identity token")
        ))
        .target("1 / 1 (single flight)", resources == 1 && token == 1, opts),
        Figure::new("P4", "submission started → next peek")
            .ours(format!("{:.2} s", speed_up.as_secs_f64()))
            .baseline(format!("busy interval {} s", busy.as_secs_f64()))
            .ratio(busy.as_secs_f64() / speed_up.as_secs_f64().max(1e-6))
            .target(
                "≤ one busy interval (+ a frame)",
                speed_up <= busy + Duration::from_millis(100),
                opts,
            ),
    ])
}
