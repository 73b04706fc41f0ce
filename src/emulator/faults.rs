//! Injected faults for the storage endpoints: latency, 5xx (ServerBusy), connection resets.
//! All off by default; settable at run time (tests, `kingest emulator --faults`).

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
