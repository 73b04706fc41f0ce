//! `kingest bulk`: bulk ingestion run by the cluster (`client::bulk`). Starts an
//! `.ingest-from-storage-queued` operation, and with `--wait` (or `bulk status`) follows its
//! counters; `bulk cancel` stops it.
//!
//! `--pattern` is planned by [`IngestClient::bulk_request`]: `*.ext` becomes the service's
//! `Suffix`, any other glob makes kingest list and filter the container itself.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::cli::args::{BulkAction, BulkArgs, BulkStartArgs};
use crate::cli::cmd::submit::{format_flag, required};
use crate::cli::output::{notice, outln, print_json, safe};
use crate::cli::resolve::Resolved;
use crate::cli::{EXIT_GAVE_UP, EXIT_INGESTION_FAILED, EXIT_OK, Failure};
use crate::client::IngestClient;
use crate::client::bulk::{BulkBlob, BulkOperation, BulkSource, BulkSpec};

/// Failed blobs listed at the end of a run (all of them with `bulk status --details`).
const FAILED_SHOWN: usize = 20;

pub async fn run(
    client: &IngestClient,
    resolved: &Resolved,
    args: BulkArgs,
    json_out: bool,
) -> Result<i32, Failure> {
    match args.action {
        Some(BulkAction::Status {
            operation_id,
            details,
            ..
        }) => status(client, &operation_id, details, json_out).await,
        Some(BulkAction::Cancel { operation_id, .. }) => {
            cancel(client, &operation_id, json_out).await
        }
        None => start(client, resolved, args.start, json_out).await,
    }
}

/// The exit code an operation's summary stands for (as `submit`'s for one source).
pub fn operation_exit_code(op: &BulkOperation, waited: bool) -> i32 {
    if op.is_success() {
        EXIT_OK
    } else if op.state.is_final() {
        EXIT_INGESTION_FAILED
    } else if waited {
        EXIT_GAVE_UP
    } else {
        EXIT_OK
    }
}

/// The command line as a [`BulkSpec`]; the client turns it into the request.
fn spec(resolved: &Resolved, args: &BulkStartArgs) -> Result<BulkSpec, Failure> {
    Ok(BulkSpec {
        database: required(&args.target.database, &resolved.database, "--database")?,
        table: required(&args.target.table, &resolved.table, "--table")?,
        container: args.container.clone(),
        blobs: args.blobs.clone(),
        prefix: args.prefix.clone(),
        pattern: args.pattern.clone(),
        limit: args.limit,
        format: format_flag(args.target.format.as_deref())?,
        mapping_ref: args.target.mapping_ref.clone(),
        ignore_first_record: args.target.ignore_first_record,
        properties: args.target.properties.clone(),
        skip_batching: args.skip_batching,
    })
}

async fn start(
    client: &IngestClient,
    resolved: &Resolved,
    args: BulkStartArgs,
    json_out: bool,
) -> Result<i32, Failure> {
    let req = client.bulk_request(&spec(resolved, &args)?).await?;
    let explicit = match &req.source {
        BulkSource::Blobs(b) => Some(b.len()),
        BulkSource::Listing { .. } => None,
    };
    let started = client.bulk_start(&req).await?;
    let id = &started.operation_id;
    if !json_out {
        outln!("operation {}", safe(id));
        if let Some(n) = explicit {
            notice!("{n} blob(s) listed by kingest, sent as an explicit list");
        }
        if args.wait.is_none() {
            notice!(
                "follow it with: kingest bulk status '{}'  (cancel: kingest bulk cancel '{}')",
                safe(id),
                safe(id)
            );
        }
    }
    let Some(secs) = args.wait else {
        if json_out {
            print_json(&json!({
                "operation_id": id,
                "client_request_id": started.client_request_id,
                "operation_info": started.operation_info,
            }));
        }
        return Ok(EXIT_OK);
    };
    let op = follow(client, id, Duration::from_secs(secs), json_out).await?;
    let failed = if op.failed > 0 {
        failed_blobs(client, id).await
    } else {
        Vec::new()
    };
    if json_out {
        print_json(&json!({
            "operation_id": id,
            "client_request_id": started.client_request_id,
            "operation": operation_json(&op),
            "failed_blobs": failed.iter().map(blob_json).collect::<Vec<_>>(),
        }));
    } else {
        print_summary(&op);
        print_failed(&failed, op.failed);
    }
    Ok(operation_exit_code(&op, true))
}

