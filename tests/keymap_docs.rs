//! The README's key table and its list of `[keys]` action names must be exactly what the
//! binding table generates.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

/// The README's text between `<!-- MARKER:start -->` and `<!-- MARKER:end -->`.
fn section(marker: &str) -> Option<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
    let readme = std::fs::read_to_string(path).unwrap_or_default();
    readme
        .split_once(&format!("<!-- {marker}:start -->"))
        .and_then(|(_, rest)| rest.split_once(&format!("<!-- {marker}:end -->")))
        .map(|(table, _)| table.trim().to_string())
}

fn assert_section(marker: &str, expected: &str) {
    assert_eq!(
        section(marker).as_deref(),
        Some(expected.trim()),
        "README.md must contain, between <!-- {marker}:start --> and <!-- {marker}:end -->, exactly:\n\n{expected}"
    );
}

#[test]
fn readme_key_table_matches_the_binding_table() {
    assert_section("keys", &kingest::app::keymap::markdown_table());
}

#[test]
fn readme_lists_every_action_name_for_key_overrides() {
    assert_section(
        "key-actions",
        &kingest::app::keymap::action_names_markdown(),
    );
}
