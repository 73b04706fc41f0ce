//! Splitting a text source into chunks at record boundaries while it is read, and the input
//! a submit reads from (a file or standard input).
//!
//! The C# client "splits large data sets into chunks" of 1 GB, each "ingested separately"
//! (DOCS `kusto/api/netfx/kusto-ingest-best-practices.md`,
//! `kusto/api/netfx/kusto-ingest-client-status.md`); nothing documents where it cuts. Here a
//! chunk ends at the last record boundary at or before `chunk_size` uncompressed bytes (the
//! size is the most a chunk holds: a service or emulator limit of that size is never crossed),
//! and a record longer than the size is a chunk of its own. The source is read once, each byte
//! handed to the gzip/upload pipeline of its chunk as it comes; only the record being read is
//! held back (it may belong to the next chunk), at most [`HOLD_MAX`] bytes of it.
//!
//! Record boundaries follow the emulator's readers (`emulator::engine::formats`) and the
//! service's format descriptions (DOCS `kusto/ingestion-supported-formats.md`): delimited
//! formats end a record at a newline outside a quoted field (a quote opens a field only at its
//! start, `""` inside is one quote, so quoted newlines stay inside their record); `tsve` has
//! no quoting but a backslash escapes the next byte, an escaped newline included; `json`
//! ("JSON objects delimited by `\n` or `\r\n`") and `txt` end a record at every newline.
//! `multijson` and `singlejson` (objects may span lines), `raw` (one record), `w3clogfile`
//! (its `#Fields` header describes every later line) and the binary formats are not split.

use tokio::io::AsyncReadExt;

use crate::client::wire::DataFormat;

/// `--chunk-size`'s default: the C# client's 1 GB chunks, taken as 1 GiB of uncompressed data.
pub const DEFAULT_CHUNK_SIZE: u64 = 1 << 30;

/// How records of a format end, when it can be split at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Records {
    /// CSV and its kin with this separator: quote-aware.
    Delimited { sep: u8 },
    /// `tsve`: a backslash escapes the next byte.
    Escaped,
    /// One record per line (`json`, `txt`).
    Lines,
}

impl Records {
    /// How `format`'s records end; `None` for formats that are never split.
    pub fn of(format: DataFormat) -> Option<Self> {
        Some(match format {
            DataFormat::Csv => Records::Delimited { sep: b',' },
            DataFormat::Tsv => Records::Delimited { sep: b'\t' },
            DataFormat::Scsv => Records::Delimited { sep: b';' },
            DataFormat::Psv => Records::Delimited { sep: b'|' },
            DataFormat::Sohsv => Records::Delimited { sep: 0x01 },
            DataFormat::Tsve => Records::Escaped,
            DataFormat::Json | DataFormat::Txt => Records::Lines,
            _ => return None,
        })
    }
}

/// Where the scan is inside a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum At {
    /// At the start of a field (a quote here opens a quoted field).
    FieldStart,
    /// In an unquoted field (a quote here is data).
    Unquoted,
    /// Inside quotes.
    Quoted,
    /// Inside quotes, right after a quote: `""` (one quote) or the closing quote.
    QuoteSeen,
    /// Right after a `tsve` backslash.
    Escape,
}

/// Finds the record boundaries of a source, fed in order.
#[derive(Debug, Clone)]
pub struct Splitter {
    records: Records,
    at: At,
}

impl Splitter {
    pub fn new(records: Records) -> Self {
        Splitter {
            records,
            at: At::FieldStart,
        }
    }

    /// Starts afresh at the start of a record.
    pub fn reset(&mut self) {
        self.at = At::FieldStart;
    }

    /// Scans `bytes`: `Some(n)` when a record ends after `bytes[..n]` (the scan then stands
    /// at the start of the next record, the rest unscanned), `None` when none ends in them.
    pub fn next_boundary(&mut self, bytes: &[u8]) -> Option<usize> {
        let mut i = 0;
        while i < bytes.len() {
            let rest = &bytes[i..];
            // The next byte that may change the state, `None` when none does.
            let step = match (self.records, self.at) {
                (Records::Lines, _) => memchr::memchr(b'\n', rest),
                (Records::Escaped, At::Escape) => Some(0),
                (Records::Escaped, _) => memchr::memchr2(b'\\', b'\n', rest),
                (Records::Delimited { .. }, At::FieldStart | At::QuoteSeen) => Some(0),
                (Records::Delimited { sep }, _) if self.at == At::Unquoted => {
                    memchr::memchr2(sep, b'\n', rest)
                }
                (Records::Delimited { .. }, _) => memchr::memchr(b'"', rest),
            };
            let k = step?;
            i += k + 1;
            if self.next(rest[k]) {
                return Some(i);
            }
        }
        None
    }

