use super::*;

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_796_083_200, 0).unwrap()
}

fn secs(n: i64) -> DateTime<Utc> {
    t0() + chrono::TimeDelta::seconds(n)
}

fn table_ref(se: &str) -> StatusRef {
    let url = SasUrl::parse(&format!(
        "http://127.0.0.1:1/acct/ingestionsstatus20261201?sv=2025-07-05&se={se}&sp=rau&sig=SECRET"
    ))
    .unwrap();
    StatusRef::new(url, "pk".into(), "rk".into())
}

fn queue_tracker() -> Tracker {
    Tracker::posted("src-1", None, true, t0())
}

fn table_tracker() -> Tracker {
    Tracker::posted(
        "src-1",
        Some(table_ref("2099-01-01T00:00:00Z")),
        false,
        t0(),
    )
}

fn failure(code: &str, status: &str) -> Notification {
    Notification {
        ingestion_source_id: Some("src-1".into()),
        error_code: Some(code.into()),
        failure_status: Some(status.into()),
        details: Some(format!("details of {code}")),
        failed_on: Some("2026-12-01T00:00:00Z".into()),
        ..Notification::default()
    }
}

fn success() -> Notification {
    Notification {
        ingestion_source_id: Some("src-1".into()),
        succeeded_on: Some("2026-12-01T00:00:00Z".into()),
        ..Notification::default()
    }
}

fn note<'a>(kind: NotificationKind, id: &'a str, n: &'a Notification) -> Observation<'a> {
    Observation::Notification {
        kind,
        message_id: id,
        notification: n,
    }
}

fn entity(status: IngestionStatus, code: Option<&str>, fs: Option<&str>) -> StatusEntity {
    StatusEntity {
        status: Some(status),
        error_code: code.map(str::to_string),
        failure_status: fs.map(str::to_string),
        details: code.map(|c| format!("details of {c}")),
        ..StatusEntity::default()
    }
}

#[test]
fn transient_failure_keeps_tracking_and_a_later_success_wins() {
    let mut t = queue_tracker();
    let f = failure("General_RetryableError", "Transient");
    assert!(t.observe(note(NotificationKind::Failure, "m1", &f), secs(5)));
    assert_eq!(t.state, TrackState::Retrying);
    assert!(!t.is_final());
    assert_eq!(t.transient_failures, 1);
    assert!(t.describe().contains("transient: General_RetryableError"));
    // The same message seen by the next peek is not a second attempt.
    assert!(!t.observe(note(NotificationKind::Failure, "m1", &f), secs(6)));
    assert_eq!(t.transient_failures, 1);
    t.observe(note(NotificationKind::Failure, "m2", &f), secs(7));
    assert_eq!(t.transient_failures, 2);
    let s = success();
    t.observe(note(NotificationKind::Success, "m3", &s), secs(9));
    assert_eq!(t.state, TrackState::Succeeded);
    assert!(t.is_success());
    assert_eq!(t.error, ErrorInfo::default());
    assert_eq!(t.updated_at, secs(9));
}

#[test]
fn permanent_and_exhausted_are_final() {
    for status in ["Permanent", "Exhausted", "1", "3"] {
        let mut t = queue_tracker();
        let f = failure("Stream_WrongNumberOfFields", status);
        t.observe(note(NotificationKind::Failure, "m1", &f), secs(1));
        assert_eq!(t.state, TrackState::Failed, "{status}");
        assert!(t.is_final());
        assert_eq!(t.error.failure_status.as_deref(), Some(status));
        // Nothing moves a final failure afterwards, not even a success notification.
        let s = success();
        t.observe(note(NotificationKind::Success, "m2", &s), secs(2));
        assert_eq!(t.state, TrackState::Failed);
    }
    let mut t = queue_tracker();
    let f = failure("Download_SourceNotFound", "Exhausted");
    t.observe(note(NotificationKind::Failure, "m1", &f), secs(1));
    assert_eq!(t.describe(), "Failed (Exhausted: Download_SourceNotFound)");
}

