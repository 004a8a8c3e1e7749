//! Asset endpoints: multipart upload (streamed to disk while hashing), SHA-1 bulk dedup check,
//! asset JSON, original download with HTTP Range, and delete (trash or permanent).

use crate::access::{self, Principal};
use crate::app::AppState;
use crate::assets::ingest::{self, Staged};
use crate::assets::{self, AssetMeta, device, parse_checksum};
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::media::xmp;
use crate::routes::ApiJson;
use crate::storage::{self, TempFile, sink::Sink};
use crate::{clock, ids};
use axum::body::Body;
use axum::extract::multipart::{Field, MultipartError, MultipartRejection};
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use sha1::Digest;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/assets",
            post(upload)
                .layer(DefaultBodyLimit::disable())
                .delete(delete)
                .put(update_many),
        )
        .route("/assets/bulk-upload-check", post(bulk_upload_check))
        .route(
            "/assets/exist",
            post(exist).layer(DefaultBodyLimit::max(EXIST_BODY_LIMIT)),
        )
        .route("/assets/{id}", get(get_one).put(update_one))
        .route("/assets/{id}/original", get(original))
}

/// Largest text field of an upload form; only files may be big.
const MAX_TEXT_FIELD: usize = 64 * 1024;
const MAX_BULK_CHECK: usize = 50_000;

fn multipart_error(e: MultipartError) -> ApiError {
    ApiError::bad_request(format!("malformed multipart body: {}", e.body_text()))
}

/// A small form field's bytes; 400 when it is longer than `max`.
async fn read_bounded(field: &mut Field<'_>, max: usize) -> ApiResult<Vec<u8>> {
    let name = field.name().unwrap_or("").to_owned();
    let mut buf = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        if buf.len() + chunk.len() > max {
            return Err(ApiError::bad_request(format!("field {name} is too long")));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf)
}

async fn read_text(field: &mut Field<'_>) -> ApiResult<String> {
    let name = field.name().unwrap_or("").to_owned();
    String::from_utf8(read_bounded(field, MAX_TEXT_FIELD).await?)
        .map_err(|_| ApiError::bad_request(format!("field {name} is not UTF-8")))
}

fn parse_bool(field: &str, v: &str) -> ApiResult<bool> {
    match v.trim() {
        "true" | "1" => Ok(true),
        "false" | "0" | "" => Ok(false),
        _ => Err(ApiError::bad_request(format!(
            "{field} must be true or false"
        ))),
    }
}

async fn upload(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<Response> {
    let (user, link) = principal.uploader()?;
    let (user, link) = (user.clone(), link.cloned());
    // A client that already knows the hash can skip sending bytes it has stored before. Only
    // for its own library: a checksum a guest asserts would turn the link into an oracle for
    // (and a door to) the owner's assets, so guests always send the bytes.
    if link.is_none()
        && let Some(sum) = headers
            .get("x-immich-checksum")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_checksum)
    {
        let owner = user.id.clone();
        let dup = state
            .db
            .call(move |c| Ok(assets::find_by_checksum(c, &owner, &sum)?))
            .await?;
        if let Some((id, _)) = dup {
            return Ok(upload_response(&id, ingest::Status::Duplicate));
        }
    }
    let mut multipart = multipart.map_err(|e| {
        ApiError::bad_request(format!(
            "expected a multipart/form-data upload: {}",
            e.body_text()
        ))
    })?;

    let limit = match user.quota_remaining() {
        Some(left) => state.config.max_upload_size.min(left as u64),
        None => state.config.max_upload_size,
    };
    let (meta, staged) = match read_form(&state, &mut multipart, limit).await {
        Ok(form) => form,
        Err(e) => {
            // Read what is left (bounded) so the client is listening when the error arrives.
            drain(&mut multipart).await;
            return Err(e);
        }
    };
    match link {
        None => {
            let meta = meta.validate()?;
            let (id, status) = ingest::ingest(&state, &user.id, staged, meta).await?;
            Ok(upload_response(&id, status))
        }
        Some(link) => {
            let meta = meta.for_guest().validate()?;
            let id = ingest::ingest_through_link(&state, &link, staged, meta).await?;
            Ok(upload_response(&id, ingest::Status::Created))
        }
    }
}

