//! Which local files a submit means: plain paths, globs (`logs/*.csv`, `data/**/*.json`), and
//! folders walked recursively for files whose name matches a pattern — as LightIngest lists a
//! local folder (every subfolder, the pattern matched against file names: LI
//! `src/Ingestor.cs`, `Directory.EnumerateFiles(path, pattern, SearchOption.AllDirectories)`;
//! DOCS `lightingest.md` `-pattern`). `-` is standard input. Shared by `kingest submit` and the
//! TUI's submit dialog, so both find the same files.

use std::path::{Path, PathBuf};

/// What one argument stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub path: PathBuf,
    /// Bytes, as listed (`None` for standard input).
    pub size: Option<u64>,
    pub stdin: bool,
}

/// The characters that make an argument a glob.
fn is_glob(text: &str) -> bool {
    text.contains(['*', '?', '[', '{'])
}

/// Every file `args` name, in order, each once: a file as it is, a folder's files (recursive,
/// sorted, names matching `pattern`, default every file), a glob's matches (sorted; `*` stays
/// within one folder, `**` crosses folders), `-` standard input. An argument that names
/// nothing is an error, as is a glob or folder with no match.
pub fn discover(args: &[PathBuf], pattern: Option<&str>) -> Result<Vec<Found>, String> {
    let name_matcher = pattern.map(|p| compile(p, "--pattern")).transpose()?;
    let mut out: Vec<Found> = Vec::new();
    let mut stdin_seen = false;
    for arg in args {
        let text = arg.to_string_lossy();
        if text == "-" {
            if stdin_seen {
                return Err("standard input ('-') can be read only once".into());
            }
            stdin_seen = true;
            out.push(Found {
                path: arg.clone(),
                size: None,
                stdin: true,
            });
            continue;
        }
        match std::fs::metadata(arg) {
            Ok(m) if m.is_dir() => {
                let mut files = Vec::new();
                walk(arg, &mut files).map_err(|e| format!("cannot list '{text}': {e}"))?;
                files.retain(|(p, _)| {
                    name_matcher
                        .as_ref()
                        .is_none_or(|m| p.file_name().is_some_and(|n| m.is_match(Path::new(n))))
                });
                if push_files(&mut out, files) == 0 {
                    return Err(format!(
                        "no file in '{text}'{} to ingest",
                        pattern
                            .map(|p| format!(" matches '{p}'"))
                            .unwrap_or_default()
                    ));
                }
            }
            Ok(m) => {
                push_files(&mut out, vec![(arg.clone(), m.len())]);
            }
            Err(_) if is_glob(&text) => {
                let glob = compile(&text, "the path")?;
                let base = literal_base(arg);
                let mut files = Vec::new();
                walk(&base, &mut files)
                    .map_err(|e| format!("cannot list '{}' for '{text}': {e}", base.display()))?;
                files.retain(|(p, _)| glob.is_match(strip_dot(p, &base, arg)));
                if push_files(&mut out, files) == 0 {
                    return Err(format!("no file matches '{text}'"));
                }
            }
            Err(e) => return Err(format!("cannot read '{text}': {e}")),
        }
    }
    Ok(out)
}

/// Adds `files` (sorted) that are not in `out` yet; returns how many were given.
fn push_files(out: &mut Vec<Found>, mut files: Vec<(PathBuf, u64)>) -> usize {
    let given = files.len();
    files.sort();
    for (path, size) in files {
        if !out.iter().any(|f| f.path == path) {
            out.push(Found {
                path,
                size: Some(size),
                stdin: false,
            });
        }
    }
    given
}

fn compile(pattern: &str, what: &str) -> Result<globset::GlobMatcher, String> {
    globset::GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| format!("{what} '{pattern}' is not a valid glob: {e}"))
}

/// The folders of `glob` before its first component with a wildcard (`.` when none).
fn literal_base(glob: &Path) -> PathBuf {
    let mut base = PathBuf::new();
    for c in glob.components() {
        if is_glob(&c.as_os_str().to_string_lossy()) {
            break;
        }
        base.push(c);
    }
    // The last literal component may be a file name the glob's parent lacks; walking a
    // missing folder fails clearly.
    if base.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        base
    }
}

/// A walked path as the glob was written: `./x` walked from `.` is `x` for a glob `*.csv`.
fn strip_dot<'a>(p: &'a Path, base: &Path, glob: &Path) -> &'a Path {
    if base == Path::new(".") && !glob.starts_with(".") {
        p.strip_prefix(".").unwrap_or(p)
    } else {
        p
    }
}

/// Every file under `dir` with its size; folder links are not followed (no cycles), file links
/// are.
fn walk(dir: &Path, out: &mut Vec<(PathBuf, u64)>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            walk(&path, out)?;
        } else if let Ok(m) = std::fs::metadata(&path)
            && m.is_file()
        {
            out.push((path, m.len()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        for f in [
            "a.csv",
            "b.json",
            "sub/c.csv",
            "sub/deep/d.csv",
            "sub/e.txt",
        ] {
            let p = d.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, f).unwrap();
        }
        d
    }

    fn names(found: &[Found], root: &Path) -> Vec<String> {
        found
            .iter()
            .map(|f| {
                f.path
                    .strip_prefix(root)
                    .unwrap_or(&f.path)
                    .display()
                    .to_string()
            })
            .collect()
    }

    #[test]
    fn a_folder_is_walked_recursively_with_the_pattern_on_file_names() {
        let d = tree();
        let all = discover(&[d.path().to_path_buf()], None).unwrap();
        assert_eq!(
            names(&all, d.path()),
            [
                "a.csv",
                "b.json",
                "sub/c.csv",
                "sub/deep/d.csv",
                "sub/e.txt"
            ]
        );
        let csv = discover(&[d.path().to_path_buf()], Some("*.csv")).unwrap();
        assert_eq!(
            names(&csv, d.path()),
            ["a.csv", "sub/c.csv", "sub/deep/d.csv"]
        );
        assert_eq!(csv[0].size, Some(5));
        let none = discover(&[d.path().to_path_buf()], Some("*.parquet")).unwrap_err();
        assert!(
            none.contains("no file") && none.contains("*.parquet"),
            "{none}"
        );
    }

    #[test]
    fn globs_match_within_a_folder_or_across_with_double_star() {
        let d = tree();
        let g = |s: &str| discover(&[d.path().join(s)], None);
        assert_eq!(names(&g("*.csv").unwrap(), d.path()), ["a.csv"]);
        assert_eq!(
            names(&g("**/*.csv").unwrap(), d.path()),
            ["a.csv", "sub/c.csv", "sub/deep/d.csv"]
        );
        assert_eq!(
            names(&g("sub/*.{csv,txt}").unwrap(), d.path()),
            ["sub/c.csv", "sub/e.txt"]
        );
        assert!(g("*.avro").unwrap_err().contains("no file matches"));
        assert!(g("[").unwrap_err().contains("not a valid glob"));
    }

    #[test]
    fn files_stdin_and_duplicates() {
        let d = tree();
        let a = d.path().join("a.csv");
        let found = discover(&[a.clone(), d.path().join("*.csv"), "-".into()], None).unwrap();
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[1].stdin && found[1].size.is_none());
        assert!(discover(&["-".into(), "-".into()], None).is_err());
        let missing = discover(&[d.path().join("nope.csv")], None).unwrap_err();
        assert!(missing.contains("cannot read"), "{missing}");
        assert!(
            discover(&[d.path().to_path_buf()], Some("["))
                .unwrap_err()
                .contains("--pattern")
        );
    }
}
