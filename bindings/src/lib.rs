//! `shoebox-ffi`: the one uniffi crate wrapping `shoebox-core` for Kotlin and Swift.
//!
//! The uniffi surface (facade object, foreign `PhotoLibrary`, progress observer) arrives with the
//! bindings issue; until then this crate only proves the dependency direction ffi → core builds.

pub use shoebox_core as core;
