//! The `kvscope` binary.

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use kvscope::cli::{self, OutputFormat, ReportArgs};
use kvscope::live::WatchArgs;
use kvscope::sources::http::{Auth, AuthPlan};
use kvscope::timefmt::{parse_duration, parse_interval};
use kvscope::vocab::Role;

#[derive(Parser)]
#[command(
    name = "kvscope",
    version,
    about = "See whether the KV cache of an LLM serving stack (LMCache + vLLM/SGLang) is working"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Watch live targets in the terminal UI.
    Watch {
        /// LMCache MP server: a base URL (http://host:8080) or its /metrics URL. Repeatable.
        #[arg(long, value_name = "URL")]
        lmcache: Vec<String>,
        /// Engine (vLLM/SGLang) base or /metrics URL. Repeatable.
        #[arg(long, value_name = "URL")]
        engine: Vec<String>,
        #[command(flatten)]
        live: LiveOpts,
    },
    /// Render the TUI for saved scrapes at a given size, as SVG or plain text.
    Screenshot {
        /// LMCache scrapes: FILE, FILE@TIME or a metrics_index.tsv (as for report).
        #[arg(long, value_name = "FILE")]
        lmcache: Vec<String>,
        /// Engine scrapes, same forms.
        #[arg(long, value_name = "FILE")]
        engine: Vec<String>,
        /// Terminal size, COLSxROWS.
        #[arg(long, default_value = "120x40")]
        size: String,
        #[arg(long, value_enum, default_value = "svg")]
        format: ShotFormat,
        /// Theme: dark, light, high-contrast, mono, or a theme file.
        #[arg(long)]
        theme: Option<String>,
        /// Where to write; standard output when absent.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
    /// Replay a real recorded LMCache run and vLLM scrape on loopback, with the TUI attached.
    Demo {
        /// Only run the replay servers (LMCache on PORT, engine on PORT+1) and print their URLs.
        #[arg(long)]
        serve_only: bool,
        /// LMCache side's port; the engine gets the next one. Default: any two free ports.
        #[arg(long)]
        port: Option<u16>,
        /// Replay speed relative to the recording.
        #[arg(long, default_value_t = 1.0)]
        speed: f64,
        #[command(flatten)]
        live: LiveOpts,
    },
    /// Analyse scrapes (files or live URLs) and print the report as JSON, text or markdown.
    Report {
        /// LMCache /metrics: FILE, FILE@2026-11-22T07:23:02Z, a metrics_index.tsv, or a URL.
        /// Repeatable; files form one timeline in the given order, each URL is a target.
        #[arg(long, value_name = "FILE|URL")]
        lmcache: Vec<String>,
        /// Engine (vLLM/SGLang) /metrics, same forms as --lmcache.
        #[arg(long, value_name = "FILE|URL")]
        engine: Vec<String>,
        /// Scrapes per URL.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=10_000))]
        samples: u32,
        /// Time between scrapes of a URL (500ms, 2s, 5m; at least 100ms).
        #[arg(long, default_value = "2s", value_parser = parse_interval)]
        interval: f64,
        /// Window for windowed figures.
        #[arg(long, default_value = "60s", value_parser = parse_duration)]
        window: f64,
        /// Per-request timeout for URLs.
        #[arg(long, default_value = "5s", value_parser = parse_duration)]
        timeout: f64,
        #[arg(long, value_enum, default_value = "json")]
        format: OutputFormat,
        /// Series one scrape may carry per instance; a scrape with more is refused.
        #[arg(long, value_name = "N", default_value_t = kvscope::store::DEFAULT_SERIES_LIMIT, value_parser = series_limit)]
        series_limit: usize,
        #[command(flatten)]
        auth: AuthOpts,
    },
}

