//! Turns `Effect`s into tokio tasks against `IngestClient` and their results into `Msg`s.
//! No decisions here: scheduling and state transitions live in `app::update`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

use crate::app::msg::{ResourcesSnapshot, SubmittedInfo};
use crate::app::state::{DepthView, NotificationRow, ResourceEntry};
use crate::app::{Effect, Msg};
use crate::client::error::Problem;
use crate::client::inbox::{AckFilter, Inbox, InboxEntry, InboxQuery};
use crate::client::journal::Journal;
use crate::client::notifications::DiscardSelector;
use crate::client::wire::NotificationKind;
use crate::client::{IngestClient, ProgressFn, QueueDepth};
use crate::runtime::clock::Clock;

/// Anything that can run effects; tests may record them instead.
pub trait Executor {
    fn execute(&mut self, effect: Effect);
}

/// Records effects without running them (for tests driving the loop).
#[derive(Debug, Default)]
pub struct Recorder {
    pub effects: Vec<Effect>,
}

impl Executor for Recorder {
    fn execute(&mut self, effect: Effect) {
        self.effects.push(effect);
    }
}

/// Minimum spacing of upload progress messages per submission.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);
const MAX_COMPLETIONS: usize = 200;

pub struct ClientExecutor {
    client: IngestClient,
    tx: UnboundedSender<Msg>,
    clock: Clock,
    journal: Option<Journal>,
    cancel: CancellationToken,
    /// Submits uploading at once: a folder or glob submitted from the dialog queues the rest.
    submits: Arc<tokio::sync::Semaphore>,
    /// Where every peek is recorded and history comes from (`client::inbox`).
    inbox: Option<Arc<Inbox>>,
}

/// Sources the TUI uploads at once (as `submit --parallel`'s default).
const PARALLEL_SUBMITS: usize = 4;

impl ClientExecutor {
    pub fn new(
        client: IngestClient,
        tx: UnboundedSender<Msg>,
        clock: Clock,
        journal: Option<Journal>,
    ) -> Self {
        ClientExecutor {
            client,
            tx,
            clock,
            journal,
            cancel: CancellationToken::new(),
            submits: Arc::new(tokio::sync::Semaphore::new(PARALLEL_SUBMITS)),
            inbox: None,
        }
    }

    /// Records peeks into `inbox` and restores history from it.
    pub fn with_inbox(mut self, inbox: Option<Arc<Inbox>>) -> Self {
        self.inbox = inbox;
        self
    }

    /// Cancels every running task (on quit).
    pub fn shutdown(&self) {
        self.cancel.cancel();
    }

    fn spawn<F>(&self, fut: F)
    where
        F: Future<Output = Option<Msg>> + Send + 'static,
    {
        let tx = self.tx.clone();
        let cancel = self.cancel.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = cancel.cancelled() => {}
                msg = fut => {
                    if let Some(m) = msg {
                        let _ = tx.send(m);
                    }
                }
            }
        });
    }
}

fn err(e: crate::client::Error) -> Problem {
    Problem::from(e)
}

