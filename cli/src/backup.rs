//! `shoebox backup DIR`: runs the core engine over a folder tree with a live progress bar,
//! prints a summary (or JSON), and with `--watch` backs up new files as they appear.

use crate::credentials::{self, StateDirs};
use anyhow::{Context, Result, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use sha1::{Digest, Sha1};
use shoebox_core::policy::Policy;
use shoebox_core::{
    AlbumSelection, BackupEngine, EngineConfig, FileFailure, FsLibrary, Phase, PhotoLibrary,
    Progress, ProgressObserver, RunReport, StopReason,
};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(Args)]
pub struct BackupArgs {
    /// The folder tree to back up.
    dir: PathBuf,
    /// Back up only these albums (folder names); default: all.
    #[arg(long = "album")]
    albums: Vec<String>,
    /// Never back up these albums, even if selected.
    #[arg(long = "exclude-album")]
    exclude: Vec<String>,
    /// Keep running and back up new files as they appear.
    #[arg(long, conflicts_with = "for_secs")]
    watch: bool,
    /// Run one bounded window of this many seconds (as a phone's background task does) and
    /// stop cleanly; exit 0 when it ended with work left (run again to go on).
    #[arg(long = "for", value_name = "SECONDS")]
    for_secs: Option<u64>,
    /// No progress bar (for logs and scripts).
    #[arg(long)]
    no_progress: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
    /// Files uploaded at the same time.
    #[arg(long, default_value_t = 2)]
    parallel: u32,
    /// Name of this device on the server (default: the host name).
    #[arg(long)]
    device_id: Option<String>,
}

/// Progress bar fed by the engine's observer.
struct Bar {
    bar: ProgressBar,
    quiet: bool,
}

impl ProgressObserver for Bar {
    fn on_progress(&self, p: &Progress) {
        if p.bytes_total > 0 {
            self.bar.set_length(p.bytes_total);
        }
        self.bar.set_position(p.bytes_done);
        let files = format!(
            "{}/{} files",
            p.files_uploaded + p.files_duplicate + p.files_failed,
            p.files_total
        );
        let msg = match p.phase {
            Phase::Paused(reason) => format!("{files} — {}", reason.describe()),
            Phase::Scanning | Phase::Hashing => "scanning and hashing…".to_string(),
            Phase::Checking => "asking the server what it already has…".to_string(),
            _ => match p.current.first() {
                Some(f) => format!("{files} — {}", f.file_name),
                None => files,
            },
        };
        self.bar.set_message(msg);
    }

    fn on_file_failed(&self, f: &FileFailure) {
        if !self.quiet {
            self.bar.println(format!(
                "failed: {} — {} ({})",
                f.file_name, f.message, f.hint
            ));
        }
    }
}

/// A state directory per (server, library root), so two folders or two servers never mix.
pub fn library_state(dirs: &StateDirs, server: &str, root: &std::path::Path) -> PathBuf {
    let key = Sha1::digest(format!("{server}\n{}", root.display()).as_bytes());
    dirs.data.join("libraries").join(&hex::encode(key)[..16])
}

fn resolve_albums(library: &FsLibrary, names: &[String]) -> Result<Vec<String>> {
    let albums = library.albums()?;
    let mut ids = Vec::new();
    for name in names {
        let found: Vec<String> = albums
            .iter()
            .filter(|a| &a.name == name || &a.id == name)
            .map(|a| a.id.clone())
            .collect();
        if found.is_empty() {
            bail!("no album named {name:?} in the library (see `shoebox albums DIR`)");
        }
        ids.extend(found);
    }
    Ok(ids)
}

