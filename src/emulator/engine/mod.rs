//! The emulated Kusto engine: databases, tables with schemas, ingestion mappings, rows;
//! management commands; parsing of data by format.

pub(crate) mod binary;
pub mod bulk_commands;
mod commands;
pub mod dry_run;
pub(crate) mod formats;
mod ingest;
pub mod ingest_into;
mod lexer;
mod mapping;
pub mod policies;
/// Sample Parquet and Avro files for tests (the `test-fixtures` feature).
#[cfg(any(test, feature = "test-fixtures"))]
pub mod samples;
mod show;
mod store;
pub mod streaming;
mod types;

#[cfg(test)]
mod binary_tests;
#[cfg(test)]
mod policy_tests;
#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::client::mgmt::V1Table;
use crate::client::wire::FailureStatus;

use commands::{Command, CreateMode, QueryOp};
use types::ColumnType;

/// A failed management command; the HTTP layer turns it into a OneApi error (400 unless 404).
#[derive(Debug, Clone, PartialEq)]
pub struct EngineError {
    pub status: u16,
    /// OneApi code, e.g. `General_BadRequest`, `BadRequest_EntityNotFound`, `BadRequest_SyntaxError`.
    pub code: String,
    pub message: String,
}

/// What to ingest where, as the DM worker read it from the message.
#[derive(Debug, Clone, Default)]
pub struct IngestRequest {
    pub database: String,
    pub table: String,
    /// Lowercase format name (`csv`, `json`, …); unknown → BadRequest_FormatNotSupported.
    pub format: String,
    pub mapping_reference: Option<String>,
    /// Inline mapping JSON text.
    pub mapping: Option<String>,
    pub ignore_first_record: bool,
    /// Tags of this source (`tags`), stored with the rows' extent.
    pub tags: Vec<String>,
    /// `ingestIfNotExists` tags: skip when an extent already has one of them.
    pub ingest_if_not_exists: Vec<String>,
    pub creation_time: Option<DateTime<Utc>>,
    pub source_id: String,
    pub extra: Map<String, Value>,
}

impl IngestRequest {
    /// The `zipPattern` property, by name case-insensitively (DOCS
    /// `kusto/includes/ingestion-properties.md`).
    pub fn zip_pattern(&self) -> Option<&str> {
        crate::client::wire::field(&self.extra, "zipPattern")
            .and_then(Value::as_str)
            .filter(|p| !p.trim().is_empty())
    }
}

/// A successful ingest.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestOutcome {
    pub rows: u64,
    /// Records that could not be ingested (PartiallySucceeded when > 0 and rows > 0).
    pub rejected: u64,
    /// True when `ingestIfNotExists` matched and nothing was ingested.
    pub skipped_existing: bool,
}

/// A failed ingest with Kusto's error code name.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestFailure {
    pub error_code: String,
    pub details: String,
    pub status: FailureStatus,
}

/// A failure recorded for `.show ingestion failures`.
#[derive(Debug, Clone, PartialEq)]
pub struct FailureRecord {
    pub operation_id: String,
    pub database: String,
    pub table: String,
    pub failed_on: DateTime<Utc>,
    pub source_path: String,
    pub details: String,
    pub failure_status: FailureStatus,
    pub root_activity_id: String,
    pub error_code: String,
}

/// Rows kept per table for `| take`; counts stay exact beyond it (memory bound for long runs).
const MAX_STORED_ROWS: usize = 100_000;

#[derive(Debug, Clone)]
struct Column {
    name: String,
    ty: ColumnType,
}

#[derive(Debug, Clone)]
struct Extent {
    id: String,
    rows: u64,
    original_size: u64,
    tags: Vec<String>,
    created: DateTime<Utc>,
}

#[derive(Debug, Clone)]
struct MappingDef {
    name: String,
    kind: String,
    json: String,
    updated: DateTime<Utc>,
}

#[derive(Debug, Clone)]
struct Table {
    name: String,
    columns: Vec<Column>,
    /// The first [`MAX_STORED_ROWS`] rows (queries show these; counts use `row_count`).
    rows: store::Rows,
    row_count: u64,
    extents: Vec<Extent>,
    mappings: Vec<MappingDef>,
    batching: Option<policies::BatchingPolicy>,
    streaming: Option<streaming::StreamingPolicy>,
}

