//! What a snapshot and `verify` read from (and trim in) a copy of the database.

use super::StoreResult;
use rusqlite::{Connection, params};

/// One original the database promises: the asset, where its file is, and its SHA-1.
#[derive(Debug, Clone)]
pub struct Original {
    pub asset_id: String,
    pub owner_id: String,
    pub storage_path: String,
    pub checksum: [u8; 20],
    pub file_size: i64,
    pub original_file_name: String,
}

/// Every asset's original (trashed ones too: they are restorable), by path.
pub fn originals(c: &Connection) -> StoreResult<Vec<Original>> {
    let mut stmt = c.prepare(
        "SELECT id, owner_id, storage_path, checksum, file_size, original_file_name \
         FROM assets ORDER BY storage_path, id",
    )?;
    let rows = stmt.query_map([], |r| {
        let sum: Vec<u8> = r.get(3)?;
        Ok(Original {
            asset_id: r.get(0)?,
            owner_id: r.get(1)?,
            storage_path: r.get(2)?,
            checksum: sum.try_into().unwrap_or([0; 20]),
            file_size: r.get(4)?,
            original_file_name: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Every derived file and sidecar the database points at: (asset id, kind, path).
pub fn asset_files(c: &Connection) -> StoreResult<Vec<(String, String, String)>> {
    let mut stmt = c.prepare("SELECT asset_id, kind, path FROM asset_files ORDER BY path")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Unfinished tus uploads: (id, committed offset).
pub fn open_uploads(c: &Connection) -> StoreResult<Vec<(String, u64)>> {
    let mut stmt =
        c.prepare("SELECT id, committed_offset FROM uploads WHERE asset_id IS NULL ORDER BY id")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)?.max(0) as u64)))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Removes an asset (and, by cascade, what hangs off it) from a snapshot's database.
pub fn drop_asset(c: &Connection, asset_id: &str) -> StoreResult<()> {
    c.execute("DELETE FROM assets WHERE id = ?1", [asset_id])?;
    Ok(())
}

/// Removes one derived-file row from a snapshot's database.
pub fn drop_asset_file(c: &Connection, asset_id: &str, kind: &str) -> StoreResult<()> {
    c.execute(
        "DELETE FROM asset_files WHERE asset_id = ?1 AND kind = ?2",
        params![asset_id, kind],
    )?;
    Ok(())
}

/// Removes an unfinished upload from a snapshot's database.
pub fn drop_upload(c: &Connection, id: &str) -> StoreResult<()> {
    c.execute("DELETE FROM uploads WHERE id = ?1", [id])?;
    Ok(())
}
