//! The pure core of the TUI: `State`, `Msg`, `Effect`, the key binding table and `update()`.
//! No tokio, no I/O, no clock reads: time arrives in `Msg`s.

pub mod effect;
#[doc(hidden)]
pub mod fixtures;
pub mod form;
pub mod keymap;
pub mod msg;
pub mod ring;
pub mod state;
pub mod update;

#[cfg(test)]
mod tests;

pub use effect::Effect;
pub use msg::Msg;
pub use state::State;
pub use update::{start, update};
