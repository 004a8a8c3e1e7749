//! Request bodies streamed from the photo library in small reads, so a 64 MiB chunk or a
//! 4 GiB multipart upload never sits in memory. Every piece handed to the HTTP client is
//! counted, for progress and for knowing how much a failed request actually sent.

use crate::error::CoreError;
use crate::library::PhotoLibrary;
use crate::progress::Tracker;
use bytes::Bytes;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

const PIECE: u64 = 1 << 20;

/// A body of `len` bytes of `local_id` from `offset`. `sent` counts bytes handed over.
pub fn body(
    library: Arc<dyn PhotoLibrary>,
    local_id: String,
    offset: u64,
    len: u64,
    tracker: Tracker,
    sent: Arc<AtomicU64>,
) -> reqwest::Body {
    let end = offset + len;
    let stream = futures_util::stream::unfold(offset, move |pos| {
        let library = library.clone();
        let local_id = local_id.clone();
        let tracker = tracker.clone();
        let sent = sent.clone();
        async move {
            if pos >= end {
                return None;
            }
            let want = (end - pos).min(PIECE) as u32;
            let id = local_id.clone();
            let read = tokio::task::spawn_blocking(move || library.read(&id, pos, want)).await;
            let piece = match read {
                Ok(Ok(bytes)) if bytes.len() == want as usize => bytes,
                Ok(Ok(_)) => {
                    return Some((Err(CoreError::FileChanged { name: local_id }), end));
                }
                Ok(Err(e)) => return Some((Err(e), end)),
                Err(e) => return Some((Err(CoreError::Library(e.to_string())), end)),
            };
            let n = piece.len() as u64;
            sent.fetch_add(n, Ordering::Relaxed);
            tracker.sent(&local_id, n);
            Some((Ok(Bytes::from(piece)), pos + n))
        }
    });
    reqwest::Body::wrap_stream(stream)
}

/// Bytes handed to the body so far.
pub fn counter() -> Arc<AtomicU64> {
    Arc::new(AtomicU64::new(0))
}
