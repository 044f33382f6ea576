//! Network-derived text is cleaned before it reaches a terminal: control characters (escape
//! sequences included) and bidi overrides become visible `\u{..}` escapes; length is capped.

/// Longest string kvscope prints from the network.
pub const MAX_SHOWN: usize = 512;

/// `s` with every control character replaced by a visible `\u{..}` form, capped in length.
pub fn clean(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(MAX_SHOWN));
    for (n, c) in s.chars().enumerate() {
        if n >= MAX_SHOWN {
            out.push('…');
            break;
        }
        if c.is_control()
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    out
}

/// A URL with any `user:password@` part replaced by `***@`, for showing and logging.
pub fn without_userinfo(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://***@{}", &rest[at + 1..]),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_never_shows() {
        assert_eq!(
            without_userinfo("http://u:p@h:8080/metrics"),
            "http://***@h:8080/metrics"
        );
        assert_eq!(without_userinfo("http://h/a@b"), "http://h/a@b");
        assert_eq!(without_userinfo("file.prom"), "file.prom");
    }

    #[test]
    fn escapes_and_bidi_controls_are_made_visible() {
        assert_eq!(clean("a\u{1b}[31mred"), "a\\u{1b}[31mred");
        assert_eq!(clean("x\ny"), "x\\u{a}y");
        assert!(!clean("\u{202e}abc").contains('\u{202e}'));
        assert_eq!(clean(&"z".repeat(600)).chars().count(), MAX_SHOWN + 1);
    }
}
