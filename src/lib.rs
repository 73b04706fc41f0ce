//! kingest: run and troubleshoot Azure Data Explorer (Kusto) queued ingestion.

pub mod app;
pub mod client;
pub mod emulator;
pub mod runtime;
pub mod ui;
