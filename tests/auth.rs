//! Every sign-in path, without the internet: the emulator's `--require-token` proves the
//! token each credential produced really reached the service (the right one succeeds, a
//! wrong one gets the 401 message naming the credential), and each failure names the
//! credential and its fix.
//!
//! Azure CLI, managed identity and the static token run the real binary with its environment
//! set for it (a fake `az` on PATH, IDENTITY_ENDPOINT to a loopback stub). Client secret and
//! workload identity run in-process: azure_identity 1.0 refuses an `http://` authority host,
//! loopback included (`get_authority_host` demands https), so these keep the real https
//! authority and give the client an `AuthTransport` that sends each request to a loopback
//! stub instead; that transport can only be set in-process.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::sync::{Arc, Mutex};

use azure_core::http::{AsyncRawResponse, HttpClient, Request};
use common::fake::{self, Answer};
use common::{Env, stdout};
use kingest::client::auth::{AuthTransport, Secret};
use kingest::client::{AuthMethod, ClientConfig, IngestClient};
use kingest::emulator::EmulatorConfig;

const TOKEN: &str = "eyJ0eXAi.kingest-auth-test.right";
const WRONG: &str = "eyJ0eXAi.kingest-auth-test.wrong";

async fn emulator() -> Env {
    Env::start_with(EmulatorConfig {
        require_token: Some(TOKEN.into()),
        ..Default::default()
    })
    .await
}

/// `kingest ARGS` against `url` with exactly `vars` of the sign-in environment set.
async fn kingest(
    url: &str,
    home: &Path,
    args: &[&str],
    vars: &[(&str, String)],
) -> std::process::Output {
    use assert_cmd::cargo::CommandCargoExt;
    let mut cmd = std::process::Command::cargo_bin("kingest").unwrap();
    cmd.env("KINGEST_INGEST_URL", url)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home)
        .env("XDG_DATA_HOME", home.join("data"));
    for var in [
        "KINGEST_CONFIG",
        "KINGEST_TOKEN",
        "KINGEST_AUTH",
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_ID",
        "AZURE_CLIENT_SECRET",
        "AZURE_FEDERATED_TOKEN_FILE",
        "AZURE_AUTHORITY_HOST",
        "IDENTITY_ENDPOINT",
        "IDENTITY_HEADER",
        "MSI_ENDPOINT",
        "MSI_SECRET",
        "IMDS_ENDPOINT",
    ] {
        cmd.env_remove(var);
    }
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.args(args);
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

fn expires_in_an_hour() -> i64 {
    chrono::Utc::now().timestamp() + 3600
}

