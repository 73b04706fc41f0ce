//! Parallel gzip (as pigz does it): the source is cut into [`BLOCK`]-sized pieces, each
//! raw-deflated on a worker thread with the previous 32 KiB of input as its dictionary and
//! ended with a sync flush (the last one with finish), so the pieces concatenate into one
//! deflate stream: ONE gzip member (one header, one trailer) that single-member readers
//! (Python's `zlib.decompressobj(31)`, `flate2::read::GzDecoder`) decode whole. The CRC-32s
//! of the pieces are combined in order.
//!
//! The output depends only on the input bytes, the level and [`BLOCK`] (not on the number of
//! workers or timing): an interrupted upload is resumed by sending only the blocks storage
//! lacks, which must come out the same again.

use std::collections::VecDeque;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use flate2::{Compress, Compression, FlushCompress, Status};
use tokio::sync::oneshot;

/// Most compressing threads a writer starts, whatever it is asked for.
pub const MAX_WORKERS: usize = 256;

/// Uncompressed bytes per piece. Each piece re-primes a 32 KiB dictionary, so smaller pieces
/// cost more; 1 MiB keeps that under ~3 % and the in-flight window small.
pub const BLOCK: usize = 1024 * 1024;
/// The deflate window: the bytes of the previous piece each piece may refer back to.
const WINDOW: usize = 32 * 1024;
/// zlib-rs level 2 (its `deflate_fast`): about twice GNU `gzip -1`'s speed per core with
/// output a little smaller than it. Level 1 (`deflate_quick`, static Huffman codes only) is
/// faster still but its output is ~1.27× gzip -1's on log-like CSV (measured for issue 8).
pub const LEVEL: u32 = 2;
/// Pieces queued per worker beyond the one it compresses, so a worker never waits for input.
const QUEUED_PER_WORKER: usize = 2;

/// The fixed 10-byte gzip header (RFC 1952 §2.3): deflate, no flags, no mtime (so equal input
/// gives equal output), OS "unknown".
const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

/// One compressed piece: the raw deflate bytes, and the CRC-32 of its input.
struct Piece {
    deflate: Vec<u8>,
    crc: crc32fast::Hasher,
}

struct Job {
    /// The last [`WINDOW`] bytes of the previous piece (empty for the first).
    dictionary: Vec<u8>,
    input: Vec<u8>,
    last: bool,
    done: oneshot::Sender<std::io::Result<Piece>>,
}

/// A gzip member compressed in parallel: [`push`](Self::push) pieces of input in order
/// ([`BLOCK`] bytes each but the last), take the compressed output in the same order with
/// [`next`](Self::next). At most [`ParallelGzip::window`] pieces are in flight: memory stays
/// bounded whatever the input size.
pub struct ParallelGzip {
    /// Closed on drop, which ends the (detached) workers.
    jobs: Option<mpsc::Sender<Job>>,
    pending: VecDeque<oneshot::Receiver<std::io::Result<Piece>>>,
    /// The tail of the input pushed last: the next piece's dictionary.
    tail: Vec<u8>,
    crc: crc32fast::Hasher,
    header_sent: bool,
    pushed_last: bool,
    window: usize,
}

impl ParallelGzip {
    /// `workers` compressing threads (1 to [`MAX_WORKERS`]) at zlib `level`.
    pub fn new(workers: usize, level: u32) -> std::io::Result<Self> {
        // Memory in flight grows with the workers (a few pieces each): a library caller's
        // count is bounded as the CLI's `--compress-threads` is.
        let workers = workers.clamp(1, MAX_WORKERS);
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..workers {
            let rx = Arc::clone(&rx);
            std::thread::Builder::new()
                .name(format!("kingest-gzip-{i}"))
                .spawn(move || work(&rx, level))?;
        }
        Ok(ParallelGzip {
            jobs: Some(tx),
            pending: VecDeque::new(),
            tail: Vec::new(),
            crc: crc32fast::Hasher::new(),
            header_sent: false,
            pushed_last: false,
            window: workers * (1 + QUEUED_PER_WORKER),
        })
    }

    /// `workers`, or one per available core.
    pub fn with_workers(workers: Option<usize>, level: u32) -> std::io::Result<Self> {
        let cores = || std::thread::available_parallelism().map_or(1, usize::from);
        Self::new(workers.unwrap_or_else(cores), level)
    }

    /// Pieces to keep in flight to keep every worker busy; [`push`](Self::push) more only
    /// after taking output.
    pub fn window(&self) -> usize {
        self.window
    }

    /// Pieces pushed whose output was not taken yet.
    pub fn in_flight(&self) -> usize {
        self.pending.len()
    }

