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

/// A busy screen: resources, four submissions, three failures, two successes.
pub fn sample_state() -> State {
    let mut s = State::new(
        Settings {
            cluster: "http://127.0.0.1:8080".into(),
            color: false,
            ..Settings::default()
        },
        t0(),
    );
    s.resources.entries = vec![
        entry(
            ResourceKind::SecuredReadyForAggregationQueue,
            "readyforaggregation-secured",
            Some(3),
        ),
        entry(ResourceKind::TempStorage, "tempstorage", None),
        entry(
            ResourceKind::SuccessfulIngestionsQueue,
            "successfulingestions",
            Some(2),
        ),
        entry(
            ResourceKind::FailedIngestionsQueue,
            "failedingestions",
            Some(3),
        ),
        entry(
            ResourceKind::IngestionsStatusTable,
            "ingestionsstatus",
            None,
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
    s.submissions = vec![up, queued, failed, ok];
    s.next_submission_id = 5;
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
        s.failures.ring.push_newest(r);
        s.failures.arrivals.push_back(at(-5));
    }
    for r in [
        success("s1", "11111111-0000-4000-8000-000000000001", -40),
        success("s2", "cccccccc-0000-4000-8000-00000000000c", -20),
    ] {
        s.successes.ring.push_newest(r);
    }
    s.status = Some((
        "queued /data/q.json".into(),
        crate::app::state::Severity::Ok,
    ));
    s
}

fn entry(kind: ResourceKind, object: &str, depth: Option<u64>) -> ResourceEntry {
    ResourceEntry {
        kind,
        account: "devstoreaccount1".into(),
        object: object.into(),
        depth: depth.map(crate::app::state::DepthView::Count),
    }
}
