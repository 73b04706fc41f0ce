//! Kusto scalar types and the conversion of ingested text/JSON into column values.
//! Unparseable values become null, as Kusto does.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::Value;

use crate::client::wire::format_timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    String,
    Long,
    Int,
    Real,
    Bool,
    DateTime,
    TimeSpan,
    Guid,
    Dynamic,
    Decimal,
}

impl ColumnType {
    /// Accepts the KQL names and their aliases (`double`, `boolean`, `date`, `time`, …).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "string" => ColumnType::String,
            "long" | "int64" => ColumnType::Long,
            "int" | "int32" => ColumnType::Int,
            "real" | "double" => ColumnType::Real,
            "bool" | "boolean" => ColumnType::Bool,
            "datetime" | "date" => ColumnType::DateTime,
            "timespan" | "time" => ColumnType::TimeSpan,
            "guid" | "uniqueid" => ColumnType::Guid,
            "dynamic" => ColumnType::Dynamic,
            "decimal" => ColumnType::Decimal,
            _ => return None,
        })
    }

    /// The canonical KQL name (what `V1Table::new` and schemas show).
    pub fn kql(self) -> &'static str {
        match self {
            ColumnType::String => "string",
            ColumnType::Long => "long",
            ColumnType::Int => "int",
            ColumnType::Real => "real",
            ColumnType::Bool => "bool",
            ColumnType::DateTime => "datetime",
            ColumnType::TimeSpan => "timespan",
            ColumnType::Guid => "guid",
            ColumnType::Dynamic => "dynamic",
            ColumnType::Decimal => "decimal",
        }
    }

    /// Converts one delimited field. Empty fields are null except for strings.
    pub fn convert_text(self, s: &str) -> Value {
        self.convert(s).into_value()
    }

    /// [`ColumnType::convert_text`] without allocating the common kinds, for the table's
    /// column store.
    pub fn convert(self, s: &str) -> Converted<'_> {
        if self == ColumnType::String {
            return Converted::Text(s);
        }
        let t = s.trim();
        if t.is_empty() {
            return Converted::Null;
        }
        let value = |v: Option<Value>| v.map_or(Converted::Null, Converted::Value);
        match self {
            ColumnType::String => Converted::Text(s),
            ColumnType::Long => parse_long(t).map_or(Converted::Null, Converted::Long),
            ColumnType::Int => parse_long(t)
                .filter(|n| i32::try_from(*n).is_ok())
                .map_or(Converted::Null, Converted::Long),
            ColumnType::Real => value(
                t.parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                    .map(Value::Number),
            ),
            ColumnType::Bool => value(parse_bool(t).map(Value::Bool)),
            ColumnType::DateTime => parse_datetime(t).map_or(Converted::Null, Converted::Time),
            ColumnType::TimeSpan => {
                value(parse_timespan(t).map(|ticks| Value::String(format_timespan(ticks))))
            }
            ColumnType::Guid => value(
                uuid::Uuid::parse_str(t)
                    .ok()
                    .map(|u| Value::String(u.hyphenated().to_string())),
            ),
            ColumnType::Dynamic => {
                Converted::Value(serde_json::from_str(t).unwrap_or(Value::String(s.to_string())))
            }
            ColumnType::Decimal => {
                if t.parse::<f64>().is_ok_and(f64::is_finite) {
                    Converted::Text(t)
                } else {
                    Converted::Null
                }
            }
        }
    }

    /// Converts one JSON value (from a json-family format).
    pub fn convert_json(self, v: &Value) -> Value {
        match (self, v) {
            (_, Value::Null) => Value::Null,
            (ColumnType::Dynamic, v) => v.clone(),
            (ColumnType::String, Value::String(s)) => Value::String(s.clone()),
            (ColumnType::String, other) => Value::String(other.to_string()),
            (ColumnType::Long, Value::Number(n)) => n
                .as_i64()
                .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
                .map(Value::from)
                .unwrap_or(Value::Null),
            (ColumnType::Int, Value::Number(n)) => n
                .as_i64()
                .and_then(|n| i32::try_from(n).ok())
                .map(Value::from)
                .unwrap_or(Value::Null),
            (ColumnType::Real, Value::Number(n)) => n
                .as_f64()
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number)
                .unwrap_or(Value::Null),
            (ColumnType::Bool, Value::Bool(b)) => Value::Bool(*b),
            (ColumnType::Bool, Value::Number(n)) => match n.as_i64() {
                Some(0) => Value::Bool(false),
                Some(1) => Value::Bool(true),
                _ => Value::Null,
            },
            (ColumnType::Decimal, Value::Number(n)) => Value::String(n.to_string()),
            (t, Value::String(s)) => t.convert_text(s),
            _ => Value::Null,
        }
    }
}

