//! Each command's run: what the command line asked for, resolved (headers, files beside
//! targets, the config file), handed to the module that does it, and its exit code.

use clap::ArgMatches;

use super::args::{Command, ExportCmd, FleetOpts, LiveOpts, ReportCmd};
use super::report::{OutputFormat, ReportArgs};
use super::session::WatchArgs;
use super::{Failure, auth, settings};
use crate::session::Stop;

/// Runs `command` (`sub`: its matches, for where flags stand on the line): its exit code, or
/// a failure naming the input.
pub fn run(command: Command, sub: &ArgMatches) -> Result<i32, Failure> {
    let auth = auth::plan(sub)?;
    if auth.all.tls.insecure || auth.per_target.iter().any(|(_, _, a)| a.tls.insecure) {
        warn("--insecure: TLS certificates are not checked");
    }
    let follows = super::follow::plan(sub)?;
    match command {
        Command::Watch {
            lmcache,
            engine,
            live,
            follow,
        } => {
            let mut args = settings::resolve(live, lmcache, engine, auth)?;
            args.l1_size = follow.l1_size;
            args.capacity_exact = follow.capacity_exact;
            // Files given with flags follow target flags; the config's follow its own targets,
            // used only when no target flag is given.
            args.follows.extend(follows);
            super::live::watch(&args).map(live_code)
        }
        Command::Screenshot(args) => super::screenshot::run(&args).map(|()| 0),
        Command::Fleet {
            fleet,
            refresh,
            live,
        } => fleet_view(fleet, refresh, live, auth),
        Command::Demo {
            serve_only,
            port,
            speed,
            live,
        } => {
            let args = settings::resolve(live, vec![], vec![], auth)?;
            super::live::demo(serve_only, port, speed, &args).map(live_code)
        }
        Command::Report(report) => run_report(report, auth, follows),
        Command::Export(export) => run_export(export, auth, follows),
        other => run_packet_or_shell(other),
    }
}

/// `kvscope report`: a fleet through Prometheus, or targets, files and packets.
fn run_report(
    command: ReportCmd,
    auth: crate::sources::http::AuthPlan,
    follows: Vec<super::follow::Given>,
) -> Result<i32, Failure> {
    let ReportCmd {
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
        fail_unless,
        routes,
        allow_env,
        config,
        series_limit,
        auth: _,
        follow,
        fleet,
    } = command;
    let format = format.unwrap_or_else(OutputFormat::for_stdout);
    let thresholds = settings::report_thresholds(config.as_deref())?;
    if let Some(url) = fleet.prometheus.clone() {
        let args = super::fleet::FleetArgs {
            url,
            matchers: fleet.matchers.unwrap_or_default(),
            group_by: fleet.group_by,
            instance: fleet.instance,
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
            fail_unless,
        };
        return printed(super::fleet::report(&args));
    }
    printed(super::report::report(&ReportArgs {
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
        fail_unless,
        routes: routes.then_some(crate::sources::lmcache_http::RouteOptions { allow_env }),
        thresholds,
        follows,
        l1_size: follow.l1_size,
        capacity_exact: follow.capacity_exact,
    }))
}

/// `kvscope export`: a headless session written as a packet.
fn run_export(
    command: ExportCmd,
    auth: crate::sources::http::AuthPlan,
    follows: Vec<super::follow::Given>,
) -> Result<i32, Failure> {
    let ExportCmd {
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
    } = command;
    let watch = WatchArgs {
        l1_size: None,
        capacity_exact: None,
        follows,
        lmcache,
        engine,
        interval,
        window: 60.0,
        timeout,
        theme: None,
        auth,
        keymap: Default::default(),
        routes: crate::sources::lmcache_http::RouteOptions { allow_env },
        log: None,
        series_limit,
        export: crate::session::ExportPlan {
            redact_hosts,
            ..Default::default()
        },
        thresholds: Default::default(),
        mouse: false,
    };
    let args = super::packet::ExportArgs {
        watch,
        duration,
        out,
    };
    said(super::packet::export(&args))
}

