//! `kingest status SOURCE_ID`: the journaled tracker of a source (its status table with its
//! own SAS, so a rotated table still answers), else a search of today's status tables, then
//! the notification queues — all fed to `client::tracking`.

use chrono::Utc;
use serde_json::{Value, json};

use crate::cli::output::{outln, print_json, safe, tracker_json, tracker_lines};
use crate::cli::resolve::Resolved;
use crate::cli::{EXIT_INGESTION_FAILED, Failure, source_exit_code};
use crate::client::tracking::{Observation, StatusRef, Tracker};
use crate::client::wire::NotificationKind;
use crate::client::{IngestClient, ReceivedNotification, ResourceKind};

pub async fn run(
    client: &IngestClient,
    resolved: &Resolved,
    source_id: &str,
    json_out: bool,
    timeline: bool,
) -> Result<i32, Failure> {
    let out = Out { json_out, timeline };
    let journal = resolved.journal(client.ingest_url());
    crate::cli::cmd::submit::reconcile(client, &journal).await;
    // A source split into chunks is journaled by its chunks' message ids: each is followed.
    let chunks = match journal.find(source_id) {
        Ok(None) => journal.chunks_of(source_id).unwrap_or_default(),
        _ => Vec::new(),
    };
    if chunks.is_empty() {
        return one(client, resolved, &journal, source_id, out).await;
    }
    if !json_out {
        outln!(
            "{} was sent in {} chunks (one message each): each chunk's state follows",
            safe(source_id),
            chunks.len()
        );
    }
    let mut codes = Vec::with_capacity(chunks.len());
    for c in &chunks {
        if !json_out {
            let (i, n) = c.chunk.map_or((0, 0), |k| (k.index, k.count));
            outln!("chunk {i}/{n}: {}", safe(&c.source_id));
        }
        codes.push(one(client, resolved, &journal, &c.source_id, out).await?);
    }
    Ok(crate::cli::combine(codes))
}

/// What to print: JSON or text, with or without the timeline.
#[derive(Clone, Copy)]
struct Out {
    json_out: bool,
    timeline: bool,
}

