//! The backup engine: scan the library (stat-only when nothing changed), adopt what the server
//! already holds for this device, hash what is new, ask the server which bytes it already has,
//! then upload the rest through a persistent queue in two lanes (big files apart, so photos keep
//! flowing behind a video), every phase inside the run's window (deadline, cancellation,
//! network/power policy). This is what the phone apps run in the foreground and in background
//! tasks; `background` hands single chunks to the OS for transfers it carries on while the app
//! is suspended, and `pending` says what waits and why.

mod albums;
mod background;
pub mod pending;
mod scan;
mod upload;
mod window;

pub use background::BackgroundTransfer;
pub use pending::{PendingItem, PendingState};
pub use scan::ScanReport;

use crate::error::{CoreError, CoreResult};
use crate::library::{Album, PhotoLibrary};
use crate::policy::{NetworkState, PauseReason, Policy, PowerState, Settings};
use crate::progress::{FileFailure, Phase, ProgressObserver, Tracker};
use crate::selection::AlbumSelection;
use crate::server::ServerApi;
use crate::state::{self, Counts, RunRecord, StateDb};
use crate::timeline::{ThumbCache, Timeline};
use crate::upload::chunk::ChunkSizer;
use crate::upload::tus::TusClient;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use window::Window;

#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Server address (`https://photos.example.com`, with or without `/api`).
    pub server_url: String,
    pub api_key: String,
    /// Where the client database lives.
    pub state_dir: PathBuf,
    /// Names this device on the server (Immich's `deviceId`).
    pub device_id: String,
}

/// Why a run ended before the queue was empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum StopReason {
    Deadline,
    Cancelled,
    Paused(PauseReason),
}

#[derive(Debug, Clone, Default)]
pub struct RunReport {
    pub scan: ScanReport,
    pub uploaded: u64,
    pub duplicates: u64,
    pub failed: u64,
    pub bytes_sent: u64,
    pub failures: Vec<FileFailure>,
    pub stopped: Option<StopReason>,
    /// Files still queued when the run ended.
    pub remaining: u64,
}

#[derive(Debug, Clone)]
pub struct AlbumInfo {
    pub album: Album,
    pub asset_count: u64,
    pub selected: bool,
    pub excluded: bool,
}

#[derive(Debug, Clone)]
pub struct Status {
    pub counts: Counts,
    pub last_run: Option<RunRecord>,
    /// (local id, reason) of files that failed and wait for another try.
    pub failures: Vec<(String, String)>,
}

const SELECTION_KEY: &str = "album_selection";
pub const SETTINGS_KEY: &str = "settings";
const THUMB_BUDGET_KEY: &str = "thumbnail_cache_bytes";
/// How long preparing background transfers may take (it creates uploads on the server).
const BACKGROUND_PREPARE_BUDGET: Duration = Duration::from_secs(30);

/// What is happening right now, for `pending()`.
#[derive(Default)]
struct Live {
    /// The asset being hashed and how many of its bytes are hashed.
    hashing: Mutex<Option<(String, u64)>>,
    running: AtomicBool,
}

impl Live {
    fn set_hashing(&self, now: Option<(String, u64)>) {
        if let Ok(mut h) = self.hashing.lock() {
            *h = now;
        }
    }
}

/// Marks a run as running for as long as it lives.
struct Running<'a>(&'a Live);

impl<'a> Running<'a> {
    fn new(live: &'a Live) -> Self {
        live.running.store(true, Ordering::SeqCst);
        Self(live)
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.running.store(false, Ordering::SeqCst);
        self.0.set_hashing(None);
    }
}

struct Inner {
    api: ServerApi,
    tus: TusClient,
    db: Arc<StateDb>,
    library: Arc<dyn PhotoLibrary>,
    policy: Policy,
    tracker: Tracker,
    device_id: String,
    cancel: Mutex<CancellationToken>,
    chunk: Mutex<ChunkSizer>,
    run_lock: tokio::sync::Mutex<()>,
    timeline: Timeline,
    live: Live,
    /// Bumped by `library_changed`; a running run rescans when it moves.
    changes: AtomicU64,
    changed: tokio::sync::Notify,
}

#[derive(Clone)]
pub struct BackupEngine {
    inner: Arc<Inner>,
}

