#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The fuzz targets (`kingest::fuzzing`, run for real by cargo-fuzz from `fuzz/`) driven on
//! stable Rust: each target's seed corpus `fuzz/corpus/TARGET/seed-*` (real-shaped samples and
//! the inputs of every crash found so far), then deterministic mutations of them.
//! `KINGEST_FUZZ_CASES=N` sets the mutations per target (default 3000).

use std::path::Path;

use kingest::fuzzing::TARGETS;

/// Bytes that steer the parsers into their interesting branches.
const TOKENS: &[&[u8]] = &[
    b"\x1b",
    b"\x1b[",
    b"\x1b]",
    b"\x07",
    "\u{9b}".as_bytes(),
    "\u{202e}".as_bytes(),
    "\u{61c}".as_bytes(),
    "\u{feff}".as_bytes(),
    b"\r\n",
    b"\n",
    b"\"",
    b"\"\"",
    b",",
    b"\t",
    b"\\",
    b"{",
    b"}",
    b"[",
    b"]",
    b":",
    b"null",
    b"<",
    b"</",
    b">",
    b"&amp;",
    b"&#x0;",
    b"<![CDATA[",
    b"?sig=",
    b"&sig=",
    b"si%67=",
    b"#",
    b"%",
    b"%2B",
    b"=",
    b"==",
    b";",
    b"@message",
    b"\"error\"",
    b"Tables",
    b"Rows",
    b"Columns",
    b"eyJ",
    b"\xff",
    b"\xc3",
    b"9999999999999999999999",
    b"-1",
    b"0001-01-01T00:00:00Z",
    b"\"Id\"",
    b"BlobPath",
];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*: reproducible without a dependency.
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

fn mutate(rng: &mut Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut data = seeds[rng.below(seeds.len())].clone();
    for _ in 0..=rng.below(8) {
        let at = rng.below(data.len() + 1);
        match rng.below(6) {
            0 if !data.is_empty() => {
                let i = rng.below(data.len());
                data[i] ^= 1 << rng.below(8);
            }
            1 if at < data.len() => {
                let end = (at + 1 + rng.below(16)).min(data.len());
                data.drain(at..end);
            }
            2 => {
                let other = &seeds[rng.below(seeds.len())];
                let from = rng.below(other.len() + 1);
                let to = (from + rng.below(64)).min(other.len());
                data.splice(at..at, other[from..to].iter().copied());
            }
            3 if !data.is_empty() => data.truncate(at),
            _ => {
                let t = TOKENS[rng.below(TOKENS.len())];
                data.splice(at..at, t.iter().copied());
            }
        }
    }
    data
}

fn seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut out: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("seed-")
        })
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no seeds for {target}");
    out
}

fn run(target: &str) {
    let f = TARGETS.iter().find(|(n, _)| *n == target).unwrap().1;
    let seeds = seeds(target);
    let cases: usize = std::env::var("KINGEST_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ target.len() as u64);
    let inputs = seeds
        .iter()
        .cloned()
        .chain((0..cases).map(|_| mutate(&mut rng, &seeds)));
    for (i, input) in inputs.enumerate() {
        let shown = String::from_utf8_lossy(&input).escape_debug().to_string();
        match std::panic::catch_unwind(|| f(&input)) {
            Ok(Ok(())) => {}
            Ok(Err(violated)) => panic!("{target} case {i} {shown:?}: {violated}"),
            Err(_) => panic!("{target} case {i} panicked on {shown:?}"),
        }
    }
}

#[test]
fn every_target_has_a_test_and_a_cargo_fuzz_binary() {
    let manifest =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/Cargo.toml"))
            .unwrap();
    for (name, _) in TARGETS {
        assert!(
            manifest.contains(&format!("name = \"{name}\"")),
            "{name} not in fuzz/"
        );
        let this = include_str!("fuzz_inputs.rs");
        assert!(
            this.contains(&format!("fn {name}()")),
            "{name} has no test here"
        );
    }
}

#[test]
fn v1_response() {
    run("v1_response");
}

#[test]
fn oneapi_error() {
    run("oneapi_error");
}

#[test]
fn queue_xml() {
    run("queue_xml");
}

#[test]
fn notification() {
    run("notification");
}

#[test]
fn ingestion_message() {
    run("ingestion_message");
}

#[test]
fn sas() {
    run("sas");
}

#[test]
fn sanitize() {
    run("sanitize");
}

#[test]
fn formats() {
    run("formats");
}
