//! What a SAS grants: its permissions (`sp`), start (`st`) and expiry (`se`), read in this one
//! place, and what kingest can and cannot do with each ingestion resource under it. Never the
//! signature: a [`SasGrant`] holds no secret and may be shown.

use chrono::{DateTime, Utc};

use crate::client::ResourceKind;
use crate::client::storage::SasUrl;

/// The non-secret part of a SAS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SasGrant {
    /// `sp` as given (`None`: the URL has no `sp`, some other authorization applies).
    pub permissions: Option<String>,
    pub starts_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// One thing kingest does with a resource, and whether the SAS allows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ability {
    pub what: &'static str,
    pub allowed: bool,
}

impl SasGrant {
    pub fn of(url: &SasUrl) -> Self {
        let time = |k| {
            url.query_param(k)
                .and_then(|s| crate::client::wire::parse_timestamp_str(&s))
        };
        SasGrant {
            permissions: url.query_param("sp"),
            starts_at: time("st"),
            expires_at: time("se"),
        }
    }

    /// Whether `sp` has `letter`; without `sp` kingest tries (and reports a refusal).
    pub fn allows(&self, letter: char) -> bool {
        self.permissions
            .as_deref()
            .is_none_or(|sp| sp.contains(letter))
    }

    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|e| e <= now)
    }

    /// What kingest does with a resource of `kind`, each with whether this SAS allows it.
    /// Letters per resource type: <https://learn.microsoft.com/rest/api/storageservices/create-service-sas#permissions-for-a-queue>
    /// (queue: r peek and count, a add, u update, p get and delete), `#permissions-for-a-blob`
    /// (w or c writes a new blob) and `#permissions-for-a-table` (r query, a add, u update).
    pub fn abilities(&self, kind: ResourceKind) -> Vec<Ability> {
        let a = |what, allowed| Ability { what, allowed };
        match kind {
            ResourceKind::SecuredReadyForAggregationQueue => {
                vec![a("post", self.allows('a')), a("depth", self.allows('r'))]
            }
            ResourceKind::TempStorage => {
                vec![a("upload", self.allows('w') || self.allows('c'))]
            }
            ResourceKind::SuccessfulIngestionsQueue | ResourceKind::FailedIngestionsQueue => vec![
                a("peek", self.allows('r')),
                a("discard", self.allows('p')),
                // Releasing a held message early updates its visibility timeout.
                a("early release", self.allows('u')),
            ],
            ResourceKind::IngestionsStatusTable => vec![
                a("query", self.allows('r')),
                a("write", self.allows('a') || self.allows('u')),
            ],
        }
    }
}

impl SasGrant {
    /// "peek, discard, no early release": [`SasGrant::abilities`] as one line for screens.
    pub fn abilities_line(&self, kind: ResourceKind) -> String {
        self.abilities(kind)
            .into_iter()
            .map(|a| {
                if a.allowed {
                    a.what.to_string()
                } else {
                    format!("no {}", a.what)
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl SasUrl {
    /// The non-secret part of this URL's SAS.
    pub fn grant(&self) -> SasGrant {
        SasGrant::of(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(q: &str) -> SasGrant {
        SasUrl::parse(&format!(
            "https://a.queue.core.windows.net/q?{q}&sig=S3CRET"
        ))
        .unwrap()
        .grant()
    }

    fn allowed(g: &SasGrant, kind: ResourceKind) -> Vec<(&'static str, bool)> {
        g.abilities(kind)
            .into_iter()
            .map(|a| (a.what, a.allowed))
            .collect()
    }

    #[test]
    fn reads_permissions_start_and_expiry() {
        let g = grant("sv=1&st=2025-01-01T00%3A00%3A00Z&se=2025-01-02T00:00:00Z&sp=rp");
        assert_eq!(g.permissions.as_deref(), Some("rp"));
        assert_eq!(
            g.starts_at.map(|t| t.to_rfc3339()).as_deref(),
            Some("2025-01-01T00:00:00+00:00")
        );
        let exp = g.expires_at.unwrap();
        assert!(!g.is_expired(exp - chrono::Duration::seconds(1)));
        assert!(g.is_expired(exp));
        assert!(!format!("{g:?}").contains("S3CRET"));
    }

    #[test]
    fn a_notification_queue_rp_peeks_and_discards_but_cannot_release_early() {
        assert_eq!(
            allowed(&grant("sp=rp"), ResourceKind::FailedIngestionsQueue),
            [("peek", true), ("discard", true), ("early release", false)]
        );
    }

    #[test]
    fn an_add_only_ingestion_queue_posts_but_has_no_depth() {
        assert_eq!(
            allowed(
                &grant("sp=a"),
                ResourceKind::SecuredReadyForAggregationQueue
            ),
            [("post", true), ("depth", false)]
        );
        assert_eq!(
            allowed(&grant("sp=rw"), ResourceKind::TempStorage),
            [("upload", true)]
        );
        assert_eq!(
            allowed(&grant("sp=au"), ResourceKind::IngestionsStatusTable),
            [("query", false), ("write", true)]
        );
    }

    #[test]
    fn without_sp_everything_is_tried() {
        let g = grant("sv=1");
        assert_eq!(g.permissions, None);
        assert!(g.allows('u') && g.expires_at.is_none() && !g.is_expired(Utc::now()));
    }
}
