//! Network-derived text is cleaned before it reaches a terminal: control characters (escape
//! sequences included) and bidi overrides become visible `\u{..}` escapes; length is capped.

/// Longest string kvscope prints from the network.
pub const MAX_SHOWN: usize = 512;

/// The secrets this process was given (header values, tokens, passwords, their base64), so
/// that no text shown, logged or written carries one, whatever a server or a parser echoes.
static SECRETS: std::sync::RwLock<Vec<String>> = std::sync::RwLock::new(Vec::new());

/// Shortest value registered as a secret (shorter ones would blank ordinary words).
const SECRET_MIN: usize = 4;

/// Remembers `value` as a secret: [`scrub`] (and so [`clean`]) replaces it with `***`.
pub fn register_secret(value: &str) {
    let value = value.trim();
    if value.chars().count() < SECRET_MIN {
        return;
    }
    let mut all = SECRETS.write().unwrap_or_else(|e| e.into_inner());
    if !all.iter().any(|s| s == value) {
        all.push(value.to_string());
        // Longest first, so a secret holding another is replaced whole.
        all.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }
}

/// `s` without any registered secret and without the `user:password@` of anything shaped
/// like a URL or `user:pw@host` (a mistyped URL read as a path keeps its password out too).
pub fn scrub(s: &str) -> std::borrow::Cow<'_, str> {
    let all = SECRETS.read().unwrap_or_else(|e| e.into_inner());
    let has_secret = all.iter().any(|x| s.contains(x.as_str()));
    if !has_secret && !s.contains('@') {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = s.to_string();
    for x in all.iter() {
        if out.contains(x.as_str()) {
            out = out.replace(x.as_str(), "***");
        }
    }
    std::borrow::Cow::Owned(without_userinfo(&out))
}

/// `bytes` (a body kvscope records) with every registered secret replaced by `***`: a server
/// that echoes a request's headers into its answer does not put them into a packet.
pub fn scrub_bytes(bytes: &mut Vec<u8>) {
    let all = SECRETS.read().unwrap_or_else(|e| e.into_inner());
    for x in all.iter() {
        let finder = memchr::memmem::Finder::new(x.as_bytes());
        if finder.find(bytes).is_none() {
            continue;
        }
        let mut out = Vec::with_capacity(bytes.len());
        let mut at = 0;
        for hit in finder.find_iter(bytes) {
            out.extend_from_slice(&bytes[at..hit]);
            out.extend_from_slice(b"***");
            at = hit + x.len();
        }
        out.extend_from_slice(&bytes[at..]);
        *bytes = out;
    }
}

/// Every `user:password@` (the text from the last `/`, space, quote or start before an `@`,
/// when it holds a `:`) replaced by `***@`.
fn without_userinfo(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('@') {
        let before = &rest[..at];
        let start = before
            .rfind(|c: char| c == '/' || c.is_whitespace() || "\"'<>(),;=".contains(c))
            .map_or(0, |i| {
                i + before[i..].chars().next().map_or(1, char::len_utf8)
            });
        let info = &before[start..];
        out.push_str(&before[..start]);
        if info.contains(':') {
            out.push_str("***");
        } else {
            out.push_str(info);
        }
        out.push('@');
        rest = &rest[at + 1..];
    }
    out.push_str(rest);
    out
}

