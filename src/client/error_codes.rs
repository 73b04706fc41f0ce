//! Catalogue of IngestionErrorCode names (protocol.md §7.3).
