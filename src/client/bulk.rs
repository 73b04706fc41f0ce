//! Bulk ingestion run by the cluster: `.ingest-from-storage-queued … <| .list blobs (…)` (or
//! an explicit blob list) on the DM's mgmt endpoint, tracked with `.show queued ingestion
//! operations` and stopped with `.cancel queued ingestion operation` (dataexplorer-docs
//! `kusto/management/data-ingestion/ingest-from-storage-queued.md` and its siblings).
//!
//! Result columns are read by name, case- and space-insensitively (the docs' example tables
//! print "Started On"), with the aliases the docs themselves use: `InProgress` for `Pending`,
//! `BlobUrl` for `BlobURL`, `FailedReason` for `FailedReasons`.

use serde::Serialize;
use serde_json::Value;

use crate::client::IngestClient;
use crate::client::error::{Error, Result};
use crate::client::mgmt::{V1Table, primary};
use crate::client::storage::SasUrl;
use crate::client::wire::{DataFormat, value_to_string};

/// The most blob URLs kingest puts into one explicit-list command: the command text grows
/// with each (a SAS URL is a few hundred bytes), and the service documents no bound.
pub const MAX_EXPLICIT_BLOBS: usize = 5000;

/// Where the blobs come from.
#[derive(Debug, Clone)]
pub enum BulkSource {
    /// `.list blobs`: the cluster lists the container itself.
    Listing {
        /// Container (or container + folder) URL with a SAS holding list and read rights.
        container: SasUrl,
        /// A `;managed_identity=…` (or other) credential suffix, sent as written.
        credential: Option<String>,
        prefix: String,
        suffix: Option<String>,
        max_files: Option<u64>,
    },
    /// Explicit blob URLs (each with its SAS).
    Blobs(Vec<SasUrl>),
}

#[derive(Debug, Clone)]
pub struct BulkRequest {
    pub database: String,
    pub table: String,
    pub source: BulkSource,
    /// `with (…)` ingestion properties (format, ingestionMappingReference, …).
    pub properties: Vec<(String, String)>,
    pub skip_batching: bool,
}

/// What the operator asked for, before kingest plans it ([`IngestClient::bulk_request`]): the
/// CLI's flags and the TUI's bulk dialog both come down to this.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BulkSpec {
    pub database: String,
    pub table: String,
    /// Container (or container/folder) URL with SAS, possibly with a `;credential` suffix.
    pub container: Option<String>,
    /// Explicit blob URLs (used when there is no container).
    pub blobs: Vec<String>,
    pub prefix: Option<String>,
    /// A glob on blob names ([`Glob`]).
    pub pattern: Option<String>,
    pub limit: Option<u64>,
    /// `None`: from the pattern's extension, else the service's default (csv).
    pub format: Option<DataFormat>,
    pub mapping_ref: Option<String>,
    pub ignore_first_record: bool,
    /// Further ingestion properties, KEY=VALUE.
    pub properties: Vec<(String, String)>,
    pub skip_batching: bool,
}

impl BulkSpec {
    fn ingestion_properties(&self) -> Result<Vec<(String, String)>> {
        let format = self
            .format
            .or_else(|| self.pattern.as_deref().and_then(DataFormat::from_path));
        let mut props: Vec<(String, String)> = Vec::new();
        if let Some(f) = format {
            props.push(("format".into(), f.wire_name()));
        }
        if let Some(m) = self.mapping_ref.as_ref().filter(|m| !m.trim().is_empty()) {
            props.push(("ingestionMappingReference".into(), m.clone()));
        }
        if self.ignore_first_record {
            props.push(("ignoreFirstRecord".into(), "true".into()));
        }
        for (k, v) in &self.properties {
            if props.iter().any(|(p, _)| p.eq_ignore_ascii_case(k)) {
                return Err(Error::Usage(format!(
                    "the property {k} is set by its own option"
                )));
            }
            props.push((k.clone(), v.clone()));
        }
        Ok(props)
    }
}

/// A URL with an optional `;credential` suffix (`;managed_identity=system`).
fn split_credential(url: &str) -> (&str, Option<String>) {
    match url.find(';') {
        Some(i) => (&url[..i], Some(url[i..].to_string())),
        None => (url, None),
    }
}

