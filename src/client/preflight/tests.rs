use super::facts::split_schema;
use super::*;
use crate::emulator::engine::dry_run::MappingSpec;

fn events() -> TableFacts {
    TableFacts::known(
        "demo",
        "Events",
        &[
            ("Timestamp", "datetime"),
            ("Level", "string"),
            ("Service", "string"),
            ("Message", "string"),
            ("DurationMs", "long"),
        ],
    )
}

fn input(format: &str) -> CheckInput {
    CheckInput {
        format: format.into(),
        mapping_ref: None,
        ignore_first_record: false,
        records: DEFAULT_RECORDS,
    }
}

fn run(facts: &TableFacts, i: &CheckInput, data: &[u8]) -> Prediction {
    predict(facts, i, data, data.len() as u64)
}

fn code(p: &Prediction) -> Option<&str> {
    p.error_code.as_deref()
}

#[test]
fn good_csv_succeeds_and_says_when_the_batch_seals() {
    let p = run(
        &events(),
        &input("csv"),
        include_bytes!("../../../assets/demo/events.csv"),
    );
    assert_eq!(code(&p), None, "{p:?}");
    assert!(p.whole_source);
    assert!(p.seal.contains("5 min"), "{}", p.seal);
    assert!(p.seal.contains("499 more"), "{}", p.seal);
}

#[test]
fn the_demo_files_get_the_codes_the_demo_expects() {
    let f = events();
    let wrong = run(
        &f,
        &input("csv"),
        include_bytes!("../../../assets/demo/bad-wrong-fields.csv"),
    );
    assert_eq!(
        code(&wrong),
        Some("Stream_WrongNumberOfFields"),
        "{wrong:?}"
    );
    assert!(wrong.details.contains("record 4"), "{}", wrong.details);
    assert_eq!(
        code(&run(&f, &input("csv"), b"")),
        Some("BadRequest_EmptyBlob")
    );
    let quote = run(
        &f,
        &input("csv"),
        include_bytes!("../../../assets/demo/bad-unclosed-quote.csv"),
    );
    assert_eq!(code(&quote), Some("Stream_ClosingQuoteMissing"));
    let header = run(
        &f,
        &input("csv"),
        include_bytes!("../../../assets/demo/events-header.csv"),
    );
    assert!(
        header
            .warnings
            .iter()
            .any(|w| w.contains("--ignore-first-record")),
        "{header:?}"
    );
}

#[test]
fn missing_entities_are_predicted_before_the_data_is_read() {
    let mut f = events();
    f.columns = Some(None);
    assert_eq!(
        code(&run(&f, &input("csv"), b"a")),
        Some("BadRequest_TableNotExist")
    );
    f.columns = None;
    assert_eq!(
        code(&run(&f, &input("csv"), b"a")),
        Some("BadRequest_DatabaseNotExist")
    );
    let mut i = input("json");
    i.mapping_ref = Some("Nope".into());
    let p = run(&events(), &i, b"{\"a\":1}\n");
    assert_eq!(code(&p), Some("BadRequest_MappingReferenceWasNotFound"));
    assert!(p.permanent);
    assert_eq!(
        code(&run(&events(), &input("xlsx"), b"a")),
        Some("BadRequest_FormatNotSupported")
    );
}

#[test]
fn over_the_size_limit_without_reading_it() {
    let p = predict(&events(), &input("csv"), b"a,b", SERVICE_SIZE_LIMIT + 1);
    assert_eq!(code(&p), Some("BadRequest_FileTooLarge"));
    let p = predict(&events(), &input("csv"), b"", 5_000_000_000);
    assert!(p.warnings.iter().any(|w| w.contains("4 GiB")), "{p:?}");
}

#[test]
fn only_the_first_records_are_read() {
    let mut data = b"2025-01-01,Information,a,b,1\n".repeat(5);
    data.extend_from_slice(b"x,y\n");
    let mut i = input("csv");
    i.records = 5;
    let p = run(&events(), &i, &data);
    assert_eq!(code(&p), None, "{p:?}");
    assert!(!p.whole_source);
    i.records = 6;
    assert_eq!(
        code(&run(&events(), &i, &data)),
        Some("Stream_WrongNumberOfFields")
    );
}

#[test]
fn sealing_follows_the_policy() {
    let p = BatchingPolicy {
        max_time: Duration::from_secs(30),
        max_items: 1,
        max_raw_mb: 100,
    };
    assert!(seal(&p, PolicySource::Table, 10).contains("at once"));
    let p = BatchingPolicy { max_items: 20, ..p };
    let s = seal(&p, PolicySource::Database, 10);
    assert!(
        s.contains("30 s") && s.contains("19 more") && s.contains("database"),
        "{s}"
    );
    assert!(seal(&p, PolicySource::Default, 200 * 1024 * 1024).contains("MaximumRawDataSizeMB"));
}

#[test]
fn cslschema_is_split_at_top_level_commas() {
    assert_eq!(
        split_schema("A:string, ['b, c:d']:long,C:dynamic"),
        vec![
            ("A".to_string(), "string".to_string()),
            ("b, c:d".to_string(), "long".to_string()),
            ("C".to_string(), "dynamic".to_string()),
        ]
    );
}

// Failing examples from the service's documentation (MicrosoftDocs/dataexplorer-docs).