/// The status of one journaled message (or one the journal does not know).
async fn one(
    client: &IngestClient,
    resolved: &Resolved,
    journal: &crate::client::journal::Journal,
    source_id: &str,
    out: Out,
) -> Result<i32, Failure> {
    let json_out = out.json_out;
    let mut record = match journal.find(source_id) {
        Ok(r) => r,
        Err(e) => {
            eprintln!(
                "warning: cannot read the journal {}: {}",
                safe(&journal.path().display().to_string()),
                safe(&e.to_string())
            );
            None
        }
    };
    let mut tracker = match &record {
        Some(r) => r.tracker.clone(),
        None => Tracker::posted(source_id, None, true, Utc::now()),
    };
    tracker.observe(Observation::Clock, Utc::now());
    // What the service was asked and what failed: when every read failed, nothing was learnt
    // and the service (not the source) is what to report.
    let final_before = tracker.is_final();
    let mut reads = 0;
    let mut failed: Vec<crate::client::Error> = Vec::new();
    // Not journaled here: look for the entity in the status tables offered now.
    // A final verdict the journal already holds stands without the service.
    let offered = if tracker.status_ref.is_none() && tracker.operation.is_none() {
        match client.resources().await {
            Ok(res) => Some(res),
            Err(e) if final_before => {
                eprintln!("warning: {}", safe(&e.to_string()));
                None
            }
            Err(e) => return Err(e.into()),
        }
    } else {
        None
    };
    if let Some(res) = offered {
        for table in res.of_kind(ResourceKind::IngestionsStatusTable) {
            let at = StatusRef::new(table.clone(), source_id.into(), source_id.into());
            match client.table_status(&at).await {
                Ok(Some(_)) => {
                    tracker.status_ref = Some(at);
                    break;
                }
                Ok(None) => {}
                Err(e) => eprintln!(
                    "warning: reading {} failed: {}",
                    safe(&table.to_string()),
                    safe(&e.to_string())
                ),
            }
        }
    }
    let mut entity = Value::Null;
    if let Some(at) = tracker.status_ref.clone() {
        reads += 1;
        match client.table_status(&at).await {
            Ok(Some(e)) => {
                entity = serde_json::to_value(&e).unwrap_or(Value::Null);
                crate::client::redact::redact_json(&mut entity);
                tracker.observe(Observation::Entity(&e), Utc::now());
            }
            Ok(None) => {
                tracker.observe(Observation::EntityMissing, Utc::now());
            }
            Err(e) => {
                tracker.observe(
                    Observation::TableUnreadable(&safe(&e.to_string())),
                    Utc::now(),
                );
                failed.push(e);
            }
        }
    }
    // A REST queued source: its operation's status names its blob.
    if let Some(op) = tracker.operation.clone().filter(|_| !tracker.is_final()) {
        reads += 1;
        match client
            .rest_status(&op.database, &op.table, &op.operation_id)
            .await
        {
            Ok(status) => {
                tracker.observe(Observation::RestStatus(&status), Utc::now());
            }
            Err(e) => {
                eprintln!(
                    "warning: reading operation {} failed: {}",
                    safe(&op.operation_id),
                    safe(&e.to_string())
                );
                failed.push(e);
            }
        }
    }
    let mut notes = Vec::new();
    // Both queues at once: a stalled one costs one deadline, not two.
    let kinds = [NotificationKind::Failure, NotificationKind::Success];
    let peeks =
        futures::future::join_all(kinds.map(|kind| client.peek(kind, resolved.poll.peek_count)))
            .await;
    for (kind, peeked) in kinds.into_iter().zip(peeks) {
        reads += 1;
        match peeked {
            Ok(msgs) => {
                let full = msgs.len() >= resolved.poll.peek_count;
                let mine = tracker.observe_peek(&msgs, full, Utc::now());
                notes.extend(mine.into_iter().map(ReceivedNotification::to_json));
            }
            Err(e) => {
                eprintln!(
                    "warning: peeking {} notifications failed: {}",
                    kind.as_str(),
                    safe(&e.to_string())
                );
                failed.push(e);
            }
        }
    }
    let known = record.is_some() || !entity.is_null() || !notes.is_empty();
    if let Some(r) = record.as_mut() {
        r.at = Utc::now();
        r.tracker = tracker.clone();
        if let Err(e) = journal.append(r) {
            eprintln!(
                "warning: cannot update the journal: {}",
                safe(&e.to_string())
            );
        }
    }
    // The engine's view, for the timeline: where the journal says the source went.
    let engine = match (&record, out.timeline) {
        (Some(r), true) => {
            Some(crate::client::timeline::ask_engine(client, &r.database, &r.table, &tracker).await)
        }
        _ => None,
    };
    if json_out {
        let mut m = tracker_json(&tracker);
        if out.timeline {
            m.insert(
                "timeline".into(),
                crate::client::timeline::to_json(&tracker, engine.as_ref()),
            );
        }
        m.insert("known".into(), known.into());
        m.insert("status_entity".into(), entity);
        m.insert("notifications".into(), json!(notes));
        if let Some(r) = &record {
            m.insert("file".into(), r.file.clone().into());
        }
        print_json(&Value::Object(m));
    } else if !known {
        outln!(
            "nothing known about {}: not in this cluster's journal, no status entity in today's \
             status tables, and no notification among the first ones of each queue",
            safe(source_id)
        );
    } else {
        if let Some(r) = &record {
            outln!(
                "{}  {}.{}",
                safe(&r.file),
                safe(&r.database),
                safe(&r.table)
            );
        }
        for line in tracker_lines(&tracker) {
            outln!("{line}");
        }
        if let Some(r) = &tracker.status_ref {
            outln!("status table: {}", safe(&r.display_name()));
        }
        if let Some(op) = &tracker.operation {
            outln!("REST queued operation: {}", safe(&op.operation_id));
        }
        for n in &notes {
            outln!("notification: {}", safe(&n.to_string()));
        }
        if out.timeline {
            outln!("timeline:");
            if record.is_none() {
                outln!("  (not in this cluster's journal: only what was seen just now)");
            }
            for line in crate::client::timeline::lines(&tracker, engine.as_ref()) {
                outln!("  {}", safe(&line));
            }
        }
    }
    // Unreachable service, and the journal knew no final state: a service failure (3), not
    // giving up on the source (4).
    if !final_before && reads > 0 && failed.len() == reads {
        let first = failed.swap_remove(0);
        return Err(first.into());
    }
    // 1 for one nothing is known of (there is no success to report); 4 while not final.
    Ok(if known {
        source_exit_code(&tracker, true)
    } else {
        EXIT_INGESTION_FAILED
    })
}
