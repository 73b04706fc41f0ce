//! Engine-level tests: commands, scripts, ingestion by format, and the demo assets.

use super::*;
use chrono::TimeZone;
use serde_json::json;

const SCHEMA: &str = include_str!("../../../assets/demo/schema.kql");

pub(super) fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0).single().unwrap()
}

fn demo() -> Engine {
    let mut e = Engine::new();
    e.load_script(SCHEMA).unwrap();
    e
}

pub(super) fn req(table: &str, format: &str) -> IngestRequest {
    IngestRequest {
        database: "demo".into(),
        table: table.into(),
        format: format.into(),
        source_id: "src-1".into(),
        ..Default::default()
    }
}

fn ingest(e: &mut Engine, r: &IngestRequest, data: &[u8]) -> Result<IngestOutcome, IngestFailure> {
    e.ingest(r, data, now())
}

fn code(r: Result<IngestOutcome, IngestFailure>) -> String {
    match r {
        Ok(o) => panic!("expected a failure, got {o:?}"),
        Err(f) => {
            assert_eq!(f.status, FailureStatus::Permanent);
            f.error_code
        }
    }
}

fn rows(e: &mut Engine, table: &str) -> Vec<Vec<Value>> {
    e.execute(Some("demo"), table, now()).unwrap().rows
}

#[test]
fn demo_schema_loads() {
    let mut e = Engine::new();
    assert_eq!(e.load_script(SCHEMA).unwrap(), 5);
    assert!(e.database_exists("demo"));
    assert!(e.database_exists("DEMO"));
    assert_eq!(e.row_count("demo", "Events"), Some(0));
    assert_eq!(e.row_count("demo", "Nope"), None);
    let t = e
        .execute(
            Some("demo"),
            ".show table Metrics ingestion json mappings",
            now(),
        )
        .unwrap();
    assert_eq!(t.rows.len(), 1);
    assert_eq!(t.rows[0][0], json!("MetricsJson"));
    assert_eq!(t.rows[0][1], json!("Json"));
    let mapping = t.rows[0][2].as_str().unwrap();
    assert!(mapping.contains("$.host.name"), "{mapping}");
}

#[test]
fn script_errors_name_the_line() {
    let mut e = Engine::new();
    let err = e
        .load_script(".create database d\n\n.create table T (A:string)\n.create tabel X (A:long)\n")
        .unwrap_err();
    assert_eq!(err.code, "BadRequest_SyntaxError");
    assert!(err.message.contains("line 4"), "{}", err.message);
    assert!(err.message.contains(".create tabel"), "{}", err.message);
    let err = Engine::new()
        .load_script(".create table T (A:string)")
        .unwrap_err();
    assert!(err.message.contains("line 1"), "{}", err.message);
}

#[test]
fn show_databases_and_version() {
    let mut e = demo();
    let t = e.execute(Some("demo"), ".show databases", now()).unwrap();
    assert_eq!(t.columns[0].name, "DatabaseName");
    assert_eq!(t.columns.len(), 9);
    assert_eq!(t.rows[0][0], json!("demo"));
    assert_eq!(t.rows[0][3], json!(true));
    let t = e.execute(None, ".show version", now()).unwrap();
    let i = t.column_index("ServiceType").unwrap();
    assert_eq!(t.rows[0][i], json!("DataManagement"));
    assert!(t.column_index("BuildVersion").is_some());
}

#[test]
fn show_tables_and_details_count_rows() {
    let mut e = demo();
    ingest(
        &mut e,
        &req("Events", "csv"),
        b"2025-01-01,Info,s,m,1\n2025-01-01,Info,s,m,2\n",
    )
    .unwrap();
    let t = e.execute(Some("demo"), ".show tables", now()).unwrap();
    let names: Vec<_> = t.column("TableName").flatten().cloned().collect();
    assert_eq!(names, vec![json!("Events"), json!("Metrics")]);
    let t = e
        .execute(Some("demo"), ".show tables details", now())
        .unwrap();
    let i = t.column_index("TotalRowCount").unwrap();
    assert_eq!(t.rows[0][i], json!(2));
    assert_eq!(t.rows[0][t.column_index("TotalExtents").unwrap()], json!(1));
    assert_eq!(t.rows[1][i], json!(0));
    for c in [
        "HotRowCount",
        "TotalOriginalSize",
        "DatabaseName",
        "Folder",
        "DocString",
    ] {
        assert!(t.column_index(c).is_some(), "{c}");
    }
}

