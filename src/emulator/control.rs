//! Emulator-only controls, from Rust ([`crate::emulator::Emulator`]) and as mgmt commands:
//!
//! * `.set emulator faults 'SPEC'` / `.show emulator faults` — see [`FaultConfig::parse`];
//! * `.show emulator metrics` — the counters of [`crate::emulator::metrics`] (also at
//!   `GET /metrics`);
//! * `.rotate emulator status table` / `.show emulator status tables`;
//! * `.emulate other clients notifications S [F]` — S success and F (default S) failure
//!   notifications of other clients (random source ids) into the shared notification queues,
//!   so a client has to find its own behind a backlog, as on a busy cluster.
//!
//! `.show emulator batching T` (the effective batching policy) is an engine command.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use serde_json::Value;

use crate::client::mgmt::V1Table;
use crate::client::storage::{SasUrl, Storage};
use crate::client::wire::{FailureStatus, Notification, format_timestamp};
use crate::emulator::faults::{FaultConfig, Faults};
use crate::emulator::metrics::{Metrics, Sample, metrics_table};
use crate::emulator::status_tables::StatusTables;

pub struct Control {
    pub faults: Arc<Faults>,
    pub metrics: Arc<Metrics>,
    pub status_tables: Arc<StatusTables>,
    pub(crate) storage: Storage,
    pub(crate) success_queue: SasUrl,
    pub(crate) failure_queue: SasUrl,
    pub(crate) notification_ttl: Option<Duration>,
}

/// A refused control command: OneApi code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlError {
    pub code: &'static str,
    pub message: String,
}

fn bad(message: impl Into<String>) -> ControlError {
    ControlError {
        code: "BadRequest_SyntaxError",
        message: message.into(),
    }
}

fn internal(e: anyhow::Error) -> ControlError {
    ControlError {
        code: "General_InternalServerError",
        message: format!("{e:#}"),
    }
}

fn one_column(column: &str, values: Vec<String>) -> V1Table {
    let mut t = V1Table::new("Table_0", &[(column, "string")]);
    t.rows = values.into_iter().map(|v| vec![Value::from(v)]).collect();
    t
}

/// Failure shapes other clients typically get (codes from dataexplorer-docs `error-codes.md`).
const FOREIGN_FAILURES: [(&str, FailureStatus, &str); 4] = [
    (
        "Stream_WrongNumberOfFields",
        FailureStatus::Permanent,
        "Stream_WrongNumberOfFields: the CSV has an inconsistent number of fields",
    ),
    (
        "Download_SourceNotFound",
        FailureStatus::Permanent,
        "the blob was not found",
    ),
    (
        "BadRequest_TableNotExist",
        FailureStatus::Permanent,
        "table 'Telemetry' does not exist",
    ),
    (
        "General_InternalServerError",
        FailureStatus::Transient,
        "internal error; a retry will be executed",
    ),
];
const FOREIGN_TARGETS: [(&str, &str); 3] =
    [("sales", "Orders"), ("ops", "Telemetry"), ("web", "Clicks")];

fn foreign(i: usize, failure: bool) -> Notification {
    let source = uuid::Uuid::new_v4().to_string();
    let (db, table) = FOREIGN_TARGETS[i % FOREIGN_TARGETS.len()];
    let stamp = format_timestamp(Utc::now());
    let mut n = Notification {
        operation_id: Some(uuid::Uuid::new_v4().to_string()),
        database: Some(db.into()),
        table: Some(table.into()),
        ingestion_source_id: Some(source.clone()),
        ingestion_source_path: Some(format!(
            "https://otherclient{}.blob.core.windows.net/uploads/{source}.csv.gz",
            i % 3
        )),
        root_activity_id: Some(uuid::Uuid::new_v4().to_string()),
        ..Notification::default()
    };
    if failure {
        let (code, status, details) = FOREIGN_FAILURES[i % FOREIGN_FAILURES.len()];
        n.failed_on = Some(stamp);
        n.error_code = Some(code.into());
        n.failure_status = Some(status.to_string());
        n.details = Some(details.into());
        n.originates_from_update_policy = Some(false);
        n.should_retry = Some(status == FailureStatus::Transient);
    } else {
        n.succeeded_on = Some(stamp);
    }
    n
}

