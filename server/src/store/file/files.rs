//! The files of one embedded store, all in the directory of the data file:
//!
//! - `customers.json`: the snapshot, in the original app's format (what `export` writes);
//! - `customers.json.journal`: every write since the snapshot, one JSON line each;
//! - `customers.json.journal.old`: the journal being folded into a new snapshot;
//! - `customers.json.versions`: each customer's version as of the snapshot;
//! - `customers.json.lock`: held (flock) by the one process that owns the store;
//! - `.customers.json.<pid>-<n>.tmp`: a file being written, renamed into place when whole.
//!
//! A symlinked data file is followed once at start-up: the snapshot is replaced
//! at the link's target, so the link stays and points at the new data.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Mode of a data file the store creates: customer records are personal data.
const NEW_FILE_MODE: u32 = 0o600;

#[derive(Clone, Debug)]
pub struct DataFiles {
    /// The path as configured, for messages.
    pub shown: String,
    /// The snapshot, symlinks resolved.
    pub snapshot: PathBuf,
    dir: PathBuf,
    name: String,
}

impl DataFiles {
    pub fn resolve(configured: &Path) -> io::Result<Self> {
        let snapshot = follow_symlinks(configured)?;
        let dir = match snapshot.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = snapshot
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| io::Error::other("the data file path names no file"))?;
        if !dir.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("directory {} does not exist", dir.display()),
            ));
        }
        Ok(Self {
            shown: configured.display().to_string(),
            snapshot,
            dir,
            name,
        })
    }

    fn beside(&self, suffix: &str) -> PathBuf {
        self.dir.join(format!("{}{suffix}", self.name))
    }

    pub fn journal(&self) -> PathBuf {
        self.beside(".journal")
    }

    pub fn old_journal(&self) -> PathBuf {
        self.beside(".journal.old")
    }

    pub fn versions(&self) -> PathBuf {
        self.beside(".versions")
    }

    pub fn audit(&self) -> PathBuf {
        self.beside(".audit")
    }

    pub fn lock(&self) -> PathBuf {
        self.beside(".lock")
    }

    /// The mode new files get: the snapshot's when there is one, so a 0600 data
    /// file does not leak through a 0644 journal.
    pub fn mode(&self) -> u32 {
        std::fs::metadata(&self.snapshot)
            .map(|m| m.permissions().mode() & 0o7777)
            .unwrap_or(NEW_FILE_MODE)
    }

    /// Opens (creating if need be) a file for appending, with the store's mode.
    pub fn open_append(&self, path: &Path) -> io::Result<File> {
        OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .mode(self.mode())
            .open(path)
    }

    /// Makes renames and new files in the directory durable.
    pub fn sync_dir(&self) -> io::Result<()> {
        File::open(&self.dir)?.sync_all()
    }

    /// Replaces `target` (one of this store's files) with what `write` writes:
    /// into a new temporary file (created exclusively, so no planted file or
    /// symlink is followed), synced, given the target's mode and owner, renamed
    /// over the target, and the directory synced. A crash leaves the old file or
    /// the new one, never a torn one.
    pub fn replace(
        &self,
        target: &Path,
        write: impl FnOnce(&mut BufWriter<&File>) -> io::Result<()>,
    ) -> io::Result<()> {
        let temp = self.temp_path();
        let result = (|| {
            let file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(NEW_FILE_MODE)
                .open(&temp)?;
            let mut out = BufWriter::with_capacity(1 << 20, &file);
            write(&mut out)?;
            out.flush()?;
            drop(out);
            keep_mode_and_owner(&file, target)?;
            file.sync_all()?;
            std::fs::rename(&temp, target)?;
            self.sync_dir()
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&temp);
        }
        result
    }

    fn temp_path(&self) -> PathBuf {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        self.dir
            .join(format!(".{}.{}-{n}.tmp", self.name, std::process::id()))
    }

    /// Removes temporary files a crashed process left (only ever called by the
    /// lock holder, so none of them is being written).
    pub fn remove_stale_temp_files(&self) {
        let prefix = format!(".{}.", self.name);
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(&prefix) && name.ends_with(".tmp") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// New files take the mode and owner of the file they replace; files new to the
/// directory keep the store's private mode.
fn keep_mode_and_owner(file: &File, target: &Path) -> io::Result<()> {
    let Ok(old) = std::fs::metadata(target) else {
        return Ok(());
    };
    file.set_permissions(std::fs::Permissions::from_mode(old.mode() & 0o7777))?;
    if let Err(e) = std::os::unix::fs::fchown(file, Some(old.uid()), Some(old.gid())) {
        // Only root may give a file away; the mode is what protects it.
        if e.kind() != io::ErrorKind::PermissionDenied {
            return Err(e);
        }
    }
    Ok(())
}

/// The file a (chain of) symlink(s) points at, even when that file does not exist yet.
fn follow_symlinks(path: &Path) -> io::Result<PathBuf> {
    let mut path = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = std::fs::read_link(&path)?;
                path = match path.parent() {
                    Some(dir) if target.is_relative() => dir.join(target),
                    _ => target,
                };
            }
            _ => return Ok(path),
        }
    }
    Err(io::Error::other("too many levels of symbolic links"))
}
