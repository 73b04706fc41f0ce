//! Unit tests of the DM worker's pure decisions.

use std::io::Write;

use base64::Engine as _;
use chrono::TimeZone;
use serde_json::json;

use super::*;
use crate::client::wire::{IngestionStatusInTable, ReportMethod};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0).single().unwrap()
}

fn message() -> IngestionMessage {
    let v = json!({
        "Id": "11111111-2222-3333-4444-555555555555",
        "BlobPath": "https://acct.blob.core.windows.net/tmp/demo__Events__x.csv.gz?sv=2024&sig=SECRET",
        "DatabaseName": "demo", "TableName": "Events",
        "ReportLevel": 2, "ReportMethod": 0,
        "AdditionalProperties": {"authorizationContext": "tok", "format": "CSV",
            "mappingReference": "EventsCsv", "ignoreFirstRecord": "true",
            "tags": "[\"ingest-by:a\",\"t2\"]", "ingestIfNotExists": "[\"a\"]",
            "creationTime": "2024-12-31T00:00:00Z"}
    });
    IngestionMessage::from_value(&v).unwrap()
}

fn ids() -> ReportIds {
    ReportIds {
        operation_id: "op".into(),
        activity_id: "act".into(),
    }
}

fn ok(rows: u64, rejected: u64) -> Result<IngestOutcome, IngestFailure> {
    Ok(IngestOutcome {
        rows,
        rejected,
        skipped_existing: false,
    })
}

fn err(code: &str) -> Result<IngestOutcome, IngestFailure> {
    Err(IngestFailure {
        error_code: code.into(),
        details: "why".into(),
        status: FailureStatus::Permanent,
    })
}

