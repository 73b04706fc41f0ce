//! The submit dialog's fields and validation.

use tui_input::Input;

use crate::client::SubmitRequest;
use crate::client::discover::Found;
use crate::client::mode::IngestMode;
use crate::client::wire::{DataFormat, ReportLevel, ReportMethod};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Path,
    Database,
    Table,
    Format,
    Mapping,
    ReportLevel,
    ReportMethod,
    Flush,
    /// Late in the list: the fields before it keep their places (scripts count the steps to
    /// them), Dedupe stays last.
    Mode,
    Dedupe,
    /// `--tag-source`: the extent tag `kingest:<source id>` (after Dedupe: the steps to the
    /// others stay the same).
    TagSource,
}

impl Field {
    pub const ALL: [Field; 11] = [
        Field::Path,
        Field::Database,
        Field::Table,
        Field::Format,
        Field::Mapping,
        Field::ReportLevel,
        Field::ReportMethod,
        Field::Flush,
        Field::Mode,
        Field::Dedupe,
        Field::TagSource,
    ];
    pub fn label(self) -> &'static str {
        match self {
            Field::Path => "Source",
            Field::Database => "Database",
            Field::Table => "Table",
            Field::Format => "Format",
            Field::Mode => "Mode",
            Field::Mapping => "Mapping ref",
            Field::ReportLevel => "Report level",
            Field::ReportMethod => "Report method",
            Field::Flush => "Flush",
            Field::Dedupe => "Dedupe",
            Field::TagSource => "Tag source",
        }
    }
    pub fn is_text(self) -> bool {
        matches!(
            self,
            Field::Path | Field::Database | Field::Table | Field::Mapping
        )
    }
    fn step(self, delta: isize) -> Field {
        let i = Field::ALL.iter().position(|f| *f == self).unwrap_or(0) as isize;
        let n = Field::ALL.len() as isize;
        Field::ALL[(i + delta).rem_euclid(n) as usize]
    }
}

#[derive(Debug, Clone)]
pub struct SubmitForm {
    pub path: Input,
    pub database: Input,
    pub table: Input,
    pub mapping: Input,
    /// `None`: detected from the extension.
    pub format: Option<DataFormat>,
    pub report_level: ReportLevel,
    pub report_method: ReportMethod,
    pub flush: bool,
    /// `--dedupe`: ingest-by:<content hash> with ingestIfNotExists.
    pub dedupe: bool,
    /// `--tag-source`: the row count by `kingest:<source id>` joins the timeline.
    pub tag_source: bool,
    pub field: Field,
    pub error: Option<String>,
    /// The pre-flight check's lines (Ctrl-K), or why it could not run.
    pub check: Option<Result<Vec<String>, String>>,
    /// Candidates of the last Tab completion, shown under the path.
    pub completions: Vec<String>,
    /// The ingestion path (`client::mode`): the client dispatches on it.
    pub mode: IngestMode,
    /// What a glob or folder in the path matched, shown before anything is submitted.
    pub matches: Option<Matches>,
}

/// The files a glob or folder path stands for (`client::discover`).
#[derive(Debug, Clone, PartialEq)]
pub struct Matches {
    /// The path they were listed for: stale once it changes.
    pub input: String,
    pub files: Vec<Found>,
}

impl Matches {
    pub fn total_bytes(&self) -> u64 {
        self.files.iter().filter_map(|f| f.size).sum()
    }
}

/// Whether `path` names several files rather than one: a glob, or a folder (a URL, whose
/// query has a `?`, is one source). Asks the file system whether it is a folder (one `stat`).
pub fn names_many(path: &str) -> bool {
    let url = ["https://", "http://"].iter().any(|p| {
        path.get(..p.len())
            .is_some_and(|h| h.eq_ignore_ascii_case(p))
    });
    !url && (path.contains(['*', '?', '[', '{']) || std::path::Path::new(path).is_dir())
}

