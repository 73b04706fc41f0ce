//! `kingest emulator`: a local Kusto Data Management service with the Azure Storage subset it
//! needs, over real HTTP.

pub mod dm;
pub mod engine;
pub mod faults;
pub mod http;
pub mod sas;
pub mod storage;
