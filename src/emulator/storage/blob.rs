//! Block blobs in containers: Put Blob, Put Block / Block List, Get, Delete, List.

use std::collections::{BTreeMap, HashMap};

use base64::Engine as _;
use bytes::{Bytes, BytesMut};
use chrono::{DateTime, Utc};

use super::{Store, StoreError, StoreResult, lock, new_etag};

/// Azure caps uncommitted blocks per blob at 100 000 (and committed at 50 000).
const MAX_UNCOMMITTED_BLOCKS: usize = 100_000;
const MAX_COMMITTED_BLOCKS: usize = 50_000;

#[derive(Debug, Default)]
pub(crate) struct Container {
    pub(crate) etag: String,
    pub(crate) last_modified: Option<DateTime<Utc>>,
    blobs: BTreeMap<String, Blob>,
    /// blob name → block id → data.
    uncommitted: HashMap<String, HashMap<String, Bytes>>,
}

/// Settable blob properties carried by Put Blob / Put Block List.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlobHeaders {
    pub content_type: Option<String>,
    pub content_encoding: Option<String>,
    pub content_md5: Option<String>,
    pub metadata: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobProps {
    pub content_type: String,
    pub content_encoding: Option<String>,
    pub content_md5: Option<String>,
    pub etag: String,
    pub created: DateTime<Utc>,
    pub last_modified: DateTime<Utc>,
    pub metadata: BTreeMap<String, String>,
    pub content_length: u64,
}

#[derive(Debug, Clone)]
pub struct Blob {
    pub data: Bytes,
    pub props: BlobProps,
    /// Committed blocks (id, slice of `data`); empty after a single-shot Put Blob.
    committed: Vec<(String, Bytes)>,
}

/// Committed and uncommitted blocks of a blob: (id, size) each.
pub type BlockLists = (Vec<(String, u64)>, Vec<(String, u64)>);

/// A List Blobs page (name, properties) and the marker of the next page.
pub type BlobPage = (Vec<(String, BlobProps)>, Option<String>);

/// One entry of a Put Block List body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockListItem {
    Latest(String),
    Committed(String),
    Uncommitted(String),
}

fn container_not_found() -> StoreError {
    StoreError::new(
        404,
        "ContainerNotFound",
        "The specified container does not exist.",
    )
}

fn blob_not_found() -> StoreError {
    StoreError::new(404, "BlobNotFound", "The specified blob does not exist.")
}

fn make_props(h: BlobHeaders, len: usize, created: DateTime<Utc>, now: DateTime<Utc>) -> BlobProps {
    BlobProps {
        content_type: h
            .content_type
            .unwrap_or_else(|| "application/octet-stream".to_string()),
        content_encoding: h.content_encoding,
        content_md5: h.content_md5,
        etag: new_etag(),
        created,
        last_modified: now,
        metadata: h.metadata,
        content_length: len as u64,
    }
}

/// A block id must be base64 of at most 64 bytes.
fn check_block_id(id: &str) -> StoreResult<usize> {
    match base64::engine::general_purpose::STANDARD.decode(id) {
        Ok(raw) if !raw.is_empty() && raw.len() <= 64 => Ok(raw.len()),
        _ => Err(StoreError::invalid_query("blockid")),
    }
}

impl Store {
    /// Create Container; 409 `ContainerAlreadyExists` when present.
    pub fn create_container_at(&self, name: &str, now: DateTime<Utc>) -> StoreResult<()> {
        let mut c = lock(&self.containers);
        if c.contains_key(name) {
            return Err(StoreError::new(
                409,
                "ContainerAlreadyExists",
                "The specified container already exists.",
            ));
        }
        c.insert(
            name.to_string(),
            Container {
                etag: new_etag(),
                last_modified: Some(now),
                ..Default::default()
            },
        );
        Ok(())
    }

    /// Container ETag and Last-Modified (Get Container Properties).
    pub fn container_props(&self, name: &str) -> StoreResult<(String, Option<DateTime<Utc>>)> {
        let c = lock(&self.containers);
        let cont = c.get(name).ok_or_else(container_not_found)?;
        Ok((cont.etag.clone(), cont.last_modified))
    }

    pub fn delete_container(&self, name: &str) -> StoreResult<()> {
        lock(&self.containers)
            .remove(name)
            .map(|_| ())
            .ok_or_else(container_not_found)
    }

    /// Put Blob (BlockBlob): replaces any blob of that name and drops its uncommitted blocks.
    pub fn put_blob(
        &self,
        container: &str,
        name: &str,
        data: Bytes,
        headers: BlobHeaders,
        now: DateTime<Utc>,
    ) -> StoreResult<BlobProps> {
        let mut c = lock(&self.containers);
        let cont = c.get_mut(container).ok_or_else(container_not_found)?;
        let created = cont.blobs.get(name).map_or(now, |b| b.props.created);
        let props = make_props(headers, data.len(), created, now);
        cont.uncommitted.remove(name);
        cont.blobs.insert(
            name.to_string(),
            Blob {
                data,
                props: props.clone(),
                committed: Vec::new(),
            },
        );
        Ok(props)
    }

