//! `shoebox-server`: the Shoebox server binary. `serve` opens the data directory, reconciles
//! storage left by a crash, then serves the API until SIGTERM/SIGINT.

mod access;
mod app;
mod assets;
mod auth;
mod clock;
mod config;
mod db;
mod error;
mod ids;
mod jobs;
mod listener;
mod media;
mod ml;
mod people;
mod policy;
mod routes;
mod storage;
mod store;
mod upload;
mod users;
mod web;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::Duration;
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "shoebox-server",
    version,
    about = "Shoebox photo backup server"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API on `--listen` with data in `--data`.
    Serve(config::Config),
    /// Make the thumbnail and preview of each FILE in OUT with the worker's code, one file per
    /// core at a time (for benchmarks and debugging).
    Thumbs {
        #[arg(long)]
        out: std::path::PathBuf,
        files: Vec<std::path::PathBuf>,
    },
    /// Find faces and labels in each FILE (at preview size) and embed a caption, printing one
    /// JSON line of per-stage timings per file (for benchmarks and debugging).
    #[command(hide = true)]
    Analyze(ml::vision::analyze::Args),
    /// Print the mounted routes and their declared access policies as JSON.
    Routes,
    /// Copy the data directory DATA to TO consistently, also while the server runs: the
    /// database through SQLite's online backup, originals and derived files hard-linked (or
    /// copied with `--copy`, or across filesystems), and `manifest.json` with every original's
    /// SHA-1. TO must not exist or be empty. Serve a snapshot with `serve --data TO`.
    Snapshot {
        #[arg(long, env = "SHOEBOX_DATA")]
        data: std::path::PathBuf,
        #[arg(long)]
        to: std::path::PathBuf,
        /// Copy every file instead of hard-linking originals and derived files.
        #[arg(long)]
        copy: bool,
    },
    /// Check every original in DATA against its SHA-1 (read-only, safe while the server runs);
    /// prints each missing or corrupt file and exits 1 if there is any.
    Verify {
        #[arg(long, env = "SHOEBOX_DATA")]
        data: std::path::PathBuf,
    },
}

fn main() -> Result<()> {
    tune_allocator();
    tracing_subscriber::fmt()
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(config) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("starting the async runtime")?
            .block_on(serve(config)),
        Command::Thumbs { out, files } => render_files(&out, &files),
        Command::Analyze(args) => ml::vision::analyze::run(&args),
        Command::Snapshot { data, to, copy } => {
            let r = storage::snapshot::snapshot(&data, &to, copy)?;
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "snapshot of {} in {}: {} originals, {} derived files, {} unfinished uploads \
                 ({} hard-linked, {} copied)",
                data.display(),
                to.display(),
                r.originals,
                r.derived,
                r.uploads,
                r.linked,
                r.copied
            )?;
            for d in &r.dropped {
                writeln!(out, "left out (removed while the snapshot ran): {d}")?;
            }
            Ok(())
        }
        Command::Verify { data } => {
            let (checked, problems) = storage::snapshot::verify(&data)?;
            let mut out = std::io::stdout().lock();
            for p in &problems {
                writeln!(out, "{p}")?;
            }
            writeln!(
                out,
                "{checked} originals checked, {} missing or corrupt",
                problems.len()
            )?;
            out.flush()?;
            if problems.is_empty() {
                Ok(())
            } else {
                std::process::exit(1)
            }
        }
        Command::Routes => {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", policy::describe(&app::routes()))?;
            Ok(())
        }
    }
}

