//! The emulator's HTTP surface: Kusto mgmt and path-style Azure Storage on one listener.

pub mod storage;
