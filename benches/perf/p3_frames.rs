//! P3: one frame at 200×50 (ratatui's TestBackend) with 100,000 buffered failure notifications
//! of realistic size, in the plain, filtered and grouped views, against the same frames with
//! 100 notifications; the process's VmRSS before and after filling; and applying a filter
//! over the whole buffer.

use std::time::{Duration, Instant};

use kingest::app::fixtures::{realistic_failure, realistic_success, t0};
use kingest::app::state::{Pane, Settings, State};
use kingest::app::stream::DEFAULT_CAPACITY;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use crate::procs::rss_kib;
use crate::report::{Figure, Opts};

const CASE: &str = "P3";
/// Matches the two Transient codes of the six (a third of the rows), in Details and status.
const FILTER: &str = "transient";

#[derive(Clone, Copy, PartialEq)]
enum View {
    Plain,
    Filtered,
    Grouped,
}

impl View {
    const ALL: [View; 3] = [View::Plain, View::Filtered, View::Grouped];
    fn name(self) -> &'static str {
        match self {
            View::Plain => "plain",
            View::Filtered => "filtered",
            View::Grouped => "grouped",
        }
    }
}

/// What one buffer size measured.
struct Sized {
    rows: usize,
    /// Median frame per view.
    frames: Vec<Duration>,
    filter_apply: Duration,
    rss_before_kib: u64,
    rss_after_kib: u64,
    mean_message_bytes: usize,
}

pub fn run(opts: &Opts) -> Vec<Figure> {
    let big = opts.pick(100_000, 10_000);
    let small = 100;
    let frames = opts.pick(200, 5);
    // The big buffer first, so its RSS is measured on a process that has not grown yet.
    let measured = [big, small].map(|n| measure(n, frames));
    let [big_m, small_m] = match measured {
        [Ok(b), Ok(s)] => [b, s],
        [Err(e), _] | [_, Err(e)] => return vec![Figure::new(CASE, "frames").failed(e)],
    };
    figures(opts, &big_m, &small_m)
}

fn state_with(rows: usize) -> State {
    let mut s = State::new(
        Settings {
            cluster: "https://ingest-kingestprod7.westeurope.kusto.windows.net".into(),
            color: true,
            ring_capacity: rows.max(DEFAULT_CAPACITY),
            ..Settings::default()
        },
        t0(),
    );
    for i in 0..rows {
        s.failures.push(realistic_failure(i));
    }
    for i in 0..100 {
        s.successes.push(realistic_success(i));
    }
    s.now = kingest::app::fixtures::at(rows as i64);
    s.focus = Pane::Failures;
    s
}

fn measure(rows: usize, frames: usize) -> Result<Sized, String> {
    let pid = std::process::id();
    let rss_before_kib = rss_kib(pid).ok_or("no VmRSS in /proc/self/status")?;
    let mut state = state_with(rows);
    let rss_after_kib = rss_kib(pid).ok_or("no VmRSS in /proc/self/status")?;
    if state.failures.len() != rows {
        return Err(format!("{} rows buffered of {rows}", state.failures.len()));
    }
    let mean_message_bytes = state
        .failures
        .rows()
        .map(|r| r.decoded.raw_text().len())
        .sum::<usize>()
        / rows.max(1);

    let mut term = Terminal::new(TestBackend::new(200, 50)).map_err(|e| e.to_string())?;
    let mut medians = Vec::new();
    let mut filter_apply = Duration::ZERO;
    for view in View::ALL {
        set_view(&mut state, view, &mut filter_apply);
        check_view(&state, view, rows)?;
        // Deep in the list, where a walk from the top would cost most.
        state.failures.list.selected = state.failures.visible_len() / 2;
        let mut times = Vec::with_capacity(frames);
        for _ in 0..frames {
            let t = Instant::now();
            term.draw(|f| kingest::ui::draw(f, &state))
                .map_err(|e| e.to_string())?;
            times.push(t.elapsed());
        }
        let screen = term.backend().to_string();
        let shows_a_code = ["Stream_", "Download_", "General_"]
            .iter()
            .any(|c| screen.contains(c));
        if !screen.contains("Failures") || !shows_a_code {
            return Err(format!("{} frame lacks the failures pane", view.name()));
        }
        medians.push(median(&mut times));
    }
    Ok(Sized {
        rows,
        frames: medians,
        filter_apply,
        rss_before_kib,
        rss_after_kib,
        mean_message_bytes,
    })
}