/// `--series-limit`: a whole number from 1 to 100 million.
fn series_limit(s: &str) -> Result<usize, String> {
    s.trim()
        .parse::<usize>()
        .ok()
        .filter(|n| (1..=100_000_000).contains(n))
        .ok_or_else(|| format!("'{s}' is not a series limit (a whole number from 1 to 100000000)"))
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ShotFormat {
    Svg,
    Text,
}

/// Options shared by the live commands; unset ones come from the config file, then defaults.
#[derive(clap::Args, Clone)]
struct LiveOpts {
    /// Scrape interval (500ms, 2s, 5m; at least 100ms) [default: 2s].
    #[arg(long, value_parser = parse_interval)]
    interval: Option<f64>,
    /// Window for windowed figures [default: 60s].
    #[arg(long, value_parser = parse_duration)]
    window: Option<f64>,
    /// Per-request timeout [default: 5s].
    #[arg(long, value_parser = parse_duration)]
    timeout: Option<f64>,
    /// Theme: dark (default), light, high-contrast, mono (NO_COLOR picks it), or a theme file.
    #[arg(long)]
    theme: Option<String>,
    /// Config file [default: $XDG_CONFIG_HOME/kvscope/config.toml or ~/.config/kvscope/config.toml].
    #[arg(long, value_name = "FILE")]
    config: Option<std::path::PathBuf>,
    /// Also read the LMCache server's /env (values redacted, except diagnostic settings such as
    /// LMCACHE_*, VLLM_* and PYTHONHASHSEED whose names do not look secret).
    #[arg(long)]
    allow_env: bool,
    /// Log file [default: $XDG_STATE_HOME/kvscope/kvscope.log or ~/.local/state/kvscope/kvscope.log].
    #[arg(long, value_name = "FILE")]
    log: Option<std::path::PathBuf>,
    /// Series one scrape may carry per instance; a scrape with more is refused [default: 100000].
    #[arg(long, value_name = "N", value_parser = series_limit)]
    series_limit: Option<usize>,
    #[command(flatten)]
    auth: AuthOpts,
}

impl LiveOpts {
    /// Flags, then the config file, then defaults. Targets come from the config file only when
    /// no target flag was given.
    fn resolve(
        self,
        lmcache: Vec<String>,
        engine: Vec<String>,
        mut auth: AuthPlan,
    ) -> Result<WatchArgs, cli::Failure> {
        let bad = |message: String| cli::Failure {
            code: cli::EXIT_BAD_INPUT,
            message,
        };
        let cfg = kvscope::config::Config::load(self.config.as_deref()).map_err(bad)?;
        let dur = |flag: Option<f64>,
                   from_cfg: &Option<String>,
                   name: &str,
                   default: f64|
         -> Result<f64, cli::Failure> {
            let parse = if name == "interval" {
                parse_interval
            } else {
                parse_duration
            };
            match (flag, from_cfg) {
                (Some(v), _) => Ok(v),
                (None, Some(text)) => parse(text).map_err(|e| bad(format!("config {name}: {e}"))),
                (None, None) => Ok(default),
            }
        };
        let (lmcache, engine) = if lmcache.is_empty() && engine.is_empty() {
            let (mut lm, mut en) = (cfg.lmcache.clone(), cfg.engine.clone());
            for t in &cfg.target {
                let (role, list, url) = match (&t.lmcache, &t.engine) {
                    (Some(u), _) => (Role::Lmcache, &mut lm, u),
                    (None, Some(u)) => (Role::Engine, &mut en, u),
                    (None, None) => continue,
                };
                let own =
                    Auth::from_flags(&t.header, t.bearer_token_file.as_deref()).map_err(|e| {
                        bad(format!(
                            "config [[target]] {}: {e}",
                            kvscope::sanitize::redact_url(url)
                        ))
                    })?;
                auth.per_target.push((role, list.len(), own));
                list.push(url.clone());
            }
            (lm, en)
        } else {
            (lmcache, engine)
        };
        Ok(WatchArgs {
            lmcache,
            engine,
            interval: dur(self.interval, &cfg.interval, "interval", 2.0)?,
            window: dur(self.window, &cfg.window, "window", 60.0)?,
            timeout: dur(self.timeout, &cfg.timeout, "timeout", 5.0)?,
            theme: self.theme.or(cfg.theme),
            auth,
            log: self.log,
            routes: kvscope::sources::lmcache_http::RouteOptions {
                allow_env: self.allow_env,
            },
            keymap: kvscope::tui::keys::KeyMap::with_overrides(&cfg.keys).map_err(bad)?,
            series_limit: match (self.series_limit, cfg.series_limit) {
                (Some(n), _) => n,
                (None, Some(n)) => series_limit(&n.to_string())
                    .map_err(|e| bad(format!("config series_limit: {e}")))?,
                (None, None) => kvscope::store::DEFAULT_SERIES_LIMIT,
            },
        })
    }
}

/// Request headers for targets that need them (LMCache 0.5.7 API keys).
#[derive(clap::Args, Clone)]
struct AuthOpts {
    /// Extra request header NAME:VALUE. Before any target flag: for every target; after a
    /// --lmcache/--engine URL: for that target only. Repeatable. Never printed.
    #[arg(long, value_name = "NAME:VALUE")]
    header: Vec<String>,
    /// File holding a bearer token, sent as `Authorization: Bearer …`; placed like --header.
    /// Never printed.
    #[arg(long, value_name = "FILE")]
    bearer_token_file: Vec<std::path::PathBuf>,
}

/// Splits `--header`/`--bearer-token-file` by where they stand on the command line: before any
/// target flag they go to every target, after a `--lmcache`/`--engine` value to that target.
fn auth_plan(m: &clap::ArgMatches) -> Result<AuthPlan, cli::Failure> {
    let bad = |message: String| cli::Failure {
        code: cli::EXIT_BAD_INPUT,
        message,
    };
    let positions = |id: &str| -> Vec<usize> {
        // Not every subcommand has every flag.
        if !matches!(m.try_contains_id(id), Ok(true)) {
            return Vec::new();
        }
        m.indices_of(id).map(Iterator::collect).unwrap_or_default()
    };
    // (position on the command line, role, index among that role's flags)
    let mut owners: Vec<(usize, Role, usize)> = Vec::new();
    for (id, role) in [("lmcache", Role::Lmcache), ("engine", Role::Engine)] {
        owners.extend(
            positions(id)
                .into_iter()
                .enumerate()
                .map(|(i, p)| (p, role, i)),
        );
    }
    let owner = |pos: usize| {
        owners
            .iter()
            .filter(|o| o.0 < pos)
            .max_by_key(|o| o.0)
            .map(|o| (o.1, o.2))
    };
    type Scope = (Option<(Role, usize)>, Vec<String>, Vec<std::path::PathBuf>);
    fn slot(scopes: &mut Vec<Scope>, o: Option<(Role, usize)>) -> &mut Scope {
        let i = match scopes.iter().position(|s| s.0 == o) {
            Some(i) => i,
            None => {
                scopes.push((o, Vec::new(), Vec::new()));
                scopes.len() - 1
            }
        };
        &mut scopes[i]
    }
    let mut scopes: Vec<Scope> = Vec::new();
    let headers = m
        .try_get_many::<String>("header")
        .ok()
        .flatten()
        .into_iter()
        .flatten();
    for (h, pos) in headers.zip(positions("header")) {
        slot(&mut scopes, owner(pos)).1.push(h.clone());
    }
    let files = m
        .try_get_many::<std::path::PathBuf>("bearer_token_file")
        .ok()
        .flatten()
        .into_iter()
        .flatten();
    for (f, pos) in files.zip(positions("bearer_token_file")) {
        slot(&mut scopes, owner(pos)).2.push(f.clone());
    }
    let mut plan = AuthPlan::default();
    for (o, headers, files) in scopes {
        if files.len() > 1 {
            return Err(bad(format!(
                "--bearer-token-file given {} times for {}: give one per target",
                files.len(),
                o.map_or("every target".to_string(), |(r, i)| format!(
                    "the {} target #{}",
                    r.flag(),
                    i + 1
                ))
            )));
        }
        let auth = Auth::from_flags(&headers, files.first().map(|p| p.as_path())).map_err(bad)?;
        match o {
            None => plan.all = auth,
            Some((role, index)) => plan.per_target.push((role, index, auth)),
        }
    }
    Ok(plan)
}

/// An error for the user on stderr; a dead stderr (dropped SSH session) is not a reason to panic.
fn say(message: &str) {
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "kvscope: {}",
        kvscope::sanitize::clean(message)
    );
}

