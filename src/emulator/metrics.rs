//! Counters of what the emulator served and did: every storage request per service, queue /
//! container / table and operation (the Azure REST operation names), mgmt requests, the DM's
//! ingestion results, and re-ingestions of a source already ingested (what duplicate
//! deliveries and re-posted messages cost). Faults keep their own injected counts
//! ([`crate::emulator::faults::Faults::injected`]); [`Metrics::samples`] joins both.
//!
//! Read through `.show emulator metrics` (a table) and `GET /metrics` (Prometheus text).

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;

use crate::client::mgmt::V1Table;

/// Who sent a request: a client, or the emulator's own DM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Origin {
    Client,
    Dm,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Client => "client",
            Origin::Dm => "dm",
        }
    }
}

/// One storage request's labels.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct StorageKey {
    /// `queue`, `blob` or `table`.
    pub service: &'static str,
    /// The queue, container or table name (`(invalid)` for names no Azure object can have,
    /// `(other)` beyond [`MAX_RESOURCES`] distinct ones: request paths are untrusted).
    pub resource: String,
    /// The Azure REST operation, e.g. `PutMessage`, `PutBlock`, `InsertEntity`.
    pub operation: &'static str,
    pub origin: Origin,
}

/// Distinct resource names counted before the rest is lumped together as `(other)`.
pub const MAX_RESOURCES: usize = 1000;

