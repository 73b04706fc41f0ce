//! `kingest demo`: the emulator with the demo schema, the demo files, background traffic and
//! the TUI on top (or, with `--headless`, a narrated run of every scenario).

use std::path::Path;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::cli::args::{DemoArgs, ReportLevelArg, ReportMethodArg, SubmitArgs, TargetArgs};
use crate::cli::output::outln;
use crate::cli::resolve::Resolved;
use crate::cli::{EXIT_OK, Failure, cmd};
use crate::client::IngestClient;
use crate::client::wire::NotificationKind;
use crate::demo::{SCENARIOS, local_client, start_emulator, traffic, write_demo_files};

pub async fn run(args: DemoArgs, resolved: &Resolved) -> Result<i32, Failure> {
    if !args.headless {
        crate::tui::check_terminal()?;
    }
    // The demo keeps its journal, logs and scratch files apart from the user's real ones.
    let mut resolved = resolved.clone();
    resolved.state_dir = resolved.state_dir.join("demo");
    resolved.archive_dir = resolved.state_dir.join("archive");
    resolved.database = Some("demo".into());
    resolved.table = Some("Events".into());
    prune_old_journals(
        &crate::client::journal::Journal::dir(&resolved.state_dir),
        resolved.journal_retention,
    );
    // The demo's emulator takes no token: like `kingest emulator` without one, loopback only.
    crate::cli::cmd::emulator::exposure(args.listen, false).map_err(Failure::usage)?;
    let emulator = start_emulator(args.listen).await?;
    let client = local_client(emulator.url())?;
    // A fresh emulator knows nothing of an earlier demo on the same port: start its journal
    // empty, so no submission of a gone emulator is shown.
    let _ = std::fs::remove_file(resolved.journal(emulator.url()).path());
    // Likewise its inbox (the TUI seeds its streams from it): only this demo's notifications.
    let inbox = crate::client::inbox::path_in_state_dir(&resolved.state_dir);
    for suffix in ["", "-wal", "-shm"] {
        let mut p = inbox.clone().into_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
    let dir = resolved
        .state_dir
        .join(format!("files-{}", std::process::id()));
    write_demo_files(&dir).map_err(|e| {
        Failure::usage(format!("cannot write demo files to {}: {e}", dir.display()))
    })?;
    let result = if args.headless {
        narrate(&client, &resolved, &dir, emulator.url()).await
    } else {
        let cancel = CancellationToken::new();
        let feed = (!args.no_traffic).then(|| {
            let (dir, cancel) = (dir.clone(), cancel.clone());
            let feed: crate::runtime::Feed = Box::new(move |tx| {
                tokio::spawn(traffic(tx, dir, Duration::from_secs(3), cancel));
            });
            feed
        });
        let mut opts = crate::tui::options(&resolved);
        opts.default_path = Some(dir.clone());
        // The demo's traffic never stops: poll as if busy, so the streams feel live.
        opts.poll.peek_idle = opts.poll.peek_busy.min(Duration::from_secs(2));
        opts.poll.peek_busy = opts.poll.peek_idle;
        opts.poll.peek_max = opts.poll.peek_idle;
        let r = crate::tui::run_fed(client, opts, &resolved.state_dir, feed, None).await;
        cancel.cancel();
        r
    };
    emulator.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// Each demo's emulator listens on a new port, so each run journals to a file of its own; the
/// ones untouched for longer than the retention are removed so the folder stays bounded.
fn prune_old_journals(dir: &Path, retention: chrono::TimeDelta) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let keep = retention.to_std().unwrap_or(Duration::MAX);
    for e in entries.flatten() {
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > keep);
        let journal = e.file_name().to_string_lossy().starts_with("journal-");
        if old && journal {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// The headless demonstration: every scenario submitted and awaited, then the queues.
async fn narrate(
    client: &IngestClient,
    resolved: &Resolved,
    dir: &Path,
    url: &str,
) -> Result<i32, Failure> {
    outln!("kingest demo: emulator at {url}\n");
    cmd::resources::run(client, false).await?;
    outln!();
    for s in SCENARIOS {
        outln!(
            "--- {} into {}.{} (expect {})",
            s.file,
            s.database,
            s.table,
            s.expect
        );
        let args = SubmitArgs {
            conn: Default::default(),
            target: TargetArgs {
                database: Some(s.database.into()),
                table: Some(s.table.into()),
                format: s.format.map(|f| f.wire_name()),
                mapping_ref: s.mapping.map(str::to_string),
                ignore_first_record: s.ignore_first_record,
                properties: vec![],
            },
            files: vec![dir.join(s.file)],
            blobs: vec![],
            raw_sizes: vec![],
            mode: crate::cli::args::ModeArg::Queued,
            mapping: None,
            report_level: ReportLevelArg::All,
            report_method: Some(ReportMethodArg::QueueAndTable),
            flush: true,
            tags: vec![],
            ingest_if_not_exists: vec![],
            creation_time: None,
            no_retain_blob: false,
            ignore_size_limit: false,
            allow_growing: false,
            dedupe: false,
            tag_source: false,
            zip_pattern: None,
            compress_threads: None,
            wait: Some(30),
            pattern: None,
            parallel: 1,
            list_only: false,
            chunk_size: crate::client::submit::chunk::DEFAULT_CHUNK_SIZE,
            report: None,
            report_format: None,
        };
        cmd::submit::run(client, resolved, args, false).await?;
    }
    outln!("\n--- failure queue (peek: nothing is removed)");
    cmd::queue::peek(client, resolved, NotificationKind::Failure, 32, false).await?;
    outln!("\n--- row counts");
    cmd::mgmt::run(client, "demo", ".show tables details", false).await?;
    Ok(EXIT_OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_demo_journals_are_pruned_and_recent_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("journal-127.0.0.1-1-aaaa.jsonl");
        let new = dir.path().join("journal-127.0.0.1-2-bbbb.jsonl");
        let other = dir.path().join("notes.txt");
        for p in [&old, &new, &other] {
            std::fs::write(p, "{}\n").unwrap();
        }
        let week_ago = std::time::SystemTime::now() - Duration::from_secs(8 * 24 * 3600);
        for p in [&old, &other] {
            std::fs::File::options()
                .write(true)
                .open(p)
                .unwrap()
                .set_modified(week_ago)
                .unwrap();
        }
        prune_old_journals(dir.path(), chrono::TimeDelta::days(7));
        assert!(!old.exists());
        assert!(new.exists());
        assert!(other.exists(), "only journals are removed");
    }
}
