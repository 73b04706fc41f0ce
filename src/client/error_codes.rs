//! Catalogue of Kusto `IngestionErrorCode` names (protocol.md §7.3): meaning, whether the
//! failure is permanent, and what an operator should do. Unknown names get a generic entry.

/// One error code of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorCodeInfo {
    pub name: &'static str,
    pub meaning: &'static str,
    /// Permanent: retrying the same data will fail again.
    pub permanent: bool,
    pub hint: &'static str,
}

macro_rules! codes {
    ($(($name:literal, $permanent:literal, $meaning:literal, $hint:literal),)*) => {
        /// Every known code.
        pub static CATALOGUE: &[ErrorCodeInfo] = &[
            $(ErrorCodeInfo { name: $name, permanent: $permanent, meaning: $meaning, hint: $hint },)*
        ];
    };
}

codes! {
    ("Stream_WrongNumberOfFields", true, "Records have inconsistent numbers of fields.", "Check the delimiter and quoting of the file, or ingest with a mapping that matches its columns."),
    ("Stream_ClosingQuoteMissing", true, "A quoted CSV field has no closing quote.", "Fix the quoting in the source file (escape quotes by doubling them) and resubmit."),
    ("BadRequest_InvalidBlob", true, "The blob could not be read as the stated format.", "Check that --format matches the content and that the file is not truncated."),
    ("BadRequest_EmptyArchive", true, "The zip archive has no entries (or none its zipPattern selects).", "Resubmit a zip that contains the data file, or a --zip-pattern that selects its entries."),
    ("BadRequest_InvalidArchive", true, "The archive is corrupt.", "Re-create the .zip/.gz and resubmit."),
    ("BadRequest_InvalidMapping", true, "The inline ingestion mapping cannot be parsed.", "Fix the mapping JSON (column, datatype, Ordinal/Path) and resubmit."),
    ("BadRequest_InvalidMappingReference", true, "The mapping reference is invalid.", "Check the mapping name and kind with '.show table T ingestion mappings'."),
    ("BadRequest_FormatNotSupported", true, "The data format is not supported here.", "Use a supported format (csv, tsv, psv, scsv, sohsv, txt, json, multijson, ...)."),
    ("BadRequest_InconsistentMapping", true, "The mapping does not fit the table schema.", "Align the mapping's columns and types with the table schema."),
    ("BadRequest_UnexpectedCharacterInInputStream", true, "The input contains an unexpected character.", "Check the file encoding (UTF-8) and stray control characters."),
    ("BadRequest_EmptyBlob", true, "The blob is empty; nothing was ingested.", "Nothing to do unless the file should have had data; check how it was produced."),
    ("BadRequest_NoRecordsOrWrongFormat", true, "No records were found, or the format does not match the content.", "Check --format (e.g. multijson for pretty-printed JSON) and the file content."),
    ("BadRequest_EmptyBlobUri", true, "The message has no blob URI.", "Fix the client that posted the message: BlobPath must be set."),
    ("BadRequest_DuplicateMapping", true, "Both an inline mapping and a mapping reference were given.", "Give either --mapping-ref or an inline mapping, not both."),
    ("BadRequest_InvalidOrEmptyTableName", true, "The table name is missing or invalid.", "Pass a valid --table."),
    ("BadRequest_EmptyDatabaseName", true, "The database name is missing.", "Pass --database."),
    ("BadRequest_EmptyMappingReference", true, "The format needs a mapping and the reference is empty.", "Create a mapping and pass --mapping-ref."),
    ("Download_BadRequest", true, "Storage rejected the download as a bad request.", "Check the blob URL and its SAS."),
    ("BadRequest_MissingMappingtFailure", true, "The format requires a mapping and none was given (legacy rule).", "Pass --mapping-ref with a mapping of the right kind."),
    ("Stream_NoDataToIngest", true, "Nothing to ingest (often invalid JSON).", "Check the file content and --format."),
    ("Stream_DynamicPropertyBagTooLarge", true, "A dynamic value is too large.", "Split or trim the large dynamic values in the source."),
    ("General_BadRequest", true, "Generic bad request (often a missing database or table).", "Check database, table and ingestion properties."),
    ("BadRequest_CorruptedMessage", true, "The ingestion queue message itself could not be parsed.", "Fix the client that built the message (base64 JSON with Id, BlobPath, DatabaseName, TableName)."),
    ("BadRequest_SyntaxError", true, "The request has a syntax error.", "Fix the command or property syntax."),
    ("BadRequest_ZeroRetentionPolicyWithNoUpdatePolicy", true, "The table has zero retention and feeds no update policy.", "Fix the table's retention or update policies."),
    ("BadRequest_CreationTimeEarlierThanSoftDeletePeriod", true, "creationTime is older than the retention soft-delete period.", "Use a later creationTime or extend retention."),
    ("BadRequest_NotSupported", true, "The request is not supported.", "Change the ingestion properties."),
    ("Download_SourceNotFound", true, "The blob was not found.", "Check that the upload finished and the blob was not deleted or expired before ingestion."),
    ("BadRequest_EntityNameIsNotValid", true, "An entity name is not valid.", "Fix the database/table/mapping name."),
    ("BadRequest_MalformedIngestionProperty", true, "An ingestion property is malformed.", "Check tags, ingestIfNotExists, creationTime and other properties."),
    ("BadRequest_IngestionPropertyNotSupportedInThisContext", true, "An ingestion property is not allowed here.", "Remove the property for this kind of ingestion."),
    ("BadRequest_NonMultiDatabaseDataConnection", true, "A data connection tried to route to another database.", "Fix the data connection's routing."),
    ("BadRequest_InvalidBlobUri", true, "The blob URI is invalid.", "Check BlobPath."),
    ("BadRequest_DataCapacityLimitReached", true, "The storage account's capacity limit was reached.", "Free capacity or use other storage."),
    ("BadRequest_InvalidManagedIdentity", true, "The managed identity is missing or lacks permissions.", "Grant the identity access to the storage."),
    ("Download_AccessConditionNotSatisfied", true, "A storage access condition failed.", "Check blob leases/ETags."),
    ("Download_Forbidden", true, "Storage refused the download (bad or expired SAS).", "Resubmit: the SAS in BlobPath must allow read and be valid until ingestion."),
    ("Download_AccountNotFound", true, "The storage account does not exist.", "Check the storage account in BlobPath."),
    ("BadRequest_TableAccessDenied", true, "The principal lacks rights on the table.", "Grant Table Ingestor on the table."),
    ("BadRequest_DatabaseAccessDenied", true, "The principal lacks rights on the database.", "Grant Database Ingestor on the database."),
    ("BadRequest_InvalidAuthentication", true, "Authentication to the data is invalid.", "Check the credentials used for the source."),
    ("Download_NotTransient", true, "A non-transient download error.", "Check the blob URL and storage account."),
    ("Download_UnknownError", false, "An unknown download error.", "Usually retried by the service; resubmit if it persists."),
    ("Download_TransientNameResolutionFailure", false, "DNS failure for the storage account.", "Transient: the service retries; check storage account DNS if it persists."),
    ("BadRequest_MappingReferenceWasNotFound", true, "The named ingestion mapping does not exist.", "Create the mapping or fix --mapping-ref ('.show table T ingestion mappings')."),
    ("BadRequest_DatabaseNotExist", true, "The database does not exist.", "Check --database (names are case-sensitive) or create the database."),
    ("BadRequest_TableNotExist", true, "The table does not exist.", "Create the table first ('.create table T (...)') or fix --table."),
    ("BadRequest_EntityNotFound", true, "A database, table or mapping was not found.", "Check database, table and mapping names."),
    ("Stream_InputStreamTooLarge", true, "The data or a single field is too large.", "Split the file or trim large fields."),
    ("BadRequest_FileTooLarge", true, "The blob exceeds the size limit.", "Split the source into files under 1 GB uncompressed."),
    ("General_InternalServerError", false, "Internal service error.", "Transient: the service retries; resubmit if it reaches the failure queue."),
    ("General_TransientSchemaMismatch", false, "The table schema changed during ingestion.", "Transient: resubmit."),
    ("Timeout", false, "The operation timed out.", "Transient: resubmit; consider smaller files."),
    ("OutOfMemory", false, "Ingestion ran out of memory.", "Transient: resubmit smaller files."),
    ("Schema_PermanentUpdateFailure", true, "A schema update failed permanently.", "Check the table schema and update policies."),
    ("UpdatePolicy_QuerySchemaDoesNotMatchTableSchema", true, "An update policy's query output does not match the target schema.", "Fix the update policy query or the target table."),
    ("UpdatePolicy_FailedDescendantTransaction", false, "A descendant transactional update policy failed.", "Check the target tables' failures."),
    ("UpdatePolicy_IngestionError", false, "Ingestion error in an update policy.", "Check '.show ingestion failures' for the target table."),
    ("UpdatePolicy_UnknownError", false, "Unknown update policy error.", "Check the update policy and resubmit."),
    ("UpdatePolicy_Cyclic_Update_Not_Allowed", true, "Update policies form a cycle.", "Break the cycle in the update policies."),
    ("UpdatePolicy_BadRequest", true, "The update policy request is bad (e.g. a semantic error in its query).", "Fix the update policy query."),
    ("BadRequest_InvalidKustoIdentityToken", true, "The authorizationContext (Kusto identity token) is invalid or expired.", "Refresh resources ('r' or re-run) to get a new identity token, then resubmit."),
    ("Forbidden", true, "Insufficient permissions.", "Grant the principal ingestor rights."),
    ("General_ThrottledIngestion", false, "The engine throttled the ingestion.", "Transient: the service retries; reduce ingestion rate if frequent."),
    ("General_RetryAttemptsExceeded", true, "A recurring transient error exceeded the retry budget.", "Resubmitting may work once the underlying issue is resolved."),
    ("BlobAlreadyReceived_BlobAlreadyFoundInBatch", true, "The same blob appeared twice in one batch; one copy was used.", "Nothing lost; avoid posting the same blob twice."),
    ("Unknown", false, "Unknown error.", "Check details; resubmit if needed."),
    ("Stream_LowMemoryCondition", false, "Ingestion ran low on memory.", "Transient: resubmit smaller files."),
    ("BadRequest_MissingJsonMappingtFailure", true, "JSON ingested without a JSON mapping (legacy rule).", "Pass a JSON --mapping-ref."),
    ("BadRequest_InvalidOrEmptyBlob", true, "The blob is invalid or empty.", "Check the file content."),
    ("BadRequest_UriMissingSas", true, "The blob path has no SAS and the storage is unknown.", "Include a SAS in BlobPath or use a managed identity."),
    ("BadRequest_NoValidResponseFromEngine", true, "No valid reply from the ingest command.", "Resubmit; contact support if persistent."),
    ("BadRequest_MessageExhausted", true, "The message was retried too many times.", "Resubmit after fixing the cause in the earlier failures."),
    ("BadRequest_InvalidCsvMapping", true, "The CSV mapping is invalid.", "Fix the CSV mapping."),
    ("BadRequest_InvalidJsonMapping", true, "The JSON mapping is invalid.", "Fix the JSON mapping."),
    ("UpdatePolicy_Transactional_Not_Allowed_In_Streaming_Ingestion", true, "Transactional update policies are not allowed with streaming ingestion.", "Use queued ingestion or a non-transactional policy."),
    ("General_AbandonedIngestion", true, "The ingestion was abandoned.", "Resubmit."),
    ("BadRequest_MissingMappingFailure", true, "The format requires a mapping and none was given.", "Pass --mapping-ref."),
    ("Misc", true, "Unclassified error.", "Check details."),
}

