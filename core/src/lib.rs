//! `shoebox-core`: the client engine that the phone apps (through `shoebox-ffi`) and the desktop
//! CLI share: the photo library abstraction, album selection, hashing with a persistent cache,
//! SHA-1 dedup against the server, the persistent upload queue with resumable tus uploads, the
//! network/power policy, and progress reporting. No uniffi in here: `bindings/` wraps it.

pub mod engine;
pub mod error;
pub mod hash;
pub mod library;
pub mod policy;
pub mod progress;
pub mod selection;
pub mod server;
pub mod state;
pub mod timeline;
pub mod upload;
pub mod wire;

pub use engine::{
    AlbumInfo, BackgroundTransfer, BackupEngine, EngineConfig, PendingItem, PendingState,
    RunReport, ScanReport, Status, StopReason,
};
pub use error::{CoreError, CoreResult};
pub use hash::{HashError, Sha1State, sha1_file, sha1_reader};
pub use library::fs::FsLibrary;
pub use library::{Album, LocalAsset, MediaType, PhotoLibrary};
pub use policy::{NetworkKind, NetworkState, PauseReason, PowerState, Settings};
pub use progress::{FileFailure, FileProgress, Phase, Progress, ProgressObserver};
pub use selection::AlbumSelection;
pub use timeline::{
    BackupState, Bucket, RemoteAlbum, SyncReport, ThumbSize, Timeline, TimelineFilter, TimelineItem,
};
