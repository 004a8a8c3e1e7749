//! Album sync: after uploads, put each backed-up asset into the server albums named like its
//! local albums, creating missing ones (what `immich upload --album` and the apps do).

use super::Inner;
use crate::error::CoreResult;
use std::collections::{BTreeMap, HashMap};

pub(super) async fn sync(inner: &Inner) -> CoreResult<()> {
    let pending = inner.db.album_sync_pending()?;
    if pending.is_empty() {
        return Ok(());
    }
    let mut by_name: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (_, remote_id, albums) in &pending {
        for name in albums {
            let ids = by_name.entry(name.clone()).or_default();
            if !ids.contains(remote_id) {
                ids.push(remote_id.clone());
            }
        }
    }
    if !by_name.is_empty() {
        let mut existing: HashMap<String, String> = HashMap::new();
        for (id, name) in inner.api.albums().await? {
            existing.entry(name).or_insert(id);
        }
        for (name, ids) in by_name {
            let album_id = match existing.get(&name) {
                Some(id) => id.clone(),
                None => inner.api.create_album(&name).await?,
            };
            inner.api.add_to_album(&album_id, &ids).await?;
        }
    }
    let done: Vec<String> = pending.into_iter().map(|(local, _, _)| local).collect();
    inner.db.mark_albums_synced(&done)
}