#[test]
fn errors_for_unknown_things() {
    let mut e = demo();
    let err = e.execute(Some("nope"), ".show tables", now()).unwrap_err();
    assert_eq!(
        (err.status, err.code.as_str()),
        (404, "BadRequest_EntityNotFound")
    );
    let err = e.execute(Some("demo"), ".frobnicate", now()).unwrap_err();
    assert_eq!(
        (err.status, err.code.as_str()),
        (400, "BadRequest_SyntaxError")
    );
    let err = e.execute(Some("demo"), "Nope | count", now()).unwrap_err();
    assert_eq!(err.status, 404);
    let err = e
        .execute(
            Some("demo"),
            ".show table Events ingestion csv mapping 'X'",
            now(),
        )
        .unwrap_err();
    assert_eq!(err.status, 404);
}

#[test]
fn create_table_modes() {
    let mut e = demo();
    // Same schema again is fine; a different one is not.
    e.execute(
        Some("demo"),
        ".create table Metrics (Timestamp:datetime, Host:string, Name:string, Value:real, Tags:dynamic)",
        now(),
    )
    .unwrap();
    let err = e
        .execute(Some("demo"), ".create table Metrics (A:string)", now())
        .unwrap_err();
    assert_eq!(err.code, "BadRequest_EntityAlreadyExists");
    ingest(&mut e, &req("Events", "csv"), b"2025-01-01,Info,s,m,1\n").unwrap();
    let t = e
        .execute(
            Some("demo"),
            ".create-merge table Events (Extra:bool)",
            now(),
        )
        .unwrap();
    assert!(t.rows[0][1].as_str().unwrap().ends_with("Extra:bool"));
    assert_eq!(rows(&mut e, "Events")[0].len(), 6);
    e.execute(
        Some("demo"),
        ".alter table Events (DurationMs:long, Level:string)",
        now(),
    )
    .unwrap();
    assert_eq!(rows(&mut e, "Events")[0], vec![json!(1), json!("Info")]);
    let err = e
        .execute(
            Some("demo"),
            ".create-merge table Events (Level:long)",
            now(),
        )
        .unwrap_err();
    assert!(err.message.contains("Level"));
}

#[test]
fn mapping_creation_validates() {
    let mut e = demo();
    let err = e
        .execute(
            Some("demo"),
            ".create table Events ingestion csv mapping 'Bad' '[{'",
            now(),
        )
        .unwrap_err();
    assert_eq!(err.code, "BadRequest_InvalidMapping");
    let err = e
        .execute(
            Some("demo"),
            r#".create table Events ingestion csv mapping 'Bad' '[{"column":"Nope","Properties":{"Ordinal":"0"}}]'"#,
            now(),
        )
        .unwrap_err();
    assert!(err.message.contains("Nope"));
    let t = e
        .execute(Some("demo"), ".show ingestion mappings", now())
        .unwrap();
    assert_eq!(t.rows.len(), 2);
}

#[test]
fn queries_count_and_take() {
    let mut e = demo();
    ingest(
        &mut e,
        &req("Events", "csv"),
        include_bytes!("../../../assets/demo/events.csv"),
    )
    .unwrap();
    let t = e.execute(Some("demo"), "Events | count", now()).unwrap();
    assert_eq!(t.columns[0].name, "Count");
    assert_eq!(t.rows, vec![vec![json!(25)]]);
    let t = e.execute(Some("demo"), "Events | take 2", now()).unwrap();
    assert_eq!(t.rows.len(), 2);
    assert_eq!(t.columns[0].column_type.as_deref(), Some("datetime"));
    assert_eq!(t.rows[0][0], json!("2025-03-01T09:00:42.9700000Z"));
    assert_eq!(t.rows[0][4], json!(40));
    let t = e
        .execute(Some("demo"), "Events | take 3 | count", now())
        .unwrap();
    assert_eq!(t.rows, vec![vec![json!(3)]]);
}

