//! Upload workers in two lanes: files above the large-file threshold have a lane (and a
//! worker) of their own, so a video never holds the photos behind it. Each worker takes the
//! next queued file (never two files with the same bytes at once), checks the file has not
//! changed, then sends it: tus with the URL saved before the first PATCH and a HEAD on resume,
//! or multipart when the server has no tus. Every request runs inside the run's window: it is
//! aborted when the run is cancelled, the deadline comes, or the network stops qualifying
//! (the server keeps what it received; the next try resumes from its offset). Transient
//! failures retry with exponential backoff and jitter, then wait in the queue for a later run.

use super::window::{ABORT_MARGIN, Window};
use super::{Inner, RunReport, StopReason};
use crate::error::{CoreError, CoreResult};
use crate::progress::{FileFailure, Phase};
use crate::state::{BackupRow, DONE};
use crate::upload::source;
use crate::upload::tus::{Finished, Patched};
use crate::wire::meta;
use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// Transient failures of one file retried inside a run before it waits for a later one.
const INLINE_RETRIES: u32 = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Lane {
    Small,
    Large,
}

#[derive(Default)]
struct Lanes {
    small: VecDeque<BackupRow>,
    large: VecDeque<BackupRow>,
    /// SHA-1s being sent now.
    in_flight: HashSet<[u8; 20]>,
    /// Local ids in a lane or in flight, so a rescan does not queue them twice.
    known: HashSet<String>,
}

pub(super) struct Shared {
    lanes: Mutex<Lanes>,
    /// Files whose chunk this run dropped mid-flight: the server kept part of it, which the
    /// next HEAD reveals and this run counts as sent.
    interrupted: Mutex<HashSet<String>>,
    threshold: u64,
    report: Mutex<RunReport>,
}

impl Shared {
    pub fn new(threshold: u64) -> Self {
        Self {
            lanes: Mutex::new(Lanes::default()),
            interrupted: Mutex::new(HashSet::new()),
            threshold,
            report: Mutex::new(RunReport::default()),
        }
    }

    pub fn lane_of(&self, size: u64) -> Lane {
        if size > self.threshold {
            Lane::Large
        } else {
            Lane::Small
        }
    }

    /// Adds rows not already queued; answers how many files and bytes joined.
    pub fn push(&self, rows: Vec<BackupRow>) -> (u64, u64) {
        let Ok(mut lanes) = self.lanes.lock() else {
            return (0, 0);
        };
        let (mut files, mut bytes) = (0, 0);
        for row in rows {
            if !lanes.known.insert(row.local_id.clone()) {
                continue;
            }
            files += 1;
            bytes += row.size;
            match self.lane_of(row.size) {
                Lane::Small => lanes.small.push_back(row),
                Lane::Large => lanes.large.push_back(row),
            }
        }
        (files, bytes)
    }

    fn put_back(&self, row: BackupRow) {
        if let Ok(mut lanes) = self.lanes.lock() {
            match self.lane_of(row.size) {
                Lane::Small => lanes.small.push_front(row),
                Lane::Large => lanes.large.push_front(row),
            }
        }
    }

    /// The next row for a worker of `lane` whose bytes no other worker is sending: the large
    /// lane's worker helps with photos when it has no big file. `Err(true)` when rows are left
    /// that only wait for a twin in flight.
    fn next(&self, lane: Lane) -> Result<BackupRow, bool> {
        let Ok(mut guard) = self.lanes.lock() else {
            return Err(false);
        };
        let lanes = &mut *guard;
        let order: &mut [&mut VecDeque<BackupRow>] = match lane {
            Lane::Large => &mut [&mut lanes.large, &mut lanes.small],
            Lane::Small => &mut [&mut lanes.small],
        };
        let mut waiting = false;
        for q in order.iter_mut() {
            if let Some(pos) = q.iter().position(|r| !lanes.in_flight.contains(&r.sha1))
                && let Some(row) = q.remove(pos)
            {
                lanes.in_flight.insert(row.sha1);
                return Ok(row);
            }
            waiting |= !q.is_empty();
        }
        Err(waiting)
    }

