//! Direct ingestion: `.ingest into table T (h'blob') with (…)` on the engine, which ingests
//! synchronously and answers one row per extent it created (DOCS
//! `kusto/management/data-ingestion/ingest-into-command.md`, "Returns").

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::client::error::{Error, Result};
use crate::client::mgmt::V1Table;

/// One row of the `.ingest into` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectRow {
    /// The extent created (all zeros when none was).
    pub extent_id: String,
    /// The storage file(s) this row relates to, as the service names them.
    pub item_loaded: String,
    /// A .NET timespan (`00:00:00.0123456`).
    pub duration: String,
    /// The row stands for an ingestion failure.
    pub has_errors: bool,
    /// Usable with `.show operations`.
    pub operation_id: String,
}

impl DirectRow {
    /// The rows of the command's primary table; a column that is missing is an error, a value
    /// in any JSON type is read as text.
    pub fn from_table(t: &V1Table) -> Result<Vec<DirectRow>> {
        let col = |name: &str| {
            t.column_index(name).ok_or_else(|| {
                Error::BadResponse(format!("the .ingest into result has no {name} column"))
            })
        };
        let (e, i, d, h, o) = (
            col("ExtentId")?,
            col("ItemLoaded")?,
            col("Duration")?,
            col("HasErrors")?,
            col("OperationId")?,
        );
        let text = |row: &[Value], i: usize| match row.get(i) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => String::new(),
            Some(v) => v.to_string(),
        };
        Ok(t.rows
            .iter()
            .map(|row| DirectRow {
                extent_id: text(row, e),
                item_loaded: text(row, i),
                duration: text(row, d),
                has_errors: match row.get(h) {
                    Some(Value::Bool(b)) => *b,
                    Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
                    _ => false,
                },
                operation_id: text(row, o),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_read_by_column_name_whatever_their_order() {
        let mut t = V1Table::new(
            "Table_0",
            &[
                ("OperationId", "guid"),
                ("ExtentId", "guid"),
                ("ItemLoaded", "string"),
                ("Duration", "timespan"),
                ("HasErrors", "bool"),
            ],
        );
        t.rows.push(vec![
            "op".into(),
            "ext".into(),
            "https://a/b.csv".into(),
            "00:00:01".into(),
            true.into(),
        ]);
        let rows = DirectRow::from_table(&t).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].extent_id, "ext");
        assert_eq!(rows[0].operation_id, "op");
        assert!(rows[0].has_errors);
        let bare = V1Table::new("Table_0", &[("ExtentId", "guid")]);
        let err = DirectRow::from_table(&bare).unwrap_err().to_string();
        assert!(err.contains("ItemLoaded"), "{err}");
    }
}
