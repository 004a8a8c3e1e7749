//! Assets: the stored-original record, its Immich JSON shape, checksum parsing, and the queries
//! every asset endpoint shares (always scoped to the owner).

pub mod device;
pub mod ingest;

use crate::error::ApiError;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rusqlite::{Connection, Row};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub const COLUMNS: &str = "id, owner_id, checksum, storage_path, original_file_name, mime_type, \
    asset_type, file_size, device_asset_id, device_id, file_created_at, file_modified_at, \
    is_favorite, visibility, duration, created_at, updated_at, deleted_at, local_date_time, \
    thumbhash, width, height, seq";

#[derive(Debug, Clone)]
pub struct Asset {
    pub id: String,
    pub owner_id: String,
    pub checksum: [u8; 20],
    pub storage_path: String,
    pub original_file_name: String,
    pub mime_type: String,
    pub asset_type: String,
    pub file_size: i64,
    pub device_asset_id: String,
    pub device_id: String,
    pub file_created_at: String,
    pub file_modified_at: String,
    pub is_favorite: bool,
    pub visibility: String,
    pub duration: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub deleted_at: Option<String>,
    pub local_date_time: Option<String>,
    pub thumbhash: Option<Vec<u8>>,
    pub width: Option<i64>,
    pub height: Option<i64>,
    /// Change number of the last insert/update (delta sync cursor).
    pub seq: i64,
    /// The `exif` row, when loaded with [`attach_exif`] and extracted.
    pub exif: Option<Exif>,
}

/// The extracted metadata of one asset (table `exif`).
#[derive(Debug, Clone, Default)]
pub struct Exif {
    pub make: Option<String>,
    pub model: Option<String>,
    pub lens_model: Option<String>,
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub orientation: Option<i64>,
    pub date_time_original: Option<String>,
    pub time_zone: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub f_number: Option<f64>,
    pub focal_length: Option<f64>,
    pub iso: Option<i64>,
    pub exposure_time: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub country: Option<String>,
}

const EXIF_COLUMNS: &str = "make, model, lens_model, width, height, orientation, \
    date_time_original, time_zone, latitude, longitude, f_number, focal_length, iso, \
    exposure_time, city, state, country";

impl Exif {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            make: r.get(0)?,
            model: r.get(1)?,
            lens_model: r.get(2)?,
            width: r.get(3)?,
            height: r.get(4)?,
            orientation: r.get(5)?,
            date_time_original: r.get(6)?,
            time_zone: r.get(7)?,
            latitude: r.get(8)?,
            longitude: r.get(9)?,
            f_number: r.get(10)?,
            focal_length: r.get(11)?,
            iso: r.get(12)?,
            exposure_time: r.get(13)?,
            city: r.get(14)?,
            state: r.get(15)?,
            country: r.get(16)?,
        })
    }
}

/// Loads the `exif` rows of `assets` (one indexed lookup each).
pub fn attach_exif(c: &Connection, assets: &mut [Asset]) -> rusqlite::Result<()> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {EXIF_COLUMNS} FROM exif WHERE asset_id = ?1"
    ))?;
    for a in assets {
        a.exif = crate::db::optional(stmt.query_row([&a.id], Exif::from_row))?;
    }
    Ok(())
}

