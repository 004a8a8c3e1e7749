//! `shoebox-server snapshot` and `shoebox-server verify`: a consistent copy of a data directory
//! while the server runs, and a check of every original against its SHA-1.
//!
//! A snapshot is the database as of one instant (SQLite's online backup API, in one step, so one
//! read transaction) plus the files that database points at. Originals are content-addressed and
//! never change once promoted, and derived files are only ever replaced by rename, so both are
//! hard-linked when DEST is on the same filesystem (`--copy` forces copies, which also protect
//! against damage to the source's blocks); tus `.part` files grow in place and are always copied.
//! Whatever was removed between that instant and its copy (an asset deleted for good, an upload
//! finished or expired meanwhile) is taken out of the snapshot's database, so the snapshot
//! never promises a file it lacks. The snapshot is built in `DEST.partial` and renamed to DEST
//! when complete, with `manifest.json` listing every original and its SHA-1.

use crate::store::{self, StoreError};
use anyhow::{Context, Result, bail};
use rusqlite::{Connection, OpenFlags};
use serde_json::json;
use sha1::{Digest, Sha1};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const MANIFEST: &str = "manifest.json";
const DB: &str = "shoebox.db";

fn store(e: StoreError) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

/// What a snapshot did.
#[derive(Debug, Default)]
pub struct Report {
    pub originals: usize,
    pub derived: usize,
    pub uploads: usize,
    pub linked: usize,
    pub copied: usize,
    /// Rows taken out because their file went away while the snapshot ran.
    pub dropped: Vec<String>,
}

/// Whether `dir` looks like a Shoebox data directory.
fn is_data_dir(dir: &Path) -> bool {
    dir.join(DB).is_file() && dir.join(super::LIBRARY).is_dir()
}

/// Snapshots the data directory `data` into `to` (which must not exist or be empty).
pub fn snapshot(data: &Path, to: &Path, force_copy: bool) -> Result<Report> {
    if !is_data_dir(data) {
        bail!(
            "{} is not a Shoebox data directory (no {DB} and library/)",
            data.display()
        );
    }
    if to.exists() {
        let empty = fs::read_dir(to)
            .with_context(|| format!("reading {}", to.display()))?
            .next()
            .is_none();
        if !empty {
            bail!(
                "{} exists and is not empty; snapshot into a new directory",
                to.display()
            );
        }
    }
    let data = fs::canonicalize(data)?;
    let name = to
        .file_name()
        .ok_or_else(|| anyhow::anyhow!("{} has no directory name", to.display()))?;
    let parent = match to.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent)?;
    let parent = fs::canonicalize(&parent)?;
    if parent.starts_with(&data) {
        bail!("the snapshot cannot go inside the data directory it copies");
    }
    let mut partial_name = name.to_os_string();
    partial_name.push(".partial");
    let work = parent.join(partial_name);
    if work.exists() {
        fs::remove_dir_all(&work)
            .with_context(|| format!("removing an unfinished snapshot at {}", work.display()))?;
    }
    fs::create_dir_all(&work)?;
    let result = build(&data, &work, force_copy);
    if result.is_err() {
        let _ = fs::remove_dir_all(&work);
        return result;
    }
    let dest = parent.join(name);
    if dest.exists() {
        fs::remove_dir(&dest).with_context(|| format!("replacing empty {}", dest.display()))?;
    }
    fs::rename(&work, &dest)?;
    super::fsync_dir(&parent)?;
    result
}

