//! Tracing to a file: never stdout/stderr while the terminal is taken. Every log line, to a
//! file or to stderr, passes the terminal sanitiser (which redacts secrets) on its way out.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

/// Keep it alive until exit: dropping it flushes the log. `path` is where the log went.
pub struct LogGuard {
    _guard: WorkerGuard,
    pub path: PathBuf,
}

/// The "waiting for …" notices (`client::deadline::WAIT_TARGET`) as plain lines on stderr:
/// the headless commands and the line-mode view say what they wait for.
pub fn wait_notices<S>() -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    use tracing_subscriber::Layer as _;
    tracing_subscriber::fmt::layer()
        .without_time()
        .with_target(false)
        .with_level(false)
        .with_ansi(false)
        .with_writer(Sanitized(std::io::stderr))
        .with_filter(
            tracing_subscriber::filter::Targets::new()
                .with_target(crate::client::deadline::WAIT_TARGET, tracing::Level::INFO),
        )
}

/// Logs to `path` (appending); the level comes from `KINGEST_LOG` (default `info`). With
/// `notices_on_stderr` (the line-mode view, which owns no screen) the wait notices go to
/// stderr too.
pub fn init(path: &Path, notices_on_stderr: bool) -> anyhow::Result<LogGuard> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the log directory {}", dir.display()))?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open the log file {}", path.display()))?;
    let (writer, guard) = tracing_appender::non_blocking(file);
    let writer = Sanitized(writer);
    let filter = EnvFilter::try_from_env("KINGEST_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let file_layer = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_ansi(false)
        .with_filter(filter);
    tracing_subscriber::registry()
        .with(file_layer)
        .with(notices_on_stderr.then(wait_notices))
        .try_init()
        .map_err(|e| anyhow::anyhow!("logging already initialised: {e}"))?;
    Ok(LogGuard {
        _guard: guard,
        path: path.to_path_buf(),
    })
}

/// A log writer (`MakeWriter`) whose every formatted event passes
/// [`crate::sanitize::sanitize_multiline`]: secrets redacted, escape sequences removed, so a
/// log is safe to `cat` or `tail` and never holds a token or SAS signature.
#[derive(Clone)]
pub struct Sanitized<M>(pub M);

impl<'a, M: tracing_subscriber::fmt::MakeWriter<'a>> tracing_subscriber::fmt::MakeWriter<'a>
    for Sanitized<M>
{
    type Writer = SanitizedWriter<M::Writer>;
    fn make_writer(&'a self) -> Self::Writer {
        SanitizedWriter(self.0.make_writer())
    }
}

/// See [`Sanitized`]. The formatter writes one whole event per call, so secrets are not split
/// across calls.
pub struct SanitizedWriter<W>(W);

impl<W: Write> Write for SanitizedWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.0
            .write_all(crate::sanitize::sanitize_multiline(&text).as_bytes())?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_are_sanitised_and_redacted() {
        let mut w = SanitizedWriter(Vec::new());
        w.write_all(b"WARN get https://a/q?sig=c2VjcmV0 \x1b]0;t\x07Bearer abc\x1b[5n\n")
            .unwrap();
        assert_eq!(
            String::from_utf8(w.0).unwrap(),
            "WARN get https://a/q?sig=REDACTED Bearer REDACTED\n"
        );
    }
}
