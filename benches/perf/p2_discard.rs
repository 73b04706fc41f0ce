//! P2: archive + discard failure notifications (10,000 of ~1 KB; 300 in the quick form) on a
//! separate `kingest emulator`, with its built-in storage and backed by Azurite. Each drain
//! starts from a queue filled the same way (Put Message with kingest's storage client):
//!
//! - ours: `kingest failures discard --all --yes --archive FILE` through the binary; the
//!   archive must then hold every message (deduplicated by MessageId) and the queue be empty;
//! - (a) the official Python SDK: `KustoIngestStatusQueues(client).failure.pop(31)` until
//!   every message is gone. Each call leaves the 32nd message of its page hidden for 30 s, and
//!   its users wait for them. Quick form: 31 messages (nothing stranded, so no 30 s wait).
//!   On Azurite, where every request scans the whole queue (its LokiJS store), the loop would
//!   take many minutes: it is stopped after [`SDK_BOUND_SECS`] and its rate so far is the
//!   baseline (the figure says so; the stranded-message waits at the end are then not in it,
//!   which only flatters the SDK);
//! - (b) the server's limit: receive 32 + delete with no archive, the same concurrency as
//!   ours, written here with kingest's storage client.

use std::collections::HashSet;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use kingest::client::notifications::DEFAULT_DISCARD_CONCURRENCY;
use kingest::client::storage::{SasUrl, Storage};
use kingest::client::wire::Notification;
use kingest::client::{ClientConfig, IngestClient, ResourceKind};
use kingest::emulator::sas::{AccountKey, SasResource, ServiceSas};
use tokio::sync::Semaphore;

use crate::procs::{self, EmulatorProcess};
use crate::report::{Figure, Opts};

const CASE: &str = "P2";
/// Azure's most messages per Get Messages.
const PER_CALL: u32 = 32;

/// Where the SDK loop is stopped on Azurite (full form), seconds.
const SDK_BOUND_SECS: u64 = 120;

/// The SDK loop, run by `KINGEST_PYTHON`: pops until it has popped `expected` messages,
/// polling while the stranded ones are still hidden, or until `bound` seconds have passed
/// (0: no bound). Prints `{"popped": n}`.
const SDK_LOOP: &str = r#"
import json, sys, time
from azure.kusto.data import KustoConnectionStringBuilder
from azure.kusto.ingest import QueuedIngestClient
from azure.kusto.ingest.status import KustoIngestStatusQueues

url, expected, bound = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
stop = time.monotonic() + bound if bound > 0 else float("inf")
client = QueuedIngestClient(KustoConnectionStringBuilder.with_no_authentication(url), auto_correct_endpoint=False)
failures = KustoIngestStatusQueues(client).failure
popped = 0
while popped < expected and time.monotonic() < stop:
    got = failures.pop(31)
    popped += len(got)
    if not got:
        time.sleep(0.05)
print(json.dumps({"popped": popped}))
"#;

/// A storage back end: its emulator and the account key that signs its queues.
struct Backend {
    name: &'static str,
    emulator: EmulatorProcess,
    account: String,
    key: String,
    /// Built-in storage is where the targets apply; on Azurite they are reported only.
    targets: bool,
    /// Stop the SDK loop after this long (None: until every message is gone).
    sdk_bound: Option<Duration>,
}

pub fn run(opts: &Opts) -> Vec<Figure> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut figures = Vec::new();
    let builtin = Backend {
        name: "built-in storage",
        emulator: EmulatorProcess::start(&dir.path().join("builtin"), &[]),
        account: kingest::emulator::DEFAULT_ACCOUNT.into(),
        key: kingest::emulator::DEFAULT_KEY.into(),
        targets: true,
        sdk_bound: None,
    };
    figures.extend(rt.block_on(measure(opts, &builtin, dir.path())));
    drop(builtin);
    match std::env::var("KINGEST_AZURITE_BIN") {
        Ok(bin) if !bin.is_empty() => {
            let azurite = Azurite::start(&bin, &dir.path().join("azurite"));
            let backed = Backend {
                name: "Azurite",
                emulator: EmulatorProcess::start(
                    &dir.path().join("azurite-emu"),
                    &["--storage", &azurite.connection_string()],
                ),
                account: "devstoreaccount1".into(),
                key: kingest::emulator::connection::DEV_KEY.into(),
                targets: false,
                sdk_bound: (!opts.quick).then_some(Duration::from_secs(SDK_BOUND_SECS)),
            };
            figures.extend(rt.block_on(measure(opts, &backed, dir.path())));
        }
        _ => figures
            .push(Figure::new(CASE, "discard on Azurite").failed("KINGEST_AZURITE_BIN not set")),
    }
    figures
}