impl SubmitForm {
    pub fn new(database: &str, table: &str) -> Self {
        SubmitForm {
            path: Input::default(),
            database: Input::new(database.to_string()),
            table: Input::new(table.to_string()),
            mapping: Input::default(),
            format: None,
            report_level: ReportLevel::FailuresAndSuccesses,
            // As LightIngest: tracked exactly, nothing added to the queues every client shares.
            report_method: ReportMethod::Table,
            flush: false,
            dedupe: false,
            tag_source: false,
            field: Field::Path,
            error: None,
            check: None,
            completions: Vec::new(),
            mode: IngestMode::Queued,
            matches: None,
        }
    }

    pub fn next_field(&mut self) {
        self.field = self.field.step(1);
    }

    pub fn prev_field(&mut self) {
        self.field = self.field.step(-1);
    }

    pub fn input_mut(&mut self) -> Option<&mut Input> {
        match self.field {
            Field::Path => Some(&mut self.path),
            Field::Database => Some(&mut self.database),
            Field::Table => Some(&mut self.table),
            Field::Mapping => Some(&mut self.mapping),
            _ => None,
        }
    }

    /// The path field names an existing blob (an http(s) URL) rather than a local file.
    pub fn is_blob_url(&self) -> bool {
        let p = self.path.value().trim().to_ascii_lowercase();
        p.starts_with("https://") || p.starts_with("http://")
    }

    pub fn detected_format(&self) -> Option<DataFormat> {
        let p = self.path.value().trim();
        if self.is_blob_url() {
            crate::client::submit::format_from_url(p)
        } else {
            DataFormat::from_path(p)
        }
    }

    pub fn effective_format(&self) -> Option<DataFormat> {
        self.format.or_else(|| self.detected_format())
    }

    /// Cycles the focused choice field.
    pub fn cycle(&mut self, delta: isize) {
        fn step<T: Copy + PartialEq>(all: &[T], cur: T, delta: isize) -> T {
            let i = all.iter().position(|x| *x == cur).unwrap_or(0) as isize;
            all[(i + delta).rem_euclid(all.len() as isize) as usize]
        }
        match self.field {
            Field::Format => {
                let cur = self.effective_format().unwrap_or(DataFormat::Csv);
                self.format = Some(step(DataFormat::ALL, cur, delta));
            }
            Field::Mode => self.mode = step(&IngestMode::ALL, self.mode, delta),
            Field::ReportLevel => {
                self.report_level = step(ReportLevel::ALL, self.report_level, delta)
            }
            Field::ReportMethod => {
                self.report_method = step(ReportMethod::ALL, self.report_method, delta)
            }
            Field::Flush => self.flush = !self.flush,
            Field::Dedupe => self.dedupe = !self.dedupe,
            Field::TagSource => self.tag_source = !self.tag_source,
            _ => {}
        }
    }

    /// The matches listed for the path as it is now, if any.
    pub fn current_matches(&self) -> Option<&Matches> {
        self.matches
            .as_ref()
            .filter(|m| m.input == self.path.value().trim())
    }

    /// Keeps what `input` matched (ignored when the path changed meanwhile); standard input
    /// is the CLI's (`kingest submit -`).
    pub fn apply_matches(&mut self, input: &str, found: Result<Vec<Found>, String>) {
        if self.path.value().trim() != input {
            return;
        }
        match found {
            Ok(files) if files.iter().any(|f| f.stdin) => {
                self.error = Some(
                    "standard input cannot be typed here: pipe it to `kingest submit -`".into(),
                );
            }
            Ok(files) => {
                self.error = None;
                self.matches = Some(Matches {
                    input: input.to_string(),
                    files,
                });
            }
            Err(e) => {
                self.matches = None;
                self.error = Some(e);
            }
        }
    }

    /// Checks the fields; the error says what to fix. One request per file: the path's
    /// matches when it is a glob or folder that was listed, else the path itself.
    pub fn to_requests(&self) -> Result<Vec<SubmitRequest>, String> {
        let template = self.to_request()?;
        let Some(m) = self.current_matches() else {
            return Ok(vec![template]);
        };
        m.files
            .iter()
            .map(|f| {
                let text = f.path.to_string_lossy();
                let format = self
                    .format
                    .or_else(|| DataFormat::from_path(&text))
                    .ok_or_else(|| {
                        format!(
                            "cannot tell the format of '{text}' from its extension: pick one on \
                             the Format field with Ctrl-N"
                        )
                    })?;
                let mut req = template.clone();
                req.path = f.path.clone();
                req.format = Some(format);
                Ok(req)
            })
            .collect()
    }

