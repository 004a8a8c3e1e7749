//! `shoebox-ffi`: the one uniffi crate wrapping `shoebox-core` for Kotlin (Android) and Swift
//! (iOS). Proc-macro style: no UDL. The core stays free of uniffi; this crate holds
//!
//! - [`Shoebox`]: the facade the apps hold (backup, albums, policy, status, offline timeline,
//!   thumbnails), built from a [`ShoeboxConfig`]; plus [`login`] (email + password → API key);
//! - the foreign traits the apps implement: [`PhotoLibrary`] (MediaStore / PhotoKit) and
//!   [`ProgressObserver`];
//! - mirror records/enums of the core's types and the error enums [`ShoeboxError`] (message +
//!   hint for the UI) and [`PhotoLibraryError`].
//!
//! `make bindings` generates Kotlin and Swift from the built library with `bindings/uniffi-bindgen`.

uniffi::setup_scaffolding!();

mod error;
mod platform;
mod shoebox;
mod types;

pub use error::{PhotoLibraryError, ShoeboxError};
pub use platform::{PhotoLibrary, ProgressObserver};
pub use shoebox::{Prefetch, Shoebox, core_version, login};
pub use shoebox_core as core;
pub use types::*;