    /// The worker is done with `row`. A row `put_back` (at its lane's front) stays known, so a
    /// rescan does not queue it a second time.
    fn release(&self, row: &BackupRow) {
        if let Ok(mut lanes) = self.lanes.lock() {
            lanes.in_flight.remove(&row.sha1);
            let requeued = [lanes.small.front(), lanes.large.front()]
                .into_iter()
                .flatten()
                .any(|r| r.local_id == row.local_id);
            if !requeued {
                lanes.known.remove(&row.local_id);
            }
        }
    }

    pub fn report(&self) -> RunReport {
        self.report.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

/// The run's workers: one for the large lane, `n` for the small one, topped up when a rescan
/// adds work after some have finished.
pub(super) struct Crew {
    inner: Arc<Inner>,
    shared: Arc<Shared>,
    w: Window,
    use_tus: bool,
    tasks: tokio::task::JoinSet<()>,
    alive: [Arc<AtomicUsize>; 2],
}

impl Crew {
    pub fn new(inner: Arc<Inner>, shared: Arc<Shared>, w: Window, use_tus: bool) -> Self {
        Self {
            inner,
            shared,
            w,
            use_tus,
            tasks: tokio::task::JoinSet::new(),
            alive: [Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0))],
        }
    }

    /// Starts workers until the large lane has one and the small lane `small`.
    pub fn fill(&mut self, small: usize) {
        for (lane, want) in [(Lane::Large, 1), (Lane::Small, small)] {
            let alive = self.alive[lane as usize].clone();
            while alive.load(Ordering::SeqCst) < want {
                alive.fetch_add(1, Ordering::SeqCst);
                let ctx = Ctx {
                    inner: self.inner.clone(),
                    shared: self.shared.clone(),
                    w: self.w.clone(),
                    use_tus: self.use_tus,
                    lane,
                };
                let alive = alive.clone();
                self.tasks.spawn(async move {
                    ctx.work().await;
                    alive.fetch_sub(1, Ordering::SeqCst);
                });
            }
        }
    }

    /// Waits for a worker to end; `false` when none is left.
    pub async fn join_next(&mut self) -> bool {
        match self.tasks.join_next().await {
            Some(Err(e)) => {
                tracing::error!(%e, "upload worker panicked");
                true
            }
            Some(Ok(())) => true,
            None => false,
        }
    }
}

struct Ctx {
    inner: Arc<Inner>,
    shared: Arc<Shared>,
    w: Window,
    use_tus: bool,
    lane: Lane,
}

enum Outcome {
    Done(Option<Finished>),
    Stopped(StopReason),
}

impl Ctx {
    /// Waits until the policy allows uploads; `Some` when the run must stop instead.
    async fn wait_allowed(&self) -> Option<StopReason> {
        let stop = self.w.wait_allowed().await;
        if let Some(StopReason::Paused(reason)) = stop {
            self.inner.tracker.phase(Phase::Paused(reason));
        }
        stop
    }

    fn record_stop(&self, reason: StopReason) {
        if let Ok(mut r) = self.shared.report.lock() {
            r.stopped.get_or_insert(reason);
        }
    }

