//! The rows a table keeps, stored by column: text values (strings, datetimes, decimals) in one
//! buffer per column and longs in a vector, so ingesting a row allocates nothing per value
//! and dropping a table frees a few buffers. One `serde_json::Value` per cell made converting
//! the kept rows most of the emulator's CSV ingest time. Queries rebuild the values they show.

use serde_json::Value;

use super::types::{ColumnType, Converted};

/// The kept rows of one table (or of one source before it is appended).
#[derive(Debug, Clone, Default)]
pub struct Rows {
    columns: Vec<Cells>,
    len: usize,
}

/// One column's values. The kind is chosen by the column's type, but any value fits any
/// column: one that does not fit the compact kind turns the column into `Values`.
#[derive(Debug, Clone)]
enum Cells {
    Text {
        buf: String,
        /// Each value's `start..end` in `buf`; `None` is null.
        spans: Vec<Option<(usize, usize)>>,
    },
    Long(Vec<Option<i64>>),
    Values(Vec<Value>),
}

impl Cells {
    fn for_type(ty: ColumnType) -> Cells {
        match ty {
            ColumnType::String
            | ColumnType::DateTime
            | ColumnType::TimeSpan
            | ColumnType::Guid
            | ColumnType::Decimal => Cells::Text {
                buf: String::new(),
                spans: Vec::new(),
            },
            ColumnType::Long | ColumnType::Int => Cells::Long(Vec::new()),
            ColumnType::Real | ColumnType::Bool | ColumnType::Dynamic => Cells::Values(Vec::new()),
        }
    }

    fn nulls(ty: ColumnType, n: usize) -> Cells {
        let mut cells = Cells::for_type(ty);
        (0..n).for_each(|_| cells.push(Converted::Null));
        cells
    }

    fn get(&self, i: usize) -> Value {
        match self {
            Cells::Text { buf, spans } => match spans.get(i).copied().flatten() {
                Some((start, end)) => Value::String(buf.get(start..end).unwrap_or("").to_string()),
                None => Value::Null,
            },
            Cells::Long(v) => v.get(i).copied().flatten().map_or(Value::Null, Value::from),
            Cells::Values(v) => v.get(i).cloned().unwrap_or(Value::Null),
        }
    }

    fn len(&self) -> usize {
        match self {
            Cells::Text { spans, .. } => spans.len(),
            Cells::Long(v) => v.len(),
            Cells::Values(v) => v.len(),
        }
    }

    fn push(&mut self, cell: Converted) {
        match (&mut *self, cell) {
            (Cells::Text { spans, .. }, Converted::Null | Converted::Value(Value::Null)) => {
                spans.push(None)
            }
            (Cells::Text { buf, spans }, Converted::Text(s)) => {
                let start = buf.len();
                buf.push_str(s);
                spans.push(Some((start, buf.len())));
            }
            (Cells::Text { buf, spans }, Converted::Time(t)) => {
                let start = buf.len();
                crate::client::wire::push_timestamp(t, buf);
                spans.push(Some((start, buf.len())));
            }
            (Cells::Text { buf, spans }, Converted::Value(Value::String(s))) => {
                let start = buf.len();
                buf.push_str(&s);
                spans.push(Some((start, buf.len())));
            }
            (Cells::Long(v), Converted::Null | Converted::Value(Value::Null)) => v.push(None),
            (Cells::Long(v), Converted::Long(n)) => v.push(Some(n)),
            (Cells::Long(v), Converted::Value(Value::Number(n))) if n.is_i64() => {
                v.push(n.as_i64())
            }
            (Cells::Values(v), cell) => v.push(cell.into_value()),
            (_, cell) => {
                // A value the compact kind cannot hold as is (a type changed under kept
                // values): keep every value exactly.
                *self = Cells::Values((0..self.len()).map(|i| self.get(i)).collect());
                self.push(cell);
            }
        }
    }

    /// Appends the first `n` values of `other`.
    fn append(&mut self, other: Cells, n: usize) {
        match (&mut *self, other) {
            (Cells::Text { buf, spans }, Cells::Text { buf: b, spans: s }) => {
                let base = buf.len();
                buf.push_str(&b);
                spans.extend(
                    s.into_iter()
                        .take(n)
                        .map(|span| span.map(|(start, end)| (base + start, base + end))),
                );
            }
            (Cells::Long(v), Cells::Long(o)) => v.extend(o.into_iter().take(n)),
            (_, other) => {
                (0..n.min(other.len())).for_each(|i| self.push(Converted::Value(other.get(i))))
            }
        }
    }
}

