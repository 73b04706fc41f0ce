//! `tests/bad-inputs.md` is a catalogue of bad inputs and the test that covers each one. This
//! keeps it honest: every row names a test that exists, and the catalogue stays at least 40 rows.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

const MIN_ROWS: usize = 40;

/// `(input, test)` for every data row of the catalogue's tables.
fn rows(md: &str) -> Vec<(String, String)> {
    md.lines()
        .filter(|l| l.trim_start().starts_with('|'))
        .map(|l| {
            l.trim()
                .trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_string())
                .collect::<Vec<_>>()
        })
        .filter(|cells| cells.len() >= 3)
        .filter(|cells| !cells[0].eq_ignore_ascii_case("input"))
        .filter(|cells| {
            !cells
                .iter()
                .all(|c| c.chars().all(|ch| ch == '-' || ch == ':'))
        })
        .map(|cells| (cells[0].clone(), cells[cells.len() - 1].clone()))
        .collect()
}

/// Every `tests/x.rs::name` or `src/a/b.rs::mod::name` in a cell (backticks and several
/// references allowed) → (path, fn name).
fn test_refs(cell: &str) -> Vec<(String, String)> {
    let is_path = |c: char| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-' | '.');
    let is_name = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | ':');
    let mut out = Vec::new();
    let mut rest = cell;
    while let Some(at) = rest.find(".rs::") {
        let start = rest[..at].rfind(|c: char| !is_path(c)).map_or(0, |i| i + 1);
        let after = &rest[at + 5..];
        let end = after.find(|c: char| !is_name(c)).unwrap_or(after.len());
        let path = &rest[start..at + 3];
        if let Some(name) = after[..end].rsplit("::").next().filter(|n| !n.is_empty()) {
            out.push((path.to_string(), name.to_string()));
        }
        rest = &after[end..];
    }
    out
}

#[test]
fn every_catalogued_bad_input_names_a_test_that_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let md = std::fs::read_to_string(root.join("tests/bad-inputs.md")).unwrap();
    let rows = rows(&md);
    assert!(
        rows.len() >= MIN_ROWS,
        "the catalogue has {} rows; at least {MIN_ROWS} are required",
        rows.len()
    );
    let mut missing = Vec::new();
    for (input, test) in &rows {
        let refs = test_refs(test);
        if refs.is_empty() {
            missing.push(format!(
                "{input}: test column '{test}' names no FILE.rs::NAME"
            ));
        }
        for (path, name) in refs {
            let src = std::fs::read_to_string(root.join(&path)).unwrap_or_default();
            let defines =
                src.contains(&format!("fn {name}(")) || src.contains(&format!("fn {name}<"));
            if !defines {
                missing.push(format!("{input}: no `fn {name}` in {path}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "catalogue rows without their test:\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_row_reader_skips_headers_and_separators() {
    let md = "| input | expected | test |\n|---|---|---|\n| a | b | `tests/x.rs::t` |\ntext\n";
    assert_eq!(
        rows(md),
        vec![("a".to_string(), "`tests/x.rs::t`".to_string())]
    );
    assert_eq!(
        test_refs("`src/a.rs::m::t`, tests/b.rs::u (full: `v`)"),
        vec![
            ("src/a.rs".to_string(), "t".to_string()),
            ("tests/b.rs".to_string(), "u".to_string())
        ]
    );
}