/// A drain's outcome: messages removed and the wall time.
struct Drain {
    n: usize,
    secs: f64,
}

impl Drain {
    fn rate(&self) -> f64 {
        self.n as f64 / self.secs.max(1e-9)
    }
    fn show(&self) -> String {
        format!(
            "{:.0} msg/s ({} in {:.2} s)",
            self.rate(),
            self.n,
            self.secs
        )
    }
}

async fn measure(opts: &Opts, b: &Backend, dir: &Path) -> Vec<Figure> {
    let n = opts.pick(10_000, 300);
    let sdk_n = opts.pick(n, 31);
    let workers = DEFAULT_DISCARD_CONCURRENCY;
    let what = |vs: &str| format!("discard --all {n} failures, {}, vs {vs}", b.name);
    let label_a = what("(a) SDK pop(31) loop");
    let label_b = what(&format!("(b) bare receive+delete ×{workers}"));
    let client = client(&b.emulator.url);
    let queue = match failure_queue(&client).await {
        Ok(q) => q,
        Err(e) => return vec![Figure::new(CASE, label_a).failed(e)],
    };
    let storage = client.storage().clone();
    let add = resign(&queue, "a", &b.account, &b.key);
    let home = dir.join(format!("home-{}", b.name.replace(' ', "-")));

    let ours = drain_ours(&storage, &queue, &add, &b.emulator.url, &home, n).await;
    let bare = match fill(&storage, &add, n).await {
        Ok(_) => drain_bare(&storage, &queue, workers).await,
        Err(e) => Err(e),
    };
    let sdk = drain_sdk(
        &storage,
        &queue,
        &add,
        &b.emulator.url,
        dir,
        sdk_n,
        b.sdk_bound,
    )
    .await;

    let ours = match ours {
        Ok(o) => o,
        Err(e) => {
            return vec![
                Figure::new(CASE, label_a).failed(e.clone()),
                Figure::new(CASE, label_b).failed(e),
            ];
        }
    };
    let compare = |label: String, base: Result<Drain, String>, target: f64, note: &str| {
        let f = Figure::new(CASE, label).ours(ours.show());
        match base {
            Ok(base) => {
                let ratio = ours.rate() / base.rate();
                let f = f.baseline(format!("{}{note}", base.show())).ratio(ratio);
                if b.targets {
                    f.target(format!("≥ {target}×"), ratio >= target, opts)
                } else {
                    f.target("reported", true, opts)
                }
            }
            Err(e) => f.failed(format!("baseline: {e}")),
        }
    };
    let sdk_note = match (&sdk, opts.quick) {
        (_, true) => " (quick: 31 msgs, none stranded)".to_string(),
        (Ok(d), false) if d.n < sdk_n => format!(
            " (stopped at {SDK_BOUND_SECS} s with {} left: rate so far)",
            sdk_n - d.n
        ),
        _ => String::new(),
    };
    vec![
        compare(label_a, sdk, 15.0, &sdk_note),
        compare(label_b, bare, 0.8, ""),
    ]
}

fn client(url: &str) -> IngestClient {
    IngestClient::new(ClientConfig {
        // Azurite at 10,000 messages answers some calls after more than the default 60 s
        // (every request scans the queue); the baselines must not fail on that.
        timeouts: kingest::client::deadline::Timeouts {
            storage: Duration::from_secs(300),
            ..Default::default()
        },
        ..ClientConfig::unauthenticated(url)
    })
    .unwrap()
}

async fn failure_queue(client: &IngestClient) -> Result<SasUrl, String> {
    let res = client.resources().await.map_err(|e| e.to_string())?;
    res.of_kind(ResourceKind::FailedIngestionsQueue)
        .next()
        .cloned()
        .ok_or_else(|| "the emulator offered no failure queue".into())
}

/// `queue` signed again with the account key for `perms` (the issued SAS cannot add).
fn resign(queue: &SasUrl, perms: &str, account: &str, key: &str) -> SasUrl {
    let now = chrono::Utc::now();
    let token = ServiceSas {
        account: account.into(),
        resource: SasResource::Queue {
            queue: queue.object_name(),
        },
        permissions: perms.into(),
        start: Some(now - chrono::TimeDelta::minutes(5)),
        expiry: now + chrono::TimeDelta::hours(2),
    }
    .token(&AccountKey::from_base64(key).unwrap());
    SasUrl::parse(&format!("{}?{token}", queue.without_query())).unwrap()
}

