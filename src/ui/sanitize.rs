//! Untrusted text (blob names, failure details, raw messages) must not drive the terminal:
//! escape sequences, control characters and bidi overrides are removed before drawing.

use crate::client::redact::redact;

/// One line: escape sequences removed, other controls (newlines and tabs too) become spaces.
pub fn sanitize(s: &str) -> String {
    clean(s, false)
}

/// Like [`sanitize`] but keeps `\n` so multi-line details stay readable.
pub fn sanitize_multiline(s: &str) -> String {
    clean(s, true)
}

/// Sanitised and with any SAS signature or token redacted: for anything that may hold a URL.
pub fn display(s: &str) -> String {
    // Strip first: an escape sequence inside `?si…g=` must not hide a signature from redact.
    redact(&sanitize(s))
}

fn clean(s: &str, keep_newlines: bool) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => skip_escape(&mut chars),
            // C1 CSI/OSC/DCS introducers start sequences on some terminals.
            '\u{9b}' => skip_csi(&mut chars),
            '\u{9d}' | '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars),
            '\n' if keep_newlines => out.push('\n'),
            '\r' if keep_newlines => {}
            '\t' | '\n' | '\r' => out.push(' '),
            c if c.is_control() => {}
            // Bidi overrides, isolates and marks (Unicode Bidi_Control) can reorder what is shown.
            '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
            | '\u{200e}'
            | '\u{200f}'
            | '\u{061c}' => {}
            c => out.push(c),
        }
    }
    out
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

fn skip_escape(chars: &mut Chars<'_>) {
    match chars.next() {
        Some('[') => skip_csi(chars),
        Some(']') | Some('P') | Some('X') | Some('^') | Some('_') => skip_string(chars),
        // Two-byte sequences (ESC c, ESC 7, ...) and charset selections (ESC ( B).
        Some('(') | Some(')') | Some('*') | Some('+') | Some('#') | Some('%') => {
            chars.next();
        }
        _ => {}
    }
}

/// CSI: parameters and intermediates up to a final byte in `@`..=`~`.
fn skip_csi(chars: &mut Chars<'_>) {
    for c in chars.by_ref() {
        if ('@'..='~').contains(&c) {
            return;
        }
        if !(' '..='?').contains(&c) {
            // Malformed: stop here; the character itself is dropped.
            return;
        }
    }
}

/// OSC/DCS/APC/PM strings end with BEL or ST (`ESC \` or U+009C).
fn skip_string(chars: &mut Chars<'_>) {
    while let Some(c) = chars.next() {
        match c {
            '\u{7}' | '\u{9c}' => return,
            '\u{1b}' => {
                if chars.peek() == Some(&'\\') {
                    chars.next();
                }
                return;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_csi_osc_and_controls() {
        assert_eq!(sanitize("a\u{1b}[31mred\u{1b}[0m b"), "ared b");
        assert_eq!(sanitize("x\u{1b}]0;evil title\u{7}y"), "xy");
        assert_eq!(
            sanitize("x\u{1b}]8;;http://e\u{1b}\\link\u{1b}]8;;\u{1b}\\"),
            "xlink"
        );
        assert_eq!(sanitize("a\u{9b}2Jb"), "ab");
        assert_eq!(sanitize("bell\u{7}\u{8}\u{0}!"), "bell!");
        assert_eq!(sanitize("l1\nl2\tx\r"), "l1 l2 x ");
        assert_eq!(sanitize_multiline("l1\r\nl2"), "l1\nl2");
        assert_eq!(sanitize("abc\u{202e}fed"), "abcfed");
        // The Arabic letter mark is a bidi control too (the `sanitize` fuzz target checks all).
        assert_eq!(sanitize("a\u{061c}b"), "ab");
        assert_eq!(sanitize("naïve ✓ 日本"), "naïve ✓ 日本");
    }

    #[test]
    fn unterminated_sequences_do_not_leak_or_panic() {
        assert_eq!(sanitize("a\u{1b}"), "a");
        assert_eq!(sanitize("a\u{1b}[12"), "a");
        assert_eq!(sanitize("a\u{1b}]unterminated"), "a");
        assert_eq!(sanitize("\u{1b}(Bok"), "ok");
    }

    #[test]
    fn display_redacts_secrets() {
        assert_eq!(
            display("https://a/c/b?sv=1&sig=SECRET\u{1b}[2J"),
            "https://a/c/b?sv=1&sig=REDACTED"
        );
    }
}
