//! One error type for everything that talks to the service, with a kind the UI and CLI can act on.

use std::time::Duration;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 401/403 from Kusto, or a credential that could not produce a token.
    #[error("authentication failed: {0}")]
    Auth(String),
    /// 429 or a storage "ServerBusy"; `retry_after` from the Retry-After header when given.
    #[error("throttled by the service{}", retry_after.map(|d| format!(" (retry after {}s)", d.as_secs())).unwrap_or_default())]
    Throttled { retry_after: Option<Duration> },
    /// 5xx, connection resets, truncated bodies: worth retrying.
    #[error("transient failure: {0}")]
    Transient(String),
    /// No connection could be made (refused, no route, name not resolved): the request was
    /// never sent, so nothing can have been applied. Worth retrying.
    #[error("cannot connect: {0}")]
    Unreachable(String),
    /// A request that missed its deadline (`client::deadline`): tried once more at most
    /// (`client::retry`), so a stalled endpoint costs two limits, not one per attempt. `what` names the URL, redacted.
    #[error("{what} within {} ({kind} timeout; set [timeouts] {key} in the config file to wait longer)", secs(*limit))]
    Timeout {
        what: String,
        limit: Duration,
        key: &'static str,
        kind: &'static str,
    },
    /// A Kusto OneApi error (`{"error":{"code","message","@permanent"}}`).
    #[error("{code}: {message}")]
    Service {
        status: u16,
        code: String,
        message: String,
        permanent: bool,
    },
    /// An Azure Storage error (`x-ms-error-code` / `<Error><Code>`). The URL is never included.
    #[error("storage error {status} {code}: {message}")]
    Storage {
        status: u16,
        code: String,
        message: String,
    },
    /// The peer answered something we cannot parse.
    #[error("unexpected response: {0}")]
    BadResponse(String),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The caller asked for something impossible: a bad file, URL or argument, a message too
    /// large. Fix the input and try again.
    #[error("{0}")]
    Usage(String),
    /// The service did not offer a resource this needs (a status table, a queue, a container).
    #[error("{0}")]
    MissingResource(String),
    /// A request kingest could not even build: a bug, not the user's or the service's fault.
    #[error("internal error: {0}")]
    Internal(String),
}

/// A copy for each caller that shares one request (the single-flight resources fetch). An I/O
/// error keeps its kind and text; its OS source is not kept.
impl Clone for Error {
    fn clone(&self) -> Self {
        match self {
            Error::Auth(s) => Error::Auth(s.clone()),
            Error::Throttled { retry_after } => Error::Throttled {
                retry_after: *retry_after,
            },
            Error::Transient(s) => Error::Transient(s.clone()),
            Error::Unreachable(s) => Error::Unreachable(s.clone()),
            Error::Timeout {
                what,
                limit,
                key,
                kind,
            } => Error::Timeout {
                what: what.clone(),
                limit: *limit,
                key,
                kind,
            },
            Error::Service {
                status,
                code,
                message,
                permanent,
            } => Error::Service {
                status: *status,
                code: code.clone(),
                message: message.clone(),
                permanent: *permanent,
            },
            Error::Storage {
                status,
                code,
                message,
            } => Error::Storage {
                status: *status,
                code: code.clone(),
                message: message.clone(),
            },
            Error::BadResponse(s) => Error::BadResponse(s.clone()),
            Error::Io(e) => Error::Io(std::io::Error::new(e.kind(), e.to_string())),
            Error::Usage(s) => Error::Usage(s.clone()),
            Error::MissingResource(s) => Error::MissingResource(s.clone()),
            Error::Internal(s) => Error::Internal(s.clone()),
        }
    }
}

/// "60 s", "1.5 s".
fn secs(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

impl Error {
    /// Whether retrying the same request may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Throttled { .. } | Error::Transient(_) | Error::Unreachable(_) => true,
            Error::Service {
                status, permanent, ..
            } => !permanent && (*status == 429 || *status >= 500),
            Error::Storage { status, .. } => *status == 429 || *status >= 500,
            _ => false,
        }
    }

    /// Why a failed streaming request sends its source to queued ingestion instead, when it
    /// does: streaming is unavailable (404: the cluster feature is off; a code naming the
    /// policy or the feature as off) or the data is over the streaming limit (413, or the
    /// size codes). The managed clients move exactly these to queued (DOCS
    /// `kusto/api/get-started/app-managed-streaming-ingest.md`; codes from the Java ingest-v2
    /// managed client and the service's error codes, research notes §1.4).
    pub fn streaming_fallback(&self) -> Option<&'static str> {
        let Error::Service { status, code, .. } = self else {
            return None;
        };
        let has = |part: &str| {
            code.to_ascii_lowercase()
                .contains(&part.to_ascii_lowercase())
        };
        if *status == 413
            || has("InputStreamTooLarge")
            || has("FileTooLarge")
            || has("PayloadTooLarge")
        {
            Some("the data is over the service's streaming limit")
        } else if *status == 404
            || has("StreamingIngestionPolicyNotEnabled")
            || has("StreamingIngestionDisabled")
            || has("StreamingIngestionFunctionalityDisabled")
        {
            Some("streaming ingestion is not enabled for this table or cluster")
        } else {
            None
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Throttled { retry_after } => *retry_after,
            _ => None,
        }
    }

    /// HTTP status when the error came from a response.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Service { status, .. } | Error::Storage { status, .. } => Some(*status),
            Error::Throttled { .. } => Some(429),
            _ => None,
        }
    }
}

/// What kind of trouble an error is, as the UI shows it and decides on (retry later, sign in,
/// fix the input). The message is already redacted.
#[derive(Debug, Clone, PartialEq)]
pub enum ProblemKind {
    Auth,
    Throttled {
        retry_after: Option<Duration>,
    },
    Transient,
    /// The service refused for good; `code` is its error code.
    Permanent {
        code: String,
    },
    MissingResource,
    BadResponse,
    Io,
    Usage,
    Internal,
}