    /// The request of the path as typed; the error says what to fix.
    pub fn to_request(&self) -> Result<SubmitRequest, String> {
        let path = self.path.value().trim();
        if path.is_empty() {
            return Err("enter the path of a file, folder or glob to ingest, or a blob URL".into());
        }
        let database = self.database.value().trim();
        if database.is_empty() {
            return Err("enter a database name".into());
        }
        let table = self.table.value().trim();
        if table.is_empty() {
            return Err("enter a table name".into());
        }
        // A listed glob or folder takes each file's format from its own extension.
        let format = match (self.effective_format(), self.current_matches()) {
            (Some(f), _) => f,
            (None, Some(_)) => DataFormat::Csv,
            (None, None) => {
                return Err(
                    "cannot tell the format from the extension: pick one on the \
                            Format field with Ctrl-N"
                        .into(),
                );
            }
        };
        let mut req = SubmitRequest::new(path, database, table);
        if self.is_blob_url() {
            // An existing blob: ingested as it is, no upload (its size from one HEAD).
            let url = crate::client::storage::SasUrl::parse(path).map_err(|e| e.to_string())?;
            req.path = std::path::PathBuf::new();
            req.blob = Some(crate::client::submit::BlobSource {
                url,
                raw_size: None,
            });
        }
        req.format = Some(format);
        req.mode = self.mode;
        // Big text files go in chunks, as `submit --chunk-size`'s default.
        req.chunk_size = Some(crate::client::submit::chunk::DEFAULT_CHUNK_SIZE);
        let mapping = self.mapping.value().trim();
        req.mapping_reference = (!mapping.is_empty()).then(|| mapping.to_string());
        if let Some(why) =
            crate::client::submit::reporting_conflict(self.report_level, self.report_method)
        {
            return Err(why.into());
        }
        req.report_level = self.report_level;
        req.report_method = self.report_method;
        req.flush_immediately = self.flush;
        req.dedupe = self.dedupe;
        req.tag_source = self.tag_source;
        Ok(req)
    }

    /// Applies completion candidates for `input` (ignored when the path changed meanwhile).
    pub fn apply_completions(&mut self, input: &str, mut candidates: Vec<String>) {
        if self.path.value() != input {
            return;
        }
        candidates.sort();
        let none = candidates.is_empty();
        let prefix = common_prefix(&candidates);
        if prefix.len() > input.len() {
            self.path = Input::new(prefix);
        }
        self.completions = if candidates.len() > 1 {
            candidates
        } else {
            Vec::new()
        };
        self.error = none.then(|| format!("no file matches '{input}'"));
    }
}

