//! Shared test helpers: an emulator on 127.0.0.1:0 with the demo schema, a client for it, and
//! the demo files in a temporary directory.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use kingest::client::retry::RetryPolicy;
use kingest::client::wire::IngestionStatus;
use kingest::client::{AuthMethod, ClientConfig, IngestClient, SubmitRequest, Submitted};
use kingest::emulator::{Emulator, EmulatorConfig};

pub struct Env {
    pub emulator: Emulator,
    pub client: IngestClient,
    pub dir: tempfile::TempDir,
}

impl Env {
    pub async fn start() -> Env {
        Self::start_with(EmulatorConfig::default()).await
    }

    pub async fn start_with(mut cfg: EmulatorConfig) -> Env {
        cfg.listen = "127.0.0.1:0".parse().unwrap();
        if cfg.schema.is_none() {
            cfg.schema = Some(kingest::demo::DEMO_SCHEMA.to_string());
        }
        cfg.batch_window = Duration::from_millis(300);
        cfg.poll_interval = Duration::from_millis(50);
        let emulator = Emulator::start(cfg).await.expect("emulator starts");
        let client = client_for(emulator.url(), AuthMethod::None);
        let dir = tempfile::tempdir().unwrap();
        kingest::demo::write_demo_files(dir.path()).unwrap();
        Env { emulator, client, dir }
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub async fn submit(&self, req: SubmitRequest) -> Submitted {
        self.client.submit(req, std::sync::Arc::new(|_| {})).await.expect("submit")
    }

    /// Polls the status entity until it is final (at most 30 s).
    pub async fn final_status(&self, s: &Submitted) -> kingest::client::wire::StatusEntity {
        let (table, pk, rk) = s.status_entity.clone().expect("table reporting");
        for _ in 0..300 {
            if let Some(e) = self.client.table_status(&table, &pk, &rk).await.unwrap()
                && e.status.is_some_and(|st| st != IngestionStatus::Pending)
            {
                return e;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("source {} never left Pending", s.source_id);
    }

    /// TotalRowCount of `demo.table` from `.show tables details`.
    pub async fn row_count(&self, table: &str) -> u64 {
        let t = self.client.mgmt("demo", ".show tables details").await.unwrap().remove(0);
        let name = t.column_index("TableName").unwrap();
        let count = t.column_index("TotalRowCount").unwrap();
        t.rows
            .iter()
            .find(|r| r[name] == table)
            .and_then(|r| r[count].as_u64())
            .unwrap_or_else(|| panic!("{table} not in .show tables details: {t:?}"))
    }
}

pub fn client_for(url: &str, auth: AuthMethod) -> IngestClient {
    IngestClient::new(ClientConfig {
        ingest_url: url.to_string(),
        auth,
        timeout: Duration::from_secs(20),
        retry: RetryPolicy { max_attempts: 2, base_delay: Duration::from_millis(50), max_delay: Duration::from_millis(200) },
    })
    .unwrap()
}

/// A peer's location from the environment, or a SKIP line (a failure when CI demands peers).
pub fn peer(var: &str, what: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            if std::env::var("KINGEST_REQUIRE_PEERS").is_ok_and(|v| v == "1") {
                panic!("{what}: {var} is not set but KINGEST_REQUIRE_PEERS=1");
            }
            println!("SKIP {what}: {var} not set");
            None
        }
    }
}
