//! tus 1.0.0 at `/api/upload` (creation, creation-with-upload, termination, expiration,
//! checksum/sha1). An upload is a row in `uploads` plus `uploads/<id>.part`; the committed
//! offset moves only after the bytes before it are fdatasynced. The PATCH that lands the last
//! byte verifies the whole file's SHA-1 and hands the file to `assets::ingest`.

use crate::app::AppState;
use crate::assets::ingest::{self, Staged, Status, check_quota};
use crate::assets::{self, AssetMeta};
use crate::auth::Auth;
use crate::db::optional;
use crate::error::{ApiError, ApiResult};
use crate::routes::albums;
use crate::storage::{self, TempFile, sink::Sink};
use crate::upload::headers::{self, TUS_VERSION};
use crate::{clock, ids};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Router, middleware};
use futures_util::StreamExt;
use rusqlite::params;
use sha1::{Digest, Sha1};
use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::sync::{Arc, Mutex};

const EXTENSIONS: &str = "creation,creation-with-upload,termination,expiration,checksum";
const ASSET_ID: &str = "shoebox-asset-id";
const ASSET_STATUS: &str = "shoebox-asset-status";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/upload", post(create).options(options))
        .route(
            "/upload/{id}",
            post(method_override)
                .head(head)
                .patch(patch)
                .delete(terminate),
        )
        .layer(axum::extract::DefaultBodyLimit::disable())
        .layer(middleware::map_response(|mut r: Response| async move {
            r.headers_mut()
                .insert("tus-resumable", HeaderValue::from_static(TUS_VERSION));
            r
        }))
}

/// In-memory companions of open uploads: one PATCH at a time per upload, and the running
/// SHA-1 of the bytes committed so far (lost on restart, then completion re-reads the file).
#[derive(Default)]
pub struct LiveUploads {
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    hashes: Mutex<HashMap<String, (u64, Sha1)>>,
}

impl LiveUploads {
    fn try_lock(&self, id: &str) -> ApiResult<tokio::sync::OwnedMutexGuard<()>> {
        let lock = {
            let mut map = self
                .locks
                .lock()
                .map_err(|_| ApiError::Internal("upload lock poisoned".into()))?;
            map.entry(id.to_owned()).or_default().clone()
        };
        lock.try_lock_owned()
            .map_err(|_| ApiError::Locked("another request is writing to this upload".into()))
    }

    fn take_hash(&self, id: &str, offset: u64) -> Option<Sha1> {
        let mut map = self.hashes.lock().ok()?;
        match map.remove(id) {
            Some((at, h)) if at == offset => Some(h),
            _ => None,
        }
    }

    fn put_hash(&self, id: &str, offset: u64, h: Sha1) {
        if let Ok(mut map) = self.hashes.lock() {
            map.insert(id.to_owned(), (offset, h));
        }
    }

    pub fn forget(&self, id: &str) {
        if let Ok(mut m) = self.hashes.lock() {
            m.remove(id);
        }
        if let Ok(mut m) = self.locks.lock() {
            m.remove(id);
        }
    }
}

#[derive(Debug, Clone)]
pub struct UploadRow {
    pub id: String,
    pub owner_id: String,
    pub length: u64,
    pub offset: u64,
    pub metadata_header: String,
    pub meta: AssetMeta,
    pub expires_at: i64,
    pub asset_id: Option<String>,
    pub asset_status: Option<String>,
}

pub const UPLOAD_COLUMNS: &str = "id, owner_id, length, committed_offset, metadata_header, \
    meta_json, expires_at, asset_id, asset_status";

pub fn upload_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<UploadRow> {
    let meta: String = r.get(5)?;
    Ok(UploadRow {
        id: r.get(0)?,
        owner_id: r.get(1)?,
        length: r.get::<_, i64>(2)? as u64,
        offset: r.get::<_, i64>(3)? as u64,
        metadata_header: r.get(4)?,
        meta: serde_json::from_str(&meta).unwrap_or_default(),
        expires_at: r.get(6)?,
        asset_id: r.get(7)?,
        asset_status: r.get(8)?,
    })
}

async fn load(state: &AppState, auth: &Auth, raw_id: &str) -> ApiResult<UploadRow> {
    let row = load_even_expired(state, auth, raw_id).await?;
    if row.asset_id.is_none() && row.expires_at < clock::unix_now() {
        return Err(ApiError::Gone("This upload has expired".into()));
    }
    Ok(row)
}

