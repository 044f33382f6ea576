//! Read-only HTTP scraping with a timeout and a body cap.

use std::time::Duration;

use crate::expo::Format;
use crate::vocab::Role;

/// Why a scrape failed.
#[derive(Debug, Clone, PartialEq)]
pub enum ScrapeError {
    /// Could not connect, or no answer in time.
    Unreachable(String),
    /// The server answered with an error status.
    Status(u16),
    /// The body exceeded the cap.
    TooLarge(usize),
}

impl std::fmt::Display for ScrapeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScrapeError::Unreachable(e) => write!(f, "unreachable: {e}"),
            ScrapeError::Status(401) => write!(
                f,
                "answered HTTP 401 (unauthorised): give --bearer-token-file (for LMCache's \
                 --api-key-file, the same key), --basic-auth-file or --header"
            ),
            ScrapeError::Status(403) => {
                write!(
                    f,
                    "answered HTTP 403 (forbidden): the credentials given were refused"
                )
            }
            ScrapeError::Status(s) => write!(f, "answered HTTP {s}"),
            ScrapeError::TooLarge(n) => write!(f, "body larger than {n} bytes"),
        }
    }
}

/// A successful scrape.
#[derive(Debug)]
pub struct Body {
    pub bytes: Vec<u8>,
    pub format: Option<Format>,
}

mod tls;

/// Why a target cannot be read as given. Secrets are never in the text: a header, token or
/// password is named by its flag and position, a URL is shown with its credentials removed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetupError {
    /// Not an http:// or https:// URL with a host.
    #[error("{0}")]
    Url(String),
    /// A header, token, password, certificate or key that cannot be used.
    #[error("{0}")]
    Credentials(String),
    /// The HTTP client could not be built.
    #[error("{0}")]
    Client(String),
}

use SetupError::{Client, Credentials, Url};
pub use tls::{Tls, system_has_roots};

/// Extra request headers, e.g. `Authorization` for LMCache 0.5.7's API keys. Values are marked
/// sensitive and are never printed.
#[derive(Clone, Default)]
pub struct Auth {
    pub headers: Vec<(String, String)>,
    /// CA certificates, a client certificate, `--insecure`.
    pub tls: Tls,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(k, _)| k.as_str()).collect();
        write!(
            f,
            "Auth {{ headers: {names:?} (values hidden), tls: {:?} }}",
            self.tls
        )
    }
}

impl Auth {
    /// From `--header K:V` flags and an optional `--bearer-token-file`.
    pub fn from_flags(
        headers: &[String],
        bearer_token_file: Option<&std::path::Path>,
    ) -> Result<Auth, SetupError> {
        let mut out = Vec::new();
        // A malformed header may be a secret pasted in the wrong shape: errors name it by its
        // position, and show its name only once the name is known to be one.
        for (i, h) in headers.iter().enumerate() {
            let which = format!("--header #{}", i + 1);
            let (k, v) = h.split_once(':').ok_or_else(|| {
                Credentials({
                    format!(
                        "{which} is not NAME:VALUE (its text is not shown: it may hold a secret)"
                    )
                })
            })?;
            let (k, v) = (k.trim(), v.trim());
            if reqwest::header::HeaderName::from_bytes(k.as_bytes()).is_err() {
                return Err(Credentials(format!(
                    "{which}: the part before ':' is not a header name (not shown: it may hold a secret)"
                )));
            }
            if reqwest::header::HeaderValue::from_str(v).is_err() {
                return Err(Credentials(format!(
                    "{which} ({k}): the value is not a valid header value (not shown)"
                )));
            }
            register_header_value(v);
            out.push((k.to_string(), v.to_string()));
        }
        if let Some(path) = bearer_token_file {
            let token =
                crate::files::read_text(path, MAX_TOKEN_BYTES, crate::files::Kind::RegularOrPipe)
                    .map_err(|e| Credentials(format!("--bearer-token-file: {e}")))?;
            let token = token.trim();
            if token.is_empty() {
                return Err(Credentials(format!(
                    "--bearer-token-file {} is empty",
                    path.display()
                )));
            }
            if reqwest::header::HeaderValue::from_str(token).is_err() {
                return Err(Credentials(format!(
                    "--bearer-token-file {}: the token has characters a header cannot carry (it is not shown)",
                    path.display()
                )));
            }
            crate::sanitize::register_secret(token);
            out.push(("Authorization".into(), format!("Bearer {token}")));
        }
        Ok(Auth {
            headers: out,
            tls: Tls::default(),
        })
    }
}

