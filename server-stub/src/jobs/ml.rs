//! The handlers of the geodata and model queues: reverse geocoding (GPS → place names in the
//! `exif` row), smart search (caption + sentence embedding in `smart_search`) and object
//! labels (`asset_labels`, from the preview); faces are in [`super::faces`]. A missing
//! model or data file fails the job permanently with a reason that says to run `make models`;
//! an admin re-runs the queue after fixing it (`PUT /api/jobs/{name}`).

use super::handlers::asset_exists;
use super::{JobError, Queue, queue};
use crate::app::AppState;
use crate::assets::Asset;
use crate::clock;
use crate::ml::{describe, embed};
use rusqlite::params;

/// Which text model wrote an embedding (a different model's vectors are not comparable).
pub const TEXT_MODEL: &str = "all-MiniLM-L6-v2";

pub fn reverse_geocode(state: &AppState, asset: &Asset) -> Result<(), JobError> {
    let id = asset.id.clone();
    let coords = state.db.blocking(move |c| {
        Ok(crate::db::optional(c.query_row(
            "SELECT latitude, longitude FROM exif WHERE asset_id = ?1",
            [&id],
            |r| Ok((r.get::<_, Option<f64>>(0)?, r.get::<_, Option<f64>>(1)?)),
        ))?)
    })?;
    let place = match coords {
        Some((Some(lat), Some(lon))) => {
            let geo = state.ml.geocoder().map_err(JobError::Permanent)?;
            geo.lookup(lat, lon)
        }
        _ => None,
    };
    tracing::debug!(asset = %asset.id, ?place, "reverse geocoded");
    let id = asset.id.clone();
    let ml = state.ml.enabled;
    state.db.blocking(move |c| {
        let tx = c.transaction()?;
        if !asset_exists(&tx, &id)? {
            return Ok(());
        }
        let (city, st, country) = match place {
            Some(p) => (Some(p.city), p.state, p.country),
            None => (None, None, None),
        };
        tx.execute(
            "UPDATE exif SET city = ?2, state = ?3, country = ?4 WHERE asset_id = ?1",
            params![id, city, st, country],
        )?;
        tx.execute(
            "UPDATE assets SET updated_at = ?2 WHERE id = ?1",
            params![id, clock::now_api()],
        )?;
        if ml {
            queue::enqueue(&tx, Queue::SmartSearch, &id)?;
        }
        tx.commit()?;
        Ok(())
    })?;
    Ok(())
}

pub fn smart_search(state: &AppState, asset: &Asset) -> Result<(), JobError> {
    if !state.ml.enabled {
        return Ok(()); // queued before ML was switched off
    }
    let id = asset.id.clone();
    let facts = state.db.blocking(move |c| Ok(describe::load(c, &id)?))?;
    let Some(facts) = facts else {
        return Ok(());
    };
    let caption = describe::caption(&facts);
    let model = state.ml.embedder().map_err(JobError::Permanent)?;
    let vector = state
        .ml
        .bounded(|| model.embed(&caption))
        .map_err(|e| JobError::Permanent(e.to_string()))?;
    let id = asset.id.clone();
    state.db.blocking(move |c| {
        let tx = c.transaction()?;
        if !asset_exists(&tx, &id)? {
            return Ok(());
        }
        tx.execute(
            "INSERT OR REPLACE INTO smart_search (asset_id, caption, embedding, model, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                id,
                caption,
                embed::to_blob(&vector),
                TEXT_MODEL,
                clock::now_api()
            ],
        )?;
        tx.commit()?;
        Ok(())
    })?;
    Ok(())
}

/// The asset's preview (the 1440-px JPEG the thumbnail job made, orientation applied), which
/// the vision models read. No preview (thumbnails failed: a corrupt file) is a permanent
/// failure; an unreadable one is retried.
pub fn load_preview(state: &AppState, asset: &Asset) -> Result<image::RgbImage, JobError> {
    let id = asset.id.clone();
    let rel: Option<String> = state.db.blocking(move |c| {
        Ok(crate::db::optional(c.query_row(
            "SELECT path FROM asset_files WHERE asset_id = ?1 AND kind = 'preview'",
            [&id],
            |r| r.get(0),
        ))?)
    })?;
    let Some(rel) = rel else {
        return Err(JobError::Permanent(
            "no preview to analyse (thumbnail generation has not succeeded)".into(),
        ));
    };
    let bytes = std::fs::read(state.storage.abs(&rel))?;
    image::load_from_memory(&bytes)
        .map(|i| i.to_rgb8())
        .map_err(|e| JobError::Permanent(format!("preview is not a readable image: {e}")))
}

pub fn object_tagging(state: &AppState, asset: &Asset) -> Result<(), JobError> {
    if !state.ml.enabled {
        return Ok(());
    }
    let img = load_preview(state, asset)?;
    let model = state.ml.objects().map_err(JobError::Permanent)?;
    let labels = state
        .ml
        .bounded(|| model.labels(&img))
        .map_err(|e| JobError::Permanent(e.to_string()))?;
    tracing::debug!(asset = %asset.id, ?labels, "labelled");
    let id = asset.id.clone();
    state.db.blocking(move |c| {
        let tx = c.transaction()?;
        if !asset_exists(&tx, &id)? {
            return Ok(());
        }
        tx.execute("DELETE FROM asset_labels WHERE asset_id = ?1", [&id])?;
        for l in &labels {
            tx.execute(
                "INSERT OR REPLACE INTO asset_labels (asset_id, label, score) VALUES (?1, ?2, ?3)",
                params![id, l.name, l.score],
            )?;
        }
        queue::enqueue(&tx, Queue::SmartSearch, &id)?;
        tx.commit()?;
        Ok(())
    })?;
    Ok(())
}
