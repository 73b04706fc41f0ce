//! Blob REST: Put Blob, Put Block, Put Block List, Get Blob, Get Blob Properties, Delete Blob,
//! Create Container, List Blobs.

use bytes::Bytes;
use reqwest::header::{ACCEPT_ENCODING, CONTENT_LENGTH};

use super::http::tolerate;
use super::{SasUrl, Storage, xml};
use crate::client::error::{Error, Result};

const OCTET_STREAM: &str = "application/octet-stream";

/// The `<BlockList>` body committing `ids` as latest, in order.
pub(crate) fn block_list_xml(ids: &[String]) -> String {
    let children: Vec<(&str, &str)> = ids.iter().map(|id| ("Latest", id.as_str())).collect();
    xml::document("BlockList", &children)
}

/// A blob's blocks: (base64 id, size), committed in order, then the staged ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlockList {
    pub committed: Vec<(String, u64)>,
    pub uncommitted: Vec<(String, u64)>,
}

fn parse_block_list(text: &str) -> Result<BlockList> {
    // The inner XML of `<tag>…</tag>` (empty for `<tag/>` or when absent).
    let section = |tag: &str| -> String {
        let open = format!("<{tag}>");
        let close = format!("</{tag}>");
        text.find(&open)
            .and_then(|i| {
                let rest = &text[i + open.len()..];
                rest.find(&close).map(|j| rest[..j].to_string())
            })
            .unwrap_or_default()
    };
    let blocks = |tag: &str| -> Result<Vec<(String, u64)>> {
        let doc = format!("<{tag}>{}</{tag}>", section(tag));
        Ok(xml::records(&doc, "Block")?
            .into_iter()
            .filter_map(|r| {
                let size = r.get("Size")?.trim().parse().ok()?;
                Some((r.get("Name")?.clone(), size))
            })
            .collect())
    };
    Ok(BlockList {
        committed: blocks("CommittedBlocks")?,
        uncommitted: blocks("UncommittedBlocks")?,
    })
}

/// One blob of a List Blobs page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedBlob {
    /// The blob's name inside its container (decoded).
    pub name: String,
    /// `Content-Length`.
    pub size: u64,
}

/// One page of List Blobs and the marker of the next (`None`: the listing is complete).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlobPage {
    pub blobs: Vec<ListedBlob>,
    pub next_marker: Option<String>,
}

/// Reads an `<EnumerationResults>` body. Each `<Blob>` holds one `<Properties>`, so the two
/// record lists pair up in document order.
fn parse_blob_page(text: &str) -> Result<BlobPage> {
    let names = xml::records(text, "Blob")?;
    let props = xml::records(text, "Properties")?;
    if names.len() != props.len() {
        return Err(crate::client::error::Error::BadResponse(
            "List Blobs: a <Blob> without <Properties>".into(),
        ));
    }
    let blobs = names
        .iter()
        .zip(&props)
        .filter_map(|(n, p)| {
            Some(ListedBlob {
                name: n.get("Name")?.clone(),
                size: p.get("Content-Length")?.trim().parse().ok()?,
            })
        })
        .collect();
    let next_marker = xml::records(text, "EnumerationResults")?
        .into_iter()
        .next()
        .and_then(|r| r.get("NextMarker").cloned())
        .filter(|m| !m.is_empty());
    Ok(BlobPage { blobs, next_marker })
}

/// What Get Blob Properties tells.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlobProperties {
    pub content_length: u64,
    /// Metadata by lower-case name.
    pub metadata: std::collections::BTreeMap<String, String>,
}

