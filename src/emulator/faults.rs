//! Injected faults: for the storage endpoints latency, 5xx (ServerBusy) and connection resets;
//! for the DM transient ingest failures. All off by default; settable at start
//! (`kingest emulator --faults SPEC`, `KINGEST_EMULATOR_FAULTS`) and at run time (tests, the
//! mgmt command `.set emulator faults 'SPEC'`). [`FaultConfig::parse`] reads SPEC.

use std::sync::Mutex;
use std::time::Duration;

/// What to inject. Rates are probabilities in `0.0..=1.0` per request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultConfig {
    /// Answer 503 `ServerBusy` with `Retry-After: 1`.
    pub error_rate: f64,
    /// Send headers, then abort the body (the client sees a broken connection).
    pub reset_rate: f64,
    /// Delay before every request is handled.
    pub latency: Duration,
    /// Probability that one ingest attempt of a source fails transiently.
    pub ingest_transient: f64,
    /// The first N ingest attempts of every source fail transiently (deterministic).
    pub ingest_transient_times: u32,
}

/// A SPEC item that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("fault spec item '{item}': {reason}")]
pub struct FaultSpecError {
    pub item: String,
    pub reason: String,
}

impl FaultConfig {
    /// Parses `name=value[,name=value…]`; an empty SPEC or `none` means no faults. Errors name
    /// the item.
    pub fn parse(spec: &str) -> Result<FaultConfig, FaultSpecError> {
        let mut c = FaultConfig::default();
        let spec = spec.trim();
        if spec.is_empty() || spec.eq_ignore_ascii_case("none") {
            return Ok(c);
        }
        for item in spec.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let err = |reason: &str| FaultSpecError {
                item: item.to_string(),
                reason: reason.to_string(),
            };
            let (name, value) = item
                .split_once('=')
                .ok_or_else(|| err("expected NAME=VALUE"))?;
            let value = value.trim();
            let rate = || -> Result<f64, FaultSpecError> {
                value
                    .parse::<f64>()
                    .ok()
                    .filter(|r| (0.0..=1.0).contains(r))
                    .ok_or_else(|| err("expected a probability between 0 and 1"))
            };
            let count = || -> Result<u32, FaultSpecError> {
                value
                    .parse::<u32>()
                    .map_err(|_| err("expected a whole number"))
            };
            match name.trim().to_ascii_lowercase().as_str() {
                "ingest-transient" => c.ingest_transient = rate()?,
                "ingest-transient-times" => c.ingest_transient_times = count()?,
                "storage-busy" => c.error_rate = rate()?,
                "storage-reset" => c.reset_rate = rate()?,
                "storage-latency-ms" => c.latency = Duration::from_millis(u64::from(count()?)),
                _ => return Err(err("unknown fault name (see --help)")),
            }
        }
        Ok(c)
    }

    /// The SPEC that [`FaultConfig::parse`] reads back into this config.
    pub fn to_spec(&self) -> String {
        let mut items = Vec::new();
        if self.ingest_transient > 0.0 {
            items.push(format!("ingest-transient={}", self.ingest_transient));
        }
        if self.ingest_transient_times > 0 {
            items.push(format!(
                "ingest-transient-times={}",
                self.ingest_transient_times
            ));
        }
        if self.error_rate > 0.0 {
            items.push(format!("storage-busy={}", self.error_rate));
        }
        if self.reset_rate > 0.0 {
            items.push(format!("storage-reset={}", self.reset_rate));
        }
        if !self.latency.is_zero() {
            items.push(format!("storage-latency-ms={}", self.latency.as_millis()));
        }
        if items.is_empty() {
            "none".into()
        } else {
            items.join(",")
        }
    }
}

/// The fault decided for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    None,
    ServerBusy,
    Reset,
}

#[derive(Debug)]
struct Inner {
    config: FaultConfig,
    /// Deterministic 503s still to answer, before any random ones.
    fail_next: u32,
    rng: u64,
}

#[derive(Debug)]
pub struct Faults {
    inner: Mutex<Inner>,
}

impl Default for Faults {
    fn default() -> Self {
        Faults::with_seed(0x9E37_79B9_7F4A_7C15)
    }
}

impl Faults {
    pub fn new() -> Self {
        Faults::default()
    }

