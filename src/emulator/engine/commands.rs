//! Parsing the supported command subset into [`Command`]s.

use super::lexer::{Tok, tokenize};
use super::policies::{PolicyOp, parse_policy_tail, split_qualified};
use super::types::ColumnType;

/// The entity of a policy command.
#[derive(Debug, Clone, PartialEq)]
pub enum PolicyTarget {
    Database(String),
    /// `table [D.]T` or `tables (T1, T2)`; the database defaults to the request's.
    Tables {
        database: Option<String>,
        tables: Vec<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateMode {
    /// `.create`: fails when the entity exists with a different definition.
    Create,
    /// `.create-merge` / `.alter-merge`: adds missing columns.
    Merge,
    /// `.alter` / `.create-or-alter`: replaces.
    Replace,
}

#[derive(Debug, Clone, PartialEq)]
pub enum QueryOp {
    Count,
    Take(usize),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    CreateDatabase {
        name: String,
    },
    CreateTable {
        name: String,
        columns: Vec<(String, ColumnType)>,
        mode: CreateMode,
    },
    CreateMapping {
        table: String,
        kind: String,
        name: String,
        json: String,
        mode: CreateMode,
    },
    DropTable {
        name: String,
        if_exists: bool,
    },
    ShowDatabases,
    ShowTables {
        details: bool,
    },
    ShowMappings {
        table: Option<String>,
        kind: Option<String>,
        name: Option<String>,
    },
    ShowFailures {
        operation_id: Option<String>,
    },
    ShowVersion,
    ShowExtents {
        table: String,
        /// `where tags has|contains|!has|!contains 'T' [and tags …]`.
        tags: Vec<TagFilter>,
    },
    /// `.show table T cslschema` / `.show table T schema as json`.
    ShowTableSchema {
        table: String,
        json: bool,
    },
    Query {
        table: String,
        ops: Vec<QueryOp>,
    },
    BatchingPolicy {
        target: PolicyTarget,
        op: PolicyOp,
    },
    /// `.show operations [id | (id, …)]`.
    ShowOperations {
        ids: Vec<String>,
    },
    StreamingPolicy {
        target: PolicyTarget,
        op: super::streaming::StreamingOp,
    },
    /// `.show emulator batching [D.]T`: the effective policy (emulator only).
    ShowEffectiveBatching {
        table: String,
    },
}

/// One tag condition of `.show table T extents where tags …` (DOCS
/// `kusto/management/show-extents.md`: `has`, `contains`, `!has`, `!contains`, joined by `and`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagFilter {
    /// `has`: a tag equal to `value`; `contains`: a tag containing it (case-insensitive).
    pub contains: bool,
    pub negated: bool,
    pub value: String,
}

impl TagFilter {
    pub fn matches(&self, tags: &[String]) -> bool {
        let v = self.value.to_lowercase();
        let hit = tags.iter().any(|t| {
            let t = t.to_lowercase();
            if self.contains {
                t.contains(&v)
            } else {
                t == v
            }
        });
        hit != self.negated
    }
}

/// `where tags OP 'T' [and tags OP 'T' …]`, or nothing.
fn tag_filters(p: &mut Parser) -> Result<Vec<TagFilter>, String> {
    let mut out = Vec::new();
    if !p.eat_word("where") {
        return Ok(out);
    }
    loop {
        p.expect_word("tags")?;
        let negated = p.eat_punct('!');
        let contains = if p.eat_word("contains") {
            true
        } else if p.eat_word("has") {
            false
        } else {
            return Err(format!("expected has or contains{}", p.found()));
        };
        let value = p.name("tag")?;
        out.push(TagFilter {
            contains,
            negated,
            value,
        });
        if !p.eat_word("and") {
            return Ok(out);
        }
    }
}

/// Normalises a mapping kind (`csv` → `Csv`, `JSON` → `Json`).
pub fn mapping_kind(s: &str) -> Option<&'static str> {
    Some(match s.to_ascii_lowercase().as_str() {
        "csv" => "Csv",
        "json" => "Json",
        "avro" => "Avro",
        "apacheavro" => "ApacheAvro",
        "parquet" => "Parquet",
        "orc" => "Orc",
        "w3clogfile" => "W3CLogFile",
        "sstream" => "SStream",
        _ => return None,
    })
}