impl Storage {
    /// List Blobs (`restype=container&comp=list`) of `container` (a container URL with a SAS
    /// holding `l`): names starting with `prefix`, from `marker`, at most `max` (1–5000).
    pub async fn list_blobs(
        &self,
        container: &SasUrl,
        prefix: &str,
        marker: Option<&str>,
        max: u32,
    ) -> Result<BlobPage> {
        let max = max.clamp(1, 5000).to_string();
        let mut params = vec![
            ("restype", "container"),
            ("comp", "list"),
            ("maxresults", max.as_str()),
        ];
        if !prefix.is_empty() {
            params.push(("prefix", prefix));
        }
        if let Some(m) = marker {
            params.push(("marker", m));
        }
        let url = container.request_url("", &params);
        let reply = self.execute(|http| http.get(url.clone())).await?;
        parse_blob_page(&String::from_utf8_lossy(&reply.body))
    }

    /// Put Blob (single shot, BlockBlob) of `body` to `blob` (a blob URL with SAS).
    pub async fn put_blob(
        &self,
        blob: &SasUrl,
        body: Bytes,
        content_type: Option<&str>,
    ) -> Result<()> {
        let url = blob.request_url("", &[]);
        let ct = content_type.unwrap_or(OCTET_STREAM);
        self.execute(|http| {
            http.put(url.clone())
                .header("x-ms-blob-type", "BlockBlob")
                .header("x-ms-blob-content-type", ct)
                .header("Content-Type", OCTET_STREAM)
                .header(CONTENT_LENGTH, body.len())
                .body(body.clone())
        })
        .await?;
        Ok(())
    }

    /// Put Block with a base64 block id (all ids of one blob must have the same length).
    pub async fn put_block(&self, blob: &SasUrl, block_id: &str, body: Bytes) -> Result<()> {
        let url = blob.request_url("", &[("comp", "block"), ("blockid", block_id)]);
        self.execute(|http| {
            http.put(url.clone())
                .header("Content-Type", OCTET_STREAM)
                .header(CONTENT_LENGTH, body.len())
                .body(body.clone())
        })
        .await?;
        Ok(())
    }

    /// Put Block List committing `block_ids` (as `<Latest>`), in order.
    pub async fn put_block_list(
        &self,
        blob: &SasUrl,
        block_ids: &[String],
        content_type: Option<&str>,
    ) -> Result<()> {
        let url = blob.request_url("", &[("comp", "blocklist")]);
        let body = block_list_xml(block_ids);
        let ct = content_type.unwrap_or(OCTET_STREAM);
        self.execute(|http| {
            http.put(url.clone())
                .header("Content-Type", "application/xml")
                .header("x-ms-blob-content-type", ct)
                .header(CONTENT_LENGTH, body.len())
                .body(body.clone())
        })
        .await?;
        Ok(())
    }

    /// Get Block List (`blocklisttype=all`): what a blob has committed and what is staged.
    /// 404 → `Error::Storage{status:404, code:"BlobNotFound"}` (no blob, no staged block).
    pub async fn get_block_list(&self, blob: &SasUrl) -> Result<BlockList> {
        let url = blob.request_url("", &[("comp", "blocklist"), ("blocklisttype", "all")]);
        let reply = self.execute(|http| http.get(url.clone())).await?;
        let text = String::from_utf8_lossy(&reply.body);
        parse_block_list(&text)
    }

    /// Get Blob: the whole body. 404 → `Error::Storage{status:404, code:"BlobNotFound"}`.
    pub async fn get_blob(&self, blob: &SasUrl) -> Result<Bytes> {
        let url = blob.request_url("", &[]);
        // Stored bytes as they are: no transparent decompression of a gzip-encoded blob.
        let reply = self
            .execute(|http| http.get(url.clone()).header(ACCEPT_ENCODING, "identity"))
            .await?;
        Ok(reply.body)
    }

    /// Get Blob Properties (HEAD): the blob's length and its metadata (`x-ms-meta-*`, names
    /// lower-cased as HTTP carries them). 404 → `Error::Storage{status:404, …}`.
    pub async fn blob_properties(&self, blob: &SasUrl) -> Result<BlobProperties> {
        let url = blob.request_url("", &[]);
        let reply = self.execute(|http| http.head(url.clone())).await?;
        let content_length = reply
            .header("content-length")
            .and_then(|v| v.trim().parse().ok())
            .ok_or_else(|| {
                Error::BadResponse("Get Blob Properties answered without a Content-Length".into())
            })?;
        let metadata = reply
            .headers
            .iter()
            .filter_map(|(k, v)| {
                let name = k.as_str().strip_prefix("x-ms-meta-")?;
                Some((name.to_ascii_lowercase(), v.to_str().ok()?.to_string()))
            })
            .collect();
        Ok(BlobProperties {
            content_length,
            metadata,
        })
    }

