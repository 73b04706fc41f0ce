//! The `/` list filter: space-separated terms that must all match (AND), each
//! case-insensitive, each inverted by its own leading `!`, double quotes keeping spaces in one
//! term (`/"closing quote" !table7`). An operator finds every failure with error code X from
//! table Y with `/X Y`.
//!
//! Each term is searched with a prebuilt `memmem` finder (vectorised, keyed on a rare pair of
//! the needle's bytes) over lower-cased text: a first-byte scan is defeated by common letters
//! (`transient` has nothing but), and 100,000 buffered rows are re-matched on every keystroke.

use crate::app::state::NotificationRow;

/// One compiled term.
#[derive(Debug, Clone)]
struct Term {
    invert: bool,
    /// Lower-cased, never empty.
    needle: String,
    finder: memchr::memmem::Finder<'static>,
}

impl Term {
    /// Whether the term holds for lower-cased `lower`.
    fn holds(&self, lower: &[u8]) -> bool {
        self.finder.find(lower).is_some() != self.invert
    }

    /// An ASCII needle without spaces cannot span two fields (the joined text puts a space
    /// between them), so such a term can search field by field and stop at the first hit.
    fn per_field(&self) -> bool {
        self.needle.is_ascii() && !self.needle.contains(' ')
    }
}

/// A list filter, compiled once; the empty filter matches everything.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    terms: Vec<Term>,
}

impl PartialEq for Filter {
    fn eq(&self, other: &Self) -> bool {
        let key = |f: &Filter| {
            f.terms
                .iter()
                .map(|t| (t.invert, t.needle.clone()))
                .collect::<Vec<_>>()
        };
        key(self) == key(other)
    }
}

/// Splits `text` into (inverted, term) pairs: whitespace separates, `"…"` keeps spaces, a `!`
/// before a term (or before its quote) inverts it. An unclosed quote runs to the end; a lone
/// `!` or `""` is no term.
fn split_terms(text: &str) -> Vec<(bool, String)> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let Some(&first) = chars.peek() else {
            return out;
        };
        let invert = first == '!';
        if invert {
            chars.next();
        }
        let mut term = String::new();
        if chars.next_if_eq(&'"').is_some() {
            for c in chars.by_ref() {
                if c == '"' {
                    break;
                }
                term.push(c);
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                term.push(c);
            }
        }
        if !term.is_empty() {
            out.push((invert, term));
        }
    }
}

impl Filter {
    pub fn new(text: &str) -> Self {
        let terms = split_terms(text)
            .into_iter()
            .map(|(invert, term)| {
                let needle = term.to_lowercase();
                let finder = memchr::memmem::Finder::new(needle.as_bytes()).into_owned();
                Term {
                    invert,
                    needle,
                    finder,
                }
            })
            .collect();
        Filter { terms }
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// `lower` must already be lower-cased.
    pub fn matches_lower(&self, lower: &str) -> bool {
        self.terms.iter().all(|t| t.holds(lower.as_bytes()))
    }

    pub fn matches(&self, text: &str) -> bool {
        self.is_empty() || self.matches_lower(&text.to_lowercase())
    }

    /// Whether `row` passes, using `scratch` for its text (no allocation once it has grown,
    /// but for the rare field that needs Unicode lower-casing). A single plain term searches
    /// field by field (the common, fast case); several terms lower-case the row once and
    /// search the joined text for each.
    pub fn matches_row(&self, row: &NotificationRow, scratch: &mut Vec<u8>) -> bool {
        match self.terms.as_slice() {
            [] => true,
            [term] if term.per_field() => {
                let hit = row.filter_fields().into_iter().flatten().any(|f| {
                    // Found in the ASCII-folded field, the needle is in the lower-cased field
                    // too (lower-casing leaves ASCII letters as ASCII folds them); only a miss
                    // in a field with other characters needs the full lower-casing (the Kelvin
                    // sign becomes `k`).
                    scratch.clear();
                    scratch.extend(f.bytes().map(|b| b.to_ascii_lowercase()));
                    term.finder.find(scratch).is_some()
                        || (!f.is_ascii()
                            && term.finder.find(f.to_lowercase().as_bytes()).is_some())
                });
                hit != term.invert
            }
            _ => {
                let mut text = String::from_utf8(std::mem::take(scratch)).unwrap_or_default();
                row.write_filter_text(&mut text);
                let hit = self.matches_lower(&text);
                *scratch = text.into_bytes();
                hit
            }
        }
    }
}

/// Case-insensitive match of every term of `filter` ([`Filter`]).
pub fn matches_filter(text: &str, filter: &str) -> bool {
    Filter::new(filter).matches(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::fixtures::failure;

    #[test]
    fn terms_split_on_spaces_with_quotes_and_per_term_inversion() {
        let t = |s: &str| split_terms(s);
        assert_eq!(t("  "), vec![]);
        assert_eq!(t("a !b"), vec![(false, "a".into()), (true, "b".into())]);
        assert_eq!(
            t("\"closing quote\" !\"x y\" z"),
            vec![
                (false, "closing quote".into()),
                (true, "x y".into()),
                (false, "z".into())
            ]
        );
        // A lone `!`, an empty quote: no term; an unclosed quote runs to the end.
        assert_eq!(t("! \"\" \"open end"), vec![(false, "open end".into())]);
    }

    #[test]
    fn every_term_must_match_and_each_inverts_on_its_own() {
        let text = "db logs badrequest_emptyblob table7";
        assert!(matches_filter(text, "emptyblob table7"));
        assert!(matches_filter(text, "EMPTYBLOB   Table7"));
        assert!(!matches_filter(text, "emptyblob table8"));
        assert!(matches_filter(text, "emptyblob !table8"));
        assert!(!matches_filter(text, "!emptyblob table7"));
        assert!(matches_filter(text, "\"logs badrequest\""));
        assert!(!matches_filter(text, "\"logs table7\""));
        assert!(matches_filter(text, ""));
        assert_eq!(Filter::new("a  b"), Filter::new(" a b "));
    }

    #[test]
    fn rows_match_on_every_term_across_fields() {
        // failure(id, source, error code, n): database "db", table "logs" in the fixture.
        let row = failure("m1", "s", "BadRequest_EmptyBlob", 0);
        let hit = |f: &str| Filter::new(f).matches_row(&row, &mut Vec::new());
        assert!(hit("emptyblob logs"));
        assert!(hit("logs emptyblob !zzz"));
        assert!(!hit("emptyblob other_table"));
        assert!(!hit("!emptyblob logs"));
        assert!(hit("!emptyblob") != hit("emptyblob"));
    }
}