impl Auth {
    /// Adds `Authorization: Basic …` from a file holding `user:password` on its first line
    /// (Prometheus behind a proxy, Grafana Cloud's Mimir). Never printed.
    pub fn with_basic_auth_file(mut self, path: &std::path::Path) -> Result<Auth, SetupError> {
        let text =
            crate::files::read_text(path, MAX_TOKEN_BYTES, crate::files::Kind::RegularOrPipe)
                .map_err(|e| Credentials(format!("--basic-auth-file: {e}")))?;
        let line = text.lines().next().unwrap_or("").trim_end_matches('\r');
        if !line.contains(':') {
            return Err(Credentials(format!(
                "--basic-auth-file {}: the first line is not USER:PASSWORD (it is not shown)",
                path.display()
            )));
        }
        if self
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("authorization"))
        {
            return Err(Credentials(format!(
                "--basic-auth-file {}: an Authorization header is already given (--bearer-token-file or --header)",
                path.display()
            )));
        }
        let encoded = base64(line.as_bytes());
        for secret in [line, line.split_once(':').map_or("", |p| p.1), &encoded] {
            crate::sanitize::register_secret(secret);
        }
        self.headers
            .push(("Authorization".into(), format!("Basic {encoded}")));
        Ok(self)
    }
}

/// A header value is a secret to every text kvscope shows (an API's error may echo it): the
/// value, its credential after a scheme word (`Bearer …`, `Basic …`), and what a `Basic`
/// credential decodes to.
fn register_header_value(v: &str) {
    crate::sanitize::register_secret(v);
    if let Some((scheme, credential)) = v.split_once(' ') {
        crate::sanitize::register_secret(credential);
        if scheme.eq_ignore_ascii_case("basic")
            && let Some(decoded) = unbase64(credential.trim())
        {
            crate::sanitize::register_secret(&decoded);
            crate::sanitize::register_secret(decoded.split_once(':').map_or("", |p| p.1));
        }
    }
}

/// Standard base64 decoded, as text (`None`: not base64 of UTF-8).
fn unbase64(text: &str) -> Option<String> {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in text.trim_end_matches('=').bytes() {
        bits = (bits << 6) | ABC.iter().position(|a| *a == c)? as u32;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    String::from_utf8(out).ok()
}

/// Standard base64 with padding (RFC 4648), for basic auth.
fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Largest bearer-token file kvscope reads.
pub const MAX_TOKEN_BYTES: u64 = 64 << 10;

/// Which headers each target gets: `all` go to every target, `per_target` only to the target
/// whose flag (`--lmcache`/`--engine`, by position among that role's flags) they followed.
#[derive(Clone, Debug, Default)]
pub struct AuthPlan {
    pub all: Auth,
    pub per_target: Vec<(Role, usize, Auth)>,
}

impl AuthPlan {
    /// The headers for the `index`th `role` argument: the shared ones, then its own (which win
    /// over a shared header of the same name).
    pub fn for_target(&self, role: Role, index: usize) -> Auth {
        let own: Vec<&(String, String)> = self
            .per_target
            .iter()
            .filter(|(r, i, _)| *r == role && *i == index)
            .flat_map(|(_, _, a)| &a.headers)
            .collect();
        let mut headers: Vec<(String, String)> = self
            .all
            .headers
            .iter()
            .filter(|(k, _)| !own.iter().any(|(o, _)| o.eq_ignore_ascii_case(k)))
            .cloned()
            .collect();
        headers.extend(own.into_iter().cloned());
        let no_tls = Tls::default();
        let own_tls = self
            .per_target
            .iter()
            .find(|(r, i, _)| *r == role && *i == index)
            .map_or(&no_tls, |(_, _, a)| &a.tls);
        Auth {
            headers,
            tls: self.all.tls.with(own_tls),
        }
    }
}

/// How long an idle connection is kept for reuse: well under uvicorn's 5 s keep-alive.
const POOL_IDLE: Duration = Duration::from_secs(3);

/// Builds the HTTP client: rustls with the ring provider, a per-request timeout, the extra
/// headers on every request.
pub fn client(timeout: Duration, auth: &Auth) -> Result<reqwest::Client, SetupError> {
    // Installing twice is harmless; the first provider wins.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut headers = reqwest::header::HeaderMap::new();
    for (k, v) in &auth.headers {
        // Checked when the flags were read; these cannot fail for an Auth made by from_flags.
        let name = reqwest::header::HeaderName::from_bytes(k.as_bytes())
            .map_err(|_| Client("--header: not a valid header name".to_string()))?;
        let mut value = reqwest::header::HeaderValue::from_str(v).map_err(|_| {
            Client(format!(
                "--header {k}: the value is not a valid header value"
            ))
        })?;
        value.set_sensitive(true);
        headers.append(name, value);
    }
    let builder = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        // LMCache and vLLM serve with uvicorn, which closes a connection idle for 5 s. Reusing
        // one at about that age races the close and fails the scrape with "connection reset"
        // (seen against a real LMCache server at a 5 s interval); idle ones are dropped first.
        .pool_idle_timeout(POOL_IDLE)
        .user_agent(concat!("kvscope/", env!("CARGO_PKG_VERSION")))
        .default_headers(headers)
        .redirect(redirect_policy());
    auth.tls
        .apply(builder)?
        .build()
        .map_err(|e| Client(format!("cannot build the HTTP client: {}", describe(e))))
}

/// A target's URL. It prints (Display, Debug) only in [`redact_url`](crate::sanitize::redact_url)'s
/// form, so a password or token in the URL cannot reach a message, the log, the screen or a
/// report; the full URL is only handed to the HTTP client.
#[derive(Clone, PartialEq, Eq)]
pub struct TargetUrl {
    url: reqwest::Url,
    shown: String,
}

impl TargetUrl {
    /// A target URL; a base URL (`http://host:port`, `…/`) means its `/metrics`.
    pub fn metrics(text: &str) -> Result<TargetUrl, SetupError> {
        let mut url = reqwest::Url::parse(text).map_err(|e| {
            Url(format!(
                "'{}' is not a URL ({e})",
                crate::sanitize::redact_url(text)
            ))
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(Url(format!(
                "'{}' is not an http:// or https:// URL with a host",
                crate::sanitize::redact_url(text)
            )));
        }
        if url.path() == "/" || url.path().is_empty() {
            url.set_path("/metrics");
        }
        // Its password and secret-looking query values are secrets to every text shown.
        if let Some(pw) = url.password() {
            crate::sanitize::register_secret(pw);
        }
        for (k, v) in url.query_pairs() {
            if crate::sanitize::looks_secret(&k) {
                crate::sanitize::register_secret(&v);
            }
        }
        Ok(TargetUrl::from(url))
    }

    /// The same server with another path (and no query): the LMCache routes beside
    /// `…/metrics`.
    pub fn route(&self, path: &str) -> TargetUrl {
        let mut url = self.url.clone();
        let base = url
            .path()
            .strip_suffix("/metrics")
            .unwrap_or("")
            .to_string();
        url.set_path(&format!("{}{path}", base.trim_end_matches('/')));
        url.set_query(None);
        url.set_fragment(None);
        TargetUrl::from(url)
    }

    /// The URL to send the request to (with its credentials).
    pub fn for_request(&self) -> &reqwest::Url {
        &self.url
    }

    /// The form fit to show.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// `scheme://host:port` of the URL, for comparing origins.
    fn origin(url: &reqwest::Url) -> (String, Option<String>, Option<u16>) {
        (
            url.scheme().to_string(),
            url.host_str().map(str::to_string),
            url.port_or_known_default(),
        )
    }
}

impl From<reqwest::Url> for TargetUrl {
    fn from(url: reqwest::Url) -> TargetUrl {
        let shown = crate::sanitize::redact_url(url.as_str());
        TargetUrl { url, shown }
    }
}

impl std::fmt::Display for TargetUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

impl std::fmt::Debug for TargetUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TargetUrl({})", self.shown)
    }
}

