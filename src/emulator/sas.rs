//! Azure Storage shared-access signatures: service SAS (blob container/blob, queue, table) and
//! account SAS signing, and checking incoming service SAS requests as the Azure services do.
//! See shared/storage-signing.md; its vectors are the unit tests here.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha2::Sha256;

/// The storage version the emulator signs with (`sv`).
pub const SAS_VERSION: &str = "2025-07-05";

type HmacSha256 = Hmac<Sha256>;

/// What Python's `urllib.parse.quote` leaves alone: alphanumerics, `_.-~` and `/`.
const QUOTE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'_')
    .remove(b'.')
    .remove(b'-')
    .remove(b'~')
    .remove(b'/');

/// Format of `st`/`se` as the SDKs emit them.
const TIME_FORMAT: &str = "%Y-%m-%dT%H:%M:%SZ";

/// An account key (decoded from its base64 form).
#[derive(Clone)]
pub struct AccountKey(Vec<u8>);

impl AccountKey {
    pub fn from_base64(b64: &str) -> Result<Self, String> {
        let bytes = STANDARD
            .decode(b64.trim())
            .map_err(|e| format!("account key is not valid base64: {e}"))?;
        if bytes.is_empty() {
            return Err("account key is empty".to_string());
        }
        Ok(AccountKey(bytes))
    }

    fn mac(&self) -> Option<HmacSha256> {
        // HMAC takes keys of any length, so this never fails in practice.
        HmacSha256::new_from_slice(&self.0).ok()
    }

    /// `base64(HMAC-SHA256(key, sts))`.
    pub fn sign(&self, string_to_sign: &str) -> String {
        match self.mac() {
            Some(mut mac) => {
                mac.update(string_to_sign.as_bytes());
                STANDARD.encode(mac.finalize().into_bytes())
            }
            None => String::new(),
        }
    }

