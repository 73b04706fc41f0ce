//! The shared client: everything that speaks to the Kusto DM service and Azure Storage. Used by
//! the TUI, the headless CLI and the emulator's worker. Knows nothing about terminals.

pub mod auth;
pub mod error;
pub mod error_codes;
pub mod mgmt;
pub mod notifications;
pub mod redact;
pub mod resources;
pub mod retry;
pub mod storage;
pub mod submit;
pub mod wire;

pub use error::{Error, Result};
pub use notifications::ReceivedNotification;
pub use resources::{IngestionResources, Resource, ResourceKind};
pub use submit::{Progress, SubmitRequest, Submitted};
