//! What an ErrorCode means and what to do about it: the client's catalogue, as the UI uses it.

pub use crate::client::error_codes::ErrorCodeInfo as ErrorInfo;

pub fn lookup(code: &str) -> Option<ErrorInfo> {
    crate::client::error_codes::lookup(code).copied()
}
