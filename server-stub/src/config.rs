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
