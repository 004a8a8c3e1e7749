//! The face-detection job: faces on the asset's preview (box, landmarks, ArcFace embedding),
//! a square crop of each kept as a derived file (`asset_files` kind `face-{id}`, the person
//! thumbnail), and each new face filed under a person, or none yet ([`crate::people::assign`]).
//!
//! Idempotent and edit-preserving: a re-run matches the new detections to the faces already
//! stored for the asset by box overlap (IoU ≥ 0.5) and keeps their ids and people (so names and
//! manual moves survive "run for all"); only faces that appeared are clustered, and faces that
//! vanished are removed with their crops.

use super::handlers::{asset_exists, sha1_of};
use super::ml::load_preview;
use super::{JobError, Queue, queue};
use crate::app::AppState;
use crate::assets::Asset;
use crate::clock;
use crate::ids;
use crate::ml::embed;
use crate::ml::vision::{self, DetectedFace};
use crate::people;
use crate::storage::Storage;
use rusqlite::params;

/// Overlap at which a new detection is the same face as a stored one.
const SAME_FACE_IOU: f32 = 0.5;

struct Stored {
    id: String,
    bbox: [f32; 4],
    crop_path: Option<String>,
}

/// What to write for one detection: the id it keeps or gets, and whether it is new.
struct Planned {
    id: String,
    new: bool,
    face: DetectedFace,
    crop_rel: String,
    crop_etag: String,
}

pub fn detect(state: &AppState, asset: &Asset) -> Result<(), JobError> {
    if !state.ml.enabled {
        return Ok(()); // queued before ML was switched off
    }
    let img = load_preview(state, asset)?;
    let model = state.ml.faces().map_err(JobError::Permanent)?;
    let found = state
        .ml
        .bounded(|| model.analyze(&img))
        .map_err(|e| JobError::Permanent(e.to_string()))?;
    let model_name = model.model_name();
    let id = asset.id.clone();
    let stored: Vec<Stored> = state.db.blocking(move |c| {
        let mut stmt = c.prepare(
            "SELECT f.id, f.x1, f.y1, f.x2, f.y2, af.path FROM faces f LEFT JOIN asset_files af \
             ON af.asset_id = f.asset_id AND af.kind = 'face-' || f.id WHERE f.asset_id = ?1",
        )?;
        let rows = stmt
            .query_map([&id], |r| {
                Ok(Stored {
                    id: r.get(0)?,
                    bbox: [r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?],
                    crop_path: r.get(5)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    })?;

    // Match detections to stored faces, best overlap first.
    let mut taken = vec![false; stored.len()];
    let mut plan = Vec::with_capacity(found.len());
    for face in found {
        let best = stored
            .iter()
            .enumerate()
            .filter(|(i, _)| !taken[*i])
            .map(|(i, s)| (i, vision::iou(&s.bbox, &face.bbox)))
            .filter(|(_, o)| *o >= SAME_FACE_IOU)
            .max_by(|a, b| a.1.total_cmp(&b.1));
        let (face_id, new) = match best {
            Some((i, _)) => {
                taken[i] = true;
                (stored[i].id.clone(), false)
            }
            None => (ids::new_id(), true),
        };
        let bytes = vision::face_crop_jpeg(&img, face.bbox)
            .map_err(|e| JobError::Transient(e.to_string()))?;
        let crop_rel = Storage::derived_rel_path(
            &asset.owner_id,
            &asset.id,
            &format!("face-{face_id}"),
            "jpg",
        );
        state.storage.write_atomic(&crop_rel, &bytes)?;
        plan.push(Planned {
            id: face_id,
            new,
            face,
            crop_etag: format!("\"{}\"", hex::encode(sha1_of(&bytes))),
            crop_rel,
        });
    }
    let gone: Vec<Stored> = stored
        .into_iter()
        .zip(taken)
        .filter(|(_, t)| !t)
        .map(|(s, _)| s)
        .collect();
    let (w, h) = img.dimensions();
    let min_faces = state.config.face_min_faces;
    let owner = asset.owner_id.clone();
    let id = asset.id.clone();
    let gone_ids: Vec<String> = gone.iter().map(|g| g.id.clone()).collect();
    let written: Vec<String> = plan.iter().map(|p| p.crop_rel.clone()).collect();
    let kept = state.db.blocking(move |c| {
        let tx = c.transaction()?;
        if !asset_exists(&tx, &id)? {
            return Ok(false);
        }
        let mut touched: Vec<String> = Vec::new();
        for g in &gone_ids {
            let person: Option<String> =
                tx.query_row("SELECT person_id FROM faces WHERE id = ?1", [g], |r| {
                    r.get(0)
                })?;
            tx.execute("DELETE FROM faces WHERE id = ?1", [g])?;
            tx.execute(
                "DELETE FROM asset_files WHERE asset_id = ?1 AND kind = ?2",
                params![id, format!("face-{g}")],
            )?;
            touched.extend(person);
        }
        for p in &plan {
            let f = &p.face;
            let landmarks = serde_json::to_string(&f.landmarks).unwrap_or_else(|_| "[]".into());
            let blob = embed::to_blob(&f.embedding);
            if p.new {
                tx.execute(
                    "INSERT INTO faces (id, asset_id, owner_id, x1, y1, x2, y2, image_width, \
                     image_height, landmarks, score, embedding, model, created_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                    params![
                        p.id,
                        id,
                        owner,
                        f.bbox[0],
                        f.bbox[1],
                        f.bbox[2],
                        f.bbox[3],
                        w,
                        h,
                        landmarks,
                        f.score,
                        blob,
                        model_name,
                        clock::now_api()
                    ],
                )?;
                people::assign(&tx, &owner, &p.id, &f.embedding, min_faces as usize)?;
            } else {
                tx.execute(
                    "UPDATE faces SET x1 = ?2, y1 = ?3, x2 = ?4, y2 = ?5, image_width = ?6, \
                     image_height = ?7, landmarks = ?8, score = ?9, embedding = ?10, model = ?11 \
                     WHERE id = ?1",
                    params![
                        p.id, f.bbox[0], f.bbox[1], f.bbox[2], f.bbox[3], w, h, landmarks, f.score,
                        blob, model_name
                    ],
                )?;
                let person: Option<String> =
                    tx.query_row("SELECT person_id FROM faces WHERE id = ?1", [&p.id], |r| {
                        r.get(0)
                    })?;
                touched.extend(person);
            }
            tx.execute(
                "INSERT OR REPLACE INTO asset_files (asset_id, kind, path, etag, width, height) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                params![
                    id,
                    format!("face-{}", p.id),
                    p.crop_rel,
                    p.crop_etag,
                    vision::CROP_SIZE
                ],
            )?;
        }
        touched.sort();
        touched.dedup();
        for person in &touched {
            people::refresh(&tx, person)?;
        }
        queue::enqueue(&tx, Queue::SmartSearch, &id)?;
        tx.commit()?;
        Ok(true)
    })?;
    if kept {
        for g in gone {
            if let Some(rel) = g.crop_path {
                crate::storage::remove_quietly(&state.storage.abs(&rel));
            }
        }
    } else {
        // Deleted while we worked: take the crops back out.
        for rel in written {
            crate::storage::remove_quietly(&state.storage.abs(&rel));
        }
    }
    Ok(())
}
