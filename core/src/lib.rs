//! `shoebox-core`: the client engine that the phone apps (through `shoebox-ffi`) and the desktop
//! CLI share. It owns library scanning, hashing, dedup, the upload queue and the offline timeline.
//!
//! Today it holds the content hashing that both the backup engine and the benchmarks use; the
//! backup engine and timeline issues fill in the rest.

pub mod hash;

pub use hash::{HashError, sha1_file, sha1_reader};
