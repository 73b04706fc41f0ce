//! The line of every key of a config file (toml_edit keeps the spans serde's types lose), so
//! that errors found after parsing (an unknown context, a bad URL, nested contexts) name it.

use std::ops::Range;

use toml_edit::TableLike;

/// Each key path of the file with its line and the byte span of its value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Lines {
    keys: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq)]
struct Entry {
    path: Vec<String>,
    line: usize,
    value: Option<Range<usize>>,
}

/// The 1-based line of byte `offset` of `text`.
pub fn line_at(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

impl Lines {
    /// Reads the spans of `text`; a syntax error is "line N, column M: what".
    pub fn of(text: &str) -> Result<Lines, String> {
        let doc = toml_edit::Document::parse(text).map_err(|e| {
            let at = e.span().map(|s| {
                let line = line_at(text, s.start);
                let col = text[..s.start.min(text.len())]
                    .rsplit('\n')
                    .next()
                    .map_or(0, |l| l.chars().count())
                    + 1;
                format!("line {line}, column {col}: ")
            });
            format!("{}{}", at.unwrap_or_default(), e.message().trim())
        })?;
        let mut keys = Vec::new();
        walk(doc.as_table(), &mut Vec::new(), text, &mut keys);
        Ok(Lines { keys })
    }

    /// The line of the key at `path`.
    pub fn line_of(&self, path: &[&str]) -> Option<usize> {
        self.keys
            .iter()
            .find(|e| e.path.iter().map(String::as_str).eq(path.iter().copied()))
            .map(|e| e.line)
    }

    /// The `[contexts.NAME]` names in file order.
    pub fn context_order(&self) -> Vec<String> {
        self.keys
            .iter()
            .filter(|e| e.path.len() == 2 && e.path[0] == "contexts")
            .map(|e| e.path[1].clone())
            .collect()
    }

    /// The dotted key a byte offset belongs to (a serde error's span): the deepest key on
    /// that line or whose value holds the offset.
    pub fn key_at(&self, text: &str, offset: usize) -> Option<String> {
        let line = line_at(text, offset);
        self.keys
            .iter()
            .filter(|e| e.line == line || e.value.as_ref().is_some_and(|v| v.contains(&offset)))
            .max_by_key(|e| (e.line == line, e.path.len()))
            .map(|e| e.path.join("."))
    }
}

fn walk(table: &dyn TableLike, prefix: &mut Vec<String>, text: &str, out: &mut Vec<Entry>) {
    for (name, item) in table.iter() {
        let key_span = table.get_key_value(name).and_then(|(k, _)| k.span());
        let value = item.span();
        let Some(start) = key_span.as_ref().or(value.as_ref()).map(|s| s.start) else {
            continue;
        };
        prefix.push(name.to_string());
        out.push(Entry {
            path: prefix.clone(),
            line: line_at(text, start),
            value,
        });
        if let Some(inner) = item.as_table_like() {
            walk(inner, prefix, text, out);
        }
        prefix.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_of_keys_tables_and_inline_tables() {
        let text = "a = 1\n# c\n[contexts.dev]\nauth = \"none\"\nkeys = { quit = \"x\" }\n\n[contexts.prod]\n";
        let l = Lines::of(text).unwrap();
        assert_eq!(l.line_of(&["a"]), Some(1));
        assert_eq!(l.line_of(&["contexts", "dev"]), Some(3));
        assert_eq!(l.line_of(&["contexts", "dev", "auth"]), Some(4));
        assert_eq!(l.line_of(&["contexts", "dev", "keys", "quit"]), Some(5));
        assert_eq!(l.context_order(), ["dev", "prod"]);
        assert_eq!(
            l.key_at(text, text.find("\"none\"").unwrap()).as_deref(),
            Some("contexts.dev.auth")
        );
        let e = Lines::of("a = 1\nb = = 2\n").unwrap_err();
        assert!(e.starts_with("line 2, column"), "{e}");
    }
}
