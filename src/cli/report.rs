//! `kvscope report`: inputs → events → model → report, with exit codes scripts can use.

use super::{EXIT_BAD_INPUT, EXIT_FINDINGS, EXIT_UNREACHABLE, Failure};
use crate::analysis::findings::Severity;
use crate::model::{Model, ModelSettings};
use crate::report;
use crate::session::gather::{GatherError, Heard, UrlTarget, gather};
use crate::sources::{self, InputArg, http};
use crate::timefmt::now;
use crate::vocab::{Event, InputKind, Role, TargetRef};

/// Output formats of `kvscope report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Json,
    Text,
    Markdown,
}

impl OutputFormat {
    /// `report`'s format when none is given: text for a person at a terminal, JSON for a pipe,
    /// a file or CI.
    pub fn for_stdout() -> OutputFormat {
        use std::io::IsTerminal;
        if std::io::stdout().is_terminal() {
            OutputFormat::Text
        } else {
            OutputFormat::Json
        }
    }
}

/// What `report` was asked to do.
#[derive(Debug, Clone)]
pub struct ReportArgs {
    pub lmcache: Vec<String>,
    pub engine: Vec<String>,
    pub samples: usize,
    pub interval: f64,
    pub window: f64,
    pub timeout: f64,
    pub format: OutputFormat,
    /// Extra headers (bearer tokens) for URL targets.
    pub auth: http::AuthPlan,
    /// Series one scrape may carry per instance.
    pub series_limit: usize,
    /// An evidence packet to read instead of targets, and the moment to report at.
    pub packet: Option<std::path::PathBuf>,
    pub at: Option<String>,
    /// Exit 1 when a rule of this severity or above fires.
    pub fail_on: Option<Severity>,
    /// Exit 1 unless the verdict is one of these (`--fail-unless`; empty: no gate).
    pub fail_unless: Vec<crate::analysis::verdict::CacheState>,
    /// Also read the LMCache HTTP routes of URL targets, once (`--routes`; `/env` only with
    /// `allow_env`).
    pub routes: Option<crate::sources::lmcache_http::RouteOptions>,
    /// What the findings judge by (`--config FILE`'s `[findings]`).
    pub thresholds: crate::analysis::findings::Thresholds,
    /// Traces and logs given beside the targets (`--lct`, `--server-log`, `--engine-log`).
    pub follows: Vec<super::follow::Given>,
    /// `--l1-size` (bytes): today's L1 for the capacity curve.
    pub l1_size: Option<f64>,
    /// `--capacity-exact`: distinct chunks the capacity curve follows exactly.
    pub capacity_exact: Option<usize>,
}

/// One target to read: a timeline of files, or a URL.
enum Plan {
    Files(Vec<(std::path::PathBuf, Option<f64>)>),
    /// The URL and its position among the role's arguments (for per-target headers).
    Url(http::TargetUrl, usize),
}

impl Plan {
    fn name(&self) -> String {
        match self {
            Plan::Url(u, _) => u.to_string(),
            Plan::Files(f) if f.len() == 1 => f[0].0.display().to_string(),
            Plan::Files(f) => format!(
                "{} … {} ({} files)",
                f[0].0.display(),
                f[f.len() - 1].0.display(),
                f.len()
            ),
        }
    }
}

fn plans(role: Role, args: &[String]) -> Result<Vec<Plan>, Failure> {
    let mut files = Vec::new();
    let mut out = Vec::new();
    for (i, a) in args.iter().enumerate() {
        let shown = crate::sanitize::redact_url(a);
        match sources::parse_arg(a)
            .map_err(|e| Failure::bad(format!("{} {shown}: {e}", role.flag())))?
        {
            InputArg::Url(u) => out.push(Plan::Url(
                http::TargetUrl::metrics(&u)
                    .map_err(|e| Failure::bad(format!("{} {e}", role.flag())))?,
                i,
            )),
            InputArg::File { path, time } => files.push((path, time)),
            InputArg::Index { path } => files.extend(
                sources::read_index(&path)
                    .map_err(|e| Failure::bad(format!("{} {shown}: {e}", role.flag())))?,
            ),
        }
    }
    if !files.is_empty() {
        let timed = files.iter().filter(|f| f.1.is_some()).count();
        if timed != 0 && timed != files.len() {
            return Err(Failure::bad(format!(
                "{}: give every file a capture time (FILE@TIME) or none",
                role.flag()
            )));
        }
        for w in files.windows(2) {
            if let (Some(a), Some(b)) = (w[0].1, w[1].1)
                && b < a
            {
                return Err(Failure::bad(format!(
                    "{} {}: its capture time is before the previous file's; files are taken in the given order",
                    role.flag(),
                    w[1].0.display()
                )));
            }
        }
        out.insert(0, Plan::Files(files));
    }
    Ok(out)
}

