//! Result tables of the `.show` commands, with Kusto's column names and KQL types.

use serde_json::Value;

use super::{Engine, EngineError};
use crate::client::mgmt::V1Table;
use crate::client::wire::format_timestamp;

pub const BUILD_VERSION: &str = "1.0.9999.0";
const BUILD_TIME: &str = "2025-01-01T00:00:00.0000000Z";

pub fn version() -> V1Table {
    let mut t = V1Table::new(
        "Table_0",
        &[
            ("BuildVersion", "string"),
            ("BuildTime", "datetime"),
            ("ServiceType", "string"),
            ("ProductVersion", "string"),
            ("ServiceOffering", "string"),
        ],
    );
    t.rows.push(vec![
        BUILD_VERSION.into(),
        BUILD_TIME.into(),
        "DataManagement".into(),
        format!("kingest-emulator {}", env!("CARGO_PKG_VERSION")).into(),
        "{\"Type\":\"Azure Data Explorer\"}".into(),
    ]);
    t
}

fn s(v: &str) -> Value {
    Value::String(v.to_string())
}

impl Engine {
    /// `.show databases`; `only` restricts to one (the result of `.create database`).
    pub(super) fn show_databases(&self, current: Option<&str>, only: Option<&str>) -> V1Table {
        let mut t = V1Table::new(
            "Table_0",
            &[
                ("DatabaseName", "string"),
                ("PersistentStorage", "string"),
                ("Version", "string"),
                ("IsCurrent", "bool"),
                ("DatabaseAccessMode", "string"),
                ("PrettyName", "string"),
                ("ReservedSlot1", "datetime"),
                ("DatabaseId", "guid"),
                ("InTransitionTo", "string"),
            ],
        );
        for d in &self.databases {
            if only.is_some_and(|o| !o.eq_ignore_ascii_case(&d.name)) {
                continue;
            }
            let is_current = current.is_some_and(|c| c.eq_ignore_ascii_case(&d.name));
            t.rows.push(vec![
                s(&d.name),
                s(&format!("memory://{}", d.name)),
                s("v1.0"),
                Value::Bool(is_current),
                s("ReadWrite"),
                Value::Null,
                Value::Null,
                s(&d.id),
                s(""),
            ]);
        }
        t
    }

    pub(super) fn show_table_schema(&self, db: &str, table: &str) -> Result<V1Table, EngineError> {
        let tb = self
            .db(db)
            .and_then(|d| d.table(table))
            .ok_or_else(|| EngineError::not_found("Table", table))?;
        let mut t = V1Table::new(
            "Table_0",
            &[
                ("TableName", "string"),
                ("Schema", "string"),
                ("DatabaseName", "string"),
                ("Folder", "string"),
                ("DocString", "string"),
            ],
        );
        t.rows
            .push(vec![s(&tb.name), s(&tb.schema()), s(db), s(""), s("")]);
        Ok(t)
    }

