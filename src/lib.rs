//! kingest: run and troubleshoot Azure Data Explorer (Kusto) queued ingestion.

pub mod app;
pub mod cli;
pub mod client;
pub mod config;
pub mod demo;
pub mod emulator;
pub mod runtime;
pub mod tui;
pub mod ui;