impl Table {
    fn schema(&self) -> String {
        self.columns
            .iter()
            .map(|c| format!("{}:{}", c.name, c.ty.kql()))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The `schema as json` form: `{"Name","OrderedColumns":[{"Name","Type","CslType"}]}`.
    fn schema_json(&self) -> Value {
        let cols: Vec<Value> = self
            .columns
            .iter()
            .map(|c| {
                serde_json::json!({
                    "Name": c.name,
                    "Type": format!("System.{}", crate::client::mgmt::dotnet_type(c.ty.kql())),
                    "CslType": c.ty.kql(),
                })
            })
            .collect();
        serde_json::json!({"Name": self.name, "OrderedColumns": cols})
    }
}

#[derive(Debug, Clone)]
struct Database {
    name: String,
    id: String,
    tables: Vec<Table>,
    batching: Option<policies::BatchingPolicy>,
    streaming: Option<streaming::StreamingPolicy>,
}

impl Database {
    fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }
    fn table_mut(&mut self, name: &str) -> Option<&mut Table> {
        self.tables.iter_mut().find(|t| t.name == name)
    }
}

/// The engine's state. Database names match case-insensitively (as Kusto does), table and
/// column names exactly.
#[derive(Debug, Default)]
pub struct Engine {
    databases: Vec<Database>,
    failures: Vec<FailureRecord>,
    /// Set by `.create database`; the context of later commands without a database.
    current: Option<String>,
    /// Replaces MaximumBatchingTimeSpan of every policy when set.
    batching_time_override: Option<std::time::Duration>,
    /// Admin operations (`.ingest into`) for `.show operations`.
    operations: Vec<ingest_into::Operation>,
}

impl EngineError {
    pub(crate) fn syntax(msg: impl Into<String>) -> Self {
        EngineError {
            status: 400,
            code: "BadRequest_SyntaxError".into(),
            message: format!("Syntax error: {}", msg.into()),
        }
    }

    /// Unknown database or table: 404 with `BadRequest_EntityNotFound`, so HTTP clients can
    /// tell "wrong name" from "wrong command".
    fn not_found(kind: &str, name: &str) -> Self {
        EngineError {
            status: 404,
            code: "BadRequest_EntityNotFound".into(),
            message: format!("{kind} '{name}' was not found."),
        }
    }

    fn bad_request(code: &str, msg: impl Into<String>) -> Self {
        EngineError {
            status: 400,
            code: code.into(),
            message: msg.into(),
        }
    }
}

impl std::fmt::Display for EngineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for EngineError {}

impl Engine {
    pub fn new() -> Self {
        Engine::default()
    }

    /// Runs one management command against `database` (the request's `db`; when absent, the
    /// database of the last `.create database`). Unknown databases and tables give 404
    /// `BadRequest_EntityNotFound`; unknown or malformed commands 400 `BadRequest_SyntaxError`.
    pub fn execute(
        &mut self,
        database: Option<&str>,
        csl: &str,
        now: DateTime<Utc>,
    ) -> Result<V1Table, EngineError> {
        let cmd = commands::parse(csl).map_err(EngineError::syntax)?;
        self.run(database, cmd, now)
    }

    /// Runs a schema script: Kusto commands, one per statement; `.create database X` makes X the
    /// current database for what follows. Returns the number of commands run.
    pub fn load_script(&mut self, text: &str) -> Result<usize, EngineError> {
        let now = Utc::now();
        let mut count = 0;
        for (line, stmt) in lexer::split_statements(text) {
            let first = stmt.lines().next().unwrap_or_default();
            let short: String = first.chars().take(60).collect();
            let wrap = |e: EngineError| EngineError {
                message: format!("line {line} ('{short}'): {}", e.message),
                ..e
            };
            let cmd = commands::parse(&stmt).map_err(|m| wrap(EngineError::syntax(m)))?;
            self.run(None, cmd, now).map_err(wrap)?;
            count += 1;
        }
        Ok(count)
    }

    pub fn record_failure(&mut self, failure: FailureRecord) {
        // Bounded like the service's retention, but by count.
        const MAX_FAILURES: usize = 10_000;
        if self.failures.len() >= MAX_FAILURES {
            self.failures.remove(0);
        }
        self.failures.push(failure);
    }

    pub fn database_exists(&self, database: &str) -> bool {
        self.db(database).is_some()
    }

    pub fn row_count(&self, database: &str, table: &str) -> Option<u64> {
        self.db(database)?.table(table).map(|t| t.row_count)
    }

    fn db(&self, name: &str) -> Option<&Database> {
        self.databases
            .iter()
            .find(|d| d.name.eq_ignore_ascii_case(name))
    }