    async fn work(self) {
        loop {
            if let Some(reason) = self.wait_allowed().await {
                self.record_stop(reason);
                return;
            }
            let row = match self.shared.next(self.lane) {
                Ok(row) => row,
                Err(true) => {
                    // Only copies of bytes in flight remain: they finish as duplicates.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
                Err(false) => return,
            };
            let keep_going = self.handle(&row).await;
            self.shared.release(&row);
            if !keep_going {
                return;
            }
        }
    }

    /// Backs up one file with inline retries. `false` when the worker must stop.
    async fn handle(&self, row: &BackupRow) -> bool {
        // A twin may have finished while this row waited.
        match self.inner.db.get(&row.local_id) {
            Ok(Some(current)) if current.state == DONE => {
                self.inner.tracker.file_skipped(current.size);
                self.count(|r| r.duplicates += 1);
                return true;
            }
            Ok(None) => return true,
            _ => {}
        }
        let mut attempt = 0;
        let mut progress_mark = self.acked(&row.local_id);
        loop {
            let result = self.upload(row).await;
            // A retry that moved the upload forward starts the count again (as tus-js-client).
            let now_acked = self.acked(&row.local_id);
            if now_acked > progress_mark {
                attempt = 0;
                progress_mark = now_acked;
            }
            match result {
                Ok(Outcome::Done(finished)) => {
                    let (remote, dup) = finished
                        .map(|f| (Some(f.asset_id), f.duplicate))
                        .unwrap_or((None, false));
                    if let Err(e) = self
                        .inner
                        .db
                        .mark_done(&row.local_id, remote.as_deref(), dup)
                    {
                        tracing::error!(%e, "recording a finished upload failed");
                    }
                    self.inner.tracker.file_finished(&row.local_id, dup);
                    self.count(|r| {
                        if dup {
                            r.duplicates += 1
                        } else {
                            r.uploaded += 1
                        }
                    });
                    return true;
                }
                Ok(Outcome::Stopped(reason)) => {
                    self.inner.tracker.file_paused(&row.local_id);
                    if let StopReason::Paused(_) = reason
                        && !self.w.bounded()
                    {
                        // Put it back and wait for the policy in the worker loop.
                        self.shared.put_back(row.clone());
                        return true;
                    }
                    self.record_stop(reason);
                    return false;
                }
                Err(CoreError::FileVanished(_)) => {
                    // Free what the server holds for it (open uploads count against the quota).
                    if let Ok(Some(current)) = self.inner.db.get(&row.local_id)
                        && let Some(url) = current.upload_url
                    {
                        self.terminate(&url).await;
                    }
                    let _ = self.inner.db.forget(&row.local_id);
                    self.fail(row, &CoreError::FileVanished(row.file_name.clone()));
                    return true;
                }
                Err(e) if matches!(e, CoreError::Auth(_)) => {
                    // Nothing else will work either.
                    let _ = self.inner.db.retry_later(&row.local_id, &e.to_string(), 0);
                    self.fail(row, &e);
                    self.w.token.cancel();
                    return false;
                }
                Err(e) if e.is_transient() && attempt < INLINE_RETRIES => {
                    attempt += 1;
                    let delay = backoff(attempt);
                    tracing::info!(file = %row.local_id, attempt, ?delay, error = %e, "retrying");
                    self.inner.tracker.file_paused(&row.local_id);
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = self.w.token.cancelled() => return false,
                    }
                    if let Some(reason) = self.w.stop_reason() {
                        self.record_stop(reason);
                        return false;
                    }
                }
                Err(e) => {
                    let _ = if e.is_transient() {
                        let delay = backoff(attempt + row.attempts + 1).as_millis() as i64;
                        self.inner
                            .db
                            .retry_later(&row.local_id, &e.to_string(), delay)
                    } else {
                        self.inner
                            .db
                            .mark_failed(&row.local_id, &e.to_string(), e.hint())
                    };
                    self.fail(row, &e);
                    return true;
                }
            }
        }
    }

    fn acked(&self, local_id: &str) -> u64 {
        self.inner
            .db
            .get(local_id)
            .ok()
            .flatten()
            .map_or(0, |r| r.acked_offset)
    }

    fn count(&self, f: impl FnOnce(&mut RunReport)) {
        if let Ok(mut r) = self.shared.report.lock() {
            f(&mut r);
        }
    }

    fn fail(&self, row: &BackupRow, e: &CoreError) {
        let failure = FileFailure {
            local_id: row.local_id.clone(),
            file_name: row.file_name.clone(),
            message: e.to_string(),
            hint: e.hint().to_owned(),
        };
        self.count(|r| {
            r.failed += 1;
            r.failures.push(failure.clone());
        });
        self.inner.tracker.file_failed(failure);
    }

