//! The live commands' settings: a flag wins, then the config file, then the default. Targets
//! come from the config file only when no target flag was given.

use super::Failure;
use super::args::{LiveOpts, series_limit};
use crate::analysis::findings::Thresholds;
use crate::cli::session::WatchArgs;
use crate::config::Config;
use crate::sources::http::{Auth, AuthPlan, Tls};
use crate::timefmt::{parse_duration, parse_interval};
use crate::vocab::{Role, Stream};

/// Defaults when neither a flag nor the config file sets a value.
const DEFAULT_INTERVAL: f64 = 2.0;
const DEFAULT_WINDOW: f64 = 60.0;
const DEFAULT_TIMEOUT: f64 = 5.0;

/// Everything `watch`, `demo` or `fleet` needs, from the flags, the config file and the
/// defaults.
pub fn resolve(
    opts: LiveOpts,
    lmcache: Vec<String>,
    engine: Vec<String>,
    mut auth: AuthPlan,
) -> Result<WatchArgs, Failure> {
    let cfg = Config::load(opts.config.as_deref()).map_err(Failure::bad)?;
    let (lmcache, engine, follows) = if lmcache.is_empty() && engine.is_empty() {
        config_targets(&cfg, &mut auth)?
    } else {
        (lmcache, engine, Vec::new())
    };
    let series_limit = match (opts.series_limit, cfg.series_limit) {
        (Some(n), _) => n,
        (None, Some(n)) => series_limit(&n.to_string())
            .map_err(|e| Failure::bad(format!("config series_limit: {e}")))?,
        (None, None) => crate::store::DEFAULT_SERIES_LIMIT,
    };
    Ok(WatchArgs {
        follows,
        l1_size: None,
        capacity_exact: None,
        lmcache,
        engine,
        interval: seconds(opts.interval, &cfg.interval, "interval", DEFAULT_INTERVAL)?,
        window: seconds(opts.window, &cfg.window, "window", DEFAULT_WINDOW)?,
        timeout: seconds(opts.timeout, &cfg.timeout, "timeout", DEFAULT_TIMEOUT)?,
        theme: opts.theme.or(cfg.theme.clone()),
        auth,
        log: opts.log,
        routes: crate::sources::lmcache_http::RouteOptions {
            allow_env: opts.allow_env,
        },
        keymap: keymap(&cfg)?,
        series_limit,
        mouse: opts.mouse || cfg.mouse,
        thresholds: cfg.thresholds.clone(),
        export: crate::session::ExportPlan {
            file: None,
            dir: opts
                .export_dir
                .or(cfg.export_dir)
                .unwrap_or_else(|| ".".into()),
            last_seconds: seconds_opt(opts.export_last, &cfg.export_last, "export_last")?
                .map(|s| s.ceil() as u64),
            redact_hosts: opts.redact_hosts || cfg.redact_hosts,
        },
    })
}

/// What a replay takes from the flags and the config file: window, theme, keys, thresholds.
pub fn for_replay(
    config: Option<&std::path::Path>,
    window: Option<f64>,
    theme: Option<String>,
    mouse: bool,
) -> Result<ReplaySettings, Failure> {
    let cfg = Config::load(config).map_err(Failure::bad)?;
    Ok(ReplaySettings {
        window: seconds(window, &cfg.window, "window", DEFAULT_WINDOW)?,
        theme: theme.or(cfg.theme.clone()),
        keymap: keymap(&cfg)?,
        thresholds: cfg.thresholds.clone(),
        mouse: mouse || cfg.mouse,
    })
}

/// The config's `[keys]` over the default key map; an error names the file.
fn keymap(cfg: &Config) -> Result<crate::tui::keys::KeyMap, Failure> {
    crate::tui::keys::KeyMap::with_overrides(&cfg.keys).map_err(|e| Failure::bad(cfg.named(e)))
}

/// What a replay takes from its flags and the config file.
pub struct ReplaySettings {
    pub window: f64,
    pub theme: Option<String>,
    pub keymap: crate::tui::keys::KeyMap,
    pub thresholds: Thresholds,
    pub mouse: bool,
}

/// `report --config FILE`: the `[findings]` thresholds of that file (the defaults without one;
/// a report reads no config file it was not given, so CI stays reproducible).
pub fn report_thresholds(config: Option<&std::path::Path>) -> Result<Thresholds, Failure> {
    match config {
        None => Ok(Thresholds::default()),
        Some(p) => Ok(Config::load(Some(p)).map_err(Failure::bad)?.thresholds),
    }
}