pub(super) struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    /// A parser over the tokens of `text`.
    pub(super) fn from_text(text: &str) -> Result<Parser, String> {
        Ok(Parser {
            toks: tokenize(text)?,
            pos: 0,
        })
    }

    pub(super) fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    pub(super) fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    pub(super) fn at_end(&self) -> bool {
        self.pos >= self.toks.len()
    }

    pub(super) fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(x)) if x.eq_ignore_ascii_case(w))
    }

    pub(super) fn eat_word(&mut self, w: &str) -> bool {
        let yes = self.is_word(w);
        if yes {
            self.pos += 1;
        }
        yes
    }

    pub(super) fn expect_word(&mut self, w: &str) -> Result<(), String> {
        if self.eat_word(w) {
            Ok(())
        } else {
            Err(format!("expected '{w}'{}", self.found()))
        }
    }

    pub(super) fn eat_punct(&mut self, c: char) -> bool {
        let yes = self.peek() == Some(&Tok::Punct(c));
        if yes {
            self.pos += 1;
        }
        yes
    }

    pub(super) fn expect_punct(&mut self, c: char) -> Result<(), String> {
        if self.eat_punct(c) {
            Ok(())
        } else {
            Err(format!("expected '{c}'{}", self.found()))
        }
    }

    pub(super) fn found(&self) -> String {
        match self.peek() {
            None => " but the command ended".into(),
            Some(Tok::Word(w)) => format!(" but found '{w}'"),
            Some(Tok::Str(_)) => " but found a string literal".into(),
            Some(Tok::Punct(c)) => format!(" but found '{c}'"),
        }
    }

    /// A name: a word, a string literal, or `['name']`.
    pub(super) fn name(&mut self, what: &str) -> Result<String, String> {
        match self.peek().cloned() {
            Some(Tok::Word(w)) if !w.starts_with('.') => {
                self.pos += 1;
                Ok(w)
            }
            Some(Tok::Str(s)) if !s.is_empty() => {
                self.pos += 1;
                Ok(s)
            }
            Some(Tok::Punct('[')) => {
                self.pos += 1;
                let n = match self.next() {
                    Some(Tok::Str(s)) | Some(Tok::Word(s)) if !s.is_empty() => s,
                    _ => return Err(format!("expected a {what} name inside [ ]")),
                };
                self.expect_punct(']')?;
                Ok(n)
            }
            _ => Err(format!("expected a {what} name{}", self.found())),
        }
    }

    /// A string literal; adjacent literals are joined, as KQL does.
    pub(super) fn string(&mut self, what: &str) -> Result<String, String> {
        let mut out = match self.peek() {
            Some(Tok::Str(s)) => s.clone(),
            _ => {
                return Err(format!(
                    "expected {what} as a string literal{}",
                    self.found()
                ));
            }
        };
        self.pos += 1;
        while let Some(Tok::Str(s)) = self.peek() {
            out.push_str(s);
            self.pos += 1;
        }
        Ok(out)
    }

    pub(super) fn end(&self) -> Result<(), String> {
        if self.at_end() {
            Ok(())
        } else {
            Err(format!("unexpected text{}", self.found()))
        }
    }
}

/// Parses one command. `Err` carries a human message (the caller adds the code).
pub fn parse(text: &str) -> Result<Command, String> {
    let toks = tokenize(text)?;
    let mut p = Parser { toks, pos: 0 };
    let head = match p.next() {
        Some(Tok::Word(w)) => w.to_ascii_lowercase(),
        _ => return Err("empty or unrecognised command".into()),
    };
    if matches!(
        head.as_str(),
        ".alter" | ".alter-merge" | ".delete" | ".show"
    ) && let Some(cmd) = policy_command(&mut p, &head)?
    {
        return Ok(cmd);
    }
    match head.as_str() {
        ".create" => create(&mut p, CreateMode::Create),
        ".create-merge" | ".alter-merge" => create(&mut p, CreateMode::Merge),
        ".create-or-alter" | ".alter" => create(&mut p, CreateMode::Replace),
        ".drop" => {
            p.expect_word("table")?;
            let name = p.name("table")?;
            let if_exists = p.eat_word("ifexists");
            p.end()?;
            Ok(Command::DropTable { name, if_exists })
        }
        ".show" => show(&mut p),
        w if w.starts_with('.') => Err(format!("unknown command '{w}'")),
        _ => {
            p.pos = 0;
            query(&mut p)
        }
    }
}