impl Rows {
    pub fn new(types: impl IntoIterator<Item = ColumnType>) -> Rows {
        Rows {
            columns: types.into_iter().map(Cells::for_type).collect(),
            len: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// Appends one row: one cell per column in order; missing cells are null, extra ones
    /// are ignored.
    pub fn push<'a>(&mut self, cells: impl IntoIterator<Item = Converted<'a>>) {
        let mut cells = cells.into_iter();
        for column in &mut self.columns {
            column.push(cells.next().unwrap_or(Converted::Null));
        }
        self.len += 1;
    }

    /// Row `i` as values, in column order (empty past the end).
    pub fn row(&self, i: usize) -> Vec<Value> {
        if i >= self.len {
            return Vec::new();
        }
        self.columns.iter().map(|c| c.get(i)).collect()
    }

    /// A new last column, null in every kept row.
    pub fn add_column(&mut self, ty: ColumnType) {
        self.columns.push(Cells::nulls(ty, self.len));
    }

    /// The columns rearranged after a schema change: column `k` of the result is old column
    /// `from[k]`, or all nulls of type `types[k]` when it is `None`.
    pub fn rearrange(&mut self, from: &[Option<usize>], types: &[ColumnType]) {
        let mut old: Vec<Option<Cells>> = std::mem::take(&mut self.columns)
            .into_iter()
            .map(Some)
            .collect();
        self.columns = from
            .iter()
            .zip(types)
            .map(|(i, ty)| {
                i.and_then(|i| old.get_mut(i).and_then(Option::take))
                    .unwrap_or_else(|| Cells::nulls(*ty, self.len))
            })
            .collect();
    }

    /// Appends the first `limit` rows of `other`, which has the same columns.
    pub fn append(&mut self, mut other: Rows, limit: usize) {
        let n = limit.min(other.len);
        if self.len == 0 && n == other.len {
            // The first source into an empty table: its columns as they are, not copied.
            std::mem::swap(self, &mut other);
            return;
        }
        for (column, theirs) in self.columns.iter_mut().zip(other.columns) {
            column.append(theirs, n);
        }
        self.len += n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TYPES: [ColumnType; 4] = [
        ColumnType::String,
        ColumnType::DateTime,
        ColumnType::Long,
        ColumnType::Real,
    ];

    fn rows(texts: &[[&str; 4]]) -> Rows {
        let mut rows = Rows::new(TYPES);
        for t in texts {
            rows.push(TYPES.iter().zip(t).map(|(ty, s)| ty.convert(s)));
        }
        rows
    }

    #[test]
    fn a_row_reads_back_as_the_values_convert_text_gives() {
        let texts = [
            ["a, b", "2025-01-02T03:04:05.5Z", "42", "1.5"],
            ["", "", "", ""],
            ["é", "yesterday", "12.0", "x"],
        ];
        let r = rows(&texts);
        assert_eq!(r.len(), 3);
        for (i, t) in texts.iter().enumerate() {
            let want: Vec<Value> = TYPES
                .iter()
                .zip(t)
                .map(|(ty, s)| ty.convert_text(s))
                .collect();
            assert_eq!(r.row(i), want, "row {i}");
        }
        assert_eq!(r.row(0)[1], json!("2025-01-02T03:04:05.5000000Z"));
        assert_eq!(
            r.row(1),
            vec![json!(""), Value::Null, Value::Null, Value::Null]
        );
        assert!(r.row(3).is_empty());
    }

    #[test]
    fn append_takes_the_limit_and_keeps_values_whatever_the_kinds() {
        let mut table = rows(&[["x", "", "1", ""]]);
        table.append(rows(&[["y", "", "2", ""], ["z", "", "3", ""]]), 1);
        assert_eq!(table.len(), 2);
        assert_eq!(table.row(1)[0], json!("y"));
        assert_eq!(table.row(1)[2], json!(2));
        // A long column that was given other values (a type change) keeps every value.
        let mut mixed = Rows::new([ColumnType::Long]);
        mixed.push([Converted::Value(json!("text"))]);
        mixed.push([Converted::Long(-7)]);
        table.rearrange(
            &[Some(0), Some(2)],
            &[ColumnType::String, ColumnType::String],
        );
        table.append(Rows::new([ColumnType::String, ColumnType::String]), 5);
        let mut longs = Rows::new([ColumnType::String, ColumnType::Long]);
        longs.push([Converted::Text("w"), Converted::Long(9)]);
        table.append(longs, 1);
        assert_eq!(table.row(2), vec![json!("w"), json!(9)]);
        assert_eq!(table.row(0), vec![json!("x"), json!(1)]);
        assert_eq!(mixed.row(0), vec![json!("text")]);
        assert_eq!(mixed.row(1), vec![json!(-7)]);
    }

    #[test]
    fn columns_added_and_rearranged_are_null_where_new() {
        let mut r = rows(&[["x", "", "1", "2"]]);
        r.add_column(ColumnType::Bool);
        assert_eq!(r.row(0)[4], Value::Null);
        r.rearrange(&[Some(2), None, Some(0)], &TYPES[..3]);
        assert_eq!(r.row(0), vec![json!(1), Value::Null, json!("x")]);
        r.push([Converted::Long(5)]);
        assert_eq!(r.row(1), vec![json!(5), Value::Null, Value::Null]);
    }
}
