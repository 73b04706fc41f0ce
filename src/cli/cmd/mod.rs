//! One file per command.

pub mod bulk;
pub mod check;
pub mod completions;
pub mod config;
pub mod demo;
pub mod emulator;
pub mod gateway;
pub mod mgmt;
pub mod queue;
pub mod resources;
pub mod status;
pub mod submit;
pub mod tui;
pub mod watch;
