//! `Engine::ingest`: checks, mapping resolution, record → row conversion, extent bookkeeping.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::binary;
use super::formats::{self, Format, JsonRecords};
use super::mapping::{self, ColumnMapping, Source, Transform};
use super::store::Rows;
use super::types::Converted;
use super::{Column, Engine, Extent, IngestFailure, IngestOutcome, IngestRequest, MAX_STORED_ROWS};
use crate::client::wire::FailureStatus;

fn fail(code: &str, details: impl Into<String>) -> IngestFailure {
    IngestFailure {
        error_code: code.to_string(),
        details: details.into(),
        status: FailureStatus::Permanent,
    }
}

impl Engine {
    /// Parses uncompressed `data` by format and appends its rows to the table.
    pub fn ingest(
        &mut self,
        req: &IngestRequest,
        data: &[u8],
        now: DateTime<Utc>,
    ) -> Result<IngestOutcome, IngestFailure> {
        self.ingest_entries(req, &[data], now)
    }

    /// Ingests the entries of one source (the one blob, or the files a zip's `zipPattern`
    /// selected, in order) as one extent: any entry's failure fails the whole source. Each
    /// entry is a file of its own (`ignoreFirstRecord` drops the first record of each).
    pub fn ingest_entries(
        &mut self,
        req: &IngestRequest,
        entries: &[&[u8]],
        now: DateTime<Utc>,
    ) -> Result<IngestOutcome, IngestFailure> {
        let db = self.db(&req.database).ok_or_else(|| {
            fail(
                "BadRequest_DatabaseNotExist",
                format!("database '{}' does not exist", req.database),
            )
        })?;
        let table = db.table(&req.table).ok_or_else(|| {
            fail(
                "BadRequest_TableNotExist",
                format!(
                    "table '{}' does not exist in database '{}'",
                    req.table, db.name
                ),
            )
        })?;
        let format = Format::parse(&req.format).map_err(|known| {
            let why = if known {
                "is not supported by the emulator"
            } else {
                "is not a Kusto data format"
            };
            fail(
                "BadRequest_FormatNotSupported",
                format!("format '{}' {why}", req.format),
            )
        })?;
        let reference = req.mapping_reference.as_deref().filter(|r| !r.is_empty());
        let inline = req.mapping.as_deref().filter(|m| !m.trim().is_empty());
        if reference.is_some() && inline.is_some() {
            return Err(fail(
                "BadRequest_DuplicateMapping",
                "both ingestionMapping and ingestionMappingReference were given; pass only one",
            ));
        }
        // As in Kusto, ingestIfNotExists values match only `ingest-by:` tags of extents.
        if let Some(tag) = req.ingest_if_not_exists.iter().find(|v| {
            let by = format!("ingest-by:{v}");
            table.extents.iter().any(|e| e.tags.contains(&by))
        }) {
            tracing::debug!(table = %req.table, tag, "ingestIfNotExists matched; skipping");
            return Ok(IngestOutcome {
                rows: 0,
                rejected: 0,
                skipped_existing: true,
            });
        }
        let bodies: Vec<&[u8]> = entries
            .iter()
            .map(|d| d.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(d))
            .filter(|b| !b.is_empty())
            .collect();
        if bodies.is_empty() {
            return Err(fail(
                "BadRequest_EmptyBlob",
                format!("source '{}' is empty (0 bytes of data)", req.source_id),
            ));
        }
        let mapping = match (reference, inline) {
            (Some(name), _) => {
                let kinds = format.mapping_kinds();
                let def = table
                    .mappings
                    .iter()
                    .find(|m| m.name == name && kinds.contains(&m.kind.as_str()))
                    .ok_or_else(|| {
                        fail(
                            "BadRequest_MappingReferenceWasNotFound",
                            format!(
                                "{} mapping '{name}' was not found on table '{}'",
                                kinds.join(" or "),
                                table.name
                            ),
                        )
                    })?;
                Some(mapping::parse_mapping(&def.json).map_err(|e| {
                    fail(
                        "BadRequest_InvalidMapping",
                        format!("mapping '{name}': {e}"),
                    )
                })?)
            }
            (None, Some(json)) => Some(mapping::parse_mapping(json).map_err(|e| {
                fail(
                    "BadRequest_InvalidMapping",
                    format!("inline ingestionMapping: {e}"),
                )
            })?),
            (None, None) => None,
        };
        // Columns a mapping entry gives a DataType for and the table lacks are created when
        // the source is committed (DOCS `kusto/management/mappings.md`).
        let mut columns: Cow<[Column]> = Cow::Borrowed(&table.columns);
        for m in mapping.iter().flatten() {
            if let Some(ty) = m.datatype
                && !columns.iter().any(|c| c.name == m.column)
            {
                columns.to_mut().push(Column {
                    name: m.column.clone(),
                    ty,
                });
            }
        }
        let columns = &*columns;
        let plan = match &mapping {
            Some(m) => Some(plan_mapping(m, columns, &table.name, format)?),
            None => None,
        };
        let room = MAX_STORED_ROWS.saturating_sub(table.rows.len());
        let sources = plan.as_deref().map(|plan| {
            // The last entry for a column wins, as when they were applied one by one.
            let mut by_column = vec![None; columns.len()];
            plan.iter()
                .for_each(|p| by_column[p.index] = Some(p.source));
            by_column
        });
        let text_rows = |single_field, room| TextRows {
            columns,
            plan: plan.as_deref(),
            sources: sources.as_deref(),
            table: &table.name,
            single_field,
            skip_first: req.ignore_first_record,
            room,
            rows: Rows::new(columns.iter().map(|c| c.ty)),
            count: 0,
        };
        let mut rows = Rows::new(columns.iter().map(|c| c.ty));
        let (mut n, mut rejected) = (0u64, Vec::new());
        for body in bodies {
            let room = room.saturating_sub(rows.len());
            // Delimited data is read on bytes (only kept fields are converted); the other
            // text formats read text, borrowed when valid UTF-8 (the usual case).
            let text = || formats::lossy(body);
            let (entry_rows, entry_n) = match format {
                Format::Delimited { sep, escapes } => {
                    let mut out = text_rows(false, room);
                    let mut reader = formats::DelimitedReader::new(body, sep, escapes);
                    let mut fields = Vec::new();
                    while let Some(line) = reader
                        .next_into(&mut fields)
                        .map_err(|e| fail(e.code, e.details))?
                    {
                        out.push(line, &fields)?;
                    }
                    (out.rows, out.count)
                }
                Format::Txt => {
                    let mut out = text_rows(true, room);
                    for r in formats::parse_lines(&text()) {
                        out.push(r.line, &r.fields)?;
                    }
                    (out.rows, out.count)
                }
                Format::Raw => {
                    let mut out = text_rows(true, room);
                    out.push(1, &[&*text()])?;
                    (out.rows, out.count)
                }
                Format::Json | Format::MultiJson | Format::SingleJson => {
                    let text = text();
                    let JsonRecords {
                        records,
                        rejected: r,
                    } = match format {
                        Format::Json => formats::parse_json_lines(&text),
                        Format::MultiJson => formats::parse_multi_json(&text),
                        _ => formats::parse_single_json(&text),
                    };
                    rejected.extend(r);
                    let mut out = Rows::new(columns.iter().map(|c| c.ty));
                    for (_, v) in records.iter().take(room) {
                        let row = json_row(v, columns, plan.as_deref());
                        out.push(row.into_iter().map(Converted::Value));
                    }
                    (out, records.len() as u64)
                }
                Format::Binary(kind) => {
                    let mut out = Rows::new(columns.iter().map(|c| c.ty));
                    let count = binary::read_all(kind, body, |v| {
                        if out.len() < room {
                            let row = json_row(&v, columns, plan.as_deref());
                            out.push(row.into_iter().map(Converted::Value));
                        }
                    })
                    .map_err(|e| fail(e.code, e.details))?;
                    (out, count)
                }
            };
            rows.append(entry_rows, room);
            n += entry_n;
        }
        if n == 0 {
            let details = match rejected.first() {
                Some(r) => format!(
                    "no records could be read as {}: {} record(s) rejected; first at line {}: {}{}",
                    req.format,
                    rejected.len(),
                    r.line,
                    r.reason,
                    if format == Format::Json {
                        " (format 'json' expects one object per line; use multijson for \
                         pretty-printed JSON)"
                    } else {
                        ""
                    }
                ),
                None => format!("no records found in the {} data", req.format),
            };
            return Err(fail("BadRequest_NoRecordsOrWrongFormat", details));
        }
        let new_columns = columns[table.columns.len()..].to_vec();
        let original_size = entries.iter().map(|d| d.len() as u64).sum();
        let (db_name, table_name) = (req.database.clone(), req.table.clone());
        let table = self
            .db_mut(&db_name)
            .and_then(|d| d.table_mut(&table_name))
            .ok_or_else(|| fail("BadRequest_TableNotExist", "table vanished during ingest"))?;
        for c in new_columns {
            table.rows.add_column(c.ty);
            table.columns.push(c);
        }
        table.rows.append(rows, room);
        table.row_count += n;
        table.extents.push(Extent {
            id: uuid::Uuid::new_v4().to_string(),
            rows: n,
            original_size,
            tags: req.tags.clone(),
            created: req.creation_time.unwrap_or(now),
        });
        Ok(IngestOutcome {
            rows: n,
            rejected: rejected.len() as u64,
            skipped_existing: false,
        })
    }
}

