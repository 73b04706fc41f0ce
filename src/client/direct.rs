//! Direct ingestion: `.ingest into table T (h'blob') with (…)` on the engine, which ingests
//! synchronously and answers one row per extent it created (DOCS
//! `kusto/management/data-ingestion/ingest-into-command.md`, "Returns").

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::client::IngestClient;
use crate::client::error::{Error, Result};
use crate::client::mgmt::V1Table;
use crate::client::storage::SasUrl;
use crate::client::submit::SubmitRequest;
use crate::client::tracking::{Answer, ErrorInfo, TrackState};

/// A KQL string literal of `text` (backslash escapes; the value may hold quotes, newlines).
fn literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// `.ingest into table ['T'] (h'<blob>') with (…)`: the blob as an obfuscated literal (the
/// docs recommend it for connection strings with secrets), each property as the queued
/// message would carry it.
pub fn command(table: &str, blob: &SasUrl, properties: &Map<String, Value>) -> String {
    let mut with: Vec<String> = Vec::new();
    for (k, v) in properties {
        let value = match v {
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            Value::String(s) => literal(s),
            other => literal(&other.to_string()),
        };
        with.push(format!("{k}={value}"));
    }
    let mut csl = format!(
        ".ingest into table [{}] (h{})",
        literal(table),
        literal(blob.expose())
    );
    if !with.is_empty() {
        csl.push_str(&format!(" with ({})", with.join(", ")));
    }
    csl
}

/// The outcome of the returned rows: every item ingested, some, or none.
pub fn answer(rows: &[DirectRow]) -> Answer {
    let failed = rows.iter().filter(|r| r.has_errors).count();
    match failed {
        0 => Answer::succeeded(),
        n => Answer {
            state: if n == rows.len() {
                TrackState::Failed
            } else {
                TrackState::PartiallySucceeded
            },
            error: ErrorInfo {
                code: None,
                failure_status: Some("Permanent".into()),
                details: Some(format!("{n} of {} item(s) had errors", rows.len())),
            },
        },
    }
}

/// Runs `.ingest into` for `blob` on the engine and reads its rows. A refusal of the service
/// (a OneApi error it marks permanent) is the source's final answer, with the service's code;
/// anything else (network, throttling, server errors) is an error of the submit.
pub(crate) async fn ingest_into(
    client: &IngestClient,
    req: &SubmitRequest,
    blob: &SasUrl,
    properties: &Map<String, Value>,
) -> Result<(Answer, Vec<DirectRow>)> {
    let csl = command(&req.table, blob, properties);
    match client.engine_mgmt(&req.database, &csl).await {
        Ok(tables) => {
            let t = crate::client::mgmt::primary(tables, ".ingest into")?;
            let rows = DirectRow::from_table(&t)?;
            Ok((answer(&rows), rows))
        }
        Err(Error::Service {
            code,
            message,
            permanent: true,
            ..
        }) => Ok((Answer::failed(&code, true, &message), vec![])),
        Err(e) => Err(e),
    }
}

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
    fn the_command_hides_the_blob_and_quotes_every_value() {
        let blob = SasUrl::parse("https://a.blob.core.windows.net/c/b.csv.gz?sv=1&sig=S").unwrap();
        let mut props = Map::new();
        props.insert("format".into(), "csv".into());
        props.insert("ignoreFirstRecord".into(), true.into());
        props.insert("tags".into(), r#"["it's"]"#.into());
        let csl = command("My'T", &blob, &props);
        assert!(
            csl.starts_with(r".ingest into table ['My\'T'] (h'https://a.blob.core.windows.net/c/b.csv.gz?sv=1&sig=S')"),
            "{csl}"
        );
        assert!(csl.contains("format='csv'"), "{csl}");
        assert!(csl.contains("ignoreFirstRecord=true"), "{csl}");
        assert!(csl.contains(r#"tags='["it\'s"]'"#), "{csl}");
        assert_eq!(literal("a\nb\\"), r"'a\nb\\'");
    }

    #[test]
    fn rows_with_errors_make_the_answer_partial_or_failed() {
        let row = |e: bool| DirectRow {
            extent_id: "x".into(),
            item_loaded: "i".into(),
            duration: "00:00:00".into(),
            has_errors: e,
            operation_id: "o".into(),
        };
        assert_eq!(answer(&[row(false)]).state, TrackState::Succeeded);
        assert_eq!(
            answer(&[row(false), row(true)]).state,
            TrackState::PartiallySucceeded
        );
        assert_eq!(answer(&[row(true)]).state, TrackState::Failed);
    }

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
