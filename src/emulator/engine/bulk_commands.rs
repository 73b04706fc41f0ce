//! Parsing the DM's bulk-ingestion commands (dataexplorer-docs
//! `kusto/management/data-ingestion/`: `ingest-from-storage-queued.md`, `list-blobs.md`,
//! `show-queued-ingestion-operations.md`, `cancel-queued-ingestion-operation-command.md`):
//!
//! * `.ingest-from-storage-queued into table [database(D).]T [EnableTracking=b]
//!   [SkipBatching=b] [CompressionFactor=r] [with (k=v, …)] <| Source`, Source being quoted
//!   blob URLs or a `.list blobs` command;
//! * `.list blobs (Locator) [Suffix=s] [MaxFiles=n] [PathFormat=(…)]`;
//! * `.show queued ingestion operations "<id>" | ("<id>", …) | "<id>" details`;
//! * `.cancel queued ingestion operation '<id>'`.
//!
//! The DM runs them ([`crate::emulator::dm::bulk`]); the engine only owns the grammar.

use chrono::{DateTime, NaiveDate, Utc};

use super::commands::Parser;
use super::lexer::Tok;

#[derive(Debug, Clone, PartialEq)]
pub enum BulkCommand {
    Ingest(IngestFromStorage),
    ListBlobs(ListBlobs),
    Show { ids: Vec<String>, details: bool },
    Cancel { id: String },
}

#[derive(Debug, Clone, PartialEq)]
pub struct IngestFromStorage {
    pub database: Option<String>,
    pub table: String,
    pub enable_tracking: bool,
    pub skip_batching: bool,
    /// Original size / compressed size, to estimate the raw size of compressed blobs.
    pub compression_factor: Option<f64>,
    /// The `with (…)` ingestion properties, values as written.
    pub properties: Vec<(String, String)>,
    pub source: BulkSource,
}

#[derive(Debug, Clone, PartialEq)]
pub enum BulkSource {
    /// Quoted blob URLs (with their SAS), in order.
    Blobs(Vec<String>),
    List(ListBlobs),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ListBlobs {
    /// A container or container+prefix URL, possibly with a SAS or a `;…` credential suffix.
    pub locator: String,
    pub suffix: Option<String>,
    pub max_files: Option<u64>,
    pub path_format: Option<PathFormat>,
}

/// `PathFormat=( "text" datetime_pattern("fmt", var) "text" … )`.
#[derive(Debug, Clone, PartialEq)]
pub struct PathFormat {
    pub parts: Vec<PathPart>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PathPart {
    Text(String),
    Datetime {
        format: Vec<FormatItem>,
        variable: String,
    },
}

/// One element of a .NET datetime format: a field of fixed width or literal text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormatItem {
    Field(Field),
    Literal(String),
}

/// `None` when `text` is none of these commands (so the caller tries others).
pub fn parse(text: &str) -> Option<Result<BulkCommand, String>> {
    let mut p = Parser::from_text(text).ok()?;
    let head = match p.next() {
        Some(Tok::Word(w)) => w.to_ascii_lowercase(),
        _ => return None,
    };
    let result = match head.as_str() {
        ".ingest-from-storage-queued" => ingest(&mut p).map(BulkCommand::Ingest),
        ".list" if p.eat_word("blobs") => {
            list_blobs(&mut p).and_then(|l| p.end().map(|_| BulkCommand::ListBlobs(l)))
        }
        ".show" if p.is_word("queued") => show(&mut p),
        ".cancel" if p.is_word("queued") => cancel(&mut p),
        _ => return None,
    };
    Some(result)
}

fn ingest(p: &mut Parser) -> Result<IngestFromStorage, String> {
    p.expect_word("into")?;
    p.expect_word("table")?;
    let (database, table) = if p.eat_word("database") {
        p.expect_punct('(')?;
        let db = p.name("database")?;
        p.expect_punct(')')?;
        // The lexer reads `.T` as one word (a dot starts command words).
        let table = match p.next() {
            Some(Tok::Word(w)) if w.len() > 1 && w.starts_with('.') => w[1..].to_string(),
            Some(Tok::Word(w)) if w == "." => p.name("table")?,
            _ => return Err("expected '.TableName' after database(…)".into()),
        };
        (Some(db), table)
    } else {
        (None, p.name("table")?)
    };
    let mut cmd = IngestFromStorage {
        database,
        table,
        enable_tracking: false,
        skip_batching: false,
        compression_factor: None,
        properties: Vec::new(),
        source: BulkSource::Blobs(Vec::new()),
    };
    loop {
        if p.eat_word("EnableTracking") {
            cmd.enable_tracking = bool_value(p, "EnableTracking")?;
        } else if p.eat_word("SkipBatching") {
            cmd.skip_batching = bool_value(p, "SkipBatching")?;
        } else if p.eat_word("CompressionFactor") {
            p.expect_punct('=')?;
            let v = scalar(p, "CompressionFactor")?;
            let f: f64 = v
                .parse()
                .ok()
                .filter(|f: &f64| f.is_finite() && *f > 0.0)
                .ok_or(format!(
                    "CompressionFactor must be a positive real, not '{v}'"
                ))?;
            cmd.compression_factor = Some(f);
        } else {
            break;
        }
    }
    if p.eat_word("with") {
        cmd.properties = properties(p)?;
    }
    // The queued-ingestion use-case page also writes `enableTracking=true` inside with(…).
    cmd.properties.retain(|(k, v)| {
        let known = k.eq_ignore_ascii_case("enableTracking");
        if known {
            cmd.enable_tracking = v.eq_ignore_ascii_case("true");
        }
        !known
    });
    if !(p.eat_punct('<') && p.eat_punct('|')) {
        return Err(format!(
            "expected '<|' and the ingestion source{}",
            p.found()
        ));
    }
    cmd.source = if matches!(p.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(".list")) {
        p.next();
        p.expect_word("blobs")?;
        BulkSource::List(list_blobs(p)?)
    } else {
        let mut blobs = Vec::new();
        while let Some(Tok::Str(s)) = p.peek().cloned() {
            p.next();
            p.eat_punct(',');
            blobs.push(s);
        }
        if blobs.is_empty() {
            return Err(format!(
                "expected quoted blob URLs or '.list blobs' after '<|'{}",
                p.found()
            ));
        }
        BulkSource::Blobs(blobs)
    };
    p.end()?;
    Ok(cmd)
}

fn bool_value(p: &mut Parser, what: &str) -> Result<bool, String> {
    p.expect_punct('=')?;
    match scalar(p, what)?.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        other => Err(format!("{what} must be true or false, not '{other}'")),
    }
}