impl Asset {
    pub fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
        let checksum: Vec<u8> = r.get(2)?;
        Ok(Self {
            id: r.get(0)?,
            owner_id: r.get(1)?,
            checksum: checksum.try_into().unwrap_or([0; 20]),
            storage_path: r.get(3)?,
            original_file_name: r.get(4)?,
            mime_type: r.get(5)?,
            asset_type: r.get(6)?,
            file_size: r.get(7)?,
            device_asset_id: r.get(8)?,
            device_id: r.get(9)?,
            file_created_at: r.get(10)?,
            file_modified_at: r.get(11)?,
            is_favorite: r.get(12)?,
            visibility: r.get(13)?,
            duration: r.get(14)?,
            created_at: r.get(15)?,
            updated_at: r.get(16)?,
            deleted_at: r.get(17)?,
            local_date_time: r.get(18)?,
            thumbhash: r.get(19)?,
            width: r.get(20)?,
            height: r.get(21)?,
            seq: r.get(22)?,
            exif: None,
        })
    }

    /// The taken time as wall-clock time (Immich's `localDateTime`, written with `Z`).
    pub fn local_date_time(&self) -> &str {
        self.local_date_time
            .as_deref()
            .unwrap_or(&self.file_created_at)
    }

    /// Immich's `ExifResponseDto`; only `fileSizeInByte` until metadata extraction ran.
    fn exif_json(&self) -> Value {
        let e = self.exif.clone().unwrap_or_default();
        json!({
            "make": e.make,
            "model": e.model,
            "exifImageWidth": e.width,
            "exifImageHeight": e.height,
            "fileSizeInByte": self.file_size,
            "orientation": e.orientation.map(|o| o.to_string()),
            "dateTimeOriginal": e.date_time_original,
            "modifyDate": self.file_modified_at,
            "timeZone": e.time_zone,
            "lensModel": e.lens_model,
            "fNumber": e.f_number,
            "focalLength": e.focal_length,
            "iso": e.iso,
            "exposureTime": e.exposure_time,
            "latitude": e.latitude,
            "longitude": e.longitude,
            "city": e.city,
            "state": e.state,
            "country": e.country,
            "description": "",
            "projectionType": null,
            "rating": null,
        })
    }

    /// Immich's `AssetResponseDto` (the fields this server knows so far).
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "ownerId": self.owner_id,
            "deviceAssetId": self.device_asset_id,
            "deviceId": self.device_id,
            "libraryId": null,
            "type": self.asset_type,
            "originalPath": format!("upload/{}", self.storage_path),
            "originalFileName": self.original_file_name,
            "originalMimeType": self.mime_type,
            "thumbhash": self.thumbhash.as_ref().map(|h| STANDARD.encode(h)),
            "fileCreatedAt": self.file_created_at,
            "fileModifiedAt": self.file_modified_at,
            "localDateTime": self.local_date_time(),
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "isFavorite": self.is_favorite,
            "isArchived": self.visibility == "archive",
            "isTrashed": self.deleted_at.is_some(),
            "isOffline": false,
            "visibility": self.visibility,
            "duration": self.duration.as_deref().unwrap_or("0:00:00.00000"),
            "checksum": STANDARD.encode(self.checksum),
            "fileSize": self.file_size,
            "exifInfo": self.exif_json(),
            "width": self.width,
            "height": self.height,
            "livePhotoVideoId": null,
            "people": [],
            "stack": null,
            "duplicateId": null,
            "hasMetadata": self.exif.is_some(),
            "resized": false,
        })
    }
}

/// Loads an asset the caller owns; another user's id is indistinguishable from a missing one.
pub fn get_owned(c: &Connection, owner_id: &str, id: &str) -> Result<Asset, ApiError> {
    let sql = format!("SELECT {COLUMNS} FROM assets WHERE id = ?1 AND owner_id = ?2");
    crate::db::optional(c.query_row(&sql, [id, owner_id], Asset::from_row))?
        .ok_or_else(|| ApiError::not_found("Asset"))
}

/// [`get_owned`] with its extracted metadata, for the asset JSON.
pub fn get_owned_full(c: &Connection, owner_id: &str, id: &str) -> Result<Asset, ApiError> {
    let mut a = [get_owned(c, owner_id, id)?];
    attach_exif(c, &mut a)?;
    let [a] = a;
    Ok(a)
}

/// Deletes an owned asset for good inside the caller's transaction: the row (its exif, jobs,
/// album entries, faces and derived-file rows cascade; a trigger leaves the delta-sync
/// tombstone), the owner's usage, and its faces from their people. Returns the files to remove once the transaction has committed (the
/// original, then its derived images), so a crash leaves orphans for start-up, never a row
/// pointing at a missing file. `Ok(None)` when there is no such asset.
pub fn delete_permanently(
    c: &Connection,
    owner_id: &str,
    id: &str,
) -> rusqlite::Result<Option<Vec<String>>> {
    let mut files: Vec<String> = {
        let mut stmt = c.prepare_cached("SELECT path FROM asset_files WHERE asset_id = ?1")?;
        let rows = stmt.query_map([id], |r| r.get(0))?;
        rows.collect::<Result<_, _>>()?
    };
    let people: Vec<String> = {
        let mut stmt = c.prepare_cached(
            "SELECT DISTINCT person_id FROM faces WHERE asset_id = ?1 AND person_id IS NOT NULL",
        )?;
        let rows = stmt.query_map([id], |r| r.get(0))?;
        rows.collect::<Result<_, _>>()?
    };
    let Some((path, size)): Option<(String, i64)> = crate::db::optional(c.query_row(
        "DELETE FROM assets WHERE id = ?1 AND owner_id = ?2 RETURNING storage_path, file_size",
        [id, owner_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    ))?
    else {
        return Ok(None);
    };
    // Its faces went with it: their people lose them (an unnamed one left empty goes too).
    for person in people {
        crate::people::refresh(c, &person)?;
    }
    c.execute(
        "UPDATE users SET usage_bytes = MAX(0, usage_bytes - ?1) WHERE id = ?2",
        rusqlite::params![size, owner_id],
    )?;
    files.insert(0, path);
    Ok(Some(files))
}

/// The caller's asset with this SHA-1, if any: `(id, in trash)`.
pub fn find_by_checksum(
    c: &Connection,
    owner_id: &str,
    sha1: &[u8; 20],
) -> rusqlite::Result<Option<(String, bool)>> {
    crate::db::optional(c.query_row(
        "SELECT id, deleted_at IS NOT NULL FROM assets WHERE owner_id = ?1 AND checksum = ?2",
        rusqlite::params![owner_id, &sha1[..]],
        |r| Ok((r.get(0)?, r.get(1)?)),
    ))
}

/// Parses a client SHA-1: 40 hex characters or base64 of the 20 bytes.
pub fn parse_checksum(s: &str) -> Option<[u8; 20]> {
    let s = s.trim();
    if s.len() == 40
        && let Ok(v) = hex::decode(s)
    {
        return v.try_into().ok();
    }
    STANDARD
        .decode(s)
        .ok()
        .and_then(|v| <[u8; 20]>::try_from(v).ok())
}

/// What a client tells us about a file it uploads; everything optional has a sane default.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AssetMeta {
    pub file_name: String,
    pub mime: Option<String>,
    pub device_asset_id: String,
    pub device_id: String,
    pub file_created_at: Option<String>,
    pub file_modified_at: Option<String>,
    pub is_favorite: bool,
    pub visibility: Option<String>,
    pub duration: Option<String>,
    pub albums: Vec<String>,
    /// Whole-file SHA-1 the client claims (hex); checked against the bytes received.
    pub checksum: Option<String>,
}