    /// The file as it is now: vanished, changed (re-hashed and re-recorded), or unchanged.
    async fn fresh_row(&self, row: &BackupRow) -> CoreResult<BackupRow> {
        let current = self.stat(&row.local_id).await?;
        if current == (row.size, row.modified_ms) {
            return Ok(self
                .inner
                .db
                .get(&row.local_id)?
                .unwrap_or_else(|| row.clone()));
        }
        if let Some(url) = &row.upload_url {
            self.terminate(url).await;
        }
        let (size, modified) = current;
        // Hashed again inside the window, like any new version the scan finds.
        let (inner, w, changed) = (self.inner.clone(), self.w.clone(), row.clone());
        let sha = tokio::task::spawn_blocking(move || {
            let version = super::scan::Version {
                local_id: &changed.local_id,
                file_name: &changed.file_name,
                size,
                modified_ms: modified,
            };
            super::scan::hash_resumable(&inner, &w, version)
        })
        .await
        .map_err(|e| CoreError::Library(e.to_string()))??
        .ok_or_else(|| CoreError::Stopped(self.w.stop_reason().unwrap_or(StopReason::Deadline)))?;
        self.inner
            .db
            .store_hash(&row.local_id, size, modified, &sha)?;
        self.inner.db.record_scanned(
            &row.local_id,
            &sha,
            size,
            modified,
            row.created_ms,
            &row.file_name,
            &row.albums,
        )
    }

    async fn stat(&self, local_id: &str) -> CoreResult<(u64, i64)> {
        let library = self.inner.library.clone();
        let id = local_id.to_owned();
        tokio::task::spawn_blocking(move || library.stat(&id))
            .await
            .map_err(|e| CoreError::Library(e.to_string()))??
            .ok_or_else(|| CoreError::FileVanished(local_id.to_owned()))
    }

    async fn upload(&self, row: &BackupRow) -> CoreResult<Outcome> {
        let sent = async {
            let row = self.fresh_row(row).await?;
            if self.use_tus {
                self.upload_tus(&row).await
            } else {
                self.upload_multipart(&row).await
            }
        };
        match sent.await {
            Err(CoreError::Stopped(reason)) => Ok(Outcome::Stopped(reason)),
            other => other,
        }
    }

    /// Best-effort `DELETE` of an upload we will not finish, only when the network may be used.
    async fn terminate(&self, url: &str) {
        if self.w.net_stop().is_none() {
            let _ = self
                .w
                .guard(|| async {
                    self.inner.tus.terminate(url).await;
                    Ok(())
                })
                .await;
        }
    }

    async fn upload_multipart(&self, row: &BackupRow) -> CoreResult<Outcome> {
        let fields: Vec<(&str, String)> = metadata(&self.inner, row)
            .into_iter()
            .filter(|(k, _)| *k != meta::CHECKSUM)
            .chain([(meta::IS_FAVORITE, "false".to_string())])
            .collect();
        let sent = source::counter();
        self.inner
            .tracker
            .file_started(&row.local_id, &row.file_name, row.size, 0);
        let body = source::body(
            self.inner.library.clone(),
            row.local_id.clone(),
            0,
            row.size,
            self.inner.tracker.clone(),
            sent.clone(),
        );
        let sending =
            self.inner
                .api
                .upload_multipart(&row.file_name, &fields, body, row.size, &row.sha1);
        if let Some(reason) = self.w.net_stop() {
            return Ok(Outcome::Stopped(reason));
        }
        let result = tokio::select! {
            r = sending => r,
            reason = self.w.interrupted() => {
                self.inner.tracker.unsent(&row.local_id, sent.load(Ordering::Relaxed));
                return Ok(Outcome::Stopped(reason));
            }
        };
        match result {
            Ok((id, dup)) => {
                self.count(|r| r.bytes_sent += sent.load(Ordering::Relaxed));
                Ok(Outcome::Done(Some(Finished {
                    asset_id: id,
                    duplicate: dup,
                })))
            }
            Err(e) => {
                self.inner
                    .tracker
                    .unsent(&row.local_id, sent.load(Ordering::Relaxed));
                Err(e)
            }
        }
    }

    /// Creates the upload and saves its URL before any byte is sent.
    async fn create(&self, row: &BackupRow) -> CoreResult<(String, u64, Option<Finished>)> {
        let fields = metadata(&self.inner, row);
        let created = self
            .w
            .guard(|| self.inner.tus.create(row.size, &fields))
            .await?;
        self.inner
            .db
            .set_upload_url(&row.local_id, Some(&created.url), created.offset)?;
        Ok((created.url, created.offset, created.finished))
    }

