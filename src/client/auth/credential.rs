//! The azure_identity credential for each sign-in method.

use std::sync::Arc;

use azure_core::credentials::TokenCredential;
use azure_core::http::{
    ClientOptions, ExponentialRetryOptions, HttpClient, RetryOptions, Transport,
};

use crate::client::AuthMethod;
use crate::client::error::Result;

/// The HTTP transport the credentials that call an authority or an identity endpoint send
/// through. Only the tests set one: ClientSecretCredential and WorkloadIdentityCredential
/// refuse an `http://` authority host, loopback included (azure_identity 1.0
/// `get_authority_host` demands https), so a test cannot point them at a local stub; it keeps
/// the real https authority and gives a transport that sends each request to the stub.
#[derive(Clone)]
pub struct AuthTransport(pub Arc<dyn HttpClient>);

impl std::fmt::Debug for AuthTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthTransport")
    }
}

/// A credential call is retried a few times within seconds (an identity endpoint that is
/// starting, a reset), not azure_core's default of 8 times over a minute: a failed sign-in
/// should be reported while the user still waits for it.
fn client_options(transport: Option<&AuthTransport>) -> ClientOptions {
    ClientOptions {
        transport: transport.map(|t| Transport::new(t.0.clone())),
        retry: RetryOptions::exponential(ExponentialRetryOptions {
            initial_delay: azure_core::time::Duration::milliseconds(200),
            max_retries: 2,
            max_total_elapsed: azure_core::time::Duration::seconds(10),
            max_delay: azure_core::time::Duration::seconds(2),
        }),
        ..Default::default()
    }
}

/// The credential for `method`, or `None` when it signs in to nothing or holds a token.
pub fn build(
    method: &AuthMethod,
    transport: Option<&AuthTransport>,
) -> Result<Option<Arc<dyn TokenCredential>>> {
    let setup = |e: azure_core::Error| super::explain::setup_failure(method, &e);
    let cred: Arc<dyn TokenCredential> = match method {
        AuthMethod::Auto | AuthMethod::None | AuthMethod::Token(_) => return Ok(None),
        AuthMethod::Cli => azure_identity::AzureCliCredential::new(None).map_err(setup)?,
        AuthMethod::ManagedIdentity { client_id } => {
            let options = azure_identity::ManagedIdentityCredentialOptions {
                user_assigned_id: client_id
                    .clone()
                    .map(azure_identity::UserAssignedId::ClientId),
                client_options: client_options(transport),
            };
            azure_identity::ManagedIdentityCredential::new(Some(options)).map_err(setup)?
        }
        AuthMethod::ClientSecret {
            tenant_id,
            client_id,
            secret,
        } => azure_identity::ClientSecretCredential::new(
            tenant_id,
            client_id.clone(),
            azure_core::credentials::Secret::from(secret.expose().to_string()),
            Some(azure_identity::ClientSecretCredentialOptions {
                client_options: client_options(transport),
            }),
        )
        .map_err(setup)?,
        AuthMethod::WorkloadIdentity {
            tenant_id,
            client_id,
            token_file,
        } => azure_identity::WorkloadIdentityCredential::new(Some(
            azure_identity::WorkloadIdentityCredentialOptions {
                credential_options: azure_identity::ClientAssertionCredentialOptions {
                    client_options: client_options(transport),
                },
                client_id: client_id.clone(),
                tenant_id: tenant_id.clone(),
                token_file_path: token_file.clone(),
            },
        ))
        .map_err(setup)?,
    };
    Ok(Some(cred))
}
