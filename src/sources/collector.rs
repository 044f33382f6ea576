//! Collectors: one tokio task per target scrapes `/metrics` every interval with a timeout and
//! sends what happened as events, for as long as someone listens (a live session) or a given
//! number of times (`report`). A slow or dead target only delays its own task.

use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::http;
use crate::timefmt::now;
use crate::vocab::{Event, TargetRef};

/// What one collector polls.
#[derive(Debug, Clone)]
pub struct Poll {
    pub target: TargetRef,
    pub url: http::TargetUrl,
    pub interval: Duration,
    pub limit: usize,
}

/// Scrapes until the receiving side goes away.
pub async fn run(poll: Poll, client: reqwest::Client, tx: mpsc::Sender<Event>) {
    scrape(&poll, &client, &tx, None).await;
}

/// Scrapes `n` times, the first at once, then every interval (a bounded session: `report`).
/// Says the first scrape over the body limit, which `report` treats as bad input; the
/// scrapes after it are not made.
pub async fn rounds(
    poll: Poll,
    client: reqwest::Client,
    tx: mpsc::Sender<Event>,
    n: usize,
) -> Option<http::ScrapeError> {
    scrape(&poll, &client, &tx, Some(n)).await
}

async fn scrape(
    poll: &Poll,
    client: &reqwest::Client,
    tx: &mpsc::Sender<Event>,
    rounds: Option<usize>,
) -> Option<http::ScrapeError> {
    let mut tick = tokio::time::interval(poll.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for _ in 0..rounds.unwrap_or(usize::MAX) {
        tick.tick().await;
        let (events, failed) = attempt(poll, client).await;
        for e in events {
            if tx.send(e).await.is_err() {
                return None;
            }
        }
        if rounds.is_some()
            && let Some(e @ http::ScrapeError::TooLarge(_)) = failed
        {
            return Some(e);
        }
    }
    None
}

/// One scrape of a target, as events: the scrape and its latency, or the failure (and the
/// error itself, for a caller that treats some failures as its own: `report` exits on a body
/// over the limit).
async fn attempt(poll: &Poll, client: &reqwest::Client) -> (Vec<Event>, Option<http::ScrapeError>) {
    let started = Instant::now();
    let result = http::get(client, &poll.url, poll.limit).await;
    let time = now();
    match result {
        Ok(mut body) => (
            vec![
                Event::Scrape {
                    target: poll.target,
                    time: Some(time),
                    body: {
                        crate::sanitize::scrub_bytes(&mut body.bytes);
                        body.bytes
                    },
                    format: body.format,
                    origin: poll.url.to_string(),
                },
                Event::Latency {
                    target: poll.target,
                    time,
                    seconds: started.elapsed().as_secs_f64(),
                },
            ],
            None,
        ),
        Err(e) => (
            vec![Event::ScrapeFailed {
                target: poll.target,
                time,
                error: crate::sanitize::scrub(&e.to_string()).into_owned(),
            }],
            Some(e),
        ),
    }
}
