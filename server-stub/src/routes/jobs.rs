//! `GET /api/jobs` (admin): the background queues in Immich's `QueuesResponseLegacyDto` shape
//! (`{queueName: {jobCounts: {active, completed, delayed, failed, paused, waiting},
//! queueStatus: {isActive, isPaused}}}`), plus `failures` per queue: the most recent failed
//! jobs with their asset and reason.

use crate::app::AppState;
use crate::auth::AuthAdmin;
use crate::error::ApiResult;
use crate::jobs::{Queue, queue};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Map, Value, json};

pub fn routes() -> Router<AppState> {
    Router::new().route("/jobs", get(list))
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