fn capped(n: Option<u64>) -> Option<usize> {
    n.map(|n| usize::try_from(n).unwrap_or(usize::MAX))
}

/// A Kusto obfuscated string literal (`h"…"`): kept out of the service's traces, as the
/// docs recommend for storage locators.
fn hidden(s: &str) -> String {
    format!("h\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A table name as a bracketed literal, so any name is safe in the command.
fn entity(name: &str) -> String {
    format!("[{}]", quoted(name))
}

impl BulkSource {
    /// The `.list blobs` locator: container URL, prefix as path, credential suffix.
    fn locator(&self) -> Option<String> {
        let BulkSource::Listing {
            container,
            credential,
            prefix,
            ..
        } = self
        else {
            return None;
        };
        let url = if prefix.is_empty() {
            container.clone()
        } else {
            container.child(prefix)
        };
        Some(format!(
            "{}{}",
            url.expose(),
            credential.as_deref().unwrap_or_default()
        ))
    }
}

/// The command text (it carries the SAS: never print it).
pub fn command(req: &BulkRequest) -> String {
    let mut csl = format!(
        ".ingest-from-storage-queued into table database({}).{} EnableTracking=true",
        quoted(&req.database),
        entity(&req.table)
    );
    if req.skip_batching {
        csl.push_str(" SkipBatching=true");
    }
    if !req.properties.is_empty() {
        let props: Vec<String> = req
            .properties
            .iter()
            .map(|(k, v)| format!("{k}={}", quoted(v)))
            .collect();
        csl.push_str(&format!(" with ({})", props.join(", ")));
    }
    csl.push_str(" <|");
    match &req.source {
        BulkSource::Listing {
            suffix, max_files, ..
        } => {
            let locator = req.source.locator().unwrap_or_default();
            csl.push_str(&format!(" .list blobs ({})", hidden(&locator)));
            if let Some(s) = suffix {
                csl.push_str(&format!(" Suffix={}", quoted(s)));
            }
            if let Some(n) = max_files {
                csl.push_str(&format!(" MaxFiles={n}"));
            }
        }
        BulkSource::Blobs(blobs) => {
            for b in blobs {
                csl.push('\n');
                csl.push_str(&hidden(b.expose()));
            }
        }
    }
    csl
}

/// The answer to `.ingest-from-storage-queued`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BulkStarted {
    pub operation_id: String,
    pub client_request_id: String,
    pub operation_info: String,
}

/// `State` of an operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum BulkState {
    InProgress,
    Completed,
    Failed,
    Canceled,
    /// A state the docs do not list, kept as sent.
    Other(String),
}

impl BulkState {
    pub fn parse(s: &str) -> BulkState {
        match s.trim().to_ascii_lowercase().as_str() {
            "inprogress" | "in progress" | "pending" | "queued" => BulkState::InProgress,
            "completed" | "succeeded" => BulkState::Completed,
            "failed" => BulkState::Failed,
            "canceled" | "cancelled" => BulkState::Canceled,
            _ => BulkState::Other(s.to_string()),
        }
    }

    pub fn label(&self) -> &str {
        match self {
            BulkState::InProgress => "InProgress",
            BulkState::Completed => "Completed",
            BulkState::Failed => "Failed",
            BulkState::Canceled => "Canceled",
            BulkState::Other(s) => s,
        }
    }

    /// The operation will not change any more (an unknown state is not final: keep asking).
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            BulkState::Completed | BulkState::Failed | BulkState::Canceled
        )
    }
}

/// One row of `.show queued ingestion operations`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BulkOperation {
    pub operation_id: String,
    pub started_on: Option<String>,
    pub last_updated_on: Option<String>,
    pub state: BulkState,
    pub discovered: u64,
    pub pending: u64,
    pub canceled: u64,
    pub ingested: u64,
    pub failed: u64,
    pub sample_failed_reasons: String,
    pub database: String,
    pub table: String,
}

impl BulkOperation {
    /// Blobs with an outcome, of those discovered (0.0–1.0).
    pub fn progress(&self) -> f64 {
        if self.discovered == 0 {
            return if self.state.is_final() { 1.0 } else { 0.0 };
        }
        let done = self.ingested + self.failed + self.canceled;
        (done as f64 / self.discovered as f64).clamp(0.0, 1.0)
    }

