//! The journal: one JSON line per acknowledged write, appended and synced before
//! the write is answered, e.g.
//!
//! ```text
//! {"rev":7,"put":{"customerID":"a","firstName":"James","lastName":"Baker"}}
//! {"rev":8,"del":"b"}
//! ```
//!
//! Each line holds the whole record (or the deletion), so replaying a line that
//! the snapshot already contains changes nothing: start-up can replay a journal
//! that began before the snapshot was taken, which keeps compaction simple.

use app::domain::Customer;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::{self, Write};
use std::path::Path;

#[derive(Debug, Serialize, Deserialize)]
pub struct Entry {
    /// The store-wide revision this write created: the customer's new version.
    pub rev: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub put: Option<Customer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub del: Option<String>,
}

impl Entry {
    pub fn encode(&self, out: &mut Vec<u8>) {
        serde_json::to_writer(&mut *out, self).expect("a journal entry serialises");
        out.push(b'\n');
    }
}

/// What replaying a journal found.
#[derive(Debug, Default)]
pub struct Replay {
    pub entries: usize,
    /// Length of the journal's whole, valid lines: appending continues from here.
    pub valid_len: u64,
    /// Bytes after the valid lines: a write that was cut off by a crash (never
    /// acknowledged, since acknowledging waits for the sync).
    pub torn: Vec<u8>,
}

/// Feeds every whole, valid line of the journal at `path` to `apply`, in order;
/// `Ok(None)` when there is no journal. Stops at the first line that is cut off
/// or does not parse: nothing after a torn write was ever acknowledged.
pub fn replay(path: &Path, mut apply: impl FnMut(Entry)) -> io::Result<Option<Replay>> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut replay = Replay::default();
    let mut start = 0;
    while let Some(end) = bytes[start..].iter().position(|&b| b == b'\n') {
        let line = &bytes[start..start + end];
        match serde_json::from_slice::<Entry>(line) {
            Ok(entry) if entry.put.is_some() != entry.del.is_some() => apply(entry),
            _ => break,
        }
        replay.entries += 1;
        start += end + 1;
    }
    replay.valid_len = start as u64;
    replay.torn = bytes[start..].to_vec();
    Ok(Some(replay))
}

/// Each customer's version as of the snapshot, and the store's revision then
/// (`customers.json.versions`). Kept apart so the snapshot stays in the original format.
#[derive(Debug, Default, Deserialize)]
pub struct Versions {
    pub revision: u64,
    pub versions: HashMap<String, u64>,
}

pub fn read_versions(path: &Path) -> io::Result<Versions> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(io::Error::other),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Versions::default()),
        Err(e) => Err(e),
    }
}

pub fn write_versions<'a>(
    out: &mut impl Write,
    revision: u64,
    versions: impl Iterator<Item = (&'a str, u64)>,
) -> io::Result<()> {
    use serde::Serializer;
    write!(out, "{{\"revision\":{revision},\"versions\":")?;
    serde_json::Serializer::new(&mut *out).collect_map(versions)?;
    out.write_all(b"}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str) -> Vec<u8> {
        format!("{text}\n").into_bytes()
    }

    #[test]
    fn replay_stops_at_a_torn_or_broken_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let mut bytes = Vec::new();
        let put = Entry {
            rev: 1,
            put: Some(Customer {
                id: "a".into(),
                first_name: "A".into(),
                last_name: "B".into(),
            }),
            del: None,
        };
        put.encode(&mut bytes);
        bytes.extend(line(r#"{"rev":2,"del":"a"}"#));
        let whole = bytes.len() as u64;
        bytes.extend(br#"{"rev":3,"put":{"customerID":"#);
        std::fs::write(&path, &bytes).unwrap();
        let mut seen = Vec::new();
        let found = replay(&path, |e| seen.push(e.rev)).unwrap().unwrap();
        assert_eq!(seen, [1, 2]);
        assert_eq!(found.valid_len, whole);
        assert!(!found.torn.is_empty());

        // Zeros from a write that reached the disk out of order end the replay too.
        let mut holed = line(r#"{"rev":1,"del":"x"}"#);
        holed.extend([0u8; 8]);
        holed.extend(line(r#"{"rev":3,"del":"y"}"#));
        std::fs::write(&path, &holed).unwrap();
        let mut seen = Vec::new();
        replay(&path, |e: Entry| seen.push(e.rev)).unwrap();
        assert_eq!(seen, [1]);
    }

    #[test]
    fn versions_round_trip() {
        let mut out = Vec::new();
        write_versions(&mut out, 9, [("a", 3), ("b\"", 9)].into_iter()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v");
        std::fs::write(&path, &out).unwrap();
        let versions = read_versions(&path).unwrap();
        assert_eq!(versions.revision, 9);
        assert_eq!(versions.versions["b\""], 3 + 6);
        assert_eq!(read_versions(&dir.path().join("none")).unwrap().revision, 0);
    }
}