#[test]
fn already_received_is_not_a_failure_and_empty_blob_is_skipped() {
    let mut t = queue_tracker();
    let f = failure("BlobAlreadyReceived_BlobAlreadyFoundInBatch", "Permanent");
    t.observe(note(NotificationKind::Failure, "m1", &f), secs(1));
    assert_eq!(t.state, TrackState::Skipped);
    assert!(t.is_success());
    assert!(t.describe().contains("already ingested once"));

    let mut t = queue_tracker();
    let f = failure("BadRequest_EmptyBlob", "Permanent");
    t.observe(note(NotificationKind::Failure, "m1", &f), secs(1));
    assert_eq!(t.state, TrackState::Skipped);
    assert!(!t.is_success());
}

#[test]
fn table_reads_drive_table_tracked_sources() {
    let mut t = table_tracker();
    assert_eq!(t.state, TrackState::Queued);
    t.observe(Observation::EntityMissing, secs(1));
    assert_eq!(t.state, TrackState::Queued);
    t.observe(
        Observation::Entity(&entity(IngestionStatus::Pending, None, None)),
        secs(2),
    );
    assert_eq!(t.state, TrackState::Pending);
    assert_eq!(t.evidence, Evidence::Table);
    // A Pending row carrying a Transient failure: the service is retrying.
    let retry = entity(
        IngestionStatus::Pending,
        Some("General_RetryableError"),
        Some("Transient"),
    );
    t.observe(Observation::Entity(&retry), secs(3));
    assert_eq!(t.state, TrackState::Retrying);
    assert_eq!(t.transient_failures, 1);
    // Reading the same row again is not another attempt.
    t.observe(Observation::Entity(&retry), secs(4));
    assert_eq!(t.transient_failures, 1);
    t.observe(
        Observation::Entity(&entity(IngestionStatus::Succeeded, None, None)),
        secs(6),
    );
    assert_eq!(t.state, TrackState::Succeeded);
    assert!(t.error.code.is_none());
}

#[test]
fn a_failed_row_is_final_whatever_its_failure_status() {
    // The status reference: the row stays Pending while the service retries, so Failed is
    // its last word even when the failure that ended it was transient.
    let mut t = table_tracker();
    let row = entity(
        IngestionStatus::Failed,
        Some("Download_Timeout"),
        Some("Transient"),
    );
    t.observe(Observation::Entity(&row), secs(1));
    assert_eq!(t.state, TrackState::Failed);
    assert!(t.is_final());
}

#[test]
fn failed_rows_for_duplicates_and_empty_blobs_are_skipped() {
    let mut t = table_tracker();
    let dup = entity(
        IngestionStatus::Failed,
        Some("BlobAlreadyReceived_BlobAlreadyFoundInBatch"),
        Some("Permanent"),
    );
    t.observe(Observation::Entity(&dup), secs(1));
    assert_eq!(t.state, TrackState::Skipped);
    assert!(t.is_success());
    // Queue and table agree: the table does not turn the queue's Skipped into Failed.
    let mut t = Tracker::posted("src-1", Some(table_ref("2099-01-01T00:00:00Z")), true, t0());
    let f = failure("BlobAlreadyReceived_BlobAlreadyFoundInBatch", "Permanent");
    t.observe(note(NotificationKind::Failure, "m1", &f), secs(1));
    t.observe(Observation::Entity(&dup), secs(2));
    assert_eq!(t.state, TrackState::Skipped);
    assert_eq!(t.evidence, Evidence::Table);
    let mut t = table_tracker();
    let empty = entity(
        IngestionStatus::Failed,
        Some("BadRequest_EmptyBlob"),
        Some("Permanent"),
    );
    t.observe(Observation::Entity(&empty), secs(1));
    assert_eq!(t.state, TrackState::Skipped);
    assert!(!t.is_success());
}

