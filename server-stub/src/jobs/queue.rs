//! The job table: enqueue (idempotent per queue and asset), claim the next due job, record
//! success or failure (retry with exponential backoff, then `failed` with the reason),
//! re-queue jobs that were `active` when the process died, and the counts `GET /api/jobs` shows.

use super::Queue;
use crate::clock;
use rusqlite::{Connection, params};

/// How many times a job runs before it is marked failed.
pub const MAX_ATTEMPTS: i64 = 3;

fn now_ms() -> i64 {
    clock::now().timestamp_millis()
}

/// Queues every pipeline job for a freshly stored asset (inside the caller's transaction, so
/// the jobs exist exactly when the asset row does). A job that already exists is reset to
/// `waiting` unless it is running.
pub fn enqueue_all(c: &Connection, asset_id: &str) -> rusqlite::Result<()> {
    for q in Queue::ENTRY {
        enqueue(c, q, asset_id)?;
    }
    Ok(())
}

pub fn enqueue(c: &Connection, queue: Queue, asset_id: &str) -> rusqlite::Result<()> {
    c.execute(
        "INSERT INTO jobs (queue, asset_id, state, attempts, next_run_at, updated_at) \
         VALUES (?1, ?2, 'waiting', 0, ?3, ?4) \
         ON CONFLICT(queue, asset_id) DO UPDATE SET state = 'waiting', attempts = 0, \
         next_run_at = excluded.next_run_at, last_error = NULL, updated_at = excluded.updated_at \
         WHERE state != 'active'",
        params![queue.as_str(), asset_id, now_ms(), clock::now_api()],
    )?;
    // Running now: it may already have read what changed, so it runs once more afterwards.
    c.execute(
        "UPDATE jobs SET rerun = 1 WHERE queue = ?1 AND asset_id = ?2 AND state = 'active'",
        params![queue.as_str(), asset_id],
    )?;
    Ok(())
}

/// A claimed job.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: i64,
    pub queue: Queue,
    pub asset_id: String,
    pub attempts: i64,
}

/// Marks the next due job `active` and returns it; `Ok(None)` when nothing is due.
/// Metadata runs first so the timeline fills in dates, then geocoding, thumbnails, faces and
/// labels (they read the preview), and the search index last (it describes what the others
/// found).
pub fn claim(c: &Connection) -> rusqlite::Result<Option<Job>> {
    loop {
        let row = crate::db::optional(c.query_row(
            "UPDATE jobs SET state = 'active', attempts = attempts + 1, updated_at = ?2 \
             WHERE id = (SELECT id FROM jobs WHERE state = 'waiting' AND next_run_at <= ?1 \
                         ORDER BY CASE queue WHEN 'metadataExtraction' THEN 0 \
                         WHEN 'reverseGeocoding' THEN 1 WHEN 'thumbnailGeneration' THEN 2 \
                         WHEN 'smartSearch' THEN 4 ELSE 3 END, next_run_at, id LIMIT 1) \
             RETURNING id, queue, asset_id, attempts",
            params![now_ms(), clock::now_api()],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            },
        ))?;
        let Some((id, queue, asset_id, attempts)) = row else {
            return Ok(None);
        };
        match Queue::parse(&queue) {
            Some(queue) => {
                return Ok(Some(Job {
                    id,
                    queue,
                    asset_id,
                    attempts,
                }));
            }
            None => {
                // A queue this build does not know (a newer version wrote it): park it.
                fail(c, id, &format!("unknown queue {queue}"))?;
            }
        }
    }
}

pub fn complete(c: &Connection, id: i64) -> rusqlite::Result<()> {
    c.execute(
        "UPDATE jobs SET state = CASE WHEN rerun = 1 THEN 'waiting' ELSE 'done' END, \
         attempts = CASE WHEN rerun = 1 THEN 0 ELSE attempts END, rerun = 0, \
         last_error = NULL, updated_at = ?2 WHERE id = ?1",
        params![id, clock::now_api()],
    )?;
    Ok(())
}

