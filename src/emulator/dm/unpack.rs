//! A downloaded blob's data as the engine reads it: gunzipped (`.gz`), the selected entries of
//! a zip (`.zip`), or as it is. The blob name's last extension decides, as the service's does
//! (DOCS `kusto/ingestion-supported-formats.md`: `MyData.csv.zip`; a Parquet or Avro file's
//! internal codec is no such extension).

use std::io::Read;

use super::{MAX_DATA_BYTES, permanent};
use crate::emulator::engine::IngestFailure;

/// The data of `blob_name`, as one entry (or one per selected zip file, in archive order).
/// `zip_pattern` selects a zip's entries by path; without it every file is ingested.
pub fn unpack(
    blob_name: &str,
    data: &[u8],
    zip_pattern: Option<&str>,
) -> Result<Vec<Vec<u8>>, IngestFailure> {
    let name = blob_name.to_ascii_lowercase();
    let mut left = MAX_DATA_BYTES;
    if name.ends_with(".gz") {
        let mut dec = flate2::read::MultiGzDecoder::new(data);
        let out = read_limited(blob_name, &mut dec, &mut left, |e| {
            permanent(
                "BadRequest_InvalidBlob",
                format!("'{blob_name}' is not valid gzip: {e}"),
            )
        })?;
        return Ok(vec![out]);
    }
    if !name.ends_with(".zip") {
        return Ok(vec![data.to_vec()]);
    }
    let invalid = |e: &dyn std::fmt::Display| {
        permanent(
            "BadRequest_InvalidArchive",
            format!("'{blob_name}' is not a readable zip archive: {e}"),
        )
    };
    let selector = match zip_pattern.map(str::trim).filter(|p| !p.is_empty()) {
        Some(p) => Some(EntrySelector::new(p).map_err(|e| {
            permanent(
                "BadRequest_MalformedIngestionProperty",
                format!("zipPattern '{p}' is neither a regular expression nor a glob: {e}"),
            )
        })?),
        None => None,
    };
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(data)).map_err(|e| invalid(&e))?;
    let mut files = 0;
    let mut out = Vec::new();
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(|e| invalid(&e))?;
        if !entry.is_file() {
            continue;
        }
        files += 1;
        if selector.as_ref().is_some_and(|s| !s.matches(entry.name())) {
            continue;
        }
        let bytes = read_limited(blob_name, &mut entry, &mut left, |e| invalid(e))?;
        out.push(bytes);
    }
    if files == 0 {
        return Err(permanent(
            "BadRequest_EmptyArchive",
            format!("'{blob_name}' contains no files"),
        ));
    }
    if out.is_empty() {
        // (decision) No entry selected: the archive holds nothing to ingest for this
        // source, the same code as an archive without files, saying why.
        let pattern = zip_pattern.unwrap_or_default();
        return Err(permanent(
            "BadRequest_EmptyArchive",
            format!("none of the {files} file(s) in '{blob_name}' matches zipPattern '{pattern}'"),
        ));
    }
    Ok(out)
}

/// Reads `r` to the end within the `left` bytes all entries may expand to (an archive bomb
/// is `Stream_InputStreamTooLarge`); a read error is what `unreadable` makes of it.
fn read_limited(
    blob_name: &str,
    r: &mut dyn Read,
    left: &mut u64,
    unreadable: impl Fn(&std::io::Error) -> IngestFailure,
) -> Result<Vec<u8>, IngestFailure> {
    let mut out = Vec::new();
    r.take(*left + 1)
        .read_to_end(&mut out)
        .map_err(|e| unreadable(&e))?;
    let n = out.len() as u64;
    if n > *left {
        return Err(permanent(
            "Stream_InputStreamTooLarge",
            format!("'{blob_name}' expands beyond {MAX_DATA_BYTES} bytes"),
        ));
    }
    *left -= n;
    Ok(out)
}

/// `zipPattern`: "the regular expression to use when selecting which files in the ZIP archive
/// to ingest" (DOCS `kusto/includes/ingestion-properties.md`), matched anywhere in the entry's
/// path as .NET's `Regex.IsMatch` does. The same page's example value is `*.csv`, a glob and
/// not a valid expression: (decision, research §8) a pattern that does not compile is read
/// as a glob over the whole path (`*` and `?` any characters, `/` included).
#[derive(Debug)]
pub struct EntrySelector(regex::Regex);

impl EntrySelector {
    /// Fails only when the pattern is too large for either reading.
    pub fn new(pattern: &str) -> Result<EntrySelector, regex::Error> {
        regex::Regex::new(pattern)
            .or_else(|_| regex::Regex::new(&glob(pattern)))
            .map(EntrySelector)
    }

    pub fn matches(&self, entry: &str) -> bool {
        self.0.is_match(entry)
    }
}

fn glob(pattern: &str) -> String {
    let mut re = String::from("^");
    for c in pattern.chars() {
        match c {
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    re
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::engine::samples;

    #[test]
    fn every_file_of_a_zip_in_order_without_a_pattern() {
        let z = samples::zip(&[("b.csv", b"2\n"), ("d/", b""), ("d/a.csv", b"1\n")]).unwrap();
        assert_eq!(unpack("x.csv.zip", &z, None).unwrap(), [b"2\n", b"1\n"]);
        // A blank pattern selects everything too.
        assert_eq!(unpack("x.zip", &z, Some(" ")).unwrap().len(), 2);
    }

    #[test]
    fn zip_pattern_as_regex_and_as_glob() {
        let z = samples::zip(&[
            ("keep-1.csv", b"1\n"),
            ("notes.txt", b"no\n"),
            ("sub/keep-2.csv", b"2\n"),
            ("keep.csv.bak", b"no\n"),
        ])
        .unwrap();
        // A regular expression matches anywhere in the path (.NET `Regex.IsMatch`).
        assert_eq!(
            unpack("x.zip", &z, Some(r"\.csv$")).unwrap(),
            [b"1\n", b"2\n"]
        );
        assert_eq!(unpack("x.zip", &z, Some("^sub/")).unwrap(), [b"2\n"]);
        // The docs' own `*.csv` is no regex: read as a glob over the whole path.
        assert_eq!(
            unpack("x.zip", &z, Some("*.csv")).unwrap(),
            [b"1\n", b"2\n"]
        );
        assert_eq!(unpack("x.zip", &z, Some("?otes.*")).unwrap(), [b"no\n"]);
        let f = unpack("x.zip", &z, Some("*.parquet")).unwrap_err();
        assert_eq!(f.error_code, "BadRequest_EmptyArchive");
        assert!(f.details.contains("none of the 4 file(s)"), "{}", f.details);
        assert!(f.details.contains("*.parquet"), "{}", f.details);
    }

    #[test]
    fn selector_glob_escapes_regex_characters() {
        let s = EntrySelector::new("*(1).csv").unwrap();
        assert!(s.matches("data(1).csv"));
        assert!(!s.matches("data1.csv"));
        assert!(EntrySelector::new("(").is_ok());
    }

    #[test]
    fn gz_names_and_limits() {
        // Only the last extension counts: a Parquet file's codec in its name is no gzip.
        assert_eq!(unpack("f.gz.parquet", b"PAR1", None).unwrap(), [b"PAR1"]);
        let corrupt = samples::zip(&[("a.csv", b"1\n")]).unwrap();
        let cut = &corrupt[..corrupt.len() - 10];
        assert_eq!(
            unpack("x.zip", cut, None).unwrap_err().error_code,
            "BadRequest_InvalidArchive"
        );
    }
}
