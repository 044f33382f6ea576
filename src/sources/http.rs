//! Read-only HTTP scraping with a timeout and a body cap.

use std::time::Duration;

use crate::expo::Format;

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

/// Builds the HTTP client: rustls with the ring provider, no proxies from the environment
/// surprises beyond reqwest's defaults, a per-request timeout.
pub fn client(timeout: Duration) -> Result<reqwest::Client, String> {
    // Installing twice is harmless; the first provider wins.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .user_agent(concat!("kvscope/", env!("CARGO_PKG_VERSION")))
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
    use super::metrics_url;

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