/// Records a failure: back to `waiting` after `base_ms * 2^(attempts-1)` while attempts remain,
/// otherwise `failed`.
pub fn retry_or_fail(
    c: &Connection,
    job: &Job,
    reason: &str,
    base_ms: u64,
) -> rusqlite::Result<bool> {
    if job.attempts >= MAX_ATTEMPTS {
        fail(c, job.id, reason)?;
        return Ok(false);
    }
    let shift = (job.attempts - 1).clamp(0, 20) as u32;
    let delay = (base_ms as i64).saturating_mul(1i64 << shift);
    c.execute(
        "UPDATE jobs SET state = 'waiting', next_run_at = ?2, last_error = ?3, updated_at = ?4 \
         WHERE id = ?1",
        params![
            job.id,
            now_ms().saturating_add(delay),
            reason,
            clock::now_api()
        ],
    )?;
    Ok(true)
}

pub fn fail(c: &Connection, id: i64, reason: &str) -> rusqlite::Result<()> {
    c.execute(
        "UPDATE jobs SET state = 'failed', last_error = ?2, updated_at = ?3 WHERE id = ?1",
        params![id, reason, clock::now_api()],
    )?;
    Ok(())
}

/// Start-up: jobs that were running when the process stopped run again; assets stored before
/// the queue existed (or whose jobs were lost) get their jobs.
pub fn recover(c: &mut Connection) -> rusqlite::Result<(usize, usize)> {
    let tx = c.transaction()?;
    let requeued = tx.execute(
        "UPDATE jobs SET state = 'waiting', next_run_at = ?1 WHERE state = 'active'",
        [now_ms()],
    )?;
    let mut added = 0;
    for q in Queue::ENTRY {
        added += tx.execute(
            "INSERT INTO jobs (queue, asset_id, state, attempts, next_run_at, updated_at) \
             SELECT ?1, a.id, 'waiting', 0, ?2, ?3 FROM assets a WHERE NOT EXISTS \
             (SELECT 1 FROM jobs j WHERE j.queue = ?1 AND j.asset_id = a.id)",
            params![q.as_str(), now_ms(), clock::now_api()],
        )?;
    }
    tx.commit()?;
    Ok((requeued, added))
}

/// Queues `queue` again for every asset (admin "run for all"; `force` also re-runs assets
/// whose job is done, otherwise only failed and missing ones). Returns how many were queued.
pub fn enqueue_every(c: &mut Connection, queue: Queue, force: bool) -> rusqlite::Result<usize> {
    let tx = c.transaction()?;
    let (now, at) = (now_ms(), clock::now_api());
    let mut n = tx.execute(
        "INSERT INTO jobs (queue, asset_id, state, attempts, next_run_at, updated_at) \
         SELECT ?1, a.id, 'waiting', 0, ?2, ?3 FROM assets a WHERE NOT EXISTS \
         (SELECT 1 FROM jobs j WHERE j.queue = ?1 AND j.asset_id = a.id)",
        params![queue.as_str(), now, at],
    )?;
    n += tx.execute(
        "UPDATE jobs SET state = 'waiting', attempts = 0, next_run_at = ?2, last_error = NULL, \
         updated_at = ?3 WHERE queue = ?1 AND (state = 'failed' OR (?4 AND state = 'done'))",
        params![queue.as_str(), now, at, force],
    )?;
    tx.commit()?;
    Ok(n)
}

/// Counts per state for one queue, and its most recent failures.
#[derive(Debug, Default, Clone)]
pub struct QueueCounts {
    pub waiting: i64,
    pub delayed: i64,
    pub active: i64,
    pub failed: i64,
    pub done: i64,
    pub failures: Vec<Failure>,
}

#[derive(Debug, Clone)]
pub struct Failure {
    pub asset_id: String,
    pub attempts: i64,
    pub error: String,
    pub updated_at: String,
}

/// How many failures `counts` lists per queue.
const MAX_FAILURES_LISTED: i64 = 100;

