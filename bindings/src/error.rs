//! Errors as the apps see them. `ShoeboxError` (Kotlin `ShoeboxException`, Swift `ShoeboxError`)
//! mirrors `CoreError` variant by variant; every variant carries the sentence to show (`message`)
//! and what the user can do about it (`hint`), so a UI never parses strings.
//! `PhotoLibraryError` is what the apps' `PhotoLibrary` implementations throw.

use shoebox_core::CoreError;

#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum ShoeboxError {
    #[error("{message}")]
    Auth { message: String, hint: String },
    #[error("{message}")]
    ServerUnreachable { message: String, hint: String },
    #[error("{message}")]
    QuotaExceeded { message: String, hint: String },
    #[error("{message}")]
    Server {
        status: u16,
        message: String,
        hint: String,
    },
    #[error("{message}")]
    FileVanished { message: String, hint: String },
    #[error("{message}")]
    FileUnreadable { message: String, hint: String },
    #[error("{message}")]
    FileChanged { message: String, hint: String },
    #[error("{message}")]
    Library { message: String, hint: String },
    #[error("{message}")]
    Database { message: String, hint: String },
    #[error("{message}")]
    StateDir { message: String, hint: String },
    #[error("{message}")]
    Config { message: String, hint: String },
    #[error("{message}")]
    Cancelled { message: String, hint: String },
    /// A bug: a panic or a lost task inside the library.
    #[error("{message}")]
    Internal { message: String, hint: String },
}

impl ShoeboxError {
    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self::Internal {
            message: message.into(),
            hint: "This is a bug in Shoebox; please report it.".into(),
        }
    }
}

impl From<CoreError> for ShoeboxError {
    fn from(e: CoreError) -> Self {
        let message = e.to_string();
        let hint = e.hint().to_string();
        match e {
            CoreError::Auth(_) => Self::Auth { message, hint },
            CoreError::ServerUnreachable { .. } => Self::ServerUnreachable { message, hint },
            CoreError::QuotaExceeded(_) => Self::QuotaExceeded { message, hint },
            CoreError::Server { status, .. } => Self::Server {
                status,
                message,
                hint,
            },
            CoreError::FileVanished(_) => Self::FileVanished { message, hint },
            CoreError::FileUnreadable { .. } => Self::FileUnreadable { message, hint },
            CoreError::FileChanged { .. } => Self::FileChanged { message, hint },
            CoreError::Library(_) => Self::Library { message, hint },
            CoreError::Database(_) => Self::Database { message, hint },
            CoreError::StateDir { .. } => Self::StateDir { message, hint },
            CoreError::Config(_) => Self::Config { message, hint },
            CoreError::Cancelled | CoreError::Stopped(_) => Self::Cancelled { message, hint },
        }
    }
}

/// What a platform `PhotoLibrary` throws. Mapped onto the core's errors, so a vanished file is
/// skipped quietly and an unreadable one is reported as that file's failure.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum PhotoLibraryError {
    /// The asset was deleted (or is no longer visible to the app).
    #[error("{local_id} no longer exists")]
    Vanished { local_id: String },
    /// This asset cannot be read now (I/O error, iCloud download failed, ...).
    #[error("cannot read {local_id}: {reason}")]
    Unreadable { local_id: String, reason: String },
    /// The library as a whole cannot be read (permission revoked, storage unmounted, ...).
    #[error("{reason}")]
    Unavailable { reason: String },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for PhotoLibraryError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Unavailable {
            reason: format!("the photo library implementation failed: {}", e.reason),
        }
    }
}

impl From<PhotoLibraryError> for CoreError {
    fn from(e: PhotoLibraryError) -> Self {
        match e {
            PhotoLibraryError::Vanished { local_id } => CoreError::FileVanished(local_id),
            PhotoLibraryError::Unreadable { local_id, reason } => CoreError::FileUnreadable {
                name: local_id,
                reason,
            },
            PhotoLibraryError::Unavailable { reason } => CoreError::Library(reason),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_errors_keep_message_and_hint() {
        let e: ShoeboxError = CoreError::Auth("401 Unauthorized".into()).into();
        match e {
            ShoeboxError::Auth { message, hint } => {
                assert_eq!(
                    message,
                    "the server rejected the credentials (401 Unauthorized)"
                );
                assert_eq!(hint, CoreError::Auth(String::new()).hint());
            }
            other => panic!("{other:?}"),
        }
        let e: ShoeboxError = CoreError::Server {
            status: 503,
            message: "busy".into(),
        }
        .into();
        assert!(matches!(e, ShoeboxError::Server { status: 503, .. }));
        assert_eq!(e.to_string(), "the server answered 503: busy");
    }

    #[test]
    fn library_errors_map_to_the_core_kinds() {
        let vanished: CoreError = PhotoLibraryError::Vanished {
            local_id: "i:1".into(),
        }
        .into();
        assert!(matches!(vanished, CoreError::FileVanished(id) if id == "i:1"));
        let unreadable: CoreError = PhotoLibraryError::Unreadable {
            local_id: "i:2".into(),
            reason: "io".into(),
        }
        .into();
        assert!(matches!(unreadable, CoreError::FileUnreadable { .. }));
        let denied: CoreError = PhotoLibraryError::Unavailable {
            reason: "no permission".into(),
        }
        .into();
        assert!(matches!(denied, CoreError::Library(_)));
    }
}
