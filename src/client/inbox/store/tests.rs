use super::*;
use crate::client::wire::Notification;

const URL: &str = "http://127.0.0.1:9/";

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn failure(id: &str, code: &str, table: &str, at: &str) -> ReceivedNotification {
    let n = Notification {
        error_code: Some(code.into()),
        table: Some(table.into()),
        database: Some("DB".into()),
        failure_status: Some("Permanent".into()),
        ingestion_source_id: Some(format!("src-{id}")),
        ingestion_source_path: Some(
            "https://acct.blob.core.windows.net/c/b.csv?sp=r&sig=SECRETSIG".into(),
        ),
        details: Some(format!("Ünïcode details of {id}")),
        ..Default::default()
    };
    let mut m = ReceivedNotification::fixture(id, None, &n.to_queue_text());
    m.insertion_time = Some(t(at));
    m
}

fn open(dir: &tempfile::TempDir) -> Inbox {
    Inbox::open(&dir.path().join("inbox.sqlite3"), URL).unwrap()
}

fn all(kind: NotificationKind) -> InboxQuery {
    InboxQuery {
        acked: AckFilter::All,
        ..InboxQuery::new(kind)
    }
}

#[test]
fn a_message_seen_again_is_one_row_with_the_highest_dequeue_count() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = open(&dir);
    let a = failure("m1", "BadRequest_EmptyBlob", "T", "2026-01-01T10:00:00Z");
    let b = failure("m2", "BadRequest_EmptyBlob", "T", "2026-01-01T10:01:00Z");
    let first = inbox
        .record_at(&[a.clone(), b], t("2026-01-01T10:05:00Z"))
        .unwrap();
    assert_eq!(first, RecordOutcome { new: 2, updated: 0 });
    let mut again = a.clone();
    again.dequeue_count = 4;
    let second = inbox
        .record_at(&[again], t("2026-01-01T10:07:00Z"))
        .unwrap();
    assert_eq!(second, RecordOutcome { new: 0, updated: 1 });
    // A lower count later (a peek after a receive) does not lower it.
    inbox.record_at(&[a], t("2026-01-01T10:08:00Z")).unwrap();
    let rows = inbox.list(&all(NotificationKind::Failure)).unwrap();
    assert_eq!(rows.len(), 2);
    // Newest first by InsertionTime.
    assert_eq!(rows[0].message_id, "m2");
    let m1 = &rows[1];
    assert_eq!(m1.dequeue_count, 4);
    assert_eq!(m1.first_seen, t("2026-01-01T10:05:00Z"));
    assert_eq!(m1.last_seen, t("2026-01-01T10:08:00Z"));
    assert_eq!(m1.error_code.as_deref(), Some("BadRequest_EmptyBlob"));
    assert_eq!(m1.failure_status.as_deref(), Some("Permanent"));
    assert_eq!(m1.database.as_deref(), Some("DB"));
    assert_eq!(m1.source_id.as_deref(), Some("src-m1"));
    assert_eq!(inbox.count(NotificationKind::Failure).unwrap(), 2);
    assert_eq!(inbox.count(NotificationKind::Success).unwrap(), 0);
}

#[test]
fn secrets_never_reach_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = open(&dir);
    inbox
        .record(&[failure("m1", "X", "T", "2026-01-01T10:00:00Z")])
        .unwrap();
    let row = &inbox.list(&all(NotificationKind::Failure)).unwrap()[0];
    let path = row.source_path.as_deref().unwrap();
    assert!(
        path.starts_with("https://acct.blob.core.windows.net/c/b.csv"),
        "{path}"
    );
    assert!(!path.contains("SECRETSIG"), "{path}");
    assert!(!row.json.to_string().contains("SECRETSIG"));
    drop(inbox);
    let mut bytes = std::fs::read(dir.path().join("inbox.sqlite3")).unwrap();
    if let Ok(wal) = std::fs::read(dir.path().join("inbox.sqlite3-wal")) {
        bytes.extend(wal);
    }
    assert!(!String::from_utf8_lossy(&bytes).contains("SECRETSIG"));
}

