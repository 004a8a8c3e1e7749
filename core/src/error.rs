//! The core's typed errors. Each says what went wrong in words a user can read, and `hint()`
//! says what to do about it, so the apps and the CLI can show both without parsing strings.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("the server rejected the credentials ({0})")]
    Auth(String),
    #[error("cannot reach the server at {url}: {reason}")]
    ServerUnreachable { url: String, reason: String },
    #[error("storage quota exceeded: {0}")]
    QuotaExceeded(String),
    #[error("the server answered {status}: {message}")]
    Server { status: u16, message: String },
    #[error("{0} no longer exists")]
    FileVanished(String),
    #[error("cannot read {name}: {reason}")]
    FileUnreadable { name: String, reason: String },
    #[error("{name} changed while it was being backed up")]
    FileChanged { name: String },
    #[error("the library cannot be read: {0}")]
    Library(String),
    #[error("client database error: {0}")]
    Database(String),
    #[error("cannot use the state directory {path}: {reason}")]
    StateDir { path: PathBuf, reason: String },
    #[error("invalid setting: {0}")]
    Config(String),
    #[error("cancelled")]
    Cancelled,
    /// The run's window ended (deadline, cancel, or the policy paused it) before this finished.
    #[error("the backup stopped ({0:?})")]
    Stopped(crate::engine::StopReason),
}

impl CoreError {
    /// What the user should do about this error.
    pub fn hint(&self) -> &'static str {
        match self {
            Self::Auth(_) => "Log in again or create a new API key on the server.",
            Self::ServerUnreachable { .. } => {
                "Check the server address and that the server is running; backup retries by itself."
            }
            Self::QuotaExceeded(_) => {
                "Free space on the server (empty the trash) or ask the admin for a larger quota."
            }
            Self::Server { .. } => "The server had a problem; backup retries later.",
            Self::FileVanished(_) => "Nothing to do: the file was deleted before it was backed up.",
            Self::FileUnreadable { .. } => "Check that the app may read this file (permissions).",
            Self::FileChanged { .. } => "Nothing to do: the new version is backed up next.",
            Self::Library(_) => "Check that the app may read the photo library.",
            Self::Database(_) | Self::StateDir { .. } => {
                "Check free space on this device; the backup state may need to be reset."
            }
            Self::Config(_) => "Fix the setting and try again.",
            Self::Cancelled => "Nothing to do.",
            Self::Stopped(_) => "Nothing to do: the backup goes on in its next window.",
        }
    }

    /// Whether trying the same thing later can succeed (network, server hiccups, changes).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::ServerUnreachable { .. } | Self::Server { .. } | Self::FileChanged { .. }
        )
    }
}

impl From<rusqlite::Error> for CoreError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Database(e.to_string())
    }
}

pub type CoreResult<T> = Result<T, CoreError>;
