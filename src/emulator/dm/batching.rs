//! Batching as the service does it: one open batch per target and ingestion properties,
//! sealed at the first of MaximumBatchingTimeSpan / MaximumNumberOfItems /
//! MaximumRawDataSizeMB, by a `FlushImmediately` blob, or at once for the single-blob cases
//! (`ingestIfNotExists`, `ingest-by:` tags).
//!
//! Source: dataexplorer-docs `kusto/management/batching-policy.md` ("Sealing a batch"), and
//! `ingest-data-overview.md` ("Data is batched based on ingestion properties").

use std::time::{Duration, Instant};

use serde_json::Value;

use super::{Pending, ingest_request};
use crate::client::wire::IngestionMessage;
use crate::emulator::engine::policies::BatchingPolicy;

/// Why a batch was sealed (the service's batching-type names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seal {
    Time,
    Count,
    Size,
    FlushImmediately,
    SingleBlobIngestIfNotExists,
    SingleBlobIngestByTag,
}

/// What must match for two blobs to share a batch: the target and every ingestion property
/// (format, mapping, tags, creationTime, …) except the per-message identity token.
#[derive(Debug, Clone, PartialEq, Eq)]
struct BatchKey {
    database: String,
    table: String,
    properties: String,
}

fn batch_key(msg: &IngestionMessage) -> BatchKey {
    let req = ingest_request(msg);
    let mut props: Vec<(String, String)> = msg
        .additional_properties
        .iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("authorizationContext"))
        .filter(|(k, _)| !k.eq_ignore_ascii_case("format"))
        .map(|(k, v)| {
            let v = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (k.to_ascii_lowercase(), v)
        })
        .collect();
    props.sort();
    props.push(("format".into(), req.format));
    BatchKey {
        database: req.database.to_ascii_lowercase(),
        table: req.table,
        properties: serde_json::to_string(&props).unwrap_or_default(),
    }
}

/// The single-blob sealing reasons of one message, if any.
fn single_blob(msg: &IngestionMessage) -> Option<Seal> {
    let req = ingest_request(msg);
    if !req.ingest_if_not_exists.is_empty() {
        Some(Seal::SingleBlobIngestIfNotExists)
    } else if req.tags.iter().any(|t| {
        t.trim_start()
            .to_ascii_lowercase()
            .starts_with("ingest-by:")
    }) {
        Some(Seal::SingleBlobIngestByTag)
    } else {
        None
    }
}

#[derive(Debug)]
struct Batch {
    key: BatchKey,
    opened: Instant,
    policy: BatchingPolicy,
    raw_bytes: u64,
    sealed: Option<Seal>,
    items: Vec<Pending>,
}

impl Batch {
    fn due(&self, now: Instant) -> bool {
        self.sealed.is_some() || now.saturating_duration_since(self.opened) >= self.policy.max_time
    }
}

/// The open batches.
#[derive(Debug, Default)]
pub struct Batches {
    open: Vec<Batch>,
}

impl Batches {
    pub fn new() -> Self {
        Batches::default()
    }

    /// Adds a message under `policy` (the effective policy of its table, read when the batch
    /// opens, as it decides that batch's limits). Returns why its batch sealed, if it did.
    pub fn add(&mut self, p: Pending, policy: BatchingPolicy, now: Instant) -> Option<Seal> {
        // A redelivered message (visibility ran out) replaces the stale copy.
        for b in &mut self.open {
            if let Some(i) = b.items.iter().position(|i| i.message_id == p.message_id) {
                let old = b.items.remove(i);
                b.raw_bytes = b
                    .raw_bytes
                    .saturating_sub(old.msg.raw_data_size.unwrap_or(0));
            }
        }
        let key = batch_key(&p.msg);
        let single = single_blob(&p.msg);
        let idx = match self
            .open
            .iter()
            .position(|b| b.key == key && b.sealed.is_none() && single.is_none())
        {
            Some(i) => i,
            None => {
                self.open.push(Batch {
                    key,
                    opened: now,
                    policy,
                    raw_bytes: 0,
                    sealed: None,
                    items: vec![],
                });
                self.open.len() - 1
            }
        };
        let b = &mut self.open[idx];
        // Without RawDataSize the size is unknown until download; it counts as 0 here.
        b.raw_bytes = b.raw_bytes.saturating_add(p.msg.raw_data_size.unwrap_or(0));
        let flush = p.msg.flush_immediately;
        b.items.push(p);
        b.sealed = if let Some(s) = single {
            Some(s)
        } else if flush {
            Some(Seal::FlushImmediately)
        } else if b.items.len() >= b.policy.max_items as usize {
            Some(Seal::Count)
        } else if b.raw_bytes >= b.policy.max_raw_bytes() {
            Some(Seal::Size)
        } else {
            None
        };
        b.sealed
    }

