//! Authentication to the Kusto endpoint: azure_identity credentials, a static token, or none.

/// A secret string (token). `Debug`/`Display` never show it.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Every secret kingest holds is registered for redaction as it is learnt (tokens,
    /// client secrets, the identity token), so an echo of it anywhere is replaced.
    pub fn new(s: impl Into<String>) -> Self {
        let s = s.into();
        crate::client::redact::register_credential(&s);
        Secret(s)
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.trim().is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(REDACTED)")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("REDACTED")
    }
}

mod credential;
mod explain;
pub mod scope;

pub use credential::AuthTransport;

use std::sync::Arc;
use std::time::Duration;

use azure_core::credentials::TokenCredential;
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use tokio::sync::Mutex;

use crate::client::AuthMethod;
use crate::client::error::{Error, Result};

/// Where the bearer token for the Kusto endpoint comes from.
pub struct Authenticator {
    /// The method after `auto` was resolved: named in every failure.
    method: AuthMethod,
    source: Source,
    /// Cached token and its expiry; AzureCliCredential does not cache (dependencies.md).
    cache: Mutex<Option<(Secret, DateTime<Utc>)>>,
    scope: Mutex<Option<String>>,
    ingest_url: String,
}

enum Source {
    None,
    Static(Secret),
    Credential(Arc<dyn TokenCredential>),
}

/// Refresh this long before the token expires.
const EXPIRY_SLACK_SECS: i64 = 300;

impl Authenticator {
    pub fn method(&self) -> &AuthMethod {
        &self.method
    }

    /// `transport`: where the credentials send their HTTP requests (tests; see
    /// [`AuthTransport`]).
    pub fn new(
        method: &AuthMethod,
        ingest_url: &str,
        transport: Option<&AuthTransport>,
    ) -> Result<Self> {
        let method = resolve(method, ingest_url);
        let source = match (&method, credential::build(&method, transport)?) {
            (_, Some(cred)) => Source::Credential(cred),
            (AuthMethod::Token(t), None) => Source::Static(t.clone()),
            _ => Source::None,
        };
        Ok(Authenticator {
            method,
            source,
            cache: Mutex::new(None),
            scope: Mutex::new(None),
            ingest_url: ingest_url.trim_end_matches('/').to_string(),
        })
    }

    /// The `Authorization` header value, if any; `limit` bounds the metadata request.
    pub async fn header(&self, http: &reqwest::Client, limit: Duration) -> Result<Option<String>> {
        match &self.source {
            Source::None => Ok(None),
            Source::Static(t) => Ok(Some(format!("Bearer {}", t.expose()))),
            Source::Credential(cred) => {
                let mut cache = self.cache.lock().await;
                if let Some((tok, exp)) = cache.as_ref()
                    && *exp - ChronoDuration::seconds(EXPIRY_SLACK_SECS) > Utc::now()
                {
                    return Ok(Some(format!("Bearer {}", tok.expose())));
                }
                let scope = self.scope(http, limit).await?;
                let token = cred
                    .get_token(&[scope.as_str()], None)
                    .await
                    .map_err(|e| explain::token_failure(&self.method, &scope, &e))?;
                let exp = DateTime::from_timestamp(token.expires_on.unix_timestamp(), 0)
                    .unwrap_or_else(Utc::now);
                let secret = Secret::new(token.token.secret());
                *cache = Some((secret.clone(), exp));
                Ok(Some(format!("Bearer {}", secret.expose())))
            }
        }
    }

    /// Forget a cached token (after a 401).
    pub async fn invalidate(&self) {
        *self.cache.lock().await = None;
    }

    /// The service answered 401/403 (`detail`: its words) to a request signed in so: a 401
    /// forgets the token, and the error names the credential and the fix.
    pub async fn refused(&self, status: u16, detail: &str) -> Error {
        if status == 401 {
            self.invalidate().await;
        }
        let scope = self.scope.lock().await.clone();
        explain::refused(&self.method, scope.as_deref(), status, detail)
    }

