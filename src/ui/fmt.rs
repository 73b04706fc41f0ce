//! Small text helpers for cells.

use chrono::{DateTime, Utc};

pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// `42s`, `5m`, `3h`, `2d` (never negative).
pub fn age(now: DateTime<Utc>, then: DateTime<Utc>) -> String {
    let s = (now - then).num_seconds().max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86400),
    }
}

pub fn hms(t: DateTime<Utc>) -> String {
    t.format("%H:%M:%S").to_string()
}

/// Truncates to `width` characters with `…`.
pub fn fit(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out: String = s.chars().take(width - 1).collect();
    out.push('…');
    out
}

/// The last path segment of a URL or file path, query removed.
pub fn short_path(s: &str) -> String {
    let no_query = crate::client::redact::strip_query(s);
    let name = no_query
        .trim_end_matches('/')
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(no_query);
    // `{db}__{table}__{sourceId}__{file}` (kingest's and the SDKs' blob names): the file.
    let parts: Vec<&str> = name.splitn(4, "__").collect();
    match parts.as_slice() {
        [_, _, id, file] if id.len() == 36 && !file.is_empty() => file.to_string(),
        _ => name.to_string(),
    }
}

/// A text bar `███░░░` of `width` cells.
pub fn bar(fraction: f64, width: usize) -> String {
    let f = if fraction.is_finite() {
        fraction.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let full = (f * width as f64).round() as usize;
    format!(
        "{}{}",
        "█".repeat(full),
        "░".repeat(width - full.min(width))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(
            short_path("https://a/c/db__T__x.csv.gz?sig=1"),
            "db__T__x.csv.gz"
        );
        assert_eq!(bar(0.5, 4), "██░░");
        assert_eq!(bar(f64::NAN, 2), "░░");
    }
}
