//! P7: start-up, from spawning `kingest` (the TUI, in tmux) against a local emulator to its
//! first drawn frame: by the TUI's own log line (`first frame drawn`, debug) and by the screen
//! (tmux capture-pane). Also until the resources are on screen (one round trip to the
//! emulator), and, for scale, a bare `kingest --version` run in the same run.

use std::time::{Duration, Instant, SystemTime};

use crate::procs::{EmulatorProcess, kingest};
use crate::report::{Figure, Opts};
use crate::tui::{Tui, median};

pub fn run(opts: &Opts) -> Vec<Figure> {
    match measure(opts) {
        Ok(f) => f,
        Err(e) => vec![Figure::new("P7", "start-up to the first frame").failed(e)],
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn since(t: SystemTime, start: SystemTime) -> Duration {
    t.duration_since(start).unwrap_or_default()
}

fn measure(opts: &Opts) -> Result<Vec<Figure>, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let emulator = EmulatorProcess::start(&dir.path().join("emulator"), &[]);
    let runs = opts.pick(10, 2);
    let (mut logged, mut seen, mut data, mut bare) = (vec![], vec![], vec![], vec![]);
    for i in 0..runs {
        let home = dir.path().join(format!("tui-{i}"));
        let tui = Tui::start(&home, &emulator.url, "")?;
        let limit = Duration::from_secs(20);
        let every = Duration::from_millis(2);
        tui.wait_for("the first frame", limit, every, |s| {
            s.contains("Submissions")
        })?;
        seen.push(ms(since(SystemTime::now(), tui.spawned)));
        tui.wait_for("the resources", limit, every, |s| {
            s.contains("failedingestions")
        })?;
        data.push(ms(since(SystemTime::now(), tui.spawned)));
        logged.push(ms(since(tui.first_frame_at(limit)?, tui.spawned)));
        drop(tui);

        let started = Instant::now();
        let out = kingest(&home, None)
            .arg("--version")
            .output()
            .map_err(|e| format!("kingest --version: {e}"))?;
        if !out.status.success() {
            return Err("kingest --version failed".into());
        }
        bare.push(ms(started.elapsed()));
    }
    let max = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
    let bare_text = format!("kingest --version {:.1} ms", median(&mut bare));
    let row = |what: &str, v: &mut Vec<f64>, target: Option<f64>| {
        let (med, worst) = (median(v), max(v));
        let f = Figure::new("P7", format!("{what}, median (max) of {runs}"))
            .ours(format!("{med:.1} ms ({worst:.1} ms)"))
            .baseline(bare_text.clone());
        match target {
            Some(t) => f.target(format!("≤ {t:.0} ms (median)"), med <= t, opts),
            None => f,
        }
    };
    Ok(vec![
        row(
            "spawn → first frame drawn (TUI log)",
            &mut logged,
            Some(100.0),
        ),
        row(
            "spawn → first frame on screen (tmux)",
            &mut seen,
            Some(100.0),
        ),
        row("spawn → resources on screen", &mut data, None),
    ])
}
