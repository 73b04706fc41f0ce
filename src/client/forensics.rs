//! Forensics of a failed source: where in the source the failure's Details point (record,
//! line, start position in stream), that record with its neighbours and their field counts
//! next to the table's schema and mapping, and a suggested fix. Pure: the caller fetches the
//! bytes (journaled local file or retained blob) and the table's facts
//! ([`preflight::facts`](crate::client::preflight::facts)).

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use crate::client::preflight::{TableFacts, looks_like_header};
use crate::emulator::engine::formats::{self, DelimitedReader, Format};

/// Where Details point. The service says "record 2 (start position in stream: 17)"; the
/// emulator "record 4 (line 4)"; JSON failures "first at line 3".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Location {
    pub record: Option<u64>,
    pub line: Option<usize>,
    pub offset: Option<usize>,
}

static RECORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\brecord\s*#?\s*(\d+)").unwrap_or_else(|e| unreachable!("{e}"))
});
static LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\bline\s*:?\s*(\d+)").unwrap_or_else(|e| unreachable!("{e}"))
});
static OFFSET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:start\s+)?position\s+in\s+(?:the\s+)?stream\s*:?\s*(\d+)")
        .unwrap_or_else(|e| unreachable!("{e}"))
});

/// The location Details name, if any.
pub fn parse_location(details: &str) -> Option<Location> {
    let num = |re: &Regex| {
        re.captures(details)
            .and_then(|c| c.get(1))
            .and_then(|m| m.as_str().parse::<u64>().ok())
    };
    let loc = Location {
        record: num(&RECORD),
        line: num(&LINE).map(|n| n as usize),
        offset: num(&OFFSET).map(|n| n as usize),
    };
    (loc != Location::default()).then_some(loc)
}

/// One record of the source as read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordView {
    /// 1-based record number (blank lines not counted; a header counted).
    pub record: usize,
    pub line: usize,
    pub offset: usize,
    pub fields: usize,
    /// The record's text (the caller sanitises it before a terminal).
    pub text: String,
    pub bad: bool,
}

/// The finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Forensics {
    pub error_code: String,
    pub location: Option<Location>,
    /// The bad record and up to two on each side.
    pub records: Vec<RecordView>,
    /// Fields a record needs: the table's columns, or a mapping's highest ordinal + 1.
    pub expected_fields: Option<usize>,
    pub schema: String,
    pub mapping: Option<String>,
    pub why: String,
    pub fixes: Vec<String>,
}

/// What the source was sent with.
#[derive(Debug, Clone, PartialEq)]
pub struct SentAs {
    pub format: String,
    pub mapping_ref: Option<String>,
    pub ignore_first_record: bool,
}

const NEIGHBOURS: usize = 2;
const MAX_TEXT: usize = 200;

/// Explains a failure of `data` (the source's uncompressed bytes).
pub fn explain(
    data: &[u8],
    sent: &SentAs,
    error_code: &str,
    details: &str,
    facts: &TableFacts,
) -> Forensics {
    let location = parse_location(details);
    let columns = facts.columns().unwrap_or_default();
    let mapping = sent
        .mapping_ref
        .as_deref()
        .and_then(|m| facts.mappings.iter().find(|x| x.name == m));
    let max_ordinal = mapping.and_then(|m| {
        let v: serde_json::Value = serde_json::from_str(&m.json).ok()?;
        v.as_array()?
            .iter()
            .filter_map(|e| {
                let p = e.get("Properties").or_else(|| e.get("properties"))?;
                let o = p.get("Ordinal").or_else(|| p.get("ordinal"))?;
                o.as_u64().or_else(|| o.as_str()?.trim().parse().ok())
            })
            .max()
    });
    let expected = match (mapping, max_ordinal) {
        (Some(_), Some(o)) => Some(o as usize + 1),
        (Some(_), None) => None,
        (None, _) if columns.is_empty() => None,
        (None, _) => Some(columns.len()),
    };
    let mut f = Forensics {
        error_code: error_code.to_string(),
        location: location.clone(),
        records: vec![],
        expected_fields: expected,
        schema: columns
            .iter()
            .map(|(n, t)| format!("{n}:{t}"))
            .collect::<Vec<_>>()
            .join(", "),
        mapping: mapping.map(|m| format!("{} ({}): {}", m.name, m.kind, m.json)),
        why: String::new(),
        fixes: vec![],
    };
    if data.is_empty() {
        f.why = "the source is empty (0 bytes)".into();
        f.fixes
            .push("nothing to ingest: check how the file was produced".into());
        return f;
    }
    match Format::parse(&sent.format) {
        Ok(Format::Delimited { sep, escapes }) => {
            delimited(data, sep, escapes, sent, columns, &mut f);
        }
        Ok(format) if format.is_json() => json(data, format, sent, &mut f),
        _ => {
            f.records = lines_around(data, location.as_ref().and_then(|l| l.line));
            f.why = format!("{error_code}: {details}");
        }
    }
    f
}

