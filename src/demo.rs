//! The demo's content: the embedded schema and sample files, the scenarios they produce, the
//! emulator configured for them, and the background traffic generator. `cli::cmd::demo` wires
//! them to the TUI or a narrated headless run.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

use crate::app::Msg;

use crate::cli::Failure;
use crate::client::wire::{DataFormat, ReportLevel, ReportMethod};
use crate::client::{ClientConfig, IngestClient, SubmitRequest};
use crate::emulator::{Emulator, EmulatorConfig};

/// The demo schema and files, embedded so the demo works from any directory.
pub const DEMO_SCHEMA: &str = include_str!("../assets/demo/schema.kql");
pub const DEMO_FILES: &[(&str, &[u8])] = &[
    ("events.csv", include_bytes!("../assets/demo/events.csv")),
    (
        "events-header.csv",
        include_bytes!("../assets/demo/events-header.csv"),
    ),
    ("events.tsv", include_bytes!("../assets/demo/events.tsv")),
    (
        "metrics.json",
        include_bytes!("../assets/demo/metrics.json"),
    ),
    (
        "metrics-multi.json",
        include_bytes!("../assets/demo/metrics-multi.json"),
    ),
    (
        "bad-wrong-fields.csv",
        include_bytes!("../assets/demo/bad-wrong-fields.csv"),
    ),
    (
        "bad-empty.csv",
        include_bytes!("../assets/demo/bad-empty.csv"),
    ),
    (
        "bad-unclosed-quote.csv",
        include_bytes!("../assets/demo/bad-unclosed-quote.csv"),
    ),
    (
        "bad-not-json.json",
        include_bytes!("../assets/demo/bad-not-json.json"),
    ),
];

/// One demo submission and the outcome it is meant to produce.
#[derive(Debug, Clone, Copy)]
pub struct Scenario {
    pub file: &'static str,
    pub database: &'static str,
    pub table: &'static str,
    pub format: Option<DataFormat>,
    pub mapping: Option<&'static str>,
    pub ignore_first_record: bool,
    pub expect: &'static str,
}

const fn scenario(file: &'static str, table: &'static str, expect: &'static str) -> Scenario {
    Scenario {
        file,
        database: "demo",
        table,
        format: None,
        mapping: None,
        ignore_first_record: false,
        expect,
    }
}

/// Good and bad alternate so a few seconds of demo traffic show both streams.
pub const SCENARIOS: &[Scenario] = &[
    scenario("events.csv", "Events", "Succeeded"),
    scenario(
        "bad-wrong-fields.csv",
        "Events",
        "Stream_WrongNumberOfFields",
    ),
    Scenario {
        mapping: Some("MetricsJson"),
        ..scenario("metrics.json", "Metrics", "Succeeded")
    },
    scenario("bad-empty.csv", "Events", "BadRequest_EmptyBlob"),
    Scenario {
        ignore_first_record: true,
        ..scenario("events-header.csv", "Events", "Succeeded")
    },
    scenario(
        "bad-unclosed-quote.csv",
        "Events",
        "Stream_ClosingQuoteMissing",
    ),
    scenario("events.tsv", "Events", "Succeeded"),
    Scenario {
        mapping: Some("MetricsJson"),
        ..scenario(
            "bad-not-json.json",
            "Metrics",
            "BadRequest_NoRecordsOrWrongFormat",
        )
    },
    Scenario {
        mapping: Some("MetricsJson"),
        format: Some(DataFormat::MultiJson),
        ..scenario("metrics-multi.json", "Metrics", "Succeeded")
    },
    scenario("events.csv", "NoSuchTable", "BadRequest_TableNotExist"),
    Scenario {
        database: "nosuchdb",
        ..scenario("events.csv", "Events", "BadRequest_DatabaseNotExist")
    },
    Scenario {
        mapping: Some("NoSuchMapping"),
        ..scenario(
            "metrics.json",
            "Metrics",
            "BadRequest_MappingReferenceWasNotFound",
        )
    },
];

impl Scenario {
    pub fn request(&self, dir: &Path) -> SubmitRequest {
        let mut req = SubmitRequest::new(dir.join(self.file), self.database, self.table);
        req.format = self.format;
        req.mapping_reference = self.mapping.map(str::to_string);
        req.ignore_first_record = self.ignore_first_record;
        req.report_level = ReportLevel::FailuresAndSuccesses;
        req.report_method = ReportMethod::QueueAndTable;
        req.tags = vec!["kingest-demo".into()];
        req
    }
}

/// Writes the embedded demo files into `dir` (created if needed).
pub fn write_demo_files(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for (name, bytes) in DEMO_FILES {
        std::fs::write(dir.join(name), bytes)?;
    }
    Ok(())
}

/// A client for a local emulator (no auth, short timeouts).
pub fn local_client(url: &str) -> Result<IngestClient, Failure> {
    Ok(IngestClient::new(ClientConfig {
        timeouts: crate::client::deadline::Timeouts::per_call(Duration::from_secs(30)),
        ..ClientConfig::unauthenticated(url)
    })?)
}

/// Sends demo scenarios round-robin every `every` to the TUI as `Msg::Submit`, until cancelled
/// or the TUI is gone: they enter the submissions list as a dialog submit does.
pub async fn traffic(
    tx: UnboundedSender<Msg>,
    dir: PathBuf,
    every: Duration,
    cancel: CancellationToken,
) {
    let mut i = 0usize;
    loop {
        let s = SCENARIOS[i % SCENARIOS.len()];
        i += 1;
        if tx.send(Msg::Submit(Box::new(s.request(&dir)))).is_err() {
            return;
        }
        // A good and a bad file at once, so both streams have data within seconds.
        if i == 1 {
            continue;
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}

/// The emulator with the demo schema: short batching and short-lived notifications, so the
/// demo's panes are live within seconds.
pub async fn start_emulator(listen: std::net::SocketAddr) -> Result<Emulator, Failure> {
    Emulator::start(EmulatorConfig {
        listen,
        schema: Some(DEMO_SCHEMA.to_string()),
        // The service's 5-minute batching would leave the demo's panes empty for minutes.
        batch_window: Some(Duration::from_secs(1)),
        // Short-lived notifications keep the demo's queues within one peek (32 messages).
        notification_ttl: Some(Duration::from_secs(60)),
        ..Default::default()
    })
    .await
    .map_err(|e| Failure::service(format!("cannot start the emulator: {e:#}")))
}
