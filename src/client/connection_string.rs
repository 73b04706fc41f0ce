//! Kusto connection strings wherever kingest takes a URL (`--ingest-url`, `--cluster`, the
//! config file's `ingest_url` / `cluster`): `Data Source=…;Initial Catalog=…;Fed=True;…`.
//!
//! Keywords and aliases follow the service's documentation
//! (dataexplorer-docs `kusto/api/connection-strings/kusto.md`) and the Python SDK's keyword
//! list (`azure-kusto-data/azure/kusto/data/kcsb.json`): names are matched case-insensitively
//! with spaces ignored (kcsb.py `normalize_string`), values are case-sensitive and trimmed, a
//! value holding `;`, `'` or `"` is quoted, and a bare URI first stands for `Data Source`
//! whose path names the database (`https://help.kusto.windows.net/Samples; Fed=true`).
//! Pure: no I/O. Secrets (AppKey, tokens) become [`Secret`]s, registered for redaction as they
//! are read, and no error ever quotes a value.

use crate::client::auth::{Secret, ingest_url_for};
use crate::client::error::{Error, Result};

/// What a connection string says kingest should connect to and how.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectionString {
    /// `Data Source` without a trailing database path, e.g. `https://help.kusto.windows.net`.
    pub data_source: String,
    /// `Initial Catalog` (or the Data Source URI's path).
    pub database: Option<String>,
    /// `None`: the string names no credential (`Fed=True` alone: the usual sign-in).
    pub auth: Option<CsAuth>,
}

/// A credential a connection string names.
#[derive(Debug, Clone, PartialEq)]
pub enum CsAuth {
    /// `AppClientId` + `AppKey` + `Authority Id`: an application's client secret.
    ClientSecret {
        tenant_id: String,
        client_id: String,
        secret: Secret,
    },
    /// `User Token` or `Application Token`: a bearer token used as it is.
    Token(Secret),
    /// `Fed=False` with no token: no Microsoft Entra sign-in at all.
    None,
}

/// The keywords kingest reads, each with its documented name and aliases (normalised).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keyword {
    DataSource,
    InitialCatalog,
    Federated,
    AuthorityId,
    AppClientId,
    AppKey,
    AppToken,
    UserToken,
    /// Prompt hints and tracing names: meaningless to a non-interactive client, accepted.
    Ignored,
    /// Documented, but a sign-in kingest does not offer (certificates, passwords, dSTS).
    Unsupported,
    /// `ManagedServiceIdentity`: the docs say it "can't be set with a connection string, only
    /// programmatically".
    ManagedIdentity,
}

/// (normalised name, keyword): kcsb.json's names and aliases, plus the docs' extra aliases
/// (`Network Address`, `TenantId`, `UsrToken`, `UserToken`, `AppCert`, …).
const KEYWORDS: &[(&str, Keyword)] = &[
    ("datasource", Keyword::DataSource),
    ("server", Keyword::DataSource),
    ("addr", Keyword::DataSource),
    ("address", Keyword::DataSource),
    ("networkaddress", Keyword::DataSource),
    ("initialcatalog", Keyword::InitialCatalog),
    ("database", Keyword::InitialCatalog),
    ("aadfederatedsecurity", Keyword::Federated),
    ("microsoftentraidfederatedsecurity", Keyword::Federated),
    ("federatedsecurity", Keyword::Federated),
    ("federated", Keyword::Federated),
    ("fed", Keyword::Federated),
    ("aadfed", Keyword::Federated),
    ("authorityid", Keyword::AuthorityId),
    ("authority", Keyword::AuthorityId),
    ("tenantid", Keyword::AuthorityId),
    ("tenant", Keyword::AuthorityId),
    ("tid", Keyword::AuthorityId),
    ("domainhint", Keyword::AuthorityId),
    ("applicationclientid", Keyword::AppClientId),
    ("appclientid", Keyword::AppClientId),
    ("applicationkey", Keyword::AppKey),
    ("appkey", Keyword::AppKey),
    ("applicationtoken", Keyword::AppToken),
    ("apptoken", Keyword::AppToken),
    ("usertoken", Keyword::UserToken),
    ("usrtoken", Keyword::UserToken),
    ("userid", Keyword::Ignored),
    ("uid", Keyword::Ignored),
    ("user", Keyword::Ignored),
    ("loginhint", Keyword::Ignored),
    ("aaduserid", Keyword::Ignored),
    ("applicationnamefortracing", Keyword::Ignored),
    ("traceappname", Keyword::Ignored),
    ("usernamefortracing", Keyword::Ignored),
    ("traceusername", Keyword::Ignored),
    ("clientversionfortracing", Keyword::Ignored),
    ("traceclientversion", Keyword::Ignored),
    ("accept", Keyword::Ignored),
    ("streaming", Keyword::Ignored),
    ("uncompressed", Keyword::Ignored),
    ("queryconsistency", Keyword::Ignored),
    ("azureregion", Keyword::Ignored),
    ("region", Keyword::Ignored),
    ("password", Keyword::Unsupported),
    ("pwd", Keyword::Unsupported),
    ("applicationcertificatethumbprint", Keyword::Unsupported),
    ("appcert", Keyword::Unsupported),
    (
        "applicationcertificatesubjectdistinguishedname",
        Keyword::Unsupported,
    ),
    ("applicationcertificatesubject", Keyword::Unsupported),
    (
        "applicationcertificateissuerdistinguishedname",
        Keyword::Unsupported,
    ),
    ("applicationcertificateissuer", Keyword::Unsupported),
    ("applicationcertificatesendx5c", Keyword::Unsupported),
    ("sendx5c", Keyword::Unsupported),
    ("applicationcertificateblob", Keyword::Unsupported),
    ("dstsfederatedsecurity", Keyword::Unsupported),
    ("dstsfed", Keyword::Unsupported),
    ("managedserviceidentity", Keyword::ManagedIdentity),
];

