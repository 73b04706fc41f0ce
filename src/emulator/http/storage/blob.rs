//! Blob endpoints: containers (create, properties, delete, list) and block blobs.

use axum::body::Body;
use axum::http::Method;
use serde::Deserialize;

use super::StorageState;
use super::common::{
    ApiError, ApiResult, Ctx, check_resource_name, read_body, reply, set, xml, xml_escape,
};
use crate::emulator::sas::{SasResource, SasService, verify_service_sas};
use crate::emulator::storage::{BlobHeaders, BlobProps, BlockListItem, rfc1123};

/// Largest Put Blob / Put Block body we accept (Azure's pre-2019 single-shot limit).
pub const MAX_BLOB_BODY: usize = 256 * 1024 * 1024;
/// Largest Put Block List body.
const MAX_BLOCK_LIST_BODY: usize = 8 * 1024 * 1024;
const DEFAULT_LIST_MAX: usize = 5000;

/// Checks the SAS for the first letter in `letters` that it grants; on refusal reports the
/// first letter's denial.
fn authorize(
    st: &StorageState,
    ctx: &Ctx,
    object: &SasResource,
    letters: &[char],
) -> Result<(), ApiError> {
    let mut first = None;
    for &l in letters {
        match verify_service_sas(
            &st.key,
            SasService::Blob,
            &st.account,
            object,
            &ctx.pairs,
            l,
            ctx.now,
        ) {
            Ok(()) => return Ok(()),
            Err(e) => {
                if e.code != "AuthorizationPermissionMismatch" {
                    return Err(e.into());
                }
                first.get_or_insert(e);
            }
        }
    }
    Err(first.map_or_else(
        || ApiError::new(403, "AuthorizationFailure", "no permission"),
        Into::into,
    ))
}

pub async fn handle(
    st: &StorageState,
    ctx: &Ctx,
    method: &Method,
    container: &str,
    blob: Option<&str>,
    body: Body,
) -> ApiResult {
    match blob {
        None => container_op(st, ctx, method, container),
        Some(name) => blob_op(st, ctx, method, container, name, body).await,
    }
}

fn container_op(st: &StorageState, ctx: &Ctx, method: &Method, container: &str) -> ApiResult {
    let object = SasResource::Container {
        container: container.to_string(),
    };
    if ctx.query("restype") != Some("container") {
        return Err(ApiError::new(
            400,
            "InvalidQueryParameterValue",
            "restype=container is required for container operations.",
        ));
    }
    match (method.as_str(), ctx.query("comp")) {
        ("PUT", None) => {
            authorize(st, ctx, &object, &['c', 'w'])?;
            check_resource_name(container)?;
            st.store.create_container_at(container, ctx.now)?;
            let (etag, lm) = st.store.container_props(container)?;
            let mut r = reply(201, Body::empty());
            set(&mut r, "etag", &etag);
            set(&mut r, "last-modified", &rfc1123(lm.unwrap_or(ctx.now)));
            Ok(r)
        }
        ("GET" | "HEAD", None) => {
            authorize(st, ctx, &object, &['r'])?;
            let (etag, lm) = st.store.container_props(container)?;
            let mut r = reply(200, Body::empty());
            set(&mut r, "etag", &etag);
            set(&mut r, "last-modified", &rfc1123(lm.unwrap_or(ctx.now)));
            set(&mut r, "x-ms-lease-status", "unlocked");
            set(&mut r, "x-ms-lease-state", "available");
            set(&mut r, "x-ms-has-immutability-policy", "false");
            set(&mut r, "x-ms-has-legal-hold", "false");
            Ok(r)
        }
        ("DELETE", None) => {
            authorize(st, ctx, &object, &['d'])?;
            st.store.delete_container(container)?;
            Ok(reply(202, Body::empty()))
        }
        ("GET", Some("list")) => {
            authorize(st, ctx, &object, &['l'])?;
            list(st, ctx, container)
        }
        (m, _) => Err(ApiError::unsupported(m)),
    }
}