#[test]
fn demo_good_files() {
    let mut e = demo();
    let o = ingest(
        &mut e,
        &req("Events", "csv"),
        include_bytes!("../../../assets/demo/events.csv"),
    )
    .unwrap();
    assert_eq!((o.rows, o.rejected), (25, 0));
    let quoted = rows(&mut e, "Events")
        .into_iter()
        .find(|r| r[3].as_str().is_some_and(|m| m.contains("insufficient")))
        .unwrap();
    assert_eq!(quoted[3], json!("payment declined: \"insufficient funds\""));

    let mut r = req("Events", "csv");
    r.ignore_first_record = true;
    let o = ingest(
        &mut e,
        &r,
        include_bytes!("../../../assets/demo/events-header.csv"),
    )
    .unwrap();
    assert_eq!(o.rows, 15);
    // Without the flag the header row lands as a row of nulls/strings — still 16 rows.
    let o = ingest(
        &mut e,
        &req("Events", "csv"),
        include_bytes!("../../../assets/demo/events-header.csv"),
    )
    .unwrap();
    assert_eq!(o.rows, 16);

    let o = ingest(
        &mut e,
        &req("Events", "tsv"),
        include_bytes!("../../../assets/demo/events.tsv"),
    )
    .unwrap();
    assert_eq!(o.rows, 20);

    let mut r = req("Metrics", "json");
    r.mapping_reference = Some("MetricsJson".into());
    let o = ingest(
        &mut e,
        &r,
        include_bytes!("../../../assets/demo/metrics.json"),
    )
    .unwrap();
    assert_eq!((o.rows, o.rejected), (20, 0));
    let first = &rows(&mut e, "Metrics")[0];
    assert_eq!(first[0], json!("2025-03-01T09:00:15.0000000Z"));
    assert_eq!(first[1], json!("db-01"));
    assert_eq!(first[4], json!({"env":"demo","rack":"r3"}));

    let mut r = req("Metrics", "multijson");
    r.mapping_reference = Some("MetricsJson".into());
    let o = ingest(
        &mut e,
        &r,
        include_bytes!("../../../assets/demo/metrics-multi.json"),
    )
    .unwrap();
    assert_eq!(o.rows, 10);
    assert_eq!(e.row_count("demo", "Metrics"), Some(30));
    assert_eq!(e.row_count("demo", "Events"), Some(76));
}

#[test]
fn demo_bad_files() {
    let mut e = demo();
    let f = ingest(
        &mut e,
        &req("Events", "csv"),
        include_bytes!("../../../assets/demo/bad-wrong-fields.csv"),
    )
    .unwrap_err();
    assert_eq!(f.error_code, "Stream_WrongNumberOfFields");
    assert!(
        f.details.contains("record 4 (line 4) has 4 field(s)"),
        "{}",
        f.details
    );
    assert!(
        f.details.contains("'Events' has 5 columns"),
        "{}",
        f.details
    );
    assert_eq!(
        code(ingest(
            &mut e,
            &req("Events", "csv"),
            include_bytes!("../../../assets/demo/bad-empty.csv")
        )),
        "BadRequest_EmptyBlob"
    );
    let f = ingest(
        &mut e,
        &req("Events", "csv"),
        include_bytes!("../../../assets/demo/bad-unclosed-quote.csv"),
    )
    .unwrap_err();
    assert_eq!(f.error_code, "Stream_ClosingQuoteMissing");
    assert!(f.details.contains("line 5"), "{}", f.details);
    let mut r = req("Metrics", "json");
    r.mapping_reference = Some("MetricsJson".into());
    let f = ingest(
        &mut e,
        &r,
        include_bytes!("../../../assets/demo/bad-not-json.json"),
    )
    .unwrap_err();
    assert_eq!(f.error_code, "BadRequest_NoRecordsOrWrongFormat");
    assert!(f.details.contains("3 record(s) rejected"), "{}", f.details);
    // Nothing was appended by any failure.
    assert_eq!(e.row_count("demo", "Events"), Some(0));
    assert_eq!(e.row_count("demo", "Metrics"), Some(0));
    // The mapping-reference and missing-table variants the README lists.
    let mut r = req("Events", "csv");
    r.mapping_reference = Some("NoSuchMapping".into());
    assert_eq!(
        code(ingest(
            &mut e,
            &r,
            include_bytes!("../../../assets/demo/events.csv")
        )),
        "BadRequest_MappingReferenceWasNotFound"
    );
    assert_eq!(
        code(ingest(
            &mut e,
            &req("Missing", "csv"),
            include_bytes!("../../../assets/demo/events.csv")
        )),
        "BadRequest_TableNotExist"
    );
    // A csv mapping name is not found for a json format (kinds differ).
    let mut r = req("Events", "json");
    r.mapping_reference = Some("EventsCsv".into());
    assert_eq!(
        code(ingest(&mut e, &r, b"{}\n")),
        "BadRequest_MappingReferenceWasNotFound"
    );
}

