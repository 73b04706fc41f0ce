//! What a one-line text field shows: the part of its value around the cursor that fits its
//! width, measured by grapheme and display width (a CJK character or an emoji takes two
//! columns, a combining mark none), so wide text, long pastes and right-to-left scripts never
//! blank the field and the cursor always lands on a visible column. Each grapheme is
//! sanitised on its own, so the cursor (a char index into the raw value) maps exactly.

use unicode_segmentation::UnicodeSegmentation as _;
use unicode_width::UnicodeWidthStr as _;

use crate::sanitize::sanitize;

/// The visible slice of a field and where the cursor goes in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// Sanitised text to draw, at most `width` columns wide.
    pub text: String,
    /// The cursor's column from the field's left edge, always below `width` (for `width > 0`).
    pub cursor: u16,
}

/// The window of `value` for a field `width` columns wide with the cursor before the char at
/// index `cursor` (as `tui_input::Input::cursor` counts). The view scrolls as little as it
/// can: from the start while the cursor fits, else so that the cursor sits in the last
/// column; a wide grapheme that would straddle the right edge is left out.
pub fn window(value: &str, cursor: usize, width: usize) -> Window {
    // (sanitised text, display width) per grapheme, and the grapheme the cursor is before.
    let mut cells: Vec<(String, usize)> = Vec::new();
    let mut cursor_at = None;
    let mut chars = 0;
    for g in value.graphemes(true) {
        let n = g.chars().count();
        // A cursor inside a cluster (tui-input moves by char) shows at its start.
        if cursor_at.is_none() && cursor < chars + n {
            cursor_at = Some(cells.len());
        }
        chars += n;
        let shown = sanitize(g);
        let w = shown.width();
        cells.push((shown, w));
    }
    let cursor_at = cursor_at.unwrap_or(cells.len());
    let width = width.max(1);
    // The cursor needs a column of its own: at most `width - 1` columns before it.
    let before = |from: usize| cells[from..cursor_at].iter().map(|c| c.1).sum::<usize>();
    let mut start = 0;
    while start < cursor_at && before(start) > width - 1 {
        start += 1;
    }
    let mut text = String::new();
    let mut used = 0;
    for (s, w) in &cells[start..] {
        if used + w > width {
            break;
        }
        text.push_str(s);
        used += w;
    }
    Window {
        text,
        cursor: u16::try_from(before(start)).unwrap_or(u16::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(s: &str) -> usize {
        s.width()
    }

    #[test]
    fn ascii_scrolls_to_keep_the_cursor_in_the_last_column() {
        let w = window("hello", 5, 10);
        assert_eq!((w.text.as_str(), w.cursor), ("hello", 5));
        let long: String = ('a'..='z').collect();
        let w = window(&long, 26, 10);
        assert_eq!((w.text.as_str(), w.cursor), ("rstuvwxyz", 9));
        let w = window(&long, 0, 10);
        assert_eq!((w.text.as_str(), w.cursor), ("abcdefghij", 0));
    }

    #[test]
    fn eighty_wide_characters_never_blank_the_field() {
        let value = "日".repeat(80);
        for width in [1, 2, 3, 10, 63, 64, 200] {
            for cursor in [0, 1, 40, 79, 80] {
                let w = window(&value, cursor, width);
                assert!(
                    usize::from(w.cursor) < width.max(1),
                    "{width}/{cursor}: {w:?}"
                );
                assert!(cols(&w.text) <= width, "{width}/{cursor}: {w:?}");
                if width >= 3 {
                    assert!(!w.text.is_empty(), "{width}/{cursor}: blank");
                }
                // Columns are whole characters: two each.
                assert_eq!(w.cursor % 2, 0, "{width}/{cursor}: {w:?}");
            }
        }
        // At the end of a 64-column field: 31 characters (62 columns) then the cursor.
        let w = window(&value, 80, 64);
        assert_eq!((w.text.chars().count(), w.cursor), (31, 62));
        // A wide character is never cut in half at the right edge.
        let w = window(&value, 0, 5);
        assert_eq!(w.text, "日日");
    }

    #[test]
    fn emoji_and_cjk_pastes_measure_by_grapheme() {
        // A family emoji is one grapheme of 7 chars; a flag is two regional indicators.
        let family = "👨\u{200d}👩\u{200d}👧";
        let value = format!("数据{family}🇯🇵.csv");
        let chars = value.chars().count();
        let w = window(&value, chars, 40);
        assert_eq!(w.text, value);
        assert_eq!(usize::from(w.cursor), cols(&value));
        // The cursor inside the family (after its first char) is shown at its start.
        let w = window(&value, 3, 40);
        assert_eq!(w.cursor, 4);
        // Scrolled: the cut falls between graphemes, never inside the family or the flag.
        let long = format!("{}{value}", "表".repeat(30));
        let w = window(&long, long.chars().count(), 12);
        assert!(w.text.ends_with(".csv"), "{w:?}");
        assert!(usize::from(w.cursor) < 12);
        assert!(
            !w.text.contains('\u{1f1ef}') || w.text.contains("🇯🇵"),
            "{w:?}"
        );
    }

    #[test]
    fn right_to_left_text_and_combining_marks() {
        let hebrew = "קובץ_נתונים.csv";
        let w = window(hebrew, hebrew.chars().count(), 40);
        assert_eq!(w.text, hebrew);
        assert_eq!(usize::from(w.cursor), hebrew.chars().count());
        // Arabic with harakat: the marks join their letters and take no column.
        let arabic = "مَلَفّ";
        let w = window(arabic, arabic.chars().count(), 40);
        assert_eq!(w.text, arabic);
        assert_eq!(w.cursor, 3);
        // Bidi overrides are dropped (they could reorder the screen), the text stays.
        let w = window("a\u{202e}b", 3, 10);
        assert_eq!((w.text.as_str(), w.cursor), ("ab", 2));
        // Control characters never reach the terminal.
        let w = window("x\u{1b}]0;t\u{7}y", 7, 20);
        assert!(
            !w.text.contains('\u{1b}') && !w.text.contains('\u{7}'),
            "{w:?}"
        );
    }
}
