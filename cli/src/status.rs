//! `shoebox status`: the queue (queued, backed up, failed with reasons) and the last run of
//! every library this state directory has backed up.

use crate::backup::human_bytes;
use crate::credentials::StateDirs;
use anyhow::Result;
use serde_json::json;
use shoebox_core::state::StateDb;
use std::process::ExitCode;

pub fn show(dirs: &StateDirs, as_json: bool) -> Result<ExitCode> {
    let root = dirs.data.join("libraries");
    let mut libraries = Vec::new();
    if let Ok(entries) = std::fs::read_dir(&root) {
        for entry in entries.flatten() {
            let db_path = entry.path().join("shoebox-client.db");
            if !db_path.exists() {
                continue;
            }
            let db = StateDb::open(&db_path)?;
            libraries.push((
                entry.file_name().to_string_lossy().into_owned(),
                db.counts()?,
                db.last_run()?,
                db.failures()?,
            ));
        }
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