#[test]
fn error_info_is_kept_across_reads_and_the_table_refines_queue_verdicts() {
    let mut t = Tracker::posted("src-1", Some(table_ref("2099-01-01T00:00:00Z")), true, t0());
    let f = failure("Stream_WrongNumberOfFields", "Permanent");
    t.observe(note(NotificationKind::Failure, "m1", &f), secs(1));
    assert_eq!(t.state, TrackState::Failed);
    assert_eq!(t.evidence, Evidence::Queue);
    // The table, authoritative, says PartiallySucceeded: it wins over the queue's verdict.
    let partial = entity(
        IngestionStatus::PartiallySucceeded,
        Some("Stream_WrongNumberOfFields"),
        Some("Permanent"),
    );
    t.observe(Observation::Entity(&partial), secs(2));
    assert_eq!(t.state, TrackState::PartiallySucceeded);
    assert_eq!(t.error.code.as_deref(), Some("Stream_WrongNumberOfFields"));
    // A row without an error code later does not erase what we know.
    let mut bare = partial.clone();
    bare.error_code = None;
    bare.failure_status = None;
    bare.details = None;
    t.observe(Observation::Entity(&bare), secs(3));
    assert_eq!(t.error.code.as_deref(), Some("Stream_WrongNumberOfFields"));
    // A stale Pending read never moves a final state back.
    t.observe(
        Observation::Entity(&entity(IngestionStatus::Pending, None, None)),
        secs(4),
    );
    assert_eq!(t.state, TrackState::PartiallySucceeded);
}

#[test]
fn pending_read_does_not_undo_a_queue_retry() {
    let mut t = Tracker::posted("src-1", Some(table_ref("2099-01-01T00:00:00Z")), true, t0());
    let f = failure("General_RetryableError", "Transient");
    t.observe(note(NotificationKind::Failure, "m1", &f), secs(1));
    t.observe(
        Observation::Entity(&entity(IngestionStatus::Pending, None, None)),
        secs(2),
    );
    assert_eq!(t.state, TrackState::Retrying);
}

#[test]
fn expired_table_sas_is_said_and_stops_table_reads() {
    let mut t = Tracker::posted(
        "src-1",
        Some(table_ref("2026-12-01T00:00:10Z")),
        false,
        t0(),
    );
    let poll = TablePoll::default();
    assert_eq!(t.next_table_read(secs(0), &poll), Some(secs(2)));
    t.observe(
        Observation::TableUnreadable("403 AuthenticationFailed"),
        secs(20),
    );
    assert!(
        t.table_problem
            .as_deref()
            .is_some_and(|p| p.contains("SAS expired")),
        "{:?}",
        t.table_problem
    );
    assert_eq!(t.next_table_read(secs(20), &poll), None);
    // An ordinary read error is reported as it is.
    let mut t = table_tracker();
    t.observe(Observation::TableUnreadable("connection refused"), secs(1));
    assert_eq!(t.table_problem.as_deref(), Some("connection refused"));
    t.observe(Observation::EntityMissing, secs(2));
    assert_eq!(t.table_problem, None);
}

#[test]
fn table_reads_back_off_with_age() {
    let t = table_tracker();
    let p = TablePoll::default();
    assert_eq!(t.next_table_read(secs(1), &p), Some(secs(3)));
    assert_eq!(t.next_table_read(secs(30), &p), Some(secs(40)));
    assert_eq!(t.next_table_read(secs(700), &p), Some(secs(760)));
    assert_eq!(t.next_table_read(secs(4000), &p), Some(secs(4120)));
    let mut done = table_tracker();
    done.observe(
        Observation::Entity(&entity(IngestionStatus::Succeeded, None, None)),
        secs(1),
    );
    assert_eq!(done.next_table_read(secs(2), &p), None);
    assert_eq!(queue_tracker().next_table_read(secs(2), &p), None);
}

#[test]
fn peek_windows_that_hide_the_source_are_counted() {
    let mut t = queue_tracker();
    t.observe(Observation::NotInPeek { window_full: false }, secs(1));
    assert_eq!(t.hidden_peeks, 0);
    t.observe(Observation::NotInPeek { window_full: true }, secs(2));
    t.observe(Observation::NotInPeek { window_full: true }, secs(3));
    assert_eq!(t.hidden_peeks, 2);
    let s = success();
    t.observe(note(NotificationKind::Success, "m", &s), secs(4));
    assert_eq!(t.hidden_peeks, 0);
}

