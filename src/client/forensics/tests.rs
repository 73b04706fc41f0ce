use super::*;

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

fn csv() -> SentAs {
    SentAs {
        format: "csv".into(),
        mapping_ref: None,
        ignore_first_record: false,
    }
}

#[test]
fn details_wordings_of_the_service_and_the_emulator() {
    assert_eq!(
        parse_location(
            "Stream_WrongNumberOfFields: record 2 (start position in stream: 17) has 3 fields"
        ),
        Some(Location {
            record: Some(2),
            line: None,
            offset: Some(17)
        })
    );
    assert_eq!(
        parse_location("record 4 (line 4) has 4 field(s): table 'Events' has 5 columns"),
        Some(Location {
            record: Some(4),
            line: Some(4),
            offset: None
        })
    );
    assert_eq!(
        parse_location(
            "no records could be read as json: 1 record(s) rejected; first at line 3: x"
        ),
        Some(Location {
            record: None,
            line: Some(3),
            offset: None
        })
    );
    assert_eq!(parse_location("Blob is empty"), None);
}

#[test]
fn the_demo_wrong_fields_file_shows_its_bad_record_and_a_fix() {
    let data = include_bytes!("../../../assets/demo/bad-wrong-fields.csv");
    let f = explain(
        data,
        &csv(),
        "Stream_WrongNumberOfFields",
        "record 4 (line 4) has 4 field(s): table 'Events' has 5 columns (identity mapping)",
        &events(),
    );
    let bad: Vec<_> = f.records.iter().filter(|r| r.bad).collect();
    assert_eq!(bad.len(), 1, "{f:?}");
    assert_eq!((bad[0].line, bad[0].fields), (4, 4));
    assert!(bad[0].text.contains("missing duration column"));
    assert_eq!(f.records.len(), 5, "±2 neighbours");
    assert_eq!(f.expected_fields, Some(5));
    assert!(
        f.why.contains("has 4 field(s); the table needs 5"),
        "{}",
        f.why
    );
    assert!(
        f.fixes.iter().any(|x| x.contains("lacks 1 field")),
        "{:?}",
        f.fixes
    );
}

#[test]
fn the_service_s_start_position_finds_the_record() {
    let data = b"a,b,c,d,1\nx,y\nq,w,e,r,2\n";
    let f = explain(
        data,
        &csv(),
        "Stream_WrongNumberOfFields",
        "record 2 (start position in stream: 10)",
        &events(),
    );
    let bad = f.records.iter().find(|r| r.bad).unwrap();
    assert_eq!((bad.line, bad.offset, bad.fields), (2, 10, 2));
}

#[test]
fn a_header_and_a_wrong_delimiter_are_named() {
    let header = b"Timestamp,Level,Service,Message,DurationMs\n2025-01-01,Info,a,b,1\n";
    let f = explain(header, &csv(), "Stream_WrongNumberOfFields", "", &events());
    assert!(
        f.fixes.iter().any(|x| x.contains("--ignore-first-record")),
        "{:?}",
        f.fixes
    );
    let tabs = b"2025-01-01\tInfo\ta\tb\t1\n2025-01-02\tInfo\ta\tb\t2\n";
    let f = explain(
        tabs,
        &csv(),
        "Stream_WrongNumberOfFields",
        "record 1 (line 1)",
        &events(),
    );
    assert!(
        f.fixes.iter().any(|x| x.contains("--format tsv")),
        "{:?}",
        f.fixes
    );
}

#[test]
fn pretty_printed_json_sent_as_json_lines_suggests_multijson() {
    let data = b"{\n  \"a\": 1\n}\n";
    let sent = SentAs {
        format: "json".into(),
        ..csv()
    };
    let f = explain(
        data,
        &sent,
        "BadRequest_NoRecordsOrWrongFormat",
        "1 record(s) rejected; first at line 1: invalid JSON",
        &events(),
    );
    assert!(
        f.fixes.iter().any(|x| x.contains("--format multijson")),
        "{:?}",
        f.fixes
    );
    assert!(f.records.iter().any(|r| r.bad && r.line == 1));
}
