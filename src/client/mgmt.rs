//! Kusto v1 management REST (`POST /v1/rest/mgmt`): request headers, v1 tables read by column
//! name, OneApi errors turned into typed errors.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One column of a v1 table. `DataType` is the .NET name, `ColumnType` the KQL one; readers
/// accept either.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct V1Column {
    #[serde(rename = "ColumnName")]
    pub name: String,
    #[serde(rename = "DataType", default, skip_serializing_if = "Option::is_none")]
    pub data_type: Option<String>,
    #[serde(
        rename = "ColumnType",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub column_type: Option<String>,
}

/// A v1 result table (`{"TableName","Columns","Rows"}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct V1Table {
    #[serde(rename = "TableName", default)]
    pub name: String,
    #[serde(rename = "Columns")]
    pub columns: Vec<V1Column>,
    #[serde(rename = "Rows")]
    pub rows: Vec<Vec<Value>>,
}

impl V1Table {
    /// A table with KQL column types (`string`, `long`, `datetime`, `bool`, `dynamic`, …);
    /// DataType is derived from them.
    pub fn new(name: &str, columns: &[(&str, &str)]) -> Self {
        V1Table {
            name: name.to_string(),
            columns: columns
                .iter()
                .map(|(n, t)| V1Column {
                    name: n.to_string(),
                    data_type: Some(dotnet_type(t).to_string()),
                    column_type: Some(t.to_string()),
                })
                .collect(),
            rows: vec![],
        }
    }

    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// Values of one column by name, row by row.
    pub fn column<'a>(&'a self, name: &str) -> impl Iterator<Item = Option<&'a Value>> + 'a {
        let idx = self.column_index(name);
        self.rows.iter().map(move |r| idx.and_then(|i| r.get(i)))
    }
}

/// The .NET type name of a KQL type (`long` → `Int64`).
pub fn dotnet_type(kql: &str) -> &'static str {
    match kql {
        "long" => "Int64",
        "int" => "Int32",
        "real" => "Double",
        "bool" => "Boolean",
        "datetime" => "DateTime",
        "timespan" => "TimeSpan",
        "guid" => "Guid",
        "decimal" => "Decimal",
        "dynamic" => "Object",
        _ => "String",
    }
}

use crate::client::error::{Error, Result};

/// `{"Tables":[…]}` of a v1 response.
#[derive(Debug, Deserialize)]
struct V1Response {
    #[serde(rename = "Tables")]
    tables: Vec<V1Table>,
}

/// The request body: `{"db","csl","properties"}` (properties is JSON text, as SDKs send it).
pub fn request_body(database: &str, csl: &str) -> String {
    serde_json::json!({
        "db": database,
        "csl": csl,
        "properties": r#"{"Options":{},"Parameters":{}}"#,
    })
    .to_string()
}

/// Parses a v1 success body. With several tables and a TableOfContents, returns them all.
pub fn parse_response(body: &[u8]) -> Result<Vec<V1Table>> {
    let r: V1Response = serde_json::from_slice(body)
        .map_err(|e| Error::BadResponse(format!("not a Kusto v1 response: {e}")))?;
    for t in &r.tables {
        if t.rows.iter().any(|row| row.len() != t.columns.len()) {
            return Err(Error::BadResponse(format!(
                "table '{}' has rows whose width differs from its {} columns",
                t.name,
                t.columns.len()
            )));
        }
        // `.get kusto identity token` (however it was asked): the token is a secret.
        if let Some(i) = t.column_index("AuthorizationContext") {
            for v in t.rows.iter().filter_map(|row| row.get(i)?.as_str()) {
                crate::client::redact::register_credential(v);
            }
        }
    }
    Ok(r.tables)
}

/// Whether a body is an HTML page (a proxy's or sign-in page, not the service's answer).
pub fn looks_like_html(content_type: &str, body: &[u8]) -> bool {
    let head = String::from_utf8_lossy(&body[..body.len().min(512)]).to_ascii_lowercase();
    let head = head.trim_start();
    content_type.to_ascii_lowercase().contains("text/html")
        || head.starts_with("<!doctype html")
        || head.starts_with("<html")
}