    fn db_mut(&mut self, name: &str) -> Option<&mut Database> {
        self.databases
            .iter_mut()
            .find(|d| d.name.eq_ignore_ascii_case(name))
    }

    fn context_db(&self, database: Option<&str>) -> Result<String, EngineError> {
        let name = database
            .filter(|d| !d.trim().is_empty())
            .map(str::to_string)
            .or_else(|| self.current.clone())
            .ok_or_else(|| {
                EngineError::bad_request(
                    "General_BadRequest",
                    "no database in context: pass `db` or run `.create database` first",
                )
            })?;
        match self.db(&name) {
            Some(d) => Ok(d.name.clone()),
            None => Err(EngineError::not_found("Database", &name)),
        }
    }

    fn run(
        &mut self,
        database: Option<&str>,
        cmd: Command,
        now: DateTime<Utc>,
    ) -> Result<V1Table, EngineError> {
        match cmd {
            Command::CreateDatabase { name } => {
                if self.db(&name).is_none() {
                    self.databases.push(Database {
                        name: name.clone(),
                        id: uuid::Uuid::new_v4().to_string(),
                        tables: vec![],
                        batching: None,
                        streaming: None,
                    });
                }
                self.current = Some(name.clone());
                Ok(self.show_databases(Some(&name), Some(&name)))
            }
            Command::CreateTable {
                name,
                columns,
                mode,
            } => {
                let db = self.context_db(database)?;
                self.create_table(&db, &name, columns, mode)?;
                self.show_table_schema(&db, &name)
            }
            Command::CreateMapping {
                table,
                kind,
                name,
                json,
                mode,
            } => {
                let db = self.context_db(database)?;
                self.create_mapping(&db, &table, &kind, &name, json, mode, now)?;
                self.show_mappings(&db, Some(&table), Some(&kind), Some(&name))
            }
            Command::DropTable { name, if_exists } => {
                let db = self.context_db(database)?;
                if let Some(d) = self.db_mut(&db) {
                    let before = d.tables.len();
                    d.tables.retain(|t| t.name != name);
                    if before == d.tables.len() && !if_exists {
                        return Err(EngineError::not_found("Table", &name));
                    }
                }
                self.show_tables(&db, false)
            }
            Command::ShowDatabases => Ok(self.show_databases(database, None)),
            Command::ShowTables { details } => {
                let db = self.context_db(database)?;
                self.show_tables(&db, details)
            }
            Command::ShowMappings { table, kind, name } => {
                let db = self.context_db(database)?;
                self.show_mappings(&db, table.as_deref(), kind.as_deref(), name.as_deref())
            }
            Command::ShowFailures { operation_id } => {
                Ok(self.show_failures(database, operation_id.as_deref()))
            }
            Command::ShowVersion => Ok(show::version()),
            Command::ShowExtents { table, tags } => {
                let db = self.context_db(database)?;
                self.show_extents(&db, &table, &tags)
            }
            Command::ShowTableSchema { table, json } => {
                let db = self.context_db(database)?;
                let mut t = self.show_table_schema(&db, &table)?;
                if json && let Some(tb) = self.db(&db).and_then(|d| d.table(&table)) {
                    t.rows[0][1] = Value::String(tb.schema_json().to_string());
                }
                Ok(t)
            }
            Command::Query { table, ops } => {
                let db = self.context_db(database)?;
                self.query(&db, &table, &ops)
            }
            Command::BatchingPolicy { target, op } => self.run_policy(database, target, op),
            Command::ShowOperations { ids } => Ok(self.show_operations(&ids)),
            Command::StreamingPolicy { target, op } => {
                self.run_streaming_policy(database, target, op)
            }
            Command::ShowEffectiveBatching { table } => {
                self.show_effective_batching(database, &table)
            }
        }
    }

