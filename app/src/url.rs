//! Building links whose query values are customer IDs and searches: every
//! character but the unreserved ones is percent-encoded, identically on the
//! server and in the browser.

pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `path?key=value&...`, skipping absent values.
pub fn with_query(path: &str, pairs: &[(&str, Option<&str>)]) -> String {
    let query: Vec<String> = pairs
        .iter()
        .filter_map(|(key, value)| value.map(|v| format!("{key}={}", encode(v))))
        .collect();
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", query.join("&"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_reserved_and_unicode() {
        assert_eq!(encode("a b?c&d#é%"), "a%20b%3Fc%26d%23%C3%A9%25");
        assert_eq!(
            with_query("/edit", &[("id", Some("x y")), ("q", None)]),
            "/edit?id=x%20y"
        );
        assert_eq!(with_query("/", &[("q", None)]), "/");
    }
}
