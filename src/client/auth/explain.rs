//! What a failed sign-in tells the user: the credential that was tried, what went wrong in
//! its own words (redacted, shortened), and how to fix it.

use azure_core::error::ErrorKind;

use crate::client::AuthMethod;
use crate::client::error::Error;

/// The other methods, for "or choose another" in every fix.
const OTHERS: &str = "or choose another --auth (cli, managed-identity, client-secret, \
                      workload-identity, token)";

/// What is known of a failure inside azure_identity: the words of each error in its chain
/// (the outer "XCredential authentication failed." wrapper and the troubleshooting link
/// dropped), the HTTP status and Entra error codes of an answer, and whether nothing answered.
struct Cause {
    text: String,
    status: Option<u16>,
    codes: Vec<String>,
    unreachable: bool,
}

impl Cause {
    fn of(e: &azure_core::Error) -> Cause {
        let mut parts: Vec<String> = Vec::new();
        let (mut status, mut codes, mut unreachable) = (None, Vec::new(), false);
        let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
        while let Some(err) = next {
            if let Some(az) = err.downcast_ref::<azure_core::Error>() {
                match az.kind() {
                    ErrorKind::HttpResponse {
                        status: s,
                        error_code,
                        ..
                    } => {
                        status = Some(u16::from(*s));
                        codes.extend(
                            error_code
                                .iter()
                                .flat_map(|c| c.split(','))
                                .map(|c| c.trim().to_string()),
                        );
                    }
                    ErrorKind::Connection | ErrorKind::Io => unreachable = true,
                    _ => {}
                }
            }
            // A wrapper repeats its source's words (tidy drops its credential's name), so
            // words already said are not said again.
            let words = tidy(&err.to_string());
            if !words.is_empty() && !parts.iter().any(|p| p.contains(&words)) {
                parts.push(words);
            }
            next = err.source();
        }
        let text: String = crate::client::redact::redact(&parts.join(": "))
            .chars()
            .take(500)
            .collect();
        Cause {
            text,
            status,
            codes,
            unreachable,
        }
    }

    fn has_code(&self, code: &str) -> bool {
        self.codes.iter().any(|c| c == code) || self.text.contains(&format!("AADSTS{code}"))
    }
}

/// One line: the troubleshooting link and the credential-name wrapper dropped.
fn tidy(s: &str) -> String {
    let kept: Vec<&str> = s
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("To troubleshoot, visit"))
        .collect();
    let line = kept.join(" ");
    match line.split_once("authentication failed.") {
        Some((name, rest)) if name.trim().ends_with("Credential") => rest.trim().to_string(),
        _ => line,
    }
}

/// A credential that could not even be set up (a missing setting, an unreadable file): a
/// configuration error (exit 2), nothing was asked of any service.
pub fn setup_failure(method: &AuthMethod, e: &azure_core::Error) -> Error {
    let cause = Cause::of(e);
    let fix = match method {
        _ if cause.text.contains("authority host") => {
            "AZURE_AUTHORITY_HOST must be the https URL of the cloud's authority (unset: \
             https://login.microsoftonline.com)"
        }
        AuthMethod::WorkloadIdentity { .. } => {
            "workload identity needs AZURE_TENANT_ID (or --tenant-id), AZURE_CLIENT_ID (or \
             --client-id) and AZURE_FEDERATED_TOKEN_FILE, a readable file with the service \
             account token (AKS sets all three in a pod that uses workload identity)"
        }
        AuthMethod::ManagedIdentity { .. } => {
            "run kingest on an Azure resource with a managed identity; a user-assigned one is \
             chosen with --client-id"
        }
        AuthMethod::ClientSecret { .. } => {
            "check --tenant-id (AZURE_TENANT_ID), --client-id (AZURE_CLIENT_ID) and \
             --client-secret (AZURE_CLIENT_SECRET)"
        }
        _ => "check the --auth settings",
    };
    Error::Usage(format!(
        "{}: cannot set up the credential: {} — {fix}, {OTHERS}",
        method.label(),
        cause.text
    ))
}

