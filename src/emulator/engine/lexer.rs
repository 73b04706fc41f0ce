//! Script splitting and tokenising for the Kusto command subset: string literals (`'…'`, `"…"`,
//! `@'…'` verbatim, `h'…'` hidden, triple-backtick), `//` comments, brackets.

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// A name, keyword or number; `.create-merge` is one word.
    Word(String),
    Str(String),
    Punct(char),
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '$')
}

/// Splits a script into statements with their 1-based starting line. A statement ends at a
/// blank line or where a new line starts with `.` (outside strings and brackets); any other
/// line continues the current statement.
pub fn split_statements(text: &str) -> Vec<(usize, String)> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut cur_line = 0usize;
    let mut line = 1usize;
    let mut depth = 0usize;
    let mut i = 0usize;
    let mut at_line_start = true;
    let flush = |cur: &mut String, cur_line: usize, out: &mut Vec<(usize, String)>| {
        let t = cur.trim();
        if !t.is_empty() {
            out.push((cur_line, t.to_string()));
        }
        cur.clear();
    };
    while i < chars.len() {
        let c = chars[i];
        if at_line_start {
            at_line_start = false;
            if depth == 0 {
                let rest: String = chars[i..].iter().take_while(|c| **c != '\n').collect();
                let t = rest.trim();
                if t.is_empty() || t.starts_with('.') {
                    flush(&mut cur, cur_line, &mut out);
                }
            }
        }
        if c == '\n' {
            line += 1;
            at_line_start = true;
            cur.push(c);
            i += 1;
            continue;
        }
        if c == '/' && chars.get(i + 1) == Some(&'/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            continue;
        }
        if cur.trim().is_empty() && !c.is_whitespace() {
            cur_line = line;
        }
        if let Some(end) = string_end(&chars, i) {
            for &s in &chars[i..end] {
                if s == '\n' {
                    line += 1;
                }
                cur.push(s);
            }
            i = end;
            continue;
        }
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        cur.push(c);
        i += 1;
    }
    flush(&mut cur, cur_line, &mut out);
    out
}

/// If a string literal starts at `i`, the index just past its end (or the text end when it
/// is never closed). Handles the `@` and `h` prefixes.
fn string_end(chars: &[char], i: usize) -> Option<usize> {
    let (start, verbatim) = literal_start(chars, i)?;
    Some(scan_literal(chars, start, verbatim).1)
}

/// Where the quote of a literal beginning at `i` sits, and whether it is verbatim.
fn literal_start(chars: &[char], i: usize) -> Option<(usize, bool)> {
    let prev_is_word = i > 0 && is_word_char(chars[i - 1]);
    let at = |k: usize| chars.get(k).copied();
    let is_quote = |c: Option<char>| matches!(c, Some('\'' | '"' | '`'));
    match at(i) {
        Some('\'' | '"' | '`') => Some((i, false)),
        Some('@') if is_quote(at(i + 1)) => Some((i + 1, true)),
        Some('h' | 'H') if !prev_is_word && is_quote(at(i + 1)) => Some((i + 1, false)),
        Some('h' | 'H') if !prev_is_word && at(i + 1) == Some('@') && is_quote(at(i + 2)) => {
            Some((i + 2, true))
        }
        _ => None,
    }
}

/// Reads a literal whose quote is at `q`: returns (value, index past the end, closed).
fn scan_literal(chars: &[char], q: usize, verbatim: bool) -> (String, usize, bool) {
    let quote = chars[q];
    let mut value = String::new();
    if quote == '`' && chars.get(q + 1) == Some(&'`') && chars.get(q + 2) == Some(&'`') {
        let mut k = q + 3;
        while k < chars.len() {
            if chars[k] == '`' && chars.get(k + 1) == Some(&'`') && chars.get(k + 2) == Some(&'`') {
                return (value, k + 3, true);
            }
            value.push(chars[k]);
            k += 1;
        }
        return (value, k, false);
    }
    let mut k = q + 1;
    while k < chars.len() {
        let c = chars[k];
        if c == quote {
            if verbatim && chars.get(k + 1) == Some(&quote) {
                value.push(quote);
                k += 2;
                continue;
            }
            return (value, k + 1, true);
        }
        if c == '\\' && !verbatim {
            match chars.get(k + 1) {
                Some('n') => value.push('\n'),
                Some('t') => value.push('\t'),
                Some('r') => value.push('\r'),
                Some(&other) => value.push(other),
                None => value.push('\\'),
            }
            k += 2;
            continue;
        }
        value.push(c);
        k += 1;
    }
    (value, k, false)
}

/// Tokenises one statement. An unterminated string literal is an error.
pub fn tokenize(text: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0usize;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '/' && chars.get(i + 1) == Some(&'/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if let Some((q, verbatim)) = literal_start(&chars, i) {
            let (value, end, closed) = scan_literal(&chars, q, verbatim);
            if !closed {
                return Err("unterminated string literal".into());
            }
            toks.push(Tok::Str(value));
            i = end;
        } else if is_word_char(c) {
            let start = i;
            while i < chars.len() && is_word_char(chars[i]) {
                i += 1;
            }
            toks.push(Tok::Word(chars[start..i].iter().collect()));
        } else {
            toks.push(Tok::Punct(c));
            i += 1;
        }
    }
    Ok(toks)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Tok {
        Tok::Word(s.into())
    }

    #[test]
    fn tokens_and_literals() {
        let t = tokenize(".create-merge table T (A:string, ['b c']:long) // note").unwrap();
        assert_eq!(t[0], w(".create-merge"));
        assert_eq!(t[3], Tok::Punct('('));
        assert!(t.contains(&Tok::Str("b c".into())));
        assert_eq!(t.last(), Some(&Tok::Punct(')')));
        let t = tokenize(r#"'it\'s' "a\"b" @'c:\x''y' h'hidden' ```tri'ple```"#).unwrap();
        assert_eq!(
            t,
            vec![
                Tok::Str("it's".into()),
                Tok::Str("a\"b".into()),
                Tok::Str("c:\\x'y".into()),
                Tok::Str("hidden".into()),
                Tok::Str("tri'ple".into()),
            ]
        );
        assert!(tokenize("'open").is_err());
        // `h` inside a word is not a prefix.
        assert_eq!(tokenize("path'x'").unwrap()[0], w("path"));
    }

    #[test]
    fn statements_by_line_blank_and_brackets() {
        let s = split_statements(
            "// schema\n.create database demo\n.create table T (A:string,\n  B:long)\n\n\
             .create table T ingestion json mapping \"M\"\n'[{\"column\":\"A\",\n\n \"path\":\"$.a\"}]'\n\
             \nT | count // trailing\n",
        );
        assert_eq!(s.len(), 4, "{s:?}");
        assert_eq!(s[0], (2, ".create database demo".to_string()));
        assert_eq!(s[1].0, 3);
        assert!(s[1].1.ends_with("B:long)"));
        assert_eq!(s[2].0, 6);
        assert!(s[2].1.contains("\n\n \"path\""));
        assert_eq!(s[3], (11, "T | count".to_string()));
    }

    #[test]
    fn comment_markers_inside_strings_are_kept() {
        let s = split_statements(".x 'http://a/b' // gone\r\n.y");
        assert_eq!(s[0].1, ".x 'http://a/b'");
        assert_eq!(s[1], (2, ".y".to_string()));
    }
}
