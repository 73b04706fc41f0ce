//! Fixed states for snapshot and unit tests (no clock, no randomness).

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::app::state::{
    NotificationRow, Phase, ResourceEntry, Settings, State, SubState, SubmissionRow, TableRead,
};
use crate::client::ResourceKind;
use crate::client::storage::SasUrl;
use crate::client::tracking::{ErrorInfo, StatusRef, TrackState, Tracker};
use crate::client::wire::{NotificationKind, ReportLevel, ReportMethod, decode_notification};

/// 2025-01-01T12:00:00Z.
pub fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_735_732_800, 0).unwrap_or_default()
}

pub fn at(secs: i64) -> DateTime<Utc> {
    t0() + chrono::Duration::seconds(secs)
}

pub fn failure(msg_id: &str, source_id: &str, code: &str, secs: i64) -> NotificationRow {
    failure_with(msg_id, source_id, code, "Permanent", secs)
}

pub fn failure_with(
    msg_id: &str,
    source_id: &str,
    code: &str,
    failure_status: &str,
    secs: i64,
) -> NotificationRow {
    let text = json!({
        "OperationId": "op-1", "Database": "db", "Table": "Logs",
        "FailedOn": crate::client::wire::format_timestamp(at(secs)),
        "IngestionSourceId": source_id,
        "IngestionSourcePath": format!("https://acct.blob.core.windows.net/tmp/db__Logs__{source_id}__data.csv.gz?sv=1&sig=SECRET"),
        "Details": "Stream with id 'data.csv' has a malformed CSV format\u{1b}[31m",
        "ErrorCode": code, "FailureStatus": failure_status,
        "OriginatesFromUpdatePolicy": false, "ShouldRetry": false
    })
    .to_string();
    row(NotificationKind::Failure, msg_id, &text, secs)
}

pub fn success(msg_id: &str, source_id: &str, secs: i64) -> NotificationRow {
    let text = json!({
        "OperationId": "op-2", "Database": "db", "Table": "Logs",
        "SucceededOn": crate::client::wire::format_timestamp(at(secs)),
        "IngestionSourceId": source_id,
        "IngestionSourcePath": format!("https://acct.blob.core.windows.net/tmp/{source_id}.csv.gz"),
    })
    .to_string();
    row(NotificationKind::Success, msg_id, &text, secs)
}

fn row(kind: NotificationKind, msg_id: &str, text: &str, secs: i64) -> NotificationRow {
    NotificationRow {
        kind,
        message_id: msg_id.to_string(),
        queue: format!("acct/{}", kind.as_str()),
        dequeue_count: 0,
        insertion_time: Some(at(secs)),
        decoded: decode_notification(text),
        seen_at: at(secs),
    }
}

/// A submission in `state`; posted ones get a queue-tracked tracker in that state.
pub fn submission(id: u64, file: &str, state: SubState) -> SubmissionRow {
    let track = match state {
        SubState::Uploading => None,
        SubState::Track(t) => Some(t),
    };
    let phase = match track {
        None => Phase::Uploading,
        Some(t) => {
            let mut tracker = Tracker::posted(format!("source-{id}"), None, true, at(-120));
            tracker.state = t;
            Phase::Posted {
                tracker: Box::new(tracker),
                table_read: TableRead::Off,
            }
        }
    };
    SubmissionRow {
        format: "csv".into(),
        phase,
        total: 4 * 1024 * 1024,
        ..SubmissionRow::new(
            id,
            file.to_string(),
            "db".into(),
            "Logs".into(),
            ReportLevel::FailuresAndSuccesses,
            ReportMethod::Queue,
            at(-120),
        )
    }
}