/// Reads the upload form: text fields into `AssetMeta`, the file streamed into `tmp/`.
async fn read_form(
    state: &AppState,
    multipart: &mut Multipart,
    limit: u64,
) -> ApiResult<(AssetMeta, Staged)> {
    let mut meta = AssetMeta::default();
    let mut staged: Option<Staged> = None;
    let mut sidecar: Option<Vec<u8>> = None;
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or("").to_owned();
        // As Immich (multer): a part is a file only when it carries a file name, so a text part
        // that happens to be called `assetData` or `sidecarData` is an unknown field.
        let is_file = field.file_name().is_some();
        match name.as_str() {
            "assetData" if is_file => {
                if staged.is_some() {
                    return Err(ApiError::bad_request("only one assetData file per request"));
                }
                if meta.file_name.is_empty() {
                    meta.file_name = field.file_name().unwrap_or("").to_owned();
                }
                staged = Some(receive_file(state, &mut field, limit).await?);
            }
            "deviceAssetId" => meta.device_asset_id = read_text(&mut field).await?,
            "deviceId" => meta.device_id = read_text(&mut field).await?,
            "fileCreatedAt" => meta.file_created_at = Some(read_text(&mut field).await?),
            "fileModifiedAt" => meta.file_modified_at = Some(read_text(&mut field).await?),
            "isFavorite" => {
                meta.is_favorite = parse_bool("isFavorite", &read_text(&mut field).await?)?
            }
            "visibility" => meta.visibility = Some(read_text(&mut field).await?),
            "duration" => meta.duration = Some(read_text(&mut field).await?),
            "filename" => meta.file_name = read_text(&mut field).await?,
            "fileSize" => {
                let v = read_text(&mut field).await?;
                let size: u64 = v.trim().parse().map_err(|_| {
                    ApiError::bad_request("fileSize must be a non-negative integer")
                })?;
                if size > limit {
                    return Err(too_large(state, size, limit));
                }
            }
            "sidecarData" if is_file => {
                sidecar = Some(read_bounded(&mut field, xmp::MAX_BYTES).await?)
            }
            // Unknown fields are read and dropped.
            _ => while field.chunk().await.map_err(multipart_error)?.is_some() {},
        }
    }
    let mut staged = staged.ok_or_else(|| ApiError::bad_request("assetData file is required"))?;
    staged.sidecar = sidecar;
    // Immich requires both dates; a client that omits them has a bug worth surfacing.
    if meta.file_created_at.is_none() || meta.file_modified_at.is_none() {
        return Err(ApiError::bad_request(
            "fileCreatedAt and fileModifiedAt are required",
        ));
    }
    if meta.device_asset_id.is_empty() {
        meta.device_asset_id = format!("{}-{}", meta.file_name, staged.size);
    }
    if meta.device_id.is_empty() {
        meta.device_id = "WEB".into();
    }
    Ok((meta, staged))
}

/// Bounds on reading the rest of a rejected upload.
const DRAIN_BYTES: u64 = 64 * 1024 * 1024;
const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(30);

async fn drain(multipart: &mut Multipart) {
    let mut seen = 0u64;
    let _ = tokio::time::timeout(DRAIN_TIME, async {
        while let Ok(Some(mut field)) = multipart.next_field().await {
            while let Ok(Some(chunk)) = field.chunk().await {
                seen += chunk.len() as u64;
                if seen > DRAIN_BYTES {
                    return;
                }
            }
        }
    })
    .await;
}

fn too_large(state: &AppState, size: u64, limit: u64) -> ApiError {
    if limit < state.config.max_upload_size {
        ApiError::PayloadTooLarge(format!(
            "Quota exceeded: the file ({size} bytes) does not fit in the {limit} bytes left"
        ))
    } else {
        ApiError::PayloadTooLarge(format!("the file is larger than {limit} bytes"))
    }
}

