//! Streaming ingestion: one `POST {engine}/v1/rest/ingest/{db}/{table}?streamFormat=F
//! [&mappingName=M]` whose body is the data, gzipped unless it already is or its format is
//! binary (DOCS `kusto/api/rest/streaming-ingest.md`; clients never compress binary formats:
//! PY `data_format.py` compressible flags, JAVA v2 `FormatUtil.isBinaryFormat`). The engine
//! ingests it at once and answers how many records it consumed, so the source is final when
//! the call returns.
//!
//! Only the format and a pre-created mapping travel with the request: inline mappings, tags
//! and the other ingestion properties are not available for streaming (DOCS
//! `ingest-data-streaming.md`, "Limitations"), so a request asking for them is refused here
//! rather than silently dropping them.

use std::io::Read as _;

use crate::client::error::{Error, Result};
use crate::client::submit::{self, Delivery, Progress, SubmitRequest, Submitted};
use crate::client::tracking::Answer;
use crate::client::wire::DataFormat;
use crate::client::{IngestClient, ProgressFn, deadline, mgmt, storage};

/// The documented limit per request, "4 MB" (DOCS `ingest-data-streaming.md`, "Limitations").
/// The docs do not say whether it is measured before or after compression; kingest measures
/// the uncompressed data, the stricter reading (the Java SDK's constant is named "max
/// streaming uncompressed raw size", `ManagedStreamingQueuingPolicy.java`), so what it sends
/// fits whichever the service applies.
pub const STREAMING_LIMIT: u64 = 4 * 1024 * 1024;

/// What a streaming request carries.
#[derive(Debug)]
pub(crate) struct Payload {
    pub(crate) format: DataFormat,
    pub(crate) body: Vec<u8>,
    /// The body is gzip (compressed here, or a `.gz` file as it is).
    pub(crate) gzip: bool,
    /// Uncompressed bytes.
    pub(crate) raw: u64,
}

/// A source read for streaming, or why it cannot be streamed.
#[derive(Debug)]
pub(crate) enum Prepared {
    Fits(Payload),
    /// Over [`STREAMING_LIMIT`] uncompressed; the size when known (a `.gz` stops decoding at
    /// the limit).
    TooLarge(Option<u64>),
}

/// Why `req` cannot be streamed at all (properties streaming does not carry), if it cannot.
pub fn unstreamable(req: &SubmitRequest) -> Option<String> {
    let mut asked = Vec::new();
    if req.mapping.is_some() {
        asked.push("an inline mapping (create it on the table and pass --mapping-ref)");
    }
    if !req.tags.is_empty() {
        asked.push("tags");
    }
    if req.if_not_exists() {
        asked.push("ingest-if-not-exists / --dedupe");
    }
    if req.ignore_first_record {
        asked.push("--ignore-first-record");
    }
    if req.creation_time.is_some() {
        asked.push("--creation-time");
    }
    if !req.extra_properties.is_empty() {
        asked.push("extra ingestion properties");
    }
    (!asked.is_empty()).then(|| {
        format!(
            "streaming ingestion carries only the format and a mapping reference, not {}",
            asked.join(", ")
        )
    })
}

/// The size message of a source over the limit.
pub(crate) fn too_large_text(size: Option<u64>) -> String {
    match size {
        Some(n) => {
            format!("{n} bytes uncompressed is over the {STREAMING_LIMIT}-byte streaming limit")
        }
        None => format!("it decodes to more than the {STREAMING_LIMIT}-byte streaming limit"),
    }
}

