//! Which of a device's assets the server already holds (`POST /api/assets/exist`): a
//! reinstalled phone asks by its own ids and adopts what it backed up before, comparing size
//! and modification time with its local file instead of re-reading it.

use crate::assets::{MAX_NAME, clean_text};
use crate::db::Db;
use crate::store::{self, StoreResult};
use std::collections::{BTreeMap, BTreeSet};

/// Most device asset ids one request may ask about (clients batch above this).
pub const MAX_IDS: usize = 10_000;
/// Longest device asset id (or device id) accepted, in bytes; stored ids are at most
/// [`MAX_NAME`] characters, so anything longer could never match anyway.
pub const MAX_ID_BYTES: usize = 1_000;

/// One of the caller's assets answering a requested id (`requested` exactly as the client sent
/// it, which may differ from the stored form by control characters or surrounding spaces).
#[derive(Debug, Clone)]
pub struct Existing {
    pub requested: String,
    pub asset: store::assets::DeviceAsset,
}

/// The stored form of a client's device id or device asset id (see `AssetMeta::validate`).
pub fn stored_form(id: &str) -> String {
    clean_text(id, MAX_NAME)
}

/// The owner's non-trashed assets that `device_id` uploaded under any of `requested`, in the
/// order asked (duplicates asked once). Only the owner's: nothing of anyone else's answers.
pub async fn existing(
    db: &Db,
    owner_id: &str,
    device_id: &str,
    requested: Vec<String>,
) -> StoreResult<Vec<Existing>> {
    // stored form -> the client's spellings that map to it, in request order
    let mut by_stored: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut seen = BTreeSet::new();
    for raw in requested {
        if !seen.insert(raw.clone()) {
            continue;
        }
        let stored = stored_form(&raw);
        if stored.is_empty() {
            continue;
        }
        let spellings = by_stored.entry(stored.clone()).or_default();
        if spellings.is_empty() {
            order.push(stored);
        }
        spellings.push(raw);
    }
    let owner = owner_id.to_owned();
    let device = stored_form(device_id);
    let found = db
        .run(move |c| store::assets::on_device(c, &owner, &device, &order))
        .await?;
    let mut out = Vec::with_capacity(found.len());
    for asset in found {
        for requested in by_stored.get(&asset.device_asset_id).into_iter().flatten() {
            out.push(Existing {
                requested: requested.clone(),
                asset: asset.clone(),
            });
        }
    }
    Ok(out)
}