/// `<head> table [D.]T policy …`, `<head> tables (T1, …) policy …`, `<head> database D
/// policy …`, and `.show emulator batching T`; `None` (position restored) for anything else.
fn policy_command(p: &mut Parser, head: &str) -> Result<Option<Command>, String> {
    let start = p.pos;
    if head == ".show" && p.eat_word("emulator") {
        p.expect_word("batching")?;
        let table = p.name("table")?;
        p.end()?;
        return Ok(Some(Command::ShowEffectiveBatching { table }));
    }
    let target = if p.eat_word("database") {
        PolicyTarget::Database(p.name("database")?)
    } else if p.eat_word("table") {
        let (database, table) = split_qualified(&p.name("table")?);
        PolicyTarget::Tables {
            database,
            tables: vec![table],
        }
    } else if p.eat_word("tables") && p.eat_punct('(') {
        let mut tables = Vec::new();
        loop {
            tables.push(p.name("table")?);
            if !p.eat_punct(',') {
                p.expect_punct(')')?;
                break;
            }
        }
        PolicyTarget::Tables {
            database: None,
            tables,
        }
    } else {
        p.pos = start;
        return Ok(None);
    };
    if !p.eat_word("policy") {
        p.pos = start;
        return Ok(None);
    }
    if p.eat_word("streamingingestion") {
        let op = super::streaming::parse_tail(p, head)?;
        return Ok(Some(Command::StreamingPolicy { target, op }));
    }
    let op = parse_policy_tail(p, head)?;
    Ok(Some(Command::BatchingPolicy { target, op }))
}

fn create(p: &mut Parser, mode: CreateMode) -> Result<Command, String> {
    if p.eat_word("database") {
        let name = p.name("database")?;
        // `persist (...)`, `volatile`, `ifnotexists`, `with (...)`: accepted and ignored.
        return Ok(Command::CreateDatabase { name });
    }
    p.expect_word("table")?;
    let name = p.name("table")?;
    if p.eat_word("ingestion") {
        let kind_word = match p.next() {
            Some(Tok::Word(w)) => w,
            _ => return Err("expected a mapping kind (csv, json, …) after 'ingestion'".into()),
        };
        let kind = mapping_kind(&kind_word).ok_or(format!("unknown mapping kind '{kind_word}'"))?;
        p.expect_word("mapping")?;
        let mname = p.name("mapping")?;
        let json = p.string("the mapping")?;
        if p.eat_word("with") {
            skip_parens(p)?;
        }
        p.end()?;
        return Ok(Command::CreateMapping {
            table: name,
            kind: kind.to_string(),
            name: mname,
            json,
            mode,
        });
    }
    p.expect_punct('(')?;
    let mut columns: Vec<(String, ColumnType)> = Vec::new();
    loop {
        if p.eat_punct(')') {
            break;
        }
        let col = p.name("column")?;
        p.expect_punct(':')?;
        let ty = match p.next() {
            Some(Tok::Word(t)) => {
                ColumnType::parse(&t).ok_or(format!("column '{col}': unknown type '{t}'"))?
            }
            _ => return Err(format!("column '{col}': expected a type")),
        };
        if columns.iter().any(|(c, _)| *c == col) {
            return Err(format!("column '{col}' is declared twice"));
        }
        columns.push((col, ty));
        if !p.eat_punct(',') {
            p.expect_punct(')')?;
            break;
        }
    }
    if columns.is_empty() {
        return Err(format!("table '{name}' needs at least one column"));
    }
    if p.eat_word("with") {
        skip_parens(p)?;
    }
    p.end()?;
    Ok(Command::CreateTable {
        name,
        columns,
        mode,
    })
}

fn skip_parens(p: &mut Parser) -> Result<(), String> {
    p.expect_punct('(')?;
    let mut depth = 1;
    while depth > 0 {
        match p.next() {
            Some(Tok::Punct('(')) => depth += 1,
            Some(Tok::Punct(')')) => depth -= 1,
            None => return Err("unbalanced '('".into()),
            _ => {}
        }
    }
    Ok(())
}