impl Drop for ClientExecutor {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

impl Executor for ClientExecutor {
    fn execute(&mut self, effect: Effect) {
        let client = self.client.clone();
        let clock = self.clock;
        match effect {
            Effect::LoadResources { force } => self.spawn(async move {
                let res = if force {
                    client.refresh_resources().await
                } else {
                    client.resources().await
                };
                let result = res.map_err(err).map(|r| ResourcesSnapshot {
                    entries: r
                        .resources
                        .iter()
                        .map(|x| ResourceEntry {
                            kind: x.kind,
                            account: x.url.account(),
                            object: x.url.object_name(),
                            depth: None,
                            sas: Some(x.url.grant()),
                        })
                        .collect(),
                    fetched_at: r.fetched_at,
                    token_fetched_at: r.token_fetched_at,
                });
                Some(Msg::Resources {
                    at: clock.now(),
                    result,
                })
            }),
            Effect::QueueDepths => self.spawn(async move {
                let result = client.queue_depths().await.map_err(err).map(|v| {
                    v.into_iter()
                        .map(|(r, d)| {
                            let d = match d {
                                QueueDepth::Count(n) => DepthView::Count(n),
                                QueueDepth::NotReadable(_) => DepthView::NotReadable,
                                QueueDepth::Failed(e) => DepthView::Error(err(e).to_string()),
                            };
                            (r.url.account(), r.url.object_name(), d)
                        })
                        .collect()
                });
                Some(Msg::Depths {
                    at: clock.now(),
                    result,
                })
            }),
            Effect::Peek { kind, n } => {
                let inbox = self.inbox.clone();
                let tx = self.tx.clone();
                self.spawn(async move {
                    let result = client.peek(kind, n).await;
                    let at = clock.now();
                    // Every peek goes into the inbox: history past the peek window later.
                    let result = match (result, inbox) {
                        (Ok(v), Some(inbox)) => {
                            let recorded = tokio::task::spawn_blocking(move || {
                                let r = inbox.record(&v).map_err(|e| e.to_string());
                                (v, r)
                            })
                            .await;
                            match recorded {
                                Ok((v, Ok(_))) => Ok(v),
                                Ok((v, Err(e))) => {
                                    let _ = tx.send(Msg::InboxProblem(format!(
                                        "recording the peek failed: {e}"
                                    )));
                                    Ok(v)
                                }
                                Err(e) => {
                                    tracing::warn!(error = %e, "inbox record task failed");
                                    return None;
                                }
                            }
                        }
                        (other, _) => other,
                    };
                    let result = result.map_err(err).map(|v| {
                        v.into_iter()
                            .map(|m| NotificationRow {
                                kind: m.kind,
                                message_id: m.message_id,
                                queue: format!("{}/{}", m.queue.account(), m.queue.object_name()),
                                dequeue_count: m.dequeue_count,
                                insertion_time: m.insertion_time,
                                decoded: m.decoded,
                                seen_at: at,
                            })
                            .collect()
                    });
                    Some(Msg::Peeked { kind, at, result })
                })
            }
            Effect::LoadInbox { limit } => {
                let Some(inbox) = self.inbox.clone() else {
                    return;
                };
                for kind in [NotificationKind::Failure, NotificationKind::Success] {
                    let inbox = Arc::clone(&inbox);
                    self.spawn(async move {
                        let result =
                            tokio::task::spawn_blocking(move || history(&inbox, kind, limit))
                                .await
                                .unwrap_or_else(|e| Err(format!("reading the inbox failed: {e}")));
                        Some(Msg::History { kind, result })
                    });
                }
            }
            Effect::Scan { kind } => {
                let inbox = self.inbox.clone();
                self.spawn(async move {
                    let result = client.scan(kind, inbox.as_deref()).await.map_err(err);
                    Some(Msg::Scanned { kind, result })
                });
            }
            Effect::Acknowledge { kind, ids, ack } => {
                let inbox = self.inbox.clone();
                self.spawn(async move {
                    let for_task = ids.clone();
                    let result = match inbox {
                        None => Err("no inbox is open".to_string()),
                        Some(inbox) => tokio::task::spawn_blocking(move || {
                            if ack {
                                inbox.acknowledge(kind, &for_task)
                            } else {
                                inbox.unacknowledge(kind, &for_task)
                            }
                            .map_err(|e| e.to_string())
                        })
                        .await
                        .unwrap_or_else(|e| Err(e.to_string())),
                    };
                    Some(Msg::Acknowledged {
                        kind,
                        ack,
                        ids,
                        result,
                    })
                });
            }
            Effect::Submit { id, req } => {
                let mut req = *req;
                req.journal = self.journal.clone();
                let source_id = req.source_id.unwrap_or_else(uuid::Uuid::new_v4);
                req.source_id = Some(source_id);
                let if_not_exists = req.if_not_exists();
                let tx = self.tx.clone();
                let last: Mutex<Option<tokio::time::Instant>> = Mutex::new(None);
                let progress: ProgressFn = Arc::new(move |p| {
                    let now = tokio::time::Instant::now();
                    let Ok(mut last) = last.lock() else { return };
                    let due = last.is_none_or(|t| now.duration_since(t) >= PROGRESS_EVERY);
                    if due || p.read >= p.total {
                        *last = Some(now);
                        let _ = tx.send(Msg::Upload {
                            id,
                            at: clock.now(),
                            source_id: p.source_id.to_string(),
                            read: p.read,
                            sent: p.sent,
                            total: p.total,
                        });
                    }
                });
                let slots = Arc::clone(&self.submits);
                self.spawn(async move {
                    // Closed only on shutdown, when the task is cancelled anyway.
                    let _slot = slots.acquire_owned().await.ok();
                    let result =
                        client
                            .submit_chunks(req, progress)
                            .await
                            .map_err(err)
                            .map(|sent| {
                                sent.into_iter()
                                    .map(|s| SubmittedInfo::of(s, if_not_exists))
                                    .collect()
                            });
                    Some(Msg::Submitted {
                        id,
                        at: clock.now(),
                        result,
                    })
                });
            }
            Effect::TableStatus { id, at } => self.spawn(async move {
                let result = client.table_status(&at).await.map_err(err);
                Some(Msg::TableStatus {
                    id,
                    at: clock.now(),
                    result,
                })
            }),
            Effect::OperationStatus { id, op } => self.spawn(async move {
                let result = client
                    .rest_status(&op.database, &op.table, &op.operation_id)
                    .await
                    .map_err(err);
                Some(Msg::OperationStatus {
                    id,
                    at: clock.now(),
                    result,
                })
            }),
            Effect::Discard { kind, ids, archive } => self.spawn(async move {
                let result = discard(&client, kind, &ids, &archive).await;
                Some(Msg::Discarded {
                    kind,
                    at: clock.now(),
                    ids,
                    archive,
                    result,
                })
            }),
            Effect::Check { req } => self.spawn(async move {
                let asked = req.to_json();
                let result = async {
                    let (data, size) = crate::client::preflight::read_start(&req.path)?;
                    let facts =
                        crate::client::preflight::facts::fetch(&client, &req.database, &req.table)
                            .await?;
                    let path = req.path.to_string_lossy().into_owned();
                    let format = req
                        .format
                        .or_else(|| crate::client::wire::DataFormat::from_path(&path))
                        .map_or("csv".into(), |f| f.wire_name());
                    let input = crate::client::preflight::CheckInput {
                        format,
                        mapping_ref: req.mapping_reference.clone(),
                        ignore_first_record: req.ignore_first_record,
                        records: crate::client::preflight::DEFAULT_RECORDS,
                    };
                    let p = crate::client::preflight::predict(&facts, &input, &data, size);
                    Ok::<_, crate::client::Error>(p.lines(&facts))
                }
                .await
                .map_err(|e| crate::client::redact::redact(&e.to_string()));
                Some(Msg::Checked { asked, result })
            }),
            Effect::Forensics {
                message_id,
                notification,
            } => {
                let journal = self.journal.clone();
                self.spawn(async move {
                    let result = match journal {
                        None => Err("no journal: forensics needs the source's local file".into()),
                        Some(j) => {
                            crate::client::forensics::fetch::investigate(&client, &j, &notification)
                                .await
                                .map(|inv| {
                                    let mut lines = vec![format!("source: {}", inv.source)];
                                    lines.extend(crate::client::forensics::lines(&inv.forensics));
                                    lines
                                })
                                .map_err(|e| crate::client::redact::redact(&e.to_string()))
                        }
                    };
                    Some(Msg::Forensics { message_id, result })
                })
            }
            Effect::Journal(record) => {
                if let Some(j) = &self.journal
                    && let Err(e) = j.append(&record)
                {
                    tracing::warn!(error = %e, path = %j.path().display(), "journal append failed");
                }
            }
            Effect::BulkStart { id, spec } => self.spawn(async move {
                let result = async {
                    let req = client.bulk_request(&spec).await?;
                    client.bulk_start(&req).await
                }
                .await
                .map(|s| s.operation_id)
                .map_err(err);
                Some(Msg::BulkStarted {
                    id,
                    at: clock.now(),
                    result,
                })
            }),
            Effect::BulkStatus { ids } => self.spawn(async move {
                let result = client.bulk_statuses(&ids).await.map_err(err);
                Some(Msg::BulkStatus {
                    at: clock.now(),
                    ids,
                    result,
                })
            }),
            Effect::BulkCancel { operation_id } => self.spawn(async move {
                let result = client.bulk_cancel(&operation_id).await.map_err(err);
                Some(Msg::BulkCanceled {
                    operation_id,
                    at: clock.now(),
                    result,
                })
            }),
            Effect::ClusterScan { opts } => {
                let tx = self.tx.clone();
                self.spawn(async move {
                    let result = crate::client::cluster_status::scan_cluster(&client, &opts, |p| {
                        let _ = tx.send(Msg::ClusterProgress(p.clone()));
                    })
                    .await
                    .map_err(err);
                    Some(Msg::ClusterScanned {
                        at: clock.now(),
                        result,
                    })
                })
            }
            Effect::Complete { input } => self.spawn(async move {
                let probe = input.clone();
                let candidates = tokio::task::spawn_blocking(move || complete(&probe))
                    .await
                    .unwrap_or_default();
                Some(Msg::Completions { input, candidates })
            }),
            Effect::Export {
                path,
                contents,
                rows,
                what,
            } => self.spawn(async move {
                let target = path.clone();
                let result = tokio::task::spawn_blocking(move || {
                    crate::config::file::write_atomic(&target, &contents).map_err(|e| e.to_string())
                })
                .await
                .unwrap_or_else(|e| Err(format!("the write did not finish: {e}")));
                // Say where it went in full: a relative default lands in the current folder.
                let path = match &result {
                    Ok(()) => std::path::absolute(&path).unwrap_or(path),
                    Err(_) => path,
                };
                Some(Msg::Exported {
                    path,
                    rows,
                    what,
                    result,
                })
            }),
            // The event loop writes these to its terminal; an executor has none.
            Effect::Clipboard { .. } => {
                tracing::debug!("clipboard effect reached the executor: dropped");
            }
            Effect::Discover { input } => self.spawn(async move {
                let probe = std::path::PathBuf::from(&input);
                let result = tokio::task::spawn_blocking(move || {
                    crate::client::discover::discover(&[probe], None)
                })
                .await
                .unwrap_or_else(|e| Err(format!("listing the files failed: {e}")));
                Some(Msg::Discovered { input, result })
            }),
        }
    }
}

/// The inbox's notifications of `kind` (acknowledged too), newest first, as rows; and the
/// acknowledged ones' ids.
fn history(
    inbox: &Inbox,
    kind: NotificationKind,
    limit: usize,
) -> Result<(Vec<NotificationRow>, Vec<String>), String> {
    let q = InboxQuery {
        acked: AckFilter::All,
        limit: Some(limit),
        ..InboxQuery::new(kind)
    };
    let entries = inbox.list(&q).map_err(|e| e.to_string())?;
    let acked = entries
        .iter()
        .filter(|e| e.acknowledged_at.is_some())
        .map(|e| e.message_id.clone())
        .collect();
    Ok((
        entries.into_iter().map(|e| row_of(kind, e)).collect(),
        acked,
    ))
}

/// A stream row from an inbox entry (its JSON is stored redacted).
fn row_of(kind: NotificationKind, e: InboxEntry) -> NotificationRow {
    NotificationRow {
        kind,
        message_id: e.message_id,
        queue: e.queue,
        dequeue_count: e.dequeue_count,
        insertion_time: e.insertion_time,
        // An undecodable message is stored as its (redacted) text: decode that again.
        decoded: match e.json.get("Raw").and_then(|v| v.as_str()) {
            Some(raw) if e.json.get("DecodeError").is_some() => {
                crate::client::wire::decode_notification(raw)
            }
            _ => crate::client::wire::decode_notification(&e.json.to_string()),
        },
        seen_at: e.first_seen,
    }
}

async fn discard(
    client: &IngestClient,
    kind: NotificationKind,
    ids: &[String],
    archive: &Path,
) -> Result<crate::client::notifications::DiscardReport, Problem> {
    // The client creates the archive's folder.
    let set: HashSet<String> = ids.iter().cloned().collect();
    client
        .discard(kind, DiscardSelector::MessageIds(set), archive)
        .await
        .map_err(err)
}

/// Paths starting with `input` (directories end with `/`); hidden entries only when asked for.
pub fn complete(input: &str) -> Vec<String> {
    let (dir_part, prefix) = match input.rfind('/') {
        Some(i) => (&input[..=i], &input[i + 1..]),
        None => ("", input),
    };
    let dir = if dir_part.is_empty() {
        PathBuf::from(".")
    } else {
        PathBuf::from(dir_part)
    };
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return vec![];
    };
    let mut out: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            if !name.starts_with(prefix) || (name.starts_with('.') && !prefix.starts_with('.')) {
                return None;
            }
            let slash = if e.path().is_dir() { "/" } else { "" };
            Some(format!("{dir_part}{name}{slash}"))
        })
        .collect();
    // Sort before trimming, so a large folder offers its first names, not arbitrary ones.
    out.sort();
    out.truncate(MAX_COMPLETIONS);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completes_files_and_dirs() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("data1.csv"), "a").unwrap();
        std::fs::write(d.path().join("data2.csv"), "a").unwrap();
        std::fs::write(d.path().join(".hidden"), "a").unwrap();
        std::fs::create_dir(d.path().join("dir")).unwrap();
        let base = format!("{}/", d.path().display());
        let all = complete(&base);
        assert_eq!(all.len(), 3, "{all:?}");
        assert!(all.contains(&format!("{base}dir/")));
        assert_eq!(complete(&format!("{base}data")).len(), 2);
        assert!(complete(&format!("{base}zzz")).is_empty());
        assert!(complete("/definitely/not/here/x").is_empty());
    }
}
