//! Options, and the table every case reports into.
#![allow(dead_code)]

/// One benchmark case.
pub struct Case {
    /// `P1` … `P7`.
    pub id: &'static str,
    pub what: &'static str,
    pub run: fn(&Opts) -> Vec<Figure>,
}

pub struct Opts {
    /// The shortened form: small sizes and few rounds, for CI (nothing asserted about speed).
    pub quick: bool,
    only: Vec<String>,
}

impl Opts {
    pub fn from_args(args: impl Iterator<Item = String>, cases: &[Case]) -> Result<Opts, String> {
        let mut opts = Opts {
            quick: false,
            only: Vec::new(),
        };
        for a in args {
            match a.as_str() {
                "--quick" => opts.quick = true,
                // What cargo's bench runner passes to every bench target.
                "--bench" => {}
                id if cases.iter().any(|c| c.id.eq_ignore_ascii_case(id)) => {
                    opts.only.push(id.to_ascii_uppercase())
                }
                other => {
                    let ids: Vec<_> = cases.iter().map(|c| c.id).collect();
                    return Err(format!(
                        "unknown argument {other:?} (cases: {}; --quick)",
                        ids.join(" ")
                    ));
                }
            }
        }
        Ok(opts)
    }

    pub fn wants(&self, id: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|o| o == id)
    }

    pub fn mode(&self) -> &'static str {
        if self.quick { "quick" } else { "full" }
    }

    /// `full` in the full form, `quick` in the shortened one.
    pub fn pick<T>(&self, full: T, quick: T) -> T {
        if self.quick { quick } else { full }
    }
}

/// One measured figure against its baseline and target.
pub struct Figure {
    pub case: &'static str,
    /// What is measured, e.g. "submit 1 GiB CSV, MiB/s of source".
    pub what: String,
    pub ours: String,
    /// The baseline measured in the same run ("—" when the case has none).
    pub baseline: String,
    /// ours / baseline, oriented so that higher is better.
    pub ratio: Option<f64>,
    pub target: String,
    /// Whether the target is met; `None` when there is no target or in the shortened form.
    pub met: Option<bool>,
    /// The case could not measure this (a peer missing, a wrong result): the run fails.
    pub failed: bool,
}

impl Figure {
    pub fn new(case: &'static str, what: impl Into<String>) -> Figure {
        Figure {
            case,
            what: what.into(),
            ours: String::new(),
            baseline: "—".into(),
            ratio: None,
            target: "—".into(),
            met: None,
            failed: false,
        }
    }
    pub fn ours(mut self, v: impl Into<String>) -> Figure {
        self.ours = v.into();
        self
    }
    pub fn baseline(mut self, v: impl Into<String>) -> Figure {
        self.baseline = v.into();
        self
    }
    pub fn ratio(mut self, r: f64) -> Figure {
        self.ratio = Some(r);
        self
    }
    /// The target as shown, and whether it is met (ignored in the shortened form).
    pub fn target(mut self, t: impl Into<String>, met: bool, opts: &super::Opts) -> Figure {
        self.target = t.into();
        self.met = (!opts.quick).then_some(met);
        self
    }
    pub fn failed(mut self, why: impl Into<String>) -> Figure {
        self.ours = format!("FAILED: {}", why.into());
        self.failed = true;
        self
    }
}

pub fn print(figures: &[Figure]) {
    let head = [
        "case", "figure", "ours", "baseline", "ratio", "target", "met",
    ];
    let rows: Vec<[String; 7]> = figures
        .iter()
        .map(|f| {
            [
                f.case.to_string(),
                f.what.clone(),
                f.ours.clone(),
                f.baseline.clone(),
                f.ratio.map_or("—".into(), |r| format!("{r:.2}×")),
                f.target.clone(),
                match f.met {
                    Some(true) => "yes".into(),
                    Some(false) => "no".into(),
                    None => "—".into(),
                },
            ]
        })
        .collect();
    let width = |i: usize| {
        rows.iter()
            .map(|r| r[i].chars().count())
            .chain([head[i].len()])
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..head.len()).map(width).collect();
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("| {} |", padded.join(" | "));
    };
    line(head.to_vec());
    line(widths.iter().map(|_| "-").collect());
    for r in &rows {
        line(r.iter().map(String::as_str).collect());
    }
}