/// The commands that take no targets: packets, completions and the man page.
fn run_packet_or_shell(command: Command) -> Result<i32, Failure> {
    let series_limit = crate::store::DEFAULT_SERIES_LIMIT;
    match command {
        Command::Import {
            src,
            out,
            window,
            redact_hosts,
        } => said(super::packet::import(
            &src,
            &out,
            window,
            series_limit,
            redact_hosts,
        )),
        Command::Replay {
            packet,
            at,
            speed,
            window,
            theme,
            config,
            mouse,
        } => {
            let s = settings::for_replay(config.as_deref(), window, theme, mouse)?;
            super::replay::replay(&super::replay::ReplayArgs {
                packet,
                at,
                speed,
                window: s.window,
                theme: s.theme,
                keymap: s.keymap,
                series_limit,
                thresholds: s.thresholds,
                mouse: s.mouse,
            })
            .map(live_code)
        }
        Command::Serve {
            packet,
            port,
            speed,
            live_timestamps,
        } => super::serve::serve(&super::serve::ServeArgs {
            packet,
            port,
            speed,
            live_timestamps,
        })
        .map(live_code),
        Command::Completions { shell } => {
            let script = super::shell::completions(shell);
            said(Ok(String::from_utf8_lossy(&script).into_owned()))
        }
        Command::Man => said(Ok(
            String::from_utf8_lossy(&super::shell::man()).into_owned()
        )),
        Command::Verify { packet } => said(super::packet::verify(&packet)),
        Command::Rules(args) => said(super::rules::run(&args)),
        Command::Watch { .. }
        | Command::Screenshot(_)
        | Command::Fleet { .. }
        | Command::Demo { .. }
        | Command::Report(_)
        | Command::Export(_) => unreachable!("run() takes the commands with targets"),
    }
}

/// `kvscope fleet`: the table, and an instance's dashboard on Enter.
fn fleet_view(
    fleet: FleetOpts,
    refresh: Option<f64>,
    live: LiveOpts,
    auth: crate::sources::http::AuthPlan,
) -> Result<i32, Failure> {
    // clap requires --prometheus here.
    let url = fleet.prometheus.unwrap_or_default();
    // The dashboard Enter opens is fed at the same pace as the table.
    let interval = refresh.or(live.interval).unwrap_or(15.0);
    let w = settings::resolve(live, vec![], vec![], auth)?;
    let args = super::fleet::FleetArgs {
        url,
        matchers: fleet.matchers.unwrap_or_default(),
        group_by: fleet.group_by,
        instance: None,
        window: w.window,
        timeout: w.timeout,
        samples: 1,
        interval,
        auth: w.auth.all.clone(),
        max_answer: (fleet.max_answer_mib as usize) << 20,
        thresholds: w.thresholds.clone(),
        series_limit: w.series_limit,
        format: OutputFormat::Json,
        fail_on: None,
        fail_unless: Vec::new(),
    };
    super::fleet::run(&args, &w, interval).map(live_code)
}

/// A command's text written out; exit 0.
fn said(text: Result<String, Failure>) -> Result<i32, Failure> {
    super::write_stdout(&text?)?;
    Ok(0)
}

/// A report written out; its own exit code.
fn printed(report: Result<(String, i32), Failure>) -> Result<i32, Failure> {
    let (out, code) = report?;
    super::write_stdout(&out)?;
    Ok(code)
}

/// How a live session ended: 0 when the user quit, 128 + the signal's number when a signal
/// stopped it (the shell convention), after the terminal was restored either way.
fn live_code(stop: Stop) -> i32 {
    match stop {
        Stop::Quit => 0,
        Stop::Signal(n) => 128 + n,
    }
}

/// A warning on stderr, for commands without a screen to show it on (the TUI shows it in its
/// header too).
fn warn(message: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "kvscope: warning: {message}");
}
