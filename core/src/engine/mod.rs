//! The backup engine: scan the library (stat-only when nothing changed), hash what is new,
//! ask the server which bytes it already has, then upload the rest through a persistent queue
//! with bounded parallelism, obeying the network/power policy, a deadline and cancellation.
//! This is what the phone apps run in the foreground and in background tasks.

mod albums;
mod scan;
mod upload;

pub use scan::ScanReport;

use crate::error::{CoreError, CoreResult};
use crate::library::{Album, PhotoLibrary};
use crate::policy::{NetworkState, PauseReason, Policy, PowerState, Settings};
use crate::progress::{FileFailure, Phase, ProgressObserver, Tracker};
use crate::selection::AlbumSelection;
use crate::server::ServerApi;
use crate::state::{self, BackupRow, Counts, RunRecord, StateDb};
use crate::timeline::{ThumbCache, Timeline};
use crate::upload::chunk::ChunkSizer;
use crate::upload::tus::TusClient;
use std::collections::{HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
const SETTINGS_KEY: &str = "settings";
const THUMB_BUDGET_KEY: &str = "thumbnail_cache_bytes";

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

    /// Checks the server address and credentials.
    pub async fn check_server(&self) -> CoreResult<serde_json::Value> {
        self.inner.api.me().await
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
        if let Ok(token) = self.inner.cancel.lock() {
            token.cancel();
        }
    }

    /// Scans, hashes and dedups without uploading.
    pub async fn scan(&self) -> CoreResult<ScanReport> {
        let _one_at_a_time = self.inner.run_lock.lock().await;
        scan::scan(&self.inner).await
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
        let token = CancellationToken::new();
        if let Ok(mut slot) = inner.cancel.lock() {
            *slot = token.clone();
        }
        inner.api.me().await?;
        let run_id = inner.db.start_run()?;
        let scan = scan::scan(inner).await?;
        let use_tus = inner.api.supports_tus().await;
        // A foreground run is the user asking now: files backing off are tried again too.
        // Background runs respect the backoff.
        let due_by = if deadline.is_some() {
            state::now_ms()
        } else {
            i64::MAX
        };
        let queue = inner.db.due(due_by)?;
        let bytes: u64 = queue.iter().map(|r| r.size).sum();
        inner.tracker.totals(queue.len() as u64, bytes);
        inner.tracker.phase(Phase::Uploading);

        let shared = Arc::new(upload::Shared {
            queue: Mutex::new(queue.into_iter().collect::<VecDeque<BackupRow>>()),
            in_flight: Mutex::new(HashSet::new()),
            report: Mutex::new(RunReport::default()),
        });
        let workers = inner.policy.current().settings.parallel_uploads.max(1);
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..workers {
            let ctx = upload::Ctx {
                inner: self.inner.clone(),
                shared: shared.clone(),
                token: token.clone(),
                deadline,
                use_tus,
            };
            tasks.spawn(async move { ctx.work().await });
        }
        while let Some(joined) = tasks.join_next().await {
            if let Err(e) = joined {
                tracing::error!(%e, "upload worker panicked");
            }
        }

        if inner.policy.current().settings.album_sync
            && !token.is_cancelled()
            && let Err(e) = albums::sync(inner).await
        {
            tracing::warn!(%e, "album sync failed; retried next run");
        }
        let mut report = shared.report.lock().map(|r| r.clone()).unwrap_or_default();
        // Files the scan could not read are failures of this run too.
        report.failed += scan.failures.len() as u64;
        report.failures.extend(scan.failures.iter().cloned());
        report.scan = scan;
        report.remaining = inner.db.counts()?.queued;
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
}