    /// Final and nothing pending: the counters will not move any more. (Right after a
    /// cancel the state is Canceled while blobs still count as Pending; they move to
    /// Canceled, or land, later.)
    pub fn is_settled(&self) -> bool {
        self.state.is_final() && self.pending == 0
    }

    /// Every discovered blob was ingested.
    pub fn is_success(&self) -> bool {
        self.state == BulkState::Completed && self.failed == 0 && self.canceled == 0
    }
}

/// One row of `.show queued ingestion operations "<id>" details`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BulkBlob {
    pub blob_url: String,
    pub status: String,
    pub started_at: Option<String>,
    pub completed_at: Option<String>,
    pub failed_reasons: String,
}

/// A result table read by column name, tolerant of the docs' spellings.
struct Columns<'a> {
    table: &'a V1Table,
}

fn normalise(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_whitespace() && *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

impl<'a> Columns<'a> {
    fn index(&self, names: &[&str]) -> Option<usize> {
        let wanted: Vec<String> = names.iter().map(|n| normalise(n)).collect();
        self.table
            .columns
            .iter()
            .position(|c| wanted.contains(&normalise(&c.name)))
    }

    fn require(&self, names: &[&str]) -> Result<usize> {
        self.index(names).ok_or_else(|| {
            Error::BadResponse(format!(
                "the queued-ingestion result has no '{}' column",
                names[0]
            ))
        })
    }

    fn text(row: &[Value], i: Option<usize>) -> Option<String> {
        i.and_then(|i| row.get(i))
            .and_then(value_to_string)
            .filter(|s| !s.is_empty())
    }

    fn count(row: &[Value], i: Option<usize>) -> u64 {
        match i.and_then(|i| row.get(i)) {
            Some(Value::Number(n)) => n.as_u64().unwrap_or(0),
            Some(Value::String(s)) => s.trim().parse().unwrap_or(0),
            _ => 0,
        }
    }
}

/// The summary rows (`.show queued ingestion operations`, `.cancel …`).
pub fn parse_operations(table: &V1Table) -> Result<Vec<BulkOperation>> {
    let c = Columns { table };
    let id = c.require(&["IngestionOperationId", "OperationId"])?;
    let state = c.require(&["State"])?;
    let started = c.index(&["StartedOn"]);
    let updated = c.index(&["LastUpdatedOn"]);
    let discovered = c.index(&["Discovered"]);
    let pending = c.index(&["Pending", "InProgress"]);
    let canceled = c.index(&["Canceled", "Cancelled"]);
    let ingested = c.index(&["Ingested"]);
    let failed = c.index(&["Failed"]);
    let reasons = c.index(&["SampleFailedReasons", "SampleFailedReason"]);
    let database = c.index(&["Database"]);
    let tbl = c.index(&["Table"]);
    Ok(table
        .rows
        .iter()
        .map(|r| BulkOperation {
            operation_id: Columns::text(r, Some(id)).unwrap_or_default(),
            started_on: Columns::text(r, started),
            last_updated_on: Columns::text(r, updated),
            state: BulkState::parse(&Columns::text(r, Some(state)).unwrap_or_default()),
            discovered: Columns::count(r, discovered),
            pending: Columns::count(r, pending),
            canceled: Columns::count(r, canceled),
            ingested: Columns::count(r, ingested),
            failed: Columns::count(r, failed),
            sample_failed_reasons: Columns::text(r, reasons).unwrap_or_default(),
            database: Columns::text(r, database).unwrap_or_default(),
            table: Columns::text(r, tbl).unwrap_or_default(),
        })
        .collect())
}

/// The detail rows (`… "<id>" details`).
pub fn parse_blobs(table: &V1Table) -> Result<Vec<BulkBlob>> {
    let c = Columns { table };
    let url = c.require(&["BlobURL", "BlobUri"])?;
    let status = c.require(&["IngestionStatus", "Status"])?;
    let started = c.index(&["StartedAt"]);
    let completed = c.index(&["CompletedAt"]);
    let reasons = c.index(&["FailedReasons", "FailedReason"]);
    Ok(table
        .rows
        .iter()
        .map(|r| BulkBlob {
            blob_url: Columns::text(r, Some(url)).unwrap_or_default(),
            status: Columns::text(r, Some(status)).unwrap_or_default(),
            started_at: Columns::text(r, started),
            completed_at: Columns::text(r, completed),
            failed_reasons: Columns::text(r, reasons).unwrap_or_default(),
        })
        .collect())
}

fn started(table: &V1Table) -> Result<BulkStarted> {
    let c = Columns { table };
    let id = c.require(&["IngestionOperationId", "OperationId"])?;
    let request = c.index(&["ClientRequestId"]);
    let info = c.index(&["OperationInfo"]);
    let row = table.rows.first().ok_or_else(|| {
        Error::BadResponse(".ingest-from-storage-queued returned no operation".into())
    })?;
    Ok(BulkStarted {
        operation_id: Columns::text(row, Some(id)).ok_or_else(|| {
            Error::BadResponse(".ingest-from-storage-queued returned an empty operation id".into())
        })?,
        client_request_id: Columns::text(row, request).unwrap_or_default(),
        operation_info: Columns::text(row, info).unwrap_or_default(),
    })
}

/// The operation id as a Kusto string literal.
fn id_literal(id: &str) -> String {
    quoted(id)
}

impl IngestClient {
    /// Plans `spec`: a container is listed by the cluster (`.list blobs` with the pattern's
    /// `*.ext` as Suffix) unless the pattern needs more, in which case kingest lists and
    /// filters it here and sends the matches; otherwise the explicit blob list.
    pub async fn bulk_request(&self, spec: &BulkSpec) -> Result<BulkRequest> {
        let properties = spec.ingestion_properties()?;
        let glob = spec.pattern.as_deref().map(Glob::new).transpose()?;
        let source = match (&spec.container, spec.blobs.is_empty()) {
            (Some(container), _) => {
                let (url, credential) = split_credential(container.trim());
                let (container, mut prefix) = SasUrl::parse(url)?.container_and_prefix();
                if container.object_name().is_empty() {
                    return Err(Error::Usage("the container URL names no container".into()));
                }
                prefix.push_str(spec.prefix.as_deref().unwrap_or_default());
                let plan = glob.as_ref().map(Glob::plan);
                prefix.push_str(plan.as_ref().map(|p| p.prefix.as_str()).unwrap_or_default());
                match plan.as_ref().and_then(|p| p.client_filter.clone()) {
                    Some(filter) => {
                        let blobs = self
                            .list_matching_blobs(&container, &prefix, &filter, capped(spec.limit))
                            .await?;
                        if blobs.is_empty() {
                            return Err(Error::Usage(format!(
                                "no blob under '{prefix}' matches the pattern '{}'",
                                spec.pattern.as_deref().unwrap_or_default()
                            )));
                        }
                        BulkSource::Blobs(blobs)
                    }
                    None => BulkSource::Listing {
                        container,
                        credential,
                        prefix,
                        suffix: plan.and_then(|p| p.suffix),
                        max_files: spec.limit,
                    },
                }
            }
            (None, false) => {
                let mut blobs = spec
                    .blobs
                    .iter()
                    .map(|b| SasUrl::parse(b))
                    .collect::<Result<Vec<_>>>()?;
                blobs.truncate(capped(spec.limit).unwrap_or(usize::MAX));
                BulkSource::Blobs(blobs)
            }
            (None, true) => {
                return Err(Error::Usage(
                    "give a container URL (the cluster lists it) or blob URLs".into(),
                ));
            }
        };
        Ok(BulkRequest {
            database: spec.database.clone(),
            table: spec.table.clone(),
            source,
            properties,
            skip_batching: spec.skip_batching,
        })
    }

    /// Posts the bulk command; the cluster lists and ingests on its own from then on.
    pub async fn bulk_start(&self, req: &BulkRequest) -> Result<BulkStarted> {
        if let BulkSource::Blobs(b) = &req.source {
            if b.is_empty() {
                return Err(Error::Usage("no blob to ingest".into()));
            }
            if b.len() > MAX_EXPLICIT_BLOBS {
                return Err(Error::Usage(format!(
                    "{} blobs is more than kingest sends in one command ({MAX_EXPLICIT_BLOBS}); \
                     narrow the prefix or let the cluster list them (--pattern '*.ext')",
                    b.len()
                )));
            }
        }
        let csl = command(req);
        let t = primary(
            self.mgmt(&req.database, &csl).await?,
            ".ingest-from-storage-queued",
        )?;
        started(&t)
    }

    /// The summary of one operation.
    pub async fn bulk_status(&self, operation_id: &str) -> Result<BulkOperation> {
        self.one_operation(format!(
            ".show queued ingestion operations {}",
            id_literal(operation_id)
        ))
        .await
    }

    /// Runs a command answering with one summary row.
    async fn one_operation(&self, csl: String) -> Result<BulkOperation> {
        let t = primary(self.mgmt("NetDefaultDB", &csl).await?, &csl)?;
        parse_operations(&t)?
            .into_iter()
            .next()
            .ok_or_else(|| Error::BadResponse(format!("{csl} returned no row")))
    }

    /// The summaries of several operations (one round trip), in the service's order.
    pub async fn bulk_statuses(&self, operation_ids: &[String]) -> Result<Vec<BulkOperation>> {
        if operation_ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = operation_ids.iter().map(|i| id_literal(i)).collect();
        let csl = format!(".show queued ingestion operations ({})", ids.join(", "));
        let t = primary(self.mgmt("NetDefaultDB", &csl).await?, &csl)?;
        parse_operations(&t)
    }

    /// Per-blob details (the operation must have been started with tracking).
    pub async fn bulk_details(&self, operation_id: &str) -> Result<Vec<BulkBlob>> {
        let csl = format!(
            ".show queued ingestion operations {} details",
            id_literal(operation_id)
        );
        let t = primary(self.mgmt("NetDefaultDB", &csl).await?, &csl)?;
        parse_blobs(&t)
    }

    /// Asks the cluster to stop the operation (best effort: blobs already being ingested may
    /// still land); returns the summary the command answers with.
    pub async fn bulk_cancel(&self, operation_id: &str) -> Result<BulkOperation> {
        self.one_operation(format!(
            ".cancel queued ingestion operation {}",
            id_literal(operation_id)
        ))
        .await
    }

    /// Blob URLs of `container` under `prefix` whose names match `glob`, at most `limit`
    /// (listed by kingest itself: for patterns the service's Suffix cannot express).
    pub async fn list_matching_blobs(
        &self,
        container: &SasUrl,
        prefix: &str,
        glob: &Glob,
        limit: Option<usize>,
    ) -> Result<Vec<SasUrl>> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        let cap = limit.unwrap_or(usize::MAX);
        loop {
            let page = self
                .storage()
                .list_blobs(container, prefix, marker.as_deref(), 5000)
                .await?;
            for b in page.blobs {
                if out.len() >= cap {
                    return Ok(out);
                }
                if glob.matches(&b.name) {
                    out.push(container.child(&b.name));
                }
            }
            match page.next_marker {
                Some(m) if out.len() < cap => marker = Some(m),
                _ => return Ok(out),
            }
        }
    }
}

