//! Ingestion mappings: parsing the JSON text (current `Properties` shape and the legacy flat
//! one), JSON paths, and evaluating a mapping against a record.

use serde_json::{Map, Value};

use super::types::ColumnType;
use crate::client::wire::{TICKS_PER_SEC, field, format_timestamp, value_to_string};

#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    Ordinal(usize),
    Path(Vec<Step>),
    Const(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Key(String),
    Index(usize),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ColumnMapping {
    pub column: String,
    pub source: Source,
    /// `DataType`: the type of the column to create when the table has none of that name
    /// (DOCS `kusto/management/mappings.md`).
    pub datatype: Option<ColumnType>,
    pub transform: Option<Transform>,
}

/// The mapping transformations the emulator applies (DOCS `kusto/management/mappings.md`,
/// "Mapping transformations").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transform {
    /// `DateTimeFromUnix{Seconds,Milliseconds,Microseconds,Nanoseconds}`: the number of these
    /// units in one second.
    DateTimeFromUnix { per_second: i64 },
    /// `BytesAsBase64`: an array of byte values as base64 text (null when it is not one).
    BytesAsBase64,
}

impl Transform {
    fn parse(name: &str) -> Result<Transform, String> {
        let unix = |per_second| Ok(Transform::DateTimeFromUnix { per_second });
        match name.trim().to_ascii_lowercase().as_str() {
            "datetimefromunixseconds" => unix(1),
            "datetimefromunixmilliseconds" => unix(1_000),
            "datetimefromunixmicroseconds" => unix(1_000_000),
            "datetimefromunixnanoseconds" => unix(1_000_000_000),
            "bytesasbase64" => Ok(Transform::BytesAsBase64),
            "propertybagarraytodictionary"
            | "sourcelocation"
            | "sourcelinenumber"
            | "dropmappedfields" => Err(format!(
                "Transform '{name}' is a Kusto mapping transformation the emulator does not \
                 apply"
            )),
            _ => Err(format!(
                "Transform '{name}' is not a mapping transformation"
            )),
        }
    }

    /// Applies the transformation to a source value.
    pub fn apply(self, v: &Value) -> Value {
        match self {
            Transform::DateTimeFromUnix { per_second } => {
                let n = match v {
                    Value::Number(n) => n.as_f64(),
                    Value::String(s) => s.trim().parse::<f64>().ok(),
                    _ => None,
                };
                n.and_then(|n| {
                    let ticks = n * (TICKS_PER_SEC as f64 / per_second as f64);
                    (ticks.is_finite() && ticks.abs() < 9.0e18).then(|| ticks.round() as i64)
                })
                .and_then(|ticks| {
                    let secs = ticks.div_euclid(TICKS_PER_SEC);
                    let nanos = ticks.rem_euclid(TICKS_PER_SEC) * 100;
                    chrono::DateTime::from_timestamp(secs, u32::try_from(nanos).ok()?)
                })
                .map_or(Value::Null, |t| Value::String(format_timestamp(t)))
            }
            Transform::BytesAsBase64 => {
                let bytes: Option<Vec<u8>> = v.as_array().and_then(|items| {
                    items
                        .iter()
                        .map(|x| x.as_u64().and_then(|b| u8::try_from(b).ok()))
                        .collect()
                });
                bytes.map_or(Value::Null, |b| {
                    use base64::Engine as _;
                    Value::String(base64::engine::general_purpose::STANDARD.encode(b))
                })
            }
        }
    }
}

/// Parses mapping JSON text; the error says which entry is wrong and why.
pub fn parse_mapping(text: &str) -> Result<Vec<ColumnMapping>, String> {
    let v: Value =
        serde_json::from_str(text.trim()).map_err(|e| format!("mapping is not valid JSON: {e}"))?;
    let items = v.as_array().ok_or("mapping must be a JSON array")?;
    if items.is_empty() {
        return Err("mapping is empty".into());
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| parse_entry(item).map_err(|e| format!("mapping entry {i}: {e}")))
        .collect()
}

