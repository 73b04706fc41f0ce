//! What the engine says about a table: its schema (`.show table T cslschema`), its ingestion
//! mappings, its IngestionBatching policy (table, else database, else the default) and whether
//! streaming ingestion is enabled. Read through the engine's mgmt endpoint.

use serde::Serialize;
use serde_json::Value;

use crate::client::IngestClient;
use crate::client::error::{Error, Result};
use crate::client::mgmt::V1Table;
use crate::emulator::engine::dry_run::MappingSpec;
use crate::emulator::engine::policies::{BatchingPolicy, PolicySource};

/// The table as the engine describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct TableFacts {
    pub database: String,
    pub table: String,
    /// `None`: the database does not exist; `Some(None)`: the table does not.
    pub columns: Option<Option<Vec<(String, String)>>>,
    pub mappings: Vec<MappingSpec>,
    pub batching: BatchingPolicy,
    pub batching_source: PolicySource,
    /// `None` when the engine would not say.
    pub streaming_enabled: Option<bool>,
    /// What could not be read (the check goes on without it).
    pub notes: Vec<String>,
}

/// Column name and KQL type, for JSON output.
#[derive(Debug, Serialize)]
pub struct ColumnOut<'a> {
    pub name: &'a str,
    #[serde(rename = "type")]
    pub ty: &'a str,
}

impl TableFacts {
    pub fn columns(&self) -> Option<&[(String, String)]> {
        self.columns.as_ref()?.as_deref()
    }

    /// A table known without asking an engine (tests, the emulator's own view).
    pub fn known(database: &str, table: &str, columns: &[(&str, &str)]) -> TableFacts {
        TableFacts {
            database: database.into(),
            table: table.into(),
            columns: Some(Some(
                columns
                    .iter()
                    .map(|(n, t)| (n.to_string(), t.to_string()))
                    .collect(),
            )),
            mappings: vec![],
            batching: BatchingPolicy::default(),
            batching_source: PolicySource::Default,
            streaming_enabled: None,
            notes: vec![],
        }
    }
}