/// Streams one file field into `tmp/`, hashing as it goes, and fsyncs it.
async fn receive_file(state: &AppState, field: &mut Field<'_>, limit: u64) -> ApiResult<Staged> {
    let guard = TempFile::new(state.storage.new_tmp_path());
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(guard.path())?;
    let sink = Sink::start(file, sha1::Sha1::new(), false);
    let mut received = 0u64;
    let mut failure = None;
    loop {
        match field.chunk().await {
            Ok(Some(chunk)) => {
                received += chunk.len() as u64;
                if received > limit {
                    failure = Some(too_large(state, received, limit));
                    break;
                }
                if sink.write(chunk).await.is_err() {
                    break;
                }
            }
            Ok(None) => break,
            Err(e) => {
                failure = Some(multipart_error(e));
                break;
            }
        }
    }
    let outcome = sink.finish().await?;
    if let Some(e) = failure {
        return Err(e);
    }
    if outcome.written != received {
        return Err(ApiError::Internal("short write".into()));
    }
    if received == 0 {
        return Err(ApiError::bad_request("the file is empty"));
    }
    Ok(Staged {
        file: guard,
        sha1: outcome.whole.finalize().into(),
        size: received,
        sidecar: None,
    })
}

fn upload_response(id: &str, status: ingest::Status) -> Response {
    let code = match status {
        ingest::Status::Created => StatusCode::CREATED,
        ingest::Status::Duplicate => StatusCode::OK,
    };
    (code, Json(json!({"id": id, "status": status.as_str()}))).into_response()
}

#[derive(Deserialize)]
struct BulkCheck {
    assets: Vec<BulkItem>,
}

#[derive(Deserialize)]
struct BulkItem {
    id: String,
    checksum: String,
}

async fn bulk_upload_check(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<BulkCheck>,
) -> ApiResult<Json<Value>> {
    if body.assets.len() > MAX_BULK_CHECK {
        return Err(ApiError::bad_request(format!(
            "at most {MAX_BULK_CHECK} assets per check"
        )));
    }
    let parsed = body
        .assets
        .iter()
        .map(|a| {
            parse_checksum(&a.checksum).ok_or_else(|| {
                ApiError::bad_request(format!("checksum of {} is not a SHA-1", a.id))
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let owner = auth.user.id;
    let found = state
        .db
        .call(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, deleted_at IS NOT NULL FROM assets WHERE owner_id = ?1 AND checksum = ?2",
            )?;
            let mut out = Vec::with_capacity(parsed.len());
            for sum in &parsed {
                let hit: Option<(String, bool)> = crate::db::optional(stmt.query_row(
                    rusqlite::params![owner, &sum[..]],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                ))?;
                out.push(hit);
            }
            Ok(out)
        })
        .await?;
    let results = body
        .assets
        .into_iter()
        .zip(found)
        .map(|(item, hit)| match hit {
            Some((asset_id, trashed)) => json!({
                "id": item.id, "action": "reject", "reason": "duplicate",
                "assetId": asset_id, "isTrashed": trashed,
            }),
            None => json!({"id": item.id, "action": "accept"}),
        })
        .collect::<Vec<_>>();
    Ok(Json(json!({"results": results})))
}

/// Room for the largest legal `POST /api/assets/exist` body (every id at its longest, escaped).
const EXIST_BODY_LIMIT: usize = 2 * device::MAX_IDS * device::MAX_ID_BYTES + 64 * 1024;

/// The checked fields of Immich's `CheckExistingAssetsDto`.
fn exist_request(body: &Value) -> ApiResult<(String, Vec<String>)> {
    let obj = body
        .as_object()
        .ok_or_else(|| ApiError::bad_request("expected a JSON object"))?;
    let device_id = match obj.get("deviceId") {
        Some(Value::String(s)) => s.clone(),
        None | Some(Value::Null) => return Err(ApiError::bad_request("deviceId is required")),
        Some(_) => return Err(ApiError::bad_request("deviceId must be a string")),
    };
    if device_id.len() > device::MAX_ID_BYTES {
        return Err(ApiError::bad_request(format!(
            "deviceId is longer than {} bytes",
            device::MAX_ID_BYTES
        )));
    }
    if device::stored_form(&device_id).is_empty() {
        return Err(ApiError::bad_request("deviceId must not be empty"));
    }
    let ids = match obj.get("deviceAssetIds") {
        Some(Value::Array(a)) => a,
        None | Some(Value::Null) => {
            return Err(ApiError::bad_request("deviceAssetIds is required"));
        }
        Some(_) => {
            return Err(ApiError::bad_request(
                "deviceAssetIds must be an array of strings",
            ));
        }
    };
    if ids.len() > device::MAX_IDS {
        return Err(ApiError::bad_request(format!(
            "deviceAssetIds has {} entries; at most {} per request (send several requests)",
            ids.len(),
            device::MAX_IDS
        )));
    }
    let ids = ids
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::String(s) if s.is_empty() => Err(ApiError::bad_request(format!(
                "deviceAssetIds[{i}] must not be empty"
            ))),
            Value::String(s) if s.len() > device::MAX_ID_BYTES => {
                Err(ApiError::bad_request(format!(
                    "deviceAssetIds[{i}] is longer than {} bytes",
                    device::MAX_ID_BYTES
                )))
            }
            Value::String(s) => Ok(s.clone()),
            _ => Err(ApiError::bad_request(format!(
                "deviceAssetIds[{i}] must be a string"
            ))),
        })
        .collect::<ApiResult<Vec<_>>>()?;
    Ok((device_id, ids))
}

