//! Injected faults for the storage endpoints: latency, 5xx (ServerBusy), connection resets.

#[derive(Debug, Default)]
pub struct Faults {}
