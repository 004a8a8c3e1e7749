//! Mirror records and enums of the core's public types, with conversions both ways. Field names
//! follow the core; Kotlin and Swift see them in camelCase.

use shoebox_core as core;

/// How to open a `Shoebox`.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ShoeboxConfig {
    /// Server address (`https://photos.example.com`, with or without `/api`).
    pub server_url: String,
    /// An API key (see `login`).
    pub api_key: String,
    /// A private directory for the client database and the thumbnail cache
    /// (Android `Context.filesDir`, iOS Application Support).
    pub state_dir: String,
    /// Names this device on the server (Immich's `deviceId`).
    pub device_id: String,
    /// Thumbnail disk cache budget in bytes; `None` keeps the saved one (default 500 MiB).
    #[uniffi(default = None)]
    pub thumbnail_cache_bytes: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Album {
    /// Stable id within the library (MediaStore `BUCKET_ID`, PhotoKit `localIdentifier`).
    pub id: String,
    /// The name shown to the user and used for the server album.
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum MediaType {
    Image,
    Video,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct LocalAsset {
    /// Stable id within the library (MediaStore `_ID`, PhotoKit `localIdentifier`).
    pub local_id: String,
    /// The original file name.
    pub file_name: String,
    /// Ids of the albums the asset is in.
    pub album_ids: Vec<String>,
    pub size: u64,
    /// Last modification, milliseconds since the epoch.
    pub modified_ms: i64,
    /// When it was taken (or created), milliseconds since the epoch.
    pub created_ms: i64,
    pub media_type: MediaType,
}

/// Size and modification time of an asset now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct AssetStat {
    pub size: u64,
    pub modified_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum NetworkKind {
    Wifi,
    Cellular,
    /// Ethernet or anything else not billed per byte.
    Other,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct NetworkState {
    pub kind: NetworkKind,
    /// The platform says this connection costs money per byte (hotspot, metered Wi-Fi).
    pub metered: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct PowerState {
    pub charging: bool,
    pub low_power: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Settings {
    pub wifi_only: bool,
    pub charging_only: bool,
    /// Put uploaded assets into server albums named like their local albums.
    pub album_sync: bool,
    /// Files uploaded at the same time (1..=16).
    pub parallel_uploads: u32,
    /// Files larger than this (bytes) upload in their own lane, so photos keep flowing while a
    /// video uploads (default 100 MiB).
    pub large_file_threshold: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PauseReason {
    /// The platform has not reported the network and power state yet (`set_network`,
    /// `set_power`): nothing is sent until it has.
    StateUnknown,
    NoNetwork,
    /// Wi-Fi only is on and the connection is cellular or metered.
    WaitingForWifi,
    WaitingForCharger,
    /// Low power mode and not charging.
    LowPower,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Phase {
    Scanning,
    Hashing,
    Checking,
    Uploading,
    Paused { reason: PauseReason },
    Idle,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct FileProgress {
    pub local_id: String,
    pub file_name: String,
    pub bytes_sent: u64,
    pub bytes_total: u64,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Progress {
    pub phase: Phase,
    pub files_total: u64,
    pub files_uploaded: u64,
    pub files_duplicate: u64,
    pub files_failed: u64,
    pub files_remaining: u64,
    pub bytes_total: u64,
    pub bytes_done: u64,
    /// The files in flight.
    pub current: Vec<FileProgress>,
    pub bytes_per_second: f64,
    pub eta_seconds: Option<u64>,
    /// A sentence for a notification ("waiting for Wi-Fi (Wi-Fi only is on)"), when paused.
    pub pause_message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct FileFailure {
    pub local_id: String,
    pub file_name: String,
    pub message: String,
    pub hint: String,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AlbumInfo {
    pub id: String,
    pub name: String,
    pub asset_count: u64,
    pub selected: bool,
    pub excluded: bool,
}

/// Which albums are backed up: `selected = None` means every album; an excluded album wins
/// over a selected one; an asset in several albums is uploaded once.
#[derive(Debug, Clone, Default, PartialEq, Eq, uniffi::Record)]
pub struct AlbumSelection {
    pub selected: Option<Vec<String>>,
    pub excluded: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, uniffi::Record)]
pub struct ScanReport {
    pub assets: u64,
    pub hashed_files: u64,
    pub hashed_bytes: u64,
    /// Taken over from the server's record of this device (after a reinstall), unread.
    pub adopted: u64,
    pub already_on_server: u64,
    pub queued: u64,
    /// Still to hash when the scan had to stop (the next window goes on).
    pub unhashed: u64,
    pub failures: Vec<FileFailure>,
}

/// What a file not yet backed up is waiting for.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum PendingState {
    WaitingToHash,
    Hashing {
        hashed: u64,
    },
    Queued,
    /// No backup is running; the platform grants the next window.
    WaitingForWindow,
    Paused {
        reason: PauseReason,
    },
    Uploading {
        sent: u64,
        total: u64,
    },
    RetryAt {
        at_ms: i64,
        error: String,
    },
    Failed {
        reason: String,
        hint: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PendingItem {
    pub local_id: String,
    pub file_name: String,
    pub size: u64,
    /// In the large-file lane.
    pub large: bool,
    pub state: PendingState,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpHeader {
    pub name: String,
    pub value: String,
}

/// A request for the OS to send while the app is suspended (iOS background URLSession upload
/// task from a file, Android long-running work). The body is `length` bytes of the asset
/// `local_id` from `offset`, read through the app's own `PhotoLibrary`.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct BackgroundTransfer {
    pub id: String,
    pub local_id: String,
    pub method: String,
    pub url: String,
    pub headers: Vec<HttpHeader>,
    pub offset: u64,
    pub length: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum StopReason {
    /// `run_for`'s budget ran out.
    Deadline,
    /// `cancel()` was called.
    Cancelled,
    /// The policy does not allow uploading now; a bounded run stops instead of waiting.
    Paused { reason: PauseReason },
}

#[derive(Debug, Clone, Default, PartialEq, Eq, uniffi::Record)]
pub struct RunReport {
    pub scan: ScanReport,
    pub uploaded: u64,
    pub duplicates: u64,
    pub failed: u64,
    pub bytes_sent: u64,
    pub failures: Vec<FileFailure>,
    /// Why the run ended before the queue was empty; `None` when it completed.
    pub stopped: Option<StopReason>,
    /// Files still queued when the run ended.
    pub remaining: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RunRecord {
    pub started_ms: i64,
    pub finished_ms: Option<i64>,
    pub uploaded: u64,
    pub duplicates: u64,
    pub failed: u64,
    pub bytes_sent: u64,
    pub outcome: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PendingFailure {
    pub local_id: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Status {
    pub queued: u64,
    pub queued_bytes: u64,
    pub done: u64,
    pub failed: u64,
    pub last_run: Option<RunRecord>,
    /// Files that failed and wait for another try.
    pub failures: Vec<PendingFailure>,
}

/// The logged-in user, as `check_server` answers.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ServerUser {
    pub id: String,
    pub email: String,
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum BackupState {
    LocalOnly,
    Queued,
    Uploading { percent: u8 },
    BackedUp,
    RemoteOnly,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct TimelineItem {
    pub local_id: Option<String>,
    pub remote_id: Option<String>,
    pub file_name: String,
    pub taken_ms: i64,
    pub is_video: bool,
    pub is_favorite: bool,
    pub device_id: String,
    /// Base64 thumbhash: paint it blurred before the thumbnail arrives.
    pub thumbhash: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub state: BackupState,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Bucket {
    /// `YYYY-MM`
    pub month: String,
    pub count: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, uniffi::Record)]
pub struct TimelineFilter {
    #[uniffi(default = None)]
    pub album_id: Option<String>,
    #[uniffi(default = false)]
    pub favorites_only: bool,
    #[uniffi(default = None)]
    pub device_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RemoteAlbum {
    pub id: String,
    pub name: String,
    pub asset_count: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, uniffi::Record)]
pub struct SyncReport {
    pub requests: u32,
    pub upserted: u64,
    pub deleted: u64,
    pub reset: bool,
    pub albums_refreshed: bool,
    pub actions_applied: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ThumbSize {
    Thumbnail,
    Preview,
}

// ---- conversions -----------------------------------------------------------------------------

impl From<Album> for core::Album {
    fn from(a: Album) -> Self {
        Self {
            id: a.id,
            name: a.name,
        }
    }
}

impl From<MediaType> for core::MediaType {
    fn from(m: MediaType) -> Self {
        match m {
            MediaType::Image => Self::Image,
            MediaType::Video => Self::Video,
        }
    }
}

impl From<LocalAsset> for core::LocalAsset {
    fn from(a: LocalAsset) -> Self {
        Self {
            local_id: a.local_id,
            file_name: a.file_name,
            album_ids: a.album_ids,
            size: a.size,
            modified_ms: a.modified_ms,
            created_ms: a.created_ms,
            media_type: a.media_type.into(),
        }
    }
}

impl From<NetworkKind> for core::NetworkKind {
    fn from(k: NetworkKind) -> Self {
        match k {
            NetworkKind::Wifi => Self::Wifi,
            NetworkKind::Cellular => Self::Cellular,
            NetworkKind::Other => Self::Other,
            NetworkKind::None => Self::None,
        }
    }
}

impl From<NetworkState> for core::NetworkState {
    fn from(n: NetworkState) -> Self {
        Self {
            kind: n.kind.into(),
            metered: n.metered,
        }
    }
}

impl From<PowerState> for core::PowerState {
    fn from(p: PowerState) -> Self {
        Self {
            charging: p.charging,
            low_power: p.low_power,
        }
    }
}

impl From<Settings> for core::Settings {
    fn from(s: Settings) -> Self {
        Self {
            wifi_only: s.wifi_only,
            charging_only: s.charging_only,
            album_sync: s.album_sync,
            parallel_uploads: s.parallel_uploads,
            large_file_threshold: s.large_file_threshold,
        }
    }
}

impl From<core::Settings> for Settings {
    fn from(s: core::Settings) -> Self {
        Self {
            wifi_only: s.wifi_only,
            charging_only: s.charging_only,
            album_sync: s.album_sync,
            parallel_uploads: s.parallel_uploads,
            large_file_threshold: s.large_file_threshold,
        }
    }
}

impl From<core::PauseReason> for PauseReason {
    fn from(r: core::PauseReason) -> Self {
        match r {
            core::PauseReason::StateUnknown => Self::StateUnknown,
            core::PauseReason::NoNetwork => Self::NoNetwork,
            core::PauseReason::WaitingForWifi => Self::WaitingForWifi,
            core::PauseReason::WaitingForCharger => Self::WaitingForCharger,
            core::PauseReason::LowPower => Self::LowPower,
        }
    }
}

impl From<core::Phase> for Phase {
    fn from(p: core::Phase) -> Self {
        match p {
            core::Phase::Scanning => Self::Scanning,
            core::Phase::Hashing => Self::Hashing,
            core::Phase::Checking => Self::Checking,
            core::Phase::Uploading => Self::Uploading,
            core::Phase::Paused(r) => Self::Paused { reason: r.into() },
            core::Phase::Idle => Self::Idle,
        }
    }
}

impl From<&core::Progress> for Progress {
    fn from(p: &core::Progress) -> Self {
        Self {
            phase: p.phase.into(),
            files_total: p.files_total,
            files_uploaded: p.files_uploaded,
            files_duplicate: p.files_duplicate,
            files_failed: p.files_failed,
            files_remaining: p.files_remaining(),
            bytes_total: p.bytes_total,
            bytes_done: p.bytes_done,
            current: p
                .current
                .iter()
                .map(|f| FileProgress {
                    local_id: f.local_id.clone(),
                    file_name: f.file_name.clone(),
                    bytes_sent: f.bytes_sent,
                    bytes_total: f.bytes_total,
                })
                .collect(),
            bytes_per_second: p.bytes_per_second,
            eta_seconds: p.eta_seconds,
            pause_message: match p.phase {
                core::Phase::Paused(r) => Some(r.describe().to_string()),
                _ => None,
            },
        }
    }
}

impl From<&core::FileFailure> for FileFailure {
    fn from(f: &core::FileFailure) -> Self {
        Self {
            local_id: f.local_id.clone(),
            file_name: f.file_name.clone(),
            message: f.message.clone(),
            hint: f.hint.clone(),
        }
    }
}

impl From<core::AlbumInfo> for AlbumInfo {
    fn from(a: core::AlbumInfo) -> Self {
        Self {
            id: a.album.id,
            name: a.album.name,
            asset_count: a.asset_count,
            selected: a.selected,
            excluded: a.excluded,
        }
    }
}

impl From<AlbumSelection> for core::AlbumSelection {
    fn from(s: AlbumSelection) -> Self {
        Self {
            selected: s.selected,
            excluded: s.excluded,
        }
    }
}

impl From<core::AlbumSelection> for AlbumSelection {
    fn from(s: core::AlbumSelection) -> Self {
        Self {
            selected: s.selected,
            excluded: s.excluded,
        }
    }
}

impl From<core::ScanReport> for ScanReport {
    fn from(s: core::ScanReport) -> Self {
        Self {
            assets: s.assets,
            hashed_files: s.hashed_files,
            hashed_bytes: s.hashed_bytes,
            adopted: s.adopted,
            already_on_server: s.already_on_server,
            queued: s.queued,
            unhashed: s.unhashed,
            failures: s.failures.iter().map(Into::into).collect(),
        }
    }
}

impl From<core::PendingState> for PendingState {
    fn from(s: core::PendingState) -> Self {
        use core::PendingState as P;
        match s {
            P::WaitingToHash => Self::WaitingToHash,
            P::Hashing { hashed } => Self::Hashing { hashed },
            P::Queued => Self::Queued,
            P::WaitingForWindow => Self::WaitingForWindow,
            P::Paused(reason) => Self::Paused {
                reason: reason.into(),
            },
            P::Uploading { sent, total } => Self::Uploading { sent, total },
            P::RetryAt { at_ms, error } => Self::RetryAt { at_ms, error },
            P::Failed { reason, hint } => Self::Failed { reason, hint },
        }
    }
}

impl From<core::PendingItem> for PendingItem {
    fn from(p: core::PendingItem) -> Self {
        Self {
            local_id: p.local_id,
            file_name: p.file_name,
            size: p.size,
            large: p.large,
            state: p.state.into(),
        }
    }
}

impl From<core::BackgroundTransfer> for BackgroundTransfer {
    fn from(t: core::BackgroundTransfer) -> Self {
        Self {
            id: t.id,
            local_id: t.local_id,
            method: t.method,
            url: t.url,
            headers: t
                .headers
                .into_iter()
                .map(|(name, value)| HttpHeader { name, value })
                .collect(),
            offset: t.offset,
            length: t.length,
        }
    }
}

impl From<core::StopReason> for StopReason {
    fn from(r: core::StopReason) -> Self {
        match r {
            core::StopReason::Deadline => Self::Deadline,
            core::StopReason::Cancelled => Self::Cancelled,
            core::StopReason::Paused(reason) => Self::Paused {
                reason: reason.into(),
            },
        }
    }
}

impl From<core::RunReport> for RunReport {
    fn from(r: core::RunReport) -> Self {
        Self {
            scan: r.scan.into(),
            uploaded: r.uploaded,
            duplicates: r.duplicates,
            failed: r.failed,
            bytes_sent: r.bytes_sent,
            failures: r.failures.iter().map(Into::into).collect(),
            stopped: r.stopped.map(Into::into),
            remaining: r.remaining,
        }
    }
}

impl From<core::state::RunRecord> for RunRecord {
    fn from(r: core::state::RunRecord) -> Self {
        Self {
            started_ms: r.started_ms,
            finished_ms: r.finished_ms,
            uploaded: r.uploaded,
            duplicates: r.duplicates,
            failed: r.failed,
            bytes_sent: r.bytes_sent,
            outcome: r.outcome,
        }
    }
}

impl From<core::Status> for Status {
    fn from(s: core::Status) -> Self {
        Self {
            queued: s.counts.queued,
            queued_bytes: s.counts.queued_bytes,
            done: s.counts.done,
            failed: s.counts.failed,
            last_run: s.last_run.map(Into::into),
            failures: s
                .failures
                .into_iter()
                .map(|(local_id, reason)| PendingFailure { local_id, reason })
                .collect(),
        }
    }
}

impl From<core::BackupState> for BackupState {
    fn from(s: core::BackupState) -> Self {
        match s {
            core::BackupState::LocalOnly => Self::LocalOnly,
            core::BackupState::Queued => Self::Queued,
            core::BackupState::Uploading { percent } => Self::Uploading { percent },
            core::BackupState::BackedUp => Self::BackedUp,
            core::BackupState::RemoteOnly => Self::RemoteOnly,
        }
    }
}

impl From<core::TimelineItem> for TimelineItem {
    fn from(i: core::TimelineItem) -> Self {
        Self {
            local_id: i.local_id,
            remote_id: i.remote_id,
            file_name: i.file_name,
            taken_ms: i.taken_ms,
            is_video: i.is_video,
            is_favorite: i.is_favorite,
            device_id: i.device_id,
            thumbhash: i.thumbhash,
            width: i.width,
            height: i.height,
            state: i.state.into(),
        }
    }
}

impl From<core::Bucket> for Bucket {
    fn from(b: core::Bucket) -> Self {
        Self {
            month: b.month,
            count: b.count,
        }
    }
}

impl From<TimelineFilter> for core::TimelineFilter {
    fn from(f: TimelineFilter) -> Self {
        Self {
            album_id: f.album_id,
            favorites_only: f.favorites_only,
            device_id: f.device_id,
        }
    }
}

impl From<core::RemoteAlbum> for RemoteAlbum {
    fn from(a: core::RemoteAlbum) -> Self {
        Self {
            id: a.id,
            name: a.name,
            asset_count: a.asset_count,
        }
    }
}

impl From<core::SyncReport> for SyncReport {
    fn from(r: core::SyncReport) -> Self {
        Self {
            requests: r.requests,
            upserted: r.upserted,
            deleted: r.deleted,
            reset: r.reset,
            albums_refreshed: r.albums_refreshed,
            actions_applied: r.actions_applied,
        }
    }
}

impl From<ThumbSize> for core::ThumbSize {
    fn from(s: ThumbSize) -> Self {
        match s {
            ThumbSize::Thumbnail => Self::Thumbnail,
            ThumbSize::Preview => Self::Preview,
        }
    }
}
