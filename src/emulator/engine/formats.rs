//! Splitting uncompressed data into records by format: delimited text (RFC 4180 CSV and its
//! siblings), txt, raw, and the JSON family (the binary formats are in `binary.rs`).

use std::borrow::Cow;

use serde_json::Value;

pub use super::binary::Binary;

/// How a format is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `tsve` sets `escapes`: backslash escapes, no quoting.
    Delimited {
        /// An ASCII separator byte.
        sep: u8,
        escapes: bool,
    },
    Txt,
    Raw,
    Json,
    MultiJson,
    SingleJson,
    /// Parquet and Avro: records with named fields, read as JSON objects.
    Binary(Binary),
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
            "csv" => delimited(b','),
            "tsv" => delimited(b'\t'),
            "scsv" => delimited(b';'),
            "psv" => delimited(b'|'),
            "sohsv" => delimited(0x01),
            "tsve" => Ok(Format::Delimited {
                sep: b'\t',
                escapes: true,
            }),
            "txt" => Ok(Format::Txt),
            "raw" => Ok(Format::Raw),
            "json" => Ok(Format::Json),
            "multijson" => Ok(Format::MultiJson),
            "singlejson" => Ok(Format::SingleJson),
            "parquet" => Ok(Format::Binary(Binary::Parquet)),
            "avro" | "apacheavro" => Ok(Format::Binary(Binary::Avro)),
            // ORC: a format of the service (DOCS `ingestion-supported-formats.md`) that the
            // emulator has no reader for.
            "orc" | "sstream" | "w3clogfile" => Err(true),
            _ => Err(false),
        }
    }

    pub fn is_json(self) -> bool {
        matches!(self, Format::Json | Format::MultiJson | Format::SingleJson)
    }

    /// Formats whose records have named fields: mapped by path, or by column name without a
    /// mapping (DOCS `kusto/management/mappings.md`, "Identity mapping").
    pub fn is_named(self) -> bool {
        self.is_json() || matches!(self, Format::Binary(_))
    }

    /// The mapping kinds a reference may have for this format: Avro mappings serve both
    /// `avro` and `apacheavro` (DOCS `kusto/management/mappings.md`, "Supported mapping types").
    pub fn mapping_kinds(self) -> &'static [&'static str] {
        match self {
            Format::Binary(Binary::Parquet) => &["Parquet"],
            Format::Binary(Binary::Avro) => &["Avro", "ApacheAvro"],
            f if f.is_json() => &["Json"],
            _ => &["Csv"],
        }
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

/// Splits delimited data into records (all of them, owned; the engine streams with
/// [`DelimitedReader`] instead).
pub fn parse_delimited(data: &[u8], sep: u8, escapes: bool) -> Result<Vec<TextRecord>, ParseError> {
    let mut reader = DelimitedReader::new(data, sep, escapes);
    let mut fields = Vec::new();
    let mut records = Vec::new();
    while let Some(line) = reader.next_into(&mut fields)? {
        records.push(TextRecord {
            line,
            fields: fields.drain(..).map(Field::into_string).collect(),
        });
    }
    Ok(records)
}

/// One delimited field, decoded only when its text is asked for (the engine asks only for
/// the rows a table keeps).
#[derive(Debug, Clone, PartialEq)]
pub enum Field<'a> {
    /// As it is in the data.
    Raw(&'a [u8]),
    /// A quoted field: what is between the quotes (`""` still doubled) and what follows the
    /// closing quote.
    Quoted { inside: &'a [u8], after: &'a [u8] },
    /// Already decoded (`tsve` escapes).
    Decoded(String),
}

/// Bytes as text. Invalid UTF-8 becomes U+FFFD exactly as if the whole data had been
/// converted first: every run converted alone starts after an ASCII byte, where the
/// conversion of the whole data also starts afresh.
pub(crate) fn lossy(b: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(b) {
        // The fast validator first: `from_utf8_lossy` checks byte by byte.
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(b),
    }
}

impl Field<'_> {
    pub fn text(&self) -> Cow<'_, str> {
        match self {
            Field::Raw(b) => lossy(b),
            Field::Quoted { inside, after } => {
                let mut s = lossy(inside);
                // Inside the quotes every quote is one of a `""` pair.
                if memchr::memchr(b'"', inside).is_some() {
                    s = Cow::Owned(s.replace("\"\"", "\""));
                }
                if !after.is_empty() {
                    s.to_mut().push_str(&lossy(after));
                }
                s
            }
            Field::Decoded(s) => Cow::Borrowed(s),
        }
    }

    pub fn into_string(self) -> String {
        match self {
            Field::Decoded(s) => s,
            other => other.text().into_owned(),
        }
    }
}