/// The caller's upload whatever its expiry; another user's id is a 404 like a missing one.
async fn load_even_expired(state: &AppState, auth: &Auth, raw_id: &str) -> ApiResult<UploadRow> {
    let id = ids::parse("upload id", raw_id).map_err(|_| ApiError::not_found("Upload"))?;
    let owner = auth.user.id.clone();
    let row = state
        .db
        .call(move |c| {
            Ok(optional(c.query_row(
                &format!("SELECT {UPLOAD_COLUMNS} FROM uploads WHERE id = ?1 AND owner_id = ?2"),
                [&id, &owner],
                upload_from_row,
            ))?)
        })
        .await?
        .ok_or_else(|| ApiError::not_found("Upload"))?;
    Ok(row)
}

fn set(resp: &mut Response, name: &'static str, value: impl ToString) {
    if let Ok(v) = HeaderValue::from_str(&value.to_string()) {
        resp.headers_mut().insert(HeaderName::from_static(name), v);
    }
}

/// Headers every answer about an upload carries: offset, expiry, and the asset once done.
fn describe(resp: &mut Response, row: &UploadRow) {
    set(resp, "upload-offset", row.offset);
    if row.asset_id.is_none() {
        set(resp, "upload-expires", clock::http_date(row.expires_at));
    }
    if let (Some(id), Some(status)) = (&row.asset_id, &row.asset_status) {
        set(resp, ASSET_ID, id);
        set(resp, ASSET_STATUS, status);
    }
}

async fn options(State(state): State<AppState>) -> Response {
    let mut resp = StatusCode::NO_CONTENT.into_response();
    set(&mut resp, "tus-version", TUS_VERSION);
    set(&mut resp, "tus-extension", EXTENSIONS);
    set(&mut resp, "tus-max-size", state.config.max_upload_size);
    set(&mut resp, "tus-checksum-algorithm", "sha1");
    resp
}

