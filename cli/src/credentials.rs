//! Where the CLI keeps things (`--state DIR`, or the XDG config and data dirs), and the stored
//! server address + API key (`credentials.json`, mode 0600). `SHOEBOX_SERVER` and
//! `SHOEBOX_API_KEY` take precedence over what is stored.

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use shoebox_core::server::ServerApi;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub struct StateDirs {
    pub config: PathBuf,
    pub data: PathBuf,
}

impl StateDirs {
    pub fn resolve(state: Option<&Path>) -> Result<Self> {
        if let Some(dir) = state {
            return Ok(Self {
                config: dir.to_owned(),
                data: dir.to_owned(),
            });
        }
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let xdg = |var: &str, fallback: &str| -> Result<PathBuf> {
            match std::env::var_os(var).filter(|v| !v.is_empty()) {
                Some(v) => Ok(PathBuf::from(v).join("shoebox")),
                None => Ok(home
                    .clone()
                    .context("HOME is not set; pass --state DIR")?
                    .join(fallback)
                    .join("shoebox")),
            }
        };
        Ok(Self {
            config: xdg("XDG_CONFIG_HOME", ".config")?,
            data: xdg("XDG_DATA_HOME", ".local/share")?,
        })
    }

    fn credentials_path(&self) -> PathBuf {
        self.config.join("credentials.json")
    }
}

#[derive(Serialize, Deserialize, Clone)]
pub struct Credentials {
    pub server: String,
    pub api_key: String,
}

/// The credentials to use: environment first, then the stored file.
pub fn load(dirs: &StateDirs) -> Result<Credentials> {
    let stored: Option<Credentials> = std::fs::read(dirs.credentials_path())
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let server = std::env::var("SHOEBOX_SERVER")
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| stored.as_ref().map(|c| c.server.clone()));
    let key = std::env::var("SHOEBOX_API_KEY")
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| stored.as_ref().map(|c| c.api_key.clone()));
    match (server, key) {
        (Some(server), Some(api_key)) => Ok(Credentials { server, api_key }),
        _ => bail!(
            "not logged in: run `shoebox login URL --key KEY` or set SHOEBOX_SERVER and SHOEBOX_API_KEY"
        ),
    }
}

pub async fn login(
    dirs: &StateDirs,
    url: &str,
    key: Option<String>,
    email: Option<String>,
    password: Option<String>,
) -> Result<ExitCode> {
    let api_key = match (key, email, password) {
        (Some(k), _, _) => k,
        (None, Some(email), Some(password)) => {
            let host = std::fs::read_to_string("/etc/hostname")
                .map(|h| h.trim().to_owned())
                .unwrap_or_else(|_| "this computer".into());
            ServerApi::create_key_with_password(
                url,
                &email,
                &password,
                &format!("shoebox CLI on {host}"),
            )
            .await?
        }
        _ => bail!("give --key KEY, or --email and --password"),
    };
    let api = ServerApi::new(url, &api_key)?;
    let me = api.me().await?;
    let creds = Credentials {
        server: url.trim_end_matches('/').to_owned(),
        api_key,
    };
    std::fs::create_dir_all(&dirs.config)
        .with_context(|| format!("creating {}", dirs.config.display()))?;
    let path = dirs.credentials_path();
    let tmp = path.with_extension("json.tmp");
    {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .with_context(|| format!("writing {}", tmp.display()))?;
        f.write_all(&serde_json::to_vec_pretty(&creds)?)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, &path)?;
    println!(
        "Logged in to {} as {} ({}); credentials saved in {}",
        creds.server,
        me.get("name").and_then(|v| v.as_str()).unwrap_or("?"),
        me.get("email").and_then(|v| v.as_str()).unwrap_or("?"),
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}