/// Reads delimited data one record at a time, on bytes: fields borrow from the data unless
/// unquoting (`""`) or `tsve` escapes changed them, so a record costs no allocation in the
/// common case, and only the fields the caller converts are checked as UTF-8 (the engine
/// converts only the rows a table keeps).
///
/// The rules: RFC 4180 quoting (a field that starts with `"` runs to the lone closing `"`,
/// `""` inside is one quote, newlines inside are data; text after the closing quote is
/// appended as is; a `"` elsewhere is data); records end at `\n` or `\r\n` (a lone `\r` is
/// data); blank lines are skipped; a quote left open at the end is
/// `Stream_ClosingQuoteMissing`. With `escapes` (`tsve`) there is no quoting and `\t` `\n`
/// `\r` `\0` are the control characters, `\` before any other character is that character.
/// `sep` is an ASCII byte (every delimited Kusto format's separator is).
pub struct DelimitedReader<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// The 1-based line `pos` is on.
    line: usize,
    sep: u8,
    escapes: bool,
    /// Non-blank records read so far (errors name the record by its number).
    records: usize,
}

/// A field being read: what is already read (`prefix`) and the raw run from `start`.
struct FieldBuf<'a> {
    prefix: Option<Field<'a>>,
    start: usize,
}

impl<'a> FieldBuf<'a> {
    #[inline]
    fn at(start: usize) -> Self {
        FieldBuf {
            prefix: None,
            start,
        }
    }

    /// Appends the raw run `start..end` plus `more` to the decoded prefix.
    #[inline]
    fn extend(&mut self, bytes: &'a [u8], end: usize, more: &str) {
        let mut s = self
            .prefix
            .take()
            .map(Field::into_string)
            .unwrap_or_default();
        s.push_str(&lossy(&bytes[self.start..end]));
        s.push_str(more);
        self.prefix = Some(Field::Decoded(s));
    }

    #[inline]
    fn finish(self, bytes: &'a [u8], end: usize) -> Field<'a> {
        let run = &bytes[self.start..end];
        match self.prefix {
            None => Field::Raw(run),
            Some(Field::Quoted { inside, .. }) => Field::Quoted { inside, after: run },
            Some(p) if run.is_empty() => p,
            Some(p) => Field::Decoded(p.into_string() + &lossy(run)),
        }
    }
}

/// How a field ended.
enum FieldEnd {
    Separator,
    /// `\n`, `\r\n` or the end of the data; `raw_end` is where the record's bytes end.
    Record {
        raw_end: usize,
    },
}

impl<'a> DelimitedReader<'a> {
    pub fn new(bytes: &'a [u8], sep: u8, escapes: bool) -> Self {
        DelimitedReader {
            bytes,
            pos: 0,
            line: 1,
            sep,
            escapes,
            records: 0,
        }
    }

    /// The byte where the next record (or blank line) starts: a record's "start position in
    /// stream" when read before it.
    pub fn offset(&self) -> usize {
        self.pos
    }

    /// Reads the next non-blank record into `fields` (cleared first) and returns the line it
    /// starts on; `None` at the end of the data.
    pub fn next_into(&mut self, fields: &mut Vec<Field<'a>>) -> Result<Option<usize>, ParseError> {
        loop {
            fields.clear();
            if self.pos >= self.bytes.len() {
                return Ok(None);
            }
            let (record_start, record_line) = (self.pos, self.line);
            loop {
                let (field, end) = self.field()?;
                fields.push(field);
                if let FieldEnd::Record { raw_end } = end {
                    // Nothing but the line break: a blank line, skipped.
                    if raw_end > record_start {
                        self.records += 1;
                        return Ok(Some(record_line));
                    }
                    break;
                }
            }
        }
    }