    fn create_table(
        &mut self,
        db: &str,
        name: &str,
        columns: Vec<(String, ColumnType)>,
        mode: CreateMode,
    ) -> Result<(), EngineError> {
        let columns: Vec<Column> = columns
            .into_iter()
            .map(|(name, ty)| Column { name, ty })
            .collect();
        let d = self
            .db_mut(db)
            .ok_or_else(|| EngineError::not_found("Database", db))?;
        let Some(t) = d.table_mut(name) else {
            d.tables.push(Table {
                name: name.to_string(),
                rows: store::Rows::new(columns.iter().map(|c| c.ty)),
                columns,
                row_count: 0,
                extents: vec![],
                mappings: vec![],
                batching: None,
                streaming: None,
            });
            return Ok(());
        };
        let same = |a: &[Column], b: &[Column]| {
            a.len() == b.len()
                && a.iter()
                    .zip(b)
                    .all(|(x, y)| x.name == y.name && x.ty == y.ty)
        };
        match mode {
            CreateMode::Create if same(&t.columns, &columns) => Ok(()),
            CreateMode::Create => Err(EngineError::bad_request(
                "BadRequest_EntityAlreadyExists",
                format!(
                    "table '{name}' already exists with a different schema ({}); use \
                     .create-merge or .alter",
                    t.schema()
                ),
            )),
            CreateMode::Merge => {
                for c in columns {
                    match t.columns.iter().find(|e| e.name == c.name) {
                        Some(e) if e.ty != c.ty => {
                            return Err(EngineError::bad_request(
                                "BadRequest_BadSchemaChange",
                                format!(
                                    "column '{}' of table '{name}' is {}, not {}",
                                    c.name,
                                    e.ty.kql(),
                                    c.ty.kql()
                                ),
                            ));
                        }
                        Some(_) => {}
                        None => {
                            t.rows.add_column(c.ty);
                            t.columns.push(c);
                        }
                    }
                }
                Ok(())
            }
            CreateMode::Replace => {
                // Keep values of columns that survive by name.
                let old = std::mem::replace(&mut t.columns, columns);
                let idx: Vec<Option<usize>> = t
                    .columns
                    .iter()
                    .map(|c| old.iter().position(|o| o.name == c.name))
                    .collect();
                let types: Vec<ColumnType> = t.columns.iter().map(|c| c.ty).collect();
                t.rows.rearrange(&idx, &types);
                Ok(())
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn create_mapping(
        &mut self,
        db: &str,
        table: &str,
        kind: &str,
        name: &str,
        json: String,
        mode: CreateMode,
        now: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        let d = self
            .db_mut(db)
            .ok_or_else(|| EngineError::not_found("Database", db))?;
        let t = d
            .table_mut(table)
            .ok_or_else(|| EngineError::not_found("Table", table))?;
        let parsed = mapping::parse_mapping(&json).map_err(|e| {
            EngineError::bad_request(
                "BadRequest_InvalidMapping",
                format!("mapping '{name}': {e}"),
            )
        })?;
        if let Some(m) = parsed
            .iter()
            .find(|m| !t.columns.iter().any(|c| c.name == m.column))
        {
            return Err(EngineError::bad_request(
                "BadRequest_InvalidMapping",
                format!(
                    "mapping '{name}' refers to column '{}', which table '{table}' does not have",
                    m.column
                ),
            ));
        }
        let def = MappingDef {
            name: name.to_string(),
            kind: kind.to_string(),
            json,
            updated: now,
        };
        match t
            .mappings
            .iter_mut()
            .find(|m| m.name == name && m.kind == kind)
        {
            Some(existing) if mode == CreateMode::Create && existing.json != def.json => {
                Err(EngineError::bad_request(
                    "BadRequest_EntityAlreadyExists",
                    format!(
                        "{kind} mapping '{name}' already exists on table '{table}'; use \
                         .create-or-alter"
                    ),
                ))
            }
            Some(existing) => {
                *existing = def;
                Ok(())
            }
            None => {
                t.mappings.push(def);
                Ok(())
            }
        }
    }

    fn query(&self, db: &str, table: &str, ops: &[QueryOp]) -> Result<V1Table, EngineError> {
        let t = self
            .db(db)
            .and_then(|d| d.table(table))
            .ok_or_else(|| EngineError::not_found("Table", table))?;
        let mut shown = t.rows.len();
        let mut total = t.row_count;
        for op in ops {
            match op {
                QueryOp::Take(n) => {
                    shown = shown.min(*n);
                    total = total.min(*n as u64);
                }
                QueryOp::Count => {
                    let mut out = V1Table::new("Table_0", &[("Count", "long")]);
                    out.rows.push(vec![Value::from(total)]);
                    return Ok(out);
                }
            }
        }
        let cols: Vec<(&str, &str)> = t
            .columns
            .iter()
            .map(|c| (c.name.as_str(), c.ty.kql()))
            .collect();
        let mut out = V1Table::new("Table_0", &cols);
        out.rows = (0..shown).map(|i| t.rows.row(i)).collect();
        Ok(out)
    }
}
