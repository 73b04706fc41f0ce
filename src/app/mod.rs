//! The pure core of the TUI: `State`, `Msg`, `Effect`, the key binding table and `update()`.
//! No tokio, no I/O, no clock reads: time arrives in `Msg`s.

pub mod bulk;
pub mod cluster;
pub mod effect;
pub mod export;
pub mod filter;
#[doc(hidden)]
/// Fixed states for tests; not part of release builds (the `test-fixtures` feature, which
/// the crate's own dev-dependency on itself turns on for `tests/`).
#[cfg(any(test, feature = "test-fixtures"))]
pub mod fixtures;
pub mod form;
pub mod keymap;
pub mod msg;
pub mod ring;
pub mod state;
pub mod stream;
pub mod update;

#[cfg(test)]
mod tests;

pub use effect::Effect;
pub use msg::Msg;
pub use state::State;
pub use update::{start, update};