fn list(st: &StorageState, ctx: &Ctx, container: &str) -> ApiResult {
    let prefix = ctx.query("prefix").unwrap_or("");
    let marker = ctx.query("marker").filter(|m| !m.is_empty());
    let max = match ctx.int_query("maxresults")? {
        None => DEFAULT_LIST_MAX,
        Some(n) if (1..=5000).contains(&n) => n as usize,
        Some(_) => {
            return Err(crate::emulator::storage::StoreError::out_of_range("maxresults").into());
        }
    };
    let (page, next) = st.store.list_blobs(container, prefix, marker, max)?;
    let mut doc = format!(
        "<EnumerationResults ServiceEndpoint=\"/{}/\" ContainerName=\"{}\">",
        xml_escape(&st.account),
        xml_escape(container)
    );
    if !prefix.is_empty() {
        doc.push_str(&format!("<Prefix>{}</Prefix>", xml_escape(prefix)));
    }
    if let Some(m) = marker {
        doc.push_str(&format!("<Marker>{}</Marker>", xml_escape(m)));
    }
    if ctx.query("maxresults").is_some() {
        doc.push_str(&format!("<MaxResults>{max}</MaxResults>"));
    }
    doc.push_str("<Blobs>");
    for (name, p) in &page {
        doc.push_str(&format!(
            "<Blob><Name>{}</Name><Properties><Creation-Time>{}</Creation-Time><Last-Modified>{}</Last-Modified><Etag>{}</Etag><Content-Length>{}</Content-Length><Content-Type>{}</Content-Type>{}<BlobType>BlockBlob</BlobType><AccessTier>Hot</AccessTier><AccessTierInferred>true</AccessTierInferred><LeaseStatus>unlocked</LeaseStatus><LeaseState>available</LeaseState><ServerEncrypted>true</ServerEncrypted></Properties></Blob>",
            xml_escape(name),
            rfc1123(p.created),
            rfc1123(p.last_modified),
            xml_escape(&p.etag),
            p.content_length,
            xml_escape(&p.content_type),
            p.content_md5
                .as_ref()
                .map(|m| format!("<Content-MD5>{}</Content-MD5>", xml_escape(m)))
                .unwrap_or_default(),
        ));
    }
    doc.push_str("</Blobs>");
    match next {
        Some(n) => doc.push_str(&format!("<NextMarker>{}</NextMarker>", xml_escape(&n))),
        None => doc.push_str("<NextMarker/>"),
    }
    doc.push_str("</EnumerationResults>");
    Ok(xml(200, &doc))
}

fn blob_headers(ctx: &Ctx, block_list: bool) -> BlobHeaders {
    let pick = |explicit: &str, plain: &str| {
        ctx.header(explicit)
            .or(if block_list { None } else { ctx.header(plain) })
            .map(str::to_string)
    };
    BlobHeaders {
        content_type: pick("x-ms-blob-content-type", "content-type"),
        content_encoding: pick("x-ms-blob-content-encoding", "content-encoding"),
        content_md5: pick("x-ms-blob-content-md5", "content-md5"),
        metadata: ctx.metadata(),
    }
}

fn written(p: &BlobProps) -> axum::http::Response<Body> {
    let mut r = reply(201, Body::empty());
    set(&mut r, "etag", &p.etag);
    set(&mut r, "last-modified", &rfc1123(p.last_modified));
    set(&mut r, "x-ms-request-server-encrypted", "true");
    r
}

#[derive(Deserialize)]
#[serde(rename = "BlockList")]
struct BlockListBody {
    #[serde(rename = "$value", default)]
    items: Vec<BlockListEntry>,
}

#[derive(Deserialize)]
enum BlockListEntry {
    Latest(String),
    Committed(String),
    Uncommitted(String),
}

