//! Read-only HTTP scraping with a timeout and a body cap.

use std::time::Duration;

use crate::expo::Format;
use crate::model::Role;

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

/// Extra request headers, e.g. `Authorization` for LMCache 0.5.7's API keys. Values are marked
/// sensitive and are never printed.
#[derive(Clone, Default)]
pub struct Auth {
    pub headers: Vec<(String, String)>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(k, _)| k.as_str()).collect();
        write!(f, "Auth {{ headers: {names:?} (values hidden) }}")
    }
}

impl Auth {
    /// From `--header K:V` flags and an optional `--bearer-token-file`.
    pub fn from_flags(
        headers: &[String],
        bearer_token_file: Option<&std::path::Path>,
    ) -> Result<Auth, String> {
        let mut out = Vec::new();
        for h in headers {
            let (k, v) = h.split_once(':').ok_or_else(|| {
                format!(
                    "--header '{}': write NAME:VALUE",
                    h.split(':').next().unwrap_or("")
                )
            })?;
            out.push((k.trim().to_string(), v.trim().to_string()));
        }
        if let Some(path) = bearer_token_file {
            let token =
                crate::files::read_text(path, MAX_TOKEN_BYTES, crate::files::Kind::RegularOrPipe)
                    .map_err(|e| format!("--bearer-token-file: {e}"))?;
            let token = token.trim();
            if token.is_empty() {
                return Err(format!("--bearer-token-file {} is empty", path.display()));
            }
            out.push(("Authorization".into(), format!("Bearer {token}")));
        }
        Ok(Auth { headers: out })
    }
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
    /// Everyone gets the same headers.
    pub fn everyone(all: Auth) -> AuthPlan {
        AuthPlan {
            all,
            per_target: Vec::new(),
        }
    }

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
        Auth { headers }
    }
}

/// Builds the HTTP client: rustls with the ring provider, a per-request timeout, the extra
/// headers on every request.
pub fn client(timeout: Duration, auth: &Auth) -> Result<reqwest::Client, String> {
    // Installing twice is harmless; the first provider wins.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut headers = reqwest::header::HeaderMap::new();
    for (k, v) in &auth.headers {
        let name = reqwest::header::HeaderName::from_bytes(k.as_bytes())
            .map_err(|_| format!("--header: '{k}' is not a valid header name"))?;
        let mut value = reqwest::header::HeaderValue::from_str(v)
            .map_err(|_| format!("--header {k}: the value is not a valid header value"))?;
        value.set_sensitive(true);
        headers.append(name, value);
    }
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .user_agent(concat!("kvscope/", env!("CARGO_PKG_VERSION")))
        .default_headers(headers)
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

/// A base URL (`http://host:port` or `…/`) means its `/metrics`.
pub fn metrics_url(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    if rest.contains('/') && !url.ends_with('/') {
        url.to_string()
    } else {
        format!("{}/metrics", url.trim_end_matches('/'))
    }
}

/// GETs a `/metrics` URL, reading at most `limit` bytes of body; an error status is an error.
pub async fn get(client: &reqwest::Client, url: &str, limit: usize) -> Result<Body, ScrapeError> {
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
    url: &str,
    accept: &str,
    limit: usize,
) -> Result<(u16, Body), ScrapeError> {
    let mut resp = client
        .get(url)
        .header("Accept", accept)
        .send()
        .await
        .map_err(|e| ScrapeError::Unreachable(describe(&e)))?;
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
        .map_err(|e| ScrapeError::Unreachable(describe(&e)))?
    {
        if bytes.len() + chunk.len() > limit {
            return Err(ScrapeError::TooLarge(limit));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok((status, Body { bytes, format }))
}

fn describe(e: &reqwest::Error) -> String {
    let mut msg = if e.is_timeout() {
        "timed out".to_string()
    } else {
        e.to_string()
    };
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_targets_own_header_wins_over_a_shared_one() {
        let shared = Auth::from_flags(
            &["X-Team: a".into(), "Authorization: Bearer all".into()],
            None,
        )
        .unwrap();
        let own = Auth::from_flags(&["authorization: Bearer mine".into()], None).unwrap();
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

    #[test]
    fn base_urls_get_metrics() {
        assert_eq!(
            metrics_url("http://127.0.0.1:8080"),
            "http://127.0.0.1:8080/metrics"
        );
        assert_eq!(
            metrics_url("http://127.0.0.1:8080/"),
            "http://127.0.0.1:8080/metrics"
        );
        assert_eq!(metrics_url("http://h:1/metrics"), "http://h:1/metrics");
        assert_eq!(metrics_url("https://h/x/metrics"), "https://h/x/metrics");
    }
}