/// `POST /api/assets/exist`: which of `deviceAssetIds` the caller's device `deviceId` already
/// backed up (Immich's `existingIds`), plus Shoebox's `assets` with what a reinstalled client
/// needs to adopt them without re-reading its files.
async fn exist(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Json<Value>> {
    let (device_id, ids) = exist_request(&body)?;
    let found = device::existing(&state.db, &auth.user.id, &device_id, ids).await?;
    let mut existing_ids: Vec<&str> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for e in &found {
        if seen.insert(e.requested.as_str()) {
            existing_ids.push(&e.requested);
        }
    }
    let assets = found
        .iter()
        .map(|e| {
            json!({
                "deviceAssetId": e.requested,
                "id": e.asset.id,
                "checksum": hex::encode(e.asset.checksum),
                "fileSize": e.asset.file_size,
                "fileModifiedAt": e.asset.file_modified_at,
            })
        })
        .collect::<Vec<_>>();
    Ok(Json(json!({"existingIds": existing_ids, "assets": assets})))
}

/// The asset `raw_id` if the caller may see it (owner, partner, album member, link holder).
pub async fn load_visible(
    state: &AppState,
    principal: &Principal,
    raw_id: &str,
) -> ApiResult<access::Granted> {
    let id = ids::parse("id", raw_id)?;
    let p = principal.clone();
    state.db.call(move |c| access::asset(c, &p, &id)).await
}

async fn get_one(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = ids::parse("id", &id)?;
    let out = state
        .db
        .call(move |c| {
            let granted = access::asset(c, &principal, &id)?;
            let mut json = granted.to_json();
            // The people in it, as Immich lists them, and its object labels (Immich's older
            // `smartInfo`): only for the owner (faces and labels are theirs).
            if matches!(granted.level, access::Level::Owner) {
                json["people"] = Value::Array(crate::people::people_of_asset(
                    c,
                    &granted.asset.owner_id,
                    &id,
                )?);
                let mut stmt = c.prepare_cached(
                    "SELECT label, score FROM asset_labels WHERE asset_id = ?1 \
                     ORDER BY score DESC, label",
                )?;
                let labels: Vec<(String, f64)> = stmt
                    .query_map([&id], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<Result<_, _>>()?;
                json["smartInfo"] = json!({
                    "objects": labels.iter().map(|(l, _)| l).collect::<Vec<_>>(),
                    "labels": labels.iter().map(|(l, s)| json!({"label": l, "score": s}))
                        .collect::<Vec<_>>(),
                });
            }
            Ok(json)
        })
        .await?;
    Ok(Json(out))
}

/// Parses a single `bytes=` range against `size`: `Ok(None)` means "send everything"
/// (no header, or a form we do not serve partially such as multiple ranges).
fn parse_range(value: &str, size: u64) -> ApiResult<Option<(u64, u64)>> {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let (start, end) = spec
        .split_once('-')
        .ok_or(ApiError::RangeNotSatisfiable { size })?;
    let unsatisfiable = ApiError::RangeNotSatisfiable { size };
    let range = match (start.trim(), end.trim()) {
        ("", suffix) => {
            let n: u64 = suffix
                .parse()
                .map_err(|_| ApiError::RangeNotSatisfiable { size })?;
            if n == 0 || size == 0 {
                return Err(unsatisfiable);
            }
            (size.saturating_sub(n), size - 1)
        }
        (s, e) => {
            let s: u64 = s
                .parse()
                .map_err(|_| ApiError::RangeNotSatisfiable { size })?;
            let e: u64 = if e.is_empty() {
                size.saturating_sub(1)
            } else {
                e.parse::<u64>()
                    .map_err(|_| ApiError::RangeNotSatisfiable { size })?
                    .min(size.saturating_sub(1))
            };
            if s >= size || e < s {
                return Err(unsatisfiable);
            }
            (s, e)
        }
    };
    Ok(Some(range))
}

/// RFC 6266 `Content-Disposition` with an ASCII fallback and the UTF-8 name.
fn content_disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("inline; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

async fn original(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let granted = load_visible(&state, &principal, &id).await?;
    if !granted.may_download() {
        return Err(ApiError::Forbidden(
            "This shared link does not allow downloads".into(),
        ));
    }
    let show_name = !matches!(
        granted.level,
        access::Level::Viewer {
            show_metadata: false,
            ..
        }
    );
    let asset = granted.asset;
    let etag = format!("\"{}\"", hex::encode(asset.checksum));
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
    {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response());
    }
    let path = state.storage.abs(&asset.storage_path);
    let mut file = tokio::fs::File::open(&path).await.map_err(|e| {
        ApiError::internal(&format!("original of asset {} is missing", asset.id), e)
    })?;
    let size = file.metadata().await?.len();
    let range = match headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        Some(v) => parse_range(v, size)?,
        None => None,
    };
    let (status, start, len) = match range {
        Some((s, e)) => (StatusCode::PARTIAL_CONTENT, s, e - s + 1),
        None => (StatusCode::OK, 0, size),
    };
    if start > 0 {
        file.seek(std::io::SeekFrom::Start(start)).await?;
    }
    let stream = tokio_util::io::ReaderStream::with_capacity(file.take(len), 256 * 1024);
    let mut resp = Response::new(Body::from_stream(stream));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    let hv = |s: String| HeaderValue::from_str(&s).map_err(|e| ApiError::internal("header", e));
    h.insert(header::CONTENT_TYPE, hv(asset.mime_type.clone())?);
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::ETAG, hv(etag)?);
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=86400, no-transform"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        hv(content_disposition(if show_name {
            &asset.original_file_name
        } else {
            &asset.id
        }))?,
    );
    if status == StatusCode::PARTIAL_CONTENT {
        h.insert(
            header::CONTENT_RANGE,
            hv(format!("bytes {start}-{}/{size}", start + len - 1))?,
        );
    }
    Ok(resp)
}

