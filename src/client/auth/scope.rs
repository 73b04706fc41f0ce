//! The AAD scope a Kusto token is asked for, from the cluster's `/v1/rest/auth/metadata`.
//!
//! What the official SDKs do, and so kingest: `KustoServiceResourceId` of the `AzureAD`
//! object, with `.kusto.` turned into `.kustomfa.` when `LoginMfaRequired`, plus `/.default`
//! (Python azure-kusto-data `_token_providers.py` `CloudInfoTokenProvider._init_resources`,
//! Go azkustodata `tokenprovider.go` `tokenWrapper`, Java `CloudInfo.determineScope`). A 404
//! (a proxy without the endpoint), an answer without `AzureAD` or an empty body mean the
//! public cloud's resource `https://kusto.kusto.windows.net` (Python `_cloud_settings.py`
//! `DEFAULT_CLOUD`, Go `cloudinfo.go` `defaultCloudInfo`, Java `CloudInfo.DEFAULT_CLOUD`);
//! any other status is an error, not a guess (all three raise one).

use serde_json::Value;

/// The public cloud's Kusto resource, for a cluster that publishes no metadata.
pub const DEFAULT_RESOURCE: &str = "https://kusto.kusto.windows.net";

/// The scope from the metadata answer `status`/`body`, or why there is none.
pub fn from_metadata(status: u16, body: &[u8]) -> Result<String, String> {
    let resource = match status {
        404 => DEFAULT_RESOURCE.to_string(),
        200 if body.iter().all(u8::is_ascii_whitespace) => DEFAULT_RESOURCE.to_string(),
        200 => {
            let v: Value = serde_json::from_slice(body)
                .map_err(|e| format!("the answer is not JSON ({e})"))?;
            match v.get("AzureAD").filter(|a| a.is_object()) {
                None => DEFAULT_RESOURCE.to_string(),
                Some(aad) => {
                    let id = aad
                        .get("KustoServiceResourceId")
                        .and_then(Value::as_str)
                        .filter(|s| !s.trim().is_empty())
                        .ok_or("AzureAD has no KustoServiceResourceId")?;
                    if aad.get("LoginMfaRequired").and_then(Value::as_bool) == Some(true) {
                        id.replacen(".kusto.", ".kustomfa.", 1)
                    } else {
                        id.to_string()
                    }
                }
            }
        }
        other => return Err(format!("HTTP {other}")),
    };
    Ok(format!(
        "{}/.default",
        resource.trim().trim_end_matches('/')
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_id_from_metadata() {
        let body = br#"{"AzureAD":{"LoginMfaRequired":false,"KustoServiceResourceId":"https://help.kusto.windows.net/"}}"#;
        assert_eq!(
            from_metadata(200, body).unwrap(),
            "https://help.kusto.windows.net/.default"
        );
    }

    #[test]
    fn mfa_asks_for_the_kustomfa_resource() {
        let body = br#"{"AzureAD":{"LoginMfaRequired":true,"KustoServiceResourceId":"https://kusto.kusto.windows.net"}}"#;
        assert_eq!(
            from_metadata(200, body).unwrap(),
            "https://kusto.kustomfa.windows.net/.default"
        );
    }

    #[test]
    fn no_metadata_means_the_public_cloud() {
        let default = "https://kusto.kusto.windows.net/.default";
        assert_eq!(from_metadata(404, b"not here").unwrap(), default);
        assert_eq!(from_metadata(200, b"").unwrap(), default);
        assert_eq!(from_metadata(200, br#"{"dSTS":{}}"#).unwrap(), default);
    }

    #[test]
    fn a_broken_answer_is_an_error() {
        assert_eq!(from_metadata(500, b"busy").unwrap_err(), "HTTP 500");
        assert!(from_metadata(200, b"<html>").is_err());
        assert!(from_metadata(200, br#"{"AzureAD":{"LoginMfaRequired":true}}"#).is_err());
    }
}
