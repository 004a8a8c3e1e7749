//! Wire names the client sends and reads, in one place: tus 1.0.0 headers, Shoebox's answer
//! headers, and the `Upload-Metadata` keys (the server's twin is `server-stub/src/upload/headers.rs`).

pub const TUS_VERSION: &str = "1.0.0";

pub const TUS_RESUMABLE: &str = "tus-resumable";
pub const TUS_VERSION_HEADER: &str = "tus-version";
pub const UPLOAD_OFFSET: &str = "upload-offset";
pub const UPLOAD_LENGTH: &str = "upload-length";
pub const UPLOAD_METADATA: &str = "upload-metadata";
pub const PATCH_CONTENT_TYPE: &str = "application/offset+octet-stream";

/// The asset an upload became, on the last PATCH and on HEAD (Shoebox servers).
pub const ASSET_ID: &str = "shoebox-asset-id";
/// `created` or `duplicate`.
pub const ASSET_STATUS: &str = "shoebox-asset-status";

pub mod meta {
    pub const FILENAME: &str = "filename";
    pub const CHECKSUM: &str = "checksum";
    pub const DEVICE_ASSET_ID: &str = "deviceAssetId";
    pub const DEVICE_ID: &str = "deviceId";
    pub const FILE_CREATED_AT: &str = "fileCreatedAt";
    pub const FILE_MODIFIED_AT: &str = "fileModifiedAt";
    pub const IS_FAVORITE: &str = "isFavorite";
}
