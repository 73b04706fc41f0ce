//! Azure Storage over SAS URLs (what the DM hands out): blobs, queues and tables, host-style
//! (`https://acct.queue.core.windows.net/q?sas`) and path-style (`http://127.0.0.1:P/acct/q?sas`,
//! as Azurite and `kingest emulator` serve them).

pub mod blob;
pub(crate) mod http;
pub mod queue;
pub mod sas;
pub mod table;
pub(crate) mod xml;

use std::fmt;

use crate::client::error::{Error, Result};
use crate::client::redact::redact;
use crate::client::retry::RetryPolicy;

pub use queue::{QueueMessage, UpdatedMessage};

/// The `x-ms-version` we send. Accepted by Azurite 3.35 and the cloud.
pub const STORAGE_VERSION: &str = "2025-07-05";

/// A storage resource URL with its SAS. `Display`/`Debug` never show the signature; only the
/// HTTP layer reads the secret through [`SasUrl::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct SasUrl {
    url: url::Url,
}

impl SasUrl {
    pub fn parse(s: &str) -> Result<Self> {
        let url = url::Url::parse(s.trim())
            .map_err(|e| Error::Usage(format!("not a URL ({e}): {}", redact(s))))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(Error::Usage(format!(
                "not an http(s) storage URL: {}",
                redact(s)
            )));
        }
        // The signature is a secret from now on, wherever it is echoed.
        if let Some((_, sig)) = url
            .query_pairs()
            .find(|(k, _)| k.eq_ignore_ascii_case("sig"))
        {
            crate::client::redact::register_secret(&sig);
        }
        Ok(SasUrl { url })
    }

    /// Path-style when the host is an IP address or localhost (Azurite, the emulator).
    pub fn is_path_style(&self) -> bool {
        matches!(
            self.url.host(),
            Some(url::Host::Ipv4(_)) | Some(url::Host::Ipv6(_))
        ) || self.url.host_str() == Some("localhost")
    }

    fn segments(&self) -> Vec<String> {
        self.url
            .path_segments()
            .map(|s| {
                s.filter(|p| !p.is_empty())
                    .map(|p| {
                        percent_encoding::percent_decode_str(p)
                            .decode_utf8_lossy()
                            .into_owned()
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Storage account name: first path segment (path-style) or first host label.
    pub fn account(&self) -> String {
        if self.is_path_style() {
            self.segments().into_iter().next().unwrap_or_default()
        } else {
            self.url
                .host_str()
                .unwrap_or_default()
                .split('.')
                .next()
                .unwrap_or_default()
                .to_string()
        }
    }

    /// Queue, container or table name (the first path segment after the account).
    pub fn object_name(&self) -> String {
        let skip = usize::from(self.is_path_style());
        let mut name = self.segments().into_iter().nth(skip).unwrap_or_default();
        // Tables may be addressed as `Table(PartitionKey=…)`: keep just the name.
        if let Some(i) = name.find('(') {
            name.truncate(i);
        }
        name
    }

    /// The path after the object name (a blob name inside a container), decoded.
    pub fn sub_path(&self) -> String {
        let skip = 1 + usize::from(self.is_path_style());
        self.segments()
            .into_iter()
            .skip(skip)
            .collect::<Vec<_>>()
            .join("/")
    }

    /// The URL of `name` inside this container (same SAS). `/` in the name is kept.
    pub fn child(&self, name: &str) -> SasUrl {
        let mut url = self.url.clone();
        if let Ok(mut segs) = url.path_segments_mut() {
            segs.pop_if_empty();
            for part in name.split('/') {
                segs.push(part);
            }
        }
        SasUrl { url }
    }

    /// This URL cut to its container (account and container name, same SAS) and the rest
    /// of the path as a name prefix: `…/c/folder/x?sas` → (`…/c?sas`, `folder/x`). A `/`
    /// that ends the URL is kept in the prefix (it asks for that folder only).
    pub fn container_and_prefix(&self) -> (SasUrl, String) {
        let keep = 1 + usize::from(self.is_path_style());
        let segs = self.segments();
        let mut url = self.url.clone();
        if let Ok(mut p) = url.path_segments_mut() {
            p.clear();
            for s in segs.iter().take(keep) {
                p.push(s);
            }
        }
        let mut prefix = segs
            .iter()
            .skip(keep)
            .cloned()
            .collect::<Vec<_>>()
            .join("/");
        if !prefix.is_empty() && self.url.path().ends_with('/') {
            prefix.push('/');
        }
        (SasUrl { url }, prefix)
    }

    /// The request URL for `suffix` (e.g. `/messages`) plus extra query pairs, SAS kept.
    pub(crate) fn request_url(&self, suffix: &str, params: &[(&str, &str)]) -> url::Url {
        let mut url = self.url.clone();
        if !suffix.is_empty() {
            let path = format!("{}{}", url.path().trim_end_matches('/'), suffix);
            url.set_path(&path);
        }
        if !params.is_empty() {
            let mut q = url.query_pairs_mut();
            for (k, v) in params {
                q.append_pair(k, v);
            }
        }
        url
    }

    /// The full URL including the secret. Only for requests and for messages to the service.
    pub fn expose(&self) -> &str {
        self.url.as_str()
    }

    /// Scheme, host and path: no query at all, and no fragment (where `#…?sig=` could hide one).
    pub fn without_query(&self) -> String {
        let mut u = self.url.clone();
        u.set_query(None);
        u.set_fragment(None);
        u.to_string()
    }

    /// Query parameter value (decoded), e.g. `se` for the expiry.
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.url
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    pub fn redacted(&self) -> String {
        redact(self.url.as_str())
    }
}

impl fmt::Display for SasUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for SasUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SasUrl({})", self.redacted())
    }
}

/// The storage client: one reqwest client, one retry policy, used for every blob, queue and
/// table call. Cheap to clone.
#[derive(Clone)]
pub struct Storage {
    pub(crate) http: reqwest::Client,
    pub(crate) retry: RetryPolicy,
    pub(crate) timeouts: crate::client::deadline::Timeouts,
}

impl Storage {
    /// With the default [`Timeouts`](crate::client::deadline::Timeouts).
    pub fn new(http: reqwest::Client, retry: RetryPolicy) -> Self {
        Storage {
            http,
            retry,
            timeouts: Default::default(),
        }
    }

    pub fn with_timeouts(mut self, timeouts: crate::client::deadline::Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// The same client (connection pool, configured limits) with another retry policy.
    pub fn with_retry(&self, retry: RetryPolicy) -> Self {
        Storage {
            retry,
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_and_prefix_split_path_and_host_style() {
        let u = SasUrl::parse("http://127.0.0.1:1/acct/c/folder/sub/?sv=1&sig=eA").unwrap();
        let (c, p) = u.container_and_prefix();
        assert_eq!(c.without_query(), "http://127.0.0.1:1/acct/c");
        assert_eq!(c.query_param("sv").as_deref(), Some("1"));
        assert_eq!(p, "folder/sub/");
        let u = SasUrl::parse("https://a.blob.core.windows.net/c").unwrap();
        let (c, p) = u.container_and_prefix();
        assert_eq!(c.without_query(), "https://a.blob.core.windows.net/c");
        assert_eq!(p, "");
    }

    #[test]
    fn without_query_drops_a_fragment_holding_a_sas() {
        // Found by the `ingestion_message` fuzz target: a BlobPath with `#` kept its SAS in the
        // reported IngestionSourcePath.
        let u =
            SasUrl::parse("https://a.blob.core.windows.net/c/#/b.csv?sv=1&sig=c2VjcmV0").unwrap();
        assert_eq!(u.without_query(), "https://a.blob.core.windows.net/c/");
        assert!(!crate::emulator::dm::source_path(u.expose()).contains("c2VjcmV0"));
    }
}
