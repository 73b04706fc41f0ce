//! The submission journal: JSON lines in the state dir, so tracking survives a restart. Each
//! change appends a record; loading keeps the last record per source.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use crate::app::state::JournalRecord;

#[derive(Debug, Clone)]
pub struct Journal {
    path: PathBuf,
}

impl Journal {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Journal { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn append(&self, record: &JournalRecord) -> std::io::Result<()> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let mut line = serde_json::to_string(record).map_err(std::io::Error::other)?;
        line.push('\n');
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        f.write_all(line.as_bytes())?;
        f.flush()
    }

    /// The latest record of each source, oldest first. A missing file is an empty journal;
    /// unreadable lines (a torn last write) are skipped.
    pub fn load(&self) -> std::io::Result<Vec<JournalRecord>> {
        let f = match std::fs::File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
            Err(e) => return Err(e),
        };
        let mut order = Vec::new();
        let mut last: HashMap<String, JournalRecord> = HashMap::new();
        for line in BufReader::new(f).lines() {
            let line = line?;
            let Ok(rec) = serde_json::from_str::<JournalRecord>(&line) else {
                tracing::warn!("skipping an unreadable journal line");
                continue;
            };
            if !last.contains_key(&rec.source_id) {
                order.push(rec.source_id.clone());
            }
            last.insert(rec.source_id.clone(), rec);
        }
        Ok(order.into_iter().filter_map(|k| last.remove(&k)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::state::SubState;

    fn rec(id: &str, state: SubState) -> JournalRecord {
        JournalRecord {
            at: chrono::DateTime::from_timestamp(1_735_732_800, 0).unwrap(),
            source_id: id.into(),
            file: "/d/x.csv".into(),
            database: "db".into(),
            table: "T".into(),
            format: "csv".into(),
            size: 10,
            report_level: "FailuresAndSuccesses".into(),
            report_method: "Queue".into(),
            state,
            blob: None,
            message_id: None,
            error: None,
            status_location: None,
        }
    }

    #[test]
    fn last_record_per_source_wins_and_torn_lines_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::new(dir.path().join("sub/journal.jsonl"));
        assert!(j.load().unwrap().is_empty());
        j.append(&rec("a", SubState::Queued)).unwrap();
        j.append(&rec("b", SubState::Queued)).unwrap();
        j.append(&rec("a", SubState::Succeeded)).unwrap();
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(j.path())
            .unwrap();
        f.write_all(b"{\"torn\":").unwrap();
        let got = j.load().unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].source_id, "a");
        assert_eq!(got[0].state, SubState::Succeeded);
        assert_eq!(got[1].state, SubState::Queued);
    }
}
