//! Tables of JSON entities keyed by (PartitionKey, RowKey), with Timestamp and ETag.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value};

use super::{Store, StoreError, StoreResult, lock};

/// Azure's limits: 252 custom properties, 1 MiB per entity, 1 KiB per key.
const MAX_PROPERTIES: usize = 252;
const MAX_ENTITY_BYTES: usize = 1024 * 1024;
const MAX_KEY_BYTES: usize = 1024;

#[derive(Debug, Default)]
pub(crate) struct Table {
    name: String,
    entities: BTreeMap<(String, String), Entity>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Entity {
    pub partition_key: String,
    pub row_key: String,
    /// Custom properties as JSON values (no keys, no annotations, no Timestamp).
    pub props: Map<String, Value>,
    /// `@odata.type` annotations the writer gave (property → `Edm.*`).
    pub types: BTreeMap<String, String>,
    pub timestamp: DateTime<Utc>,
    pub etag: String,
}

/// (PartitionKey, RowKey).
pub type EntityKeys = (String, String);

/// How Update/Merge treat the stored entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableWrite {
    Replace,
    Merge,
}

fn resource_not_found() -> StoreError {
    StoreError::new(
        404,
        "ResourceNotFound",
        "The specified resource does not exist.",
    )
}

fn table_not_found() -> StoreError {
    StoreError::new(404, "TableNotFound", "The table specified does not exist.")
}

/// `2025-01-01T00:00:00.1234567Z`: Azure's 7-digit timestamp.
pub fn format_timestamp(t: DateTime<Utc>) -> String {
    format!(
        "{}.{:07}Z",
        t.format("%Y-%m-%dT%H:%M:%S"),
        t.timestamp_subsec_nanos() / 100
    )
}

fn etag_for(t: DateTime<Utc>) -> String {
    format!(
        "W/\"datetime'{}'\"",
        format_timestamp(t).replace(':', "%3A")
    )
}

fn check_key(name: &str, v: &str) -> StoreResult<()> {
    let bad = v.len() > MAX_KEY_BYTES
        || v.chars()
            .any(|c| matches!(c, '/' | '\\' | '#' | '?') || c.is_control());
    if bad {
        return Err(StoreError::new(
            400,
            "OutOfRangeInput",
            format!("The {name} is invalid."),
        ));
    }
    Ok(())
}

/// A request body split into keys, properties and type annotations.
type SplitBody = (
    Option<String>,
    Option<String>,
    Map<String, Value>,
    BTreeMap<String, String>,
);

fn split_body(body: &Map<String, Value>) -> StoreResult<SplitBody> {
    if serde_json::to_vec(body).map_or(0, |v| v.len()) > MAX_ENTITY_BYTES {
        return Err(StoreError::new(
            400,
            "EntityTooLarge",
            "The entity is larger than the maximum allowed size (1MB).",
        ));
    }
    let mut pk = None;
    let mut rk = None;
    let mut props = Map::new();
    let mut types = BTreeMap::new();
    for (k, v) in body {
        if let Some(prop) = k.strip_suffix("@odata.type") {
            if let Value::String(t) = v {
                types.insert(prop.to_string(), t.clone());
            }
            continue;
        }
        if k.starts_with("odata.") || k == "Timestamp" {
            continue;
        }
        let key_value = |v: &Value| match v {
            Value::String(s) => Ok(s.clone()),
            _ => Err(StoreError::new(
                400,
                "InvalidInput",
                format!("{k} must be a string."),
            )),
        };
        match k.as_str() {
            "PartitionKey" => pk = Some(key_value(v)?),
            "RowKey" => rk = Some(key_value(v)?),
            _ => {
                if v.is_object() || v.is_array() {
                    return Err(StoreError::new(
                        400,
                        "InvalidInput",
                        format!("Property {k} has an unsupported value type."),
                    ));
                }
                props.insert(k.clone(), v.clone());
            }
        }
    }
    if props.len() > MAX_PROPERTIES {
        return Err(StoreError::new(
            400,
            "TooManyProperties",
            "The entity contains more properties than allowed.",
        ));
    }
    types.retain(|p, _| props.contains_key(p));
    Ok((pk, rk, props, types))
}

