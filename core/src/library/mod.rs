//! The photo library as the core sees it: albums, assets with their album memberships, and a
//! way to read bytes. The phone apps implement `PhotoLibrary` over MediaStore / PhotoKit; the
//! desktop CLI and the tests use `FsLibrary` over a folder tree.
//!
//! Reads are by (offset, length) so the trait maps onto a foreign-language implementation
//! without passing stream objects across the FFI boundary.

pub mod fs;

use crate::error::CoreResult;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Album {
    /// Stable id within the library (MediaStore bucket id, PhotoKit collection id, folder path).
    pub id: String,
    /// The name shown to the user and used for the server album.
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    Image,
    Video,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalAsset {
    /// Stable id within the library.
    pub local_id: String,
    /// The original file name.
    pub file_name: String,
    /// Ids of the albums the asset is in.
    pub album_ids: Vec<String>,
    pub size: u64,
    /// Last modification, milliseconds since the epoch.
    pub modified_ms: i64,
    /// When the photo or video was taken (or created), milliseconds since the epoch.
    pub created_ms: i64,
    pub media_type: MediaType,
}

/// Current size and modification time of an asset, or `None` when it is gone.
pub type Stat = Option<(u64, i64)>;

pub trait PhotoLibrary: Send + Sync {
    fn albums(&self) -> CoreResult<Vec<Album>>;
    /// Every asset with its album memberships. Only metadata: no bytes are read.
    fn assets(&self) -> CoreResult<Vec<LocalAsset>>;
    /// Size and modification time now, to detect changes without reading bytes.
    fn stat(&self, local_id: &str) -> CoreResult<Stat>;
    /// Up to `len` bytes from `offset`; fewer only at the end of the asset.
    fn read(&self, local_id: &str, offset: u64, len: u32) -> CoreResult<Vec<u8>>;
}
