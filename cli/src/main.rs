//! `shoebox`: the desktop backup CLI. It drives the same engine as the phone apps
//! (`shoebox-core`) over a folder tree: log in, list albums, back up (once or watching), and
//! show the queue.

mod backup;
mod credentials;
mod status;
mod timeline;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use shoebox_core::{FsLibrary, PhotoLibrary};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "shoebox",
    version,
    about = "Back up photo folders to a Shoebox (or Immich) server"
)]
struct Cli {
    /// Directory for credentials, the client database and caches (default: XDG dirs).
    #[arg(long, global = true, env = "SHOEBOX_STATE")]
    state: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Store the server address and an API key.
    Login {
        /// Server address, e.g. http://nas.local:2283
        url: String,
        /// An API key made on the server.
        #[arg(long, conflicts_with_all = ["email", "password"])]
        key: Option<String>,
        /// Log in with email and password instead; a key is created for this computer.
        #[arg(long, requires = "password")]
        email: Option<String>,
        #[arg(long, requires = "email")]
        password: Option<String>,
    },
    /// List the albums (folders) of a library with their photo counts.
    Albums { dir: PathBuf },
    /// Back up a folder tree; each folder is an album.
    Backup(backup::BackupArgs),
    /// Show the backup queue and the last run.
    Status {
        #[arg(long)]
        json: bool,
        /// List every file not backed up yet and what it waits for.
        #[arg(long)]
        pending: bool,
    },
    /// Show the timeline (this computer's library merged with the server's), by month.
    Timeline(timeline::TimelineArgs),
    /// Write an asset's cached (or fetched) thumbnail to a file.
    Thumb(timeline::ThumbArgs),
    /// Print the SHA-1 of files, as the server dedups on it.
    Hash { files: Vec<PathBuf> },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            if let Some(core) = e.downcast_ref::<shoebox_core::CoreError>() {
                eprintln!("hint: {}", core.hint());
            }
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    let dirs = credentials::StateDirs::resolve(cli.state.as_deref())?;
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    match cli.command {
        Command::Login {
            url,
            key,
            email,
            password,
        } => rt.block_on(credentials::login(&dirs, &url, key, email, password)),
        Command::Albums { dir } => albums(&dir),
        Command::Backup(args) => rt.block_on(backup::run(&dirs, args)),
        Command::Status { json, pending } => match pending {
            true => status::pending(&dirs, json),
            false => status::show(&dirs, json),
        },
        Command::Timeline(args) => rt.block_on(timeline::show(&dirs, args)),
        Command::Thumb(args) => rt.block_on(timeline::thumb(&dirs, args)),
        Command::Hash { files } => hash(&files),
    }
}

fn albums(dir: &Path) -> Result<ExitCode> {
    let library = FsLibrary::new(dir)?;
    let assets = library.assets()?;
    println!("{:>7}  album", "photos");
    for album in library.albums()? {
        let n = assets
            .iter()
            .filter(|a| a.album_ids.contains(&album.id))
            .count();
        let path = if album.id.is_empty() { "." } else { &album.id };
        println!("{n:>7}  {}  ({path})", album.name);
    }
    Ok(ExitCode::SUCCESS)
}

fn hash(files: &[PathBuf]) -> Result<ExitCode> {
    for path in files {
        let (digest, _) = shoebox_core::sha1_file(path)?;
        println!("{}  {}", hex::encode(digest), path.display());
    }
    Ok(ExitCode::SUCCESS)
}
