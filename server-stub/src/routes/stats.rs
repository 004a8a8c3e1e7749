//! Server statistics, in Immich's shapes: `GET /api/server/statistics` (admin: photos, videos
//! and bytes per user and in total, trash included as Immich counts it) and
//! `GET /api/server/storage` (size, use and free space of the disk holding the data directory,
//! from `statvfs`).

use crate::app::AppState;
use crate::auth::{Auth, AuthAdmin};
use crate::error::{ApiError, ApiResult};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/server/statistics", get(statistics))
        .route("/server/storage", get(storage))
}

async fn statistics(
    State(state): State<AppState>,
    AuthAdmin(_): AuthAdmin,
) -> ApiResult<Json<Value>> {
    let rows = state
        .db
        .call(|c| {
            let mut stmt = c.prepare(
                "SELECT u.id, u.name, u.quota_size_bytes, \
                 COALESCE(SUM(a.asset_type = 'IMAGE'), 0), COALESCE(SUM(a.asset_type = 'VIDEO'), 0), \
                 COALESCE(SUM(a.file_size), 0), \
                 COALESCE(SUM(CASE WHEN a.asset_type = 'IMAGE' THEN a.file_size ELSE 0 END), 0), \
                 COALESCE(SUM(CASE WHEN a.asset_type = 'VIDEO' THEN a.file_size ELSE 0 END), 0) \
                 FROM users u LEFT JOIN assets a ON a.owner_id = u.id \
                 WHERE u.deleted_at IS NULL GROUP BY u.id ORDER BY u.created_at",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(json!({
                    "userId": r.get::<_, String>(0)?,
                    "userName": r.get::<_, String>(1)?,
                    "quotaSizeInBytes": r.get::<_, Option<i64>>(2)?,
                    "photos": r.get::<_, i64>(3)?,
                    "videos": r.get::<_, i64>(4)?,
                    "usage": r.get::<_, i64>(5)?,
                    "usagePhotos": r.get::<_, i64>(6)?,
                    "usageVideos": r.get::<_, i64>(7)?,
                }))
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await?;
    let sum = |k: &str| rows.iter().map(|r| r[k].as_i64().unwrap_or(0)).sum::<i64>();
    Ok(Json(json!({
        "photos": sum("photos"),
        "videos": sum("videos"),
        "usage": sum("usage"),
        "usagePhotos": sum("usagePhotos"),
        "usageVideos": sum("usageVideos"),
        "usageByUser": rows,
    })))
}

/// Size, used and available bytes of the filesystem holding `path`.
fn disk(path: &std::path::Path) -> std::io::Result<(u64, u64, u64)> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::other("data path contains a NUL byte"))?;
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated path and `s` a writable statvfs.
    if unsafe { libc::statvfs(c.as_ptr(), &mut s) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let frsize = s.f_frsize;
    let size = s.f_blocks * frsize;
    let free = s.f_bfree * frsize;
    let avail = s.f_bavail * frsize;
    Ok((size, size.saturating_sub(free), avail))
}

/// Immich's human-readable sizes (`12.3 GiB`).
fn human(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

async fn storage(State(state): State<AppState>, _auth: Auth) -> ApiResult<Json<Value>> {
    let root = state.storage.library_dir();
    let (size, used, avail) = tokio::task::spawn_blocking(move || disk(&root))
        .await
        .map_err(|e| ApiError::internal("statvfs task", e))??;
    let pct = if size > 0 {
        (used as f64 / size as f64 * 10000.0).round() / 100.0
    } else {
        0.0
    };
    Ok(Json(json!({
        "diskSize": human(size),
        "diskUse": human(used),
        "diskAvailable": human(avail),
        "diskSizeRaw": size,
        "diskUseRaw": used,
        "diskAvailableRaw": avail,
        "diskUsagePercentage": pct,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_immich() {
        assert_eq!(human(512), "512 B");
        assert_eq!(human(1536), "1.5 KiB");
        assert_eq!(human(3 * 1024 * 1024 * 1024), "3.0 GiB");
    }

    #[test]
    fn statvfs_of_the_temp_dir_is_sane() {
        let (size, used, avail) = disk(&std::env::temp_dir()).unwrap();
        assert!(size > 0 && used <= size && avail <= size);
    }
}