/// A busy screen: resources, five submissions (one split into three chunks), three failures,
/// two successes.
pub fn sample_state() -> State {
    let mut s = State::new(
        Settings {
            cluster: "http://127.0.0.1:8080".into(),
            color: false,
            ..Settings::default()
        },
        t0(),
    );
    // The SAS the DM hands out: add-only ingestion queues, read+process notification
    // queues; one expires soon and one has expired, as a long session sees them.
    s.resources.entries = vec![
        entry(
            ResourceKind::SecuredReadyForAggregationQueue,
            "readyforaggregation-secured",
            Some(3),
            ("a", 6 * 3600),
        ),
        entry(
            ResourceKind::TempStorage,
            "tempstorage",
            None,
            ("rw", 6 * 3600),
        ),
        entry(
            ResourceKind::SuccessfulIngestionsQueue,
            "successfulingestions",
            Some(2),
            ("rp", 5 * 60),
        ),
        entry(
            ResourceKind::FailedIngestionsQueue,
            "failedingestions",
            Some(3),
            ("rp", 2 * 3600),
        ),
        entry(
            ResourceKind::IngestionsStatusTable,
            "ingestionsstatus",
            None,
            ("rau", -60),
        ),
    ];
    s.resources.fetched_at = Some(at(-300));
    s.resources.token_fetched_at = Some(at(-300));
    s.resources.depths_at = Some(at(-10));

    let mut up = submission(4, "/data/big.csv", SubState::Uploading);
    up.read = 1024 * 1024;
    up.started_at = at(-2);
    up.updated_at = at(0);
    let mut queued = submission(3, "/data/q.json", SubState::Track(TrackState::Pending));
    queued.format = "json".into();
    queued.source_id = Some("33333333-0000-4000-8000-000000000003".into());
    queued.report_method = ReportMethod::Table;
    if let Phase::Posted { tracker, .. } = &mut queued.phase {
        let key = "33333333-0000-4000-8000-000000000003".to_string();
        tracker.source_id = key.clone();
        tracker.by_queue = false;
        tracker.status_ref = SasUrl::parse(
            "http://127.0.0.1:8080/devstoreaccount1/ingestionsstatus20250101?se=2025-01-04T00:00:00Z&sp=rau&sig=SECRET",
        )
        .ok()
        .map(|u| StatusRef::new(u, key.clone(), key));
    }
    let mut failed = submission(2, "/data/bad.csv", SubState::Track(TrackState::Failed));
    failed.source_id = Some("22222222-0000-4000-8000-000000000002".into());
    failed.blob = Some("https://acct.blob.core.windows.net/tmp/db__Logs__2__bad.csv.gz".into());
    failed.message_id = Some("m-2".into());
    if let Phase::Posted { tracker, .. } = &mut failed.phase {
        tracker.error = ErrorInfo {
            code: Some("Stream_ClosingQuoteMissing".into()),
            failure_status: Some("Permanent".into()),
            details: Some("malformed CSV".into()),
        };
    }
    let mut ok = submission(1, "/data/good.csv", SubState::Track(TrackState::Succeeded));
    ok.source_id = Some("11111111-0000-4000-8000-000000000001".into());
    // A source split into three chunks (kingest's aggregate: PartiallySucceeded).
    let chunks: Vec<SubmissionRow> = [
        TrackState::Succeeded,
        TrackState::Succeeded,
        TrackState::Failed,
    ]
    .into_iter()
    .enumerate()
    .map(|(i, t)| {
        let mut c = submission(5 + i as u64, "/data/huge.csv", SubState::Track(t));
        c.total = 1 << 30;
        c.source_id = Some(format!("5555555{i}-0000-4000-8000-00000000000{i}"));
        c.blob = Some(format!(
            "https://acct.blob.core.windows.net/tmp/db__Logs__5__huge.chunk000{}.csv.gz",
            i + 1
        ));
        c.chunk = Some(crate::client::ChunkOf {
            source_id: uuid::Uuid::from_u128(0x55555555_0000_4000_8000_000000000005),
            index: i + 1,
            count: 3,
        });
        if let Phase::Posted { tracker, .. } = &mut c.phase
            && t == TrackState::Failed
        {
            tracker.error = ErrorInfo {
                code: Some("Stream_WrongNumberOfFields".into()),
                failure_status: Some("Permanent".into()),
                details: Some("a record has 3 fields, the table 5".into()),
            };
        }
        c
    })
    .collect();
    s.submissions = vec![up];
    s.submissions.extend(chunks);
    s.submissions.extend([queued, failed, ok]);
    s.next_submission_id = 8;
    s.submissions_list.selected = 2;

    for r in [
        failure(
            "f1",
            "aaaaaaaa-0000-4000-8000-00000000000a",
            "BadRequest_EmptyBlob",
            -60,
        ),
        failure(
            "f2",
            "22222222-0000-4000-8000-000000000002",
            "Stream_ClosingQuoteMissing",
            -30,
        ),
        failure(
            "f3",
            "bbbbbbbb-0000-4000-8000-00000000000b",
            "Download_SourceNotFound",
            -5,
        ),
    ] {
        s.failures.push(r);
        s.failures.arrivals.push_back(at(-5));
    }
    for r in [
        success("s1", "11111111-0000-4000-8000-000000000001", -40),
        success("s2", "cccccccc-0000-4000-8000-00000000000c", -20),
    ] {
        s.successes.push(r);
    }
    // The last peek returned these rows: none of them is history.
    for stream in [&mut s.failures, &mut s.successes] {
        let mut ids: Vec<String> = stream.rows().map(|r| r.message_id.clone()).collect();
        ids.sort();
        stream.peeked_ids = ids;
    }
    s.status = Some((
        "queued /data/q.json".into(),
        crate::app::state::Severity::Ok,
    ));
    s
}

