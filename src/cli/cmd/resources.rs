//! `kingest resources`

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::cli::output::{print_json, safe};
use crate::cli::{EXIT_OK, Failure};
use crate::client::{IngestClient, QueueDepth};

/// `kingest resources`
pub async fn run(client: &IngestClient, json_out: bool) -> Result<i32, Failure> {
    let res = client.refresh_resources().await?;
    let depths: HashMap<String, String> = match client.queue_depths().await {
        Ok(d) => d
            .into_iter()
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
        Err(e) => {
            eprintln!(
                "warning: could not read queue depths: {}",
                safe(&e.to_string())
            );
            HashMap::new()
        }
    };
    if json_out {
        let list: Vec<Value> = res
            .resources
            .iter()
            .map(|r| {
                json!({"ResourceTypeName": r.kind.name(), "StorageRoot": r.url.redacted(), "Account": r.url.account(),
                       "Object": r.url.object_name(), "ApproximateMessageCount": depths.get(&r.url.without_query()),
                       "SasExpiry": r.url.query_param("se")})
            })
            .collect();
        print_json(
            &json!({"IngestUrl": client.ingest_url(), "FetchedAt": res.fetched_at.to_rfc3339(), "Resources": list,
                           "IdentityToken": "present (not shown)"}),
        );
    } else {
        println!(
            "Ingestion resources of {} (fetched {})",
            safe(client.ingest_url()),
            res.fetched_at.format("%Y-%m-%d %H:%M:%S UTC")
        );
        for kind in crate::client::ResourceKind::ALL {
            println!("{}:", kind.name());
            for url in res.of_kind(kind) {
                let depth = depths
                    .get(&url.without_query())
                    .map(|d| format!("  ~{d} messages"))
                    .unwrap_or_default();
                let exp = url
                    .query_param("se")
                    .map(|e| format!("  SAS until {e}"))
                    .unwrap_or_default();
                println!(
                    "  {}/{}{depth}{}",
                    safe(&url.account()),
                    safe(&url.object_name()),
                    safe(&exp)
                );
            }
        }
        println!(
            "Identity token: present ({} characters, not shown)",
            res.identity_token.expose().len()
        );
    }
    Ok(EXIT_OK)
}