/// A mapping entry resolved to its column index.
struct Planned<'a> {
    index: usize,
    source: &'a Source,
    transform: Option<Transform>,
}

fn plan_mapping<'a>(
    mapping: &'a [ColumnMapping],
    columns: &[Column],
    table: &str,
    format: Format,
) -> Result<Vec<Planned<'a>>, IngestFailure> {
    mapping
        .iter()
        .map(|m| {
            let index = columns
                .iter()
                .position(|c| c.name == m.column)
                .ok_or_else(|| {
                    fail(
                        "BadRequest_InconsistentMapping",
                        format!(
                            "the mapping refers to column '{}', which table '{table}' does not have",
                            m.column
                        ),
                    )
                })?;
            if m.transform.is_some() && !format.is_named() {
                return Err(fail(
                    "BadRequest_InvalidMapping",
                    format!(
                        "column '{}': the emulator applies mapping transformations to JSON, \
                         Parquet and Avro mappings only",
                        m.column
                    ),
                ));
            }
            match (&m.source, format.is_named()) {
                (Source::Ordinal(_), true) => Err(fail(
                    "BadRequest_InvalidMapping",
                    format!(
                        "column '{}' is mapped by Ordinal, but {} needs a Path or Field",
                        m.column,
                        format_name(format)
                    ),
                )),
                (Source::Path(_), false) => Err(fail(
                    "BadRequest_InvalidMapping",
                    format!(
                        "column '{}' is mapped by Path, but delimited formats need an Ordinal",
                        m.column
                    ),
                )),
                (source, _) => Ok(Planned {
                    index,
                    source,
                    transform: m.transform,
                }),
            }
        })
        .collect()
}