async fn create(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    headers::check_version(&headers)?;
    if headers.contains_key("upload-defer-length") {
        return Err(ApiError::bad_request(
            "Upload-Defer-Length is not supported; send Upload-Length",
        ));
    }
    let length = headers::u64_header(&headers, "upload-length")?
        .ok_or_else(|| ApiError::bad_request("Upload-Length is required"))?;
    if length == 0 {
        return Err(ApiError::bad_request("the file is empty"));
    }
    if length > state.config.max_upload_size {
        return Err(ApiError::PayloadTooLarge(format!(
            "Upload-Length {length} is over Tus-Max-Size {}",
            state.config.max_upload_size
        )));
    }
    let raw_meta = headers
        .get("upload-metadata")
        .map(|v| {
            v.to_str()
                .map_err(|_| ApiError::bad_request("Upload-Metadata is not ASCII"))
        })
        .transpose()?
        .unwrap_or("")
        .to_owned();
    let mut meta = headers::metadata(&raw_meta)?;
    if meta.device_id.is_empty() {
        meta.device_id = "tus".into();
    }
    if meta.device_asset_id.is_empty() {
        meta.device_asset_id = format!("{}-{length}", meta.file_name);
    }
    let meta_json = serde_json::to_string(&meta).map_err(|e| ApiError::internal("json", e))?;
    let has_body = headers::is_offset_stream(&headers);

    let id = ids::new_id();
    let expires_at = clock::unix_now() + state.config.upload_expiry_secs as i64;
    let owner = auth.user.id.clone();

    // Already have it? Record a finished upload pointing at the existing asset; no bytes needed.
    if let Some(sum) = meta.checksum_bytes() {
        let (o, i, m, a, mj) = (
            owner.clone(),
            id.clone(),
            raw_meta.clone(),
            meta.albums.clone(),
            meta_json.clone(),
        );
        let dup =
            state
                .db
                .call(move |c| {
                    let Some((asset, _)) = assets::find_by_checksum(c, &o, &sum)? else {
                        return Ok(None);
                    };
                    let tx = c.transaction()?;
                    tx.execute(
                    "INSERT INTO uploads (id, owner_id, length, committed_offset, metadata_header, \
                     meta_json, expires_at, created_at, asset_id, asset_status) \
                     VALUES (?1, ?2, ?3, ?3, ?4, ?5, ?6, ?7, ?8, 'duplicate')",
                    params![i, o, length as i64, m, mj, expires_at, clock::now_api(), asset],
                )?;
                    albums::add_to_named(&tx, &o, &a, &asset)?;
                    tx.commit()?;
                    Ok(Some(asset))
                })
                .await?;
        if let Some(asset) = dup {
            let row = UploadRow {
                id: id.clone(),
                owner_id: owner,
                length,
                offset: length,
                metadata_header: raw_meta,
                meta,
                expires_at,
                asset_id: Some(asset),
                asset_status: Some(Status::Duplicate.as_str().into()),
            };
            return Ok(created_response(&row));
        }
    }

    // Quota counts what is stored plus what other open uploads may still bring.
    let o = owner.clone();
    state
        .db
        .call(move |c| {
            let (quota, used, pending): (Option<i64>, i64, i64) = c.query_row(
                "SELECT quota_size_bytes, usage_bytes, \
                 (SELECT COALESCE(SUM(length), 0) FROM uploads WHERE owner_id = ?1 AND asset_id IS NULL) \
                 FROM users WHERE id = ?1",
                [&o],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?;
            check_quota(quota, used.saturating_add(pending), length)
        })
        .await?;

    // File first, then row: a crash in between leaves a stray .part that start-up removes.
    let part = state.storage.part_path(&id);
    let p = part.clone();
    tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&p)?
            .sync_all()?;
        storage::fsync_dir(p.parent().unwrap_or(std::path::Path::new(".")))
    })
    .await
    .map_err(|e| ApiError::internal("create task", e))??;
    let (i, o, m) = (id.clone(), owner.clone(), raw_meta.clone());
    let inserted = state
        .db
        .call(move |c| {
            c.execute(
                "INSERT INTO uploads (id, owner_id, length, committed_offset, metadata_header, \
                 meta_json, expires_at, created_at) VALUES (?1, ?2, ?3, 0, ?4, ?5, ?6, ?7)",
                params![
                    i,
                    o,
                    length as i64,
                    m,
                    meta_json,
                    expires_at,
                    clock::now_api()
                ],
            )?;
            Ok(())
        })
        .await;
    if let Err(e) = inserted {
        storage::remove_quietly(&part);
        return Err(e);
    }
    tracing::info!(upload = %id, length, user = %owner, "tus upload created");

    let mut row = UploadRow {
        id: id.clone(),
        owner_id: owner,
        length,
        offset: 0,
        metadata_header: raw_meta,
        meta,
        expires_at,
        asset_id: None,
        asset_status: None,
    };
    if has_body {
        let checksum = headers::upload_checksum(&headers)?;
        let guard = state.uploads.try_lock(&id)?;
        // A failed first chunk still leaves a created upload the client can PATCH into.
        match write_chunk(state.clone(), row.clone(), body, checksum, guard).await {
            Ok(done) => row = done,
            Err(e) => {
                tracing::info!(upload = %id, error = %e, "creation-with-upload chunk rejected")
            }
        }
    }
    Ok(created_response(&row))
}

fn created_response(row: &UploadRow) -> Response {
    let mut resp = StatusCode::CREATED.into_response();
    set(&mut resp, "location", format!("/api/upload/{}", row.id));
    describe(&mut resp, row);
    resp
}