/// Redirects kvscope follows.
const MAX_REDIRECTS: usize = 5;

/// Follows redirects on the same origin only: a redirect to another host, port or scheme
/// would carry the target's headers (API keys, bearer tokens) to a server they were not meant
/// for, so it is an error naming where it pointed (without credentials).
fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let first = attempt.previous().first().map(TargetUrl::origin);
        if attempt.previous().len() > MAX_REDIRECTS {
            attempt.error(format!("more than {MAX_REDIRECTS} redirects"))
        } else if first.is_some_and(|o| o != TargetUrl::origin(attempt.url())) {
            let to = attempt.url();
            let to = format!(
                "{}://{}{}",
                to.scheme(),
                to.host_str().unwrap_or("?"),
                to.port().map(|p| format!(":{p}")).unwrap_or_default()
            );
            attempt.error(format!(
                "redirected to another origin ({}); not followed, so the target's credentials stay with it",
                crate::sanitize::clean(&to)
            ))
        } else {
            attempt.follow()
        }
    })
}

/// GETs a `/metrics` URL, reading at most `limit` bytes of body; an error status is an error.
pub async fn get(
    client: &reqwest::Client,
    url: &TargetUrl,
    limit: usize,
) -> Result<Body, ScrapeError> {
    let accept =
        "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.9,*/*;q=0.1";
    match get_any(client, url, accept, limit).await? {
        (200..=299, body) => Ok(body),
        (status, _) => Err(ScrapeError::Status(status)),
    }
}

