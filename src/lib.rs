//! kingest: run and troubleshoot Azure Data Explorer (Kusto) queued ingestion.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod app;
pub mod cli;
pub mod client;
pub mod config;
pub mod demo;
pub mod emulator;
pub mod runtime;
pub mod tui;
pub mod ui;