/// One converted field, before it is stored: text and datetimes are written into the column's
/// buffer rather than allocated one by one.
#[derive(Debug, Clone, PartialEq)]
pub enum Converted<'a> {
    Null,
    /// A string value (string and decimal columns).
    Text(&'a str),
    /// A datetime, stored as its canonical text.
    Time(DateTime<Utc>),
    /// A long or int.
    Long(i64),
    Value(Value),
}

impl Converted<'_> {
    pub fn into_value(self) -> Value {
        match self {
            Converted::Null => Value::Null,
            Converted::Text(s) => Value::String(s.to_string()),
            Converted::Time(t) => Value::String(format_timestamp(t)),
            Converted::Long(n) => Value::from(n),
            Converted::Value(v) => v,
        }
    }
}

fn parse_long(t: &str) -> Option<i64> {
    t.parse::<i64>().ok().or_else(|| {
        // `12.0` is a valid long in CSV; `12.5` is not.
        t.parse::<f64>()
            .ok()
            .filter(|f| f.fract() == 0.0 && f.abs() < 9.2e18)
            .map(|f| f as i64)
    })
}

fn parse_bool(t: &str) -> Option<bool> {
    match t.to_ascii_lowercase().as_str() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

/// ISO 8601 forms (with or without `T`, `Z`, offset, fraction) and a bare date.
pub fn parse_datetime(t: &str) -> Option<DateTime<Utc>> {
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Some(d.with_timezone(&Utc));
    }
    let naive = t.trim_end_matches(['Z', 'z']);
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
        "%Y/%m/%d %H:%M:%S%.f",
    ] {
        if let Ok(d) = NaiveDateTime::parse_from_str(naive, fmt) {
            return Some(d.and_utc());
        }
    }
    for fmt in ["%Y-%m-%d", "%Y/%m/%d"] {
        if let Ok(d) = chrono::NaiveDate::parse_from_str(naive, fmt) {
            return d.and_hms_opt(0, 0, 0).map(|d| d.and_utc());
        }
    }
    if let Ok(d) = DateTime::parse_from_rfc2822(t) {
        return Some(d.with_timezone(&Utc));
    }
    None
}