/// Reads `req`'s file for streaming: at most the limit is held in memory.
pub(crate) async fn prepare(req: &SubmitRequest) -> Result<Prepared> {
    let src = submit::source(req).await?;
    let len = src.meta.len();
    let lower = src.path_text.to_ascii_lowercase();
    let format = src.format;
    let (gz, zip) = (lower.ends_with(".gz"), lower.ends_with(".zip"));
    // A compressed file is smaller than its data in all practical cases: one larger than the
    // limit on disk is not read.
    if len > STREAMING_LIMIT {
        // The size on disk is the data's size only for an uncompressed file.
        return Ok(Prepared::TooLarge((!gz && !zip).then_some(len)));
    }
    let path = req.path.clone();
    let threads = req.compress_threads;
    let read = tokio::task::spawn_blocking(move || -> std::io::Result<Prepared> {
        let file = std::fs::File::open(&path)?;
        let mut body = Vec::new();
        file.take(STREAMING_LIMIT + 1).read_to_end(&mut body)?;
        if gz {
            let mut dec = flate2::read::MultiGzDecoder::new(&body[..]).take(STREAMING_LIMIT + 1);
            let decoded = std::io::copy(&mut dec, &mut std::io::sink())?;
            if decoded > STREAMING_LIMIT {
                return Ok(Prepared::TooLarge(None));
            }
            return Ok(Prepared::Fits(Payload {
                format,
                body,
                gzip: true,
                raw: decoded,
            }));
        }
        if zip {
            let raw = submit::zip_uncompressed_size(&path).unwrap_or(body.len() as u64);
            if raw > STREAMING_LIMIT {
                return Ok(Prepared::TooLarge(Some(raw)));
            }
            return Ok(Prepared::Fits(Payload {
                format,
                body,
                gzip: false,
                raw,
            }));
        }
        let raw = body.len() as u64;
        if raw > STREAMING_LIMIT {
            return Ok(Prepared::TooLarge(Some(raw)));
        }
        if !format.is_compressible() {
            return Ok(Prepared::Fits(Payload {
                format,
                body,
                gzip: false,
                raw,
            }));
        }
        let workers = threads.unwrap_or(1).max(1);
        let gzipped = submit::gzip::compress(&body, workers, submit::gzip::LEVEL)?;
        Ok(Prepared::Fits(Payload {
            format,
            body: gzipped,
            gzip: true,
            raw,
        }))
    })
    .await
    .map_err(|e| Error::Internal(format!("reading the file stopped: {e}")))?;
    read.map_err(|e| Error::Usage(format!("cannot read '{}': {e}", src.path_text)))
}

/// The request URL: the engine, the database and table as path segments, the format as the
/// service names it.
pub fn url(
    engine: &str,
    database: &str,
    table: &str,
    format: DataFormat,
    mapping: Option<&str>,
) -> String {
    let mut u = format!(
        "{}/v1/rest/ingest/{}/{}?streamFormat={}",
        engine.trim_end_matches('/'),
        encode(database),
        encode(table),
        format.wire_name()
    );
    if let Some(m) = mapping {
        u.push_str("&mappingName=");
        u.push_str(&encode(m));
    }
    u
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// One streaming request; the records the engine consumed. Sent once: a request that timed
/// out or lost its answer may have been applied (the managed mode decides about retries).
pub(crate) async fn send(
    client: &IngestClient,
    req: &SubmitRequest,
    payload: &Payload,
) -> Result<u64> {
    let engine = client.engine_url();
    let url = url(
        &engine,
        &req.database,
        &req.table,
        payload.format,
        req.mapping_reference.as_deref(),
    );
    let dl = deadline::Deadline::new(
        &url,
        deadline::RequestKind::IngestCommand,
        client.timeouts(),
    );
    let transport = |e| storage::http::transport_error(e, Some(&dl));
    let mut post = client
        .kusto_post(&url, "KIngest.executeStreamingIngest", dl.limit)
        .await?
        .header("Content-Type", "application/octet-stream")
        .body(payload.body.clone());
    if payload.gzip {
        post = post.header("Content-Encoding", "gzip");
    }
    let resp = post.send().await.map_err(transport)?;
    let status = resp.status().as_u16();
    let retry_after = storage::http::retry_after(resp.headers(), std::time::SystemTime::now());
    let bytes = resp.bytes().await.map_err(transport)?;
    if !(200..300).contains(&status) {
        return Err(client.error_answer(status, retry_after, &bytes).await);
    }
    let tables = mgmt::parse_response(&bytes)?;
    let t = mgmt::primary(tables, "streaming ingestion")?;
    Ok(consumed(&t))
}

/// `ConsumedRecordsCount` of the answer (0 when absent: GO and NODE ignore the body).
fn consumed(t: &mgmt::V1Table) -> u64 {
    t.column("ConsumedRecordsCount")
        .next()
        .flatten()
        .and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()))
        .unwrap_or(0)
}

