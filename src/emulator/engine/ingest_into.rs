//! Direct ingestion, the engine's half: parsing `.ingest [async] into table T SourceDataLocator
//! [with (…)]` (DOCS `kusto/management/data-ingestion/ingest-into-command.md`), the result
//! rows (ExtentId guid, ItemLoaded string, Duration timespan, HasErrors bool, OperationId guid:
//! "Returns" in the same page), and the operations log `.show operations` reads (DOCS
//! `kusto/management/show-operations.md`). Reading the blobs is the HTTP layer's part
//! (`emulator::http::direct`), which then ingests each through [`Engine::ingest`].

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::commands::Parser;
use super::lexer::Tok;
use super::policies::split_qualified;
use super::{Engine, EngineError};
use crate::client::mgmt::V1Table;

/// One parsed `.ingest into`.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestInto {
    pub is_async: bool,
    pub database: Option<String>,
    pub table: String,
    /// The storage connection strings, as written (with their secrets).
    pub sources: Vec<String>,
    /// `with (…)`: names as written, values as JSON (strings, bools, numbers).
    pub properties: Map<String, Value>,
}

/// `Some` when `text` is an `.ingest [async] into` command (its parse result), `None` for
/// anything else (`.ingest inline`, `.ingest-from-storage-queued`, …).
pub fn parse(text: &str) -> Option<Result<IngestInto, EngineError>> {
    let mut p = Parser::of(text).ok()?;
    if !p.eat_word(".ingest") {
        return None;
    }
    let is_async = p.eat_word("async");
    if !p.is_word("into") {
        return None;
    }
    Some(parse_rest(&mut p, is_async).map_err(EngineError::syntax))
}

fn parse_rest(p: &mut Parser, is_async: bool) -> Result<IngestInto, String> {
    p.expect_word("into")?;
    p.expect_word("table")?;
    let (database, table) = split_qualified(&p.name("table")?);
    let mut sources = Vec::new();
    if p.eat_punct('(') {
        loop {
            sources.push(p.string("a storage connection string")?);
            if !p.eat_punct(',') {
                p.expect_punct(')')?;
                break;
            }
        }
    } else {
        sources.push(p.string("a storage connection string")?);
    }
    let mut properties = Map::new();
    if p.eat_word("with") {
        p.expect_punct('(')?;
        loop {
            let name = p.name("property")?;
            p.expect_punct('=')?;
            let value = match p.next() {
                Some(Tok::Str(s)) => Value::String(s),
                Some(Tok::Word(w)) if w.eq_ignore_ascii_case("true") => Value::Bool(true),
                Some(Tok::Word(w)) if w.eq_ignore_ascii_case("false") => Value::Bool(false),
                Some(Tok::Word(w)) => Value::String(w),
                _ => return Err(format!("expected a value for property '{name}'")),
            };
            properties.insert(name, value);
            if !p.eat_punct(',') {
                p.expect_punct(')')?;
                break;
            }
        }
    }
    p.end()?;
    if sources.iter().any(|s| s.trim().is_empty()) {
        return Err("a storage connection string is empty".into());
    }
    Ok(IngestInto {
        is_async,
        database,
        table,
        sources,
        properties,
    })
}

/// One row of the command's result.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemResult {
    /// `None`: no extent was created (shown as the all-zero guid).
    pub extent_id: Option<String>,
    /// The source, without its query or `;…` credentials.
    pub item: String,
    pub duration: std::time::Duration,
    pub has_errors: bool,
}

/// The result table of `.ingest into` with `operation_id` on every row.
pub fn result_table(items: &[ItemResult], operation_id: &str) -> V1Table {
    let mut t = V1Table::new(
        "Table_0",
        &[
            ("ExtentId", "guid"),
            ("ItemLoaded", "string"),
            ("Duration", "timespan"),
            ("HasErrors", "bool"),
            ("OperationId", "guid"),
        ],
    );
    for i in items {
        t.rows.push(vec![
            i.extent_id
                .clone()
                .unwrap_or_else(|| uuid::Uuid::nil().to_string())
                .into(),
            i.item.clone().into(),
            crate::client::wire::format_timespan(i.duration).into(),
            i.has_errors.into(),
            operation_id.into(),
        ]);
    }
    t
}

/// The answer of `.ingest async into`: the operation to follow with `.show operations`.
pub fn async_table(operation_id: &str) -> V1Table {
    let mut t = V1Table::new("Table_0", &[("OperationId", "guid")]);
    t.rows.push(vec![operation_id.into()]);
    t
}

/// One admin operation, as `.show operations` lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    pub id: String,
    /// The command alias: `DataIngestPull` for `.ingest into`.
    pub operation: String,
    pub started: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    /// `InProgress`, `Completed` or `Failed`.
    pub state: &'static str,
    pub status: String,
    pub database: String,
    pub table: String,
}

/// Operations kept (the service keeps two weeks; the emulator a count).
const MAX_OPERATIONS: usize = 10_000;

impl Engine {
    /// The id of the newest extent of `database.table`.
    pub fn last_extent_id(&self, database: &str, table: &str) -> Option<String> {
        self.db(database)?
            .table(table)?
            .extents
            .last()
            .map(|e| e.id.clone())
    }

