//! Parquet and Avro ingestion: codecs, types, nulls, nested values, mappings, corrupt files.

use super::samples::{self, SAMPLE_TABLE, sample_rows};
use super::tests::{now, req};
use super::*;
use serde_json::json;

fn engine(table_command: &str) -> Engine {
    let mut e = Engine::new();
    e.load_script(".create database demo").unwrap();
    e.execute(Some("demo"), table_command, now()).unwrap();
    e
}

fn rows(e: &mut Engine, query: &str) -> Vec<Vec<Value>> {
    e.execute(Some("demo"), query, now()).unwrap().rows
}

fn parquet(c: parquet::basic::Compression) -> Vec<u8> {
    samples::parquet(c).unwrap()
}

fn avro(c: apache_avro::Codec) -> Vec<u8> {
    samples::avro(c).unwrap()
}

fn failure(e: &mut Engine, r: &IngestRequest, data: &[u8]) -> IngestFailure {
    match e.ingest(r, data, now()) {
        Ok(o) => panic!("expected a failure, got {o:?}"),
        Err(f) => f,
    }
}

#[test]
fn parquet_by_column_name_with_every_codec() {
    use parquet::basic::{Compression, GzipLevel, ZstdLevel};
    for c in [
        Compression::UNCOMPRESSED,
        Compression::SNAPPY,
        Compression::GZIP(GzipLevel::default()),
        Compression::ZSTD(ZstdLevel::default()),
    ] {
        let mut e = engine(SAMPLE_TABLE);
        let out = e.ingest(&req("Samples", "parquet"), &parquet(c), now());
        assert_eq!(out.unwrap().rows, 2, "{c:?}");
        assert_eq!(rows(&mut e, "Samples"), sample_rows(), "{c:?}");
    }
}

#[test]
fn avro_and_apacheavro_by_column_name_with_every_codec() {
    use apache_avro::{Codec, DeflateSettings, ZstandardSettings};
    for (format, c) in [
        ("avro", Codec::Null),
        ("avro", Codec::Deflate(DeflateSettings::default())),
        ("apacheavro", Codec::Snappy),
        ("AVRO", Codec::Zstandard(ZstandardSettings::default())),
    ] {
        let mut e = engine(SAMPLE_TABLE);
        let out = e.ingest(&req("Samples", format), &avro(c), now());
        assert_eq!(out.unwrap().rows, 2, "{format} {c:?}");
        assert_eq!(rows(&mut e, "Samples"), sample_rows(), "{format} {c:?}");
    }
}

#[test]
fn values_convert_to_other_column_types_as_the_docs_table_says() {
    // DOCS parquet-mapping.md "Parquet type conversions": numbers and booleans to string,
    // decimal to real, a struct only to dynamic (a string column gets its JSON text), a
    // timestamp to string; a fractional real is no long.
    let table = ".create table Conv (id: string, score: long, ok: string, ts: string, \
                 price: real, props: string, name: int)";
    let mut e = engine(table);
    e.ingest(
        &req("Conv", "parquet"),
        &parquet(parquet::basic::Compression::SNAPPY),
        now(),
    )
    .unwrap();
    assert_eq!(
        rows(&mut e, "Conv")[0],
        vec![
            json!("1"),
            Value::Null,
            json!("true"),
            json!("2025-01-01T12:00:00.1230000Z"),
            json!(123.45),
            json!("{\"a\":1,\"b\":\"x\"}"),
            Value::Null,
        ]
    );
}

#[test]
fn mappings_by_path_and_field_with_transforms_and_new_columns() {
    let table = ".create table M (when: datetime, b: string, whole: dynamic, k: string, \
                 first_tag: string)";
    let mapping = r#"[
        {"Column": "when", "Properties": {"Field": "ms", "Transform": "DateTimeFromUnixMilliseconds"}},
        {"Column": "b", "Properties": {"Path": "$.props.b"}},
        {"Column": "whole", "Properties": {"Path": "$"}},
        {"Column": "k", "Properties": {"ConstValue": "fixed"}},
        {"Column": "first_tag", "Properties": {"Path": "$.tags[0]"}},
        {"Column": "raw64", "DataType": "string", "Properties": {"Field": "raw", "Transform": "BytesAsBase64"}}
    ]"#;
    for (format, data) in [
        ("parquet", parquet(parquet::basic::Compression::SNAPPY)),
        ("avro", avro(apache_avro::Codec::Null)),
    ] {
        let mut e = engine(table);
        let mut r = req("M", format);
        r.mapping = Some(mapping.into());
        e.ingest(&r, &data, now()).unwrap();
        let got = rows(&mut e, "M");
        assert_eq!(got[0][0], json!("2025-01-01T12:00:00.1230000Z"), "{format}");
        assert_eq!(got[1][0], json!("1970-01-01T00:00:00.0000000Z"), "{format}");
        assert_eq!(got[0][1], json!("x"), "{format}");
        assert_eq!(got[1][1], Value::Null, "{format}");
        assert_eq!(got[0][2]["props"], json!({"a": 1, "b": "x"}), "{format}");
        assert_eq!(got[0][2]["id"], json!(1), "{format}");
        assert_eq!(got[0][3], json!("fixed"), "{format}");
        assert_eq!(got[0][4], json!("a"), "{format}");
        // The column the mapping's DataType created; Parquet has no `raw` field.
        let raw = if format == "avro" {
            json!("44Mi")
        } else {
            Value::Null
        };
        assert_eq!(got[0][5], raw, "{format}");
        let last = e.execute(Some("demo"), "M", now()).unwrap().columns.pop();
        let last = last.map(|c| (c.name, c.column_type));
        assert_eq!(
            last,
            Some(("raw64".into(), Some("string".into()))),
            "{format}"
        );
    }
}