/// A directory holding a fake `az` that logs its arguments to `log` and prints the token in
/// FAKE_AZ_TOKEN as `az account get-access-token -o json` does, or fails with FAKE_AZ_FAIL on
/// stderr.
fn fake_az(dir: &Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let bin = dir.join("fake-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let az = bin.join("az");
    std::fs::write(
        &az,
        "#!/bin/sh\n\
         printf '%s\\n' \"$*\" >> \"$FAKE_AZ_LOG\"\n\
         if [ -n \"$FAKE_AZ_FAIL\" ]; then printf '%s\\n' \"$FAKE_AZ_FAIL\" >&2; exit 1; fi\n\
         printf '{\"accessToken\":\"%s\",\"expiresOn\":\"2099-01-01 00:00:00.000000\",\"expires_on\":%s,\"subscription\":\"s\",\"tenant\":\"t\",\"tokenType\":\"Bearer\"}\\n' \"$FAKE_AZ_TOKEN\" \"$FAKE_AZ_EXPIRES\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

fn az_vars(bin: &Path, log: &Path, token: &str, fail: &str) -> Vec<(&'static str, String)> {
    vec![
        // Absolute: azure_identity runs `cd /bin && az …`.
        ("PATH", format!("{}:/usr/bin:/bin", bin.display())),
        ("FAKE_AZ_LOG", log.display().to_string()),
        ("FAKE_AZ_TOKEN", token.to_string()),
        ("FAKE_AZ_EXPIRES", expires_in_an_hour().to_string()),
        ("FAKE_AZ_FAIL", fail.to_string()),
    ]
}

/// The emulator, the binary's HOME, a fake `az`'s directory and its log.
async fn with_fake_az() -> (
    Env,
    std::path::PathBuf,
    std::path::PathBuf,
    std::path::PathBuf,
) {
    let env = emulator().await;
    let home = env.dir.path().join("home");
    let bin = fake_az(env.dir.path());
    let log = env.dir.path().join("az.log");
    (env, home, bin, log)
}

/// `kingest ARGS` that must fail with the service exit code (3): its stderr.
async fn fails(url: &str, home: &Path, args: &[&str], vars: &[(&str, String)]) -> String {
    fails_with(3, url, home, args, vars).await
}

/// `kingest ARGS` that must exit `code`: its stderr.
async fn fails_with(
    code: i32,
    url: &str,
    home: &Path,
    args: &[&str],
    vars: &[(&str, String)],
) -> String {
    let out = kingest(url, home, args, vars).await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(code), "{err}");
    assert!(!stdout(&out).contains(WRONG), "no token on stdout");
    // Shown with --nocapture: the README's auth guide quotes these.
    println!("$ kingest {}\n{err}", args.join(" "));
    err
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azure_cli_token_reaches_the_service_for_the_clusters_scope() {
    let (env, home, bin, log) = with_fake_az().await;
    let url = env.emulator.url().to_string();

    let out = kingest(
        &url,
        &home,
        &["--auth", "cli", "resources"],
        &az_vars(&bin, &log, TOKEN, ""),
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("TempStorage"), "{}", stdout(&out));
    let args = std::fs::read_to_string(&log).unwrap();
    // The emulator's metadata names its own URL as KustoServiceResourceId.
    assert_eq!(
        args.lines().next().unwrap(),
        format!("account get-access-token -o json --scope {url}/.default"),
    );

    let err = fails(
        &url,
        &home,
        &["--auth", "cli", "resources"],
        &az_vars(&bin, &log, WRONG, ""),
    )
    .await;
    assert!(
        err.contains("the service refused the token from Azure CLI"),
        "{err}"
    );
    assert!(err.contains(&format!("asked for {url}/.default")), "{err}");
    assert!(!err.contains(WRONG), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azure_cli_failures_say_to_run_az_login() {
    let (env, home, bin, log) = with_fake_az().await;
    let url = env.emulator.url().to_string();

    let vars = az_vars(
        &bin,
        &log,
        TOKEN,
        "ERROR: Please run 'az login' to setup account.",
    );
    let err = fails(&url, &home, &["--auth", "cli", "resources"], &vars).await;
    assert!(
        err.contains(&format!(
            "Azure CLI: `az account get-access-token --scope {url}/.default` failed: ERROR: Please run 'az login' to setup account. — run `az login`"
        )),
        "{err}"
    );
    assert!(err.contains("or choose another --auth"), "{err}");

    // No az at all: PATH without it.
    let empty = env.dir.path().join("empty-bin");
    std::fs::create_dir_all(&empty).unwrap();
    let vars = vec![("PATH", empty.display().to_string())];
    let err = fails(&url, &home, &["--auth", "cli", "resources"], &vars).await;
    assert!(
        err.contains("Azure CLI: `az` is not installed or not on PATH"),
        "{err}"
    );
    assert!(
        err.contains("install the Azure CLI and run `az login`"),
        "{err}"
    );
}

/// A loopback App Service style identity endpoint answering `token` to every request.
async fn identity_endpoint(token: &'static str) -> fake::FakeServer {
    fake::start(move |r| {
        let url = url::Url::parse(&format!("http://stub{}", r.target)).unwrap();
        let resource = url
            .query_pairs()
            .find(|(k, _)| k == "resource")
            .map(|(_, v)| v.to_string())
            .unwrap_or_default();
        Answer::json(
            200,
            &serde_json::json!({"access_token": token, "expires_on": expires_in_an_hour().to_string(),
                                "token_type": "Bearer", "resource": resource}),
        )
    })
    .await
}

fn query(r: &fake::Request) -> Vec<(String, String)> {
    url::Url::parse(&format!("http://stub{}", r.target))
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_identity_token_comes_from_identity_endpoint() {
    let env = emulator().await;
    let home = env.dir.path().join("home");
    let url = env.emulator.url().to_string();
    let stub = identity_endpoint(TOKEN).await;
    let vars = vec![
        ("IDENTITY_ENDPOINT", format!("{}/msi/token", stub.url)),
        ("IDENTITY_HEADER", "identity-header-value".to_string()),
    ];
    let args = [
        "--auth",
        "managed-identity",
        "--client-id",
        "11111111-2222-3333-4444-555555555555",
        "resources",
    ];
    let out = kingest(&url, &home, &args, &vars).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let seen = stub.seen();
    assert_eq!(seen.len(), 1, "one token request: {seen:?}");
    assert!(seen[0].target.starts_with("/msi/token?"), "{:?}", seen[0]);
    assert_eq!(
        seen[0].header("x-identity-header"),
        Some("identity-header-value")
    );
    let q = query(&seen[0]);
    assert!(
        q.contains(&("api-version".into(), "2019-08-01".into())),
        "{q:?}"
    );
    // IMDS takes a resource, not a scope: the scope without `/.default`.
    assert!(q.contains(&("resource".into(), url.clone())), "{q:?}");
    assert!(
        q.contains(&(
            "client_id".into(),
            "11111111-2222-3333-4444-555555555555".into()
        )),
        "{q:?}"
    );

    let wrong = identity_endpoint(WRONG).await;
    // Both variables, always: without IDENTITY_HEADER the crate would ask the VM's IMDS.
    let vars = vec![
        ("IDENTITY_ENDPOINT", format!("{}/msi/token", wrong.url)),
        ("IDENTITY_HEADER", "h".to_string()),
    ];
    let err = fails(
        &url,
        &home,
        &["--auth", "managed-identity", "resources"],
        &vars,
    )
    .await;
    assert!(
        err.contains("the service refused the token from managed identity"),
        "{err}"
    );
    // System-assigned: no client_id asked for.
    assert!(
        !query(&wrong.seen()[0])
            .iter()
            .any(|(k, _)| k == "client_id")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_identity_endpoint_unreachable_is_named() {
    let env = emulator().await;
    let home = env.dir.path().join("home");
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let endpoint = format!("http://127.0.0.1:{closed}/msi/token");
    let vars = vec![
        ("IDENTITY_ENDPOINT", endpoint.clone()),
        ("IDENTITY_HEADER", "h".to_string()),
    ];
    let err = fails(
        env.emulator.url(),
        &home,
        &["--auth", "managed-identity", "resources"],
        &vars,
    )
    .await;
    assert!(
        err.contains(&format!(
            "managed identity: the identity endpoint (IDENTITY_ENDPOINT {endpoint}) did not answer"
        )),
        "{err}"
    );
    assert!(
        err.contains("run kingest on an Azure resource with a managed identity"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_token_reaches_the_service() {
    let env = emulator().await;
    let home = env.dir.path().join("home");
    let url = env.emulator.url();

    let out = kingest(url, &home, &["--token", TOKEN, "resources"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = kingest(
        url,
        &home,
        &["--auth", "token", "resources"],
        &[("KINGEST_TOKEN", TOKEN.into())],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let err = fails(
        url,
        &home,
        &["resources"],
        &[("KINGEST_TOKEN", WRONG.into())],
    )
    .await;
    assert!(
        err.contains("the service refused the static token (--token / KINGEST_TOKEN)"),
        "{err}"
    );
    assert!(!err.contains(WRONG), "{err}");

    let err = fails(url, &home, &["--auth", "none", "resources"], &[]).await;
    assert!(err.contains("the service wants a sign-in"), "{err}");
    assert!(
        err.contains("pass --token, or --auth cli after `az login`"),
        "{err}"
    );
}

/// Sends each credential request to a loopback stub instead of its https authority, and
/// keeps the URL it was meant for.
#[derive(Debug)]
struct ToStub {
    port: u16,
    inner: Arc<dyn HttpClient>,
    meant_for: Mutex<Vec<String>>,
}

#[async_trait::async_trait]
impl HttpClient for ToStub {
    async fn execute_request(&self, request: &Request) -> azure_core::Result<AsyncRawResponse> {
        self.meant_for
            .lock()
            .unwrap()
            .push(request.url().to_string());
        let mut req = request.clone();
        let url = req.url_mut();
        url.set_scheme("http").unwrap();
        url.set_host(Some("127.0.0.1")).unwrap();
        url.set_port(Some(self.port)).unwrap();
        self.inner.execute_request(&req).await
    }
}

/// A loopback authority: answers `answer` to every token request.
async fn authority(answer: Answer) -> (fake::FakeServer, Arc<ToStub>) {
    let server = fake::start(move |_| answer.clone()).await;
    let port = url::Url::parse(&server.url).unwrap().port().unwrap();
    let stub = Arc::new(ToStub {
        port,
        inner: azure_core::http::new_http_client(None),
        meant_for: Mutex::new(Vec::new()),
    });
    (server, stub)
}

fn token_answer(token: &str) -> Answer {
    Answer::json(
        200,
        &serde_json::json!({"token_type": "Bearer", "expires_in": 3600, "ext_expires_in": 3600, "access_token": token}),
    )
}

fn client(
    url: &str,
    auth: AuthMethod,
    stub: &Arc<ToStub>,
) -> kingest::client::error::Result<IngestClient> {
    let transport: Arc<dyn HttpClient> = stub.clone();
    IngestClient::new(ClientConfig {
        auth,
        auth_transport: Some(AuthTransport(transport)),
        retry: kingest::client::retry::RetryPolicy::none(),
        ..ClientConfig::unauthenticated(url)
    })
}

/// `.show tables` through a client signed in with `method`: the error of a failed sign-in.
async fn show_tables(
    url: &str,
    method: AuthMethod,
    stub: &Arc<ToStub>,
) -> kingest::client::error::Result<Vec<kingest::client::mgmt::V1Table>> {
    client(url, method, stub)
        .unwrap()
        .mgmt("demo", ".show tables")
        .await
}

/// What every Entra client-credentials token request carries.
fn assert_token_request(f: &[(String, String)], url: &str) {
    assert!(has(f, "client_id", APP), "{f:?}");
    assert!(has(f, "grant_type", "client_credentials"), "{f:?}");
    assert!(has(f, "scope", &format!("{url}/.default")), "{f:?}");
}

fn form(r: &fake::Request) -> Vec<(String, String)> {
    url::form_urlencoded::parse(r.body.as_bytes())
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn has(form: &[(String, String)], k: &str, v: &str) -> bool {
    form.iter().any(|(a, b)| a == k && b == v)
}

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const APP: &str = "0c0ffee0-1111-2222-3333-444444444444";
const APP_SECRET: &str = "kingest~test~app~secret~value";

fn secret_method(secret: &str) -> AuthMethod {
    AuthMethod::ClientSecret {
        tenant_id: TENANT.into(),
        client_id: APP.into(),
        secret: Secret::new(secret),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_secret_token_request_and_its_token_reach_the_service() {
    let env = emulator().await;
    let url = env.emulator.url();
    let (server, stub) = authority(token_answer(TOKEN)).await;
    let c = client(url, secret_method(APP_SECRET), &stub).unwrap();
    c.mgmt("demo", ".show tables").await.expect("signed in");
    assert_eq!(
        stub.meant_for.lock().unwrap().as_slice(),
        [format!(
            "https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token"
        )]
    );
    let seen = server.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "POST");
    let f = form(&seen[0]);
    assert!(has(&f, "client_secret", APP_SECRET), "{f:?}");
    assert_token_request(&f, url);

    let (_wrong, stub) = authority(token_answer(WRONG)).await;
    let err = show_tables(url, secret_method(APP_SECRET), &stub)
        .await
        .unwrap_err()
        .to_string();
    println!("{err}");
    assert!(
        err.contains("the service refused the token from client secret"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_secret_rejected_by_the_authority_names_the_aadsts_code_and_the_fix() {
    let env = emulator().await;
    let refusal = Answer::json(
        401,
        &serde_json::json!({"error": "invalid_client",
            "error_description": "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.",
            "error_codes": [7000215]}),
    );
    let (_server, stub) = authority(refusal).await;
    let err = client(
        env.emulator.url(),
        secret_method("not-the-right-secret"),
        &stub,
    )
    .unwrap()
    .mgmt("demo", ".show tables")
    .await
    .unwrap_err();
    assert!(
        matches!(err, kingest::client::error::Error::Auth(_)),
        "{err:?}"
    );
    let err = err.to_string();
    println!("{err}");
    assert!(
        err.contains(&format!("client secret: the authority refused app {APP} in tenant {TENANT}: AADSTS7000215: Invalid client secret provided")),
        "{err}"
    );
    assert!(
        err.contains("check --client-secret (AZURE_CLIENT_SECRET)"),
        "{err}"
    );
    assert!(!err.contains("not-the-right-secret"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workload_identity_sends_the_federated_token_from_its_file() {
    let env = emulator().await;
    let url = env.emulator.url();
    let file = env.dir.path().join("federated-token");
    std::fs::write(&file, "eyJhbGciOi.federated.assertion").unwrap();
    let method = |token_file: std::path::PathBuf| AuthMethod::WorkloadIdentity {
        tenant_id: Some(TENANT.into()),
        client_id: Some(APP.into()),
        token_file: Some(token_file),
    };
    let (server, stub) = authority(token_answer(TOKEN)).await;
    show_tables(url, method(file.clone()), &stub)
        .await
        .expect("signed in");
    let f = form(&server.seen()[0]);
    assert!(
        has(&f, "client_assertion", "eyJhbGciOi.federated.assertion"),
        "{f:?}"
    );
    assert!(
        has(
            &f,
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        ),
        "{f:?}"
    );
    assert_token_request(&f, url);

    let (_wrong, stub) = authority(token_answer(WRONG)).await;
    let err = show_tables(url, method(file), &stub)
        .await
        .unwrap_err()
        .to_string();
    println!("{err}");
    assert!(
        err.contains("the service refused the token from workload identity"),
        "{err}"
    );

    let Err(err) = client(url, method(env.dir.path().join("no-such-file")), &stub) else {
        panic!("a missing token file must fail")
    };
    let err = err.to_string();
    println!("{err}");
    assert!(
        err.contains(
            "workload identity: cannot set up the credential: failed to read federated token from file"
        ),
        "{err}"
    );
    assert!(err.contains("no-such-file"), "{err}");
    assert!(err.contains("AZURE_FEDERATED_TOKEN_FILE"), "{err}");
}

/// The scope asked of a client-secret credential when the endpoint answers the metadata
/// request with `metadata`.
async fn scope_asked(metadata: Answer) -> String {
    let endpoint = fake::start(move |r| {
        if r.target.starts_with("/v1/rest/auth/metadata") {
            metadata.clone()
        } else {
            Answer::json(404, &serde_json::json!({}))
        }
    })
    .await;
    let (server, stub) = authority(token_answer(TOKEN)).await;
    let c = client(&endpoint.url, secret_method(APP_SECRET), &stub).unwrap();
    let _ = c.mgmt("demo", ".show tables").await;
    let seen = server.seen();
    assert_eq!(seen.len(), 1, "one token request");
    let f = form(&seen[0]);
    f.into_iter().find(|(k, _)| k == "scope").unwrap().1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scope_follows_the_metadata_as_the_sdks_do() {
    let present = Answer::json(
        200,
        &serde_json::json!({"AzureAD": {"LoginMfaRequired": false, "KustoServiceResourceId": "https://mycluster.westeurope.kusto.windows.net"}}),
    );
    assert_eq!(
        scope_asked(present).await,
        "https://mycluster.westeurope.kusto.windows.net/.default"
    );
    let mfa = Answer::json(
        200,
        &serde_json::json!({"AzureAD": {"LoginMfaRequired": true, "KustoServiceResourceId": "https://kusto.kusto.windows.net"}}),
    );
    assert_eq!(
        scope_asked(mfa).await,
        "https://kusto.kustomfa.windows.net/.default"
    );
    // No metadata endpoint: the public cloud's Kusto resource (Python, Go and Java SDKs).
    let absent = Answer::status(404, "text/plain", "no such path");
    assert_eq!(
        scope_asked(absent).await,
        "https://kusto.kusto.windows.net/.default"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_failure_is_reported_not_guessed() {
    let endpoint = fake::start(|_| Answer::status(400, "text/plain", "bad")).await;
    let (server, stub) = authority(token_answer(TOKEN)).await;
    let err = show_tables(&endpoint.url, secret_method(APP_SECRET), &stub)
        .await
        .unwrap_err()
        .to_string();
    println!("{err}");
    assert!(
        err.contains("client secret: cannot learn the token scope from"),
        "{err}"
    );
    assert!(err.contains("/v1/rest/auth/metadata (HTTP 400)"), "{err}");
    assert!(
        server.seen().is_empty(),
        "no token asked for a guessed scope"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authority_must_be_https_and_workload_settings_come_from_the_environment() {
    let env = emulator().await;
    let home = env.dir.path().join("home");
    let url = env.emulator.url();
    // Why client-secret and workload identity are tested through a transport: azure_identity
    // refuses a plain-http authority, loopback included.
    let vars = vec![("AZURE_AUTHORITY_HOST", "http://127.0.0.1:9".to_string())];
    let args = [
        "--auth",
        "client-secret",
        "--tenant-id",
        TENANT,
        "--client-id",
        APP,
        "--client-secret",
        APP_SECRET,
        "resources",
    ];
    // A setting that cannot work is a configuration error (exit 2), before any request.
    let err = fails_with(2, url, &home, &args, &vars).await;
    assert!(
        err.contains(
            "client secret: cannot set up the credential: authority host doesn't use HTTPS scheme"
        ),
        "{err}"
    );
    assert!(
        err.contains("AZURE_AUTHORITY_HOST must be the https URL"),
        "{err}"
    );
    assert!(!err.contains(APP_SECRET), "{err}");

    // The binary hands AZURE_* to the workload identity credential.
    let missing = env.dir.path().join("projected-token");
    let vars = vec![
        ("AZURE_TENANT_ID", TENANT.to_string()),
        ("AZURE_CLIENT_ID", APP.to_string()),
        ("AZURE_FEDERATED_TOKEN_FILE", missing.display().to_string()),
    ];
    let err = fails_with(
        2,
        url,
        &home,
        &["--auth", "workload-identity", "resources"],
        &vars,
    )
    .await;
    assert!(
        err.contains(&format!(
            "failed to read federated token from file {}",
            missing.display()
        )),
        "{err}"
    );
    let err = fails_with(
        2,
        url,
        &home,
        &["--auth", "workload-identity", "resources"],
        &[],
    )
    .await;
    assert!(err.contains("no tenant ID specified"), "{err}");
    assert!(
        err.contains("workload identity needs AZURE_TENANT_ID"),
        "{err}"
    );
}