    /// Delete Blob; a missing blob is not an error.
    pub async fn delete_blob(&self, blob: &SasUrl) -> Result<()> {
        let url = blob.request_url("", &[]);
        let result = self.execute(|http| http.delete(url.clone())).await;
        tolerate(result, &["BlobNotFound"])
    }

    /// Create Container (`?restype=container`); "already exists" is not an error.
    pub async fn create_container(&self, container: &SasUrl) -> Result<()> {
        let url = container.request_url("", &[("restype", "container")]);
        let result = self
            .execute(|http| {
                http.put(url.clone())
                    .header(CONTENT_LENGTH, 0)
                    .body(Bytes::new())
            })
            .await;
        tolerate(result, &["ContainerAlreadyExists"])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_pages_are_read() {
        let x = "\u{feff}<?xml version=\"1.0\"?><EnumerationResults ContainerName=\"c\"><Prefix>a</Prefix><Blobs><Blob><Name>a/1 &amp;.csv</Name><Properties><Content-Length>12</Content-Length></Properties></Blob><Blob><Name>a/2.csv</Name><Properties><Creation-Time>x</Creation-Time><Content-Length>0</Content-Length></Properties></Blob></Blobs><NextMarker>a/3.csv</NextMarker></EnumerationResults>";
        let p = parse_blob_page(x).unwrap();
        assert_eq!(p.blobs.len(), 2);
        assert_eq!(p.blobs[0].name, "a/1 &.csv");
        assert_eq!(p.blobs[0].size, 12);
        assert_eq!(p.blobs[1].size, 0);
        assert_eq!(p.next_marker.as_deref(), Some("a/3.csv"));
        let last = "<EnumerationResults><Blobs/><NextMarker/></EnumerationResults>";
        assert_eq!(parse_blob_page(last).unwrap(), BlobPage::default());
    }

    #[test]
    fn block_lists_are_read() {
        let x = "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList><CommittedBlocks><Block><Name>YQ==</Name><Size>4</Size></Block></CommittedBlocks><UncommittedBlocks><Block><Name>Yg==</Name><Size>7</Size></Block><Block><Name>Yw==</Name><Size>1</Size></Block></UncommittedBlocks></BlockList>";
        let b = parse_block_list(x).unwrap();
        assert_eq!(b.committed, vec![("YQ==".to_string(), 4)]);
        assert_eq!(b.uncommitted.len(), 2);
        assert_eq!(b.uncommitted[1], ("Yw==".to_string(), 1));
        let none =
            parse_block_list("<BlockList><CommittedBlocks/><UncommittedBlocks/></BlockList>")
                .unwrap();
        assert_eq!(none, BlockList::default());
    }

    #[test]
    fn block_list_body() {
        let ids = vec!["MDAwMDA=".to_string(), "MDAwMDE=".to_string()];
        assert_eq!(
            block_list_xml(&ids),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<BlockList><Latest>MDAwMDA=</Latest><Latest>MDAwMDE=</Latest></BlockList>"
        );
        assert!(block_list_xml(&[]).ends_with("<BlockList></BlockList>"));
    }

    #[test]
    fn block_id_is_query_encoded() {
        let blob = SasUrl::parse("http://127.0.0.1:1/acct/c/b.csv?sv=1&sig=x").unwrap();
        let url = blob.request_url("", &[("comp", "block"), ("blockid", "ab+/=")]);
        assert!(
            url.as_str().ends_with("&comp=block&blockid=ab%2B%2F%3D"),
            "{url}"
        );
    }
}