    /// Removes and returns the sealed batches (in opening order).
    pub fn take_due(&mut self, now: Instant) -> Vec<Vec<Pending>> {
        let (due, keep): (Vec<Batch>, Vec<Batch>) = std::mem::take(&mut self.open)
            .into_iter()
            .partition(|b| b.due(now));
        self.open = keep;
        due.into_iter()
            .inspect(|b| {
                tracing::debug!(
                    items = b.items.len(),
                    reason = ?b.sealed.unwrap_or(Seal::Time),
                    "batch sealed"
                );
            })
            .map(|b| b.items)
            .filter(|i| !i.is_empty())
            .collect()
    }

    /// Time until the next batch seals, if any is open.
    pub fn next_due(&self, now: Instant) -> Option<Duration> {
        self.open
            .iter()
            .map(|b| {
                if b.sealed.is_some() {
                    Duration::ZERO
                } else {
                    (b.opened + b.policy.max_time).saturating_duration_since(now)
                }
            })
            .min()
    }

    pub fn is_empty(&self) -> bool {
        self.open.is_empty()
    }
}

/// A blob posted again into the same batch, with the copy that is ingested.
#[derive(Debug)]
pub struct Duplicate {
    pub duplicate: Pending,
    pub kept: Pending,
}

/// Splits a sealed batch into its first copy of every blob (by URL without SAS) and the later
/// copies.
pub fn split_duplicates(batch: Vec<Pending>) -> (Vec<Pending>, Vec<Duplicate>) {
    let mut unique: Vec<(String, Pending)> = Vec::new();
    let mut dups = Vec::new();
    for p in batch {
        let path = super::source_path(&p.msg.blob_path);
        match unique.iter().find(|(u, _)| *u == path) {
            Some((_, kept)) => dups.push(Duplicate {
                duplicate: p,
                kept: kept.clone(),
            }),
            None => unique.push((path, p)),
        }
    }
    (unique.into_iter().map(|(_, p)| p).collect(), dups)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::dm::tests::pending;
    use serde_json::json;

    fn policy(secs: u64, items: u32, mb: u32) -> BatchingPolicy {
        BatchingPolicy {
            max_time: Duration::from_secs(secs),
            max_items: items,
            max_raw_mb: mb,
        }
    }

    #[test]
    fn seals_by_time_and_flush() {
        let t0 = Instant::now();
        let pol = policy(10, 500, 1024);
        let mut b = Batches::new();
        b.add(pending("1", "Events", false), pol, t0);
        b.add(
            pending("2", "Events", false),
            pol,
            t0 + Duration::from_secs(3),
        );
        b.add(
            pending("3", "Metrics", false),
            pol,
            t0 + Duration::from_secs(5),
        );
        assert!(b.take_due(t0 + Duration::from_secs(9)).is_empty());
        assert_eq!(
            b.next_due(t0 + Duration::from_secs(9)),
            Some(Duration::from_secs(1))
        );
        let due = b.take_due(t0 + Duration::from_secs(10));
        assert_eq!(due.len(), 1);
        assert_eq!(
            due[0].iter().map(|p| p.msg.id.as_str()).collect::<Vec<_>>(),
            vec!["1", "2"]
        );
        // A flush message seals its batch at once (and takes the open Metrics batch with it).
        let sealed = b.add(
            pending("4", "Metrics", true),
            pol,
            t0 + Duration::from_secs(6),
        );
        assert_eq!(sealed, Some(Seal::FlushImmediately));
        let due = b.take_due(t0 + Duration::from_secs(6));
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].len(), 2);
        assert!(b.is_empty());
        // A redelivered message replaces the stale copy instead of being ingested twice.
        b.add(pending("5", "Events", false), pol, t0);
        b.add(pending("5", "Events", false), pol, t0);
        assert_eq!(b.take_due(t0 + Duration::from_secs(10))[0].len(), 1);
    }

    #[test]
    fn duplicates_in_a_batch_are_split_off() {
        let mut a = pending("1", "Events", false);
        a.msg.blob_path = "https://a.blob.core.windows.net/c/x.csv?sig=ONE".into();
        let mut b = pending("2", "Events", false);
        b.msg.blob_path = "https://a.blob.core.windows.net/c/x.csv?sig=TWO".into();
        let c = pending("3", "Events", false);
        let (unique, dups) = split_duplicates(vec![a, b, c]);
        assert_eq!(
            unique.iter().map(|p| p.msg.id.as_str()).collect::<Vec<_>>(),
            vec!["1", "3"]
        );
        assert_eq!(dups.len(), 1);
        assert_eq!(dups[0].duplicate.msg.id, "2");
        assert_eq!(dups[0].kept.msg.id, "1");
    }

    #[test]
    fn seals_by_count_and_by_raw_size() {
        let t0 = Instant::now();
        let mut b = Batches::new();
        let pol = policy(300, 3, 100);
        assert_eq!(b.add(pending("1", "Events", false), pol, t0), None);
        assert_eq!(b.add(pending("2", "Events", false), pol, t0), None);
        assert_eq!(
            b.add(pending("3", "Events", false), pol, t0),
            Some(Seal::Count)
        );
        assert_eq!(b.next_due(t0), Some(Duration::ZERO));
        assert_eq!(b.take_due(t0)[0].len(), 3);
        let mut big = pending("4", "Events", false);
        big.msg.raw_data_size = Some(60 * 1024 * 1024);
        assert_eq!(b.add(big.clone(), pol, t0), None);
        big.message_id = "m-5".into();
        assert_eq!(b.add(big, pol, t0), Some(Seal::Size));
        assert_eq!(b.take_due(t0)[0].len(), 2);
    }

    #[test]
    fn splits_by_properties_and_single_blob_cases() {
        let t0 = Instant::now();
        let pol = policy(1, 500, 1024);
        let mut b = Batches::new();
        let plain = |id: &str| pending(id, "Events", false);
        let mut p = plain("1");
        p.msg
            .additional_properties
            .insert("format".into(), json!("json"));
        assert_eq!(b.add(p, pol, t0), None);
        b.add(plain("2"), pol, t0);
        let mut p = plain("3");
        p.msg
            .additional_properties
            .insert("mappingReference".into(), json!("Other"));
        b.add(p, pol, t0);
        // The token differs per message but does not split batches.
        let mut p = plain("4");
        p.msg
            .additional_properties
            .insert("authorizationContext".into(), json!("other-token"));
        b.add(p, pol, t0);
        let mut p = plain("5");
        p.msg
            .additional_properties
            .insert("tags".into(), json!("[\"ingest-by:x\"]"));
        assert_eq!(b.add(p, pol, t0), Some(Seal::SingleBlobIngestByTag));
        let mut p = pending("6", "Events", false);
        p.msg
            .additional_properties
            .insert("ingestIfNotExists".into(), json!("[\"a\"]"));
        assert_eq!(b.add(p, pol, t0), Some(Seal::SingleBlobIngestIfNotExists));
        assert_eq!(b.take_due(t0).len(), 2, "single blobs seal at once");
        let rest = b.take_due(t0 + Duration::from_secs(1));
        assert_eq!(
            rest.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![1, 2, 1],
            "json | csv (2 and 4) | other mapping"
        );
    }
}