    /// Moves the state over byte `b`; `true` when `b` ends a record.
    fn next(&mut self, b: u8) -> bool {
        let (at, ends) = match (self.records, self.at) {
            (Records::Lines, _) => (At::FieldStart, b == b'\n'),
            (Records::Escaped, At::Escape) => (At::Unquoted, false),
            (Records::Escaped, _) if b == b'\\' => (At::Escape, false),
            (Records::Escaped, _) => (At::FieldStart, b == b'\n'),
            (Records::Delimited { .. }, At::Quoted) => (At::QuoteSeen, false),
            (Records::Delimited { .. }, At::QuoteSeen) if b == b'"' => (At::Quoted, false),
            (Records::Delimited { .. }, At::FieldStart) if b == b'"' => (At::Quoted, false),
            (Records::Delimited { sep }, _) if b == sep => (At::FieldStart, false),
            (Records::Delimited { .. }, _) if b == b'\n' => (At::FieldStart, true),
            (Records::Delimited { .. }, _) => (At::Unquoted, false),
        };
        self.at = at;
        ends
    }
}

/// How a source is cut into chunks.
#[derive(Debug, Clone)]
pub struct Chunking {
    pub splitter: Splitter,
    /// Uncompressed bytes a chunk holds at most (unless one record is longer).
    pub limit: u64,
}

/// The longest unfinished record held back (not yet handed to the chunk) while it may still
/// cross the chunk size: beyond it the record is sent on in the current chunk, so memory stays
/// bounded whatever the data.
pub const HOLD_MAX: usize = 16 << 20;

/// Bytes read from the stream at a time.
const READ: usize = 256 * 1024;

/// Where a submit reads its bytes.
pub(super) enum Stream {
    File(tokio::fs::File),
    Stdin(tokio::io::Stdin),
    /// Anything else (tests).
    #[cfg(test)]
    Bytes(std::io::Cursor<Vec<u8>>),
}

impl Stream {
    async fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::File(f) => f.read(buf).await,
            Stream::Stdin(s) => s.read(buf).await,
            #[cfg(test)]
            Stream::Bytes(c) => std::io::Read::read(c, buf),
        }
    }
}

/// A source read chunk by chunk: [`fill`](Self::fill) serves the bytes of the current chunk,
/// [`next_chunk`](Self::next_chunk) moves on. A chunk ends at the last record boundary at or
/// before the limit; a record longer than the limit is a chunk of its own. Only the record
/// being read is held back (it may belong to the next chunk), at most [`HOLD_MAX`] bytes;
/// nothing is read twice, except a file chunk started again for another container.
pub(super) struct Input {
    stream: Stream,
    chunking: Option<Chunking>,
    /// Bytes read and not served yet start at `pos`.
    pending: Vec<u8>,
    pos: usize,
    /// How far `pending` is scanned for boundaries.
    scanned: usize,
    /// Whether `scanned` stands at a record boundary.
    scanned_at_boundary: bool,
    /// Up to where `pending` may be served to the current chunk.
    safe: usize,
    /// Where the current chunk ends in `pending`, once known.
    cut: Option<usize>,
    /// Bytes of the current chunk served so far.
    chunk_len: u64,
    /// The current chunk is committed to the record being read: it ends with it.
    open_record: bool,
    /// Bytes served so far (all chunks).
    served: u64,
    /// Where the current chunk starts in the source.
    chunk_start: u64,
    stream_done: bool,
}

impl Input {
    /// `chunking`: `None` reads the whole source as one chunk.
    pub(super) fn new(stream: Stream, chunking: Option<Chunking>) -> Self {
        Input {
            stream,
            chunking,
            pending: Vec::new(),
            pos: 0,
            scanned: 0,
            scanned_at_boundary: true,
            safe: 0,
            cut: None,
            chunk_len: 0,
            open_record: true,
            served: 0,
            chunk_start: 0,
            stream_done: false,
        }
    }

    /// Bytes of the current chunk served so far.
    #[cfg(test)]
    fn chunk_read(&self) -> u64 {
        self.chunk_len
    }

    /// Bytes of the source served so far.
    pub(super) fn served(&self) -> u64 {
        self.served
    }

    fn chunk_done(&self) -> bool {
        self.cut == Some(self.pos)
    }

    /// Whether the current chunk ended with the source.
    pub(super) fn at_source_end(&self) -> bool {
        self.chunk_done() && self.stream_done && self.pos == self.pending.len()
    }

