//! Scanning, in phases that each obey the run's window: list the library and keep what the
//! album selection includes (stat only: an unchanged asset takes its SHA-1 from the hash cache),
//! adopt what the server already holds for this device (a reinstalled app reads no file), hash
//! what is left (resumable: a big video hashed over several windows keeps its progress), then
//! ask the server in batches which of the queued bytes it already has.

use super::window::Window;
use super::{Inner, SELECTION_KEY, StopReason};
use crate::error::{CoreError, CoreResult};
use crate::hash::Sha1State;
use crate::library::LocalAsset;
use crate::progress::{FileFailure, Phase};
use crate::selection::AlbumSelection;
use crate::server::BULK_CHECK_BATCH;
use crate::state::{Adopted, DONE, ToHash};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanReport {
    /// Assets the selection includes.
    pub assets: u64,
    /// Files whose bytes had to be read to hash them (0 when nothing changed).
    pub hashed_files: u64,
    pub hashed_bytes: u64,
    /// Taken over from the server's record of this device (after a reinstall) without reading.
    pub adopted: u64,
    /// Newly found on the server by SHA-1: marked done without sending bytes.
    pub already_on_server: u64,
    /// Waiting to be uploaded after the scan.
    pub queued: u64,
    /// Still to be hashed when the scan had to stop.
    pub unhashed: u64,
    pub failures: Vec<FileFailure>,
    /// Why the scan stopped before it finished (the window ended, cancel, policy).
    pub stopped: Option<StopReason>,
}

const HASH_READ: u32 = 1 << 20;
/// A partial hash is saved this often, so a window that ends mid-file keeps its progress.
const HASH_SAVE_EVERY: u64 = 8 << 20;

/// One version of an asset (its size and modification time) to hash.
#[derive(Clone, Copy)]
pub(super) struct Version<'a> {
    pub local_id: &'a str,
    pub file_name: &'a str,
    pub size: u64,
    pub modified_ms: i64,
}

impl<'a> From<&'a LocalAsset> for Version<'a> {
    fn from(a: &'a LocalAsset) -> Self {
        Self {
            local_id: &a.local_id,
            file_name: &a.file_name,
            size: a.size,
            modified_ms: a.modified_ms,
        }
    }
}

/// What listing found: the assets that still need a hash.
struct Listing {
    report: ScanReport,
    unhashed: Vec<LocalAsset>,
    names: HashMap<String, String>,
}

/// Scans inside the window. Listing is local and always runs; every later phase needs the
/// network (adoption, before any byte is hashed) or follows it. With `verify`, the server and
/// credentials are checked first (a run's first request).
pub(super) async fn scan(inner: &Arc<Inner>, w: &Window, verify: bool) -> CoreResult<ScanReport> {
    inner.tracker.phase(Phase::Scanning);
    let local = inner.clone();
    let mut listing = tokio::task::spawn_blocking(move || local.db.batch(|| list(&local)))
        .await
        .map_err(|e| CoreError::Library(e.to_string()))??;
    if verify {
        match w.guard(|| inner.api.me()).await {
            Ok(_) => {}
            Err(CoreError::Stopped(r)) => return Ok(stopped(inner, listing.report, r)),
            Err(e) => return Err(e),
        }
    }

    if !listing.unhashed.is_empty() {
        inner.tracker.phase(Phase::Checking);
        match adopt(inner, w, &mut listing).await {
            Ok(()) => {}
            Err(CoreError::Stopped(r)) => return Ok(stopped(inner, listing.report, r)),
            Err(e) => return Err(e),
        }
    }

    inner.tracker.phase(Phase::Hashing);
    let local = inner.clone();
    let window = w.clone();
    let Listing {
        mut report,
        unhashed,
        names,
    } = listing;
    let report_in = std::mem::take(&mut report);
    let report = tokio::task::spawn_blocking(move || {
        local
            .db
            .batch(|| hash_all(&local, &window, &unhashed, &names, report_in))
    })
    .await
    .map_err(|e| CoreError::Library(e.to_string()))??;
    if let Some(r) = report.stopped {
        return Ok(stopped(inner, report, r));
    }

    inner.tracker.phase(Phase::Checking);
    match bulk_check(inner, w, report).await {
        Ok(report) => Ok(report),
        Err((report, CoreError::Stopped(r))) => Ok(stopped(inner, report, r)),
        Err((_, e)) => Err(e),
    }
}

fn stopped(inner: &Inner, mut report: ScanReport, reason: StopReason) -> ScanReport {
    report.stopped = Some(reason);
    report.unhashed = inner.db.to_hash().map_or(0, |t| t.len() as u64);
    report.queued = inner.db.counts().map_or(0, |c| c.queued);
    report
}

