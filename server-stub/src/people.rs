//! People: faces grouped into persons, per owner, and the edits users make to that grouping
//! (rename, hide, merge, move a face). The face job ([`crate::jobs::faces`]) calls
//! [`assign`]; the API ([`crate::routes::people`]) calls the rest.
//!
//! Clustering is incremental and greedy, in the order faces arrive, and follows Immich: a new
//! face joins the person whose centre (the normalised sum of their faces' unit embeddings) is
//! most similar, when the cosine similarity is at least [`MATCH_SIMILARITY`]; otherwise a
//! person forms only once at least `min_faces` (`--face-min-faces`, default 3 as Immich's
//! `minFaces`) similar faces are there, and a face short of that stays without a person until
//! enough similar faces arrive (see [`assign`]). So a stranger in one holiday photo is no
//! "person". With ArcFace (w600k_mbf) embeddings the same face in different photos scores
//! 0.6–0.99 and different people stay below ~0.3 (measured on the sample photos and in
//! `docs/notes/ml.md`), so 0.45 leaves margin on both sides. The centre is recomputed from the
//! faces whenever a person changes.
//! Every function takes the owner and touches only that owner's rows.

use crate::clock;
use crate::ids;
use crate::ml::embed;
use crate::store::{StoreResult, faces};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Value, json};

/// Cosine similarity to a person's centre at or above which a face joins that person.
pub const MATCH_SIMILARITY: f32 = 0.45;

/// Columns of `people` for [`Person::from_row`].
pub const COLUMNS: &str =
    "id, name, birth_date, is_hidden, is_favorite, updated_at, feature_face_id";

#[derive(Debug, Clone)]
pub struct Person {
    pub id: String,
    pub name: String,
    pub birth_date: Option<String>,
    pub is_hidden: bool,
    pub is_favorite: bool,
    pub updated_at: String,
    pub feature_face_id: Option<String>,
}

impl Person {
    pub fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Person {
            id: r.get(0)?,
            name: r.get(1)?,
            birth_date: r.get(2)?,
            is_hidden: r.get(3)?,
            is_favorite: r.get(4)?,
            updated_at: r.get(5)?,
            feature_face_id: r.get(6)?,
        })
    }

    /// Immich's `PersonResponseDto`.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "birthDate": self.birth_date,
            "thumbnailPath": format!("/api/people/{}/thumbnail", self.id),
            "isHidden": self.is_hidden,
            "isFavorite": self.is_favorite,
            "updatedAt": self.updated_at,
        })
    }
}

/// The owner's person `id`, or `None` (also for another owner's person).
pub fn get(c: &Connection, owner: &str, id: &str) -> rusqlite::Result<Option<Person>> {
    c.query_row(
        &format!("SELECT {COLUMNS} FROM people WHERE id = ?1 AND owner_id = ?2"),
        [id, owner],
        Person::from_row,
    )
    .optional()
}

/// A new person (no faces yet unless `first_face` is given).
pub fn create(
    c: &Connection,
    owner: &str,
    name: &str,
    first_face: Option<(&str, &[f32])>,
) -> rusqlite::Result<String> {
    let id = ids::new_id();
    let now = clock::now_api();
    let (face, centroid, count) = match first_face {
        Some((f, e)) => (Some(f), Some(embed::to_blob(e)), 1),
        None => (None, None, 0),
    };
    c.execute(
        "INSERT INTO people (id, owner_id, name, feature_face_id, centroid, face_count, \
         created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
        params![id, owner, name, face, centroid, count, now],
    )?;
    Ok(id)
}