/// Switches the failures pane to `view`; applying the filter is timed (median of 5 applies).
fn set_view(state: &mut State, view: View, filter_apply: &mut Duration) {
    match view {
        View::Plain => {}
        View::Filtered => {
            let mut times: Vec<Duration> = (0..5)
                .map(|i| {
                    // Alternate, so that every apply really re-indexes.
                    let text = if i % 2 == 0 { "!" } else { FILTER };
                    state.set_filter(Pane::Failures, text);
                    let t = Instant::now();
                    state.set_filter(Pane::Failures, FILTER);
                    t.elapsed()
                })
                .collect();
            *filter_apply = median(&mut times);
        }
        View::Grouped => {
            state.set_filter(Pane::Failures, "");
            state.failures.set_grouped(true);
        }
    }
}

/// The views show what they should: all rows, the transient third, and one group per distinct
/// ErrorCode × Table × FailureStatus of all rows (the grouped view's key).
fn check_view(state: &State, view: View, rows: usize) -> Result<(), String> {
    let expected = match view {
        View::Plain => rows,
        // Codes 4 and 5 of every six are transient.
        View::Filtered => (0..rows).filter(|i| i % 6 >= 4).count(),
        View::Grouped => state
            .failures
            .rows()
            .map(|r| r.group_key().into_owned())
            .collect::<std::collections::HashSet<_>>()
            .len(),
    };
    let got = state.failures.visible_len();
    if got != expected {
        return Err(format!(
            "{}: {got} rows listed, expected {expected}",
            view.name()
        ));
    }
    Ok(())
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times.get(times.len() / 2).copied().unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn figures(opts: &Opts, big: &Sized, small: &Sized) -> Vec<Figure> {
    let mut out = Vec::new();
    for (i, view) in View::ALL.iter().enumerate() {
        let (b, s) = (ms(big.frames[i]), ms(small.frames[i]));
        out.push(
            Figure::new(
                CASE,
                format!("frame 200×50, {}, {} rows (median)", view.name(), big.rows),
            )
            .ours(format!("{b:.3} ms"))
            .baseline(format!("{s:.3} ms ({} rows)", small.rows))
            .ratio(s / b.max(1e-9))
            .target("≤ 1 ms and ≤ 2× baseline", b <= 1.0 && b <= 2.0 * s, opts),
        );
    }
    let rss_mb = big.rss_after_kib as f64 / 1024.0;
    let grown_mb = big.rss_after_kib.saturating_sub(big.rss_before_kib) as f64 / 1024.0;
    out.push(
        Figure::new(
            CASE,
            format!(
                "VmRSS with {} rows (~{} B messages) buffered",
                big.rows, big.mean_message_bytes
            ),
        )
        .ours(format!("{rss_mb:.1} MB (+{grown_mb:.1} MB filling)"))
        .baseline(format!(
            "{:.1} MB before",
            big.rss_before_kib as f64 / 1024.0
        ))
        .target("≤ 200 MB", rss_mb <= 200.0, opts),
    );
    let (b, s) = (ms(big.filter_apply), ms(small.filter_apply));
    out.push(
        Figure::new(CASE, format!("apply a filter over {} rows", big.rows))
            .ours(format!("{b:.2} ms"))
            .baseline(format!("{s:.3} ms ({} rows)", small.rows))
            .ratio(s / b.max(1e-9))
            .target("≤ 50 ms", b <= 50.0, opts),
    );
    out
}