impl Control {
    /// Every counter, what the faults injected included.
    pub fn metric_samples(&self) -> Vec<Sample> {
        self.metrics.samples(&self.faults.injected())
    }

    /// Posts `successes` + `failures` notifications of other clients (random source ids,
    /// other databases), interleaved, into the notification queues.
    pub async fn inject_foreign_notifications(
        &self,
        successes: usize,
        failures: usize,
    ) -> anyhow::Result<()> {
        let ttl = self.notification_ttl.map(|d| d.as_secs().max(1) as i64);
        for i in 0..successes.max(failures) {
            for (failure, wanted, queue) in [
                (false, successes, &self.success_queue),
                (true, failures, &self.failure_queue),
            ] {
                if i < wanted {
                    let n = foreign(i, failure);
                    self.storage
                        .put_message(queue, &n.to_queue_text(), None, ttl)
                        .await
                        .map_err(|e| anyhow::anyhow!("posting a foreign notification: {e}"))?;
                }
            }
        }
        Ok(())
    }

    /// Runs `csl` if it is an emulator control command (`None` otherwise).
    pub async fn execute(&self, csl: &str) -> Option<Result<V1Table, ControlError>> {
        let words: Vec<&str> = csl.split_whitespace().collect();
        let lower: Vec<String> = words.iter().map(|w| w.to_ascii_lowercase()).collect();
        let lower: Vec<&str> = lower.iter().map(String::as_str).collect();
        let now = Utc::now();
        let result = match lower.as_slice() {
            [".set", "emulator", "faults", ..] => {
                let spec = csl
                    .split_once(['\'', '"'])
                    .and_then(|(_, rest)| rest.rsplit_once(['\'', '"']))
                    .map(|(s, _)| s);
                match spec {
                    None => Err(bad(".set emulator faults 'SPEC': the SPEC must be quoted")),
                    Some(spec) => match FaultConfig::parse(spec) {
                        Ok(c) => {
                            self.faults.set(c);
                            Ok(one_column("Faults", vec![self.faults.config().to_spec()]))
                        }
                        Err(e) => Err(ControlError {
                            code: "General_BadRequest",
                            message: e.to_string(),
                        }),
                    },
                }
            }
            [".show", "emulator", "faults"] => {
                Ok(one_column("Faults", vec![self.faults.config().to_spec()]))
            }
            [".show", "emulator", "metrics"] => Ok(metrics_table(&self.metric_samples())),
            [".rotate", "emulator", "status", "table"] => self
                .status_tables
                .rotate(now)
                .await
                .map(|n| one_column("TableName", vec![n]))
                .map_err(internal),
            [".show", "emulator", "status", "tables"] => {
                Ok(one_column("TableName", self.status_tables.names().await))
            }
            [".emulate", "other", "clients", "notifications", rest @ ..] => {
                let nums: Option<Vec<usize>> = rest.iter().map(|n| n.parse().ok()).collect();
                match nums.as_deref() {
                    Some([s]) => self.emulate(*s, *s).await,
                    Some([s, f]) => self.emulate(*s, *f).await,
                    _ => Err(bad(
                        ".emulate other clients notifications SUCCESSES [FAILURES]: whole numbers",
                    )),
                }
            }
            _ => return None,
        };
        Some(result)
    }

    async fn emulate(&self, successes: usize, failures: usize) -> Result<V1Table, ControlError> {
        const MAX: usize = 10_000;
        if successes > MAX || failures > MAX {
            return Err(bad(format!("at most {MAX} notifications of each kind")));
        }
        self.inject_foreign_notifications(successes, failures)
            .await
            .map_err(internal)?;
        let mut t = V1Table::new("Table_0", &[("Successes", "long"), ("Failures", "long")]);
        t.rows.push(vec![successes.into(), failures.into()]);
        Ok(t)
    }
}
