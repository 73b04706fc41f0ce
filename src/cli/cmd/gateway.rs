//! `kingest gateway`: the REST queued-ingestion API in front of the resolved cluster.

use crate::cli::args::GatewayArgs;
use crate::cli::output::{notice, outln};
use crate::cli::{EXIT_OK, Failure};
use crate::client::IngestClient;
use crate::gateway::{Gateway, exposure};

/// Prints its base URL as the first stdout line and serves until Ctrl-C or SIGTERM.
/// With `--json` the first line is a JSON object with the URLs instead.
pub async fn run(client: &IngestClient, args: GatewayArgs, json: bool) -> Result<i32, Failure> {
    let warning = exposure(args.listen, args.require_token.as_deref()).map_err(Failure::usage)?;
    // Fail now, not on the first request, when the cluster cannot be used.
    client.resources().await?;
    let gateway = Gateway::start(client.clone(), args.listen, args.require_token)
        .await
        .map_err(Failure::service)?;
    if let Some(w) = warning {
        eprintln!("{w}");
    }
    if json {
        crate::cli::output::print_json_line(&serde_json::json!({
            "url": gateway.url(),
            "rest_ingestion_url": format!("{}/v1/rest/ingestion/", gateway.url()),
            "upstream_ingest_url": client.ingest_url(),
        }));
    } else {
        outln!("{}", gateway.url());
    }
    notice!(
        "kingest gateway: REST queued ingestion at {}/v1/rest/ingestion/ in front of {}; \
         Ctrl-C stops it",
        gateway.url(),
        crate::sanitize::sanitize(client.ingest_url())
    );
    crate::cli::cmd::emulator::wait_for_stop_signal().await;
    gateway.shutdown().await;
    Ok(EXIT_OK)
}