    /// Constant-time check of a base64 signature over `string_to_sign`.
    fn verify(&self, string_to_sign: &str, sig_b64: &str) -> bool {
        let Ok(sig) = STANDARD.decode(sig_b64) else {
            return false;
        };
        let Some(mut mac) = self.mac() else {
            return false;
        };
        mac.update(string_to_sign.as_bytes());
        mac.verify_slice(&sig).is_ok()
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

/// The signed fields of a service SAS, as text (our own or exactly as received).
#[derive(Default)]
struct SignedFields<'a> {
    sp: &'a str,
    st: &'a str,
    se: &'a str,
    si: &'a str,
    sip: &'a str,
    spr: &'a str,
    sv: &'a str,
    sr: &'a str,
    snapshot: &'a str,
    ses: &'a str,
    rsc: [&'a str; 5],
    ranges: [&'a str; 4],
}

/// Builds the service SAS string-to-sign for `service` with the layout `f.sv` selects.
/// `None` when that version has no layout we know.
fn service_sts(service: SasService, canonical: &str, f: &SignedFields<'_>) -> Option<String> {
    let mut lines: Vec<&str> = vec![f.sp, f.st, f.se, canonical, f.si];
    let modern = f.sv >= "2015-04-05";
    if !modern {
        return None;
    }
    lines.extend([f.sip, f.spr, f.sv]);
    match service {
        SasService::Queue => {}
        SasService::Table => lines.extend(f.ranges),
        SasService::Blob => {
            if f.sv >= "2018-11-09" {
                lines.extend([f.sr, f.snapshot]);
                if f.sv >= "2020-12-06" {
                    lines.push(f.ses);
                }
            }
            lines.extend(f.rsc);
        }
    }
    Some(lines.join("\n"))
}

fn canonical_resource(account: &str, resource: &SasResource) -> String {
    match resource {
        SasResource::Container { container } => format!("/blob/{account}/{container}"),
        SasResource::Blob { container, blob } => format!("/blob/{account}/{container}/{blob}"),
        SasResource::Queue { queue } => format!("/queue/{account}/{queue}"),
        SasResource::Table { table } => format!("/table/{account}/{}", table.to_lowercase()),
    }
}

fn service_of(resource: &SasResource) -> SasService {
    match resource {
        SasResource::Container { .. } | SasResource::Blob { .. } => SasService::Blob,
        SasResource::Queue { .. } => SasService::Queue,
        SasResource::Table { .. } => SasService::Table,
    }
}

fn fmt_time(t: &DateTime<Utc>) -> String {
    t.format(TIME_FORMAT).to_string()
}

fn quote(v: &str) -> String {
    utf8_percent_encode(v, QUOTE).to_string()
}

/// Joins `name=quote(value)` pairs, skipping empty optional values.
fn join_token(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", quote(v)))
        .collect::<Vec<_>>()
        .join("&")
}

impl ServiceSas {
    fn sr(&self) -> &'static str {
        match self.resource {
            SasResource::Container { .. } => "c",
            SasResource::Blob { .. } => "b",
            SasResource::Queue { .. } | SasResource::Table { .. } => "",
        }
    }

    /// The string-to-sign for `sv=SAS_VERSION` (or `version`).
    pub fn string_to_sign(&self, version: &str) -> String {
        let st = self.start.as_ref().map(fmt_time).unwrap_or_default();
        let se = fmt_time(&self.expiry);
        let fields = SignedFields {
            sp: &self.permissions,
            st: &st,
            se: &se,
            sv: version,
            sr: self.sr(),
            ..Default::default()
        };
        let canonical = canonical_resource(&self.account, &self.resource);
        // Versions older than 2015-04-05 are never produced by us: sign the current layout.
        service_sts(service_of(&self.resource), &canonical, &fields)
            .or_else(|| {
                let current = SignedFields {
                    sv: SAS_VERSION,
                    ..fields
                };
                service_sts(service_of(&self.resource), &canonical, &current)
            })
            .unwrap_or_default()
    }

    /// The SAS query string (no leading `?`), values percent-encoded as the Python SDK does.
    pub fn token(&self, key: &AccountKey) -> String {
        let st = self.start.as_ref().map(fmt_time).unwrap_or_default();
        let se = fmt_time(&self.expiry);
        let sig = key.sign(&self.string_to_sign(SAS_VERSION));
        let tn = match &self.resource {
            SasResource::Table { table } => table.as_str(),
            _ => "",
        };
        join_token(&[
            ("st", &st),
            ("se", &se),
            ("sp", &self.permissions),
            ("sv", SAS_VERSION),
            ("sr", self.sr()),
            ("tn", tn),
            ("sig", &sig),
        ])
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
        let st = self.start.as_ref().map(fmt_time).unwrap_or_default();
        let se = fmt_time(&self.expiry);
        let mut fields: Vec<&str> = vec![
            &self.account,
            &self.permissions,
            &self.services,
            &self.resource_types,
            &st,
            &se,
            "", // sip
            "", // spr
            version,
        ];
        if version >= "2020-12-06" {
            fields.push(""); // ses
        }
        // Every field, the last included, is followed by a newline.
        fields.iter().map(|f| format!("{f}\n")).collect()
    }

    pub fn token(&self, key: &AccountKey) -> String {
        let st = self.start.as_ref().map(fmt_time).unwrap_or_default();
        let se = fmt_time(&self.expiry);
        let sig = key.sign(&self.string_to_sign(SAS_VERSION));
        join_token(&[
            ("st", &st),
            ("se", &se),
            ("sp", &self.permissions),
            ("sv", SAS_VERSION),
            ("ss", &self.services),
            ("srt", &self.resource_types),
            ("sig", &sig),
        ])
    }
}

/// Why a request's SAS was refused; the HTTP layer answers 403 with `code` (Azure's names:
/// `AuthenticationFailed`, `AuthorizationFailure`, `AuthorizationPermissionMismatch`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SasDenied {
    pub code: &'static str,
    pub message: String,
}

impl SasDenied {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        SasDenied {
            code,
            message: message.into(),
        }
    }

