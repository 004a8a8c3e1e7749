//! The metadata store: one SQLite database (WAL) in the data directory, its schema, and the
//! `Db::call` bridge that runs a closure on a blocking thread so queries never stall the runtime.

use crate::error::ApiError;
use rusqlite::{Connection, OptionalExtension};
use std::path::Path;
use std::sync::{Arc, Mutex};

#[derive(Clone)]
pub struct Db {
    conn: Arc<Mutex<Connection>>,
}

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    is_admin INTEGER NOT NULL DEFAULT 0,
    quota_size_bytes INTEGER,
    usage_bytes INTEGER NOT NULL DEFAULT 0,
    should_change_password INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT
);
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash BLOB NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    key_hash BLOB NOT NULL UNIQUE,
    permissions TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS assets (
    id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    checksum BLOB NOT NULL,
    storage_path TEXT NOT NULL,
    original_file_name TEXT NOT NULL,
    mime_type TEXT NOT NULL,
    asset_type TEXT NOT NULL,
    file_size INTEGER NOT NULL,
    device_asset_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    file_created_at TEXT NOT NULL,
    file_modified_at TEXT NOT NULL,
    is_favorite INTEGER NOT NULL DEFAULT 0,
    visibility TEXT NOT NULL DEFAULT 'timeline',
    duration TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT,
    UNIQUE(owner_id, checksum)
);
CREATE INDEX IF NOT EXISTS assets_storage_path ON assets(storage_path);
CREATE TABLE IF NOT EXISTS albums (
    id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS albums_owner ON albums(owner_id, name);
CREATE TABLE IF NOT EXISTS album_assets (
    album_id TEXT NOT NULL REFERENCES albums(id) ON DELETE CASCADE,
    asset_id TEXT NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
    added_at TEXT NOT NULL,
    PRIMARY KEY (album_id, asset_id)
);
CREATE TABLE IF NOT EXISTS uploads (
    id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    length INTEGER NOT NULL,
    committed_offset INTEGER NOT NULL DEFAULT 0,
    metadata_header TEXT NOT NULL DEFAULT '',
    meta_json TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    asset_id TEXT,
    asset_status TEXT
);
"#;

/// Schema changes after the foundation, applied in order; `PRAGMA user_version` records how
/// many ran. Each entry runs in one transaction, so a crash mid-migration leaves the old schema.
const MIGRATIONS: &[&str] = &[
    // 1: media pipeline and timeline (issue 4).
    r#"
ALTER TABLE assets ADD COLUMN local_date_time TEXT;
ALTER TABLE assets ADD COLUMN thumbhash BLOB;
ALTER TABLE assets ADD COLUMN width INTEGER;
ALTER TABLE assets ADD COLUMN height INTEGER;
ALTER TABLE assets ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
UPDATE assets SET local_date_time = file_created_at;
CREATE INDEX assets_owner_local ON assets(owner_id, local_date_time);
-- Covering index for month buckets: walked in month order, visibility/favourite read from it.
CREATE INDEX assets_timeline
    ON assets(owner_id, substr(local_date_time, 1, 7), visibility, is_favorite)
    WHERE deleted_at IS NULL;
CREATE INDEX assets_owner_seq ON assets(owner_id, seq);
CREATE INDEX assets_owner_device ON assets(owner_id, device_id);
CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT INTO counters (name, value) VALUES ('change_seq', 0);
CREATE TABLE server_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE tombstones (
    seq INTEGER PRIMARY KEY,
    owner_id TEXT NOT NULL,
    asset_id TEXT NOT NULL,
    deleted_at TEXT NOT NULL
);
CREATE INDEX tombstones_owner_seq ON tombstones(owner_id, seq);
-- Every change to an asset row takes the next change number; a delete leaves a tombstone.
-- Triggers, so no code path can change an asset without delta sync seeing it.
CREATE TRIGGER assets_seq_insert AFTER INSERT ON assets BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'change_seq';
    UPDATE assets SET seq = (SELECT value FROM counters WHERE name = 'change_seq')
        WHERE id = NEW.id;
END;
CREATE TRIGGER assets_seq_update AFTER UPDATE ON assets WHEN NEW.seq IS OLD.seq BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'change_seq';
    UPDATE assets SET seq = (SELECT value FROM counters WHERE name = 'change_seq')
        WHERE id = NEW.id;
END;
CREATE TRIGGER assets_seq_delete AFTER DELETE ON assets BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'change_seq';
    INSERT INTO tombstones (seq, owner_id, asset_id, deleted_at)
        VALUES ((SELECT value FROM counters WHERE name = 'change_seq'), OLD.owner_id, OLD.id,
                strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
END;
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    queue TEXT NOT NULL,
    asset_id TEXT NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_run_at INTEGER NOT NULL,
    last_error TEXT,
    updated_at TEXT NOT NULL,
    UNIQUE(queue, asset_id)
);
CREATE INDEX jobs_ready ON jobs(state, next_run_at);
CREATE TABLE exif (
    asset_id TEXT PRIMARY KEY REFERENCES assets(id) ON DELETE CASCADE,
    make TEXT,
    model TEXT,
    lens_model TEXT,
    width INTEGER,
    height INTEGER,
    orientation INTEGER,
    date_time_original TEXT,
    time_zone TEXT,
    latitude REAL,
    longitude REAL,
    f_number REAL,
    focal_length REAL,
    iso INTEGER,
    exposure_time TEXT,
    duration_secs REAL
);
CREATE TABLE asset_files (
    asset_id TEXT NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    path TEXT NOT NULL,
    etag TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    PRIMARY KEY (asset_id, kind)
);
"#,
    // 2: sharing and administration (issue 8).
    r#"
CREATE TABLE partners (
    shared_by TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    shared_with TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    in_timeline INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    PRIMARY KEY (shared_by, shared_with)
);
CREATE INDEX partners_with ON partners(shared_with);
CREATE TABLE album_users (
    album_id TEXT NOT NULL REFERENCES albums(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    PRIMARY KEY (album_id, user_id)
);
CREATE INDEX album_users_user ON album_users(user_id);
CREATE INDEX album_assets_asset ON album_assets(asset_id);
CREATE TABLE shared_links (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    key_hash BLOB NOT NULL UNIQUE,
    link_type TEXT NOT NULL,
    album_id TEXT REFERENCES albums(id) ON DELETE CASCADE,
    description TEXT,
    password_hash TEXT,
    expires_at TEXT,
    allow_upload INTEGER NOT NULL DEFAULT 0,
    allow_download INTEGER NOT NULL DEFAULT 1,
    show_metadata INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL
);
CREATE INDEX shared_links_user ON shared_links(user_id);
CREATE TABLE shared_link_assets (
    link_id TEXT NOT NULL REFERENCES shared_links(id) ON DELETE CASCADE,
    asset_id TEXT NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
    PRIMARY KEY (link_id, asset_id)
);
CREATE INDEX shared_link_assets_asset ON shared_link_assets(asset_id);
ALTER TABLE uploads ADD COLUMN shared_link_id TEXT;
"#,
    // 3: places and search (issue 9).
    r#"
ALTER TABLE exif ADD COLUMN city TEXT;
ALTER TABLE exif ADD COLUMN state TEXT;
ALTER TABLE exif ADD COLUMN country TEXT;
CREATE INDEX exif_city ON exif(city) WHERE city IS NOT NULL;
CREATE TABLE smart_search (
    asset_id TEXT PRIMARY KEY REFERENCES assets(id) ON DELETE CASCADE,
    caption TEXT NOT NULL,
    embedding BLOB NOT NULL,
    model TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
"#,
    // 4: faces, people and object labels (issue 9).
    r#"
CREATE TABLE people (
    id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL DEFAULT '',
    birth_date TEXT,
    is_hidden INTEGER NOT NULL DEFAULT 0,
    is_favorite INTEGER NOT NULL DEFAULT 0,
    -- The face whose crop is the person's thumbnail (any of theirs when NULL or gone).
    feature_face_id TEXT,
    -- Sum of the member faces' unit embeddings: the cluster centre, kept incrementally.
    centroid BLOB,
    face_count INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX people_owner ON people(owner_id);
CREATE TABLE faces (
    id TEXT PRIMARY KEY,
    asset_id TEXT NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
    owner_id TEXT NOT NULL,
    person_id TEXT REFERENCES people(id) ON DELETE SET NULL,
    -- Box in the pixels of the image the detector saw (the preview), and that image's size.
    x1 REAL NOT NULL, y1 REAL NOT NULL, x2 REAL NOT NULL, y2 REAL NOT NULL,
    image_width INTEGER NOT NULL,
    image_height INTEGER NOT NULL,
    landmarks TEXT NOT NULL,
    score REAL NOT NULL,
    embedding BLOB NOT NULL,
    model TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX faces_asset ON faces(asset_id);
CREATE INDEX faces_person ON faces(person_id);
CREATE INDEX faces_owner ON faces(owner_id);
CREATE TABLE asset_labels (
    asset_id TEXT NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
    label TEXT NOT NULL,
    score REAL NOT NULL,
    PRIMARY KEY (asset_id, label)
);
CREATE INDEX asset_labels_label ON asset_labels(label);
-- Asked to run again while running: the job goes back to waiting when it completes.
ALTER TABLE jobs ADD COLUMN rerun INTEGER NOT NULL DEFAULT 0;
"#,
    // 5: `POST /api/assets/exist` looks assets up by what the device calls them; this index
    // also serves every (owner_id, device_id) query the older index did.
    r#"
CREATE INDEX IF NOT EXISTS assets_owner_device_asset
    ON assets(owner_id, device_id, device_asset_id);
DROP INDEX IF EXISTS assets_owner_device;
"#,
];

fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let done: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(done.max(0) as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

impl Db {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Self, rusqlite::Error> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // FULL: a committed transaction survives power loss, which the crash-safety rules need
        // (a tus offset or an asset row is only promised once it is on disk).
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.execute_batch(SCHEMA)?;
        let mut conn = conn;
        migrate(&mut conn)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs `f` with the connection on a blocking thread.
    pub async fn call<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, ApiError> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn
                .lock()
                .map_err(|_| ApiError::Internal("database lock poisoned".into()))?;
            f(&mut guard)
        })
        .await
        .map_err(|e| ApiError::internal("database task", e))?
    }

    /// Runs a store function with the connection on a blocking thread (the store's errors,
    /// not the HTTP edge's; see [`crate::store`]).
    pub async fn run<T, F>(&self, f: F) -> crate::store::StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> crate::store::StoreResult<T> + Send + 'static,
    {
        use crate::store::StoreError;
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn
                .lock()
                .map_err(|_| StoreError::Task("database lock poisoned".into()))?;
            f(&mut guard)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }

    /// Synchronous access for start-up work that runs before the server accepts requests.
    pub fn blocking<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let mut guard = self
            .conn
            .lock()
            .map_err(|_| ApiError::Internal("database lock poisoned".into()))?;
        f(&mut guard)
    }
}

/// This data directory's identity, made once: clients compare it to notice a server reset
/// (a new data directory behind the same URL) and re-sync from scratch.
pub fn server_id(c: &Connection) -> rusqlite::Result<String> {
    c.execute(
        "INSERT OR IGNORE INTO server_meta (name, value) VALUES ('server_id', ?1)",
        [crate::ids::new_id()],
    )?;
    c.query_row(
        "SELECT value FROM server_meta WHERE name = 'server_id'",
        [],
        |r| r.get(0),
    )
}

/// The last change number handed out (see the `assets_seq_*` triggers).
pub fn change_seq(c: &Connection) -> rusqlite::Result<i64> {
    c.query_row(
        "SELECT value FROM counters WHERE name = 'change_seq'",
        [],
        |r| r.get(0),
    )
}

impl Db {
    /// Runs a `DELETE … WHERE <row> = ?1 AND <owner> = ?2`; 404 naming `what` when no row of
    /// that owner matched (another user's id looks exactly like a missing one).
    pub async fn delete_owned(
        &self,
        sql: &'static str,
        row: String,
        owner: String,
        what: &'static str,
    ) -> Result<(), ApiError> {
        self.call(move |c| match c.execute(sql, [&row, &owner])? {
            0 => Err(ApiError::not_found(what)),
            _ => Ok(()),
        })
        .await
    }
}

/// A column list such as [`crate::users::COLUMNS`] qualified with a table alias, for joins.
pub fn qualified(columns: &str, alias: &str) -> String {
    columns
        .split(", ")
        .map(|c| format!("{alias}.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `query_row` that maps "no row" to `None`.
pub fn optional<T>(r: rusqlite::Result<T>) -> rusqlite::Result<Option<T>> {
    r.optional()
}

/// Whether an error is a UNIQUE constraint violation (a lost race against a concurrent insert).
pub fn is_unique_violation(err: &rusqlite::Error) -> bool {
    matches!(
        err,
        rusqlite::Error::SqliteFailure(e, _) if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
            || e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}
