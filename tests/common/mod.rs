//! Shared test helpers: an emulator on 127.0.0.1:0 with the demo schema, a client for it, and
//! the demo files in a temporary directory.
#![allow(dead_code)]

pub mod fake;
pub mod tmux;
pub mod tui;

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
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

    /// With a 300 ms batching-time override unless `cfg` sets its own: the service's 5-minute
    /// batching would make every test wait.
    pub async fn start_with(mut cfg: EmulatorConfig) -> Env {
        cfg.batch_window.get_or_insert(Duration::from_millis(300));
        Self::start_exact(cfg).await
    }

    /// `cfg.batch_window` as given (`None`: the service's batching policies).
    pub async fn start_exact(mut cfg: EmulatorConfig) -> Env {
        cfg.listen = "127.0.0.1:0".parse().unwrap();
        if cfg.schema.is_none() {
            cfg.schema = Some(kingest::demo::DEMO_SCHEMA.to_string());
        }
        cfg.poll_interval = Duration::from_millis(50);
        let emulator = Emulator::start(cfg).await.expect("emulator starts");
        let client = client_for(emulator.url(), AuthMethod::None);
        let dir = tempfile::tempdir().unwrap();
        kingest::demo::write_demo_files(dir.path()).unwrap();
        Env {
            emulator,
            client,
            dir,
        }
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub async fn submit(&self, req: SubmitRequest) -> Submitted {
        self.client
            .submit(req, std::sync::Arc::new(|_| {}))
            .await
            .expect("submit")
    }

    /// Polls the status entity until it is final (at most 30 s).
    pub async fn final_status(&self, s: &Submitted) -> kingest::client::wire::StatusEntity {
        let at = s.status_ref().cloned().expect("table reporting");
        for _ in 0..300 {
            if let Some(e) = self.client.table_status(&at).await.unwrap()
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
        row_count(&self.client, table).await
    }
}

/// TotalRowCount of `demo.table` from `.show tables details`, asked of `client`'s emulator.
pub async fn row_count(client: &IngestClient, table: &str) -> u64 {
    let t = client
        .mgmt("demo", ".show tables details")
        .await
        .unwrap()
        .remove(0);
    let name = t.column_index("TableName").unwrap();
    let count = t.column_index("TotalRowCount").unwrap();
    t.rows
        .iter()
        .find(|r| r[name] == table)
        .and_then(|r| r[count].as_u64())
        .unwrap_or_else(|| panic!("{table} not in .show tables details: {t:?}"))
}

/// `url` (a queue or container the emulator issued) re-signed with the emulator's key for
/// `perms`: for test set-up and checks the issued SAS does not allow (add, list).
pub fn resign(
    url: &kingest::client::storage::SasUrl,
    perms: &str,
) -> kingest::client::storage::SasUrl {
    use kingest::emulator::sas::{AccountKey, SasResource, ServiceSas};
    let key = AccountKey::from_base64(kingest::emulator::DEFAULT_KEY).unwrap();
    let name = url.object_name();
    // Queue tokens carry no `sr`; container tokens `sr=c`.
    let resource = if url.query_param("sr").is_none() {
        SasResource::Queue { queue: name }
    } else {
        SasResource::Container { container: name }
    };
    let now = chrono::Utc::now();
    let token = ServiceSas {
        account: kingest::emulator::DEFAULT_ACCOUNT.into(),
        resource,
        permissions: perms.into(),
        start: Some(now - chrono::TimeDelta::minutes(5)),
        expiry: now + chrono::TimeDelta::hours(1),
    }
    .token(&key);
    kingest::client::storage::SasUrl::parse(&format!("{}?{token}", url.without_query())).unwrap()
}

pub fn client_for(url: &str, auth: AuthMethod) -> IngestClient {
    IngestClient::new(ClientConfig {
        auth,
        timeouts: kingest::client::deadline::Timeouts::per_call(Duration::from_secs(20)),
        retry: RetryPolicy::quick(2, Duration::from_millis(200)),
        ..ClientConfig::unauthenticated(url)
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

/// A running Azurite on three loopback ports; killed when dropped.
pub struct Azurite {
    child: Child,
    pub blob: u16,
    pub queue: u16,
    pub table: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Azurite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_ports() -> [u16; 3] {
    // Hold all three listeners at once so the ports differ, then release them for Azurite.
    let listeners: Vec<TcpListener> = (0..3)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    let ports: Vec<u16> = listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect();
    [ports[0], ports[1], ports[2]]
}

/// Starts Azurite from `KINGEST_AZURITE_BIN` on free loopback ports, or `None` after SKIP.
pub fn azurite() -> Option<Azurite> {
    let bin = peer("KINGEST_AZURITE_BIN", "azurite conformance")?;
    let dir = tempfile::tempdir().unwrap();
    let [blob, queue, table] = free_ports();
    let child = Command::new(&bin)
        .args(["--blobHost", "127.0.0.1", "--blobPort", &blob.to_string()])
        .args([
            "--queueHost",
            "127.0.0.1",
            "--queuePort",
            &queue.to_string(),
        ])
        .args([
            "--tableHost",
            "127.0.0.1",
            "--tablePort",
            &table.to_string(),
        ])
        .args([
            "--inMemoryPersistence",
            "--skipApiVersionCheck",
            "--loose",
            "--disableTelemetry",
            "--silent",
        ])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start azurite at {bin}: {e}"));
    let mut az = Azurite {
        child,
        blob,
        queue,
        table,
        _dir: dir,
    };
    // Bounded wait for all three listeners (not a timing assertion: only a give-up point).
    for _ in 0..600 {
        if let Ok(Some(status)) = az.child.try_wait() {
            panic!("azurite exited early: {status}");
        }
        if [blob, queue, table]
            .iter()
            .all(|p| TcpStream::connect(("127.0.0.1", *p)).is_ok())
        {
            return Some(az);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("azurite did not open its ports");
}

impl Azurite {
    /// A connection string for the development account on these ports.
    pub fn connection_string(&self) -> String {
        format!(
            "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={};BlobEndpoint=http://127.0.0.1:{}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:{}/devstoreaccount1;TableEndpoint=http://127.0.0.1:{}/devstoreaccount1;",
            kingest::emulator::connection::DEV_KEY,
            self.blob,
            self.queue,
            self.table
        )
    }
}

/// Runs the `kingest` binary against `env`'s emulator, off the async runtime so the emulator
/// keeps serving; HOME (and so the state dir and journal) is `env.dir/home`.
pub async fn kingest(env: &Env, args: &[&str]) -> std::process::Output {
    kingest_at(env.emulator.url(), &env.dir.path().join("home"), args).await
}

pub async fn kingest_at(url: &str, home: &std::path::Path, args: &[&str]) -> std::process::Output {
    use assert_cmd::cargo::CommandCargoExt;
    let (url, home) = (url.to_string(), home.to_path_buf());
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        std::process::Command::cargo_bin("kingest")
            .unwrap()
            .env("KINGEST_INGEST_URL", url)
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", &home)
            .env("XDG_DATA_HOME", home.join("data"))
            .env_remove("KINGEST_CONFIG")
            .env_remove("KINGEST_TOKEN")
            .args(&args)
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

pub fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

/// The `kingest` binary set up as [`kingest_at`] runs it, for a test that spawns (and kills) it.
pub fn kingest_command(url: &str, home: &std::path::Path) -> Command {
    use assert_cmd::cargo::CommandCargoExt;
    let mut cmd = Command::cargo_bin("kingest").unwrap();
    cmd.env("KINGEST_INGEST_URL", url)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env_remove("KINGEST_CONFIG")
        .env_remove("KINGEST_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

/// Lines in `path` so far (0 when it does not exist yet).
pub fn line_count(path: &std::path::Path) -> usize {
    std::fs::read(path)
        .map(|b| b.iter().filter(|&&c| c == b'\n').count())
        .unwrap_or(0)
}

/// `lines` Events rows with poorly compressible messages.
pub fn noise_events(lines: usize) -> Vec<u8> {
    use std::io::Write;
    let mut out = Vec::new();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in 0..lines {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        writeln!(
            out,
            "2025-03-01T09:00:00Z,Information,svc,m{x:016x}{:016x},{i}",
            x.rotate_left(7)
        )
        .unwrap();
    }
    out
}