/// Looks a code up by name (case-insensitive).
pub fn lookup(code: &str) -> Option<&'static ErrorCodeInfo> {
    let code = code.trim();
    CATALOGUE.iter().find(|c| c.name.eq_ignore_ascii_case(code))
}

/// Meaning, permanence and hint for any code, known or not.
pub fn describe(code: &str) -> ErrorCodeInfo {
    lookup(code).copied().unwrap_or(ErrorCodeInfo {
        name: "Unknown",
        meaning: "This error code is not in kingest's catalogue.",
        permanent: true,
        hint: "Read Details; check the Kusto docs for the code.",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_is_complete_and_unique() {
        assert!(CATALOGUE.len() >= 70);
        let mut names: Vec<_> = CATALOGUE.iter().map(|c| c.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), CATALOGUE.len());
        assert!(
            CATALOGUE
                .iter()
                .all(|c| !c.meaning.is_empty() && !c.hint.is_empty())
        );
    }

    #[test]
    fn lookup_by_name_and_permanence() {
        assert!(lookup("badrequest_emptyblob").unwrap().permanent);
        assert!(!lookup("General_ThrottledIngestion").unwrap().permanent);
        assert!(!lookup("Download_UnknownError").unwrap().permanent);
        assert!(lookup("Nope").is_none());
        assert_eq!(describe("Nope").name, "Unknown");
    }
}
