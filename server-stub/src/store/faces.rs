//! Faces as the clustering sees them: embeddings of an owner's faces that belong to no person.

use super::StoreResult;
use crate::ml::embed;
use rusqlite::{Connection, params};

/// The owner's faces without a person, as (face id, unit embedding), oldest first; faces of
/// another embedding length than `dim` (another model) are left out.
pub fn unassigned(c: &Connection, owner: &str, dim: usize) -> StoreResult<Vec<(String, Vec<f32>)>> {
    let mut stmt = c.prepare_cached(
        "SELECT id, embedding FROM faces WHERE owner_id = ?1 AND person_id IS NULL \
         ORDER BY created_at, id",
    )?;
    let mut rows = stmt.query([owner])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let blob: Vec<u8> = r.get(1)?;
        if let Some(e) = embed::from_blob(&blob).filter(|e| e.len() == dim) {
            out.push((r.get(0)?, e));
        }
    }
    Ok(out)
}

/// Files face `face_id` under `person`.
pub fn set_person(c: &Connection, face_id: &str, person: &str) -> StoreResult<()> {
    c.execute(
        "UPDATE faces SET person_id = ?2 WHERE id = ?1",
        params![face_id, person],
    )?;
    Ok(())
}