    /// A bad or unusable signature: Queue says `AuthenticationFailed`, Blob and Table
    /// `AuthorizationFailure` (as Azurite does).
    fn bad_signature(service: SasService, message: impl Into<String>) -> Self {
        let code = match service {
            SasService::Queue => "AuthenticationFailed",
            SasService::Blob | SasService::Table => "AuthorizationFailure",
        };
        SasDenied::new(code, message)
    }
}

/// Parses the ISO 8601 forms Azure accepts for `st`/`se`: a date, minutes, seconds (with an
/// optional fraction), each with `Z` or an offset.
pub(crate) fn parse_sas_time(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(t) = DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M%#z") {
        return Some(t.with_timezone(&Utc));
    }
    if let Some(naive) = s.strip_suffix('Z')
        && let Ok(t) = NaiveDateTime::parse_from_str(naive, "%Y-%m-%dT%H:%M")
    {
        return Some(Utc.from_utc_datetime(&t));
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| Utc.from_utc_datetime(&t))
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
    let get = |name: &str| -> &str {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    let sig = get("sig");
    if sig.is_empty() {
        return Err(SasDenied::bad_signature(service, "no SAS signature"));
    }
    if service_of(object) != service {
        return Err(SasDenied::bad_signature(
            service,
            "resource does not belong to this service",
        ));
    }
    let sr = get("sr");
    // The signed resource is what the request touches, narrowed to the container for `sr=c`:
    // a SAS issued for another object then fails the signature check.
    let signed = match (service, sr, object) {
        (SasService::Blob, "c", SasResource::Container { container })
        | (SasService::Blob, "c", SasResource::Blob { container, .. }) => SasResource::Container {
            container: container.clone(),
        },
        (SasService::Blob, "b" | "bs" | "bv", SasResource::Blob { .. }) => object.clone(),
        (SasService::Blob, _, _) => {
            return Err(SasDenied::bad_signature(
                service,
                "signed resource (sr) does not cover this request",
            ));
        }
        _ => object.clone(),
    };
    let snapshot = match sr {
        "bs" => get("snapshot"),
        "bv" => get("versionid"),
        _ => "",
    };
    let fields = SignedFields {
        sp: get("sp"),
        st: get("st"),
        se: get("se"),
        si: get("si"),
        sip: get("sip"),
        spr: get("spr"),
        sv: get("sv"),
        sr,
        snapshot,
        ses: get("ses"),
        rsc: [
            get("rscc"),
            get("rscd"),
            get("rsce"),
            get("rscl"),
            get("rsct"),
        ],
        ranges: [get("spk"), get("srk"), get("epk"), get("erk")],
    };
    let canonical = canonical_resource(account, &signed);
    let Some(sts) = service_sts(service, &canonical, &fields) else {
        return Err(SasDenied::bad_signature(
            service,
            "unsupported signed version (sv)",
        ));
    };
    if !key.verify(&sts, sig) {
        return Err(SasDenied::bad_signature(
            service,
            "signature did not match the string to sign",
        ));
    }
    let Some(expiry) = parse_sas_time(fields.se) else {
        return Err(SasDenied::new(
            "AuthenticationFailed",
            "missing or malformed signed expiry (se)",
        ));
    };
    if now > expiry {
        return Err(SasDenied::new("AuthenticationFailed", "SAS has expired"));
    }
    if !fields.st.is_empty() {
        match parse_sas_time(fields.st) {
            Some(start) if start <= now => {}
            Some(_) => {
                return Err(SasDenied::new(
                    "AuthenticationFailed",
                    "SAS is not valid yet (st is in the future)",
                ));
            }
            None => {
                return Err(SasDenied::new(
                    "AuthenticationFailed",
                    "malformed signed start (st)",
                ));
            }
        }
    }
    if !fields.sp.contains(required_permission) {
        return Err(SasDenied::new(
            "AuthorizationPermissionMismatch",
            format!("SAS lacks the '{required_permission}' permission"),
        ));
    }
    Ok(())
}