/// A failure notification of realistic size (~1 KB as the DM posts it: base64 JSON).
fn notification(i: usize) -> String {
    let source = uuid::Uuid::new_v4();
    Notification {
        operation_id: Some(uuid::Uuid::new_v4().to_string()),
        database: Some("Telemetry".into()),
        table: Some("DeviceEvents".into()),
        failed_on: Some("2026-11-30T08:15:42.1234567Z".into()),
        ingestion_source_id: Some(source.to_string()),
        ingestion_source_path: Some(format!(
            "https://kingestemu.blob.core.windows.net/tempstorage/{source}_events-{i:06}.csv.gz?sv=2024-05-04&se=2026-12-01T08%3A15%3A42Z&sr=b&sp=rw&sig=redacted"
        )),
        details: Some(format!(
            "Stream_WrongNumberOfFields: HResult: 0x80DA0008, source: (Row {i} has 7 fields, \
             while the schema of table 'DeviceEvents' has 9 columns: Timestamp:datetime, \
             Host:string, Metric:string, Value:real, Unit:string, Region:string, \
             Message:string, Tags:dynamic, Severity:int. Check the CSV's delimiter, quoting \
             and the ingestion mapping; the first bad line is {i} of blob events-{i:06}.csv.gz.)"
        )),
        error_code: Some("Stream_WrongNumberOfFields".into()),
        failure_status: Some("Permanent".into()),
        root_activity_id: Some(uuid::Uuid::new_v4().to_string()),
        originates_from_update_policy: Some(false),
        should_retry: Some(false),
        ..Default::default()
    }
    .to_queue_text()
}

/// Posts `n` notifications, 32 at a time; their message ids.
async fn fill(storage: &Storage, add: &SasUrl, n: usize) -> Result<HashSet<String>, String> {
    futures::stream::iter(0..n)
        .map(|i| async move {
            storage
                .put_message(add, &notification(i), None, None)
                .await
                .map(|m| m.message_id)
                .map_err(|e| format!("filling the queue: {e}"))
        })
        .buffer_unordered(32)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect()
}

async fn expect_empty(storage: &Storage, queue: &SasUrl, who: &str) -> Result<(), String> {
    match storage.approximate_message_count(queue).await {
        Ok(0) => Ok(()),
        Ok(left) => Err(format!("{who} left {left} message(s) in the queue")),
        Err(e) => Err(format!("reading the queue's count: {e}")),
    }
}

/// `kingest failures discard --all` through the binary; checks the archive and the queue.
async fn drain_ours(
    storage: &Storage,
    queue: &SasUrl,
    add: &SasUrl,
    url: &str,
    home: &Path,
    n: usize,
) -> Result<Drain, String> {
    let ids = fill(storage, add, n).await?;
    let archive = home.join("discarded-failures.jsonl");
    let mut cmd = procs::kingest(home, Some(url));
    cmd.args(["failures", "discard", "--all", "--yes", "--archive"])
        .arg(&archive)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    let (status, _, secs) = tokio::task::spawn_blocking(move || procs::run_measured(&mut cmd))
        .await
        .unwrap()
        .map_err(|e| format!("cannot run kingest: {e}"))?;
    if !status.success() {
        return Err(format!("kingest failures discard exited {status}"));
    }
    let contents = kingest::client::archive::read(&archive)
        .map_err(|e| format!("reading the archive: {e}"))?;
    let archived: HashSet<String> = contents
        .entries
        .iter()
        .map(|e| e.message_id.clone())
        .collect();
    if archived != ids || !contents.bad_lines.is_empty() {
        return Err(format!(
            "the archive holds {} of the {n} messages ({} bad lines)",
            archived.intersection(&ids).count(),
            contents.bad_lines.len()
        ));
    }
    expect_empty(storage, queue, "kingest").await?;
    Ok(Drain { n, secs })
}

