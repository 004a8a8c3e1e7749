//! The offline timeline: the remote library mirrored into the client database by delta sync,
//! merged with the assets on this device into month buckets, each item with its backup state;
//! favourite and delete work offline (queued, applied on the next sync); thumbnails come from
//! a bounded disk cache. Everything here answers with no network except `sync` and fetching a
//! thumbnail that is not cached yet.

mod store;
pub mod thumbs;

use crate::error::{CoreError, CoreResult};
use crate::server::ServerApi;
use crate::state::StateDb;
use serde::Deserialize;
use std::sync::Arc;
pub use thumbs::{PrefetchHandle, ThumbCache, ThumbSize};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackupState {
    /// On this device, not selected for backup.
    LocalOnly,
    Queued,
    Uploading {
        percent: u8,
    },
    BackedUp,
    /// On the server only (another device, deleted here, or uploaded by someone's web client).
    RemoteOnly,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TimelineItem {
    pub local_id: Option<String>,
    pub remote_id: Option<String>,
    pub file_name: String,
    pub taken_ms: i64,
    pub is_video: bool,
    pub is_favorite: bool,
    pub device_id: String,
    /// Base64 thumbhash: paint it blurred before any thumbnail arrives.
    pub thumbhash: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub state: BackupState,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    /// `YYYY-MM`
    pub month: String,
    pub count: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TimelineFilter {
    /// A server album id.
    pub album_id: Option<String>,
    pub favorites_only: bool,
    pub device_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteAlbum {
    pub id: String,
    pub name: String,
    pub asset_count: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// HTTP requests made (1 when nothing changed).
    pub requests: u32,
    pub upserted: u64,
    pub deleted: u64,
    /// The server was reset or replaced: the cache was rebuilt from scratch.
    pub reset: bool,
    pub albums_refreshed: bool,
    /// Offline favourite/delete actions sent to the server.
    pub actions_applied: u64,
}

/// Page size of the delta sync.
const PAGE: usize = 1000;

#[derive(Clone)]
pub struct Timeline {
    db: Arc<StateDb>,
    api: ServerApi,
    thumbs: ThumbCache,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Delta {
    server_id: String,
    #[serde(default)]
    reset: bool,
    upserted: Vec<store::RemoteAsset>,
    deleted: Vec<String>,
    next_cursor: String,
    has_more: bool,
    #[serde(default)]
    albums_etag: Option<String>,
}

const CURSOR: &str = "timeline_cursor";
const SERVER_ID: &str = "timeline_server_id";
const ALBUMS_ETAG: &str = "timeline_albums_etag";

impl Timeline {
    pub fn new(db: Arc<StateDb>, api: ServerApi, thumbs: ThumbCache) -> Self {
        Self { db, api, thumbs }
    }

    pub fn thumbs(&self) -> &ThumbCache {
        &self.thumbs
    }

    /// Brings the cache up to date: sends queued offline actions, then pulls changes page by
    /// page (each page commits with its cursor, so an interrupted sync resumes where it
    /// stopped). `progress` hears the number of changes applied so far.
    pub async fn sync(
        &self,
        progress: Option<&(dyn Fn(u64) + Send + Sync)>,
    ) -> CoreResult<SyncReport> {
        let mut report = SyncReport {
            actions_applied: self.flush_actions().await?,
            ..SyncReport::default()
        };
        let mut cursor: String = self.db.setting(CURSOR)?.unwrap_or_default();
        let known_server: Option<String> = self.db.setting(SERVER_ID)?;
        let mut changed = false;
        loop {
            let delta: Delta = self
                .api
                .get_json(&format!(
                    "/sync/delta?cursor={}&limit={PAGE}",
                    url_escape(&cursor)
                ))
                .await?;
            report.requests += 1;
            let replaced = known_server.as_ref().is_some_and(|k| *k != delta.server_id);
            if (replaced || delta.reset) && !report.reset {
                tracing::warn!(server = %delta.server_id, "server reset or replaced; rebuilding the cache");
                self.db.with(store::wipe_remote)?;
                self.thumbs.clear()?;
                self.db.set_setting(SERVER_ID, &delta.server_id)?;
                report.reset = true;
                changed = true;
                // A reset answer already starts from the beginning; a replaced server's page
                // answered an old cursor, so ask again from the start.
                if !cursor.is_empty() && !delta.reset {
                    cursor.clear();
                    continue;
                }
            }
            let n_up = delta.upserted.len() as u64;
            let n_del = delta.deleted.len() as u64;
            let next = delta.next_cursor.clone();
            self.db.with(|c| {
                let tx = c.savepoint()?;
                store::apply(&tx, &delta.upserted, &delta.deleted)?;
                store::set_setting(&tx, CURSOR, &next)?;
                store::set_setting(&tx, SERVER_ID, &delta.server_id)?;
                tx.commit()?;
                Ok(())
            })?;
            report.upserted += n_up;
            report.deleted += n_del;
            changed |= n_up + n_del > 0;
            if let Some(p) = progress {
                p(report.upserted + report.deleted);
            }
            cursor = next;
            if let Some(etag) = &delta.albums_etag
                && self.db.setting::<String>(ALBUMS_ETAG)?.as_ref() != Some(etag)
            {
                self.refresh_albums().await?;
                report.requests += 1;
                self.db.set_setting(ALBUMS_ETAG, etag)?;
                report.albums_refreshed = true;
            }
            if !delta.has_more {
                break;
            }
        }
        if changed {
            self.db.with(store::rebuild)?;
        }
        Ok(report)
    }

    async fn refresh_albums(&self) -> CoreResult<()> {
        let albums = self.api.albums().await?;
        let mut members = Vec::with_capacity(albums.len());
        for (id, name) in albums {
            let ids = self.api.album_asset_ids(&id).await?;
            members.push((id, name, ids));
        }
        self.db.with(|c| store::replace_albums(c, &members))
    }

    /// The merged timeline's months, newest first.
    pub fn buckets(&self, filter: &TimelineFilter) -> CoreResult<Vec<Bucket>> {
        self.db.with(|c| store::buckets(c, filter))
    }

    /// One month (`YYYY-MM`), newest first.
    pub fn bucket(&self, month: &str, filter: &TimelineFilter) -> CoreResult<Vec<TimelineItem>> {
        if month.len() != 7 || !month.as_bytes()[..4].iter().all(u8::is_ascii_digit) {
            return Err(CoreError::Config(format!(
                "month must be YYYY-MM, not {month:?}"
            )));
        }
        self.db.with(|c| store::bucket(c, month, filter))
    }

    pub fn albums(&self) -> CoreResult<Vec<RemoteAlbum>> {
        self.db.with(store::albums)
    }

    /// Marks a remote asset favourite (or not) now; the server hears it on the next sync.
    pub fn set_favorite(&self, remote_id: &str, favorite: bool) -> CoreResult<()> {
        let kind = if favorite { "favorite" } else { "unfavorite" };
        self.db.with(|c| store::queue_action(c, kind, remote_id))
    }

    /// Moves a remote asset to the server's trash: gone from the timeline now, sent on sync.
    pub fn trash(&self, remote_id: &str) -> CoreResult<()> {
        self.db.with(|c| store::queue_action(c, "trash", remote_id))
    }

    pub fn pending_actions(&self) -> CoreResult<u64> {
        self.db.with(store::pending_count)
    }

    /// Sends queued offline actions; they stay queued if the server cannot be reached.
    pub async fn flush_actions(&self) -> CoreResult<u64> {
        let actions = self.db.with(store::pending)?;
        let mut applied = 0;
        for (id, kind, asset) in actions {
            let result = match kind.as_str() {
                "favorite" | "unfavorite" => {
                    self.api.set_favorite(&asset, kind == "favorite").await
                }
                "trash" => self.api.trash(&asset).await,
                _ => Ok(()),
            };
            match result {
                Ok(()) => {}
                // The asset is gone on the server: nothing left to do for this action.
                Err(CoreError::Server {
                    status: 404 | 400, ..
                }) => {}
                Err(e) => return Err(e),
            }
            self.db.with(|c| store::done_action(c, id))?;
            applied += 1;
        }
        Ok(applied)
    }
}

fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
