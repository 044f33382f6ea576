//! One instance of the fleet: opened from its rows (its own model fed the instance's samples),
//! drawn as the single-box dashboard, or written as a packet.

use super::*;
use kvscope_core::promql::figures::FIGURES;

/// Writes a packet of one instance: its raw samples over the window (read again, as scrape
/// events), its single-box report, and the fleet table (`fleet.json`) beside them.
pub(super) async fn export_instance(
    reader: &mut Reader,
    table: &Table,
    name: &str,
    plan: &crate::session::ExportPlan,
) -> Result<String, String> {
    let Some(row) = table.row_named(name) else {
        return Err(format!("{name} is no longer in the fleet"));
    };
    let found = found_of_row(row);
    let mut one = Fleet::new(name, table.window);
    one.thresholds = table.thresholds.clone();
    let (refresh, events) = reader
        .refresh_of(&mut one, Some(&found))
        .await
        .map_err(|e| e.to_string())?;
    let inst = one
        .instance(name)
        .ok_or("the instance has no samples now")?;
    let events: Vec<Event> = events.into_iter().map(|(_, e)| e).collect();
    let targets: Vec<crate::packet::TargetEntry> = inst
        .model
        .targets()
        .map(|(t, store)| crate::packet::TargetEntry::new(t, store.name.clone()))
        .collect();
    let report_json = crate::report::json(&inst.model, table.window);
    let fleet_json = crate::fleet::report::json(table, &reader.source, &refresh);
    let created = crate::timefmt::now();
    let path = plan
        .dir
        .join(crate::packet::default_name(created, plan.redact_hosts));
    let recording = crate::packet::Recording {
        targets,
        events: &events,
        report_json,
        created,
        redactions: crate::packet::live_redactions(),
        attachments: vec![crate::packet::Attachment {
            path: "fleet.json".into(),
            kind: "fleet_report",
            target: None,
            bytes: fleet_json.into_bytes(),
        }],
        interval: inst.model.interval,
    };
    let (bytes, count) = recording
        .to_tar_redacting(plan.redact_hosts)
        .map_err(|e| e.to_string())?;
    crate::packet::write_new(&path, &bytes).map_err(|e| e.to_string())?;
    Ok(format!(
        "export: wrote {} ({count} events of {name}, and the fleet table of {} instances)",
        path.display(),
        table.rows.len()
    ))
}

/// An instance opened from the fleet: its single-box model holding what the server has of the
/// window (raw samples, rebuilt as scrapes, as the fleet reads them), and what keeps feeding
/// it: the reader and the one-instance fleet whose later refreshes bring only newer samples.
pub struct Opened {
    pub model: crate::model::Model,
    pub reader: Reader,
    pub fleet: Fleet,
    pub found: Vec<Found>,
    /// What the dashboard's header says.
    pub note: String,
}

/// Whether `e` is for a target of a model with `counts` (LMCache, engine) targets: one that
/// joined the instance after the dashboard opened is left out.
fn fits(counts: (usize, usize), e: &Event) -> bool {
    let t = e.target();
    t.index
        < match t.role {
            Role::Lmcache => counts.0,
            Role::Engine => counts.1,
        }
}

/// Opens the instance `row` shows, keeping `history` scrapes per target.
pub async fn open_instance(
    args: &FleetArgs,
    row: &FleetRow,
    interval: f64,
) -> Result<Opened, Failure> {
    let mut reader = Reader::new(args)?;
    let found = found_of(row);
    let mut fleet = Fleet::new(&row.name, args.window);
    fleet.thresholds = args.thresholds.clone();
    fleet.series_limit = args.series_limit;
    fleet.judge_moments = true;
    // The first read names the targets in the order the model must have them.
    let first = reader.refresh_of(&mut fleet, Some(&found)).await;
    let names = |ts: &[crate::store::TargetStore]| ts.iter().map(|t| t.name.clone()).collect();
    let (lm, en): (Vec<String>, Vec<String>) = match fleet.instance(&row.name) {
        Some(i) => (names(&i.model.lmcache), names(&i.model.engine)),
        None => (vec![], vec![]),
    };
    let model = crate::model::ModelSettings::hour_at(interval)
        .kind(InputKind::Prometheus)
        .series_limit(args.series_limit)
        .thresholds(args.thresholds.clone())
        .build(&lm, &en);
    let note = match &first {
        Ok(_) => format!(
            "fleet instance {} via {} · its row as of {} · q returns to the fleet",
            crate::sanitize::clean(&row.name),
            reader.source,
            row.row.as_of.map_or("—".into(), crate::timefmt::clock_time)
        ),
        Err(e) => format!(
            "reading {} failed: {e} · q returns to the fleet",
            crate::sanitize::clean(&row.name)
        ),
    };
    let mut opened = Opened {
        model,
        reader,
        fleet,
        found,
        note,
    };
    if let Ok((_, events)) = first {
        let counts = (opened.model.lmcache.len(), opened.model.engine.len());
        for (_, e) in events.into_iter().filter(|(_, e)| fits(counts, e)) {
            let _ = opened.model.apply(e);
        }
    }
    Ok(opened)
}