/// An error reduced to plain data for the app: its kind and a redacted message.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub kind: ProblemKind,
    pub message: String,
}

impl Problem {
    pub fn new(kind: ProblemKind, message: impl Into<String>) -> Self {
        Problem {
            kind,
            message: crate::client::redact::redact(&message.into()),
        }
    }

    /// A short label for the kind.
    pub fn label(&self) -> &'static str {
        match self.kind {
            ProblemKind::Auth => "auth",
            ProblemKind::Throttled { .. } => "throttled",
            ProblemKind::Transient => "transient",
            ProblemKind::Permanent { .. } => "refused",
            ProblemKind::MissingResource => "missing resource",
            ProblemKind::BadResponse => "bad response",
            ProblemKind::Io => "I/O",
            ProblemKind::Usage => "input",
            ProblemKind::Internal => "internal",
        }
    }

    /// What the user can do about it.
    pub fn hint(&self) -> &'static str {
        match self.kind {
            ProblemKind::Auth => "check --auth and sign in again (e.g. `az login`)",
            ProblemKind::Throttled { .. } | ProblemKind::Transient => {
                "kingest retries on its own; nothing to do unless it persists"
            }
            ProblemKind::Permanent { .. } => "retrying the same request will not help",
            ProblemKind::MissingResource => {
                "the service does not offer it: check the cluster and refresh resources (r)"
            }
            ProblemKind::BadResponse => "the endpoint may not be a Kusto ingest (DM) endpoint",
            ProblemKind::Io => "check the path and its permissions",
            ProblemKind::Usage => "fix the input and try again",
            ProblemKind::Internal => "please report it, with the log file",
        }
    }

    /// Whether the same request may succeed later.
    pub fn is_transient(&self) -> bool {
        matches!(
            self.kind,
            ProblemKind::Throttled { .. } | ProblemKind::Transient
        )
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.label(), self.message)
    }
}

impl From<&Error> for Problem {
    fn from(e: &Error) -> Self {
        let kind = match e {
            Error::Auth(_) => ProblemKind::Auth,
            Error::Throttled { retry_after } => ProblemKind::Throttled {
                retry_after: *retry_after,
            },
            // The TUI asks again on its own schedule.
            Error::Transient(_) | Error::Unreachable(_) | Error::Timeout { .. } => {
                ProblemKind::Transient
            }
            Error::Service {
                status: 401 | 403, ..
            }
            | Error::Storage {
                status: 401 | 403, ..
            } => ProblemKind::Auth,
            Error::Storage { status: 404, .. } => ProblemKind::MissingResource,
            _ if e.is_transient() => ProblemKind::Transient,
            Error::Service { code, .. } | Error::Storage { code, .. } => {
                ProblemKind::Permanent { code: code.clone() }
            }
            Error::BadResponse(_) => ProblemKind::BadResponse,
            Error::Io(_) => ProblemKind::Io,
            Error::Usage(_) => ProblemKind::Usage,
            Error::MissingResource(_) => ProblemKind::MissingResource,
            Error::Internal(_) => ProblemKind::Internal,
        };
        Problem::new(kind, e.to_string())
    }
}

impl From<Error> for Problem {
    fn from(e: Error) -> Self {
        Problem::from(&e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_become_problems_of_their_kind() {
        let p = |e: Error| Problem::from(e).kind;
        assert_eq!(p(Error::Auth("x".into())), ProblemKind::Auth);
        let storage = |status: u16| Error::Storage {
            status,
            code: "C".into(),
            message: "m".into(),
        };
        assert_eq!(p(storage(403)), ProblemKind::Auth);
        assert_eq!(p(storage(404)), ProblemKind::MissingResource);
        assert_eq!(p(storage(503)), ProblemKind::Transient);
        assert_eq!(p(storage(409)), ProblemKind::Permanent { code: "C".into() });
        assert_eq!(
            p(Error::Throttled {
                retry_after: Some(Duration::from_secs(3))
            }),
            ProblemKind::Throttled {
                retry_after: Some(Duration::from_secs(3))
            }
        );
        assert_eq!(
            p(Error::MissingResource("no table".into())),
            ProblemKind::MissingResource
        );
        let shown = Problem::from(Error::Transient("https://a/x?sv=1&sig=SECRET".into()));
        assert!(!shown.to_string().contains("SECRET"), "{shown}");
        assert!(shown.to_string().starts_with("transient: "));
    }

    #[test]
    fn streaming_refusals_that_queued_ingestion_does_not_have_are_told_apart() {
        let service = |status: u16, code: &str, permanent: bool| Error::Service {
            status,
            code: code.into(),
            message: "m".into(),
            permanent,
        };
        let fallback = |e: Error| e.streaming_fallback().map(|w| w.contains("limit"));
        assert_eq!(fallback(service(413, "PayloadTooLarge", true)), Some(true));
        assert_eq!(
            fallback(service(400, "Stream_InputStreamTooLarge", true)),
            Some(true)
        );
        assert_eq!(
            fallback(service(
                404,
                "StreamingIngestionFunctionalityDisabled",
                true
            )),
            Some(false)
        );
        assert_eq!(
            fallback(service(
                400,
                "BadRequest_StreamingIngestionPolicyNotEnabled",
                true
            )),
            Some(false)
        );
        assert_eq!(
            fallback(service(400, "Stream_WrongNumberOfFields", true)),
            None
        );
        assert_eq!(fallback(service(503, "ServiceUnavailable", false)), None);
        assert_eq!(fallback(Error::Transient("reset".into())), None);
    }
}
