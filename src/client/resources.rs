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
