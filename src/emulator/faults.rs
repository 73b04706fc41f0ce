//! Injected faults. Per request (storage and mgmt HTTP): 5xx with Retry-After, connection
//! resets before or after the request was handled, latency, stalls, slow bodies. Per ingestion
//! (the DM): transient failures and duplicate deliveries of a queue message. All off by
//! default; set at start (`kingest emulator --faults SPEC`, `KINGEST_EMULATOR_FAULTS`) or at
//! run time (the mgmt command `.set emulator faults 'SPEC'`, [`Faults::set`]).
//!
//! [`FaultConfig::parse`] reads SPEC; [`Faults`] makes the (seedable) random choices and counts
//! what it injected. How a choice is applied to an HTTP exchange is `http::inject`'s business.
//! Requests of the emulator's own DM are exempt ([`Faults::is_internal`]): a real DM does not
//! sit behind the client's network.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// What to inject. Rates are probabilities in `0.0..=1.0`; the per-request rates together at
/// most 1 (one draw per request picks at most one of them).
#[derive(Debug, Clone, PartialEq)]
pub struct FaultConfig {
    /// `http5xx`: answer 503 (storage `ServerBusy`, mgmt OneApi) without handling the request.
    pub http_5xx: f64,
    /// `retry-after`: seconds in the Retry-After header of those 503s.
    pub retry_after: u32,
    /// `reset`: handle the request, then break the connection before the answer is complete
    /// (the ambiguous case: a Put Message landed, the client cannot know).
    pub reset: f64,
    /// `reset-before`: break the connection without handling the request.
    pub reset_before: f64,
    /// `latency`: delay before every request is handled.
    pub latency: Duration,
    /// `stall`: accept the request and never answer, until the client gives up.
    pub stall: f64,
    /// `slow-body`: handle the request, then trickle the answer's body.
    pub slow_body: f64,
    /// `ingest-transient`: probability that one ingest attempt of a source fails transiently.
    pub ingest_transient: f64,
    /// `ingest-transient-times`: the first N ingest attempts of every source fail (deterministic).
    pub ingest_transient_times: u32,
    /// `duplicate-delivery`: probability that the DM gets a queue message twice (Azure queues
    /// deliver at least once); the second copy arrives after the first was processed.
    pub duplicate_delivery: f64,
    /// `seed`: restart the random choices from this seed (reproducible runs).
    pub seed: Option<u64>,
}

impl Default for FaultConfig {
    fn default() -> Self {
        FaultConfig {
            http_5xx: 0.0,
            retry_after: DEFAULT_RETRY_AFTER,
            reset: 0.0,
            reset_before: 0.0,
            latency: Duration::ZERO,
            stall: 0.0,
            slow_body: 0.0,
            ingest_transient: 0.0,
            ingest_transient_times: 0,
            duplicate_delivery: 0.0,
            seed: None,
        }
    }
}

const DEFAULT_RETRY_AFTER: u32 = 1;
/// Retry-After beyond an hour is not a fault a soak wants; refuse it as a typo.
const MAX_RETRY_AFTER: u32 = 3600;
const MAX_LATENCY: Duration = Duration::from_secs(600);

/// A SPEC item that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("fault spec item '{item}': {reason}")]
pub struct FaultSpecError {
    pub item: String,
    pub reason: String,
}

/// The names SPEC understands (older names still read: `storage-busy` = `http5xx`,
/// `storage-reset` = `reset`, `storage-latency-ms=MS` = `latency=MSms`).
pub const FAULT_NAMES: &str = "http5xx, retry-after, reset, reset-before, latency, stall, \
     slow-body, ingest-transient, ingest-transient-times, duplicate-delivery, seed";