impl Store {
    /// A strictly increasing timestamp, so every write gets a new ETag even if the clock stalls.
    fn next_table_ts(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let mut last = lock(&self.last_table_ts);
        let t = if now > *last {
            now
        } else {
            *last + Duration::nanoseconds(100)
        };
        *last = t;
        t
    }

    /// Create Table; 409 `TableAlreadyExists` when present (names are case-insensitive).
    pub fn create_table_checked(&self, name: &str) -> StoreResult<()> {
        let mut ts = lock(&self.tables);
        let key = name.to_ascii_lowercase();
        if ts.contains_key(&key) {
            return Err(StoreError::new(
                409,
                "TableAlreadyExists",
                "The table specified already exists.",
            ));
        }
        ts.insert(
            key,
            Table {
                name: name.to_string(),
                entities: BTreeMap::new(),
            },
        );
        Ok(())
    }

    pub fn delete_table(&self, name: &str) -> StoreResult<()> {
        lock(&self.tables)
            .remove(&name.to_ascii_lowercase())
            .map(|_| ())
            .ok_or_else(table_not_found)
    }

    /// The table's name as created (for `odata.metadata` URLs).
    pub fn table_name(&self, name: &str) -> Option<String> {
        lock(&self.tables)
            .get(&name.to_ascii_lowercase())
            .map(|t| t.name.clone())
    }

    /// Insert Entity; 409 `EntityAlreadyExists`, 400 `PropertiesNeedValue` without keys.
    pub fn insert_entity(
        &self,
        table: &str,
        body: &Map<String, Value>,
        now: DateTime<Utc>,
    ) -> StoreResult<Entity> {
        let (pk, rk, props, types) = split_body(body)?;
        let (Some(pk), Some(rk)) = (pk, rk) else {
            return Err(StoreError::new(
                400,
                "PropertiesNeedValue",
                "The values are not specified for all properties in the entity.",
            ));
        };
        check_key("PartitionKey", &pk)?;
        check_key("RowKey", &rk)?;
        let ts = self.next_table_ts(now);
        let mut tables = lock(&self.tables);
        let t = tables
            .get_mut(&table.to_ascii_lowercase())
            .ok_or_else(table_not_found)?;
        let key = (pk.clone(), rk.clone());
        if t.entities.contains_key(&key) {
            return Err(StoreError::new(
                409,
                "EntityAlreadyExists",
                "The specified entity already exists.",
            ));
        }
        let e = Entity {
            partition_key: pk,
            row_key: rk,
            props,
            types,
            timestamp: ts,
            etag: etag_for(ts),
        };
        t.entities.insert(key, e.clone());
        Ok(e)
    }

    pub fn get_entity(&self, table: &str, pk: &str, rk: &str) -> StoreResult<Entity> {
        let tables = lock(&self.tables);
        let t = tables
            .get(&table.to_ascii_lowercase())
            .ok_or_else(table_not_found)?;
        t.entities
            .get(&(pk.to_string(), rk.to_string()))
            .cloned()
            .ok_or_else(resource_not_found)
    }