/// A time setting: the flag's (already parsed), else the config file's, else the default.
/// Intervals have a floor that other durations do not (see `parse_interval`).
fn seconds(
    flag: Option<f64>,
    from_config: &Option<String>,
    name: &str,
    default: f64,
) -> Result<f64, Failure> {
    let parse = if name == "interval" {
        parse_interval
    } else {
        parse_duration
    };
    match (flag, from_config) {
        (Some(v), _) => Ok(v),
        (None, Some(text)) => parse(text).map_err(|e| Failure::bad(format!("config {name}: {e}"))),
        (None, None) => Ok(default),
    }
}

/// An optional duration: the flag's, else the config file's, else none.
fn seconds_opt(
    flag: Option<f64>,
    from_config: &Option<String>,
    name: &str,
) -> Result<Option<f64>, Failure> {
    match (flag, from_config) {
        (Some(v), _) => Ok(Some(v)),
        (None, Some(text)) => parse_duration(text)
            .map(Some)
            .map_err(|e| Failure::bad(format!("config {name}: {e}"))),
        (None, None) => Ok(None),
    }
}

/// The config file's targets: its `lmcache`/`engine` lists, then each `[[target]]` with its own
/// headers added to the plan and its files to read beside it.
type ConfigTargets = (Vec<String>, Vec<String>, Vec<crate::cli::follow::Given>);

fn config_targets(cfg: &Config, auth: &mut AuthPlan) -> Result<ConfigTargets, Failure> {
    let mut follows = Vec::new();
    let (mut lm, mut en) = (cfg.lmcache.clone(), cfg.engine.clone());
    for t in &cfg.target {
        let (role, list, url) = match (&t.lmcache, &t.engine) {
            (Some(u), _) => (Role::Lmcache, &mut lm, u),
            (None, Some(u)) => (Role::Engine, &mut en, u),
            (None, None) => continue,
        };
        let own = target_auth(t).map_err(|e| {
            let shown = crate::sanitize::redact_url(url);
            Failure::bad(format!("config [[target]] {shown}: {e}"))
        })?;
        auth.per_target.push((role, list.len(), own));
        for (stream, path) in [
            (Stream::Trace, &t.lct),
            (Stream::Otel, &t.otel),
            (Stream::ServerLog, &t.server_log),
            (Stream::EngineLog, &t.engine_log),
            (Stream::LookupHashes, &t.lookup_hashes),
        ] {
            if let Some(path) = path {
                follows.push(crate::cli::follow::Given {
                    role,
                    arg: list.len(),
                    stream,
                    path: path.clone(),
                });
            }
        }
        list.push(url.clone());
    }
    Ok((lm, en, follows))
}

