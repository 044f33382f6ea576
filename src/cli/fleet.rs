//! A fleet read through Prometheus: the refresh (what is asked of the API, in which order) for
//! `report --prometheus` and the fleet view, and the fleet report's exit code.

use std::time::{Duration, Instant};

use super::report::OutputFormat;
use super::{EXIT_FINDINGS, EXIT_UNREACHABLE, Failure};
use crate::analysis::findings::{Severity, Thresholds};
use crate::fleet::Fleet;
use crate::fleet::report::Refresh;
use crate::fleet::table::{Queries, Table};
use crate::session::Stop;
use crate::sources::http::Auth;
use crate::sources::promapi::{self, Api, ApiError, Found, Read, TargetKey};
use crate::tui::FleetStop;
use crate::tui::fleet::{FleetPicture, FleetRow, FleetView};
use crate::vocab::{Event, InputKind, Role};

/// What `report --prometheus` and `fleet` were asked.
#[derive(Debug, Clone)]
pub struct FleetArgs {
    pub url: String,
    pub matchers: String,
    /// The label grouping targets into rows; `None`: an LMCache target with its host's engines.
    pub group_by: Option<String>,
    /// `report --prometheus --instance I`: that row's single-box report.
    pub instance: Option<String>,
    pub window: f64,
    pub timeout: f64,
    /// A `/federate` endpoint is polled this many times, this far apart (the API holds history
    /// itself and is read once).
    pub samples: usize,
    pub interval: f64,
    pub auth: Auth,
    pub max_answer: usize,
    pub thresholds: Thresholds,
    pub series_limit: usize,
    pub format: OutputFormat,
    pub fail_on: Option<Severity>,
    /// Exit 1 unless every instance's verdict is one of these (empty: no gate).
    pub fail_unless: Vec<crate::analysis::verdict::CacheState>,
}

impl FleetArgs {
    /// The URL, credentials removed.
    pub fn url_shown(&self) -> String {
        crate::sanitize::redact_url(&self.url)
    }

    /// The label a raw fleet (a `/federate` endpoint, a drill-down) groups by.
    pub fn group_label(&self) -> &str {
        self.group_by.as_deref().unwrap_or("instance")
    }
}

/// Where the fleet is read.
pub struct Reader {
    api: Api,
    /// `Some(match[] selectors)` for a `/federate` endpoint.
    federate: Option<Vec<String>>,
    matchers: String,
    group_by: String,
    /// Metadata was asked for (it is asked once; a server without it leaves types inferred).
    asked_types: bool,
    pub source: String,
    /// The table's queries.
    pub queries: Queries,
    /// The time raw samples are read at (`None`: now): a drill-down reads at its row's time.
    pub at: Option<f64>,
}

