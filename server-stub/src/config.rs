//! Server settings, from flags or `SHOEBOX_*` environment variables.

use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Data directory: SQLite database and stored files.
    #[arg(long, env = "SHOEBOX_DATA")]
    pub data: PathBuf,
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "SHOEBOX_LISTEN", default_value = "127.0.0.1:2283")]
    pub listen: SocketAddr,
    /// Largest single file accepted, in bytes (tus `Tus-Max-Size`).
    #[arg(long, env = "SHOEBOX_MAX_UPLOAD_SIZE", default_value_t = 100 * 1024 * 1024 * 1024)]
    pub max_upload_size: u64,
    /// tus resumable uploads at `/api/upload`: `on`, or `off` to answer as a stock Immich server
    /// does (404 there), so clients use `POST /api/assets` (for testing their fallback).
    #[arg(long, env = "SHOEBOX_TUS", default_value = "on", value_parser = parse_switch,
          action = clap::ArgAction::Set)]
    pub tus: bool,
    /// Seconds without a PATCH after which an unfinished tus upload expires.
    #[arg(long, env = "SHOEBOX_UPLOAD_EXPIRY_SECS", default_value_t = 7 * 24 * 3600)]
    pub upload_expiry_secs: u64,
    /// How often the janitor sweeps expired uploads, in seconds.
    #[arg(long, env = "SHOEBOX_JANITOR_INTERVAL_SECS", default_value_t = 600)]
    pub janitor_interval_secs: u64,
    /// Seconds a deleted user stays restorable before their data is removed for good
    /// (Immich's user delete delay; default 7 days).
    #[arg(long, env = "SHOEBOX_USER_DELETE_DELAY_SECS", default_value_t = 7 * 24 * 3600)]
    pub user_delete_delay_secs: u64,
    /// Background jobs (EXIF, thumbnails) running at once; default: the number of CPU cores.
    /// 0 stops the workers (jobs wait in the queue).
    #[arg(long, env = "SHOEBOX_JOB_CONCURRENCY")]
    pub job_concurrency: Option<usize>,
    /// First retry delay of a failed job in milliseconds; doubles with each attempt.
    #[arg(long, env = "SHOEBOX_JOB_RETRY_BASE_MS", default_value_t = 5000)]
    pub job_retry_base_ms: u64,
    /// Machine-learning jobs (smart search embeddings): `on` or `off`. Reverse geocoding is
    /// data, not a model, and runs either way.
    #[arg(long, env = "SHOEBOX_ML", default_value = "on", value_parser = parse_switch,
          action = clap::ArgAction::Set)]
    pub ml: bool,
    /// Directory of model and geodata files (filled by `make models`); default
    /// `${SHOEBOX_CACHE:-$HOME/.cache/shoebox}/models`. Never fetched at run time.
    #[arg(long, env = "SHOEBOX_MODELS")]
    pub models: Option<PathBuf>,
    /// Model inferences running at once; default: one core fewer than the machine has.
    #[arg(long, env = "SHOEBOX_ML_THREADS")]
    pub ml_threads: Option<usize>,
    /// Face detector: `scrfd` (InsightFace SCRFD-500M, non-commercial weights; the default) or
    /// `blazeface` (MediaPipe BlazeFace, Apache-2.0). Faces are embedded with ArcFace either way.
    #[arg(long, env = "SHOEBOX_FACE_DETECTOR", default_value = "scrfd",
          value_parser = crate::ml::vision::FaceDetectorKind::parse)]
    pub face_detector: crate::ml::vision::FaceDetectorKind,
    /// Seconds a request body may go without a byte before the request is ended (a stalled
    /// phone upload). A tus PATCH keeps what arrived (HEAD gives the offset) and frees the
    /// upload for a resume at once.
    #[arg(long, env = "SHOEBOX_UPLOAD_IDLE_TIMEOUT_SECS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub upload_idle_timeout_secs: u64,
    /// Seconds a client has to send a request's headers once it starts one (slow-header
    /// clients are cut off).
    #[arg(long, env = "SHOEBOX_HEADER_READ_TIMEOUT_SECS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=3_600))]
    pub header_read_timeout_secs: u64,
    /// Faces that must look alike before they become a person (Immich's `minFaces`); a face
    /// short of that stays without a person until enough similar faces arrive.
    #[arg(long, env = "SHOEBOX_FACE_MIN_FACES", default_value_t = 3,
          value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub face_min_faces: u64,
    /// Reverse proxies whose `X-Forwarded-For` is believed (comma-separated addresses or CIDR
    /// networks, e.g. `127.0.0.1,10.0.0.0/8`). Default: none, so the TCP peer is the client.
    #[arg(long, env = "SHOEBOX_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<crate::auth::client::ProxyNet>,
}

fn parse_switch(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "on" | "true" | "1" | "yes" => Ok(true),
        "off" | "false" | "0" | "no" => Ok(false),
        _ => Err(format!("expected on or off, not {s:?}")),
    }
}

impl Config {
    pub fn job_workers(&self) -> usize {
        self.job_concurrency.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
        })
    }
}
