//! Turning a complete, fsynced upload (multipart temp file or finished tus `.part`) into an
//! asset: dedup by (owner, SHA-1), quota, atomic promotion into the library, then the row.
//! Both upload paths end here, so dedup and crash-safety rules live in one place.

use crate::access::SharedLink;
use crate::app::AppState;
use crate::assets::{AssetMeta, find_by_checksum};
use crate::error::{ApiError, ApiResult};
use crate::storage::{self, Storage, TempFile};
use crate::{clock, ids, media, routes::albums};
use rusqlite::params;

/// A file fully received and durable on disk, with its hash and size.
pub struct Staged {
    pub file: TempFile,
    pub sha1: [u8; 20],
    pub size: u64,
    /// An XMP sidecar sent with the file (multipart `sidecarData`).
    pub sidecar: Option<Vec<u8>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Created,
    Duplicate,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Duplicate => "duplicate",
        }
    }
}

/// Quota check: 413 with a readable message when `extra` bytes do not fit.
pub fn check_quota(quota: Option<i64>, used: i64, extra: u64) -> ApiResult<()> {
    if let Some(q) = quota {
        let extra = i64::try_from(extra).unwrap_or(i64::MAX);
        if used.saturating_add(extra) > q {
            return Err(ApiError::PayloadTooLarge(format!(
                "Quota exceeded: {extra} bytes do not fit ({used} of {q} bytes used)"
            )));
        }
    }
    Ok(())
}

/// A guest's upload through a shared link, stored in the link owner's library (their quota)
/// and filed into the link's album or asset list. The bytes were received and hashed here, so
/// a match with an asset the owner already has is real, not a client's claim. That asset joins
/// the link only if the owner shows it on the timeline (not archived, hidden, locked or
/// trashed); the answer is the same either way, so it never tells the guest whether the owner
/// had the file: the asset id when the link now shows it, otherwise a fresh receipt id that
/// names nothing (never the owner's id).
pub async fn ingest_through_link(
    state: &AppState,
    link: &SharedLink,
    staged: Staged,
    meta: AssetMeta,
) -> ApiResult<String> {
    let (id, status) = ingest(state, &link.user_id, staged, meta).await?;
    let link = link.clone();
    state
        .db
        .run(move |c| {
            let file = status == Status::Created
                || crate::store::assets::on_timeline(c, &link.user_id, &id)?;
            if !file {
                tracing::info!(link = %link.id, "guest upload matched an asset the link may not show");
                return Ok(ids::new_id());
            }
            crate::access::attach_to_link(c, &link, &id)?;
            Ok(id)
        })
        .await
        .map_err(ApiError::from)
}

