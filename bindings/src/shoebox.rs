//! `Shoebox`: the one object the apps hold. It wraps the core's `BackupEngine` (backup, policy,
//! albums, status) and its offline `Timeline` (month buckets, favourite/trash, thumbnails).
//!
//! Threading: async methods run on the library's own multi-threaded tokio runtime and are
//! `suspend fun` in Kotlin / `async` in Swift, so the caller's thread is never blocked. Sync
//! methods only touch the local database (milliseconds) or flip in-memory state, and never the
//! network; still, call them off the UI thread when the database may be large.

use crate::error::ShoeboxError;
use crate::platform::{LibraryAdapter, ObserverAdapter, PhotoLibrary, ProgressObserver};
use crate::types::*;
use shoebox_core as core;
use shoebox_core::{BackupEngine, CoreError, EngineConfig};
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

type Result<T> = std::result::Result<T, ShoeboxError>;

/// The runtime every async export runs on. Owned here (not borrowed from the caller) so the
/// engine's upload workers run in parallel whatever executor the foreign side uses.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("shoebox-core")
            .enable_all()
            .build()
            .expect("cannot start the shoebox tokio runtime")
    })
}

/// Runs `fut` on the runtime and waits for it without blocking a thread.
async fn on_runtime<T, F>(fut: F) -> Result<T>
where
    T: Send + 'static,
    F: Future<Output = core::CoreResult<T>> + Send + 'static,
{
    match runtime().spawn(fut).await {
        Ok(r) => r.map_err(Into::into),
        Err(e) => Err(ShoeboxError::internal(format!(
            "a background task failed: {e}"
        ))),
    }
}

/// Runs blocking code (it may call into the foreign `PhotoLibrary`) on the blocking pool.
async fn blocking<T, F>(f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> core::CoreResult<T> + Send + 'static,
{
    match runtime().spawn_blocking(f).await {
        Ok(r) => r.map_err(Into::into),
        Err(e) => Err(ShoeboxError::internal(format!(
            "a background task failed: {e}"
        ))),
    }
}

/// Cancels the engine's run when the foreign caller drops the call (a cancelled Kotlin
/// coroutine, a cancelled Swift Task): the run stops at a chunk boundary, state stays consistent.
struct CancelOnDrop(Option<BackupEngine>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(engine) = self.0.take() {
            engine.cancel();
        }
    }
}

/// Logs in with email and password and creates an API key named `key_name` for this device;
/// store the key (Android Keystore-backed prefs, iOS Keychain), never the password.
#[uniffi::export(async_runtime = "tokio")]
pub async fn login(
    server_url: String,
    email: String,
    password: String,
    key_name: String,
) -> Result<String> {
    on_runtime(async move {
        core::server::ServerApi::create_key_with_password(&server_url, &email, &password, &key_name)
            .await
    })
    .await
}

/// The version of the Rust library (to show in an "about" screen and bug reports).
#[uniffi::export]
pub fn core_version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

#[derive(uniffi::Object)]
pub struct Shoebox {
    engine: BackupEngine,
}

#[uniffi::export(async_runtime = "tokio")]
impl Shoebox {
    /// Opens (or creates) the client state in `config.state_dir`. Does not touch the network.
    #[uniffi::constructor]
    pub fn new(
        config: ShoeboxConfig,
        library: Arc<dyn PhotoLibrary>,
        observer: Option<Arc<dyn ProgressObserver>>,
    ) -> Result<Arc<Self>> {
        let observer: Option<Arc<dyn core::ProgressObserver>> = match observer {
            Some(o) => Some(Arc::new(ObserverAdapter(o))),
            None => None,
        };
        let engine = BackupEngine::open(
            EngineConfig {
                server_url: config.server_url,
                api_key: config.api_key,
                state_dir: PathBuf::from(config.state_dir),
                device_id: config.device_id,
            },
            Arc::new(LibraryAdapter(library)),
            observer,
        )?;
        if let Some(bytes) = config.thumbnail_cache_bytes {
            engine.set_thumbnail_budget(bytes)?;
        }
        Ok(Arc::new(Self { engine }))
    }

    // ---- server --------------------------------------------------------------------------

    /// Checks the address and the API key; answers who is logged in.
    pub async fn check_server(&self) -> Result<ServerUser> {
        let engine = self.engine.clone();
        let me = on_runtime(async move { engine.check_server().await }).await?;
        let field = |k: &str| me.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
        Ok(ServerUser {
            id: field("id"),
            email: field("email"),
            name: field("name"),
        })
    }

    // ---- platform state and settings -----------------------------------------------------

    /// Pushes the current network (ConnectivityManager / NWPathMonitor). A run waiting for
    /// Wi-Fi resumes at once; a run on a connection that stops qualifying pauses at the next
    /// chunk boundary.
    pub fn set_network(&self, network: NetworkState) {
        self.engine.set_network(network.into());
    }

    /// Pushes charging and low-power state (battery broadcasts / UIDevice + ProcessInfo).
    pub fn set_power(&self, power: PowerState) {
        self.engine.set_power(power.into());
    }