/// A report on traces and logs given with no target (a trace a customer sent): a target per
/// role they belong to, named by its files, holding no metrics.
fn files_alone(args: &ReportArgs) -> Result<Model, Failure> {
    let named = |role: Role| -> Vec<String> {
        let files: Vec<String> = args
            .follows
            .iter()
            .filter(|g| g.role == role)
            .map(|g| g.path.display().to_string())
            .collect();
        if files.is_empty() {
            Vec::new()
        } else {
            vec![files.join(", ")]
        }
    };
    let settings = ModelSettings {
        history: 2,
        series_limit: args.series_limit,
        thresholds: args.thresholds.clone(),
        capacity_exact: args.capacity_exact,
        ..ModelSettings::default()
    };
    let mut model = settings.build(&named(Role::Lmcache), &named(Role::Engine));
    read_beside(&mut model, args, &[], &[])?;
    Ok(model)
}

/// Reads the traces and logs given beside the targets, all of each, into `model`.
fn read_beside(
    model: &mut Model,
    args: &ReportArgs,
    lm: &[Plan],
    en: &[Plan],
) -> Result<(), Failure> {
    for g in &args.follows {
        let plans = if g.role == Role::Lmcache { lm } else { en };
        // A URL argument is its own target; file arguments are one timeline, the first.
        let index = plans
            .iter()
            .position(|p| matches!(p, Plan::Url(_, arg) if *arg == g.arg))
            .unwrap_or(0);
        let target = TargetRef {
            role: g.role,
            index,
        };
        // Read live beside a URL target: stamped now, as a live session would.
        let time = (model.target(target).kind == InputKind::Url).then(now);
        let follow = sources::follow::Follow {
            target,
            stream: g.stream,
            path: g.path.clone(),
        };
        sources::follow::read_all(&follow, time, |e| {
            let _ = model.apply(e);
        })
        .map_err(Failure::bad)?;
    }
    Ok(())
}

/// Runs `report`: what to print, and the exit code (0; 3 when a target never answered; 1
/// when a rule at or above `--fail-on` fires). Bad input is a [`Failure`] (exit 2).
pub fn report(args: &ReportArgs) -> Result<(String, i32), Failure> {
    let model = load(args)?;
    // One analysis for the output and the exit code.
    let a = crate::analysis::analyze(&model.inputs(args.window));
    let code = exit_code(&model, &a, args.fail_on, &args.fail_unless);
    let out = match args.format {
        OutputFormat::Json => report::json_of(&model, &a, args.window),
        // Nothing answered: a short error, not a page of unknown figures.
        OutputFormat::Text if code == EXIT_UNREACHABLE && nothing_answered(&model) => {
            unreachable_text(&model, &a.verdict)
        }
        OutputFormat::Text => report::text_of(&model, a, args.window),
        OutputFormat::Markdown => report::markdown_of(&model, a, args.window),
    };
    Ok((out, code))
}

/// Whether no target ever answered a scrape.
fn nothing_answered(model: &Model) -> bool {
    model
        .targets()
        .all(|(t, _)| model.health(t).last_ok.is_none())
}

