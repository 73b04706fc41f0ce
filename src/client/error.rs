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
    /// 5xx, timeouts, connection resets: worth retrying.
    #[error("transient failure: {0}")]
    Transient(String),
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
    /// The caller asked for something impossible (bad file, message too large, missing resource).
    #[error("{0}")]
    Invalid(String),
}

impl Error {
    /// Whether retrying the same request may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Throttled { .. } | Error::Transient(_) => true,
            Error::Service {
                status, permanent, ..
            } => !permanent && (*status == 429 || *status >= 500),
            Error::Storage { status, .. } => *status == 429 || *status >= 500,
            _ => false,
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
