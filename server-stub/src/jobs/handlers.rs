//! What each queue does for one asset. Every handler is idempotent: metadata upserts the
//! `exif` row and re-derives the asset's dates; thumbnails overwrite their files atomically and
//! upsert `asset_files`; geocoding and smart search overwrite their columns/rows. An asset
//! deleted in the meantime makes the job a no-op.
//!
//! Chaining: metadata queues reverse geocoding when the asset has GPS, otherwise smart search;
//! geocoding queues smart search (so the search text always sees the place); thumbnails queue
//! face detection and object tagging (they read the preview), which queue smart search again.

use super::queue::{self, Job};
use super::{JobError, Queue};
use crate::app::AppState;
use crate::assets::{self, Asset};
use crate::clock;
use crate::media::exif::{self, MediaInfo};
use crate::media::thumbs::{self, Kind, ThumbError};
use crate::media::video::{self, ToolError};
use crate::storage::{Storage, TempFile};
use rusqlite::params;

/// Runs `job` to completion on the current (blocking) thread.
pub fn run(state: &AppState, job: &Job) -> Result<(), JobError> {
    let id = job.asset_id.clone();
    let asset = state.db.blocking(move |c| {
        let sql = format!("SELECT {} FROM assets WHERE id = ?1", assets::COLUMNS);
        Ok(crate::db::optional(c.query_row(
            &sql,
            [&id],
            Asset::from_row,
        ))?)
    })?;
    let Some(asset) = asset else {
        return Ok(()); // deleted since it was queued
    };
    match job.queue {
        Queue::MetadataExtraction => metadata(state, &asset),
        Queue::ThumbnailGeneration => thumbnails(state, &asset),
        Queue::ReverseGeocoding => super::ml::reverse_geocode(state, &asset),
        Queue::SmartSearch => super::ml::smart_search(state, &asset),
        Queue::FaceDetection => super::faces::detect(state, &asset),
        Queue::ObjectTagging => super::ml::object_tagging(state, &asset),
    }
}

fn metadata(state: &AppState, asset: &Asset) -> Result<(), JobError> {
    let path = state.storage.abs(&asset.storage_path);
    let info = if asset.asset_type == "VIDEO" {
        match video::probe(&path) {
            Ok(i) => i,
            Err(ToolError::Unavailable(m)) => return Err(JobError::Transient(m)),
            // Not a video ffprobe understands: keep the file times, record nothing more.
            Err(ToolError::Rejected(m)) => {
                store_metadata(state, asset, &MediaInfo::default())?;
                return Err(JobError::Permanent(m));
            }
        }
    } else {
        let bytes = std::fs::read(&path)?;
        let mut info = exif::read(&bytes);
        // The pixel size from the image header beats EXIF's (often missing or stale) fields.
        if let Ok(r) = image::ImageReader::new(std::io::Cursor::new(&bytes)).with_guessed_format()
            && let Ok((w, h)) = r.into_dimensions()
        {
            (info.width, info.height) = (Some(w), Some(h));
        } else if info.width.is_none()
            && let Some(jpeg) = crate::media::thumbs::embedded_preview(&bytes)
            && let Ok((w, h)) = image::ImageReader::with_format(
                std::io::Cursor::new(jpeg),
                image::ImageFormat::Jpeg,
            )
            .into_dimensions()
        {
            // A RAW file: its embedded preview has the picture's proportions.
            (info.width, info.height) = (Some(w), Some(h));
        }
        info
    };
    let mut info = info;
    // A sidecar's date wins over the file's own, as in Immich.
    if let Some(taken) = sidecar_taken(state, asset)? {
        info.taken = Some(taken);
    }
    store_metadata(state, asset, &info)
}

fn sidecar_taken(
    state: &AppState,
    asset: &Asset,
) -> Result<Option<crate::media::exif::Taken>, JobError> {
    let id = asset.id.clone();
    let rel: Option<String> = state.db.blocking(move |c| {
        Ok(crate::db::optional(c.query_row(
            "SELECT path FROM asset_files WHERE asset_id = ?1 AND kind = 'sidecar'",
            [&id],
            |r| r.get(0),
        ))?)
    })?;
    let Some(rel) = rel else { return Ok(None) };
    let bytes = std::fs::read(state.storage.abs(&rel))?;
    Ok(crate::media::xmp::taken(&String::from_utf8_lossy(&bytes)))
}

