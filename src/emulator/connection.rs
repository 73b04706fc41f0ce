//! Azure Storage connection strings (`UseDevelopmentStorage=true`, or `AccountName=…;
//! AccountKey=…;BlobEndpoint=…;QueueEndpoint=…;TableEndpoint=…`), and creating the DM's objects
//! in such an account over HTTP with an account SAS.

use anyhow::{Context as _, bail};
use chrono::Utc;

use crate::client::storage::{SasUrl, Storage};
use crate::emulator::Issuer;
use crate::emulator::sas::AccountSas;

/// Azurite's well-known development account.
pub const DEV_ACCOUNT: &str = "devstoreaccount1";
pub const DEV_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// A storage account's name and its three service endpoints (no trailing `/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageAccount {
    pub name: String,
    pub blob_endpoint: String,
    pub queue_endpoint: String,
    pub table_endpoint: String,
}

impl StorageAccount {
    /// All three services path-style under one base URL (the built-in storage).
    pub fn path_style(base_url: &str, name: &str) -> Self {
        let root = format!("{}/{name}", base_url.trim_end_matches('/'));
        StorageAccount {
            name: name.into(),
            blob_endpoint: root.clone(),
            queue_endpoint: root.clone(),
            table_endpoint: root,
        }
    }
}

/// Parses a connection string into the account and its (base64) key.
pub fn parse(cs: &str) -> anyhow::Result<(StorageAccount, String)> {
    let mut kv = std::collections::HashMap::new();
    for part in cs.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').with_context(|| {
            format!(
                "connection string part without '=': {}",
                part.split('=').next().unwrap_or("")
            )
        })?;
        kv.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
    }
    let get = |k: &str| kv.get(k).cloned();
    if get("usedevelopmentstorage").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        let proxy = get("developmentstorageproxyuri").unwrap_or_else(|| "http://127.0.0.1".into());
        let proxy = proxy.trim_end_matches('/');
        return Ok((
            StorageAccount {
                name: DEV_ACCOUNT.into(),
                blob_endpoint: format!("{proxy}:10000/{DEV_ACCOUNT}"),
                queue_endpoint: format!("{proxy}:10001/{DEV_ACCOUNT}"),
                table_endpoint: format!("{proxy}:10002/{DEV_ACCOUNT}"),
            },
            DEV_KEY.into(),
        ));
    }
    let name = get("accountname").context("the connection string has no AccountName")?;
    let key = get("accountkey").context("the connection string has no AccountKey (a SAS-only connection string cannot sign the DM's URLs)")?;
    let protocol = get("defaultendpointsprotocol").unwrap_or_else(|| "https".into());
    let suffix = get("endpointsuffix").unwrap_or_else(|| "core.windows.net".into());
    let endpoint = |svc: &str| {
        get(&format!("{svc}endpoint"))
            .map(|e| e.trim_end_matches('/').to_string())
            .unwrap_or_else(|| format!("{protocol}://{name}.{svc}.{suffix}"))
    };
    let account = StorageAccount {
        blob_endpoint: endpoint("blob"),
        queue_endpoint: endpoint("queue"),
        table_endpoint: endpoint("table"),
        name,
    };
    for e in [
        &account.blob_endpoint,
        &account.queue_endpoint,
        &account.table_endpoint,
    ] {
        if url::Url::parse(e).is_err() {
            bail!("endpoint '{e}' in the connection string is not a URL");
        }
    }
    Ok((account, key))
}

/// An account SAS for creating objects (valid an hour).
fn creation_token(issuer: &Issuer) -> String {
    let now = Utc::now();
    AccountSas {
        account: issuer.account.name.clone(),
        services: "bqt".into(),
        resource_types: "sco".into(),
        permissions: "rwdlacup".into(),
        start: Some(now - chrono::TimeDelta::minutes(5)),
        expiry: now + chrono::TimeDelta::hours(1),
    }
    .token(&issuer.key)
}

/// Creates one table (a rotated status table) with an account SAS.
pub async fn create_table(storage: &Storage, issuer: &Issuer, table: &str) -> anyhow::Result<()> {
    let url = format!(
        "{}/{table}?{}",
        issuer.account.table_endpoint,
        creation_token(issuer)
    );
    let url = SasUrl::parse(&url).map_err(|e| anyhow::anyhow!("{e}"))?;
    storage
        .create_table(&url)
        .await
        .with_context(|| format!("table {table}"))
}

/// Creates the queues and containers with an account SAS.
pub async fn create_queues_and_containers(
    storage: &Storage,
    issuer: &Issuer,
    ingest_queues: &[&str],
    containers: &[&str],
    notification_queues: &[&str],
) -> anyhow::Result<()> {
    let token = creation_token(issuer);
    let url = |endpoint: &str, name: &str| {
        SasUrl::parse(&format!("{endpoint}/{name}?{token}")).map_err(|e| anyhow::anyhow!("{e}"))
    };
    for q in ingest_queues.iter().chain(notification_queues) {
        storage
            .create_queue(&url(&issuer.account.queue_endpoint, q)?)
            .await
            .with_context(|| format!("queue {q}"))?;
    }
    for c in containers {
        storage
            .create_container(&url(&issuer.account.blob_endpoint, c)?)
            .await
            .with_context(|| format!("container {c}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn development_storage() {
        let (a, k) = parse("UseDevelopmentStorage=true").unwrap();
        assert_eq!(a.name, DEV_ACCOUNT);
        assert_eq!(a.queue_endpoint, "http://127.0.0.1:10001/devstoreaccount1");
        assert_eq!(k, DEV_KEY);
    }

    #[test]
    fn explicit_endpoints_and_defaults() {
        let (a, k) = parse("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:1/devstoreaccount1/;QueueEndpoint=http://127.0.0.1:2/devstoreaccount1;TableEndpoint=http://127.0.0.1:3/devstoreaccount1;").unwrap();
        assert_eq!(
            (a.blob_endpoint.as_str(), k.as_str()),
            ("http://127.0.0.1:1/devstoreaccount1", "a2V5")
        );
        let (a, _) = parse("AccountName=acct;AccountKey=a2V5").unwrap();
        assert_eq!(a.table_endpoint, "https://acct.table.core.windows.net");
        assert!(parse("AccountName=acct").is_err());
        assert!(parse("garbage").is_err());
    }
}
