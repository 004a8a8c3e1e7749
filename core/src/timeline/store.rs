//! The timeline's tables in the client database: mirrored remote assets and albums, the merged
//! `timeline` table (rebuilt after changes so reads are one indexed query), and the queue of
//! actions taken offline.

use super::{BackupState, Bucket, RemoteAlbum, TimelineFilter, TimelineItem};
use crate::error::CoreResult;
use crate::state::now_ms;
use base64::Engine;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Deserialize;

/// The fields of the server's asset JSON the timeline keeps.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoteAsset {
    id: String,
    #[serde(default)]
    checksum: Option<String>,
    #[serde(default)]
    original_file_name: String,
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    local_date_time: Option<String>,
    #[serde(default)]
    file_created_at: Option<String>,
    #[serde(default)]
    is_favorite: bool,
    #[serde(default)]
    is_trashed: bool,
    #[serde(default)]
    visibility: Option<String>,
    #[serde(default)]
    device_id: Option<String>,
    #[serde(default)]
    thumbhash: Option<String>,
    #[serde(default)]
    width: Option<i64>,
    #[serde(default)]
    height: Option<i64>,
    #[serde(default)]
    file_size: Option<i64>,
}

/// (milliseconds, `YYYY-MM`) of an RFC 3339 date; the month is the one written in the string,
/// i.e. the photo's local month, as Immich buckets by `localDateTime`.
fn when(s: Option<&str>) -> (i64, String) {
    let Some(s) = s else {
        return (0, "1970-01".into());
    };
    let ms = chrono::DateTime::parse_from_rfc3339(s).map_or(0, |t| t.timestamp_millis());
    let month = if s.len() >= 7 && s.as_bytes()[4] == b'-' {
        s[..7].to_owned()
    } else {
        "1970-01".into()
    };
    (ms, month)
}