async fn blob_op(
    st: &StorageState,
    ctx: &Ctx,
    method: &Method,
    container: &str,
    name: &str,
    body: Body,
) -> ApiResult {
    let object = SasResource::Blob {
        container: container.to_string(),
        blob: name.to_string(),
    };
    if name.is_empty() || name.len() > 1024 {
        return Err(ApiError::new(
            400,
            "InvalidResourceName",
            "The specifed resource name contains invalid characters.",
        ));
    }
    match (method.as_str(), ctx.query("comp")) {
        ("PUT", None) => {
            authorize(st, ctx, &object, &['w', 'c'])?;
            match ctx.header("x-ms-blob-type") {
                None => return Err(ApiError::missing_header("x-ms-blob-type")),
                Some("BlockBlob") => {}
                Some(_) => {
                    return Err(ApiError::new(
                        400,
                        "InvalidHeaderValue",
                        "The emulator supports only x-ms-blob-type: BlockBlob.",
                    ));
                }
            }
            // `If-None-Match: *` (the Python SDK's overwrite=False) refuses to replace.
            if ctx.header("if-none-match") == Some("*")
                && st.store.get_blob(container, name).is_ok()
            {
                return Err(ApiError::new(
                    409,
                    "BlobAlreadyExists",
                    "The specified blob already exists.",
                ));
            }
            let data = read_body(body, &ctx.headers, MAX_BLOB_BODY, 413).await?;
            let p = st
                .store
                .put_blob(container, name, data, blob_headers(ctx, false), ctx.now)?;
            Ok(written(&p))
        }
        ("PUT", Some("block")) => {
            authorize(st, ctx, &object, &['w', 'c'])?;
            let id = ctx
                .query("blockid")
                .ok_or_else(|| {
                    ApiError::new(400, "MissingRequiredQueryParameter", "blockid is required.")
                })?
                .to_string();
            let data = read_body(body, &ctx.headers, MAX_BLOB_BODY, 413).await?;
            st.store.put_block(container, name, &id, data)?;
            let mut r = reply(201, Body::empty());
            set(&mut r, "x-ms-request-server-encrypted", "true");
            Ok(r)
        }
        ("PUT", Some("blocklist")) => {
            authorize(st, ctx, &object, &['w', 'c'])?;
            let raw = read_body(body, &ctx.headers, MAX_BLOCK_LIST_BODY, 413).await?;
            let text =
                std::str::from_utf8(&raw).map_err(|_| ApiError::invalid_body("not UTF-8"))?;
            let parsed: BlockListBody =
                quick_xml::de::from_str(text).map_err(|_| ApiError::invalid_body("BlockList"))?;
            let items: Vec<BlockListItem> = parsed
                .items
                .into_iter()
                .map(|e| match e {
                    BlockListEntry::Latest(id) => BlockListItem::Latest(id),
                    BlockListEntry::Committed(id) => BlockListItem::Committed(id),
                    BlockListEntry::Uncommitted(id) => BlockListItem::Uncommitted(id),
                })
                .collect();
            let p = st.store.put_block_list(
                container,
                name,
                &items,
                blob_headers(ctx, true),
                ctx.now,
            )?;
            Ok(written(&p))
        }
        ("GET", Some("blocklist")) => {
            authorize(st, ctx, &object, &['r'])?;
            let (committed, uncommitted) = st.store.block_list(container, name)?;
            let blocks = |list: &[(String, u64)]| -> String {
                list.iter()
                    .map(|(id, n)| {
                        format!(
                            "<Block><Name>{}</Name><Size>{n}</Size></Block>",
                            xml_escape(id)
                        )
                    })
                    .collect()
            };
            let doc = format!(
                "<BlockList><CommittedBlocks>{}</CommittedBlocks><UncommittedBlocks>{}</UncommittedBlocks></BlockList>",
                blocks(&committed),
                blocks(&uncommitted)
            );
            Ok(xml(200, &doc))
        }
        ("GET" | "HEAD", None) => {
            authorize(st, ctx, &object, &['r'])?;
            get(st, ctx, method, container, name)
        }
        ("DELETE", None) => {
            authorize(st, ctx, &object, &['d'])?;
            st.store.delete_blob(container, name)?;
            let mut r = reply(202, Body::empty());
            set(&mut r, "x-ms-delete-type-permanent", "true");
            Ok(r)
        }
        (m, _) => Err(ApiError::unsupported(m)),
    }
}

