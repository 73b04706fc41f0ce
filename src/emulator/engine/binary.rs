//! The binary formats: Parquet (arrow-rs `parquet`, its record API, no Arrow) and Avro object
//! container files (`apache-avro`). Each record is read into one JSON object, so that the
//! mapping and type conversion of the JSON formats apply: DOCS `kusto/management/mappings.md`
//! lists Parquet and Avro among the formats "with named fields", mapped by path (or `Field`)
//! and, without a mapping, to the columns of the same name. Nested records, lists and maps
//! become JSON objects and arrays, which a `dynamic` column keeps as they are.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde_json::{Map, Number, Value};

use super::formats::ParseError;
use crate::client::wire::{TICKS_PER_SEC, format_timespan_ticks, format_timestamp};

/// A binary format the emulator reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binary {
    Parquet,
    /// `avro` and `apacheavro`: both name Avro object container files (the service's two
    /// readers differ in details the emulator does not model, DOCS `ingestion-supported-formats`).
    Avro,
}

/// `BadRequest_InvalidBlob`: the blob "cannot be opened or read as the stated format"
/// (protocol.md §7.3, DOCS `error-codes.md`, BadFormat category).
fn invalid(format: &str, e: impl std::fmt::Display) -> ParseError {
    ParseError {
        code: "BadRequest_InvalidBlob",
        details: format!("the data is not a readable {format} file: {e}"),
    }
}

/// Reads every record of `data` as `format`, handing each to `each`; returns how many there
/// were. The readers are not hardened against hostile files (a malformed one can make them
/// panic): a panic is caught and reported as the invalid blob it is, so that the engine and
/// the DM worker go on.
pub fn read_all(
    format: Binary,
    data: &[u8],
    mut each: impl FnMut(Value),
) -> Result<u64, ParseError> {
    let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut n = 0;
        for record in records(format, data)? {
            each(record?);
            n += 1;
        }
        Ok(n)
    }));
    read.unwrap_or_else(|_| {
        let name = match format {
            Binary::Parquet => "Parquet",
            Binary::Avro => "Avro",
        };
        Err(invalid(
            name,
            "its content is malformed (the reader gave up)",
        ))
    })
}

/// The records of a binary source, read one at a time.
struct Records<'a> {
    inner: Inner<'a>,
}

enum Inner<'a> {
    Parquet {
        rows: parquet::record::reader::RowIter<'static>,
        kinds: TopLevel,
    },
    Avro {
        /// Boxed: the reader is several times the size of the Parquet row iterator.
        reader: Box<apache_avro::Reader<'a, &'a [u8]>>,
        schema: apache_avro::Schema,
    },
}

/// Opens `data` as `format`; a file that is not one is `BadRequest_InvalidBlob`.
fn records(format: Binary, data: &[u8]) -> Result<Records<'_>, ParseError> {
    let inner = match format {
        Binary::Parquet => {
            let bytes = bytes::Bytes::copy_from_slice(data);
            let file = parquet::file::serialized_reader::SerializedFileReader::new(bytes)
                .map_err(|e| invalid("Parquet", e))?;
            let kinds = TopLevel::of(&file);
            Inner::Parquet {
                rows: parquet::record::reader::RowIter::from_file_into(Box::new(file)),
                kinds,
            }
        }
        Binary::Avro => {
            // Only object container files: the service does not read schemaless Avro
            // (DOCS `ingestion-supported-formats.md`).
            let reader = apache_avro::Reader::new(data).map_err(|e| invalid("Avro", e))?;
            let schema = reader.writer_schema().clone();
            Inner::Avro {
                reader: Box::new(reader),
                schema,
            }
        }
    };
    Ok(Records { inner })
}

impl Iterator for Records<'_> {
    type Item = Result<Value, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.inner {
            Inner::Parquet { rows, kinds } => Some(
                rows.next()?
                    .map(|row| kinds.row(&row))
                    .map_err(|e| invalid("Parquet", e)),
            ),
            Inner::Avro { reader, schema } => Some(
                reader
                    .next()?
                    .map(|v| avro_value(&v, Some(schema)))
                    .map_err(|e| invalid("Avro", e)),
            ),
        }
    }
}

fn float(f: f64) -> Value {
    Number::from_f64(f).map_or(Value::Null, Value::Number)
}

fn timestamp(t: Option<DateTime<Utc>>) -> Value {
    t.map_or(Value::Null, |t| Value::String(format_timestamp(t)))
}

