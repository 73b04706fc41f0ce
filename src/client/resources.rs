//! `.get ingestion resources` / `.get kusto identity token`: parsing, 1 h cache with explicit
//! refresh, and the ranked choice of storage accounts (protocol.md §2.3).

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
    pub fn of_kind(&self, kind: ResourceKind) -> impl Iterator<Item = &SasUrl> {
        self.resources
            .iter()
            .filter(move |r| r.kind == kind)
            .map(|r| &r.url)
    }
}

use std::collections::HashMap;

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
