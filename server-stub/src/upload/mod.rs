//! Resumable ingest: the tus 1.0.0 endpoint and the pieces it is made of (header parsing,
//! `Upload-Metadata`, per-upload locks and running hashes).

pub mod headers;
pub mod tus;