fn show(p: &mut Parser) -> Result<Command, String> {
    let cmd = if p.eat_word("databases") {
        Command::ShowDatabases
    } else if p.eat_word("tables") {
        Command::ShowTables {
            details: p.eat_word("details"),
        }
    } else if p.eat_word("version") {
        Command::ShowVersion
    } else if p.eat_word("operations") || p.eat_word("operation") {
        return Ok(Command::ShowOperations {
            ids: super::ingest_into::parse_show_operations(p)?,
        });
    } else if p.eat_word("ingestion") {
        if p.eat_word("failures") {
            let mut operation_id = None;
            if p.eat_word("with") {
                p.expect_punct('(')?;
                p.expect_word("OperationId")?;
                p.expect_punct('=')?;
                operation_id = match p.next() {
                    Some(Tok::Word(w)) | Some(Tok::Str(w)) => Some(w),
                    _ => return Err("expected an OperationId value".into()),
                };
                p.expect_punct(')')?;
            }
            Command::ShowFailures { operation_id }
        } else {
            p.expect_word("mappings")?;
            Command::ShowMappings {
                table: None,
                kind: None,
                name: None,
            }
        }
    } else if p.eat_word("database") {
        // `.show database D ingestion mappings`: the database comes from the request.
        p.name("database")?;
        p.expect_word("ingestion")?;
        p.expect_word("mappings")?;
        Command::ShowMappings {
            table: None,
            kind: None,
            name: None,
        }
    } else if p.eat_word("table") {
        let table = p.name("table")?;
        if p.eat_word("extents") {
            let tags = tag_filters(p)?;
            p.end()?;
            return Ok(Command::ShowExtents { table, tags });
        }
        // DOCS `kusto/management/show-table-schema-command.md`.
        if p.eat_word("cslschema") {
            p.end()?;
            return Ok(Command::ShowTableSchema { table, json: false });
        }
        if p.eat_word("schema") {
            p.expect_word("as")?;
            p.expect_word("json")?;
            p.end()?;
            return Ok(Command::ShowTableSchema { table, json: true });
        }
        p.expect_word("ingestion")?;
        let mut kind = None;
        if let Some(Tok::Word(w)) = p.peek().cloned()
            && let Some(k) = mapping_kind(&w)
        {
            p.pos += 1;
            kind = Some(k.to_string());
        }
        let name = if p.eat_word("mappings") {
            None
        } else {
            p.expect_word("mapping")?;
            Some(p.name("mapping")?)
        };
        Command::ShowMappings {
            table: Some(table),
            kind,
            name,
        }
    } else {
        return Err(format!("unsupported .show command{}", p.found()));
    };
    p.end()?;
    Ok(cmd)
}

