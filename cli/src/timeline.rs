//! `shoebox timeline` and `shoebox thumb`: the offline timeline of the last backed-up folder
//! (or `--library DIR`) merged with the server's library; works with no network (`--offline`,
//! or automatically when the server cannot be reached).

use crate::backup::library_state;
use crate::credentials::{self, StateDirs};
use anyhow::{Context, Result, bail};
use clap::Args;
use serde_json::json;
use shoebox_core::{
    BackupEngine, BackupState, CoreError, EngineConfig, FsLibrary, ThumbSize, TimelineFilter,
};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Args)]
pub struct TimelineArgs {
    /// Show one month's photos (YYYY-MM) instead of the month list.
    #[arg(long)]
    month: Option<String>,
    /// Do not contact the server; show what is cached.
    #[arg(long)]
    offline: bool,
    /// Only favourites.
    #[arg(long)]
    favorites: bool,
    /// The local library to merge (default: the last one backed up).
    #[arg(long)]
    library: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct ThumbArgs {
    /// The server's asset id (see `shoebox timeline --month`).
    asset_id: String,
    /// Where to write the image.
    #[arg(short, long)]
    output: PathBuf,
    /// `thumbnail` (small WebP) or `preview` (large JPEG).
    #[arg(long, default_value = "thumbnail")]
    size: String,
    #[arg(long)]
    library: Option<PathBuf>,
}

const LAST_LIBRARY: &str = "last-library";

pub fn remember_library(dirs: &StateDirs, root: &Path) -> Result<()> {
    std::fs::create_dir_all(&dirs.data)?;
    std::fs::write(
        dirs.data.join(LAST_LIBRARY),
        root.to_string_lossy().as_bytes(),
    )
    .context("remembering the library")
}

fn open(dirs: &StateDirs, library: Option<PathBuf>) -> Result<BackupEngine> {
    let creds = credentials::load(dirs)?;
    let root = match library {
        Some(p) => p,
        None => std::fs::read_to_string(dirs.data.join(LAST_LIBRARY))
            .map(|s| PathBuf::from(s.trim()))
            .context("no library backed up yet: run `shoebox backup DIR` or pass --library DIR")?,
    };
    let library = Arc::new(FsLibrary::new(&root)?);
    Ok(BackupEngine::open(
        EngineConfig {
            server_url: creds.server.clone(),
            api_key: creds.api_key,
            state_dir: library_state(dirs, &creds.server, library.root()),
            device_id: "shoebox-cli".into(),
        },
        library,
        None,
    )?)
}

fn state_label(s: BackupState) -> String {
    match s {
        BackupState::LocalOnly => "local only".into(),
        BackupState::Queued => "queued".into(),
        BackupState::Uploading { percent } => format!("uploading {percent}%"),
        BackupState::BackedUp => "backed up".into(),
        BackupState::RemoteOnly => "on server".into(),
    }
}

pub async fn show(dirs: &StateDirs, args: TimelineArgs) -> Result<ExitCode> {
    let engine = open(dirs, args.library)?;
    let timeline = engine.timeline();
    if !args.offline {
        match timeline.sync(None).await {
            Ok(r) if r.reset => eprintln!("the server was reset or replaced: cache rebuilt"),
            Ok(_) => {}
            Err(e @ CoreError::ServerUnreachable { .. }) => {
                eprintln!("offline: {e}; showing the cached timeline");
            }
            Err(e) => return Err(e.into()),
        }
    }
    let filter = TimelineFilter {
        favorites_only: args.favorites,
        ..TimelineFilter::default()
    };
    match args.month {
        None => {
            let buckets = timeline.buckets(&filter)?;
            if args.json {
                let v: Vec<_> = buckets
                    .iter()
                    .map(|b| json!({"month": b.month, "count": b.count}))
                    .collect();
                println!("{}", serde_json::Value::Array(v));
            } else {
                for b in buckets {
                    println!("{}  {:>6}", b.month, b.count);
                }
            }
        }
        Some(month) => {
            let items = timeline.bucket(&month, &filter)?;
            if args.json {
                let v: Vec<_> = items
                    .iter()
                    .map(|i| {
                        json!({
                            "remoteId": i.remote_id, "localId": i.local_id,
                            "fileName": i.file_name, "takenMs": i.taken_ms,
                            "isFavorite": i.is_favorite, "state": state_label(i.state),
                            "thumbhash": i.thumbhash,
                        })
                    })
                    .collect();
                println!("{}", serde_json::Value::Array(v));
            } else {
                for i in items {
                    let when = chrono_like(i.taken_ms);
                    println!(
                        "{when}  {:<12} {}{}  {}",
                        state_label(i.state),
                        if i.is_favorite { "★ " } else { "" },
                        i.file_name,
                        i.remote_id.as_deref().unwrap_or("-")
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn chrono_like(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

pub async fn thumb(dirs: &StateDirs, args: ThumbArgs) -> Result<ExitCode> {
    let size = match args.size.as_str() {
        "thumbnail" => ThumbSize::Thumbnail,
        "preview" => ThumbSize::Preview,
        other => bail!("--size must be thumbnail or preview, not {other}"),
    };
    let engine = open(dirs, args.library)?;
    let path = engine.timeline().thumbs().get(&args.asset_id, size).await?;
    std::fs::copy(&path, &args.output)
        .with_context(|| format!("writing {}", args.output.display()))?;
    println!("{}", args.output.display());
    Ok(ExitCode::SUCCESS)
}