/// A resource whose SAS grants `sp` and expires `expires_in` seconds after t0.
fn entry(
    kind: ResourceKind,
    object: &str,
    depth: Option<u64>,
    (sp, expires_in): (&str, i64),
) -> ResourceEntry {
    ResourceEntry {
        kind,
        account: "devstoreaccount1".into(),
        object: object.into(),
        depth: depth.map(crate::app::state::DepthView::Count),
        sas: Some(crate::client::storage::sas::SasGrant {
            permissions: Some(sp.into()),
            starts_at: None,
            expires_at: Some(at(expires_in)),
        }),
    }
}

/// The failure kinds the emulator reports, with Details of realistic length (the service's
/// run to a few hundred characters: what failed, where, and what to do).
const REALISTIC_FAILURES: [(&str, &str, &str); 6] = [
    (
        "Stream_WrongNumberOfFields",
        "Permanent",
        "Stream with id 'telemetry-{i}.csv' has a malformed CSV format, failing per \
         ValidationOptions policy: record {r} (line {r}) has 7 field(s) but table 'NodeMetrics' \
         has 9 columns (Timestamp, Host, Region, Metric, Value, Unit, Tags, Message, \
         IngestedBy); check the delimiter and quoting of the source, or ingest with a CSV \
         mapping that names each column's ordinal",
    ),
    (
        "Stream_ClosingQuoteMissing",
        "Permanent",
        "Stream with id 'telemetry-{i}.csv' has a malformed CSV format: record {r} (line {r}): \
         a quoted field opened on line {r} is never closed (missing closing quote); the rest of \
         the blob was read as one field, so no record after it was ingested. Escape quotes \
         inside quoted fields by doubling them",
    ),
    (
        "Download_SourceNotFound",
        "Permanent",
        "downloading https://kingestprod7.blob.core.windows.net/20250101-ingestdata-e5c334ee145d-0/\
         telemetry-{i}.csv.gz: the blob does not exist (404 BlobNotFound): it was deleted or its \
         container was cleaned up before the data management service read it; retention of \
         temporary storage is short, resubmit the source",
    ),
    (
        "Download_Forbidden",
        "Permanent",
        "downloading https://kingestprod7.blob.core.windows.net/20250101-ingestdata-e5c334ee145d-0/\
         telemetry-{i}.csv.gz: 403 AuthorizationPermissionMismatch: this request is not \
         authorized to perform this operation using this permission; the SAS expired or lacks \
         read permission, or a firewall rule blocks the service",
    ),
    (
        "General_RetryAttemptsExceeded",
        "Transient",
        "ingestion of source telemetry-{i}.csv.gz failed after 10 attempts over 3600 seconds: \
         the last attempt ended with 'Service unavailable: the cluster is under memory pressure \
         (ingestion capacity exhausted)'; the message stays in the queue for retry and will be \
         dropped when its time to live expires",
    ),
    (
        "General_InternalServerError",
        "Transient",
        "an unexpected error occurred while processing source telemetry-{i}.csv.gz \
         (RootActivityId 5b8a3c1e-0f2d-4b6e-9a7c-3d2e1f0a9b8c): Operation 'DataIngestPull' \
         failed on node KEngine000004; the service retries transient errors automatically",
    ),
];