async fn head(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    headers::check_version(&headers)?;
    let row = load(&state, &auth, &id).await?;
    let mut resp = StatusCode::OK.into_response();
    describe(&mut resp, &row);
    set(&mut resp, "upload-length", row.length);
    if !row.metadata_header.is_empty() {
        set(&mut resp, "upload-metadata", &row.metadata_header);
    }
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

async fn patch(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    headers::check_version(&headers)?;
    if !headers::is_offset_stream(&headers) {
        return Err(ApiError::UnsupportedMediaType(format!(
            "PATCH needs Content-Type: {}",
            headers::OFFSET_OCTET_STREAM
        )));
    }
    let offset = headers::u64_header(&headers, "upload-offset")?
        .ok_or_else(|| ApiError::bad_request("Upload-Offset is required"))?;
    let checksum = headers::upload_checksum(&headers)?;
    let row = load(&state, &auth, &id).await?;
    if let Some(len) = headers::u64_header(&headers, "upload-length")?
        && len != row.length
    {
        return Err(ApiError::bad_request(
            "Upload-Length does not match the upload",
        ));
    }
    let guard = state.uploads.try_lock(&row.id)?;
    // Re-read under the lock: another PATCH may have moved the offset meanwhile.
    let row = load(&state, &auth, &row.id).await?;
    if row.asset_id.is_some() || offset != row.offset {
        let mut err = ApiError::Conflict(format!(
            "Upload-Offset {offset} does not match the upload's offset {}",
            row.offset
        ))
        .into_response();
        describe(&mut err, &row);
        return Ok(err);
    }
    if let Some(len) = headers::u64_header(&headers, "content-length")?
        && len > row.length.saturating_sub(row.offset)
    {
        return Err(ApiError::PayloadTooLarge(format!(
            "a {len}-byte chunk at offset {} goes past Upload-Length {}",
            row.offset, row.length
        )));
    }
    let row = write_chunk(state, row, body, checksum, guard).await?;
    let mut resp = StatusCode::NO_CONTENT.into_response();
    describe(&mut resp, &row);
    Ok(resp)
}

/// Appends one request body at the committed offset and commits what is durable. Runs in its
/// own task, so a client that disconnects mid-body cannot cancel the commit of what arrived.
async fn write_chunk(
    state: AppState,
    row: UploadRow,
    body: Body,
    checksum: Option<[u8; 20]>,
    guard: tokio::sync::OwnedMutexGuard<()>,
) -> ApiResult<UploadRow> {
    tokio::spawn(async move {
        let result = write_chunk_locked(&state, row, body, checksum).await;
        drop(guard);
        result
    })
    .await
    .map_err(|e| ApiError::internal("upload task", e))?
}

async fn write_chunk_locked(
    state: &AppState,
    mut row: UploadRow,
    body: Body,
    checksum: Option<[u8; 20]>,
) -> ApiResult<UploadRow> {
    let part = state.storage.part_path(&row.id);
    let committed = row.offset;
    let p = part.clone();
    let file = tokio::task::spawn_blocking(move || -> std::io::Result<std::fs::File> {
        let mut f = std::fs::OpenOptions::new().write(true).open(&p)?;
        let len = f.metadata()?.len();
        if len > committed {
            // Bytes past the committed offset were never promised to anyone: trim them.
            f.set_len(committed)?;
        } else if len < committed {
            return Err(std::io::Error::other(format!(
                "partial file is {len} bytes, shorter than its committed offset {committed}"
            )));
        }
        f.seek(SeekFrom::Start(committed))?;
        Ok(f)
    })
    .await
    .map_err(|e| ApiError::internal("open task", e))??;

    let running = state.uploads.take_hash(&row.id, committed);
    let hash_valid = running.is_some() || committed == 0;
    let sink = Sink::start(file, running.unwrap_or_default(), checksum.is_some());
    let room = row.length - committed;
    let mut received = 0u64;
    let mut overflow = false;
    let mut disconnected = false;
    let mut stream = body.into_data_stream();
    while let Some(frame) = stream.next().await {
        match frame {
            Ok(bytes) => {
                received += bytes.len() as u64;
                if received > room {
                    overflow = true;
                    break;
                }
                if sink.write(bytes).await.is_err() {
                    break;
                }
            }
            Err(e) => {
                tracing::info!(upload = %row.id, error = %e, "client stopped mid-PATCH");
                disconnected = true;
                break;
            }
        }
    }
    if overflow {
        // Read the rest (bounded) so the client is listening when the 413 arrives.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(30), async {
            let mut seen = 0u64;
            while let Some(Ok(b)) = stream.next().await {
                seen += b.len() as u64;
                if seen > 64 * 1024 * 1024 {
                    break;
                }
            }
        })
        .await;
    }
    let outcome = sink.finish().await;
    let rollback = |why: ApiError| async {
        truncate(&part, committed).await;
        Err(why)
    };
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => return rollback(ApiError::from(e)).await,
    };
    if overflow {
        return rollback(ApiError::PayloadTooLarge(format!(
            "the body goes past Upload-Length {}",
            row.length
        )))
        .await;
    }
    if let Some(expected) = checksum {
        if disconnected {
            return rollback(ApiError::bad_request("the chunk did not arrive whole")).await;
        }
        if outcome.chunk != Some(expected) {
            return rollback(ApiError::ChecksumMismatch(
                "Upload-Checksum does not match the chunk; it was discarded".into(),
            ))
            .await;
        }
    }

    // The bytes are fdatasynced (Sink::finish); now the offset may advance.
    let new_offset = committed + outcome.written;
    let expires_at = clock::unix_now() + state.config.upload_expiry_secs as i64;
    let id = row.id.clone();
    let moved = state
        .db
        .call(move |c| {
            Ok(c.execute(
                "UPDATE uploads SET committed_offset = ?1, expires_at = ?2 \
                 WHERE id = ?3 AND committed_offset = ?4",
                params![new_offset as i64, expires_at, id, committed as i64],
            )?)
        })
        .await?;
    if moved == 0 {
        // The upload was terminated or expired while we wrote.
        return rollback(ApiError::Gone("This upload no longer exists".into())).await;
    }
    row.offset = new_offset;
    row.expires_at = expires_at;
    if hash_valid {
        state.uploads.put_hash(&row.id, new_offset, outcome.whole);
    }
    if row.offset == row.length {
        return finalize(state, row).await;
    }
    Ok(row)
}