#[test]
fn operation_states_plug_in() {
    for (s, want) in [
        ("InProgress", TrackState::Pending),
        ("Succeeded", TrackState::Succeeded),
        ("PartiallySucceeded", TrackState::PartiallySucceeded),
        ("Canceled", TrackState::Canceled),
        ("Failed", TrackState::Failed),
    ] {
        let mut t = Tracker::posted("op", None, false, t0());
        t.observe(
            Observation::Operation {
                state: s,
                error_code: None,
                details: None,
            },
            secs(1),
        );
        assert_eq!(t.state, want, "{s}");
        assert_eq!(t.evidence, Evidence::Operation);
    }
    let mut t = Tracker::posted("op", None, false, t0());
    assert!(!t.observe(
        Observation::Operation {
            state: "Mystery",
            error_code: None,
            details: None
        },
        secs(1)
    ));
    assert_eq!(t.state, TrackState::Queued);
}

#[test]
fn status_ref_accepts_both_casings_and_a_table_named_only_by_tn() {
    let v = serde_json::json!({
        "tableConnectionString": "http://127.0.0.1:1/acct?tn=ingestionsstatus20261201&sv=x&sp=rau&se=2099-01-01T00:00:00Z&sig=SECRET",
        "partitionKey": "p",
        "rowKey": "r"
    });
    let r = StatusRef::from_json(&v).unwrap();
    assert_eq!(r.table().object_name(), "ingestionsstatus20261201");
    assert_eq!(r.display_name(), "acct/ingestionsstatus20261201");
    assert_eq!(r.partition_key, "p");
    assert!(r.table().expose().contains("sig=SECRET"));
    assert!(!format!("{r:?}").contains("SECRET"));
    // Round trip through the journal's JSON keeps the secret and the keys.
    let text = serde_json::to_string(&r).unwrap();
    let back: StatusRef = serde_json::from_str(&text).unwrap();
    assert_eq!(back, r);
    assert_eq!(
        r.expires_at(),
        DateTime::parse_from_rfc3339("2099-01-01T00:00:00Z")
            .ok()
            .map(|t| t.to_utc())
    );
    assert!(StatusRef::from_json(&serde_json::json!({"PartitionKey": "p"})).is_err());
}

#[test]
fn a_tracker_round_trips_through_json() {
    let mut t = table_tracker();
    let f = failure("General_RetryableError", "Transient");
    t.observe(note(NotificationKind::Failure, "m1", &f), secs(1));
    let back: Tracker = serde_json::from_str(&serde_json::to_string(&t).unwrap()).unwrap();
    assert_eq!(back, t);
}

#[test]
fn a_reposted_copy_dropped_in_its_batch_yields_to_the_kept_copy() {
    // The duplicate's notification first: not final, the kept copy reports.
    let mut t = queue_tracker().with_reposts(1);
    let dup = failure("BlobAlreadyReceived_BlobAlreadyFoundInBatch", "Permanent");
    t.observe(note(NotificationKind::Failure, "m1", &dup), secs(1));
    assert!(!t.is_final());
    assert_eq!(t.duplicates_dropped, 1);
    t.observe(note(NotificationKind::Success, "m2", &success()), secs(2));
    assert_eq!(t.state, TrackState::Succeeded);
    assert!(t.is_success());
    assert!(t.describe().contains("ingested once"), "{}", t.describe());
    // The kept copy failed: the failure stands, whatever order the two arrive in.
    let mut t = queue_tracker().with_reposts(1);
    t.observe(note(NotificationKind::Failure, "m1", &dup), secs(1));
    let bad = failure("Stream_WrongNumberOfFields", "Permanent");
    t.observe(note(NotificationKind::Failure, "m2", &bad), secs(2));
    assert_eq!(t.state, TrackState::Failed);
    let mut t = queue_tracker().with_reposts(1);
    t.observe(note(NotificationKind::Success, "m2", &success()), secs(1));
    t.observe(note(NotificationKind::Failure, "m1", &dup), secs(2));
    assert_eq!(t.state, TrackState::Succeeded);
    assert!(t.describe().contains("ingested once"));
    // Without a re-post the duplicate is another source's copy: Skipped, ingested once.
    let mut t = queue_tracker();
    t.observe(note(NotificationKind::Failure, "m1", &dup), secs(1));
    assert_eq!(t.state, TrackState::Skipped);
    assert!(t.is_success());
}