/// A `[[target]]` table's headers, credentials and TLS files, read as its flags would be.
fn target_auth(t: &crate::config::Target) -> Result<Auth, crate::sources::http::SetupError> {
    let mut auth = Auth::from_flags(&t.header, t.bearer_token_file.as_deref())?;
    if let Some(file) = &t.basic_auth_file {
        auth = auth.with_basic_auth_file(file)?;
    }
    auth.tls = Tls::from_flags(
        &t.ca_cert,
        t.client_cert.as_slice(),
        t.client_key.as_slice(),
        t.insecure,
    )?;
    Ok(auth)
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, FromArgMatches};

    use super::*;
    use crate::cli::args::{Cli, Command};

    /// `watch` with `argv` and a config file holding `config`.
    fn resolved(argv: &[&str], config: &str) -> Result<WatchArgs, Failure> {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("kvscope-settings-{}-{n}.toml", std::process::id()));
        std::fs::write(&path, config).unwrap();
        let path_arg = path.to_str().unwrap().to_string();
        let mut full = vec!["kvscope", "watch", "--config", &path_arg];
        full.extend_from_slice(argv);
        let m = Cli::command().try_get_matches_from(full).unwrap();
        let Command::Watch {
            lmcache,
            engine,
            live,
            ..
        } = Cli::from_arg_matches(&m).unwrap().command
        else {
            panic!("watch parses as watch")
        };
        let auth = crate::cli::auth::plan(m.subcommand().unwrap().1)?;
        let out = resolve(live, lmcache, engine, auth);
        let _ = std::fs::remove_file(&path);
        out
    }

    #[test]
    fn the_mouse_is_off_unless_the_flag_or_the_config_file_turns_it_on() {
        let targets = "lmcache = [\"http://127.0.0.1:1\"]\n";
        let mouse = |argv: &[&str], config: &str| resolved(argv, config).ok().map(|w| w.mouse);
        assert_eq!(mouse(&[], targets), Some(false));
        assert_eq!(mouse(&["--mouse"], targets), Some(true));
        assert_eq!(mouse(&[], &format!("{targets}mouse = true\n")), Some(true));
    }

    #[test]
    fn a_flag_wins_over_the_config_file_which_wins_over_the_default() {
        let cfg = "interval = \"5s\"\nwindow = \"2m\"\nseries_limit = 500\n";
        let w = resolved(&["--lmcache", "http://a", "--interval", "1s"], cfg).unwrap();
        assert_eq!(w.interval, 1.0);
        assert_eq!(w.window, 120.0);
        assert_eq!(w.timeout, DEFAULT_TIMEOUT);
        assert_eq!(w.series_limit, 500);
        let w = resolved(&["--lmcache", "http://a", "--series-limit", "7"], cfg).unwrap();
        assert_eq!((w.interval, w.series_limit), (5.0, 7));
        assert_eq!(w.export.last_seconds, None);
        let cfg = "export_last = \"10m\"\nexport_dir = \"/var/tmp\"\n";
        let w = resolved(&["--lmcache", "http://a"], cfg).unwrap();
        assert_eq!(w.export.last_seconds, Some(600));
        assert_eq!(w.export.dir, std::path::Path::new("/var/tmp"));
        let w = resolved(&["--lmcache", "http://a", "--export-last", "30s"], cfg).unwrap();
        assert_eq!(w.export.last_seconds, Some(30));
    }

    #[test]
    fn config_targets_are_used_only_without_target_flags_and_keep_their_own_headers() {
        let cfg = "lmcache = [\"http://listed\"]\n\n[[target]]\nengine = \"http://e\"\nheader = [\"X-E: 1\"]\n";
        let w = resolved(&[], cfg).unwrap();
        assert_eq!(w.lmcache, ["http://listed"]);
        assert_eq!(w.engine, ["http://e"]);
        let own = &w.auth.for_target(Role::Engine, 0).headers;
        assert_eq!(own, &[("X-E".to_string(), "1".to_string())]);
        let w = resolved(&["--engine", "http://flag"], cfg).unwrap();
        assert!(w.lmcache.is_empty());
        assert_eq!(w.engine, ["http://flag"]);
        assert!(w.auth.per_target.is_empty());
    }

    #[test]
    fn a_config_target_names_the_files_read_beside_it() {
        let cfg = "lmcache = [\"http://listed\"]\n\n[[target]]\nlmcache = \"http://a\"\nlct = \"/srv/a.lct\"\nserver_log = \"/srv/a.log\"\n\n[[target]]\nengine = \"http://e\"\nengine_log = \"/srv/e.log\"\notel = \"/srv/spans.jsonl\"\n";
        let w = resolved(&[], cfg).unwrap();
        let got: Vec<(Role, usize, Stream, &str)> = w
            .follows
            .iter()
            .map(|g| (g.role, g.arg, g.stream, g.path.to_str().unwrap()))
            .collect();
        assert_eq!(
            got,
            [
                (Role::Lmcache, 1, Stream::Trace, "/srv/a.lct"),
                (Role::Lmcache, 1, Stream::ServerLog, "/srv/a.log"),
                (Role::Engine, 0, Stream::Otel, "/srv/spans.jsonl"),
                (Role::Engine, 0, Stream::EngineLog, "/srv/e.log"),
            ]
        );
        // With target flags the config's targets, and their files, are not used.
        assert!(
            resolved(&["--lmcache", "http://f"], cfg)
                .unwrap()
                .follows
                .is_empty()
        );
    }

    #[test]
    fn bad_config_values_are_refused_naming_the_setting() {
        let e = resolved(&["--lmcache", "http://a"], "interval = \"1ms\"\n").unwrap_err();
        assert!(e.message.starts_with("config interval:"), "{}", e.message);
        let e = resolved(&["--lmcache", "http://a"], "timeout = \"soon\"\n").unwrap_err();
        assert!(e.message.starts_with("config timeout:"), "{}", e.message);
        let e = resolved(&["--lmcache", "http://a"], "export_last = \"a while\"\n").unwrap_err();
        assert!(
            e.message.starts_with("config export_last:"),
            "{}",
            e.message
        );
        let e = resolved(&["--lmcache", "http://a"], "series_limit = 0\n").unwrap_err();
        assert!(
            e.message.starts_with("config series_limit:"),
            "{}",
            e.message
        );
        let cfg = "[[target]]\nlmcache = \"http://user:pw@h\"\nheader = [\"oops\"]\n";
        let e = resolved(&[], cfg).unwrap_err();
        assert!(e.message.contains("config [[target]]"), "{}", e.message);
        assert!(!e.message.contains("pw"), "{}", e.message);
    }
}