    /// Put Block: stages an uncommitted block (same id replaces it).
    pub fn put_block(
        &self,
        container: &str,
        name: &str,
        block_id: &str,
        data: Bytes,
    ) -> StoreResult<()> {
        let id_len = check_block_id(block_id)?;
        let mut c = lock(&self.containers);
        let cont = c.get_mut(container).ok_or_else(container_not_found)?;
        let staged = cont.uncommitted.entry(name.to_string()).or_default();
        // All block ids of one blob must have the same decoded length.
        let other_len = staged
            .keys()
            .next()
            .and_then(|k| check_block_id(k).ok())
            .or_else(|| {
                cont.blobs
                    .get(name)
                    .and_then(|b| b.committed.first())
                    .and_then(|(k, _)| check_block_id(k).ok())
            });
        if other_len.is_some_and(|l| l != id_len) {
            return Err(StoreError::new(
                400,
                "InvalidBlobOrBlock",
                "The specified blob or block content is invalid.",
            ));
        }
        if staged.len() >= MAX_UNCOMMITTED_BLOCKS && !staged.contains_key(block_id) {
            return Err(StoreError::new(
                409,
                "BlockCountExceedsLimit",
                "The uncommitted block count cannot exceed the maximum limit of 100,000 blocks.",
            ));
        }
        staged.insert(block_id.to_string(), data);
        Ok(())
    }

    /// Get Block List (`blocklisttype=all`): committed blocks in order and uncommitted ones
    /// (by id), each with its size; 404 `BlobNotFound` when there is neither a blob nor a
    /// staged block.
    pub fn block_list(&self, container: &str, name: &str) -> StoreResult<BlockLists> {
        let c = lock(&self.containers);
        let cont = c.get(container).ok_or_else(container_not_found)?;
        let committed: Vec<(String, u64)> = cont
            .blobs
            .get(name)
            .map(|b| {
                b.committed
                    .iter()
                    .map(|(id, d)| (id.clone(), d.len() as u64))
                    .collect()
            })
            .unwrap_or_default();
        let mut uncommitted: Vec<(String, u64)> = cont
            .uncommitted
            .get(name)
            .map(|m| {
                m.iter()
                    .map(|(id, d)| (id.clone(), d.len() as u64))
                    .collect()
            })
            .unwrap_or_default();
        uncommitted.sort();
        if !cont.blobs.contains_key(name) && uncommitted.is_empty() {
            return Err(blob_not_found());
        }
        Ok((committed, uncommitted))
    }

    /// Put Block List: commits the listed blocks in order; unlisted uncommitted blocks are
    /// discarded. `Latest` prefers the uncommitted block of that id.
    pub fn put_block_list(
        &self,
        container: &str,
        name: &str,
        items: &[BlockListItem],
        headers: BlobHeaders,
        now: DateTime<Utc>,
    ) -> StoreResult<BlobProps> {
        if items.len() > MAX_COMMITTED_BLOCKS {
            return Err(StoreError::new(
                400,
                "InvalidBlockList",
                "The specified block list is invalid.",
            ));
        }
        let mut c = lock(&self.containers);
        let cont = c.get_mut(container).ok_or_else(container_not_found)?;
        let empty = HashMap::new();
        let staged = cont.uncommitted.get(name).unwrap_or(&empty);
        let committed: HashMap<&str, &Bytes> = cont
            .blobs
            .get(name)
            .map(|b| b.committed.iter().map(|(k, v)| (k.as_str(), v)).collect())
            .unwrap_or_default();
        let mut parts: Vec<(String, Bytes)> = Vec::with_capacity(items.len());
        for item in items {
            let found = match item {
                BlockListItem::Latest(id) => staged
                    .get(id)
                    .or_else(|| committed.get(id.as_str()).copied()),
                BlockListItem::Committed(id) => committed.get(id.as_str()).copied(),
                BlockListItem::Uncommitted(id) => staged.get(id),
            };
            let id = match item {
                BlockListItem::Latest(id)
                | BlockListItem::Committed(id)
                | BlockListItem::Uncommitted(id) => id,
            };
            let data = found.ok_or_else(|| {
                StoreError::new(
                    400,
                    "InvalidBlockList",
                    "The specified block list is invalid.",
                )
            })?;
            parts.push((id.clone(), data.clone()));
        }
        let total: usize = parts.iter().map(|(_, d)| d.len()).sum();
        let mut buf = BytesMut::with_capacity(total);
        for (_, d) in &parts {
            buf.extend_from_slice(d);
        }
        let data = buf.freeze();
        // Keep committed blocks as zero-copy slices of the assembled body.
        let mut off = 0;
        let committed_blocks = parts
            .into_iter()
            .map(|(id, d)| {
                let s = data.slice(off..off + d.len());
                off += d.len();
                (id, s)
            })
            .collect();
        let created = cont.blobs.get(name).map_or(now, |b| b.props.created);
        let props = make_props(headers, data.len(), created, now);
        cont.uncommitted.remove(name);
        cont.blobs.insert(
            name.to_string(),
            Blob {
                data,
                props: props.clone(),
                committed: committed_blocks,
            },
        );
        Ok(props)
    }

