//! Keeps secrets (SAS signatures, tokens) out of anything shown, logged or exported: the one
//! home of redaction. Two mechanisms, both applied by [`redact`]:
//!
//! - a process-wide registry of the secret values kingest has learnt (the configured token and
//!   client secret, tokens its credentials produced, the identity token, the signature of every
//!   SAS URL it parsed), replaced wherever they appear, in any common encoding;
//! - pattern rules for secrets kingest never saw (another client's SAS inside a notification's
//!   Details, a token a server echoes): `sig=` in free text, in JSON and percent-encoded once or
//!   twice, `Bearer …`, `Authorization: …`, JWTs, and base64 text that decodes to any of these.
//!
//! Archives and the journal are evidence and state, not output: they are written exact.

use aho_corasick::{AhoCorasick, MatchKind};
use std::sync::RwLock;

use base64::Engine as _;

/// What a secret is replaced with.
pub const REDACTED: &str = "REDACTED";

/// Query parameters whose values are secrets (after `?`, `&` or `;`, raw or percent-encoded).
const QUERY_PARAMS: &[&str] = &[
    "sig",
    "signature",
    "code",
    "token",
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
];

/// Names whose `name=value` is a secret wherever it stands (a word of its own, not inside
/// another word: "design=" is not "sig="). Connection strings' keys among them.
const FREE_PARAMS: &[&str] = &[
    "sig",
    "signature",
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "accountkey",
    "sharedaccesskey",
    "authorizationcontext",
];

/// JSON keys whose string values are secrets (`"sig":"…"`, `"AuthorizationContext":"…"`).
const JSON_KEYS: &[&str] = &[
    "sig",
    "signature",
    "token",
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "accountkey",
    "authorizationcontext",
    "authorization",
    "password",
];

/// Authorization schemes whose credentials follow `Authorization:`.
const AUTH_SCHEMES: &[&str] = &[
    "bearer",
    "basic",
    "sharedkey",
    "sharedkeylite",
    "sharedaccesssignature",
    "digest",
    "negotiate",
    "pop",
];

/// Shorter values are not registered: replacing them everywhere would garble ordinary text.
pub const MIN_SECRET_LEN: usize = 8;
/// The registry keeps at most this many forms of SAS signatures, dropping the oldest first (new
/// ones arrive with every resource refresh; the old ones expire). Credentials are never dropped.
const MAX_FORMS: usize = 8192;

/// The registered forms: credentials (kept for the life of the process), SAS signatures in the
/// order learnt, and one automaton over both for replacing. Every shown line is redacted, and a
/// TUI left open all day learns thousands of forms: one search for all of them, not one each.
#[derive(Default)]
struct Known {
    pinned: Vec<String>,
    learnt: std::collections::VecDeque<String>,
    matcher: Option<AhoCorasick>,
    /// Forms were added since `matcher` was built: it is rebuilt on the next redaction, once
    /// however many signatures a resource refresh registers.
    stale: bool,
}

static KNOWN: RwLock<Known> = RwLock::new(Known {
    pinned: Vec::new(),
    learnt: std::collections::VecDeque::new(),
    matcher: None,
    stale: false,
});

/// Registers a SAS signature kingest has learnt, so [`redact`] replaces it (and its percent-
/// and JSON-encoded forms) everywhere from now on. Values shorter than [`MIN_SECRET_LEN`] are
/// ignored; the oldest signatures are forgotten past [`MAX_FORMS`].
pub fn register_secret(value: &str) {
    register(value, false);
}

/// Registers a credential (the configured token, a client secret, an identity token): like
/// [`register_secret`], but never forgotten, however many signatures arrive later.
pub fn register_credential(value: &str) {
    register(value, true);
}

fn register(value: &str, pin: bool) {
    let value = value.trim();
    if value.chars().count() < MIN_SECRET_LEN || value == REDACTED {
        return;
    }
    KNOWN
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .add(encodings(value), pin, MAX_FORMS);
}

impl Known {
    /// Adds `forms`; unpinned ones beyond `cap` push out the oldest unpinned.
    fn add(&mut self, forms: Vec<String>, pin: bool, cap: usize) {
        let new: Vec<String> = forms
            .into_iter()
            .filter(|f| !self.pinned.contains(f) && (pin || !self.learnt.contains(f)))
            .collect();
        if new.is_empty() {
            return;
        }
        if pin {
            self.learnt.retain(|f| !new.contains(f));
            self.pinned.extend(new);
        } else {
            self.learnt.extend(new);
            while self.learnt.len() > cap {
                self.learnt.pop_front();
            }
        }
        self.stale = true;
    }

