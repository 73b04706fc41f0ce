//! Splitting uncompressed data into records by format: delimited text (RFC 4180 CSV and its
//! siblings), txt, raw, and the JSON family.

use serde_json::Value;

/// How a format is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `tsve` sets `escapes`: backslash escapes, no quoting.
    Delimited {
        sep: char,
        escapes: bool,
    },
    Txt,
    Raw,
    Json,
    MultiJson,
    SingleJson,
}

impl Format {
    /// `Err(true)` for a known format the emulator cannot read, `Err(false)` for an unknown one.
    pub fn parse(name: &str) -> Result<Format, bool> {
        let delimited = |sep| {
            Ok(Format::Delimited {
                sep,
                escapes: false,
            })
        };
        match name.trim().to_ascii_lowercase().as_str() {
            "csv" => delimited(','),
            "tsv" => delimited('\t'),
            "scsv" => delimited(';'),
            "psv" => delimited('|'),
            "sohsv" => delimited('\u{1}'),
            "tsve" => Ok(Format::Delimited {
                sep: '\t',
                escapes: true,
            }),
            "txt" => Ok(Format::Txt),
            "raw" => Ok(Format::Raw),
            "json" => Ok(Format::Json),
            "multijson" => Ok(Format::MultiJson),
            "singlejson" => Ok(Format::SingleJson),
            "avro" | "apacheavro" | "parquet" | "orc" | "sstream" | "w3clogfile" => Err(true),
            _ => Err(false),
        }
    }

    pub fn is_json(self) -> bool {
        matches!(self, Format::Json | Format::MultiJson | Format::SingleJson)
    }

    /// The mapping kind a reference must have for this format.
    pub fn mapping_kind(self) -> &'static str {
        if self.is_json() { "Json" } else { "Csv" }
    }
}

/// One delimited record with the 1-based line it starts on.
#[derive(Debug, Clone, PartialEq)]
pub struct TextRecord {
    pub line: usize,
    pub fields: Vec<String>,
}

/// A record that was rejected (JSON family), with a reason.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    pub line: usize,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    pub code: &'static str,
    pub details: String,
}

/// Splits delimited text into records. Blank lines are skipped; a quote left open at the end
/// is `Stream_ClosingQuoteMissing`.
pub fn parse_delimited(
    text: &str,
    sep: char,
    escapes: bool,
) -> Result<Vec<TextRecord>, ParseError> {
    let mut records = Vec::new();
    let mut fields: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut line = 1usize;
    let mut record_line = 1usize;
    // Whether the current record had any content that makes it non-blank.
    let mut nonblank = false;
    let mut chars = text.chars().peekable();
    let mut at_field_start = true;
    while let Some(c) = chars.next() {
        if at_field_start && c == '"' && !escapes {
            nonblank = true;
            at_field_start = false;
            let open_line = line;
            let mut closed = false;
            while let Some(q) = chars.next() {
                if q == '"' {
                    if chars.peek() == Some(&'"') {
                        chars.next();
                        field.push('"');
                    } else {
                        closed = true;
                        break;
                    }
                } else {
                    if q == '\n' {
                        line += 1;
                    }
                    field.push(q);
                }
            }
            if !closed {
                return Err(ParseError {
                    code: "Stream_ClosingQuoteMissing",
                    details: format!(
                        "record {} (line {open_line}): a quoted field opened on line {open_line} \
                         is never closed (missing closing quote)",
                        records.len() + 1
                    ),
                });
            }
            continue;
        }
        at_field_start = false;
        if c == sep {
            nonblank = true;
            fields.push(std::mem::take(&mut field));
            at_field_start = true;
        } else if c == '\n' || (c == '\r' && chars.peek() == Some(&'\n')) {
            if c == '\r' {
                chars.next();
            }
            finish_record(&mut records, &mut fields, &mut field, record_line, nonblank);
            line += 1;
            record_line = line;
            nonblank = false;
            at_field_start = true;
        } else if c == '\\' && escapes {
            nonblank = true;
            match chars.next() {
                Some('t') => field.push('\t'),
                Some('n') => field.push('\n'),
                Some('r') => field.push('\r'),
                Some('0') => field.push('\0'),
                Some(other) => field.push(other),
                None => field.push('\\'),
            }
        } else {
            nonblank = true;
            field.push(c);
        }
    }
    finish_record(&mut records, &mut fields, &mut field, record_line, nonblank);
    Ok(records)
}