pub use crate::client::wire::{
    format_timespan_ticks as format_timespan, parse_timespan_ticks as parse_timespan,
};

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn type_names_and_aliases() {
        assert_eq!(ColumnType::parse("Double"), Some(ColumnType::Real));
        assert_eq!(ColumnType::parse("boolean"), Some(ColumnType::Bool));
        assert_eq!(ColumnType::parse("date"), Some(ColumnType::DateTime));
        assert_eq!(ColumnType::parse("time"), Some(ColumnType::TimeSpan));
        assert_eq!(ColumnType::parse("uniqueid"), Some(ColumnType::Guid));
        assert_eq!(ColumnType::parse("blob"), None);
        assert_eq!(ColumnType::Real.kql(), "real");
    }

    #[test]
    fn text_conversion() {
        assert_eq!(ColumnType::Long.convert_text(" 42 "), json!(42));
        assert_eq!(ColumnType::Long.convert_text("12.0"), json!(12));
        assert_eq!(ColumnType::Long.convert_text("12.5"), Value::Null);
        assert_eq!(ColumnType::Long.convert_text("abc"), Value::Null);
        assert_eq!(ColumnType::Int.convert_text("3000000000"), Value::Null);
        assert_eq!(ColumnType::Real.convert_text("1.5e3"), json!(1500.0));
        assert_eq!(ColumnType::Real.convert_text("NaN"), Value::Null);
        assert_eq!(ColumnType::Bool.convert_text("TRUE"), json!(true));
        assert_eq!(ColumnType::Bool.convert_text("0"), json!(false));
        assert_eq!(ColumnType::Bool.convert_text("yes"), Value::Null);
        assert_eq!(ColumnType::String.convert_text(""), json!(""));
        assert_eq!(ColumnType::Long.convert_text(""), Value::Null);
        assert_eq!(
            ColumnType::Guid.convert_text("8F2D7C6E-0000-4000-8000-000000000001"),
            json!("8f2d7c6e-0000-4000-8000-000000000001")
        );
        assert_eq!(
            ColumnType::Dynamic.convert_text(r#"{"a":1}"#),
            json!({"a":1})
        );
        assert_eq!(ColumnType::Dynamic.convert_text("plain"), json!("plain"));
        assert_eq!(ColumnType::Decimal.convert_text("1.10"), json!("1.10"));
        assert_eq!(ColumnType::Decimal.convert_text("x"), Value::Null);
    }

    #[test]
    fn datetime_forms() {
        let want = json!("2025-01-02T03:04:05.0000000Z");
        for s in [
            "2025-01-02T03:04:05Z",
            "2025-01-02T03:04:05",
            "2025-01-02 03:04:05",
            "2025-01-02T05:04:05+02:00",
            "2025-01-02T03:04:05.0000000Z",
        ] {
            assert_eq!(ColumnType::DateTime.convert_text(s), want, "{s}");
        }
        assert_eq!(
            ColumnType::DateTime.convert_text("2025-01-02"),
            json!("2025-01-02T00:00:00.0000000Z")
        );
        assert_eq!(
            ColumnType::DateTime.convert_text("2025-01-02T03:04:05.123Z"),
            json!("2025-01-02T03:04:05.1230000Z")
        );
        assert_eq!(ColumnType::DateTime.convert_text("yesterday"), Value::Null);
        assert_eq!(ColumnType::DateTime.convert_text("2025-13-01"), Value::Null);
    }

    #[test]
    fn timespan_forms() {
        assert_eq!(
            ColumnType::TimeSpan.convert_text("01:02:03"),
            json!("01:02:03")
        );
        assert_eq!(
            ColumnType::TimeSpan.convert_text("2.01:02:03.5"),
            json!("2.01:02:03.5000000")
        );
        assert_eq!(
            ColumnType::TimeSpan.convert_text("-00:00:01"),
            json!("-00:00:01")
        );
        assert_eq!(ColumnType::TimeSpan.convert_text("90m"), json!("01:30:00"));
        assert_eq!(ColumnType::TimeSpan.convert_text("1d"), json!("1.00:00:00"));
        assert_eq!(
            ColumnType::TimeSpan.convert_text("250ms"),
            json!("00:00:00.2500000")
        );
        assert_eq!(ColumnType::TimeSpan.convert_text("00:61:00"), Value::Null);
        assert_eq!(ColumnType::TimeSpan.convert_text("soon"), Value::Null);
    }

    #[test]
    fn json_conversion() {
        assert_eq!(ColumnType::Long.convert_json(&json!(7)), json!(7));
        assert_eq!(ColumnType::Long.convert_json(&json!("7")), json!(7));
        assert_eq!(ColumnType::Long.convert_json(&json!(7.5)), Value::Null);
        assert_eq!(ColumnType::String.convert_json(&json!(7)), json!("7"));
        assert_eq!(
            ColumnType::String.convert_json(&json!({"a":1})),
            json!("{\"a\":1}")
        );
        assert_eq!(ColumnType::Real.convert_json(&json!(2)), json!(2.0));
        assert_eq!(ColumnType::Bool.convert_json(&json!(1)), json!(true));
        assert_eq!(
            ColumnType::Dynamic.convert_json(&json!([1, 2])),
            json!([1, 2])
        );
        assert_eq!(ColumnType::Long.convert_json(&json!([1])), Value::Null);
        assert_eq!(ColumnType::String.convert_json(&Value::Null), Value::Null);
    }
}