    /// Rebuilds the automaton if forms were added since.
    fn refresh(&mut self) {
        if !self.stale {
            return;
        }
        // Every match, overlapping ones too (a form may start inside another), merged below:
        // no part of any registered form is left shown. Building over plain strings cannot
        // fail short of a pattern-count limit far above MAX_FORMS; should it, the previous
        // automaton stays (redaction never fails open to nothing), and the pattern rules apply.
        if let Ok(m) = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(self.pinned.iter().chain(&self.learnt))
        {
            self.matcher = Some(m);
        }
        self.stale = false;
    }

    /// `text` with every registered form replaced; call [`Known::refresh`] first.
    fn replace_in(&self, text: &str) -> String {
        let Some(m) = &self.matcher else {
            return text.to_string();
        };
        let mut spans: Vec<(usize, usize)> = m
            .find_overlapping_iter(text)
            .map(|f| (f.start(), f.end()))
            .collect();
        if spans.is_empty() {
            return text.to_string();
        }
        spans.sort_unstable();
        let mut out = String::with_capacity(text.len());
        let mut copied = 0; // text[..copied] is in `out` already, or redacted
        let mut i = 0;
        while i < spans.len() {
            let (start, mut end) = spans[i];
            // Overlapping or touching forms are one redacted run.
            while i + 1 < spans.len() && spans[i + 1].0 <= end {
                i += 1;
                end = end.max(spans[i].1);
            }
            out.push_str(&text[copied..start]);
            out.push_str(REDACTED);
            copied = end;
            i += 1;
        }
        out.push_str(&text[copied..]);
        out
    }
}

/// `value` as it may appear in text: raw, percent-encoded once and twice (either hex case),
/// and with JSON's escaped slashes.
fn encodings(value: &str) -> Vec<String> {
    use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
    const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    let set = UNRESERVED;
    let once = utf8_percent_encode(value, set).to_string();
    let once_lower = lower_hex(&once);
    let twice = utf8_percent_encode(&once, set).to_string();
    let twice_lower = utf8_percent_encode(&once_lower, set).to_string();
    let mut out = vec![
        value.to_string(),
        value.replace('/', "\\/"),
        once,
        once_lower,
        twice,
        twice_lower,
    ];
    out.sort();
    out.dedup();
    out
}

/// `%2B` → `%2b`: percent-encoding's hex digits in lower case.
fn lower_hex(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let n = tail.len().min(3);
        out.push_str(&tail[..n].to_ascii_lowercase());
        rest = &tail[n..];
    }
    out.push_str(rest);
    out
}

/// `text` with every secret replaced by `REDACTED`: registered values first, then the pattern
/// rules, then base64 runs whose decoded text holds a secret. Works on free text so error
/// bodies from peers are safe too.
///
/// ```
/// use kingest::client::redact::redact;
/// assert_eq!(
///     redact("GET https://a.queue.core.windows.net/q?sp=r&sig=c2VjcmV0 failed"),
///     "GET https://a.queue.core.windows.net/q?sp=r&sig=REDACTED failed"
/// );
/// ```
pub fn redact(text: &str) -> String {
    // A replacement changes the context of the text after it (the backslash before a quote,
    // a word boundary), so one pass can leave what a second pass would redact: repeat until
    // nothing changes, so redacting shown text again never finds more (text without a secret
    // takes one pass). Each pass only replaces values with REDACTED, which contains no secret
    // name, so a few passes settle any input; the bound is a guard, not a limit reached.
    let mut out = redact_depth(text, 2);
    for _ in 0..MAX_PASSES {
        let again = redact_depth(&out, 2);
        if again == out {
            break;
        }
        out = again;
    }
    out
}

const MAX_PASSES: usize = 16;

fn redact_depth(text: &str, depth: u8) -> String {
    let known = redact_known(text);
    let patterned = redact_patterns(&known);
    if depth == 0 {
        return patterned;
    }
    redact_base64(&patterned, depth - 1)
}

