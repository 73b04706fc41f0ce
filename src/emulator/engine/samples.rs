//! Sample Parquet and Avro files for tests, written with the same crates' writers: two
//! records covering the scalar types, nulls, a timestamp, a date, a decimal, a list and a
//! nested record. [`SAMPLE_TABLE`] is a table whose columns take them by name.
//!
//! Also [`zip`], an archive of named entries.
//!
//! The two records: `id` 1 and 2; `name` "alpha" and null; `score` 1.5 and null; `ok` true
//! and false; `ts` 2025-01-01T12:00:00.123Z and null; `day` 2025-01-01 and null; `price`
//! 123.45 and -0.05; `tags` ["a","b"] and null; `props` {"a":1,"b":"x"} and null; `ms` (Unix
//! milliseconds, for `DateTimeFromUnixMilliseconds`) 1735732800123 and 0.

use std::sync::Arc;

/// A table for the samples, mapped by name (identity mapping).
pub const SAMPLE_TABLE: &str = ".create table Samples (id: long, name: string, score: real, \
     ok: bool, ts: datetime, day: datetime, price: decimal, tags: dynamic, props: dynamic, \
     ms: long)";

/// Rows of [`SAMPLE_TABLE`] the samples hold, as queries show them.
pub fn sample_rows() -> Vec<Vec<serde_json::Value>> {
    use serde_json::json;
    vec![
        vec![
            json!(1),
            json!("alpha"),
            json!(1.5),
            json!(true),
            json!("2025-01-01T12:00:00.1230000Z"),
            json!("2025-01-01T00:00:00.0000000Z"),
            json!("123.45"),
            json!(["a", "b"]),
            json!({"a": 1, "b": "x"}),
            json!(1735732800123i64),
        ],
        vec![
            json!(2),
            serde_json::Value::Null,
            serde_json::Value::Null,
            json!(false),
            serde_json::Value::Null,
            serde_json::Value::Null,
            json!("-0.05"),
            serde_json::Value::Null,
            serde_json::Value::Null,
            json!(0),
        ],
    ]
}

const TS_MS: i64 = 1_735_732_800_123;
const DAY: i32 = 20_089;

/// The samples as a Parquet file with `compression`.
pub fn parquet(
    compression: parquet::basic::Compression,
) -> Result<Vec<u8>, parquet::errors::ParquetError> {
    use parquet::data_type::{
        BoolType, ByteArray, ByteArrayType, DoubleType, Int32Type, Int64Type,
    };
    let schema = parquet::schema::parser::parse_message_type(
        "message samples {
            required int64 id;
            optional binary name (UTF8);
            optional double score;
            required boolean ok;
            optional int64 ts (TIMESTAMP(MILLIS,true));
            optional int32 day (DATE);
            required int64 price (DECIMAL(18,2));
            optional group tags (LIST) { repeated group list { optional binary element (UTF8); } }
            optional group props { required int32 a; required binary b (UTF8); }
            required int64 ms;
        }",
    )?;
    let props = parquet::file::properties::WriterProperties::builder()
        .set_compression(compression)
        .build();
    let mut file = parquet::file::writer::SerializedFileWriter::new(
        Vec::new(),
        Arc::new(schema),
        Arc::new(props),
    )?;
    let mut group = file.next_row_group()?;
    let text = |s: &str| ByteArray::from(s);
    let mut column = 0;
    while let Some(mut c) = group.next_column()? {
        match column {
            0 => c.typed::<Int64Type>().write_batch(&[1, 2], None, None)?,
            1 => c
                .typed::<ByteArrayType>()
                .write_batch(&[text("alpha")], Some(&[1, 0]), None)?,
            2 => c
                .typed::<DoubleType>()
                .write_batch(&[1.5], Some(&[1, 0]), None)?,
            3 => c
                .typed::<BoolType>()
                .write_batch(&[true, false], None, None)?,
            4 => c
                .typed::<Int64Type>()
                .write_batch(&[TS_MS], Some(&[1, 0]), None)?,
            5 => c
                .typed::<Int32Type>()
                .write_batch(&[DAY], Some(&[1, 0]), None)?,
            6 => c
                .typed::<Int64Type>()
                .write_batch(&[12345, -5], None, None)?,
            // tags: ["a","b"] then null (definition 3: an element; 0: no list).
            7 => c.typed::<ByteArrayType>().write_batch(
                &[text("a"), text("b")],
                Some(&[3, 3, 0]),
                Some(&[0, 1, 0]),
            )?,
            8 => c
                .typed::<Int32Type>()
                .write_batch(&[1], Some(&[1, 0]), None)?,
            9 => c
                .typed::<ByteArrayType>()
                .write_batch(&[text("x")], Some(&[1, 0]), None)?,
            _ => c
                .typed::<Int64Type>()
                .write_batch(&[TS_MS, 0], None, None)?,
        };
        c.close()?;
        column += 1;
    }
    group.close()?;
    file.into_inner()
}