/// Days since the Unix epoch as the datetime at midnight.
fn date(days: i32) -> Value {
    timestamp(DateTime::from_timestamp(i64::from(days) * 86_400, 0))
}

/// A time of day as a timespan (Kusto has no time-of-day type).
fn time_of_day(ticks: i64) -> Value {
    Value::String(format_timespan_ticks(ticks))
}

/// Bytes as an array of numbers, as the service shows Avro bytes in a dynamic column (the
/// `BytesAsBase64` example in DOCS `mappings.md`).
fn byte_array(b: &[u8]) -> Value {
    Value::Array(b.iter().map(|x| Value::from(*x)).collect())
}

/// A decimal from its unscaled big-endian two's-complement bytes (both formats store it so)
/// and its scale, as exact text; `None` beyond 128 bits.
pub fn decimal_text(be: &[u8], scale: i64) -> Option<String> {
    if be.len() > 16 {
        return None;
    }
    let negative = be.first().is_some_and(|b| b & 0x80 != 0);
    let mut buf = [if negative { 0xFF } else { 0 }; 16];
    buf[16 - be.len()..].copy_from_slice(be);
    let unscaled = i128::from_be_bytes(buf);
    let digits = unscaled.unsigned_abs().to_string();
    let sign = if unscaled < 0 { "-" } else { "" };
    let scale = usize::try_from(scale).ok()?;
    if scale == 0 {
        return Some(format!("{sign}{digits}"));
    }
    let digits = format!("{digits:0>width$}", width = scale + 1);
    let (int, frac) = digits.split_at(digits.len() - scale);
    Some(format!("{sign}{int}.{frac}"))
}

/// Top-level Parquet columns whose logical type the record API does not carry into its values:
/// UUID (16 bytes, to `guid` or `string`) and JSON (text, to `dynamic` as the value it holds),
/// as the docs' conversion table has them.
struct TopLevel {
    uuid: Vec<String>,
    json: Vec<String>,
}

impl TopLevel {
    fn of(file: &impl parquet::file::reader::FileReader) -> TopLevel {
        use parquet::basic::{ConvertedType, LogicalType};
        let mut kinds = TopLevel {
            uuid: Vec::new(),
            json: Vec::new(),
        };
        let schema = file.metadata().file_metadata().schema_descr();
        for c in schema.columns() {
            let [name] = c.path().parts() else { continue };
            if c.logical_type_ref() == Some(&LogicalType::Uuid) {
                kinds.uuid.push(name.clone());
            } else if c.converted_type() == ConvertedType::JSON {
                kinds.json.push(name.clone());
            }
        }
        kinds
    }

    fn row(&self, row: &parquet::record::Row) -> Value {
        use parquet::record::Field as F;
        Value::Object(
            row.get_column_iter()
                .map(|(name, f)| {
                    let v = match f {
                        F::Bytes(b) if self.uuid.contains(name) => uuid::Uuid::from_slice(b.data())
                            .map_or(Value::Null, |u| Value::String(u.hyphenated().to_string())),
                        F::Str(s) if self.json.contains(name) => {
                            serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.clone()))
                        }
                        f => parquet_field(f),
                    };
                    (name.clone(), v)
                })
                .collect(),
        )
    }
}

fn parquet_row(row: &parquet::record::Row) -> Value {
    Value::Object(
        row.get_column_iter()
            .map(|(name, f)| (name.clone(), parquet_field(f)))
            .collect(),
    )
}