pub const VISIBILITIES: &[&str] = &["timeline", "archive", "hidden", "locked"];
pub const MAX_NAME: usize = 255;
const MAX_ALBUMS: usize = 100;

impl AssetMeta {
    /// Checks and normalises client values: dates parse, visibility is known, names are
    /// display-only strings (control characters and any directory part removed, length capped).
    pub fn validate(mut self) -> Result<Self, ApiError> {
        self.file_name = display_name(&self.file_name);
        for (field, value) in [
            ("fileCreatedAt", &mut self.file_created_at),
            ("fileModifiedAt", &mut self.file_modified_at),
        ] {
            if let Some(v) = value.as_deref() {
                let t = crate::clock::parse_client(v).ok_or_else(|| {
                    ApiError::bad_request(format!("{field} must be an ISO 8601 date"))
                })?;
                *value = Some(crate::clock::to_api(t));
            }
        }
        if let Some(v) = &self.visibility
            && !VISIBILITIES.contains(&v.as_str())
        {
            return Err(ApiError::bad_request(format!(
                "visibility must be one of {}",
                VISIBILITIES.join(", ")
            )));
        }
        self.device_asset_id = clean_text(&self.device_asset_id, MAX_NAME);
        self.device_id = clean_text(&self.device_id, MAX_NAME);
        if self.albums.len() > MAX_ALBUMS {
            return Err(ApiError::bad_request("too many albums"));
        }
        self.albums = self
            .albums
            .iter()
            .map(|a| clean_text(a, MAX_NAME))
            .filter(|a| !a.is_empty())
            .collect();
        if let Some(c) = &self.checksum {
            let sha = parse_checksum(c)
                .ok_or_else(|| ApiError::bad_request("checksum must be a SHA-1 (hex or base64)"))?;
            self.checksum = Some(hex::encode(sha));
        }
        Ok(self)
    }

    /// What a shared-link guest may decide about an upload stored in the owner's library: the
    /// file and its dates. Visibility, favourite, album names and an asserted checksum are the
    /// owner's business (and the checksum is never trusted from a guest).
    pub fn for_guest(self) -> Self {
        Self {
            visibility: None,
            is_favorite: false,
            albums: Vec::new(),
            checksum: None,
            ..self
        }
    }

    pub fn checksum_bytes(&self) -> Option<[u8; 20]> {
        self.checksum.as_deref().and_then(parse_checksum)
    }
}

/// `s` without control characters, at most `max` characters, trimmed: how device ids, album
/// names and the like are stored.
pub fn clean_text(s: &str, max: usize) -> String {
    s.chars()
        .filter(|c| !c.is_control())
        .take(max)
        .collect::<String>()
        .trim()
        .to_owned()
}

/// A client file name reduced to something safe to show: last path component, no control
/// characters, at most 255 characters. It is never used to build a path.
pub fn display_name(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let name = clean_text(base, MAX_NAME);
    if name.is_empty() || name == "." || name == ".." {
        "unnamed".into()
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_accepts_hex_and_base64_only_of_20_bytes() {
        let hex = "2aae6c35c94fcfb415dbe95f408b9ce91ee846ed";
        let b = parse_checksum(hex).unwrap();
        assert_eq!(parse_checksum(&STANDARD.encode(b)).unwrap(), b);
        assert!(parse_checksum("abc").is_none());
        assert!(parse_checksum(&STANDARD.encode([1u8; 19])).is_none());
    }

    #[test]
    fn display_names_drop_paths_and_control_characters() {
        assert_eq!(display_name("../../etc/passwd"), "passwd");
        assert_eq!(display_name("a\0b\nc.jpg"), "abc.jpg");
        assert_eq!(display_name(".."), "unnamed");
        assert_eq!(display_name("C:\\x\\y.png"), "y.png");
        assert_eq!(display_name(&"x".repeat(1000)).len(), 255);
    }
}
