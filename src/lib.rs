//! kingest: run and troubleshoot Azure Data Explorer (Kusto) queued ingestion.
//!
//! Layout: [`client`] speaks to the service (shared by every front door; [`client::tracking`]
//! is the one per-source state machine), [`app`] is the pure TUI state and `update()`, [`ui`]
//! renders it, [`runtime`] runs the loop and effects, [`tui`] starts it, [`cli`] parses,
//! resolves configuration once and runs one command per file in `cli::cmd`, [`demo`] holds the
//! demo's scenarios and traffic, [`emulator`] models the service, [`gateway`] serves the REST
//! queued API in front of a classic cluster, and [`sanitize`] is the one
//! gate every untrusted string passes on its way to a terminal (it redacts too).

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod app;
pub mod cli;
pub mod client;
pub mod config;
pub mod demo;
pub mod emulator;
#[doc(hidden)]
pub mod fuzzing;
pub mod gateway;
pub mod runtime;
pub mod sanitize;
pub mod tui;
pub mod ui;
