//! Backup progress for a progress bar and a notification: totals, the files in flight, speed,
//! ETA, pause reason and per-file failures. The tracker throttles reports so a UI is not flooded;
//! file completions, failures and phase changes are always reported.

use crate::policy::PauseReason;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Scanning,
    Hashing,
    Checking,
    Uploading,
    Paused(PauseReason),
    Idle,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileProgress {
    pub local_id: String,
    pub file_name: String,
    pub bytes_sent: u64,
    pub bytes_total: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    pub phase: Phase,
    pub files_total: u64,
    pub files_uploaded: u64,
    pub files_duplicate: u64,
    pub files_failed: u64,
    pub bytes_total: u64,
    pub bytes_done: u64,
    pub current: Vec<FileProgress>,
    pub bytes_per_second: f64,
    pub eta_seconds: Option<u64>,
}

impl Progress {
    pub fn files_remaining(&self) -> u64 {
        self.files_total
            .saturating_sub(self.files_uploaded + self.files_duplicate + self.files_failed)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileFailure {
    pub local_id: String,
    pub file_name: String,
    pub message: String,
    pub hint: String,
}

/// Implemented by the apps (through the FFI) and the CLI.
pub trait ProgressObserver: Send + Sync {
    fn on_progress(&self, progress: &Progress);
    fn on_file_failed(&self, _failure: &FileFailure) {}
}

const MIN_INTERVAL: Duration = Duration::from_millis(200);

struct State {
    p: Progress,
    files: BTreeMap<String, FileProgress>,
    last_emit: Option<Instant>,
    /// (instant, bytes_done) samples for the speed estimate.
    window: Vec<(Instant, u64)>,
}

#[derive(Clone)]
pub struct Tracker {
    observer: Option<Arc<dyn ProgressObserver>>,
    state: Arc<Mutex<State>>,
}

impl Tracker {
    pub fn new(observer: Option<Arc<dyn ProgressObserver>>) -> Self {
        Self {
            observer,
            state: Arc::new(Mutex::new(State {
                p: Progress {
                    phase: Phase::Idle,
                    files_total: 0,
                    files_uploaded: 0,
                    files_duplicate: 0,
                    files_failed: 0,
                    bytes_total: 0,
                    bytes_done: 0,
                    current: vec![],
                    bytes_per_second: 0.0,
                    eta_seconds: None,
                },
                files: BTreeMap::new(),
                last_emit: None,
                window: Vec::new(),
            })),
        }
    }

    fn update(&self, force: bool, f: impl FnOnce(&mut State)) {
        let snapshot = {
            let Ok(mut s) = self.state.lock() else { return };
            f(&mut s);
            let now = Instant::now();
            let done = s.p.bytes_done;
            s.window.push((now, done));
            s.window
                .retain(|(t, _)| now.duration_since(*t) <= Duration::from_secs(10));
            if let (Some(&(t0, b0)), true) = (s.window.first(), s.window.len() > 1) {
                let secs = now.duration_since(t0).as_secs_f64();
                if secs > 0.2 {
                    s.p.bytes_per_second = (done.saturating_sub(b0)) as f64 / secs;
                }
            }
            let left = s.p.bytes_total.saturating_sub(s.p.bytes_done);
            s.p.eta_seconds = (s.p.bytes_per_second > 1.0)
                .then(|| (left as f64 / s.p.bytes_per_second).ceil() as u64);
            s.p.current = s.files.values().cloned().collect();
            let due = s
                .last_emit
                .is_none_or(|t| now.duration_since(t) >= MIN_INTERVAL);
            if !(force || due) {
                return;
            }
            s.last_emit = Some(now);
            s.p.clone()
        };
        if let Some(o) = &self.observer {
            o.on_progress(&snapshot);
        }
    }

    pub fn snapshot(&self) -> Option<Progress> {
        self.state.lock().ok().map(|s| s.p.clone())
    }

    pub fn phase(&self, phase: Phase) {
        self.update(true, |s| s.p.phase = phase);
    }

    /// Sets the totals for a run: files and bytes queued.
    pub fn totals(&self, files: u64, bytes: u64) {
        self.update(true, |s| {
            s.p.files_total = files;
            s.p.bytes_total = bytes;
            s.p.files_uploaded = 0;
            s.p.files_duplicate = 0;
            s.p.files_failed = 0;
            s.p.bytes_done = 0;
        });
    }

    /// More work joined a running run (new photos found mid-run).
    pub fn add_totals(&self, files: u64, bytes: u64) {
        self.update(true, |s| {
            s.p.files_total += files;
            s.p.bytes_total += bytes;
        });
    }

    pub fn file_started(&self, local_id: &str, file_name: &str, total: u64, already: u64) {
        self.update(false, |s| {
            s.files.insert(
                local_id.to_owned(),
                FileProgress {
                    local_id: local_id.to_owned(),
                    file_name: file_name.to_owned(),
                    bytes_sent: already,
                    bytes_total: total,
                },
            );
            s.p.bytes_done += already;
        });
    }

    /// `n` more bytes of `local_id` reached the server.
    pub fn sent(&self, local_id: &str, n: u64) {
        self.update(false, |s| {
            if let Some(f) = s.files.get_mut(local_id) {
                f.bytes_sent += n;
            }
            s.p.bytes_done += n;
        });
    }

    /// Bytes counted by `sent` that the server did not keep (a failed or rolled-back chunk).
    pub fn unsent(&self, local_id: &str, n: u64) {
        self.update(false, |s| {
            if let Some(f) = s.files.get_mut(local_id) {
                f.bytes_sent = f.bytes_sent.saturating_sub(n);
            }
            s.p.bytes_done = s.p.bytes_done.saturating_sub(n);
        });
    }

    pub fn file_finished(&self, local_id: &str, duplicate: bool) {
        self.update(true, |s| {
            s.files.remove(local_id);
            if duplicate {
                s.p.files_duplicate += 1;
            } else {
                s.p.files_uploaded += 1;
            }
        });
    }

    /// A queued file that turned out to be on the server already (no bytes needed).
    pub fn file_skipped(&self, bytes: u64) {
        self.update(true, |s| {
            s.p.files_duplicate += 1;
            s.p.bytes_done += bytes;
        });
    }

    pub fn file_failed(&self, failure: FileFailure) {
        self.update(true, |s| {
            s.files.remove(&failure.local_id);
            s.p.files_failed += 1;
        });
        if let Some(o) = &self.observer {
            o.on_file_failed(&failure);
        }
    }

    /// A file stopped without finishing (paused, deadline, cancel): it stays queued.
    pub fn file_paused(&self, local_id: &str) {
        self.update(true, |s| {
            s.files.remove(local_id);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Log(Mutex<Vec<Progress>>, Mutex<Vec<FileFailure>>);
    impl ProgressObserver for Log {
        fn on_progress(&self, p: &Progress) {
            self.0.lock().unwrap().push(p.clone());
        }
        fn on_file_failed(&self, f: &FileFailure) {
            self.1.lock().unwrap().push(f.clone());
        }
    }

    #[test]
    fn throttles_byte_updates_but_not_completions() {
        let log = Arc::new(Log::default());
        let t = Tracker::new(Some(log.clone()));
        t.totals(2, 2000);
        t.file_started("a", "a.jpg", 1000, 0);
        for _ in 0..100 {
            t.sent("a", 10);
        }
        t.file_finished("a", false);
        t.file_failed(FileFailure {
            local_id: "b".into(),
            file_name: "b.jpg".into(),
            message: "gone".into(),
            hint: "none".into(),
        });
        let events = log.0.lock().unwrap();
        assert!(
            events.len() < 20,
            "{} reports for 100 byte updates",
            events.len()
        );
        let last = events.last().unwrap();
        assert_eq!(last.files_uploaded, 1);
        assert_eq!(last.files_failed, 1);
        assert_eq!(last.bytes_done, 1000);
        assert_eq!(last.files_remaining(), 0);
        assert!(last.current.is_empty());
        assert_eq!(log.1.lock().unwrap().len(), 1);
    }
}