impl Reader {
    pub fn new(args: &FleetArgs) -> Result<Reader, Failure> {
        let url = reqwest::Url::parse(&args.url).map_err(|e| {
            Failure::bad(format!(
                "--prometheus '{}' is not a URL ({e})",
                crate::sanitize::redact_url(&args.url)
            ))
        })?;
        let (base, federate) = if url.path().trim_end_matches('/').ends_with("/federate") {
            let matches: Vec<String> = url
                .query_pairs()
                .filter(|(k, _)| k == "match[]")
                .map(|(_, v)| v.into_owned())
                .collect();
            if matches.is_empty() {
                return Err(Failure::bad(
                    "--prometheus …/federate needs at least one match[] selector, e.g. /federate?match[]={__name__=~\"lmcache_mp_.%2B|vllm:.%2B\"}",
                ));
            }
            let mut base = url.clone();
            let path = base
                .path()
                .trim_end_matches('/')
                .trim_end_matches("/federate")
                .to_string();
            base.set_path(if path.is_empty() { "/" } else { &path });
            base.set_query(None);
            (base.to_string(), Some(matches))
        } else {
            (args.url.clone(), None)
        };
        if !args.matchers.is_empty() {
            promapi::check_matchers(&args.matchers).map_err(Failure::bad)?;
        }
        if let Some(g) = &args.group_by
            && (g.is_empty()
                || g.starts_with(|c: char| c.is_ascii_digit())
                || !g.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        {
            return Err(Failure::bad(format!(
                "--group-by '{}' is not a label name",
                crate::sanitize::clean(g)
            )));
        }
        let mut api = Api::new(&base, Duration::from_secs_f64(args.timeout), &args.auth)
            .map_err(|e| Failure::bad(format!("--prometheus: {e}")))?;
        api.max_answer = args.max_answer;
        let source = match &federate {
            Some(_) => format!("{}federate", api.shown()),
            None => api.shown().to_string(),
        };
        Ok(Reader {
            api,
            federate,
            matchers: args.matchers.clone(),
            group_by: args.group_label().to_string(),
            asked_types: false,
            source,
            queries: args.queries(),
            at: None,
        })
    }

    /// Reads what a refresh reads into `held`: the table, or a raw fleet's new samples.
    pub async fn refresh_held(&mut self, held: &mut Held) -> Result<Refresh, ApiError> {
        match held {
            Held::Table(t) => {
                let queries = self.queries.clone();
                self.refresh_table(t, &queries, self.at).await
            }
            Held::Raw(f) => self.refresh(f).await.map(|(r, _)| r),
        }
    }

    /// Reads what changed since the last refresh into `fleet`; says how it went, with the
    /// events it applied (per instance).
    pub async fn refresh(
        &mut self,
        fleet: &mut Fleet,
    ) -> Result<(Refresh, Vec<(String, Event)>), ApiError> {
        self.refresh_of(fleet, None).await
    }

    /// [`Reader::refresh`] of these targets only (an instance's dashboard, an export): no
    /// discovery.
    pub async fn refresh_of(
        &mut self,
        fleet: &mut Fleet,
        only: Option<&[Found]>,
    ) -> Result<(Refresh, Vec<(String, Event)>), ApiError> {
        let began = Instant::now();
        let (q0, b0) = (self.api.queries, self.api.bytes);
        let mut warnings = Vec::new();
        if !self.asked_types {
            match self.api.metadata().await {
                Ok(t) => fleet.types = t,
                Err(e) if e.unreachable() => return Err(e),
                Err(e) => warnings.push(format!(
                    "no metric metadata ({e}); histograms are recognised by their _bucket series"
                )),
            }
            self.asked_types = true;
        }
        let time = self.at.unwrap_or_else(crate::timefmt::now);
        let read = match &self.federate {
            Some(matches) => {
                let series = self.api.federate(matches).await?;
                Read {
                    found: match only {
                        Some(only) => only.to_vec(),
                        None => found_in(&series, &self.group_by),
                    },
                    health: None,
                    series,
                    time,
                }
            }
            None => {
                let health = self.api.targets().await?;
                let found = match only {
                    Some(only) => only.to_vec(),
                    None => {
                        let (found, said) = self
                            .api
                            .discover(&self.matchers, &self.group_by, time)
                            .await?;
                        warnings.extend(said);
                        found
                    }
                };
                let mut found = found;
                warnings.extend(within_caps(&mut found));
                let keys: Vec<TargetKey> = found.iter().map(|f| f.key.clone()).collect();
                // A target seen for the first time is read over the whole window.
                // The first read reaches a window more back: the newest sample at or before the
                // window's start is where the window begins (as `x offset W` finds it).
                let range = if keys.iter().all(|k| fleet.holds(k)) {
                    fleet.range_needed(time)
                } else {
                    2.0 * fleet.window
                };
                let (series, w) = self.api.samples(&self.matchers, &keys, time, range).await?;
                warnings.extend(w);
                Read {
                    found,
                    health,
                    series,
                    time,
                }
            }
        };
        let mut read = read;
        if self.federate.is_some() {
            warnings.extend(within_caps(&mut read.found));
        }
        let events = fleet.apply(read);
        let refresh = Refresh {
            queries: self.api.queries - q0,
            seconds: began.elapsed().as_secs_f64(),
            bytes: self.api.bytes - b0,
            warnings: capped_warnings(warnings),
            error: None,
        };
        Ok((refresh, events))
    }
}

/// Targets one fleet reads at most (`KVSCOPE_MAX_INSTANCES` raises it): each holds a model.
pub const MAX_TARGETS: usize = 500;
/// The longest job, instance or group label a target may have to be read: its samples are
/// asked for by name, in a query URL.
pub const MAX_LABEL: usize = 4096;
/// Distinct API warnings said per refresh; the rest are counted.
pub const WARNINGS_SAID: usize = 20;

/// Drops what discovery found beyond the caps, and says what was dropped.
fn within_caps(found: &mut Vec<Found>) -> Vec<String> {
    let mut said = Vec::new();
    let before = found.len();
    found.retain(|f| {
        f.key.job.len() <= MAX_LABEL
            && f.key.instance.len() <= MAX_LABEL
            && f.group.len() <= MAX_LABEL
    });
    if found.len() < before {
        said.push(format!(
            "{} target(s) with a job, instance or group label over {MAX_LABEL} bytes left out (they cannot be named in a query)",
            before - found.len()
        ));
    }
    let (cap, bad) = super::env_count("KVSCOPE_MAX_INSTANCES", MAX_TARGETS as u64);
    said.extend(bad);
    let cap = usize::try_from(cap).unwrap_or(usize::MAX);
    if found.len() > cap {
        said.push(format!(
            "discovery found {} targets; kvscope reads the first {cap} (raise it with KVSCOPE_MAX_INSTANCES, or narrow the fleet with --match)",
            found.len()
        ));
        found.truncate(cap);
    }
    said
}

/// Warnings told once each, at most [`WARNINGS_SAID`] of them, then how many more came.
pub fn capped_warnings(all: Vec<String>) -> Vec<String> {
    let total = all.len();
    let mut out: Vec<String> = Vec::new();
    let mut more = 0;
    for w in all {
        if out.contains(&w) {
            continue;
        }
        if out.len() < WARNINGS_SAID {
            out.push(w);
        } else {
            more += 1;
        }
    }
    if more > 0 {
        out.push(format!(
            "… and {more} more distinct warnings ({total} in all) not shown"
        ));
    }
    out
}

/// The targets a `/federate` answer shows: an LMCache server where it carries LMCache MP
/// names, an engine where it carries engine names; others (node metrics a broad selector
/// brought) are left out.
pub fn found_in(series: &[promapi::Series], group_by: &str) -> Vec<Found> {
    let mut found: std::collections::BTreeMap<TargetKey, Found> = Default::default();
    for s in series {
        let name = s.label("__name__").unwrap_or("");
        let Some(role) = promapi::role_of(name) else {
            continue;
        };
        let key = TargetKey {
            job: s.label("job").unwrap_or("").to_string(),
            instance: s.label("instance").unwrap_or("").to_string(),
        };
        // A target without the label is a row of its own.
        let group = s
            .label(group_by)
            .filter(|g| !g.is_empty())
            .unwrap_or(&key.instance)
            .to_string();
        let f = found
            .entry(key.clone())
            .or_insert(Found { key, group, role });
        if role == Role::Lmcache {
            f.role = Role::Lmcache;
        }
    }
    found.into_values().collect()
}

/// Runs `report --prometheus`: the fleet report, and its exit code (0; 1 when a rule at or
/// above `--fail-on` fires on any row, or a row's verdict is not one of `--fail-unless`).
/// Prometheus unreachable is exit 3; an answer that is not the API's (a 401, a proxy's page, one
/// too large) exit 2. With `--instance`, that row's single-box report instead.
pub fn report(args: &FleetArgs) -> Result<(String, i32), Failure> {
    let mut reader = Reader::new(args)?;
    let mut held = args.held(&reader);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::bad(format!("cannot start the runtime: {e}")))?;
    let polls = if reader.federate.is_some() {
        args.samples.max(1)
    } else {
        1
    };
    let failed = |reader: &Reader, e: ApiError| Failure {
        code: if e.unreachable() {
            EXIT_UNREACHABLE
        } else {
            super::EXIT_BAD_INPUT
        },
        message: format!("--prometheus {}: {e}", reader.source),
    };
    let mut total = Refresh::default();
    for i in 0..polls {
        if i > 0 {
            std::thread::sleep(Duration::from_secs_f64(args.interval));
        }
        let r = rt
            .block_on(reader.refresh_held(&mut held))
            .map_err(|e| failed(&reader, e))?;
        total.queries += r.queries;
        total.seconds += r.seconds;
        total.bytes += r.bytes;
        total.warnings.extend(r.warnings);
        total.warnings = capped_warnings(std::mem::take(&mut total.warnings));
    }
    let table = held.table();
    if let Some(name) = &args.instance {
        return instance::report_one(args, &table, name, &rt);
    }
    let code = match args.fail_on {
        Some(bar) if table.fires(bar) => EXIT_FINDINGS,
        _ if table
            .rows
            .iter()
            .any(|r| !r.row.verdict.passes(&args.fail_unless)) =>
        {
            EXIT_FINDINGS
        }
        _ => 0,
    };
    let report = crate::fleet::report::json;
    let out = match args.format {
        OutputFormat::Json => report(&table, &reader.source, &total),
        OutputFormat::Text => crate::fleet::report::text(&table, &reader.source, &total),
        OutputFormat::Markdown => format!(
            "```\n{}```\n",
            crate::fleet::report::text(&table, &reader.source, &total)
        ),
    };
    Ok((out, code))
}

