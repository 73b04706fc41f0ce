//! The upload of one source to its blob, as two halves running at once: the reader (read,
//! hash, check, gzip in parallel on every core, cut into blocks) and the sender (Put Block
//! while the next blocks are read and compressed; Put Blob for a source that fits in one
//! block), joined by a channel of a few blocks so memory stays bounded.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine as _;
use bytes::Bytes;
use flate2::write::MultiGzDecoder;
use tokio::sync::mpsc;

use super::chunk::Input;
use super::gzip::{self, ParallelGzip};
#[cfg(debug_assertions)]
use super::stages::crash_point;
use super::{Progress, Snapshot, SubmitRequest, change_while_read, too_large};
use crate::client::error::{Error, Result};
use crate::client::storage::{SasUrl, Storage};
use crate::client::{IngestClient, ProgressFn};

/// Compressed bytes per Put Block; a source that fits in one goes up as a single Put Blob.
pub const BLOCK_SIZE: usize = 4 * 1024 * 1024;
/// Local bytes read per step of a source sent as it is.
const READ_CHUNK: usize = 256 * 1024;
/// Blocks the reader may have ready beyond the one being sent.
const BLOCKS_QUEUED: usize = 2;

/// How a source travels: gzipped by us, or as it is (binary formats, `.gz`, `.zip`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Encoding {
    Gzip,
    AsIs {
        gz: bool,
    },
    /// A zip, with its uncompressed size from the central directory when readable.
    Zip {
        raw: Option<u64>,
    },
}

/// What one upload did.
pub(super) struct Uploaded {
    /// Uncompressed size.
    pub(super) raw: u64,
    /// Bytes uploaded.
    pub(super) sent: u64,
    /// How the file changed while read (only when `allow_growing`).
    pub(super) changed: Option<String>,
    /// SHA-256 of the bytes read, when `dedupe`.
    pub(super) digest: Option<Vec<u8>>,
    /// Blocks a resumed upload found staged and did not send again.
    pub(super) reused: usize,
}

/// What the reader hands the sender, in order.
enum Part {
    Block(Bytes),
    /// The whole source, which fits in one block: one Put Blob.
    Whole(Bytes),
    /// Every block is handed over and the source passed its checks: commit the block list.
    Commit,
}

/// Progress shared by the two halves.
struct Counts<'a> {
    source_id: uuid::Uuid,
    total: u64,
    /// Bytes of the source before this chunk.
    base: u64,
    read: AtomicU64,
    sent: AtomicU64,
    progress: &'a ProgressFn,
}

impl Counts<'_> {
    fn report(&self) {
        (self.progress)(Progress {
            source_id: self.source_id,
            read: self.base + self.read.load(Ordering::Relaxed),
            sent: self.sent.load(Ordering::Relaxed),
            total: self.total,
        });
    }
}

/// What the reader found, once the sender has everything.
struct ReadOut {
    raw: u64,
    changed: Option<String>,
    digest: Option<Vec<u8>>,
}

/// What an upload reads and how its progress is told.
pub(super) struct Reading<'a> {
    pub(super) input: &'a mut Input,
    /// The file's size and mtime when the submit started (`None` for standard input).
    pub(super) start: Option<Snapshot>,
    pub(super) source_id: uuid::Uuid,
    pub(super) progress: &'a ProgressFn,
    /// Bytes sent by the chunks before this one (progress counts the whole source).
    pub(super) sent_before: u64,
}

/// Streams the input's current chunk to `blob`. At the end of the source, before the blob is
/// committed, the file's size and mtime are compared with `start`: a file that changed
/// meanwhile fails unless `allow_growing`.
pub(super) async fn upload(
    client: &IngestClient,
    req: &SubmitRequest,
    blob: &SasUrl,
    encoding: Encoding,
    reading: Reading<'_>,
) -> Result<Uploaded> {
    let Reading {
        input,
        start,
        source_id,
        progress,
        sent_before,
    } = reading;
    let counts = Counts {
        source_id,
        total: start.map_or(0, |s| s.len),
        base: input.served(),
        read: AtomicU64::new(0),
        sent: AtomicU64::new(sent_before),
        progress,
    };
    counts.report();
    let (tx, rx) = mpsc::channel(BLOCKS_QUEUED);
    let (read, reused) = tokio::join!(
        read_side(req, encoding, input, start, &counts, tx),
        send_side(client.storage(), req, blob, encoding, rx, &counts),
    );
    let read = match read {
        Ok(Some(r)) => r,
        // The sender stopped first: its error is the cause.
        Ok(None) => return Err(reused.err().unwrap_or_else(sender_gone)),
        Err(e) => return Err(e),
    };
    Ok(Uploaded {
        raw: read.raw,
        sent: counts.sent.load(Ordering::Relaxed) - sent_before,
        changed: read.changed,
        digest: read.digest,
        reused: reused?,
    })
}