#[cfg(unix)]
#[test]
fn the_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let inbox = open(&dir);
    inbox
        .record(&[failure("m1", "X", "T", "2026-01-01T10:00:00Z")])
        .unwrap();
    for f in ["inbox.sqlite3", "inbox.sqlite3-wal"] {
        let mode = std::fs::metadata(dir.path().join(f))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "{f}: {mode:o}");
    }
}

#[test]
fn clusters_and_kinds_are_apart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inbox.sqlite3");
    let a = Inbox::open(&path, "https://ingest-a.kusto.windows.net").unwrap();
    // The same cluster spelled differently is the same cluster.
    let a2 = Inbox::open(&path, "HTTPS://ingest-a.kusto.windows.net/").unwrap();
    let b = Inbox::open(&path, "https://ingest-b.kusto.windows.net").unwrap();
    let m = failure("m1", "X", "T", "2026-01-01T10:00:00Z");
    assert_eq!(a.record(std::slice::from_ref(&m)).unwrap().new, 1);
    assert_eq!(a2.record(std::slice::from_ref(&m)).unwrap().updated, 1);
    assert_eq!(b.record(std::slice::from_ref(&m)).unwrap().new, 1);
    let mut s = m;
    s.kind = NotificationKind::Success;
    assert_eq!(a.record(&[s]).unwrap().new, 1);
    assert_eq!(a.count(NotificationKind::Failure).unwrap(), 1);
    assert_eq!(a.count(NotificationKind::Success).unwrap(), 1);
    assert_eq!(b.count(NotificationKind::Success).unwrap(), 0);
}

#[test]
fn retention_drops_old_rows_and_caps_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inbox.sqlite3");
    let settings = InboxSettings {
        retention_days: 2,
        max_rows: 3,
    };
    let inbox = Inbox::open_with(&path, URL, settings).unwrap();
    // Ten days ago, so that opening (which prunes as of now) finds them all old at the end.
    let base = Utc::now() - chrono::TimeDelta::days(10);
    let day = |d: i64| base + chrono::TimeDelta::days(d);
    inbox
        .record_at(&[failure("old", "X", "T", "2026-01-01T00:00:00Z")], day(1))
        .unwrap();
    // Three days on: "old" was last seen 3 days ago.
    inbox
        .record_at(&[failure("new1", "X", "T", "2026-01-04T00:00:00Z")], day(4))
        .unwrap();
    let ids = |i: &Inbox| -> Vec<String> {
        i.list(&all(NotificationKind::Failure))
            .unwrap()
            .into_iter()
            .map(|e| e.message_id)
            .collect()
    };
    assert_eq!(ids(&inbox), ["new1"]);
    // Seen again keeps a row alive.
    inbox
        .record_at(
            &[
                failure("new2", "X", "T", "2026-01-04T00:01:00Z"),
                failure("new3", "X", "T", "2026-01-04T00:02:00Z"),
            ],
            day(4),
        )
        .unwrap();
    inbox
        .record_at(&[failure("new1", "X", "T", "2026-01-04T00:00:00Z")], day(5))
        .unwrap();
    // Over the cap of 3: the least recently seen goes.
    inbox
        .record_at(&[failure("new4", "X", "T", "2026-01-05T00:00:00Z")], day(5))
        .unwrap();
    assert_eq!(ids(&inbox), ["new4", "new3", "new1"]);
    drop(inbox);
    // Opening prunes too: the newest was last seen 5 days ago.
    let inbox = Inbox::open_with(&path, URL, settings).unwrap();
    assert!(ids(&inbox).is_empty());
}