    /// The AAD scope, from `/v1/rest/auth/metadata` ([`scope`]); learnt once, a failure is
    /// not kept (the next call asks again).
    async fn scope(&self, http: &reqwest::Client, limit: Duration) -> Result<String> {
        let mut cached = self.scope.lock().await;
        if let Some(s) = cached.as_ref() {
            return Ok(s.clone());
        }
        let url = format!("{}/v1/rest/auth/metadata", self.ingest_url);
        let resp = http
            .get(&url)
            .timeout(limit)
            .header("Accept", "application/json")
            .send()
            .await
            .map_err(|e| crate::client::storage::http::transport_error(e, None))?;
        let status = resp.status().as_u16();
        let body = resp
            .bytes()
            .await
            .map_err(|e| crate::client::storage::http::transport_error(e, None))?;
        let scope = scope::from_metadata(status, &body).map_err(|why| {
            let what = format!(
                "{}: cannot learn the token scope from {} ({why})",
                self.method.label(),
                crate::client::redact::redact(&url)
            );
            if status >= 500 || status == 429 {
                Error::Transient(what)
            } else {
                Error::BadResponse(what)
            }
        })?;
        *cached = Some(scope.clone());
        Ok(scope)
    }
}

/// `auto` → a static token when given, nothing for loopback endpoints, else the Azure CLI.
pub fn resolve(method: &AuthMethod, ingest_url: &str) -> AuthMethod {
    match method {
        AuthMethod::Auto if is_loopback(ingest_url) => AuthMethod::None,
        AuthMethod::Auto => AuthMethod::Cli,
        other => other.clone(),
    }
}

/// True for localhost and 127.0.0.0/8 / ::1 endpoints (the emulator, Azurite).
pub fn is_loopback(url: &str) -> bool {
    match url::Url::parse(url)
        .ok()
        .and_then(|u| u.host().map(|h| h.to_owned()))
    {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

fn is_ip_or_local(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(d) => {
            d.eq_ignore_ascii_case("localhost")
                || d.eq_ignore_ascii_case("onebox.dev.kusto.windows.net")
        }
        _ => true,
    }
}

/// The ingest (DM) URL of a cluster: `ingest-` is put before the host unless it is already
/// there, or the host is localhost or an IP address (protocol.md §1.1).
pub fn ingest_url_for(cluster: &str) -> Result<String> {
    let mut url = url::Url::parse(cluster.trim())
        .map_err(|e| Error::Usage(format!("--cluster is not a URL ({e}): {cluster}")))?;
    let host = url
        .host_str()
        .ok_or_else(|| Error::Usage(format!("--cluster has no host: {cluster}")))?
        .to_string();
    let skip =
        url.host().map(|h| is_ip_or_local(&h)).unwrap_or(true) || host.starts_with("ingest-");
    if !skip {
        url.set_host(Some(&format!("ingest-{host}"))).map_err(|e| {
            Error::Usage(format!("cannot derive the ingest URL from {cluster}: {e}"))
        })?;
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// The engine URL of an ingest URL (`ingest-` removed).
pub fn engine_url(ingest_url: &str) -> String {
    ingest_url
        .replacen("://ingest-", "://", 1)
        .trim_end_matches('/')
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ingest_url_derivation() {
        assert_eq!(
            ingest_url_for("https://help.westeurope.kusto.windows.net").unwrap(),
            "https://ingest-help.westeurope.kusto.windows.net"
        );
        assert_eq!(
            ingest_url_for("https://ingest-help.kusto.windows.net/").unwrap(),
            "https://ingest-help.kusto.windows.net"
        );
        assert_eq!(
            ingest_url_for("http://127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            ingest_url_for("http://localhost:9").unwrap(),
            "http://localhost:9"
        );
        assert_eq!(ingest_url_for("http://[::1]:9").unwrap(), "http://[::1]:9");
        assert!(ingest_url_for("not a url").is_err());
    }

    #[test]
    fn auto_resolution() {
        assert_eq!(
            resolve(&AuthMethod::Auto, "http://127.0.0.1:1"),
            AuthMethod::None
        );
        assert_eq!(
            resolve(&AuthMethod::Auto, "https://ingest-x.kusto.windows.net"),
            AuthMethod::Cli
        );
        let t = AuthMethod::Token(Secret::new("t"));
        assert_eq!(resolve(&t, "http://127.0.0.1:1"), t);
        assert_eq!(
            engine_url("https://ingest-x.y.kusto.windows.net/"),
            "https://x.y.kusto.windows.net"
        );
    }

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("eyJhbGciOi.secret");
        assert_eq!(format!("{s} {s:?}"), "REDACTED Secret(REDACTED)");
    }
}
