//! The `kvscope` binary: parses the command line, hands each command to its module, and turns
//! the result into output and an exit code.

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};
use kvscope::cli::args::{Cli, Command};
use kvscope::cli::report::ReportArgs;
use kvscope::cli::session::WatchArgs;
use kvscope::cli::{self, Failure, auth, settings};
use kvscope::session::Stop;

fn main() -> ExitCode {
    // `kvscope` alone: watch the config file's targets, or tell a newcomer where to start.
    let mut argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if argv.len() == 1 {
        match kvscope::config::Config::load(None) {
            Ok(c) if c.names_targets() => argv.push("watch".into()),
            Ok(_) => return finish(cli::write_stdout(&cli::shell::newcomer_help())),
            Err(e) => return failed(Failure::bad(e)),
        }
    }
    let matches = Cli::command().get_matches_from(argv);
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let Some((_, sub)) = matches.subcommand() else {
        unreachable!("clap requires a subcommand")
    };
    let auth = match auth::plan(sub) {
        Ok(a) => a,
        Err(f) => return failed(f),
    };
    if auth.all.tls.insecure || auth.per_target.iter().any(|(_, _, a)| a.tls.insecure) {
        warn("--insecure: TLS certificates are not checked");
    }
    let follows = match cli::follow::plan(sub) {
        Ok(f) => f,
        Err(f) => return failed(f),
    };
    match cli.command {
        Command::Watch {
            lmcache,
            engine,
            live,
            follow: _,
        } => finish_live(
            settings::resolve(live, lmcache, engine, auth)
                // Files given with flags follow target flags; the config's follow its own
                // targets, used only when no target flag is given.
                .map(|mut args| {
                    args.follows.extend(follows);
                    args
                })
                .and_then(|args| kvscope::cli::live::watch(&args)),
        ),
        Command::Screenshot(args) => finish(cli::screenshot::run(&args)),
        Command::Fleet {
            fleet,
            refresh,
            live,
        } => {
            let Some(url) = fleet.prometheus else {
                return failed(Failure::bad(
                    "give --prometheus URL: the query API (http://prometheus:9090) or a /federate URL",
                ));
            };
            if live.allow_env || live.export_last.is_some() {
                return failed(Failure::bad(
                    "--allow-env and --export-last do not apply to kvscope fleet (it reads Prometheus, not the servers; e writes the instance's window)",
                ));
            }
            // The dashboard Enter opens is fed at the same pace as the table.
            let interval = refresh.or(live.interval).unwrap_or(15.0);
            finish_live(settings::resolve(live, vec![], vec![], auth).and_then(|w| {
                let args = cli::fleet::FleetArgs {
                    url,
                    matchers: fleet.matchers.unwrap_or_default(),
                    group_by: fleet.group_by,
                    window: w.window,
                    timeout: w.timeout,
                    samples: 1,
                    interval,
                    auth: w.auth.all.clone(),
                    max_answer: (fleet.max_answer_mib as usize) << 20,
                    thresholds: w.thresholds.clone(),
                    series_limit: w.series_limit,
                    format: cli::report::OutputFormat::Json,
                    fail_on: None,
                };
                cli::fleet::run(&args, &w, interval)
            }))
        }
        Command::Demo {
            serve_only,
            port,
            speed,
            live,
        } => {
            if !(0.01..=1000.0).contains(&speed) {
                let message = format!("--speed {speed}: give a number from 0.01 to 1000");
                return failed(Failure::bad(message));
            }
            finish_live(
                settings::resolve(live, vec![], vec![], auth)
                    .and_then(|args| kvscope::cli::live::demo(serve_only, port, speed, &args)),
            )
        }
        Command::Report {
            lmcache,
            engine,
            packet,
            at,
            samples,
            interval,
            window,
            timeout,
            format,
            fail_on,
            routes,
            allow_env,
            config,
            series_limit,
            auth: _,
            follow: _,
            fleet,
        } => {
            let format = format.unwrap_or_else(cli::report::OutputFormat::for_stdout);
            let thresholds = match settings::report_thresholds(config.as_deref()) {
                Ok(t) => t,
                Err(f) => return failed(f),
            };
            if let Some(url) = fleet.prometheus {
                if !lmcache.is_empty()
                    || !engine.is_empty()
                    || packet.is_some()
                    || !follows.is_empty()
                    || routes
                {
                    return failed(Failure::bad(
                        "--prometheus reads a fleet: give it without --lmcache, --engine, --packet, --routes or files beside targets",
                    ));
                }
                let args = cli::fleet::FleetArgs {
                    url,
                    matchers: fleet.matchers.unwrap_or_default(),
                    group_by: fleet.group_by,
                    window,
                    timeout,
                    samples: samples as usize,
                    interval,
                    auth: auth.all,
                    max_answer: (fleet.max_answer_mib as usize) << 20,
                    thresholds,
                    series_limit,
                    format,
                    fail_on,
                };
                return match cli::fleet::report(&args) {
                    Ok((out, code)) => match cli::write_stdout(&out) {
                        Ok(()) => ExitCode::from(code.clamp(0, 255) as u8),
                        Err(f) => failed(f),
                    },
                    Err(f) => failed(f),
                };
            }
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
                packet,
                at,
                fail_on,
                routes: routes
                    .then_some(kvscope::sources::lmcache_http::RouteOptions { allow_env }),
                thresholds,
                follows,
            };
            match cli::report::report(&args) {
                Ok((out, code)) => match cli::write_stdout(&out) {
                    Ok(()) => ExitCode::from(code.clamp(0, 255) as u8),
                    Err(f) => failed(f),
                },
                Err(f) => failed(f),
            }
        }
        Command::Export {
            lmcache,
            engine,
            duration,
            interval,
            timeout,
            allow_env,
            series_limit,
            out,
            redact_hosts,
            auth: _,
            follow: _,
        } => {
            let watch = WatchArgs {
                follows,
                lmcache,
                engine,
                interval,
                window: 60.0,
                timeout,
                theme: None,
                auth,
                keymap: Default::default(),
                routes: kvscope::sources::lmcache_http::RouteOptions { allow_env },
                log: None,
                series_limit,
                export: kvscope::session::ExportPlan {
                    redact_hosts,
                    ..Default::default()
                },
                thresholds: Default::default(),
                mouse: false,
            };
            let args = cli::packet::ExportArgs {
                watch,
                duration,
                out,
            };
            finish(cli::packet::export(&args).and_then(|said| cli::write_stdout(&said)))
        }
        Command::Import {
            src,
            out,
            window,
            redact_hosts,
        } => finish(
            cli::packet::import(
                &src,
                &out,
                window,
                kvscope::store::DEFAULT_SERIES_LIMIT,
                redact_hosts,
            )
            .and_then(|said| cli::write_stdout(&said)),
        ),
        Command::Replay {
            packet,
            at,
            speed,
            window,
            theme,
            config,
            mouse,
        } => finish_live(
            settings::for_replay(config.as_deref(), window, theme, mouse).and_then(|s| {
                cli::replay::replay(&cli::replay::ReplayArgs {
                    packet,
                    at,
                    speed,
                    window: s.window,
                    theme: s.theme,
                    keymap: s.keymap,
                    series_limit: kvscope::store::DEFAULT_SERIES_LIMIT,
                    thresholds: s.thresholds,
                    mouse: s.mouse,
                })
            }),
        ),
        Command::Serve {
            packet,
            port,
            speed,
            live_timestamps,
        } => finish_live(cli::serve::serve(&cli::serve::ServeArgs {
            packet,
            port,
            speed,
            live_timestamps,
        })),
        Command::Completions { shell } => finish(cli::write_stdout(&String::from_utf8_lossy(
            &cli::shell::completions(shell),
        ))),
        Command::Man => finish(cli::write_stdout(&String::from_utf8_lossy(
            &cli::shell::man(),
        ))),
        Command::Verify { packet } => {
            finish(cli::packet::verify(&packet).and_then(|said| cli::write_stdout(&said)))
        }
    }
}

/// A warning on stderr, for commands without a screen to show it on (the TUI shows it in its
/// header too).
fn warn(message: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "kvscope: warning: {message}");
}

/// An error for the user on stderr; a dead stderr (dropped SSH session) is not a reason to panic.
fn failed(f: Failure) -> ExitCode {
    use std::io::Write;
    let message = kvscope::sanitize::clean(&f.message);
    let _ = writeln!(std::io::stderr(), "kvscope: {message}");
    ExitCode::from(f.code as u8)
}

fn finish(r: Result<(), Failure>) -> ExitCode {
    r.map_or_else(failed, |()| ExitCode::SUCCESS)
}

/// How a live session ended: 0 when the user quit, 128 + the signal's number when a signal
/// stopped it (the shell convention), after the terminal was restored either way.
fn finish_live(r: Result<Stop, Failure>) -> ExitCode {
    match r {
        Ok(Stop::Quit) => ExitCode::SUCCESS,
        Ok(Stop::Signal(n)) => ExitCode::from((128 + n).clamp(0, 255) as u8),
        Err(f) => failed(f),
    }
}
