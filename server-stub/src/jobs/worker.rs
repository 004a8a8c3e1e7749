//! The worker pool: `concurrency` tasks that claim due jobs from the database and run their
//! handlers on blocking threads. A handler that fails is retried with backoff; one that panics
//! is recorded as failed; the pool itself never stops. `Workers::wake` is called after an
//! enqueue so a new upload is picked up at once rather than at the next poll.

use super::queue::{self, Job};
use super::{JobError, handlers};
use crate::app::AppState;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Longest a idle worker sleeps before looking at the table again.
const IDLE_POLL: Duration = Duration::from_secs(5);

#[derive(Default)]
pub struct Workers {
    wake: Notify,
}

impl Workers {
    /// Tells idle workers new work is there.
    pub fn wake(&self) {
        self.wake.notify_waiters();
    }
}

/// Starts `concurrency` workers (0: none; jobs then wait in the table).
pub fn spawn(state: AppState, concurrency: usize) {
    for n in 0..concurrency {
        let state = state.clone();
        tokio::spawn(async move {
            tracing::debug!(worker = n, "job worker started");
            run(state).await;
        });
    }
}

async fn run(state: AppState) {
    loop {
        // Register interest before looking, so a wake between "nothing due" and the wait
        // is not lost.
        let workers: Arc<Workers> = state.workers.clone();
        let notified = workers.wake.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let claimed = state.db.call(|c| Ok(queue::claim(c)?)).await;
        match claimed {
            Ok(Some(job)) => {
                run_one(&state, job).await;
                continue;
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "could not claim a job"),
        }
        let wait = match state.db.call(|c| Ok(queue::next_due(c)?)).await {
            Ok(Some(due)) => {
                let now = crate::clock::now().timestamp_millis();
                Duration::from_millis(due.saturating_sub(now).clamp(10, 60_000) as u64)
                    .min(IDLE_POLL)
            }
            _ => IDLE_POLL,
        };
        let _ = tokio::time::timeout(wait, notified).await;
    }
}

async fn run_one(state: &AppState, job: Job) {
    let started = std::time::Instant::now();
    let handler_state = state.clone();
    let handler_job = job.clone();
    let outcome = tokio::task::spawn_blocking(move || handlers::run(&handler_state, &handler_job))
        .await
        .unwrap_or_else(|e| {
            Err(JobError::Permanent(if e.is_panic() {
                "the handler panicked".into()
            } else {
                format!("the handler was cancelled: {e}")
            }))
        });
    let base = state.config.job_retry_base_ms;
    let recorded = match &outcome {
        Ok(()) => {
            let id = job.id;
            state.db.call(move |c| Ok(queue::complete(c, id)?)).await
        }
        Err(JobError::Permanent(reason)) => {
            let (id, reason) = (job.id, reason.clone());
            state
                .db
                .call(move |c| Ok(queue::fail(c, id, &reason)?))
                .await
        }
        Err(JobError::Transient(reason)) => {
            let (j, reason) = (job.clone(), reason.clone());
            state
                .db
                .call(move |c| Ok(queue::retry_or_fail(c, &j, &reason, base).map(|_| ())?))
                .await
        }
    };
    let ms = started.elapsed().as_millis() as u64;
    match &outcome {
        Ok(()) => {
            tracing::debug!(queue = job.queue.as_str(), asset = %job.asset_id, ms, "job done")
        }
        Err(e) => tracing::warn!(
            queue = job.queue.as_str(),
            asset = %job.asset_id,
            attempt = job.attempts,
            error = %e,
            "job failed"
        ),
    }
    if let Err(e) = recorded {
        tracing::error!(job = job.id, error = %e, "could not record the job outcome");
    }
}
