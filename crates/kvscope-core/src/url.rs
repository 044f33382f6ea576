//! One way to take a URL (or a bare `host:port`) apart, for every place that needs a piece of
//! one: a target's name on screen, whether it is on this machine, redaction.

/// The pieces of a URL, as slices of it. Splitting never fails: text that is not a URL is an
/// authority with no scheme and no path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parts<'a> {
    pub scheme: Option<&'a str>,
    /// `user:password` before an `@` (never to be shown).
    pub userinfo: Option<&'a str>,
    /// `host:port`, without the user information.
    pub host_port: &'a str,
    /// The host: an IPv6 address without its brackets.
    pub host: &'a str,
    pub port: Option<&'a str>,
    /// From the first `/` after the authority; empty when there is none.
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub fragment: Option<&'a str>,
}

/// Splits `url` (`scheme://user@host:port/path?query#fragment`, any piece but the host
/// optional). An authority ends at the first `/`, `?` or `#`; the user information at its last
/// `@`. A host with more than one `:` and no brackets is an IPv6 address without a port.
pub fn split(url: &str) -> Parts<'_> {
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (Some(s), r),
        None => (None, url),
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let (userinfo, host_port) = match authority.rfind('@') {
        Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
        None => (None, authority),
    };
    let (host, port) = if let Some(v6) = host_port.strip_prefix('[') {
        match v6.split_once(']') {
            Some((h, after)) => (h, after.strip_prefix(':')),
            None => (v6, None),
        }
    } else if host_port.matches(':').count() == 1 {
        let (h, p) = host_port.split_once(':').unwrap_or((host_port, ""));
        (h, Some(p))
    } else {
        (host_port, None)
    };
    let (before_fragment, fragment) = match tail.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (tail, None),
    };
    let (path, query) = match before_fragment.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (before_fragment, None),
    };
    Parts {
        scheme,
        userinfo,
        host_port,
        host,
        port,
        path,
        query,
        fragment,
    }
}

impl Parts<'_> {
    /// Whether the host is this machine (`localhost`, `127.x`, `::1`).
    pub fn is_loopback(&self) -> bool {
        matches!(self.host, "localhost" | "::1") || self.host.starts_with("127.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand-written URLs of every shape the targets, labels and logs give.
    #[test]
    fn every_piece_in_its_place() {
        let p = split("https://u:p@gpu7.corp:8000/metrics?token=x#top");
        assert_eq!(p.scheme, Some("https"));
        assert_eq!(p.userinfo, Some("u:p"));
        assert_eq!(
            (p.host_port, p.host, p.port),
            ("gpu7.corp:8000", "gpu7.corp", Some("8000"))
        );
        assert_eq!(
            (p.path, p.query, p.fragment),
            ("/metrics", Some("token=x"), Some("top"))
        );
        let v6 = split("http://[fd00::5]:9/m");
        assert_eq!(
            (v6.host_port, v6.host, v6.port),
            ("[fd00::5]:9", "fd00::5", Some("9"))
        );
        let bare_v6 = split("fd00::5");
        assert_eq!(
            (bare_v6.host, bare_v6.port, bare_v6.scheme),
            ("fd00::5", None, None)
        );
        let label = split("a@b@host-1:80");
        assert_eq!((label.userinfo, label.host), (Some("a@b"), "host-1"));
        let no_path = split("http://h?x=1");
        assert_eq!(
            (no_path.host, no_path.path, no_path.query),
            ("h", "", Some("x=1"))
        );
        assert_eq!(split("").host, "");
        assert!(split("http://127.0.0.1:8080/metrics").is_loopback());
        assert!(split("http://[::1]:9/").is_loopback());
        assert!(split("localhost:9").is_loopback());
        assert!(!split("http://127x.corp/").host.is_empty());
        assert!(!split("http://10.0.0.1/").is_loopback());
    }
}
