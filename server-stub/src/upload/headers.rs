//! Parsing of tus request headers. Every numeric header is parsed strictly (digits only, fits in
//! a signed 64-bit integer), so negative, overflowing or padded values are 400s.

use crate::assets::AssetMeta;
use crate::error::{ApiError, ApiResult};
use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

pub const TUS_VERSION: &str = "1.0.0";
pub const OFFSET_OCTET_STREAM: &str = "application/offset+octet-stream";
const MAX_METADATA: usize = 16 * 1024;

fn header<'a>(headers: &'a HeaderMap, name: &str) -> ApiResult<Option<&'a str>> {
    headers
        .get(name)
        .map(|v| {
            v.to_str()
                .map_err(|_| ApiError::bad_request(format!("{name} is not valid ASCII")))
        })
        .transpose()
}

/// 412 unless `Tus-Resumable: 1.0.0`.
pub fn check_version(headers: &HeaderMap) -> ApiResult<()> {
    match header(headers, "tus-resumable")? {
        Some(v) if v.trim() == TUS_VERSION => Ok(()),
        Some(v) => Err(ApiError::UnsupportedTusVersion(format!(
            "Tus-Resumable {v} is not supported; this server speaks {TUS_VERSION}"
        ))),
        None => Err(ApiError::UnsupportedTusVersion(format!(
            "Tus-Resumable header missing; this server speaks {TUS_VERSION}"
        ))),
    }
}

/// A non-negative integer header; 400 on anything but plain digits within `i64`.
pub fn u64_header(headers: &HeaderMap, name: &str) -> ApiResult<Option<u64>> {
    let Some(v) = header(headers, name)? else {
        return Ok(None);
    };
    let v = v.trim();
    let bad = || ApiError::bad_request(format!("{name} must be a non-negative integer"));
    if v.is_empty() || v.len() > 19 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n: u64 = v.parse().map_err(|_| bad())?;
    if n > i64::MAX as u64 {
        return Err(bad());
    }
    Ok(Some(n))
}

pub fn is_offset_stream(headers: &HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(OFFSET_OCTET_STREAM))
}

/// `Upload-Checksum: sha1 <base64>` → the expected digest. 400 for another algorithm or a
/// malformed value (the tus checksum extension says so).
pub fn upload_checksum(headers: &HeaderMap) -> ApiResult<Option<[u8; 20]>> {
    let Some(v) = header(headers, "upload-checksum")? else {
        return Ok(None);
    };
    let (algo, digest) = v
        .trim()
        .split_once(' ')
        .ok_or_else(|| ApiError::bad_request("Upload-Checksum must be '<algorithm> <base64>'"))?;
    if !algo.eq_ignore_ascii_case("sha1") {
        return Err(ApiError::bad_request(format!(
            "checksum algorithm {algo} is not supported; use sha1"
        )));
    }
    STANDARD
        .decode(digest.trim())
        .ok()
        .and_then(|d| <[u8; 20]>::try_from(d).ok())
        .map(Some)
        .ok_or_else(|| ApiError::bad_request("Upload-Checksum digest is not a base64 SHA-1"))
}

/// Parses `Upload-Metadata` (`key base64,key2 base64,flag`) into what we know of the asset.
pub fn metadata(raw: &str) -> ApiResult<AssetMeta> {
    if raw.len() > MAX_METADATA {
        return Err(ApiError::bad_request("Upload-Metadata is too large"));
    }
    let mut meta = AssetMeta::default();
    for pair in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = match pair.split_once(' ') {
            Some((k, v)) => (k, v.trim()),
            None => (pair, ""),
        };
        let bytes = STANDARD
            .decode(value)
            .map_err(|_| ApiError::bad_request(format!("Upload-Metadata {key} is not base64")))?;
        let value = String::from_utf8(bytes)
            .map_err(|_| ApiError::bad_request(format!("Upload-Metadata {key} is not UTF-8")))?;
        match key {
            "filename" | "name" => meta.file_name = value,
            "filetype" | "type" => meta.mime = Some(value),
            "checksum" | "sha1" => meta.checksum = Some(value),
            "deviceAssetId" => meta.device_asset_id = value,
            "deviceId" => meta.device_id = value,
            "fileCreatedAt" => meta.file_created_at = Some(value),
            "fileModifiedAt" => meta.file_modified_at = Some(value),
            "isFavorite" => meta.is_favorite = value == "true",
            "visibility" => meta.visibility = Some(value),
            "duration" => meta.duration = Some(value),
            "albums" => {
                meta.albums = serde_json::from_str(&value).map_err(|_| {
                    ApiError::bad_request("Upload-Metadata albums must be a JSON array of names")
                })?
            }
            _ => {}
        }
    }
    meta.validate()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with(name: &'static str, v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn offsets_are_strict() {
        assert_eq!(
            u64_header(&with("upload-offset", "42"), "upload-offset").unwrap(),
            Some(42)
        );
        for bad in [
            "-1",
            "+1",
            "1.0",
            "",
            "99999999999999999999999",
            "9223372036854775808",
            "0x10",
        ] {
            assert!(
                u64_header(&with("upload-offset", bad), "upload-offset").is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn checksum_header() {
        let h = with("upload-checksum", "sha1 Kq5sNclPz7QV2+lfQIuc6R7oRu0=");
        assert_eq!(
            hex::encode(upload_checksum(&h).unwrap().unwrap()),
            "2aae6c35c94fcfb415dbe95f408b9ce91ee846ed"
        );
        assert!(upload_checksum(&with("upload-checksum", "md5 abc")).is_err());
        assert!(upload_checksum(&with("upload-checksum", "sha1 !!!")).is_err());
    }

    #[test]
    fn metadata_pairs() {
        let b = |s: &str| STANDARD.encode(s);
        let raw = format!(
            "filename {},checksum {},albums {},flag,deviceAssetId {}",
            b("../x/IMG 1.jpg"),
            b("2aae6c35c94fcfb415dbe95f408b9ce91ee846ed"),
            b("[\"Trip\",\"Best\"]"),
            b("42")
        );
        let m = metadata(&raw).unwrap();
        assert_eq!(m.file_name, "IMG 1.jpg");
        assert_eq!(m.albums, vec!["Trip", "Best"]);
        assert_eq!(m.device_asset_id, "42");
        assert!(m.checksum_bytes().is_some());
        assert!(metadata("filename %%%").is_err());
        assert!(metadata(&format!("albums {}", b("nope"))).is_err());
    }
}
