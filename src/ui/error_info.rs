//! What an ErrorCode means and what to do about it. A local adapter: when
//! `client::error_codes::lookup` lands, `lookup` here should delegate to it.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorInfo {
    pub name: &'static str,
    pub meaning: &'static str,
    pub permanent: bool,
    pub hint: &'static str,
}

const KNOWN: &[ErrorInfo] = &[
    ErrorInfo {
        name: "BadRequest_EmptyBlob",
        meaning: "the blob is empty",
        permanent: true,
        hint: "check the source file is not empty before submitting",
    },
    ErrorInfo {
        name: "BadRequest_InvalidBlob",
        meaning: "the blob cannot be read in the stated format",
        permanent: true,
        hint: "check the format and compression match the file",
    },
    ErrorInfo {
        name: "Stream_ClosingQuoteMissing",
        meaning: "a CSV field is missing its closing quote",
        permanent: true,
        hint: "fix the quoting in the source file",
    },
    ErrorInfo {
        name: "Stream_WrongNumberOfFields",
        meaning: "rows have inconsistent numbers of fields",
        permanent: true,
        hint: "fix the rows or use a mapping that tolerates them",
    },
    ErrorInfo {
        name: "BadRequest_EntityNotFound",
        meaning: "the database or table does not exist",
        permanent: true,
        hint: "create the table or fix the database/table names",
    },
    ErrorInfo {
        name: "Download_SourceNotFound",
        meaning: "the blob could not be found",
        permanent: true,
        hint: "the blob was deleted or its SAS expired; submit again",
    },
    ErrorInfo {
        name: "BadRequest_InvalidKustoIdentityToken",
        meaning: "the identity token in the message is invalid",
        permanent: true,
        hint: "refresh resources (r) and submit again",
    },
    ErrorInfo {
        name: "BadRequest_CorruptedMessage",
        meaning: "the ingestion message could not be decoded",
        permanent: true,
        hint: "the client sent a malformed message; report a bug",
    },
    ErrorInfo {
        name: "General_TransientSchemaMismatch",
        meaning: "the table schema changed during ingestion",
        permanent: false,
        hint: "usually retried automatically; resubmit if it persists",
    },
];

pub fn lookup(code: &str) -> Option<ErrorInfo> {
    let code = code.trim();
    KNOWN
        .iter()
        .find(|i| i.name.eq_ignore_ascii_case(code))
        .copied()
}
