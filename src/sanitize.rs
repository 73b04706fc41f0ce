//! The one gate between untrusted text and a terminal. Everything kingest did not write itself
//! (notification and status-table fields, service error bodies, file, blob and mapping names,
//! mgmt results, log lines) passes [`sanitize`] or [`sanitize_multiline`] before it reaches
//! stdout, stderr or a TUI screen: escape sequences, C0/C1 controls and bidi overrides are
//! removed, then secrets are redacted (`client::redact`). `--json` output is not sanitised (JSON
//! escapes control characters and keeps the exact value) but is redacted.

use crate::client::redact::redact;

/// One line: escape sequences removed, other controls (newlines and tabs too) become spaces,
/// secrets redacted.
pub fn sanitize(s: &str) -> String {
    // Strip first: an escape sequence inside `?si…g=` must not hide a signature from redact.
    redact(&clean(s, false))
}

/// Like [`sanitize`] but keeps `\n` so multi-line details stay readable.
pub fn sanitize_multiline(s: &str) -> String {
    redact(&clean(s, true))
}

/// A panic as people read it (`thread 'main' panicked at FILE:LINE: message`), sanitised: a
/// panic message may quote a URL, a token or text from the service.
pub fn panic_report(info: &std::panic::PanicHookInfo<'_>) -> String {
    let payload = info
        .payload()
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| info.payload().downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into());
    let at = info
        .location()
        .map(|l| format!(" at {}:{}", l.file(), l.line()))
        .unwrap_or_default();
    let thread = std::thread::current();
    sanitize_multiline(&format!(
        "thread '{}' panicked{at}:\n{payload}",
        thread.name().unwrap_or("<unnamed>")
    ))
}

/// Replaces the default panic hook (which prints the message raw) with one that prints
/// [`panic_report`] and, when `RUST_BACKTRACE` asks for it, a sanitised backtrace.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        eprintln!("{}", panic_report(info));
        let bt = std::backtrace::Backtrace::capture();
        if bt.status() == std::backtrace::BacktraceStatus::Captured {
            eprintln!("{}", sanitize_multiline(&bt.to_string()));
        }
    }));
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
            // Unicode line and paragraph separators break lines like `\n`.
            '\u{2028}' | '\u{2029}' if keep_newlines => out.push('\n'),
            '\u{2028}' | '\u{2029}' => out.push(' '),
            // Bidi overrides, isolates and marks can reorder what is shown.
            '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
            | '\u{200e}'
            | '\u{200f}'
            | '\u{61c}' => {}
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
        assert_eq!(sanitize("naïve ✓ 日本"), "naïve ✓ 日本");
    }

    #[test]
    fn the_issues_attacks_leave_only_text() {
        // Retitle, clipboard write, device status report (answered into the shell), clear
        // screen, C1 CSI and OSC, bidi override and isolate.
        let evil = "A\u{1b}]0;title\u{7}B\u{1b}]52;c;ZXZpbA==\u{7}C\u{1b}[5nD\u{1b}[2JE\u{9b}31mF\
                    \u{9d}0;t\u{9c}G\u{202e}H\u{2066}I\u{61c}J\u{2028}K";
        assert_eq!(sanitize(evil), "ABCDEFGHIJ K");
        assert_eq!(sanitize_multiline(evil), "ABCDEFGHIJ\nK");
        // OSC ended by ST (ESC \\) instead of BEL.
        assert_eq!(sanitize("a\u{1b}]52;c;eA==\u{1b}\\b"), "ab");
    }

    #[test]
    fn panic_reports_are_sanitised_and_redacted() {
        use std::sync::{Arc, Mutex};
        let got = Arc::new(Mutex::new(String::new()));
        let sink = got.clone();
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            *sink.lock().unwrap_or_else(|e| e.into_inner()) = panic_report(info);
        }));
        let _ = std::thread::spawn(|| {
            panic!("GET https://a/q?sv=1&sig=c2VjcmV0 with Bearer tok\u{1b}]0;t\u{7}en failed")
        })
        .join();
        std::panic::set_hook(previous);
        let report = got.lock().unwrap().clone();
        assert!(report.contains("panicked at src/sanitize.rs"), "{report}");
        assert!(
            report.ends_with("GET https://a/q?sv=1&sig=REDACTED with Bearer REDACTED failed"),
            "{report}"
        );
    }

    #[test]
    fn unterminated_sequences_do_not_leak_or_panic() {
        assert_eq!(sanitize("a\u{1b}"), "a");
        assert_eq!(sanitize("a\u{1b}[12"), "a");
        assert_eq!(sanitize("a\u{1b}]unterminated"), "a");
        assert_eq!(sanitize("\u{1b}(Bok"), "ok");
    }

    #[test]
    fn redacts_after_stripping() {
        assert_eq!(
            sanitize("https://a/c/b?sv=1&sig=SECRET\u{1b}[2J"),
            "https://a/c/b?sv=1&sig=REDACTED"
        );
    }
}