#[test]
fn mapping_references_of_the_binary_kinds() {
    let mut e = engine(".create table R (who: long)");
    e.execute(
        Some("demo"),
        r#".create table R ingestion parquet mapping "P" '[{"column":"who","Properties":{"Field":"id"}}]'"#,
        now(),
    )
    .unwrap();
    e.execute(
        Some("demo"),
        r#".create table R ingestion avro mapping "A" '[{"column":"who","Properties":{"Path":"$.id"}}]'"#,
        now(),
    )
    .unwrap();
    let mut r = req("R", "parquet");
    r.mapping_reference = Some("P".into());
    e.ingest(&r, &parquet(parquet::basic::Compression::SNAPPY), now())
        .unwrap();
    // An Avro mapping serves `apacheavro` too.
    let mut r = req("R", "apacheavro");
    r.mapping_reference = Some("A".into());
    e.ingest(&r, &avro(apache_avro::Codec::Null), now())
        .unwrap();
    assert_eq!(
        rows(&mut e, "R"),
        vec![
            vec![json!(1)],
            vec![json!(2)],
            vec![json!(1)],
            vec![json!(2)]
        ]
    );
    // A Parquet reference is not found for an Avro source.
    let mut r = req("R", "avro");
    r.mapping_reference = Some("P".into());
    let f = failure(&mut e, &r, &avro(apache_avro::Codec::Null));
    assert_eq!(f.error_code, "BadRequest_MappingReferenceWasNotFound");
}