fn redact_known(text: &str) -> String {
    // A poisoned lock still holds the values: redaction must not fail open.
    {
        let known = KNOWN.read().unwrap_or_else(|e| e.into_inner());
        if !known.stale {
            return known.replace_in(text);
        }
    }
    let mut known = KNOWN.write().unwrap_or_else(|e| e.into_inner());
    known.refresh();
    known.replace_in(text)
}

/// Every string inside a JSON value redacted (for output built from what the service said).
pub fn redact_json(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::String(s) => *s = redact(s),
        serde_json::Value::Array(a) => a.iter_mut().for_each(redact_json),
        serde_json::Value::Object(o) => o.values_mut().for_each(redact_json),
        _ => {}
    }
}

/// A URL without its query string at all: for short displays.
pub fn strip_query(url: &str) -> &str {
    url.split(['?', ';']).next().unwrap_or(url)
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Characters of a token (RFC 6750 b64token, base64, base64url).
fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/' | b'=')
}

/// `%`, `%25`, `%2525`, … followed by the two hex digits `hex`: a character percent-encoded
/// any number of times. Returns the encoded length.
fn encoded(bytes: &[u8], hex: &str) -> Option<usize> {
    if bytes.first() != Some(&b'%') {
        return None;
    }
    let mut i = 1;
    while bytes.len() >= i + 2 {
        let pair = &bytes[i..i + 2];
        if pair.eq_ignore_ascii_case(hex.as_bytes()) {
            return Some(i + 2);
        }
        if pair != b"25" {
            return None;
        }
        i += 2;
    }
    None
}

/// The length of a `=` at the start of `bytes`, raw or percent-encoded.
fn equals_len(bytes: &[u8]) -> Option<usize> {
    if bytes.first() == Some(&b'=') {
        return Some(1);
    }
    encoded(bytes, "3D")
}

/// Whether the text before `at` ends with a query delimiter (`?`, `&`, `;`), raw or
/// percent-encoded once or more (`%3F`, `%253F`, …).
fn after_query_delimiter(bytes: &[u8], at: usize) -> bool {
    if at == 0 {
        return false;
    }
    if matches!(bytes[at - 1], b'?' | b'&' | b';') {
        return true;
    }
    // `%3F` / `%253F` / …: the hex pair, any `25`s before it, then `%`.
    for hex in ["3F", "26", "3B"] {
        if at >= 3 && bytes[at - 2..at].eq_ignore_ascii_case(hex.as_bytes()) {
            let mut i = at - 2;
            while i >= 2 && &bytes[i - 2..i] == b"25" {
                i -= 2;
            }
            if i >= 1 && bytes[i - 1] == b'%' {
                return true;
            }
        }
    }
    false
}

/// How long the secret value at the start of `bytes` is: up to a raw delimiter, or, in a query
/// that was itself percent-encoded (`encoded_query`: the `=` before the value was `%3D`), also
/// up to an encoded one at any depth (`%26`, `%2526`, `%22`, …: [`ends_encoded_value`]). Other
/// encoded characters (`%2B`, `%2F`, `%3D` of base64, or anything a crafted value holds)
/// belong to the value.
fn value_len(bytes: &[u8], encoded_query: bool) -> usize {
    // A value that starts with what would end it (`sig=\\abc`, `sig=)x`): crafted, so it runs
    // to the next parameter or space rather than showing as empty. A leading quote too
    // (`sig=""x`, the sas fuzz target's finding): it then runs past quotes, which a
    // quote-started value holds (an empty `sig=` at the end of a quoted URL is redacted with
    // what follows it up to a space: more hidden, never less).
    if let Some(&b) = bytes.first()
        && (ends_value(b) || b >= 0x80)
        && !b.is_ascii_whitespace()
        && b != b'&'
    {
        let quoted = b == b'"';
        return bytes
            .iter()
            .skip(1)
            .position(|&c| {
                c.is_ascii_whitespace() || matches!(c, b'&' | b';') || (c == b'"' && !quoted)
            })
            .map_or(bytes.len(), |p| p + 1);
    }
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if ends_value(b) || b >= 0x80 {
            break;
        }
        if b == b'%' && encoded_query {
            match encoded_byte(&bytes[i..]) {
                // A value cannot start with an encoded delimiter but the next parameter's
                // `%26`: a crafted one (`sig=%22abc`) is redacted, not shown as empty.
                Some((decoded, n))
                    if !ends_encoded_value(decoded) || (i == 0 && decoded != b'&') =>
                {
                    i += n;
                    continue;
                }
                Some(_) => break,
                // Not a valid escape: a literal `%` of the value.
                None => {}
            }
        }
        i += 1;
    }
    i
}