    /// Queues the next piece of input; `last` ends the member (an empty last piece is fine).
    /// Every piece but the last must be [`BLOCK`] bytes: the output may depend only on the
    /// input bytes, not on how they were read.
    pub fn push(&mut self, input: Vec<u8>, last: bool) -> std::io::Result<()> {
        if self.pushed_last {
            return Err(std::io::Error::other("gzip member already finished"));
        }
        if !last && input.len() != BLOCK {
            return Err(std::io::Error::other(format!(
                "a gzip piece but the last must be {BLOCK} bytes, not {}",
                input.len()
            )));
        }
        let dictionary = std::mem::replace(
            &mut self.tail,
            input[input.len().saturating_sub(WINDOW)..].to_vec(),
        );
        let (done, answer) = oneshot::channel();
        let job = Job {
            dictionary,
            input,
            last,
            done,
        };
        self.jobs
            .as_ref()
            .and_then(|j| j.send(job).ok())
            .ok_or_else(|| std::io::Error::other("the gzip workers are gone"))?;
        self.pending.push_back(answer);
        self.pushed_last = last;
        Ok(())
    }

    /// The output of the oldest piece in flight (the header before the first, the trailer
    /// after the last); `None` when nothing is in flight.
    pub async fn next(&mut self) -> Option<std::io::Result<Vec<u8>>> {
        let answer = self.pending.pop_front()?;
        let piece = answer.await;
        Some(self.emit(piece.ok()))
    }

    /// [`next`](Self::next), blocking the calling thread (for synchronous callers; inside an
    /// async runtime, use `next` or a blocking task).
    pub fn next_blocking(&mut self) -> Option<std::io::Result<Vec<u8>>> {
        let answer = self.pending.pop_front()?;
        let piece = futures::executor::block_on(answer);
        Some(self.emit(piece.ok()))
    }

    fn emit(&mut self, piece: Option<std::io::Result<Piece>>) -> std::io::Result<Vec<u8>> {
        let piece = piece.ok_or_else(|| std::io::Error::other("a gzip worker stopped"))??;
        self.crc.combine(&piece.crc);
        let mut out = piece.deflate;
        if !self.header_sent {
            self.header_sent = true;
            out.splice(0..0, HEADER);
        }
        if self.pushed_last && self.pending.is_empty() {
            // RFC 1952 §2.3.1: CRC-32 then ISIZE (the input size modulo 2^32), little-endian.
            let crc = self.crc.clone();
            let size = crc.total_len();
            out.extend_from_slice(&crc.finalize().to_le_bytes());
            out.extend_from_slice(&((size & 0xffff_ffff) as u32).to_le_bytes());
        }
        Ok(out)
    }
}

impl Drop for ParallelGzip {
    fn drop(&mut self) {
        // Dropping the answers tells the workers to skip the pieces still queued, and closing
        // the queue ends them once they finish the piece at hand. They are not joined: this
        // runs on an async worker when an upload fails or is cancelled, and joining would
        // block it for a piece's compression.
        self.pending.clear();
        self.jobs = None;
    }
}

fn work(jobs: &Mutex<mpsc::Receiver<Job>>, level: u32) {
    loop {
        let job = match jobs.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        if job.done.is_closed() {
            continue;
        }
        // A fresh compressor per piece: one reused through `reset` kept enough state from its
        // previous piece to change a few bytes of output (1 GiB: 13 bytes between one worker
        // and two), and the output must depend on the input alone.
        let mut deflate = Compress::new(Compression::new(level), false);
        let piece = compress_piece(&mut deflate, &job.dictionary, &job.input, job.last);
        // The receiver is gone when the upload stopped: nothing left to do with the piece.
        let _ = job.done.send(piece);
    }
}

/// Raw deflate of `input` primed with `dictionary`, ended with a sync flush (byte-aligned,
/// not final) or, for the `last` piece, with the final block.
fn compress_piece(
    deflate: &mut Compress,
    dictionary: &[u8],
    input: &[u8],
    last: bool,
) -> std::io::Result<Piece> {
    if !dictionary.is_empty() {
        deflate
            .set_dictionary(dictionary)
            .map_err(std::io::Error::other)?;
    }
    let flush = if last {
        FlushCompress::Finish
    } else {
        FlushCompress::Sync
    };
    // Enough for incompressible input (stored blocks) in one call; grown if not.
    let mut out = Vec::with_capacity(input.len() + input.len() / 64 + 64);
    loop {
        let consumed = deflate.total_in() as usize;
        let status = deflate
            .compress_vec(&input[consumed..], &mut out, flush)
            .map_err(std::io::Error::other)?;
        let all_in = deflate.total_in() as usize == input.len();
        let room_left = out.len() < out.capacity();
        // zlib: a flush is complete once a call returns with output space to spare.
        let done = match status {
            Status::StreamEnd => true,
            _ => !last && all_in && room_left,
        };
        if done {
            break;
        }
        if room_left && status == Status::BufError {
            return Err(std::io::Error::other("deflate made no progress"));
        }
        out.reserve(out.capacity().max(64));
    }
    let mut crc = crc32fast::Hasher::new();
    crc.update(input);
    Ok(Piece { deflate: out, crc })
}

