//! Gathering what forensics needs for one failure notification: the source's bytes (the local
//! file the journal maps its source id to, else the retained blob when its path carries a SAS)
//! and the table's facts from the engine.

use std::io::Read as _;

use super::{Forensics, SentAs, explain};
use crate::client::IngestClient;
use crate::client::error::{Error, Result};
use crate::client::journal::Journal;
use crate::client::storage::SasUrl;
use crate::client::wire::{DataFormat, Notification};

/// Bytes of a source read at most.
const READ_CAP: u64 = 64 * 1024 * 1024;

/// Where the bytes came from, for the user.
#[derive(Debug, Clone, PartialEq)]
pub struct Investigation {
    pub source: String,
    pub forensics: Forensics,
}

fn gunzip_if(bytes: Vec<u8>) -> Result<Vec<u8>> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .take(READ_CAP)
            .read_to_end(&mut out)?;
        Ok(out)
    } else {
        Ok(bytes)
    }
}

/// Explains a failure notification of a source this machine submitted, or of a blob it can read.
pub async fn investigate(
    client: &IngestClient,
    journal: &Journal,
    n: &Notification,
) -> Result<Investigation> {
    let source_id = n.ingestion_source_id.clone().unwrap_or_default();
    let record = if source_id.is_empty() {
        None
    } else {
        journal.find(&source_id)?
    };
    let local = record
        .as_ref()
        .map(|r| std::path::PathBuf::from(&r.file))
        .filter(|p| p.is_file());
    let (data, source) = if let Some(path) = local {
        let mut bytes = Vec::new();
        std::fs::File::open(&path)?
            .take(READ_CAP)
            .read_to_end(&mut bytes)?;
        (gunzip_if(bytes)?, path.display().to_string())
    } else if let Some(url) = n
        .ingestion_source_path
        .as_deref()
        .filter(|p| p.contains("sig="))
        .and_then(|p| SasUrl::parse(p).ok())
    {
        let bytes = client.storage().get_blob(&url).await?;
        (gunzip_if(bytes.to_vec())?, format!("retained blob {url}"))
    } else {
        return Err(Error::Usage(format!(
            "source {source_id} is not a local file kingest submitted from here (journal) nor \
             a blob kingest can read"
        )));
    };
    let database = n
        .database
        .clone()
        .or_else(|| record.as_ref().map(|r| r.database.clone()))
        .unwrap_or_default();
    let table = n
        .table
        .clone()
        .or_else(|| record.as_ref().map(|r| r.table.clone()))
        .unwrap_or_default();
    let facts = crate::client::preflight::facts::fetch(client, &database, &table).await?;
    let format = record
        .as_ref()
        .map(|r| r.format.clone())
        .filter(|f| !f.is_empty())
        .or_else(|| DataFormat::from_path(&source).map(|f| f.wire_name()))
        .unwrap_or_else(|| "csv".into());
    // As it was sent (the journaled request; older records and other clients' sources: bare).
    let request = record.as_ref().map(crate::client::resubmit::request_of);
    let sent = SentAs {
        format: format.to_ascii_lowercase(),
        mapping_ref: request.as_ref().and_then(|r| r.mapping_reference.clone()),
        ignore_first_record: request.as_ref().is_some_and(|r| r.ignore_first_record),
    };
    let forensics = explain(
        &data,
        &sent,
        n.error_code.as_deref().unwrap_or("Unknown"),
        n.details.as_deref().unwrap_or(""),
        &facts,
    );
    Ok(Investigation { source, forensics })
}