    /// Reads one field from `pos`, leaving `pos` after its separator or line break.
    #[inline]
    fn field(&mut self) -> Result<(Field<'a>, FieldEnd), ParseError> {
        let bytes = self.bytes;
        let mut buf = FieldBuf::at(self.pos);
        if !self.escapes && bytes.get(self.pos) == Some(&b'"') {
            buf = self.quoted()?;
            // The usual end of a quoted field, without another search.
            match bytes.get(self.pos) {
                Some(&b) if b == self.sep => {
                    self.pos += 1;
                    return Ok((buf.finish(bytes, self.pos - 1), FieldEnd::Separator));
                }
                Some(b'\n') => {
                    let end = self.pos;
                    self.pos += 1;
                    self.line += 1;
                    return Ok((buf.finish(bytes, end), FieldEnd::Record { raw_end: end }));
                }
                _ => {}
            }
        }
        loop {
            let rest = &bytes[self.pos..];
            let found = if self.escapes {
                memchr::memchr3(self.sep, b'\n', b'\\', rest)
            } else {
                memchr::memchr2(self.sep, b'\n', rest)
            };
            let Some(i) = found else {
                self.pos = bytes.len();
                let end = FieldEnd::Record {
                    raw_end: bytes.len(),
                };
                return Ok((buf.finish(bytes, bytes.len()), end));
            };
            let at = self.pos + i;
            match bytes[at] {
                b'\n' => {
                    // A `\r` right before the newline belongs to the break, unless it was
                    // decoded (quoted or escaped) before this raw run.
                    let end = if at > buf.start && bytes[at - 1] == b'\r' {
                        at - 1
                    } else {
                        at
                    };
                    self.pos = at + 1;
                    self.line += 1;
                    return Ok((buf.finish(bytes, end), FieldEnd::Record { raw_end: end }));
                }
                b'\\' if self.escapes => {
                    // Only ASCII characters are decoded: before any other byte the backslash
                    // is dropped and the raw run goes on from that byte (so a character that
                    // is not valid UTF-8 is replaced as if the whole data had been converted).
                    let (decoded, used) = match bytes.get(at + 1) {
                        Some(b't') => ('\t', 1),
                        Some(b'n') => ('\n', 1),
                        Some(b'r') => ('\r', 1),
                        Some(b'0') => ('\0', 1),
                        Some(&b) if b.is_ascii() => (char::from(b), 1),
                        Some(_) => ('\0', 0),
                        None => ('\\', 0),
                    };
                    let mut utf8 = [0; 4];
                    let more = if used == 1 || at + 1 == bytes.len() {
                        &*decoded.encode_utf8(&mut utf8)
                    } else {
                        ""
                    };
                    buf.extend(bytes, at, more);
                    self.pos = at + 1 + used;
                    buf.start = self.pos;
                }
                _ => {
                    self.pos = at + 1;
                    return Ok((buf.finish(bytes, at), FieldEnd::Separator));
                }
            }
        }
    }

