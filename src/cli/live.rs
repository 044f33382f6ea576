//! `kvscope watch` and `kvscope demo`: collectors + TUI in one tokio runtime.

use std::io::IsTerminal;
use std::time::Duration;

use tokio::sync::mpsc;

use super::Failure;
use crate::demo;
use crate::logfile;
use crate::model::Model;
use crate::sources::{collector, http, lmcache_http};
use crate::tui::{self, App, theme::Theme};
use crate::vocab::{Role, TargetRef};

/// What `watch` needs.
#[derive(Debug, Clone)]
pub struct WatchArgs {
    pub lmcache: Vec<String>,
    pub engine: Vec<String>,
    pub interval: f64,
    pub window: f64,
    pub timeout: f64,
    pub theme: Option<String>,
    /// Extra headers (bearer tokens), shared and per target.
    pub auth: http::AuthPlan,
    pub keymap: crate::tui::keys::KeyMap,
    /// Which optional LMCache routes may be read (`--allow-env`).
    pub routes: lmcache_http::RouteOptions,
    /// `--log FILE`; the default state-directory path when `None`.
    pub log: Option<std::path::PathBuf>,
    /// Series one scrape may carry per instance.
    pub series_limit: usize,
    /// Where `e` writes evidence packets, and how much goes in.
    pub export: tui::ExportPlan,
    /// What the findings judge by.
    pub thresholds: crate::analysis::findings::Thresholds,
    /// Traces and logs to follow beside the targets.
    pub follows: Vec<super::follow::Given>,
    /// `--mouse` (or `mouse = true` in the config).
    pub mouse: bool,
}

pub(super) fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    // One thread: collectors are I/O-bound and the UI work is small; it keeps idle CPU low.
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::bad(format!("cannot start the runtime: {e}")))
}

/// Scrapes every URL and runs the TUI until the user quits or a signal stops it.
pub fn watch(args: &WatchArgs) -> Result<tui::Stop, Failure> {
    runtime()?.block_on(watch_in(args, None))
}

async fn watch_in(args: &WatchArgs, note: Option<String>) -> Result<tui::Stop, Failure> {
    let (lm, en) = target_urls(args)?;
    let theme = Theme::pick(
        args.theme.as_deref(),
        std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
    )
    .map_err(Failure::bad)?;
    // Every input is checked before the terminal, so a bad flag is named even without one.
    if !std::io::stdout().is_terminal() {
        return Err(Failure::bad(
            "kvscope watch draws on a terminal; for scripts use kvscope report",
        ));
    }
    // An hour of history at the chosen interval.
    let history = (3600.0 / args.interval).ceil() as usize + 1;
    let names =
        |urls: &[http::TargetUrl]| -> Vec<String> { urls.iter().map(|u| u.to_string()).collect() };
    let mut model = Model::new(&names(&lm), &names(&en), history);
    model.set_series_limit(args.series_limit);
    model.thresholds = args.thresholds.clone();
    let (tx, rx) = mpsc::channel(256);
    spawn_collectors(args, &lm, &en, model.limits.max_body_bytes, &tx)?;
    drop(tx);
    let (mut log, log_problem) = open_log(args)?;
    let note = match (note, log_problem) {
        (Some(n), Some(p)) => Some(format!("{n} · {p}")),
        (n, p) => n.or(p),
    };
    if let Some(l) = log.as_mut() {
        let names: Vec<String> = model.targets().map(|(_, t)| t.name.clone()).collect();
        l.line(&format!(
            "kvscope {} watch started: {} every {}s",
            env!("CARGO_PKG_VERSION"),
            names.join(", "),
            args.interval
        ));
    }
    let mut app = App::new(model, args.interval, args.window, theme, note);
    app.insecure = [(Role::Lmcache, &lm), (Role::Engine, &en)]
        .into_iter()
        .flat_map(|(role, urls)| {
            urls.iter()
                .enumerate()
                .filter(move |(i, _)| args.auth.for_target(role, *i).tls.insecure)
                .map(|(_, u)| u.to_string())
        })
        .collect();
    app.keymap = args.keymap.clone();
    app.mouse = args.mouse;
    app.export = args.export.clone();
    let log = std::sync::Arc::new(std::sync::Mutex::new(log));
    let result = tui::run(app, tui::Feed::Live(rx), log.clone())
        .await
        .map_err(|e| Failure::bad(format!("terminal error: {e}")));
    if let Ok(mut l) = log.lock()
        && let Some(l) = l.as_mut()
    {
        l.line(&match &result {
            Ok(tui::Stop::Quit) => "kvscope stopped".to_string(),
            Ok(tui::Stop::Signal(n)) => {
                format!("kvscope stopped by {}", tui::signals::name(*n))
            }
            Err(e) => format!("kvscope stopped: {}", e.message),
        });
    }
    result
}