/// `data` as one gzip member, compressed by `workers` threads at `level`.
pub fn compress(data: &[u8], workers: usize, level: u32) -> std::io::Result<Vec<u8>> {
    let mut gz = ParallelGzip::new(workers, level)?;
    let mut out = Vec::new();
    let mut at = 0;
    loop {
        let piece = &data[at..(at + BLOCK).min(data.len())];
        at += piece.len();
        // A short piece ends the input, as it does for a reader that fills whole pieces: a
        // full last piece is followed by an empty final one.
        let last = piece.len() < BLOCK;
        gz.push(piece.to_vec(), last)?;
        while gz.in_flight() >= gz.window() {
            if let Some(o) = gz.next_blocking() {
                out.extend_from_slice(&o?);
            }
        }
        if last {
            break;
        }
    }
    while let Some(o) = gz.next_blocking() {
        out.extend_from_slice(&o?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn gunzip_single_member(gz: &[u8]) -> Vec<u8> {
        let mut d = flate2::read::GzDecoder::new(gz);
        let mut out = Vec::new();
        d.read_to_end(&mut out).unwrap();
        // A single-member decoder stops at the end of the first member: nothing may follow.
        let mut rest = Vec::new();
        d.into_inner().read_to_end(&mut rest).unwrap();
        assert!(
            rest.is_empty(),
            "{} bytes after the first member",
            rest.len()
        );
        out
    }

    fn noise(n: usize, seed: u64) -> Vec<u8> {
        let mut x = seed | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    fn csv(n: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let mut i = 0u64;
        while out.len() < n {
            out.extend_from_slice(
                format!(
                    "2025-01-01T00:{:02}:{:02}Z,host-{:02},{}.{},\"msg, {}\"\n",
                    i / 60 % 60,
                    i % 60,
                    i % 17,
                    i * 7 % 1000,
                    i % 10,
                    i % 5
                )
                .as_bytes(),
            );
            i += 1;
        }
        out.truncate(n);
        out
    }

    #[test]
    fn a_library_caller_gets_at_most_max_workers_threads() {
        let gz = ParallelGzip::new(100_000, LEVEL).unwrap();
        let per_worker = 1 + QUEUED_PER_WORKER;
        assert_eq!(gz.window(), MAX_WORKERS * per_worker);
        assert_eq!(ParallelGzip::new(0, LEVEL).unwrap().window(), per_worker);
    }

    #[test]
    fn pieces_round_trip_through_a_single_member_decoder() {
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("empty", vec![]),
            ("one byte", vec![b'x']),
            ("random", noise(3 * BLOCK + 12345, 7)),
            ("compressible", csv(5 * BLOCK / 2)),
            ("one block", csv(BLOCK)),
            ("two blocks", csv(2 * BLOCK)),
            ("block plus one", csv(BLOCK + 1)),
            ("block minus one", csv(BLOCK - 1)),
        ];
        for (what, data) in cases {
            for workers in [1, 3] {
                let gz = compress(&data, workers, LEVEL).unwrap();
                assert_eq!(gunzip_single_member(&gz), data, "{what}, {workers} workers");
                assert_eq!(&gz[..10], &HEADER, "{what}");
            }
        }
    }

    #[test]
    fn the_trailer_holds_the_crc_and_size_of_the_whole_input() {
        let data = csv(2 * BLOCK + 777);
        let gz = compress(&data, 2, LEVEL).unwrap();
        let n = gz.len();
        let crc = u32::from_le_bytes(gz[n - 8..n - 4].try_into().unwrap());
        let size = u32::from_le_bytes(gz[n - 4..].try_into().unwrap());
        assert_eq!(crc, crc32fast::hash(&data));
        assert_eq!(size as usize, data.len());
        let empty = compress(&[], 1, LEVEL).unwrap();
        assert_eq!(&empty[empty.len() - 8..], &[0; 8]);
    }

    #[test]
    fn the_output_depends_only_on_the_input() {
        let data = csv(4 * BLOCK + 99);
        let one = compress(&data, 1, LEVEL).unwrap();
        assert_eq!(compress(&data, 4, LEVEL).unwrap(), one);
        assert_eq!(compress(&data, 2, LEVEL).unwrap(), one);
        assert_ne!(compress(&csv(4 * BLOCK + 98), 2, LEVEL).unwrap(), one);
    }

    #[test]
    fn each_piece_refers_back_into_the_previous_one() {
        // The second piece repeats 16 KiB from the first one's end (zlib reaches back a
        // little less than the whole window): primed with the dictionary, it costs a few
        // bytes instead of 16 KiB of noise.
        let first = noise(BLOCK, 3);
        let data = [first.clone(), first[BLOCK - WINDOW / 2..].to_vec()].concat();
        let gz = compress(&data, 2, LEVEL).unwrap();
        let alone = compress(&first, 1, LEVEL).unwrap();
        assert!(
            gz.len() < alone.len() + 512,
            "{} vs {}",
            gz.len(),
            alone.len()
        );
        assert_eq!(gunzip_single_member(&gz), data);
    }

    #[test]
    fn misuse_is_refused_not_mangled() {
        let mut gz = ParallelGzip::new(1, LEVEL).unwrap();
        assert!(gz.push(vec![0; 10], false).is_err(), "short middle piece");
        gz.push(vec![0; 10], true).unwrap();
        assert!(gz.push(vec![0; 10], true).is_err(), "after the last piece");
        assert!(gz.next_blocking().unwrap().is_ok());
        assert!(gz.next_blocking().is_none());
    }
}