    /// Reads a quoted field from its opening quote at `pos`; leaves `pos` after the closing
    /// quote, with what is inside the quotes as the field's prefix.
    fn quoted(&mut self) -> Result<FieldBuf<'a>, ParseError> {
        let bytes = self.bytes;
        let open_line = self.line;
        let start = self.pos + 1;
        let mut pos = start;
        loop {
            let Some(i) = memchr::memchr2(b'"', b'\n', &bytes[pos..]) else {
                return Err(ParseError {
                    code: "Stream_ClosingQuoteMissing",
                    details: format!(
                        "record {} (line {open_line}): a quoted field opened on line {open_line} \
                         is never closed (missing closing quote)",
                        self.records + 1
                    ),
                });
            };
            let at = pos + i;
            if bytes[at] == b'\n' {
                self.line += 1;
                pos = at + 1;
            } else if bytes.get(at + 1) == Some(&b'"') {
                // `""`: one quote, decoded when the text is asked for.
                pos = at + 2;
            } else {
                self.pos = at + 1;
                return Ok(FieldBuf {
                    prefix: Some(Field::Quoted {
                        inside: &bytes[start..at],
                        after: &[],
                    }),
                    start: self.pos,
                });
            }
        }
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
        parse_delimited(text.as_bytes(), b',', false)
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
                sep: b',',
                escapes: false
            })
        );
        assert_eq!(Format::parse("multijson"), Ok(Format::MultiJson));
        assert_eq!(Format::parse("orc"), Err(true));
        assert_eq!(Format::parse("xlsx"), Err(false));
        assert_eq!(
            Format::parse("ApacheAvro"),
            Ok(Format::Binary(Binary::Avro))
        );
        assert_eq!(
            Format::parse("parquet"),
            Ok(Format::Binary(Binary::Parquet))
        );
        assert_eq!(Format::Json.mapping_kinds(), ["Json"]);
        assert_eq!(Format::Txt.mapping_kinds(), ["Csv"]);
        assert_eq!(
            Format::Binary(Binary::Avro).mapping_kinds(),
            ["Avro", "ApacheAvro"]
        );
        assert!(Format::Binary(Binary::Parquet).is_named() && !Format::Txt.is_named());
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
        let r = parse_delimited(b"a\n\n\nb\n", b',', false).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[1].line, 4);
        // A quoted empty field is a real record.
        assert_eq!(fields("\"\"\n"), vec![vec![""]]);
    }

    #[test]
    fn csv_quotes_escaped_quotes_and_quoted_newlines() {
        let r = parse_delimited(
            b"\"x, y\",\"say \"\"hi\"\"\"\n\"multi\r\nline\",z\nlast,1\n",
            b',',
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
        let e = parse_delimited(b"a,b\nc,\"open\nmore\n", b',', false).unwrap_err();
        assert_eq!(e.code, "Stream_ClosingQuoteMissing");
        assert!(e.details.contains("line 2"), "{}", e.details);
    }

    #[test]
    fn other_separators_and_tsve_escapes() {
        let r = parse_delimited(b"a\tb\n", b'\t', false).unwrap();
        assert_eq!(r[0].fields, vec!["a", "b"]);
        let r = parse_delimited(b"a|\"b|c\"\n", b'|', false).unwrap();
        assert_eq!(r[0].fields, vec!["a", "b|c"]);
        let r = parse_delimited(b"a\\tb\t\"q\\\\\n", b'\t', true).unwrap();
        assert_eq!(r[0].fields, vec!["a\tb", "\"q\\"]);
        let r = parse_delimited(b"x\x01y\n", 0x01, false).unwrap();
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

    /// The char-at-a-time reader this module had before the byte reader (kept as the oracle
    /// the byte reader must agree with, errors included).
    fn reference(text: &str, sep: char, escapes: bool) -> Result<Vec<TextRecord>, ParseError> {
        let mut records = Vec::new();
        let mut fields: Vec<String> = Vec::new();
        let mut field = String::new();
        let (mut line, mut record_line, mut nonblank) = (1usize, 1usize, false);
        let mut chars = text.chars().peekable();
        let mut at_field_start = true;
        let finish = |records: &mut Vec<TextRecord>,
                      fields: &mut Vec<String>,
                      field: &mut String,
                      line: usize,
                      nonblank: bool| {
            fields.push(std::mem::take(field));
            let fields = std::mem::take(fields);
            if nonblank {
                records.push(TextRecord { line, fields });
            }
        };
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
                            "record {} (line {open_line}): a quoted field opened on line \
                             {open_line} is never closed (missing closing quote)",
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
                finish(&mut records, &mut fields, &mut field, record_line, nonblank);
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
        finish(&mut records, &mut fields, &mut field, record_line, nonblank);
        Ok(records)
    }

    fn agrees(text: &str) {
        for (sep, escapes) in [(b',', false), (b'\t', true), (b'\t', false)] {
            assert_eq!(
                parse_delimited(text.as_bytes(), sep, escapes),
                reference(text, char::from(sep), escapes),
                "{text:?} sep {sep} escapes {escapes}"
            );
        }
    }

    #[test]
    fn byte_reader_agrees_with_the_char_reader_on_every_short_text() {
        // Every text of up to 5 characters over the characters the rules treat specially.
        let alphabet = ['a', 'é', ',', '\t', '"', '\n', '\r', '\\', 't'];
        let mut texts = vec![String::new()];
        for _ in 0..5 {
            let longer: Vec<String> = texts
                .iter()
                .filter(|t| t.chars().count() == texts.last().map_or(0, |l| l.chars().count()))
                .flat_map(|t| alphabet.iter().map(move |c| format!("{t}{c}")))
                .collect();
            texts.extend(longer);
        }
        assert_eq!(texts.len(), (0..=5).map(|n| 9usize.pow(n)).sum::<usize>());
        texts.iter().for_each(|t| agrees(t));
    }

    #[test]
    fn quotes_at_field_and_record_boundaries() {
        for text in [
            "\"\"",
            "\"a\"\"\"",
            "\"\"\"\"\n",
            "\"a\"b,c",
            "a,\"b\"\r\n\"c\",\"\"",
            "\"x\r\"\n",
            "\"x\"\r",
            ",\n,",
            "a,b,\n",
            "\"open, line 1\n2\n3",
            "ok\n\n\"bad\n",
        ] {
            agrees(text);
        }
        // Empty fields, a trailing separator, CRLF.
        assert_eq!(fields(",,\r\n"), vec![vec!["", "", ""]]);
        assert_eq!(fields("a,\r\nb,\n"), vec![vec!["a", ""], vec!["b", ""]]);
        // A quote right after a separator opens a field; text after its closing quote is kept.
        assert_eq!(fields("a,\"b,c\"d\n"), vec![vec!["a", "b,cd"]]);
        // A doubled quote that ends the field, then the end of the text.
        assert_eq!(fields("\"say \"\"x\"\"\""), vec![vec!["say \"x\""]]);
    }

    #[test]
    fn unterminated_quote_counts_records_and_lines() {
        let e = parse_delimited(b"a\n\n\"b\nc\",d\ne,\"f\ng\nh", b',', false).unwrap_err();
        assert_eq!(e.code, "Stream_ClosingQuoteMissing");
        assert!(e.details.starts_with("record 3 (line 5):"), "{}", e.details);
    }

    #[test]
    fn fields_borrow_unless_decoded() {
        let mut reader = DelimitedReader::new(b"plain,\"quoted\",\"dou\"\"ble\"\n", b',', false);
        let mut f = Vec::new();
        assert_eq!(reader.next_into(&mut f).unwrap(), Some(1));
        assert!(matches!(f[0], Field::Raw(b"plain")));
        assert!(matches!(
            f[1],
            Field::Quoted {
                inside: b"quoted",
                after: b""
            }
        ));
        assert!(matches!(
            f[2],
            Field::Quoted {
                inside: b"dou\"\"ble",
                ..
            }
        ));
        assert_eq!(f[2].text(), "dou\"ble");
        assert_eq!(reader.next_into(&mut f).unwrap(), None);
    }

    #[test]
    fn invalid_utf8_reads_as_if_the_whole_data_were_converted_first() {
        // Every byte string of up to 4 bytes over the special ASCII bytes (CR of CRLF, `t` of
        // a tsve escape) and the pieces of `日` (E6 97 A5): read on bytes, the fields are
        // those of the lossily converted text.
        let alphabet = [
            b't', 0xE6, 0x97, 0xA5, b'\\', b'\t', b'"', b'\r', b'\n', b',', b'a',
        ];
        let mut texts: Vec<Vec<u8>> = vec![vec![]];
        let mut last = texts.clone();
        for _ in 0..4 {
            last = last
                .iter()
                .flat_map(|t| alphabet.iter().map(move |b| [&t[..], &[*b]].concat()))
                .collect();
            texts.extend(last.iter().cloned());
        }
        assert_eq!(texts.len(), 1 + 11 + 121 + 1331 + 14641);
        for t in &texts {
            let lossy = String::from_utf8_lossy(t);
            for (sep, escapes) in [(b',', false), (b'\t', true), (b'\t', false)] {
                assert_eq!(
                    parse_delimited(t, sep, escapes),
                    parse_delimited(lossy.as_bytes(), sep, escapes),
                    "{t:?} sep {sep} escapes {escapes}"
                );
            }
        }
        let r = parse_delimited(b"\xE6\\\x97\xA5\t\xE6\x97\xA5\n", b'\t', true).unwrap();
        assert_eq!(r[0].fields, vec!["\u{FFFD}\u{FFFD}\u{FFFD}", "日"]);
    }

    #[test]
    fn tsve_escapes_at_the_end_and_before_multibyte() {
        for text in ["a\\", "\\é\tb", "\\\\\\t\n", "x\\\r\ny", "\\\n\\,"] {
            agrees(text);
        }
    }
}