fn query(p: &mut Parser) -> Result<Command, String> {
    let table = p.name("table")?;
    let mut ops = Vec::new();
    while p.eat_punct('|') {
        if p.eat_word("count") {
            ops.push(QueryOp::Count);
        } else if p.eat_word("take") || p.eat_word("limit") {
            let n = match p.next() {
                Some(Tok::Word(w)) => w
                    .parse::<usize>()
                    .map_err(|_| format!("take: '{w}' is not a row count"))?,
                _ => return Err("take: expected a row count".into()),
            };
            ops.push(QueryOp::Take(n));
        } else {
            return Err(format!(
                "only '| count' and '| take N' are supported{}",
                p.found()
            ));
        }
    }
    p.end()?;
    Ok(Command::Query { table, ops })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_database_with_suffixes() {
        for s in [
            ".create database demo",
            ".create database demo persist (@'c:\\a', @'c:\\b')",
            ".create database ['demo'] volatile",
            ".create database demo ifnotexists",
        ] {
            assert_eq!(
                parse(s),
                Ok(Command::CreateDatabase {
                    name: "demo".into()
                }),
                "{s}"
            );
        }
    }

    #[test]
    fn create_tables() {
        let c = parse(".create-merge table Events (Timestamp:datetime, ['Level']:string, N:int) with (folder='x')")
            .unwrap();
        match c {
            Command::CreateTable {
                name,
                columns,
                mode,
            } => {
                assert_eq!(name, "Events");
                assert_eq!(mode, CreateMode::Merge);
                assert_eq!(columns[1], ("Level".to_string(), ColumnType::String));
                assert_eq!(columns[2].1, ColumnType::Int);
            }
            other => panic!("{other:?}"),
        }
        assert!(
            parse(".create table T (A:blob)")
                .unwrap_err()
                .contains("blob")
        );
        assert!(
            parse(".create table T (A:string, A:long)")
                .unwrap_err()
                .contains("twice")
        );
        assert!(
            parse(".create table T ()")
                .unwrap_err()
                .contains("at least one")
        );
        assert!(parse(".create table T (A:string").is_err());
        assert!(parse(".create table T (A string)").is_err());
    }

    #[test]
    fn create_mappings_in_every_literal() {
        for s in [
            r#".create table T ingestion csv mapping "M" '[{"column":"A","Properties":{"Ordinal":"0"}}]'"#,
            r#".create-or-alter table T ingestion CSV mapping 'M' @'[{"column":"A","Properties":{"Ordinal":"0"}}]'"#,
            r#".create table T ingestion csv mapping "M" "[{\"column\":\"A\",\"Properties\":{\"Ordinal\":\"0\"}}]""#,
        ] {
            match parse(s).unwrap() {
                Command::CreateMapping {
                    table,
                    kind,
                    name,
                    json,
                    ..
                } => {
                    assert_eq!(
                        (table.as_str(), kind.as_str(), name.as_str()),
                        ("T", "Csv", "M")
                    );
                    assert!(json.starts_with("[{\"column\":\"A\""), "{json}");
                }
                other => panic!("{other:?}"),
            }
        }
        match parse(
            ".create table T ingestion json mapping 'M' '[{\"column\":' // c\n '\"A\",\"path\":\"$.a\"}]'",
        ) {
            Ok(Command::CreateMapping { json, .. }) => {
                assert_eq!(json, r#"[{"column":"A","path":"$.a"}]"#)
            }
            other => panic!("{other:?}"),
        }
        assert!(parse(".create table T ingestion xml mapping 'M' '[]'").is_err());
        assert!(parse(".create table T ingestion csv mapping 'M'").is_err());
    }

    #[test]
    fn show_commands() {
        assert_eq!(parse(".show databases"), Ok(Command::ShowDatabases));
        assert_eq!(
            parse(".show tables details"),
            Ok(Command::ShowTables { details: true })
        );
        assert_eq!(parse(".SHOW VERSION"), Ok(Command::ShowVersion));
        assert_eq!(
            parse(".show table T ingestion csv mappings"),
            Ok(Command::ShowMappings {
                table: Some("T".into()),
                kind: Some("Csv".into()),
                name: None
            })
        );
        assert_eq!(
            parse(".show table T ingestion json mapping 'M'"),
            Ok(Command::ShowMappings {
                table: Some("T".into()),
                kind: Some("Json".into()),
                name: Some("M".into())
            })
        );
        assert_eq!(
            parse(".show ingestion failures with (OperationId = 'abc')"),
            Ok(Command::ShowFailures {
                operation_id: Some("abc".into())
            })
        );
        assert_eq!(
            parse(".show table ['My T'] extents"),
            Ok(Command::ShowExtents {
                table: "My T".into(),
                tags: vec![]
            })
        );
        assert_eq!(
            parse(".show table T extents where tags has 'kingest:a' and tags !contains 'drop-by:'"),
            Ok(Command::ShowExtents {
                table: "T".into(),
                tags: vec![
                    TagFilter {
                        contains: false,
                        negated: false,
                        value: "kingest:a".into()
                    },
                    TagFilter {
                        contains: true,
                        negated: true,
                        value: "drop-by:".into()
                    },
                ]
            })
        );
        assert!(parse(".show table T extents where tags like 'x'").is_err());
        assert!(parse(".show cluster").is_err());
        assert!(parse(".show tables please").is_err());
    }

    #[test]
    fn queries() {
        assert_eq!(
            parse("Events | take 5 | count"),
            Ok(Command::Query {
                table: "Events".into(),
                ops: vec![QueryOp::Take(5), QueryOp::Count]
            })
        );
        assert!(parse("Events | where x > 1").is_err());
        assert!(parse("Events | take many").is_err());
        assert!(parse(".frobnicate").unwrap_err().contains(".frobnicate"));
        assert!(parse("").is_err());
    }
}