    /// The file, for its metadata at the end (`None` for standard input).
    pub(super) fn file(&self) -> Option<&tokio::fs::File> {
        match &self.stream {
            Stream::File(f) => Some(f),
            _ => None,
        }
    }

    /// Fills `buf` with the current chunk's next bytes; fewer than `buf.len()` only at the
    /// chunk's end.
    pub(super) async fn fill(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut n = 0;
        while n < buf.len() && !self.chunk_done() {
            self.scan();
            let end = self.cut.unwrap_or(self.safe);
            if end > self.pos {
                let k = (buf.len() - n).min(end - self.pos);
                buf[n..n + k].copy_from_slice(&self.pending[self.pos..self.pos + k]);
                self.pos += k;
                n += k;
                self.chunk_len += k as u64;
                self.served += k as u64;
            } else if self.scanned == self.pending.len() {
                self.read_more().await?;
            }
        }
        Ok(n)
    }

    /// Finds what of `pending` may be served, and where the chunk ends once that is known.
    fn scan(&mut self) {
        if self.cut.is_some() {
            return;
        }
        let Some(c) = self.chunking.as_mut() else {
            self.safe = self.pending.len();
            self.scanned = self.pending.len();
            if self.stream_done {
                self.cut = Some(self.pending.len());
            }
            return;
        };
        while self.cut.is_none() && self.scanned < self.pending.len() {
            match c.splitter.next_boundary(&self.pending[self.scanned..]) {
                Some(k) => {
                    let b = self.scanned + k;
                    self.scanned = b;
                    self.scanned_at_boundary = true;
                    // Where this record ends in the chunk.
                    let at = self.chunk_len + (b - self.pos) as u64;
                    if at <= c.limit || self.open_record {
                        self.safe = b;
                        self.open_record = false;
                        if at >= c.limit {
                            self.cut = Some(b);
                        }
                    } else {
                        // This record would cross the limit: the chunk ends before it.
                        self.cut = Some(self.safe);
                    }
                }
                None => {
                    self.scanned = self.pending.len();
                    self.scanned_at_boundary = false;
                    if self.open_record || self.scanned - self.safe > HOLD_MAX {
                        // The chunk's first record, or one too long to hold: it goes in
                        // this chunk, which ends with it.
                        self.safe = self.scanned;
                        self.open_record = true;
                    }
                }
            }
        }
        // The end of the stream ends the last record, unterminated or not.
        if self.stream_done && self.cut.is_none() && self.scanned == self.pending.len() {
            let end = self.pending.len();
            let at = self.chunk_len + (end - self.pos) as u64;
            self.scanned_at_boundary = true;
            if at <= c.limit || self.open_record {
                self.safe = end;
                self.cut = Some(end);
            } else {
                self.cut = Some(self.safe);
            }
        }
    }

    /// Reads the next bytes of the stream into `pending` (dropping what was served).
    async fn read_more(&mut self) -> std::io::Result<()> {
        if self.stream_done {
            return Ok(());
        }
        if self.pos > 0 {
            self.pending.drain(..self.pos);
            self.scanned -= self.pos;
            self.safe -= self.pos;
            self.cut = self.cut.map(|c| c - self.pos);
            self.pos = 0;
        }
        let len = self.pending.len();
        self.pending.resize(len + READ, 0);
        let k = self.stream.read(&mut self.pending[len..]).await?;
        self.pending.truncate(len + k);
        if k == 0 {
            self.stream_done = true;
        }
        Ok(())
    }

    /// Moves to the next chunk; `false` when the source has no more bytes (the last chunk
    /// was the last). Never makes an empty chunk after a cut at the very end.
    pub(super) async fn next_chunk(&mut self) -> std::io::Result<bool> {
        if !self.chunk_done() {
            return Err(std::io::Error::other("the chunk was not read to its end"));
        }
        while self.pos == self.pending.len() && !self.stream_done {
            self.read_more().await?;
        }
        if self.pos == self.pending.len() {
            return Ok(false);
        }
        self.chunk_start = self.served;
        self.chunk_len = 0;
        self.cut = None;
        self.safe = self.pos;
        self.open_record = true;
        // Scanned past the cut: up to a boundary (the cut is always before one), the next
        // chunk's first record.
        if self.scanned > self.pos && self.scanned_at_boundary {
            let limit = self.chunking.as_ref().map_or(u64::MAX, |c| c.limit);
            self.safe = self.scanned;
            self.open_record = false;
            if (self.scanned - self.pos) as u64 >= limit {
                self.cut = Some(self.scanned);
            }
        }
        Ok(true)
    }

