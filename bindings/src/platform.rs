//! The foreign traits the apps implement, and the thin adapters that turn them into the core's
//! traits. The core calls `PhotoLibrary` on blocking threads (never on the caller's main
//! thread) and `ProgressObserver` from its worker threads: implementations must be thread-safe
//! and should hand UI updates to the main thread themselves.

use crate::error::PhotoLibraryError;
use crate::types::{Album, AssetStat, FileFailure, LocalAsset, Progress};
use shoebox_core as core;
use shoebox_core::CoreResult;
use std::sync::Arc;

/// The device's photo library: MediaStore on Android, PhotoKit on iOS.
#[uniffi::export(foreign)]
pub trait PhotoLibrary: Send + Sync {
    /// Albums (MediaStore buckets, PhotoKit collections).
    fn albums(&self) -> Result<Vec<Album>, PhotoLibraryError>;
    /// Every asset with its album memberships; metadata only, no bytes.
    fn assets(&self) -> Result<Vec<LocalAsset>, PhotoLibraryError>;
    /// Size and modification time now; `None` when the asset is gone.
    fn stat(&self, local_id: String) -> Result<Option<AssetStat>, PhotoLibraryError>;
    /// Up to `len` bytes from `offset`; fewer only at the end of the asset.
    fn read(&self, local_id: String, offset: u64, len: u32) -> Result<Vec<u8>, PhotoLibraryError>;
}

/// Hears backup progress (throttled to about 5 reports a second; completions, failures and
/// phase changes always arrive). Called on Rust threads.
#[uniffi::export(foreign)]
pub trait ProgressObserver: Send + Sync {
    fn on_progress(&self, progress: Progress);
    fn on_file_failed(&self, failure: FileFailure);
}

pub(crate) struct LibraryAdapter(pub Arc<dyn PhotoLibrary>);

impl core::PhotoLibrary for LibraryAdapter {
    fn albums(&self) -> CoreResult<Vec<core::Album>> {
        Ok(self.0.albums()?.into_iter().map(Into::into).collect())
    }

    fn assets(&self) -> CoreResult<Vec<core::LocalAsset>> {
        Ok(self.0.assets()?.into_iter().map(Into::into).collect())
    }

    fn stat(&self, local_id: &str) -> CoreResult<core::library::Stat> {
        Ok(self
            .0
            .stat(local_id.to_owned())?
            .map(|s| (s.size, s.modified_ms)))
    }

    fn read(&self, local_id: &str, offset: u64, len: u32) -> CoreResult<Vec<u8>> {
        let bytes = self.0.read(local_id.to_owned(), offset, len)?;
        if bytes.len() > len as usize {
            return Err(core::CoreError::FileUnreadable {
                name: local_id.to_owned(),
                reason: format!(
                    "the photo library returned {} bytes for a read of {len}",
                    bytes.len()
                ),
            });
        }
        Ok(bytes)
    }
}

pub(crate) struct ObserverAdapter(pub Arc<dyn ProgressObserver>);

impl core::ProgressObserver for ObserverAdapter {
    fn on_progress(&self, progress: &core::Progress) {
        self.0.on_progress(progress.into());
    }

    fn on_file_failed(&self, failure: &core::FileFailure) {
        self.0.on_file_failed(failure.into());
    }
}
