//! Splitting a text source into chunks at record boundaries while it is read, and the input
//! a submit reads from (a file or standard input).
//!
//! The C# client "splits large data sets into chunks" of 1 GB, each "ingested separately"
//! (DOCS `kusto/api/netfx/kusto-ingest-best-practices.md`,
//! `kusto/api/netfx/kusto-ingest-client-status.md`); nothing documents where it cuts. Here a
//! chunk ends at the first record boundary at or after `chunk_size` uncompressed bytes, so a
//! chunk is at most one record longer than the size and nothing read is held back: the
//! source is read once, each byte handed to the gzip/upload pipeline of its chunk as it comes.
//! A record longer than the size stays whole, alone in its chunk.
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

/// Finds the cut of each chunk in the bytes of a source, fed in order.
#[derive(Debug, Clone)]
pub struct Splitter {
    records: Records,
    limit: u64,
    /// Bytes of the current chunk scanned so far.
    len: u64,
    at: At,
}

impl Splitter {
    /// Chunks of at least `limit` bytes (1 at the least), cut at `records` boundaries.
    pub fn new(records: Records, limit: u64) -> Self {
        Splitter {
            records,
            limit: limit.max(1),
            len: 0,
            at: At::FieldStart,
        }
    }

    /// Starts a chunk afresh (after a cut, or to read one again from its start).
    pub fn reset(&mut self) {
        self.len = 0;
        self.at = At::FieldStart;
    }

