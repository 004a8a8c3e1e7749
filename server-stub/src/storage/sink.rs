//! Streaming bytes to disk off the async runtime. Each body frame goes to two blocking threads
//! at once, a writer and a hasher (SHA-1 of the whole file, and optionally of this request's
//! chunk), so hashing overlaps the disk writes and the network side never waits on either.
//! Frames are shared (`Bytes`), never copied. At most `IN_FLIGHT` bytes wait in each queue,
//! whatever the frame sizes, which keeps a 1 GiB upload within a few MiB of memory. `finish`
//! fdatasyncs before reporting what was written.

use bytes::Bytes;
use sha1::{Digest, Sha1};
use std::fs::File;
use std::io::{self, Write};
use std::sync::Arc;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;

/// Bytes received but not yet written (or not yet hashed), at most.
const IN_FLIGHT: usize = 4 << 20;

pub struct SinkOutcome {
    /// Bytes written by this sink.
    pub written: u64,
    /// Running SHA-1 of the whole file (the state handed in, updated with these bytes).
    pub whole: Sha1,
    /// SHA-1 of just these bytes, when asked for.
    pub chunk: Option<[u8; 20]>,
}

/// One consumer thread: its queue and the byte budget it gives back as it works.
struct Lane<T> {
    tx: mpsc::UnboundedSender<Bytes>,
    budget: Arc<Semaphore>,
    task: JoinHandle<io::Result<T>>,
}

impl<T: Send + 'static> Lane<T> {
    /// Runs `step` on every frame on a blocking thread, then `end`. A failing step closes the
    /// budget so a sender waiting on it wakes up and stops.
    fn spawn<S>(
        mut state: S,
        mut step: impl FnMut(&mut S, &[u8]) -> io::Result<()> + Send + 'static,
        end: impl FnOnce(S) -> io::Result<T> + Send + 'static,
    ) -> Self
    where
        S: Send + 'static,
    {
        let (tx, mut rx) = mpsc::unbounded_channel::<Bytes>();
        let budget = Arc::new(Semaphore::new(IN_FLIGHT));
        let released = budget.clone();
        let task = tokio::task::spawn_blocking(move || {
            while let Some(bytes) = rx.blocking_recv() {
                if let Err(e) = step(&mut state, &bytes) {
                    released.close();
                    return Err(e);
                }
                released.add_permits(permits(bytes.len()));
            }
            end(state)
        });
        Self { tx, budget, task }
    }

    async fn send(&self, bytes: Bytes) -> Result<(), ()> {
        let n = permits(bytes.len()) as u32;
        self.budget.acquire_many(n).await.map_err(|_| ())?.forget();
        self.tx.send(bytes).map_err(|_| ())
    }

    async fn finish(self) -> io::Result<T> {
        drop(self.tx);
        self.task.await.map_err(io::Error::other)?
    }
}

pub struct Sink {
    writer: Lane<(File, u64)>,
    hasher: Lane<(Sha1, Option<[u8; 20]>)>,
}

impl Sink {
    /// Starts writing at `file`'s current position. `whole` is the hash state of the bytes
    /// already in the file (a fresh `Sha1` for a new file).
    pub fn start(file: File, whole: Sha1, hash_chunk: bool) -> Self {
        let writer = Lane::spawn(
            (file, 0u64),
            |(file, written), bytes| {
                file.write_all(bytes)?;
                *written += bytes.len() as u64;
                Ok(())
            },
            |(file, written)| {
                file.sync_data()?;
                Ok((file, written))
            },
        );
        let hasher = Lane::spawn(
            (whole, hash_chunk.then(Sha1::new)),
            |(whole, chunk), bytes| {
                whole.update(bytes);
                if let Some(c) = chunk.as_mut() {
                    c.update(bytes);
                }
                Ok(())
            },
            |(whole, chunk)| Ok((whole, chunk.map(|c| c.finalize().into()))),
        );
        Self { writer, hasher }
    }

    /// Queues `bytes` for both threads, waiting while either is `IN_FLIGHT` bytes behind;
    /// fails when the writer has stopped (its error comes from `finish`).
    pub async fn write(&self, bytes: Bytes) -> Result<(), ()> {
        self.writer.send(bytes.clone()).await?;
        self.hasher.send(bytes).await
    }

    /// Ends the stream, waits for both threads, and returns what is durably on disk.
    pub async fn finish(self) -> io::Result<SinkOutcome> {
        let (hashed, written) = tokio::join!(self.hasher.finish(), self.writer.finish());
        let (_, written) = written?;
        let (whole, chunk) = hashed?;
        Ok(SinkOutcome {
            written,
            whole,
            chunk,
        })
    }
}

/// Budget units a frame takes: its size, capped so one huge frame cannot wait forever.
fn permits(len: usize) -> usize {
    len.min(IN_FLIGHT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn writes_hashes_and_bounds_nothing_it_should_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let file = File::create(&path).unwrap();
        let sink = Sink::start(file, Sha1::new(), true);
        let mut all = Vec::new();
        // More than IN_FLIGHT in total, in frames of mixed sizes, one larger than the budget.
        for (i, size) in [100usize, 64 << 10, IN_FLIGHT + 5, 3].iter().enumerate() {
            let frame = vec![i as u8; *size];
            all.extend_from_slice(&frame);
            sink.write(Bytes::from(frame)).await.unwrap();
        }
        let out = sink.finish().await.unwrap();
        assert_eq!(out.written, all.len() as u64);
        assert_eq!(std::fs::read(&path).unwrap(), all);
        let digest: [u8; 20] = Sha1::digest(&all).into();
        assert_eq!(out.chunk, Some(digest));
        assert_eq!(<[u8; 20]>::from(out.whole.finalize()), digest);
    }

    #[tokio::test]
    async fn a_failing_writer_unblocks_the_sender() {
        // /dev/full accepts the open and fails every write with ENOSPC.
        let Ok(file) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
            return;
        };
        let sink = Sink::start(file, Sha1::new(), false);
        let mut refused = false;
        for _ in 0..64 {
            if sink.write(Bytes::from(vec![0u8; 1 << 20])).await.is_err() {
                refused = true;
                break;
            }
        }
        assert!(refused, "the sender must learn that the writer stopped");
        let err = sink.finish().await.err().expect("disk full is an error");
        assert_eq!(err.raw_os_error(), Some(libc::ENOSPC));
    }
}
