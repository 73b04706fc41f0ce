//! `.get ingestion resources` / `.get kusto identity token`: parsing, the 1 h cache with
//! explicit refresh, fetched by one request at a time (single flight), and the ranked choice
//! of storage accounts (protocol.md §2.3).

use chrono::{DateTime, Utc};

use crate::client::storage::SasUrl;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceKind {
    SecuredReadyForAggregationQueue,
    TempStorage,
    SuccessfulIngestionsQueue,
    FailedIngestionsQueue,
    IngestionsStatusTable,
}

impl ResourceKind {
    pub const ALL: [ResourceKind; 5] = [
        ResourceKind::SecuredReadyForAggregationQueue,
        ResourceKind::TempStorage,
        ResourceKind::SuccessfulIngestionsQueue,
        ResourceKind::FailedIngestionsQueue,
        ResourceKind::IngestionsStatusTable,
    ];
    pub fn name(self) -> &'static str {
        match self {
            ResourceKind::SecuredReadyForAggregationQueue => "SecuredReadyForAggregationQueue",
            ResourceKind::TempStorage => "TempStorage",
            ResourceKind::SuccessfulIngestionsQueue => "SuccessfulIngestionsQueue",
            ResourceKind::FailedIngestionsQueue => "FailedIngestionsQueue",
            ResourceKind::IngestionsStatusTable => "IngestionsStatusTable",
        }
    }
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(s.trim()))
    }
    pub fn is_queue(self) -> bool {
        !matches!(
            self,
            ResourceKind::TempStorage | ResourceKind::IngestionsStatusTable
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    pub kind: ResourceKind,
    pub url: SasUrl,
}

/// The parsed answer of `.get ingestion resources` plus the identity token, with when they were
/// fetched.
#[derive(Debug, Clone)]
pub struct IngestionResources {
    pub resources: Vec<Resource>,
    pub fetched_at: DateTime<Utc>,
    /// `.get kusto identity token` result; never displayed.
    pub identity_token: crate::client::auth::Secret,
    pub token_fetched_at: DateTime<Utc>,
}

impl IngestionResources {
    /// Younger than [`RESOURCES_TTL`], with a token.
    pub fn is_fresh(&self, now: DateTime<Utc>) -> bool {
        now - self.fetched_at < RESOURCES_TTL && !self.identity_token.is_empty()
    }

    pub fn of_kind(&self, kind: ResourceKind) -> impl Iterator<Item = &SasUrl> {
        self.resources
            .iter()
            .filter(move |r| r.kind == kind)
            .map(|r| &r.url)
    }
}

/// Resources and the identity token are refreshed after this long (as the SDKs do).
pub const RESOURCES_TTL: chrono::TimeDelta = chrono::TimeDelta::hours(1);

/// The fetch every concurrent caller awaits (an error is cloned to each of them).
type Flight =
    futures::future::Shared<futures::future::BoxFuture<'static, Result<Arc<IngestionResources>>>>;

/// The cached resources and the one fetch in flight. The DMs throttle `.get ingestion
/// resources` and `.get kusto identity token`, so callers that find the cache stale while a
/// fetch is running wait for that fetch instead of sending their own (the Go SDK serialises its
/// fetches the same way: azkustoingest/internal/resources/resources.go, `fetchLock` and
/// `authLock`). A success fills the cache; an error reaches the waiters of that flight only,
/// and the next caller tries again.
#[derive(Default)]
pub struct ResourceCache {
    slot: std::sync::Mutex<Slot>,
}

#[derive(Default)]
struct Slot {
    current: Option<Arc<IngestionResources>>,
    /// The fetch in flight and its number.
    flight: Option<(u64, Flight)>,
    flights: u64,
}

/// Owned by the task of flight `id`: lands its result, and whatever ends the task (done,
/// panicked or cancelled with the runtime) clears that flight, so a dead one is never joined.
struct FlightGuard {
    cache: Arc<ResourceCache>,
    id: u64,
}

impl FlightGuard {
    fn land(&self, result: &Result<Arc<IngestionResources>>) {
        if let Ok(r) = result {
            self.cache.slot().current = Some(r.clone());
        }
    }
}

impl Drop for FlightGuard {
    fn drop(&mut self) {
        let mut slot = self.cache.slot();
        if slot.flight.as_ref().is_some_and(|(id, _)| *id == self.id) {
            slot.flight = None;
        }
    }
}

impl ResourceCache {
    fn slot(&self) -> std::sync::MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The cached value while it is younger than [`RESOURCES_TTL`] (unless `force`), else the
    /// result of the fetch in flight, else of `fetch`, started now as the one flight. The fetch
    /// runs as its own task: a caller that gives up does not cancel it for the others.
    pub async fn get<F>(self: &Arc<Self>, force: bool, fetch: F) -> Result<Arc<IngestionResources>>
    where
        F: FnOnce() -> futures::future::BoxFuture<'static, Result<Arc<IngestionResources>>>,
    {
        use futures::FutureExt as _;
        let flight = {
            let mut slot = self.slot();
            if !force && let Some(r) = slot.current.as_ref().filter(|r| r.is_fresh(Utc::now())) {
                return Ok(r.clone());
            }
            match &slot.flight {
                // A forced refresh joins a fetch in flight too: that fetch asks the DM now, so
                // its answer is as new as a second request's, which the throttle would punish.
                Some((_, f)) => f.clone(),
                None => {
                    slot.flights += 1;
                    let id = slot.flights;
                    let guard = FlightGuard {
                        cache: self.clone(),
                        id,
                    };
                    let work = fetch();
                    let task = tokio::spawn(async move {
                        let result = work.await;
                        guard.land(&result);
                        drop(guard);
                        result
                    });
                    let f = async move {
                        task.await.unwrap_or_else(|e| {
                            Err(Error::Internal(format!("the resources fetch stopped: {e}")))
                        })
                    }
                    .boxed()
                    .shared();
                    slot.flight = Some((id, f.clone()));
                    f
                }
            }
        };
        flight.await
    }
}

use std::collections::HashMap;
use std::sync::Arc;

use rand::seq::SliceRandom;
use serde_json::Value;

use crate::client::error::{Error, Result};
use crate::client::mgmt::V1Table;

/// Parses `.get ingestion resources`: rows of (ResourceTypeName, StorageRoot) read by column
/// name; unknown types are ignored, unparseable URLs are errors naming the type (not the SAS).
pub fn parse_resources(table: &V1Table) -> Result<Vec<Resource>> {
    let (Some(ti), Some(ri)) = (
        table.column_index("ResourceTypeName"),
        table.column_index("StorageRoot"),
    ) else {
        return Err(Error::BadResponse(
            "'.get ingestion resources' lacks ResourceTypeName/StorageRoot columns".into(),
        ));
    };
    let mut out = Vec::new();
    for row in &table.rows {
        let Some(kind) = row
            .get(ti)
            .and_then(Value::as_str)
            .and_then(ResourceKind::from_name)
        else {
            continue;
        };
        let root = row.get(ri).and_then(Value::as_str).unwrap_or_default();
        let url = SasUrl::parse(root).map_err(|e| {
            Error::BadResponse(format!("{} has an unusable StorageRoot: {e}", kind.name()))
        })?;
        out.push(Resource { kind, url });
    }
    Ok(out)
}

/// Parses `.get kusto identity token`: one row, column `AuthorizationContext`.
pub fn parse_identity_token(table: &V1Table) -> Result<String> {
    let idx = table.column_index("AuthorizationContext").ok_or_else(|| {
        Error::BadResponse("identity token result lacks AuthorizationContext".into())
    })?;
    match table.rows.as_slice() {
        [row] => row
            .get(idx)
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
            .map(str::to_string)
            .ok_or_else(|| Error::BadResponse("the identity token is empty".into())),
        rows => Err(Error::BadResponse(format!(
            "expected one identity token row, got {}",
            rows.len()
        ))),
    }
}

/// Per storage account success statistics: 6 buckets of 10 s (a one-minute window), newer
/// buckets weigh more; accounts are tiered by rank and shuffled within a tier, as the SDKs do.
#[derive(Debug, Default)]
pub struct AccountRanking {
    accounts: HashMap<String, Vec<Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    start: i64,
    ok: u32,
    total: u32,
}

const BUCKETS: usize = 6;
const BUCKET_MS: i64 = 10_000;
const TIERS: [f64; 4] = [0.9, 0.7, 0.3, 0.0];

impl AccountRanking {
    pub fn record(&mut self, account: &str, success: bool, now: DateTime<Utc>) {
        let t = now.timestamp_millis();
        let start = t - t.rem_euclid(BUCKET_MS);
        let buckets = self.accounts.entry(account.to_string()).or_default();
        match buckets.last_mut() {
            Some(b) if b.start == start => {
                b.total += 1;
                b.ok += u32::from(success);
            }
            _ => buckets.push(Bucket {
                start,
                ok: u32::from(success),
                total: 1,
            }),
        }
        let cutoff = start - BUCKET_MS * (BUCKETS as i64 - 1);
        buckets.retain(|b| b.start >= cutoff);
    }

    /// 1.0 for an account with no recent data.
    pub fn rank(&self, account: &str, now: DateTime<Utc>) -> f64 {
        let t = now.timestamp_millis();
        let current = t - t.rem_euclid(BUCKET_MS);
        let Some(buckets) = self.accounts.get(account) else {
            return 1.0;
        };
        let (mut sum, mut weights) = (0.0, 0.0);
        for b in buckets {
            let age = (current - b.start) / BUCKET_MS;
            if !(0..BUCKETS as i64).contains(&age) || b.total == 0 {
                continue;
            }
            let w = (BUCKETS as i64 - age) as f64;
            sum += w * f64::from(b.ok) / f64::from(b.total);
            weights += w;
        }
        if weights == 0.0 { 1.0 } else { sum / weights }
    }

    /// Resources in try order: accounts best tier first (shuffled within a tier), then
    /// interleaved: first resource of each account, then the second of each, …
    pub fn order<'a>(
        &self,
        urls: impl IntoIterator<Item = &'a SasUrl>,
        now: DateTime<Utc>,
    ) -> Vec<SasUrl> {
        let mut by_account: Vec<(String, Vec<SasUrl>)> = Vec::new();
        for u in urls {
            let acct = u.account();
            match by_account.iter_mut().find(|(a, _)| *a == acct) {
                Some((_, v)) => v.push(u.clone()),
                None => by_account.push((acct, vec![u.clone()])),
            }
        }
        let mut rng = rand::rng();
        let mut ordered: Vec<(String, Vec<SasUrl>)> = Vec::new();
        let mut remaining = by_account;
        for floor in TIERS {
            let (mut tier, rest): (Vec<_>, Vec<_>) = remaining
                .into_iter()
                .partition(|(a, _)| self.rank(a, now) >= floor);
            tier.shuffle(&mut rng);
            ordered.extend(tier);
            remaining = rest;
        }
        ordered.extend(remaining);
        let mut out = Vec::new();
        let longest = ordered.iter().map(|(_, v)| v.len()).max().unwrap_or(0);
        for i in 0..longest {
            for (_, v) in &ordered {
                if let Some(u) = v.get(i) {
                    out.push(u.clone());
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::mgmt::parse_response;

    fn url(s: &str) -> SasUrl {
        SasUrl::parse(s).unwrap()
    }

    #[test]
    fn parses_resources_ignoring_unknown_types() {
        let body = br#"{"Tables":[{"TableName":"Table_0","Columns":[{"ColumnName":"ResourceTypeName","DataType":"String"},{"ColumnName":"StorageRoot","DataType":"String"}],
          "Rows":[["SecuredReadyForAggregationQueue","https://a1.queue.core.windows.net/readyforaggregation-secured?sp=a&sig=x"],
                  ["SecuredReadyForAggregationQueue","https://a2.queue.core.windows.net/readyforaggregation-secured?sp=a&sig=y"],
                  ["TempStorage","http://127.0.0.1:1/acct/tempstorage?sp=rcw&sig=z"],
                  ["SomethingNew","https://x/y"],
                  ["FailedIngestionsQueue","https://a1.queue.core.windows.net/failedingestions?sig=1"],
                  ["SuccessfulIngestionsQueue","https://a1.queue.core.windows.net/successfulingestions?sig=1"],
                  ["IngestionsStatusTable","https://a1.table.core.windows.net/ingestionsstatus20250101?sig=1"]]}]}"#;
        let t = parse_response(body).unwrap().remove(0);
        let r = parse_resources(&t).unwrap();
        assert_eq!(r.len(), 6);
        assert_eq!(r[2].url.account(), "acct");
        assert_eq!(r[2].url.object_name(), "tempstorage");
        assert_eq!(r[0].url.account(), "a1");
        assert!(!format!("{:?}", r).contains("sig=x"));
    }

    #[test]
    fn identity_token_needs_exactly_one_row() {
        let mut t = V1Table::new("t", &[("AuthorizationContext", "string")]);
        assert!(parse_identity_token(&t).is_err());
        t.rows.push(vec!["tok".into()]);
        assert_eq!(parse_identity_token(&t).unwrap(), "tok");
        t.rows.push(vec!["tok2".into()]);
        assert!(parse_identity_token(&t).is_err());
    }

    #[test]
    fn ranking_prefers_healthy_accounts_and_interleaves() {
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let mut r = AccountRanking::default();
        for _ in 0..10 {
            r.record("bad", false, now);
            r.record("good", true, now);
        }
        assert_eq!(r.rank("good", now), 1.0);
        assert_eq!(r.rank("bad", now), 0.0);
        assert_eq!(r.rank("unknown", now), 1.0);
        // A minute later the old failures no longer count.
        assert_eq!(r.rank("bad", now + chrono::Duration::seconds(70)), 1.0);
        let urls = [
            url("https://bad.queue.core.windows.net/q1?sig=1"),
            url("https://bad.queue.core.windows.net/q2?sig=1"),
            url("https://good.queue.core.windows.net/q1?sig=1"),
            url("https://good.queue.core.windows.net/q2?sig=1"),
        ];
        let order: Vec<String> = r
            .order(urls.iter(), now)
            .iter()
            .map(|u| format!("{}/{}", u.account(), u.object_name()))
            .collect();
        assert_eq!(order, ["good/q1", "bad/q1", "good/q2", "bad/q2"]);
    }
}

#[cfg(test)]
mod cache_tests {
    use super::*;
    use futures::FutureExt as _;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn fetched() -> Arc<IngestionResources> {
        let now = Utc::now();
        Arc::new(IngestionResources {
            resources: vec![],
            fetched_at: now,
            identity_token: crate::client::auth::Secret::new("token"),
            token_fetched_at: now,
        })
    }

    /// `n` concurrent callers while the fetch waits for a gate the test opens after all of
    /// them have asked; the fetch answers `answer`.
    async fn concurrent(
        cache: &Arc<ResourceCache>,
        fetches: &Arc<AtomicUsize>,
        n: usize,
        answer: fn() -> Result<Arc<IngestionResources>>,
    ) -> Vec<Result<Arc<IngestionResources>>> {
        let (open, gate) = tokio::sync::oneshot::channel::<()>();
        let gate = gate.shared();
        let callers = (0..n).map(|_| {
            let (fetches, gate) = (fetches.clone(), gate.clone());
            cache.get(false, move || {
                async move {
                    fetches.fetch_add(1, Ordering::SeqCst);
                    let _ = gate.await;
                    answer()
                }
                .boxed()
            })
        });
        // join_all polls every caller once before the second future opens the gate.
        let (results, ()) = futures::future::join(futures::future::join_all(callers), async {
            tokio::task::yield_now().await;
            let _ = open.send(());
        })
        .await;
        results
    }

    #[tokio::test]
    async fn a_fetch_that_panics_is_an_error_and_the_next_call_fetches_again() {
        let cache = Arc::new(ResourceCache::default());
        let first = cache
            .get(false, || async { panic!("fetch panicked") }.boxed())
            .await;
        assert!(first.is_err(), "the waiter gets an error");
        let second = cache.get(false, || async { Ok(fetched()) }.boxed()).await;
        assert!(second.is_ok(), "a dead flight is not joined again");
    }

    #[tokio::test]
    async fn concurrent_callers_share_one_fetch_and_then_the_cache() {
        let cache = Arc::new(ResourceCache::default());
        let fetches = Arc::new(AtomicUsize::new(0));
        let results = concurrent(&cache, &fetches, 8, || Ok(fetched())).await;
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        let first = results[0].as_ref().unwrap().clone();
        for r in &results {
            assert!(
                Arc::ptr_eq(r.as_ref().unwrap(), &first),
                "all get the one result"
            );
        }
        // Fresh: served from the cache; forced: fetched again.
        let counting = |fetches: &Arc<AtomicUsize>| {
            let fetches = fetches.clone();
            move || {
                async move {
                    fetches.fetch_add(1, Ordering::SeqCst);
                    Ok(fetched())
                }
                .boxed()
            }
        };
        let again = cache.get(false, counting(&fetches)).await.unwrap();
        assert!(Arc::ptr_eq(&again, &first));
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        let forced = cache.get(true, counting(&fetches)).await.unwrap();
        assert!(!Arc::ptr_eq(&forced, &first));
        assert_eq!(fetches.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn an_error_reaches_that_flights_waiters_and_is_not_cached() {
        let cache = Arc::new(ResourceCache::default());
        let fetches = Arc::new(AtomicUsize::new(0));
        let results = concurrent(&cache, &fetches, 5, || {
            Err(Error::Throttled {
                retry_after: Some(std::time::Duration::from_secs(7)),
            })
        })
        .await;
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        for r in &results {
            assert!(
                matches!(r, Err(Error::Throttled { retry_after: Some(d) }) if d.as_secs() == 7),
                "{:?}",
                r.as_ref().err()
            );
        }
        let results = concurrent(&cache, &fetches, 3, || Ok(fetched())).await;
        assert_eq!(
            fetches.load(Ordering::SeqCst),
            2,
            "the error was not cached"
        );
        assert!(results.iter().all(Result::is_ok));
    }
}
