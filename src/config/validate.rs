//! Checks that need more than a key's type: the context `default_context` names exists,
//! contexts do not nest, `auth`, `theme` and every endpoint value (URL or connection string)
//! are valid. Each error is "line N: KEY: what is wrong" (the loader names the file).

use super::{FileConfig, Layer};

pub(super) fn check(file: &FileConfig) -> Result<(), String> {
    if let Some(name) = &file.default_context
        && file.context(name).is_none()
    {
        return Err(format!(
            "{}: no context '{name}' is defined ({})",
            file.at(&["default_context"]),
            defined(file)
        ));
    }
    check_layer(file, &file.top, &[])?;
    for (name, layer) in &file.contexts {
        let at = ["contexts", name.as_str()];
        for (key, set) in [
            ("contexts", layer.contexts.is_some()),
            ("default_context", layer.default_context.is_some()),
        ] {
            if set {
                return Err(format!(
                    "{}: contexts do not nest; `{key}` belongs at the top of the file",
                    file.at(&[at[0], at[1], key])
                ));
            }
        }
        check_layer(file, layer, &at)?;
    }
    Ok(())
}

/// "defined: a, b" or "none is defined".
pub fn defined(file: &FileConfig) -> String {
    match file.context_names() {
        names if names.is_empty() => "the file defines no [contexts.NAME]".into(),
        names => format!("defined: {}", names.join(", ")),
    }
}

fn check_layer(file: &FileConfig, layer: &Layer, prefix: &[&str]) -> Result<(), String> {
    let at = |key: &str| {
        let mut path = prefix.to_vec();
        path.push(key);
        file.at(&path)
    };
    if let Some(a) = &layer.auth {
        use clap::ValueEnum as _;
        if crate::cli::args::AuthKind::from_str(a, true).is_err() {
            let known: Vec<String> = crate::cli::args::AuthKind::value_variants()
                .iter()
                .filter_map(|k| k.to_possible_value().map(|v| v.get_name().to_string()))
                .collect();
            return Err(format!(
                "{}: '{a}' is not a sign-in method (expected one of {})",
                at("auth"),
                known.join(", ")
            ));
        }
    }
    // Each override on its own (collisions between levels are checked when the TUI starts,
    // once the levels are merged), so an unknown action or key spec names its line.
    for (action, spec) in layer.keys.iter().flatten() {
        let one = std::collections::BTreeMap::from([(action.clone(), spec.keys())]);
        crate::app::keymap::Keymap::with_overrides(&one).map_err(|e| {
            let mut path = prefix.to_vec();
            path.extend(["keys", action.as_str()]);
            format!("{}: {e}", file.at(&path))
        })?;
    }
    if let Some(t) = &layer.theme {
        t.parse::<crate::app::state::ThemeName>()
            .map_err(|e| format!("{}: {e}", at("theme")))?;
    }
    for (key, value, cluster) in [
        ("ingest_url", &layer.ingest_url, false),
        ("cluster", &layer.cluster, true),
    ] {
        if let Some(v) = value {
            let what = at(key);
            crate::client::connection_string::endpoint(v, cluster, &what).map_err(|e| match e {
                crate::client::Error::Usage(m) => m,
                other => format!("{what}: {other}"),
            })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::parse;

    #[test]
    fn semantic_errors_name_line_and_key() {
        for (text, fragment) in [
            (
                "default_context = \"x\"\n[contexts.a]\n",
                "line 1: default_context: no context 'x' is defined (defined: a)",
            ),
            (
                "[contexts.a]\n[contexts.a.contexts.b]\n",
                "line 2: contexts.a.contexts: contexts do not nest",
            ),
            (
                "[contexts.a]\nauth = \"kerberos\"\n",
                "line 2: contexts.a.auth: 'kerberos' is not a sign-in method",
            ),
            ("theme = \"blue\"\n", "line 1: theme: unknown theme 'blue'"),
            ("\n\ncluster = \"nope\"\n", "line 3: cluster: not a URL"),
            (
                "[contexts.a]\ningest_url = \"Data Source=https://x;Colour=red\"\n",
                "line 2: contexts.a.ingest_url: connection string keyword 'Colour'",
            ),
        ] {
            let e = parse(text).unwrap_err();
            assert!(e.contains(fragment), "{text}: {e}");
        }
    }
}