    /// Update (replace) or Merge. `if_match` `None` = insert-or-replace/merge (upsert);
    /// `Some("*")` = must exist; `Some(etag)` = must exist with that ETag (412 otherwise).
    #[allow(clippy::too_many_arguments)]
    pub fn write_entity(
        &self,
        table: &str,
        pk: &str,
        rk: &str,
        body: &Map<String, Value>,
        mode: TableWrite,
        if_match: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<Entity> {
        check_key("PartitionKey", pk)?;
        check_key("RowKey", rk)?;
        let (_, _, props, types) = split_body(body)?;
        let ts = self.next_table_ts(now);
        let mut tables = lock(&self.tables);
        let t = tables
            .get_mut(&table.to_ascii_lowercase())
            .ok_or_else(table_not_found)?;
        let key = (pk.to_string(), rk.to_string());
        let existing = t.entities.get(&key);
        match (if_match, existing) {
            (Some(_), None) => return Err(resource_not_found()),
            (Some(tag), Some(e)) if tag != "*" && tag != e.etag => {
                return Err(StoreError::new(
                    412,
                    "UpdateConditionNotSatisfied",
                    "The update condition specified in the request was not satisfied.",
                ));
            }
            _ => {}
        }
        let (props, types) = match (mode, existing) {
            (TableWrite::Merge, Some(e)) => {
                let mut p = e.props.clone();
                let mut ty = e.types.clone();
                for (k, v) in props {
                    ty.remove(&k);
                    p.insert(k, v);
                }
                ty.extend(types);
                (p, ty)
            }
            _ => (props, types),
        };
        let e = Entity {
            partition_key: pk.to_string(),
            row_key: rk.to_string(),
            props,
            types,
            timestamp: ts,
            etag: etag_for(ts),
        };
        t.entities.insert(key, e.clone());
        Ok(e)
    }

    /// Delete Entity (`If-Match` `*` or the current ETag).
    pub fn delete_entity(
        &self,
        table: &str,
        pk: &str,
        rk: &str,
        if_match: &str,
    ) -> StoreResult<()> {
        let mut tables = lock(&self.tables);
        let t = tables
            .get_mut(&table.to_ascii_lowercase())
            .ok_or_else(table_not_found)?;
        let key = (pk.to_string(), rk.to_string());
        let e = t.entities.get(&key).ok_or_else(resource_not_found)?;
        if if_match != "*" && if_match != e.etag {
            return Err(StoreError::new(
                412,
                "UpdateConditionNotSatisfied",
                "The update condition specified in the request was not satisfied.",
            ));
        }
        t.entities.remove(&key);
        Ok(())
    }

    /// All entities in key order, filtered by `keep`, at most `top`.
    pub fn query_entities(
        &self,
        table: &str,
        top: usize,
        keep: impl Fn(&Entity) -> bool,
    ) -> StoreResult<Vec<Entity>> {
        Ok(self.query_page(table, top, None, keep)?.0)
    }

    /// One page of Query Entities: up to `top` matches in key order from `from` (inclusive),
    /// and the keys of the next match when more remain — Azure's continuation token
    /// (`x-ms-continuation-NextPartitionKey`/`NextRowKey` point at the next entity to return:
    /// <https://learn.microsoft.com/rest/api/storageservices/query-timeout-and-pagination>).
    pub fn query_page(
        &self,
        table: &str,
        top: usize,
        from: Option<EntityKeys>,
        keep: impl Fn(&Entity) -> bool,
    ) -> StoreResult<(Vec<Entity>, Option<EntityKeys>)> {
        use std::ops::Bound;
        let tables = lock(&self.tables);
        let t = tables
            .get(&table.to_ascii_lowercase())
            .ok_or_else(table_not_found)?;
        let start = from.map_or(Bound::Unbounded, Bound::Included);
        let mut matches = t
            .entities
            .range((start, Bound::Unbounded))
            .map(|(_, e)| e)
            .filter(|e| keep(e));
        let page: Vec<Entity> = matches.by_ref().take(top).cloned().collect();
        let next = matches
            .next()
            .map(|e| (e.partition_key.clone(), e.row_key.clone()));
        Ok((page, next))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn insert_get_conflict_and_annotations() {
        let s = Store::new();
        s.create_table("Status");
        let body = obj(
            json!({"PartitionKey":"p","PartitionKey@odata.type":"Edm.String",
            "RowKey":"r","n":1,"When":"2025-01-01T00:00:00Z","When@odata.type":"Edm.DateTime",
            "odata.metadata":"x"}),
        );
        let e = s.insert_entity("status", &body, t0()).unwrap();
        assert_eq!(e.props, obj(json!({"n":1,"When":"2025-01-01T00:00:00Z"})));
        assert_eq!(
            e.types.get("When").map(String::as_str),
            Some("Edm.DateTime")
        );
        assert_eq!(s.get_entity("STATUS", "p", "r").unwrap(), e);
        let err = s.insert_entity("Status", &body, t0()).unwrap_err();
        assert_eq!((err.status, err.code), (409, "EntityAlreadyExists"));
        let err = s.get_entity("Status", "p", "x").unwrap_err();
        assert_eq!((err.status, err.code), (404, "ResourceNotFound"));
        let err = s
            .insert_entity("Status", &obj(json!({"RowKey":"r"})), t0())
            .unwrap_err();
        assert_eq!(err.code, "PropertiesNeedValue");
    }

    #[test]
    fn merge_replace_and_etags() {
        let s = Store::new();
        s.create_table("T");
        let e0 = s
            .insert_entity(
                "T",
                &obj(json!({"PartitionKey":"p","RowKey":"r","a":1,"b":2})),
                t0(),
            )
            .unwrap();
        let e1 = s
            .write_entity(
                "T",
                "p",
                "r",
                &obj(json!({"b":3,"c":4})),
                TableWrite::Merge,
                Some("*"),
                t0(),
            )
            .unwrap();
        assert_eq!(e1.props, obj(json!({"a":1,"b":3,"c":4})));
        assert_ne!(e0.etag, e1.etag, "a frozen clock still yields a new ETag");
        let err = s
            .write_entity(
                "T",
                "p",
                "r",
                &obj(json!({})),
                TableWrite::Replace,
                Some(&e0.etag),
                t0(),
            )
            .unwrap_err();
        assert_eq!((err.status, err.code), (412, "UpdateConditionNotSatisfied"));
        let e2 = s
            .write_entity(
                "T",
                "p",
                "r",
                &obj(json!({"z":0})),
                TableWrite::Replace,
                Some(&e1.etag),
                t0(),
            )
            .unwrap();
        assert_eq!(e2.props, obj(json!({"z":0})));
        let err = s
            .write_entity(
                "T",
                "p",
                "missing",
                &obj(json!({})),
                TableWrite::Merge,
                Some("*"),
                t0(),
            )
            .unwrap_err();
        assert_eq!(err.status, 404);
        // Without If-Match it is an upsert.
        s.write_entity(
            "T",
            "p",
            "new",
            &obj(json!({"k":1})),
            TableWrite::Merge,
            None,
            t0(),
        )
        .unwrap();
        assert_eq!(s.query_entities("T", 10, |_| true).unwrap().len(), 2);
        s.delete_entity("T", "p", "new", "*").unwrap();
        assert_eq!(s.query_entities("T", 10, |_| true).unwrap().len(), 1);
    }

    #[test]
    fn query_pages_continue_from_the_next_key() {
        let s = Store::new();
        s.create_table("T");
        for i in 0..5 {
            let body = obj(json!({"PartitionKey": format!("p{i}"), "RowKey": "r", "n": i}));
            s.insert_entity("T", &body, t0()).unwrap();
        }
        let odd = |e: &Entity| e.props["n"].as_i64().is_some_and(|n| n % 2 == 1);
        let (page, next) = s.query_page("T", 2, None, |_| true).unwrap();
        assert_eq!(page.len(), 2);
        assert_eq!(next, Some(("p2".into(), "r".into())));
        let (page, next) = s.query_page("T", 2, next, |_| true).unwrap();
        assert_eq!(page[0].partition_key, "p2");
        let (page, next) = s.query_page("T", 2, next, |_| true).unwrap();
        assert_eq!((page.len(), next), (1, None));
        // The token names the next *match*, not the next key.
        let (page, next) = s.query_page("T", 1, None, odd).unwrap();
        assert_eq!(page[0].partition_key, "p1");
        assert_eq!(next, Some(("p3".into(), "r".into())));
    }

    #[test]
    fn timestamp_format_has_seven_digits() {
        let t = DateTime::from_timestamp(1_700_000_000, 123_456_789).unwrap();
        assert_eq!(format_timestamp(t), "2023-11-14T22:13:20.1234567Z");
        assert_eq!(
            etag_for(t),
            "W/\"datetime'2023-11-14T22%3A13%3A20.1234567Z'\""
        );
    }
}