#[test]
fn skipped_by_ingest_if_not_exists_is_a_success_only_when_asked() {
    let skipped = entity(IngestionStatus::Skipped, None, None);
    let mut t = table_tracker();
    t.observe(Observation::Entity(&skipped), secs(1));
    assert!(!t.is_success());
    let mut t = table_tracker().with_if_not_exists(true);
    t.observe(Observation::Entity(&skipped), secs(1));
    assert!(t.is_success());
    assert!(
        t.describe().contains("ingestIfNotExists"),
        "{}",
        t.describe()
    );
    // An empty blob is not what ingestIfNotExists asked for.
    let empty = entity(
        IngestionStatus::Failed,
        Some("BadRequest_EmptyBlob"),
        Some("Permanent"),
    );
    let mut t = table_tracker().with_if_not_exists(true);
    t.observe(Observation::Entity(&empty), secs(1));
    assert_eq!(t.state, TrackState::Skipped);
    assert!(!t.is_success());
}

#[test]
fn chunks_aggregate_to_partially_succeeded_when_they_disagree() {
    let at = |state| {
        let mut t = queue_tracker();
        t.state = state;
        t
    };
    let (ok, bad, pending) = (
        at(TrackState::Succeeded),
        at(TrackState::Failed),
        at(TrackState::Pending),
    );
    assert_eq!(aggregate(&[&ok, &ok]), TrackState::Succeeded);
    assert_eq!(aggregate(&[&ok, &bad, &ok]), TrackState::PartiallySucceeded);
    assert_eq!(aggregate(&[&bad, &bad]), TrackState::Failed);
    assert_eq!(
        aggregate(&[&bad, &at(TrackState::Canceled)]),
        TrackState::Failed
    );
    // Not final while any chunk is not, whatever the others say.
    assert_eq!(aggregate(&[&ok, &pending]), TrackState::Pending);
    assert_eq!(
        aggregate(&[&pending, &at(TrackState::Retrying)]),
        TrackState::Retrying
    );
    assert_eq!(aggregate(&[&at(TrackState::Queued)]), TrackState::Queued);
    // A chunk Skipped because it was already ingested is a success beside Succeeded ones.
    let mut again = queue_tracker();
    let dup = failure("BlobAlreadyReceived_BlobAlreadyFoundInBatch", "Permanent");
    again.observe(note(NotificationKind::Failure, "m9", &dup), secs(1));
    assert_eq!(again.state, TrackState::Skipped);
    assert_eq!(aggregate(&[&ok, &again]), TrackState::Succeeded);
}

#[test]
fn a_reposted_chunk_is_not_settled_by_another_chunk_landing() {
    // Two chunks of one source, each its own message Id; chunk 2's post lost its answer and
    // was posted again. Chunk 1's success, then chunk 1's id in a duplicate notice, say
    // nothing about chunk 2: it waits for its own kept copy.
    let chunk = |id: &str| Tracker::posted(id, None, true, t0());
    let mut one = chunk("chunk-1");
    let mut two = chunk("chunk-2").with_reposts(1);
    let named = |id: &str, n: Notification, mid: &str, kind| {
        let n = Notification {
            ingestion_source_id: Some(id.into()),
            ..n
        };
        let mut r = ReceivedNotification::fixture(mid, None, &n.to_queue_text());
        r.kind = kind;
        r
    };
    let peek = vec![named("chunk-1", success(), "m1", NotificationKind::Success)];
    one.observe_peek(&peek, false, secs(1));
    two.observe_peek(&peek, false, secs(1));
    assert_eq!(one.state, TrackState::Succeeded);
    assert_eq!(two.state, TrackState::Queued, "chunk 2 is not chunk 1");
    assert_eq!(aggregate(&[&one, &two]), TrackState::Queued);
    let dup = failure("BlobAlreadyReceived_BlobAlreadyFoundInBatch", "Permanent");
    let peek = vec![
        named("chunk-2", dup, "m2", NotificationKind::Failure),
        named("chunk-2", success(), "m3", NotificationKind::Success),
    ];
    two.observe_peek(&peek, false, secs(2));
    assert_eq!(two.state, TrackState::Succeeded, "{}", two.describe());
    assert_eq!(two.duplicates_dropped, 1);
    assert_eq!(aggregate(&[&one, &two]), TrackState::Succeeded);
}