    /// Scans the next bytes of the current chunk: `Some(n)` when the chunk ends after
    /// `bytes[..n]` (the splitter is then at the start of the next chunk, the rest of
    /// `bytes` unscanned), `None` when all of `bytes` belongs to it.
    pub fn scan(&mut self, bytes: &[u8]) -> Option<usize> {
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
            let Some(k) = step else {
                self.len += rest.len() as u64;
                return None;
            };
            let b = rest[k];
            i += k + 1;
            self.len += k as u64 + 1;
            if self.next(b) && self.len >= self.limit {
                self.reset();
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
/// [`next_chunk`](Self::next_chunk) moves on. Bytes read past a cut wait in `carry` for the
/// next chunk; nothing is read twice, except a file chunk started again on another container.
pub(super) struct Input {
    stream: Stream,
    splitter: Option<Splitter>,
    carry: Vec<u8>,
    carry_pos: usize,
    /// Bytes served so far (all chunks).
    served: u64,
    /// Where the current chunk starts in the source.
    chunk_start: u64,
    chunk_done: bool,
    stream_done: bool,
}

impl Input {
    /// `splitter`: `None` reads the whole source as one chunk.
    pub(super) fn new(stream: Stream, splitter: Option<Splitter>) -> Self {
        Input {
            stream,
            splitter,
            carry: Vec::new(),
            carry_pos: 0,
            served: 0,
            chunk_start: 0,
            chunk_done: false,
            stream_done: false,
        }
    }

    /// Bytes of the current chunk served so far.
    #[cfg(test)]
    fn chunk_read(&self) -> u64 {
        self.served - self.chunk_start
    }

    /// Bytes of the source served so far.
    pub(super) fn served(&self) -> u64 {
        self.served
    }

    /// Whether the current chunk ended with the source.
    pub(super) fn at_source_end(&self) -> bool {
        self.chunk_done && self.stream_done && self.carry_pos == self.carry.len()
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
        while n < buf.len() && !self.chunk_done {
            let (got, from_carry) = if self.carry_pos < self.carry.len() {
                let k = (buf.len() - n).min(self.carry.len() - self.carry_pos);
                buf[n..n + k].copy_from_slice(&self.carry[self.carry_pos..self.carry_pos + k]);
                self.carry_pos += k;
                (k, true)
            } else if self.stream_done {
                self.chunk_done = true;
                break;
            } else {
                match self.stream.read(&mut buf[n..]).await? {
                    0 => {
                        self.stream_done = true;
                        self.chunk_done = true;
                        break;
                    }
                    k => (k, false),
                }
            };
            let keep = match self
                .splitter
                .as_mut()
                .and_then(|s| s.scan(&buf[n..n + got]))
            {
                Some(cut) => {
                    // The bytes after the cut start the next chunk.
                    if from_carry {
                        self.carry_pos -= got - cut;
                    } else {
                        self.carry = buf[n + cut..n + got].to_vec();
                        self.carry_pos = 0;
                    }
                    self.chunk_done = true;
                    cut
                }
                None => got,
            };
            n += keep;
            self.served += keep as u64;
        }
        Ok(n)
    }

    /// Moves to the next chunk; `false` when the source has no more bytes (the last chunk
    /// was the last). Never makes an empty chunk after a cut at the very end.
    pub(super) async fn next_chunk(&mut self) -> std::io::Result<bool> {
        if !self.chunk_done {
            return Err(std::io::Error::other("the chunk was not read to its end"));
        }
        if self.carry_pos == self.carry.len() && !self.stream_done {
            let mut buf = vec![0u8; 64 * 1024];
            match self.stream.read(&mut buf).await? {
                0 => self.stream_done = true,
                k => {
                    buf.truncate(k);
                    self.carry = buf;
                    self.carry_pos = 0;
                }
            }
        }
        if self.carry_pos == self.carry.len() && self.stream_done {
            return Ok(false);
        }
        self.chunk_start = self.served;
        self.chunk_done = false;
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
        self.carry.clear();
        self.carry_pos = 0;
        self.served = self.chunk_start;
        self.chunk_done = false;
        self.stream_done = false;
        if let Some(s) = self.splitter.as_mut() {
            s.reset();
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

    /// The chunks `data` is cut into with chunks of `limit` bytes.
    fn cut(records: Records, limit: u64, data: &[u8]) -> Vec<String> {
        let mut s = Splitter::new(records, limit);
        let mut out = Vec::new();
        let mut rest = data;
        while let Some(n) = s.scan(rest) {
            out.push(String::from_utf8_lossy(&rest[..n]).into_owned());
            rest = &rest[n..];
        }
        if !rest.is_empty() || out.is_empty() {
            out.push(String::from_utf8_lossy(rest).into_owned());
        }
        out
    }

    const CSV: Records = Records::Delimited { sep: b',' };

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
        assert_eq!(cut(CSV, 4, b"a,b\r\nc,d\r\n"), ["a,b\r\n", "c,d\r\n"]);
        assert_eq!(
            cut(Records::Lines, 3, b"{}\r\n{}\r\n"),
            ["{}\r\n", "{}\r\n"]
        );
    }

    #[test]
    fn a_record_longer_than_the_chunk_stays_whole() {
        let long = format!("{}\n", "x".repeat(100));
        let data = format!("a\n{long}b\n");
        assert_eq!(
            cut(CSV, 10, data.as_bytes()),
            [format!("a\n{long}"), "b\n".into()]
        );
        assert_eq!(cut(CSV, 10, long.as_bytes()), [long]);
    }

    #[test]
    fn chunks_end_at_the_first_boundary_at_or_after_the_size() {
        // Exactly at the size: cut there, no empty chunk after.
        assert_eq!(cut(CSV, 4, b"abc\ndef\n"), ["abc\n", "def\n"]);
        assert_eq!(cut(CSV, 8, b"abc\ndef\n"), ["abc\ndef\n"]);
        // One byte short: the chunk takes the next record.
        assert_eq!(cut(CSV, 5, b"abc\ndef\ngh\n"), ["abc\ndef\n", "gh\n"]);
    }

    #[test]
    fn empty_and_unterminated_sources() {
        assert_eq!(cut(CSV, 4, b""), [""]);
        assert_eq!(cut(CSV, 4, b"abcd\nef"), ["abcd\n", "ef"]);
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

    /// Every chunk an [`Input`] serves, read with pieces of `piece` bytes.
    async fn read_all(data: &[u8], limit: u64, piece: usize) -> Vec<Vec<u8>> {
        let stream = Stream::Bytes(std::io::Cursor::new(data.to_vec()));
        let mut input = Input::new(stream, Some(Splitter::new(CSV, limit)));
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

    #[tokio::test]
    async fn input_serves_each_byte_once_whatever_the_read_size() {
        let mut data = Vec::new();
        for i in 0..500 {
            data.extend_from_slice(format!("{i},\"quoted\nline {i}\",x\n").as_bytes());
        }
        let want = cut(CSV, 1000, &data);
        for piece in [1, 7, 64, 1000, 4096, 100_000] {
            let got = read_all(&data, 1000, piece).await;
            let got: Vec<String> = got
                .iter()
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect();
            assert_eq!(got, want, "piece {piece}");
        }
        assert!(want.len() > 10);
        // A cut at the very end makes no empty chunk.
        assert_eq!(read_all(b"ab\n", 3, 2).await, [b"ab\n".to_vec()]);
        assert_eq!(read_all(b"", 3, 2).await, [Vec::<u8>::new()]);
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