#[test]
fn ingest_checks_in_order() {
    let mut e = demo();
    let mut r = req("Events", "csv");
    r.database = "other".into();
    assert_eq!(
        code(ingest(&mut e, &r, b"x")),
        "BadRequest_DatabaseNotExist"
    );
    assert_eq!(
        code(ingest(&mut e, &req("Events", "xlsx"), b"x")),
        "BadRequest_FormatNotSupported"
    );
    let f = ingest(&mut e, &req("Events", "orc"), b"x").unwrap_err();
    assert!(f.details.contains("emulator"), "{}", f.details);
    let mut r = req("Events", "csv");
    r.mapping_reference = Some("EventsCsv".into());
    r.mapping = Some("[]".into());
    assert_eq!(
        code(ingest(&mut e, &r, b"x")),
        "BadRequest_DuplicateMapping"
    );
    let mut r = req("Events", "csv");
    r.mapping = Some("[{\"column\":".into());
    assert_eq!(code(ingest(&mut e, &r, b"x")), "BadRequest_InvalidMapping");
    assert_eq!(
        code(ingest(&mut e, &req("Events", "csv"), b"\xEF\xBB\xBF")),
        "BadRequest_EmptyBlob"
    );
    assert_eq!(
        code(ingest(&mut e, &req("Events", "csv"), b"\n\n")),
        "BadRequest_NoRecordsOrWrongFormat"
    );
}

#[test]
fn csv_odd_inputs() {
    let mut e = demo();
    let data = "\u{feff}2025-01-01T00:00:00Z,Info,svc,\"multi\r\nline, \"\"quoted\"\"\",5\r\n\
                2025-01-01,Warn,日本,naïve ✓,notanumber\r\n";
    let o = ingest(&mut e, &req("Events", "csv"), data.as_bytes()).unwrap();
    assert_eq!(o.rows, 2);
    let r = rows(&mut e, "Events");
    assert_eq!(r[0][0], json!("2025-01-01T00:00:00.0000000Z"));
    assert_eq!(r[0][3], json!("multi\r\nline, \"quoted\""));
    assert_eq!(r[1][2], json!("日本"));
    assert_eq!(r[1][4], Value::Null);
    // psv / scsv / sohsv with identity mapping.
    for (fmt, sep) in [("psv", "|"), ("scsv", ";"), ("sohsv", "\u{1}")] {
        let line = ["2025-01-01", "I", "s", "m", "1"].join(sep);
        assert_eq!(
            ingest(&mut e, &req("Events", fmt), line.as_bytes())
                .unwrap()
                .rows,
            1,
            "{fmt}"
        );
    }
}