#[derive(Debug, Default)]
struct Inner {
    storage: BTreeMap<StorageKey, u64>,
    resources: HashSet<String>,
    mgmt: BTreeMap<(&'static str, Origin), u64>,
    commands: BTreeMap<(&'static str, Origin), u64>,
    /// Final or transient results of ingest attempts, by status.
    results: BTreeMap<&'static str, u64>,
    ingested_sources: HashSet<String>,
    rows_ingested: u64,
    repeat_ingestions: u64,
    repeat_rows: u64,
}

#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

/// A counter value with its labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    pub name: &'static str,
    pub labels: Vec<(&'static str, String)>,
    pub value: u64,
}

/// Help text of each metric, in output order.
const HELP: [(&str, &str); 9] = [
    (
        "kingest_emulator_faults_injected_total",
        "Faults injected, by SPEC name",
    ),
    (
        "kingest_emulator_storage_requests_total",
        "Storage requests, by service, resource, operation and origin",
    ),
    (
        "kingest_emulator_mgmt_requests_total",
        "Kusto mgmt/query requests, by endpoint and origin",
    ),
    (
        "kingest_emulator_mgmt_commands_total",
        "Mgmt commands by name (the ones DMs throttle by name, the rest as other) and origin",
    ),
    (
        "kingest_emulator_ingest_results_total",
        "Ingest attempts by result (Transient: retried; DuplicateInBatch: BlobAlreadyReceived)",
    ),
    (
        "kingest_emulator_rows_ingested_total",
        "Rows ingested, repeats included",
    ),
    (
        "kingest_emulator_sources_ingested_total",
        "Distinct sources ingested at least once",
    ),
    (
        "kingest_emulator_repeat_ingestions_total",
        "Ingestions of a source (IngestionSourceId) already ingested",
    ),
    (
        "kingest_emulator_repeat_rows_total",
        "Rows of those repeat ingestions",
    ),
];

/// Commands counted by name: the two a DM throttles and clients are told to cache (the
/// resources and the identity token, protocol.md §2.3); the text of any other is the client's
/// and is not a label.
const COUNTED_COMMANDS: [&str; 2] = [".get ingestion resources", ".get kusto identity token"];

/// The label of a normalised command (lower case, single spaces, no trailing `;`).
pub fn command_label(command: &str) -> &'static str {
    COUNTED_COMMANDS
        .into_iter()
        .find(|c| *c == command)
        .unwrap_or("other")
}

/// A resource name as counted: Azure names are short ASCII letters, digits and dashes.
fn resource_label(name: &str) -> String {
    let ok = (1..=63).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if ok {
        name.to_string()
    } else {
        "(invalid)".into()
    }
}

impl Metrics {
    pub fn new() -> Self {
        Metrics::default()
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn storage_request(
        &self,
        service: &'static str,
        resource: &str,
        operation: &'static str,
        origin: Origin,
    ) {
        let mut g = self.inner();
        let mut resource = resource_label(resource);
        if !g.resources.contains(&resource) {
            if g.resources.len() >= MAX_RESOURCES {
                resource = "(other)".into();
            } else {
                g.resources.insert(resource.clone());
            }
        }
        let key = StorageKey {
            service,
            resource,
            operation,
            origin,
        };
        *g.storage.entry(key).or_default() += 1;
    }

    pub fn mgmt_request(&self, endpoint: &'static str, origin: Origin) {
        *self.inner().mgmt.entry((endpoint, origin)).or_default() += 1;
    }

    /// One mgmt command, by [`command_label`] of its normalised text.
    pub fn mgmt_command(&self, command: &str, origin: Origin) {
        let label = command_label(command);
        *self.inner().commands.entry((label, origin)).or_default() += 1;
    }

    /// Commands counted under `label` (tests read these).
    pub fn command_count(&self, label: &str, origin: Origin) -> u64 {
        self.inner()
            .commands
            .iter()
            .filter(|((l, o), _)| *l == label && *o == origin)
            .map(|(_, v)| *v)
            .sum()
    }

    /// One ingest attempt's result (`Succeeded`, `Failed`, `Transient`, …).
    pub fn ingest_result(&self, result: &'static str) {
        *self.inner().results.entry(result).or_default() += 1;
    }

    /// Rows stored for a source; a source seen before counts as a repeat.
    pub fn ingested(&self, source_id: &str, rows: u64) {
        let mut g = self.inner();
        g.rows_ingested += rows;
        if !g.ingested_sources.insert(source_id.to_string()) {
            g.repeat_ingestions += 1;
            g.repeat_rows += rows;
        }
    }

    /// Requests counted for one storage key (tests and the soak read these).
    pub fn storage_count(
        &self,
        service: &str,
        resource: &str,
        operation: &str,
        origin: Origin,
    ) -> u64 {
        self.inner()
            .storage
            .iter()
            .filter(|(k, _)| {
                k.service == service
                    && k.resource == resource
                    && k.operation == operation
                    && k.origin == origin
            })
            .map(|(_, v)| *v)
            .sum()
    }

    /// Every counter, the injected faults included, in a stable order.
    pub fn samples(&self, injected: &BTreeMap<&'static str, u64>) -> Vec<Sample> {
        let g = self.inner();
        let mut out = Vec::new();
        let mut push = |name, labels: Vec<(&'static str, String)>, value| {
            out.push(Sample {
                name,
                labels,
                value,
            })
        };
        for (kind, n) in injected {
            push(HELP[0].0, vec![("kind", kind.to_string())], *n);
        }
        for (k, n) in &g.storage {
            push(
                HELP[1].0,
                vec![
                    ("service", k.service.to_string()),
                    ("resource", k.resource.clone()),
                    ("operation", k.operation.to_string()),
                    ("origin", k.origin.as_str().to_string()),
                ],
                *n,
            );
        }
        for ((endpoint, origin), n) in &g.mgmt {
            push(
                HELP[2].0,
                vec![
                    ("endpoint", endpoint.to_string()),
                    ("origin", origin.as_str().to_string()),
                ],
                *n,
            );
        }
        for ((command, origin), n) in &g.commands {
            push(
                HELP[3].0,
                vec![
                    ("command", command.to_string()),
                    ("origin", origin.as_str().to_string()),
                ],
                *n,
            );
        }
        for (result, n) in &g.results {
            push(HELP[4].0, vec![("result", result.to_string())], *n);
        }
        push(HELP[5].0, vec![], g.rows_ingested);
        push(HELP[6].0, vec![], g.ingested_sources.len() as u64);
        push(HELP[7].0, vec![], g.repeat_ingestions);
        push(HELP[8].0, vec![], g.repeat_rows);
        out
    }
}

fn labels_text(labels: &[(&'static str, String)]) -> String {
    labels
        .iter()
        .map(|(k, v)| {
            let v = v
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            format!("{k}=\"{v}\"")
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The Prometheus text exposition format (version 0.0.4).
pub fn prometheus_text(samples: &[Sample]) -> String {
    let mut out = String::new();
    for (name, help) in HELP {
        out.push_str(&format!("# HELP {name} {help}.\n# TYPE {name} counter\n"));
        for s in samples.iter().filter(|s| s.name == name) {
            if s.labels.is_empty() {
                out.push_str(&format!("{name} {}\n", s.value));
            } else {
                out.push_str(&format!(
                    "{name}{{{}}} {}\n",
                    labels_text(&s.labels),
                    s.value
                ));
            }
        }
    }
    out
}

/// `.show emulator metrics`: Metric, Labels (`k="v",…`), Value.
pub fn metrics_table(samples: &[Sample]) -> V1Table {
    let mut t = V1Table::new(
        "Table_0",
        &[
            ("Metric", "string"),
            ("Labels", "string"),
            ("Value", "long"),
        ],
    );
    t.rows = samples
        .iter()
        .map(|s| vec![s.name.into(), labels_text(&s.labels).into(), s.value.into()])
        .collect();
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_key_and_renders_both_ways() {
        let m = Metrics::new();
        m.storage_request("queue", "q-1", "PutMessage", Origin::Client);
        m.storage_request("queue", "q-1", "PutMessage", Origin::Client);
        m.storage_request("queue", "q-1", "GetMessages", Origin::Dm);
        m.storage_request("queue", "\u{1b}]0;x\u{7}", "PutMessage", Origin::Client);
        m.mgmt_request("mgmt", Origin::Client);
        m.mgmt_command(".get ingestion resources", Origin::Client);
        m.mgmt_command(".show tables", Origin::Client);
        m.mgmt_command("\u{1b}[2J", Origin::Dm);
        m.ingest_result("Succeeded");
        m.ingested("s1", 3);
        m.ingested("s2", 2);
        m.ingested("s1", 3);
        assert_eq!(
            m.storage_count("queue", "q-1", "PutMessage", Origin::Client),
            2
        );
        assert_eq!(
            m.storage_count("queue", "(invalid)", "PutMessage", Origin::Client),
            1
        );
        let injected = BTreeMap::from([("http5xx", 4u64)]);
        let text = prometheus_text(&m.samples(&injected));
        for line in [
            "kingest_emulator_faults_injected_total{kind=\"http5xx\"} 4",
            "kingest_emulator_storage_requests_total{service=\"queue\",resource=\"q-1\",operation=\"PutMessage\",origin=\"client\"} 2",
            "kingest_emulator_storage_requests_total{service=\"queue\",resource=\"q-1\",operation=\"GetMessages\",origin=\"dm\"} 1",
            "kingest_emulator_mgmt_requests_total{endpoint=\"mgmt\",origin=\"client\"} 1",
            "kingest_emulator_mgmt_commands_total{command=\".get ingestion resources\",origin=\"client\"} 1",
            "kingest_emulator_mgmt_commands_total{command=\"other\",origin=\"client\"} 1",
            "kingest_emulator_mgmt_commands_total{command=\"other\",origin=\"dm\"} 1",
            "kingest_emulator_ingest_results_total{result=\"Succeeded\"} 1",
            "kingest_emulator_rows_ingested_total 8",
            "kingest_emulator_sources_ingested_total 2",
            "kingest_emulator_repeat_ingestions_total 1",
            "kingest_emulator_repeat_rows_total 3",
            "# TYPE kingest_emulator_repeat_rows_total counter",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
        }
        assert!(!text.contains('\u{1b}'));
        let t = metrics_table(&m.samples(&injected));
        assert_eq!(t.rows[0][1], "kind=\"http5xx\"");
        assert_eq!(t.rows[0][2], 4);
    }

    #[test]
    fn distinct_resources_are_bounded() {
        let m = Metrics::new();
        for i in 0..MAX_RESOURCES + 5 {
            m.storage_request("blob", &format!("c{i}"), "GetBlob", Origin::Client);
        }
        assert_eq!(
            m.storage_count("blob", "(other)", "GetBlob", Origin::Client),
            5
        );
        assert_eq!(m.storage_count("blob", "c0", "GetBlob", Origin::Client), 1);
    }
}
