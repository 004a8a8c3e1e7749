//! Putting the data directory back in order: at start-up after a crash (temp files, orphan
//! originals, stray or overlong `.part` files, uploads whose last byte landed but were never
//! finished), and periodically for tus uploads that expired.

use crate::app::AppState;
use crate::error::ApiError;
use crate::storage::{LIBRARY, THUMBS, remove_quietly};
use crate::upload::tus::{self, UPLOAD_COLUMNS, UploadRow, upload_from_row};
use std::collections::HashSet;
use std::fs;
use std::path::Path;
use std::time::Duration;

#[derive(Debug, Default)]
pub struct Report {
    pub temp_files_removed: usize,
    pub orphan_originals_removed: usize,
    pub stray_parts_removed: usize,
    pub upload_rows_dropped: usize,
    pub parts_trimmed: usize,
    pub uploads_finished: usize,
    pub orphan_derived_removed: usize,
}

pub async fn at_startup(state: &AppState) -> Result<Report, ApiError> {
    let mut report = Report::default();
    let storage = state.storage.clone();

    // 1. Multipart uploads in flight at the crash never became assets.
    for entry in fs::read_dir(storage.tmp_dir())?.flatten() {
        remove_quietly(&entry.path());
        report.temp_files_removed += 1;
    }

    // 2. tus uploads: rows and .part files must agree.
    let rows: Vec<UploadRow> = state.db.blocking(|c| {
        let mut stmt = c.prepare(&format!("SELECT {UPLOAD_COLUMNS} FROM uploads"))?;
        let rows = stmt.query_map([], upload_from_row)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    })?;
    let open: HashSet<String> = rows
        .iter()
        .filter(|r| r.asset_id.is_none())
        .map(|r| r.id.clone())
        .collect();
    for entry in fs::read_dir(storage.uploads_dir())?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let id = name.strip_suffix(".part").unwrap_or("");
        if !open.contains(id) {
            remove_quietly(&entry.path());
            report.stray_parts_removed += 1;
        }
    }
    let mut to_finish = Vec::new();
    for mut row in rows.into_iter().filter(|r| r.asset_id.is_none()) {
        let part = storage.part_path(&row.id);
        let len = match fs::metadata(&part) {
            Ok(m) => m.len(),
            Err(_) => {
                drop_row(state, &row.id)?;
                report.upload_rows_dropped += 1;
                continue;
            }
        };
        if len > row.offset {
            let f = fs::OpenOptions::new().write(true).open(&part)?;
            f.set_len(row.offset)?;
            f.sync_data()?;
            report.parts_trimmed += 1;
        } else if len < row.offset {
            // Cannot happen with fsync-before-commit unless the disk lied; keep what is real.
            tracing::warn!(upload = %row.id, len, committed = row.offset, "part shorter than its offset");
            let (id, l) = (row.id.clone(), len as i64);
            state.db.blocking(move |c| {
                c.execute(
                    "UPDATE uploads SET committed_offset = ?1 WHERE id = ?2",
                    rusqlite::params![l, id],
                )?;
                Ok(())
            })?;
            row.offset = len;
        }
        if row.offset == row.length {
            to_finish.push(row);
        }
    }
    for row in to_finish {
        let id = row.id.clone();
        match tus::finalize(state, row).await {
            Ok(_) => report.uploads_finished += 1,
            Err(e) => {
                tracing::warn!(upload = %id, error = %e, "could not finish upload at start-up")
            }
        }
    }

    // 3. Originals with no asset row: the crash came between rename and commit, or after a
    //    permanent delete's commit. Nothing references them.
    let known: HashSet<String> = state.db.blocking(|c| {
        let mut stmt = c.prepare(
            "SELECT storage_path FROM assets UNION SELECT path FROM asset_files WHERE kind = 'sidecar'",
        )?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<Result<HashSet<_>, _>>()?)
    })?;
    let root = storage.library_dir();
    report.orphan_originals_removed = sweep_orphans(LIBRARY, &root, &root, &known)?;

    // 4. Derived images (thumbnails, previews) no row points at: written by a job whose asset
    //    was deleted meanwhile, or left by a crash during a permanent delete.
    let known: HashSet<String> = state.db.blocking(|c| {
        let mut stmt = c.prepare("SELECT path FROM asset_files")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<Result<HashSet<_>, _>>()?)
    })?;
    let root = storage.thumbs_dir();
    report.orphan_derived_removed = sweep_orphans(THUMBS, &root, &root, &known)?;
    Ok(report)
}

fn drop_row(state: &AppState, id: &str) -> Result<(), ApiError> {
    let id = id.to_owned();
    state.db.blocking(move |c| {
        c.execute("DELETE FROM uploads WHERE id = ?1", [id])?;
        Ok(())
    })
}

/// Removes files under `dir` whose path (`prefix/` + path relative to `root`) is not `known`.
fn sweep_orphans(
    prefix: &str,
    root: &Path,
    dir: &Path,
    known: &HashSet<String>,
) -> std::io::Result<usize> {
    let mut removed = 0;
    for entry in fs::read_dir(dir)?.flatten() {
        let path = entry.path();
        let ty = entry.file_type()?;
        if ty.is_dir() {
            removed += sweep_orphans(prefix, root, &path, known)?;
        } else {
            let rel = path
                .strip_prefix(root)
                .map(|r| format!("{prefix}/{}", r.to_string_lossy()))
                .unwrap_or_default();
            if !known.contains(&rel) {
                tracing::info!(path = %path.display(), "removing orphan file");
                remove_quietly(&path);
                removed += 1;
            }
        }
    }
    Ok(removed)
}

/// Deletes expired uploads (row, `.part`, in-memory state) every `every`.
pub fn spawn_janitor(state: AppState, every: Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match sweep_expired(&state).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(count = n, "expired uploads removed"),
                Err(e) => tracing::warn!(error = %e, "janitor sweep failed"),
            }
        }
    });
}

pub async fn sweep_expired(state: &AppState) -> Result<usize, ApiError> {
    let now = crate::clock::unix_now();
    let expired: Vec<String> = state
        .db
        .call(move |c| {
            let mut stmt = c.prepare("DELETE FROM uploads WHERE expires_at < ?1 RETURNING id")?;
            let rows = stmt.query_map([now], |r| r.get::<_, String>(0))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await?;
    for id in &expired {
        remove_quietly(&state.storage.part_path(id));
        state.uploads.forget(id);
    }
    Ok(expired.len())
}
