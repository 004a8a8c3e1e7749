//! `FsLibrary`: a folder tree as a photo library, for the desktop CLI and the tests. Every
//! folder holding photos or videos is an album named after the folder; an asset's id is its
//! path relative to the root. `watch` reports changes through `notify`.

use super::{Album, LocalAsset, MediaType, PhotoLibrary, Stat};
use crate::error::{CoreError, CoreResult};
use std::fs;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Component, Path, PathBuf};
use std::time::UNIX_EPOCH;

const IMAGE_EXTS: &[&str] = &[
    "jpg", "jpeg", "jpe", "png", "gif", "webp", "heic", "heif", "hif", "avif", "jxl", "tif",
    "tiff", "bmp", "dng", "cr2", "cr3", "nef", "arw", "orf", "raf", "rw2", "srw", "pef", "raw",
    "insp",
];
const VIDEO_EXTS: &[&str] = &[
    "mp4", "mov", "m4v", "3gp", "3gpp", "avi", "mkv", "webm", "mts", "m2ts", "mpg", "mpeg", "wmv",
    "flv", "insv",
];

/// The media type of a file name by extension, `None` for anything we do not back up.
pub fn media_type_of(name: &str) -> Option<MediaType> {
    let ext = Path::new(name).extension()?.to_str()?.to_ascii_lowercase();
    if IMAGE_EXTS.contains(&ext.as_str()) {
        Some(MediaType::Image)
    } else if VIDEO_EXTS.contains(&ext.as_str()) {
        Some(MediaType::Video)
    } else {
        None
    }
}

pub struct FsLibrary {
    root: PathBuf,
    root_name: String,
}

impl FsLibrary {
    pub fn new(root: impl Into<PathBuf>) -> CoreResult<Self> {
        let root = root.into();
        let root = fs::canonicalize(&root)
            .map_err(|e| CoreError::Library(format!("{}: {e}", root.display())))?;
        if !root.is_dir() {
            return Err(CoreError::Library(format!(
                "{} is not a folder",
                root.display()
            )));
        }
        let root_name = root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "Library".into());
        Ok(Self { root, root_name })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file behind a local id; refuses ids that would leave the root.
    fn path_of(&self, local_id: &str) -> CoreResult<PathBuf> {
        let rel = Path::new(local_id);
        if local_id.is_empty() || rel.components().any(|c| !matches!(c, Component::Normal(_))) {
            return Err(CoreError::Library(format!("invalid asset id {local_id:?}")));
        }
        Ok(self.root.join(rel))
    }

    fn album_of(&self, rel_dir: &Path) -> Album {
        let id = rel_dir.to_string_lossy().into_owned();
        let name = rel_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.root_name.clone());
        Album { id, name }
    }

    fn walk(&self, dir: &Path, out: &mut Vec<LocalAsset>) -> CoreResult<()> {
        let entries = match fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if dir != self.root => {
                tracing::warn!(dir = %dir.display(), %e, "skipping unreadable folder");
                return Ok(());
            }
            Err(e) => return Err(CoreError::Library(format!("{}: {e}", dir.display()))),
        };
        let mut entries: Vec<_> = entries.flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let path = entry.path();
            let Ok(ty) = entry.file_type() else { continue };
            if ty.is_dir() {
                self.walk(&path, out)?;
                continue;
            }
            if !ty.is_file() {
                continue;
            }
            let Some(media_type) = media_type_of(&name) else {
                continue;
            };
            let Ok(meta) = entry.metadata() else { continue };
            let Ok(rel) = path.strip_prefix(&self.root) else {
                continue;
            };
            let album = self.album_of(rel.parent().unwrap_or(Path::new("")));
            let modified_ms = millis(meta.modified().ok());
            out.push(LocalAsset {
                local_id: rel.to_string_lossy().into_owned(),
                file_name: name,
                album_ids: vec![album.id],
                size: meta.len(),
                modified_ms,
                created_ms: meta
                    .created()
                    .ok()
                    .map(|t| millis(Some(t)))
                    .filter(|ms| *ms > 0)
                    .map_or(modified_ms, |c| c.min(modified_ms)),
                media_type,
            });
        }
        Ok(())
    }

    /// Watches the tree; each change to a media file sends `()` (coalesced when the receiver
    /// is behind). Keep the returned watcher alive for as long as events are wanted.
    pub fn watch(
        &self,
    ) -> CoreResult<(notify::RecommendedWatcher, tokio::sync::mpsc::Receiver<()>)> {
        use notify::{EventKind, RecursiveMode, Watcher};
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
            let Ok(event) = res else { return };
            // A media file, or a folder (moved in or out with the photos inside it: its own
            // name says nothing; the rescan that follows is stat-only).
            let relevant = matches!(
                event.kind,
                EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_)
            ) && event.paths.iter().any(|p| {
                p.is_dir()
                    || matches!(
                        event.kind,
                        EventKind::Create(notify::event::CreateKind::Folder)
                            | EventKind::Remove(notify::event::RemoveKind::Folder)
                    )
                    || p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| media_type_of(n).is_some())
            });
            if relevant {
                let _ = tx.try_send(());
            }
        })
        .map_err(|e| CoreError::Library(format!("cannot watch: {e}")))?;
        watcher
            .watch(&self.root, RecursiveMode::Recursive)
            .map_err(|e| CoreError::Library(format!("cannot watch: {e}")))?;
        Ok((watcher, rx))
    }
}

