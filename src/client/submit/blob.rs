//! An existing blob as a source: no upload; its RawDataSize from the caller, else the blob's
//! metadata, else its length; then the status entity and the message as for any queued source.

use super::{
    Stages, SubmitRequest, Submitted, Uploaded, UploadedChunk, post_one, too_large, validate,
};
use crate::client::IngestClient;
use crate::client::error::{Error, Result};
use crate::client::storage::SasUrl;
use crate::client::storage::blob::BlobProperties;
use crate::client::wire::DataFormat;

/// A blob to ingest as it is: its URL (SAS or `;managed_identity=…` suffix kept, never shown)
/// and, when known, its uncompressed size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobSource {
    pub url: SasUrl,
    pub raw_size: Option<u64>,
}

/// Where a blob's RawDataSize came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawSize {
    Flag(u64),
    /// A metadata value, by the name it had.
    Metadata(&'static str, u64),
    /// The blob's length (compressed, for a compressed blob).
    Length(u64),
}

impl RawSize {
    pub fn bytes(self) -> u64 {
        match self {
            RawSize::Flag(n) | RawSize::Metadata(_, n) | RawSize::Length(n) => n,
        }
    }
}

/// Metadata naming the uncompressed size, in the order they are believed. The documented
/// modern key first: DOCS `lightingest.md` lists both, and Kusto's best practices ask for
/// "exact, uncompressed data size" (`kusto-ingest-best-practices.md`). LightIngest's own code
/// reads the legacy `rawSizeBytes` first (Kusto-Lightingest `src/Utilities.cs`
/// `EstimateFileSizeAsync`); kingest prefers `kustoUncompressedSizeBytes` because a tool that
/// writes the newer key is the one more likely to be right, and a flag beats both.
const SIZE_METADATA: [&str; 2] = ["kustoUncompressedSizeBytes", "rawSizeBytes"];

/// RawDataSize: the flag, else the first positive whole-number metadata value (names compared
/// case-insensitively, as Azure treats them; LightIngest's `GetPositiveLongProperty` also
/// skips values that are not positive integers), else the blob's length.
pub fn raw_size(flag: Option<u64>, props: &BlobProperties) -> RawSize {
    if let Some(n) = flag {
        return RawSize::Flag(n);
    }
    for name in SIZE_METADATA {
        let value = props
            .metadata
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.trim().parse::<u64>().ok())
            .filter(|n| *n > 0);
        if let Some(n) = value {
            return RawSize::Metadata(name, n);
        }
    }
    RawSize::Length(props.content_length)
}

/// The blob's URL without a `;managed_identity=…` suffix, for storage calls; `None` when it
/// carries one (the service reads it with its own identity: this machine cannot HEAD it).
fn readable_url(url: &SasUrl) -> Option<&SasUrl> {
    (!url
        .expose()
        .to_ascii_lowercase()
        .contains(";managed_identity="))
    .then_some(url)
}

/// The format a blob URL's name says: its extension, before the query (a SAS) or a
/// `;managed_identity=…` suffix. The one reading of a blob URL's format (CLI and TUI).
pub fn format_from_url(url: &str) -> Option<DataFormat> {
    DataFormat::from_path(url.split(['?', ';']).next().unwrap_or(url))
}

/// The blob's format: as asked, else from its name. `--dedupe` is refused here, the first
/// check every blob path makes: it hashes what it uploads, and a blob is not read.
pub(super) fn format_of(req: &SubmitRequest, source: &BlobSource) -> Result<DataFormat> {
    if req.dedupe {
        return Err(Error::Usage(
            "--dedupe hashes the data it uploads: an existing blob is not read, so tag it \
             yourself (--tag ingest-by:X --ingest-if-not-exists X)"
                .into(),
        ));
    }
    match req.format {
        Some(f) => Ok(f),
        None => format_from_url(source.url.expose()).ok_or_else(|| {
            Error::Usage(format!(
                "cannot tell the format of '{}' from its name: pass a format (e.g. --format csv)",
                source.url.without_query()
            ))
        }),
    }
}