/// Polls the summary until it is final or `limit` passes; prints a progress line on stderr
/// whenever the counters change.
async fn follow(
    client: &IngestClient,
    id: &str,
    limit: Duration,
    quiet: bool,
) -> Result<BulkOperation, Failure> {
    let deadline = Instant::now() + limit;
    let mut interval = Duration::from_millis(250);
    let mut last: Option<String> = None;
    loop {
        let op = client.bulk_status(id).await?;
        let line = progress_line(&op);
        if !quiet && last.as_deref() != Some(line.as_str()) {
            notice!("{line}");
            last = Some(line);
        }
        if op.is_settled() || Instant::now() >= deadline {
            return Ok(op);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        tokio::time::sleep(interval.min(left)).await;
        interval = (interval * 3 / 2).min(Duration::from_secs(5));
    }
}

/// `InProgress  discovered 10  pending 4  ingested 5  failed 1  canceled 0  [60%]  reasons`.
pub fn progress_line(op: &BulkOperation) -> String {
    let mut line = format!(
        "{}  discovered {}  pending {}  ingested {}  failed {}  canceled {}  [{:.0}%]",
        safe(op.state.label()),
        op.discovered,
        op.pending,
        op.ingested,
        op.failed,
        op.canceled,
        op.progress() * 100.0
    );
    if !op.sample_failed_reasons.is_empty() {
        line.push_str(&format!("  failures: {}", safe(&op.sample_failed_reasons)));
    }
    line
}

fn print_summary(op: &BulkOperation) {
    outln!(
        "{} into {}.{}: {}",
        safe(&op.operation_id),
        safe(&op.database),
        safe(&op.table),
        progress_line(op)
    );
    if let Some(t) = &op.started_on {
        outln!(
            "started {}  last update {}",
            safe(t),
            safe(op.last_updated_on.as_deref().unwrap_or("-"))
        );
    }
}

fn print_failed(failed: &[BulkBlob], total: u64) {
    for b in failed.iter().take(FAILED_SHOWN) {
        outln!("failed: {}  {}", safe(&b.blob_url), safe(&b.failed_reasons));
    }
    if total as usize > FAILED_SHOWN {
        outln!(
            "… {} more failed blob(s): kingest bulk status ID --details",
            total as usize - FAILED_SHOWN
        );
    }
}

/// The failed blobs from the details (empty, with a warning, when they cannot be read).
async fn failed_blobs(client: &IngestClient, id: &str) -> Vec<BulkBlob> {
    match client.bulk_details(id).await {
        Ok(blobs) => blobs
            .into_iter()
            .filter(|b| b.status.eq_ignore_ascii_case("failed"))
            .collect(),
        Err(e) => {
            eprintln!(
                "could not read the per-blob details: {}",
                safe(&e.to_string())
            );
            Vec::new()
        }
    }
}

fn operation_json(op: &BulkOperation) -> Value {
    let mut v = serde_json::to_value(op).unwrap_or(Value::Null);
    if let Some(m) = v.as_object_mut() {
        m.insert("state".into(), op.state.label().into());
        m.insert("progress".into(), json!(op.progress()));
    }
    v
}

fn blob_json(b: &BulkBlob) -> Value {
    serde_json::to_value(b).unwrap_or(Value::Null)
}

async fn status(
    client: &IngestClient,
    id: &str,
    details: bool,
    json_out: bool,
) -> Result<i32, Failure> {
    let op = client.bulk_status(id).await?;
    let blobs = if details {
        client.bulk_details(id).await?
    } else {
        Vec::new()
    };
    if json_out {
        let mut v = json!({"operation": operation_json(&op)});
        if details {
            v["blobs"] = blobs.iter().map(blob_json).collect();
        }
        print_json(&v);
    } else {
        print_summary(&op);
        for b in &blobs {
            outln!(
                "{}\t{}\t{}\t{}\t{}",
                safe(&b.status),
                safe(&b.blob_url),
                safe(b.started_at.as_deref().unwrap_or("-")),
                safe(b.completed_at.as_deref().unwrap_or("-")),
                safe(&b.failed_reasons)
            );
        }
    }
    Ok(operation_exit_code(&op, true))
}

async fn cancel(client: &IngestClient, id: &str, json_out: bool) -> Result<i32, Failure> {
    let op = client.bulk_cancel(id).await?;
    if json_out {
        print_json(&json!({"operation": operation_json(&op)}));
    } else {
        print_summary(&op);
        notice!(
            "cancel requested: blobs not yet batched are dropped; blobs already being ingested may still land"
        );
    }
    Ok(EXIT_OK)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::bulk::BulkState;

    fn op(state: BulkState, failed: u64) -> BulkOperation {
        BulkOperation {
            operation_id: "x".into(),
            started_on: None,
            last_updated_on: None,
            state,
            discovered: 3,
            pending: 0,
            canceled: 0,
            ingested: 3 - failed,
            failed,
            sample_failed_reasons: String::new(),
            database: "db".into(),
            table: "T".into(),
        }
    }

    #[test]
    fn exit_codes_follow_submit() {
        let cases = [
            (BulkState::Completed, 0, true, EXIT_OK),
            (BulkState::Completed, 1, true, EXIT_INGESTION_FAILED),
            (BulkState::Canceled, 0, true, EXIT_INGESTION_FAILED),
            (BulkState::InProgress, 0, true, EXIT_GAVE_UP),
            (BulkState::InProgress, 0, false, EXIT_OK),
        ];
        for (state, failed, waited, code) in cases {
            assert_eq!(
                operation_exit_code(&op(state.clone(), failed), waited),
                code,
                "{state:?}"
            );
        }
    }

    #[test]
    fn progress_line_is_sanitised() {
        let mut o = op(BulkState::InProgress, 1);
        o.sample_failed_reasons = "bad\u{1b}[31m csv".into();
        let line = progress_line(&o);
        assert!(!line.contains('\u{1b}'));
        assert!(line.contains("failed 1"));
    }
}