    async fn upload_tus(&self, row: &BackupRow) -> CoreResult<Outcome> {
        let tus = &self.inner.tus;
        let (url, mut offset) = match &row.upload_url {
            Some(url) => match self.w.guard(|| tus.head(url)).await? {
                Some(head) if head.length.is_none_or(|l| l == row.size) => {
                    let ours = self
                        .shared
                        .interrupted
                        .lock()
                        .is_ok_and(|mut i| i.remove(&row.local_id));
                    if ours && head.offset > row.acked_offset {
                        self.count(|r| r.bytes_sent += head.offset - row.acked_offset);
                    }
                    if head.offset != row.acked_offset {
                        self.inner.db.set_acked(&row.local_id, head.offset)?;
                    }
                    if head.finished.is_some() {
                        return Ok(Outcome::Done(head.finished));
                    }
                    (url.clone(), head.offset)
                }
                // Expired, removed, or not the upload we think: start again.
                _ => {
                    let (url, offset, finished) = self.create(row).await?;
                    if finished.is_some() {
                        return Ok(Outcome::Done(finished));
                    }
                    (url, offset)
                }
            },
            None => {
                let (url, offset, finished) = self.create(row).await?;
                if finished.is_some() {
                    return Ok(Outcome::Done(finished));
                }
                (url, offset)
            }
        };
        if offset > row.size {
            self.inner.db.set_upload_url(&row.local_id, None, 0)?;
            return Err(CoreError::Server {
                status: 409,
                message: "the server holds more bytes than the file has".into(),
            });
        }
        self.inner
            .tracker
            .file_started(&row.local_id, &row.file_name, row.size, offset);
        let mut corrupt_chunks = 0;
        while offset < row.size {
            if let Some(reason) = self.w.net_stop() {
                return Ok(Outcome::Stopped(reason));
            }
            let mut len = self.chunk_len().min(row.size - offset);
            if offset + len == row.size {
                // Last chunk: make sure the file is still what we hashed.
                if self.stat(&row.local_id).await? != (row.size, row.modified_ms) {
                    self.terminate(&url).await;
                    self.inner.db.set_upload_url(&row.local_id, None, 0)?;
                    return Err(CoreError::FileChanged {
                        name: row.file_name.clone(),
                    });
                }
            }
            len = len.max(1);
            let sent = source::counter();
            let body = source::body(
                self.inner.library.clone(),
                row.local_id.clone(),
                offset,
                len,
                self.inner.tracker.clone(),
                sent.clone(),
            );
            let started = Instant::now();
            let patched = tokio::select! {
                r = tus.patch(&url, offset, len, body) => r,
                reason = self.w.interrupted() => {
                    // The server keeps what it received: the next try asks HEAD for it.
                    self.inner.tracker.unsent(&row.local_id, sent.load(Ordering::Relaxed));
                    if let Ok(mut i) = self.shared.interrupted.lock() {
                        i.insert(row.local_id.clone());
                    }
                    return Ok(Outcome::Stopped(reason));
                }
            };
            let handed = sent.load(Ordering::Relaxed);
            match patched {
                Ok(Patched::Advanced {
                    offset: new,
                    finished,
                }) => {
                    let kept = new.saturating_sub(offset);
                    self.inner
                        .tracker
                        .unsent(&row.local_id, handed.saturating_sub(kept));
                    self.count(|r| r.bytes_sent += kept);
                    if let Ok(mut c) = self.inner.chunk.lock() {
                        c.observe(kept, started.elapsed());
                    }
                    offset = new;
                    self.inner.db.set_acked(&row.local_id, offset)?;
                    if finished.is_some() || offset >= row.size {
                        return Ok(Outcome::Done(finished));
                    }
                }
                Ok(Patched::OffsetMismatch) => {
                    self.inner.tracker.unsent(&row.local_id, handed);
                    match self.w.guard(|| tus.head(&url)).await? {
                        Some(h) if h.finished.is_some() => return Ok(Outcome::Done(h.finished)),
                        Some(h) => {
                            let kept = h.offset.saturating_sub(offset);
                            self.count(|r| r.bytes_sent += kept);
                            offset = h.offset;
                            self.inner.db.set_acked(&row.local_id, offset)?;
                        }
                        None => return self.restart(row).await,
                    }
                }
                Ok(Patched::TooLarge) => {
                    self.inner.tracker.unsent(&row.local_id, handed);
                    let smaller = self
                        .inner
                        .chunk
                        .lock()
                        .map(|mut c| c.too_large())
                        .unwrap_or(false);
                    if !smaller {
                        return Err(CoreError::QuotaExceeded(
                            "the server refused even the smallest chunk".into(),
                        ));
                    }
                }
                Ok(Patched::ChecksumMismatch) => {
                    self.inner.tracker.unsent(&row.local_id, handed);
                    corrupt_chunks += 1;
                    if offset + len == row.size || corrupt_chunks > 3 {
                        // The whole file did not match its SHA-1: the server dropped it.
                        self.inner.db.set_upload_url(&row.local_id, None, 0)?;
                        return Err(CoreError::FileChanged {
                            name: row.file_name.clone(),
                        });
                    }
                }
                Ok(Patched::Gone) => {
                    self.inner.tracker.unsent(&row.local_id, handed);
                    return self.restart(row).await;
                }
                Err(e) => {
                    self.inner.tracker.unsent(&row.local_id, handed);
                    // The server may have kept part of the interrupted chunk: count what this
                    // run delivered (the retry resumes from there anyway).
                    if self.w.net_stop().is_none()
                        && let Ok(Some(h)) = self.w.guard(|| tus.head(&url)).await
                        && h.offset > offset
                    {
                        self.count(|r| r.bytes_sent += h.offset - offset);
                        self.inner.db.set_acked(&row.local_id, h.offset)?;
                    }
                    return Err(e);
                }
            }
        }
        Ok(Outcome::Done(None))
    }

