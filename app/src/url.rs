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

/// `href` as its path and its query (without the `?`; empty when it has none).
pub fn split_href(href: &str) -> (&str, &str) {
    href.split_once('?').unwrap_or((href, ""))
}

/// The first non-empty value of `key` in a query (see [`values`]).
pub fn first_value(query: &str, key: &str) -> Option<String> {
    values(query, key).find(|value| !value.is_empty())
}

/// The values of `key` in a query (`a=1&b=2`, without its `?`), decoded: `%XX`
/// escapes, and `+` as a space, as HTML forms send it.
pub fn values<'a>(query: &'a str, key: &'a str) -> impl Iterator<Item = String> + 'a {
    query.split('&').filter_map(move |pair| {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        (decode(name) == key).then(|| decode(value))
    })
}

/// `%XX` escapes and `+` decoded; bytes that are not UTF-8 become U+FFFD.
pub fn decode(text: &str) -> String {
    let hex = |byte: u8| (byte as char).to_digit(16);
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = match bytes[i] {
            b'%' if i + 2 < bytes.len() => hex(bytes[i + 1]).zip(hex(bytes[i + 2])),
            _ => None,
        };
        match (bytes[i], escaped) {
            (_, Some((high, low))) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            (b'+', None) => {
                out.push(b' ');
                i += 1;
            }
            (byte, None) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
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

    #[test]
    fn queries_decode_what_encode_and_forms_write() {
        for text in ["a b?c&d#é%", "Fernández", "x+y", "", "\u{10ffff}"] {
            let query = format!("q={}&sort=id", encode(text));
            assert_eq!(values(&query, "q").collect::<Vec<_>>(), [text], "{text:?}");
        }
        // As a form sends it: spaces as `+`, lower-case escapes.
        assert_eq!(decode("james+baker%c3%a9"), "james bakeré");
        // A stray `%` is kept; bytes that are not UTF-8 become U+FFFD.
        assert_eq!(decode("100%"), "100%");
        assert_eq!(decode("%zz%4"), "%zz%4");
        assert_eq!(decode("%ff"), "\u{fffd}");
        let query = "id=a&id=&id=b%26c&other=1&ids";
        assert_eq!(values(query, "id").collect::<Vec<_>>(), ["a", "", "b&c"]);
        assert_eq!(values(query, "ids").collect::<Vec<_>>(), [""]);
        assert_eq!(first_value(query, "id").as_deref(), Some("a"));
        assert_eq!(first_value("id=&id=b", "id").as_deref(), Some("b"));
        assert_eq!(first_value(query, "ids"), None);
        assert_eq!(split_href("/edit?id=a?b"), ("/edit", "id=a?b"));
        assert_eq!(split_href("/"), ("/", ""));
    }
}
