//! What `submit` says about many sources: LightIngest's counters (discovered, posted,
//! succeeded, partially succeeded, failed, skipped, unknown: LI `src/Tracker.cs`), live on
//! stderr and as a final report, and the per-source report file (`--report`, CSV or JSON
//! lines) with LightIngest's columns (local file, remote path, source id, status, details,
//! errors) plus the chunk of a split source.

use std::io::Write as _;
use std::path::Path;

use serde_json::{Value, json};

use super::{Source, Unit};
use crate::client::redact::redact;
use crate::client::tracking::TrackState;

pub(super) use crate::cli::args::ReportFileFormat as ReportFormat;

impl ReportFormat {
    /// The asked format, else the file's extension (`.csv`; `.jsonl`, `.ndjson`, `.json`).
    pub(super) fn of(path: &Path, asked: Option<ReportFormat>) -> Result<Self, String> {
        if let Some(f) = asked {
            return Ok(f);
        }
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        match ext.as_str() {
            "csv" => Ok(ReportFormat::Csv),
            "jsonl" | "ndjson" | "json" => Ok(ReportFormat::Jsonl),
            _ => Err(format!(
                "cannot tell the report format of '{}' from its extension: name it .csv or \
                 .jsonl, or pass --report-format",
                path.display()
            )),
        }
    }
}

/// Where the sources stand, counted as LightIngest counts them; a split source counts once,
/// by kingest's aggregate over its chunks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Summary {
    pub discovered: usize,
    pub posted: usize,
    pub not_posted: usize,
    pub chunks: usize,
    pub succeeded: usize,
    pub partial: usize,
    pub failed: usize,
    pub skipped: usize,
    pub unknown: usize,
}

impl Summary {
    pub(super) fn of(discovered: usize, sources: &[Source], units: &[Unit]) -> Self {
        let mut s = Summary {
            discovered,
            ..Summary::default()
        };
        for src in sources {
            let Some(state) = src.state(units) else {
                s.not_posted += 1;
                continue;
            };
            s.posted += 1;
            s.chunks += src.units.len();
            match state {
                TrackState::Succeeded => s.succeeded += 1,
                TrackState::PartiallySucceeded => s.partial += 1,
                TrackState::Failed | TrackState::Canceled => s.failed += 1,
                TrackState::Skipped => s.skipped += 1,
                TrackState::Queued | TrackState::Pending | TrackState::Retrying => s.unknown += 1,
            }
        }
        s
    }

    /// The live line.
    pub(super) fn line(&self) -> String {
        let chunks = if self.chunks > self.posted {
            format!(
                " ({} messages: split sources post one per chunk)",
                self.chunks
            )
        } else {
            String::new()
        };
        format!(
            "items discovered: {}, posted: {}{chunks}, not posted: {} · succeeded: {}, \
             partially succeeded: {}, failed: {}, skipped: {}, unknown: {}",
            self.discovered,
            self.posted,
            self.not_posted,
            self.succeeded,
            self.partial,
            self.failed,
            self.skipped,
            self.unknown
        )
    }

    /// The final report block.
    pub(super) fn report(&self, secs: u64, file: Option<&Path>) -> Vec<String> {
        let of = |n: usize| format!("{n} out of {}", self.posted);
        let mut out = vec![
            "Ingestion report (a split source counts once, by kingest's aggregate over its \
             chunks):"
                .to_string(),
            format!("  duration:                      {secs} s"),
            format!("  items discovered:              {}", self.discovered),
            format!("  items posted:                  {}", self.posted),
            format!("  items not posted:              {}", self.not_posted),
            format!("  successfully completed:        {}", of(self.succeeded)),
            format!("  partially succeeded:           {}", of(self.partial)),
            format!("  failed:                        {}", of(self.failed)),
            format!("  skipped:                       {}", of(self.skipped)),
            format!("  unknown or still in progress:  {}", of(self.unknown)),
        ];
        if let Some(f) = file {
            out.push(format!("  per-source report:             {}", f.display()));
        }
        out
    }
}

/// One line of the report file.
struct Row {
    file: String,
    blob: String,
    source_id: String,
    /// `2/3` for a chunk, `3 chunks` for a split source's aggregate row.
    chunk: String,
    /// The message Id the service reports (a chunk's own id).
    message_source_id: String,
    status: String,
    details: String,
    errors: String,
}

const COLUMNS: [&str; 8] = [
    "Local File",
    "Blob",
    "Source Id",
    "Chunk",
    "Message Source Id",
    "Ingestion Status",
    "Ingestion Details",
    "Errors",
];

