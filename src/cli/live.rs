//! `kvscope watch` and `kvscope demo`: collectors + TUI in one tokio runtime.

use std::io::IsTerminal;

use tokio::sync::mpsc;

use super::Failure;
use super::session::{WatchArgs, open_log, run_session, runtime, spawn_collectors, target_urls};
use crate::demo;
use crate::model::ModelSettings;
use crate::session;
use crate::sources::http;
use crate::tui::{App, theme::Theme};
use crate::vocab::Role;

/// Scrapes every URL and runs the TUI until the user quits or a signal stops it.
pub fn watch(args: &WatchArgs) -> Result<crate::session::Stop, Failure> {
    runtime()?.block_on(watch_in(args, None))
}

async fn watch_in(args: &WatchArgs, note: Option<String>) -> Result<crate::session::Stop, Failure> {
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
    let names =
        |urls: &[http::TargetUrl]| -> Vec<String> { urls.iter().map(|u| u.to_string()).collect() };
    let model = ModelSettings::hour_at(args.interval)
        .kind(crate::vocab::InputKind::Url)
        .series_limit(args.series_limit)
        .thresholds(args.thresholds.clone())
        .l1_size(args.l1_size)
        .capacity_exact(args.capacity_exact)
        .build(&names(&lm), &names(&en));
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
    let result = run_session(app, session::Feed::Live(rx), log.clone()).await;
    if let Ok(mut l) = log.lock()
        && let Some(l) = l.as_mut()
    {
        l.line(&match &result {
            Ok(crate::session::Stop::Quit) => "kvscope stopped".to_string(),
            Ok(crate::session::Stop::Signal(n)) => {
                format!("kvscope stopped by {}", crate::session::signals::name(*n))
            }
            Err(e) => format!("kvscope stopped: {}", e.message),
        });
    }
    result
}

/// `kvscope demo`: the bundled packet served on loopback, with the TUI attached unless
/// `serve_only`.
pub fn demo(
    serve_only: bool,
    port: Option<u16>,
    speed: f64,
    args: &WatchArgs,
) -> Result<crate::session::Stop, Failure> {
    runtime()?.block_on(async {
        let bundled = demo::packet();
        let targets = bundled.manifest.targets.clone();
        let (urls, _server) =
            super::serve::start(bundled.timeline(), targets, port.unwrap_or(0), speed, false)
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