/// An instance's dashboard: the single-box TUI, fed by a task that reads the instance's raw
/// samples from the same server every `interval`, as the fleet does.
pub(super) async fn drill(
    args: &FleetArgs,
    live: &crate::cli::session::WatchArgs,
    interval: f64,
    row: &FleetRow,
) -> Result<Stop, Failure> {
    let Opened {
        model,
        mut reader,
        mut fleet,
        found,
        note,
    } = open_instance(args, row, interval).await?;
    let counts = (model.lmcache.len(), model.engine.len());
    let (tx, rx) = tokio::sync::mpsc::channel(256);
    let feeding = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs_f64(interval)).await;
            if let Ok((_, events)) = reader.refresh_of(&mut fleet, Some(&found)).await {
                for (_, e) in events.into_iter().filter(|(_, e)| fits(counts, e)) {
                    if tx.send(e).await.is_err() {
                        return;
                    }
                }
            }
        }
    });
    let mut app = crate::tui::App::new(model, interval, args.window, view_theme(live)?, Some(note));
    app.keymap = live.keymap.clone();
    app.mouse = live.mouse;
    app.export = live.export.clone();
    // The dashboard logs its targets going down and coming back, as `watch` does.
    let (mut log, _) = crate::cli::session::open_log(live)?;
    if let Some(l) = log.as_mut() {
        l.line(&format!(
            "kvscope {} fleet: opened {} via {}",
            env!("CARGO_PKG_VERSION"),
            crate::sanitize::clean(&row.name),
            args.url_shown()
        ));
    }
    let log = std::sync::Arc::new(std::sync::Mutex::new(log));
    let result = crate::cli::session::run_session(app, crate::session::Feed::Live(rx), log).await;
    feeding.abort();
    result
}

/// A table row's targets, as a raw read asks for them.
fn found_of_row(row: &crate::fleet::table::TableRow) -> Vec<Found> {
    found(
        &row.name,
        row.targets
            .iter()
            .map(|t| (t.role, &t.key.job, &t.key.instance)),
    )
}

/// `report --prometheus --instance NAME`: the row's single-box report, read from its raw
/// samples at the table's time (so its figures are the row's), with the row's `as_of` and the
/// row itself beside it.
pub(super) fn report_one(
    args: &FleetArgs,
    table: &Table,
    name: &str,
    rt: &tokio::runtime::Runtime,
) -> Result<(String, i32), Failure> {
    let Some(row) = table.row_named(name) else {
        let names: Vec<&str> = table
            .rows
            .iter()
            .map(|r| r.name.as_str())
            .take(20)
            .collect();
        return Err(Failure::bad(format!(
            "--instance {}: no such row (rows: {})",
            crate::sanitize::clean(name),
            names.join(", ")
        )));
    };
    let mut reader = Reader::new(args)?;
    reader.at = row.row.as_of.or(table.time);
    let mut one = Fleet::new(name, args.window);
    one.thresholds = args.thresholds.clone();
    one.series_limit = args.series_limit;
    one.judge_moments = true;
    rt.block_on(reader.refresh_of(&mut one, Some(&found_of_row(row))))
        .map_err(|e| Failure {
            code: if e.unreachable() {
                super::EXIT_UNREACHABLE
            } else {
                crate::cli::EXIT_BAD_INPUT
            },
            message: format!("--prometheus {}: {e}", reader.source),
        })?;
    let Some(inst) = one.instance(name) else {
        return Err(Failure::bad(format!(
            "--instance {}: Prometheus holds no samples of its targets in the window",
            crate::sanitize::clean(name)
        )));
    };
    let a = inst.analyse(args.window);
    let (fires, passes) = (
        args.fail_on
            .is_some_and(|bar| a.findings.iter().any(|f| f.severity >= bar)),
        a.verdict.state.passes(&args.fail_unless),
    );
    let code = if fires || !passes {
        super::EXIT_FINDINGS
    } else {
        0
    };
    let out = one_report(args, &inst.model, a, row)?;
    Ok((out, code))
}

/// A drilled-in row's single-box report in the asked format, with the row's time and figures.
fn one_report(
    args: &FleetArgs,
    model: &crate::model::Model,
    a: crate::analysis::Analysis,
    row: &crate::fleet::table::TableRow,
) -> Result<String, Failure> {
    let as_of = row.row.as_of;
    Ok(match args.format {
        OutputFormat::Json => {
            let mut v: serde_json::Value =
                serde_json::from_str(&crate::report::json_of(model, &a, args.window))
                    .map_err(|e| Failure::bad(format!("the report: {e}")))?;
            if let Some(o) = v.as_object_mut() {
                o.insert(
                    "as_of".into(),
                    serde_json::json!(as_of.map(crate::timefmt::format_rfc3339)),
                );
                let figures: serde_json::Map<String, serde_json::Value> = FIGURES
                    .iter()
                    .zip(&row.figures)
                    .map(|(f, v)| (f.path.to_string(), serde_json::json!(v)))
                    .collect();
                o.insert(
                    "fleet_row".into(),
                    serde_json::json!({"row": row.row, "figures": figures}),
                );
            }
            let mut s = crate::units::pretty_json(&v).unwrap_or_default();
            s.push('\n');
            s
        }
        format => {
            let text = crate::report::text_of(model, a, args.window);
            let head = format!(
                "fleet row {} as of {} (its raw samples read at that time)\n",
                crate::sanitize::clean(&row.name),
                as_of.map_or("—".into(), crate::timefmt::clock_time)
            );
            match format {
                OutputFormat::Markdown => format!("{head}\n{text}"),
                _ => format!("{head}{text}"),
            }
        }
    })
}
