//! Live collectors: one tokio task per target scrapes `/metrics` every interval with a timeout
//! and sends what happened as events. A slow or dead target only delays its own task.

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
    let mut tick = tokio::time::interval(poll.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let started = Instant::now();
        let result = http::get(&client, &poll.url, poll.limit).await;
        let time = now();
        let events = match result {
            Ok(body) => vec![
                Event::Scrape {
                    target: poll.target,
                    time: Some(time),
                    body: body.bytes,
                    format: body.format,
                    origin: poll.url.to_string(),
                },
                Event::Latency {
                    target: poll.target,
                    time,
                    seconds: started.elapsed().as_secs_f64(),
                },
            ],
            Err(e) => vec![Event::ScrapeFailed {
                target: poll.target,
                time,
                error: e.to_string(),
            }],
        };
        for e in events {
            if tx.send(e).await.is_err() {
                return;
            }
        }
    }
}
