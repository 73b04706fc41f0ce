//! kingest's performance cases (issue 8: P1–P7). Every case prints its figure next to a
//! baseline measured in the same run, and the ratio: the machines are shared and noisy, so
//! absolute numbers are context and only ratios compare.
//!
//! - `cargo bench --bench perf` runs every case in full (release build);
//! - `cargo bench --bench perf -- P1 P3` runs the named cases;
//! - `--quick` runs a shortened form of each, asserting nothing about speed: `.ci/run` runs
//!   `cargo test --bench perf -- --quick` (debug build) so the cases cannot rot.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod p1_upload;
mod p2_discard;
mod p3_frames;
mod p4_idle;
mod p5_latency;
mod p6_emulator;
mod p7_startup;
mod procs;
mod report;
mod tui;

use report::{Case, Opts};

/// Every case: its id, a one-line description, and the function that measures it.
const CASES: &[Case] = &[
    Case {
        id: "P1",
        what: "submit of a generated 1 GiB CSV, no wait, against gzip -1",
        run: p1_upload::run,
    },
    Case {
        id: "P2",
        what: "archive + discard 10,000 failure notifications",
        run: p2_discard::run,
    },
    Case {
        id: "P3",
        what: "TUI frames with 100,000 buffered notifications",
        run: p3_frames::run,
    },
    Case {
        id: "P4",
        what: "TUI idle 60 s against a separate emulator",
        run: p4_idle::run,
    },
    Case {
        id: "P5",
        what: "a notification posted → on the TUI's screen",
        run: p5_latency::run,
    },
    Case {
        id: "P6",
        what: "emulator DM worker with 10,000 small sources; engine CSV parsing of 256 MiB",
        run: p6_emulator::run,
    },
    Case {
        id: "P7",
        what: "start-up: spawn → first frame",
        run: p7_startup::run,
    },
];

fn main() {
    let opts = match Opts::from_args(std::env::args().skip(1), CASES) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let mut figures = Vec::new();
    for case in CASES.iter().filter(|c| opts.wants(c.id)) {
        println!("== {} {} ({})", case.id, case.what, opts.mode());
        let found = (case.run)(&opts);
        report::print(&found);
        figures.extend(found);
    }
    println!("\n== summary");
    report::print(&figures);
    if figures.iter().any(|f| f.failed) {
        // A case that could not measure (a peer missing, a wrong result) is an error; a missed
        // speed target is not (machines differ), it shows as "no" in the table.
        std::process::exit(1);
    }
}
