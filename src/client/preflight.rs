//! Pre-flight check: what the service would answer to a source before it is sent. The table's
//! schema, mappings and policies come from the engine ([`facts`]); the first records are
//! ingested into a scratch copy of that table by the emulator's own engine
//! ([`Engine::with_table`]), and the service's documented rules the emulator does not model
//! are applied on top (each cited where applied). Shared by `kingest check` and the TUI.

pub mod facts;
#[cfg(test)]
mod tests;

use std::time::Duration;

use serde::Serialize;

use crate::client::wire::format_timespan;
use crate::emulator::engine::formats::{DelimitedReader, Format};
use crate::emulator::engine::policies::{BatchingPolicy, PolicySource};
use crate::emulator::engine::{Engine, IngestRequest};
pub use facts::TableFacts;

/// The service's limit per queued source: "The data size limit for a queued ingestion command
/// is 6 GB" (DOCS `ingest-data-overview.md`); over it, `BadRequest_FileTooLarge` (DOCS
/// `error-codes.md`, category FileTooLarge).
pub const SERVICE_SIZE_LIMIT: u64 = 6_000_000_000;

/// Bytes read from the start of a file at most: enough for the records a check reads.
const READ_CAP: u64 = 64 * 1024 * 1024;

/// Records read when the caller does not say.
pub const DEFAULT_RECORDS: usize = 1000;

/// What is checked: the ingestion properties that decide how the data is read.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckInput {
    pub format: String,
    pub mapping_ref: Option<String>,
    pub ignore_first_record: bool,
    /// Records to read (the rest of the file is not read).
    pub records: usize,
}

/// The predicted answer of the service.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    /// `None`: the service would ingest the records read.
    pub error_code: Option<String>,
    pub details: String,
    /// Whether retrying the same data would fail again.
    pub permanent: bool,
    /// Records read (after a skipped header).
    pub records_checked: u64,
    /// Whether every record of the source was read (else only the first ones).
    pub whole_source: bool,
    /// Things that would not fail the ingestion but that the user should know.
    pub warnings: Vec<String>,
    /// When the batch holding this source would seal.
    pub seal: String,
}

impl Prediction {
    fn failed(code: &str, details: impl Into<String>, seal: String) -> Prediction {
        Prediction {
            error_code: Some(code.to_string()),
            details: details.into(),
            permanent: crate::client::error_codes::describe(code).permanent,
            records_checked: 0,
            whole_source: false,
            warnings: vec![],
            seal,
        }
    }

    pub fn is_failure(&self) -> bool {
        self.error_code.is_some()
    }