fn sender_gone() -> Error {
    Error::Io(std::io::Error::other(
        "the upload stopped before the source was sent",
    ))
}

/// Reads, checks and (for [`Encoding::Gzip`]) compresses the chunk, handing blocks to the
/// sender; `None` when the sender stopped (its error says why).
async fn read_side(
    req: &SubmitRequest,
    encoding: Encoding,
    file: &mut Input,
    start: Option<Snapshot>,
    counts: &Counts<'_>,
    tx: mpsc::Sender<Part>,
) -> Result<Option<ReadOut>> {
    let mut changed = None;
    let mut hasher = req.dedupe.then(<sha2::Sha256 as sha2::Digest>::new);
    let mut gz = match encoding {
        Encoding::Gzip => Some(ParallelGzip::with_workers(
            req.compress_threads,
            gzip::LEVEL,
        )?),
        _ => None,
    };
    let mut gunzip =
        (encoding == Encoding::AsIs { gz: true }).then(|| MultiGzDecoder::new(Counter::default()));
    let zip = match encoding {
        Encoding::Zip { raw } => Some(raw),
        _ => None,
    };
    // Whole gzip pieces, so the stream depends only on the file's bytes (see `gzip`).
    let chunk_len = if gz.is_some() {
        gzip::BLOCK
    } else {
        READ_CHUNK
    };
    let mut blocks = Blocks {
        pending: Vec::new(),
        handed: 0,
        tx,
    };
    let limit = req.effective_size_limit();
    let mut read = 0u64;
    let mut chunk = vec![0u8; chunk_len];
    loop {
        let n = file.fill(&mut chunk).await?;
        // `fill` stops short only at the end of the chunk.
        let eof = n < chunk_len;
        read += n as u64;
        counts.read.store(read, Ordering::Relaxed);
        if let Some(h) = hasher.as_mut() {
            sha2::Digest::update(h, &chunk[..n]);
        }
        if let Some(gz) = gz.as_mut() {
            let next = if eof {
                Vec::new()
            } else {
                vec![0u8; chunk_len]
            };
            let mut piece = std::mem::replace(&mut chunk, next);
            piece.truncate(n);
            gz.push(piece, eof)?;
            // Take output once every worker has a piece, and all of it at the end; full
            // blocks go to the sender as they fill, while the workers go on.
            while gz.in_flight() >= gz.window() || (eof && gz.in_flight() > 0) {
                if let Some(out) = gz.next().await {
                    blocks.pending.extend_from_slice(&out?);
                }
                if !blocks.hand_full().await {
                    return Ok(None);
                }
            }
        } else {
            if let Some(dec) = gunzip.as_mut() {
                let bad = |e: std::io::Error| {
                    Error::Usage(format!("'{}' is not valid gzip: {e}", req.path.display()))
                };
                dec.write_all(&chunk[..n]).map_err(bad)?;
                // Decode the tail now, so the size check below sees it before the commit.
                if eof {
                    dec.try_finish().map_err(bad)?;
                }
            }
            blocks.pending.extend_from_slice(&chunk[..n]);
        }
        // Uncompressed bytes so far: decoded for a `.gz`, read for plain sources (a file
        // that grew since it was measured, or a stream). A `.zip` was checked up front.
        let so_far = match &gunzip {
            Some(dec) => Some(dec.get_ref().0),
            None if zip.is_some() => None,
            None => Some(read),
        };
        if let (Some(limit), Some(n)) = (limit, so_far)
            && n > limit
        {
            // Uncommitted blocks are never listed, and Azure drops them after a week.
            return Err(too_large(&req.path, None, limit));
        }
        if let (true, Some(start), Some(f)) = (file.at_source_end(), start, file.file()) {
            let now = Snapshot::of(&f.metadata().await?);
            if let Some(what) = change_while_read(start, now, file.served()) {
                if !req.allow_growing {
                    return Err(Error::Usage(format!(
                        "'{}' changed while it was read ({what}): not sent, its last record \
                         may be torn; submit it again once it is complete, or pass \
                         --allow-growing to send what was read",
                        req.path.display()
                    )));
                }
                changed = Some(what);
            }
        }
        if eof {
            if !blocks.finish().await {
                return Ok(None);
            }
            break;
        }
        if !blocks.hand_full().await {
            return Ok(None);
        }
        counts.report();
    }
    let raw = match gunzip {
        Some(dec) => {
            dec.finish()
                .map_err(|e| {
                    Error::Usage(format!("'{}' is not valid gzip: {e}", req.path.display()))
                })?
                .0
        }
        None => match zip {
            Some(raw) => raw.unwrap_or(read),
            None => read,
        },
    };
    Ok(Some(ReadOut {
        raw,
        changed,
        digest: hasher.map(|h| sha2::Digest::finalize(h).to_vec()),
    }))
}