#[test]
fn groups_count_and_bucket_by_minute() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = open(&dir);
    let now = t("2026-01-01T10:59:30Z");
    let mut msgs = vec![
        failure("a1", "Code_A", "T1", "2026-01-01T10:59:01Z"),
        failure("a2", "Code_A", "T1", "2026-01-01T10:59:02Z"),
        failure("a3", "Code_A", "T2", "2026-01-01T10:58:59Z"),
        // The oldest minute the sparkline holds, and one just before it.
        failure("a4", "Code_A", "T2", "2026-01-01T10:00:00Z"),
        failure("a5", "Code_A", "T2", "2026-01-01T09:59:59Z"),
        failure("b1", "Code_B", "T1", "2026-01-01T10:30:00Z"),
    ];
    msgs[0].insertion_time = Some(t("2026-01-01T10:59:01Z"));
    inbox.record_at(&msgs, now).unwrap();
    let q = all(NotificationKind::Failure);
    let by_code = inbox
        .groups_at(&q, GroupBy::parse("code").unwrap(), now)
        .unwrap();
    assert_eq!(by_code.len(), 2);
    let a = &by_code[0];
    assert_eq!(
        (a.error_code.as_deref(), a.table.as_deref(), a.count),
        (Some("Code_A"), None, 5)
    );
    assert_eq!(a.per_minute.len(), SPARK_MINUTES);
    assert_eq!(a.per_minute[59], 2);
    assert_eq!(a.per_minute[58], 1);
    assert_eq!(a.per_minute[0], 1);
    assert_eq!(a.per_minute.iter().sum::<u32>(), 4);
    let b = &by_code[1];
    assert_eq!((b.error_code.as_deref(), b.count), (Some("Code_B"), 1));
    assert_eq!(b.per_minute[30], 1);

    let mut by = GroupBy::parse("code").unwrap();
    by.add("table,status").unwrap();
    let fine = inbox.groups_at(&q, by, now).unwrap();
    let keys: Vec<_> = fine
        .iter()
        .map(|g| {
            (
                g.error_code.clone().unwrap(),
                g.table.clone().unwrap(),
                g.count,
            )
        })
        .collect();
    assert_eq!(
        keys,
        [
            ("Code_A".to_string(), "T2".to_string(), 3),
            ("Code_A".into(), "T1".into(), 2),
            ("Code_B".into(), "T1".into(), 1)
        ]
    );
    assert!(
        fine.iter()
            .all(|g| g.failure_status.as_deref() == Some("Permanent"))
    );
    let one = inbox.groups_at(&q, GroupBy::default(), now).unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].count, 6);
    assert!(
        GroupBy::parse("colour")
            .unwrap_err()
            .contains("code, table or status")
    );
    // Nothing matching: no groups at all.
    let none = InboxQuery {
        search: Some("zzz".into()),
        ..q
    };
    assert!(
        inbox
            .groups_at(&none, GroupBy::default(), now)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn search_is_a_case_insensitive_substring_of_the_fields() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = open(&dir);
    inbox
        .record(&[
            failure(
                "m-one",
                "BadRequest_EmptyBlob",
                "Events",
                "2026-01-01T10:00:00Z",
            ),
            failure(
                "m-two",
                "Stream_WrongNumberOfFields",
                "Logs",
                "2026-01-01T10:01:00Z",
            ),
        ])
        .unwrap();
    let hits = |s: &str| -> Vec<String> {
        inbox
            .list(&InboxQuery {
                search: Some(s.into()),
                ..all(NotificationKind::Failure)
            })
            .unwrap()
            .into_iter()
            .map(|e| e.message_id)
            .collect()
    };
    assert_eq!(hits("emptyblob"), ["m-one"]);
    assert_eq!(hits("LOGS"), ["m-two"]);
    assert_eq!(hits("ÜNÏCODE DETAILS OF M-TWO"), ["m-two"]);
    assert_eq!(hits("src-m-one"), ["m-one"]);
    assert_eq!(hits("acct.blob"), ["m-two", "m-one"]);
    assert_eq!(hits("%"), Vec::<String>::new());
    // The secret was redacted before it was indexed.
    assert!(hits("secretsig").is_empty());
    assert_eq!(hits("  ").len(), 2);
    let page = inbox
        .list(&InboxQuery {
            limit: Some(1),
            offset: 1,
            ..all(NotificationKind::Failure)
        })
        .unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].message_id, "m-one");
}