fn store_metadata(state: &AppState, asset: &Asset, info: &MediaInfo) -> Result<(), JobError> {
    let id = asset.id.clone();
    let info = info.clone();
    let duration = info.duration_secs.map(immich_duration);
    let ml = state.config.ml;
    // exifImageWidth/Height are as stored; the asset's width/height are as displayed.
    let (display_w, display_h) = match info.orientation {
        Some(5..=8) => (info.height, info.width),
        _ => (info.width, info.height),
    };
    state.db.blocking(move |c| {
        let tx = c.transaction()?;
        if !asset_exists(&tx, &id)? {
            return Ok(());
        }
        let taken = info.taken.as_ref();
        // The place names stay while the coordinates do (geocoding refreshes them).
        tx.execute(
            "INSERT INTO exif (asset_id, make, model, lens_model, width, height, \
             orientation, date_time_original, time_zone, latitude, longitude, f_number, \
             focal_length, iso, exposure_time, duration_secs) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16) \
             ON CONFLICT(asset_id) DO UPDATE SET make = excluded.make, model = excluded.model, \
             lens_model = excluded.lens_model, width = excluded.width, height = excluded.height, \
             orientation = excluded.orientation, \
             date_time_original = excluded.date_time_original, time_zone = excluded.time_zone, \
             city = CASE WHEN latitude IS excluded.latitude AND longitude IS excluded.longitude \
                    THEN city END, \
             state = CASE WHEN latitude IS excluded.latitude AND longitude IS excluded.longitude \
                     THEN state END, \
             country = CASE WHEN latitude IS excluded.latitude \
                       AND longitude IS excluded.longitude THEN country END, \
             latitude = excluded.latitude, longitude = excluded.longitude, \
             f_number = excluded.f_number, focal_length = excluded.focal_length, \
             iso = excluded.iso, exposure_time = excluded.exposure_time, \
             duration_secs = excluded.duration_secs",
            params![
                id,
                info.make,
                info.model,
                info.lens_model,
                info.width,
                info.height,
                info.orientation,
                taken.map(|t| clock::to_api(t.utc)),
                taken.and_then(|t| t.time_zone()),
                info.latitude,
                info.longitude,
                info.f_number,
                info.focal_length,
                info.iso,
                info.exposure_time,
                info.duration_secs,
            ],
        )?;
        // Taken time wins over the client's file time, as in Immich; without it the file
        // times stay (the fallback).
        if let Some(t) = taken {
            let local = t.local.and_utc();
            tx.execute(
                "UPDATE assets SET file_created_at = ?2, local_date_time = ?3, updated_at = ?4 \
                 WHERE id = ?1",
                params![
                    id,
                    clock::to_api(t.utc),
                    clock::to_api(local),
                    clock::now_api()
                ],
            )?;
        }
        tx.execute(
            "UPDATE assets SET width = ?2, height = ?3, duration = COALESCE(?4, duration), \
             updated_at = ?5 WHERE id = ?1",
            params![id, display_w, display_h, duration, clock::now_api()],
        )?;
        if info.latitude.is_some() && info.longitude.is_some() {
            queue::enqueue(&tx, Queue::ReverseGeocoding, &id)?;
        } else if ml {
            queue::enqueue(&tx, Queue::SmartSearch, &id)?;
        }
        tx.commit()?;
        Ok(())
    })?;
    Ok(())
}

/// Immich's duration text: `H:MM:SS.ffffff`.
fn immich_duration(secs: f64) -> String {
    let micros = (secs.max(0.0) * 1e6).round() as u64;
    let (s, us) = (micros / 1_000_000, micros % 1_000_000);
    format!("{}:{:02}:{:02}.{us:06}", s / 3600, s / 60 % 60, s % 60)
}

fn thumbnails(state: &AppState, asset: &Asset) -> Result<(), JobError> {
    if asset.asset_type == "OTHER" {
        return Err(JobError::Permanent("not an image or video".into()));
    }
    let path = state.storage.abs(&asset.storage_path);
    let scratch = TempFile::new(state.storage.new_tmp_path());
    std::fs::create_dir(scratch.path())?;
    let rendered = thumbs::render(&path, asset.asset_type == "VIDEO", scratch.path());
    let _ = std::fs::remove_dir_all(scratch.path());
    let rendered = rendered.map_err(|e| match e {
        ThumbError::Corrupt(m) => JobError::Permanent(m),
        ThumbError::Transient(m) => JobError::Transient(m),
    })?;
    let mut files = Vec::new();
    for (kind, enc) in [
        (Kind::Thumbnail, &rendered.thumbnail),
        (Kind::Preview, &rendered.preview),
    ] {
        let rel = Storage::derived_rel_path(&asset.owner_id, &asset.id, kind.as_str(), kind.ext());
        state.storage.write_atomic(&rel, &enc.bytes)?;
        let etag = format!("\"{}\"", hex::encode(sha1_of(&enc.bytes)));
        files.push((kind, rel, etag, enc.width, enc.height));
    }
    let id = asset.id.clone();
    let ml = state.ml.enabled;
    let hash = rendered.thumbhash;
    let rows = files.clone();
    let stored = state.db.blocking(move |c| {
        let tx = c.transaction()?;
        if !asset_exists(&tx, &id)? {
            return Ok(false);
        }
        for (kind, rel, etag, w, h) in &rows {
            tx.execute(
                "INSERT OR REPLACE INTO asset_files (asset_id, kind, path, etag, width, height) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![id, kind.as_str(), rel, etag, w, h],
            )?;
        }
        tx.execute(
            "UPDATE assets SET thumbhash = ?2, updated_at = ?3 WHERE id = ?1",
            params![id, hash, clock::now_api()],
        )?;
        if ml {
            queue::enqueue(&tx, Queue::FaceDetection, &id)?;
            queue::enqueue(&tx, Queue::ObjectTagging, &id)?;
        }
        tx.commit()?;
        Ok(true)
    })?;
    if !stored {
        // Deleted while we worked: take the files back out.
        for (_, rel, ..) in files {
            crate::storage::remove_quietly(&state.storage.abs(&rel));
        }
    }
    Ok(())
}

pub(super) fn asset_exists(c: &rusqlite::Connection, id: &str) -> rusqlite::Result<bool> {
    c.query_row("SELECT COUNT(*) > 0 FROM assets WHERE id = ?1", [id], |r| {
        r.get(0)
    })
}

pub(super) fn sha1_of(bytes: &[u8]) -> [u8; 20] {
    use sha1::Digest;
    sha1::Sha1::digest(bytes).into()
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_in_immich_format() {
        assert_eq!(super::immich_duration(2.5), "0:00:02.500000");
        assert_eq!(super::immich_duration(3725.0), "1:02:05.000000");
    }
}