/// What the fleet view asks of the refresher.
enum Order {
    /// Export this instance with the table.
    Export(String),
}

/// Runs `kvscope fleet`: the fleet table, refreshed every `interval` on a thread of its own;
/// Enter opens an instance's dashboard (fed from the same server, its raw samples read the
/// same way) and `q` there comes back.
pub fn run(
    args: &FleetArgs,
    live: &super::session::WatchArgs,
    interval: f64,
) -> Result<Stop, Failure> {
    use std::io::IsTerminal;
    let reader = Reader::new(args)?;
    if !std::io::stdout().is_terminal() {
        return Err(Failure::bad(
            "kvscope fleet draws on a terminal; for scripts use kvscope report --prometheus",
        ));
    }
    let theme = crate::tui::theme::Theme::pick(
        live.theme.as_deref(),
        std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
    )
    .map_err(Failure::bad)?;
    let source = reader.source.clone();
    let (pictures_tx, mut pictures) = tokio::sync::watch::channel(None);
    let (orders, orders_rx) = tokio::sync::mpsc::unbounded_channel();
    let (notes_tx, mut notes) = tokio::sync::mpsc::unbounded_channel();
    let held = args.held(&reader);
    let export = live.export.clone();
    std::thread::Builder::new()
        .name("kvscope-fleet".into())
        .spawn(move || {
            refresher(
                reader,
                held,
                interval,
                pictures_tx,
                orders_rx,
                notes_tx,
                export,
            )
        })
        .map_err(|e| Failure::bad(format!("cannot start the refresher: {e}")))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::bad(format!("cannot start the runtime: {e}")))?;
    let mut view = FleetView::new(source, theme, args.window);
    view.insecure = args.auth.tls.insecure;
    view.mouse = live.mouse;
    view.now = crate::timefmt::now();
    rt.block_on(async {
        loop {
            let stop = crate::tui::run_fleet(&mut view, &mut pictures, &mut notes, |name| {
                let _ = orders.send(Order::Export(name));
            })
            .await
            .map_err(|e| Failure::bad(format!("terminal error: {e}")))?;
            match stop {
                FleetStop::Quit => return Ok(Stop::Quit),
                FleetStop::Signal(n) => return Ok(Stop::Signal(n)),
                FleetStop::Open(name) => {
                    let Some(row) = view.picture.rows.iter().find(|r| r.name == name).cloned()
                    else {
                        continue;
                    };
                    match drill(args, live, interval, &row).await? {
                        Stop::Quit => {
                            view.note = Some(format!("back from {}", row.name));
                        }
                        signal => return Ok(signal),
                    }
                }
            }
        }
    })
}

