//! `kingest resources`

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::cli::output::{outln, print_json, safe};
use crate::cli::{EXIT_OK, Failure};
use crate::client::{IngestClient, IngestionResources, QueueDepth};

/// `kingest resources`
pub async fn run(client: &IngestClient, json_out: bool) -> Result<i32, Failure> {
    let (res, depths, warning) = fetch(client).await?;
    if let Some(w) = warning {
        eprintln!("{w}");
    }
    if json_out {
        let list: Vec<Value> = res
            .resources
            .iter()
            .map(|r| {
                json!({"ResourceTypeName": r.kind.name(), "StorageRoot": r.url.redacted(), "Account": r.url.account(),
                       "Object": r.url.object_name(), "ApproximateMessageCount": depths.get(&r.url.without_query()),
                       "SasExpiry": r.url.grant().expires_at.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
                       "SasPermissions": r.url.grant().permissions})
            })
            .collect();
        print_json(
            &json!({"IngestUrl": client.ingest_url(), "FetchedAt": res.fetched_at.to_rfc3339(), "Resources": list,
                           "IdentityToken": "present (not shown)"}),
        );
    } else {
        for line in lines(client, &res, &depths) {
            outln!("{line}");
        }
    }
    Ok(EXIT_OK)
}

/// The resources, their queues' depths by URL without query, and a warning line when the
/// depths could not be read (the resources still can be shown).
async fn fetch(
    client: &IngestClient,
) -> Result<
    (
        Arc<IngestionResources>,
        HashMap<String, String>,
        Option<String>,
    ),
    Failure,
> {
    let res = client.refresh_resources().await?;
    let (depths, warning) = match client.queue_depths().await {
        Ok(d) => (
            d.into_iter()
                .map(|(r, c)| {
                    let depth = match c {
                        QueueDepth::Count(n) => n.to_string(),
                        // Add-only ingestion queues cannot be counted by design: not an error.
                        QueueDepth::NotReadable(_) => "n/a".to_string(),
                        QueueDepth::Failed(e) => format!("error: {}", safe(&e.to_string())),
                    };
                    (r.url.without_query(), depth)
                })
                .collect(),
            None,
        ),
        Err(e) => (
            HashMap::new(),
            Some(format!(
                "warning: could not read queue depths: {}",
                safe(&e.to_string())
            )),
        ),
    };
    Ok((res, depths, warning))
}

/// What `kingest resources` prints (its warning, if any, last), as lines.
pub async fn summary(client: &IngestClient) -> Result<Vec<String>, Failure> {
    let (res, depths, warning) = fetch(client).await?;
    let mut out = lines(client, &res, &depths);
    out.extend(warning);
    Ok(out)
}

/// The ingestion resources for people (kinds, accounts, objects, depths, SAS expiry; never a
/// signature), sanitised: `kingest resources` and the TUI's line mode print these.
pub fn lines(
    client: &IngestClient,
    res: &IngestionResources,
    depths: &HashMap<String, String>,
) -> Vec<String> {
    let mut out = vec![format!(
        "Ingestion resources of {} (fetched {})",
        safe(client.ingest_url()),
        res.fetched_at.format("%Y-%m-%d %H:%M:%S UTC")
    )];
    for kind in crate::client::ResourceKind::ALL {
        out.push(format!("{}:", kind.name()));
        for url in res.of_kind(kind) {
            let depth = depths
                .get(&url.without_query())
                .map(|d| format!("  ~{d} messages"))
                .unwrap_or_default();
            let exp = sas_summary(&url.grant(), kind, chrono::Utc::now());
            out.push(format!(
                "  {}/{}{depth}{}",
                safe(&url.account()),
                safe(&url.object_name()),
                safe(&exp)
            ));
        }
    }
    out.push(format!(
        "Identity token: present ({} characters, not shown)",
        res.identity_token.expose().len()
    ));
    out
}

/// `  SAS rp until 2025-01-02 00:00 UTC (expired): peek, discard, no early release`.
fn sas_summary(
    g: &crate::client::storage::sas::SasGrant,
    kind: crate::client::ResourceKind,
    now: chrono::DateTime<chrono::Utc>,
) -> String {
    let until = g
        .expires_at
        .map(|e| {
            let expired = if g.is_expired(now) { " (expired)" } else { "" };
            format!(" until {}{expired}", e.format("%Y-%m-%d %H:%M:%S UTC"))
        })
        .unwrap_or_default();
    format!(
        "  SAS {}{until}: {}",
        g.permissions.as_deref().unwrap_or("?"),
        g.abilities_line(kind)
    )
}
