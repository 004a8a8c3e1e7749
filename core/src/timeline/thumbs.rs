//! The thumbnail disk cache: files under the state directory, indexed in the client database
//! with their size and SHA-1 (a corrupt or truncated file is detected on read and fetched
//! again), written atomically (temp file + rename: a half-written thumbnail is never served),
//! evicted least-recently-used beyond a byte budget. Prefetch fetches a screenful ahead with
//! bounded concurrency and stops when cancelled (the user scrolled away).

use crate::error::{CoreError, CoreResult};
use crate::server::ServerApi;
use crate::state::{StateDb, now_ms};
use rusqlite::{OptionalExtension, params};
use sha1::{Digest, Sha1};
use std::path::PathBuf;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

pub const DEFAULT_BUDGET: u64 = 500 << 20;
/// Reads refresh an entry's LRU time at most this often (each refresh is a database write).
const TOUCH_EVERY_MS: i64 = 60_000;
const PREFETCH_CONCURRENCY: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThumbSize {
    Thumbnail,
    Preview,
}

impl ThumbSize {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Thumbnail => "thumbnail",
            Self::Preview => "preview",
        }
    }
}

#[derive(Clone)]
pub struct ThumbCache {
    db: Arc<StateDb>,
    api: ServerApi,
    dir: PathBuf,
    budget: Arc<std::sync::atomic::AtomicU64>,
}

/// Cancels a prefetch when told to or when dropped.
pub struct PrefetchHandle {
    token: CancellationToken,
    task: tokio::task::JoinHandle<u64>,
}

impl PrefetchHandle {
    pub fn cancel(&self) {
        self.token.cancel();
    }
    /// Waits for the prefetch; returns how many thumbnails it fetched.
    pub async fn finished(mut self) -> u64 {
        (&mut self.task).await.unwrap_or(0)
    }
}

impl Drop for PrefetchHandle {
    fn drop(&mut self) {
        self.token.cancel();
    }
}

/// Server ids become file names: only accept what an id looks like.
fn safe_id(id: &str) -> CoreResult<&str> {
    if !id.is_empty()
        && id.len() <= 64
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        Ok(id)
    } else {
        Err(CoreError::Config(format!("invalid asset id {id:?}")))
    }
}

impl ThumbCache {
    pub fn new(db: Arc<StateDb>, api: ServerApi, dir: PathBuf, budget: u64) -> CoreResult<Self> {
        std::fs::create_dir_all(&dir).map_err(|e| CoreError::StateDir {
            path: dir.clone(),
            reason: e.to_string(),
        })?;
        Ok(Self {
            db,
            api,
            dir,
            budget: Arc::new(budget.into()),
        })
    }

    pub fn set_budget(&self, bytes: u64) -> CoreResult<()> {
        self.budget
            .store(bytes, std::sync::atomic::Ordering::Relaxed);
        self.evict()
    }

    fn path(&self, id: &str, size: ThumbSize) -> CoreResult<PathBuf> {
        let id = safe_id(id)?;
        let shard = &id[..2.min(id.len())];
        Ok(self.dir.join(size.as_str()).join(shard).join(id))
    }

    /// Bytes the cache holds.
    pub fn used(&self) -> CoreResult<u64> {
        self.db.with(|c| {
            Ok(
                c.query_row("SELECT COALESCE(SUM(bytes), 0) FROM thumb_cache", [], |r| {
                    r.get::<_, i64>(0)
                })? as u64,
            )
        })
    }