pub fn apply(c: &Connection, upserted: &[RemoteAsset], deleted: &[String]) -> CoreResult<()> {
    let mut up = c.prepare_cached(
        "INSERT OR REPLACE INTO remote_assets (id, sha1, file_name, media_type, taken_ms, month, \
         is_favorite, is_trashed, visibility, device_id, thumbhash, width, height, file_size) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    )?;
    for a in upserted {
        let sha1 = a
            .checksum
            .as_deref()
            .and_then(|c| base64::engine::general_purpose::STANDARD.decode(c).ok());
        let (ms, month) = when(
            a.local_date_time
                .as_deref()
                .or(a.file_created_at.as_deref()),
        );
        up.execute(params![
            a.id,
            sha1,
            a.original_file_name,
            a.kind,
            ms,
            month,
            a.is_favorite,
            a.is_trashed,
            a.visibility.as_deref().unwrap_or("timeline"),
            a.device_id.as_deref().unwrap_or(""),
            a.thumbhash,
            a.width,
            a.height,
            a.file_size
        ])?;
    }
    let mut del = c.prepare_cached("DELETE FROM remote_assets WHERE id = ?1")?;
    let mut del_members =
        c.prepare_cached("DELETE FROM remote_album_assets WHERE asset_id = ?1")?;
    for id in deleted {
        del.execute([id])?;
        del_members.execute([id])?;
    }
    Ok(())
}

pub fn set_setting(c: &Connection, key: &str, value: &str) -> CoreResult<()> {
    let v = serde_json::Value::String(value.to_owned()).to_string();
    c.execute(
        "INSERT OR REPLACE INTO settings (key, value) VALUES (?1, ?2)",
        params![key, v],
    )?;
    Ok(())
}

/// Forgets everything learned from the server (it was reset or replaced). What was backed up
/// there is no longer there, so those assets go back into the backup queue.
pub fn wipe_remote(c: &mut Connection) -> CoreResult<()> {
    let tx = c.savepoint()?;
    tx.execute_batch(
        "DELETE FROM remote_assets; DELETE FROM remote_albums; DELETE FROM remote_album_assets; \
         DELETE FROM timeline; DELETE FROM pending_actions; \
         DELETE FROM settings WHERE key IN ('timeline_cursor', 'timeline_albums_etag'); \
         UPDATE backup SET state = 'queued', remote_id = NULL, duplicate = 0, upload_url = NULL, \
           acked_offset = 0, albums_synced = 0, next_attempt_ms = 0 WHERE state = 'done';",
    )?;
    tx.commit()?;
    Ok(())
}

pub fn replace_albums(
    c: &mut Connection,
    albums: &[(String, String, Vec<String>)],
) -> CoreResult<()> {
    let tx = c.savepoint()?;
    tx.execute_batch("DELETE FROM remote_albums; DELETE FROM remote_album_assets;")?;
    for (id, name, assets) in albums {
        tx.execute(
            "INSERT OR REPLACE INTO remote_albums (id, name) VALUES (?1, ?2)",
            params![id, name],
        )?;
        for a in assets {
            tx.execute(
                "INSERT OR IGNORE INTO remote_album_assets (album_id, asset_id) VALUES (?1, ?2)",
                params![id, a],
            )?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// Recomputes the merged timeline: each remote asset once (with the local copy of the same
/// bytes, if any), plus local assets the server does not have.
pub fn rebuild(c: &mut Connection) -> CoreResult<()> {
    let tx = c.savepoint()?;
    tx.execute_batch(
        "DELETE FROM timeline;
         INSERT INTO timeline (key, remote_id, local_id, file_name, taken_ms, month, media_type,
                               is_favorite, device_id, thumbhash, width, height)
           SELECT r.id, r.id,
                  (SELECT b.local_id FROM backup b WHERE b.sha1 = r.sha1 ORDER BY b.local_id LIMIT 1),
                  r.file_name, r.taken_ms, r.month, r.media_type, r.is_favorite, r.device_id,
                  r.thumbhash, r.width, r.height
           FROM remote_assets r
           WHERE r.is_trashed = 0 AND r.visibility = 'timeline';
         INSERT INTO timeline (key, remote_id, local_id, file_name, taken_ms, month, media_type)
           SELECT 'local:' || l.local_id, NULL, l.local_id, l.file_name, l.created_ms,
                  strftime('%Y-%m', l.created_ms / 1000, 'unixepoch'), l.media_type
           FROM local_assets l
           WHERE NOT EXISTS (SELECT 1 FROM backup b JOIN remote_assets r ON r.sha1 = b.sha1
                             WHERE b.local_id = l.local_id);",
    )?;
    tx.commit()?;
    Ok(())
}

fn filter_sql(f: &TimelineFilter) -> (String, Vec<String>) {
    let mut clauses = Vec::new();
    let mut args = Vec::new();
    if f.favorites_only {
        clauses.push("t.is_favorite = 1".to_string());
    }
    if let Some(d) = &f.device_id {
        args.push(d.clone());
        clauses.push(format!("t.device_id = ?{}", args.len() + 1));
    }
    if let Some(a) = &f.album_id {
        args.push(a.clone());
        clauses.push(format!(
            "t.remote_id IN (SELECT asset_id FROM remote_album_assets WHERE album_id = ?{})",
            args.len() + 1
        ));
    }
    let sql = clauses.iter().map(|c| format!(" AND {c}")).collect();
    (sql, args)
}

pub fn buckets(c: &Connection, f: &TimelineFilter) -> CoreResult<Vec<Bucket>> {
    let (extra, args) = filter_sql(f);
    let mut stmt = c.prepare_cached(&format!(
        "SELECT t.month, COUNT(*) FROM timeline t WHERE ?1 = ?1{extra} \
         GROUP BY t.month ORDER BY t.month DESC"
    ))?;
    let mut params: Vec<&dyn rusqlite::ToSql> = vec![&0];
    params.extend(args.iter().map(|a| a as &dyn rusqlite::ToSql));
    let rows = stmt.query_map(params.as_slice(), |r| {
        Ok(Bucket {
            month: r.get(0)?,
            count: r.get::<_, i64>(1)? as u64,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn bucket(c: &Connection, month: &str, f: &TimelineFilter) -> CoreResult<Vec<TimelineItem>> {
    let (extra, args) = filter_sql(f);
    let mut stmt = c.prepare_cached(&format!(
        "SELECT t.local_id, t.remote_id, t.file_name, t.taken_ms, t.media_type, t.is_favorite, \
                t.device_id, t.thumbhash, t.width, t.height, \
                b.state, b.upload_url, b.acked_offset, b.size, \
                EXISTS(SELECT 1 FROM local_assets l WHERE l.local_id = t.local_id) \
         FROM timeline t LEFT JOIN backup b ON b.local_id = t.local_id \
         WHERE t.month = ?1{extra} ORDER BY t.taken_ms DESC, t.key"
    ))?;
    let mut params: Vec<&dyn rusqlite::ToSql> = vec![&month];
    params.extend(args.iter().map(|a| a as &dyn rusqlite::ToSql));
    let rows = stmt.query_map(params.as_slice(), |r| {
        let local_id: Option<String> = r.get(0)?;
        let remote_id: Option<String> = r.get(1)?;
        let backup_state: Option<String> = r.get(10)?;
        let upload_url: Option<String> = r.get(11)?;
        let acked: Option<i64> = r.get(12)?;
        let size: Option<i64> = r.get(13)?;
        let on_device: bool = r.get(14)?;
        let state = match (&remote_id, on_device, backup_state.as_deref()) {
            (Some(_), true, _) => BackupState::BackedUp,
            (Some(_), false, _) => BackupState::RemoteOnly,
            (None, _, Some("done")) => BackupState::BackedUp,
            (None, _, Some(_)) if upload_url.is_some() => BackupState::Uploading {
                percent: match (acked, size) {
                    (Some(a), Some(s)) if s > 0 => ((a * 100) / s).clamp(0, 99) as u8,
                    _ => 0,
                },
            },
            (None, _, Some(_)) => BackupState::Queued,
            (None, _, None) => BackupState::LocalOnly,
        };
        Ok(TimelineItem {
            local_id: local_id.filter(|_| on_device),
            remote_id,
            file_name: r.get(2)?,
            taken_ms: r.get(3)?,
            is_video: r.get::<_, String>(4)? == "VIDEO",
            is_favorite: r.get(5)?,
            device_id: r.get(6)?,
            thumbhash: r.get(7)?,
            width: r.get::<_, Option<i64>>(8)?.map(|w| w as u32),
            height: r.get::<_, Option<i64>>(9)?.map(|h| h as u32),
            state,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn albums(c: &mut Connection) -> CoreResult<Vec<RemoteAlbum>> {
    let mut stmt = c.prepare_cached(
        "SELECT a.id, a.name, (SELECT COUNT(*) FROM remote_album_assets x JOIN remote_assets r \
           ON r.id = x.asset_id AND r.is_trashed = 0 WHERE x.album_id = a.id) \
         FROM remote_albums a ORDER BY a.name",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(RemoteAlbum {
            id: r.get(0)?,
            name: r.get(1)?,
            asset_count: r.get::<_, i64>(2)? as u64,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Records an offline action and applies it to the cache at once.
pub fn queue_action(c: &mut Connection, kind: &str, asset: &str) -> CoreResult<()> {
    let tx = c.savepoint()?;
    let exists: Option<i64> = tx
        .query_row("SELECT 1 FROM remote_assets WHERE id = ?1", [asset], |r| {
            r.get(0)
        })
        .optional()?;
    if exists.is_none() {
        return Err(crate::error::CoreError::Config(format!(
            "unknown asset {asset}"
        )));
    }
    match kind {
        "favorite" | "unfavorite" => {
            let fav = kind == "favorite";
            tx.execute(
                "UPDATE remote_assets SET is_favorite = ?2 WHERE id = ?1",
                params![asset, fav],
            )?;
            tx.execute(
                "UPDATE timeline SET is_favorite = ?2 WHERE remote_id = ?1",
                params![asset, fav],
            )?;
            // The last word wins: drop older favourite actions on this asset.
            tx.execute(
                "DELETE FROM pending_actions WHERE asset_id = ?1 AND kind IN ('favorite', 'unfavorite')",
                [asset],
            )?;
        }
        _ => {
            tx.execute(
                "UPDATE remote_assets SET is_trashed = 1 WHERE id = ?1",
                [asset],
            )?;
            tx.execute("DELETE FROM timeline WHERE remote_id = ?1", [asset])?;
        }
    }
    tx.execute(
        "INSERT INTO pending_actions (kind, asset_id, created_ms) VALUES (?1, ?2, ?3)",
        params![kind, asset, now_ms()],
    )?;
    tx.commit()?;
    Ok(())
}

pub fn pending(c: &mut Connection) -> CoreResult<Vec<(i64, String, String)>> {
    let mut stmt =
        c.prepare_cached("SELECT id, kind, asset_id FROM pending_actions ORDER BY id")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn pending_count(c: &mut Connection) -> CoreResult<u64> {
    Ok(
        c.query_row("SELECT COUNT(*) FROM pending_actions", [], |r| {
            r.get::<_, i64>(0)
        })? as u64,
    )
}

pub fn done_action(c: &mut Connection, id: i64) -> CoreResult<()> {
    c.execute("DELETE FROM pending_actions WHERE id = ?1", [id])?;
    Ok(())
}
