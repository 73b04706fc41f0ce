//! The cluster-wide view of the status tables: every client's table-tracked ingestions, with
//! counts per state as the service writes them.
//!
//! Why an explicit, capped scan and never a poll: the status table's keys are the sources' ids
//! (random GUIDs), and Timestamp is not indexed, so any filter on it is a full table scan —
//! "a query that doesn't include the PartitionKey … is a table scan"
//! (<https://learn.microsoft.com/azure/storage/tables/table-storage-design-for-query>). Each
//! page holds at most 1000 entities and the service hands back continuation headers
//! (<https://learn.microsoft.com/rest/api/storageservices/query-timeout-and-pagination>), so
//! a scan stops at `max_pages` and says whether more remained.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::client::error::{Error, Result};
use crate::client::storage::sas::SasGrant;
use crate::client::storage::{SasUrl, Storage};
use crate::client::wire::{StatusEntity, field, parse_timestamp, value_to_string};

/// Azure's page size for Query Entities.
pub const PAGE_SIZE: usize = 1000;
/// Pages read when the caller does not say (10 000 entities).
pub const DEFAULT_MAX_PAGES: usize = 10;

/// What to scan for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanOptions {
    /// Only entities written at or after this time (the table's `Timestamp`).
    pub since: Option<DateTime<Utc>>,
    /// Stop after this many pages, over all tables.
    pub max_pages: usize,
    /// Only entities whose `Status` is this (as the service writes it, e.g. `Failed`).
    pub state: Option<String>,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            since: None,
            max_pages: DEFAULT_MAX_PAGES,
            state: None,
        }
    }
}

/// Where a scan is, after each page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Progress {
    /// `account/table` of the table being read.
    pub table: String,
    pub pages: usize,
    pub entities: usize,
    /// The last page carried a continuation token (more entities remain in this table).
    pub more: bool,
}

impl Progress {
    /// "page 3 of at most 10: 3000 entities, more remain (continuation token)".
    pub fn line(&self, max_pages: usize) -> String {
        format!(
            "{}: page {} of at most {max_pages}, {} entities, {}",
            self.table,
            self.pages,
            self.entities,
            if self.more {
                "more remain (continuation token)"
            } else {
                "no continuation token (end of table)"
            }
        )
    }
}

/// One status entity as the scan read it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusterEntity {
    #[serde(flatten)]
    pub entity: StatusEntity,
    /// `Status` as written (`Failed`, or a number some writers use), for counting.
    pub state: String,
    /// The table's own `Timestamp` (last write).
    pub timestamp: Option<DateTime<Utc>>,
    /// `account/table` it came from.
    pub table_name: String,
}

impl ClusterEntity {
    pub fn from_map(m: &Map<String, Value>, table_name: &str) -> Self {
        let entity = StatusEntity::from_map(m);
        let state = match entity.status {
            Some(s) => s.as_str().to_string(),
            None => field(m, "Status")
                .and_then(value_to_string)
                .filter(|s| !s.trim().is_empty())
                .unwrap_or_else(|| "(none)".into()),
        };
        ClusterEntity {
            timestamp: field(m, "Timestamp").and_then(parse_timestamp),
            entity,
            state,
            table_name: table_name.to_string(),
        }
    }

    /// When it last changed: `UpdatedOn` as the writer set it, else the table's Timestamp.
    pub fn time(&self) -> Option<DateTime<Utc>> {
        self.entity.updated_on.or(self.timestamp)
    }
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

impl ClusterEntity {
    /// One entity's cells, in [`COLUMNS`] order (raw: callers sanitise for their medium).
    pub fn cells(&self) -> [String; 8] {
        let o = |v: &Option<String>| v.clone().unwrap_or_default();
        [
            self.time()
                .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                .unwrap_or_default(),
            self.state.clone(),
            self.entity
                .ingestion_source_id
                .clone()
                .unwrap_or_else(|| self.entity.partition_key.clone()),
            o(&self.entity.database),
            o(&self.entity.table),
            o(&self.entity.error_code),
            o(&self.entity.failure_status),
            self.table_name.clone(),
        ]
    }
}

/// What a scan found.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ScanResult {
    /// `account/table` of each table read.
    pub tables: Vec<String>,
    pub pages: usize,
    /// The page cap stopped the scan while a continuation token remained.
    pub truncated: bool,
    /// Entities per state, as written.
    pub counts: BTreeMap<String, usize>,
    /// Newest first.
    pub entities: Vec<ClusterEntity>,
}

