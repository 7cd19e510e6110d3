//! Escaping text for HTML built by hand (the customers page's rows): what a
//! customer typed shows as text, never as markup.

/// Appends `text` as the content of an element.
pub fn push_text(html: &mut String, text: &str) {
    push_escaped(html, text, false);
}

/// Appends `value` as the value of a double-quoted attribute.
pub fn push_attribute(html: &mut String, value: &str) {
    push_escaped(html, value, true);
}

fn push_escaped(html: &mut String, value: &str, in_attribute: bool) {
    let mut rest = value;
    while let Some(at) = rest.find(['&', '<', '>', '"']) {
        html.push_str(&rest[..at]);
        html.push_str(match rest.as_bytes()[at] {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            _ if in_attribute => "&quot;",
            _ => "\"",
        });
        rest = &rest[at + 1..];
    }
    html.push_str(rest);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_text_and_attributes_stays_text() {
        let typed = r#"<img src=x onerror="alert(1)">&amp; Müller"#;
        let mut text = String::new();
        push_text(&mut text, typed);
        assert_eq!(
            text,
            r#"&lt;img src=x onerror="alert(1)"&gt;&amp;amp; Müller"#
        );
        let mut attribute = String::new();
        push_attribute(&mut attribute, typed);
        assert_eq!(
            attribute,
            "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;amp; Müller"
        );
        let mut plain = String::from("kept ");
        push_attribute(&mut plain, "Ada Lovelace");
        assert_eq!(plain, "kept Ada Lovelace");
    }
}