/// What an endpoint value (`--ingest-url`, `--cluster`, the file's `ingest_url` / `cluster`)
/// stands for once read.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    /// The ingest (DM) URL.
    pub ingest_url: String,
    /// The connection string's default database.
    pub database: Option<String>,
    pub auth: Option<CsAuth>,
}

/// Reads an endpoint value: a plain URL (`cluster`: the engine, `ingest-` put before the
/// host; else the ingest URL as given) or a connection string, whose Data Source is the
/// ingest URL when its host starts with `ingest-` and a cluster otherwise. `what` names the
/// value in errors.
pub fn endpoint(value: &str, cluster: bool, what: &str) -> Result<Endpoint> {
    let value = value.trim();
    if is_connection_string(value) {
        let cs = parse(value, what)?;
        return Ok(Endpoint {
            ingest_url: ingest_url_for(&cs.data_source)?,
            database: cs.database,
            auth: cs.auth,
        });
    }
    let url = url::Url::parse(value).map_err(|e| {
        Error::Usage(format!(
            "{what}: not a URL ({e}) nor a connection string (Data Source=…;…)"
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(Error::Usage(format!(
            "{what}: expected an http(s) URL with a host, or a connection string"
        )));
    }
    // A URI is itself a connection string whose path names the database (the docs'
    // `https://help.kusto.windows.net/Samples`), so the path never reaches the ingest URL.
    let (base, database) =
        split_database(value).map_err(|m| Error::Usage(format!("{what}: {m}")))?;
    let ingest_url = if cluster {
        ingest_url_for(&base)?
    } else {
        base
    };
    Ok(Endpoint {
        ingest_url,
        database,
        auth: None,
    })
}

/// True when `s` is a connection string rather than a plain URL: it has a `;`, or its first
/// part is `KEYWORD=…` (a URL's own `=` sits after `?`).
pub fn is_connection_string(s: &str) -> bool {
    if s.trim_start().starts_with('@') {
        return true;
    }
    let first = s.split(';').next().unwrap_or("");
    s.contains(';')
        || first
            .split_once('=')
            .is_some_and(|(k, _)| !k.contains(['/', '?']))
}

/// Parses a connection string. `what` names where it came from (`--cluster`, `config
/// ingest_url`) in errors.
pub fn parse(s: &str, what: &str) -> Result<ConnectionString> {
    let usage = |msg: String| Error::Usage(format!("{what}: connection string {msg}"));
    let expanded;
    let s = match shorthand(s) {
        Some(full) => {
            expanded = full;
            expanded.as_str()
        }
        None => s,
    };
    let mut data_source = None;
    let mut database = None;
    let mut federated = None;
    let (mut tenant, mut client_id, mut key, mut token) = (None, None, None, None);
    // After a secret's value, an unknown "keyword" may be the rest of an unquoted secret that
    // held a ';': it is named by position only.
    let mut after_secret = false;
    for (i, part) in split_pairs(s)
        .map_err(|m| usage(m.to_string()))?
        .into_iter()
        .enumerate()
    {
        let (name, value) = match part.split_once('=') {
            Some((n, v)) => (n.trim(), unquote(v.trim())),
            // A bare URI first is the Data Source (the docs' "optionally prefixed by a URI").
            None if i == 0 => ("Data Source", part.trim().to_string()),
            None => {
                return Err(usage(format!(
                    "part {} has no '=': expected KEYWORD=VALUE",
                    i + 1
                )));
            }
        };
        let normalised = name.to_ascii_lowercase().replace(' ', "");
        let keyword = KEYWORDS
            .iter()
            .find(|(n, _)| *n == normalised)
            .map(|(_, k)| *k)
            .ok_or_else(|| {
                usage(if after_secret {
                    format!(
                        "part {} is not a Kusto keyword (a secret holding ';' must be quoted)",
                        i + 1
                    )
                } else {
                    format!("keyword '{name}' is not a Kusto keyword")
                })
            })?;
        after_secret = matches!(
            keyword,
            Keyword::AppKey | Keyword::AppToken | Keyword::UserToken | Keyword::Unsupported
        );
        match keyword {
            Keyword::DataSource => data_source = Some(value),
            Keyword::InitialCatalog => database = Some(value).filter(|v| !v.is_empty()),
            Keyword::Federated => {
                // kcsb.py accepts True/true and False/false only.
                federated = Some(match value.as_str() {
                    "True" | "true" => true,
                    "False" | "false" => false,
                    _ => return Err(usage(format!("keyword '{name}': expected true or false"))),
                })
            }
            Keyword::AuthorityId => tenant = Some(value),
            Keyword::AppClientId => client_id = Some(value),
            Keyword::AppKey => key = Some(Secret::new(value)),
            // The docs: a User Token overrides the application's id, key and token.
            Keyword::UserToken => token = Some(Secret::new(value)),
            Keyword::AppToken => token = token.or(Some(Secret::new(value))),
            Keyword::Ignored => {}
            Keyword::ManagedIdentity => {
                return Err(usage(format!(
                    "keyword '{name}': managed identity cannot be set in a connection string \
                     (the service's documentation); use --auth managed-identity or auth = \
                     \"managed-identity\""
                )));
            }
            Keyword::Unsupported => {
                return Err(usage(format!(
                    "keyword '{name}' names a sign-in kingest does not offer; use AppClientId, \
                     AppKey and Authority Id, a token, or Fed=True (the Azure CLI)"
                )));
            }
        }
    }
    let data_source = data_source
        .filter(|d| !d.is_empty())
        .ok_or_else(|| usage("has no Data Source".to_string()))?;
    let (data_source, path_db) = split_database(&data_source).map_err(usage)?;
    let auth = match (token, client_id, key) {
        (Some(t), _, _) => Some(CsAuth::Token(t)),
        (None, Some(client_id), Some(secret)) => Some(CsAuth::ClientSecret {
            tenant_id: tenant
                .filter(|t| !t.is_empty())
                .ok_or_else(|| usage("has AppClientId and AppKey but no Authority Id".into()))?,
            client_id,
            secret,
        }),
        (None, Some(_), None) => {
            return Err(usage(
                "has AppClientId but no AppKey (kingest signs in an application with its key)"
                    .into(),
            ));
        }
        (None, None, Some(_)) => return Err(usage("has AppKey but no AppClientId".into())),
        (None, None, None) if federated == Some(false) => Some(CsAuth::None),
        (None, None, None) => None,
    };
    Ok(ConnectionString {
        data_source,
        database: database.or(path_db),
        auth,
    })
}

/// `@CLUSTER/DB…` → `https://CLUSTER.kusto.windows.net/DB; Fed=true…`: the docs' shorthand
/// "several Kusto client tools support".
fn shorthand(s: &str) -> Option<String> {
    let rest = s.trim_start().strip_prefix('@')?;
    let (head, tail) = rest.split_once(';').map_or((rest, ""), |(h, t)| (h, t));
    let (cluster, db) = head.trim().split_once('/').unwrap_or((head.trim(), ""));
    let valid = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '.';
    if cluster.is_empty() || !cluster.chars().all(valid) {
        return None;
    }
    let mut full = format!("https://{cluster}.kusto.windows.net/{db}; Fed=true");
    if !tail.trim().is_empty() {
        full.push(';');
        full.push_str(tail);
    }
    Some(full)
}

/// The `;`-separated parts, a double- or single-quoted value kept whole; empty parts dropped.
fn split_pairs(s: &str) -> std::result::Result<Vec<String>, &'static str> {
    let (mut parts, mut cur, mut quote) = (Vec::new(), String::new(), None);
    for c in s.chars() {
        match (quote, c) {
            (None, ';') => parts.push(std::mem::take(&mut cur)),
            (None, '"' | '\'') => {
                quote = Some(c);
                cur.push(c);
            }
            (Some(q), c) if c == q => {
                quote = None;
                cur.push(c);
            }
            _ => cur.push(c),
        }
    }
    if quote.is_some() {
        return Err("has an unclosed quote");
    }
    parts.push(cur);
    Ok(parts.into_iter().filter(|p| !p.trim().is_empty()).collect())
}

/// A value between matching quotes loses them (a doubled quote inside stands for one).
fn unquote(v: &str) -> String {
    for q in ['"', '\''] {
        if let Some(inner) = v.strip_prefix(q).and_then(|v| v.strip_suffix(q)) {
            return inner.replace(&format!("{q}{q}"), &q.to_string());
        }
    }
    v.to_string()
}

/// `https://host/Db` → (`https://host`, `Db`), as kcsb.py's `_parse_data_source` does.
fn split_database(ds: &str) -> std::result::Result<(String, Option<String>), String> {
    let mut url = url::Url::parse(ds.trim_end_matches('/'))
        .map_err(|e| format!("keyword 'Data Source': not a URL ({e})"))?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err("keyword 'Data Source': the URL has no host".into());
    }
    let db = url
        .path_segments()
        .and_then(|mut s| s.next().map(str::to_string))
        .filter(|d| !d.is_empty());
    url.set_path("");
    Ok((url.as_str().trim_end_matches('/').to_string(), db))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issue_example_maps_to_client_secret() {
        let cs = parse(
            "Data Source=https://ingest-help.kusto.windows.net;Initial Catalog=Samples;Fed=True;\
             AppClientId=11111111-2222;AppKey=s3cr3t-app-key-value;Authority Id=contoso.com",
            "--cluster",
        )
        .unwrap();
        assert_eq!(cs.data_source, "https://ingest-help.kusto.windows.net");
        assert_eq!(cs.database.as_deref(), Some("Samples"));
        match cs.auth {
            Some(CsAuth::ClientSecret {
                tenant_id,
                client_id,
                secret,
            }) => {
                assert_eq!(
                    (tenant_id.as_str(), client_id.as_str()),
                    ("contoso.com", "11111111-2222")
                );
                assert_eq!(secret.expose(), "s3cr3t-app-key-value");
            }
            other => panic!("{other:?}"),
        }
        // Registered for redaction as it was read.
        assert!(!crate::client::redact::redact("key s3cr3t-app-key-value").contains("s3cr3t"));
    }

    #[test]
    fn names_are_case_and_space_insensitive_and_aliases_work() {
        let cs = parse(
            " addr = https://help.kusto.windows.net/ ; DATABASE=Db1 ; aad federated security = true",
            "x",
        )
        .unwrap();
        assert_eq!(
            (cs.data_source.as_str(), cs.database.as_deref(), cs.auth),
            ("https://help.kusto.windows.net", Some("Db1"), None)
        );
        let cs = parse("https://help.kusto.windows.net/Samples; Fed=true", "x").unwrap();
        assert_eq!(cs.database.as_deref(), Some("Samples"));
        let cs = parse("@help/Samples", "x").unwrap();
        assert_eq!(
            (cs.data_source.as_str(), cs.database.as_deref(), cs.auth),
            ("https://help.kusto.windows.net", Some("Samples"), None)
        );
        let cs = parse("@mycluster.westeurope;User Token=tok-0123456789", "x").unwrap();
        assert_eq!(
            cs.data_source,
            "https://mycluster.westeurope.kusto.windows.net"
        );
        assert_eq!(cs.auth, Some(CsAuth::Token(Secret::new("tok-0123456789"))));
        let cs = parse("Server=http://127.0.0.1:8080;Fed=False", "x").unwrap();
        assert_eq!(cs.auth, Some(CsAuth::None));
        let cs = parse(
            "Data Source=https://a.kusto.windows.net;AppToken=app-token-aaaa;UsrToken=\"user;token-bbbb\"",
            "x",
        )
        .unwrap();
        assert_eq!(cs.auth, Some(CsAuth::Token(Secret::new("user;token-bbbb"))));
        let cs = parse(
            "Data Source=https://a.kusto.windows.net;User ID=me@x;TenantId=t",
            "x",
        )
        .unwrap();
        assert_eq!(cs.auth, None);
    }

    #[test]
    fn bad_strings_name_the_keyword_and_never_the_secret() {
        for (s, fragment) in [
            ("Data Source=https://a.b;Colour=red", "keyword 'Colour'"),
            ("Data Source=https://a.b;Fed=yes", "keyword 'Fed'"),
            (
                "Data Source=https://a.b;Password=hunter2-secret",
                "keyword 'Password'",
            ),
            ("Initial Catalog=x;Fed=True", "no Data Source"),
            ("Data Source=not a url;Fed=True", "keyword 'Data Source'"),
            (
                "Data Source=https://a.b;AppClientId=c;AppKey=kkkkkkkkkkk-secret",
                "no Authority Id",
            ),
            (
                "Data Source=https://a.b;AppKey=kkkkkkkkkkk-secret",
                "no AppClientId",
            ),
            ("Data Source=https://a.b;AppClientId=c", "no AppKey"),
            ("Data Source=https://a.b;AppKey=\"open", "unclosed quote"),
            ("Data Source=https://a.b;junk", "no '='"),
            (
                "Data Source=https://a.b;ManagedServiceIdentity=system",
                "--auth managed-identity",
            ),
        ] {
            let Err(Error::Usage(m)) = parse(s, "--cluster") else {
                panic!("{s} parsed")
            };
            assert!(
                m.contains(fragment) && m.starts_with("--cluster"),
                "{s}: {m}"
            );
            assert!(!m.contains("secret") && !m.contains("hunter2"), "{m}");
        }
    }

    #[test]
    fn endpoints_from_urls_and_connection_strings() {
        let e = |v: &str, cluster: bool| endpoint(v, cluster, "x").map(|e| e.ingest_url);
        assert_eq!(
            e("https://help.kusto.windows.net", true).unwrap(),
            "https://ingest-help.kusto.windows.net"
        );
        assert_eq!(
            e("http://127.0.0.1:8080/", false).unwrap(),
            "http://127.0.0.1:8080"
        );
        // A connection string's Data Source: an ingest- host as it is, else a cluster.
        for v in [
            "Data Source=https://help.kusto.windows.net;Fed=True",
            "Data Source=https://ingest-help.kusto.windows.net",
        ] {
            assert_eq!(
                e(v, false).unwrap(),
                "https://ingest-help.kusto.windows.net"
            );
            assert_eq!(e(v, true).unwrap(), "https://ingest-help.kusto.windows.net");
        }
        assert_eq!(
            e("Data Source=http://127.0.0.1:9;Fed=False", true).unwrap(),
            "http://127.0.0.1:9"
        );
        for bad in ["help.kusto.windows.net", "ftp://x", "https://"] {
            let Err(Error::Usage(m)) = e(bad, true) else {
                panic!("{bad}")
            };
            assert!(m.starts_with("x:"), "{m}");
        }
    }

    #[test]
    fn plain_urls_are_not_connection_strings() {
        assert!(!is_connection_string("https://help.kusto.windows.net"));
        assert!(!is_connection_string("http://127.0.0.1:8080/?a=b"));
        assert!(is_connection_string("Data Source=https://x"));
        assert!(is_connection_string(
            "https://help.kusto.windows.net/Samples; Fed=true"
        ));
    }

    #[test]
    fn an_unquoted_secret_with_a_semicolon_is_not_echoed() {
        let e = format!(
            "{:?}",
            parse(
                "Data Source=https://x.kusto.windows.net;AppClientId=c;AppKey=ab;cdsecret=ef;Authority Id=t",
                "--cluster",
            )
                .unwrap_err()
        );
        assert!(!e.contains("cdsecret"), "{e}");
        assert!(e.contains("part 4"), "{e}");
    }

    #[test]
    fn a_plain_urls_path_is_the_database_not_part_of_the_ingest_url() {
        let e = endpoint("https://help.kusto.windows.net/Samples", true, "--cluster").unwrap();
        assert_eq!(e.ingest_url, "https://ingest-help.kusto.windows.net");
        assert_eq!(e.database.as_deref(), Some("Samples"));
        let e = endpoint("http://127.0.0.1:8080/", false, "--ingest-url").unwrap();
        assert_eq!(
            (e.ingest_url.as_str(), e.database),
            ("http://127.0.0.1:8080", None)
        );
    }
}
