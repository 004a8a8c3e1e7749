//! The client database (one SQLite file in the state directory): the hash cache keyed by
//! (local id, size, mtime), the backup state of every asset, which doubles as the persistent
//! upload queue (with the tus URL saved before the first PATCH), settings, and run history.

use crate::error::{CoreError, CoreResult};
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::{Serialize, de::DeserializeOwned};
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS hash_cache (
    local_id TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    modified_ms INTEGER NOT NULL,
    sha1 BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS backup (
    local_id TEXT PRIMARY KEY,
    sha1 BLOB NOT NULL,
    size INTEGER NOT NULL,
    modified_ms INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    file_name TEXT NOT NULL,
    albums TEXT NOT NULL DEFAULT '[]',
    state TEXT NOT NULL,
    remote_id TEXT,
    duplicate INTEGER NOT NULL DEFAULT 0,
    upload_url TEXT,
    acked_offset INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    albums_synced INTEGER NOT NULL DEFAULT 0,
    updated_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS backup_sha1 ON backup(sha1);
CREATE INDEX IF NOT EXISTS backup_state ON backup(state);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS local_assets (
    local_id TEXT PRIMARY KEY,
    file_name TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    media_type TEXT NOT NULL,
    albums TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS remote_assets (
    id TEXT PRIMARY KEY,
    sha1 BLOB,
    file_name TEXT NOT NULL,
    media_type TEXT NOT NULL,
    taken_ms INTEGER NOT NULL,
    month TEXT NOT NULL,
    is_favorite INTEGER NOT NULL DEFAULT 0,
    is_trashed INTEGER NOT NULL DEFAULT 0,
    visibility TEXT NOT NULL DEFAULT 'timeline',
    device_id TEXT NOT NULL DEFAULT '',
    thumbhash TEXT,
    width INTEGER,
    height INTEGER,
    file_size INTEGER
);
CREATE INDEX IF NOT EXISTS remote_assets_sha1 ON remote_assets(sha1);
CREATE TABLE IF NOT EXISTS remote_albums (id TEXT PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS remote_album_assets (
    album_id TEXT NOT NULL,
    asset_id TEXT NOT NULL,
    PRIMARY KEY (album_id, asset_id)
);
CREATE TABLE IF NOT EXISTS timeline (
    key TEXT PRIMARY KEY,
    remote_id TEXT,
    local_id TEXT,
    file_name TEXT NOT NULL,
    taken_ms INTEGER NOT NULL,
    month TEXT NOT NULL,
    media_type TEXT NOT NULL,
    is_favorite INTEGER NOT NULL DEFAULT 0,
    device_id TEXT NOT NULL DEFAULT '',
    thumbhash TEXT,
    width INTEGER,
    height INTEGER
);
CREATE INDEX IF NOT EXISTS timeline_month ON timeline(month, taken_ms);
CREATE TABLE IF NOT EXISTS pending_actions (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    asset_id TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS thumb_cache (
    asset_id TEXT NOT NULL,
    size TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    sha1 BLOB NOT NULL,
    last_used_ms INTEGER NOT NULL,
    PRIMARY KEY (asset_id, size)
);
CREATE INDEX IF NOT EXISTS thumb_cache_lru ON thumb_cache(last_used_ms);
CREATE TABLE IF NOT EXISTS hash_progress (
    local_id TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    modified_ms INTEGER NOT NULL,
    state BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS to_hash (
    local_id TEXT PRIMARY KEY,
    file_name TEXT NOT NULL,
    size INTEGER NOT NULL,
    modified_ms INTEGER NOT NULL,
    error TEXT,
    hint TEXT
);
CREATE TABLE IF NOT EXISTS background_transfers (
    id TEXT PRIMARY KEY,
    local_id TEXT NOT NULL,
    url TEXT NOT NULL,
    offset INTEGER NOT NULL,
    length INTEGER NOT NULL,
    created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    started_ms INTEGER NOT NULL,
    finished_ms INTEGER,
    uploaded INTEGER NOT NULL DEFAULT 0,
    duplicates INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    bytes_sent INTEGER NOT NULL DEFAULT 0,
    outcome TEXT
);
"#;

pub const QUEUED: &str = "queued";
pub const DONE: &str = "done";
pub const FAILED: &str = "failed";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupRow {
    pub local_id: String,
    pub sha1: [u8; 20],
    pub size: u64,
    pub modified_ms: i64,
    pub created_ms: i64,
    pub file_name: String,
    /// Names of the local albums the asset is in (for album sync).
    pub albums: Vec<String>,
    pub state: String,
    pub remote_id: Option<String>,
    pub duplicate: bool,
    pub upload_url: Option<String>,
    pub acked_offset: u64,
    pub attempts: u32,
    pub next_attempt_ms: i64,
    pub last_error: Option<String>,
}

const COLUMNS: &str = "local_id, sha1, size, modified_ms, created_ms, file_name, albums, state, \
    remote_id, duplicate, upload_url, acked_offset, attempts, next_attempt_ms, last_error";

fn row(r: &Row<'_>) -> rusqlite::Result<BackupRow> {
    let sha: Vec<u8> = r.get(1)?;
    let albums: String = r.get(6)?;
    Ok(BackupRow {
        local_id: r.get(0)?,
        sha1: sha.try_into().unwrap_or([0; 20]),
        size: r.get::<_, i64>(2)? as u64,
        modified_ms: r.get(3)?,
        created_ms: r.get(4)?,
        file_name: r.get(5)?,
        albums: serde_json::from_str(&albums).unwrap_or_default(),
        state: r.get(7)?,
        remote_id: r.get(8)?,
        duplicate: r.get(9)?,
        upload_url: r.get(10)?,
        acked_offset: r.get::<_, i64>(11)? as u64,
        attempts: r.get(12)?,
        next_attempt_ms: r.get(13)?,
        last_error: r.get(14)?,
    })
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub queued: u64,
    pub queued_bytes: u64,
    pub done: u64,
    pub failed: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunRecord {
    pub started_ms: i64,
    pub finished_ms: Option<i64>,
    pub uploaded: u64,
    pub duplicates: u64,
    pub failed: u64,
    pub bytes_sent: u64,
    pub outcome: Option<String>,
}

pub struct StateDb {
    conn: Mutex<Connection>,
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn transfer(r: &Row<'_>) -> rusqlite::Result<TransferRow> {
    Ok(TransferRow {
        id: r.get(0)?,
        local_id: r.get(1)?,
        url: r.get(2)?,
        offset: r.get::<_, i64>(3)? as u64,
        length: r.get::<_, i64>(4)? as u64,
        created_ms: r.get(5)?,
    })
}

/// Adds a column that databases made by older versions lack.
fn add_column(conn: &Connection, table: &str, column: &str, ty: &str) -> CoreResult<()> {
    let has: bool = conn.query_row(
        &format!("SELECT COUNT(*) > 0 FROM pragma_table_info('{table}') WHERE name = ?1"),
        [column],
        |r| r.get(0),
    )?;
    if !has {
        conn.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {ty}"))?;
    }
    Ok(())
}

/// What the scan needs to know about every known asset, read in two queries, so an unchanged
/// library of 100,000 assets rescans without a query per asset.
#[derive(Debug, Default)]
pub struct ScanIndex {
    /// local id → (size, modified ms, SHA-1) from the hash cache.
    pub hashes: std::collections::HashMap<String, (u64, i64, [u8; 20])>,
    /// local id → its backup row's (SHA-1, album names as JSON, size, modified ms, state).
    pub rows: std::collections::HashMap<String, ([u8; 20], String, u64, i64, String)>,
}

impl ScanIndex {
    /// The cached SHA-1 of this exact version of the asset.
    pub fn hash(&self, local_id: &str, size: u64, modified_ms: i64) -> Option<[u8; 20]> {
        self.hashes
            .get(local_id)
            .filter(|(s, m, _)| *s == size && *m == modified_ms)
            .map(|(_, _, sha)| *sha)
    }

    /// Whether `record_scanned` would change nothing for the asset.
    pub fn unchanged(
        &self,
        local_id: &str,
        sha1: &[u8; 20],
        size: u64,
        modified_ms: i64,
        albums: &[String],
    ) -> bool {
        self.rows
            .get(local_id)
            .is_some_and(|(sha, a, s, m, state)| {
                sha == sha1
                    && *s == size
                    && *m == modified_ms
                    && state != FAILED
                    && *a == serde_json::to_string(albums).unwrap_or_default()
            })
    }
}

/// An asset adopted from the server's record of this device: done, with the server's SHA-1.
#[derive(Debug, Clone)]
pub struct Adopted {
    pub local_id: String,
    pub sha1: [u8; 20],
    pub size: u64,
    pub modified_ms: i64,
    pub created_ms: i64,
    pub file_name: String,
    pub albums: Vec<String>,
    pub remote_id: String,
}

/// An asset the scan found and has not hashed yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToHash {
    pub local_id: String,
    pub file_name: String,
    pub size: u64,
    pub modified_ms: i64,
    /// Why the last try to hash it failed, and what to do about it.
    pub error: Option<(String, String)>,
}

/// A request handed to the OS to carry out while the app is suspended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferRow {
    pub id: String,
    pub local_id: String,
    pub url: String,
    pub offset: u64,
    pub length: u64,
    pub created_ms: i64,
}

impl StateDb {
    pub fn open(path: &Path) -> CoreResult<Self> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // FULL: the saved tus URL and offsets must survive the app being killed or a reboot.
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.execute_batch(SCHEMA)?;
        add_column(&conn, "backup", "last_hint", "TEXT")?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> CoreResult<MutexGuard<'_, Connection>> {
        self.conn
            .lock()
            .map_err(|_| CoreError::Database("state database lock poisoned".into()))
    }

    /// Raw access for modules that own their own tables (timeline, thumbnail cache).
    pub fn with<T>(&self, f: impl FnOnce(&mut Connection) -> CoreResult<T>) -> CoreResult<T> {
        f(&mut *self.conn()?)
    }

    /// Runs `f` in one transaction (a scan's thousands of small writes cost one fsync). The
    /// connection is shared, so every other multi-statement write uses a savepoint, which nests
    /// inside this transaction when one is open instead of failing.
    pub fn batch<T>(&self, f: impl FnOnce() -> CoreResult<T>) -> CoreResult<T> {
        self.conn()?.execute_batch("BEGIN IMMEDIATE")?;
        let out = f();
        let end = if out.is_ok() { "COMMIT" } else { "ROLLBACK" };
        self.conn()?.execute_batch(end)?;
        out
    }

    /// Inside `batch`: commits what is done so far and carries on in a new transaction, so a
    /// long first scan killed midway keeps the hashes it already paid for.
    pub fn checkpoint(&self) -> CoreResult<()> {
        self.conn()?.execute_batch("COMMIT; BEGIN IMMEDIATE")?;
        Ok(())
    }

    pub fn store_hash(
        &self,
        local_id: &str,
        size: u64,
        modified_ms: i64,
        sha1: &[u8; 20],
    ) -> CoreResult<()> {
        self.conn()?.execute(
            "INSERT OR REPLACE INTO hash_cache (local_id, size, modified_ms, sha1) VALUES (?1, ?2, ?3, ?4)",
            params![local_id, size as i64, modified_ms, &sha1[..]],
        )?;
        Ok(())
    }

    pub fn get(&self, local_id: &str) -> CoreResult<Option<BackupRow>> {
        Ok(self
            .conn()?
            .query_row(
                &format!("SELECT {COLUMNS} FROM backup WHERE local_id = ?1"),
                [local_id],
                row,
            )
            .optional()?)
    }

    /// Records what the scan found for an asset. A new or changed asset (other SHA-1) is
    /// queued afresh; an unchanged one keeps its state, with album names refreshed and failures
    /// given another chance. Returns the row as it now stands.
    #[allow(clippy::too_many_arguments)]
    pub fn record_scanned(
        &self,
        local_id: &str,
        sha1: &[u8; 20],
        size: u64,
        modified_ms: i64,
        created_ms: i64,
        file_name: &str,
        albums: &[String],
    ) -> CoreResult<BackupRow> {
        let albums_json = serde_json::to_string(albums).unwrap_or_else(|_| "[]".into());
        {
            let c = self.conn()?;
            let existing: Option<(Vec<u8>, String)> = c
                .query_row(
                    "SELECT sha1, albums FROM backup WHERE local_id = ?1",
                    [local_id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            match existing {
                Some((old, old_albums)) if old == sha1 => {
                    // The common case on a re-scan: nothing to write.
                    let unchanged: bool = c.query_row(
                        "SELECT albums = ?2 AND size = ?3 AND modified_ms = ?4 AND state != 'failed' \
                         FROM backup WHERE local_id = ?1",
                        params![local_id, albums_json, size as i64, modified_ms],
                        |r| r.get(0),
                    )?;
                    if unchanged {
                        drop(c);
                        return self
                            .get(local_id)?
                            .ok_or_else(|| CoreError::Database("row vanished".into()));
                    }
                    c.execute(
                        "UPDATE backup SET albums = ?2, size = ?3, modified_ms = ?4, \
                         albums_synced = CASE WHEN ?5 THEN albums_synced ELSE 0 END, \
                         state = CASE WHEN state = 'failed' THEN 'queued' ELSE state END, \
                         next_attempt_ms = CASE WHEN state = 'failed' THEN 0 ELSE next_attempt_ms END, \
                         updated_ms = ?6 WHERE local_id = ?1",
                        params![local_id, albums_json, size as i64, modified_ms, old_albums == albums_json, now_ms()],
                    )?;
                }
                _ => {
                    c.execute(
                        "INSERT OR REPLACE INTO backup (local_id, sha1, size, modified_ms, created_ms, \
                         file_name, albums, state, updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'queued', ?8)",
                        params![local_id, &sha1[..], size as i64, modified_ms, created_ms, file_name, albums_json, now_ms()],
                    )?;
                }
            }
        }
        self.get(local_id)?
            .ok_or_else(|| CoreError::Database("row vanished".into()))
    }

    /// Uploadable rows: queued, and due (not backing off).
    pub fn due(&self, now: i64) -> CoreResult<Vec<BackupRow>> {
        let c = self.conn()?;
        let mut stmt = c.prepare(&format!(
            "SELECT {COLUMNS} FROM backup WHERE state = 'queued' AND next_attempt_ms <= ?1 \
             ORDER BY created_ms DESC"
        ))?;
        let rows = stmt.query_map([now], row)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    pub fn queued_for_check(&self) -> CoreResult<Vec<BackupRow>> {
        self.due(i64::MAX)
    }

    pub fn set_upload_url(&self, local_id: &str, url: Option<&str>, offset: u64) -> CoreResult<()> {
        self.conn()?.execute(
            "UPDATE backup SET upload_url = ?2, acked_offset = ?3, updated_ms = ?4 WHERE local_id = ?1",
            params![local_id, url, offset as i64, now_ms()],
        )?;
        Ok(())
    }

    pub fn set_acked(&self, local_id: &str, offset: u64) -> CoreResult<()> {
        self.conn()?.execute(
            "UPDATE backup SET acked_offset = ?2, updated_ms = ?3 WHERE local_id = ?1",
            params![local_id, offset as i64, now_ms()],
        )?;
        Ok(())
    }

    /// The asset is on the server (uploaded now, or already there). Other queued rows with the
    /// same bytes are the same asset: they are done too, without sending anything.
    pub fn mark_done(
        &self,
        local_id: &str,
        remote_id: Option<&str>,
        duplicate: bool,
    ) -> CoreResult<u64> {
        let c = self.conn()?;
        let sha: Option<Vec<u8>> = c
            .query_row(
                "SELECT sha1 FROM backup WHERE local_id = ?1",
                [local_id],
                |r| r.get(0),
            )
            .optional()?;
        c.execute(
            "UPDATE backup SET state = 'done', remote_id = ?2, duplicate = ?3, upload_url = NULL, \
             last_error = NULL, attempts = 0, updated_ms = ?4 WHERE local_id = ?1",
            params![local_id, remote_id, duplicate, now_ms()],
        )?;
        let mut twins = 0;
        if let Some(sha) = sha {
            twins = c.execute(
                "UPDATE backup SET state = 'done', remote_id = ?2, duplicate = 1, upload_url = NULL, \
                 last_error = NULL, updated_ms = ?3 WHERE sha1 = ?1 AND state != 'done'",
                params![sha, remote_id, now_ms()],
            )? as u64;
        }
        Ok(twins)
    }

    /// A transient failure: retry after `delay_ms`.
    pub fn retry_later(&self, local_id: &str, error: &str, delay_ms: i64) -> CoreResult<()> {
        self.conn()?.execute(
            "UPDATE backup SET attempts = attempts + 1, next_attempt_ms = ?2, last_error = ?3, \
             updated_ms = ?4 WHERE local_id = ?1",
            params![local_id, now_ms() + delay_ms, error, now_ms()],
        )?;
        Ok(())
    }

    /// A failure that retrying now will not fix (unreadable file, quota): kept, retried on the
    /// next scan. `hint` says what the user can do about it.
    pub fn mark_failed(&self, local_id: &str, error: &str, hint: &str) -> CoreResult<()> {
        self.conn()?.execute(
            "UPDATE backup SET state = 'failed', attempts = attempts + 1, last_error = ?2, \
             last_hint = ?3, updated_ms = ?4 WHERE local_id = ?1",
            params![local_id, error, hint, now_ms()],
        )?;
        Ok(())
    }

    /// Every row not yet backed up (queued or failed), with the failure hint, in upload order.
    pub fn unfinished(&self) -> CoreResult<Vec<(BackupRow, Option<String>)>> {
        let c = self.conn()?;
        let mut stmt = c.prepare(&format!(
            "SELECT {COLUMNS}, last_hint FROM backup WHERE state != 'done' \
             ORDER BY state = 'failed', created_ms DESC"
        ))?;
        let rows = stmt.query_map([], |r| Ok((row(r)?, r.get(15)?)))?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// A saved partial hash of this exact file version (28-byte `Sha1State` checkpoint).
    pub fn hash_progress(
        &self,
        local_id: &str,
        size: u64,
        modified_ms: i64,
    ) -> CoreResult<Option<Vec<u8>>> {
        Ok(self
            .conn()?
            .query_row(
                "SELECT state FROM hash_progress WHERE local_id = ?1 AND size = ?2 AND modified_ms = ?3",
                params![local_id, size as i64, modified_ms],
                |r| r.get(0),
            )
            .optional()?)
    }

    pub fn save_hash_progress(
        &self,
        local_id: &str,
        size: u64,
        modified_ms: i64,
        state: &[u8],
    ) -> CoreResult<()> {
        self.conn()?.execute(
            "INSERT OR REPLACE INTO hash_progress (local_id, size, modified_ms, state) VALUES (?1, ?2, ?3, ?4)",
            params![local_id, size as i64, modified_ms, state],
        )?;
        Ok(())
    }

    /// The hash is complete (or the file is gone): its partial state and to-hash entry go.
    pub fn hashed(&self, local_id: &str) -> CoreResult<()> {
        let c = self.conn()?;
        c.execute("DELETE FROM hash_progress WHERE local_id = ?1", [local_id])?;
        c.execute("DELETE FROM to_hash WHERE local_id = ?1", [local_id])?;
        Ok(())
    }

    pub fn scan_index(&self) -> CoreResult<ScanIndex> {
        let c = self.conn()?;
        let mut index = ScanIndex::default();
        let mut stmt = c.prepare("SELECT local_id, size, modified_ms, sha1 FROM hash_cache")?;
        let rows = stmt.query_map([], |r| {
            let sha: Vec<u8> = r.get(3)?;
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)? as u64,
                r.get::<_, i64>(2)?,
                sha,
            ))
        })?;
        for row in rows {
            let (id, size, modified, sha) = row?;
            if let Ok(sha) = <[u8; 20]>::try_from(sha) {
                index.hashes.insert(id, (size, modified, sha));
            }
        }
        let mut stmt =
            c.prepare("SELECT local_id, sha1, albums, size, modified_ms, state FROM backup")?;
        let rows = stmt.query_map([], |r| {
            let sha: Vec<u8> = r.get(1)?;
            Ok((
                r.get::<_, String>(0)?,
                sha,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)? as u64,
                r.get::<_, i64>(4)?,
                r.get::<_, String>(5)?,
            ))
        })?;
        for row in rows {
            let (id, sha, albums, size, modified, state) = row?;
            let sha = <[u8; 20]>::try_from(sha).unwrap_or([0; 20]);
            index.rows.insert(id, (sha, albums, size, modified, state));
        }
        Ok(index)
    }

    /// Records assets the server already holds for this device as backed up, with the
    /// server's SHA-1 in the hash cache: nothing is read, nothing is sent.
    pub fn adopt(&self, assets: &[Adopted]) -> CoreResult<()> {
        let mut c = self.conn()?;
        let tx = c.savepoint()?;
        {
            let mut cache = tx.prepare_cached(
                "INSERT OR REPLACE INTO hash_cache (local_id, size, modified_ms, sha1) VALUES (?1, ?2, ?3, ?4)",
            )?;
            let mut backup = tx.prepare_cached(
                "INSERT OR REPLACE INTO backup (local_id, sha1, size, modified_ms, created_ms, \
                 file_name, albums, state, remote_id, duplicate, updated_ms) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'done', ?8, 1, ?9)",
            )?;
            let mut unqueue = tx.prepare_cached("DELETE FROM to_hash WHERE local_id = ?1")?;
            let mut unstart = tx.prepare_cached("DELETE FROM hash_progress WHERE local_id = ?1")?;
            let now = now_ms();
            for a in assets {
                let albums = serde_json::to_string(&a.albums).unwrap_or_else(|_| "[]".into());
                cache.execute(params![
                    a.local_id,
                    a.size as i64,
                    a.modified_ms,
                    &a.sha1[..]
                ])?;
                backup.execute(params![
                    a.local_id,
                    &a.sha1[..],
                    a.size as i64,
                    a.modified_ms,
                    a.created_ms,
                    a.file_name,
                    albums,
                    a.remote_id,
                    now
                ])?;
                unqueue.execute([&a.local_id])?;
                unstart.execute([&a.local_id])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Reading the file to hash it failed; it is tried again on the next scan.
    pub fn hash_failed(&self, local_id: &str, error: &str, hint: &str) -> CoreResult<()> {
        self.conn()?.execute(
            "UPDATE to_hash SET error = ?2, hint = ?3 WHERE local_id = ?1",
            params![local_id, error, hint],
        )?;
        Ok(())
    }

    /// What the latest scan found to hash, replacing the previous list.
    pub fn replace_to_hash(&self, items: &[ToHash]) -> CoreResult<()> {
        let c = self.conn()?;
        c.execute("DELETE FROM to_hash", [])?;
        let mut stmt = c.prepare_cached(
            "INSERT OR REPLACE INTO to_hash (local_id, file_name, size, modified_ms) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for t in items {
            stmt.execute(params![
                t.local_id,
                t.file_name,
                t.size as i64,
                t.modified_ms
            ])?;
        }
        c.execute(
            "DELETE FROM hash_progress WHERE local_id NOT IN (SELECT local_id FROM to_hash)",
            [],
        )?;
        Ok(())
    }

    /// Assets waiting to be hashed, with how many bytes of each are hashed already.
    pub fn to_hash(&self) -> CoreResult<Vec<(ToHash, u64)>> {
        let c = self.conn()?;
        let mut stmt = c.prepare(
            "SELECT t.local_id, t.file_name, t.size, t.modified_ms, p.state, t.error, t.hint \
             FROM to_hash t \
             LEFT JOIN hash_progress p ON p.local_id = t.local_id \
             AND p.size = t.size AND p.modified_ms = t.modified_ms ORDER BY t.local_id",
        )?;
        let rows = stmt.query_map([], |r| {
            let state: Option<Vec<u8>> = r.get(4)?;
            let done = state
                .and_then(|s| crate::hash::Sha1State::restore(&s))
                .map_or(0, |s| s.len());
            let error: Option<String> = r.get(5)?;
            let hint: Option<String> = r.get(6)?;
            Ok((
                ToHash {
                    local_id: r.get(0)?,
                    file_name: r.get(1)?,
                    size: r.get::<_, i64>(2)? as u64,
                    modified_ms: r.get(3)?,
                    error: error.map(|e| (e, hint.unwrap_or_default())),
                },
                done,
            ))
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    pub fn add_transfer(&self, t: &TransferRow) -> CoreResult<()> {
        self.conn()?.execute(
            "INSERT INTO background_transfers (id, local_id, url, offset, length, created_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                t.id,
                t.local_id,
                t.url,
                t.offset as i64,
                t.length as i64,
                t.created_ms
            ],
        )?;
        Ok(())
    }

    pub fn transfers(&self) -> CoreResult<Vec<TransferRow>> {
        let c = self.conn()?;
        let mut stmt = c.prepare(
            "SELECT id, local_id, url, offset, length, created_ms FROM background_transfers \
             ORDER BY created_ms",
        )?;
        let rows = stmt.query_map([], transfer)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Removes a transfer record, answering it (`None` when the id is unknown).
    pub fn take_transfer(&self, id: &str) -> CoreResult<Option<TransferRow>> {
        let c = self.conn()?;
        let t = c
            .query_row(
                "DELETE FROM background_transfers WHERE id = ?1 \
                 RETURNING id, local_id, url, offset, length, created_ms",
                [id],
                transfer,
            )
            .optional()?;
        Ok(t)
    }

    /// The asset is gone from the library: forget it (and its cached hash).
    pub fn forget(&self, local_id: &str) -> CoreResult<()> {
        let c = self.conn()?;
        c.execute("DELETE FROM backup WHERE local_id = ?1", [local_id])?;
        c.execute("DELETE FROM hash_cache WHERE local_id = ?1", [local_id])?;
        c.execute("DELETE FROM hash_progress WHERE local_id = ?1", [local_id])?;
        Ok(())
    }

    /// Done assets whose server albums still need updating: (remote id, album names).
    pub fn album_sync_pending(&self) -> CoreResult<Vec<(String, String, Vec<String>)>> {
        let c = self.conn()?;
        let mut stmt = c.prepare(
            "SELECT local_id, remote_id, albums FROM backup WHERE state = 'done' \
             AND remote_id IS NOT NULL AND albums_synced = 0",
        )?;
        let rows = stmt.query_map([], |r| {
            let albums: String = r.get(2)?;
            Ok((
                r.get(0)?,
                r.get(1)?,
                serde_json::from_str(&albums).unwrap_or_default(),
            ))
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    pub fn mark_albums_synced(&self, local_ids: &[String]) -> CoreResult<()> {
        let mut c = self.conn()?;
        let tx = c.savepoint()?;
        for id in local_ids {
            tx.execute(
                "UPDATE backup SET albums_synced = 1 WHERE local_id = ?1",
                [id],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    pub fn counts(&self) -> CoreResult<Counts> {
        let c = self.conn()?;
        let mut counts = Counts::default();
        let mut stmt =
            c.prepare("SELECT state, COUNT(*), COALESCE(SUM(size), 0) FROM backup GROUP BY state")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?;
        for r in rows {
            let (state, n, bytes) = r?;
            match state.as_str() {
                QUEUED => {
                    counts.queued = n as u64;
                    counts.queued_bytes = bytes as u64;
                }
                DONE => counts.done = n as u64,
                _ => counts.failed += n as u64,
            }
        }
        // Found but not hashed yet: queued too, as far as the user can tell.
        let (n, bytes): (i64, i64) = c.query_row(
            "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM to_hash WHERE local_id NOT IN \
             (SELECT local_id FROM backup WHERE state = 'queued')",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        counts.queued += n as u64;
        counts.queued_bytes += bytes as u64;
        Ok(counts)
    }

    pub fn failures(&self) -> CoreResult<Vec<(String, String)>> {
        let c = self.conn()?;
        let mut stmt = c.prepare(
            "SELECT local_id, COALESCE(last_error, '') FROM backup WHERE state = 'failed' \
             OR (state = 'queued' AND last_error IS NOT NULL) ORDER BY local_id",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    pub fn setting<T: DeserializeOwned>(&self, key: &str) -> CoreResult<Option<T>> {
        let v: Option<String> = self
            .conn()?
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()?;
        Ok(v.and_then(|v| serde_json::from_str(&v).ok()))
    }

    pub fn set_setting<T: Serialize>(&self, key: &str, value: &T) -> CoreResult<()> {
        let v = serde_json::to_string(value).map_err(|e| CoreError::Database(e.to_string()))?;
        self.conn()?.execute(
            "INSERT OR REPLACE INTO settings (key, value) VALUES (?1, ?2)",
            params![key, v],
        )?;
        Ok(())
    }

    pub fn start_run(&self) -> CoreResult<i64> {
        let c = self.conn()?;
        c.execute("INSERT INTO runs (started_ms) VALUES (?1)", [now_ms()])?;
        Ok(c.last_insert_rowid())
    }

    pub fn finish_run(&self, id: i64, r: &RunRecord) -> CoreResult<()> {
        self.conn()?.execute(
            "UPDATE runs SET finished_ms = ?2, uploaded = ?3, duplicates = ?4, failed = ?5, \
             bytes_sent = ?6, outcome = ?7 WHERE id = ?1",
            params![
                id,
                now_ms(),
                r.uploaded as i64,
                r.duplicates as i64,
                r.failed as i64,
                r.bytes_sent as i64,
                r.outcome
            ],
        )?;
        Ok(())
    }

    pub fn last_run(&self) -> CoreResult<Option<RunRecord>> {
        Ok(self
            .conn()?
            .query_row(
                "SELECT started_ms, finished_ms, uploaded, duplicates, failed, bytes_sent, outcome \
                 FROM runs ORDER BY id DESC LIMIT 1",
                [],
                |r| {
                    Ok(RunRecord {
                        started_ms: r.get(0)?,
                        finished_ms: r.get(1)?,
                        uploaded: r.get::<_, i64>(2)? as u64,
                        duplicates: r.get::<_, i64>(3)? as u64,
                        failed: r.get::<_, i64>(4)? as u64,
                        bytes_sent: r.get::<_, i64>(5)? as u64,
                        outcome: r.get(6)?,
                    })
                },
            )
            .optional()?)
    }

    /// Replaces the list of every asset in the library (selected for backup or not), which the
    /// timeline shows as "on this device".
    pub fn replace_local_assets(
        &self,
        assets: &[crate::library::LocalAsset],
        album_names: &std::collections::HashMap<String, String>,
    ) -> CoreResult<()> {
        let c = self.conn()?;
        c.execute("DELETE FROM local_assets", [])?;
        let mut stmt = c.prepare_cached(
            "INSERT OR REPLACE INTO local_assets (local_id, file_name, created_ms, media_type, albums) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for a in assets {
            let albums: Vec<&String> = a
                .album_ids
                .iter()
                .filter_map(|id| album_names.get(id))
                .collect();
            let kind = match a.media_type {
                crate::library::MediaType::Image => "IMAGE",
                crate::library::MediaType::Video => "VIDEO",
            };
            stmt.execute(params![
                a.local_id,
                a.file_name,
                a.created_ms,
                kind,
                serde_json::to_string(&albums).unwrap_or_else(|_| "[]".into())
            ])?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_lifecycle_and_twins() {
        let dir = tempfile::tempdir().unwrap();
        let db = StateDb::open(&dir.path().join("s.db")).unwrap();
        assert_eq!(db.scan_index().unwrap().hash("a", 1, 2), None);
        db.store_hash("a", 1, 2, &[7; 20]).unwrap();
        assert_eq!(db.scan_index().unwrap().hash("a", 1, 2), Some([7; 20]));
        assert_eq!(
            db.scan_index().unwrap().hash("a", 1, 3),
            None,
            "mtime is part of the key"
        );

        let albums = vec!["Trip".to_string()];
        let r = db
            .record_scanned("a", &[7; 20], 1, 2, 2, "a.jpg", &albums)
            .unwrap();
        assert_eq!(r.state, QUEUED);
        db.record_scanned("b", &[7; 20], 1, 2, 2, "b.jpg", &[])
            .unwrap();
        db.set_upload_url("a", Some("http://x/u/1"), 0).unwrap();
        assert_eq!(
            db.get("a").unwrap().unwrap().upload_url.as_deref(),
            Some("http://x/u/1")
        );
        let twins = db.mark_done("a", Some("R1"), false).unwrap();
        assert_eq!(twins, 1, "the same bytes under another id are done too");
        assert_eq!(
            db.get("b").unwrap().unwrap().remote_id.as_deref(),
            Some("R1")
        );
        assert!(db.due(i64::MAX).unwrap().is_empty());

        // Unchanged re-scan keeps done; changed bytes re-queue.
        assert_eq!(
            db.record_scanned("a", &[7; 20], 1, 2, 2, "a.jpg", &albums)
                .unwrap()
                .state,
            DONE
        );
        assert_eq!(
            db.record_scanned("a", &[8; 20], 1, 3, 2, "a.jpg", &albums)
                .unwrap()
                .state,
            QUEUED
        );

        db.mark_failed("a", "unreadable", "check it").unwrap();
        assert_eq!(db.counts().unwrap().failed, 1);
        assert_eq!(
            db.record_scanned("a", &[8; 20], 1, 3, 2, "a.jpg", &albums)
                .unwrap()
                .state,
            QUEUED
        );
        db.retry_later("a", "503", 60_000).unwrap();
        assert!(db.due(now_ms()).unwrap().is_empty());
        assert_eq!(db.due(now_ms() + 120_000).unwrap().len(), 1);
        db.forget("a").unwrap();
        assert_eq!(db.get("a").unwrap(), None);

        db.set_setting("k", &vec![1, 2]).unwrap();

        // A write that needs its own transaction still works while a scan's batch is open.
        db.batch(|| {
            db.record_scanned("c", &[9; 20], 1, 2, 2, "c.jpg", &albums)?;
            db.mark_albums_synced(&["c".to_string()])
        })
        .unwrap();
        assert_eq!(db.get("c").unwrap().unwrap().state, QUEUED);
        assert_eq!(db.setting::<Vec<i32>>("k").unwrap(), Some(vec![1, 2]));
    }
}
