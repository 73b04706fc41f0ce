//! The `/` list filter: space-separated terms that must all match (AND), each
//! case-insensitive, each inverted by its own leading `!`, double quotes keeping spaces in one
//! term (`/"closing quote" !table7`). An operator finds every failure with error code X from
//! table Y with `/X Y`, or field by field with `/code:X table:Y !status:transient`: a term
//! with a field prefix ([`Field`]) searches that field only, and a row without the field fails
//! it (so `!db:x` keeps it).
//!
//! Each term is searched with a prebuilt `memmem` finder (vectorised, keyed on a rare pair of
//! the needle's bytes) over lower-cased text: a first-byte scan is defeated by common letters
//! (`transient` has nothing but), and 100,000 buffered rows are re-matched on every keystroke.

use std::borrow::Cow;

use crate::app::state::NotificationRow;

/// A field a term can be restricted to with its prefix (`code:`, `table:`, `db:`, `status:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// The ErrorCode.
    Code,
    Table,
    /// The database.
    Db,
    /// FailureStatus of a failure (`Permanent`, `Transient`, `Exhausted`), `Succeeded` for a
    /// success, the tracking state of a submission.
    Status,
}

impl Field {
    pub const ALL: [Field; 4] = [Field::Code, Field::Table, Field::Db, Field::Status];

    pub fn prefix(self) -> &'static str {
        match self {
            Field::Code => "code:",
            Field::Table => "table:",
            Field::Db => "db:",
            Field::Status => "status:",
        }
    }

    /// Splits a known prefix (any case) off `term`; `None` for a plain term (an unknown
    /// prefix such as `https:` stays text, and so does a prefix with nothing after it).
    fn split(term: &str) -> Option<(Field, &str)> {
        Field::ALL.into_iter().find_map(|f| {
            let p = f.prefix();
            let head = term.get(..p.len())?;
            let rest = &term[p.len()..];
            (head.eq_ignore_ascii_case(p) && !rest.is_empty()).then_some((f, rest))
        })
    }
}

/// What a row offers to field terms.
pub trait Fields {
    fn field(&self, f: Field) -> Option<Cow<'_, str>>;
}

/// A row without fields (resources): every field term fails.
pub struct NoFields;

impl Fields for NoFields {
    fn field(&self, _: Field) -> Option<Cow<'_, str>> {
        None
    }
}

/// One compiled term.
#[derive(Debug, Clone)]
struct Term {
    invert: bool,
    /// Searches only this field, when set.
    field: Option<Field>,
    /// Lower-cased, never empty.
    needle: String,
    finder: memchr::memmem::Finder<'static>,
}

impl Term {
    /// Whether the term holds for lower-cased `lower`.
    fn holds(&self, lower: &[u8]) -> bool {
        self.finder.find(lower).is_some() != self.invert
    }

    /// Whether a field term holds for the row's value of its field (missing: no match).
    fn holds_field(&self, value: Option<&str>) -> bool {
        let hit = value.is_some_and(|v| self.finder.find(v.to_lowercase().as_bytes()).is_some());
        hit != self.invert
    }

    /// An ASCII needle without spaces cannot span two fields (the joined text puts a space
    /// between them), so such a term can search field by field and stop at the first hit.
    fn per_field(&self) -> bool {
        self.field.is_none() && self.needle.is_ascii() && !self.needle.contains(' ')
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
                .map(|t| (t.invert, t.field, t.needle.clone()))
                .collect::<Vec<_>>()
        };
        key(self) == key(other)
    }
}

