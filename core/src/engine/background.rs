//! Transfers the OS carries out while the app is suspended (iOS background `URLSession`
//! upload tasks, Android long-running work). The core prepares each one as a ready-to-send tus
//! `PATCH` of one chunk (the upload created and its URL saved first), records it, and when the
//! OS reports back it believes only the server's answer: a transfer that was lost, failed or
//! never reported is resumed from the server's offset (HEAD) next time, never assumed done.

use super::Inner;
use super::window::Window;
use crate::error::{CoreError, CoreResult};
use crate::state::{self, TransferRow};
use crate::upload::chunk;
use crate::upload::tus::Finished;
use crate::wire;
use std::collections::HashSet;
use std::sync::Arc;

/// A recorded transfer not reported back after this long is taken as lost.
const LOST_AFTER_MS: i64 = 60 * 60 * 1000;

/// One request for the OS: the body is `length` bytes of the asset `local_id` from `offset`,
/// read by the app from its own library.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackgroundTransfer {
    pub id: String,
    pub local_id: String,
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub offset: u64,
    pub length: u64,
}

fn new_id() -> CoreResult<String> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b)
        .map_err(|e| CoreError::Config(format!("no random numbers for a transfer id: {e}")))?;
    Ok(hex::encode(b))
}

pub(super) async fn prepare(
    inner: &Arc<Inner>,
    w: &Window,
    limit: u32,
) -> CoreResult<Vec<BackgroundTransfer>> {
    if !w
        .guard(|| async { Ok(inner.api.supports_tus().await) })
        .await?
    {
        return Err(CoreError::Config(
            "background transfers need a server with resumable (tus) uploads".into(),
        ));
    }
    // Transfers still in the OS's hands keep their asset; long-silent ones count as lost.
    let mut busy = HashSet::new();
    for t in inner.db.transfers()? {
        if state::now_ms() - t.created_ms > LOST_AFTER_MS {
            inner.db.take_transfer(&t.id)?;
        } else {
            busy.insert(t.local_id);
        }
    }
    let mut out = Vec::new();
    for row in inner.db.due(state::now_ms())? {
        if out.len() >= limit as usize {
            break;
        }
        if busy.contains(&row.local_id) {
            continue;
        }
        let library = inner.library.clone();
        let id = row.local_id.clone();
        let now = tokio::task::spawn_blocking(move || library.stat(&id))
            .await
            .map_err(|e| CoreError::Library(e.to_string()))??;
        if now != Some((row.size, row.modified_ms)) {
            continue; // changed or gone: the next run hashes it again or forgets it
        }
        let head = match &row.upload_url {
            Some(url) => w.guard(|| inner.tus.head(url)).await?,
            None => None,
        };
        let (url, offset) = match (head, &row.upload_url) {
            (Some(h), Some(url)) if h.length.is_none_or(|l| l == row.size) => {
                if let Some(f) = h.finished {
                    inner
                        .db
                        .mark_done(&row.local_id, Some(&f.asset_id), f.duplicate)?;
                    continue;
                }
                inner.db.set_acked(&row.local_id, h.offset)?;
                (url.clone(), h.offset)
            }
            _ => {
                let meta = super::upload::metadata(inner, &row);
                let created = w.guard(|| inner.tus.create(row.size, &meta)).await?;
                inner
                    .db
                    .set_upload_url(&row.local_id, Some(&created.url), created.offset)?;
                if let Some(f) = created.finished {
                    inner
                        .db
                        .mark_done(&row.local_id, Some(&f.asset_id), f.duplicate)?;
                    continue;
                }
                (created.url, created.offset)
            }
        };
        if offset >= row.size {
            continue;
        }
        let length = (row.size - offset).min(chunk::MAX);
        let t = TransferRow {
            id: new_id()?,
            local_id: row.local_id.clone(),
            url: url.clone(),
            offset,
            length,
            created_ms: state::now_ms(),
        };
        inner.db.add_transfer(&t)?;
        let headers = vec![
            ("x-api-key".to_string(), inner.api.key().to_string()),
            (
                wire::TUS_RESUMABLE.to_string(),
                wire::TUS_VERSION.to_string(),
            ),
            (wire::UPLOAD_OFFSET.to_string(), offset.to_string()),
            (
                "content-type".to_string(),
                wire::PATCH_CONTENT_TYPE.to_string(),
            ),
            ("content-length".to_string(), length.to_string()),
        ];
        out.push(BackgroundTransfer {
            id: t.id,
            local_id: t.local_id,
            method: "PATCH".into(),
            url,
            headers,
            offset,
            length,
        });
    }
    Ok(out)
}

pub(super) fn finished(
    inner: &Inner,
    id: &str,
    status: u16,
    headers: &[(String, String)],
) -> CoreResult<()> {
    let Some(t) = inner.db.take_transfer(id)? else {
        tracing::info!(%id, "a background transfer this database does not know finished");
        return Ok(());
    };
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_string())
    };
    let Some(row) = inner.db.get(&t.local_id)? else {
        return Ok(());
    };
    if row.upload_url.as_deref() != Some(t.url.as_str()) {
        return Ok(()); // the upload was replaced meanwhile
    }
    match status {
        200 | 204 => {
            if let Some(asset_id) = header(wire::ASSET_ID) {
                let duplicate = header(wire::ASSET_STATUS).is_some_and(|s| s == "duplicate");
                let f = Finished {
                    asset_id,
                    duplicate,
                };
                inner
                    .db
                    .mark_done(&t.local_id, Some(&f.asset_id), f.duplicate)?;
            } else if let Some(offset) =
                header(wire::UPLOAD_OFFSET).and_then(|v| v.parse::<u64>().ok())
                && offset <= row.size
                && offset > row.acked_offset
            {
                inner.db.set_acked(&t.local_id, offset)?;
            }
        }
        404 | 410 => inner.db.set_upload_url(&t.local_id, None, 0)?,
        // Lost, refused or failed: the next transfer or run asks the server (HEAD).
        _ => {}
    }
    Ok(())
}
