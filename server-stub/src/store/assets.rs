//! Asset rows looked up by what a device knows about them.

use super::StoreResult;
use rusqlite::{Connection, params};

/// One of the owner's live (not trashed) assets that a device uploaded under `device_asset_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceAsset {
    pub device_asset_id: String,
    pub id: String,
    pub checksum: [u8; 20],
    pub file_size: i64,
    /// As stored at ingest: RFC 3339, UTC, milliseconds, `Z`.
    pub file_modified_at: String,
}

/// For each of `device_asset_ids` (in order), the owner's non-trashed assets that `device_id`
/// uploaded under it, oldest first. Uses the `(owner_id, device_id, device_asset_id)` index.
pub fn on_device(
    c: &Connection,
    owner_id: &str,
    device_id: &str,
    device_asset_ids: &[String],
) -> StoreResult<Vec<DeviceAsset>> {
    let mut stmt = c.prepare_cached(
        "SELECT id, checksum, file_size, file_modified_at FROM assets \
         WHERE owner_id = ?1 AND device_id = ?2 AND device_asset_id = ?3 \
         AND deleted_at IS NULL ORDER BY created_at, id",
    )?;
    let mut out = Vec::new();
    for device_asset_id in device_asset_ids {
        let rows = stmt.query_map(params![owner_id, device_id, device_asset_id], |r| {
            let checksum: Vec<u8> = r.get(1)?;
            Ok(DeviceAsset {
                device_asset_id: device_asset_id.clone(),
                id: r.get(0)?,
                checksum: checksum.try_into().unwrap_or([0; 20]),
                file_size: r.get(2)?,
                file_modified_at: r.get(3)?,
            })
        })?;
        for row in rows {
            out.push(row?);
        }
    }
    Ok(out)
}

/// Whether the owner's asset `id` is on their timeline: not archived, hidden, locked or trashed.
pub fn on_timeline(c: &Connection, owner_id: &str, id: &str) -> StoreResult<bool> {
    Ok(c.query_row(
        "SELECT EXISTS(SELECT 1 FROM assets WHERE id = ?1 AND owner_id = ?2 \
         AND visibility = 'timeline' AND deleted_at IS NULL)",
        [id, owner_id],
        |r| r.get(0),
    )?)
}
