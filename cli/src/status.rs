//! `shoebox status`: the queue (queued, backed up, failed with reasons) and the last run of
//! every library this state directory has backed up; `--pending` lists each file not backed
//! up yet with what it waits for.

use crate::backup::human_bytes;
use crate::credentials::StateDirs;
use anyhow::Result;
use serde_json::json;
use shoebox_core::engine::SETTINGS_KEY;
use shoebox_core::engine::pending::{self, LiveView};
use shoebox_core::state::StateDb;
use shoebox_core::{PendingState, Settings};
use std::process::ExitCode;

/// Every library's client database under the state directory: (library id, database).
fn databases(dirs: &StateDirs) -> Result<Vec<(String, StateDb)>> {
    let root = dirs.data.join("libraries");
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(&root) {
        for entry in entries.flatten() {
            let db_path = entry.path().join("shoebox-client.db");
            if !db_path.exists() {
                continue;
            }
            out.push((
                entry.file_name().to_string_lossy().into_owned(),
                StateDb::open(&db_path)?,
            ));
        }
    }
    Ok(out)
}

/// A state as one word for scripts and a sentence for people.
fn describe(state: &PendingState) -> (&'static str, String) {
    match state {
        PendingState::WaitingToHash => ("waiting_to_hash", "waiting to be hashed".into()),
        PendingState::Hashing { hashed } => (
            "hashing",
            format!("hashing ({} done)", human_bytes(*hashed)),
        ),
        PendingState::Queued => ("queued", "queued".into()),
        PendingState::WaitingForWindow => (
            "waiting_for_window",
            "waiting for the next backup run".into(),
        ),
        PendingState::Paused(reason) => ("paused", reason.describe().into()),
        PendingState::Uploading { sent, total } => (
            "uploading",
            format!(
                "uploading {} of {}",
                human_bytes(*sent),
                human_bytes(*total)
            ),
        ),
        PendingState::RetryAt { at_ms, error } => {
            let at = chrono::DateTime::from_timestamp_millis(*at_ms)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                .unwrap_or_default();
            ("retry_at", format!("retrying at {at} after: {error}"))
        }
        PendingState::Failed { reason, hint } => ("failed", format!("failed: {reason} — {hint}")),
    }
}

/// `shoebox status --pending`: read from the databases, so a run in another process shows as
/// queued files (with their acknowledged bytes).
pub fn pending(dirs: &StateDirs, as_json: bool) -> Result<ExitCode> {
    let mut out = Vec::new();
    for (library, db) in databases(dirs)? {
        let settings: Settings = db.setting(SETTINGS_KEY)?.unwrap_or_default();
        for item in pending::pending(&db, settings.large_file_threshold, &LiveView::default())? {
            let sent = db.get(&item.local_id)?.map_or(0, |r| r.acked_offset);
            out.push((library.clone(), item, sent));
        }
    }
    if as_json {
        let items: Vec<_> = out
            .iter()
            .map(|(library, item, sent)| {
                let (state, text) = describe(&item.state);
                let mut v = json!({
                    "library": library, "file": item.local_id, "name": item.file_name,
                    "size": item.size, "large": item.large, "state": state,
                    "description": text, "sent": sent,
                });
                match &item.state {
                    PendingState::Hashing { hashed } => v["hashed"] = json!(hashed),
                    PendingState::RetryAt { at_ms, error } => {
                        v["retry_at_ms"] = json!(at_ms);
                        v["error"] = json!(error);
                    }
                    PendingState::Failed { reason, hint } => {
                        v["error"] = json!(reason);
                        v["hint"] = json!(hint);
                    }
                    _ => {}
                }
                v
            })
            .collect();
        println!("{}", serde_json::Value::Array(items));
        return Ok(ExitCode::SUCCESS);
    }
    if out.is_empty() {
        println!("Nothing pending: everything found is backed up.");
    }
    for (_, item, sent) in &out {
        let (_, text) = describe(&item.state);
        let lane = if item.large { " [large]" } else { "" };
        let partial = if *sent > 0 {
            format!(" ({} on the server)", human_bytes(*sent))
        } else {
            String::new()
        };
        println!(
            "{} ({}){lane}: {text}{partial}",
            item.local_id,
            human_bytes(item.size)
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn show(dirs: &StateDirs, as_json: bool) -> Result<ExitCode> {
    let mut libraries = Vec::new();
    for (id, db) in databases(dirs)? {
        libraries.push((id, db.counts()?, db.last_run()?, db.failures()?));
    }
    if as_json {
        let out: Vec<_> = libraries
            .iter()
            .map(|(id, c, run, failures)| {
                json!({
                    "library": id,
                    "queued": c.queued, "queued_bytes": c.queued_bytes,
                    "done": c.done, "failed": c.failed,
                    "last_run": run.as_ref().map(|r| json!({
                        "started_ms": r.started_ms, "finished_ms": r.finished_ms,
                        "uploaded": r.uploaded, "duplicates": r.duplicates,
                        "failed": r.failed, "bytes_sent": r.bytes_sent, "outcome": r.outcome,
                    })),
                    "failures": failures.iter().map(|(f, m)| json!({"file": f, "message": m})).collect::<Vec<_>>(),
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(out));
        return Ok(ExitCode::SUCCESS);
    }
    if libraries.is_empty() {
        println!("Nothing backed up yet. Run `shoebox backup DIR`.");
    }
    for (id, c, run, failures) in &libraries {
        println!(
            "library {id}: {} backed up, {} queued ({}), {} failed",
            c.done,
            c.queued,
            human_bytes(c.queued_bytes),
            c.failed
        );
        if let Some(r) = run {
            println!(
                "  last run: {} uploaded, {} already there, {} failed, {} sent — {}",
                r.uploaded,
                r.duplicates,
                r.failed,
                human_bytes(r.bytes_sent),
                r.outcome.as_deref().unwrap_or("interrupted")
            );
        }
        for (file, message) in failures {
            println!("  {file}: {message}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