/// Baseline (b): `workers` loops of receive 32 → delete them, no archive, never more than
/// `workers` requests in flight (as ours).
async fn drain_bare(storage: &Storage, queue: &SasUrl, workers: usize) -> Result<Drain, String> {
    let gate = &Semaphore::new(workers);
    let deleted = AtomicUsize::new(0);
    let exhausted = AtomicBool::new(false);
    let start = Instant::now();
    let worker = || async {
        while !exhausted.load(Ordering::Relaxed) {
            let batch = {
                let _permit = gate.acquire().await.unwrap();
                storage.get_messages(queue, PER_CALL, 30).await
            }
            .map_err(|e| format!("receive: {e}"))?;
            if batch.is_empty() {
                exhausted.store(true, Ordering::Relaxed);
                break;
            }
            let results: Vec<_> = futures::stream::iter(batch)
                .map(|m| async move {
                    let _permit = gate.acquire().await.unwrap();
                    let receipt = m.pop_receipt.unwrap_or_default();
                    storage.delete_message(queue, &m.message_id, &receipt).await
                })
                .buffer_unordered(PER_CALL as usize)
                .collect()
                .await;
            for r in results {
                r.map_err(|e| format!("delete: {e}"))?;
                deleted.fetch_add(1, Ordering::Relaxed);
            }
        }
        Ok::<(), String>(())
    };
    let results = futures::future::join_all((0..workers).map(|_| worker())).await;
    let secs = start.elapsed().as_secs_f64();
    results.into_iter().collect::<Result<Vec<()>, String>>()?;
    expect_empty(storage, queue, "the bare drain").await?;
    Ok(Drain {
        n: deleted.into_inner(),
        secs,
    })
}

/// Baseline (a): the Python SDK's pop loop, timed as a process (as ours is); stopped after
/// `bound` if given, with what it popped by then.
async fn drain_sdk(
    storage: &Storage,
    queue: &SasUrl,
    add: &SasUrl,
    url: &str,
    dir: &Path,
    n: usize,
    bound: Option<Duration>,
) -> Result<Drain, String> {
    let python = std::env::var("KINGEST_PYTHON")
        .ok()
        .filter(|p| !p.is_empty())
        .ok_or("KINGEST_PYTHON not set")?;
    fill(storage, add, n).await?;
    let script = dir.join("p2_sdk_pop.py");
    std::fs::write(&script, SDK_LOOP).map_err(|e| e.to_string())?;
    let mut cmd = Command::new(python);
    cmd.arg(&script)
        .arg(url)
        .arg(n.to_string())
        .arg(bound.map_or(0, |b| b.as_secs()).to_string());
    let out = tokio::task::spawn_blocking(move || {
        let start = Instant::now();
        cmd.stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .map(|o| (o, start.elapsed().as_secs_f64()))
    })
    .await
    .unwrap();
    let (out, secs) = out.map_err(|e| format!("cannot run the SDK loop: {e}"))?;
    let answer: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|_| "the SDK loop printed no JSON")?;
    let popped = answer["popped"].as_u64().unwrap_or(0) as usize;
    let complete = popped == n;
    if !out.status.success() || popped == 0 || (!complete && bound.is_none()) {
        return Err(format!("the SDK loop answered {answer} ({})", out.status));
    }
    if complete {
        expect_empty(storage, queue, "the SDK loop").await?;
    }
    Ok(Drain { n: popped, secs })
}

/// Azurite on three free loopback ports, killed when dropped.
struct Azurite {
    child: Child,
    ports: [u16; 3],
}

impl Azurite {
    fn start(bin: &str, dir: &Path) -> Azurite {
        std::fs::create_dir_all(dir).unwrap();
        // Hold the three listeners together so the ports differ, then hand them over.
        let held: Vec<TcpListener> = (0..3)
            .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
            .collect();
        let port = |i: usize| held[i].local_addr().unwrap().port();
        let ports = [port(0), port(1), port(2)];
        drop(held);
        let mut cmd = Command::new(bin);
        for (service, p) in ["blob", "queue", "table"].iter().zip(ports) {
            cmd.arg(format!("--{service}Host"))
                .arg("127.0.0.1")
                .arg(format!("--{service}Port"))
                .arg(p.to_string());
        }
        let child = cmd
            .args(["--inMemoryPersistence", "--skipApiVersionCheck", "--loose"])
            .args(["--disableTelemetry", "--silent"])
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("azurite starts");
        let mut az = Azurite { child, ports };
        let give_up = Instant::now() + Duration::from_secs(60);
        while !ports
            .iter()
            .all(|p| TcpStream::connect(("127.0.0.1", *p)).is_ok())
        {
            if let Ok(Some(status)) = az.child.try_wait() {
                panic!("azurite exited early: {status}");
            }
            assert!(Instant::now() < give_up, "azurite did not open its ports");
            std::thread::sleep(Duration::from_millis(50));
        }
        az
    }

    fn connection_string(&self) -> String {
        let [blob, queue, table] = self.ports;
        let at = |p: u16| format!("http://127.0.0.1:{p}/devstoreaccount1");
        format!(
            "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={};\
             BlobEndpoint={};QueueEndpoint={};TableEndpoint={};",
            kingest::emulator::connection::DEV_KEY,
            at(blob),
            at(queue),
            at(table)
        )
    }
}

impl Drop for Azurite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
