//! `kingest status --all`: every client's sources in the cluster's status tables
//! (`client::cluster_status`). Progress lines on stderr, data on stdout.

use chrono::Utc;
use serde_json::json;

use crate::cli::Failure;
use crate::cli::args::StatusScanArgs;
use crate::cli::output::{notice, outln, print_json, safe};
use crate::client::IngestClient;
use crate::client::cluster_status::{self, ScanOptions, ScanResult};

pub fn options(args: &StatusScanArgs) -> Result<ScanOptions, Failure> {
    let since = match &args.since {
        Some(s) => {
            let age = cluster_status::parse_age(s)
                .map_err(|e| Failure::usage(format!("--since: {e}")))?;
            Some(Utc::now() - age)
        }
        None => None,
    };
    Ok(ScanOptions {
        since,
        max_pages: args.max_pages as usize,
        state: args.state.clone(),
    })
}

pub async fn run(
    client: &IngestClient,
    args: &StatusScanArgs,
    json_out: bool,
) -> Result<i32, Failure> {
    if json_out && args.csv {
        return Err(Failure::usage("--json and --csv: choose one"));
    }
    let opts = options(args)?;
    notice!(
        "scanning the status table(s): a full table scan (Timestamp is not indexed), at most {} \
         pages of {}",
        opts.max_pages,
        cluster_status::PAGE_SIZE
    );
    let max = opts.max_pages;
    let result = cluster_status::scan_cluster(client, &opts, |p| {
        notice!("{}", safe(&p.line(max)));
    })
    .await
    .map_err(|e| match e {
        // The SAS refusal says all there is to say; the generic hint would mislead.
        crate::client::Error::MissingResource(m) => Failure::service(m),
        e => e.into(),
    })?;
    if json_out {
        let mut v = serde_json::to_value(&result).unwrap_or_default();
        crate::client::redact::redact_json(&mut v);
        if let Some(m) = v.as_object_mut() {
            m.insert("max_pages".into(), json!(max));
        }
        print_json(&v);
    } else if args.csv {
        notice!("{}", safe(&result.counts_line()));
        write_csv(&result);
    } else {
        print_text(&result);
    }
    notice!("{}", result.summary_line(max));
    if result.truncated {
        notice!("hint: raise --max-pages, or narrow the scan with --since or --state");
    }
    Ok(0)
}

fn print_text(r: &ScanResult) {
    outln!("{}", safe(&r.counts_line()));
    for e in &r.entities {
        let c = e.cells().map(|c| safe(&c));
        outln!(
            "{:<19}  {:<18}  {:<36}  {}.{}  {}",
            c[0],
            c[1],
            c[2],
            c[3],
            c[4],
            c[5]
        );
    }
}

/// A CSV cell: quoted when it must be, terminal-safe, and never a spreadsheet formula.
fn csv_cell(s: &str) -> String {
    crate::app::export::csv_field(&safe(s))
}

fn write_csv(r: &ScanResult) {
    outln!("{}", cluster_status::COLUMNS.join(","));
    for e in &r.entities {
        let row: Vec<String> = e.cells().iter().map(|c| csv_cell(c)).collect();
        outln!("{}", row.join(","));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_defused() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert!(!csv_cell("\u{1b}[31mred").contains('\u{1b}'));
    }
}
