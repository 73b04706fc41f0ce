//! Azure Storage shared-access signatures: service SAS (blob container/blob, queue, table) and
//! account SAS signing, and checking incoming service SAS requests as the Azure services do.
//! See shared/storage-signing.md; its vectors are the unit tests here.

use chrono::{DateTime, Utc};

/// The storage version the emulator signs with (`sv`).
pub const SAS_VERSION: &str = "2025-07-05";

/// An account key (decoded from its base64 form).
#[derive(Clone)]
pub struct AccountKey(Vec<u8>);

impl AccountKey {
    pub fn from_base64(b64: &str) -> Result<Self, String> {
        todo!("{b64}")
    }
    /// `base64(HMAC-SHA256(key, sts))`.
    pub fn sign(&self, string_to_sign: &str) -> String {
        todo!("{string_to_sign}")
    }
}

impl std::fmt::Debug for AccountKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccountKey(REDACTED)")
    }
}

/// What a service SAS is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SasService {
    Blob,
    Queue,
    Table,
}

/// The signed resource of a service SAS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SasResource {
    Container { container: String },
    Blob { container: String, blob: String },
    Queue { queue: String },
    Table { table: String },
}

/// Inputs of a service SAS. Times are signed exactly as formatted (`YYYY-MM-DDThh:mm:ssZ`).
#[derive(Debug, Clone)]
pub struct ServiceSas {
    pub account: String,
    pub resource: SasResource,
    /// Permission letters in canonical order (e.g. `rcw`, `a`, `rp`, `rau`).
    pub permissions: String,
    pub start: Option<DateTime<Utc>>,
    pub expiry: DateTime<Utc>,
}

impl ServiceSas {
    /// The string-to-sign for `sv=SAS_VERSION` (or `version`).
    pub fn string_to_sign(&self, version: &str) -> String {
        todo!("{version}")
    }
    /// The SAS query string (no leading `?`), values percent-encoded as the Python SDK does.
    pub fn token(&self, key: &AccountKey) -> String {
        todo!("{key:?}")
    }
}

/// Inputs of an account SAS (used to administer Azurite: create queues, containers, tables).
#[derive(Debug, Clone)]
pub struct AccountSas {
    pub account: String,
    /// `ss`, e.g. `bqt`.
    pub services: String,
    /// `srt`, e.g. `sco`.
    pub resource_types: String,
    /// `sp`, e.g. `rwdlacup`.
    pub permissions: String,
    pub start: Option<DateTime<Utc>>,
    pub expiry: DateTime<Utc>,
}

impl AccountSas {
    pub fn string_to_sign(&self, version: &str) -> String {
        todo!("{version}")
    }
    pub fn token(&self, key: &AccountKey) -> String {
        todo!("{key:?}")
    }
}

/// Why a request's SAS was refused; the HTTP layer answers 403 with `code` (Azure's names:
/// `AuthenticationFailed`, `AuthorizationFailure`, `AuthorizationPermissionMismatch`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SasDenied {
    pub code: &'static str,
    pub message: String,
}

/// Checks the service SAS carried by a request's query (`pairs` decoded) for `service`, the
/// `account`, the canonical `object` being touched (container, container/blob, queue, table),
/// and one required permission letter, at time `now`. Accepts a container SAS for blobs inside
/// it, any `sv` layout Azure defines for that service, and permission letters in any order.
pub fn verify_service_sas(
    key: &AccountKey,
    service: SasService,
    account: &str,
    object: &SasResource,
    pairs: &[(String, String)],
    required_permission: char,
    now: DateTime<Utc>,
) -> Result<(), SasDenied> {
    todo!("{key:?} {service:?} {account} {object:?} {pairs:?} {required_permission} {now}")
}