    /// The cached file if present and intact — never touches the network.
    pub fn cached(&self, id: &str, size: ThumbSize) -> CoreResult<Option<PathBuf>> {
        let path = self.path(id, size)?;
        let entry: Option<(i64, Vec<u8>, i64)> = self.db.with(|c| {
            Ok(c.query_row(
                "SELECT bytes, sha1, last_used_ms FROM thumb_cache WHERE asset_id = ?1 AND size = ?2",
                params![id, size.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?)
        })?;
        let Some((bytes, sha1, last_used)) = entry else {
            return Ok(None);
        };
        let intact = std::fs::read(&path)
            .is_ok_and(|data| data.len() as i64 == bytes && Sha1::digest(&data).as_slice() == sha1);
        if !intact {
            tracing::warn!(asset = id, "cached thumbnail is damaged; dropping it");
            self.forget(id, size)?;
            return Ok(None);
        }
        let now = now_ms();
        if now - last_used > TOUCH_EVERY_MS {
            self.db.with(|c| {
                c.execute(
                    "UPDATE thumb_cache SET last_used_ms = ?3 WHERE asset_id = ?1 AND size = ?2",
                    params![id, size.as_str(), now],
                )?;
                Ok(())
            })?;
        }
        Ok(Some(path))
    }

    /// The thumbnail file: from the cache, or fetched, stored and returned.
    pub async fn get(&self, id: &str, size: ThumbSize) -> CoreResult<PathBuf> {
        if let Some(p) = self.cached(id, size)? {
            return Ok(p);
        }
        let data = self.api.thumbnail(safe_id(id)?, size.as_str()).await?;
        self.store(id, size, &data)
    }

    fn store(&self, id: &str, size: ThumbSize, data: &[u8]) -> CoreResult<PathBuf> {
        let path = self.path(id, size)?;
        let io = |e: std::io::Error| CoreError::StateDir {
            path: path.clone(),
            reason: e.to_string(),
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, data).map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)?;
        let sha1 = Sha1::digest(data).to_vec();
        self.db.with(|c| {
            c.execute(
                "INSERT OR REPLACE INTO thumb_cache (asset_id, size, bytes, sha1, last_used_ms) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id, size.as_str(), data.len() as i64, sha1, now_ms()],
            )?;
            Ok(())
        })?;
        self.evict()?;
        Ok(path)
    }

    fn forget(&self, id: &str, size: ThumbSize) -> CoreResult<()> {
        let _ = std::fs::remove_file(self.path(id, size)?);
        self.db.with(|c| {
            c.execute(
                "DELETE FROM thumb_cache WHERE asset_id = ?1 AND size = ?2",
                params![id, size.as_str()],
            )?;
            Ok(())
        })
    }

    /// Drops least-recently-used entries until the cache fits its budget.
    fn evict(&self) -> CoreResult<()> {
        let budget = self.budget.load(std::sync::atomic::Ordering::Relaxed) as i64;
        let victims: Vec<(String, String)> = self.db.with(|c| {
            let used: i64 =
                c.query_row("SELECT COALESCE(SUM(bytes), 0) FROM thumb_cache", [], |r| {
                    r.get(0)
                })?;
            if used <= budget {
                return Ok(Vec::new());
            }
            let mut stmt = c.prepare_cached(
                "SELECT asset_id, size, bytes FROM thumb_cache ORDER BY last_used_ms, asset_id",
            )?;
            let mut rows = stmt.query([])?;
            let mut over = used - budget;
            let mut out = Vec::new();
            while over > 0 {
                let Some(r) = rows.next()? else { break };
                out.push((r.get(0)?, r.get(1)?));
                over -= r.get::<_, i64>(2)?;
            }
            Ok(out)
        })?;
        for (id, size) in victims {
            let size = if size == "preview" {
                ThumbSize::Preview
            } else {
                ThumbSize::Thumbnail
            };
            self.forget(&id, size)?;
        }
        Ok(())
    }

    /// Empties the cache (server replaced).
    pub fn clear(&self) -> CoreResult<()> {
        self.db.with(|c| {
            c.execute("DELETE FROM thumb_cache", [])?;
            Ok(())
        })?;
        for size in [ThumbSize::Thumbnail, ThumbSize::Preview] {
            let _ = std::fs::remove_dir_all(self.dir.join(size.as_str()));
        }
        Ok(())
    }

    /// Fetches the thumbnails of `ids` (the visible range, then the next screen) in the
    /// background; drop or cancel the handle when the user scrolls away.
    pub fn prefetch(&self, ids: Vec<String>, size: ThumbSize) -> PrefetchHandle {
        let token = CancellationToken::new();
        let cache = self.clone();
        let stop = token.clone();
        let task = tokio::spawn(async move {
            let sem = Arc::new(tokio::sync::Semaphore::new(PREFETCH_CONCURRENCY));
            let mut set = tokio::task::JoinSet::new();
            for id in ids {
                let acquired = tokio::select! {
                    p = sem.clone().acquire_owned() => p,
                    _ = stop.cancelled() => break,
                };
                let Ok(permit) = acquired else { break };
                let cache = cache.clone();
                let stop = stop.clone();
                set.spawn(async move {
                    let _permit = permit;
                    if matches!(cache.cached(&id, size), Ok(Some(_))) {
                        return 0;
                    }
                    tokio::select! {
                        r = cache.get(&id, size) => u64::from(r.is_ok()),
                        _ = stop.cancelled() => 0,
                    }
                });
            }
            let mut fetched = 0;
            while let Some(r) = set.join_next().await {
                fetched += r.unwrap_or(0);
            }
            fetched
        });
        PrefetchHandle { token, task }
    }
}
