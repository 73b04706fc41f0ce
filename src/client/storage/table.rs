//! Table REST (JSON, odata=nometadata): Insert, Get, Merge Entity, Create Table.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Map, Value};

use super::http::tolerate;
use super::{SasUrl, Storage};
use crate::client::error::{Error, Result};

const ACCEPT: &str = "application/json;odata=nometadata";
const JSON: &str = "application/json";

/// What Python's `quote` leaves raw, as the Azure SDK encodes keys.
const KEY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'_')
    .remove(b'.')
    .remove(b'-')
    .remove(b'~');

/// One key for the `(PartitionKey='…',RowKey='…')` address: quotes doubled, then encoded.
fn key_literal(key: &str) -> String {
    utf8_percent_encode(&key.replace('\'', "''"), KEY).to_string()
}

/// The path suffix addressing one entity.
pub(crate) fn entity_suffix(partition_key: &str, row_key: &str) -> String {
    format!(
        "(PartitionKey='{}',RowKey='{}')",
        key_literal(partition_key),
        key_literal(row_key)
    )
}

/// `{account-root}/Tables` with the SAS of `table` kept.
pub(crate) fn tables_url(table: &SasUrl) -> url::Url {
    let mut url = table.url.clone();
    let path = if table.is_path_style() {
        format!("/{}/Tables", table.account())
    } else {
        "/Tables".to_string()
    };
    url.set_path(&path);
    url
}

fn to_body(value: &impl serde::Serialize) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| Error::Internal(format!("cannot encode entity: {e}")))
}

impl Storage {
    /// Insert Entity (`Prefer: return-no-content`). 409 → `Error::Storage{code:"EntityAlreadyExists"}`.
    pub async fn insert_entity(&self, table: &SasUrl, entity: &Map<String, Value>) -> Result<()> {
        let url = table.request_url("", &[]);
        let body = to_body(entity)?;
        self.execute(|http| {
            http.post(url.clone())
                .header("Accept", ACCEPT)
                .header("DataServiceVersion", "3.0")
                .header("Content-Type", JSON)
                .header("Prefer", "return-no-content")
                .body(body.clone())
        })
        .await?;
        Ok(())
    }

    /// Get Entity by keys; `None` when it does not exist.
    pub async fn get_entity(
        &self,
        table: &SasUrl,
        partition_key: &str,
        row_key: &str,
    ) -> Result<Option<Map<String, Value>>> {
        let url = table.request_url(&entity_suffix(partition_key, row_key), &[]);
        let result = self
            .execute(|http| {
                http.get(url.clone())
                    .header("Accept", ACCEPT)
                    .header("DataServiceVersion", "3.0")
            })
            .await;
        let reply = match result {
            Ok(r) => r,
            Err(Error::Storage { status: 404, .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        match serde_json::from_slice::<Value>(&reply.body) {
            Ok(Value::Object(map)) => Ok(Some(map)),
            Ok(_) => Err(Error::BadResponse(
                "table entity is not a JSON object".into(),
            )),
            Err(e) => Err(Error::BadResponse(format!("table entity is not JSON: {e}"))),
        }
    }

    /// Merge Entity (`MERGE`, `If-Match: *`); the entity must exist.
    pub async fn merge_entity(
        &self,
        table: &SasUrl,
        partition_key: &str,
        row_key: &str,
        props: &Map<String, Value>,
    ) -> Result<()> {
        let url = table.request_url(&entity_suffix(partition_key, row_key), &[]);
        let body = to_body(props)?;
        let merge = reqwest::Method::from_bytes(b"MERGE")
            .map_err(|e| Error::Internal(format!("MERGE method: {e}")))?;
        self.execute(|http| {
            http.request(merge.clone(), url.clone())
                .header("Accept", ACCEPT)
                .header("DataServiceVersion", "3.0")
                .header("Content-Type", JSON)
                .header("If-Match", "*")
                .body(body.clone())
        })
        .await?;
        Ok(())
    }

    /// Create Table (via the table URL's account `Tables` endpoint); "already exists" is fine.
    pub async fn create_table(&self, table: &SasUrl) -> Result<()> {
        let url = tables_url(table);
        let body = to_body(&serde_json::json!({ "TableName": table.object_name() }))?;
        let result = self
            .execute(|http| {
                http.post(url.clone())
                    .header("Accept", ACCEPT)
                    .header("DataServiceVersion", "3.0")
                    .header("Content-Type", JSON)
                    .header("Prefer", "return-no-content")
                    .body(body.clone())
            })
            .await;
        tolerate(result, &["TableAlreadyExists"])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_address_escapes_keys() {
        assert_eq!(entity_suffix("p5", "r5"), "(PartitionKey='p5',RowKey='r5')");
        assert_eq!(
            entity_suffix("o'neil", "a b/c#?"),
            "(PartitionKey='o%27%27neil',RowKey='a%20b%2Fc%23%3F')"
        );
        let t = SasUrl::parse("http://127.0.0.1:1/devstoreaccount1/Status?sv=1&sig=x").unwrap();
        let url = t.request_url(&entity_suffix("o'n", "r"), &[]);
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:1/devstoreaccount1/Status(PartitionKey='o%27%27n',RowKey='r')?sv=1&sig=x"
        );
    }

    #[test]
    fn tables_endpoint_for_both_url_styles() {
        let path =
            SasUrl::parse("http://127.0.0.1:10002/devstoreaccount1/Status?sv=1&sig=x").unwrap();
        assert_eq!(
            tables_url(&path).as_str(),
            "http://127.0.0.1:10002/devstoreaccount1/Tables?sv=1&sig=x"
        );
        let host = SasUrl::parse("https://acct.table.core.windows.net/Status?sv=1&sig=x").unwrap();
        assert_eq!(
            tables_url(&host).as_str(),
            "https://acct.table.core.windows.net/Tables?sv=1&sig=x"
        );
    }
}
