//! One file per command.

pub mod bulk;
pub mod check;
pub mod completions;
pub mod config;
pub mod demo;
pub mod emulator;
pub mod gateway;
pub mod inbox;
pub mod mgmt;
pub mod queue;
pub mod resources;
pub mod resubmit;
pub mod status;
pub mod status_scan;
pub mod submit;
pub mod tui;
pub mod watch;