/// Refreshes the fleet every `interval` (a failed refresh is retried at the same pace, not
/// sooner: the server may be struggling), sends each table, and serves exports.
fn refresher(
    mut reader: Reader,
    mut held: Held,
    interval: f64,
    pictures: tokio::sync::watch::Sender<Option<FleetPicture>>,
    mut orders: tokio::sync::mpsc::UnboundedReceiver<Order>,
    notes: tokio::sync::mpsc::UnboundedSender<String>,
    export: crate::session::ExportPlan,
) {
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    rt.block_on(async {
        let mut last: Option<FleetPicture> = None;
        loop {
            let shown = match reader.refresh_held(&mut held).await {
                Ok(r) => FleetPicture::of(&held.table(), r, crate::timefmt::now()),
                Err(e) => {
                    let mut p = last.clone().unwrap_or_default();
                    p.failed = Some((crate::timefmt::now(), e.to_string()));
                    p
                }
            };
            if shown.failed.is_none() {
                last = Some(shown.clone());
            }
            if pictures.send(Some(shown)).is_err() {
                return;
            }
            let next = tokio::time::sleep(Duration::from_secs_f64(interval));
            tokio::pin!(next);
            loop {
                tokio::select! {
                    _ = &mut next => break,
                    o = orders.recv() => match o {
                        Some(Order::Export(name)) => {
                            let said = export_instance(&mut reader, &held.table(), &name, &export)
                                .await
                                .unwrap_or_else(|e| format!("export failed: {e}"));
                            let _ = notes.send(said);
                        }
                        None => return,
                    },
                }
            }
        }
    });
}

/// The instance's targets as discovery found them.
fn found_of(row: &FleetRow) -> Vec<Found> {
    found(&row.name, row.targets.iter().map(|(r, j, i)| (*r, j, i)))
}

/// A row's targets as a raw read asks for them.
fn found<'a>(
    name: &str,
    targets: impl Iterator<Item = (Role, &'a String, &'a String)>,
) -> Vec<Found> {
    targets
        .map(|(role, job, instance)| Found {
            key: TargetKey {
                job: job.clone(),
                instance: instance.clone(),
            },
            group: name.to_string(),
            role,
        })
        .collect()
}

mod instance;
mod table;
pub use instance::{Opened, open_instance};
use instance::{drill, export_instance};
pub use table::Held;

fn view_theme(live: &super::session::WatchArgs) -> Result<crate::tui::theme::Theme, Failure> {
    crate::tui::theme::Theme::pick(
        live.theme.as_deref(),
        std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
    )
    .map_err(Failure::bad)
}
