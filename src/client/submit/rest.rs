//! `--mode rest-queued`: the DM's REST queued-ingestion API instead of the storage queues.
//! The configuration names the upload containers; the file goes up through the same upload
//! stage as a queued source (an existing blob is not uploaded); one POST names the blob with
//! the request's properties, and the answer's operation id is what tracking polls.

use super::blob::{BlobSource, known_raw_size};
use super::{
    Delivery, Stages, SubmitRequest, Submitted, UploadTo, UploadedChunk, Uploads, dedupe_value,
    normalize_creation_time, origin, upload_source, validate,
};
use crate::client::error::{Error, Result};
use crate::client::rest_queued::{BlobEntry, PostRequest, Properties};
use crate::client::wire::{DataFormat, ReportLevel};
use crate::client::{IngestClient, ProgressFn};

/// The POST's properties for `req`. Tracking is asked whenever the request reports at all:
/// the operation's status is the only way this path learns an outcome.
pub fn properties(req: &SubmitRequest, format: DataFormat, dedupe: Option<&str>) -> Properties {
    let mut tags = req.tags.clone();
    let mut if_not_exists = req.ingest_if_not_exists.clone();
    if let Some(v) = dedupe {
        tags.push(format!("ingest-by:{v}"));
        if_not_exists.push(v.to_string());
    }
    Properties {
        format: format.wire_name(),
        enable_tracking: req.report_level != ReportLevel::None,
        tags,
        ingest_if_not_exists: if_not_exists,
        skip_batching: req.flush_immediately,
        delete_after_download: !req.retain_blob_on_success,
        mapping_reference: req.mapping_reference.clone(),
        mapping: req.mapping.clone(),
        ignore_size_limit: req.ignore_size_limit,
        ignore_first_record: req.ignore_first_record,
        // `validate` refused what does not normalise.
        creation_time: req
            .creation_time
            .as_deref()
            .and_then(|t| normalize_creation_time(t).ok()),
        other: req.extra_properties.clone(),
    }
}

/// Several existing blobs of the same target and options, posted `max` to a call (the
/// configuration's `maxBlobsPerBatch`): each answer (or error) per source, in order.
pub(crate) async fn submit_blobs(
    client: &IngestClient,
    reqs: Vec<SubmitRequest>,
) -> Vec<Result<Submitted>> {
    let config = match client.rest_configuration().await {
        Ok(c) => c,
        Err(e) => return reqs.iter().map(|_| Err(e.clone())).collect(),
    };
    let mut out = Vec::with_capacity(reqs.len());
    for chunk in reqs.chunks(config.max_blobs_per_batch.max(1)) {
        let mut ready = Vec::new();
        for req in chunk {
            ready.push(prepare_blob(client, req).await);
        }
        // One format per POST (its properties apply to every blob of it).
        let mut formats: Vec<DataFormat> = Vec::new();
        for p in ready.iter().flatten() {
            if !formats.contains(&p.format) {
                formats.push(p.format);
            }
        }
        let mut answers = Vec::new();
        for format in formats {
            let blobs: Vec<BlobEntry> = ready
                .iter()
                .flatten()
                .filter(|p| p.format == format)
                .map(|p| p.entry.clone())
                .collect();
            let req = PostRequest {
                timestamp: Some(chrono::Utc::now()),
                blobs,
                properties: properties(&chunk[0], format, None),
            };
            let answer = client
                .rest_post(&chunk[0].database, &chunk[0].table, &req)
                .await;
            answers.push((format, answer));
        }
        for (req, r) in chunk.iter().zip(ready) {
            out.push(
                r.and_then(|p| match answers.iter().find(|(f, _)| *f == p.format) {
                    Some((_, Ok(op))) => Ok(p.submitted(req, op.clone())),
                    Some((_, Err(e))) => Err(e.clone()),
                    None => Err(Error::Internal("a blob was prepared but not posted".into())),
                }),
            );
        }
    }
    out
}