/// Quotes a name for a command (`['a b']`), as KQL allows any name that way.
fn quote(name: &str) -> String {
    format!("['{}']", name.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// Asks the engine. A missing database or table is a fact, not an error; other failures
/// (auth, network, a command the engine refuses) are errors.
pub async fn fetch(client: &IngestClient, database: &str, table: &str) -> Result<TableFacts> {
    let mut facts = TableFacts {
        database: database.into(),
        table: table.into(),
        columns: None,
        mappings: vec![],
        batching: BatchingPolicy::default(),
        batching_source: PolicySource::Default,
        streaming_enabled: None,
        notes: vec![],
    };
    let t = quote(table);
    match client
        .engine_mgmt(database, &format!(".show table {t} cslschema"))
        .await
    {
        Ok(tables) => {
            facts.columns = Some(Some(parse_cslschema(first(&tables)?)?));
        }
        Err(e) if not_found(&e) => {
            // The engine's message names the entity ("Database 'x' was not found."); a
            // `.show databases` settles it where the wording differs.
            let db_missing = match &e {
                Error::Service { message, .. }
                    if message.to_ascii_lowercase().contains("database") =>
                {
                    true
                }
                _ => !database_listed(client, database).await,
            };
            facts.columns = if db_missing { None } else { Some(None) };
            return Ok(facts);
        }
        Err(e) => return Err(e),
    }
    match client
        .engine_mgmt(database, &format!(".show table {t} ingestion mappings"))
        .await
    {
        Ok(tables) => facts.mappings = parse_mappings(first(&tables)?),
        Err(e) => facts
            .notes
            .push(format!("ingestion mappings not read: {e}")),
    }
    let policy = |csl: String| async move {
        let tables = client.engine_mgmt(database, &csl).await?;
        Ok::<_, Error>(policy_json(first(&tables)?))
    };
    let table_policy = policy(format!(".show table {t} policy ingestionbatching")).await;
    let db_policy = || {
        policy(format!(
            ".show database {} policy ingestionbatching",
            quote(database)
        ))
    };
    let found = match table_policy {
        Ok(Some(json)) => Some((json, PolicySource::Table)),
        Ok(None) => match db_policy().await {
            Ok(p) => p.map(|j| (j, PolicySource::Database)),
            Err(e) => {
                facts
                    .notes
                    .push(format!("database batching policy not read: {e}"));
                None
            }
        },
        Err(e) => {
            facts.notes.push(format!("batching policy not read: {e}"));
            None
        }
    };
    if let Some((json, source)) = found {
        match BatchingPolicy::from_json(&json, BatchingPolicy::default()) {
            Ok(p) => (facts.batching, facts.batching_source) = (p, source),
            Err(e) => facts
                .notes
                .push(format!("batching policy not understood: {e}")),
        }
    }
    let streaming = |csl: String| async move {
        let tables = client.engine_mgmt(database, &csl).await?;
        Ok::<_, Error>(policy_json(first(&tables)?).and_then(|j| is_enabled(&j)))
    };
    facts.streaming_enabled =
        match streaming(format!(".show table {t} policy streamingingestion")).await {
            Ok(Some(on)) => Some(on),
            Ok(None) => streaming(format!(
                ".show database {} policy streamingingestion",
                quote(database)
            ))
            .await
            .ok()
            .map(|on| on.unwrap_or(false)),
            Err(_) => None,
        };
    Ok(facts)
}

fn not_found(e: &Error) -> bool {
    matches!(e, Error::Service { status: 404, .. })
        || matches!(e, Error::Service { code, .. } if code.contains("EntityNotFound") || code.contains("NotExist"))
}

async fn database_listed(client: &IngestClient, database: &str) -> bool {
    let Ok(tables) = client.engine_mgmt(database, ".show databases").await else {
        return true;
    };
    tables.first().is_some_and(|t| {
        t.column("DatabaseName")
            .flatten()
            .filter_map(Value::as_str)
            .any(|n| n.eq_ignore_ascii_case(database))
    })
}

fn first(tables: &[V1Table]) -> Result<&V1Table> {
    tables
        .first()
        .ok_or_else(|| Error::BadResponse("the engine returned no table".into()))
}

/// `Schema` of `.show table T cslschema`: `A:string, ['b c']:long` (DOCS
/// `kusto/management/show-table-schema-command.md`).
pub fn parse_cslschema(t: &V1Table) -> Result<Vec<(String, String)>> {
    let schema = t
        .column("Schema")
        .next()
        .flatten()
        .and_then(Value::as_str)
        .ok_or_else(|| Error::BadResponse("cslschema: no Schema column".into()))?;
    Ok(split_schema(schema))
}

/// Splits `Name:type` pairs at top-level commas (quoted names may hold commas or colons).
pub fn split_schema(schema: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let (mut cur, mut quoted) = (String::new(), None::<char>);
    let mut push = |cur: &mut String| {
        let item = std::mem::take(cur);
        let item = item.trim();
        if item.is_empty() {
            return;
        }
        let (name, ty) = item.rsplit_once(':').unwrap_or((item, "string"));
        let name = name.trim();
        let name = name
            .strip_prefix("['")
            .and_then(|n| n.strip_suffix("']"))
            .or_else(|| name.strip_prefix("[\"").and_then(|n| n.strip_suffix("\"]")))
            .unwrap_or(name);
        out.push((name.to_string(), ty.trim().to_string()));
    };
    for c in schema.chars() {
        match (quoted, c) {
            (None, '\'' | '"') => quoted = Some(c),
            (Some(q), c) if c == q => quoted = None,
            (None, ',') => {
                push(&mut cur);
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    push(&mut cur);
    out
}

fn parse_mappings(t: &V1Table) -> Vec<MappingSpec> {
    let names = t.column("Name");
    let kinds = t.column("Kind");
    let jsons = t.column("Mapping");
    names
        .zip(kinds)
        .zip(jsons)
        .filter_map(|((n, k), j)| {
            Some(MappingSpec {
                name: n?.as_str()?.to_string(),
                kind: k?.as_str()?.to_string(),
                json: j?.as_str()?.to_string(),
            })
        })
        .collect()
}

/// The `Policy` cell: JSON text, or `None` when unset (`null`).
fn policy_json(t: &V1Table) -> Option<String> {
    match t.column("Policy").next().flatten()? {
        Value::String(s) if !s.trim().is_empty() && s.trim() != "null" => Some(s.clone()),
        Value::Object(_) => t.column("Policy").next().flatten().map(Value::to_string),
        _ => None,
    }
}

fn is_enabled(json: &str) -> Option<bool> {
    let v: Value = serde_json::from_str(json).ok()?;
    v.get("IsEnabled").and_then(Value::as_bool)
}
