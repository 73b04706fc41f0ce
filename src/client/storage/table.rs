//! Table REST (JSON, odata=nometadata): Insert, Get, Merge Entity, Create Table.

use serde_json::{Map, Value};

use super::{SasUrl, Storage};
use crate::client::error::Result;

impl Storage {
    /// Insert Entity (`Prefer: return-no-content`). 409 → `Error::Storage{code:"EntityAlreadyExists"}`.
    pub async fn insert_entity(&self, table: &SasUrl, entity: &Map<String, Value>) -> Result<()> {
        todo!("{table} {entity:?}")
    }
    /// Get Entity by keys; `None` when it does not exist.
    pub async fn get_entity(
        &self,
        table: &SasUrl,
        partition_key: &str,
        row_key: &str,
    ) -> Result<Option<Map<String, Value>>> {
        todo!("{table} {partition_key} {row_key}")
    }
    /// Merge Entity (`MERGE`, `If-Match: *`); the entity must exist.
    pub async fn merge_entity(
        &self,
        table: &SasUrl,
        partition_key: &str,
        row_key: &str,
        props: &Map<String, Value>,
    ) -> Result<()> {
        todo!("{table} {partition_key} {row_key} {props:?}")
    }
    /// Create Table (via the table URL's account `Tables` endpoint); "already exists" is fine.
    pub async fn create_table(&self, table: &SasUrl) -> Result<()> {
        todo!("{table}")
    }
}
