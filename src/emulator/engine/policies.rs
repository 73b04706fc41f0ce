//! The IngestionBatching policy: its JSON, its defaults and limits, the `.alter[-merge]`,
//! `.delete` and `.show` commands on tables and databases, and the effective policy the DM uses
//! (table ⊳ database ⊳ default).
//!
//! Source: dataexplorer-docs `kusto/management/batching-policy.md` (defaults and limits),
//! `alter-table-ingestion-batching-policy.md` (unspecified fields take defaults),
//! `alter-merge-table-ingestion-batching-policy.md` (unspecified fields keep their value),
//! `kusto/api/get-started/app-management-commands.md` (result row: `IngestionBatchingPolicy`,
//! `[db].[table]`, `Table`), `retention-policy.md` (an unset policy shows as `null`).

use std::time::Duration;

use serde_json::{Value, json};

use super::commands::{Parser, PolicyTarget};
use super::lexer::Tok;
use super::{Engine, EngineError};
use crate::client::mgmt::V1Table;

pub const POLICY_NAME: &str = "IngestionBatchingPolicy";

/// One IngestionBatching policy. A batch seals at the first limit reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchingPolicy {
    pub max_time: Duration,
    pub max_items: u32,
    pub max_raw_mb: u32,
}

impl Default for BatchingPolicy {
    /// 5 minutes, 500 items, 1024 MB (batching-policy.md, "Defaults and limits").
    fn default() -> Self {
        BatchingPolicy {
            max_time: Duration::from_secs(300),
            max_items: 500,
            max_raw_mb: 1024,
        }
    }
}

const MIN_TIME: Duration = Duration::from_secs(10);
const MAX_TIME: Duration = Duration::from_secs(30 * 60);
const ITEMS: (u32, u32) = (1, 25_000);
const RAW_MB: (u32, u32) = (100, 4096);

/// Where the effective policy came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicySource {
    Table,
    Database,
    Default,
}

impl PolicySource {
    pub fn as_str(self) -> &'static str {
        match self {
            PolicySource::Table => "Table",
            PolicySource::Database => "Database",
            PolicySource::Default => "Default",
        }
    }
}

pub use crate::client::wire::{format_timespan, parse_timespan};

impl BatchingPolicy {
    pub fn to_json(&self) -> Value {
        json!({
            "MaximumBatchingTimeSpan": format_timespan(self.max_time),
            "MaximumNumberOfItems": self.max_items,
            "MaximumRawDataSizeMB": self.max_raw_mb,
        })
    }

    pub fn max_raw_bytes(&self) -> u64 {
        u64::from(self.max_raw_mb) * 1024 * 1024
    }

    /// Applies the fields present in `json` on top of `base` (defaults for `.alter`, the
    /// current policy for `.alter-merge`), checking the documented limits.
    pub fn from_json(json: &str, base: BatchingPolicy) -> Result<BatchingPolicy, EngineError> {
        let bad = |m: String| EngineError::bad_request("General_BadRequest", m);
        let v: Value = serde_json::from_str(json)
            .map_err(|e| bad(format!("the ingestion batching policy is not JSON: {e}")))?;
        let Value::Object(obj) = v else {
            return Err(bad(
                "the ingestion batching policy must be a JSON object".into()
            ));
        };
        let get = |name: &str| -> Option<&Value> {
            obj.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        };
        let mut p = base;
        if let Some(v) = get("MaximumBatchingTimeSpan").filter(|v| !v.is_null()) {
            let t = v
                .as_str()
                .and_then(parse_timespan)
                .ok_or_else(|| bad(format!("MaximumBatchingTimeSpan: '{v}' is not a timespan")))?;
            if !(MIN_TIME..=MAX_TIME).contains(&t) {
                return Err(bad(format!(
                    "MaximumBatchingTimeSpan {} is outside 00:00:10..00:30:00",
                    format_timespan(t)
                )));
            }
            p.max_time = t;
        }
        let int = |name: &str, (lo, hi): (u32, u32)| -> Result<Option<u32>, EngineError> {
            let Some(v) = get(name).filter(|v| !v.is_null()) else {
                return Ok(None);
            };
            let n = v
                .as_u64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| bad(format!("{name}: '{v}' is not a whole number")))?;
            if !(lo..=hi).contains(&n) {
                return Err(bad(format!("{name} {n} is outside {lo}..{hi}")));
            }
            Ok(Some(n))
        };
        if let Some(n) = int("MaximumNumberOfItems", ITEMS)? {
            p.max_items = n;
        }
        if let Some(n) = int("MaximumRawDataSizeMB", RAW_MB)? {
            p.max_raw_mb = n;
        }
        Ok(p)
    }
}

