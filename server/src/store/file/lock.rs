//! One process owns a data file: the server for its whole life, or `import` /
//! `export` for theirs. Two writers of one file would each replay and compact
//! without seeing the other's writes, so the second one is refused at once.

use super::files::DataFiles;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;

/// Held for as long as it lives; the OS releases the lock if the process dies.
#[derive(Debug)]
pub struct DataLock {
    _file: File,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "data file {shown} is in use by another customer-records process ({holder}). \
         Stop that process first, or, while it runs, go through its HTTP API \
         (GET / lists every customer, POST /set stores one) instead of opening the file"
    )]
    Held { shown: String, holder: String },
    #[error("cannot lock data file {shown}: {source}")]
    Io {
        shown: String,
        source: std::io::Error,
    },
}

/// Takes the lock for `purpose` (e.g. `serve`), recording who holds it for the
/// message a second process gets.
pub fn acquire(files: &DataFiles, purpose: &str) -> Result<DataLock, LockError> {
    let io = |source| LockError::Io {
        shown: files.shown.clone(),
        source,
    };
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(files.lock())
        .map_err(io)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = match holder.trim() {
                "" => "holder unknown".to_owned(),
                text => text.to_owned(),
            };
            return Err(LockError::Held {
                shown: files.shown.clone(),
                holder,
            });
        }
        Err(TryLockError::Error(e)) => return Err(io(e)),
    }
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let record = format!(
        "pid {}, running `customer-records {purpose}` since unix time {since}\n",
        std::process::id()
    );
    file.set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| file.write_all(record.as_bytes()))
        .map_err(io)?;
    Ok(DataLock { _file: file })
}