    /// The database a command without `database(…)` runs in, or the 404 of an unknown one.
    pub fn resolve_database(&self, database: Option<&str>) -> Result<String, EngineError> {
        self.context_db(database)
    }

    /// Records or updates operation `op.id`.
    pub fn record_operation(&mut self, op: Operation) {
        if let Some(o) = self.operations.iter_mut().find(|o| o.id == op.id) {
            *o = op;
            return;
        }
        if self.operations.len() >= MAX_OPERATIONS {
            self.operations.remove(0);
        }
        self.operations.push(op);
    }

    /// `.show operations [id | (id, …)]`.
    pub(super) fn show_operations(&self, ids: &[String]) -> V1Table {
        let mut t = V1Table::new(
            "Table_0",
            &[
                ("OperationId", "string"),
                ("Operation", "string"),
                ("NodeId", "string"),
                ("StartedOn", "datetime"),
                ("LastUpdatedOn", "datetime"),
                ("Duration", "timespan"),
                ("State", "string"),
                ("Status", "string"),
                ("RootActivityId", "guid"),
                ("ShouldRetry", "bool"),
                ("Database", "string"),
                ("Principal", "string"),
                ("User", "string"),
                ("AdminEpochStartTime", "datetime"),
            ],
        );
        let ts = crate::client::wire::format_timestamp;
        for o in self
            .operations
            .iter()
            .filter(|o| ids.is_empty() || ids.iter().any(|i| i.eq_ignore_ascii_case(&o.id)))
        {
            let took = (o.updated - o.started).to_std().unwrap_or_default();
            t.rows.push(vec![
                o.id.clone().into(),
                o.operation.clone().into(),
                "".into(),
                ts(o.started).into(),
                ts(o.updated).into(),
                crate::client::wire::format_timespan(took).into(),
                o.state.into(),
                o.status.clone().into(),
                uuid::Uuid::new_v4().to_string().into(),
                false.into(),
                o.database.clone().into(),
                "".into(),
                "".into(),
                Value::Null,
            ]);
        }
        t
    }
}

/// `.show operations` with no id, one id, or a parenthesised list (the `.show` already eaten).
pub(super) fn parse_show_operations(p: &mut Parser) -> Result<Vec<String>, String> {
    let mut ids = Vec::new();
    let one = |p: &mut Parser| match p.next() {
        Some(Tok::Str(s) | Tok::Word(s)) => Ok(s),
        _ => Err("expected an operation id".to_string()),
    };
    if p.eat_punct('(') {
        loop {
            ids.push(one(p)?);
            if !p.eat_punct(',') {
                p.expect_punct(')')?;
                break;
            }
        }
    } else if !p.at_end() {
        ids.push(one(p)?);
    }
    p.end()?;
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_forms_parse() {
        let c = parse(
            ".ingest into table T (\n h'https://a.blob.core.windows.net/c/f1.csv?sig=S',\n \
             'https://a/c/f2.csv;managed_identity=system'\n) with (format='csv', \
             ignoreFirstRecord=true, tags='[\"a\"]')",
        )
        .unwrap()
        .unwrap();
        assert!(!c.is_async);
        assert_eq!(c.table, "T");
        assert_eq!(c.sources.len(), 2);
        assert!(c.sources[0].ends_with("sig=S"));
        assert_eq!(c.properties["format"], "csv");
        assert_eq!(c.properties["ignoreFirstRecord"], true);
        assert_eq!(c.properties["tags"], "[\"a\"]");

        let c = parse(".ingest async into table demo.T h'https://a/b.json' with (format=json)")
            .unwrap()
            .unwrap();
        assert!(c.is_async);
        assert_eq!(c.database.as_deref(), Some("demo"));
        assert_eq!(c.properties["format"], "json");

        assert!(parse(".ingest inline into table T <| 1").is_none());
        assert!(parse(".show tables").is_none());
        for bad in [
            ".ingest into table T",
            ".ingest into table T ()",
            ".ingest into table T ('') ",
            ".ingest into table T ('u') with (format)",
            ".ingest into T ('u')",
        ] {
            assert_eq!(
                parse(bad).unwrap().unwrap_err().code,
                "BadRequest_SyntaxError",
                "{bad}"
            );
        }
    }

    #[test]
    fn result_rows_have_the_documented_types() {
        let items = [
            ItemResult {
                extent_id: Some("e1".into()),
                item: "https://a/b.csv".into(),
                duration: std::time::Duration::from_millis(1500),
                has_errors: false,
            },
            ItemResult {
                extent_id: None,
                item: "https://a/c.csv".into(),
                duration: std::time::Duration::ZERO,
                has_errors: true,
            },
        ];
        let t = result_table(&items, "op");
        let types: Vec<_> = t.columns.iter().map(|c| c.column_type.as_deref()).collect();
        assert_eq!(
            types,
            [
                Some("guid"),
                Some("string"),
                Some("timespan"),
                Some("bool"),
                Some("guid")
            ]
        );
        assert_eq!(t.rows[0][2], "00:00:01.5000000");
        assert_eq!(t.rows[1][0], "00000000-0000-0000-0000-000000000000");
        assert_eq!(t.rows[1][3], true);
        assert_eq!(async_table("op").rows[0][0], "op");
    }
}