/// How a format is named in errors about its mappings.
fn format_name(format: Format) -> &'static str {
    match format {
        Format::Binary(binary::Binary::Parquet) => "Parquet",
        Format::Binary(binary::Binary::Avro) => "Avro",
        _ => "a JSON format",
    }
}

/// A record's field as text (delimited fields are converted only when their row is kept).
trait AsText {
    fn as_text(&self) -> Cow<'_, str>;
}

impl AsText for formats::Field<'_> {
    fn as_text(&self) -> Cow<'_, str> {
        self.text()
    }
}

impl AsText for String {
    fn as_text(&self) -> Cow<'_, str> {
        Cow::Borrowed(self)
    }
}

impl AsText for &str {
    fn as_text(&self) -> Cow<'_, str> {
        Cow::Borrowed(self)
    }
}

/// Turns text records into rows. Only the first `room` rows are converted (the table keeps no
/// more); the rest are checked the same way and counted, since a conversion cannot fail
/// (an unparseable value becomes null).
struct TextRows<'p> {
    columns: &'p [Column],
    plan: Option<&'p [Planned<'p>]>,
    /// The plan by column: where each column's value comes from (`None`: null).
    sources: Option<&'p [Option<&'p Source>]>,
    table: &'p str,
    /// `txt` and `raw`: one field for the first column, whatever the table has.
    single_field: bool,
    /// `ignoreFirstRecord`, until the first record has been dropped.
    skip_first: bool,
    room: usize,
    rows: Rows,
    count: u64,
}