#[test]
fn classify_accepts_valid_messages() {
    let text = message().to_queue_text();
    match classify(&text, 1, &|t| t == "tok") {
        Intake::Accept(m) => assert_eq!(m.table_name, "Events"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn classify_refuses_bad_tokens_and_poison() {
    let text = message().to_queue_text();
    match classify(&text, 1, &|_| false) {
        Intake::Refuse(_, f) => {
            assert_eq!(f.error_code, "BadRequest_InvalidKustoIdentityToken");
            assert!(!f.details.contains("tok"));
        }
        other => panic!("{other:?}"),
    }
    let mut m = message();
    m.additional_properties.remove("authorizationContext");
    match classify(&m.to_queue_text(), 1, &|_| true) {
        Intake::Refuse(_, f) => assert!(f.details.contains("missing")),
        other => panic!("{other:?}"),
    }
    match classify(&text, MAX_DEQUEUE_COUNT + 1, &|_| true) {
        Intake::Refuse(_, f) => {
            assert_eq!(f.error_code, "General_RetryAttemptsExceeded");
            assert_eq!(f.status, FailureStatus::Exhausted);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn classify_recovers_ids_from_corrupt_messages() {
    match classify("%%% garbage", 1, &|_| true) {
        Intake::Corrupt { source_id, .. } => assert_eq!(source_id, NIL_GUID),
        other => panic!("{other:?}"),
    }
    // Valid JSON, but a bad enum: the Id is still reported.
    let text = base64::engine::general_purpose::STANDARD
        .encode(r#"{"Id":"abc","ReportLevel":"Sometimes"}"#);
    match classify(&text, 1, &|_| true) {
        Intake::Corrupt { source_id, details } => {
            assert_eq!(source_id, "abc");
            assert!(details.contains("ReportLevel"), "{details}");
        }
        other => panic!("{other:?}"),
    }
    match classify(r#"{"BlobPath":"x"}"#, 1, &|_| true) {
        Intake::Corrupt { details, .. } => assert!(details.contains("Id"), "{details}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn request_from_message_reads_properties_and_drops_the_token() {
    let r = ingest_request(&message());
    assert_eq!(r.format, "csv");
    assert_eq!(r.mapping_reference.as_deref(), Some("EventsCsv"));
    assert!(r.ignore_first_record);
    assert_eq!(r.tags, vec!["ingest-by:a", "t2"]);
    assert_eq!(r.ingest_if_not_exists, vec!["a"]);
    assert_eq!(r.creation_time.unwrap().timestamp(), 1735603200);
    assert_eq!(r.source_id, "11111111-2222-3333-4444-555555555555");
    assert!(!format!("{r:?}").contains("tok"));
    let mut m = message();
    m.additional_properties = Map::new();
    m.additional_properties.insert(
        "ingestionMapping".into(),
        json!([{"column":"A","Properties":{"Ordinal":"0"}}]),
    );
    let r = ingest_request(&m);
    assert_eq!(r.format, "csv");
    assert!(r.mapping.unwrap().starts_with("[{"));
}

#[test]
fn blob_urls_and_source_paths() {
    let u = blob_url("http://127.0.0.1:1/acct/c/f.csv?sig=a%2Bb;managed_identity=system").unwrap();
    assert_eq!(u.query_param("sig").as_deref(), Some("a+b"));
    assert_eq!(u.sub_path(), "f.csv");
    assert_eq!(
        blob_url("  ").unwrap_err().error_code,
        "BadRequest_EmptyBlobUri"
    );
    assert_eq!(
        blob_url("not a url").unwrap_err().error_code,
        "BadRequest_InvalidBlobUri"
    );
    assert_eq!(
        source_path(&message().blob_path),
        "https://acct.blob.core.windows.net/tmp/demo__Events__x.csv.gz"
    );
    assert_eq!(source_path("garbage?sig=x"), "garbage");
}

#[test]
fn download_errors_map_to_codes() {
    let blob = blob_url("https://a.blob.core.windows.net/c/b?sig=SECRET").unwrap();
    let st = |status| Error::Storage {
        status,
        code: "X".into(),
        message: "m".into(),
    };
    assert_eq!(
        download_failure(&blob, &st(404)).error_code,
        "Download_SourceNotFound"
    );
    assert_eq!(
        download_failure(&blob, &st(403)).error_code,
        "Download_Forbidden"
    );
    let f = download_failure(&blob, &Error::Transient("reset ?sig=SECRET".into()));
    assert_eq!(f.error_code, "Download_UnknownError");
    assert_eq!(f.status, FailureStatus::Transient);
    assert!(!f.details.contains("SECRET"), "{}", f.details);
}

#[test]
fn decompression() {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(b"a,b\n").unwrap();
    let gz = gz.finish().unwrap();
    assert_eq!(unpack("x/data.csv.GZ", &gz, None).unwrap(), [b"a,b\n"]);
    assert_eq!(unpack("data.csv", b"plain", None).unwrap(), [b"plain"]);
    assert_eq!(
        unpack("data.csv.gz", b"nope", None).unwrap_err().error_code,
        "BadRequest_InvalidBlob"
    );

    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default();
        z.add_directory("dir/", opts).unwrap();
        z.start_file("dir/inner.csv", opts).unwrap();
        z.write_all(b"x,y\n").unwrap();
        z.finish().unwrap();
    }
    assert_eq!(unpack("d.zip", buf.get_ref(), None).unwrap(), [b"x,y\n"]);
    assert_eq!(
        unpack("d.zip", b"PK junk", None).unwrap_err().error_code,
        "BadRequest_InvalidArchive"
    );
    let mut empty = std::io::Cursor::new(Vec::new());
    zip::ZipWriter::new(&mut empty).finish().unwrap();
    assert_eq!(
        unpack("d.zip", empty.get_ref(), None)
            .unwrap_err()
            .error_code,
        "BadRequest_EmptyArchive"
    );
}

#[test]
fn statuses() {
    assert_eq!(final_status(&ok(3, 0)), IngestionStatus::Succeeded);
    assert_eq!(final_status(&ok(3, 1)), IngestionStatus::PartiallySucceeded);
    assert_eq!(
        final_status(&Ok(IngestOutcome {
            rows: 0,
            rejected: 0,
            skipped_existing: true
        })),
        IngestionStatus::Skipped
    );
    assert_eq!(
        final_status(&err("BadRequest_EmptyBlob")),
        IngestionStatus::Skipped
    );
    assert_eq!(
        final_status(&err("Stream_WrongNumberOfFields")),
        IngestionStatus::Failed
    );
}

#[test]
fn failure_notification_fields() {
    let r = outcome_to_reports(
        &message(),
        &err("Stream_ClosingQuoteMissing"),
        &ids(),
        now(),
    );
    let (kind, n) = r.notification.unwrap();
    assert_eq!(kind, NotificationKind::Failure);
    assert_eq!(n.error_code.as_deref(), Some("Stream_ClosingQuoteMissing"));
    assert_eq!(n.failure_status.as_deref(), Some("Permanent"));
    assert_eq!(n.failed_on.as_deref(), Some("2025-03-01T12:00:00.0000000Z"));
    assert_eq!(
        n.ingestion_source_id.as_deref(),
        Some("11111111-2222-3333-4444-555555555555")
    );
    assert_eq!(
        n.ingestion_source_path.as_deref(),
        Some("https://acct.blob.core.windows.net/tmp/demo__Events__x.csv.gz")
    );
    assert_eq!(n.should_retry, Some(false));
    assert_eq!(n.originates_from_update_policy, Some(false));
    assert_eq!(
        (n.operation_id.as_deref(), n.root_activity_id.as_deref()),
        (Some("op"), Some("act"))
    );
    assert!(!n.to_queue_text().is_empty());
    let f = r.failure.unwrap();
    assert_eq!(f.error_code, "Stream_ClosingQuoteMissing");
    assert!(!f.source_path.contains("SECRET"));
    assert!(r.status.is_none(), "queue method: no table update");
}

#[test]
fn report_levels() {
    let mut m = message();
    m.report_level = ReportLevel::FailuresOnly;
    let r = outcome_to_reports(&m, &ok(2, 0), &ids(), now());
    assert!(r.notification.is_none() && r.failure.is_none());
    let r = outcome_to_reports(&m, &ok(2, 1), &ids(), now());
    assert_eq!(r.notification.unwrap().0, NotificationKind::Failure);
    m.report_level = ReportLevel::None;
    let r = outcome_to_reports(&m, &err("X"), &ids(), now());
    assert!(r.notification.is_none() && r.status.is_none());
    assert!(
        r.failure.is_some(),
        "engine failures are recorded regardless"
    );
    m.report_level = ReportLevel::FailuresAndSuccesses;
    let (kind, n) = outcome_to_reports(&m, &ok(2, 0), &ids(), now())
        .notification
        .unwrap();
    assert_eq!(kind, NotificationKind::Success);
    assert_eq!(
        n.succeeded_on.as_deref(),
        Some("2025-03-01T12:00:00.0000000Z")
    );
    assert!(n.error_code.is_none() && n.failed_on.is_none());
}

#[test]
fn report_methods_and_status_entity() {
    let mut m = message();
    m.ingestion_status_in_table = Some(IngestionStatusInTable {
        table_connection_string: "https://a.table.core.windows.net/status?sig=x".into(),
        partition_key: "p".into(),
        row_key: "r".into(),
    });
    m.report_method = ReportMethod::Table;
    let r = outcome_to_reports(&m, &err("BadRequest_EmptyBlob"), &ids(), now());
    assert!(r.notification.is_none());
    let s = r.status.unwrap();
    assert_eq!(s["Status"], json!("Skipped"));
    assert_eq!(s["ErrorCode"], json!("BadRequest_EmptyBlob"));
    assert_eq!(s["FailureStatus"], json!("Permanent"));
    assert_eq!(s["UpdatedOn"], json!("2025-03-01T12:00:00.0000000Z"));
    assert_eq!(s["OperationId"], json!("op"));
    assert_eq!(s["ActivityId"], json!("act"));
    assert_eq!(s["OriginatesFromUpdatePolicy"], json!(false));
    m.report_method = ReportMethod::QueueAndTable;
    let r = outcome_to_reports(&m, &ok(4, 1), &ids(), now());
    assert!(r.notification.is_some());
    let s = r.status.unwrap();
    assert_eq!(s["Status"], json!("PartiallySucceeded"));
    assert!(
        s["Details"]
            .as_str()
            .unwrap()
            .contains("1 record(s) rejected")
    );
    let r = outcome_to_reports(&m, &ok(4, 0), &ids(), now());
    assert_eq!(r.status.unwrap()["Status"], json!("Succeeded"));
    // Table method without a target entity: nothing to write.
    m.ingestion_status_in_table = None;
    m.report_method = ReportMethod::Table;
    assert!(
        outcome_to_reports(&m, &err("X"), &ids(), now())
            .status
            .is_none()
    );
}

pub(crate) fn pending(id: &str, table: &str, flush: bool) -> Pending {
    let mut msg = message();
    msg.id = id.into();
    msg.table_name = table.into();
    msg.flush_immediately = flush;
    // Those two make single-blob batches; batching tests add them where they want them.
    msg.additional_properties.remove("ingestIfNotExists");
    msg.additional_properties.remove("tags");
    Pending {
        queue: blob_url("http://127.0.0.1:1/acct/q?sig=x").unwrap(),
        message_id: format!("m-{id}"),
        pop_receipt: "pr".into(),
        msg,
    }
}

#[test]
fn failures_only_still_finalises_the_status_entity() {
    let mut m = message();
    m.report_level = ReportLevel::FailuresOnly;
    m.report_method = crate::client::wire::ReportMethod::QueueAndTable;
    m.ingestion_status_in_table = Some(crate::client::wire::IngestionStatusInTable {
        table_connection_string: "https://a.table.core.windows.net/t?sig=x".into(),
        partition_key: "p".into(),
        row_key: "r".into(),
    });
    let r = outcome_to_reports(&m, &ok(2, 0), &ids(), now());
    assert!(
        r.notification.is_none(),
        "no success notification was asked for"
    );
    assert_eq!(r.status.unwrap()["Status"], "Succeeded");
    m.report_level = ReportLevel::None;
    assert!(
        outcome_to_reports(&m, &ok(2, 0), &ids(), now())
            .status
            .is_none()
    );
}
