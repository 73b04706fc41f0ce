//! Which status table a message's `IngestionStatusInTable.TableConnectionString` names.
//!
//! Most SDKs send the table URL with its SAS (`…/ingestionsstatus20261201?sv=…&tn=…`). The Node
//! SDK sends its `TableClient.url`, built as `origin + sasToken` with the table passed apart
//! (`azure-kusto-node` `packages/azure-kusto-ingest/src/resourceManager.ts`
//! `createStatusTableClient`; `ingestClientBase.ts` puts `statusTableClient.url` into
//! `IngestionStatusInTableDescription`), so the path names no table and only the SAS's `tn`
//! does. For a path-style endpoint that origin also drops the account segment.

use crate::client::storage::SasUrl;
use crate::client::tracking::StatusRef;

/// The status table's URL with the table in its path. `own_account` fills in a path-style URL
/// that lost its account segment.
pub fn resolve(connection_string: &str, own_account: &str) -> Result<SasUrl, String> {
    let url = SasUrl::parse(connection_string).map_err(|e| e.to_string())?;
    StatusRef::table_in_path(&url, Some(own_account))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_from_path_or_from_tn() {
        let full = "https://acct.table.core.windows.net/ingestionsstatus20261201?sv=1&tn=ingestionsstatus20261201&sig=S";
        assert_eq!(resolve(full, "own").unwrap().expose(), full);
        let host = resolve(
            "https://acct.table.core.windows.net?sv=1&tn=T1&sig=S",
            "own",
        )
        .unwrap();
        assert_eq!(
            host.without_query(),
            "https://acct.table.core.windows.net/T1"
        );
        assert_eq!(host.query_param("sig").as_deref(), Some("S"));
        let path = resolve("http://127.0.0.1:9/acct?sv=1&tn=T1&sig=S", "own").unwrap();
        assert_eq!(path.without_query(), "http://127.0.0.1:9/acct/T1");
        let bare = resolve("http://127.0.0.1:9?sv=1&tn=T1&sig=S", "own").unwrap();
        assert_eq!(bare.without_query(), "http://127.0.0.1:9/own/T1");
        assert!(resolve("https://acct.table.core.windows.net/?sv=1&sig=S", "own").is_err());
    }
}
