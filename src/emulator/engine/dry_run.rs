//! A scratch engine holding one table as a cluster described it (`cslschema`, its ingestion
//! mappings), so a pre-flight check ingests sample records through the very code the emulator
//! ingests with instead of a copy of its rules.

use chrono::Utc;

use super::types::ColumnType;
use super::{Column, Database, Engine, MappingDef, Table, store};

/// One ingestion mapping as `.show table T ingestion mappings` lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct MappingSpec {
    pub name: String,
    pub kind: String,
    pub json: String,
}

impl Engine {
    /// An engine with one database and one table. Column types the emulator does not know
    /// are read as `string` (the check is about shape, not values); mappings are kept as given
    /// and parsed only when a source refers to them, as the service does.
    pub fn with_table(
        database: &str,
        table: &str,
        columns: &[(String, String)],
        mappings: &[MappingSpec],
    ) -> Engine {
        let columns: Vec<Column> = columns
            .iter()
            .map(|(name, ty)| Column {
                name: name.clone(),
                ty: ColumnType::parse(ty).unwrap_or(ColumnType::String),
            })
            .collect();
        let mappings = mappings
            .iter()
            .map(|m| MappingDef {
                name: m.name.clone(),
                kind: super::commands::mapping_kind(&m.kind)
                    .map_or_else(|| m.kind.clone(), str::to_string),
                json: m.json.clone(),
                updated: Utc::now(),
            })
            .collect();
        let t = Table {
            name: table.to_string(),
            rows: store::Rows::new(columns.iter().map(|c| c.ty)),
            columns,
            row_count: 0,
            extents: vec![],
            mappings,
            batching: None,
            streaming: None,
        };
        Engine {
            databases: vec![Database {
                name: database.to_string(),
                id: uuid::Uuid::new_v4().to_string(),
                tables: vec![t],
                batching: None,
                streaming: None,
            }],
            current: Some(database.to_string()),
            ..Engine::default()
        }
    }
}
