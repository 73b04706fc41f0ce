//! What `submit` prints about each source: one line (or JSON line) per message, a split
//! source's aggregate first; and `--list-only`.

use serde_json::Value;

use super::{Source, Unit};
use crate::cli::output::{
    delivery_json, delivery_lines, outln, print_json_line, safe, tracker_json, tracker_lines,
};
use crate::client::discover::Found;
use crate::client::wire::DataFormat;

/// One line (or JSON line) per source sent whole; for a split source, its aggregate, then
/// one per chunk.
pub(super) fn print_outcomes(
    sources: &[Source],
    units: &[Unit],
    (database, table): (&str, &str),
    json_out: bool,
    waited: bool,
) {
    for src in sources {
        let Some(state) = src.state(units) else {
            continue;
        };
        let split = src.units.len() > 1;
        let source_id = src.source_id.clone().unwrap_or_default();
        if split {
            if json_out {
                print_json_line(&serde_json::json!({
                    "source_id": source_id,
                    "file": src.file,
                    "database": database,
                    "table": table,
                    "status": state.label(),
                    "aggregate": true,
                    "chunks": src.units.len(),
                    "details": format!("kingest's aggregate over its chunks: {}", src.chunk_counts(units)),
                }));
            } else {
                outln!(
                    "{} (kingest's aggregate over {} chunks: {})  {}  source {}",
                    state.label(),
                    src.units.len(),
                    src.chunk_counts(units),
                    safe(&src.file),
                    safe(&source_id)
                );
            }
        }
        for u in src.units.iter().filter_map(|&i| units.get(i)) {
            let s = &u.submitted;
            if json_out {
                let mut m = tracker_json(&u.tracker);
                m.insert("file".into(), u.file.clone().into());
                m.insert("database".into(), database.into());
                m.insert("table".into(), table.into());
                delivery_json(s, &mut m);
                m.insert("format".into(), s.format.wire_name().into());
                m.insert("raw_data_size".into(), s.raw_data_size.into());
                m.insert("uploaded_bytes".into(), s.uploaded_bytes.into());
                if let Some(c) = s.chunk {
                    m.insert("chunk".into(), serde_json::json!(c));
                }
                print_json_line(&Value::Object(m));
                continue;
            }
            match s.chunk {
                Some(c) => outln!(
                    "    chunk {}/{}  {}  {} bytes  id {}",
                    c.index,
                    c.count,
                    u.tracker.state.label(),
                    s.raw_data_size,
                    safe(&u.tracker.source_id)
                ),
                None => outln!(
                    "{}  {}  source {}",
                    u.tracker.state.label(),
                    safe(&u.file),
                    safe(&u.tracker.source_id)
                ),
            }
            let indent = if split { "        " } else { "    " };
            for line in delivery_lines(s) {
                outln!("{indent}{line}");
            }
            // The engine's answer is final at once: its details need no --wait.
            if waited || s.answer.is_some() {
                for line in tracker_lines(&u.tracker) {
                    outln!("{indent}{line}");
                }
            }
        }
    }
}

/// `--list-only`: each source with its size (and the chunks a big text file would make).
pub(super) fn list_only(
    found: &[Found],
    format: Option<DataFormat>,
    chunk_size: u64,
    json_out: bool,
) {
    let mut total = 0u64;
    for f in found {
        let name = if f.stdin {
            "- (standard input)".to_string()
        } else {
            f.path.display().to_string()
        };
        let fmt = format.or_else(|| DataFormat::from_path(&f.path.to_string_lossy()));
        let splits = fmt
            .and_then(crate::client::submit::chunk::Records::of)
            .is_some()
            && !f
                .path
                .to_string_lossy()
                .to_ascii_lowercase()
                .ends_with(".gz")
            && !f
                .path
                .to_string_lossy()
                .to_ascii_lowercase()
                .ends_with(".zip");
        let chunks = f
            .size
            .filter(|&n| splits && n > chunk_size)
            .map(|n| n.div_ceil(chunk_size));
        total += f.size.unwrap_or(0);
        if json_out {
            print_json_line(&serde_json::json!({
                "file": name,
                "size": f.size,
                "format": fmt.map(|f| f.wire_name()),
                "chunks_about": chunks,
            }));
        } else {
            let size = f.size.map_or("?".to_string(), |n| n.to_string());
            let note = chunks
                .map(|n| format!("  (about {n} chunks)"))
                .unwrap_or_default();
            outln!("{size:>14}  {}{note}", safe(&name));
        }
    }
    if !json_out {
        outln!("{} source(s), {total} bytes", found.len());
    }
}