/// GETs `url` and returns the status with the (capped) body, whatever the status.
pub async fn get_any(
    client: &reqwest::Client,
    url: &TargetUrl,
    accept: &str,
    limit: usize,
) -> Result<(u16, Body), ScrapeError> {
    let mut resp = client
        .get(url.for_request().clone())
        .header("Accept", accept)
        .send()
        .await
        .map_err(|e| ScrapeError::Unreachable(describe(e)))?;
    let status = resp.status().as_u16();
    let format = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|ct| ct.contains("openmetrics").then_some(Format::OpenMetrics1));
    if resp.content_length().is_some_and(|n| n as usize > limit) {
        return Err(ScrapeError::TooLarge(limit));
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| ScrapeError::Unreachable(describe(e)))?
    {
        if bytes.len() + chunk.len() > limit {
            return Err(ScrapeError::TooLarge(limit));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok((status, Body { bytes, format }))
}

/// The error and its causes, without the URL (which may carry credentials).
fn describe(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut msg = if e.is_timeout() {
        "timed out".to_string()
    } else {
        e.to_string()
    };
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    if let Some(hint) = tls::hint(&msg) {
        msg.push_str(" — ");
        msg.push_str(hint);
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_scrape_says_which_credentials_to_give() {
        let e = ScrapeError::Status(401).to_string();
        assert!(
            e.contains("--bearer-token-file") && e.contains("--api-key-file"),
            "{e}"
        );
        assert!(ScrapeError::Status(403).to_string().contains("refused"));
        assert_eq!(ScrapeError::Status(500).to_string(), "answered HTTP 500");
    }

    #[test]
    fn a_targets_own_header_wins_over_a_shared_one() {
        let shared = Auth::from_flags(
            &["X-Team: a".into(), "Authorization: Bearer all".into()],
            None,
        )
        .unwrap();
        let own = Auth::from_flags(&["authorization: Bearer mine".into()], None).unwrap();
        // RFC 4648's test vectors, and a real pair.
        for (plain, coded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
            ("user:pass", "dXNlcjpwYXNz"),
        ] {
            assert_eq!(base64(plain.as_bytes()), coded);
        }
        let plan = AuthPlan {
            all: shared,
            per_target: vec![(Role::Engine, 1, own)],
        };
        let names = |a: Auth| a.headers;
        assert_eq!(
            names(plan.for_target(Role::Engine, 1)),
            [
                ("X-Team".to_string(), "a".to_string()),
                ("authorization".to_string(), "Bearer mine".to_string())
            ]
        );
        assert_eq!(plan.for_target(Role::Engine, 0).headers.len(), 2);
        assert_eq!(plan.for_target(Role::Lmcache, 1).headers[1].1, "Bearer all");
    }

    /// Malformed headers, whatever their shape: the error never repeats the value.
    #[test]
    fn header_errors_never_show_the_value() {
        let mut g = crate::testgen::Gen::new(5);
        for _ in 0..20_000 {
            let shape = g.hostile(&["X-Api-Key=", "X-Api-Key:", "sk", "Bad Name:", ":"]);
            let h = format!("{shape}sk-live-4f9a");
            if let Err(e) = Auth::from_flags(std::slice::from_ref(&h), None) {
                assert!(matches!(e, Credentials(_)), "{h:?} → {e}");
                assert!(!e.to_string().contains("4f9a"), "{h:?} → {e}");
            }
        }
        let e = Auth::from_flags(&["X-Api-Key=sk-live-4f9a".into()], None).unwrap_err();
        assert!(
            e.to_string().starts_with("--header #1 is not NAME:VALUE"),
            "{e}"
        );
    }

    #[test]
    fn base_urls_get_metrics_and_routes_sit_beside_it() {
        let m = |s: &str| TargetUrl::metrics(s).unwrap().to_string();
        assert_eq!(m("http://127.0.0.1:8080"), "http://127.0.0.1:8080/metrics");
        assert_eq!(m("http://127.0.0.1:8080/"), "http://127.0.0.1:8080/metrics");
        assert_eq!(m("http://h:1/metrics"), "http://h:1/metrics");
        assert_eq!(m("https://h/x/metrics"), "https://h/x/metrics");
        assert_eq!(m("http://h:1?x=1"), "http://h:1/metrics?x=1");
        let t = TargetUrl::metrics("http://u:pw@h:8080/x/metrics?token=t").unwrap();
        assert_eq!(t.to_string(), "http://***@h:8080/x/metrics?token=***");
        assert_eq!(
            format!("{t:?}"),
            "TargetUrl(http://***@h:8080/x/metrics?token=***)"
        );
        assert_eq!(t.route("/status").to_string(), "http://***@h:8080/x/status");
        assert_eq!(t.route("/status").for_request().password(), Some("pw"));
        for bad in ["ftp://h/", "h:8080", "http://", "http://u:pw@[::1"] {
            let e = TargetUrl::metrics(bad).unwrap_err();
            assert!(matches!(e, Url(_)) && !e.to_string().contains("pw"), "{e}");
        }
    }
}