async fn truncate(path: &std::path::Path, len: u64) {
    let p = path.to_owned();
    let res = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        let f = std::fs::OpenOptions::new().write(true).open(&p)?;
        f.set_len(len)?;
        f.sync_data()
    })
    .await;
    if !matches!(res, Ok(Ok(()))) {
        tracing::warn!(path = %path.display(), "could not roll back a rejected chunk");
    }
}

/// Completes an upload whose bytes have all arrived: verify the SHA-1, ingest, record the
/// asset. Idempotent, and also run by start-up reconciliation after a crash.
pub async fn finalize(state: &AppState, mut row: UploadRow) -> ApiResult<UploadRow> {
    if row.asset_id.is_some() {
        return Ok(row);
    }
    let part = state.storage.part_path(&row.id);
    let sha1: [u8; 20] = match state.uploads.take_hash(&row.id, row.length) {
        Some(h) => h.finalize().into(),
        None => {
            let p = part.clone();
            tokio::task::spawn_blocking(move || hash_file(&p))
                .await
                .map_err(|e| ApiError::internal("hash task", e))??
        }
    };
    state.uploads.forget(&row.id);
    let discard = |state: &AppState, id: String| {
        let db = state.db.clone();
        async move {
            let _ = db
                .call(move |c| Ok(c.execute("DELETE FROM uploads WHERE id = ?1", [id])?))
                .await;
        }
    };
    if let Some(expected) = row.meta.checksum_bytes()
        && expected != sha1
    {
        storage::remove_quietly(&part);
        discard(state, row.id.clone()).await;
        return Err(ApiError::ChecksumMismatch(format!(
            "the file's SHA-1 is {}, not the declared {}; the upload was discarded",
            hex::encode(sha1),
            hex::encode(expected)
        )));
    }
    let staged = Staged {
        file: TempFile::new(part),
        sha1,
        size: row.length,
        sidecar: None,
    };
    let (asset_id, status) =
        match ingest::ingest(state, &row.owner_id, staged, row.meta.clone()).await {
            Ok(done) => done,
            Err(e) => {
                discard(state, row.id.clone()).await;
                return Err(e);
            }
        };
    let (id, a, s) = (row.id.clone(), asset_id.clone(), status.as_str());
    state
        .db
        .call(move |c| {
            c.execute(
                "UPDATE uploads SET asset_id = ?1, asset_status = ?2 WHERE id = ?3",
                params![a, s, id],
            )?;
            Ok(())
        })
        .await?;
    row.asset_id = Some(asset_id);
    row.asset_status = Some(status.as_str().into());
    Ok(row)
}

fn hash_file(path: &std::path::Path) -> std::io::Result<[u8; 20]> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha1::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok(h.finalize().into());
        }
        h.update(&buf[..n]);
    }
}

async fn terminate(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    headers::check_version(&headers)?;
    // An expired upload that the janitor has not swept yet can still be removed by its owner.
    let row = load_even_expired(&state, &auth, &id).await?;
    let _guard = state.uploads.try_lock(&row.id)?;
    let rid = row.id.clone();
    state
        .db
        .call(move |c| Ok(c.execute("DELETE FROM uploads WHERE id = ?1", [rid])?))
        .await?;
    storage::remove_quietly(&state.storage.part_path(&row.id));
    state.uploads.forget(&row.id);
    tracing::info!(upload = %row.id, "tus upload terminated");
    Ok(StatusCode::NO_CONTENT)
}

/// `POST` + `X-HTTP-Method-Override: PATCH|DELETE`, for clients behind proxies that drop verbs.
async fn method_override(
    state: State<AppState>,
    auth: Auth,
    id: Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let method = headers
        .get("x-http-method-override")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| Method::from_bytes(v.trim().to_ascii_uppercase().as_bytes()).ok());
    match method {
        Some(Method::PATCH) => patch(state, auth, id, headers, body).await,
        Some(Method::DELETE) => Ok(terminate(state, auth, id, headers).await?.into_response()),
        _ => Err(ApiError::bad_request(
            "POST to an upload needs X-HTTP-Method-Override: PATCH or DELETE",
        )),
    }
}
