//! Wall time derived from tokio's monotonic clock, so a test with `tokio::time::pause()` gets
//! a consistent, controllable `now`.

use chrono::{DateTime, Utc};
use tokio::time::Instant;

#[derive(Debug, Clone, Copy)]
pub struct Clock {
    base_utc: DateTime<Utc>,
    base: Instant,
}

impl Clock {
    pub fn system() -> Self {
        Self::starting_at(Utc::now())
    }

    pub fn starting_at(base_utc: DateTime<Utc>) -> Self {
        Clock {
            base_utc,
            base: Instant::now(),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        let elapsed = chrono::Duration::from_std(self.base.elapsed()).unwrap_or_default();
        self.base_utc + elapsed
    }

    /// The tokio instant of a wall time (past times map to the base instant or later).
    pub fn instant_at(&self, t: DateTime<Utc>) -> Instant {
        let offset = (t - self.base_utc).to_std().unwrap_or_default();
        self.base + offset
    }
}