fn parquet_field(f: &parquet::record::Field) -> Value {
    use parquet::record::Field as F;
    match f {
        F::Null => Value::Null,
        F::Bool(b) => Value::Bool(*b),
        F::Byte(n) => Value::from(*n),
        F::Short(n) => Value::from(*n),
        F::Int(n) => Value::from(*n),
        F::Long(n) => Value::from(*n),
        F::UByte(n) => Value::from(*n),
        F::UShort(n) => Value::from(*n),
        F::UInt(n) => Value::from(*n),
        F::ULong(n) => Value::from(*n),
        F::Float16(n) => float(f64::from(*n)),
        F::Float(n) => float(f64::from(*n)),
        F::Double(n) => float(*n),
        F::Decimal(d) => {
            decimal_text(d.data(), i64::from(d.scale())).map_or(Value::Null, Value::String)
        }
        F::Str(s) => Value::String(s.clone()),
        // Unannotated BYTE_ARRAY: base64 text, as Parquet's own JSON rendering has it.
        F::Bytes(b) => Value::String(base64::engine::general_purpose::STANDARD.encode(b.data())),
        F::Date(d) => date(*d),
        F::TimeMillis(ms) => time_of_day(i64::from(*ms) * 10_000),
        F::TimeMicros(us) => time_of_day(us.saturating_mul(10)),
        F::TimestampMillis(ms) => timestamp(DateTime::from_timestamp_millis(*ms)),
        F::TimestampMicros(us) => timestamp(DateTime::from_timestamp_micros(*us)),
        F::Group(row) => parquet_row(row),
        F::ListInternal(list) => Value::Array(list.elements().iter().map(parquet_field).collect()),
        F::MapInternal(map) => Value::Object(
            map.entries()
                .iter()
                .map(|(k, v)| {
                    let key = match parquet_field(k) {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    (key, parquet_field(v))
                })
                .collect(),
        ),
    }
}

/// One Avro value as JSON. The schema (where it is known at this point: named types reached
/// through a reference are not looked up) gives the scale of decimals.
fn avro_value(v: &apache_avro::types::Value, schema: Option<&apache_avro::Schema>) -> Value {
    use apache_avro::Schema as S;
    use apache_avro::types::Value as V;
    match v {
        V::Null => Value::Null,
        V::Boolean(b) => Value::Bool(*b),
        V::Int(n) => Value::from(*n),
        V::Long(n) => Value::from(*n),
        V::Float(f) => float(f64::from(*f)),
        V::Double(f) => float(*f),
        V::Bytes(b) | V::Fixed(_, b) => byte_array(b),
        V::String(s) | V::Enum(_, s) => Value::String(s.clone()),
        V::Union(i, inner) => {
            let branch = match schema {
                Some(S::Union(u)) => usize::try_from(*i).ok().and_then(|i| u.variants().get(i)),
                _ => None,
            };
            avro_value(inner, branch)
        }
        V::Array(items) => {
            let item = match schema {
                Some(S::Array(a)) => Some(&*a.items),
                _ => None,
            };
            Value::Array(items.iter().map(|x| avro_value(x, item)).collect())
        }
        V::Map(entries) => {
            let item = match schema {
                Some(S::Map(m)) => Some(&*m.types),
                _ => None,
            };
            // Sorted: a HashMap's order would change from run to run.
            let mut keys: Vec<&String> = entries.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), avro_value(&entries[k], item)))
                    .collect(),
            )
        }
        V::Record(fields) => {
            let field_schema = |name: &str| match schema {
                Some(S::Record(r)) => r.fields.iter().find(|f| f.name == name).map(|f| &f.schema),
                _ => None,
            };
            let mut out = Map::new();
            for (name, x) in fields {
                out.insert(name.clone(), avro_value(x, field_schema(name)));
            }
            Value::Object(out)
        }
        V::Date(d) => date(*d),
        V::Decimal(d) => {
            let scale = match schema {
                Some(S::Decimal(s)) => Some(s.scale),
                _ => None,
            };
            let bytes = <Vec<u8>>::try_from(d).ok();
            match (bytes, scale) {
                (Some(b), Some(scale)) => {
                    let scale = i64::try_from(scale).unwrap_or(i64::MAX);
                    decimal_text(&b, scale).map_or(Value::Null, Value::String)
                }
                _ => Value::Null,
            }
        }
        V::BigDecimal(d) => Value::String(d.to_string()),
        V::TimeMillis(ms) => time_of_day(i64::from(*ms) * 10_000),
        V::TimeMicros(us) => time_of_day(us.saturating_mul(10)),
        V::TimestampMillis(t) | V::LocalTimestampMillis(t) => {
            timestamp(DateTime::from_timestamp_millis(*t))
        }
        V::TimestampMicros(t) | V::LocalTimestampMicros(t) => {
            timestamp(DateTime::from_timestamp_micros(*t))
        }
        V::TimestampNanos(t) | V::LocalTimestampNanos(t) => {
            timestamp(Some(DateTime::from_timestamp_nanos(*t)))
        }
        V::Duration(d) => {
            let (months, days, millis) = (
                u32::from(d.months()),
                u32::from(d.days()),
                u32::from(d.millis()),
            );
            if months == 0 {
                let ticks = i64::from(days) * 86_400 * TICKS_PER_SEC + i64::from(millis) * 10_000;
                time_of_day(ticks)
            } else {
                serde_json::json!({"months": months, "days": days, "milliseconds": millis})
            }
        }
        V::Uuid(u) => Value::String(u.hyphenated().to_string()),
    }
}