fn clip(s: &str) -> String {
    let s = s.trim_end_matches(['\r', '\n']);
    if s.chars().count() > MAX_TEXT {
        s.chars().take(MAX_TEXT).collect::<String>() + "…"
    } else {
        s.to_string()
    }
}

fn read_records(data: &[u8], sep: u8, escapes: bool) -> (Vec<RecordView>, Vec<Vec<String>>) {
    let mut reader = DelimitedReader::new(data, sep, escapes);
    let (mut views, mut all) = (Vec::new(), Vec::new());
    let mut fields = Vec::new();
    loop {
        let start = reader.offset();
        match reader.next_into(&mut fields) {
            Ok(Some(line)) => {
                let end = reader.offset();
                // `start` may sit on blank lines skipped before the record.
                let raw = formats::lossy(&data[start..end]);
                let skipped = raw.len() - raw.trim_start_matches(['\r', '\n']).len();
                views.push(RecordView {
                    record: views.len() + 1,
                    line,
                    offset: start + skipped,
                    fields: fields.len(),
                    text: clip(raw.trim_start_matches(['\r', '\n'])),
                    bad: false,
                });
                all.push(fields.iter().map(|f| f.text().into_owned()).collect());
            }
            Ok(None) | Err(_) => break,
        }
    }
    (views, all)
}

fn delimited(
    data: &[u8],
    sep: u8,
    escapes: bool,
    sent: &SentAs,
    columns: &[(String, String)],
    f: &mut Forensics,
) {
    let (views, fields) = read_records(data, sep, escapes);
    let skip = usize::from(sent.ignore_first_record);
    let loc = f.location.clone().unwrap_or_default();
    let expected = f.expected_fields;
    let wrong = |v: &RecordView| {
        expected.is_some_and(|e| v.fields < e || (sent.mapping_ref.is_none() && v.fields != e))
    };
    // The position is the surest, then the line, then the record number (which the emulator
    // counts after a skipped header), else the first record of the wrong width.
    let bad = loc
        .offset
        .and_then(|o| views.iter().position(|v| v.offset == o))
        .or_else(|| {
            loc.line
                .and_then(|l| views.iter().position(|v| v.line == l))
        })
        .or_else(|| {
            loc.record
                .and_then(|r| usize::try_from(r).ok())
                .map(|r| r.saturating_sub(1) + skip)
                .filter(|&i| i < views.len())
        })
        .or_else(|| views.iter().skip(skip).position(wrong).map(|i| i + skip));
    if let Some(i) = bad {
        let lo = i.saturating_sub(NEIGHBOURS);
        let hi = (i + NEIGHBOURS + 1).min(views.len());
        f.records = views[lo..hi].to_vec();
        if let Some(r) = f.records.get_mut(i - lo) {
            r.bad = true;
        }
    } else {
        f.records = views.iter().take(NEIGHBOURS * 2 + 1).cloned().collect();
    }
    let bad_view = bad.and_then(|i| views.get(i));
    f.why = match (f.error_code.as_str(), bad_view, expected) {
        ("Stream_WrongNumberOfFields", Some(v), Some(e)) => format!(
            "record {} (line {}) has {} field(s); the table needs {e}{}",
            v.record,
            v.line,
            v.fields,
            if sent.mapping_ref.is_some() {
                " (its mapping's highest Ordinal + 1)"
            } else {
                " (one per column, identity mapping)"
            }
        ),
        ("Stream_ClosingQuoteMissing", _, _) => {
            "a quoted field is never closed: the rest of the file became one field".into()
        }
        (code, Some(v), _) => format!("{code} at record {} (line {})", v.record, v.line),
        (code, None, _) => format!("{code}: the Details name no record kingest could find"),
    };
    // Fixes, most specific first.
    if !sent.ignore_first_record
        && fields
            .first()
            .is_some_and(|h| looks_like_header(h, columns))
    {
        f.fixes.push(
            "the first record is a header (it names the columns): resubmit with \
             --ignore-first-record (ignoreFirstRecord)"
                .into(),
        );
    }
    if let Some(e) = expected {
        for (other, name) in [(b',', "csv"), (b'\t', "tsv"), (b'|', "psv"), (b';', "scsv")] {
            if other == sep {
                continue;
            }
            let (alt, _) = read_records(data, other, false);
            if alt.len() > skip && alt.iter().skip(skip).all(|v| v.fields == e) {
                f.fixes.push(format!(
                    "every record has {e} fields when split at {:?}: resubmit with --format {name}",
                    other as char
                ));
            }
        }
    }
    if let (Some(v), Some(e)) = (bad_view, expected)
        && f.error_code == "Stream_WrongNumberOfFields"
    {
        if v.fields < e {
            f.fixes.push(format!(
                "record {} lacks {} field(s): add them (an empty field is two delimiters in a \
                 row), or map only the fields present with a CSV mapping (--mapping-ref)",
                v.record,
                e - v.fields
            ));
        } else {
            f.fixes.push(format!(
                "record {} has {} field(s) too many: quote fields that contain the delimiter \
                 (\"a{}b\")",
                v.record,
                v.fields - e,
                sep as char
            ));
        }
    }
    if f.error_code == "Stream_ClosingQuoteMissing" {
        f.fixes
            .push("close the quote, and double every quote inside a quoted field (\"\")".into());
    }
}

