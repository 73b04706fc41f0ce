//! `kingest gateway`: the DM's REST queued-ingestion API (configuration, POST, status by
//! operation id) served in front of any classic cluster, so a script ingests with one HTTP
//! call. The HTTP surface is the emulator's own (`emulator::http::rest_queued`); the work is
//! a [`Relay`] over this machine's client of the cluster: its resources, its ingestion queue,
//! its status table, tracked by the client's tracking engine. Callers upload the blob
//! themselves (into a container of the configuration answer, or anywhere the cluster can read).

use std::net::SocketAddr;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::client::IngestClient;
use crate::client::rest_queued::relay::Relay;
use crate::emulator::http::rest_queued::{RestApi, router};

/// Whether the gateway may listen on `addr`: anywhere with a token, only on loopback without
/// one (anyone reaching the port would ingest into the cluster with this machine's
/// credentials). `Ok(Some(warning))` off loopback.
pub fn exposure(addr: SocketAddr, token: Option<&str>) -> Result<Option<String>, String> {
    if token.is_some_and(|t| t.trim().is_empty()) {
        return Err("--require-token is empty: give a token, or leave it unset".into());
    }
    if addr.ip().is_loopback() {
        return Ok(None);
    }
    if token.is_none() {
        return Err(format!(
            "--listen {addr} is not a loopback address: other machines could ingest into the \
             cluster with this machine's credentials. Pass --require-token TOKEN (or set \
             KINGEST_GATEWAY_TOKEN) to bind there, or listen on 127.0.0.1"
        ));
    }
    Ok(Some(format!(
        "WARNING: kingest gateway listens on {addr}, which other machines may reach; every \
         request needs the bearer token, and travels as plain HTTP (no TLS)."
    )))
}

/// A running gateway. Call [`Gateway::shutdown`] to stop it.
pub struct Gateway {
    url: String,
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Gateway {
    /// Binds `listen` (refused off loopback without `token`) and serves.
    pub async fn start(
        client: IngestClient,
        listen: SocketAddr,
        token: Option<String>,
    ) -> Result<Gateway, String> {
        exposure(listen, token.as_deref())?;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("cannot read the bound address: {e}"))?;
        let api = Arc::new(RestApi {
            relay: Relay::new(client, None),
            token,
            token_hint: "This gateway was started with --require-token",
        });
        let app = router(api);
        let cancel = CancellationToken::new();
        let stop = cancel.clone();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(stop.cancelled_owned());
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "gateway HTTP server stopped");
            }
        });
        Ok(Gateway {
            url: format!("http://{addr}"),
            cancel,
            task,
        })
    }

    /// The base URL: a REST queued-ingestion endpoint (`{url}/v1/rest/ingestion/…`).
    pub fn url(&self) -> &str {
        &self.url
    }

    pub async fn shutdown(self) {
        self.cancel.cancel();
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), self.task).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_loopback_needs_a_token() {
        let lo: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let any: SocketAddr = "0.0.0.0:0".parse().unwrap();
        assert_eq!(exposure(lo, None), Ok(None));
        let err = exposure(any, None).unwrap_err();
        assert!(err.contains("--require-token"), "{err}");
        assert!(
            exposure(any, Some("t"))
                .unwrap()
                .unwrap()
                .contains("WARNING")
        );
        assert!(exposure(lo, Some(" ")).is_err());
    }
}
