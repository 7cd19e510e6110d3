//! `REDIS_ADDRESS_MAP`: where to reach the servers the sentinels name, when the
//! addresses they report are not reachable from here (Docker, Kubernetes, NAT).
//! Applied to every address a sentinel reports, in answers and in events alike.

use super::addr::{parse_one, Addr, SentinelListError};
use std::collections::HashMap;

/// Announced address -> the address to connect to instead.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AddressMap(HashMap<Addr, Addr>);

/// A map entry that could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AddressMapError {
    #[error("entry {position} ({entry:?}) is not announced-host:port=reachable-host:port")]
    NotAPair { position: usize, entry: String },
    #[error("entry {position}: {side} address: {problem}")]
    BadAddress {
        position: usize,
        side: &'static str,
        problem: String,
    },
    #[error("entry {position} maps {announced} a second time")]
    Duplicate { position: usize, announced: String },
}

impl AddressMap {
    /// Parses `announced-host:port=reachable-host:port,...` (IPv6 in brackets).
    pub fn parse(text: &str) -> Result<Self, AddressMapError> {
        let mut map = HashMap::new();
        let entries = text.split(',').map(str::trim).filter(|e| !e.is_empty());
        for (index, entry) in entries.enumerate() {
            let position = index + 1;
            let Some((announced, reachable)) = entry.split_once('=') else {
                return Err(AddressMapError::NotAPair {
                    position,
                    entry: entry.to_owned(),
                });
            };
            let address = |side: &'static str, text: &str| {
                parse_one(position, text.trim()).map_err(|e| AddressMapError::BadAddress {
                    position,
                    side,
                    problem: describe(e),
                })
            };
            let announced = address("announced", announced)?;
            let reachable = address("reachable", reachable)?;
            if map.contains_key(&announced) {
                return Err(AddressMapError::Duplicate {
                    position,
                    announced: format!("{}:{}", announced.0, announced.1),
                });
            }
            map.insert(announced, reachable);
        }
        Ok(Self(map))
    }

    /// Where to connect for a server the sentinels report at `announced`.
    pub fn reachable(&self, announced: Addr) -> Addr {
        match self.0.get(&announced) {
            Some(reachable) => reachable.clone(),
            None => announced,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The sentinel-list wording, without its "sentinel entry N" part.
fn describe(e: SentinelListError) -> String {
    match e {
        SentinelListError::Empty => "empty".into(),
        SentinelListError::NotHostPort { entry, .. } => format!("{entry:?} is not host:port"),
        SentinelListError::NoHost { entry, .. } => format!("{entry:?} has no host"),
        SentinelListError::BadPort { entry, .. } => {
            format!("{entry:?} has an invalid port (expected 1-65535)")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(host: &str, port: u16) -> Addr {
        (host.to_owned(), port)
    }

    #[test]
    fn maps_announced_addresses_and_leaves_the_rest() {
        let map =
            AddressMap::parse(" 10.0.0.5:6379=redis-a.example:16379, [fd00::1]:6380=127.0.0.1:1 ,")
                .unwrap();
        assert_eq!(
            map.reachable(addr("10.0.0.5", 6379)),
            addr("redis-a.example", 16379)
        );
        assert_eq!(map.reachable(addr("fd00::1", 6380)), addr("127.0.0.1", 1));
        assert_eq!(
            map.reachable(addr("10.0.0.5", 6380)),
            addr("10.0.0.5", 6380)
        );
        assert!(AddressMap::parse("").unwrap().is_empty());
    }

    #[test]
    fn says_which_entry_is_wrong() {
        let message = |text: &str| AddressMap::parse(text).unwrap_err().to_string();
        assert_eq!(
            message("a:1=b:2,c:3"),
            "entry 2 (\"c:3\") is not announced-host:port=reachable-host:port"
        );
        assert_eq!(
            message("a:1=b:0"),
            "entry 1: reachable address: \"b:0\" has an invalid port (expected 1-65535)"
        );
        assert_eq!(
            message("a=b:2"),
            "entry 1: announced address: \"a\" is not host:port"
        );
        assert_eq!(message("a:1=b:2,a:1=c:3"), "entry 2 maps a:1 a second time");
    }
}