/// Files a new face (already stored, without a person) as Immich's facial recognition does:
///
/// - it joins the owner's person whose centre is most similar, if that similarity is at least
///   [`MATCH_SIMILARITY`];
/// - otherwise, if it and the owner's faces without a person that are at least that similar to
///   it number `min_faces` or more (a "core" face, Immich's `minFaces`, default 3), they become
///   a new person together;
/// - otherwise it stays without a person, and joins one later, when a person forms or grows
///   near it.
///
/// Whenever a person forms or grows, the owner's faces without a person that are now close
/// enough to its centre join it (the incremental half: a stranger seen once stays nobody, a
/// face seen a third time makes a person of all three). Returns the face's person, if any.
pub fn assign(
    c: &Connection,
    owner: &str,
    face_id: &str,
    embedding: &[f32],
    min_faces: usize,
) -> StoreResult<Option<String>> {
    let mut best: Option<(f32, String)> = None;
    {
        let mut stmt = c.prepare_cached(
            "SELECT id, centroid FROM people WHERE owner_id = ?1 AND centroid IS NOT NULL \
             AND face_count > 0",
        )?;
        let mut rows = stmt.query([owner])?;
        while let Some(r) = rows.next()? {
            let blob: Vec<u8> = r.get(1)?;
            let Some(sum) = embed::from_blob(&blob) else {
                continue;
            };
            if sum.len() != embedding.len() {
                continue; // another embedding model's vectors are not comparable
            }
            let sim = embed::cosine(&embed::normalize(sum), embedding);
            if best.as_ref().is_none_or(|(s, _)| sim > *s) {
                best = Some((sim, r.get(0)?));
            }
        }
    }
    tracing::debug!(face = face_id, best = ?best, "face clustered");
    let person = match best {
        Some((sim, id)) if sim >= MATCH_SIMILARITY => {
            faces::set_person(c, face_id, &id)?;
            id
        }
        _ => {
            let loose = faces::unassigned(c, owner, embedding.len())?;
            let near: Vec<&String> = loose
                .iter()
                .filter(|(id, e)| id != face_id && embed::cosine(e, embedding) >= MATCH_SIMILARITY)
                .map(|(id, _)| id)
                .collect();
            if near.len() + 1 < min_faces.max(1) {
                return Ok(None);
            }
            let id = create(c, owner, "", None)?;
            faces::set_person(c, face_id, &id)?;
            for f in near {
                faces::set_person(c, f, &id)?;
            }
            id
        }
    };
    refresh(c, &person)?;
    gather(c, owner, &person)?;
    Ok(Some(person))
}

/// Moves the owner's faces without a person that are close to `person`'s centre into them,
/// until none is (a few rounds at most: each round moves the centre a little).
fn gather(c: &Connection, owner: &str, person: &str) -> StoreResult<()> {
    for _ in 0..8 {
        let centre: Option<Vec<u8>> = c
            .query_row("SELECT centroid FROM people WHERE id = ?1", [person], |r| {
                r.get(0)
            })
            .optional()?
            .flatten();
        let Some(centre) = centre.as_deref().and_then(embed::from_blob) else {
            return Ok(());
        };
        let centre = embed::normalize(centre);
        let joining: Vec<String> = faces::unassigned(c, owner, centre.len())?
            .into_iter()
            .filter(|(_, e)| embed::cosine(e, &centre) >= MATCH_SIMILARITY)
            .map(|(id, _)| id)
            .collect();
        if joining.is_empty() {
            return Ok(());
        }
        for f in &joining {
            faces::set_person(c, f, person)?;
        }
        refresh(c, person)?;
    }
    Ok(())
}

/// Recomputes a person's centre and count from their faces; an unnamed person left without
/// faces is deleted (a named one stays, so the name is not lost). Returns whether it remains.
pub fn refresh(c: &Connection, person: &str) -> rusqlite::Result<bool> {
    let mut sum: Vec<f32> = Vec::new();
    let mut count = 0i64;
    let mut first_face: Option<String> = None;
    {
        let mut stmt =
            c.prepare_cached("SELECT id, embedding FROM faces WHERE person_id = ?1 ORDER BY id")?;
        let mut rows = stmt.query([person])?;
        while let Some(r) = rows.next()? {
            let blob: Vec<u8> = r.get(1)?;
            let Some(e) = embed::from_blob(&blob) else {
                continue;
            };
            if sum.is_empty() {
                sum = vec![0.0; e.len()];
            }
            if e.len() == sum.len() {
                for (s, x) in sum.iter_mut().zip(&e) {
                    *s += x;
                }
            }
            count += 1;
            first_face.get_or_insert(r.get(0)?);
        }
    }
    if count == 0 {
        let deleted = c.execute("DELETE FROM people WHERE id = ?1 AND name = ''", [person])?;
        if deleted == 0 {
            c.execute(
                "UPDATE people SET centroid = NULL, face_count = 0, feature_face_id = NULL, \
                 updated_at = ?2 WHERE id = ?1",
                params![person, clock::now_api()],
            )?;
        }
        return Ok(deleted == 0);
    }
    // The thumbnail face must still be one of theirs.
    c.execute(
        "UPDATE people SET centroid = ?2, face_count = ?3, updated_at = ?4, \
         feature_face_id = CASE WHEN feature_face_id IN \
             (SELECT id FROM faces WHERE person_id = ?1) THEN feature_face_id ELSE ?5 END \
         WHERE id = ?1",
        params![
            person,
            embed::to_blob(&sum),
            count,
            clock::now_api(),
            first_face
        ],
    )?;
    Ok(true)
}

/// Moves every face of the owner's people `from` into `into` and deletes `from`. Both must be
/// the owner's (checked by the caller).
pub fn merge(c: &Connection, into: &str, from: &str) -> rusqlite::Result<()> {
    c.execute(
        "UPDATE faces SET person_id = ?1 WHERE person_id = ?2",
        params![into, from],
    )?;
    c.execute("DELETE FROM people WHERE id = ?1", [from])?;
    refresh(c, into)?;
    Ok(())
}