/// Bytes that end a secret value (the next parameter, a quote, a bracket, a space, …).
fn ends_value(b: u8) -> bool {
    b.is_ascii_whitespace()
        || b.is_ascii_control()
        || matches!(
            b,
            b'&' | b';'
                | b'"'
                | b'\''
                | b'<'
                | b'>'
                | b'('
                | b')'
                | b','
                | b'\\'
                | b']'
                | b'}'
                | b'|'
                | b'`'
        )
}

/// Encoded bytes that end a value: a query delimiter or quote of a URL that was itself
/// percent-encoded (`%3Fsig%3Dabc%26sv%3D…`). Anything else encoded, controls included, is
/// part of what a crafted value holds and is redacted with it.
fn ends_encoded_value(b: u8) -> bool {
    matches!(b, b'&' | b';' | b'"' | b'\'' | b'<' | b'>' | b' ' | b'#')
}

/// `%XX` (with any number of `25`s: `%25XX`, `%2525XX`) at the start of `bytes`: the byte it
/// stands for and the length of the escape.
fn encoded_byte(bytes: &[u8]) -> Option<(u8, usize)> {
    if bytes.first() != Some(&b'%') {
        return None;
    }
    let mut i = 1;
    while bytes.len() >= i + 2 {
        let pair = std::str::from_utf8(&bytes[i..i + 2]).ok()?;
        let byte = u8::from_str_radix(pair, 16).ok()?;
        if byte == 0x25 && bytes.len() >= i + 4 && bytes[i + 2].is_ascii_hexdigit() {
            // `%25` followed by more hex: one more level of encoding.
            if u8::from_str_radix(std::str::from_utf8(&bytes[i + 2..i + 4]).ok()?, 16).is_ok() {
                i += 2;
                continue;
            }
        }
        return Some((byte, i + 2));
    }
    None
}

/// The length of `name` at `bytes[at..]`, any of its letters percent-encoded (`%73ig`,
/// `s%2569g`): servers decode parameter names, so a crafted `%73ig=` is a signature too.
fn encoded_name_len(bytes: &[u8], at: usize, name: &str) -> Option<usize> {
    let mut j = at;
    for &c in name.as_bytes() {
        let b = *bytes.get(j)?;
        if b.eq_ignore_ascii_case(&c) {
            j += 1;
            continue;
        }
        let (decoded, len) = encoded_byte(&bytes[j..])?;
        if !decoded.eq_ignore_ascii_case(&c) {
            return None;
        }
        j += len;
    }
    Some(j - at)
}

/// Case-insensitive `name` at `bytes[at..]`.
fn name_at(bytes: &[u8], at: usize, name: &str) -> bool {
    bytes.len() >= at + name.len()
        && bytes[at..at + name.len()].eq_ignore_ascii_case(name.as_bytes())
}

/// The pattern rules, applied left to right in one pass.
fn redact_patterns(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0; // bytes[..copied] are in `out` already
    let mut i = 0;
    while i < bytes.len() {
        let word_start = i == 0 || !is_word(bytes[i - 1]);
        if let Some((keep, skip)) = match_rule(bytes, i, word_start) {
            // Keep bytes[i..i+keep] (the name and delimiter), replace the value.
            out.push_str(&text[copied..i + keep]);
            out.push_str(REDACTED);
            i += keep + skip;
            copied = i;
            continue;
        }
        i += 1;
    }
    out.push_str(&text[copied..]);
    out
}

