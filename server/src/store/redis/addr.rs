//! A server's address (host and port): how it is written, and how a list of
//! them is read. Depends on nothing else of the store, so settings, address
//! maps and connections can all use it.

/// A server address as sentinels report it.
pub type Addr = (String, u16);

pub fn show(addr: &Addr) -> String {
    format!("{}:{}", addr.0, addr.1)
}

/// A sentinel list that could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SentinelListError {
    #[error("the sentinel list is empty (expected host:port,host:port,...)")]
    Empty,
    #[error("sentinel entry {position} ({entry:?}) is not host:port")]
    NotHostPort { position: usize, entry: String },
    #[error("sentinel entry {position} ({entry:?}) has no host")]
    NoHost { position: usize, entry: String },
    #[error("sentinel entry {position} ({entry:?}) has an invalid port (expected 1-65535)")]
    BadPort { position: usize, entry: String },
}

/// Parses `host:port,host:port` (spaces around entries allowed, IPv6 as `[::1]:26379`).
pub fn parse_sentinels(text: &str) -> Result<Vec<(String, u16)>, SentinelListError> {
    let entries: Vec<&str> = text
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect();
    if entries.is_empty() {
        return Err(SentinelListError::Empty);
    }
    entries
        .iter()
        .enumerate()
        .map(|(index, entry)| parse_one(index + 1, entry))
        .collect()
}

pub fn parse_one(position: usize, entry: &str) -> Result<(String, u16), SentinelListError> {
    let entry_text = || entry.to_owned();
    let not_host_port = || SentinelListError::NotHostPort {
        position,
        entry: entry_text(),
    };
    let (host, port) = entry.rsplit_once(':').ok_or_else(not_host_port)?;
    let host = match host.strip_prefix('[') {
        Some(rest) => rest.strip_suffix(']').ok_or_else(not_host_port)?,
        // A bare IPv6 address ("::1:26379") is ambiguous; insist on brackets.
        None if host.contains(':') => return Err(not_host_port()),
        None => host,
    };
    if host.is_empty() {
        return Err(SentinelListError::NoHost {
            position,
            entry: entry_text(),
        });
    }
    match port.parse::<u16>() {
        Ok(port) if port != 0 => Ok((host.to_owned(), port)),
        _ => Err(SentinelListError::BadPort {
            position,
            entry: entry_text(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lists_with_spaces_and_ipv6() {
        assert_eq!(
            parse_sentinels(" 127.0.0.1:26379, sentinel-b:26380 ,[::1]:1,").unwrap(),
            vec![
                ("127.0.0.1".to_owned(), 26379),
                ("sentinel-b".to_owned(), 26380),
                ("::1".to_owned(), 1),
            ]
        );
    }

    #[test]
    fn rejects_malformed_entries_by_position() {
        assert_eq!(parse_sentinels(" , "), Err(SentinelListError::Empty));
        let message = |text: &str| parse_sentinels(text).unwrap_err().to_string();
        assert_eq!(
            message("a:1,b"),
            "sentinel entry 2 (\"b\") is not host:port"
        );
        assert_eq!(message(":1"), "sentinel entry 1 (\":1\") has no host");
        assert_eq!(
            message("a:0"),
            "sentinel entry 1 (\"a:0\") has an invalid port (expected 1-65535)"
        );
        assert!(message("a:70000").contains("invalid port"));
        assert!(message("::1:5").contains("not host:port"));
    }
}