impl BackupEngine {
    pub fn open(
        config: EngineConfig,
        library: Arc<dyn PhotoLibrary>,
        observer: Option<Arc<dyn ProgressObserver>>,
    ) -> CoreResult<Self> {
        std::fs::create_dir_all(&config.state_dir).map_err(|e| CoreError::StateDir {
            path: config.state_dir.clone(),
            reason: e.to_string(),
        })?;
        let db = Arc::new(StateDb::open(&config.state_dir.join("shoebox-client.db"))?);
        let thumbs_dir = config.state_dir.join("thumbs");
        let api = ServerApi::new(&config.server_url, &config.api_key)?;
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            "x-api-key",
            reqwest::header::HeaderValue::from_str(api.key())
                .map_err(|_| CoreError::Auth("the API key has invalid characters".into()))?,
        );
        let tus = TusClient::new(api.http().clone(), &api.upload_endpoint(), headers)?;
        let settings: Settings = db.setting(SETTINGS_KEY)?.unwrap_or_default();
        let budget: u64 = db
            .setting(THUMB_BUDGET_KEY)?
            .unwrap_or(crate::timeline::thumbs::DEFAULT_BUDGET);
        let thumbs = ThumbCache::new(db.clone(), api.clone(), thumbs_dir, budget)?;
        let timeline = Timeline::new(db.clone(), api.clone(), thumbs);
        Ok(Self {
            inner: Arc::new(Inner {
                api,
                tus,
                db,
                library,
                policy: Policy::new(settings),
                tracker: Tracker::new(observer),
                device_id: config.device_id,
                cancel: Mutex::new(CancellationToken::new()),
                chunk: Mutex::new(ChunkSizer::default()),
                run_lock: tokio::sync::Mutex::new(()),
                timeline,
                live: Live::default(),
                changes: AtomicU64::new(0),
                changed: tokio::sync::Notify::new(),
            }),
        })
    }

    /// The offline timeline over this engine's database and server.
    pub fn timeline(&self) -> &Timeline {
        &self.inner.timeline
    }

    /// The thumbnail cache's byte budget (default 500 MiB); evicts at once if over.
    pub fn set_thumbnail_budget(&self, bytes: u64) -> CoreResult<()> {
        self.inner.db.set_setting(THUMB_BUDGET_KEY, &bytes)?;
        self.inner.timeline.thumbs().set_budget(bytes)
    }

    /// Checks the server address and credentials (the user asked: not bound by the policy).
    pub async fn check_server(&self) -> CoreResult<serde_json::Value> {
        self.inner.api.me().await
    }

    /// Syncs the offline timeline inside a background window: bounded by `budget`, stopped by
    /// `cancel()`, and sent only when the policy allows the network (Wi-Fi only covers it too).
    /// `None` when the window ended first: every page already applied stays, and the next sync
    /// goes on from the saved cursor.
    pub async fn sync_timeline_for(
        &self,
        budget: Duration,
    ) -> CoreResult<Option<crate::timeline::SyncReport>> {
        let w = self.window(Some(Instant::now() + budget));
        match w.guard(|| self.inner.timeline.sync(None)).await {
            Ok(report) => Ok(Some(report)),
            Err(CoreError::Stopped(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The library changed (a new photo, an edit): a running backup rescans and takes the new
    /// assets in; with no run going, the platform's next run finds them.
    pub fn library_changed(&self) {
        self.inner.changes.fetch_add(1, Ordering::SeqCst);
        self.inner.changed.notify_one();
    }

    /// Everything not yet backed up, each with what it waits for.
    pub fn pending(&self) -> CoreResult<Vec<PendingItem>> {
        let inner = &self.inner;
        let live = pending::LiveView {
            running: inner.live.running.load(Ordering::SeqCst),
            pause: inner.policy.check().err(),
            hashing: inner.live.hashing.lock().ok().and_then(|h| h.clone()),
            uploading: inner
                .tracker
                .snapshot()
                .map(|p| {
                    p.current
                        .into_iter()
                        .map(|f| (f.local_id, (f.bytes_sent, f.bytes_total)))
                        .collect()
                })
                .unwrap_or_default(),
        };
        pending::pending(
            &inner.db,
            inner.policy.current().settings.large_file_threshold,
            &live,
        )
    }

    /// Up to `limit` uploads for the OS to carry out while the app is suspended (iOS
    /// background URLSession, Android long-running work): each a ready-to-send tus PATCH of one
    /// chunk, read by the app from its library. Creates the uploads on the server when needed.
    pub async fn background_transfers(&self, limit: u32) -> CoreResult<Vec<BackgroundTransfer>> {
        let _one_at_a_time = self.inner.run_lock.lock().await;
        // Bounded, so a policy that forbids the network answers at once instead of waiting.
        let w = self.window(Some(Instant::now() + BACKGROUND_PREPARE_BUDGET));
        background::prepare(&self.inner, &w, limit).await
    }

    /// The OS finished (or lost) a background transfer: `status` 0 when it failed without an
    /// answer. Only the server's word advances the upload; a lost transfer resumes from the
    /// server's offset next time.
    pub fn background_transfer_finished(
        &self,
        id: &str,
        status: u16,
        headers: &[(String, String)],
    ) -> CoreResult<()> {
        background::finished(&self.inner, id, status, headers)
    }

    fn window(&self, deadline: Option<Instant>) -> Window {
        let token = self
            .inner
            .cancel
            .lock()
            .map(|parent| parent.child_token())
            .unwrap_or_default();
        Window {
            token,
            deadline,
            policy: self.inner.policy.clone(),
            tracker: self.inner.tracker.clone(),
        }
    }

    pub fn set_network(&self, network: NetworkState) {
        self.inner.policy.set_network(network);
    }

    pub fn set_power(&self, power: PowerState) {
        self.inner.policy.set_power(power);
    }

    pub fn settings(&self) -> Settings {
        self.inner.policy.current().settings
    }

    pub fn set_settings(&self, settings: Settings) -> CoreResult<()> {
        if settings.parallel_uploads == 0 || settings.parallel_uploads > 16 {
            return Err(CoreError::Config(
                "parallel uploads must be between 1 and 16".into(),
            ));
        }
        self.inner.db.set_setting(SETTINGS_KEY, &settings)?;
        self.inner.policy.set_settings(settings);
        Ok(())
    }

    pub fn selection(&self) -> CoreResult<AlbumSelection> {
        Ok(self.inner.db.setting(SELECTION_KEY)?.unwrap_or_default())
    }

    pub fn set_selection(&self, selection: AlbumSelection) -> CoreResult<()> {
        self.inner.db.set_setting(SELECTION_KEY, &selection)
    }

    /// The library's albums with asset counts and whether each is selected or excluded.
    pub fn albums(&self) -> CoreResult<Vec<AlbumInfo>> {
        let sel = self.selection()?;
        let albums = self.inner.library.albums()?;
        let assets = self.inner.library.assets()?;
        Ok(albums
            .into_iter()
            .map(|album| {
                let asset_count = assets
                    .iter()
                    .filter(|a| a.album_ids.contains(&album.id))
                    .count() as u64;
                AlbumInfo {
                    selected: sel.selected.as_ref().is_none_or(|s| s.contains(&album.id)),
                    excluded: sel.excluded.contains(&album.id),
                    album,
                    asset_count,
                }
            })
            .collect())
    }

    pub fn status(&self) -> CoreResult<Status> {
        Ok(Status {
            counts: self.inner.db.counts()?,
            last_run: self.inner.db.last_run()?,
            failures: self.inner.db.failures()?,
        })
    }

    /// Stops the current run at once; an interrupted chunk is resumed from the server's offset.
    pub fn cancel(&self) {
        // Every window is a child of the current parent: cancelling it stops them all (a run,
        // a timeline sync, background transfers being prepared); later windows get a new one.
        if let Ok(mut parent) = self.inner.cancel.lock() {
            parent.cancel();
            *parent = CancellationToken::new();
        }
    }

    /// Scans, hashes and dedups without uploading.
    pub async fn scan(&self) -> CoreResult<ScanReport> {
        let _one_at_a_time = self.inner.run_lock.lock().await;
        let _running = Running::new(&self.inner.live);
        scan::scan(&self.inner, &self.window(None), true).await
    }

    /// Backs up everything selected; waits while the policy pauses, until cancelled.
    pub async fn run(&self) -> CoreResult<RunReport> {
        self.run_until(None).await
    }

    /// Does as much as fits in `budget` and stops cleanly before it ends (background tasks).
    pub async fn run_for(&self, budget: Duration) -> CoreResult<RunReport> {
        self.run_until(Some(Instant::now() + budget)).await
    }

    async fn run_until(&self, deadline: Option<Instant>) -> CoreResult<RunReport> {
        let inner = &self.inner;
        let _one_at_a_time = inner.run_lock.lock().await;
        let w = self.window(deadline);
        let _running = Running::new(&inner.live);
        let run_id = inner.db.start_run()?;
        let mut report = RunReport::default();
        let mut seen_changes = inner.changes.load(Ordering::SeqCst);
        let prepared = async {
            let scan = scan::scan(inner, &w, true).await?;
            let use_tus = match scan.stopped {
                Some(_) => false,
                None => {
                    w.guard(|| async { Ok(inner.api.supports_tus().await) })
                        .await?
                }
            };
            Ok::<_, CoreError>((scan, use_tus))
        }
        .await;
        let use_tus = match prepared {
            Ok((scan, use_tus)) => {
                report.stopped = scan.stopped;
                report.scan = scan;
                use_tus
            }
            Err(CoreError::Stopped(r)) => {
                report.stopped = Some(r);
                false
            }
            Err(e) => {
                let _ = inner.db.finish_run(
                    run_id,
                    &RunRecord {
                        outcome: Some(format!("error: {e}")),
                        ..RunRecord::default()
                    },
                );
                inner.tracker.phase(Phase::Idle);
                return Err(e);
            }
        };

        if report.stopped.is_none() {
            self.upload_phase(&w, use_tus, &mut seen_changes, &mut report)
                .await?;
        }
        if report.stopped.is_none()
            && inner.policy.current().settings.album_sync
            && w.net_stop().is_none()
        {
            match w.guard(|| albums::sync(inner)).await {
                Ok(()) => {}
                Err(CoreError::Stopped(r)) => report.stopped = Some(r),
                Err(e) => tracing::warn!(%e, "album sync failed; retried next run"),
            }
        }
        // Files the scan could not read are failures of this run too.
        report.failed += report.scan.failures.len() as u64;
        report.failures.extend(report.scan.failures.iter().cloned());
        let counts = inner.db.counts()?;
        report.remaining = counts.queued;
        let outcome = match report.stopped {
            None => "completed".to_string(),
            Some(r) => format!("{r:?}"),
        };
        inner.db.finish_run(
            run_id,
            &RunRecord {
                uploaded: report.uploaded,
                duplicates: report.duplicates + report.scan.already_on_server,
                failed: report.failed,
                bytes_sent: report.bytes_sent,
                outcome: Some(outcome),
                ..RunRecord::default()
            },
        )?;
        inner.tracker.phase(Phase::Idle);
        Ok(report)
    }

    /// Uploads the queue in two lanes; a `library_changed` mid-run rescans and adds new work.
    async fn upload_phase(
        &self,
        w: &Window,
        use_tus: bool,
        seen_changes: &mut u64,
        report: &mut RunReport,
    ) -> CoreResult<()> {
        let inner = &self.inner;
        let settings = inner.policy.current().settings;
        // A foreground run is the user asking now: files backing off are tried again too.
        // Background runs respect the backoff.
        let due_by = if w.bounded() {
            state::now_ms()
        } else {
            i64::MAX
        };
        let queue = inner.db.due(due_by)?;
        let bytes: u64 = queue.iter().map(|r| r.size).sum();
        inner.tracker.totals(queue.len() as u64, bytes);
        inner.tracker.phase(Phase::Uploading);
        let shared = Arc::new(upload::Shared::new(settings.large_file_threshold));
        shared.push(queue);
        let small_workers = settings.parallel_uploads.max(1) as usize;
        let mut crew = upload::Crew::new(self.inner.clone(), shared.clone(), w.clone(), use_tus);
        crew.fill(small_workers);
        loop {
            tokio::select! {
                more = crew.join_next() => if !more { break },
                _ = inner.changed.notified() => {
                    let now = inner.changes.load(Ordering::SeqCst);
                    if now == *seen_changes || w.net_stop().is_some() {
                        continue;
                    }
                    *seen_changes = now;
                    match scan::scan(inner, w, false).await {
                        Ok(scan) => {
                            report.scan.hashed_files += scan.hashed_files;
                            report.scan.hashed_bytes += scan.hashed_bytes;
                            report.scan.already_on_server += scan.already_on_server;
                            report.scan.failures.extend(scan.failures);
                            let fresh = inner.db.due(due_by)?;
                            let (files, bytes) = shared.push(fresh);
                            inner.tracker.add_totals(files, bytes);
                            inner.tracker.phase(Phase::Uploading);
                            crew.fill(small_workers);
                        }
                        Err(e) => tracing::warn!(%e, "rescan after a library change failed"),
                    }
                }
            }
        }
        let done = shared.report();
        report.uploaded += done.uploaded;
        report.duplicates += done.duplicates;
        report.failed += done.failed;
        report.bytes_sent += done.bytes_sent;
        report.failures.extend(done.failures);
        if report.stopped.is_none() {
            report.stopped = done.stopped;
        }
        Ok(())
    }
}