fn build(data: &Path, work: &Path, force_copy: bool) -> Result<Report> {
    // 1. The database as of now, in one step (one read transaction on the source).
    let db_path = work.join(DB);
    {
        let src = Connection::open_with_flags(
            data.join(DB),
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .context("opening the source database")?;
        src.busy_timeout(Duration::from_secs(30))?;
        let mut dst = Connection::open(&db_path)?;
        let backup = rusqlite::backup::Backup::new(&src, &mut dst)?;
        let mut tries = 0;
        loop {
            match backup.step(-1)? {
                rusqlite::backup::StepResult::Done => break,
                _ if tries < 600 => {
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(50));
                }
                other => bail!("the database stayed busy ({other:?}); try again"),
            }
        }
    }
    let c = Connection::open(&db_path)?;
    c.pragma_update(None, "foreign_keys", "ON")?;
    // The copy is a plain file, not a WAL database being written: keep it in one file.
    c.pragma_update(None, "journal_mode", "DELETE")?;

    let mut report = Report::default();
    for dir in [super::LIBRARY, super::THUMBS, "uploads", "tmp"] {
        fs::create_dir_all(work.join(dir))?;
    }
    let mut place = |rel: &str, copy: bool| -> Result<bool> {
        let src = data.join(rel);
        let dst = work.join(rel);
        if let Some(p) = dst.parent() {
            fs::create_dir_all(p)?;
        }
        if !copy && fs::hard_link(&src, &dst).is_ok() {
            report.linked += 1;
            return Ok(true);
        }
        match copy_synced(&src, &dst) {
            Ok(()) => {
                report.copied += 1;
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e).with_context(|| format!("copying {rel}")),
        }
    };

    // 2. Originals, each where the database says, checked against its name.
    let mut manifest_originals = Vec::new();
    let mut dropped = Vec::new();
    for o in store::snapshot::originals(&c).map_err(store)? {
        if !safe_rel(&o.storage_path) {
            bail!(
                "asset {} has an odd storage path {:?}",
                o.asset_id,
                o.storage_path
            );
        }
        if place(&o.storage_path, force_copy)? {
            manifest_originals.push(json!({
                "path": o.storage_path,
                "sha1": hex::encode(o.checksum),
                "size": o.file_size,
                "assetId": o.asset_id,
                "ownerId": o.owner_id,
            }));
        } else {
            store::snapshot::drop_asset(&c, &o.asset_id).map_err(store)?;
            dropped.push(format!("asset {} ({})", o.asset_id, o.storage_path));
        }
    }
    // 3. Derived files and sidecars (of the assets still there).
    for (asset, kind, path) in store::snapshot::asset_files(&c).map_err(store)? {
        if !safe_rel(&path) {
            bail!("asset {asset} has an odd file path {path:?}");
        }
        if place(&path, force_copy)? {
            report.derived += 1;
        } else {
            store::snapshot::drop_asset_file(&c, &asset, &kind).map_err(store)?;
            dropped.push(format!("{kind} of asset {asset}"));
        }
    }
    // 4. Unfinished uploads: copied (they grow in place), and only with their committed bytes.
    for (id, offset) in store::snapshot::open_uploads(&c).map_err(store)? {
        let rel = format!("uploads/{id}.part");
        let kept = safe_rel(&rel) && place(&rel, true)?;
        let long_enough = kept && fs::metadata(work.join(&rel)).is_ok_and(|m| m.len() >= offset);
        if long_enough {
            let f = fs::OpenOptions::new().write(true).open(work.join(&rel))?;
            f.set_len(offset)?;
            f.sync_all()?;
            report.uploads += 1;
        } else {
            let _ = fs::remove_file(work.join(&rel));
            store::snapshot::drop_upload(&c, &id).map_err(store)?;
            dropped.push(format!("upload {id}"));
        }
    }
    drop(c);
    report.originals = manifest_originals.len();
    report.dropped = dropped;
    let manifest = json!({
        "format": "shoebox-snapshot/1",
        "createdAt": crate::clock::now_api(),
        "source": data.display().to_string(),
        "database": {"path": DB, "sha1": hex::encode(sha1_file(&db_path)?)},
        "originals": manifest_originals,
        "derivedFiles": report.derived,
        "uploads": report.uploads,
        "dropped": report.dropped,
    });
    let text = serde_json::to_vec_pretty(&manifest)?;
    let mpath = work.join(MANIFEST);
    fs::write(&mpath, text)?;
    fs::File::open(&mpath)?.sync_all()?;
    fs::File::open(&db_path)?.sync_all()?;
    super::fsync_dir(work)?;
    Ok(report)
}

/// A relative path inside the data directory, no `..` or absolute parts.
fn safe_rel(rel: &str) -> bool {
    let p = Path::new(rel);
    !rel.is_empty()
        && p.components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
}

fn copy_synced(src: &Path, dst: &Path) -> std::io::Result<()> {
    fs::copy(src, dst)?;
    fs::File::open(dst)?.sync_all()
}

fn sha1_file(path: &Path) -> std::io::Result<[u8; 20]> {
    let mut f = fs::File::open(path)?;
    let mut h = Sha1::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().into())
}

/// What is wrong with one original.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    Missing,
    /// Its bytes hash to this SHA-1 now, not to the one it was stored under.
    Corrupt(String),
    Unreadable(String),
}

/// One original `verify` found wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: String,
    pub asset_id: String,
    /// The file name the client uploaded it as.
    pub name: String,
    pub fault: Fault,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Problem {
            path,
            asset_id,
            name,
            fault,
        } = self;
        let name = name.escape_debug();
        match fault {
            Fault::Missing => write!(f, "missing {path} ({name}, asset {asset_id})"),
            Fault::Corrupt(now) => write!(
                f,
                "corrupt {path} ({name}, asset {asset_id}): its SHA-1 is now {now}"
            ),
            Fault::Unreadable(e) => {
                write!(f, "unreadable {path} ({name}, asset {asset_id}): {e}")
            }
        }
    }
}

/// Checks every original of the data directory `data` against the SHA-1 the database holds
/// (read-only; safe while the server runs). Returns how many were checked and the problems.
pub fn verify(data: &Path) -> Result<(usize, Vec<Problem>)> {
    if !is_data_dir(data) {
        bail!(
            "{} is not a Shoebox data directory (no {DB} and library/)",
            data.display()
        );
    }
    let c = Connection::open_with_flags(
        data.join(DB),
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .context("opening the database")?;
    c.busy_timeout(Duration::from_secs(30))?;
    let originals = store::snapshot::originals(&c).map_err(store)?;
    drop(c);
    let mut problems = Vec::new();
    for o in &originals {
        let fault = if !safe_rel(&o.storage_path) {
            Some(Fault::Unreadable(
                "not a path inside the data directory".into(),
            ))
        } else {
            match sha1_file(&data.join(&o.storage_path)) {
                Ok(sum) if sum == o.checksum => None,
                Ok(sum) => Some(Fault::Corrupt(hex::encode(sum))),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(Fault::Missing),
                Err(e) => Some(Fault::Unreadable(e.to_string())),
            }
        };
        if let Some(fault) = fault {
            problems.push(Problem {
                path: o.storage_path.clone(),
                asset_id: o.asset_id.clone(),
                name: o.original_file_name.clone(),
                fault,
            });
        }
    }
    Ok((originals.len(), problems))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_relative_paths_are_followed() {
        assert!(safe_rel("library/u/ab/cd/abcd"));
        assert!(safe_rel("uploads/x.part"));
        for bad in ["", "/etc/passwd", "../x", "library/../../x", "./x"] {
            assert!(!safe_rel(bad), "{bad}");
        }
    }
}