fn parse_entry(item: &Value) -> Result<ColumnMapping, String> {
    let obj = item.as_object().ok_or("not a JSON object")?;
    let column = text(obj, "column")
        .or_else(|| text(obj, "Name"))
        .filter(|c| !c.is_empty())
        .ok_or("has no column name")?;
    let props = match field(obj, "Properties") {
        Some(Value::Object(p)) => p.clone(),
        Some(Value::String(s)) if !s.trim().is_empty() => serde_json::from_str(s)
            .map_err(|_| format!("column '{column}': Properties is not an object"))?,
        _ => Map::new(),
    };
    let get = |name: &str| text(&props, name).or_else(|| text(obj, name));
    let datatype = match text(obj, "DataType").or_else(|| get("DataType")) {
        Some(t) if !t.trim().is_empty() => Some(
            ColumnType::parse(&t)
                .ok_or_else(|| format!("column '{column}': DataType '{t}' is not a Kusto type"))?,
        ),
        _ => None,
    };
    let transform = match get("Transform") {
        Some(t) if !t.trim().is_empty() => {
            Some(Transform::parse(&t).map_err(|e| format!("column '{column}': {e}"))?)
        }
        _ => None,
    };
    let source = if let Some(o) = get("Ordinal") {
        Source::Ordinal(
            o.trim()
                .parse()
                .map_err(|_| format!("column '{column}': Ordinal '{o}' is not a number"))?,
        )
    } else if let Some(p) = get("Path") {
        // "If the value doesn't start with `$` it's interpreted as a constant value" (DOCS
        // `kusto/management/json-mapping.md`, and the same in parquet- and avro-mapping.md).
        if p.trim_start().starts_with('$') {
            Source::Path(parse_path(&p).map_err(|e| format!("column '{column}': {e}"))?)
        } else {
            Source::Const(p)
        }
    } else if let Some(f) = get("Field") {
        // Avro and Parquet mappings name a top-level field (or, as in the docs' own Avro
        // example, give a path under this name).
        let steps = if f.trim_start().starts_with('$') {
            parse_path(&f).map_err(|e| format!("column '{column}': {e}"))?
        } else {
            vec![Step::Key(f)]
        };
        Source::Path(steps)
    } else if let Some(c) = get("ConstValue") {
        Source::Const(c)
    } else {
        return Err(format!(
            "column '{column}' has neither Ordinal, Path, Field nor ConstValue"
        ));
    };
    Ok(ColumnMapping {
        column,
        source,
        datatype,
        transform,
    })
}

fn text(m: &Map<String, Value>, name: &str) -> Option<String> {
    field(m, name).and_then(value_to_string)
}

/// `$`, `$.a.b`, `$['x y']`, `$["x"]`, `$[0]`, `$.a[1].b`.
pub fn parse_path(p: &str) -> Result<Vec<Step>, String> {
    let rest = p
        .trim()
        .strip_prefix('$')
        .ok_or_else(|| format!("path '{p}' must start with '$'"))?;
    let mut steps = Vec::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '.' => {
                let mut key = String::new();
                while let Some(&n) = chars.peek() {
                    if n == '.' || n == '[' {
                        break;
                    }
                    key.push(n);
                    chars.next();
                }
                if key.is_empty() {
                    return Err(format!("path '{p}' has an empty name"));
                }
                steps.push(Step::Key(key));
            }
            '[' => {
                let mut inner = String::new();
                let mut quote: Option<char> = None;
                let mut quoted = false;
                let mut closed = false;
                for n in chars.by_ref() {
                    match (quote, n) {
                        (None, ']') => {
                            closed = true;
                            break;
                        }
                        (None, '\'' | '"') if inner.is_empty() => {
                            quote = Some(n);
                            quoted = true;
                        }
                        (Some(q), n) if n == q => quote = None,
                        _ => inner.push(n),
                    }
                }
                if !closed {
                    return Err(format!("path '{p}' has an unclosed '['"));
                }
                let index = if quoted {
                    None
                } else {
                    inner.trim().parse::<usize>().ok()
                };
                if let Some(i) = index {
                    steps.push(Step::Index(i));
                } else if inner == "*" && !quoted {
                    return Err(format!("path '{p}': wildcards are not supported"));
                } else {
                    steps.push(Step::Key(inner));
                }
            }
            other => return Err(format!("path '{p}': unexpected '{other}'")),
        }
    }
    Ok(steps)
}