/// `s` scrubbed of secrets ([`scrub`]), with every control character replaced by a visible
/// `\u{..}` form, capped in length.
pub fn clean(s: &str) -> String {
    let s = scrub(s);
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

/// Most lines [`clean_lines`] keeps.
pub const MAX_LINES: usize = 200;

/// Text of several lines, each cleaned as [`clean`] cleans one, kept as lines: every line
/// after the first is indented, so text from a server or a file cannot forge a line of
/// kvscope's own; past `max_lines` the rest are counted ("… and N more lines").
pub fn clean_lines(s: &str, max_lines: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    let mut out = String::new();
    for (n, line) in lines.iter().take(max_lines).enumerate() {
        if n > 0 {
            out.push('\n');
            if !line.starts_with("  ") {
                out.push_str("  ");
            }
        }
        out.push_str(&clean(line.strip_suffix('\r').unwrap_or(line)));
    }
    if lines.len() > max_lines {
        out.push_str(&format!("\n  … and {} more lines", lines.len() - max_lines));
    }
    out
}

/// `s` cleaned and cut to `max` characters, in quotes: a name from a file or a server inside
/// a message of kvscope's own.
pub fn quoted(s: &str, max: usize) -> String {
    let shown: String = s.chars().take(max).collect();
    let more = if s.chars().nth(max).is_some() {
        "…"
    } else {
        ""
    };
    format!("\"{}{more}\"", clean(&shown))
}

/// Words that make a name look like it holds a secret (environment variables, URL query
/// parameters): its value is never shown.
pub const SECRET_WORDS: &[&str] = &[
    "KEY", "TOKEN", "SECRET", "PASS", "PWD", "CRED", "AUTH", "PRIVATE", "CERT", "COOKIE",
    "SESSION", "SIG", "URL", "URI", "DSN", "ENDPOINT", "JWT", "ACCESS", "CODE", "TICKET", "NONCE",
    "OTP", "SAML", "BEARER",
];

/// Whether a name (any case) looks like it holds a secret.
pub fn looks_secret(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    SECRET_WORDS.iter().any(|w| upper.contains(w))
}

/// A URL fit to show and log: any `user:password@` part becomes `***@` and the values of query
/// parameters whose names look secret (`?token=…`, `&api_key=…`) become `***`. Text without a
/// scheme is treated the same way (`user:pw@host:8080` → `***@host:8080`).
pub fn redact_url(url: &str) -> String {
    let p = crate::url::split(url);
    let mut out = String::new();
    if let Some(s) = p.scheme {
        out.push_str(s);
        out.push_str("://");
    }
    if p.userinfo.is_some() {
        out.push_str("***@");
    }
    out.push_str(p.host_port);
    out.push_str(p.path);
    if let Some(query) = p.query {
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _)) if looks_secret(k) => format!("{k}=***"),
                _ => pair.to_string(),
            })
            .collect();
        out.push('?');
        out.push_str(&pairs.join("&"));
    }
    if let Some(f) = p.fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_urls_never_show() {
        for (url, shown) in [
            ("http://u:p@h:8080/metrics", "http://***@h:8080/metrics"),
            ("http://h/a@b", "http://h/a@b"),
            ("file.prom", "file.prom"),
            ("u:pw@h:8080", "***@h:8080"),
            (
                "https://h/metrics?token=abc&format=x&API_KEY=k#frag",
                "https://h/metrics?token=***&format=x&API_KEY=***#frag",
            ),
            ("http://a@b@h/?sig=1", "http://***@h/?sig=***"),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }

    /// Whatever the text, a password given in the userinfo never survives.
    #[test]
    fn no_password_survives_any_url_shape() {
        let mut g = crate::testgen::Gen::new(3);
        for _ in 0..20_000 {
            let host = g.hostile(&["h:8080/metrics", "h", "h?x=1", "[::1]:80/m#f"]);
            let url = format!("http://user:hunter2@{host}");
            let shown = redact_url(&url);
            assert!(!shown.contains("hunter2"), "{url:?} → {shown:?}");
        }
    }

    #[test]
    fn registered_secrets_and_userinfo_never_show() {
        register_secret("s3cr3t-value-xyz");
        register_secret("abc");
        for (text, shown) in [
            (
                "echo: Authorization: Bearer s3cr3t-value-xyz!",
                "echo: Authorization: Bearer ***!",
            ),
            (
                "cannot read http:/ops:pw@h:9/metrics",
                "cannot read http:/***@h:9/metrics",
            ),
            ("ops:pw@h:9/m and x@y", "***@h:9/m and x@y"),
            ("\"u:p@h\"", "\"***@h\""),
            (
                "abc stays: too short to be a secret",
                "abc stays: too short to be a secret",
            ),
        ] {
            assert_eq!(scrub(text), shown, "{text}");
        }
        assert_eq!(clean("a s3cr3t-value-xyz\n"), "a ***\\u{a}");
    }

    #[test]
    fn lines_stay_lines_indented_and_counted() {
        let text = "first\nkvscope: forged\n  kept\u{1b}[2J\r\nlast";
        assert_eq!(
            clean_lines(text, 10),
            "first\n  kvscope: forged\n  kept\\u{1b}[2J\n  last"
        );
        let many: String = (0..30).map(|i| format!("line {i}\n")).collect();
        let shown = clean_lines(&many, 20);
        assert_eq!(shown.lines().count(), 21);
        assert!(shown.contains("line 19") && !shown.contains("line 20"));
        assert!(shown.ends_with("… and 10 more lines"), "{shown}");
    }

    #[test]
    fn escapes_and_bidi_controls_are_made_visible() {
        assert_eq!(clean("a\u{1b}[31mred"), "a\\u{1b}[31mred");
        assert_eq!(clean("x\ny"), "x\\u{a}y");
        assert!(!clean("\u{202e}abc").contains('\u{202e}'));
        assert_eq!(clean(&"z".repeat(600)).chars().count(), MAX_SHOWN + 1);
    }
}
