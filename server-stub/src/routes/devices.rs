//! `GET /api/devices`: where the caller's library came from, with asset counts (trash not
//! counted): the uploading devices (`deviceId`, as the apps and `@immich/cli` send it) and the
//! cameras (EXIF make and model). Browse one with the timeline's `deviceId` or `make`/`model`
//! filters. Not an Immich endpoint (Immich has none for this).

use crate::app::AppState;
use crate::auth::Auth;
use crate::error::ApiResult;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

pub fn routes() -> Router<AppState> {
    Router::new().route("/devices", get(list))
}

async fn list(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Value>> {
    let owner = auth.user.id;
    let (devices, cameras) = state
        .db
        .call(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT device_id, COUNT(*), MAX(local_date_time) FROM assets \
                 WHERE owner_id = ?1 AND deleted_at IS NULL GROUP BY device_id \
                 ORDER BY COUNT(*) DESC, device_id",
            )?;
            let devices = stmt
                .query_map([&owner], |r| {
                    Ok(json!({"deviceId": r.get::<_, String>(0)?, "assetCount": r.get::<_, i64>(1)?,
                              "latestAssetAt": r.get::<_, Option<String>>(2)?}))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            let mut stmt = c.prepare_cached(
                "SELECT e.make, e.model, COUNT(*) FROM assets a JOIN exif e ON e.asset_id = a.id \
                 WHERE a.owner_id = ?1 AND a.deleted_at IS NULL \
                 AND (e.make IS NOT NULL OR e.model IS NOT NULL) \
                 GROUP BY e.make, e.model ORDER BY COUNT(*) DESC, e.make, e.model",
            )?;
            let cameras = stmt
                .query_map([&owner], |r| {
                    Ok(json!({"make": r.get::<_, Option<String>>(0)?,
                              "model": r.get::<_, Option<String>>(1)?,
                              "assetCount": r.get::<_, i64>(2)?}))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok((devices, cameras))
        })
        .await?;
    Ok(Json(json!({"devices": devices, "cameras": cameras})))
}