#[test]
fn an_engine_answer_is_final_at_once_and_nothing_is_polled() {
    let ok = Tracker::start(
        "src-1",
        Some(&Answer::succeeded()),
        Some(table_ref("2099-01-01T00:00:00Z")),
        true,
        t0(),
    );
    assert_eq!(ok.state, TrackState::Succeeded);
    assert_eq!(ok.evidence, Evidence::Engine);
    assert!(ok.is_final() && ok.is_success() && !ok.can_still_learn(t0()));
    assert!(ok.status_ref.is_none() && !ok.by_queue);
    assert_eq!(ok.next_table_read(t0(), &TablePoll::default()), None);

    let failed = Answer::failed(
        "BadRequest_StreamingIngestionPolicyNotEnabled",
        true,
        "streaming ingestion is not enabled on demo.Events",
    );
    let t = Tracker::answered("src-2", &failed, t0());
    assert_eq!(t.state, TrackState::Failed);
    assert!(t.is_final() && !t.is_success());
    assert_eq!(
        t.error.code.as_deref(),
        Some("BadRequest_StreamingIngestionPolicyNotEnabled")
    );
    assert_eq!(t.error.failure_status.as_deref(), Some("Permanent"));
    // Later observations of the queues change nothing: the engine's answer stands.
    let mut t2 = t.clone();
    t2.observe(Observation::NotInPeek { window_full: true }, secs(5));
    assert_eq!(t2.state, TrackState::Failed);

    // Without an answer it is a posted source, tracked as before.
    let posted = Tracker::start("src-3", None, None, true, t0());
    assert_eq!(posted.state, TrackState::Queued);
    assert!(posted.can_still_learn(t0()));
}

fn rest_status(
    blobs: &[(&str, crate::client::rest_queued::BlobState, Option<&str>)],
) -> crate::client::rest_queued::OperationStatus {
    use crate::client::rest_queued::{BlobStatus, OperationStatus, wire::Counts};
    let details: Vec<BlobStatus> = blobs
        .iter()
        .map(|(id, st, code)| BlobStatus {
            source_id: id.to_string(),
            url: None,
            status: *st,
            started_at: None,
            last_update: None,
            error_code: code.map(str::to_string),
            failure_status: code.map(|_| "Permanent".to_string()),
            details: code.map(|_| "bad data".to_string()),
        })
        .collect();
    OperationStatus {
        start_time: None,
        last_updated: None,
        counts: Counts::of(&details),
        details: Some(details),
    }
}

#[test]
fn a_rest_operation_tracks_its_own_blob_by_source_id() {
    use crate::client::rest_queued::BlobState;
    let op = OperationRef {
        database: "db".into(),
        table: "T".into(),
        operation_id: "op-1".into(),
    };
    let mut t = Tracker::posted("src-1", None, false, t0()).with_operation(Some(op));
    assert!(t.can_still_learn(t0()));
    assert_eq!(
        t.next_table_read(t0(), &TablePoll::default()),
        Some(secs(2))
    );
    // Another blob of the same operation says nothing about this one.
    let other = rest_status(&[("src-2", BlobState::Failed, Some("X"))]);
    assert!(!t.observe(Observation::RestStatus(&other), secs(1)));
    let running = rest_status(&[("SRC-1", BlobState::InProgress, None)]);
    t.observe(Observation::RestStatus(&running), secs(2));
    assert_eq!(
        (t.state, t.evidence),
        (TrackState::Pending, Evidence::Operation)
    );
    let failed = rest_status(&[("src-1", BlobState::Failed, Some("BadRequest_InvalidBlob"))]);
    assert!(t.observe(Observation::RestStatus(&failed), secs(3)));
    assert_eq!(t.state, TrackState::Failed);
    assert_eq!(t.error.code.as_deref(), Some("BadRequest_InvalidBlob"));
    assert_eq!(t.error.failure_status.as_deref(), Some("Permanent"));
    assert_eq!(t.next_table_read(secs(3), &TablePoll::default()), None);
    // No operation id (tracking not asked): nothing to poll.
    let empty = OperationRef {
        database: "db".into(),
        table: "T".into(),
        operation_id: String::new(),
    };
    let quiet = Tracker::posted("s", None, false, t0()).with_operation(Some(empty));
    assert!(!quiet.can_still_learn(t0()));
}