    pub(super) fn show_tables(&self, db: &str, details: bool) -> Result<V1Table, EngineError> {
        let d = self
            .db(db)
            .ok_or_else(|| EngineError::not_found("Database", db))?;
        let mut cols = vec![
            ("TableName", "string"),
            ("DatabaseName", "string"),
            ("Folder", "string"),
            ("DocString", "string"),
        ];
        if details {
            cols.extend([
                ("TotalExtents", "long"),
                ("TotalExtentSize", "real"),
                ("TotalOriginalSize", "real"),
                ("TotalRowCount", "long"),
                ("HotExtents", "long"),
                ("HotExtentSize", "real"),
                ("HotOriginalSize", "real"),
                ("HotRowCount", "long"),
                ("AuthorizedPrincipals", "string"),
                ("RetentionPolicy", "string"),
                ("CachingPolicy", "string"),
                ("ShardingPolicy", "string"),
                ("MergePolicy", "string"),
                ("StreamingIngestionPolicy", "string"),
                ("IngestionBatchingPolicy", "string"),
                ("MinExtentsCreationTime", "datetime"),
                ("MaxExtentsCreationTime", "datetime"),
                ("RowOrderPolicy", "string"),
                ("TableId", "string"),
            ]);
        }
        let mut t = V1Table::new("Table_0", &cols);
        for tb in &d.tables {
            let mut row = vec![s(&tb.name), s(&d.name), s(""), s("")];
            if details {
                let extents = tb.extents.len() as u64;
                let size: u64 = tb.extents.iter().map(|e| e.original_size).sum();
                let min = tb.extents.iter().map(|e| e.created).min();
                let max = tb.extents.iter().map(|e| e.created).max();
                let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
                    t.map(|t| s(&format_timestamp(t))).unwrap_or(Value::Null)
                };
                row.extend([
                    Value::from(extents),
                    Value::from(size as f64),
                    Value::from(size as f64),
                    Value::from(tb.row_count),
                    Value::from(extents),
                    Value::from(size as f64),
                    Value::from(size as f64),
                    Value::from(tb.row_count),
                    s("[]"),
                    Value::Null,
                    Value::Null,
                    Value::Null,
                    Value::Null,
                    super::streaming::policy_cell(tb.streaming.as_ref()),
                    Value::Null,
                    time(min),
                    time(max),
                    Value::Null,
                    s(&format!("{}.{}", d.name, tb.name)),
                ]);
            }
            t.rows.push(row);
        }
        Ok(t)
    }

    pub(super) fn show_extents(
        &self,
        db: &str,
        table: &str,
        tags: &[super::commands::TagFilter],
    ) -> Result<V1Table, EngineError> {
        let tb = self
            .db(db)
            .and_then(|d| d.table(table))
            .ok_or_else(|| EngineError::not_found("Table", table))?;
        let mut t = V1Table::new(
            "Table_0",
            &[
                ("ExtentId", "guid"),
                ("DatabaseName", "string"),
                ("TableName", "string"),
                ("RowCount", "long"),
                ("OriginalSize", "real"),
                ("Tags", "string"),
                ("CreatedOn", "datetime"),
            ],
        );
        for e in tb
            .extents
            .iter()
            .filter(|e| tags.iter().all(|f| f.matches(&e.tags)))
        {
            t.rows.push(vec![
                s(&e.id),
                s(db),
                s(&tb.name),
                Value::from(e.rows),
                Value::from(e.original_size as f64),
                s(&e.tags.join("\r\n")),
                s(&format_timestamp(e.created)),
            ]);
        }
        Ok(t)
    }

    /// `.show [table T] ingestion [kind] mapping(s) [name]`. A named mapping that does not
    /// exist is a 404 like any missing entity.
    pub(super) fn show_mappings(
        &self,
        db: &str,
        table: Option<&str>,
        kind: Option<&str>,
        name: Option<&str>,
    ) -> Result<V1Table, EngineError> {
        let d = self
            .db(db)
            .ok_or_else(|| EngineError::not_found("Database", db))?;
        if let Some(tn) = table
            && d.table(tn).is_none()
        {
            return Err(EngineError::not_found("Table", tn));
        }
        let mut t = V1Table::new(
            "Table_0",
            &[
                ("Name", "string"),
                ("Kind", "string"),
                ("Mapping", "string"),
                ("LastUpdatedOn", "datetime"),
                ("Database", "string"),
                ("Table", "string"),
            ],
        );
        for tb in d
            .tables
            .iter()
            .filter(|tb| table.is_none_or(|n| n == tb.name))
        {
            for m in &tb.mappings {
                if kind.is_some_and(|k| k != m.kind) || name.is_some_and(|n| n != m.name) {
                    continue;
                }
                t.rows.push(vec![
                    s(&m.name),
                    s(&m.kind),
                    s(&m.json),
                    s(&format_timestamp(m.updated)),
                    s(&d.name),
                    s(&tb.name),
                ]);
            }
        }
        if let Some(n) = name
            && t.rows.is_empty()
        {
            return Err(EngineError::not_found("Mapping", n));
        }
        Ok(t)
    }

    /// `.show ingestion failures`: scoped to `db` when it names a database, else all.
    pub(super) fn show_failures(&self, db: Option<&str>, operation_id: Option<&str>) -> V1Table {
        let mut t = V1Table::new(
            "Table_0",
            &[
                ("OperationId", "string"),
                ("Database", "string"),
                ("Table", "string"),
                ("FailedOn", "datetime"),
                ("IngestionSourcePath", "string"),
                ("Details", "string"),
                ("FailureKind", "string"),
                ("RootActivityId", "string"),
                ("OperationKind", "string"),
                ("OriginatesFromUpdatePolicy", "bool"),
                ("ErrorCode", "string"),
                ("Principal", "string"),
                ("User", "string"),
                ("IngestionProperties", "string"),
                ("NumberOfSources", "int"),
                ("ShouldRetry", "bool"),
            ],
        );
        let scope = db.and_then(|n| self.db(n)).map(|d| d.name.as_str());
        for f in &self.failures {
            if scope.is_some_and(|d| !d.eq_ignore_ascii_case(&f.database))
                || operation_id.is_some_and(|o| !o.eq_ignore_ascii_case(&f.operation_id))
            {
                continue;
            }
            t.rows.push(vec![
                s(&f.operation_id),
                s(&f.database),
                s(&f.table),
                s(&format_timestamp(f.failed_on)),
                s(&f.source_path),
                s(&f.details),
                s(f.failure_status.as_str()),
                s(&f.root_activity_id),
                s("DataIngestPull"),
                Value::Bool(false),
                s(&f.error_code),
                s("aadapp=kingest-emulator"),
                s("kingest-emulator"),
                s("{}"),
                Value::from(1),
                Value::Bool(f.failure_status == crate::client::wire::FailureStatus::Transient),
            ]);
        }
        t
    }
}
