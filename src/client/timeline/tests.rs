use super::*;
use crate::client::tracking::{Observation, Tracker};
use crate::client::wire::{Notification, NotificationKind, StatusEntity};

fn t(s: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + s, 0).unwrap_or_default()
}

fn request(at: i64, op: &str, id: &str, attempt: u32, status: Option<u16>) -> Request {
    Request {
        at: t(at),
        op: op.into(),
        target: "/acct/tmp/blob.csv.gz".into(),
        request_id: id.into(),
        attempt,
        ms: 5,
        status,
        error: status.is_none().then(|| "connection reset".to_string()),
    }
}

fn tracker() -> Tracker {
    let mut requests = Requests::default();
    requests.push(request(0, "Put Block", "r1", 1, None));
    requests.push(request(1, "Put Block", "r2", 2, Some(201)));
    requests.push(request(2, "Put Message", "r3", 1, Some(201)));
    let history = History {
        requests,
        posted: Some(Posted {
            message_id: "m1".into(),
            insertion_time: Some(t(2)),
            queue: "acct/readyforaggregation".into(),
            request_id: Some("r3".into()),
        }),
        ..History::default()
    };
    Tracker::posted("src-1", None, true, t(2)).with_history(history)
}

#[test]
fn events_are_ordered_by_time_with_offsets_and_ids() {
    let mut tr = tracker();
    let entity = StatusEntity {
        status: Some(crate::client::wire::IngestionStatus::Pending),
        ..StatusEntity::default()
    };
    tr.observe(Observation::Entity(&entity), t(5));
    let n = Notification {
        operation_id: Some("op-9".into()),
        root_activity_id: Some("ra-9".into()),
        error_code: Some("BadRequest_InvalidBlob".into()),
        failure_status: Some("Permanent".into()),
        failed_on: Some("2023-11-14T22:13:30Z".into()),
        ..Notification::default()
    };
    tr.observe(
        Observation::Notification {
            kind: NotificationKind::Failure,
            message_id: "n1",
            notification: &n,
        },
        t(9),
    );
    // The same message again adds nothing.
    tr.observe(
        Observation::Notification {
            kind: NotificationKind::Failure,
            message_id: "n1",
            notification: &n,
        },
        t(12),
    );
    let engine = EngineView {
        failures: vec![EngineFailure {
            at: Some(t(8)),
            operation_id: "op-9".into(),
            error_code: "BadRequest_InvalidBlob".into(),
            failure_kind: "Permanent".into(),
            root_activity_id: "ra-9".into(),
            details: "bad".into(),
        }],
        tagged_rows: None,
        problems: vec![],
    };
    let ev = assemble(&tr, Some(&engine));
    let kinds: Vec<&str> = ev.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            "request",
            "request",
            "request",
            "posted",
            "state",
            "engine_failure",
            "notification",
            "state"
        ]
    );
    assert_eq!(offset_ms(&ev, &ev[4]), 5000);
    assert!(ev[4].summary.starts_with("Pending"), "{}", ev[4].summary);
    assert!(ev[7].summary.contains("Failed (BadRequest_InvalidBlob)"));
    assert_eq!(
        ev[3].ids,
        [("message_id", "m1".into()), ("request_id", "r3".into())]
    );
    assert!(ev[6].ids.contains(&("operation_id", "op-9".into())));
    assert!(ev[6].ids.contains(&("root_activity_id", "ra-9".into())));
    let json = to_json(&tr, Some(&engine));
    assert_eq!(json["events"][0]["request_id"], "r1");
    assert_eq!(json["events"][6]["offset_ms"], 9000);
    assert_eq!(json["events"][6]["kind"], "notification");
    assert_eq!(tr.history.operation_ids(), ["op-9"]);
    let text = lines(&tr, Some(&engine));
    assert!(text[0].trim_start().starts_with("+0.000s"), "{}", text[0]);
    assert!(text.iter().any(|l| l.contains("request_id=r2")));
}

#[test]
fn requests_and_events_are_bounded() {
    let mut r = Requests::default();
    for i in 0..(MAX_REQUESTS + 5) {
        r.push(request(
            i as i64,
            "Put Block",
            &format!("r{i}"),
            1,
            Some(201),
        ));
    }
    assert_eq!(r.kept.len(), MAX_REQUESTS);
    assert_eq!(r.dropped, 5);
    assert_eq!(r.kept[0].request_id, "r5");
    let mut h = History::default();
    for i in 0..(MAX_EVENTS + 3) {
        h.transition(Transition {
            at: t(i as i64),
            state: TrackState::Pending,
            evidence: Evidence::Table,
            code: None,
        });
    }
    assert_eq!(h.transitions.len(), MAX_EVENTS);
}

#[test]
fn a_tracker_without_history_round_trips_and_old_journals_load() {
    // A tracker as journals before the timeline wrote it: no `history`.
    let old = serde_json::json!({
        "source_id": "s", "by_queue": true, "posted_at": "2024-01-01T00:00:00Z",
        "state": "Queued", "evidence": "Client", "updated_at": "2024-01-01T00:00:00Z"
    });
    let tr: Tracker = serde_json::from_value(old).unwrap();
    assert!(tr.history.is_empty());
    assert!(!serde_json::to_string(&tr).unwrap().contains("history"));
    let full = tracker();
    let back: Tracker = serde_json::from_str(&serde_json::to_string(&full).unwrap()).unwrap();
    assert_eq!(back, full);
}

#[test]
fn op_names_follow_the_storage_rest_api() {
    let u = |s: &str| url::Url::parse(s).unwrap();
    use reqwest::Method as M;
    assert_eq!(
        op_name(&M::PUT, &u("http://h/a/c/b?comp=block&blockid=x")),
        "Put Block"
    );
    assert_eq!(
        op_name(&M::PUT, &u("http://h/a/c/b?comp=blocklist")),
        "Put Block List"
    );
    assert_eq!(
        op_name(&M::POST, &u("http://h/a/q/messages?sig=x")),
        "Put Message"
    );
    assert_eq!(
        op_name(&M::POST, &u("http://h/a/statustable?sig=x")),
        "Insert Entity"
    );
    assert_eq!(op_name(&M::PUT, &u("http://h/a/c/b")), "Put Blob");
}

#[tokio::test]
async fn recorded_collects_only_inside_its_scope() {
    note(request(0, "Put Blob", "outside", 1, Some(201)));
    let ((), log) = recorded(async {
        note(request(0, "Put Blob", "inside", 1, Some(201)));
    })
    .await;
    assert_eq!(log.kept.len(), 1);
    assert_eq!(log.kept[0].request_id, "inside");
}
