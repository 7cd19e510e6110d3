//! Requests that come through a reverse proxy (`TRUSTED_PROXIES`).
//!
//! A proxy that terminates TLS and forwards plain HTTP tells the scheme in
//! `X-Forwarded-Proto` and the client's address in `X-Forwarded-For`. Both are
//! believed only from the listed proxies: from anyone else they are whatever a
//! client wrote. The client's address matters for protected mode and for
//! slowing failed sign-ins; the scheme for the session cookie's `Secure`.

use axum::http::HeaderMap;
use std::net::IpAddr;

/// Addresses and networks (`10.0.0.0/8`, `::1`) whose forwarding headers are believed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<(IpAddr, u8)>);

impl TrustedProxies {
    /// `TRUSTED_PROXIES`: comma-separated addresses or CIDR networks; empty for none.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let mut networks = Vec::new();
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (address, bits) = match entry.split_once('/') {
                Some((address, bits)) => (address, Some(bits)),
                None => (entry, None),
            };
            let invalid = || {
                format!(
                    "TRUSTED_PROXIES: {entry:?} is not an address or a network such as 10.0.0.0/8"
                )
            };
            let address: IpAddr = address.parse().map_err(|_| invalid())?;
            let all = if address.is_ipv4() { 32 } else { 128 };
            let bits = match bits {
                Some(bits) => bits
                    .parse::<u8>()
                    .ok()
                    .filter(|b| *b <= all)
                    .ok_or_else(invalid)?,
                None => all,
            };
            networks.push((address, bits));
        }
        Ok(Self(networks))
    }

    pub fn contains(&self, address: IpAddr) -> bool {
        let address = address.to_canonical();
        self.0
            .iter()
            .any(|(network, bits)| in_network(address, *network, *bits))
    }

    /// The client a request acts for: the connection's peer, or, when the peer
    /// is a trusted proxy, the nearest address in `X-Forwarded-For` that is not.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.contains(peer) {
            return peer;
        }
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .collect::<Vec<_>>();
        let mut client = peer;
        // Right to left: each proxy appends the address it got the request from.
        for hop in forwarded.iter().rev() {
            match hop.parse::<IpAddr>() {
                Ok(address) => {
                    client = address;
                    if !self.contains(address) {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        client
    }

    /// Did the request reach the site over HTTPS (as a trusted proxy says)?
    pub fn is_https(&self, peer: IpAddr, headers: &HeaderMap) -> bool {
        self.contains(peer)
            && headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .is_some_and(|scheme| scheme.trim().eq_ignore_ascii_case("https"))
    }
}

fn in_network(address: IpAddr, network: IpAddr, bits: u8) -> bool {
    match (address, network.to_canonical()) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, value.parse().unwrap());
        }
        headers
    }

    #[test]
    fn forwarding_headers_count_only_from_trusted_proxies() {
        let proxies = TrustedProxies::parse("10.0.0.0/8, ::1").unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(proxies.contains(ip("10.1.2.3")));
        assert!(proxies.contains(ip("::1")));
        assert!(!proxies.contains(ip("11.0.0.1")));
        let forwarded = headers(&[
            ("x-forwarded-for", "203.0.113.9, 10.0.0.7"),
            ("x-forwarded-proto", "https"),
        ]);
        assert_eq!(
            proxies.client(ip("10.0.0.1"), &forwarded),
            ip("203.0.113.9")
        );
        assert!(proxies.is_https(ip("10.0.0.1"), &forwarded));
        // A client that writes the headers itself is not believed.
        assert_eq!(
            proxies.client(ip("198.51.100.4"), &forwarded),
            ip("198.51.100.4")
        );
        assert!(!proxies.is_https(ip("198.51.100.4"), &forwarded));
        // A forged address left of the proxy's own entry is not reached.
        let forged = headers(&[("x-forwarded-for", "127.0.0.1, 198.51.100.4")]);
        assert_eq!(proxies.client(ip("10.0.0.1"), &forged), ip("198.51.100.4"));
        assert_eq!(
            TrustedProxies::parse("").unwrap(),
            TrustedProxies::default()
        );
        for bad in ["10.0.0.0/33", "proxy.example", "10.0.0.0/x"] {
            assert!(TrustedProxies::parse(bad).is_err(), "{bad}");
        }
    }
}
