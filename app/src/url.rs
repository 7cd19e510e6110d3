//! Building links whose query values are customer IDs and searches: every
//! character but the unreserved ones is percent-encoded, identically on the
//! server and in the browser.

pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    push_encoded(&mut out, value);
    out
}

/// `path?key=value&...`, skipping absent values.
pub fn with_query(path: &str, pairs: &[(&str, Option<&str>)]) -> String {
    // Built in one string: pages make several of these for every row.
    let mut out = String::with_capacity(path.len() + 24);
    out.push_str(path);
    let mut separator = '?';
    for (key, value) in pairs {
        if let Some(value) = value {
            out.push(separator);
            out.push_str(key);
            out.push('=');
            push_encoded(&mut out, value);
            separator = '&';
        }
    }
    out
}

fn push_encoded(out: &mut String, value: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(byte >> 4)] as char);
            out.push(HEX[usize::from(byte & 0xF)] as char);
        }
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
        assert_eq!(
            with_query(
                "/",
                &[("q", Some("a b")), ("sort", None), ("after", Some("x&y=z"))]
            ),
            "/?q=a%20b&after=x%26y%3Dz"
        );
    }

    #[test]
    fn every_byte_not_unreserved_is_two_upper_hex_digits() {
        for c in ['\0', '\u{7f}', '/', '%', '+', 'ß', '€', '\u{10ffff}'] {
            let expected: String = c
                .to_string()
                .bytes()
                .map(|byte| format!("%{byte:02X}"))
                .collect();
            assert_eq!(encode(&c.to_string()), expected, "{c:?}");
        }
        assert_eq!(encode("Az09-._~"), "Az09-._~");
    }
}