impl ScanResult {
    fn add(&mut self, e: ClusterEntity) {
        *self.counts.entry(e.state.clone()).or_default() += 1;
        self.entities.push(e);
    }

    fn finish(&mut self) {
        self.entities
            .sort_by(|a, b| b.time().cmp(&a.time()).then(a.state.cmp(&b.state)));
    }

    /// "Failed 3, Pending 1, Succeeded 20" (states in name order).
    pub fn counts_line(&self) -> String {
        if self.counts.is_empty() {
            return "no entities".into();
        }
        self.counts
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The closing summary: pages, entities, and whether the cap left some unread.
    pub fn summary_line(&self, max_pages: usize) -> String {
        let tail = if self.truncated {
            format!("stopped at the page cap ({max_pages}): more entities remain unread")
        } else {
            "every matching entity read".into()
        };
        format!(
            "{} entities in {} pages of {} table(s); {tail}",
            self.entities.len(),
            self.pages,
            self.tables.len()
        )
    }
}

/// The plain refusal when a status table's SAS cannot query.
pub fn refusal_text(grant: &SasGrant) -> String {
    format!(
        "the status table's SAS does not allow queries (sp={}): only entities of this client's \
         own sources can be read by key",
        grant.permissions.as_deref().unwrap_or("not given")
    )
}

/// `Some(refusal)` when the SAS lacks the query permission (`r`).
pub fn refusal(table: &SasUrl) -> Option<String> {
    let grant = table.grant();
    (!grant.allows('r')).then(|| refusal_text(&grant))
}

/// The OData `$filter` for `opts` (`None`: every entity).
pub fn filter(opts: &ScanOptions) -> Option<String> {
    let mut terms = Vec::new();
    if let Some(t) = opts.since {
        terms.push(format!(
            "Timestamp ge datetime'{}'",
            crate::client::wire::format_timestamp(t)
        ));
    }
    if let Some(s) = &opts.state {
        terms.push(format!("Status eq '{}'", s.replace('\'', "''")));
    }
    (!terms.is_empty()).then(|| terms.join(" and "))
}

/// `90s`, `30m`, `1h`, `2d` (or a bare number of seconds) as a duration.
pub fn parse_age(s: &str) -> std::result::Result<Duration, String> {
    let t = s.trim();
    let (num, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: i64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not an age such as 90s, 30m, 1h or 2d"))?;
    let secs = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("{s:?}: the unit must be s, m, h or d")),
    };
    n.checked_mul(secs)
        .and_then(Duration::try_seconds)
        .ok_or_else(|| format!("{s:?} is too long"))
}

/// Scans `tables` for `opts`, calling `progress` after every page. A table whose SAS lacks
/// `r`, or that the service refuses (403), ends the scan with the plain refusal.
pub async fn scan(
    storage: &Storage,
    tables: &[SasUrl],
    opts: &ScanOptions,
    mut progress: impl FnMut(&Progress),
) -> Result<ScanResult> {
    let mut out = ScanResult::default();
    let filter = filter(opts);
    for table in tables {
        if let Some(no) = refusal(table) {
            return Err(Error::MissingResource(no));
        }
        if out.pages >= opts.max_pages {
            out.truncated = true;
            break;
        }
        let name = format!("{}/{}", table.account(), table.object_name());
        out.tables.push(name.clone());
        let mut token = None;
        loop {
            let page = match storage
                .query_entities(table, filter.as_deref(), PAGE_SIZE, token.as_ref())
                .await
            {
                Ok(p) => p,
                Err(Error::Storage { status: 403, .. }) => {
                    return Err(Error::MissingResource(refusal_text(&table.grant())));
                }
                Err(e) => return Err(e),
            };
            out.pages += 1;
            for m in &page.entities {
                out.add(ClusterEntity::from_map(m, &name));
            }
            token = page.next;
            progress(&Progress {
                table: name.clone(),
                pages: out.pages,
                entities: out.entities.len(),
                more: token.is_some(),
            });
            if token.is_none() {
                break;
            }
            if out.pages >= opts.max_pages {
                out.truncated = true;
                break;
            }
        }
        if out.truncated {
            break;
        }
    }
    out.finish();
    Ok(out)
}