/// A source ready to be named in a POST.
struct Prepared {
    entry: BlobEntry,
    format: DataFormat,
    raw: u64,
    uploaded: u64,
    changed: Option<String>,
}

impl Prepared {
    fn submitted(&self, req: &SubmitRequest, operation_id: String) -> Submitted {
        Submitted {
            source_id: self.entry.source_id.unwrap_or_default(),
            format: self.format,
            raw_data_size: self.raw,
            uploaded_bytes: self.uploaded,
            changed_while_read: self.changed.clone(),
            mode: req.mode,
            fallback: None,
            answer: None,
            delivery: Delivery::RestQueued {
                operation_id,
                database: req.database.clone(),
                table: req.table.clone(),
            },
            chunk: None,
            requests: Default::default(),
            tag: None,
        }
    }
}

async fn prepare_blob(client: &IngestClient, req: &SubmitRequest) -> Result<Prepared> {
    validate(req)?;
    let source = req
        .blob
        .as_ref()
        .ok_or_else(|| Error::Internal("submit_blobs takes blob sources only".into()))?;
    let (format, raw) = blob_facts(client, req, source).await?;
    Ok(Prepared {
        entry: BlobEntry {
            url: source.url.clone(),
            source_id: Some(req.source_id.unwrap_or_else(uuid::Uuid::new_v4)),
            raw_size: raw,
        },
        format,
        raw: raw.unwrap_or(0),
        uploaded: 0,
        changed: None,
    })
}

async fn blob_facts(
    client: &IngestClient,
    req: &SubmitRequest,
    source: &BlobSource,
) -> Result<(DataFormat, Option<u64>)> {
    let format = super::blob::format_of(req, source)?;
    let raw = known_raw_size(client, req, source).await?;
    Ok((format, raw))
}

/// One source (a file, uploaded first; or an existing blob) through the REST queued API.
pub(crate) async fn submit(
    client: &IngestClient,
    mut req: SubmitRequest,
    progress: ProgressFn,
) -> Result<Submitted> {
    validate(&req)?;
    // One blob per source here: splitting is the queued mode's (`submit_chunks`).
    req.chunk_size = None;
    if req.blob.is_some() {
        let mut all = submit_blobs(client, vec![req]).await;
        return all
            .pop()
            .unwrap_or_else(|| Err(Error::Internal("no answer for the blob".into())));
    }
    // The file's own checks come before any request.
    origin(&req).await?;
    let config = client.rest_configuration().await?;
    if config.containers.is_empty() {
        return Err(Error::MissingResource(
            "the REST queued API's configuration offers no upload container".into(),
        ));
    }
    let containers = client.ranked(config.containers.iter());
    let mut stages = Stages::default();
    let result = async {
        let Uploads {
            source_id,
            format,
            mut chunks,
            ..
        } = upload_source(
            client,
            &req,
            &progress,
            &mut stages,
            UploadTo::Containers(containers),
        )
        .await?;
        let UploadedChunk { blob, done: up } = chunks
            .pop()
            .ok_or_else(|| Error::Internal("nothing was uploaded".into()))?;
        let dedupe = up.digest.as_deref().map(dedupe_value);
        let post = PostRequest {
            timestamp: Some(chrono::Utc::now()),
            blobs: vec![BlobEntry {
                url: blob,
                source_id: Some(source_id),
                raw_size: Some(up.raw),
            }],
            properties: properties(&req, format, dedupe.as_deref()),
        };
        stages.mark(crate::client::journal::Stage::Posting, &post.blobs[0].url);
        let operation_id = client.rest_post(&req.database, &req.table, &post).await?;
        stages.written = None;
        let p = Prepared {
            entry: post.blobs[0].clone(),
            format,
            raw: up.raw,
            uploaded: up.sent,
            changed: up.changed,
        };
        Ok(p.submitted(&req, operation_id))
    }
    .await;
    if let Err(e) = &result {
        stages.abandon(&format!("the submit failed after its upload started: {e}"));
    }
    result
}