    pub fn settings(&self) -> Settings {
        self.engine.settings().into()
    }

    /// Saves the settings; they apply to a running backup at once.
    pub fn set_settings(&self, settings: Settings) -> Result<()> {
        Ok(self.engine.set_settings(settings.into())?)
    }

    // ---- albums --------------------------------------------------------------------------

    /// The device's albums with asset counts and whether each is selected or excluded.
    /// Reads the whole library through `PhotoLibrary`, on a background thread.
    pub async fn albums(&self) -> Result<Vec<AlbumInfo>> {
        let engine = self.engine.clone();
        blocking(move || engine.albums())
            .await
            .map(|v| v.into_iter().map(Into::into).collect())
    }

    pub fn selection(&self) -> Result<AlbumSelection> {
        Ok(self.engine.selection()?.into())
    }

    pub fn set_selection(&self, selection: AlbumSelection) -> Result<()> {
        Ok(self.engine.set_selection(selection.into())?)
    }

    // ---- backup --------------------------------------------------------------------------

    /// Scans, hashes and asks the server what it already has, without uploading.
    pub async fn scan(&self) -> Result<ScanReport> {
        let engine = self.engine.clone();
        on_runtime(async move { engine.scan().await })
            .await
            .map(Into::into)
    }

    /// Backs up everything selected (foreground): waits while the policy pauses (resumes when
    /// `set_network`/`set_power` say so) until done or `cancel()`.
    pub async fn run(&self) -> Result<RunReport> {
        let engine = self.engine.clone();
        let mut guard = CancelOnDrop(Some(engine.clone()));
        let report = on_runtime(async move { engine.run().await }).await;
        guard.0 = None;
        report.map(Into::into)
    }

    /// Does as much as fits in `seconds` and stops cleanly before the end (background tasks:
    /// WorkManager, BGProcessingTask). Does not wait when the policy pauses: it returns with
    /// `stopped = Paused` and the platform schedules the next run.
    pub async fn run_for(&self, seconds: u64) -> Result<RunReport> {
        let engine = self.engine.clone();
        let mut guard = CancelOnDrop(Some(engine.clone()));
        let report =
            on_runtime(async move { engine.run_for(Duration::from_secs(seconds)).await }).await;
        guard.0 = None;
        report.map(Into::into)
    }

    /// Stops the current run now; an interrupted upload resumes from the server's offset.
    pub fn cancel(&self) {
        self.engine.cancel();
    }

    /// The photo library changed (ContentObserver, PHPhotoLibraryChangeObserver): a running
    /// backup rescans and takes new photos in at once, beside any big video in flight.
    pub fn library_changed(&self) {
        self.engine.library_changed();
    }

    /// Everything not backed up yet, each with what it is waiting for (hashing, uploading n of
    /// m bytes, Wi-Fi, the charger, the next background window, a retry, a failure and its fix).
    pub fn pending(&self) -> Result<Vec<PendingItem>> {
        Ok(self.engine.pending()?.into_iter().map(Into::into).collect())
    }