#[test]
fn acknowledged_rows_leave_the_default_view() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = open(&dir);
    inbox
        .record(&[
            failure("m1", "X", "T", "2026-01-01T10:00:00Z"),
            failure("m2", "X", "T", "2026-01-01T10:01:00Z"),
        ])
        .unwrap();
    let k = NotificationKind::Failure;
    let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let out = inbox.acknowledge(k, &ids(&["m1", "nope"])).unwrap();
    assert_eq!(out.changed, 1);
    assert_eq!(out.unknown, ["nope"]);
    assert_eq!(inbox.acknowledge(k, &ids(&["m1"])).unwrap().unchanged, 1);
    let unacked = inbox.list(&InboxQuery::new(k)).unwrap();
    assert_eq!(unacked.len(), 1);
    assert_eq!(unacked[0].message_id, "m2");
    let acked = inbox
        .list(&InboxQuery {
            acked: AckFilter::Acked,
            ..InboxQuery::new(k)
        })
        .unwrap();
    assert_eq!(acked[0].message_id, "m1");
    assert!(acked[0].acknowledged_at.is_some());
    // Seen again, an acknowledged message stays acknowledged.
    inbox
        .record(&[failure("m1", "X", "T", "2026-01-01T10:00:00Z")])
        .unwrap();
    assert_eq!(inbox.count_matching(&InboxQuery::new(k)).unwrap(), 1);
    assert_eq!(inbox.unacknowledge(k, &ids(&["m1"])).unwrap().changed, 1);
    assert_eq!(inbox.count_matching(&InboxQuery::new(k)).unwrap(), 2);
    // The other kind's ids are not these.
    let other = inbox
        .acknowledge(NotificationKind::Success, &ids(&["m2"]))
        .unwrap();
    assert_eq!(other.unknown, ["m2"]);
}

#[test]
fn a_corrupt_or_newer_file_is_a_clear_error_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inbox.sqlite3");
    std::fs::write(&path, vec![0x42u8; 8192]).unwrap();
    let e = Inbox::open(&path, URL).unwrap_err().to_string();
    assert!(
        e.contains("cannot be used") && e.contains("move the file away"),
        "{e}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), vec![0x42u8; 8192]);

    let newer = dir.path().join("newer.sqlite3");
    {
        let c = Connection::open(&newer).unwrap();
        c.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
    }
    let e = Inbox::open(&newer, URL).unwrap_err().to_string();
    assert!(e.contains("newer than this kingest"), "{e}");

    // A directory where the file should be.
    let dir_path = dir.path().join("adir");
    std::fs::create_dir(&dir_path).unwrap();
    assert!(Inbox::open(&dir_path, URL).is_err());
}

#[test]
fn a_reopened_file_keeps_its_rows_and_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inbox.sqlite3");
    Inbox::open(&path, URL)
        .unwrap()
        .record(&[failure("m1", "X", "T", "2026-01-01T10:00:00Z")])
        .unwrap();
    let again = Inbox::open(&path, URL).unwrap();
    assert_eq!(again.count(NotificationKind::Failure).unwrap(), 1);
    let c = Connection::open(&path).unwrap();
    let v: i64 = c
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(v, SCHEMA_VERSION);
    let code: String = c
        .query_row("SELECT error_code FROM notifications_readable", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(code, "X");
}

#[test]
fn undecodable_messages_are_kept_raw() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = open(&dir);
    let m = ReceivedNotification::fixture("raw1", None, "not json at all");
    assert_eq!(inbox.record(&[m]).unwrap().new, 1);
    let row = &inbox.list(&all(NotificationKind::Failure)).unwrap()[0];
    assert_eq!(row.error_code, None);
    assert!(row.json.get("Raw").is_some(), "{}", row.json);
}