/// [`scan`] over the status tables the service offers now (`.get ingestion resources`).
pub async fn scan_cluster(
    client: &crate::client::IngestClient,
    opts: &ScanOptions,
    progress: impl FnMut(&Progress),
) -> Result<ScanResult> {
    let res = client.resources().await?;
    let tables: Vec<SasUrl> = res
        .of_kind(crate::client::ResourceKind::IngestionsStatusTable)
        .cloned()
        .collect();
    if tables.is_empty() {
        return Err(Error::MissingResource(
            "the service offers no status table (IngestionsStatusTable)".into(),
        ));
    }
    scan(client.storage(), &tables, opts, progress).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entity(v: Value) -> ClusterEntity {
        ClusterEntity::from_map(v.as_object().unwrap(), "acct/t")
    }

    #[test]
    fn refuses_plainly_without_query_permission() {
        let t = SasUrl::parse("http://127.0.0.1:1/acct/status?sp=aud&sig=S3CRET").unwrap();
        let no = refusal(&t).unwrap();
        assert_eq!(
            no,
            "the status table's SAS does not allow queries (sp=aud): only entities of this \
             client's own sources can be read by key"
        );
        assert!(!no.contains("S3CRET"));
        let ok = SasUrl::parse("http://127.0.0.1:1/acct/status?sp=raud&sig=x").unwrap();
        assert_eq!(refusal(&ok), None);
    }

    #[test]
    fn filter_on_time_and_state() {
        assert_eq!(filter(&ScanOptions::default()), None);
        let since = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let opts = ScanOptions {
            since: Some(since),
            state: Some("it's".into()),
            ..Default::default()
        };
        assert_eq!(
            filter(&opts).unwrap(),
            "Timestamp ge datetime'2023-11-14T22:13:20.0000000Z' and Status eq 'it''s'"
        );
    }

    #[test]
    fn ages() {
        assert_eq!(parse_age("90s").unwrap(), Duration::seconds(90));
        assert_eq!(parse_age("1h").unwrap(), Duration::hours(1));
        assert_eq!(parse_age("2d").unwrap(), Duration::days(2));
        assert_eq!(parse_age("15").unwrap(), Duration::seconds(15));
        for bad in ["", "h", "1w", "-1h", "99999999999999999d"] {
            assert!(parse_age(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn counts_by_state_as_written_newest_first() {
        let mut r = ScanResult::default();
        r.add(entity(
            json!({"PartitionKey":"a","RowKey":"a","Status":"Failed","UpdatedOn":"2026-01-01T00:00:00Z"}),
        ));
        r.add(entity(
            json!({"PartitionKey":"b","RowKey":"b","Status":"Succeeded","UpdatedOn":"2026-01-02T00:00:00Z"}),
        ));
        r.add(entity(
            json!({"PartitionKey":"c","RowKey":"c","Status":"Weird"}),
        ));
        r.add(entity(
            json!({"PartitionKey":"d","RowKey":"d","Status":3, "Timestamp":"2026-01-03T00:00:00Z"}),
        ));
        r.finish();
        assert_eq!(r.counts_line(), "Failed 1, Queued 1, Succeeded 1, Weird 1");
        let order: Vec<&str> = r
            .entities
            .iter()
            .map(|e| e.entity.partition_key.as_str())
            .collect();
        assert_eq!(order, ["d", "b", "a", "c"]);
        assert_eq!(ScanResult::default().counts_line(), "no entities");
    }
}