fn finish(r: Result<(), cli::Failure>) -> ExitCode {
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            say(&f.message);
            ExitCode::from(f.code as u8)
        }
    }
}

/// How a live session ended: 0 when the user quit, 128 + the signal's number when a signal
/// stopped it (the shell convention), after the terminal was restored either way.
fn finish_live(r: Result<kvscope::tui::Stop, cli::Failure>) -> ExitCode {
    match r {
        Ok(kvscope::tui::Stop::Quit) => ExitCode::SUCCESS,
        Ok(kvscope::tui::Stop::Signal(n)) => ExitCode::from((128 + n).clamp(0, 255) as u8),
        Err(f) => finish(Err(f)),
    }
}

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let Some((_, sub)) = matches.subcommand() else {
        unreachable!("clap requires a subcommand")
    };
    let auth = match auth_plan(sub) {
        Ok(a) => a,
        Err(f) => return finish(Err(f)),
    };
    match cli.command {
        Command::Watch {
            lmcache,
            engine,
            live,
        } => finish_live(
            live.resolve(lmcache, engine, auth)
                .and_then(|args| kvscope::live::watch(&args)),
        ),
        Command::Screenshot {
            lmcache,
            engine,
            size,
            format,
            theme,
            out,
        } => finish(screenshot(lmcache, engine, &size, format, theme, out)),
        Command::Demo {
            serve_only,
            port,
            speed,
            live,
        } => {
            if !(0.01..=1000.0).contains(&speed) {
                return finish(Err(cli::Failure {
                    code: cli::EXIT_BAD_INPUT,
                    message: format!("--speed {speed}: give a number from 0.01 to 1000"),
                }));
            }
            finish_live(
                live.resolve(vec![], vec![], auth)
                    .and_then(|args| kvscope::live::demo(serve_only, port, speed, &args)),
            )
        }
        Command::Report {
            lmcache,
            engine,
            samples,
            interval,
            window,
            timeout,
            format,
            series_limit,
            auth: _,
        } => {
            let args = ReportArgs {
                lmcache,
                engine,
                samples: samples as usize,
                interval,
                window,
                timeout,
                format,
                auth,
                series_limit,
            };
            match cli::report(&args) {
                Ok(out) => {
                    print!("{out}");
                    ExitCode::SUCCESS
                }
                Err(f) => {
                    say(&f.message);
                    ExitCode::from(f.code as u8)
                }
            }
        }
    }
}