    /// Get Blob (a cheap clone: the body is shared).
    pub fn get_blob(&self, container: &str, name: &str) -> StoreResult<Blob> {
        let c = lock(&self.containers);
        let cont = c.get(container).ok_or_else(container_not_found)?;
        cont.blobs.get(name).cloned().ok_or_else(blob_not_found)
    }

    pub fn delete_blob(&self, container: &str, name: &str) -> StoreResult<()> {
        let mut c = lock(&self.containers);
        let cont = c.get_mut(container).ok_or_else(container_not_found)?;
        cont.uncommitted.remove(name);
        cont.blobs
            .remove(name)
            .map(|_| ())
            .ok_or_else(blob_not_found)
    }

    /// List Blobs: names after `marker` starting with `prefix`, at most `max`; returns the
    /// page and the next marker.
    pub fn list_blobs(
        &self,
        container: &str,
        prefix: &str,
        marker: Option<&str>,
        max: usize,
    ) -> StoreResult<BlobPage> {
        let c = lock(&self.containers);
        let cont = c.get(container).ok_or_else(container_not_found)?;
        let mut iter = cont
            .blobs
            .iter()
            .filter(|(n, _)| n.starts_with(prefix))
            .filter(|(n, _)| marker.is_none_or(|m| n.as_str() >= m));
        let page: Vec<(String, BlobProps)> = iter
            .by_ref()
            .take(max)
            .map(|(n, b)| (n.clone(), b.props.clone()))
            .collect();
        let next = iter.next().map(|(n, _)| n.clone());
        Ok((page, next))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    fn id(n: u8) -> String {
        base64::engine::general_purpose::STANDARD.encode([n; 8])
    }

    #[test]
    fn blocks_commit_in_listed_order_and_uncommitted_are_dropped() {
        let s = Store::new();
        s.create_container("c");
        s.put_block("c", "b", &id(1), Bytes::from_static(b"hello "))
            .unwrap();
        s.put_block("c", "b", &id(2), Bytes::from_static(b"world"))
            .unwrap();
        s.put_block("c", "b", &id(3), Bytes::from_static(b"unused"))
            .unwrap();
        assert!(s.get_blob("c", "b").is_err(), "not visible before commit");
        let items = [BlockListItem::Latest(id(2)), BlockListItem::Latest(id(1))];
        s.put_block_list("c", "b", &items, BlobHeaders::default(), t0())
            .unwrap();
        assert_eq!(&s.get_blob("c", "b").unwrap().data[..], b"worldhello ");
        // Recommit using a committed block plus a fresh one.
        s.put_block("c", "b", &id(4), Bytes::from_static(b"!"))
            .unwrap();
        let items = [
            BlockListItem::Committed(id(1)),
            BlockListItem::Uncommitted(id(4)),
        ];
        s.put_block_list("c", "b", &items, BlobHeaders::default(), t0())
            .unwrap();
        assert_eq!(&s.get_blob("c", "b").unwrap().data[..], b"hello !");
        // Block 3 was discarded by the first commit.
        let err = s
            .put_block_list(
                "c",
                "b",
                &[BlockListItem::Uncommitted(id(3))],
                BlobHeaders::default(),
                t0(),
            )
            .unwrap_err();
        assert_eq!(err.code, "InvalidBlockList");
    }

    #[test]
    fn block_ids_are_validated() {
        let s = Store::new();
        s.create_container("c");
        assert_eq!(
            s.put_block("c", "b", "not base64!", Bytes::new())
                .unwrap_err()
                .code,
            "InvalidQueryParameterValue"
        );
        s.put_block("c", "b", &id(1), Bytes::new()).unwrap();
        let longer = base64::engine::general_purpose::STANDARD.encode([1u8; 9]);
        assert_eq!(
            s.put_block("c", "b", &longer, Bytes::new())
                .unwrap_err()
                .code,
            "InvalidBlobOrBlock"
        );
    }

    #[test]
    fn missing_container_and_blob_codes() {
        let s = Store::new();
        assert_eq!(
            s.get_blob("nope", "b").unwrap_err().code,
            "ContainerNotFound"
        );
        s.create_container("c");
        assert_eq!(s.get_blob("c", "b").unwrap_err().status, 404);
        assert_eq!(s.delete_blob("c", "b").unwrap_err().code, "BlobNotFound");
        assert_eq!(s.create_container_at("c", t0()).unwrap_err().status, 409);
    }

    #[test]
    fn list_pages_with_prefix_and_marker() {
        let s = Store::new();
        s.create_container("c");
        for n in ["a1", "a2", "a3", "b1"] {
            s.put_blob(
                "c",
                n,
                Bytes::from_static(b"x"),
                BlobHeaders::default(),
                t0(),
            )
            .unwrap();
        }
        let (page, next) = s.list_blobs("c", "a", None, 2).unwrap();
        let names: Vec<_> = page.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["a1", "a2"]);
        assert_eq!(next.as_deref(), Some("a3"));
        let (page, next) = s.list_blobs("c", "a", next.as_deref(), 2).unwrap();
        assert_eq!(page.len(), 1);
        assert_eq!(next, None);
    }
}
