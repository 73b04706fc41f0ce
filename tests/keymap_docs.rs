//! The README's key table must be exactly what the binding table generates.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[test]
fn readme_key_table_matches_the_binding_table() {
    let expected = kingest::app::keymap::markdown_table();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
    let readme = std::fs::read_to_string(path).unwrap_or_default();
    let section = readme
        .split_once("<!-- keys:start -->")
        .and_then(|(_, rest)| rest.split_once("<!-- keys:end -->"))
        .map(|(table, _)| table.trim().to_string());
    assert_eq!(
        section.as_deref(),
        Some(expected.trim()),
        "README.md must contain, between <!-- keys:start --> and <!-- keys:end -->, exactly:\n\n{expected}"
    );
}