/// The Avro schema of the samples (plus `raw`, bytes [227, 131, 34], for `BytesAsBase64`).
pub const AVRO_SCHEMA: &str = r#"{"type": "record", "name": "Sample", "fields": [
    {"name": "id", "type": "long"},
    {"name": "name", "type": ["null", "string"]},
    {"name": "score", "type": ["null", "double"]},
    {"name": "ok", "type": "boolean"},
    {"name": "ts", "type": ["null", {"type": "long", "logicalType": "timestamp-millis"}]},
    {"name": "day", "type": ["null", {"type": "int", "logicalType": "date"}]},
    {"name": "price", "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}},
    {"name": "tags", "type": ["null", {"type": "array", "items": "string"}]},
    {"name": "props", "type": ["null", {"type": "record", "name": "Props", "fields": [
        {"name": "a", "type": "int"}, {"name": "b", "type": "string"}]}]},
    {"name": "ms", "type": "long"},
    {"name": "raw", "type": "bytes"}
]}"#;

/// The samples as an Avro object container file with `codec`.
pub fn avro(codec: apache_avro::Codec) -> Result<Vec<u8>, apache_avro::Error> {
    use apache_avro::types::Value as V;
    let schema = apache_avro::Schema::parse_str(AVRO_SCHEMA)?;
    let mut w = apache_avro::Writer::with_codec(&schema, Vec::new(), codec)?;
    let some = |v: V| V::Union(1, Box::new(v));
    let none = || V::Union(0, Box::new(V::Null));
    let decimal = |unscaled: i64| {
        let be = unscaled.to_be_bytes();
        V::Decimal(apache_avro::Decimal::from(&be[6..]))
    };
    let record = |fields: Vec<(&str, V)>| {
        V::Record(
            fields
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        )
    };
    w.append_value(record(vec![
        ("id", V::Long(1)),
        ("name", some(V::String("alpha".into()))),
        ("score", some(V::Double(1.5))),
        ("ok", V::Boolean(true)),
        ("ts", some(V::TimestampMillis(TS_MS))),
        ("day", some(V::Date(DAY))),
        ("price", decimal(12345)),
        (
            "tags",
            some(V::Array(vec![V::String("a".into()), V::String("b".into())])),
        ),
        (
            "props",
            some(record(vec![("a", V::Int(1)), ("b", V::String("x".into()))])),
        ),
        ("ms", V::Long(TS_MS)),
        ("raw", V::Bytes(vec![227, 131, 34])),
    ]))?;
    w.append_value(record(vec![
        ("id", V::Long(2)),
        ("name", none()),
        ("score", none()),
        ("ok", V::Boolean(false)),
        ("ts", none()),
        ("day", none()),
        ("price", decimal(-5)),
        ("tags", none()),
        ("props", none()),
        ("ms", V::Long(0)),
        ("raw", V::Bytes(vec![])),
    ]))?;
    w.into_inner()
}

/// A zip archive of `entries` (name, content), deflated, in order; a name ending in `/` is a
/// directory.
pub fn zip(entries: &[(&str, &[u8])]) -> Result<Vec<u8>, zip::result::ZipError> {
    use std::io::Write;
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in entries {
        if name.ends_with('/') {
            z.add_directory(*name, opts)?;
        } else {
            z.start_file(*name, opts)?;
            z.write_all(data)?;
        }
    }
    Ok(z.finish()?.into_inner())
}
