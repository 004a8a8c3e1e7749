//! Which files we accept and what they are: extension → MIME type → Immich asset type.
//! The lists follow Immich's `/api/server/media-types`. Submodules read what is inside a file:
//! [`exif`] (photo metadata), [`video`] (ffprobe / ffmpeg), [`thumbs`] (previews, thumbnails,
//! thumbhash).

pub mod exif;
pub mod thumbs;
pub mod video;
pub mod xmp;

pub const IMAGE_EXTS: &[&str] = &[
    ".3fr", ".ari", ".arw", ".avif", ".bmp", ".cap", ".cin", ".cr2", ".cr3", ".crw", ".dcr",
    ".dng", ".erf", ".fff", ".gif", ".heic", ".heif", ".hif", ".iiq", ".insp", ".jp2", ".jpe",
    ".jpeg", ".jpg", ".jxl", ".k25", ".kdc", ".mrw", ".nef", ".nrw", ".orf", ".ori", ".pef",
    ".png", ".psd", ".raf", ".raw", ".rw2", ".rwl", ".sr2", ".srf", ".srw", ".svg", ".tif",
    ".tiff", ".webp", ".x3f",
];
pub const VIDEO_EXTS: &[&str] = &[
    ".3gp", ".3gpp", ".avi", ".flv", ".insv", ".m2t", ".m2ts", ".m4v", ".mkv", ".mov", ".mp4",
    ".mpe", ".mpeg", ".mpg", ".mts", ".vob", ".webm", ".wmv",
];
pub const SIDECAR_EXTS: &[&str] = &[".xmp"];

fn extension(file_name: &str) -> Option<String> {
    let name = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
    name.rfind('.').map(|i| name[i..].to_ascii_lowercase())
}

/// MIME type for a client file name, `application/octet-stream` when unknown.
pub fn mime_for(file_name: &str) -> String {
    let Some(ext) = extension(file_name) else {
        return "application/octet-stream".into();
    };
    let special = match ext.as_str() {
        ".heic" | ".hif" => Some("image/heic"),
        ".heif" => Some("image/heif"),
        ".dng" => Some("image/x-adobe-dng"),
        ".insp" => Some("image/jpeg"),
        ".insv" | ".mp4" => Some("video/mp4"),
        ".mts" | ".m2ts" | ".m2t" => Some("video/mp2t"),
        ".jxl" => Some("image/jxl"),
        ".avif" => Some("image/avif"),
        _ => None,
    };
    if let Some(m) = special {
        return m.into();
    }
    mime_guess::from_ext(ext.trim_start_matches('.'))
        .first()
        .map(|m| m.essence_str().to_owned())
        .unwrap_or_else(|| "application/octet-stream".into())
}

/// Immich asset type: `IMAGE`, `VIDEO` or `OTHER`, from extension first, then MIME type.
pub fn asset_type(file_name: &str, mime: &str) -> &'static str {
    match extension(file_name) {
        Some(e) if IMAGE_EXTS.contains(&e.as_str()) => "IMAGE",
        Some(e) if VIDEO_EXTS.contains(&e.as_str()) => "VIDEO",
        _ if mime.starts_with("image/") => "IMAGE",
        _ if mime.starts_with("video/") => "VIDEO",
        _ => "OTHER",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_from_names() {
        assert_eq!(mime_for("IMG_1.JPG"), "image/jpeg");
        assert_eq!(mime_for("a.heic"), "image/heic");
        assert_eq!(mime_for("clip.mov"), "video/quicktime");
        assert_eq!(mime_for("noext"), "application/octet-stream");
        assert_eq!(asset_type("x.mp4", "video/mp4"), "VIDEO");
        assert_eq!(asset_type("x.png", "image/png"), "IMAGE");
        assert_eq!(asset_type("x.txt", "text/plain"), "OTHER");
        assert_eq!(
            asset_type("../../etc/passwd", "application/octet-stream"),
            "OTHER"
        );
    }
}
