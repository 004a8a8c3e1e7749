//! Streaming bytes to disk off the async runtime: a blocking writer thread fed through a bounded
//! channel hashes (SHA-1 of the whole file, and optionally of this request's chunk) and writes as
//! bytes arrive, so memory stays bounded whatever the upload size, and the network side never
//! waits on a disk syscall. `finish` flushes and fdatasyncs before reporting what was written.

use bytes::Bytes;
use sha1::{Digest, Sha1};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Chunks in flight between the network and the writer (each is one body frame, ≤ ~64 KiB).
const QUEUE: usize = 64;
const WRITE_BUF: usize = 1 << 20;

pub struct SinkOutcome {
    /// Bytes written by this sink.
    pub written: u64,
    /// Running SHA-1 of the whole file (the state handed in, updated with these bytes).
    pub whole: Sha1,
    /// SHA-1 of just these bytes, when asked for.
    pub chunk: Option<[u8; 20]>,
}

pub struct Sink {
    tx: mpsc::Sender<Bytes>,
    task: JoinHandle<io::Result<SinkOutcome>>,
}

impl Sink {
    /// Starts writing at `file`'s current position. `whole` is the hash state of the bytes
    /// already in the file (a fresh `Sha1` for a new file).
    pub fn start(file: File, whole: Sha1, hash_chunk: bool) -> Self {
        let (tx, mut rx) = mpsc::channel::<Bytes>(QUEUE);
        let task = tokio::task::spawn_blocking(move || {
            let mut out = BufWriter::with_capacity(WRITE_BUF, file);
            let mut whole = whole;
            let mut chunk = hash_chunk.then(Sha1::new);
            let mut written = 0u64;
            while let Some(bytes) = rx.blocking_recv() {
                out.write_all(&bytes)?;
                whole.update(&bytes);
                if let Some(c) = chunk.as_mut() {
                    c.update(&bytes);
                }
                written += bytes.len() as u64;
            }
            let file = out.into_inner().map_err(|e| e.into_error())?;
            file.sync_data()?;
            Ok(SinkOutcome {
                written,
                whole,
                chunk: chunk.map(|c| c.finalize().into()),
            })
        });
        Self { tx, task }
    }

    /// Queues `bytes`; fails when the writer has stopped (its error comes from `finish`).
    pub async fn write(&self, bytes: Bytes) -> Result<(), ()> {
        self.tx.send(bytes).await.map_err(|_| ())
    }

    /// Ends the stream, waits for the writer, and returns what is durably on disk.
    pub async fn finish(self) -> io::Result<SinkOutcome> {
        drop(self.tx);
        self.task.await.map_err(io::Error::other)?
    }
}