/// The text report when no target answered: each target, its failed attempts and the last
/// error, and where the full report is.
fn unreachable_text(model: &Model, verdict: &crate::analysis::verdict::Verdict) -> String {
    let mut out = format!(
        "{}\nno target answered: nothing to report\n",
        crate::sanitize::clean(&verdict.line())
    );
    for (t, store) in model.targets() {
        let h = model.health(t);
        let last = h
            .last_failure
            .as_ref()
            .map_or("no attempt".into(), |(_, why)| crate::sanitize::clean(why));
        out.push_str(&format!(
            "  {} {}: {} attempt(s) failed; the last: {last}\n",
            t.role.as_str(),
            crate::sanitize::clean(&store.name),
            h.failures
        ));
    }
    out.push_str("(--format json gives the full report, every figure unknown with its reason)\n");
    out
}

/// The exit code a report's inputs and verdicts give: 3 if a target never answered an
/// attempt; else 1 if a firing rule is at or above `fail_on` or the verdict is not one of
/// `fail_unless` (when given); else 0. `not_evaluable` and `pending` never count.
pub fn exit_code(
    model: &Model,
    a: &crate::analysis::Analysis,
    fail_on: Option<Severity>,
    fail_unless: &[crate::analysis::verdict::CacheState],
) -> i32 {
    let never_answered = model.targets().any(|(t, _)| {
        let h = model.health(t);
        h.last_ok.is_none() && h.failures > 0
    });
    if never_answered {
        return EXIT_UNREACHABLE;
    }
    if !a.verdict.state.passes(fail_unless) {
        return EXIT_FINDINGS;
    }
    let Some(bar) = fail_on else {
        return 0;
    };
    if a.findings.iter().any(|f| f.severity >= bar) {
        EXIT_FINDINGS
    } else {
        0
    }
}

/// Reads every input (files and URL samples) into a model; also says, per target, whether it
/// came from files or a URL.
pub fn load(args: &ReportArgs) -> Result<Model, Failure> {
    let mut model = read(args)?;
    if args.l1_size.is_some() {
        model.l1_size = args.l1_size;
    }
    Ok(model)
}

fn read(args: &ReportArgs) -> Result<Model, Failure> {
    if let Some(path) = &args.packet {
        return super::packet::load(
            path,
            args.at.as_deref(),
            (args.series_limit, args.capacity_exact),
            Some((args.window, &args.thresholds)),
        );
    }
    if args.lmcache.is_empty() && args.engine.is_empty() {
        if !args.follows.is_empty() {
            return files_alone(args);
        }
        return Err(Failure::bad(
            "give at least one --lmcache or --engine input (a file, FILE@TIME, a metrics_index.tsv, a URL or host:port), --packet, or a trace or log alone (--lct, --server-log, --engine-log, --otel, --lookup-hashes)",
        ));
    }
    stdin_once(args)?;
    let lm = plans(Role::Lmcache, &args.lmcache)?;
    let en = plans(Role::Engine, &args.engine)?;
    let names = |p: &[Plan]| p.iter().map(Plan::name).collect::<Vec<_>>();
    let longest = lm
        .iter()
        .chain(&en)
        .map(|p| if let Plan::Files(f) = p { f.len() } else { 0 })
        .max()
        .unwrap_or(0);
    let settings = ModelSettings {
        history: longest.max(args.samples) + 1,
        series_limit: args.series_limit,
        thresholds: args.thresholds.clone(),
        capacity_exact: args.capacity_exact,
        ..ModelSettings::default()
    };
    let mut model = settings.build(&names(&lm), &names(&en));
    let mut urls = Vec::new();
    for (role, ps) in [(Role::Lmcache, &lm), (Role::Engine, &en)] {
        for (index, p) in ps.iter().enumerate() {
            let target = TargetRef { role, index };
            match p {
                Plan::Files(files) => read_files(&mut model, target, files)?,
                Plan::Url(u, arg) => {
                    model.target_mut(target).kind = InputKind::Url;
                    urls.push(UrlTarget {
                        target,
                        url: u.clone(),
                        arg: *arg,
                    });
                }
            }
        }
    }
    read_beside(&mut model, args, &lm, &en)?;
    if !urls.is_empty() {
        model = scrape_urls(model, &urls, args)?;
        // Read live: now is now, and the interval the one asked for. Files keep the clock
        // their own times imply.
        if model.targets().all(|(_, t)| t.kind == InputKind::Url) {
            model.now = Some(now());
            model.interval = Some(args.interval);
        }
    }
    Ok(model)
}