/// Parses `bytes=a-b` / `bytes=a-` against a body of `len` bytes into an inclusive range.
fn parse_range(v: &str, len: u64) -> Option<(u64, u64)> {
    let spec = v.trim().strip_prefix("bytes=")?;
    let (a, b) = spec.split_once('-')?;
    let start: u64 = a.trim().parse().ok()?;
    let end = match b.trim() {
        "" => len.checked_sub(1)?,
        e => e.parse::<u64>().ok()?.min(len.checked_sub(1)?),
    };
    (start <= end).then_some((start, end))
}

fn get(st: &StorageState, ctx: &Ctx, method: &Method, container: &str, name: &str) -> ApiResult {
    let b = st.store.get_blob(container, name)?;
    let len = b.data.len() as u64;
    let range = ctx.header("x-ms-range").or(ctx.header("range"));
    let (status, data) = match range {
        Some(v) if method == Method::GET => match parse_range(v, len) {
            Some((s, e)) => (206, Some((s, e))),
            None => {
                return Err(ApiError::new(
                    416,
                    "InvalidRange",
                    "The range specified is invalid for the current size of the resource.",
                ));
            }
        },
        _ => (200, None),
    };
    let body = match (method == Method::HEAD, data) {
        (true, _) => Body::empty(),
        (false, Some((s, e))) => Body::from(b.data.slice(s as usize..=e as usize)),
        (false, None) => Body::from(b.data.clone()),
    };
    let mut r = reply(status, body);
    let shown = data.map_or(len, |(s, e)| e - s + 1);
    set(&mut r, "content-length", &shown.to_string());
    if let Some((s, e)) = data {
        set(&mut r, "content-range", &format!("bytes {s}-{e}/{len}"));
    }
    let p = &b.props;
    set(&mut r, "content-type", &p.content_type);
    set(&mut r, "etag", &p.etag);
    set(&mut r, "last-modified", &rfc1123(p.last_modified));
    set(&mut r, "x-ms-creation-time", &rfc1123(p.created));
    set(&mut r, "x-ms-blob-type", "BlockBlob");
    set(&mut r, "accept-ranges", "bytes");
    set(&mut r, "x-ms-lease-status", "unlocked");
    set(&mut r, "x-ms-lease-state", "available");
    set(&mut r, "x-ms-server-encrypted", "true");
    if let Some(enc) = &p.content_encoding {
        set(&mut r, "content-encoding", enc);
    }
    if let Some(md5) = &p.content_md5 {
        set(&mut r, "content-md5", md5);
    }
    for (k, v) in &p.metadata {
        set(&mut r, &format!("x-ms-meta-{k}"), v);
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-3", 10), Some((0, 3)));
        assert_eq!(parse_range("bytes=5-", 10), Some((5, 9)));
        assert_eq!(parse_range("bytes=5-100", 10), Some((5, 9)));
        assert_eq!(parse_range("bytes=11-12", 10), None);
        assert_eq!(parse_range("bytes=0-", 0), None);
        assert_eq!(parse_range("junk", 10), None);
    }

    #[test]
    fn block_list_keeps_order_across_kinds() {
        let x = "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList><Latest>a</Latest><Committed>b</Committed><Uncommitted>c</Uncommitted><Latest>d</Latest></BlockList>";
        let b: BlockListBody = quick_xml::de::from_str(x).unwrap();
        let ids: Vec<String> = b
            .items
            .into_iter()
            .map(|e| match e {
                BlockListEntry::Latest(i) => format!("L{i}"),
                BlockListEntry::Committed(i) => format!("C{i}"),
                BlockListEntry::Uncommitted(i) => format!("U{i}"),
            })
            .collect();
        assert_eq!(ids, ["La", "Cb", "Uc", "Ld"]);
        let empty: BlockListBody = quick_xml::de::from_str("<BlockList/>").unwrap();
        assert!(empty.items.is_empty());
    }
}