/// RawDataSize for `source` ([`raw_size`], one HEAD unless the flag gave it; `None` for a
/// managed-identity URL without a flag), refused over the request's size limit.
pub(super) async fn known_raw_size(
    client: &IngestClient,
    req: &SubmitRequest,
    source: &BlobSource,
) -> Result<Option<u64>> {
    let shown = source.url.without_query();
    let size =
        match (source.raw_size, readable_url(&source.url)) {
            (Some(n), _) => Some(RawSize::Flag(n)),
            // As the Python SDK's queued client: no size known, none sent.
            (None, None) => None,
            (None, Some(url)) => {
                let props = client.storage().blob_properties(url).await.map_err(|e| match e {
                Error::Storage { status: 404, .. } => {
                    Error::Usage(format!("the blob '{shown}' does not exist"))
                }
                Error::Storage { status, code, .. } => Error::Usage(format!(
                    "cannot read the properties of '{shown}' ({status} {code}) to learn its \
                     size: give a SAS with read rights, or pass --raw-size N"
                )),
                other => other,
            })?;
                Some(raw_size(None, &props))
            }
        };
    if let (Some(limit), Some(s)) = (req.effective_size_limit(), size)
        && s.bytes() > limit
    {
        return Err(too_large(
            std::path::Path::new(&shown),
            Some(s.bytes()),
            limit,
        ));
    }
    Ok(size.map(RawSize::bytes))
}

pub(super) async fn submit(
    client: &IngestClient,
    req: SubmitRequest,
    source: BlobSource,
    stages: &mut Stages,
) -> Result<Submitted> {
    validate(&req)?;
    let format = format_of(&req, &source)?;
    let raw = known_raw_size(client, &req, &source).await?;
    let source_id = req.source_id.unwrap_or_else(uuid::Uuid::new_v4);
    let resources = client.resources().await?;
    // Nothing uploaded: the blob as it is.
    let given = UploadedChunk {
        blob: source.url,
        done: Uploaded {
            raw: raw.unwrap_or(0),
            sent: 0,
            changed: None,
            digest: None,
            reused: 0,
        },
    };
    let posted = post_one(
        client, &resources, req, format, source_id, given, raw, stages,
    )
    .await?;
    // Posted: the front door writes the tracked record.
    stages.written = None;
    Ok(posted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blob_urls_format_ignores_its_sas_and_managed_identity_suffix() {
        let f = |u| format_from_url(u);
        assert_eq!(
            f("https://a.blob.core.windows.net/c/x.csv?sv=1&sig=S"),
            Some(DataFormat::Csv)
        );
        assert_eq!(
            f("https://a.blob.core.windows.net/c/d/x.json;managed_identity=system"),
            Some(DataFormat::Json)
        );
        assert_eq!(
            f("https://a.blob.core.windows.net/c/x.parquet.gz"),
            Some(DataFormat::Parquet)
        );
        assert_eq!(f("https://a.blob.core.windows.net/c/x"), None);
    }

    fn props(len: u64, meta: &[(&str, &str)]) -> BlobProperties {
        BlobProperties {
            content_length: len,
            metadata: meta
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn the_flag_beats_metadata_which_beats_the_length() {
        let both = props(
            10,
            &[
                ("rawsizebytes", "300"),
                ("kustouncompressedsizebytes", "200"),
            ],
        );
        assert_eq!(raw_size(Some(5), &both), RawSize::Flag(5));
        assert_eq!(
            raw_size(None, &both),
            RawSize::Metadata("kustoUncompressedSizeBytes", 200)
        );
        let legacy = props(10, &[("RawSizeBytes", "300")]);
        assert_eq!(
            raw_size(None, &legacy),
            RawSize::Metadata("rawSizeBytes", 300)
        );
        // Not a positive whole number: ignored.
        let junk = props(
            10,
            &[("kustouncompressedsizebytes", "-1"), ("rawsizebytes", "x")],
        );
        assert_eq!(raw_size(None, &junk), RawSize::Length(10));
        assert_eq!(raw_size(None, &props(7, &[])), RawSize::Length(7));
    }

    #[test]
    fn a_managed_identity_blob_is_not_read_here() {
        let mi = SasUrl::parse("https://a.blob.core.windows.net/c/b.csv;managed_identity=system")
            .unwrap();
        assert!(readable_url(&mi).is_none());
        let sas = SasUrl::parse("https://a.blob.core.windows.net/c/b.csv?sig=x").unwrap();
        assert!(readable_url(&sas).is_some());
    }
}
