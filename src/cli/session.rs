//! Starting a session from the command line: what `watch`, `demo`, `export`, `replay` and the
//! fleet's dashboard share — the targets checked, the collectors spawned, the log opened, the
//! runtime, and a session run under the TUI.

use tokio::sync::mpsc;

use super::Failure;
use crate::logfile;
use crate::session;
use crate::sources::{http, lmcache_http};
use crate::tui::{self, App};
use crate::vocab::Role;

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
    pub export: crate::session::ExportPlan,
    /// What the findings judge by.
    pub thresholds: crate::analysis::findings::Thresholds,
    /// Traces and logs to follow beside the targets.
    pub follows: Vec<super::follow::Given>,
    /// `--l1-size` (bytes): today's L1 for the capacity curve.
    pub l1_size: Option<f64>,
    /// `--capacity-exact`: distinct chunks the capacity curve follows exactly.
    pub capacity_exact: Option<usize>,
    /// `--mouse` (or `mouse = true` in the config).
    pub mouse: bool,
}

pub(super) fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    session::runtime().map_err(|e| Failure::bad(format!("cannot start the runtime: {e}")))
}

/// Starts a session on the App's model, fed by `feed`, and draws it until the user quits or a
/// signal stops it.
pub(super) async fn run_session(
    mut app: App,
    feed: session::Feed,
    log: session::SharedLog,
) -> Result<session::Stop, Failure> {
    let core = app
        .take_core()
        .expect("a new App holds its model until the session takes it");
    let session = session::Session::start(core, feed, log)
        .map_err(|e| Failure::bad(format!("cannot start the session: {e}")))?;
    tui::run(app, session)
        .await
        .map_err(|e| Failure::bad(format!("terminal error: {e}")))
}

/// The targets' `/metrics` URLs, LMCache's then the engines'; every argument must be a URL.
pub(super) fn target_urls(
    args: &WatchArgs,
) -> Result<(Vec<http::TargetUrl>, Vec<http::TargetUrl>), Failure> {
    if args.lmcache.is_empty() && args.engine.is_empty() {
        return Err(Failure::bad("give at least one --lmcache or --engine URL"));
    }
    // A URL, or `host:port` meaning `http://host:port` (as `report` reads its arguments).
    let url_of = |u: &String| match crate::sources::parse_arg(u) {
        Ok(crate::sources::InputArg::Url(url)) => Ok(url),
        _ => Err(Failure::bad(format!(
            "'{}' is not a URL or host:port (watch scrapes live targets; for files use kvscope report)",
            crate::sanitize::redact_url(u)
        ))),
    };
    let urls = |list: &[String], role: Role| -> Result<Vec<http::TargetUrl>, Failure> {
        list.iter()
            .map(|u| {
                http::TargetUrl::metrics(&url_of(u)?)
                    .map_err(|e| Failure::bad(format!("{} {e}", role.flag())))
            })
            .collect()
    };
    Ok((
        urls(&args.lmcache, Role::Lmcache)?,
        urls(&args.engine, Role::Engine)?,
    ))
}

/// The session's collectors for `args`'s targets and the files given beside them.
pub(super) fn spawn_collectors(
    args: &WatchArgs,
    lm: &[http::TargetUrl],
    en: &[http::TargetUrl],
    limit: usize,
    tx: &mpsc::Sender<crate::vocab::Event>,
) -> Result<(), Failure> {
    let how = session::Collect {
        interval: args.interval,
        timeout: args.timeout,
        auth: &args.auth,
        routes: args.routes,
        limit,
    };
    let follows: Vec<_> = args.follows.iter().map(|g| g.follow()).collect();
    session::spawn_collectors(how, lm, en, &follows, tx).map_err(Failure::bad)
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