/// What a policy command does.
#[derive(Debug, Clone, PartialEq)]
pub enum PolicyOp {
    Alter { json: String, merge: bool },
    Delete,
    Show,
}

/// Parses what follows `.alter`/`.alter-merge`/`.delete`/`.show` `table T|tables (…)|database D`
/// once `policy` has been seen: `ingestionbatching` and, for alters, the policy literal.
pub(super) fn parse_policy_tail(p: &mut Parser, op_word: &str) -> Result<PolicyOp, String> {
    p.expect_word("ingestionbatching")?;
    let op = match op_word {
        ".alter" | ".alter-merge" => {
            let json = match p.peek() {
                Some(Tok::Str(_)) => p.string("the policy")?,
                _ => {
                    return Err(format!(
                        "expected the policy JSON as a string literal{}",
                        p.found()
                    ));
                }
            };
            PolicyOp::Alter {
                json,
                merge: op_word == ".alter-merge",
            }
        }
        ".delete" => PolicyOp::Delete,
        _ => PolicyOp::Show,
    };
    p.end()?;
    Ok(op)
}

/// `T` or `D.T` (the lexer keeps the dot inside one word).
pub(super) fn split_qualified(name: &str) -> (Option<String>, String) {
    match name.split_once('.') {
        Some((d, t)) if !d.is_empty() && !t.is_empty() => (Some(d.to_string()), t.to_string()),
        _ => (None, name.to_string()),
    }
}

/// The result of every policy command: one row per entity.
pub(super) fn result_table() -> V1Table {
    V1Table::new(
        "Table_0",
        &[
            ("PolicyName", "string"),
            ("EntityName", "string"),
            ("Policy", "string"),
            ("ChildEntities", "string"),
            ("EntityType", "string"),
        ],
    )
}

/// One row of [`result_table`]: `entity` as `[db]` or `[db].[table]`, the policy cell.
pub(super) fn policy_row(policy: &str, entity: String, cell: Value, table: bool) -> Vec<Value> {
    vec![
        policy.into(),
        entity.into(),
        cell,
        if table { Value::Null } else { "".into() },
        if table { "Table" } else { "Database" }.into(),
    ]
}

fn policy_cell(p: Option<&BatchingPolicy>) -> Value {
    p.map_or(Value::Null, |p| p.to_json().to_string().into())
}

impl Engine {
    /// Replaces MaximumBatchingTimeSpan of every policy (the emulator's `batch_window`), so
    /// tests and demos need not wait the service's 5 minutes.
    pub fn set_batching_time_override(&mut self, t: Option<Duration>) {
        self.batching_time_override = t;
    }

    /// The policy the DM applies to `database.table`: the table's, else the database's, else
    /// the defaults, with the time override applied. Unknown entities get the defaults (the DM
    /// then reports them as not found).
    pub fn effective_batching(
        &self,
        database: &str,
        table: &str,
    ) -> (BatchingPolicy, PolicySource) {
        let d = self.db(database);
        let (mut p, source) = match (
            d.and_then(|d| d.table(table)).and_then(|t| t.batching),
            d.and_then(|d| d.batching),
        ) {
            (Some(p), _) => (p, PolicySource::Table),
            (None, Some(p)) => (p, PolicySource::Database),
            (None, None) => (BatchingPolicy::default(), PolicySource::Default),
        };
        if let Some(t) = self.batching_time_override {
            p.max_time = t;
        }
        (p, source)
    }

