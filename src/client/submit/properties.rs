//! Ingestion properties kingest sets itself, which `--property` may not override.

use serde_json::{Map, Value};

use crate::client::error::{Error, Result};

/// Properties kingest writes itself (in `AdditionalProperties` or as a message field), and
/// what sets each instead. A `--property` of the same name (any case: the service reads them
/// case-insensitively) is refused rather than dropped or sent twice. Names from the ingestion
/// properties reference (DOCS `kusto/includes/ingestion-properties.md`, with its deprecated
/// `*MappingReference` spellings) and the message fields of protocol.md §4.
const OWN_PROPERTIES: &[(&str, &str)] = &[
    (
        "authorizationContext",
        "nothing: kingest sends the service's identity token",
    ),
    ("format", "--format"),
    ("ingestionMappingReference", "--mapping-ref"),
    ("csvMappingReference", "--mapping-ref"),
    ("jsonMappingReference", "--mapping-ref"),
    ("avroMappingReference", "--mapping-ref"),
    ("ingestionMapping", "--mapping"),
    ("csvMapping", "--mapping"),
    ("jsonMapping", "--mapping"),
    ("avroMapping", "--mapping"),
    (
        "ingestionMappingType",
        "--format (the mapping kind follows the format)",
    ),
    ("tags", "--tag"),
    ("ingestIfNotExists", "--ingest-if-not-exists (or --dedupe)"),
    ("ignoreFirstRecord", "--ignore-first-record"),
    ("creationTime", "--creation-time"),
    ("reportLevel", "--report-level"),
    ("reportMethod", "--report-method"),
    ("flushImmediately", "--flush"),
    ("retainBlobOnSuccess", "--no-retain-blob"),
    ("ignoreSizeLimit", "--ignore-size-limit"),
    ("rawDataSize", "nothing: kingest measures the file"),
    ("databaseName", "--database"),
    ("tableName", "--table"),
    ("blobPath", "nothing: kingest uploads the file"),
    ("id", "nothing: kingest picks the source id"),
    (
        "sourceMessageCreationTime",
        "nothing: kingest stamps the post",
    ),
    ("ingestionStatusInTable", "--report-method"),
];

/// Refuses an extra property that would override one kingest sets itself, naming the flag to
/// use instead.
pub fn check_extra_properties(props: &Map<String, Value>) -> Result<()> {
    for key in props.keys() {
        if let Some((name, instead)) = OWN_PROPERTIES
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(key.trim()))
        {
            return Err(Error::Usage(format!(
                "--property {key}=… would override the '{name}' kingest sets itself: use {instead}"
            )));
        }
    }
    Ok(())
}