pub fn counts(c: &Connection, queue: Queue) -> rusqlite::Result<QueueCounts> {
    let mut out = QueueCounts::default();
    let now = now_ms();
    let mut stmt = c.prepare_cached(
        "SELECT state, next_run_at > ?2, COUNT(*) FROM jobs WHERE queue = ?1 GROUP BY 1, 2",
    )?;
    let rows = stmt.query_map(params![queue.as_str(), now], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, bool>(1)?,
            r.get::<_, i64>(2)?,
        ))
    })?;
    for row in rows {
        let (state, later, n) = row?;
        match (state.as_str(), later) {
            ("waiting", false) => out.waiting += n,
            ("waiting", true) => out.delayed += n,
            ("active", _) => out.active += n,
            ("failed", _) => out.failed += n,
            ("done", _) => out.done += n,
            _ => {}
        }
    }
    let mut stmt = c.prepare_cached(
        "SELECT asset_id, attempts, COALESCE(last_error, ''), updated_at FROM jobs \
         WHERE queue = ?1 AND state = 'failed' ORDER BY updated_at DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![queue.as_str(), MAX_FAILURES_LISTED], |r| {
        Ok(Failure {
            asset_id: r.get(0)?,
            attempts: r.get(1)?,
            error: r.get(2)?,
            updated_at: r.get(3)?,
        })
    })?;
    out.failures = rows.collect::<Result<_, _>>()?;
    Ok(out)
}

/// The soonest time (epoch ms) a waiting job becomes due, if any.
pub fn next_due(c: &Connection) -> rusqlite::Result<Option<i64>> {
    c.query_row(
        "SELECT MIN(next_run_at) FROM jobs WHERE state = 'waiting'",
        [],
        |r| r.get(0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(
            "CREATE TABLE assets (id TEXT PRIMARY KEY);
             CREATE TABLE jobs (id INTEGER PRIMARY KEY, queue TEXT NOT NULL, asset_id TEXT NOT NULL,
                state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_run_at INTEGER NOT NULL,
                last_error TEXT, updated_at TEXT NOT NULL, rerun INTEGER NOT NULL DEFAULT 0,
                UNIQUE(queue, asset_id));
             INSERT INTO assets VALUES ('a1');",
        )
        .unwrap();
        c
    }

    #[test]
    fn claim_retry_backoff_then_fail() {
        let mut c = db();
        enqueue_all(&c, "a1").unwrap();
        enqueue_all(&c, "a1").unwrap(); // idempotent
        let j = claim(&c).unwrap().unwrap();
        assert_eq!(j.queue, Queue::MetadataExtraction);
        assert_eq!(j.attempts, 1);
        assert!(retry_or_fail(&c, &j, "boom", 60_000).unwrap());
        let n = counts(&c, Queue::MetadataExtraction).unwrap();
        assert_eq!((n.waiting, n.delayed), (0, 1));
        // the thumbnail job is still due; the delayed metadata job is not
        let t = claim(&c).unwrap().unwrap();
        assert_eq!(t.queue, Queue::ThumbnailGeneration);
        assert!(claim(&c).unwrap().is_none());
        // a crash leaves `t` active: recovery re-queues it
        assert_eq!(recover(&mut c).unwrap(), (1, 0));
        let t = claim(&c).unwrap().unwrap();
        assert_eq!(t.attempts, 2);
        complete(&c, t.id).unwrap();
        let failing = Job {
            attempts: MAX_ATTEMPTS,
            ..j
        };
        assert!(!retry_or_fail(&c, &failing, "corrupt", 1).unwrap());
        let n = counts(&c, Queue::MetadataExtraction).unwrap();
        assert_eq!(n.failed, 1);
        assert_eq!(n.failures[0].error, "corrupt");
        assert_eq!(counts(&c, Queue::ThumbnailGeneration).unwrap().done, 1);
    }

    #[test]
    fn asked_again_while_running_runs_once_more() {
        let c = db();
        enqueue(&c, Queue::SmartSearch, "a1").unwrap();
        let j = claim(&c).unwrap().unwrap();
        // New facts arrive while it runs: it must not finish as done with stale input.
        enqueue(&c, Queue::SmartSearch, "a1").unwrap();
        enqueue(&c, Queue::SmartSearch, "a1").unwrap();
        complete(&c, j.id).unwrap();
        let again = claim(&c).unwrap().expect("queued again after completing");
        assert_eq!((again.id, again.attempts), (j.id, 1));
        complete(&c, again.id).unwrap();
        assert!(claim(&c).unwrap().is_none(), "and only once");
        assert_eq!(counts(&c, Queue::SmartSearch).unwrap().done, 1);
    }
}