/// A credential that set up but produced no token for `scope`.
pub fn token_failure(method: &AuthMethod, scope: &str, e: &azure_core::Error) -> Error {
    let c = Cause::of(e);
    let text = &c.text;
    let msg = match method {
        AuthMethod::Cli if text.contains("not found on PATH") || text.contains("wasn't found") => {
            format!(
                "Azure CLI: `az` is not installed or not on PATH ({text}) — install the Azure \
                 CLI and run `az login`, {OTHERS}"
            )
        }
        AuthMethod::Cli => format!(
            "Azure CLI: `az account get-access-token --scope {scope}` failed: {text} — run \
             `az login` (`az login --tenant TENANT` for another directory), {OTHERS}"
        ),
        AuthMethod::ManagedIdentity { .. } if c.unreachable => format!(
            "managed identity: the identity endpoint ({}) did not answer: {text} — run kingest \
             on an Azure resource with a managed identity (VM, App Service, Container Apps, AKS), \
             {OTHERS}",
            identity_endpoint()
        ),
        AuthMethod::ManagedIdentity { client_id } if c.status == Some(400) => format!(
            "managed identity: the endpoint ({}) says {} is not assigned to this \
             resource: {text} — assign it, or pass --client-id of a user-assigned identity that \
             is",
            identity_endpoint(),
            client_id
                .as_deref()
                .map(|id| format!("the identity {id}"))
                .unwrap_or_else(|| "the system-assigned identity".into())
        ),
        AuthMethod::ManagedIdentity { .. } => format!(
            "managed identity: no token for {scope} from {}: {text} — check the identity and \
             its endpoint, {OTHERS}",
            identity_endpoint()
        ),
        AuthMethod::ClientSecret {
            tenant_id,
            client_id,
            ..
        } if c.unreachable => format!(
            "client secret: the authority did not answer for tenant {tenant_id}, app \
             {client_id}: {text} — check the network path to login.microsoftonline.com (or \
             AZURE_AUTHORITY_HOST)"
        ),
        AuthMethod::ClientSecret {
            tenant_id,
            client_id,
            ..
        } => format!(
            "client secret: the authority refused app {client_id} in tenant {tenant_id}: {text} \
             — {}",
            secret_fix(&c)
        ),
        AuthMethod::WorkloadIdentity { .. } if c.unreachable => format!(
            "workload identity: the authority did not answer: {text} — check the network path \
             to login.microsoftonline.com (or AZURE_AUTHORITY_HOST)"
        ),
        AuthMethod::WorkloadIdentity { .. } => format!(
            "workload identity: the authority refused the federated token: {text} — check that \
             the app's federated credential names this issuer and service account, and that \
             AZURE_FEDERATED_TOKEN_FILE holds a current token"
        ),
        other => format!("{}: no token for {scope}: {text}", other.label()),
    };
    Error::Auth(msg)
}

/// The fix for an Entra refusal of a client secret, by its AADSTS code.
fn secret_fix(c: &Cause) -> &'static str {
    if c.has_code("7000215") || c.has_code("7000222") {
        "check --client-secret (AZURE_CLIENT_SECRET): it must be the secret's value, not its \
         ID, and not expired"
    } else if c.has_code("700016") {
        "check --client-id (AZURE_CLIENT_ID): no such app in that tenant"
    } else if c.has_code("90002") || c.has_code("900023") {
        "check --tenant-id (AZURE_TENANT_ID): no such tenant"
    } else {
        "check --tenant-id (AZURE_TENANT_ID), --client-id (AZURE_CLIENT_ID) and \
         --client-secret (AZURE_CLIENT_SECRET)"
    }
}

/// Where ManagedIdentityCredential sent its request: the App Service style endpoint when
/// both `IDENTITY_ENDPOINT` and `IDENTITY_HEADER` are set, else the VM's IMDS (azure_identity
/// 1.0 `managed_identity_credential.rs` `get_source`).
fn identity_endpoint() -> String {
    let var = |k| std::env::var(k).ok().filter(|v: &String| !v.is_empty());
    match (var("IDENTITY_ENDPOINT"), var("IDENTITY_HEADER")) {
        (Some(url), Some(_)) => format!("IDENTITY_ENDPOINT {url}"),
        (Some(_), None) => "IMDS at http://169.254.169.254: IDENTITY_ENDPOINT is set but \
                            IDENTITY_HEADER is not"
            .into(),
        _ => "IMDS at http://169.254.169.254".into(),
    }
}