/// A glob on blob names: `*` any run of characters (`/` included: blob names are flat),
/// `?` one character, `[abc]` / `[a-z]` / `[!a]` a class; anything else is literal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    pattern: Vec<char>,
}

/// How a `--pattern` is run: what the service can do itself, and what is left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternPlan {
    /// Literal start of the pattern, added to the listing prefix.
    pub prefix: String,
    /// `Suffix=` for the service when the rest is `*literal`.
    pub suffix: Option<String>,
    /// Set when the service cannot express the pattern: kingest lists and filters itself.
    pub client_filter: Option<Glob>,
}

fn is_meta(c: char) -> bool {
    matches!(c, '*' | '?' | '[')
}

impl Glob {
    pub fn new(pattern: &str) -> Result<Glob> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            if chars[i] == '[' {
                let close = chars[i + 1..].iter().skip(1).position(|&c| c == ']');
                if close.is_none() {
                    return Err(Error::Usage(format!(
                        "the pattern '{pattern}' has an unclosed '['"
                    )));
                }
            }
            i += 1;
        }
        Ok(Glob { pattern: chars })
    }

    pub fn matches(&self, name: &str) -> bool {
        let name: Vec<char> = name.chars().collect();
        matches_at(&self.pattern, &name)
    }

    /// Splits the pattern into what `.list blobs` can do (prefix, Suffix) and the rest.
    pub fn plan(&self) -> PatternPlan {
        let p = &self.pattern;
        let lead = p.iter().take_while(|c| !is_meta(**c)).count();
        let prefix: String = p[..lead].iter().collect();
        let rest = &p[lead..];
        if rest.is_empty() {
            // No wildcard: the exact name, which a prefix cannot express alone.
            return PatternPlan {
                prefix,
                suffix: None,
                client_filter: Some(self.clone()),
            };
        }
        if rest[0] == '*' && !rest[1..].iter().any(|c| is_meta(*c)) {
            let suffix: String = rest[1..].iter().collect();
            return PatternPlan {
                prefix,
                suffix: (!suffix.is_empty()).then_some(suffix),
                client_filter: None,
            };
        }
        PatternPlan {
            prefix,
            suffix: None,
            client_filter: Some(self.clone()),
        }
    }
}

