//! Keeps secrets (SAS signatures, tokens) out of anything shown, logged or exported.

/// Query parameters whose values are secrets.
const SECRET_PARAMS: &[&str] = &["sig", "signature", "code", "token", "access_token"];

/// Replaces the value of every secret query parameter in `text` (a URL or free text containing
/// URLs) with `REDACTED`. Works on free text so error messages from peers are safe too.
///
/// ```
/// use kingest::client::redact::redact;
/// assert_eq!(
///     redact("GET https://a.queue.core.windows.net/q?sp=r&sig=c2VjcmV0 failed"),
///     "GET https://a.queue.core.windows.net/q?sp=r&sig=REDACTED failed"
/// );
/// ```
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    'outer: while !rest.is_empty() {
        for p in SECRET_PARAMS {
            // Match `?sig=` / `&sig=` / `;sig=` (case-insensitive name).
            if let Some(first) = rest.chars().next()
                && matches!(first, '?' | '&' | ';')
                && rest.len() > p.len() + 1
                && rest.is_char_boundary(1 + p.len())
                && rest[1..1 + p.len()].eq_ignore_ascii_case(p)
                && rest[1 + p.len()..].starts_with('=')
            {
                out.push_str(&rest[..p.len() + 2]);
                out.push_str("REDACTED");
                let value = &rest[p.len() + 2..];
                let end = value
                    .find(|c: char| {
                        matches!(
                            c,
                            '&' | ';' | '"' | '\'' | ' ' | '\n' | '\r' | '\t' | '<' | '>' | ')'
                        )
                    })
                    .unwrap_or(value.len());
                rest = &value[end..];
                continue 'outer;
            }
        }
        let c = rest.chars().next().unwrap_or(' ');
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// A URL without its query string at all: for short displays.
/// Every string inside a JSON value redacted (for output built from what the service said).
pub fn redact_json(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::String(s) => *s = redact(s),
        serde_json::Value::Array(a) => a.iter_mut().for_each(redact_json),
        serde_json::Value::Object(o) => o.values_mut().for_each(redact_json),
        _ => {}
    }
}

pub fn strip_query(url: &str) -> &str {
    url.split(['?', ';']).next().unwrap_or(url)
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
    fn strips_query() {
        assert_eq!(strip_query("http://x/a/b?sig=1"), "http://x/a/b");
        assert_eq!(
            strip_query("http://x/a;managed_identity=system"),
            "http://x/a"
        );
    }
}