/// Lists the library: records every asset (the timeline's "on this device"), queues the
/// selected ones whose hash is cached, and returns the rest for hashing.
fn list(inner: &Inner) -> CoreResult<Listing> {
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
    let index = inner.db.scan_index()?;
    let mut seen = HashSet::with_capacity(assets.len());
    let mut unhashed = Vec::new();
    for asset in assets {
        seen.insert(asset.local_id.clone());
        match index.hash(&asset.local_id, asset.size, asset.modified_ms) {
            Some(sha) => {
                let albums = album_names(&asset, &names);
                if !index.unchanged(
                    &asset.local_id,
                    &sha,
                    asset.size,
                    asset.modified_ms,
                    &albums,
                ) {
                    record(inner, &asset, &sha, &names)?;
                }
            }
            None => unhashed.push(asset),
        }
    }
    // Assets that left the library or the selection leave the queue; what is backed up stays
    // recorded as backed up.
    for (id, (_, _, _, _, state)) in &index.rows {
        if !seen.contains(id) && state != DONE {
            inner.db.forget(id)?;
        }
    }
    inner.db.replace_to_hash(
        &unhashed
            .iter()
            .map(|a| ToHash {
                local_id: a.local_id.clone(),
                file_name: a.file_name.clone(),
                size: a.size,
                modified_ms: a.modified_ms,
                error: None,
            })
            .collect::<Vec<_>>(),
    )?;
    report.unhashed = unhashed.len() as u64;
    Ok(Listing {
        report,
        unhashed,
        names,
    })
}

/// The names of the local albums an asset is in (what album sync uses).
fn album_names(asset: &LocalAsset, names: &HashMap<String, String>) -> Vec<String> {
    asset
        .album_ids
        .iter()
        .filter_map(|id| names.get(id).cloned())
        .collect()
}

fn record(
    inner: &Inner,
    asset: &LocalAsset,
    sha: &[u8; 20],
    names: &HashMap<String, String>,
) -> CoreResult<()> {
    let albums = album_names(asset, names);
    inner.db.record_scanned(
        &asset.local_id,
        sha,
        asset.size,
        asset.modified_ms,
        asset.created_ms,
        &asset.file_name,
        &albums,
    )?;
    Ok(())
}

/// Takes over the assets the server already holds for this device with the same size and
/// modification time: their SHA-1 comes from the server, no byte is read.
async fn adopt(inner: &Arc<Inner>, w: &Window, listing: &mut Listing) -> CoreResult<()> {
    let mut adopted: HashSet<String> = HashSet::new();
    let ids: Vec<String> = listing
        .unhashed
        .iter()
        .map(|a| a.local_id.clone())
        .collect();
    let by_id: HashMap<&str, &LocalAsset> = listing
        .unhashed
        .iter()
        .map(|a| (a.local_id.as_str(), a))
        .collect();
    for batch in ids.chunks(BULK_CHECK_BATCH) {
        let found = w.guard(|| inner.api.exist(&inner.device_id, batch)).await?;
        if found.is_empty() {
            continue;
        }
        let matches: Vec<Adopted> = found
            .into_iter()
            .filter_map(|e| {
                let a = by_id.get(e.local_id.as_str())?;
                (a.size == e.size && a.modified_ms == e.modified_ms).then(|| Adopted {
                    local_id: a.local_id.clone(),
                    sha1: e.sha1,
                    size: a.size,
                    modified_ms: a.modified_ms,
                    created_ms: a.created_ms,
                    file_name: a.file_name.clone(),
                    albums: album_names(a, &listing.names),
                    remote_id: e.remote_id,
                })
            })
            .collect();
        let local = inner.clone();
        let done = tokio::task::spawn_blocking(move || {
            local.db.adopt(&matches)?;
            Ok::<_, CoreError>(matches.into_iter().map(|a| a.local_id).collect::<Vec<_>>())
        })
        .await
        .map_err(|e| CoreError::Library(e.to_string()))??;
        listing.report.adopted += done.len() as u64;
        adopted.extend(done);
    }
    if !adopted.is_empty() {
        listing.unhashed.retain(|a| !adopted.contains(&a.local_id));
        listing.report.unhashed = listing.unhashed.len() as u64;
        tracing::info!(
            adopted = adopted.len(),
            "adopted assets the server already has"
        );
    }
    Ok(())
}