fn millis(t: Option<std::time::SystemTime>) -> i64 {
    t.and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_millis() as i64)
}

fn read_error(local_id: &str, e: io::Error) -> CoreError {
    if e.kind() == io::ErrorKind::NotFound {
        CoreError::FileVanished(local_id.to_owned())
    } else {
        CoreError::FileUnreadable {
            name: local_id.to_owned(),
            reason: e.to_string(),
        }
    }
}

impl PhotoLibrary for FsLibrary {
    fn albums(&self) -> CoreResult<Vec<Album>> {
        let mut albums: Vec<Album> = Vec::new();
        for asset in self.assets()? {
            for id in asset.album_ids {
                if !albums.iter().any(|a| a.id == id) {
                    albums.push(self.album_of(Path::new(&id)));
                }
            }
        }
        Ok(albums)
    }

    fn assets(&self) -> CoreResult<Vec<LocalAsset>> {
        let mut out = Vec::new();
        self.walk(&self.root.clone(), &mut out)?;
        Ok(out)
    }

    fn stat(&self, local_id: &str) -> CoreResult<Stat> {
        match fs::metadata(self.path_of(local_id)?) {
            Ok(m) if m.is_file() => Ok(Some((m.len(), millis(m.modified().ok())))),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(read_error(local_id, e)),
        }
    }

    fn read(&self, local_id: &str, offset: u64, len: u32) -> CoreResult<Vec<u8>> {
        let file = fs::File::open(self.path_of(local_id)?).map_err(|e| read_error(local_id, e))?;
        let mut buf = vec![0u8; len as usize];
        let mut filled = 0usize;
        while filled < buf.len() {
            match file.read_at(&mut buf[filled..], offset + filled as u64) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(read_error(local_id, e)),
            }
        }
        buf.truncate(filled);
        Ok(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_are_albums_and_only_media_counts() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("Pictures");
        fs::create_dir_all(root.join("Trips/Paris")).unwrap();
        fs::create_dir_all(root.join(".hidden")).unwrap();
        fs::write(root.join("Trips/Paris/a.JPG"), b"a").unwrap();
        fs::write(root.join("Trips/b.mp4"), b"bb").unwrap();
        fs::write(root.join("top.png"), b"ccc").unwrap();
        fs::write(root.join("notes.txt"), b"x").unwrap();
        fs::write(root.join(".hidden/h.jpg"), b"x").unwrap();
        let lib = FsLibrary::new(&root).unwrap();
        let assets = lib.assets().unwrap();
        let ids: Vec<_> = assets.iter().map(|a| a.local_id.as_str()).collect();
        assert_eq!(ids, ["Trips/Paris/a.JPG", "Trips/b.mp4", "top.png"]);
        assert_eq!(assets[1].media_type, MediaType::Video);
        let names: Vec<_> = lib.albums().unwrap().into_iter().map(|a| a.name).collect();
        assert_eq!(names, ["Paris", "Trips", "Pictures"]);
        assert_eq!(lib.read("Trips/b.mp4", 1, 10).unwrap(), b"b");
        assert_eq!(lib.stat("top.png").unwrap().unwrap().0, 3);
        assert_eq!(lib.stat("gone.jpg").unwrap(), None);
        assert!(matches!(
            lib.read("gone.jpg", 0, 1),
            Err(CoreError::FileVanished(_))
        ));
        for bad in ["../etc/passwd", "/etc/passwd", "a/../../x", ""] {
            assert!(lib.read(bad, 0, 1).is_err(), "{bad}");
        }
    }
}