/// A word or a string literal.
fn scalar(p: &mut Parser, what: &str) -> Result<String, String> {
    match p.next() {
        Some(Tok::Word(w)) => Ok(w),
        Some(Tok::Str(s)) => Ok(s),
        _ => Err(format!("expected a value for {what}")),
    }
}

/// `(k=v, …)` with values as words or string literals.
fn properties(p: &mut Parser) -> Result<Vec<(String, String)>, String> {
    p.expect_punct('(')?;
    let mut out = Vec::new();
    if p.eat_punct(')') {
        return Ok(out);
    }
    loop {
        let key = p.name("property")?;
        p.expect_punct('=')?;
        let value = scalar(p, &key)?;
        out.push((key, value));
        if !p.eat_punct(',') {
            p.expect_punct(')')?;
            return Ok(out);
        }
    }
}

fn list_blobs(p: &mut Parser) -> Result<ListBlobs, String> {
    p.expect_punct('(')?;
    let locator = p.string("the storage locator")?;
    if p.eat_punct(',') {
        // The grammar allows a list; the service supports one locator today (list-blobs.md).
        return Err("only one storage connection string is supported in .list blobs".into());
    }
    p.expect_punct(')')?;
    let mut list = ListBlobs {
        locator,
        suffix: None,
        max_files: None,
        path_format: None,
    };
    loop {
        if p.eat_word("Suffix") {
            p.expect_punct('=')?;
            list.suffix = Some(scalar(p, "Suffix")?);
        } else if p.eat_word("MaxFiles") {
            p.expect_punct('=')?;
            let v = scalar(p, "MaxFiles")?;
            list.max_files = Some(
                v.parse()
                    .map_err(|_| format!("MaxFiles must be a non-negative integer, not '{v}'"))?,
            );
        } else if p.eat_word("PathFormat") {
            p.expect_punct('=')?;
            list.path_format = Some(path_format(p)?);
        } else {
            return Ok(list);
        }
    }
}

fn path_format(p: &mut Parser) -> Result<PathFormat, String> {
    p.expect_punct('(')?;
    let mut parts = Vec::new();
    loop {
        match p.next() {
            Some(Tok::Punct(')')) => break,
            Some(Tok::Str(s)) => parts.push(PathPart::Text(s)),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("datetime_pattern") => {
                p.expect_punct('(')?;
                let format = datetime_format(&p.string("the datetime format")?)?;
                p.expect_punct(',')?;
                let variable = p.name("partition")?;
                p.expect_punct(')')?;
                parts.push(PathPart::Datetime { format, variable });
            }
            Some(Tok::Word(w)) => {
                return Err(format!(
                    "PathFormat supports text and datetime_pattern(…) elements, not '{w}'"
                ));
            }
            _ => return Err("expected ')' to close PathFormat".into()),
        }
    }
    if parts.is_empty() {
        return Err("PathFormat is empty".into());
    }
    Ok(PathFormat { parts })
}