/// The fields of Immich's `AssetBulkUpdateDto` / `UpdateAssetDto` this server applies.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Changes {
    #[serde(default)]
    ids: Vec<String>,
    is_favorite: Option<bool>,
    visibility: Option<String>,
    /// Older clients: `isArchived: true` is `visibility: archive`.
    is_archived: Option<bool>,
}

impl Changes {
    fn visibility(&self) -> ApiResult<Option<String>> {
        match (&self.visibility, self.is_archived) {
            (Some(v), _) if assets::VISIBILITIES.contains(&v.as_str()) => Ok(Some(v.clone())),
            (Some(_), _) => Err(ApiError::bad_request(format!(
                "visibility must be one of {}",
                assets::VISIBILITIES.join(", ")
            ))),
            (None, Some(true)) => Ok(Some("archive".into())),
            (None, Some(false)) => Ok(Some("timeline".into())),
            (None, None) => Ok(None),
        }
    }
}

/// Applies `changes` to the owner's assets `ids` in one transaction (all or none: an id the
/// caller does not own is a 404 and nothing changes).
async fn apply_changes(
    state: &AppState,
    owner: String,
    ids: Vec<String>,
    changes: &Changes,
) -> ApiResult<()> {
    let visibility = changes.visibility()?;
    let favorite = changes.is_favorite;
    state
        .db
        .call(move |c| {
            let tx = c.transaction()?;
            for id in &ids {
                assets::get_owned(&tx, &owner, id)?;
            }
            if favorite.is_some() || visibility.is_some() {
                let now = clock::now_api();
                for id in &ids {
                    tx.execute(
                        "UPDATE assets SET is_favorite = COALESCE(?3, is_favorite), \
                         visibility = COALESCE(?4, visibility), updated_at = ?5 \
                         WHERE id = ?1 AND owner_id = ?2",
                        rusqlite::params![id, owner, favorite, visibility, now],
                    )?;
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await
}

async fn update_many(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<Changes>,
) -> ApiResult<StatusCode> {
    let ids = crate::routes::trash::parse_ids(&body.ids)?;
    apply_changes(&state, auth.user.id, ids, &body).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn update_one(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Changes>,
) -> ApiResult<Json<Value>> {
    let id = ids::parse("id", &id)?;
    let owner = auth.user.id;
    apply_changes(&state, owner.clone(), vec![id.clone()], &body).await?;
    let asset = state
        .db
        .call(move |c| assets::get_owned_full(c, &owner, &id))
        .await?;
    Ok(Json(asset.to_json()))
}

#[derive(Deserialize)]
struct DeleteBody {
    ids: Vec<String>,
    #[serde(default)]
    force: bool,
}

async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<DeleteBody>,
) -> ApiResult<StatusCode> {
    if body.ids.len() > MAX_BULK_CHECK {
        return Err(ApiError::bad_request("too many ids"));
    }
    let ids = body
        .ids
        .iter()
        .map(|i| ids::parse("ids", i))
        .collect::<ApiResult<Vec<_>>>()?;
    let owner = auth.user.id;
    let force = body.force;
    // Rows first, then files: a crash in between leaves orphan files that start-up removes,
    // never a row pointing at a missing file.
    let removed = state
        .db
        .call(move |c| {
            let tx = c.transaction()?;
            for id in &ids {
                assets::get_owned(&tx, &owner, id)?;
            }
            let mut removed = Vec::new();
            let now = clock::now_api();
            for id in &ids {
                if force {
                    removed
                        .extend(assets::delete_permanently(&tx, &owner, id)?.unwrap_or_default());
                } else {
                    tx.execute(
                        "UPDATE assets SET deleted_at = ?1, updated_at = ?1 \
                         WHERE id = ?2 AND owner_id = ?3 AND deleted_at IS NULL",
                        rusqlite::params![now, id, owner],
                    )?;
                }
            }
            tx.commit()?;
            Ok(removed)
        })
        .await?;
    for rel in removed {
        storage::remove_quietly(&state.storage.abs(&rel));
    }
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", 100).unwrap(), Some((0, 9)));
        assert_eq!(parse_range("bytes=90-", 100).unwrap(), Some((90, 99)));
        assert_eq!(parse_range("bytes=-10", 100).unwrap(), Some((90, 99)));
        assert_eq!(parse_range("bytes=0-1000", 100).unwrap(), Some((0, 99)));
        assert_eq!(parse_range("bytes=0-1,5-6", 100).unwrap(), None);
        assert!(parse_range("bytes=100-", 100).is_err());
        assert!(parse_range("bytes=5-1", 100).is_err());
        assert!(parse_range("bytes=x-1", 100).is_err());
    }

    #[test]
    fn disposition_never_carries_quotes_or_raw_unicode() {
        let d = content_disposition("a\"b é.jpg");
        assert!(d.starts_with("inline; filename=\"a_b _.jpg\""));
        assert!(d.ends_with("UTF-8''a%22b%20%C3%A9.jpg"));
    }
}