fn finish_record(
    records: &mut Vec<TextRecord>,
    fields: &mut Vec<String>,
    field: &mut String,
    line: usize,
    nonblank: bool,
) {
    fields.push(std::mem::take(field));
    let fields = std::mem::take(fields);
    if nonblank {
        records.push(TextRecord { line, fields });
    }
}

/// `txt`: one single-field record per non-empty line (CR stripped).
pub fn parse_lines(text: &str) -> Vec<TextRecord> {
    text.split('\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l)))
        .filter(|(_, l)| !l.is_empty())
        .map(|(line, l)| TextRecord {
            line,
            fields: vec![l.to_string()],
        })
        .collect()
}

/// JSON records with their line numbers, plus what was rejected.
#[derive(Debug, Default, PartialEq)]
pub struct JsonRecords {
    pub records: Vec<(usize, Value)>,
    pub rejected: Vec<Rejected>,
}

impl JsonRecords {
    fn push(&mut self, line: usize, v: Value) {
        if v.is_object() {
            self.records.push((line, v));
        } else {
            self.rejected.push(Rejected {
                line,
                reason: format!("expected a JSON object, found {}", kind_of(&v)),
            });
        }
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `json`: JSON Lines; each non-blank line must be one object.
pub fn parse_json_lines(text: &str) -> JsonRecords {
    let mut out = JsonRecords::default();
    for (i, l) in text.split('\n').enumerate() {
        let l = l.trim();
        if l.is_empty() {
            continue;
        }
        match serde_json::from_str::<Value>(l) {
            Ok(v) => out.push(i + 1, v),
            Err(e) => out.rejected.push(Rejected {
                line: i + 1,
                reason: format!("invalid JSON: {e}"),
            }),
        }
    }
    out
}

/// `multijson`: concatenated objects (any whitespace between) or one top-level array.
pub fn parse_multi_json(text: &str) -> JsonRecords {
    let mut out = JsonRecords::default();
    let trimmed = text.trim_start();
    let offset = text.len() - trimmed.len();
    if trimmed.starts_with('[') {
        match serde_json::from_str::<Value>(trimmed) {
            Ok(Value::Array(items)) => {
                let line = line_of(text, offset);
                for v in items {
                    out.push(line, v);
                }
            }
            Ok(v) => out.push(line_of(text, offset), v),
            Err(e) => out.rejected.push(Rejected {
                line: line_of(text, offset) + e.line().saturating_sub(1),
                reason: format!("invalid JSON array: {e}"),
            }),
        }
        return out;
    }
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    loop {
        let start = stream.byte_offset();
        match stream.next() {
            None => break,
            Some(Ok(v)) => {
                let ws = text[start..].len() - text[start..].trim_start().len();
                out.push(line_of(text, start + ws), v)
            }
            Some(Err(e)) => {
                // The rest cannot be resynchronised reliably: count it as one rejected record.
                // The stream reads the whole text, so its error line is already absolute.
                out.rejected.push(Rejected {
                    line: e.line().max(line_of(text, start)),
                    reason: format!("invalid JSON: {e}"),
                });
                break;
            }
        }
    }
    out
}

/// `singlejson`: the whole blob is one object (an array is read as its elements).
pub fn parse_single_json(text: &str) -> JsonRecords {
    let mut out = JsonRecords::default();
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(items)) => items.into_iter().for_each(|v| out.push(1, v)),
        Ok(v) => out.push(1, v),
        Err(e) => out.rejected.push(Rejected {
            line: e.line(),
            reason: format!("invalid JSON: {e}"),
        }),
    }
    out
}

fn line_of(text: &str, byte: usize) -> usize {
    let end = byte.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(text: &str) -> Vec<Vec<String>> {
        parse_delimited(text, ',', false)
            .unwrap()
            .into_iter()
            .map(|r| r.fields)
            .collect()
    }

    #[test]
    fn formats_known_unknown_unsupported() {
        assert_eq!(
            Format::parse("CSV"),
            Ok(Format::Delimited {
                sep: ',',
                escapes: false
            })
        );
        assert_eq!(Format::parse("multijson"), Ok(Format::MultiJson));
        assert_eq!(Format::parse("parquet"), Err(true));
        assert_eq!(Format::parse("xlsx"), Err(false));
        assert_eq!(Format::Json.mapping_kind(), "Json");
        assert_eq!(Format::Txt.mapping_kind(), "Csv");
    }

    #[test]
    fn csv_basic_crlf_and_trailing_newline() {
        assert_eq!(
            fields("a,b\r\nc,d\r\n"),
            vec![vec!["a", "b"], vec!["c", "d"]]
        );
        assert_eq!(fields("a,b\nc,d"), vec![vec!["a", "b"], vec!["c", "d"]]);
        assert_eq!(fields("a,,\n"), vec![vec!["a", "", ""]]);
    }

    #[test]
    fn csv_blank_lines_are_skipped_with_line_numbers_kept() {
        let r = parse_delimited("a\n\n\nb\n", ',', false).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[1].line, 4);
        // A quoted empty field is a real record.
        assert_eq!(fields("\"\"\n"), vec![vec![""]]);
    }

    #[test]
    fn csv_quotes_escaped_quotes_and_quoted_newlines() {
        let r = parse_delimited(
            "\"x, y\",\"say \"\"hi\"\"\"\n\"multi\r\nline\",z\nlast,1\n",
            ',',
            false,
        )
        .unwrap();
        assert_eq!(r[0].fields, vec!["x, y", "say \"hi\""]);
        assert_eq!(r[1].fields, vec!["multi\r\nline", "z"]);
        assert_eq!(r[1].line, 2);
        assert_eq!(r[2].line, 4);
    }

    #[test]
    fn csv_unicode_and_quote_inside_unquoted_field() {
        assert_eq!(fields("héllo,日本\n"), vec![vec!["héllo", "日本"]]);
        assert_eq!(fields("a\"b,c\n"), vec![vec!["a\"b", "c"]]);
    }

    #[test]
    fn csv_unclosed_quote_names_the_line() {
        let e = parse_delimited("a,b\nc,\"open\nmore\n", ',', false).unwrap_err();
        assert_eq!(e.code, "Stream_ClosingQuoteMissing");
        assert!(e.details.contains("line 2"), "{}", e.details);
    }

    #[test]
    fn other_separators_and_tsve_escapes() {
        let r = parse_delimited("a\tb\n", '\t', false).unwrap();
        assert_eq!(r[0].fields, vec!["a", "b"]);
        let r = parse_delimited("a|\"b|c\"\n", '|', false).unwrap();
        assert_eq!(r[0].fields, vec!["a", "b|c"]);
        let r = parse_delimited("a\\tb\t\"q\\\\\n", '\t', true).unwrap();
        assert_eq!(r[0].fields, vec!["a\tb", "\"q\\"]);
        let r = parse_delimited("x\u{1}y\n", '\u{1}', false).unwrap();
        assert_eq!(r[0].fields, vec!["x", "y"]);
    }

    #[test]
    fn txt_lines() {
        let r = parse_lines("one\r\n\ntwo, with comma\n");
        assert_eq!(r.len(), 2);
        assert_eq!(r[1].fields, vec!["two, with comma"]);
        assert_eq!(r[1].line, 3);
    }

    #[test]
    fn json_lines_good_bad_and_non_objects() {
        let r = parse_json_lines("{\"a\":1}\r\n\n{bad\n[1]\n{\"a\":2}");
        assert_eq!(r.records.len(), 2);
        assert_eq!(r.records[1], (5, json!({"a":2})));
        assert_eq!(r.rejected.len(), 2);
        assert_eq!(r.rejected[0].line, 3);
        assert!(r.rejected[1].reason.contains("array"));
    }

    #[test]
    fn json_lines_rejects_pretty_objects() {
        let r = parse_json_lines("{\n  \"a\": 1\n}\n");
        assert!(r.records.is_empty());
        assert_eq!(r.rejected.len(), 3);
    }

    #[test]
    fn multijson_concatenated_and_array() {
        let r = parse_multi_json("{\n \"a\": 1\n}\n{\"a\":2} {\"a\":3}\n");
        assert_eq!(r.records.len(), 3);
        assert_eq!(r.records[1].0, 4);
        let r = parse_multi_json("  [ {\"a\":1}, {\"a\":2}, 3 ]");
        assert_eq!(r.records.len(), 2);
        assert_eq!(r.rejected.len(), 1);
        let r = parse_multi_json("{\"a\":1}\n{oops");
        assert_eq!(r.records.len(), 1);
        assert_eq!(r.rejected.len(), 1);
        assert_eq!(r.rejected[0].line, 2);
    }

    #[test]
    fn multijson_error_line_is_counted_once() {
        // Found by the `formats` fuzz target: the line was the record's plus the absolute one.
        let r = parse_multi_json("{\"a\":1}\n\n[\n]\"1{b\":[2]}");
        assert_eq!(r.records.len(), 1);
        let lines: Vec<usize> = r.rejected.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![3, 4, 4]);
    }

    #[test]
    fn single_json() {
        assert_eq!(parse_single_json("{\"a\":\n1}").records.len(), 1);
        assert_eq!(parse_single_json("{} {}").rejected.len(), 1);
    }
}