fn json(data: &[u8], format: Format, sent: &SentAs, f: &mut Forensics) {
    let text = formats::lossy(data);
    let line = f.location.as_ref().and_then(|l| l.line);
    f.records = lines_around(data, line.or(Some(1)));
    f.why = match line {
        Some(l) => format!("{} at line {l}", f.error_code),
        None => f.error_code.clone(),
    };
    let multi = formats::parse_multi_json(&text);
    let lines = formats::parse_json_lines(&text);
    if format == Format::Json
        && !multi.records.is_empty()
        && lines.records.len() < multi.records.len()
    {
        f.fixes.push(format!(
            "the JSON is spread over several lines ({} record(s) as multijson): resubmit with \
             --format multijson",
            multi.records.len()
        ));
    }
    let arrays = text.trim_start().starts_with('[');
    if format == Format::Json && arrays {
        f.fixes
            .push("the source is a JSON array: resubmit with --format multijson".into());
    }
    if sent.mapping_ref.is_none() {
        f.fixes.push(
            "without a mapping only top-level properties named like columns land: create a \
             JSON mapping with Paths and pass --mapping-ref"
                .into(),
        );
    }
    if multi.records.is_empty() && lines.records.is_empty() {
        f.fixes
            .push("no JSON object could be read: check the file is JSON at all".into());
    }
}

/// Text lines around `line` (1-based), each as a record of one field.
fn lines_around(data: &[u8], line: Option<usize>) -> Vec<RecordView> {
    let text = formats::lossy(data);
    let target = line.unwrap_or(1).max(1);
    let mut offset = 0;
    let mut out = Vec::new();
    for (i, l) in text.split('\n').enumerate() {
        let n = i + 1;
        if n + NEIGHBOURS >= target
            && n <= target + NEIGHBOURS
            && !(l.trim().is_empty() && n > target)
        {
            out.push(RecordView {
                record: n,
                line: n,
                offset,
                fields: 1,
                text: clip(l),
                bad: n == target && line.is_some(),
            });
        }
        offset += l.len() + 1;
    }
    out
}

/// Lines for a terminal (the caller sanitises them).
pub fn lines(f: &Forensics) -> Vec<String> {
    let mut out = vec![format!("why: {}", f.why)];
    if let Some(e) = f.expected_fields {
        out.push(format!(
            "table schema ({e} field(s) per record): {}",
            f.schema
        ));
    } else if !f.schema.is_empty() {
        out.push(format!("table schema: {}", f.schema));
    }
    if let Some(m) = &f.mapping {
        out.push(format!("mapping: {m}"));
    }
    for r in &f.records {
        out.push(format!(
            "{} line {:>4} | {:>2} field(s) | {}",
            if r.bad { ">" } else { " " },
            r.line,
            r.fields,
            r.text
        ));
    }
    out.extend(f.fixes.iter().map(|x| format!("fix: {x}")));
    out
}

pub mod fetch;
#[cfg(test)]
mod tests;