/// The service answered 401/403 (`detail`: its own words) to a request signed in with
/// `method`, whose token was for `scope` when a credential produced it.
pub fn refused(method: &AuthMethod, scope: Option<&str>, status: u16, detail: &str) -> Error {
    let msg = match (method, status) {
        (AuthMethod::None | AuthMethod::Auto, _) => format!(
            "the service wants a sign-in ({detail}), and none was sent (--auth none, or auto \
             with a loopback URL) — pass --token, or --auth cli after `az login`, {OTHERS}"
        ),
        (AuthMethod::Token(_), 401) => format!(
            "the service refused the static token (--token / KINGEST_TOKEN): {detail} — it may \
             have expired or be for another resource; get a fresh one (e.g. `az account \
             get-access-token --scope https://CLUSTER/.default`), {OTHERS}"
        ),
        (_, 401) => format!(
            "the service refused the token from {} (asked for {}): {detail} — sign in as a \
             principal of the cluster's tenant, or check that the scope is the cluster's",
            method.label(),
            scope.unwrap_or("?")
        ),
        _ => format!(
            "{} signed in, but the service refused the request: {detail} — the principal needs \
             a role on the database (e.g. `.add database DB ingestors ('aadapp=ID;TENANT')` for \
             an app, `('aaduser=NAME')` for a user)",
            method.label()
        ),
    };
    Error::Auth(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tidy_drops_the_wrapper_and_the_link() {
        assert_eq!(
            tidy(
                "AzureCliCredential authentication failed. ERROR: Please run 'az login'\n\
                 To troubleshoot, visit https://aka.ms/azsdk/rust/identity/troubleshoot#azure-cli"
            ),
            "ERROR: Please run 'az login'"
        );
    }

    fn http(status: u16, code: &str, text: &str) -> azure_core::Error {
        azure_core::Error::with_message(
            ErrorKind::HttpResponse {
                status: azure_core::http::StatusCode::from(status),
                error_code: Some(code.into()),
                raw_response: None,
            },
            text.to_string(),
        )
    }

    #[test]
    fn an_entra_code_picks_the_fix() {
        let m = AuthMethod::ClientSecret {
            tenant_id: "t".into(),
            client_id: "c".into(),
            secret: crate::client::auth::Secret::new("s3cr3t-for-explain"),
        };
        let s = |code, text| token_failure(&m, "x/.default", &http(400, code, text)).to_string();
        assert!(s("700016", "AADSTS700016: no app").contains("check --client-id"));
        assert!(s("90002", "AADSTS90002: no tenant").contains("check --tenant-id"));
        assert!(s("7000222", "AADSTS7000222: expired").contains("check --client-secret"));
        let other = s("50000", "AADSTS50000: other");
        assert!(other.contains("AADSTS50000: other"), "{other}");
        assert!(
            other.contains("--tenant-id (AZURE_TENANT_ID), --client-id"),
            "{other}"
        );
    }

    #[test]
    fn an_unassigned_managed_identity_is_named() {
        let m = AuthMethod::ManagedIdentity {
            client_id: Some("abc".into()),
        };
        let e = http(
            400,
            "",
            "The requested identity has not been assigned to this resource",
        );
        let s = token_failure(&m, "x/.default", &e).to_string();
        assert!(s.contains("the identity abc is not assigned"), "{s}");
        assert!(
            s.contains("pass --client-id of a user-assigned identity"),
            "{s}"
        );
    }

    #[test]
    fn a_refusal_names_the_credential_and_the_fix() {
        let e = refused(
            &AuthMethod::Cli,
            Some("https://x.kusto.windows.net/.default"),
            401,
            "Unauthorized (401): bad token",
        );
        let s = e.to_string();
        assert!(s.contains("refused the token from Azure CLI"), "{s}");
        assert!(s.contains("https://x.kusto.windows.net/.default"), "{s}");
        let s = refused(&AuthMethod::None, None, 401, "Unauthorized").to_string();
        assert!(s.contains("pass --token"), "{s}");
        let s = refused(&AuthMethod::Cli, None, 403, "Forbidden").to_string();
        assert!(s.contains("ingestors"), "{s}");
    }
}
