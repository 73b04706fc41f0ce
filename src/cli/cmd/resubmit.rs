//! `kingest resubmit SOURCE_ID [--force] [--wait]`: the policy and plan of
//! `client::resubmit`, then the send, journal and wait of `submit` (`submit::resend`).

use serde_json::json;

use crate::cli::args::ResubmitArgs;
use crate::cli::output::{notice, print_json_line, safe};
use crate::cli::resolve::Resolved;
use crate::cli::{EXIT_REFUSED, Failure};
use crate::client::IngestClient;
use crate::client::resubmit::{Verdict, plan, prepared, skipped_line};

pub async fn run(
    client: &IngestClient,
    resolved: &Resolved,
    args: ResubmitArgs,
    json_out: bool,
) -> Result<i32, Failure> {
    let journal = resolved.journal(client.ingest_url());
    crate::cli::cmd::submit::reconcile(client, &journal).await;
    let p = plan(&journal, &args.source_id, args.force)?;
    match &p.verdict {
        Verdict::Refuse(why) => {
            if json_out {
                print_json_line(&json!({
                    "source_id": p.original,
                    "file": p.file,
                    "status": "Refused",
                    "state": p.state.label(),
                    "details": why,
                }));
            }
            eprintln!(
                "refused: {} ({}): {}; pass --force to send it anyway",
                safe(&p.original),
                safe(&p.file),
                safe(why)
            );
            return Ok(EXIT_REFUSED);
        }
        Verdict::Send {
            warning: Some(warning),
        } => eprintln!("warning: {}: {}", safe(&p.original), safe(warning)),
        Verdict::Send { warning: None } => {}
    }
    if let Some(note) = p.origin_note() {
        notice!("note: {}", safe(&note));
    }
    let request = prepared(client, &p).await?;
    if !json_out {
        notice!(
            "resubmitting {} ({}, last {}) as a new source",
            safe(&p.original),
            safe(&p.file),
            p.state.label()
        );
    }
    let (code, trackers) = crate::cli::cmd::submit::resend(
        client,
        resolved,
        crate::cli::cmd::submit::Resend {
            file: p.file.clone(),
            request,
            resubmit_of: p.original.clone(),
            wait: args.wait,
        },
        json_out,
    )
    .await?;
    for (t, tag) in &trackers {
        if t.skipped_as_asked() {
            notice!("{}", safe(&skipped_line(&t.source_id, tag.as_deref())));
        }
    }
    Ok(code)
}
