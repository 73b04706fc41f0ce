//! Column widths from content: fixed cells get what they need first, the rest of the width is
//! shared among name-like columns in proportion to their longest *visible* value (capped at
//! it, never below their minimum). Only the rows in view are measured: a pane may hold 100,000
//! rows and is drawn every frame.

use ratatui::layout::Constraint;
use unicode_width::UnicodeWidthStr as _;

/// How a column takes its width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sizing {
    /// Always its longest value (or header): states, sizes, times.
    Fixed,
    /// A share of what the fixed columns leave: names.
    Flex,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub header: &'static str,
    pub sizing: Sizing,
    pub min: u16,
    /// The widest of the header and the visible values, in terminal cells.
    pub longest: u16,
}

impl Column {
    pub fn fixed(header: &'static str) -> Self {
        Self::new(header, Sizing::Fixed, 0)
    }

    pub fn flex(header: &'static str, min: u16) -> Self {
        Self::new(header, Sizing::Flex, min)
    }

    fn new(header: &'static str, sizing: Sizing, min: u16) -> Self {
        Column {
            header,
            sizing,
            min,
            longest: cells(header),
        }
    }

    /// Widens to fit `value` (call once per visible row).
    pub fn measure(&mut self, value: &str) {
        self.longest = self.longest.max(cells(value));
    }
}

fn cells(s: &str) -> u16 {
    u16::try_from(s.width()).unwrap_or(u16::MAX)
}

/// Measures each column over the visible rows' cell texts (one string per column).
pub fn measure<'a>(columns: &mut [Column], rows: impl IntoIterator<Item = &'a [String]>) {
    for row in rows {
        for (c, v) in columns.iter_mut().zip(row) {
            c.measure(v);
        }
    }
}

/// Widths for `columns` in `width` cells, `spacing` cells between columns.
pub fn allocate(columns: &[Column], width: u16, spacing: u16) -> Vec<u16> {
    let gaps = spacing.saturating_mul(u16::try_from(columns.len().saturating_sub(1)).unwrap_or(0));
    let mut left = width.saturating_sub(gaps);
    let mut out = vec![0u16; columns.len()];
    // Fixed cells first, in order, so a too-narrow pane loses the last ones.
    for (w, c) in out.iter_mut().zip(columns) {
        if c.sizing == Sizing::Fixed {
            *w = c.longest.max(c.min).min(left);
            left -= *w;
        }
    }
    // Every flexible column gets its minimum (or what remains).
    for (w, c) in out.iter_mut().zip(columns) {
        if c.sizing == Sizing::Flex {
            *w = c.min.min(c.longest.max(c.min)).min(left);
            left -= *w;
        }
    }
    // Then the rest in proportion to the longest values, water-filling past capped columns.
    loop {
        let open: Vec<usize> = (0..columns.len())
            .filter(|&i| columns[i].sizing == Sizing::Flex && out[i] < columns[i].longest)
            .collect();
        if left == 0 || open.is_empty() {
            break;
        }
        let total: u32 = open.iter().map(|&i| u32::from(columns[i].longest)).sum();
        let pool = u32::from(left);
        let mut given = 0u16;
        for &i in &open {
            let share = pool * u32::from(columns[i].longest) / total.max(1);
            let room = columns[i].longest - out[i];
            let add = u16::try_from(share).unwrap_or(u16::MAX).min(room);
            out[i] += add;
            given += add;
        }
        if given == 0 {
            // Rounding left a few cells: one each, names first.
            for &i in &open {
                if left > given {
                    out[i] += 1;
                    given += 1;
                }
            }
        }
        left -= given;
    }
    out
}

/// [`allocate`] as table constraints.
pub fn constraints(columns: &[Column], width: u16, spacing: u16) -> Vec<Constraint> {
    allocate(columns, width, spacing)
        .into_iter()
        .map(Constraint::Length)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(values: &[(&'static str, Sizing, u16, &str)]) -> Vec<Column> {
        values
            .iter()
            .map(|&(h, s, min, v)| {
                let mut c = Column::new(h, s, min);
                c.measure(v);
                c
            })
            .collect()
    }

    #[test]
    fn fixed_first_then_whole_names_when_they_fit() {
        let c = cols(&[
            ("Type", Sizing::Fixed, 0, "ingest q"),
            ("Object", Sizing::Flex, 6, "readyforaggregation-secured"),
            ("Depth", Sizing::Fixed, 0, "~3"),
        ]);
        // 8 + 27 + 5 + 2 gaps = 42: all whole; spare width stays unused.
        assert_eq!(allocate(&c, 50, 1), vec![8, 27, 5]);
    }

    #[test]
    fn rest_is_shared_in_proportion_to_the_longest_value() {
        let c = cols(&[
            ("A", Sizing::Flex, 4, &"x".repeat(60)),
            ("B", Sizing::Flex, 4, &"y".repeat(20)),
            ("S", Sizing::Fixed, 0, "12345"),
        ]);
        let w = allocate(&c, 47, 1);
        assert_eq!(w[2], 5);
        assert_eq!(w[0] + w[1], 40);
        assert!(w[0] >= 28 && w[1] <= 12, "{w:?}");
    }

    #[test]
    fn a_capped_column_gives_its_spare_to_the_others() {
        let c = cols(&[
            ("A", Sizing::Flex, 4, "short"),
            ("B", Sizing::Flex, 4, &"y".repeat(100)),
        ]);
        assert_eq!(allocate(&c, 41, 1), vec![5, 35]);
    }

    #[test]
    fn never_below_min_and_never_past_the_width() {
        let c = cols(&[
            ("Name", Sizing::Flex, 6, &"n".repeat(50)),
            ("State", Sizing::Fixed, 0, "PartiallySucceeded"),
        ]);
        assert_eq!(allocate(&c, 30, 1), vec![11, 18]);
        let w = allocate(&c, 10, 1);
        assert!(w.iter().sum::<u16>() <= 9, "{w:?}");
    }

    #[test]
    fn wide_characters_count_as_two_cells() {
        let c = cols(&[("N", Sizing::Flex, 1, "数据.csv")]);
        assert_eq!(c[0].longest, 8);
    }
}