/// A .NET custom datetime format: `yyyy MM dd HH mm ss`, `'quoted'` literal text and
/// `{yyyy}` braces (list-blobs.md: `'year='yyyy` equals `year={yyyy}`); other characters
/// outside braces and quotes are literal.
pub fn datetime_format(text: &str) -> Result<Vec<FormatItem>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut items = Vec::new();
    let mut literal = String::new();
    let braced = text.contains('{');
    let mut i = 0;
    let mut in_brace = false;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            let end = chars[i + 1..]
                .iter()
                .position(|&x| x == '\'')
                .ok_or("unterminated quote in the datetime format")?;
            literal.extend(&chars[i + 1..i + 1 + end]);
            i += end + 2;
            continue;
        }
        if braced && (c == '{' || c == '}') {
            in_brace = c == '{';
            i += 1;
            continue;
        }
        let run = chars[i..].iter().take_while(|&&x| x == c).count();
        let field = match (c, run) {
            ('y', 4) => Some(Field::Year),
            ('M', 2) => Some(Field::Month),
            ('d', 2) => Some(Field::Day),
            ('H', 2) => Some(Field::Hour),
            ('m', 2) => Some(Field::Minute),
            ('s', 2) => Some(Field::Second),
            _ => None,
        };
        match field {
            Some(f) if !braced || in_brace => {
                if !literal.is_empty() {
                    items.push(FormatItem::Literal(std::mem::take(&mut literal)));
                }
                items.push(FormatItem::Field(f));
                i += run;
            }
            _ if (!braced || in_brace) && c.is_ascii_alphabetic() => {
                return Err(format!(
                    "unsupported datetime format specifier '{}' (supported: yyyy MM dd HH mm ss)",
                    chars[i..i + run].iter().collect::<String>()
                ));
            }
            _ => {
                literal.push(c);
                i += 1;
            }
        }
    }
    if !literal.is_empty() {
        items.push(FormatItem::Literal(literal));
    }
    Ok(items)
}

impl PathFormat {
    /// Matches `path` (the blob name inside its container) from its start; returns the
    /// captured datetimes by variable, or `None` when the path does not follow the format.
    pub fn capture(&self, path: &str) -> Option<Vec<(String, DateTime<Utc>)>> {
        let mut rest = path;
        let mut out = Vec::new();
        for part in &self.parts {
            match part {
                PathPart::Text(t) => rest = rest.strip_prefix(t.as_str())?,
                PathPart::Datetime { format, variable } => {
                    let (at, tail) = match_datetime(format, rest)?;
                    out.push((variable.clone(), at));
                    rest = tail;
                }
            }
        }
        Some(out)
    }
}

fn match_datetime<'a>(format: &[FormatItem], mut s: &'a str) -> Option<(DateTime<Utc>, &'a str)> {
    let mut v = [1970u32, 1, 1, 0, 0, 0];
    for item in format {
        match item {
            FormatItem::Literal(l) => s = s.strip_prefix(l.as_str())?,
            FormatItem::Field(f) => {
                let width = if *f == Field::Year { 4 } else { 2 };
                let digits = s
                    .get(..width)
                    .filter(|d| d.bytes().all(|b| b.is_ascii_digit()))?;
                v[*f as usize] = digits.parse().ok()?;
                s = &s[width..];
            }
        }
    }
    let at = NaiveDate::from_ymd_opt(v[0] as i32, v[1], v[2])?.and_hms_opt(v[3], v[4], v[5])?;
    Some((at.and_utc(), s))
}

fn show(p: &mut Parser) -> Result<BulkCommand, String> {
    for w in ["queued", "ingestion", "operations"] {
        p.expect_word(w)?;
    }
    let ids = if p.eat_punct('(') {
        let mut ids = Vec::new();
        loop {
            ids.push(p.string("an operation id")?);
            if !p.eat_punct(',') {
                p.expect_punct(')')?;
                break;
            }
        }
        ids
    } else {
        vec![p.string("an operation id")?]
    };
    let details = p.eat_word("details");
    if details && ids.len() != 1 {
        return Err("'details' takes exactly one operation id".into());
    }
    p.end()?;
    Ok(BulkCommand::Show { ids, details })
}