/// `200ms`, `2s`, `1.5s`, `0`: a duration with its unit.
fn parse_duration(v: &str) -> Option<Duration> {
    let (num, scale) = if let Some(n) = v.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1.0)
    } else if v == "0" {
        (v, 0.0)
    } else {
        return None;
    };
    let x: f64 = num.trim().parse().ok()?;
    (x.is_finite() && x >= 0.0)
        .then(|| Duration::from_secs_f64(x * scale))
        .filter(|d| *d <= MAX_LATENCY)
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
        let mut seen: Vec<&'static str> = Vec::new();
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
            let canonical: &'static str = match name.trim().to_ascii_lowercase().as_str() {
                "http5xx" | "storage-busy" => {
                    c.http_5xx = rate()?;
                    "http5xx"
                }
                "retry-after" => {
                    c.retry_after = count().and_then(|n| {
                        if n <= MAX_RETRY_AFTER {
                            Ok(n)
                        } else {
                            Err(err("expected at most 3600 seconds"))
                        }
                    })?;
                    "retry-after"
                }
                "reset" | "storage-reset" => {
                    c.reset = rate()?;
                    "reset"
                }
                "reset-before" => {
                    c.reset_before = rate()?;
                    "reset-before"
                }
                "latency" => {
                    c.latency = parse_duration(value).ok_or_else(|| {
                        err("expected a duration such as 200ms or 2s (at most 600s)")
                    })?;
                    "latency"
                }
                "storage-latency-ms" => {
                    c.latency = Duration::from_millis(u64::from(count()?)).min(MAX_LATENCY);
                    "latency"
                }
                "stall" => {
                    c.stall = rate()?;
                    "stall"
                }
                "slow-body" => {
                    c.slow_body = rate()?;
                    "slow-body"
                }
                "ingest-transient" => {
                    c.ingest_transient = rate()?;
                    "ingest-transient"
                }
                "ingest-transient-times" => {
                    c.ingest_transient_times = count()?;
                    "ingest-transient-times"
                }
                "duplicate-delivery" => {
                    c.duplicate_delivery = rate()?;
                    "duplicate-delivery"
                }
                "seed" => {
                    c.seed = Some(
                        value
                            .parse::<u64>()
                            .map_err(|_| err("expected a whole number"))?,
                    );
                    "seed"
                }
                _ => {
                    return Err(err(&format!("unknown fault name (known: {FAULT_NAMES})")));
                }
            };
            if seen.contains(&canonical) {
                return Err(err("given twice"));
            }
            seen.push(canonical);
            if c.request_rate_sum() > 1.0 + 1e-9 {
                return Err(err(
                    "the per-request rates (http5xx, reset, reset-before, stall, slow-body) \
                     add up to more than 1",
                ));
            }
        }
        Ok(c)
    }

    fn request_rate_sum(&self) -> f64 {
        self.http_5xx + self.reset + self.reset_before + self.stall + self.slow_body
    }

    /// The SPEC that [`FaultConfig::parse`] reads back into this config (canonical names,
    /// only what differs from no faults).
    pub fn to_spec(&self) -> String {
        let mut items = Vec::new();
        let mut rate = |name: &str, r: f64| {
            if r > 0.0 {
                items.push(format!("{name}={r}"));
            }
        };
        rate("http5xx", self.http_5xx);
        rate("reset", self.reset);
        rate("reset-before", self.reset_before);
        rate("stall", self.stall);
        rate("slow-body", self.slow_body);
        rate("ingest-transient", self.ingest_transient);
        rate("duplicate-delivery", self.duplicate_delivery);
        if self.retry_after != DEFAULT_RETRY_AFTER {
            items.push(format!("retry-after={}", self.retry_after));
        }
        if !self.latency.is_zero() {
            items.push(format!("latency={}ms", self.latency.as_millis()));
        }
        if self.ingest_transient_times > 0 {
            items.push(format!(
                "ingest-transient-times={}",
                self.ingest_transient_times
            ));
        }
        if let Some(s) = self.seed {
            items.push(format!("seed={s}"));
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
    /// 503 with `Retry-After: secs`.
    ServerBusy {
        retry_after: u32,
    },
    /// Handle the request, then break the connection.
    Reset,
    /// Break the connection without handling the request.
    ResetBefore,
    /// Never answer.
    Stall,
    /// Handle the request, trickle the answer.
    SlowBody,
}

impl Fault {
    /// The counter name (the SPEC name) of an injected fault.
    pub fn name(self) -> Option<&'static str> {
        match self {
            Fault::None => None,
            Fault::ServerBusy { .. } => Some("http5xx"),
            Fault::Reset => Some("reset"),
            Fault::ResetBefore => Some("reset-before"),
            Fault::Stall => Some("stall"),
            Fault::SlowBody => Some("slow-body"),
        }
    }
}