fn rows(sources: &[Source], units: &[Unit]) -> Vec<Row> {
    let mut out = Vec::new();
    for src in sources {
        let Some(state) = src.state(units) else {
            out.push(Row {
                file: src.file.clone(),
                blob: String::new(),
                source_id: String::new(),
                chunk: String::new(),
                message_source_id: String::new(),
                status: "NotSubmitted".into(),
                details: String::new(),
                errors: redact(src.error.as_deref().unwrap_or_default()),
            });
            continue;
        };
        let source_id = src.source_id.clone().unwrap_or_default();
        if src.units.len() > 1 {
            out.push(Row {
                file: src.file.clone(),
                blob: String::new(),
                source_id: source_id.clone(),
                chunk: format!("{} chunks", src.units.len()),
                message_source_id: String::new(),
                status: state.label().into(),
                details: format!("kingest's aggregate: {}", src.chunk_counts(units)),
                errors: String::new(),
            });
        }
        for &i in &src.units {
            let Some(u) = units.get(i) else { continue };
            let t = &u.tracker;
            let errors = [t.error.code.clone(), t.error.details.clone()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(": ");
            out.push(Row {
                file: src.file.clone(),
                blob: u
                    .submitted
                    .queued()
                    .map(|q| q.blob.without_query())
                    .unwrap_or_default(),
                source_id: source_id.clone(),
                chunk: u
                    .submitted
                    .chunk
                    .map(|c| format!("{}/{}", c.index, c.count))
                    .unwrap_or_default(),
                message_source_id: t.source_id.clone(),
                status: t.state.label().into(),
                details: redact(&t.describe()),
                errors: redact(&errors),
            });
        }
    }
    out
}

use crate::app::export::csv_field;

/// Writes the report file: one row per source sent whole, an aggregate row and one row per
/// chunk for a split source, one row per source that was not posted.
pub(super) fn write(
    path: &Path,
    format: ReportFormat,
    sources: &[Source],
    units: &[Unit],
) -> std::io::Result<()> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    if format == ReportFormat::Csv {
        writeln!(f, "{}", COLUMNS.join(","))?;
    }
    for r in rows(sources, units) {
        let fields = [
            &r.file,
            &r.blob,
            &r.source_id,
            &r.chunk,
            &r.message_source_id,
            &r.status,
            &r.details,
            &r.errors,
        ];
        match format {
            ReportFormat::Csv => {
                let line: Vec<String> = fields.iter().map(|s| csv_field(s)).collect();
                writeln!(f, "{}", line.join(","))?;
            }
            ReportFormat::Jsonl => {
                let keys = [
                    "local_file",
                    "blob",
                    "source_id",
                    "chunk",
                    "message_source_id",
                    "status",
                    "details",
                    "errors",
                ];
                let m: serde_json::Map<String, Value> = keys
                    .iter()
                    .zip(fields)
                    .map(|(k, v)| (k.to_string(), json!(v)))
                    .collect();
                writeln!(f, "{}", Value::Object(m))?;
            }
        }
    }
    f.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_when_they_must_be() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"x\"\n"), "\"say \"\"x\"\"\n\"");
    }

    #[test]
    fn the_report_format_comes_from_the_flag_or_the_extension() {
        let p = |s: &str| Path::new(s).to_path_buf();
        assert_eq!(ReportFormat::of(&p("r.csv"), None), Ok(ReportFormat::Csv));
        assert_eq!(
            ReportFormat::of(&p("r.JSONL"), None),
            Ok(ReportFormat::Jsonl)
        );
        assert_eq!(
            ReportFormat::of(&p("r.txt"), Some(ReportFormat::Csv)),
            Ok(ReportFormat::Csv)
        );
        assert!(ReportFormat::of(&p("r.txt"), None).is_err());
    }

    #[test]
    fn the_summary_line_names_every_counter() {
        let s = Summary {
            discovered: 3,
            posted: 2,
            not_posted: 1,
            chunks: 4,
            succeeded: 1,
            partial: 1,
            ..Summary::default()
        };
        let line = s.line();
        for want in [
            "items discovered: 3",
            "posted: 2 (4 messages",
            "not posted: 1",
            "partially succeeded: 1",
            "unknown: 0",
        ] {
            assert!(line.contains(want), "{want}: {line}");
        }
        assert!(s.report(5, None).iter().any(|l| l.contains("1 out of 2")));
    }
}