fn cancel(p: &mut Parser) -> Result<BulkCommand, String> {
    for w in ["queued", "ingestion", "operation"] {
        p.expect_word(w)?;
    }
    let id = p.string("the operation id")?;
    p.end()?;
    Ok(BulkCommand::Cancel { id })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> BulkCommand {
        parse(text).expect("a bulk command").expect("parses")
    }

    fn err(text: &str) -> String {
        parse(text).expect("a bulk command").expect_err("refused")
    }

    #[test]
    fn ingest_with_list_blobs_and_options() {
        let c = ok(".ingest-from-storage-queued into table database(db1).T1 \
             EnableTracking=true SkipBatching=TRUE CompressionFactor=2.5 \
             with (format='csv', ignoreFirstRecord=true, enableTracking=false) \
             <| .list blobs (h\"http://h/a/c/x?sig=s\") Suffix=\".csv\" MaxFiles=10");
        let BulkCommand::Ingest(i) = c else {
            panic!("{c:?}")
        };
        assert_eq!(i.database.as_deref(), Some("db1"));
        assert_eq!(i.table, "T1");
        // The with(…) spelling is read too, and the later one wins.
        assert!(!i.enable_tracking);
        assert!(i.skip_batching);
        assert_eq!(i.compression_factor, Some(2.5));
        assert_eq!(
            i.properties,
            vec![
                ("format".into(), "csv".into()),
                ("ignoreFirstRecord".into(), "true".into())
            ]
        );
        let BulkSource::List(l) = i.source else {
            panic!()
        };
        assert_eq!(l.locator, "http://h/a/c/x?sig=s");
        assert_eq!(l.suffix.as_deref(), Some(".csv"));
        assert_eq!(l.max_files, Some(10));
    }

    #[test]
    fn ingest_with_explicit_blobs() {
        let BulkCommand::Ingest(i) = ok(
            ".ingest-from-storage-queued into table T <| 'http://a/1' \"http://a/2\"\n'http://a/3'",
        ) else {
            panic!()
        };
        assert_eq!(i.database, None);
        assert!(!i.enable_tracking);
        assert_eq!(
            i.source,
            BulkSource::Blobs(vec![
                "http://a/1".into(),
                "http://a/2".into(),
                "http://a/3".into()
            ])
        );
    }

    #[test]
    fn bad_syntax_is_refused_with_a_reason() {
        assert!(err(".ingest-from-storage-queued into table T").contains("'<|'"));
        assert!(err(".ingest-from-storage-queued into table T <|").contains("quoted blob URLs"));
        assert!(
            err(".ingest-from-storage-queued into table T SkipBatching=maybe <| 'x'")
                .contains("true or false")
        );
        assert!(err(".list blobs ('a', 'b')").contains("only one"));
        assert!(err(".list blobs ('a') MaxFiles=-1").contains("MaxFiles"));
        assert!(err(".list blobs ('a') Extra").contains("unexpected"));
        assert!(
            err(".show queued ingestion operations (\"a\", \"b\") details").contains("exactly one")
        );
        assert!(err(".cancel queued ingestion operation").contains("operation id"));
        assert!(parse(".show tables").is_none());
        assert!(parse(".list things").is_none());
    }

    #[test]
    fn show_and_cancel_forms() {
        assert_eq!(
            ok(".show queued ingestion operations \"a;1\""),
            BulkCommand::Show {
                ids: vec!["a;1".into()],
                details: false
            }
        );
        assert_eq!(
            ok(".show queued ingestion operations (\"a\", 'b')"),
            BulkCommand::Show {
                ids: vec!["a".into(), "b".into()],
                details: false
            }
        );
        assert_eq!(
            ok(".show Queued Ingestion Operations 'a' details"),
            BulkCommand::Show {
                ids: vec!["a".into()],
                details: true
            }
        );
        assert_eq!(
            ok(".cancel queued ingestion operation 'x'"),
            BulkCommand::Cancel { id: "x".into() }
        );
    }

    #[test]
    fn path_format_captures_creation_time() {
        let BulkCommand::ListBlobs(l) = ok(
            ".list blobs ('http://h/a/c') PathFormat=(\"myfolder/year=\" \
             datetime_pattern(\"yyyy'/month='MM'/day='dd\", creationTime) \"/\")",
        ) else {
            panic!()
        };
        let pf = l.path_format.unwrap();
        let got = pf
            .capture("myfolder/year=2024/month=03/day=16/b.parquet")
            .unwrap();
        assert_eq!(got[0].0, "creationTime");
        assert_eq!(got[0].1.to_rfc3339(), "2024-03-16T00:00:00+00:00");
        assert!(pf.capture("other/year=2024/month=03/day=16/b").is_none());
        assert!(pf.capture("myfolder/year=2024/month=13/day=16/b").is_none());
        // The braced spelling is the same format.
        assert_eq!(
            datetime_format("year={yyyy}/month={MM}").unwrap(),
            datetime_format("'year='yyyy'/month='MM").unwrap()
        );
        assert!(datetime_format("yyyy/ww").is_err());
    }
}