pub async fn run(dirs: &StateDirs, args: BackupArgs) -> Result<ExitCode> {
    let creds = credentials::load(dirs)?;
    let library = Arc::new(FsLibrary::new(&args.dir)?);
    let selection = AlbumSelection {
        selected: (!args.albums.is_empty())
            .then(|| resolve_albums(&library, &args.albums))
            .transpose()?,
        excluded: resolve_albums(&library, &args.exclude)?,
    };
    let show_bar = !args.no_progress && !args.json;
    let bar = ProgressBar::new(0);
    if show_bar {
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
    } else {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let observer = Arc::new(Bar {
        bar: bar.clone(),
        quiet: args.json,
    });
    let device_id = args.device_id.clone().unwrap_or_else(|| {
        std::fs::read_to_string("/etc/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_else(|_| "shoebox-cli".into())
    });
    let engine = BackupEngine::open(
        EngineConfig {
            server_url: creds.server.clone(),
            api_key: creds.api_key.clone(),
            state_dir: library_state(dirs, &creds.server, library.root()),
            device_id,
        },
        library.clone(),
        Some(observer),
    )?;
    engine.set_selection(selection)?;
    // A computer: unmetered network and mains power (a phone's platform glue reports its own).
    let (network, power) = Policy::desktop();
    engine.set_network(network);
    engine.set_power(power);
    crate::timeline::remember_library(dirs, library.root())?;
    let mut settings = engine.settings();
    settings.parallel_uploads = args.parallel.clamp(1, 16);
    engine.set_settings(settings)?;

    let cancel = engine.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            cancel.cancel();
        }
    });

    let report = match args.for_secs {
        Some(secs) => engine.run_for(Duration::from_secs(secs)).await,
        None => engine.run().await,
    }
    .context("backup failed")?;
    bar.finish_and_clear();
    let mut failed = summarize(&report, args.json);
    if args.for_secs.is_some() {
        return Ok(exit_code(failed));
    }
    if !args.watch || report.stopped.is_some() {
        return Ok(exit_code(failed));
    }
    let (_watcher, mut changes) = library.watch()?;
    eprintln!(
        "watching {} for new photos (Ctrl-C to stop)",
        library.root().display()
    );
    loop {
        if changes.recv().await.is_none() {
            break;
        }
        // Let a burst of copies settle before scanning.
        tokio::time::sleep(Duration::from_secs(2)).await;
        while changes.try_recv().is_ok() {}
        let report = engine.run().await.context("backup failed")?;
        bar.finish_and_clear();
        failed |= summarize(&report, args.json);
        if report.stopped.is_some() {
            break;
        }
    }
    Ok(exit_code(failed))
}

fn exit_code(failed: bool) -> ExitCode {
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Prints the summary; `true` when something failed.
fn summarize(r: &RunReport, as_json: bool) -> bool {
    let failures = &r.failures;
    if as_json {
        let out = json!({
            "uploaded": r.uploaded,
            "duplicates": r.duplicates + r.scan.already_on_server,
            "failed": r.failed,
            "bytes_sent": r.bytes_sent,
            "hashed_files": r.scan.hashed_files,
            "hashed_bytes": r.scan.hashed_bytes,
            "adopted": r.scan.adopted,
            "unhashed": r.scan.unhashed,
            "already_on_server": r.scan.already_on_server,
            "remaining": r.remaining,
            "stopped": r.stopped.map(|s| format!("{s:?}")),
            "failures": failures.iter().map(|f| json!({
                "file": f.local_id, "message": f.message, "hint": f.hint,
            })).collect::<Vec<_>>(),
        });
        println!("{out}");
    } else {
        println!(
            "Backed up {} new file(s) ({}), skipped {} already on the server, {} failed{}.",
            r.uploaded,
            human_bytes(r.bytes_sent),
            r.duplicates + r.scan.already_on_server,
            failures.len(),
            if r.remaining > 0 {
                format!(", {} still queued", r.remaining)
            } else {
                String::new()
            }
        );
        for f in failures {
            println!("  {}: {} — {}", f.local_id, f.message, f.hint);
        }
        if r.scan.adopted > 0 {
            println!(
                "Recognised {} file(s) this device backed up before (nothing read).",
                r.scan.adopted
            );
        }
        match r.stopped {
            Some(StopReason::Deadline) => println!(
                "The window ended with {} file(s) left; run again to go on.",
                r.remaining
            ),
            Some(s) => println!("Stopped early: {s:?}."),
            None => {}
        }
    }
    !failures.is_empty()
}

pub fn human_bytes(n: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1024.0 && i < units.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", units[i])
    }
}