fn render_files(out: &std::path::Path, files: &[std::path::PathBuf]) -> Result<()> {
    use media::thumbs::{self, Kind};
    std::fs::create_dir_all(out)?;
    let next = std::sync::atomic::AtomicUsize::new(0);
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let failed = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for w in 0..workers {
            let (next, failed) = (&next, &failed);
            s.spawn(move || {
                let scratch = out.join(format!(".scratch-{w}"));
                let _ = std::fs::create_dir_all(&scratch);
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(file) = files.get(i) else { break };
                    let stem = file
                        .file_stem()
                        .map(|s| s.to_string_lossy().into_owned())
                        .unwrap_or_else(|| i.to_string());
                    let written = thumbs::render(file, false, &scratch)
                        .map_err(|e| e.to_string())
                        .and_then(|r| {
                            for (kind, enc) in
                                [(Kind::Thumbnail, &r.thumbnail), (Kind::Preview, &r.preview)]
                            {
                                let name = format!("{stem}-{}.{}", kind.as_str(), kind.ext());
                                std::fs::write(out.join(name), &enc.bytes)
                                    .map_err(|e| e.to_string())?;
                            }
                            Ok(())
                        });
                    if let Err(e) = written {
                        eprintln!("{}: {e}", file.display());
                        failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
                let _ = std::fs::remove_dir_all(&scratch);
            });
        }
    });
    match failed.into_inner() {
        0 => Ok(()),
        n => anyhow::bail!("{n} file(s) failed"),
    }
}

/// glibc keeps freed memory in per-thread arenas and raises its mmap threshold after large
/// frees (argon2 allocates 19 MiB per login), so a long-running server's RSS creeps up. Two
/// arenas and a fixed threshold hand large blocks back to the OS as soon as they are freed.
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 4 << 20);
        // Keep a little freed heap instead of returning and re-faulting it for every buffer.
        libc::mallopt(libc::M_TRIM_THRESHOLD, 16 << 20);
    }
}

async fn serve(config: config::Config) -> Result<()> {
    let storage = storage::Storage::open(&config.data)
        .with_context(|| format!("opening data directory {}", config.data.display()))?;
    let db = db::Db::open(&storage.db_path()).context("opening the database")?;
    let state = app::AppState {
        db,
        storage,
        config: Arc::new(config.clone()),
        throttle: Arc::default(),
        uploads: Arc::default(),
        workers: Arc::default(),
        ml: Arc::new(
            ml::Ml::new(
                config.ml,
                config.models.clone().unwrap_or_else(ml::default_dir),
                config.ml_threads.unwrap_or_else(ml::default_threads),
            )
            .with_face_detector(config.face_detector),
        ),
    };
    let report = storage::reconcile::at_startup(&state)
        .await
        .map_err(|e| anyhow::anyhow!("reconciling storage: {e}"))?;
    tracing::info!(?report, "storage reconciled");
    let (requeued, added) = state
        .db
        .blocking(|c| Ok(jobs::queue::recover(c)?))
        .map_err(|e| anyhow::anyhow!("recovering the job queue: {e}"))?;
    let workers = config.job_workers();
    tracing::info!(requeued, added, workers, "job queue ready");
    tracing::info!(
        enabled = state.ml.enabled,
        models = %state.ml.dir.display(),
        "machine learning"
    );
    jobs::worker::spawn(state.clone(), workers);
    storage::reconcile::spawn_janitor(
        state.clone(),
        Duration::from_secs(config.janitor_interval_secs.max(1)),
    );

    routes::admin::spawn_purger(
        state.clone(),
        Duration::from_secs(config.janitor_interval_secs.max(1)),
        Duration::from_secs(config.user_delete_delay_secs),
    );

    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let addr = listener.local_addr()?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "shoebox-server listening on http://{addr}")?;
        out.flush()?;
    }
    tracing::info!(%addr, data = %config.data.display(), "serving");
    let timeouts = listener::Timeouts {
        header_read: Duration::from_secs(config.header_read_timeout_secs),
        body_idle: Duration::from_secs(config.upload_idle_timeout_secs),
    };
    // In-flight requests get a bounded grace period after SIGTERM; an upload cut off there
    // loses nothing, since tus offsets only ever cover fsynced bytes.
    listener::serve(
        listener,
        app::router(state),
        timeouts,
        shutdown_signal(),
        SHUTDOWN_GRACE,
    )
    .await;
    tracing::info!("shut down");
    Ok(())
}

const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let term = async {
        match signal(SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(%e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await
            }
        }
    };
    tokio::select! {
        _ = term => {},
        _ = tokio::signal::ctrl_c() => {},
    }
    tracing::info!("shutdown requested; finishing in-flight requests");
}