fn common_prefix(items: &[String]) -> String {
    let Some(first) = items.first() else {
        return String::new();
    };
    let mut end = first.len();
    for s in &items[1..] {
        end = first
            .char_indices()
            .zip(s.chars())
            .take_while(|((_, a), b)| a == b)
            .last()
            .map(|((i, a), _)| i + a.len_utf8())
            .unwrap_or(0)
            .min(end);
    }
    first[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_says_what_to_fix() {
        let mut f = SubmitForm::new("db", "");
        assert!(f.to_request().unwrap_err().contains("path"));
        assert_eq!(f.mode, IngestMode::Queued);
        f.field = Field::Mode;
        f.cycle(1);
        assert_eq!(f.mode, IngestMode::Queued.next());
        f.cycle(-1);
        assert_eq!(f.mode, IngestMode::Queued);
        f.path = Input::new("/tmp/x.csv".into());
        assert!(f.to_request().unwrap_err().contains("table"));
        f.table = Input::new("T".into());
        let req = f.to_request().unwrap();
        assert_eq!(req.format, Some(DataFormat::Csv));
        f.path = Input::new("/tmp/x.weird".into());
        assert!(f.to_request().unwrap_err().contains("format"));
        f.field = Field::Format;
        f.cycle(1);
        assert_eq!(f.format, Some(DataFormat::Tsv));
        // Table reporting by default; failures only cannot go to a table.
        assert_eq!(f.report_method, ReportMethod::Table);
        f.report_level = ReportLevel::FailuresOnly;
        assert!(f.to_request().unwrap_err().contains("Pending forever"));
        f.report_method = ReportMethod::Queue;
        assert!(f.to_request().is_ok());
        f.field = Field::Dedupe;
        f.cycle(1);
        assert!(f.to_request().unwrap().dedupe);
    }

    #[test]
    fn a_blob_url_in_the_path_field_is_an_existing_blob_source() {
        let mut f = SubmitForm::new("db", "T");
        f.path = Input::new("https://a.blob.core.windows.net/c/data.csv.gz?sv=1&sig=S".into());
        assert_eq!(f.detected_format(), Some(DataFormat::Csv));
        let req = f.to_request().unwrap();
        let blob = req.blob.as_ref().unwrap();
        assert_eq!(
            blob.url.query_param("sig").as_deref(),
            Some("S"),
            "the SAS is kept"
        );
        assert_eq!(
            req.source_name(),
            "https://a.blob.core.windows.net/c/data.csv.gz"
        );
        f.path = Input::new("https://".into());
        assert!(f.to_request().is_err());
        f.path = Input::new("/tmp/x.csv".into());
        assert!(f.to_request().unwrap().blob.is_none());
    }

    #[test]
    fn a_listed_glob_makes_one_request_per_file_with_its_own_format() {
        let mut f = SubmitForm::new("db", "T");
        f.path = Input::new("/d/*".into());
        f.field = Field::Mode;
        f.cycle(1);
        let file = |p: &str| Found {
            path: p.into(),
            size: Some(3),
            stdin: false,
        };
        // Listed for another path: ignored.
        f.apply_matches("/e/*", Ok(vec![file("/e/x.csv")]));
        assert!(f.current_matches().is_none());
        f.apply_matches("/d/*", Ok(vec![file("/d/a.csv"), file("/d/b.json")]));
        assert_eq!(f.current_matches().unwrap().total_bytes(), 6);
        let reqs = f.to_requests().unwrap();
        assert_eq!(reqs.len(), 2);
        assert_eq!(reqs[1].format, Some(DataFormat::Json));
        assert!(
            reqs.iter()
                .all(|r| r.mode == f.mode && r.chunk_size.is_some())
        );
        f.apply_matches("/d/*", Ok(vec![file("/d/a.weird")]));
        assert!(f.to_requests().unwrap_err().contains("a.weird"));
        f.apply_matches("/d/*", Err("no file matches '/d/*'".into()));
        assert!(f.current_matches().is_none() && f.error.is_some());
        let stdin = Found {
            path: "-".into(),
            size: None,
            stdin: true,
        };
        f.apply_matches("/d/*", Ok(vec![stdin]));
        assert!(f.error.as_deref().unwrap().contains("kingest submit -"));
        // What is listed first: globs and folders, not a URL (its SAS query has a `?`).
        assert!(names_many("/d/*.csv") && names_many("/tmp"));
        assert!(!names_many(
            "https://a.blob.core.windows.net/c/d.csv?sv=1&sig=S"
        ));
        assert!(!names_many("/d/one.csv"));
    }

    #[test]
    fn completion_extends_to_common_prefix() {
        let mut f = SubmitForm::new("", "");
        f.path = Input::new("/d/da".into());
        f.apply_completions("/d/da", vec!["/d/data1.csv".into(), "/d/data2.csv".into()]);
        assert_eq!(f.path.value(), "/d/data");
        assert_eq!(f.completions.len(), 2);
        f.apply_completions("/d/data", vec!["/d/data1.csv".into()]);
        assert_eq!(f.path.value(), "/d/data1.csv");
        assert!(f.completions.is_empty());
        f.apply_completions("/d/data1.csv", vec![]);
        assert!(f.error.is_some());
    }
}