/// Standard input can be one input only.
fn stdin_once(args: &ReportArgs) -> Result<(), Failure> {
    let is_stdin = |a: &&String| {
        sources::parse_arg(a).is_ok_and(|p| {
            matches!(p, InputArg::File { path, .. } if path == std::path::Path::new(sources::STDIN))
        })
    };
    if args
        .lmcache
        .iter()
        .chain(&args.engine)
        .filter(is_stdin)
        .count()
        > 1
    {
        return Err(Failure::bad(format!(
            "standard input ('{}') can be read once; give it to one --lmcache or --engine",
            sources::STDIN
        )));
    }
    Ok(())
}

/// A target's timeline of files, read in order into `model`.
fn read_files(
    model: &mut Model,
    target: TargetRef,
    files: &[(std::path::PathBuf, Option<f64>)],
) -> Result<(), Failure> {
    let flag = target.role.flag();
    for (path, time) in files {
        let body = sources::read_file(path).map_err(|e| Failure::bad(format!("{flag} {e}")))?;
        let origin = path.display().to_string();
        model
            .apply(Event::Scrape {
                target,
                time: *time,
                body,
                format: None,
                origin: origin.clone(),
            })
            .map_err(|e| Failure::bad(format!("{flag} {e}")))?;
        warn_if_empty(model, target, &origin);
    }
    Ok(())
}

/// The URL targets' samples, through a bounded session: the live collectors scrape each
/// `--samples` times, and the live route reader reads its routes once (`--routes`).
fn scrape_urls(model: Model, urls: &[UrlTarget], args: &ReportArgs) -> Result<Model, Failure> {
    let rt = crate::session::runtime()
        .map_err(|e| Failure::bad(format!("cannot start the runtime: {e}")))?;
    let how = crate::session::Collect {
        interval: args.interval,
        timeout: args.timeout,
        auth: &args.auth,
        routes: args.routes.unwrap_or_default(),
        limit: model.limits.max_body_bytes,
    };
    let mut core = crate::session::Core::new(model, args.window);
    // A report judges once, at its end.
    core.judging = false;
    let mut warnings = Vec::new();
    let heard = |model: &Model, heard: Heard<'_>| match heard {
        Heard::Scraped(target) => {
            let url = urls.iter().find(|u| u.target == target);
            if let Some(u) = url {
                warnings.extend(empty_warning(model, target, u.url.shown()));
            }
        }
        // The others are still reported; this target is down (a finding), and the exit code
        // says so when it never answered.
        Heard::Failed(target, error) => {
            let url = urls.iter().find(|u| u.target == target);
            let shown = url.map_or(String::new(), |u| u.url.to_string());
            warnings.push(format!("kvscope: {} {shown}: {error}", target.role.flag()));
        }
    };
    let routes = args.routes.is_some();
    rt.block_on(gather(&mut core, how, urls, args.samples, routes, heard))
        .map_err(|e| match e {
            GatherError::TooLarge { .. } => Failure {
                code: EXIT_BAD_INPUT,
                message: e.to_string(),
            },
            e => Failure::bad(e.to_string()),
        })?;
    for w in warnings {
        eprintln!("{w}");
    }
    Ok(core.model)
}

/// An empty scrape is not an error, but the user should know the figures rest on nothing.
fn warn_if_empty(model: &Model, target: TargetRef, origin: &str) {
    if let Some(w) = empty_warning(model, target, origin) {
        eprintln!("{w}");
    }
}

fn empty_warning(model: &Model, target: TargetRef, origin: &str) -> Option<String> {
    let newest = model.target(target).newest();
    newest
        .is_some_and(|s| s.samples == 0)
        .then(|| format!("kvscope: {}: no samples", crate::sanitize::clean(origin)))
}