impl TextRows<'_> {
    fn push<S: AsText>(&mut self, line: usize, fields: &[S]) -> Result<(), IngestFailure> {
        if std::mem::take(&mut self.skip_first) {
            return Ok(());
        }
        self.count += 1;
        self.check(line, fields)?;
        if self.rows.len() >= self.room {
            return Ok(());
        }
        let columns = self.columns;
        let fields: Vec<Cow<str>> = fields.iter().map(AsText::as_text).collect();
        let text = |o: usize| fields.get(o).map_or("", AsRef::as_ref);
        match self.sources {
            Some(sources) => self
                .rows
                .push(columns.iter().zip(sources).map(|(c, source)| match source {
                    Some(Source::Ordinal(o)) => c.ty.convert(text(*o)),
                    Some(Source::Const(k)) => c.ty.convert(k),
                    Some(Source::Path(_)) | None => Converted::Null,
                })),
            None if self.single_field => {
                let first = columns.first().zip(fields.first());
                self.rows.push(first.map(|(c, f)| c.ty.convert(f.as_ref())))
            }
            None => self
                .rows
                .push(columns.iter().zip(&fields).map(|(c, f)| c.ty.convert(f))),
        }
        Ok(())
    }

    /// `Stream_WrongNumberOfFields` when a mapped ordinal is missing, or (identity mapping)
    /// the record's field count is not the table's column count.
    fn check<S>(&self, line: usize, fields: &[S]) -> Result<(), IngestFailure> {
        let why = match self.plan {
            Some(plan) => plan.iter().find_map(|p| match p.source {
                Source::Ordinal(o) if *o >= fields.len() => Some(format!(
                    "column '{}' is mapped to Ordinal {o}",
                    self.columns[p.index].name
                )),
                _ => None,
            }),
            None if self.single_field => None,
            None => (fields.len() != self.columns.len()).then(|| {
                format!(
                    "table '{}' has {} columns (identity mapping); fix the data or use a \
                     mapping",
                    self.table,
                    self.columns.len()
                )
            }),
        };
        match why {
            None => Ok(()),
            Some(why) => Err(fail(
                "Stream_WrongNumberOfFields",
                format!(
                    "record {} (line {line}) has {} field(s): {why}",
                    self.count,
                    fields.len()
                ),
            )),
        }
    }
}

fn json_row(v: &Value, columns: &[Column], plan: Option<&[Planned]>) -> Vec<Value> {
    match plan {
        Some(plan) => {
            let mut row = vec![Value::Null; columns.len()];
            for p in plan {
                let ty = columns[p.index].ty;
                row[p.index] = match p.source {
                    Source::Path(steps) => match (mapping::eval_path(v, steps), p.transform) {
                        (Some(x), Some(t)) => ty.convert_json(&t.apply(x)),
                        (Some(x), None) => ty.convert_json(x),
                        (None, _) => Value::Null,
                    },
                    Source::Const(c) => ty.convert_text(c),
                    Source::Ordinal(_) => Value::Null,
                };
            }
            row
        }
        None => columns
            .iter()
            .map(|c| {
                v.get(&c.name)
                    .map(|x| c.ty.convert_json(x))
                    .unwrap_or(Value::Null)
            })
            .collect(),
    }
}