fn hash_all(
    inner: &Inner,
    w: &Window,
    unhashed: &[LocalAsset],
    names: &HashMap<String, String>,
    mut report: ScanReport,
) -> CoreResult<ScanReport> {
    let mut last_commit = std::time::Instant::now();
    for (i, asset) in unhashed.iter().enumerate() {
        if last_commit.elapsed() > std::time::Duration::from_secs(2) {
            inner.db.checkpoint()?;
            last_commit = std::time::Instant::now();
        }
        if let Some(r) = w.stop_reason() {
            report.stopped = Some(r);
            report.unhashed = (unhashed.len() - i) as u64;
            return Ok(report);
        }
        match hash_resumable(inner, w, asset.into()) {
            Ok(Some(sha)) => {
                report.hashed_files += 1;
                report.hashed_bytes += asset.size;
                inner
                    .db
                    .store_hash(&asset.local_id, asset.size, asset.modified_ms, &sha)?;
                record(inner, asset, &sha, names)?;
                inner.db.hashed(&asset.local_id)?;
            }
            Ok(None) => {
                report.stopped = w.stop_reason().or(Some(StopReason::Deadline));
                report.unhashed = (unhashed.len() - i) as u64;
                return Ok(report);
            }
            Err(CoreError::FileVanished(_)) => {
                inner.db.hashed(&asset.local_id)?;
            }
            Err(e) => {
                inner
                    .db
                    .hash_failed(&asset.local_id, &e.to_string(), e.hint())?;
                report.failures.push(FileFailure {
                    local_id: asset.local_id.clone(),
                    file_name: asset.file_name.clone(),
                    message: e.to_string(),
                    hint: e.hint().to_owned(),
                });
            }
        }
    }
    report.unhashed = 0;
    Ok(report)
}

/// Hashes one asset from where an earlier window left it; `None` when the window ended first
/// (the progress so far is saved).
pub(super) fn hash_resumable(
    inner: &Inner,
    w: &Window,
    a: Version<'_>,
) -> CoreResult<Option<[u8; 20]>> {
    let library = inner.library.as_ref();
    let mut state = inner
        .db
        .hash_progress(a.local_id, a.size, a.modified_ms)?
        .and_then(|s| Sha1State::restore(&s))
        .filter(|s| s.len() <= a.size)
        .unwrap_or_default();
    let mut offset = state.len();
    let mut unsaved = 0u64;
    let save = |state: &Sha1State| -> CoreResult<()> {
        match state.checkpoint() {
            Some(cp) if !state.is_empty() => {
                inner
                    .db
                    .save_hash_progress(a.local_id, a.size, a.modified_ms, &cp)
            }
            _ => Ok(()),
        }
    };
    while offset < a.size {
        if w.stop_reason().is_some() {
            save(&state)?;
            inner.live.set_hashing(None);
            return Ok(None);
        }
        let want = (a.size - offset).min(HASH_READ as u64) as u32;
        let piece = library.read(a.local_id, offset, want)?;
        if piece.is_empty() {
            inner.live.set_hashing(None);
            return Err(CoreError::FileChanged {
                name: a.file_name.to_owned(),
            });
        }
        state.update(&piece);
        offset += piece.len() as u64;
        unsaved += piece.len() as u64;
        inner
            .live
            .set_hashing(Some((a.local_id.to_owned(), offset)));
        if unsaved >= HASH_SAVE_EVERY {
            save(&state)?;
            unsaved = 0;
        }
    }
    inner.live.set_hashing(None);
    Ok(Some(state.finalize()))
}

/// Asks the server which queued bytes it has, a batch at a time (each batch is committed).
async fn bulk_check(
    inner: &Arc<Inner>,
    w: &Window,
    mut report: ScanReport,
) -> Result<ScanReport, (ScanReport, CoreError)> {
    let fresh: Vec<(String, [u8; 20])> = match inner.db.queued_for_check() {
        Ok(rows) => rows
            .into_iter()
            .filter(|r| r.upload_url.is_none())
            .map(|r| (r.local_id, r.sha1))
            .collect(),
        Err(e) => return Err((report, e)),
    };
    for batch in fresh.chunks(BULK_CHECK_BATCH) {
        let answers = match w.guard(|| inner.api.bulk_check(batch)).await {
            Ok(a) => a,
            Err(e) => return Err((report, e)),
        };
        for (local_id, dup) in answers {
            if let Some(asset_id) = dup {
                if let Err(e) = inner.db.mark_done(&local_id, Some(&asset_id), true) {
                    return Err((report, e));
                }
                report.already_on_server += 1;
            }
        }
    }
    report.queued = inner.db.counts().map_err(|e| (report.clone(), e))?.queued;
    Ok(report)
}
