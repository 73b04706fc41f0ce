//! `kingest mgmt`

use serde_json::json;

use crate::cli::output::{print_json, print_tables};
use crate::cli::{EXIT_OK, Failure};
use crate::client::IngestClient;

/// `kingest mgmt`
pub async fn run(
    client: &IngestClient,
    database: &str,
    csl: &str,
    json_out: bool,
) -> Result<i32, Failure> {
    let tables = client.mgmt(database, csl).await?;
    if json_out {
        print_json(&json!({"Tables": tables}));
        return Ok(EXIT_OK);
    }
    print_tables(&tables);
    Ok(EXIT_OK)
}