/// A 2xx answer that is not a v1 response, naming the (redacted) URL; an HTML page is named as
/// such, never shown.
pub fn not_kusto(url: &str, status: u16, content_type: &str, body: &[u8], err: Error) -> Error {
    if looks_like_html(content_type, body) {
        Error::BadResponse(format!(
            "{url} answered {status} with an HTML page ({} bytes), not a Kusto v1 response: \
             is it the cluster's ingest URL, or did a proxy or sign-in page answer?",
            body.len()
        ))
    } else {
        match err {
            Error::BadResponse(m) => Error::BadResponse(format!("{url}: {m}")),
            other => other,
        }
    }
}

/// Turns an error response into a typed error: OneApi `{"error":{…}}` when present.
pub fn parse_error(status: u16, retry_after: Option<std::time::Duration>, body: &[u8]) -> Error {
    let v: Option<Value> = serde_json::from_slice(body).ok();
    let err = v.as_ref().and_then(|v| v.get("error"));
    let code = err
        .and_then(|e| e.get("code"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let message = err
        .and_then(|e| e.get("@message").or_else(|| e.get("message")))
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| {
            // Redacted before it is cut short: a cut must not leave half a token behind.
            let text = crate::client::redact::redact(String::from_utf8_lossy(body).trim());
            if text.is_empty() {
                format!("HTTP {status}")
            } else if looks_like_html("", body) {
                format!(
                    "HTTP {status} with an HTML page ({} bytes) instead of a Kusto error",
                    body.len()
                )
            } else {
                text.chars().take(300).collect()
            }
        });
    let permanent = err
        .and_then(|e| e.get("@permanent"))
        .and_then(Value::as_bool);
    let message = crate::client::redact::redact(&message);
    match status {
        401 | 403 => Error::Auth(format!(
            "{} ({status}): {message}",
            code.as_deref().unwrap_or(if status == 401 {
                "Unauthorized"
            } else {
                "Forbidden"
            })
        )),
        429 => Error::Throttled { retry_after },
        _ => Error::Service {
            status,
            code: code.unwrap_or_else(|| format!("HTTP{status}")),
            message,
            permanent: permanent.unwrap_or(status < 500),
        },
    }
}

/// The first table of a response, or an error naming the command.
pub fn primary(tables: Vec<V1Table>, csl: &str) -> Result<V1Table> {
    tables
        .into_iter()
        .next()
        .ok_or_else(|| Error::BadResponse(format!("'{csl}' returned no table")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_columns_with_only_data_type() {
        let body = br#"{"Tables":[{"TableName":"Table_0","Columns":[{"ColumnName":"ResourceTypeName","DataType":"String"},{"ColumnName":"StorageRoot","DataType":"String"}],"Rows":[["TempStorage","https://a.blob.core.windows.net/t?sig=1"]]}]}"#;
        let t = parse_response(body).unwrap().remove(0);
        assert_eq!(t.column_index("storageroot"), Some(1));
        assert_eq!(
            t.column("ResourceTypeName").next().flatten().unwrap(),
            "TempStorage"
        );
    }

    #[test]
    fn rejects_ragged_rows_and_garbage() {
        assert!(
            parse_response(
                br#"{"Tables":[{"TableName":"x","Columns":[{"ColumnName":"a"}],"Rows":[[1,2]]}]}"#
            )
            .is_err()
        );
        assert!(parse_response(b"<html>").is_err());
    }

    #[test]
    fn one_api_errors_become_typed() {
        let body = br#"{"error":{"code":"General_BadRequest","message":"Request is invalid","@message":"Syntax error: x","@permanent":true}}"#;
        match parse_error(400, None, body) {
            Error::Service {
                code,
                message,
                permanent,
                status,
            } => {
                assert_eq!(
                    (code.as_str(), message.as_str(), permanent, status),
                    ("General_BadRequest", "Syntax error: x", true, 400)
                );
            }
            e => panic!("{e:?}"),
        }
        assert!(matches!(parse_error(401, None, b""), Error::Auth(_)));
        assert!(matches!(
            parse_error(429, None, b"{}"),
            Error::Throttled { .. }
        ));
        let e = parse_error(503, None, b"busy");
        assert!(e.is_transient(), "{e:?}");
        let e = parse_error(
            520,
            None,
            br#"{"error":{"code":"X","message":"m","@permanent":false}}"#,
        );
        assert!(e.is_transient());
    }
}