#[test]
fn ordinal_and_transform_mismatches_are_invalid_mappings() {
    let mut e = engine(SAMPLE_TABLE);
    let mut r = req("Samples", "parquet");
    r.mapping = Some(r#"[{"column":"id","Properties":{"Ordinal":"0"}}]"#.into());
    let f = failure(&mut e, &r, &parquet(parquet::basic::Compression::SNAPPY));
    assert_eq!(f.error_code, "BadRequest_InvalidMapping");
    assert!(
        f.details.contains("Parquet needs a Path or Field"),
        "{}",
        f.details
    );
    let mut r = req("Samples", "csv");
    r.mapping = Some(
        r#"[{"column":"ts","Properties":{"Ordinal":"0","Transform":"DateTimeFromUnixSeconds"}}]"#
            .into(),
    );
    let f = failure(&mut e, &r, b"1\n");
    assert_eq!(f.error_code, "BadRequest_InvalidMapping");
}

#[test]
fn corrupt_truncated_and_schemaless_files_are_invalid_blobs() {
    let mut e = engine(SAMPLE_TABLE);
    let good = parquet(parquet::basic::Compression::SNAPPY);
    for (format, data) in [
        ("parquet", b"not parquet at all".to_vec()),
        ("parquet", good[..good.len() - 9].to_vec()),
        ("parquet", [b"PAR1".as_slice(), &good[40..]].concat()),
        ("avro", b"Obj\x01 but nothing else".to_vec()),
        ("avro", good.clone()),
    ] {
        let f = failure(&mut e, &req("Samples", format), &data);
        assert_eq!(f.error_code, "BadRequest_InvalidBlob", "{format}: {f:?}");
        assert!(f.details.contains("not a readable"), "{}", f.details);
    }
    // Avro without its container (one datum): the service reads no schemaless Avro.
    // (the long 7, zigzag-encoded).
    let f = failure(&mut e, &req("Samples", "avro"), b"\x0e");
    assert_eq!(f.error_code, "BadRequest_InvalidBlob");
    // A corrupt block inside a valid container.
    let mut bad = avro(apache_avro::Codec::Snappy);
    let n = bad.len();
    bad[n - 30..n - 16].fill(0xAB);
    let f = failure(&mut e, &req("Samples", "avro"), &bad);
    assert_eq!(f.error_code, "BadRequest_InvalidBlob");
    assert_eq!(e.row_count("demo", "Samples"), Some(0));
}

#[test]
fn a_file_without_rows_has_no_records_and_orc_is_not_read() {
    let mut e = engine(SAMPLE_TABLE);
    let schema =
        parquet::schema::parser::parse_message_type("message m { required int64 id; }").unwrap();
    let empty = parquet::file::writer::SerializedFileWriter::new(
        Vec::new(),
        std::sync::Arc::new(schema),
        Default::default(),
    )
    .unwrap()
    .into_inner()
    .unwrap();
    let f = failure(&mut e, &req("Samples", "parquet"), &empty);
    assert_eq!(f.error_code, "BadRequest_NoRecordsOrWrongFormat");
    let f = failure(&mut e, &req("Samples", "orc"), b"ORC....");
    assert_eq!(f.error_code, "BadRequest_FormatNotSupported");
    assert!(
        f.details.contains("not supported by the emulator"),
        "{}",
        f.details
    );
}

#[test]
fn entries_of_one_source_make_one_extent() {
    let mut e = engine(SAMPLE_TABLE);
    let a = parquet(parquet::basic::Compression::SNAPPY);
    let b = parquet(parquet::basic::Compression::UNCOMPRESSED);
    let out = e
        .ingest_entries(&req("Samples", "parquet"), &[&a, b"", &b], now())
        .unwrap();
    assert_eq!(out.rows, 4);
    let extents = rows(&mut e, ".show table Samples extents");
    assert_eq!(extents.len(), 1);
    // One bad entry fails the whole source.
    let f = e
        .ingest_entries(&req("Samples", "parquet"), &[&a, b"junk"], now())
        .unwrap_err();
    assert_eq!(f.error_code, "BadRequest_InvalidBlob");
    assert_eq!(e.row_count("demo", "Samples"), Some(4));
    // CSV entries: `ignoreFirstRecord` drops each file's header.
    let mut e = engine(".create table C (a: long)");
    let mut r = req("C", "csv");
    r.ignore_first_record = true;
    let out = e
        .ingest_entries(&r, &[b"a\n1\n", b"a\n2\n3\n"], now())
        .unwrap();
    assert_eq!(out.rows, 3);
}

#[test]
fn decimals_from_unscaled_bytes() {
    use super::binary::decimal_text;
    assert_eq!(decimal_text(&[0x30, 0x39], 2).as_deref(), Some("123.45"));
    assert_eq!(decimal_text(&[0xFF, 0xFB], 2).as_deref(), Some("-0.05"));
    assert_eq!(decimal_text(&[0x05], 0).as_deref(), Some("5"));
    assert_eq!(decimal_text(&[0x05], 4).as_deref(), Some("0.0005"));
    assert_eq!(decimal_text(&[], 0).as_deref(), Some("0"));
    assert_eq!(decimal_text(&[0x80; 16], 0).map(|s| s.len()), Some(40));
    assert_eq!(decimal_text(&[1; 17], 0), None);
}

#[test]
fn parquet_uuid_and_json_columns_keep_their_logical_types() {
    use parquet::data_type::{ByteArray, ByteArrayType, FixedLenByteArrayType};
    let schema = parquet::schema::parser::parse_message_type(
        "message m { required fixed_len_byte_array(16) id (UUID); required binary doc (JSON); }",
    )
    .unwrap();
    let mut file = parquet::file::writer::SerializedFileWriter::new(
        Vec::new(),
        std::sync::Arc::new(schema),
        Default::default(),
    )
    .unwrap();
    let mut group = file.next_row_group().unwrap();
    let id = uuid::Uuid::parse_str("8f2d7c6e-0000-4000-8000-000000000001").unwrap();
    let mut c = group.next_column().unwrap().unwrap();
    c.typed::<FixedLenByteArrayType>()
        .write_batch(
            &[ByteArray::from(id.as_bytes().to_vec()).into()],
            None,
            None,
        )
        .unwrap();
    c.close().unwrap();
    let mut c = group.next_column().unwrap().unwrap();
    c.typed::<ByteArrayType>()
        .write_batch(&[ByteArray::from(r#"{"k":[1,2]}"#)], None, None)
        .unwrap();
    c.close().unwrap();
    group.close().unwrap();
    let data = file.into_inner().unwrap();
    let mut e = engine(".create table U (id: guid, doc: dynamic)");
    e.ingest(&req("U", "parquet"), &data, now()).unwrap();
    assert_eq!(
        rows(&mut e, "U"),
        vec![vec![json!(id.to_string()), json!({"k": [1, 2]})]]
    );
}

#[test]
fn a_file_that_makes_the_parquet_reader_panic_is_an_invalid_blob() {
    // A few bytes of the snappy sample changed: the `parquet` crate panics on it (found by
    // mutating the sample). The panic is caught; the engine goes on.
    let seed = include_bytes!("../../../fuzz/corpus/formats/seed-regress-parquet-panic");
    let mut e = engine(SAMPLE_TABLE);
    let f = failure(&mut e, &req("Samples", "parquet"), &seed[1..]);
    assert_eq!(f.error_code, "BadRequest_InvalidBlob");
    assert!(f.details.contains("the reader gave up"), "{}", f.details);
    let good = parquet(parquet::basic::Compression::SNAPPY);
    assert_eq!(
        e.ingest(&req("Samples", "parquet"), &good, now())
            .unwrap()
            .rows,
        2
    );
}
