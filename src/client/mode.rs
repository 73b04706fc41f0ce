//! How a source reaches the service: the one list of ingestion paths every front door offers
//! (CLI `--mode`, the TUI's submit dialog, the journal) and the submissions model shows.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An ingestion path (protocol.md §4, §9; DOCS `kusto/ingestion-overview.md`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IngestMode {
    /// Upload to a temp blob, post a message to an ingestion queue (the DM batches it).
    #[default]
    Queued,
    /// One POST to the engine's `/v1/rest/ingest/{db}/{table}`: small data, rows at once.
    Streaming,
    /// Streaming when small enough, queued on size or transient errors (the SDKs' managed
    /// streaming clients).
    Managed,
    /// `.ingest into table … (h'blob')` on the engine: synchronous, for exploration.
    Direct,
    /// The DM's REST queued API (`/v1/rest/ingestion/queued/{db}/{table}`): no storage queues.
    RestQueued,
}

impl IngestMode {
    pub const ALL: [IngestMode; 5] = [
        IngestMode::Queued,
        IngestMode::Streaming,
        IngestMode::Managed,
        IngestMode::Direct,
        IngestMode::RestQueued,
    ];

    /// The name on the command line, in the journal and in the submissions pane.
    pub fn as_str(self) -> &'static str {
        match self {
            IngestMode::Queued => "queued",
            IngestMode::Streaming => "streaming",
            IngestMode::Managed => "managed",
            IngestMode::Direct => "direct",
            IngestMode::RestQueued => "rest-queued",
        }
    }

    /// The next mode, for a selector that cycles.
    pub fn next(self) -> IngestMode {
        let i = Self::ALL.iter().position(|m| *m == self).unwrap_or(0);
        Self::ALL[(i + 1) % Self::ALL.len()]
    }
}

impl fmt::Display for IngestMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for IngestMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|m| m.as_str()).collect();
                format!("unknown mode '{s}' (one of {})", names.join(", "))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mode_parses_back_from_its_name_and_the_cycle_visits_all() {
        let mut m = IngestMode::Queued;
        for _ in 0..IngestMode::ALL.len() {
            assert_eq!(m.as_str().parse::<IngestMode>(), Ok(m));
            assert_eq!(m.as_str().to_uppercase().parse::<IngestMode>(), Ok(m));
            m = m.next();
        }
        assert_eq!(m, IngestMode::Queued);
        assert!("bulk".parse::<IngestMode>().is_err());
        for m in IngestMode::ALL {
            assert_eq!(serde_json::to_value(m).unwrap(), m.as_str());
        }
    }
}
