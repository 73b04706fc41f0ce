//! `kingest check`: the pre-flight check of `client::preflight` on one local file.

use serde_json::json;

use crate::cli::args::CheckArgs;
use crate::cli::cmd::submit::required;
use crate::cli::output::{print_json, safe, write_stdout};
use crate::cli::resolve::Resolved;
use crate::cli::{EXIT_INGESTION_FAILED, EXIT_OK, Failure};
use crate::client::IngestClient;
use crate::client::preflight::{self, CheckInput, TableFacts};
use crate::client::wire::DataFormat;

pub async fn run(
    client: &IngestClient,
    resolved: &Resolved,
    args: CheckArgs,
    json_out: bool,
) -> Result<i32, Failure> {
    let database = required(&args.database, &resolved.database, "--database")?;
    let table = required(&args.table, &resolved.table, "--table")?;
    let path = args.file.to_string_lossy().into_owned();
    let format = match &args.format {
        Some(f) => f.trim().to_ascii_lowercase(),
        None => DataFormat::from_path(&path).map_or("csv".into(), |f| f.wire_name()),
    };
    let (data, size) = preflight::read_start(&args.file)
        .map_err(|e| Failure::usage(format!("cannot read {}: {e}", safe(&path))))?;
    let facts = preflight::facts::fetch(client, &database, &table).await?;
    let input = CheckInput {
        format: format.clone(),
        mapping_ref: args.mapping_ref.clone().filter(|m| !m.trim().is_empty()),
        ignore_first_record: args.ignore_first_record,
        records: args.records.max(1),
    };
    let p = preflight::predict(&facts, &input, &data, size);
    if json_out {
        print_json(&report_json(&path, &format, size, &facts, &p));
    } else {
        let mut out = format!(
            "{} → {}.{} as {format} ({size} bytes)\n",
            safe(&path),
            safe(&database),
            safe(&table)
        );
        for l in p.lines(&facts) {
            out.push_str(&format!("  {}\n", safe(&l)));
        }
        write_stdout(out.as_bytes());
    }
    Ok(if p.is_failure() {
        EXIT_INGESTION_FAILED
    } else {
        EXIT_OK
    })
}

fn report_json(
    path: &str,
    format: &str,
    size: u64,
    facts: &TableFacts,
    p: &preflight::Prediction,
) -> serde_json::Value {
    json!({
        "file": path,
        "database": facts.database,
        "table": facts.table,
        "format": format,
        "size": size,
        "prediction": p,
        "columns": facts.columns().map(|c| c.iter().map(|(n, t)| json!({"name": n, "type": t})).collect::<Vec<_>>()),
        "mappings": facts.mappings.iter().map(|m| json!({"name": m.name, "kind": m.kind})).collect::<Vec<_>>(),
        "batching": {
            "source": facts.batching_source.as_str(),
            "policy": facts.batching.to_json(),
        },
        "streaming_enabled": facts.streaming_enabled,
        "notes": facts.notes,
    })
}