/// The targets' `/metrics` URLs, LMCache's then the engines'; every argument must be a URL.
pub(super) fn target_urls(
    args: &WatchArgs,
) -> Result<(Vec<http::TargetUrl>, Vec<http::TargetUrl>), Failure> {
    if args.lmcache.is_empty() && args.engine.is_empty() {
        return Err(Failure::bad("give at least one --lmcache or --engine URL"));
    }
    for u in args.lmcache.iter().chain(&args.engine) {
        if !(u.starts_with("http://") || u.starts_with("https://")) {
            return Err(Failure::bad(format!(
                "'{}' is not a URL (watch scrapes live targets; for files use kvscope report)",
                crate::sanitize::redact_url(u)
            )));
        }
    }
    let urls = |list: &[String], role: Role| -> Result<Vec<http::TargetUrl>, Failure> {
        list.iter()
            .map(|u| {
                http::TargetUrl::metrics(u)
                    .map_err(|e| Failure::bad(format!("{} {e}", role.flag())))
            })
            .collect()
    };
    Ok((
        urls(&args.lmcache, Role::Lmcache)?,
        urls(&args.engine, Role::Engine)?,
    ))
}

/// One `/metrics` collector per target, and for LMCache targets one reader of its HTTP routes.
pub(super) fn spawn_collectors(
    args: &WatchArgs,
    lm: &[http::TargetUrl],
    en: &[http::TargetUrl],
    limit: usize,
    tx: &mpsc::Sender<crate::vocab::Event>,
) -> Result<(), Failure> {
    let interval = Duration::from_secs_f64(args.interval);
    for (role, urls) in [(Role::Lmcache, lm), (Role::Engine, en)] {
        for (index, url) in urls.iter().enumerate() {
            let target = TargetRef { role, index };
            let client = http::client(
                Duration::from_secs_f64(args.timeout),
                &args.auth.for_target(role, index),
            )
            .map_err(Failure::bad)?;
            let poll = collector::Poll {
                target,
                url: url.clone(),
                interval,
                limit,
            };
            tokio::spawn(collector::run(poll, client.clone(), tx.clone()));
            if role == Role::Lmcache {
                let routes = lmcache_http::run(
                    target,
                    url.clone(),
                    interval,
                    args.routes,
                    client,
                    tx.clone(),
                );
                tokio::spawn(routes);
            }
        }
    }
    for g in &args.follows {
        let follow = crate::sources::follow::Follow {
            target: TargetRef {
                role: g.role,
                index: g.arg,
            },
            stream: g.stream,
            path: g.path.clone(),
        };
        crate::sources::follow::check(&follow).map_err(Failure::bad)?;
        tokio::spawn(crate::sources::follow::follow(follow, tx.clone()));
    }
    Ok(())
}

/// The log: an explicit `--log` must open; the default one is best effort, and the UI is told
/// (the second value) when it could not be written.
pub(super) fn open_log(
    args: &WatchArgs,
) -> Result<(Option<logfile::LogFile>, Option<String>), Failure> {
    Ok(match (&args.log, logfile::default_path()) {
        (Some(p), _) => (Some(logfile::LogFile::open(p).map_err(Failure::bad)?), None),
        (None, Some(p)) => match logfile::LogFile::open(&p) {
            Ok(l) => (Some(l), None),
            Err(e) => (None, Some(format!("log not written: {e}"))),
        },
        (None, None) => (
            None,
            Some("log not written: no HOME or XDG_STATE_HOME".into()),
        ),
    })
}

/// `kvscope demo`: the bundled packet served on loopback, with the TUI attached unless
/// `serve_only`.
pub fn demo(
    serve_only: bool,
    port: Option<u16>,
    speed: f64,
    args: &WatchArgs,
) -> Result<tui::Stop, Failure> {
    runtime()?.block_on(async {
        let bundled = demo::packet();
        let (urls, _server) = super::serve::start(&bundled, port.unwrap_or(0), speed, false)
            .await
            .map_err(|why| Failure::bad(format!("demo: {why}")))?;
        let url = |role: Role| {
            urls.iter()
                .find(|(r, _)| *r == role)
                .map(|(_, u)| u.clone())
                .unwrap_or_default()
        };
        let (lm, en) = (url(Role::Lmcache), url(Role::Engine));
        if serve_only {
            super::write_stdout(&format!("kvscope demo: LMCache {lm}  engine {en}\n"))?;
            return super::serve::until_signal().await;
        }
        let note = format!(
            "demo: a real LMCache 0.5.6 CPU run replayed at {speed}× ({lm}) paired with a real vLLM scrape from another run (packet_a, one snapshot: its rates are unknown)"
        );
        let watch = WatchArgs {
            lmcache: vec![lm],
            engine: vec![en],
            ..args.clone()
        };
        watch_in(&watch, Some(note)).await
    })
}
