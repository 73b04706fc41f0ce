//! Ingestion mappings: parsing the JSON text (current `Properties` shape and the legacy flat
//! one), JSON paths, and evaluating a mapping against a record.

use serde_json::{Map, Value};

use crate::client::wire::{field, value_to_string};

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
    let source = if let Some(o) = get("Ordinal") {
        Source::Ordinal(
            o.trim()
                .parse()
                .map_err(|_| format!("column '{column}': Ordinal '{o}' is not a number"))?,
        )
    } else if let Some(p) = get("Path") {
        Source::Path(parse_path(&p).map_err(|e| format!("column '{column}': {e}"))?)
    } else if let Some(c) = get("ConstValue") {
        Source::Const(c)
    } else {
        return Err(format!(
            "column '{column}' has neither Ordinal, Path nor ConstValue"
        ));
    };
    Ok(ColumnMapping { column, source })
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
        assert!(parse_mapping(r#"[{"column":"A","path":"a.b"}]"#).is_err());
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