    /// Goes back to the start of the current chunk, to send it again (to another container);
    /// `false` when the stream cannot be read again (standard input).
    pub(super) async fn restart_chunk(&mut self) -> std::io::Result<bool> {
        use tokio::io::AsyncSeekExt as _;
        let Stream::File(f) = &mut self.stream else {
            return Ok(false);
        };
        f.seek(std::io::SeekFrom::Start(self.chunk_start)).await?;
        self.pending.clear();
        self.pos = 0;
        self.scanned = 0;
        self.scanned_at_boundary = true;
        self.safe = 0;
        self.cut = None;
        self.chunk_len = 0;
        self.open_record = true;
        self.served = self.chunk_start;
        self.stream_done = false;
        if let Some(c) = self.chunking.as_mut() {
            c.splitter.reset();
        }
        Ok(true)
    }
}

/// `1GiB`, `512MiB`, `10MB`, `4096`: a size in bytes (binary units with `i`, decimal
/// without; a bare number is bytes). Refuses 0.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "m" | "mb" => 1_000_000,
        "g" | "gb" => 1_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        _ => {
            return Err(format!(
                "'{text}' is not a size: use e.g. 1GiB, 512MiB, 10MB or a number of bytes"
            ));
        }
    };
    let n: f64 = num
        .parse()
        .map_err(|_| format!("'{text}' is not a size: it needs a number, e.g. 1GiB"))?;
    let bytes = n * mult as f64;
    if !(bytes >= 1.0 && bytes < u64::MAX as f64) {
        return Err(format!("'{text}' is not a size of at least one byte"));
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: Records = Records::Delimited { sep: b',' };

    /// Every chunk an [`Input`] serves, read with pieces of `piece` bytes.
    async fn read_all(records: Records, limit: u64, data: &[u8], piece: usize) -> Vec<Vec<u8>> {
        let stream = Stream::Bytes(std::io::Cursor::new(data.to_vec()));
        let chunking = Chunking {
            splitter: Splitter::new(records),
            limit,
        };
        let mut input = Input::new(stream, Some(chunking));
        let mut chunks = Vec::new();
        loop {
            let mut chunk = Vec::new();
            let mut buf = vec![0u8; piece];
            loop {
                let n = input.fill(&mut buf).await.unwrap();
                chunk.extend_from_slice(&buf[..n]);
                if n < piece {
                    break;
                }
            }
            assert_eq!(input.chunk_read(), chunk.len() as u64);
            chunks.push(chunk);
            if !input.next_chunk().await.unwrap() {
                break;
            }
        }
        assert_eq!(input.served(), data.len() as u64);
        chunks
    }

    /// The chunks of `data` as text, read whole and in small pieces alike.
    fn cut(records: Records, limit: u64, data: &[u8]) -> Vec<String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let whole = rt.block_on(read_all(records, limit, data, 1 << 20));
        for piece in [1, 3, 64] {
            let small = rt.block_on(read_all(records, limit, data, piece));
            assert_eq!(small, whole, "piece {piece}");
        }
        whole
            .iter()
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect()
    }

    #[test]
    fn quoted_newlines_stay_inside_their_record() {
        let data = b"1,\"a\nb\"\n2,\"c\"\"\nd\"\n3,x\n";
        assert_eq!(
            cut(CSV, 1, data),
            ["1,\"a\nb\"\n", "2,\"c\"\"\nd\"\n", "3,x\n"]
        );
        // A quote inside an unquoted field is data: it opens nothing.
        assert_eq!(cut(CSV, 1, b"a\"b,c\nd\n"), ["a\"b,c\n", "d\n"]);
        // Text after a closing quote, then the end of the record.
        assert_eq!(cut(CSV, 1, b"\"q\"x\ny\n"), ["\"q\"x\n", "y\n"]);
    }

    #[test]
    fn crlf_records_keep_their_carriage_return() {
        assert_eq!(cut(CSV, 5, b"a,b\r\nc,d\r\n"), ["a,b\r\n", "c,d\r\n"]);
        assert_eq!(
            cut(Records::Lines, 4, b"{}\r\n{}\r\n"),
            ["{}\r\n", "{}\r\n"]
        );
    }

    #[test]
    fn a_record_longer_than_the_chunk_is_a_chunk_of_its_own() {
        let long = format!("{}\n", "x".repeat(100));
        let data = format!("a\n{long}b\n");
        assert_eq!(cut(CSV, 10, data.as_bytes()), ["a\n", &long, "b\n"]);
        assert_eq!(cut(CSV, 10, long.as_bytes()), [long]);
    }

    #[test]
    fn chunks_end_at_the_last_boundary_at_or_before_the_size() {
        // Exactly at the size: cut there, no empty chunk after.
        assert_eq!(cut(CSV, 4, b"abc\ndef\n"), ["abc\n", "def\n"]);
        assert_eq!(cut(CSV, 8, b"abc\ndef\n"), ["abc\ndef\n"]);
        // One byte short of two records: the second starts the next chunk.
        assert_eq!(cut(CSV, 7, b"abc\ndef\ngh\n"), ["abc\n", "def\ngh\n"]);
        assert_eq!(cut(CSV, 5, b"abc\ndef\ngh\n"), ["abc\n", "def\n", "gh\n"]);
    }

    #[test]
    fn empty_and_unterminated_sources() {
        assert_eq!(cut(CSV, 4, b""), [""]);
        assert_eq!(cut(CSV, 5, b"abcd\nef"), ["abcd\n", "ef"]);
        assert_eq!(cut(CSV, 4, b"ab\nlonger"), ["ab\n", "longer"]);
        // An open quote at the end: the rest is one record, never cut.
        assert_eq!(cut(CSV, 1, b"\"a\nb\nc"), ["\"a\nb\nc"]);
    }

    #[test]
    fn tsve_escapes_and_other_separators() {
        assert_eq!(
            cut(Records::Escaped, 1, b"a\\\nb\nc\n"),
            ["a\\\nb\n", "c\n"]
        );
        // A quote in tsve is data.
        assert_eq!(cut(Records::Escaped, 1, b"\"a\nb\"\n"), ["\"a\n", "b\"\n"]);
        let psv = Records::Delimited { sep: b'|' };
        assert_eq!(cut(psv, 1, b"x|\"a\nb\"\ny\n"), ["x|\"a\nb\"\n", "y\n"]);
        // A quote after a separator of another format is data for this one.
        assert_eq!(cut(psv, 1, b"x,\"a\nb\"\n"), ["x,\"a\n", "b\"\n"]);
    }

    #[test]
    fn formats_that_are_never_split() {
        for f in [
            DataFormat::MultiJson,
            DataFormat::SingleJson,
            DataFormat::Raw,
            DataFormat::W3cLogFile,
            DataFormat::Parquet,
            DataFormat::Avro,
        ] {
            assert_eq!(Records::of(f), None, "{f:?}");
        }
        assert_eq!(Records::of(DataFormat::Json), Some(Records::Lines));
        assert_eq!(Records::of(DataFormat::Tsve), Some(Records::Escaped));
    }

    #[tokio::test]
    async fn many_records_make_chunks_no_bigger_than_the_size() {
        let mut data = Vec::new();
        for i in 0..500 {
            data.extend_from_slice(format!("{i},\"quoted\nline {i}\",x\n").as_bytes());
        }
        let chunks = read_all(CSV, 1000, &data, 4096).await;
        assert!(chunks.len() > 10);
        assert_eq!(chunks.concat(), data);
        for c in &chunks {
            assert!(c.len() <= 1000 && c.ends_with(b",x\n"), "{}", c.len());
        }
        // Read in other piece sizes, the same chunks.
        for piece in [1, 7, 1000, 100_000] {
            assert_eq!(read_all(CSV, 1000, &data, piece).await, chunks, "{piece}");
        }
        // A cut at the very end makes no empty chunk.
        assert_eq!(read_all(CSV, 3, b"ab\n", 2).await, [b"ab\n".to_vec()]);
    }

    #[tokio::test]
    async fn a_record_too_long_to_hold_is_sent_on_in_the_current_chunk() {
        // The second record is longer than what is held back: the chunk goes on with it.
        let long = vec![b'x'; HOLD_MAX + 2 * READ];
        let mut data = b"a\n".to_vec();
        data.extend_from_slice(&long);
        data.extend_from_slice(b"\nb\n");
        let chunks = read_all(CSV, 100, &data, 1 << 20).await;
        assert_eq!(
            chunks.len(),
            2,
            "{:?}",
            chunks.iter().map(Vec::len).collect::<Vec<_>>()
        );
        assert_eq!(chunks[0].len(), 2 + long.len() + 1);
        assert_eq!(chunks[1], b"b\n");
    }

    #[test]
    fn sizes_in_binary_and_decimal_units() {
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("512MiB"), Ok(512 << 20));
        assert_eq!(parse_size("10MB"), Ok(10_000_000));
        assert_eq!(parse_size(" 4096 "), Ok(4096));
        assert_eq!(parse_size("1.5GiB"), Ok(3 << 29));
        for bad in ["", "0", "GiB", "1 parsec", "-1MiB", "0.1"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }
}
