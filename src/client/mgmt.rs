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

fn dotnet_type(kql: &str) -> &'static str {
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
