//! P5: a failure notification posted into the failure queue (by the emulator, as another
//! client's) at a random moment → shown on the TUI's screen (tmux, polled every 10 ms), idle
//! and with a submission of ours in flight; against the peek interval in force.

use std::time::{Duration, Instant};

use rand::RngExt as _;

use crate::procs::EmulatorProcess;
use crate::report::{Figure, Opts};
use crate::tui::{Tui, count_after, demo_files, median, post_failure, runtime, submit};

pub fn run(opts: &Opts) -> Vec<Figure> {
    match measure(opts) {
        Ok(f) => f,
        Err(e) => vec![Figure::new("P5", "notification posted → on screen").failed(e)],
    }
}

/// Latencies of `n` notifications, each posted at a random moment within `interval`.
fn latencies(
    rt: &tokio::runtime::Runtime,
    tui: &Tui,
    url: &str,
    n: usize,
    interval: Duration,
) -> Result<Vec<f64>, String> {
    let mut out = Vec::new();
    for _ in 0..n {
        std::thread::sleep(interval.mul_f64(rand::rng().random_range(0.0..1.0)));
        let shown = count_after(&tui.screen(), "Failures").ok_or("no Failures count on screen")?;
        let posted = Instant::now();
        post_failure(rt, url)?;
        tui.wait_for(
            "the posted notification",
            interval * 3 + Duration::from_secs(10),
            Duration::from_millis(10),
            |s| count_after(s, "Failures").is_some_and(|c| c > shown),
        )?;
        out.push(posted.elapsed().as_secs_f64());
    }
    Ok(out)
}

fn figure(
    what: &str,
    lat: &mut [f64],
    interval: Duration,
    limit: f64,
    target: &str,
    opts: &Opts,
) -> Figure {
    let max = lat.iter().copied().fold(0.0, f64::max);
    let med = median(lat);
    Figure::new(
        "P5",
        format!("{what}: post → on screen, max (median) of {}", lat.len()),
    )
    .ours(format!("{max:.2} s ({med:.2} s)"))
    .baseline(format!("interval in force {:.0} s", interval.as_secs_f64()))
    .ratio(interval.as_secs_f64() / max.max(1e-6))
    .target(target, max <= limit, opts)
}

fn measure(opts: &Opts) -> Result<Vec<Figure>, String> {
    let rt = runtime();
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let schema = demo_files(dir.path())?;
    // Batches held for 10 minutes: the submission stays in flight while it is measured.
    let emulator = EmulatorProcess::start(
        &dir.path().join("emulator"),
        &[
            "--schema",
            &schema.display().to_string(),
            "--batch-window",
            "600",
        ],
    );
    // The quick form shortens the idle interval so that it finishes soon.
    let idle_secs = opts.pick(None, Some(2));
    let config = format!(
        "database = \"demo\"\ntable = \"Events\"\n{}",
        idle_secs.map_or(String::new(), |s| format!("[poll]\npeek_idle_secs = {s}\n"))
    );
    let poll = kingest::app::state::PollConfig::default();
    let idle = idle_secs.map_or(poll.peek_idle, Duration::from_secs);
    let busy = poll.peek_busy;
    let tui = Tui::start(&dir.path().join("tui"), &emulator.url, &config)?;
    tui.wait_for(
        "the first peek",
        Duration::from_secs(60),
        Duration::from_millis(50),
        |s| s.contains("failedingestions") && s.contains("Failures 0"),
    )?;
    let mut idle_lat = latencies(&rt, &tui, &emulator.url, opts.pick(6, 1), idle)?;

    submit(&tui, &dir.path().join("events.csv"))?;
    tui.wait_for(
        "the submission queued",
        Duration::from_secs(60),
        Duration::from_millis(50),
        |s| s.contains("Queued") || s.contains("Pending"),
    )?;
    let mut busy_lat = latencies(&rt, &tui, &emulator.url, opts.pick(10, 2), busy)?;
    let frame = kingest::runtime::event_loop::FRAME_BUDGET.as_secs_f64();
    let idle_limit = idle.as_secs_f64() + frame;
    Ok(vec![
        figure(
            "idle",
            &mut idle_lat,
            idle,
            idle_limit,
            &format!("≤ {idle_limit:.3} s (idle interval + one frame)"),
            opts,
        ),
        figure(
            "a submission in flight",
            &mut busy_lat,
            busy,
            2.0,
            "≤ 2 s",
            opts,
        ),
    ])
}