#[test]
fn ordinal_and_const_mappings() {
    let mut e = demo();
    let mut r = req("Events", "csv");
    r.mapping = Some(
        r#"[{"column":"Message","Properties":{"Ordinal":"1"}},
            {"column":"Service","Properties":{"ConstValue":"const-svc"}},
            {"column":"DurationMs","Properties":{"Ordinal":"0"}}]"#
            .into(),
    );
    ingest(&mut e, &r, b"7,hello,ignored\n").unwrap();
    assert_eq!(
        rows(&mut e, "Events")[0],
        vec![
            Value::Null,
            Value::Null,
            json!("const-svc"),
            json!("hello"),
            json!(7)
        ]
    );
    r.mapping = Some(r#"[{"column":"Message","Properties":{"Ordinal":"3"}}]"#.into());
    let f = ingest(&mut e, &r, b"a,b\n").unwrap_err();
    assert_eq!(f.error_code, "Stream_WrongNumberOfFields");
    assert!(f.details.contains("Ordinal 3"), "{}", f.details);
    r.mapping = Some(r#"[{"column":"Message","Properties":{"Path":"$.m"}}]"#.into());
    assert_eq!(
        code(ingest(&mut e, &r, b"a\n")),
        "BadRequest_InvalidMapping"
    );
    r.mapping = Some(r#"[{"column":"Nope","Properties":{"Ordinal":"0"}}]"#.into());
    assert_eq!(
        code(ingest(&mut e, &r, b"a\n")),
        "BadRequest_InconsistentMapping"
    );
}

#[test]
fn json_identity_partial_and_single() {
    let mut e = demo();
    let data =
        b"{\"Timestamp\":\"2025-01-01T00:00:00Z\",\"Host\":\"h\",\"Value\":1.5,\"Tags\":[1]}\n\
                 not json\n{\"Host\":\"h2\",\"host\":\"ignored\"}\n";
    let o = ingest(&mut e, &req("Metrics", "json"), data).unwrap();
    assert_eq!((o.rows, o.rejected), (2, 1));
    let r = rows(&mut e, "Metrics");
    assert_eq!(
        r[0],
        vec![
            json!("2025-01-01T00:00:00.0000000Z"),
            json!("h"),
            Value::Null,
            json!(1.5),
            json!([1])
        ]
    );
    assert_eq!(r[1][1], json!("h2"));
    let o = ingest(
        &mut e,
        &req("Metrics", "singlejson"),
        b"{\n\"Name\": \"n\"\n}",
    )
    .unwrap();
    assert_eq!(o.rows, 1);
    let o = ingest(
        &mut e,
        &req("Metrics", "multijson"),
        b"[{\"Name\":\"a\"},{\"Name\":\"b\"}]",
    )
    .unwrap();
    assert_eq!(o.rows, 2);
    let f = ingest(&mut e, &req("Metrics", "json"), b"{\n\"Name\": \"n\"\n}\n").unwrap_err();
    assert!(f.details.contains("multijson"), "{}", f.details);
}

#[test]
fn txt_raw_and_tsve() {
    let mut e = Engine::new();
    e.load_script(".create database d\n.create table Lines (Line:string)\n.create table T (A:string, B:string)")
        .unwrap();
    let r = |t: &str, f: &str| IngestRequest {
        database: "d".into(),
        table: t.into(),
        format: f.into(),
        ..Default::default()
    };
    assert_eq!(
        e.ingest(&r("Lines", "txt"), b"a,b\r\nc\n\n", now())
            .unwrap()
            .rows,
        2
    );
    assert_eq!(
        e.ingest(&r("Lines", "raw"), b"all\nof it", now())
            .unwrap()
            .rows,
        1
    );
    let t = e.execute(Some("d"), "Lines", now()).unwrap();
    assert_eq!(t.rows[2][0], json!("all\nof it"));
    e.ingest(&r("T", "tsve"), b"x\\ty\tz\\\\\n", now()).unwrap();
    let t = e.execute(Some("d"), "T", now()).unwrap();
    assert_eq!(t.rows[0], vec![json!("x\ty"), json!("z\\")]);
}

#[test]
fn tags_and_ingest_if_not_exists() {
    let mut e = demo();
    let mut r = req("Events", "csv");
    r.tags = vec!["ingest-by:batch-1".into(), "drop-by:x".into()];
    ingest(&mut e, &r, b"2025-01-01,I,s,m,1\n").unwrap();
    let mut again = req("Events", "csv");
    again.ingest_if_not_exists = vec!["batch-1".into()];
    let o = ingest(&mut e, &again, b"2025-01-01,I,s,m,1\n").unwrap();
    assert!(o.skipped_existing);
    assert_eq!(o.rows, 0);
    again.ingest_if_not_exists = vec!["batch-2".into()];
    assert!(
        !ingest(&mut e, &again, b"2025-01-01,I,s,m,1\n")
            .unwrap()
            .skipped_existing
    );
    // A plain tag equal to the value is not an `ingest-by:` tag: no match.
    again.ingest_if_not_exists = vec!["drop-by:x".into()];
    assert!(
        !ingest(&mut e, &again, b"2025-01-01,I,s,m,1\n")
            .unwrap()
            .skipped_existing
    );
    assert_eq!(e.row_count("demo", "Events"), Some(3));
    let t = e
        .execute(Some("demo"), ".show table Events extents", now())
        .unwrap();
    assert_eq!(t.rows.len(), 3);
    assert_eq!(t.rows[0][5], json!("ingest-by:batch-1\r\ndrop-by:x"));
    // The tag filters of `.show table T extents where tags …` (show-extents.md).
    let mut count = |csl: &str| e.execute(Some("demo"), csl, now()).unwrap().rows.len();
    assert_eq!(
        count(".show table Events extents where tags has 'DROP-BY:X'"),
        1
    );
    assert_eq!(
        count(".show table Events extents where tags has 'drop-by'"),
        0
    );
    assert_eq!(
        count(".show table Events extents where tags contains 'drop-by'"),
        1
    );
    assert_eq!(
        count(".show table Events extents where tags !has 'drop-by:x'"),
        2
    );
    assert_eq!(
        count(
            ".show table Events extents where tags has 'drop-by:x' and tags !has 'ingest-by:batch-1'"
        ),
        0
    );
}

#[test]
fn failures_are_shown() {
    let mut e = demo();
    e.record_failure(FailureRecord {
        operation_id: "op-1".into(),
        database: "demo".into(),
        table: "Events".into(),
        failed_on: now(),
        source_path: "https://a.blob.core.windows.net/c/x.csv".into(),
        details: "bad".into(),
        failure_status: FailureStatus::Permanent,
        root_activity_id: "ra".into(),
        error_code: "Stream_WrongNumberOfFields".into(),
    });
    let t = e
        .execute(Some("demo"), ".show ingestion failures", now())
        .unwrap();
    assert_eq!(t.rows.len(), 1);
    for (c, v) in [
        ("OperationId", json!("op-1")),
        ("FailureKind", json!("Permanent")),
        ("ErrorCode", json!("Stream_WrongNumberOfFields")),
        ("FailedOn", json!("2025-03-01T12:00:00.0000000Z")),
        ("ShouldRetry", json!(false)),
    ] {
        assert_eq!(t.rows[0][t.column_index(c).unwrap()], v, "{c}");
    }
    for c in [
        "IngestionSourcePath",
        "Details",
        "RootActivityId",
        "OperationKind",
        "OriginatesFromUpdatePolicy",
    ] {
        assert!(t.column_index(c).is_some(), "{c}");
    }
    let t = e
        .execute(
            Some("demo"),
            ".show ingestion failures with (OperationId='other')",
            now(),
        )
        .unwrap();
    assert!(t.rows.is_empty());
}

#[test]
fn readme_provoked_failures() {
    let mut e = demo();
    let metrics = include_bytes!("../../../assets/demo/metrics.json");
    assert_eq!(
        code(ingest(&mut e, &req("Metrics", "csv"), metrics)),
        "Stream_WrongNumberOfFields"
    );
    let multi = include_bytes!("../../../assets/demo/metrics-multi.json");
    assert_eq!(
        code(ingest(&mut e, &req("Metrics", "json"), multi)),
        "BadRequest_NoRecordsOrWrongFormat"
    );
    let header = include_bytes!("../../../assets/demo/events-header.csv");
    ingest(&mut e, &req("Events", "csv"), header).unwrap();
    let first = &rows(&mut e, "Events")[0];
    assert_eq!((&first[0], &first[4]), (&Value::Null, &Value::Null));
    assert_eq!(first[1], json!("Level"));
}

#[test]
fn rows_beyond_the_stored_ones_are_counted_and_checked() {
    let mut e = demo();
    let line = "2025-01-01T00:00:00Z,Info,svc,m,1\n";
    let mut data = line.repeat(MAX_STORED_ROWS + 2);
    let o = ingest(&mut e, &req("Events", "csv"), data.as_bytes()).unwrap();
    assert_eq!(o.rows, MAX_STORED_ROWS as u64 + 2);
    assert_eq!(e.row_count("demo", "Events"), Some(o.rows));
    // A record past the kept rows with the wrong field count still fails the whole source,
    // with its number and line.
    data.push_str("2025-01-01,Info,svc\n");
    let f = ingest(&mut e, &req("Events", "csv"), data.as_bytes()).unwrap_err();
    assert_eq!(f.error_code, "Stream_WrongNumberOfFields");
    let want = format!(
        "record {n} (line {n}) has 3 field(s)",
        n = MAX_STORED_ROWS + 3
    );
    assert!(f.details.starts_with(&want), "{}", f.details);
    assert_eq!(e.row_count("demo", "Events"), Some(o.rows));
    // Ignoring the first record shifts the numbering; a mapped ordinal is checked too.
    let mut r = req("Events", "csv");
    r.ignore_first_record = true;
    r.mapping = Some(r#"[{"column":"Message","Properties":{"Ordinal":"4"}}]"#.into());
    let f = ingest(&mut e, &r, data.as_bytes()).unwrap_err();
    let want = format!(
        "record {} (line {}) has 3 field(s): column 'Message' is mapped to Ordinal 4",
        MAX_STORED_ROWS + 2,
        MAX_STORED_ROWS + 3
    );
    assert!(f.details.starts_with(&want), "{}", f.details);
}
