//! The data directory on disk: where the database, originals, partial tus uploads and multipart
//! temp files live, and the durable-write primitives (fsync a file and its directory, atomic
//! promotion into the library) that the crash-safety rules rest on.

pub mod reconcile;
pub mod sink;
pub mod snapshot;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Clone)]
pub struct Storage {
    root: Arc<PathBuf>,
}

pub const LIBRARY: &str = "library";
const UPLOADS: &str = "uploads";
const TMP: &str = "tmp";
pub const THUMBS: &str = "thumbs";

impl Storage {
    /// Creates the directory layout under `root` if missing.
    pub fn open(root: &Path) -> io::Result<Self> {
        for dir in [LIBRARY, UPLOADS, TMP, THUMBS] {
            fs::create_dir_all(root.join(dir))?;
        }
        let root = fs::canonicalize(root)?;
        Ok(Self {
            root: Arc::new(root),
        })
    }

    pub fn db_path(&self) -> PathBuf {
        self.root.join("shoebox.db")
    }

    pub fn tmp_dir(&self) -> PathBuf {
        self.root.join(TMP)
    }

    pub fn uploads_dir(&self) -> PathBuf {
        self.root.join(UPLOADS)
    }

    pub fn library_dir(&self) -> PathBuf {
        self.root.join(LIBRARY)
    }

    /// A fresh path in `tmp/` for a multipart upload in progress.
    pub fn new_tmp_path(&self) -> PathBuf {
        self.tmp_dir().join(crate::ids::new_id())
    }

    /// The `.part` file of a tus upload (`id` is a server-made UUID).
    pub fn part_path(&self, upload_id: &str) -> PathBuf {
        self.uploads_dir().join(format!("{upload_id}.part"))
    }

    /// Where an original lives, relative to the data directory: by owner and SHA-1 only, never
    /// by a client-supplied name.
    pub fn library_rel_path(owner_id: &str, sha1: &[u8; 20]) -> String {
        let hex = hex::encode(sha1);
        format!("{LIBRARY}/{owner_id}/{}/{}/{hex}", &hex[0..2], &hex[2..4])
    }

    pub fn abs(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    pub fn thumbs_dir(&self) -> PathBuf {
        self.root.join(THUMBS)
    }

    /// Where a derived image (`kind` = thumbnail / preview) of an asset lives, relative to the
    /// data directory. Both ids are server-made UUIDs.
    pub fn derived_rel_path(owner_id: &str, asset_id: &str, kind: &str, ext: &str) -> String {
        let a = asset_id.get(0..2).unwrap_or("xx");
        let b = asset_id.get(2..4).unwrap_or("xx");
        format!("{THUMBS}/{owner_id}/{a}/{b}/{asset_id}-{kind}.{ext}")
    }

    /// Writes `bytes` at `rel` crash-safely: a temp file in `tmp/`, fsync, atomic rename,
    /// fsync of the directory. Readers see the old file or the new one, never a torn one.
    pub fn write_atomic(&self, rel: &str, bytes: &[u8]) -> io::Result<()> {
        use std::io::Write;
        let tmp = TempFile::new(self.new_tmp_path());
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(tmp.path())?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        promote(tmp.path(), &self.abs(rel))?;
        tmp.keep();
        Ok(())
    }
}

/// fsyncs a directory so a rename or create inside it is durable.
pub fn fsync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

/// Makes `src` (a complete, already fsynced file) the original at `dst`: creates the parent
/// directories durably, renames atomically (same filesystem) and fsyncs the parent.
pub fn promote(src: &Path, dst: &Path) -> io::Result<()> {
    let parent = dst
        .parent()
        .ok_or_else(|| io::Error::other("library path has no parent"))?;
    create_dirs_durably(parent)?;
    fs::rename(src, dst)?;
    fsync_dir(parent)?;
    if let Some(src_dir) = src.parent() {
        fsync_dir(src_dir)?;
    }
    Ok(())
}

fn create_dirs_durably(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        create_dirs_durably(parent)?;
    }
    match fs::create_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(()),
        Err(e) => return Err(e),
    }
    if let Some(parent) = dir.parent() {
        fsync_dir(parent)?;
    }
    Ok(())
}

/// Removes a file, treating "already gone" as success.
pub fn remove_quietly(path: &Path) {
    if let Err(e) = fs::remove_file(path)
        && e.kind() != io::ErrorKind::NotFound
    {
        tracing::warn!(path = %path.display(), %e, "could not remove file");
    }
}

/// Deletes its file when dropped, unless [`TempFile::keep`] was called: every early return or
/// dropped request leaves nothing behind.
pub struct TempFile {
    path: Option<PathBuf>,
}

impl TempFile {
    pub fn new(path: PathBuf) -> Self {
        Self { path: Some(path) }
    }
    pub fn path(&self) -> &Path {
        self.path.as_deref().unwrap_or(Path::new(""))
    }
    /// Disarms the guard (the file was promoted or handed on).
    pub fn keep(mut self) -> PathBuf {
        self.path.take().unwrap_or_default()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(p) = self.path.take() {
            remove_quietly(&p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_path_is_built_from_owner_and_hash_only() {
        let p = Storage::library_rel_path("u1", &[0xab; 20]);
        assert_eq!(p, format!("library/u1/ab/ab/{}", "ab".repeat(20)));
    }

    #[test]
    fn promote_moves_and_creates_parents() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        fs::write(&src, b"x").unwrap();
        let dst = dir.path().join("a/b/c/dst");
        promote(&src, &dst).unwrap();
        assert!(!src.exists());
        assert_eq!(fs::read(&dst).unwrap(), b"x");
    }

    #[test]
    fn temp_file_is_removed_unless_kept() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        fs::write(&a, b"1").unwrap();
        fs::write(&b, b"2").unwrap();
        drop(TempFile::new(a.clone()));
        let kept = TempFile::new(b.clone()).keep();
        assert!(!a.exists());
        assert!(kept.exists());
    }
}
