//! A scripted HTTP/1.1 server on 127.0.0.1:0 for bad-input tests: each request gets the
//! [`Answer`] the test's handler chooses, including ones no real server library would give
//! (never answer, headers then silence, a body cut short, a reset). [`dm`] adds a fake Kusto DM
//! whose ingestion resources point back at the same server.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// Path and query as sent.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The `csl` of a mgmt request, if this is one.
    pub fn csl(&self) -> Option<String> {
        if !self.target.starts_with("/v1/rest/mgmt") {
            return None;
        }
        let v: serde_json::Value = serde_json::from_str(&self.body).ok()?;
        v["csl"].as_str().map(str::to_string)
    }
}

#[derive(Debug, Clone)]
pub enum Answer {
    Reply {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Read the request, then say nothing, ever.
    Stall,
    /// Status line and headers (announcing a body), then nothing.
    HeadersThenStall,
    /// Close the connection as soon as the request is read.
    Reset,
    /// Announce `claimed` bytes, send `body`, close.
    Truncated { body: Vec<u8>, claimed: usize },
    /// `answer` after `after`: a slow service, so that a client's requests overlap.
    Later {
        after: Duration,
        answer: Box<Answer>,
    },
}

impl Answer {
    pub fn status(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Answer {
        Answer::Reply {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.into(),
        }
    }

    pub fn json(status: u16, body: &serde_json::Value) -> Answer {
        Answer::status(status, "application/json", body.to_string())
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Answer {
        if let Answer::Reply { headers, .. } = &mut self {
            headers.push((name.into(), value.into()));
        }
        self
    }
}

pub type Handler = Arc<dyn Fn(&Request) -> Answer + Send + Sync>;

pub struct FakeServer {
    pub url: String,
    pub requests: Arc<Mutex<Vec<Request>>>,
    in_flight: Arc<InFlight>,
    task: tokio::task::JoinHandle<()>,
}

/// Requests read and not yet answered: now, and the most at any moment.
#[derive(Default)]
struct InFlight {
    now: AtomicUsize,
    peak: AtomicUsize,
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeServer {
    pub fn seen(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    /// The most requests this server was answering at once.
    pub fn peak_in_flight(&self) -> usize {
        self.in_flight.peak.load(Ordering::SeqCst)
    }
}

/// Starts a server answering every request with `handler`'s choice.
pub async fn start(handler: impl Fn(&Request) -> Answer + Send + Sync + 'static) -> FakeServer {
    start_with(Arc::new(handler)).await
}

pub async fn start_with(handler: Handler) -> FakeServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let requests = Arc::new(Mutex::new(Vec::new()));
    let in_flight = Arc::new(InFlight::default());
    let (log, counts) = (requests.clone(), in_flight.clone());
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((mut stream, _)) = listener.accept().await {
            let (handler, log, counts) = (handler.clone(), log.clone(), counts.clone());
            held.push(tokio::spawn(async move {
                while let Some(req) = read_request(&mut stream).await {
                    let now = counts.now.fetch_add(1, Ordering::SeqCst) + 1;
                    counts.peak.fetch_max(now, Ordering::SeqCst);
                    let chosen = resolve(&handler, &log, req).await;
                    // Done before the answer is written: once the client has read it, it may
                    // send its next request at once, and that must not count as overlapping.
                    // So an answer that stalls (`Stall`, `HeadersThenStall`) no longer counts:
                    // a test of the peak in flight delays in its handler instead.
                    counts.now.fetch_sub(1, Ordering::SeqCst);
                    if !answer(&mut stream, chosen).await {
                        return;
                    }
                }
            }));
        }
    });
    FakeServer {
        url,
        requests,
        in_flight,
        task,
    }
}

/// Logs one request and decides its answer, waiting out any [`Answer::Later`].
async fn resolve(handler: &Handler, log: &Mutex<Vec<Request>>, req: Request) -> Answer {
    log.lock().unwrap().push(req.clone());
    let mut chosen = handler(&req);
    while let Answer::Later { after, answer } = chosen {
        tokio::time::sleep(after).await;
        chosen = *answer;
    }
    chosen
}

/// Writes one answer; `false` when the connection is done.
async fn answer(stream: &mut TcpStream, chosen: Answer) -> bool {
    match chosen {
        Answer::Reply {
            status,
            headers,
            body,
        } => {
            let mut head = format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\n", body.len());
            for (k, v) in headers {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str("\r\n");
            stream.write_all(head.as_bytes()).await.is_ok() && stream.write_all(&body).await.is_ok()
        }
        Answer::Stall => std::future::pending().await,
        Answer::HeadersThenStall => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{";
            let _ = stream.write_all(head.as_bytes()).await;
            std::future::pending().await
        }
        Answer::Reset => {
            // Linger 0: the close is a TCP reset, not an orderly end.
            #[allow(deprecated)]
            let _ = stream.set_linger(Some(Duration::ZERO));
            false
        }
        Answer::Truncated { body, claimed } => {
            let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {claimed}\r\n\r\n");
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.write_all(&body).await;
            let _ = stream.shutdown().await;
            false
        }
        Answer::Later { .. } => false,
    }
}

async fn read_request(stream: &mut TcpStream) -> Option<Request> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_string();
    let target = first.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Request {
        method,
        target,
        headers,
        body: String::from_utf8_lossy(&body).to_string(),
    })
}

/// A v1 mgmt response with one table of string columns.
pub fn v1(columns: &[&str], rows: Vec<Vec<String>>) -> serde_json::Value {
    serde_json::json!({"Tables": [{
        "TableName": "Table_0",
        "Columns": columns.iter().map(|c| serde_json::json!({"ColumnName": c, "DataType": "String"})).collect::<Vec<_>>(),
        "Rows": rows,
    }]})
}

/// The resources of a fake DM at `base` with SAS signature `sig`.
pub fn resources(base: &str, sig: &str) -> serde_json::Value {
    let q = |name: &str| format!("{base}/acct/{name}?sv=2024-01-01&sp=rp&sig={sig}");
    let rows = vec![
        vec![
            "SecuredReadyForAggregationQueue".into(),
            format!("{base}/acct/readyforaggregation-secured?sv=2024-01-01&sp=a&sig={sig}"),
        ],
        vec![
            "TempStorage".into(),
            format!("{base}/acct/tempstorage?sv=2024-01-01&sr=c&sp=rwc&sig={sig}"),
        ],
        vec!["FailedIngestionsQueue".into(), q("failedingestions")],
        vec![
            "SuccessfulIngestionsQueue".into(),
            q("successfulingestions"),
        ],
    ];
    v1(&["ResourceTypeName", "StorageRoot"], rows)
}

/// Mgmt answers of a healthy DM at `base` (resources signed `sig`, an identity token), or
/// `None` for any other request.
pub fn dm_mgmt(req: &Request, base: &str, sig: &str) -> Option<Answer> {
    let csl = req.csl()?;
    Some(if csl.starts_with(".get ingestion resources") {
        Answer::json(200, &resources(base, sig))
    } else if csl.starts_with(".get kusto identity token") {
        Answer::json(
            200,
            &v1(&["AuthorizationContext"], vec![vec!["TOKEN-xyz".into()]]),
        )
    } else {
        Answer::json(200, &v1(&["Value"], vec![]))
    })
}

/// An empty Peek Messages answer.
pub fn empty_queue() -> Answer {
    Answer::status(
        200,
        "application/xml",
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><QueueMessagesList></QueueMessagesList>",
    )
}

/// A fake DM: mgmt answered as a healthy DM whose storage is this same server, storage
/// requests by `storage` (given the request and the server's base URL).
pub async fn dm(storage: impl Fn(&Request, &str) -> Answer + Send + Sync + 'static) -> FakeServer {
    let base = Arc::new(Mutex::new(String::new()));
    let b = base.clone();
    let server = start(move |req| {
        let base = b.lock().unwrap().clone();
        dm_mgmt(req, &base, "SIG1").unwrap_or_else(|| storage(req, &base))
    })
    .await;
    *base.lock().unwrap() = server.url.clone();
    server
}