    /// The longest batching time any batch can have now (override, policies or default).
    pub fn longest_batching_time(&self) -> Duration {
        if let Some(t) = self.batching_time_override {
            return t;
        }
        self.databases
            .iter()
            .flat_map(|d| {
                d.batching
                    .iter()
                    .chain(d.tables.iter().filter_map(|t| t.batching.as_ref()))
            })
            .map(|p| p.max_time)
            .fold(BatchingPolicy::default().max_time, Duration::max)
    }

    pub(super) fn run_policy(
        &mut self,
        database: Option<&str>,
        target: PolicyTarget,
        op: PolicyOp,
    ) -> Result<V1Table, EngineError> {
        match target {
            PolicyTarget::Database(name) => {
                let d = self
                    .db_mut(&name)
                    .ok_or_else(|| EngineError::not_found("Database", &name))?;
                match op {
                    PolicyOp::Alter { json, merge } => {
                        let base = if merge {
                            d.batching.unwrap_or_default()
                        } else {
                            BatchingPolicy::default()
                        };
                        d.batching = Some(BatchingPolicy::from_json(&json, base)?);
                    }
                    PolicyOp::Delete => d.batching = None,
                    PolicyOp::Show => {}
                }
                let mut t = result_table();
                t.rows.push(policy_row(
                    POLICY_NAME,
                    format!("[{}]", d.name),
                    policy_cell(d.batching.as_ref()),
                    false,
                ));
                Ok(t)
            }
            PolicyTarget::Tables {
                database: qualified,
                tables,
            } => {
                let db = self.context_db(qualified.as_deref().or(database))?;
                // Refuse a bad policy before altering any of the tables.
                if let PolicyOp::Alter { json, .. } = &op {
                    BatchingPolicy::from_json(json, BatchingPolicy::default())?;
                }
                let mut out = result_table();
                for name in tables {
                    let (dname, t) = self.policy_table(&db, &name)?;
                    match &op {
                        PolicyOp::Alter { json, merge } => {
                            let base = if *merge {
                                t.batching.unwrap_or_default()
                            } else {
                                BatchingPolicy::default()
                            };
                            t.batching = Some(BatchingPolicy::from_json(json, base)?);
                        }
                        PolicyOp::Delete => t.batching = None,
                        PolicyOp::Show => {}
                    }
                    out.rows.push(policy_row(
                        POLICY_NAME,
                        format!("[{dname}].[{}]", t.name),
                        policy_cell(t.batching.as_ref()),
                        true,
                    ));
                }
                Ok(out)
            }
        }
    }

    /// Table `name` of database `db` for a policy command, with the database's name as
    /// stored; 404 for either missing.
    pub(super) fn policy_table(
        &mut self,
        db: &str,
        name: &str,
    ) -> Result<(String, &mut super::Table), EngineError> {
        let d = self
            .db_mut(db)
            .ok_or_else(|| EngineError::not_found("Database", db))?;
        let dname = d.name.clone();
        let t = d
            .table_mut(name)
            .ok_or_else(|| EngineError::not_found("Table", name))?;
        Ok((dname, t))
    }

    /// `.show emulator batching T`: the effective policy of a table, where it came from, and
    /// the emulator's time override (which replaces MaximumBatchingTimeSpan everywhere).
    pub(super) fn show_effective_batching(
        &self,
        database: Option<&str>,
        table: &str,
    ) -> Result<V1Table, EngineError> {
        let (qualified, table) = split_qualified(table);
        let db = self.context_db(qualified.as_deref().or(database))?;
        if self.row_count(&db, &table).is_none() {
            return Err(EngineError::not_found("Table", &table));
        }
        let (p, source) = self.effective_batching(&db, &table);
        let time_override = self.batching_time_override;
        let mut out = V1Table::new(
            "Table_0",
            &[
                ("DatabaseName", "string"),
                ("TableName", "string"),
                ("Policy", "string"),
                ("PolicySource", "string"),
                ("BatchingTimeOverride", "string"),
            ],
        );
        out.rows.push(vec![
            db.into(),
            table.into(),
            p.to_json().to_string().into(),
            source.as_str().into(),
            time_override.map_or(Value::Null, |t| format_timespan(t).into()),
        ]);
        Ok(out)
    }
}