fn screenshot(
    lmcache: Vec<String>,
    engine: Vec<String>,
    size: &str,
    format: ShotFormat,
    theme: Option<String>,
    out: Option<std::path::PathBuf>,
) -> Result<(), cli::Failure> {
    use kvscope::tui::{App, screenshot, theme::Theme};
    let bad = |message: String| cli::Failure {
        code: cli::EXIT_BAD_INPUT,
        message,
    };
    let (w, h) = size
        .split_once('x')
        .and_then(|(w, h)| Some((w.parse::<u16>().ok()?, h.parse::<u16>().ok()?)))
        .filter(|(w, h)| (1..=1000).contains(w) && (1..=1000).contains(h))
        .ok_or_else(|| bad(format!("--size {size}: write COLSxROWS, e.g. 120x40")))?;
    let theme = Theme::pick(theme.as_deref(), false).map_err(bad)?;
    let args = ReportArgs {
        lmcache,
        engine,
        samples: 1,
        interval: 2.0,
        window: 60.0,
        timeout: 5.0,
        format: OutputFormat::Json,
        auth: Default::default(),
        series_limit: kvscope::store::DEFAULT_SERIES_LIMIT,
    };
    let (model, _) = cli::load(&args)?;
    let newest = model
        .targets()
        .filter_map(|(_, t)| t.newest()?.time)
        .fold(0.0, f64::max);
    let mut app = App::new(model, 2.0, 60.0, theme, None);
    app.on_tick(newest);
    let buf = screenshot::render(&app, w, h);
    let text = match format {
        ShotFormat::Svg => screenshot::svg(&buf),
        ShotFormat::Text => screenshot::text(&buf),
    };
    match out {
        Some(path) => std::fs::write(&path, text)
            .map_err(|e| bad(format!("cannot write {}: {e}", path.display()))),
        None => {
            print!("{text}");
            Ok(())
        }
    }
}