/// Follows `steps` from `root`; a missing step yields `None` (the column becomes null).
pub fn eval_path<'a>(root: &'a Value, steps: &[Step]) -> Option<&'a Value> {
    steps.iter().try_fold(root, |v, s| match s {
        Step::Key(k) => v.as_object()?.get(k),
        Step::Index(i) => v.as_array()?.get(*i),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn current_and_legacy_shapes() {
        let m = parse_mapping(
            r#"[{"column":"A","datatype":"string","Properties":{"Ordinal":"0"}},
                {"Column":"B","Properties":{"Path":"$.b"}},
                {"Name":"C","Ordinal":2},
                {"column":"D","path":"$.d"},
                {"column":"E","Properties":{"ConstValue":"k"}}]"#,
        )
        .unwrap();
        assert_eq!(m[0].source, Source::Ordinal(0));
        assert_eq!(m[1].source, Source::Path(vec![Step::Key("b".into())]));
        assert_eq!(m[2].source, Source::Ordinal(2));
        assert_eq!(m[3].column, "D");
        assert_eq!(m[4].source, Source::Const("k".into()));
    }

    #[test]
    fn broken_mappings_say_why() {
        assert!(parse_mapping("{").unwrap_err().contains("not valid JSON"));
        assert!(parse_mapping("{}").unwrap_err().contains("array"));
        assert!(parse_mapping("[]").unwrap_err().contains("empty"));
        let e = parse_mapping(r#"[{"column":"A","Properties":{"Ordinal":"x"}}]"#).unwrap_err();
        assert!(e.contains("entry 0") && e.contains("'A'"), "{e}");
        let e = parse_mapping(r#"[{"column":"A"}]"#).unwrap_err();
        assert!(e.contains("neither"), "{e}");
        let e = parse_mapping(r#"[{"column":"A","Properties":{"Field":"a","Transform":"Nope"}}]"#)
            .unwrap_err();
        assert!(e.contains("not a mapping transformation"), "{e}");
        let e = parse_mapping(
            r#"[{"column":"A","Properties":{"Field":"a","Transform":"SourceLocation"}}]"#,
        )
        .unwrap_err();
        assert!(e.contains("does not apply"), "{e}");
        let e = parse_mapping(r#"[{"column":"A","DataType":"blob","Properties":{"Field":"a"}}]"#)
            .unwrap_err();
        assert!(e.contains("not a Kusto type"), "{e}");
        assert!(parse_mapping(r#"[{"column":"A","path":"$a.b"}]"#).is_err());
        // A Path without `$` is a constant, as the mapping docs say.
        assert_eq!(
            parse_mapping(r#"[{"column":"A","path":"a.b"}]"#).unwrap()[0].source,
            Source::Const("a.b".into())
        );
    }

    #[test]
    fn field_datatype_and_transform() {
        let m = parse_mapping(
            r#"[{"Column":"T","DataType":"datetime","Properties":{"Field":"ts","Transform":"DateTimeFromUnixMilliseconds"}},
                {"Column":"N","Properties":{"Field":"$['a b'].c"}},
                {"Column":"B","Properties":{"Path":"$.id","Transform":"BytesAsBase64"}}]"#,
        )
        .unwrap();
        assert_eq!(m[0].source, Source::Path(vec![Step::Key("ts".into())]));
        assert_eq!(m[0].datatype, Some(ColumnType::DateTime));
        assert_eq!(
            m[0].transform,
            Some(Transform::DateTimeFromUnix { per_second: 1000 })
        );
        assert_eq!(
            m[1].source,
            Source::Path(vec![Step::Key("a b".into()), Step::Key("c".into())])
        );
        assert_eq!(m[1].transform, None);
        assert_eq!(m[2].transform, Some(Transform::BytesAsBase64));
    }

    #[test]
    fn transforms() {
        let ms = Transform::DateTimeFromUnix { per_second: 1000 };
        assert_eq!(
            ms.apply(&json!(1735732800123i64)),
            json!("2025-01-01T12:00:00.1230000Z")
        );
        assert_eq!(
            Transform::DateTimeFromUnix { per_second: 1 }.apply(&json!("-1")),
            json!("1969-12-31T23:59:59.0000000Z")
        );
        assert_eq!(
            Transform::DateTimeFromUnix {
                per_second: 1_000_000_000
            }
            .apply(&json!(1500)),
            json!("1970-01-01T00:00:00.0000015Z")
        );
        assert_eq!(ms.apply(&json!("soon")), Value::Null);
        assert_eq!(ms.apply(&json!(1e300)), Value::Null);
        let b64 = Transform::BytesAsBase64;
        assert_eq!(b64.apply(&json!([227, 131, 34])), json!("44Mi"));
        assert_eq!(b64.apply(&json!([256])), Value::Null);
        assert_eq!(b64.apply(&json!("x")), Value::Null);
    }

    #[test]
    fn paths() {
        use Step::*;
        assert_eq!(parse_path("$").unwrap(), vec![]);
        assert_eq!(
            parse_path("$.a.b").unwrap(),
            vec![Key("a".into()), Key("b".into())]
        );
        assert_eq!(
            parse_path("$['x y'][0][\"z\"]").unwrap(),
            vec![Key("x y".into()), Index(0), Key("z".into())]
        );
        assert_eq!(parse_path("$['0']").unwrap(), vec![Key("0".into())]);
        assert!(parse_path("$[*]").is_err());
        assert!(parse_path("$['open").is_err());
        assert!(parse_path("$..a").is_err());
    }

    #[test]
    fn evaluation() {
        let v = json!({"a":{"b":[10,{"c":"deep"}]},"x y":1});
        assert_eq!(
            eval_path(&v, &parse_path("$.a.b[1].c").unwrap()),
            Some(&json!("deep"))
        );
        assert_eq!(
            eval_path(&v, &parse_path("$['x y']").unwrap()),
            Some(&json!(1))
        );
        assert_eq!(eval_path(&v, &parse_path("$.a.missing").unwrap()), None);
        assert_eq!(eval_path(&v, &parse_path("$.a.b[9]").unwrap()), None);
        assert_eq!(eval_path(&v, &[]), Some(&v));
    }
}
