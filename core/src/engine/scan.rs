//! Scanning: list the library, keep what the album selection includes, take each asset's
//! SHA-1 from the hash cache when (id, size, mtime) are unchanged (stat only) or hash it, record
//! it in the queue, then ask the server in batches which of the queued bytes it already has.

use super::{Inner, SELECTION_KEY};
use crate::error::{CoreError, CoreResult};
use crate::library::{LocalAsset, PhotoLibrary};
use crate::progress::{FileFailure, Phase};
use crate::selection::AlbumSelection;
use crate::state::DONE;
use sha1::{Digest, Sha1};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanReport {
    /// Assets the selection includes.
    pub assets: u64,
    /// Files whose bytes had to be read to hash them (0 when nothing changed).
    pub hashed_files: u64,
    pub hashed_bytes: u64,
    /// Newly found on the server by SHA-1: marked done without sending bytes.
    pub already_on_server: u64,
    /// Waiting to be uploaded after the scan.
    pub queued: u64,
    pub failures: Vec<FileFailure>,
}

const HASH_READ: u32 = 1 << 20;

/// SHA-1 of an asset read through the library in 1 MiB pieces.
pub fn hash_asset(library: &dyn PhotoLibrary, local_id: &str, size: u64) -> CoreResult<[u8; 20]> {
    let mut hasher = Sha1::new();
    let mut offset = 0u64;
    while offset < size {
        let piece = library.read(local_id, offset, HASH_READ)?;
        if piece.is_empty() {
            return Err(CoreError::FileChanged {
                name: local_id.to_owned(),
            });
        }
        hasher.update(&piece);
        offset += piece.len() as u64;
    }
    Ok(hasher.finalize().into())
}

pub(super) async fn scan(inner: &Arc<Inner>) -> CoreResult<ScanReport> {
    inner.tracker.phase(Phase::Scanning);
    let local = inner.clone();
    let mut report = tokio::task::spawn_blocking(move || local.db.batch(|| scan_local(&local)))
        .await
        .map_err(|e| CoreError::Library(e.to_string()))??;

    inner.tracker.phase(Phase::Checking);
    let fresh: Vec<(String, [u8; 20])> = inner
        .db
        .queued_for_check()?
        .into_iter()
        .filter(|r| r.upload_url.is_none())
        .map(|r| (r.local_id, r.sha1))
        .collect();
    if !fresh.is_empty() {
        for (local_id, dup) in inner.api.bulk_check(&fresh).await? {
            if let Some(asset_id) = dup {
                inner.db.mark_done(&local_id, Some(&asset_id), true)?;
                report.already_on_server += 1;
            }
        }
    }
    report.queued = inner.db.counts()?.queued;
    Ok(report)
}

fn scan_local(inner: &Inner) -> CoreResult<ScanReport> {
    let library = inner.library.as_ref();
    let selection: AlbumSelection = inner.db.setting(SELECTION_KEY)?.unwrap_or_default();
    let names: HashMap<String, String> = library
        .albums()?
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect();
    let all = library.assets()?;
    inner.db.replace_local_assets(&all, &names)?;
    let assets: Vec<LocalAsset> = all.into_iter().filter(|a| selection.includes(a)).collect();
    let mut report = ScanReport {
        assets: assets.len() as u64,
        ..ScanReport::default()
    };
    inner.tracker.phase(Phase::Hashing);
    let mut seen = HashSet::with_capacity(assets.len());
    let mut last_commit = std::time::Instant::now();
    for asset in &assets {
        if last_commit.elapsed() > std::time::Duration::from_secs(2) {
            inner.db.checkpoint()?;
            last_commit = std::time::Instant::now();
        }
        seen.insert(asset.local_id.clone());
        let sha1 = match inner
            .db
            .cached_hash(&asset.local_id, asset.size, asset.modified_ms)?
        {
            Some(sha) => sha,
            None => match hash_asset(library, &asset.local_id, asset.size) {
                Ok(sha) => {
                    report.hashed_files += 1;
                    report.hashed_bytes += asset.size;
                    inner
                        .db
                        .store_hash(&asset.local_id, asset.size, asset.modified_ms, &sha)?;
                    sha
                }
                Err(CoreError::FileVanished(_)) => continue,
                Err(e) => {
                    report.failures.push(FileFailure {
                        local_id: asset.local_id.clone(),
                        file_name: asset.file_name.clone(),
                        message: e.to_string(),
                        hint: e.hint().to_owned(),
                    });
                    continue;
                }
            },
        };
        let albums: Vec<String> = asset
            .album_ids
            .iter()
            .filter_map(|id| names.get(id).cloned())
            .collect();
        inner.db.record_scanned(
            &asset.local_id,
            &sha1,
            asset.size,
            asset.modified_ms,
            asset.created_ms,
            &asset.file_name,
            &albums,
        )?;
    }
    // Assets that left the library or the selection leave the queue; what is backed up stays
    // recorded as backed up.
    for id in inner.db.known_ids()? {
        if !seen.contains(&id)
            && let Some(row) = inner.db.get(&id)?
            && row.state != DONE
        {
            inner.db.forget(&id)?;
        }
    }
    Ok(report)
}