/// DOCS `data-explorer/ingest-json-formats.md`, "Simple JSON example": one record spread over
/// several lines. Sent as `json` (JSON Lines) it is "JSON format used instead of MULTIJSON":
/// BadRequest_NoRecordsOrWrongFormat (DOCS `data-explorer/error-codes.md`); as multijson it lands.
const DOC_SIMPLE_JSON: &str = r#"{
    "timestamp": "2019-05-02 15:23:50.0369439",
    "deviceId": "2945c8aa-f13e-4c48-4473-b81440bb5ca2",
    "messageId": "7f316225-839a-4593-92b5-1812949279b3",
    "temperature": 31.0301639051317,
    "humidity": 62.0791099602725
}"#;

fn devices() -> TableFacts {
    let mut f = TableFacts::known(
        "TestDatabase",
        "Events",
        &[
            ("Time", "datetime"),
            ("Device", "string"),
            ("MessageId", "string"),
            ("Temperature", "double"),
            ("Humidity", "double"),
        ],
    );
    // DOCS `ingest-json-formats.md`, "Ingest mapped JSON records": the FlatEventMapping.
    f.mappings.push(MappingSpec {
        name: "FlatEventMapping".into(),
        kind: "Json".into(),
        json: r#"[{"column":"Time","Properties":{"Path":"$.timestamp"}},{"column":"Device","Properties":{"Path":"$.deviceId"}},{"column":"MessageId","Properties":{"Path":"$.messageId"}},{"column":"Temperature","Properties":{"Path":"$.temperature"}},{"column":"Humidity","Properties":{"Path":"$.humidity"}}]"#.into(),
    });
    f
}

#[test]
fn doc_pretty_printed_json_sent_as_json_lines() {
    let mut i = input("json");
    i.mapping_ref = Some("FlatEventMapping".into());
    let p = run(&devices(), &i, DOC_SIMPLE_JSON.as_bytes());
    assert_eq!(code(&p), Some("BadRequest_NoRecordsOrWrongFormat"), "{p:?}");
    i.format = "multijson".into();
    let p = run(&devices(), &i, DOC_SIMPLE_JSON.as_bytes());
    assert_eq!(code(&p), None, "{p:?}");
    assert_eq!(p.records_checked, 1);
}

/// DOCS `data-explorer/ingest-invalid-data.md`: "Malformed records in JSON data ingested with
/// format="multijson" (e.g. missing braces or quotes)" → BadRequest_InvalidBlob, even after good
/// records ("the entire file is discarded", `ingest-json-formats.md`); with format="json"
/// "Malformed records are ignored and not ingested" (no error).
#[test]
fn doc_malformed_json_records() {
    let missing_brace = format!(
        "{DOC_SIMPLE_JSON}\n{}",
        &DOC_SIMPLE_JSON[..DOC_SIMPLE_JSON.len() - 1]
    );
    let mut i = input("multijson");
    i.mapping_ref = Some("FlatEventMapping".into());
    let p = run(&devices(), &i, missing_brace.as_bytes());
    assert_eq!(code(&p), Some("BadRequest_InvalidBlob"), "{p:?}");
    i.format = "json".into();
    let lines =
        "{\"timestamp\":\"2019-05-02 15:23:50\",\"deviceId\":\"d\"}\n{\"timestamp\":\"2019-05-02\n";
    let p = run(&devices(), &i, lines.as_bytes());
    assert_eq!(code(&p), None, "{p:?}");
    assert!(p.warnings.iter().any(|w| w.contains("silently")), "{p:?}");
}

/// DOCS `data-explorer/ingest-invalid-data.md`: "CSV lines with inconsistent number of fields"
/// → Stream_WrongNumberOfFields; DOCS `kusto/management/csv-mapping.md` maps by Ordinal, so a
/// mapped ordinal past the record's last field is the same error.
#[test]
fn doc_csv_lines_with_inconsistent_fields() {
    let f = TableFacts::known(
        "db",
        "T",
        &[("a", "string"), ("b", "string"), ("c", "long")],
    );
    let p = run(&f, &input("csv"), b"x,y,1\nx,y\n");
    assert_eq!(code(&p), Some("Stream_WrongNumberOfFields"));
    let mut f = f;
    f.mappings.push(MappingSpec {
        name: "m".into(),
        kind: "Csv".into(),
        json: r#"[{"column":"a","Properties":{"Ordinal":"0"}},{"column":"c","Properties":{"Ordinal":"4"}}]"#.into(),
    });
    let mut i = input("csv");
    i.mapping_ref = Some("m".into());
    assert_eq!(
        code(&run(&f, &i, b"x,y,1\n")),
        Some("Stream_WrongNumberOfFields")
    );
}

/// DOCS `data-explorer/error-codes.md`: "BadRequest_EmptyBlob | Blob is empty", and
/// `ingest-invalid-data.md`: "Empty Data" → BadRequest_NoRecordsOrWrongFormat (a source with
/// bytes but no records).
#[test]
fn doc_empty_data() {
    assert_eq!(
        code(&run(&events(), &input("csv"), b"")),
        Some("BadRequest_EmptyBlob")
    );
    assert_eq!(
        code(&run(&events(), &input("json"), b"\n\n")),
        Some("BadRequest_NoRecordsOrWrongFormat")
    );
}