pub async fn ingest(
    state: &AppState,
    owner_id: &str,
    staged: Staged,
    meta: AssetMeta,
) -> ApiResult<(String, Status)> {
    let sha1 = staged.sha1;
    let size = staged.size;

    // 1. Dedup and quota, before touching the library.
    let owner = owner_id.to_owned();
    let albums_meta = meta.albums.clone();
    let existing = state
        .db
        .call(move |c| {
            let found = find_by_checksum(c, &owner, &sha1)?;
            if let Some((id, _)) = &found {
                let tx = c.transaction()?;
                albums::add_to_named(&tx, &owner, &albums_meta, id)?;
                tx.commit()?;
                return Ok(found);
            }
            let (quota, used): (Option<i64>, i64) = c.query_row(
                "SELECT quota_size_bytes, usage_bytes FROM users WHERE id = ?1",
                [&owner],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            check_quota(quota, used, size)?;
            Ok(None)
        })
        .await?;
    if let Some((id, _)) = existing {
        return Ok((id, Status::Duplicate));
    }

    // 2. Promote the file: after this it is durable at its content address.
    let rel = Storage::library_rel_path(owner_id, &sha1);
    let abs = state.storage.abs(&rel);
    let src = staged.file;
    let dst = abs.clone();
    let src = tokio::task::spawn_blocking(move || storage::promote(src.path(), &dst).map(|_| src))
        .await
        .map_err(|e| ApiError::internal("promote task", e))??;
    src.keep();
    // The sidecar sits next to the original, just as durable, before the row commits.
    let sidecar_rel = match staged.sidecar {
        Some(xml) => {
            let rel = format!("{rel}.xmp");
            let dst = state.storage.abs(&rel);
            let tmp = TempFile::new(state.storage.new_tmp_path());
            let written = tokio::task::spawn_blocking(move || -> std::io::Result<TempFile> {
                let mut f = std::fs::File::create(tmp.path())?;
                std::io::Write::write_all(&mut f, &xml)?;
                f.sync_all()?;
                storage::promote(tmp.path(), &dst)?;
                Ok(tmp)
            })
            .await
            .map_err(|e| ApiError::internal("sidecar task", e))?;
            match written {
                Ok(tmp) => {
                    tmp.keep();
                    Some(rel)
                }
                Err(e) => {
                    storage::remove_quietly(&abs);
                    return Err(e.into());
                }
            }
        }
        None => None,
    };
    let sidecar_abs = sidecar_rel.as_ref().map(|r| state.storage.abs(r));

    // 3. The row commits after the file is durable.
    let owner = owner_id.to_owned();
    let id = ids::new_id();
    let row_id = id.clone();
    let now = clock::now_api();
    let mime = meta
        .mime
        .clone()
        .filter(|m| m.contains('/') && m.len() < 128)
        .unwrap_or_else(|| media::mime_for(&meta.file_name));
    let kind = media::asset_type(&meta.file_name, &mime);
    let created = meta.file_created_at.clone().unwrap_or_else(|| now.clone());
    let modified = meta
        .file_modified_at
        .clone()
        .unwrap_or_else(|| created.clone());
    let result = state
        .db
        .call(move |c| {
            let tx = c.transaction()?;
            let inserted = tx.execute(
                "INSERT INTO assets (id, owner_id, checksum, storage_path, original_file_name, \
                 mime_type, asset_type, file_size, device_asset_id, device_id, file_created_at, \
                 file_modified_at, is_favorite, visibility, duration, created_at, updated_at, \
                 local_date_time) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?16, ?11)",
                params![
                    row_id,
                    owner,
                    &sha1[..],
                    rel,
                    meta.file_name,
                    mime,
                    kind,
                    size as i64,
                    meta.device_asset_id,
                    meta.device_id,
                    created,
                    modified,
                    meta.is_favorite,
                    meta.visibility.as_deref().unwrap_or("timeline"),
                    meta.duration,
                    now,
                ],
            );
            match inserted {
                Ok(_) => {}
                Err(e) if crate::db::is_unique_violation(&e) => {
                    // Lost a race with an identical upload: same bytes, same path; the winner's
                    // row owns the file, so leave it in place.
                    drop(tx);
                    let winner = find_by_checksum(c, &owner, &sha1)?
                        .ok_or_else(|| ApiError::Internal("duplicate vanished".into()))?;
                    let tx = c.transaction()?;
                    albums::add_to_named(&tx, &owner, &meta.albums, &winner.0)?;
                    tx.commit()?;
                    return Ok((winner.0, Status::Duplicate));
                }
                Err(e) => return Err(e.into()),
            }
            tx.execute(
                "UPDATE users SET usage_bytes = usage_bytes + ?1 WHERE id = ?2",
                params![size as i64, owner],
            )?;
            albums::add_to_named(&tx, &owner, &meta.albums, &row_id)?;
            if let Some(path) = &sidecar_rel {
                tx.execute(
                    "INSERT INTO asset_files (asset_id, kind, path, etag, width, height) \
                     VALUES (?1, 'sidecar', ?2, '', 0, 0)",
                    params![row_id, path],
                )?;
            }
            // Metadata and thumbnails are queued with the row: both exist or neither.
            crate::jobs::queue::enqueue_all(&tx, &row_id)?;
            tx.commit()?;
            Ok((row_id, Status::Created))
        })
        .await;
    match result {
        Ok(done) => {
            if done.1 == Status::Created {
                state.workers.wake();
            }
            tracing::info!(asset = %done.0, status = done.1.as_str(), size, "ingested");
            Ok(done)
        }
        Err(e) => {
            // No row points at the promoted file (the duplicate path returned Ok): remove it.
            storage::remove_quietly(&abs);
            if let Some(p) = &sidecar_abs {
                storage::remove_quietly(p);
            }
            Err(e)
        }
    }
}