/// Moves one face to `to` (or to no one), refreshing both people.
pub fn move_face(c: &Connection, face: &str, to: Option<&str>) -> rusqlite::Result<()> {
    let from: Option<String> = c
        .query_row("SELECT person_id FROM faces WHERE id = ?1", [face], |r| {
            r.get(0)
        })
        .optional()?
        .flatten();
    c.execute(
        "UPDATE faces SET person_id = ?2 WHERE id = ?1",
        params![face, to],
    )?;
    if let Some(from) = from.as_deref()
        && Some(from) != to
    {
        refresh(c, from)?;
    }
    if let Some(to) = to {
        refresh(c, to)?;
    }
    Ok(())
}

/// Immich's `AssetFaceWithoutPersonResponseDto` fields of a face row, plus its person.
pub fn face_json(c: &Connection, owner: &str, face_id: &str) -> rusqlite::Result<Option<Value>> {
    let row = c
        .query_row(
            "SELECT id, image_width, image_height, x1, y1, x2, y2, person_id, score \
             FROM faces WHERE id = ?1 AND owner_id = ?2",
            [face_id, owner],
            |r| {
                Ok((
                    json!({
                        "id": r.get::<_, String>(0)?,
                        "imageWidth": r.get::<_, i64>(1)?,
                        "imageHeight": r.get::<_, i64>(2)?,
                        "boundingBoxX1": r.get::<_, f64>(3)?.round() as i64,
                        "boundingBoxY1": r.get::<_, f64>(4)?.round() as i64,
                        "boundingBoxX2": r.get::<_, f64>(5)?.round() as i64,
                        "boundingBoxY2": r.get::<_, f64>(6)?.round() as i64,
                        "score": r.get::<_, f64>(8)?,
                        "sourceType": "machine-learning",
                    }),
                    r.get::<_, Option<String>>(7)?,
                ))
            },
        )
        .optional()?;
    let Some((mut face, person)) = row else {
        return Ok(None);
    };
    let person = match person {
        Some(p) => get(c, owner, &p)?.map(|p| p.to_json()),
        None => None,
    };
    face["person"] = person.unwrap_or(Value::Null);
    Ok(Some(face))
}

/// The faces of an asset, in reading order (left to right).
pub fn faces_of_asset(c: &Connection, owner: &str, asset: &str) -> rusqlite::Result<Vec<Value>> {
    let ids: Vec<String> = {
        let mut stmt = c.prepare_cached(
            "SELECT id FROM faces WHERE asset_id = ?1 AND owner_id = ?2 ORDER BY x1, id",
        )?;
        stmt.query_map([asset, owner], |r| r.get(0))?
            .collect::<Result<_, _>>()?
    };
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(f) = face_json(c, owner, &id)? {
            out.push(f);
        }
    }
    Ok(out)
}

/// Immich's `people` field of an asset: each person in it with their faces there.
pub fn people_of_asset(c: &Connection, owner: &str, asset: &str) -> rusqlite::Result<Vec<Value>> {
    let mut by_person: Vec<(String, Value, Vec<Value>)> = Vec::new();
    for mut face in faces_of_asset(c, owner, asset)? {
        let person = face["person"].take();
        let Some(pid) = person["id"].as_str().map(str::to_owned) else {
            continue;
        };
        if let Some(obj) = face.as_object_mut() {
            obj.remove("person");
        }
        match by_person.iter_mut().find(|(id, ..)| *id == pid) {
            Some((.., faces)) => faces.push(face),
            None => by_person.push((pid, person, vec![face])),
        }
    }
    Ok(by_person
        .into_iter()
        .map(|(_, mut p, faces)| {
            p["faces"] = Value::Array(faces);
            p
        })
        .collect())
}