const IDENTITY_PREFIX: &str = "kingest1";
const IDENTITY_LIFETIME_SECS: i64 = 24 * 3600;
/// Tolerated clock difference for a token issued "in the future".
const IDENTITY_SKEW_SECS: i64 = 300;

fn identity_mac(key: &AccountKey, payload: &str) -> Option<HmacSha256> {
    let mut mac = key.mac()?;
    mac.update(b"kusto-identity-token\n");
    mac.update(payload.as_bytes());
    Some(mac)
}

/// An opaque token for the emulator's `.get kusto identity token`:
/// `kingest1.<unix seconds>.<base64url HMAC>`, valid for 24 h from `issued`.
pub fn identity_token(key: &AccountKey, issued: DateTime<Utc>) -> String {
    let payload = format!("{IDENTITY_PREFIX}.{}", issued.timestamp());
    let sig = identity_mac(key, &payload)
        .map(|m| URL_SAFE_NO_PAD.encode(m.finalize().into_bytes()))
        .unwrap_or_default();
    format!("{payload}.{sig}")
}

/// Whether `token` was made by [`identity_token`] with `key` and is still valid at `now`.
pub fn check_identity_token(key: &AccountKey, token: &str, now: DateTime<Utc>) -> bool {
    let mut parts = token.trim().split('.');
    let (Some(prefix), Some(secs), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    if prefix != IDENTITY_PREFIX {
        return false;
    }
    let Ok(issued) = secs.parse::<i64>() else {
        return false;
    };
    let Ok(sig) = URL_SAFE_NO_PAD.decode(sig) else {
        return false;
    };
    let Some(mac) = identity_mac(key, &format!("{prefix}.{secs}")) else {
        return false;
    };
    if mac.verify_slice(&sig).is_err() {
        return false;
    }
    let age = now.timestamp().saturating_sub(issued);
    (-IDENTITY_SKEW_SECS..=IDENTITY_LIFETIME_SECS).contains(&age)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str =
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    const ACCT: &str = "devstoreaccount1";

    fn key() -> AccountKey {
        AccountKey::from_base64(KEY).unwrap()
    }
    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }
    fn sas(resource: SasResource, perms: &str) -> ServiceSas {
        ServiceSas {
            account: ACCT.into(),
            resource,
            permissions: perms.into(),
            start: Some(t("2025-01-01T00:00:00Z")),
            expiry: t("2030-01-01T00:00:00Z"),
        }
    }
    fn container(c: &str) -> SasResource {
        SasResource::Container {
            container: c.into(),
        }
    }
    fn blob(c: &str, b: &str) -> SasResource {
        SasResource::Blob {
            container: c.into(),
            blob: b.into(),
        }
    }
    fn queue(q: &str) -> SasResource {
        SasResource::Queue { queue: q.into() }
    }
    fn table(tn: &str) -> SasResource {
        SasResource::Table { table: tn.into() }
    }
    /// Decodes a token query string into pairs, as an HTTP layer would.
    fn pairs(token: &str) -> Vec<(String, String)> {
        url::form_urlencoded::parse(token.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }
    fn now() -> DateTime<Utc> {
        t("2026-06-01T12:00:00Z")
    }

    #[test]
    fn key_decodes_and_redacts() {
        let k = key();
        assert_eq!(&k.0[..4], &[0x11, 0xbc, 0xbc, 0xbd]);
        assert_eq!(k.0.len(), 64);
        assert_eq!(format!("{k:?}"), "AccountKey(REDACTED)");
        assert!(AccountKey::from_base64("not base64!").is_err());
        assert!(AccountKey::from_base64("").is_err());
    }

    #[test]
    fn v1_container_sas() {
        let s = sas(container("vectors"), "racwdl");
        let sts = s.string_to_sign(SAS_VERSION);
        assert_eq!(
            sts,
            "racwdl\n2025-01-01T00:00:00Z\n2030-01-01T00:00:00Z\n/blob/devstoreaccount1/vectors\n\n\n\n2025-07-05\nc\n\n\n\n\n\n\n"
        );
        assert_eq!(
            key().sign(&sts),
            "aEGT3W40PK/EfnkFKXSt7HVNO+8Bl/fWCvQMPAYYaFQ="
        );
        assert_eq!(
            s.token(&key()),
            "st=2025-01-01T00%3A00%3A00Z&se=2030-01-01T00%3A00%3A00Z&sp=racwdl&sv=2025-07-05&sr=c&sig=aEGT3W40PK/EfnkFKXSt7HVNO%2B8Bl/fWCvQMPAYYaFQ%3D"
        );
    }

    #[test]
    fn v2_blob_sas() {
        let s = sas(blob("vectors", "dir/hello.txt"), "rcw");
        let sts = s.string_to_sign(SAS_VERSION);
        assert_eq!(
            sts,
            "rcw\n2025-01-01T00:00:00Z\n2030-01-01T00:00:00Z\n/blob/devstoreaccount1/vectors/dir/hello.txt\n\n\n\n2025-07-05\nb\n\n\n\n\n\n\n"
        );
        assert_eq!(
            key().sign(&sts),
            "bySXAXg84qS0ob+tYmsD5t7MIf1WVFuTOPC4MUHodfI="
        );
        assert_eq!(
            s.token(&key()),
            "st=2025-01-01T00%3A00%3A00Z&se=2030-01-01T00%3A00%3A00Z&sp=rcw&sv=2025-07-05&sr=b&sig=bySXAXg84qS0ob%2BtYmsD5t7MIf1WVFuTOPC4MUHodfI%3D"
        );
    }

    #[test]
    fn v3_queue_sas() {
        let s = sas(queue("vectorq"), "raup");
        let sts = s.string_to_sign(SAS_VERSION);
        assert_eq!(
            sts,
            "raup\n2025-01-01T00:00:00Z\n2030-01-01T00:00:00Z\n/queue/devstoreaccount1/vectorq\n\n\n\n2025-07-05"
        );
        assert_eq!(
            key().sign(&sts),
            "ToC1sm29wNcag6Y8GpGD6nmgQec6dRxFU/r+nYt+ORA="
        );
        assert_eq!(
            s.token(&key()),
            "st=2025-01-01T00%3A00%3A00Z&se=2030-01-01T00%3A00%3A00Z&sp=raup&sv=2025-07-05&sig=ToC1sm29wNcag6Y8GpGD6nmgQec6dRxFU/r%2BnYt%2BORA%3D"
        );
    }

    const V4_TOKEN: &str = "st=2025-01-01T00%3A00%3A00Z&se=2030-01-01T00%3A00%3A00Z&sp=raud&sv=2025-07-05&tn=VectorTable&spk=p1&srk=r0&epk=p9&erk=r9&sig=c2k29vebgHEo0qoiIRAfq01wTH2kyaNutrkGTtttZzc%3D";
    const V5_TOKEN: &str = "st=2025-01-01T00%3A00%3A00Z&se=2030-01-01T00%3A00%3A00Z&sp=raud&sv=2019-02-02&tn=VectorTable&spk=p1&srk=r0&epk=p9&erk=r9&sig=f2HtOx479jZuJ09DT73i1Xbv%2BMdM1ZbDzdfgtcbwBBY%3D";

    #[test]
    fn v4_v5_table_sas_with_ranges() {
        // Our signer has no ranges; rebuild the vectors' STS through the shared layout.
        for (sv, sig) in [
            ("2025-07-05", "c2k29vebgHEo0qoiIRAfq01wTH2kyaNutrkGTtttZzc="),
            ("2019-02-02", "f2HtOx479jZuJ09DT73i1Xbv+MdM1ZbDzdfgtcbwBBY="),
        ] {
            let f = SignedFields {
                sp: "raud",
                st: "2025-01-01T00:00:00Z",
                se: "2030-01-01T00:00:00Z",
                sv,
                ranges: ["p1", "r0", "p9", "r9"],
                ..Default::default()
            };
            let canonical = canonical_resource(ACCT, &table("VectorTable"));
            let sts = service_sts(SasService::Table, &canonical, &f).unwrap();
            assert_eq!(
                sts,
                format!(
                    "raud\n2025-01-01T00:00:00Z\n2030-01-01T00:00:00Z\n/table/devstoreaccount1/vectortable\n\n\n\n{sv}\np1\nr0\np9\nr9"
                )
            );
            assert_eq!(key().sign(&sts), sig);
        }
        // Both vector tokens verify as received (table name lower-cased for the resource).
        for tok in [V4_TOKEN, V5_TOKEN] {
            verify_service_sas(
                &key(),
                SasService::Table,
                ACCT,
                &table("VectorTable"),
                &pairs(tok),
                'a',
                now(),
            )
            .unwrap();
        }
    }

    #[test]
    fn table_sas_without_ranges_lowercases_name() {
        let s = sas(table("VectorTable"), "raud");
        assert_eq!(
            s.string_to_sign("2019-02-02"),
            "raud\n2025-01-01T00:00:00Z\n2030-01-01T00:00:00Z\n/table/devstoreaccount1/vectortable\n\n\n\n2019-02-02\n\n\n\n"
        );
        let tok = s.token(&key());
        assert!(tok.contains("&tn=VectorTable&"), "{tok}");
        verify_service_sas(
            &key(),
            SasService::Table,
            ACCT,
            &table("vectortable"),
            &pairs(&tok),
            'u',
            now(),
        )
        .unwrap();
    }

    #[test]
    fn v6_account_sas() {
        let s = AccountSas {
            account: ACCT.into(),
            services: "bqt".into(),
            resource_types: "sco".into(),
            permissions: "rwdlacup".into(),
            start: Some(t("2025-01-01T00:00:00Z")),
            expiry: t("2030-01-01T00:00:00Z"),
        };
        let sts = s.string_to_sign(SAS_VERSION);
        assert_eq!(
            sts,
            "devstoreaccount1\nrwdlacup\nbqt\nsco\n2025-01-01T00:00:00Z\n2030-01-01T00:00:00Z\n\n\n2025-07-05\n\n"
        );
        assert_eq!(
            key().sign(&sts),
            "1kb6I9ix14lgz6z/f3ohhnXYcGCdFBRn8rBBEXAzsd8="
        );
        assert_eq!(
            s.token(&key()),
            "st=2025-01-01T00%3A00%3A00Z&se=2030-01-01T00%3A00%3A00Z&sp=rwdlacup&sv=2025-07-05&ss=bqt&srt=sco&sig=1kb6I9ix14lgz6z/f3ohhnXYcGCdFBRn8rBBEXAzsd8%3D"
        );
        // The older layout has no `ses` line.
        assert!(s.string_to_sign("2019-02-02").ends_with("\n2019-02-02\n"));
    }

    fn verify(
        service: SasService,
        object: &SasResource,
        token: &str,
        perm: char,
        at: DateTime<Utc>,
    ) -> Result<(), SasDenied> {
        verify_service_sas(&key(), service, ACCT, object, &pairs(token), perm, at)
    }

    fn tamper(token: &str) -> String {
        let i = token.find("sig=").unwrap() + 4;
        let first = &token[i..i + 1];
        let repl = if first == "A" { "B" } else { "A" };
        format!("{}{}{}", &token[..i], repl, &token[i + 1..])
    }

    #[test]
    fn valid_tokens_are_accepted() {
        let q = sas(queue("vectorq"), "raup").token(&key());
        verify(SasService::Queue, &queue("vectorq"), &q, 'a', now()).unwrap();
        let b = sas(blob("vectors", "dir/hello.txt"), "rcw").token(&key());
        verify(
            SasService::Blob,
            &blob("vectors", "dir/hello.txt"),
            &b,
            'w',
            now(),
        )
        .unwrap();
    }

    #[test]
    fn tampered_signature_codes_by_service() {
        let q = tamper(&sas(queue("vectorq"), "raup").token(&key()));
        assert_eq!(
            verify(SasService::Queue, &queue("vectorq"), &q, 'a', now())
                .unwrap_err()
                .code,
            "AuthenticationFailed"
        );
        let b = tamper(&sas(blob("c", "b"), "r").token(&key()));
        assert_eq!(
            verify(SasService::Blob, &blob("c", "b"), &b, 'r', now())
                .unwrap_err()
                .code,
            "AuthorizationFailure"
        );
        let tt = tamper(&sas(table("t1"), "raud").token(&key()));
        assert_eq!(
            verify(SasService::Table, &table("t1"), &tt, 'r', now())
                .unwrap_err()
                .code,
            "AuthorizationFailure"
        );
        // Garbage signature and missing signature are refused the same way.
        let garbage = "sv=2025-07-05&sp=r&se=2030-01-01T00:00:00Z&sig=%%%";
        assert_eq!(
            verify(SasService::Queue, &queue("q"), garbage, 'r', now())
                .unwrap_err()
                .code,
            "AuthenticationFailed"
        );
        assert_eq!(
            verify(
                SasService::Blob,
                &blob("c", "b"),
                "sv=2025-07-05",
                'r',
                now()
            )
            .unwrap_err()
            .code,
            "AuthorizationFailure"
        );
    }

    #[test]
    fn expired_and_not_yet_valid_are_denied() {
        let q = sas(queue("q"), "r").token(&key());
        let late = t("2030-01-01T00:00:01Z");
        assert_eq!(
            verify(SasService::Queue, &queue("q"), &q, 'r', late)
                .unwrap_err()
                .code,
            "AuthenticationFailed"
        );
        let early = t("2024-12-31T23:59:59Z");
        assert!(verify(SasService::Queue, &queue("q"), &q, 'r', early).is_err());
        let b = sas(blob("c", "b"), "r").token(&key());
        assert_eq!(
            verify(SasService::Blob, &blob("c", "b"), &b, 'r', late)
                .unwrap_err()
                .code,
            "AuthenticationFailed"
        );
    }

    #[test]
    fn missing_permission_is_a_mismatch() {
        let q = sas(queue("q"), "r").token(&key());
        let err = verify(SasService::Queue, &queue("q"), &q, 'a', now()).unwrap_err();
        assert_eq!(err.code, "AuthorizationPermissionMismatch");
        let b = sas(container("c"), "rl").token(&key());
        let err = verify(SasService::Blob, &blob("c", "x"), &b, 'w', now()).unwrap_err();
        assert_eq!(err.code, "AuthorizationPermissionMismatch");
    }

    #[test]
    fn update_message_needs_u() {
        // A DM's notification queue SAS (`rp`) cannot Update Message; `rpu` can.
        let rp = sas(queue("q"), "rp").token(&key());
        let err = verify(SasService::Queue, &queue("q"), &rp, 'u', now()).unwrap_err();
        assert_eq!(err.code, "AuthorizationPermissionMismatch");
        let rpu = sas(queue("q"), "rpu").token(&key());
        verify(SasService::Queue, &queue("q"), &rpu, 'u', now()).unwrap();
    }

    #[test]
    fn container_sas_covers_its_blobs_only() {
        let c = sas(container("vectors"), "racwdl").token(&key());
        verify(
            SasService::Blob,
            &blob("vectors", "a/b.txt"),
            &c,
            'w',
            now(),
        )
        .unwrap();
        verify(SasService::Blob, &container("vectors"), &c, 'l', now()).unwrap();
        assert!(verify(SasService::Blob, &blob("other", "a"), &c, 'r', now()).is_err());
    }

    #[test]
    fn blob_sas_for_another_blob_is_denied() {
        let b = sas(blob("vectors", "dir/hello.txt"), "rcw").token(&key());
        let err = verify(
            SasService::Blob,
            &blob("vectors", "other.txt"),
            &b,
            'r',
            now(),
        )
        .unwrap_err();
        assert_eq!(err.code, "AuthorizationFailure");
        // A blob SAS does not cover the container itself.
        assert!(verify(SasService::Blob, &container("vectors"), &b, 'r', now()).is_err());
        // Nor does a queue object on the blob service.
        assert!(verify(SasService::Blob, &queue("vectors"), &b, 'r', now()).is_err());
    }

    #[test]
    fn blob_layout_15_fields_for_mid_versions() {
        let sts = sas(blob("c", "b"), "r").string_to_sign("2019-12-12");
        assert_eq!(sts.split('\n').count(), 15);
        assert_eq!(
            sas(blob("c", "b"), "r")
                .string_to_sign("2020-12-06")
                .split('\n')
                .count(),
            16
        );
        // A token signed with the 15-field layout verifies.
        let sig = key().sign(&sts);
        let tok = join_token(&[
            ("st", "2025-01-01T00:00:00Z"),
            ("se", "2030-01-01T00:00:00Z"),
            ("sp", "r"),
            ("sv", "2019-12-12"),
            ("sr", "b"),
            ("sig", &sig),
        ]);
        verify(SasService::Blob, &blob("c", "b"), &tok, 'r', now()).unwrap();
        // The same signature claimed under a 16-field version fails.
        let wrong = tok.replace("sv=2019-12-12", "sv=2021-08-06");
        assert!(verify(SasService::Blob, &blob("c", "b"), &wrong, 'r', now()).is_err());
    }

    #[test]
    fn permission_letters_in_any_order() {
        let s = sas(queue("q"), "pura");
        let tok = s.token(&key());
        verify(SasService::Queue, &queue("q"), &tok, 'a', now()).unwrap();
        verify(SasService::Queue, &queue("q"), &tok, 'p', now()).unwrap();
    }

    #[test]
    fn times_are_signed_as_received() {
        // A minute-precision expiry with an offset, never re-formatted before signing.
        let st = "2025-01-01";
        let se = "2029-12-31T23:00+01:00";
        let sts = format!("r\n{st}\n{se}\n/queue/{ACCT}/q\n\n\n\n2025-07-05");
        let sig = key().sign(&sts);
        let tok = join_token(&[
            ("st", st),
            ("se", se),
            ("sp", "r"),
            ("sv", "2025-07-05"),
            ("sig", &sig),
        ]);
        verify(SasService::Queue, &queue("q"), &tok, 'r', now()).unwrap();
        assert!(
            verify(
                SasService::Queue,
                &queue("q"),
                &tok,
                'r',
                t("2029-12-31T22:00:01Z")
            )
            .is_err()
        );
    }

    #[test]
    fn identity_tokens() {
        let k = key();
        let issued = t("2026-01-01T00:00:00Z");
        let tok = identity_token(&k, issued);
        assert!(tok.starts_with("kingest1.1767225600."), "{tok}");
        assert!(check_identity_token(&k, &tok, issued));
        assert!(check_identity_token(&k, &tok, t("2026-01-01T23:59:59Z")));
        assert!(!check_identity_token(&k, &tok, t("2026-01-02T00:00:01Z")));
        assert!(!check_identity_token(&k, &tok, t("2025-12-31T23:00:00Z")));
        let other = AccountKey::from_base64("AAAA").unwrap();
        assert!(!check_identity_token(&other, &tok, issued));
        let forged = tok.replace("1767225600", "1767225700");
        assert!(!check_identity_token(&k, &forged, issued));
        for bad in ["", "kingest1", "kingest1.x.y", "a.b.c.d", "kingest1.1.!!"] {
            assert!(!check_identity_token(&k, bad, issued));
        }
    }
}