const REALISTIC_TABLES: [&str; 5] = [
    "NodeMetrics",
    "AppTraces",
    "AuditEvents",
    "RequestLog",
    "DeviceTelemetry",
];

fn guid(i: usize, salt: u32) -> String {
    let h = (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ u64::from(salt);
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        (h >> 32) as u32,
        (h >> 16) as u16,
        h as u16 & 0xfff,
        (h >> 40) as u16 & 0xfff,
        h & 0xffff_ffff_ffff
    )
}

fn blob_path(table: &str, source: &str, i: usize) -> String {
    format!(
        "https://kingestprod7.blob.core.windows.net/20250101-ingestdata-e5c334ee145d-0/\
         TelemetryProd__{table}__{source}__telemetry-{i}.csv.gz"
    )
}

/// Failure `i` as the service sends it (~1 KB of JSON: real field lengths, one of six error
/// codes, a SAS-bearing source path), seen `i` seconds after t0.
pub fn realistic_failure(i: usize) -> NotificationRow {
    let (code, status, details) = REALISTIC_FAILURES[i % REALISTIC_FAILURES.len()];
    let details = details
        .replace("{i}", &i.to_string())
        .replace("{r}", &(i % 9973).to_string());
    realistic(NotificationKind::Failure, i, |path| {
        json!({
            "IngestionSourcePath": format!(
                "{path}?sv=2024-08-04&se=2025-01-02T12%3A00%3A00Z&sr=c&sp=rw&sig=SECRET"
            ),
            "Details": details, "ErrorCode": code, "FailureStatus": status,
            "OriginatesFromUpdatePolicy": false, "ShouldRetry": status == "Transient"
        })
    })
}

/// Success `i` as the service sends it, seen `i` seconds after t0.
pub fn realistic_success(i: usize) -> NotificationRow {
    realistic(
        NotificationKind::Success,
        i,
        |path| json!({ "IngestionSourcePath": path }),
    )
}

/// The fields both kinds carry, plus what `fields` adds given the blob's path.
fn realistic(
    kind: NotificationKind,
    i: usize,
    fields: impl FnOnce(String) -> serde_json::Value,
) -> NotificationRow {
    let salt = match kind {
        NotificationKind::Failure => 0,
        NotificationKind::Success => 10,
    };
    let source = guid(i, salt + 1);
    let table = REALISTIC_TABLES[i % REALISTIC_TABLES.len()];
    let on = match kind {
        NotificationKind::Failure => "FailedOn",
        NotificationKind::Success => "SucceededOn",
    };
    let mut v = json!({
        "OperationId": guid(i, salt + 2), "Database": "TelemetryProd", "Table": table,
        on: crate::client::wire::format_timestamp(at(i as i64)),
        "IngestionSourceId": source,
        "RootActivityId": guid(i, salt + 3),
    });
    if let (Some(obj), serde_json::Value::Object(more)) =
        (v.as_object_mut(), fields(blob_path(table, &source, i)))
    {
        obj.extend(more);
    }
    row(kind, &guid(i, salt + 4), &v.to_string(), i as i64)
}