/// Splits `text` into (inverted, term) pairs: whitespace separates, `"…"` keeps spaces (also
/// after a prefix: `table:"my table"`), a `!` before a term (or before its quote) inverts it.
/// An unclosed quote runs to the end; a lone `!` or `""` is no term.
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
        while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
            if c == '"' {
                for c in chars.by_ref() {
                    if c == '"' {
                        break;
                    }
                    term.push(c);
                }
            } else {
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
                let (field, text) = match Field::split(&term) {
                    Some((f, rest)) => (Some(f), rest),
                    None => (None, term.as_str()),
                };
                let needle = text.to_lowercase();
                let finder = memchr::memmem::Finder::new(needle.as_bytes()).into_owned();
                Term {
                    invert,
                    field,
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

    fn has_plain(&self) -> bool {
        self.terms.iter().any(|t| t.field.is_none())
    }

    /// The plain terms against `lower` (already lower-cased), the field terms against `row`.
    fn matches_parts(&self, lower: &str, row: &dyn Fields) -> bool {
        self.terms.iter().all(|t| match t.field {
            None => t.holds(lower.as_bytes()),
            Some(f) => t.holds_field(row.field(f).as_deref()),
        })
    }

    /// `lower` must already be lower-cased; field terms see no fields.
    pub fn matches_lower(&self, lower: &str) -> bool {
        self.matches_parts(lower, &NoFields)
    }

    /// `text` for the plain terms, `row`'s fields for the prefixed ones.
    pub fn matches_fields(&self, text: &str, row: &dyn Fields) -> bool {
        if self.is_empty() {
            return true;
        }
        let lower = if self.has_plain() {
            text.to_lowercase()
        } else {
            String::new()
        };
        self.matches_parts(&lower, row)
    }

    pub fn matches(&self, text: &str) -> bool {
        self.matches_fields(text, &NoFields)
    }

    /// Whether `row` passes, using `scratch` for its text (no allocation once it has grown,
    /// but for the rare field that needs Unicode lower-casing). A single plain term searches
    /// field by field (the common, fast case); several terms lower-case the row once and
    /// search the joined text for each (field terms look at their field only).
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
            _ if !self.has_plain() => self.matches_parts("", row),
            _ => {
                let mut text = String::from_utf8(std::mem::take(scratch)).unwrap_or_default();
                row.write_filter_text(&mut text);
                let hit = self.matches_parts(&text, row);
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

    #[test]
    fn field_prefixes_search_their_field_only_and_combine_with_negation_and_text() {
        // failure(id, source, error code, n): database "db", table "logs" in the fixture.
        let row = failure("m1", "s", "BadRequest_EmptyBlob", 0);
        let hit = |f: &str| Filter::new(f).matches_row(&row, &mut Vec::new());
        assert!(hit("code:emptyblob"));
        assert!(hit("CODE:EmptyBlob table:logs db:db"));
        // `logs` is the table, not the code.
        assert!(!hit("code:logs"));
        assert!(hit("!code:logs"));
        assert!(!hit("!code:emptyblob"));
        assert!(hit("code:emptyblob !table:other"));
        assert!(!hit("code:emptyblob table:other"));
        // With a plain term (AND).
        assert!(hit("table:logs emptyblob"));
        assert!(!hit("table:logs zzz"));
        // An unknown prefix or a bare prefix is plain text.
        assert!(!hit("https:x"));
        assert_eq!(Filter::new("code:"), Filter::new("\"code:\""));
        // A quoted value after a prefix keeps its spaces.
        assert_eq!(
            split_terms("table:\"my table\" !code:x"),
            vec![(false, "table:my table".into()), (true, "code:x".into())]
        );
    }

    #[test]
    fn status_is_failure_status_and_a_missing_field_fails_the_term() {
        struct Sub;
        impl Fields for Sub {
            fn field(&self, f: Field) -> Option<Cow<'_, str>> {
                match f {
                    Field::Status => Some("Failed".into()),
                    Field::Table => Some("T1".into()),
                    _ => None,
                }
            }
        }
        let f = |s: &str| Filter::new(s).matches_fields("a.csv db.T1 Failed", &Sub);
        assert!(f("status:failed"));
        assert!(f("status:fail a.csv"));
        assert!(!f("code:x"));
        assert!(f("!code:x"));
        assert!(!f("!status:failed"));
        // Resources have no fields.
        assert!(!Filter::new("db:x").matches("db:x"));
        assert!(Filter::new("!db:x").matches("anything"));
    }
}
