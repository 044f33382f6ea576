//! A session with an end, for `report`: its URL targets scraped by the live collectors a
//! fixed number of times, each LMCache target's routes read once by the live route reader,
//! every event applied to the same [`Core`] a live session applies it to.

use std::time::Duration;

use tokio::sync::mpsc;

use super::{Collect, Core, StartError};
use crate::model::{ApplyError, Model};
use crate::sources::{collector, http, lmcache_http};
use crate::vocab::{Event, Role, TargetRef};

/// A URL target of a bounded session: where it sits in the model, its URL, and which of its
/// role's arguments it was (its headers and TLS settings are that argument's).
#[derive(Debug, Clone)]
pub struct UrlTarget {
    pub target: TargetRef,
    pub url: http::TargetUrl,
    pub arg: usize,
}

/// What a bounded session has to say about each attempt, after it is applied.
#[derive(Debug)]
pub enum Heard<'a> {
    /// A scrape, now the target's newest.
    Scraped(TargetRef),
    /// A failed attempt, in words.
    Failed(TargetRef, &'a str),
}

/// Why a bounded session stopped short.
#[derive(Debug, thiserror::Error)]
pub enum GatherError {
    #[error(transparent)]
    Start(#[from] StartError),
    /// A scrape over the body limit: the limit is the user's, so it is bad input.
    #[error("{} {url}: {error}", target.role.flag())]
    TooLarge {
        target: TargetRef,
        url: String,
        error: http::ScrapeError,
    },
    /// A body that is no metrics exposition (a sign-in page, JSON).
    #[error("{} {error}", target.role.flag())]
    Unreadable {
        target: TargetRef,
        error: ApplyError,
    },
}

/// Scrapes every target `rounds` times, every `how.interval` from the first at once, all
/// targets at the same time; with `routes`, reads each LMCache target's routes once
/// (`how.routes` says which). Events are applied to `core` as they come; `heard` hears each
/// attempt after it is applied. Ends when every collector and reader has.
pub async fn gather(
    core: &mut Core,
    how: Collect<'_>,
    targets: &[UrlTarget],
    rounds: usize,
    routes: bool,
    mut heard: impl FnMut(&Model, Heard<'_>),
) -> Result<(), GatherError> {
    let (tx, mut rx) = mpsc::channel(256);
    let mut scrapers = tokio::task::JoinSet::new();
    for t in targets {
        let client = http::client(
            Duration::from_secs_f64(how.timeout),
            &how.auth.for_target(t.target.role, t.arg),
        )
        .map_err(StartError::from)?;
        if routes && t.target.role == Role::Lmcache {
            tokio::spawn(lmcache_http::read_once(
                t.target,
                t.url.clone(),
                how.routes,
                client.clone(),
                tx.clone(),
            ));
        }
        let poll = collector::Poll {
            target: t.target,
            url: t.url.clone(),
            interval: Duration::from_secs_f64(how.interval),
            limit: how.limit,
        };
        let (t, tx) = (t.clone(), tx.clone());
        scrapers.spawn(async move { (t, collector::rounds(poll, client, tx, rounds).await) });
    }
    drop(tx);
    while let Some(event) = rx.recv().await {
        let failed = match &event {
            Event::ScrapeFailed { target, error, .. } => Some((*target, error.clone())),
            _ => None,
        };
        let scraped = matches!(event, Event::Scrape { .. }).then(|| event.target());
        let applied = core.try_apply(event);
        if let Some(target) = scraped {
            applied.map_err(|error| GatherError::Unreadable { target, error })?;
            heard(&core.model, Heard::Scraped(target));
        } else if let Some((target, error)) = failed {
            heard(&core.model, Heard::Failed(target, &error));
        }
    }
    let mut over = scrapers.join_all().await;
    over.sort_by_key(|(t, _)| (t.target.role == Role::Engine, t.target.index));
    match over.into_iter().find_map(|(t, e)| Some((t, e?))) {
        Some((t, error)) => Err(GatherError::TooLarge {
            target: t.target,
            url: t.url.to_string(),
            error,
        }),
        None => Ok(()),
    }
}
