//! Blob REST: Put Blob, Put Block, Put Block List, Get Blob, Delete Blob, Create Container.

use bytes::Bytes;

use super::{SasUrl, Storage};
use crate::client::error::Result;

impl Storage {
    /// Put Blob (single shot, BlockBlob) of `body` to `blob` (a blob URL with SAS).
    pub async fn put_blob(
        &self,
        blob: &SasUrl,
        body: Bytes,
        content_type: Option<&str>,
    ) -> Result<()> {
        todo!("{blob} {} {content_type:?}", body.len())
    }
    /// Put Block with a base64 block id (all ids of one blob must have the same length).
    pub async fn put_block(&self, blob: &SasUrl, block_id: &str, body: Bytes) -> Result<()> {
        todo!("{blob} {block_id} {}", body.len())
    }
    /// Put Block List committing `block_ids` (as `<Latest>`), in order.
    pub async fn put_block_list(
        &self,
        blob: &SasUrl,
        block_ids: &[String],
        content_type: Option<&str>,
    ) -> Result<()> {
        todo!("{blob} {block_ids:?} {content_type:?}")
    }
    /// Get Blob: the whole body. 404 → `Error::Storage{status:404, code:"BlobNotFound"}`.
    pub async fn get_blob(&self, blob: &SasUrl) -> Result<Bytes> {
        todo!("{blob}")
    }
    /// Delete Blob; a missing blob is not an error.
    pub async fn delete_blob(&self, blob: &SasUrl) -> Result<()> {
        todo!("{blob}")
    }
    /// Create Container (`?restype=container`); "already exists" is not an error.
    pub async fn create_container(&self, container: &SasUrl) -> Result<()> {
        todo!("{container}")
    }
}