/// The bytes to upload, cut into [`BLOCK_SIZE`] blocks at fixed offsets of the stream.
struct Blocks {
    pending: Vec<u8>,
    handed: usize,
    tx: mpsc::Sender<Part>,
}

impl Blocks {
    /// Hands over every full block that has bytes after it (so whether a source goes up as
    /// one Put Blob depends only on its size); `false` when the sender is gone.
    async fn hand_full(&mut self) -> bool {
        while self.pending.len() > BLOCK_SIZE {
            let rest = self.pending.split_off(BLOCK_SIZE);
            let block = std::mem::replace(&mut self.pending, rest);
            if !self.hand(Part::Block(Bytes::from(block))).await {
                return false;
            }
        }
        true
    }

    /// The end of a checked source: the rest, then the commit (or the whole source at once).
    async fn finish(&mut self) -> bool {
        let rest = Bytes::from(std::mem::take(&mut self.pending));
        if self.handed == 0 && rest.len() <= BLOCK_SIZE {
            return self.hand(Part::Whole(rest)).await;
        }
        for block in rest.chunks(BLOCK_SIZE) {
            if !self.hand(Part::Block(rest.slice_ref(block))).await {
                return false;
            }
        }
        self.hand(Part::Commit).await
    }

    async fn hand(&mut self, part: Part) -> bool {
        self.handed += 1;
        self.tx.send(part).await.is_ok()
    }
}

/// Sends what the reader hands over; commits only on [`Part::Commit`] (a reader that stopped
/// leaves its blocks uncommitted). Returns the blocks a resumed upload found staged.
async fn send_side(
    storage: &Storage,
    req: &SubmitRequest,
    blob: &SasUrl,
    encoding: Encoding,
    mut rx: mpsc::Receiver<Part>,
    counts: &Counts<'_>,
) -> Result<usize> {
    let mut blocks: Vec<String> = Vec::new();
    let mut reused = 0;
    while let Some(part) = rx.recv().await {
        match part {
            Part::Block(body) => {
                let id = block_id(encoding, blocks.len());
                // The same bytes give the same blocks: a block an interrupted upload left
                // staged with this id and size need not be sent again.
                let staged = req.resume.as_ref().is_some_and(|r| {
                    r.staged
                        .iter()
                        .any(|(s, n)| *s == id && *n == body.len() as u64)
                });
                let len = body.len() as u64;
                if staged {
                    reused += 1;
                } else {
                    storage.put_block(blob, &id, body).await?;
                }
                blocks.push(id);
                #[cfg(debug_assertions)]
                crash_point(&format!("block:{}", blocks.len()));
                counts.sent.fetch_add(len, Ordering::Relaxed);
            }
            Part::Whole(body) => {
                let len = body.len() as u64;
                storage.put_blob(blob, body, None).await?;
                counts.sent.fetch_add(len, Ordering::Relaxed);
            }
            Part::Commit => storage.put_block_list(blob, &blocks, None).await?,
        }
        counts.report();
    }
    Ok(reused)
}

/// The base64 id of block `index`. Blocks of our gzip stream carry the compressor's mark, so
/// an upload interrupted under another compressor (other level or piece size: other bytes
/// at the same offsets) never has its staged blocks taken for ours; every id has the same
/// length, as Azure requires of one blob's blocks.
fn block_id(encoding: Encoding, index: usize) -> String {
    // "gzl2p": gzip level 2, in 1 MiB parallel pieces. Change it with either.
    const _: () = assert!(gzip::LEVEL == 2 && gzip::BLOCK == 1024 * 1024);
    let prefix = match encoding {
        Encoding::Gzip => "gzl2p",
        _ => "block",
    };
    base64::engine::general_purpose::STANDARD.encode(format!("{prefix}-{index:08}"))
}

/// Counts bytes written through a decoder: the exact uncompressed size of a `.gz` source.
#[derive(Default)]
struct Counter(u64);
impl Write for Counter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0 += b.len() as u64;
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Sum of the entries' uncompressed sizes from the zip's central directory.
pub(crate) fn zip_uncompressed_size(path: &std::path::Path) -> Option<u64> {
    let f = std::fs::File::open(path).ok()?;
    let mut z = zip::ZipArchive::new(f).ok()?;
    let mut total = 0;
    for i in 0..z.len() {
        total += z.by_index_raw(i).ok()?.size();
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_block_id_of_a_blob_has_the_same_length() {
        let ids: Vec<String> = [Encoding::Gzip, Encoding::AsIs { gz: true }]
            .iter()
            .flat_map(|&e| [block_id(e, 0), block_id(e, 99_999_999)])
            .collect();
        assert!(ids.iter().all(|i| i.len() == ids[0].len()), "{ids:?}");
        assert_ne!(ids[0], ids[2], "gzip blocks carry the compressor's mark");
    }
}
