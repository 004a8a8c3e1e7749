//! `GET /api/jobs` (admin): the background queues in Immich's `QueuesResponseLegacyDto` shape
//! (`{queueName: {jobCounts: {active, completed, delayed, failed, paused, waiting},
//! queueStatus: {isActive, isPaused}}}`), plus `failures` per queue: the most recent failed
//! jobs with their asset and reason.
//!
//! `PUT /api/jobs/{name}` (admin) `{command: "start", force}`: re-runs a queue for every asset,
//! as Immich's "run job for all" does; `force: false` only queues assets whose job is missing
//! or failed, `true` also re-runs finished ones. Answers the queue's counts.

use crate::app::AppState;
use crate::auth::AuthAdmin;
use crate::error::ApiError;
use crate::error::ApiResult;
use crate::jobs::{Queue, queue};
use crate::routes::{ApiJson, field_bool, field_str};
use axum::extract::{Path, State};
use axum::routing::{get, put};
use axum::{Json, Router};
use serde_json::{Map, Value, json};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/jobs", get(list))
        .route("/jobs/{name}", put(command))
}

async fn command(
    State(state): State<AppState>,
    _admin: AuthAdmin,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Json<Value>> {
    let q = Queue::parse(&name).ok_or_else(|| ApiError::not_found("Queue"))?;
    let Value::Object(body) = body else {
        return Err(ApiError::bad_request("the body must be a JSON object"));
    };
    match field_str(&body, "command")? {
        Some("start") => {}
        Some(_) | None => return Err(ApiError::bad_request("command must be \"start\"")),
    }
    let force = field_bool(&body, "force")?.unwrap_or(false);
    if Queue::ML.contains(&q) && !state.ml.enabled {
        return Err(ApiError::bad_request(
            "machine learning is disabled (SHOEBOX_ML=off)",
        ));
    }
    let queued = state
        .db
        .call(move |c| Ok(queue::enqueue_every(c, q, force)?))
        .await?;
    state.workers.wake();
    tracing::info!(queue = q.as_str(), force, queued, "queue re-run");
    let n = state.db.call(move |c| Ok(queue::counts(c, q)?)).await?;
    Ok(Json(json!({
        "queued": queued,
        "jobCounts": {"active": n.active, "completed": n.done, "delayed": n.delayed,
                      "failed": n.failed, "paused": 0, "waiting": n.waiting},
        "queueStatus": {"isActive": n.active > 0, "isPaused": false},
    })))
}

async fn list(State(state): State<AppState>, _admin: AuthAdmin) -> ApiResult<Json<Value>> {
    let paused = state.config.job_workers() == 0;
    let all = state
        .db
        .call(|c| {
            Queue::ALL
                .into_iter()
                .map(|q| Ok((q, queue::counts(c, q)?)))
                .collect::<ApiResult<Vec<_>>>()
        })
        .await?;
    let mut out = Map::new();
    for (q, n) in all {
        let failures: Vec<Value> = n
            .failures
            .iter()
            .map(|f| {
                json!({"assetId": f.asset_id, "attempts": f.attempts, "error": f.error,
                       "failedAt": f.updated_at})
            })
            .collect();
        out.insert(
            q.as_str().to_owned(),
            json!({
                "jobCounts": {
                    "active": n.active, "completed": n.done, "delayed": n.delayed,
                    "failed": n.failed, "paused": if paused { n.waiting } else { 0 },
                    "waiting": n.waiting,
                },
                "queueStatus": {"isActive": n.active > 0, "isPaused": paused},
                "failures": failures,
            }),
        );
    }
    Ok(Json(Value::Object(out)))
}