    /// Faults whose random choices are reproducible from `seed`.
    pub fn with_seed(seed: u64) -> Self {
        Faults {
            inner: Mutex::new(Inner {
                config: FaultConfig::default(),
                fail_next: 0,
                rng: seed,
            }),
        }
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn set(&self, config: FaultConfig) {
        self.inner().config = config;
    }

    pub fn config(&self) -> FaultConfig {
        self.inner().config.clone()
    }

    pub fn set_error_rate(&self, rate: f64) {
        self.inner().config.error_rate = rate;
    }

    pub fn set_reset_rate(&self, rate: f64) {
        self.inner().config.reset_rate = rate;
    }

    pub fn set_latency(&self, latency: Duration) {
        self.inner().config.latency = latency;
    }

    /// Whether ingest attempt number `attempt` (1-based) of a source fails transiently.
    pub fn ingest_fails(&self, attempt: u32) -> bool {
        let mut g = self.inner();
        if attempt <= g.config.ingest_transient_times {
            return true;
        }
        let rate = g.config.ingest_transient;
        rate > 0.0 && next_unit(&mut g.rng) < rate
    }

    /// The next `n` requests get 503 `ServerBusy` regardless of rates.
    pub fn fail_next(&self, n: u32) {
        self.inner().fail_next = n;
    }

    /// Latency to apply and the fault for one request.
    pub fn decide(&self) -> (Duration, Fault) {
        let mut g = self.inner();
        let latency = g.config.latency;
        if g.fail_next > 0 {
            g.fail_next -= 1;
            return (latency, Fault::ServerBusy);
        }
        let (err, reset) = (g.config.error_rate, g.config.reset_rate);
        if err <= 0.0 && reset <= 0.0 {
            return (latency, Fault::None);
        }
        let x = next_unit(&mut g.rng);
        let fault = if x < err {
            Fault::ServerBusy
        } else if x < err + reset {
            Fault::Reset
        } else {
            Fault::None
        };
        (latency, fault)
    }
}

/// splitmix64 mapped to `[0, 1)`: tiny, seedable, good enough for fault injection.
fn next_unit(state: &mut u64) -> f64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_by_default_and_rates_at_the_extremes() {
        let f = Faults::new();
        assert!((0..100).all(|_| f.decide().1 == Fault::None));
        f.set_error_rate(1.0);
        assert!((0..100).all(|_| f.decide().1 == Fault::ServerBusy));
        f.set_error_rate(0.0);
        f.set_reset_rate(1.0);
        assert!((0..100).all(|_| f.decide().1 == Fault::Reset));
    }

    #[test]
    fn fail_next_is_exact() {
        let f = Faults::new();
        f.fail_next(2);
        assert_eq!(f.decide().1, Fault::ServerBusy);
        assert_eq!(f.decide().1, Fault::ServerBusy);
        assert_eq!(f.decide().1, Fault::None);
    }

    #[test]
    fn spec_parses_round_trips_and_names_bad_items() {
        let c = FaultConfig::parse(
            "ingest-transient=0.3, ingest-transient-times=2,storage-busy=0.1,storage-reset=0,storage-latency-ms=5",
        )
        .unwrap();
        assert_eq!(c.ingest_transient, 0.3);
        assert_eq!(c.ingest_transient_times, 2);
        assert_eq!(c.error_rate, 0.1);
        assert_eq!(c.latency, Duration::from_millis(5));
        assert_eq!(FaultConfig::parse(&c.to_spec()).unwrap(), c);
        assert_eq!(FaultConfig::parse("none").unwrap(), FaultConfig::default());
        assert_eq!(FaultConfig::parse("").unwrap(), FaultConfig::default());
        for (spec, item) in [
            ("ingest-transient=2", "ingest-transient=2"),
            ("storage-busy=0.1,bogus=1", "bogus=1"),
            ("ingest-transient-times=-1", "ingest-transient-times=-1"),
            ("ingest-transient", "ingest-transient"),
        ] {
            let e = FaultConfig::parse(spec).unwrap_err();
            assert_eq!(e.item, item);
            assert!(e.to_string().contains(item), "{e}");
        }
    }

    #[test]
    fn ingest_faults_by_count_then_by_rate() {
        let f = Faults::new();
        assert!(!f.ingest_fails(1));
        f.set(FaultConfig::parse("ingest-transient-times=2").unwrap());
        assert!(f.ingest_fails(1) && f.ingest_fails(2) && !f.ingest_fails(3));
        f.set(FaultConfig::parse("ingest-transient=1").unwrap());
        assert!((1..50).all(|a| f.ingest_fails(a)));
    }

    #[test]
    fn half_rate_is_roughly_half_and_reproducible() {
        let run = || {
            let f = Faults::with_seed(7);
            f.set_error_rate(0.5);
            (0..1000)
                .filter(|_| f.decide().1 == Fault::ServerBusy)
                .count()
        };
        let n = run();
        assert_eq!(n, run());
        assert!((400..600).contains(&n), "{n}");
    }
}