/// Number of (not trashed) assets a person appears in.
pub fn asset_count(c: &Connection, person: &str) -> rusqlite::Result<i64> {
    c.query_row(
        "SELECT COUNT(DISTINCT f.asset_id) FROM faces f JOIN assets a ON a.id = f.asset_id \
         WHERE f.person_id = ?1 AND a.deleted_at IS NULL",
        [person],
        |r| r.get(0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(
            "CREATE TABLE people (id TEXT PRIMARY KEY, owner_id TEXT NOT NULL, \
             name TEXT NOT NULL DEFAULT '', birth_date TEXT, is_hidden INTEGER NOT NULL DEFAULT 0, \
             is_favorite INTEGER NOT NULL DEFAULT 0, feature_face_id TEXT, centroid BLOB, \
             face_count INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, \
             updated_at TEXT NOT NULL);
             CREATE TABLE faces (id TEXT PRIMARY KEY, owner_id TEXT, person_id TEXT, \
             embedding BLOB NOT NULL, created_at TEXT NOT NULL DEFAULT '');",
        )
        .unwrap();
        c
    }

    fn count(c: &Connection, person: &str) -> i64 {
        c.query_row(
            "SELECT face_count FROM people WHERE id = ?1",
            [person],
            |r| r.get(0),
        )
        .unwrap()
    }

    fn face_n(c: &Connection, owner: &str, id: &str, e: &[f32], min: usize) -> Option<String> {
        c.execute(
            "INSERT INTO faces (id, owner_id, embedding, created_at) VALUES (?1, ?2, ?3, ?1)",
            params![id, owner, embed::to_blob(e)],
        )
        .unwrap();
        assign(c, owner, id, e, min).unwrap()
    }

    fn face(c: &Connection, owner: &str, id: &str, e: &[f32]) -> String {
        face_n(c, owner, id, e, 1).unwrap()
    }

    fn person_of(c: &Connection, face: &str) -> Option<String> {
        c.query_row("SELECT person_id FROM faces WHERE id = ?1", [face], |r| {
            r.get(0)
        })
        .unwrap()
    }

    #[test]
    fn a_person_forms_at_min_faces_and_loose_faces_join_later() {
        let c = db();
        let a = |i: f32| embed::normalize(vec![1.0, 0.05 * i, 0.02 * i]);
        let stranger = |i: usize| {
            let mut v = vec![0.0; 3];
            v[1 + i % 2] = 1.0;
            v[0] = -0.3 * i as f32;
            embed::normalize(v)
        };
        assert_eq!(
            face_n(&c, "u", "a1", &a(0.0), 3),
            None,
            "one face: nobody yet"
        );
        assert_eq!(face_n(&c, "u", "s1", &stranger(1), 3), None);
        assert_eq!(
            face_n(&c, "u", "a2", &a(1.0), 3),
            None,
            "two alike: nobody yet"
        );
        let p = face_n(&c, "u", "a3", &a(2.0), 3).expect("the third forms a person");
        assert_eq!(person_of(&c, "a1").as_deref(), Some(p.as_str()));
        assert_eq!(person_of(&c, "a2").as_deref(), Some(p.as_str()));
        assert_eq!(count(&c, &p), 3);
        assert_eq!(person_of(&c, "s1"), None, "the stranger stays nobody");
        assert_eq!(
            face_n(&c, "u", "a4", &a(3.0), 3).as_deref(),
            Some(p.as_str())
        );
        assert_eq!(face_n(&c, "u", "s2", &stranger(2), 3), None);
        // another owner's alike faces neither count nor join
        assert_eq!(face_n(&c, "v", "b1", &a(0.0), 3), None);
        assert_eq!(face_n(&c, "v", "b2", &a(0.0), 3), None);
        assert_eq!(count(&c, &p), 4);
        let people: i64 = c
            .query_row("SELECT COUNT(*) FROM people", [], |r| r.get(0))
            .unwrap();
        assert_eq!(people, 1);
    }

    #[test]
    fn similar_faces_join_different_ones_split_owners_never_mix() {
        let c = db();
        let a = embed::normalize(vec![1.0, 0.1, 0.0]);
        let a2 = embed::normalize(vec![0.9, 0.2, 0.05]);
        let b = embed::normalize(vec![0.0, 1.0, 0.2]);
        let p1 = face(&c, "u1", "f1", &a);
        assert_eq!(face(&c, "u1", "f2", &a2), p1, "a similar face joins");
        let p2 = face(&c, "u1", "f3", &b);
        assert_ne!(p2, p1, "a different face starts a person");
        let p3 = face(&c, "u2", "f4", &a);
        assert_ne!(p3, p1, "another owner's people are never matched");
        assert_eq!(count(&c, &p1), 2);
        assert!(get(&c, "u2", &p1).unwrap().is_none());

        merge(&c, &p1, &p2).unwrap();
        assert_eq!(count(&c, &p1), 3);
        assert!(get(&c, "u1", &p2).unwrap().is_none());

        // Moving the last face out of an unnamed person deletes them; a named one stays.
        let lone = create(&c, "u1", "Ann", None).unwrap();
        move_face(&c, "f3", Some(&lone)).unwrap();
        move_face(&c, "f3", None).unwrap();
        let ann = get(&c, "u1", &lone).unwrap().unwrap();
        assert_eq!((ann.name.as_str(), count(&c, &lone)), ("Ann", 0));
        assert_eq!(count(&c, &p1), 2);
    }
}