/// At `i`: `Some((kept, value))`, the length of the text to keep and of the secret after it.
fn match_rule(bytes: &[u8], i: usize, word_start: bool) -> Option<(usize, usize)> {
    let b = bytes[i];
    if !b.is_ascii_alphabetic() && b != b'%' {
        return None;
    }
    // name=value, after a query delimiter or (for FREE_PARAMS) as a word of its own.
    let query = after_query_delimiter(bytes, i);
    for name in QUERY_PARAMS.iter().chain(FREE_PARAMS) {
        let free = FREE_PARAMS.contains(name);
        if !(query || (free && word_start)) {
            continue;
        }
        let Some(name_len) = encoded_name_len(bytes, i, name) else {
            continue;
        };
        let after = i + name_len;
        if let Some(eq) = equals_len(&bytes[after..]) {
            // After a raw `=` the query is not itself encoded: `%26` there is a literal `&` of
            // the value (`sig=%26EF…`, the sas fuzz target's finding), not the next parameter.
            let v = value_len(&bytes[after + eq..], eq > 1);
            if v > 0 && !is_redacted(&bytes[after + eq..], v) {
                return Some((name_len + eq, v));
            }
        }
    }
    if !b.is_ascii_alphabetic() || !word_start {
        return None;
    }
    // "key": "value" (JSON, any spacing), also inside a JSON string (`\"key\":\"value\"`).
    if i > 0 && bytes[i - 1] == b'"' {
        // Escaped (`\"key\"`) only after an odd run of backslashes: `\\"` is an escaped
        // backslash, then a plain quote (the fuzz target found `…\\\\"sig":"…` left shown).
        let backslashes = bytes[..i - 1]
            .iter()
            .rev()
            .take_while(|&&c| c == b'\\')
            .count();
        let escaped = backslashes % 2 == 1;
        let quote: &[u8] = if escaped { b"\\\"" } else { b"\"" };
        for key in JSON_KEYS {
            if !name_at(bytes, i, key) || !bytes[i + key.len()..].starts_with(quote) {
                continue;
            }
            let mut j = i + key.len() + quote.len();
            j += spaces(&bytes[j..]);
            if bytes.get(j) != Some(&b':') {
                continue;
            }
            j += 1;
            j += spaces(&bytes[j..]);
            if !bytes[j..].starts_with(quote) {
                continue;
            }
            j += quote.len();
            let v = if escaped {
                find(&bytes[j..], quote).unwrap_or(bytes.len() - j)
            } else {
                json_string_len(&bytes[j..])
            };
            if v > 0 && !is_redacted(&bytes[j..], v) {
                return Some((j - i, v));
            }
        }
    }
    // Authorization: <scheme> <credentials> (an HTTP header echoed in an error body).
    if name_at(bytes, i, "authorization") {
        let mut j = i + "authorization".len();
        j += spaces(&bytes[j..]);
        if bytes.get(j) == Some(&b':') {
            j += 1;
            j += spaces(&bytes[j..]);
            let rest = &bytes[j..];
            let scheme = AUTH_SCHEMES
                .iter()
                .find(|s| name_at(rest, 0, s) && rest.get(s.len()).is_some_and(|c| *c == b' '));
            let v = rest
                .iter()
                .position(|c| matches!(c, b'\n' | b'\r' | b'"' | b'\\'))
                .unwrap_or(rest.len());
            // A bare credential: token characters with a digit or symbol, so that
            // "Authorization: forbidden" stays readable.
            let value = &rest[..v];
            let single_token = v >= MIN_SECRET_LEN
                && value.iter().all(|c| is_token_char(*c))
                && value.iter().any(|c| !c.is_ascii_alphabetic());
            if (scheme.is_some() || single_token) && !is_redacted(rest, v) {
                return Some((j - i, v));
            }
        }
    }
    // Bearer <token>
    if name_at(bytes, i, "bearer") {
        let j = i + "bearer".len();
        let sp = spaces(&bytes[j..]);
        if sp > 0 {
            let v = bytes[j + sp..]
                .iter()
                .position(|c| !is_token_char(*c))
                .unwrap_or(bytes.len() - j - sp);
            if v > 0 && !is_redacted(&bytes[j + sp..], v) {
                return Some((j + sp - i, v));
            }
        }
    }
    // A JWT: base64url `{"…` header, payload and (possibly empty) signature.
    if bytes[i..].starts_with(b"eyJ") && (i == 0 || !matches!(bytes[i - 1], b'-' | b'.')) {
        let seg = |from: usize| {
            bytes[from..]
                .iter()
                .position(|c| !(c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_')))
                .unwrap_or(bytes.len() - from)
        };
        let head = seg(i);
        if head >= 10 && bytes.get(i + head) == Some(&b'.') {
            let payload = seg(i + head + 1);
            if payload > 0 && bytes.get(i + head + 1 + payload) == Some(&b'.') {
                let mut end = i + head + 1 + payload + 1;
                end += seg(end);
                // JWE has five parts.
                while bytes.get(end) == Some(&b'.') {
                    end += 1 + seg(end + 1);
                }
                return Some((0, end - i));
            }
        }
    }
    None
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn spaces(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .take_while(|c| matches!(c, b' ' | b'\t'))
        .count()
}

/// Up to the closing quote of a JSON string (escapes skipped).
fn json_string_len(bytes: &[u8]) -> usize {
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => return i,
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
    bytes.len().min(i)
}

fn is_redacted(bytes: &[u8], len: usize) -> bool {
    &bytes[..len] == REDACTED.as_bytes()
}

/// Base64 text (a queue message as received, a header) whose decoded text holds a secret is
/// replaced whole: the secret would otherwise pass through in encoded form.
fn redact_base64(text: &str, depth: u8) -> String {
    let bytes = text.as_bytes();
    let is_b64 = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'=' | b'-' | b'_');
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        if !is_b64(bytes[i]) {
            i += 1;
            continue;
        }
        let len = bytes[i..].iter().take_while(|c| is_b64(**c)).count();
        let run = &text[i..i + len];
        if len >= 16
            && let Some(decoded) = decode_base64(run)
            && redact_depth(&decoded, depth) != decoded
        {
            out.push_str(&text[copied..i]);
            out.push_str(REDACTED);
            copied = i + len;
        }
        i += len;
    }
    out.push_str(&text[copied..]);
    out
}

fn decode_base64(run: &str) -> Option<String> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let bytes = STANDARD
        .decode(run)
        .or_else(|_| URL_SAFE.decode(run))
        .or_else(|_| STANDARD_NO_PAD.decode(run.trim_end_matches('=')))
        .or_else(|_| URL_SAFE_NO_PAD.decode(run.trim_end_matches('=')))
        .ok()?;
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_signature_everywhere() {
        assert_eq!(
            redact("https://a.blob.core.windows.net/c/b?sv=2025&sig=abc%2Bdef%3D&se=x"),
            "https://a.blob.core.windows.net/c/b?sv=2025&sig=REDACTED&se=x"
        );
        assert_eq!(
            redact("GET http://x/q?SIG=zz failed"),
            "GET http://x/q?SIG=REDACTED failed"
        );
        assert_eq!(
            redact("\"u\":\"http://x/?sig=1\""),
            "\"u\":\"http://x/?sig=REDACTED\""
        );
        assert_eq!(redact("no secrets here é"), "no secrets here é");
        assert_eq!(
            redact("https://x/?a=1&signature=s"),
            "https://x/?a=1&signature=REDACTED"
        );
    }

    #[test]
    fn sig_in_free_text_and_json() {
        assert_eq!(
            redact("copy failed: sig=abcDEF123/+= is invalid"),
            "copy failed: sig=REDACTED is invalid"
        );
        assert_eq!(
            redact(r#"{"sig":"abc+def=","sv":"2025"}"#),
            r#"{"sig":"REDACTED","sv":"2025"}"#
        );
        assert_eq!(redact(r#"{"sig" : "abc"}"#), r#"{"sig" : "REDACTED"}"#);
        assert_eq!(
            redact(r#""Details":"{\"sig\":\"abc\/d\"}""#),
            r#""Details":"{\"sig\":\"REDACTED\"}""#
        );
        assert_eq!(
            redact(r#"{"AuthorizationContext":"opaque.token.value"}"#),
            r#"{"AuthorizationContext":"REDACTED"}"#
        );
        assert_eq!(
            redact("AccountName=a;AccountKey=bXlrZXk=;EndpointSuffix=x"),
            "AccountName=a;AccountKey=REDACTED;EndpointSuffix=x"
        );
    }

    #[test]
    fn percent_encoded_signatures() {
        assert_eq!(
            redact("u=https%3A%2F%2Fa%2Fc%2Fb%3Fsv%3D1%26sig%3Dab%2Bc%252Bd%3D%26se%3Dx"),
            "u=https%3A%2F%2Fa%2Fc%2Fb%3Fsv%3D1%26sig%3DREDACTED%26se%3Dx"
        );
        assert_eq!(
            redact("x%3Fsig%3Dabc%2Fdef more"),
            "x%3Fsig%3DREDACTED more"
        );
        assert_eq!(
            redact("double%253Fsig%253Dab%25252Bcd%2526se%253D1"),
            "double%253Fsig%253DREDACTED%2526se%253D1"
        );
        assert_eq!(redact("x%3fSig%3dabc"), "x%3fSig%3dREDACTED");
        // Encoded parameter names: servers decode them, so these are signatures too.
        for (text, shown) in [
            ("b?sv=1&%73ig=abc&se=x", "b?sv=1&%73ig=REDACTED&se=x"),
            ("b?s%2569G=abc", "b?s%2569G=REDACTED"),
            (
                "b%3F%73%69%67%3Dabc%26se%3D1",
                "b%3F%73%69%67%3DREDACTED%26se%3D1",
            ),
            ("see %73ig=abc", "see %73ig=REDACTED"),
            ("b?%73ign=abc&%7=1", "b?%73ign=abc&%7=1"),
        ] {
            assert_eq!(redact(text), shown, "{text}");
        }
    }

    #[test]
    fn bearer_authorization_and_jwt() {
        assert_eq!(redact("sent Bearer x"), "sent Bearer REDACTED");
        assert_eq!(
            redact("header Authorization: Bearer abc.def-ghi\nnext"),
            "header Authorization: REDACTED\nnext"
        );
        assert_eq!(
            redact("authorization:SharedKey acct:c2ln"),
            "authorization:REDACTED"
        );
        assert_eq!(
            redact("\"Authorization: c2VjcmV0dG9rZW4=\""),
            "\"Authorization: REDACTED\""
        );
        let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl-_x";
        assert_eq!(redact(&format!("token {jwt}!")), "token REDACTED!");
        assert_eq!(
            redact(&format!("{{\"token\": \"{jwt}\"}}")),
            "{\"token\": \"REDACTED\"}"
        );
        assert_eq!(
            redact("unsigned eyJhbGciOiJub25lIn0.eyJ4IjoxfQ."),
            "unsigned REDACTED"
        );
    }

    #[test]
    fn no_false_positives_on_ordinary_text() {
        for text in [
            "the signature is invalid",
            "design=flat; resign=no; consignee=x",
            "Stream_WrongNumberOfFields: error code=17 in column sig_count",
            "codes: ?q=1&mode=2",
            "the bearer",
            "Authorization failed for principal 'x'",
            "Authorization: forbidden",
            "ErrorCode: BadRequest_EmptyArchive",
            "eyJust a word",
            "https://a.blob.core.windows.net/container/file.csv.gz",
            "2026-01-01T00:00:00Z  demo.Events  source 0c5b8c1e-1d1a-4d6e-9b1a-2f7a0c9e4d11",
            "sig=REDACTED stays put",
        ] {
            assert_eq!(redact(text), text, "{text}");
        }
    }

    #[test]
    fn registered_values_in_every_encoding() {
        let secret = "kn0wn/Secret+Value=";
        register_secret(secret);
        assert_eq!(redact(&format!("echo: {secret}.")), "echo: REDACTED.");
        assert_eq!(
            redact("echo kn0wn%2FSecret%2BValue%3D and kn0wn%252fSecret%252bValue%253d"),
            "echo REDACTED and REDACTED"
        );
        assert_eq!(redact("kn0wn\\/Secret+Value="), "REDACTED");
        // Too short to register without garbling text.
        register_secret("abc");
        assert_eq!(redact("abc abc"), "abc abc");
    }

    /// Shapes the `sas` fuzz target found after the merge of the sanitiser and redaction work:
    /// a value that starts with an encoded non-base64 byte, an encoded control, a backslash, or
    /// a broken escape must not show as an empty value followed by the secret.
    #[test]
    fn crafted_signature_values_are_redacted_whole() {
        for (text, want) in [
            ("u?sr=b&sig=%EF%BF%BD", "u?sr=b&sig=REDACTED"),
            ("u?sp=r&sig=%1B[abcd%2Bef%3D", "u?sp=r&sig=REDACTED"),
            ("u?sv=1%22&sig=\\abcd", "u?sv=1%22&sig=REDACTED"),
            (
                "u?se=2030&sig=%3%07A00%3A00Z&sp=r",
                "u?se=2030&sig=REDACTED&sp=r",
            ),
            ("u%3Fsig%3Dabc%26sv%3D1", "u%3Fsig%3DREDACTED%26sv%3D1"),
            ("q?sp=r&sig=;abcd%2Bef%3D", "q?sp=r&sig=REDACTED"),
            ("q?se=1&sig=%22abcd", "q?se=1&sig=REDACTED"),
            (
                r#"{"sig":"\\","sig":"x\\"}"#,
                r#"{"sig":"REDACTED","sig":"REDACTED"}"#,
            ),
            (
                r#""sig":"\\"sig":"abc"#,
                r#""sig":"REDACTED"sig":"REDACTED"#,
            ),
            // The first value is the backslash that made the key look escaped; once it is
            // redacted the key is plain JSON (the sanitize fuzz target's third finding).
            (r#"sig=\"sig":"abc"#, r#"sig=REDACTED"sig":"REDACTED"#),
            // After a raw `=`, `%26` is the value's own `&` (the sas fuzz target's finding).
            ("u?sp=r&sig=%26EF%2%01x&sv=1", "u?sp=r&sig=REDACTED&sv=1"),
            ("u?sig=ab%26cd%22ef sv", "u?sig=REDACTED sv"),
            // A value that starts with quotes.
            (r#"h&sig=""""jjj//ac"x&sv=1"#, "h&sig=REDACTED&sv=1"),
        ] {
            assert_eq!(redact(text), want, "{text}");
        }
    }

    #[test]
    fn a_form_inside_a_longer_one_never_half_replaces_it() {
        let mut known = Known::default();
        known.add(vec!["abcdefgh".into()], false, 8);
        known.add(vec!["xxabcdefghyy".into()], false, 8);
        known.refresh();
        assert_eq!(
            known.replace_in("a xxabcdefghyy b abcdefgh"),
            "a REDACTED b REDACTED"
        );
        // Overlapping forms, the shorter first: no tail of the longer one is left.
        known.add(vec!["QQQQQQQQxxxx".into()], false, 8);
        known.add(vec!["xxxxRRRRRRRRRRRR".into()], false, 8);
        known.refresh();
        assert_eq!(known.replace_in("[QQQQQQQQxxxxRRRRRRRRRRRR]"), "[REDACTED]");
        // Thousands of forms, all found in one search.
        for i in 0..5000 {
            known.add(vec![format!("learnt-signature-{i:05}")], false, 8192);
        }
        known.refresh();
        assert_eq!(
            known.replace_in("learnt-signature-00000 and learnt-signature-04999."),
            "REDACTED and REDACTED."
        );
    }

    #[test]
    fn credentials_outlive_any_number_of_signatures() {
        let mut known = Known::default();
        known.add(vec!["configured-token".into()], true, 3);
        for i in 0..10 {
            known.add(vec![format!("signature-{i}")], false, 3);
        }
        known.refresh();
        assert_eq!(known.replace_in("echo configured-token"), "echo REDACTED");
        assert_eq!(
            known.replace_in("signature-0"),
            "signature-0",
            "the oldest is dropped"
        );
        assert_eq!(
            known.replace_in("signature-9 signature-7"),
            "REDACTED REDACTED"
        );
        // A signature later learnt as a credential moves to the kept list.
        known.add(vec!["signature-8".into()], true, 3);
        for i in 10..20 {
            known.add(vec![format!("signature-{i}")], false, 3);
        }
        known.refresh();
        assert_eq!(known.replace_in("signature-8"), "REDACTED");
    }

    #[test]
    fn base64_wrapped_secrets() {
        let b64 = base64::engine::general_purpose::STANDARD
            .encode(r#"{"IngestionSourcePath":"https://a/c/b?sv=1&sig=c2VjcmV0"}"#);
        assert_eq!(redact(&format!("raw {b64} end")), "raw REDACTED end");
        let plain =
            base64::engine::general_purpose::STANDARD.encode("nothing secret in here at all");
        assert_eq!(redact(&plain), plain);
    }

    #[test]
    fn strips_query() {
        assert_eq!(strip_query("http://x/a/b?sig=1"), "http://x/a/b");
        assert_eq!(
            strip_query("http://x/a;managed_identity=system"),
            "http://x/a"
        );
    }
}