/// The header the emulator's own DM sends so its requests are exempt from faults.
pub const INTERNAL_HEADER: &str = "x-kingest-emulator-internal";

#[derive(Debug)]
struct Inner {
    config: FaultConfig,
    /// Deterministic 503s still to answer, before any random ones.
    fail_next: u32,
    rng: u64,
    /// What was injected, by SPEC name.
    injected: BTreeMap<&'static str, u64>,
}

impl Inner {
    fn count(&mut self, name: &'static str) {
        *self.injected.entry(name).or_default() += 1;
    }
}

#[derive(Debug)]
pub struct Faults {
    inner: Mutex<Inner>,
    /// The value of [`INTERNAL_HEADER`] on the DM's requests: random per emulator, so a
    /// client cannot opt out of faults by guessing it.
    internal_token: String,
    /// Cancelled at shutdown: stalled requests then end.
    released: CancellationToken,
}

const DEFAULT_SEED: u64 = 0x9E37_79B9_7F4A_7C15;

impl Default for Faults {
    fn default() -> Self {
        Faults::with_seed(DEFAULT_SEED)
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
                injected: BTreeMap::new(),
            }),
            internal_token: uuid::Uuid::new_v4().simple().to_string(),
            released: CancellationToken::new(),
        }
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Replaces the config; a config with a `seed` restarts the random choices from it.
    pub fn set(&self, config: FaultConfig) {
        let mut g = self.inner();
        if let Some(seed) = config.seed {
            g.rng = seed;
        }
        g.config = config;
    }

    pub fn config(&self) -> FaultConfig {
        self.inner().config.clone()
    }

    pub fn set_error_rate(&self, rate: f64) {
        self.inner().config.http_5xx = rate;
    }

    pub fn set_reset_rate(&self, rate: f64) {
        self.inner().config.reset = rate;
    }

    pub fn set_latency(&self, latency: Duration) {
        self.inner().config.latency = latency;
    }

    /// What was injected so far, by SPEC name (`latency` counts delayed requests).
    pub fn injected(&self) -> BTreeMap<&'static str, u64> {
        self.inner().injected.clone()
    }

    /// The header value the DM's HTTP client sends (see [`INTERNAL_HEADER`]).
    pub fn internal_token(&self) -> &str {
        &self.internal_token
    }

    /// Whether a request came from the emulator's own DM.
    pub fn is_internal(&self, headers: &axum::http::HeaderMap) -> bool {
        headers
            .get(INTERNAL_HEADER)
            .is_some_and(|v| v.as_bytes() == self.internal_token.as_bytes())
    }

    /// Ends every stalled request (at shutdown) and stops stalling new ones.
    pub fn release_stalls(&self) {
        self.released.cancel();
    }

    /// Resolves when stalls are released.
    pub async fn stalls_released(&self) {
        self.released.cancelled().await;
    }

    /// Whether ingest attempt number `attempt` (1-based) of a source fails transiently.
    pub fn ingest_fails(&self, attempt: u32) -> bool {
        let mut g = self.inner();
        let fails = attempt <= g.config.ingest_transient_times || {
            let rate = g.config.ingest_transient;
            rate > 0.0 && next_unit(&mut g.rng) < rate
        };
        if fails {
            g.count("ingest-transient");
        }
        fails
    }

    /// Whether a dequeued message is to be delivered a second time.
    pub fn duplicate_delivery(&self) -> bool {
        let mut g = self.inner();
        let rate = g.config.duplicate_delivery;
        let dup = rate > 0.0 && next_unit(&mut g.rng) < rate;
        if dup {
            g.count("duplicate-delivery");
        }
        dup
    }

    /// The next `n` requests get 503 `ServerBusy` regardless of rates.
    pub fn fail_next(&self, n: u32) {
        self.inner().fail_next = n;
    }

    /// Latency to apply and the fault for one (non-internal) request; both counted.
    pub fn decide(&self) -> (Duration, Fault) {
        let mut g = self.inner();
        let latency = g.config.latency;
        if !latency.is_zero() {
            g.count("latency");
        }
        let retry_after = g.config.retry_after;
        let fault = if g.fail_next > 0 {
            g.fail_next -= 1;
            Fault::ServerBusy { retry_after }
        } else if g.config.request_rate_sum() <= 0.0 {
            Fault::None
        } else {
            let x = next_unit(&mut g.rng);
            let c = &g.config;
            let mut edge = 0.0;
            [
                (c.http_5xx, Fault::ServerBusy { retry_after }),
                (c.reset, Fault::Reset),
                (c.reset_before, Fault::ResetBefore),
                (c.stall, Fault::Stall),
                (c.slow_body, Fault::SlowBody),
            ]
            .into_iter()
            .find(|(rate, _)| {
                edge += rate;
                x < edge
            })
            .map_or(Fault::None, |(_, f)| f)
        };
        if let Some(name) = fault.name() {
            g.count(name);
        }
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

    const ISSUE_SPEC: &str = "http5xx=0.1,retry-after=2,reset=0.05,latency=200ms,stall=0.01,\
                              slow-body=0.05,ingest-transient=0.05,duplicate-delivery=0.02";

    #[test]
    fn off_by_default_and_rates_at_the_extremes() {
        let f = Faults::new();
        assert!((0..100).all(|_| f.decide().1 == Fault::None));
        assert!(f.injected().is_empty());
        f.set_error_rate(1.0);
        assert!((0..100).all(|_| f.decide().1 == Fault::ServerBusy { retry_after: 1 }));
        f.set_error_rate(0.0);
        f.set_reset_rate(1.0);
        assert!((0..100).all(|_| f.decide().1 == Fault::Reset));
        for (spec, fault) in [
            ("reset-before=1", Fault::ResetBefore),
            ("stall=1", Fault::Stall),
            ("slow-body=1", Fault::SlowBody),
            (
                "http5xx=1,retry-after=7",
                Fault::ServerBusy { retry_after: 7 },
            ),
        ] {
            f.set(FaultConfig::parse(spec).unwrap());
            assert!((0..20).all(|_| f.decide().1 == fault), "{spec}");
        }
        let n = f.injected();
        assert_eq!(
            (n["http5xx"], n["reset"], n["reset-before"], n["stall"]),
            (120, 100, 20, 20)
        );
    }

    #[test]
    fn fail_next_is_exact() {
        let f = Faults::new();
        f.fail_next(2);
        assert_eq!(f.decide().1, Fault::ServerBusy { retry_after: 1 });
        assert_eq!(f.decide().1, Fault::ServerBusy { retry_after: 1 });
        assert_eq!(f.decide().1, Fault::None);
    }

    #[test]
    fn the_issue_spec_parses_and_round_trips() {
        let c = FaultConfig::parse(ISSUE_SPEC).unwrap();
        assert_eq!(c.http_5xx, 0.1);
        assert_eq!(c.retry_after, 2);
        assert_eq!(c.reset, 0.05);
        assert_eq!(c.latency, Duration::from_millis(200));
        assert_eq!(c.stall, 0.01);
        assert_eq!(c.slow_body, 0.05);
        assert_eq!(c.ingest_transient, 0.05);
        assert_eq!(c.duplicate_delivery, 0.02);
        assert_eq!(c.seed, None);
        assert_eq!(FaultConfig::parse(&c.to_spec()).unwrap(), c);
        let seeded = FaultConfig::parse("seed=42, latency=1.5s, reset-before=0.2").unwrap();
        assert_eq!(seeded.seed, Some(42));
        assert_eq!(seeded.latency, Duration::from_millis(1500));
        assert_eq!(FaultConfig::parse(&seeded.to_spec()).unwrap(), seeded);
        assert_eq!(FaultConfig::parse("none").unwrap(), FaultConfig::default());
        assert_eq!(FaultConfig::parse("").unwrap(), FaultConfig::default());
        assert_eq!(FaultConfig::default().to_spec(), "none");
    }

    #[test]
    fn older_names_still_read() {
        let c = FaultConfig::parse(
            "ingest-transient=0.3, ingest-transient-times=2,storage-busy=0.1,storage-reset=0,storage-latency-ms=5",
        )
        .unwrap();
        assert_eq!(c.ingest_transient, 0.3);
        assert_eq!(c.ingest_transient_times, 2);
        assert_eq!(c.http_5xx, 0.1);
        assert_eq!(c.latency, Duration::from_millis(5));
        assert_eq!(FaultConfig::parse(&c.to_spec()).unwrap(), c);
    }

    #[test]
    fn bad_items_are_named() {
        for (spec, item, why) in [
            ("ingest-transient=2", "ingest-transient=2", "probability"),
            ("http5xx=0.1,bogus=1", "bogus=1", "unknown fault name"),
            (
                "ingest-transient-times=-1",
                "ingest-transient-times=-1",
                "whole",
            ),
            ("stall", "stall", "NAME=VALUE"),
            ("latency=200", "latency=200", "duration"),
            ("latency=-1s", "latency=-1s", "duration"),
            ("latency=1h", "latency=1h", "duration"),
            ("retry-after=1.5", "retry-after=1.5", "whole"),
            ("retry-after=99999", "retry-after=99999", "3600"),
            ("seed=x", "seed=x", "whole"),
            ("reset=0.1,storage-reset=0.2", "storage-reset=0.2", "twice"),
            ("http5xx=0.6,stall=0.5", "stall=0.5", "more than 1"),
            ("http5xx=NaN", "http5xx=NaN", "probability"),
        ] {
            let e = FaultConfig::parse(spec).unwrap_err();
            assert_eq!(e.item, item, "{spec}");
            assert!(e.to_string().contains(item), "{e}");
            assert!(e.reason.contains(why), "{spec}: {e}");
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
        assert_eq!(f.injected()["ingest-transient"], 51);
        assert!(!f.duplicate_delivery());
        f.set(FaultConfig::parse("duplicate-delivery=1").unwrap());
        assert!(f.duplicate_delivery());
        assert_eq!(f.injected()["duplicate-delivery"], 1);
    }

    #[test]
    fn rates_are_roughly_right_and_a_seed_reproduces_them() {
        let run = |spec: &str| {
            let f = Faults::with_seed(1);
            f.set(FaultConfig::parse(spec).unwrap());
            (0..2000).map(|_| f.decide().1).collect::<Vec<_>>()
        };
        let a = run(&format!("{ISSUE_SPEC},seed=42"));
        assert_eq!(a, run(&format!("{ISSUE_SPEC},seed=42")));
        assert_ne!(a, run(&format!("{ISSUE_SPEC},seed=43")));
        let busy = a
            .iter()
            .filter(|f| matches!(f, Fault::ServerBusy { retry_after: 2 }))
            .count();
        assert!((140..260).contains(&busy), "{busy}");
        let none = a.iter().filter(|f| **f == Fault::None).count();
        assert!((1480..1720).contains(&none), "{none}");
    }

    #[test]
    fn internal_requests_are_recognised_by_their_token_only() {
        let f = Faults::new();
        let mut h = axum::http::HeaderMap::new();
        assert!(!f.is_internal(&h));
        h.insert(INTERNAL_HEADER, "guess".parse().unwrap());
        assert!(!f.is_internal(&h));
        h.insert(INTERNAL_HEADER, f.internal_token().parse().unwrap());
        assert!(f.is_internal(&h));
        assert!(!Faults::new().is_internal(&h), "another emulator's token");
    }
}
