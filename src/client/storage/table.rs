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

/// Where the next page of a query starts: the service's opaque continuation keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Continuation {
    pub partition_key: String,
    /// Azure may send NextPartitionKey alone (the next page starts at a partition's first
    /// row): each header is optional, and the query sends back only what it was given
    /// (<https://learn.microsoft.com/rest/api/storageservices/query-timeout-and-pagination>).
    pub row_key: Option<String>,
}

/// One page of a query.
#[derive(Debug, Clone, PartialEq)]
pub struct EntityPage {
    pub entities: Vec<Map<String, Value>>,
    pub next: Option<Continuation>,
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

    /// One page of Query Entities (`GET {table}()`, optional `$filter`, `$top`), resuming at
    /// `from` (the continuation of the page before). Azure answers at most 1000 entities and,
    /// when more remain, `x-ms-continuation-NextPartitionKey`/`NextRowKey` to send back as
    /// `NextPartitionKey`/`NextRowKey`
    /// (<https://learn.microsoft.com/rest/api/storageservices/query-timeout-and-pagination>).
    /// A page may be empty and still carry a token.
    pub async fn query_entities(
        &self,
        table: &SasUrl,
        filter: Option<&str>,
        top: usize,
        from: Option<&Continuation>,
    ) -> Result<EntityPage> {
        let top = top.to_string();
        let mut params: Vec<(&str, &str)> = vec![("$top", &top)];
        if let Some(f) = filter {
            params.push(("$filter", f));
        }
        if let Some(c) = from {
            params.push(("NextPartitionKey", &c.partition_key));
            if let Some(row_key) = &c.row_key {
                params.push(("NextRowKey", row_key));
            }
        }
        let url = table.request_url("()", &params);
        let reply = self
            .execute(|http| {
                http.get(url.clone())
                    .header("Accept", ACCEPT)
                    .header("DataServiceVersion", "3.0")
            })
            .await?;
        let entities = match serde_json::from_slice::<Value>(&reply.body) {
            Ok(Value::Object(mut m)) => match m.remove("value") {
                Some(Value::Array(list)) => list
                    .into_iter()
                    .filter_map(|v| match v {
                        Value::Object(e) => Some(e),
                        _ => None,
                    })
                    .collect(),
                _ => {
                    return Err(Error::BadResponse(
                        "table query answer has no \"value\" list".into(),
                    ));
                }
            },
            Ok(_) => {
                return Err(Error::BadResponse(
                    "table query answer is not a JSON object".into(),
                ));
            }
            Err(e) => {
                return Err(Error::BadResponse(format!(
                    "table query answer is not JSON: {e}"
                )));
            }
        };
        let header = |n| reply.header(n).map(str::to_string);
        let next = header("x-ms-continuation-NextPartitionKey").map(|partition_key| Continuation {
            partition_key,
            row_key: header("x-ms-continuation-NextRowKey"),
        });
        Ok(EntityPage { entities, next })
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