/// The submit of a streamed source: final with the engine's answer. A refusal of the service
/// it marks permanent (bad data, the policy off, too large) is the source's answer, Failed
/// with the service's code; anything else is an error of the submit.
pub(crate) fn submitted(
    req: &SubmitRequest,
    source_id: uuid::Uuid,
    payload: &Payload,
    result: Result<u64>,
) -> Result<Submitted> {
    let (answer, consumed_records) = match result {
        Ok(n) => (Answer::succeeded(), n),
        Err(Error::Service {
            code,
            message,
            permanent: true,
            ..
        }) => (Answer::failed(&code, true, &message), 0),
        Err(e) => return Err(e),
    };
    Ok(Submitted {
        source_id,
        format: payload.format,
        raw_data_size: payload.raw,
        uploaded_bytes: payload.body.len() as u64,
        changed_while_read: None,
        mode: req.mode,
        fallback: None,
        answer: Some(answer),
        delivery: Delivery::Streamed { consumed_records },
        chunk: None,
        requests: Default::default(),
        tag: None,
    })
}

/// `--mode streaming`: refuses what cannot be streamed or is over the limit, else one
/// request.
pub(crate) async fn stream(
    client: &IngestClient,
    req: &SubmitRequest,
    progress: &ProgressFn,
) -> Result<Submitted> {
    if let Some(why) = unstreamable(req) {
        return Err(Error::Usage(format!("{why}: use --mode queued or managed")));
    }
    let source_id = req.source_id.unwrap_or_else(uuid::Uuid::new_v4);
    let payload = match prepare(req).await? {
        Prepared::Fits(p) => p,
        Prepared::TooLarge(size) => {
            return Err(Error::Usage(format!(
                "'{}' cannot be streamed: {}; use --mode queued, or managed (which queues what is too large)",
                req.path.display(),
                too_large_text(size)
            )));
        }
    };
    report(progress, source_id, &payload);
    let result = send(client, req, &payload).await;
    submitted(req, source_id, &payload, result)
}

/// Streaming reads the whole (small) file before it sends: one progress report.
pub(crate) fn report(progress: &ProgressFn, source_id: uuid::Uuid, payload: &Payload) {
    progress(Progress {
        source_id,
        read: payload.raw,
        sent: payload.body.len() as u64,
        total: payload.raw,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_names_the_engine_table_and_format() {
        assert_eq!(
            url(
                "http://127.0.0.1:1/",
                "demo",
                "Events",
                DataFormat::Csv,
                None
            ),
            "http://127.0.0.1:1/v1/rest/ingest/demo/Events?streamFormat=csv"
        );
        assert_eq!(
            url(
                "https://c.kusto.windows.net",
                "my db",
                "T/1",
                DataFormat::MultiJson,
                Some("m 1")
            ),
            "https://c.kusto.windows.net/v1/rest/ingest/my%20db/T%2F1?streamFormat=multijson&mappingName=m%201"
        );
    }

    #[test]
    fn properties_streaming_cannot_carry_are_named() {
        let mut r = SubmitRequest::new("x.csv", "db", "T");
        assert_eq!(unstreamable(&r), None);
        r.mapping_reference = Some("M".into());
        assert_eq!(unstreamable(&r), None);
        r.tags = vec!["a".into()];
        r.ignore_first_record = true;
        let why = unstreamable(&r).unwrap();
        assert!(
            why.contains("tags") && why.contains("--ignore-first-record"),
            "{why}"
        );
    }

    #[test]
    fn consumed_count_in_any_json_type() {
        let mut t = mgmt::V1Table::new("Table_0", &[("ConsumedRecordsCount", "long")]);
        assert_eq!(consumed(&t), 0);
        t.rows.push(vec![7.into()]);
        assert_eq!(consumed(&t), 7);
        t.rows[0][0] = "9".into();
        assert_eq!(consumed(&t), 9);
    }
}