    /// The upload vanished on the server: forget its URL; the retry creates a new one.
    async fn restart(&self, row: &BackupRow) -> CoreResult<Outcome> {
        self.inner.db.set_upload_url(&row.local_id, None, 0)?;
        Err(CoreError::Server {
            status: 410,
            message: "the server dropped the partial upload; starting it again".into(),
        })
    }

    fn chunk_len(&self) -> u64 {
        let sizer = self.inner.chunk.lock().map(|c| *c).unwrap_or_default();
        match self.w.deadline {
            Some(d) => {
                let left = d
                    .saturating_duration_since(Instant::now())
                    .saturating_sub(ABORT_MARGIN);
                // The link is shared by the files in flight: this one gets its part of it.
                let speed = self
                    .inner
                    .tracker
                    .snapshot()
                    .map_or(0.0, |p| p.bytes_per_second / p.current.len().max(1) as f64);
                sizer.for_time_left(left, speed)
            }
            None => sizer.current(),
        }
    }
}

/// The tus `Upload-Metadata` (and multipart fields) of a row.
pub(super) fn metadata(inner: &Inner, row: &BackupRow) -> Vec<(&'static str, String)> {
    vec![
        (meta::FILENAME, row.file_name.clone()),
        (meta::CHECKSUM, hex::encode(row.sha1)),
        (meta::DEVICE_ASSET_ID, row.local_id.clone()),
        (meta::DEVICE_ID, inner.device_id.clone()),
        (meta::FILE_CREATED_AT, iso(row.created_ms)),
        (meta::FILE_MODIFIED_AT, iso(row.modified_ms)),
    ]
}

/// Exponential backoff with jitter: ~1 s, 2 s, 4 s … capped at 5 minutes, ±25 %.
fn backoff(attempt: u32) -> Duration {
    let base = 1000u64
        .saturating_mul(1 << attempt.saturating_sub(1).min(9))
        .min(300_000);
    let mut r = [0u8; 2];
    let jitter = if getrandom::fill(&mut r).is_ok() {
        u16::from_le_bytes(r) as u64 % (base / 2 + 1)
    } else {
        0
    };
    Duration::from_millis(base * 3 / 4 + jitter)
}

fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates() {
        assert_eq!(iso(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso(1_709_287_200_123), "2024-03-01T10:00:00.123Z");
        assert_eq!(iso(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let a = backoff(1);
        assert!(a >= Duration::from_millis(750) && a <= Duration::from_millis(1250));
        let b = backoff(4);
        assert!(b >= Duration::from_millis(6000) && b <= Duration::from_millis(10_000));
        assert!(backoff(30) <= Duration::from_secs(375));
    }
}
