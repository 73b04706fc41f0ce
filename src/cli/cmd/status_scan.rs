//! `kingest status --all`: every client's sources in the cluster's status tables
//! (`client::cluster_status`). Progress lines on stderr, data on stdout.

use chrono::Utc;
use serde_json::json;

use crate::cli::Failure;
use crate::cli::args::StatusScanArgs;
use crate::cli::output::{notice, outln, print_json, safe};
use crate::client::cluster_status::{self, ClusterEntity, ScanOptions, ScanResult};
use crate::client::{IngestClient, ResourceKind};

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
    let res = client.resources().await?;
    let tables: Vec<_> = res
        .of_kind(ResourceKind::IngestionsStatusTable)
        .cloned()
        .collect();
    if tables.is_empty() {
        return Err(crate::client::Error::MissingResource(
            "the service offers no status table (IngestionsStatusTable)".into(),
        )
        .into());
    }
    notice!(
        "scanning {} status table(s): a full table scan (Timestamp is not indexed), at most {} \
         pages of {}",
        tables.len(),
        opts.max_pages,
        cluster_status::PAGE_SIZE
    );
    let max = opts.max_pages;
    let result = cluster_status::scan(client.storage(), &tables, &opts, |p| {
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
    Ok(0)
}

/// The columns of the entity list, for CSV and for screens.
pub const COLUMNS: [&str; 8] = [
    "time",
    "state",
    "source_id",
    "database",
    "table",
    "error_code",
    "failure_status",
    "status_table",
];

/// One entity's cells, in [`COLUMNS`] order (raw: callers sanitise for their medium).
pub fn cells(e: &ClusterEntity) -> [String; 8] {
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    [
        e.time()
            .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_default(),
        e.state.clone(),
        e.entity
            .ingestion_source_id
            .clone()
            .unwrap_or_else(|| e.entity.partition_key.clone()),
        o(&e.entity.database),
        o(&e.entity.table),
        o(&e.entity.error_code),
        o(&e.entity.failure_status),
        e.table_name.clone(),
    ]
}

fn print_text(r: &ScanResult) {
    outln!("{}", safe(&r.counts_line()));
    for e in &r.entities {
        let c = cells(e).map(|c| safe(&c));
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
    let s = safe(s);
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn write_csv(r: &ScanResult) {
    outln!("{}", COLUMNS.join(","));
    for e in &r.entities {
        let row: Vec<String> = cells(e).iter().map(|c| csv_cell(c)).collect();
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