fn matches_at(p: &[char], s: &[char]) -> bool {
    match p.first() {
        None => s.is_empty(),
        Some('*') => (0..=s.len()).any(|k| matches_at(&p[1..], &s[k..])),
        Some('?') => !s.is_empty() && matches_at(&p[1..], &s[1..]),
        Some('[') => {
            let Some(close) = p.iter().skip(2).position(|&c| c == ']').map(|i| i + 2) else {
                return !s.is_empty() && s[0] == '[' && matches_at(&p[1..], &s[1..]);
            };
            let Some(&c) = s.first() else {
                return false;
            };
            let (negate, class) = match p[1] {
                '!' | '^' => (true, &p[2..close]),
                _ => (false, &p[1..close]),
            };
            let mut hit = false;
            let mut i = 0;
            while i < class.len() {
                if i + 2 < class.len() && class[i + 1] == '-' {
                    hit |= class[i] <= c && c <= class[i + 2];
                    i += 3;
                } else {
                    hit |= class[i] == c;
                    i += 1;
                }
            }
            hit != negate && matches_at(&p[close + 1..], &s[1..])
        }
        Some(&lit) => !s.is_empty() && s[0] == lit && matches_at(&p[1..], &s[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(cols: &[&str], rows: Vec<Vec<Value>>) -> V1Table {
        let c: Vec<(&str, &str)> = cols.iter().map(|c| (*c, "string")).collect();
        let mut t = V1Table::new("Table_0", &c);
        t.rows = rows;
        t
    }

    #[test]
    fn summary_reads_documented_names_and_the_example_aliases() {
        let documented = table(
            &[
                "IngestionOperationId",
                "StartedOn",
                "LastUpdatedOn",
                "State",
                "Discovered",
                "Pending",
                "Canceled",
                "Ingested",
                "Failed",
                "SampleFailedReasons",
                "Database",
                "Table",
            ],
            vec![vec![
                "1;2;g".into(),
                "2025-01-10T14:57:41Z".into(),
                Value::Null,
                "InProgress".into(),
                10.into(),
                4.into(),
                0.into(),
                5.into(),
                1.into(),
                "bad csv".into(),
                "db".into(),
                "T".into(),
            ]],
        );
        let op = &parse_operations(&documented).unwrap()[0];
        assert_eq!(op.operation_id, "1;2;g");
        assert_eq!(op.state, BulkState::InProgress);
        assert_eq!(
            (op.discovered, op.pending, op.ingested, op.failed),
            (10, 4, 5, 1)
        );
        assert_eq!(op.last_updated_on, None);
        assert!((op.progress() - 0.6).abs() < 1e-9);
        // The docs' example output: prettified headers, `InProgress` for Pending, numbers as text.
        let example = table(
            &[
                "Ingestion operation ID",
                "Started On",
                "Last Updated On",
                "state",
                "Discovered",
                "InProgress",
                "Ingested",
                "Failed",
                "Canceled",
                "SampleFailedReasons",
                "Database",
                "Table",
            ],
            vec![vec![
                "x".into(),
                "a".into(),
                "b".into(),
                "Completed".into(),
                "3".into(),
                "0".into(),
                "3".into(),
                "0".into(),
                "0".into(),
                "".into(),
                "db".into(),
                "T".into(),
            ]],
        );
        let op = &parse_operations(&example).unwrap()[0];
        assert_eq!(op.state, BulkState::Completed);
        assert_eq!((op.discovered, op.pending, op.ingested), (3, 0, 3));
        assert!(op.is_success());
        assert!(parse_operations(&table(&["State"], vec![])).is_err());
    }

    #[test]
    fn details_accept_singular_and_case_variants() {
        let t = table(
            &[
                "IngestionOperationId",
                "BlobUrl",
                "IngestionStatus",
                "StartedAt",
                "CompletedAt",
                "FailedReason",
            ],
            vec![vec![
                "x".into(),
                "http://h/c/b.csv".into(),
                "Failed".into(),
                "t".into(),
                Value::Null,
                "Failed to download".into(),
            ]],
        );
        let b = &parse_blobs(&t).unwrap()[0];
        assert_eq!(b.blob_url, "http://h/c/b.csv");
        assert_eq!(b.status, "Failed");
        assert_eq!(b.completed_at, None);
        assert_eq!(b.failed_reasons, "Failed to download");
    }

    #[test]
    fn states_and_finality() {
        assert_eq!(BulkState::parse("Cancelled"), BulkState::Canceled);
        assert!(BulkState::parse("Failed").is_final());
        assert!(!BulkState::parse("Paused").is_final());
        assert_eq!(BulkState::parse("Paused").label(), "Paused");
    }

    #[test]
    fn command_hides_locators_and_quotes_names() {
        let c = SasUrl::parse("http://127.0.0.1:1/acct/cont?sv=1&sig=c2VjcmV0").unwrap();
        let req = BulkRequest {
            database: "d b".into(),
            table: "T\"1".into(),
            source: BulkSource::Listing {
                container: c.clone(),
                credential: None,
                prefix: "day/".into(),
                suffix: Some(".csv".into()),
                max_files: Some(7),
            },
            properties: vec![("format".into(), "csv".into())],
            skip_batching: false,
        };
        assert_eq!(
            command(&req),
            ".ingest-from-storage-queued into table database(\"d b\").[\"T\\\"1\"] \
             EnableTracking=true with (format=\"csv\") <| .list blobs \
             (h\"http://127.0.0.1:1/acct/cont/day/?sv=1&sig=c2VjcmV0\") Suffix=\".csv\" MaxFiles=7"
        );
        let req = BulkRequest {
            source: BulkSource::Blobs(vec![c.child("a.csv"), c.child("b.csv")]),
            properties: vec![],
            ..req
        };
        let csl = command(&req);
        assert!(csl.ends_with("<|\nh\"http://127.0.0.1:1/acct/cont/a.csv?sv=1&sig=c2VjcmV0\"\nh\"http://127.0.0.1:1/acct/cont/b.csv?sv=1&sig=c2VjcmV0\""), "{csl}");
    }

    #[test]
    fn globs_match_and_plan() {
        let g = |p: &str| Glob::new(p).unwrap();
        assert!(g("*.csv").matches("a/b.csv"));
        assert!(!g("*.csv").matches("a/b.csv.gz"));
        assert!(g("day?/[a-c]*.json").matches("day1/b-x.json"));
        assert!(!g("day?/[!a-c]*.json").matches("day1/b-x.json"));
        assert!(g("x").matches("x") && !g("x").matches("xy"));
        assert!(Glob::new("a[b").is_err());
        assert_eq!(
            g("2024/*.csv").plan(),
            PatternPlan {
                prefix: "2024/".into(),
                suffix: Some(".csv".into()),
                client_filter: None
            }
        );
        assert_eq!(g("*").plan().suffix, None);
        assert_eq!(g("*").plan().client_filter, None);
        let p = g("logs/*/x-?.csv").plan();
        assert_eq!(p.prefix, "logs/");
        assert_eq!(p.client_filter, Some(g("logs/*/x-?.csv")));
        assert!(g("exact.csv").plan().client_filter.is_some());
    }
}