    /// Up to `limit` ready-to-send requests for the OS to carry out while the app is
    /// suspended (iOS background URLSession, Android long-running work). Obeys the policy: an
    /// empty list while it forbids the network. Report each back with
    /// `background_transfer_finished`.
    pub async fn background_transfers(&self, limit: u32) -> Result<Vec<BackgroundTransfer>> {
        let engine = self.engine.clone();
        match on_runtime(async move { engine.background_transfers(limit).await }).await {
            Ok(t) => Ok(t.into_iter().map(Into::into).collect()),
            Err(ShoeboxError::Cancelled { .. }) => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    /// The OS finished a background transfer: its HTTP status (0 when it failed or was lost)
    /// and response headers. Only the server's answer advances the upload.
    pub fn background_transfer_finished(
        &self,
        id: String,
        status: u16,
        headers: Vec<HttpHeader>,
    ) -> Result<()> {
        let headers: Vec<(String, String)> =
            headers.into_iter().map(|h| (h.name, h.value)).collect();
        Ok(self
            .engine
            .background_transfer_finished(&id, status, &headers)?)
    }

    pub fn status(&self) -> Result<Status> {
        Ok(self.engine.status()?.into())
    }

    // ---- offline timeline ----------------------------------------------------------------

    /// Sends queued favourite/trash actions, then pulls server changes (one small request when
    /// nothing changed).
    pub async fn sync_timeline(&self) -> Result<SyncReport> {
        let engine = self.engine.clone();
        on_runtime(async move { engine.timeline().sync(None).await })
            .await
            .map(Into::into)
    }

    /// `sync_timeline` for a background window: returns within `seconds`, sends nothing while
    /// the policy forbids the network (Wi-Fi only), and answers `None` when the window ended
    /// first (what was applied stays; the next sync goes on from there).
    pub async fn sync_timeline_for(&self, seconds: u64) -> Result<Option<SyncReport>> {
        let engine = self.engine.clone();
        on_runtime(async move { engine.sync_timeline_for(Duration::from_secs(seconds)).await })
            .await
            .map(|r| r.map(Into::into))
    }

    /// The merged local + remote timeline's months, newest first. Offline.
    pub fn timeline_buckets(&self, filter: TimelineFilter) -> Result<Vec<Bucket>> {
        let buckets = self.engine.timeline().buckets(&filter.into())?;
        Ok(buckets.into_iter().map(Into::into).collect())
    }

    /// One month (`YYYY-MM`), newest first. Offline.
    pub fn timeline_bucket(
        &self,
        month: String,
        filter: TimelineFilter,
    ) -> Result<Vec<TimelineItem>> {
        let items = self.engine.timeline().bucket(&month, &filter.into())?;
        Ok(items.into_iter().map(Into::into).collect())
    }

    /// The server's albums as last synced. Offline.
    pub fn timeline_albums(&self) -> Result<Vec<RemoteAlbum>> {
        let albums = self.engine.timeline().albums()?;
        Ok(albums.into_iter().map(Into::into).collect())
    }

    /// Favourite (or not) a remote asset now; the server hears it on the next sync.
    pub fn set_favorite(&self, remote_id: String, favorite: bool) -> Result<()> {
        Ok(self.engine.timeline().set_favorite(&remote_id, favorite)?)
    }

    /// Moves a remote asset to the server's trash: gone from the timeline now, sent on sync.
    pub fn trash(&self, remote_id: String) -> Result<()> {
        Ok(self.engine.timeline().trash(&remote_id)?)
    }

    /// Offline actions not yet sent to the server.
    pub fn pending_actions(&self) -> Result<u64> {
        Ok(self.engine.timeline().pending_actions()?)
    }

    // ---- thumbnails ----------------------------------------------------------------------

    /// Path of the cached thumbnail, fetching it first when it is not cached.
    pub async fn thumbnail_path(&self, remote_id: String, size: ThumbSize) -> Result<String> {
        let engine = self.engine.clone();
        let path = on_runtime(async move {
            engine
                .timeline()
                .thumbs()
                .get(&remote_id, size.into())
                .await
        })
        .await?;
        Ok(path.to_string_lossy().into_owned())
    }

    /// Path of the thumbnail if it is cached (and intact), else `None`. Offline.
    pub fn cached_thumbnail_path(
        &self,
        remote_id: String,
        size: ThumbSize,
    ) -> Result<Option<String>> {
        let path = self
            .engine
            .timeline()
            .thumbs()
            .cached(&remote_id, size.into())?;
        Ok(path.map(|p| p.to_string_lossy().into_owned()))
    }

    /// The thumbnail's bytes (JPEG/WebP), fetched and cached when needed.
    pub async fn thumbnail_bytes(&self, remote_id: String, size: ThumbSize) -> Result<Vec<u8>> {
        let engine = self.engine.clone();
        on_runtime(async move {
            let path = engine
                .timeline()
                .thumbs()
                .get(&remote_id, size.into())
                .await?;
            tokio::fs::read(&path)
                .await
                .map_err(|e| CoreError::StateDir {
                    path,
                    reason: e.to_string(),
                })
        })
        .await
    }

    /// Fetches thumbnails ahead of scrolling (bounded concurrency); cancel it when the user
    /// scrolls elsewhere (dropping the handle cancels too).
    pub fn prefetch_thumbnails(&self, remote_ids: Vec<String>, size: ThumbSize) -> Arc<Prefetch> {
        let _in_runtime = runtime().enter();
        let handle = self
            .engine
            .timeline()
            .thumbs()
            .prefetch(remote_ids, size.into());
        Arc::new(Prefetch {
            handle: Mutex::new(Some(handle)),
        })
    }

    /// The thumbnail cache's byte budget; evicts least-recently-used files at once if over.
    pub fn set_thumbnail_budget(&self, bytes: u64) -> Result<()> {
        Ok(self.engine.set_thumbnail_budget(bytes)?)
    }

    /// Bytes the thumbnail cache uses now.
    pub fn thumbnail_cache_used(&self) -> Result<u64> {
        Ok(self.engine.timeline().thumbs().used()?)
    }
}

/// A running thumbnail prefetch.
#[derive(uniffi::Object)]
pub struct Prefetch {
    handle: Mutex<Option<core::timeline::PrefetchHandle>>,
}

#[uniffi::export(async_runtime = "tokio")]
impl Prefetch {
    pub fn cancel(&self) {
        if let Ok(slot) = self.handle.lock()
            && let Some(h) = slot.as_ref()
        {
            h.cancel();
        }
    }

    /// Waits for the prefetch to end; answers how many thumbnails it fetched.
    pub async fn finished(&self) -> u64 {
        let handle = self.handle.lock().ok().and_then(|mut slot| slot.take());
        match handle {
            Some(h) => runtime().spawn(h.finished()).await.unwrap_or(0),
            None => 0,
        }
    }
}