    /// Lines for a terminal (the caller sanitises them).
    pub fn lines(&self, facts: &TableFacts) -> Vec<String> {
        let mut out = vec![match &self.error_code {
            Some(code) => format!(
                "predicted: {code} ({}) — {}",
                if self.permanent {
                    "permanent"
                } else {
                    "transient"
                },
                self.details
            ),
            None => format!("predicted: Succeeded — {}", self.details),
        }];
        if let Some(code) = &self.error_code {
            let info = crate::client::error_codes::describe(code);
            out.push(format!("fix: {}", info.hint));
        }
        if let Some(cols) = facts.columns() {
            out.push(format!(
                "table {}.{}: {} column(s): {}",
                facts.database,
                facts.table,
                cols.len(),
                cols.iter()
                    .map(|(n, t)| format!("{n}:{t}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if !facts.mappings.is_empty() {
            out.push(format!(
                "mappings: {}",
                facts
                    .mappings
                    .iter()
                    .map(|m| format!("{} ({})", m.name, m.kind))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        out.extend(self.warnings.iter().map(|w| format!("warning: {w}")));
        out.extend(facts.notes.iter().map(|n| format!("note: {n}")));
        out.push(format!("batch: {}", self.seal));
        out
    }
}

/// When a batch holding this source seals: at the first of the policy's limits (DOCS
/// `kusto/management/batching-policy.md`, "Sealing a batch").
pub fn seal(policy: &BatchingPolicy, source: PolicySource, size: u64) -> String {
    let from = match source {
        PolicySource::Table => "the table's IngestionBatching policy",
        PolicySource::Database => "the database's IngestionBatching policy",
        PolicySource::Default => "the default IngestionBatching policy",
    };
    let mb = size as f64 / (1024.0 * 1024.0);
    if size >= policy.max_raw_bytes() {
        format!(
            "seals at once: this source alone ({mb:.1} MB) reaches MaximumRawDataSizeMB {} ({from})",
            policy.max_raw_mb
        )
    } else if policy.max_items <= 1 {
        format!("seals at once: MaximumNumberOfItems is 1 ({from})")
    } else {
        format!(
            "seals at the latest {} after its first source arrives (MaximumBatchingTimeSpan), \
             sooner when {} more source(s) or {:.1} MB more data arrive for the same table and \
             properties ({from}: {} items, {} MB)",
            human(policy.max_time),
            policy.max_items - 1,
            (policy.max_raw_bytes() - size) as f64 / (1024.0 * 1024.0),
            policy.max_items,
            policy.max_raw_mb
        )
    }
}

fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        s if s % 60 == 0 && s >= 60 => format!("{} min", s / 60),
        s if s < 60 => format!("{s} s"),
        _ => format_timespan(d),
    }
}

/// Whether a record names the table's columns (a header row): same count, same names.
pub fn looks_like_header(fields: &[impl AsRef<str>], columns: &[(String, String)]) -> bool {
    !columns.is_empty()
        && fields.len() == columns.len()
        && fields
            .iter()
            .zip(columns)
            .all(|(f, (c, _))| f.as_ref().trim().eq_ignore_ascii_case(c))
}

/// Predicts the service's answer for `data` (the source, or its first bytes when `size`, the
/// whole source's uncompressed size, is larger).
pub fn predict(facts: &TableFacts, input: &CheckInput, data: &[u8], size: u64) -> Prediction {
    let seal_text = seal(&facts.batching, facts.batching_source, size);
    let Some(table) = &facts.columns else {
        return Prediction::failed(
            "BadRequest_DatabaseNotExist",
            format!("database '{}' does not exist", facts.database),
            seal_text,
        );
    };
    let Some(columns) = table else {
        return Prediction::failed(
            "BadRequest_TableNotExist",
            format!(
                "table '{}' does not exist in database '{}'",
                facts.table, facts.database
            ),
            seal_text,
        );
    };
    if size > SERVICE_SIZE_LIMIT {
        return Prediction::failed(
            "BadRequest_FileTooLarge",
            format!(
                "{size} bytes uncompressed is over the service's 6 GB per source; split it \
                 (kingest submit --chunk-size)"
            ),
            seal_text,
        );
    }
    let mut warnings = Vec::new();
    if size > crate::client::submit::SIZE_LIMIT {
        warnings.push(
            "over 4 GiB: kingest submit refuses it without --ignore-size-limit (as the SDKs do)"
                .to_string(),
        );
    }
    let whole = data.len() as u64 >= size;
    let format = Format::parse(&input.format);
    let (sample, complete) = match format {
        Ok(f) => cut(
            data,
            f,
            input.records + usize::from(input.ignore_first_record),
            whole,
        ),
        // The engine names the format problem itself.
        Err(_) => (data, whole),
    };
    if !whole
        && matches!(
            format,
            Ok(Format::MultiJson | Format::SingleJson | Format::Binary(_))
        )
    {
        warnings.push(format!(
            "only the first {} bytes were read and {} cannot be read in part: records not checked",
            data.len(),
            input.format
        ));
        return Prediction {
            error_code: None,
            details: "the table exists; the records were not checked".into(),
            permanent: false,
            records_checked: 0,
            whole_source: false,
            warnings,
            seal: seal_text,
        };
    }
    let mut engine = Engine::with_table(&facts.database, &facts.table, columns, &facts.mappings);
    let req = IngestRequest {
        database: facts.database.clone(),
        table: facts.table.clone(),
        format: input.format.to_ascii_lowercase(),
        mapping_reference: input.mapping_ref.clone(),
        ignore_first_record: input.ignore_first_record,
        source_id: "pre-flight".into(),
        ..IngestRequest::default()
    };
    // An empty sample of a non-empty source is a cut, not an empty blob.
    let result = engine.ingest(&req, sample, chrono::Utc::now());
    let mut p = match result {
        Err(f) => Prediction {
            permanent: crate::client::error_codes::describe(&f.error_code).permanent,
            error_code: Some(f.error_code),
            details: f.details,
            records_checked: 0,
            whole_source: complete,
            warnings: vec![],
            seal: seal_text,
        },
        Ok(outcome) => {
            let rejected = outcome.rejected;
            let mut p = Prediction {
                error_code: None,
                details: format!(
                    "{} record(s) read{}",
                    outcome.rows,
                    if complete {
                        " (the whole source)"
                    } else {
                        " (the first ones)"
                    }
                ),
                permanent: false,
                records_checked: outcome.rows,
                whole_source: complete,
                warnings: vec![],
                seal: seal_text,
            };
            match format {
                // "Malformed records in JSON data ingested with format="multijson" (e.g.
                // missing braces or quotes)": BadRequest_InvalidBlob; the whole file is
                // discarded (DOCS `ingest-invalid-data.md`, `ingest-json-formats.md`).
                Ok(Format::MultiJson) if rejected > 0 => {
                    p.error_code = Some("BadRequest_InvalidBlob".into());
                    p.permanent = true;
                    p.details = format!(
                        "{rejected} malformed JSON record(s) after {} good one(s): multijson \
                         discards the whole source on a parsing error",
                        outcome.rows
                    );
                }
                // With format="json", malformed lines are ignored without an error (DOCS
                // `ingest-invalid-data.md`, "Failure without error code").
                Ok(Format::Json) if rejected > 0 => p.warnings.push(format!(
                    "{rejected} line(s) are not JSON objects: the service skips them silently"
                )),
                _ if rejected > 0 => p
                    .warnings
                    .push(format!("{rejected} record(s) would be rejected")),
                _ => {}
            }
            p
        }
    };
    if let Ok(Format::Delimited { sep, escapes }) = format
        && !input.ignore_first_record
        && input.mapping_ref.is_none()
    {
        let mut reader = DelimitedReader::new(sample, sep, escapes);
        let mut fields = Vec::new();
        if let Ok(Some(_)) = reader.next_into(&mut fields) {
            let text: Vec<String> = fields.iter().map(|f| f.text().into_owned()).collect();
            if looks_like_header(&text, columns) {
                warnings.push(
                    "the first record names the table's columns (a header row): it would land \
                     as a row; pass --ignore-first-record"
                        .into(),
                );
            }
        }
    }
    warnings.append(&mut p.warnings);
    p.warnings = warnings;
    p
}

/// The first `n` records of `data` by format, and whether that is the whole source. JSON
/// documents that cannot be cut are kept whole.
fn cut(data: &[u8], format: Format, n: usize, whole: bool) -> (&[u8], bool) {
    match format {
        Format::Delimited { sep, escapes } => {
            let mut reader = DelimitedReader::new(data, sep, escapes);
            let mut fields = Vec::new();
            for _ in 0..n {
                match reader.next_into(&mut fields) {
                    Ok(Some(_)) => {}
                    // The end, or an error the engine reports on the same bytes.
                    Ok(None) | Err(_) => return (data, whole),
                }
            }
            let end = reader.offset();
            // Blank lines after the n-th record: still the whole source.
            let rest_blank = data[end..].iter().all(|b| b.is_ascii_whitespace());
            (&data[..end], whole && rest_blank)
        }
        Format::Txt | Format::Json => {
            let (mut seen, mut start) = (0, 0);
            for line in data.split(|&b| b == b'\n') {
                let end = (start + line.len() + 1).min(data.len());
                start = end;
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                seen += 1;
                if seen == n {
                    let rest_blank = data[end..].iter().all(|b| b.is_ascii_whitespace());
                    return (&data[..end], whole && rest_blank);
                }
            }
            (data, whole)
        }
        _ => (data, whole),
    }
}

/// The first [`READ_CAP`] bytes (decompressed for `.gz`) and the source's uncompressed size
/// (for a `.gz` read only in part, at least what was read plus one).
pub fn read_start(path: &std::path::Path) -> std::io::Result<(Vec<u8>, u64)> {
    let file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    let gz = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gz"));
    let mut data = Vec::new();
    if gz {
        let mut r = std::io::Read::take(flate2::read::GzDecoder::new(file), READ_CAP + 1);
        std::io::Read::read_to_end(&mut r, &mut data)?;
        let size = data.len() as u64;
        data.truncate(READ_CAP as usize);
        Ok((data, size))
    } else {
        std::io::Read::read_to_end(&mut std::io::Read::take(file, READ_CAP), &mut data)?;
        Ok((data, len))
    }
}
