//! `kvscope replay PACKET`: the live inspector fed by a packet instead of collectors. The same
//! reducer, the same pictures; the clock is the packet's, so targets are up, stale or down as
//! the operator saw them. Nothing is sent over the network.

use std::io::IsTerminal;
use std::path::PathBuf;

use super::Failure;
use super::packet::{Evidence, evidence, history_of, model_for, parse_at};
use crate::model::ModelSettings;
use crate::packet::Timeline;
use crate::session::Feed;
use crate::session::picture::Core;
use crate::session::playback::{Playback, Speed};
use crate::tui::{self, App, theme::Theme};
use crate::vocab::{Event, InputKind};

/// What `replay` needs.
pub struct ReplayArgs {
    pub packet: PathBuf,
    pub at: Option<String>,
    pub speed: Speed,
    pub window: f64,
    pub theme: Option<String>,
    pub keymap: tui::keys::KeyMap,
    pub series_limit: usize,
    pub thresholds: crate::analysis::findings::Thresholds,
    pub mouse: bool,
}

/// Replays until the user quits or a signal stops it.
pub fn replay(args: &ReplayArgs) -> Result<crate::session::Stop, Failure> {
    let theme = Theme::pick(
        args.theme.as_deref(),
        std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
    )
    .map_err(Failure::bad)?;
    let e = evidence(&args.packet)?;
    let timeline = e.opened.timeline();
    let headers = || (0..timeline.len()).filter_map(|i| timeline.peek(i));
    let first = headers().filter_map(Event::time).reduce(f64::min);
    let at = args
        .at
        .as_deref()
        .map(|a| parse_at(a, first).map_err(|err| Failure::bad(format!("--at {a}: {err}"))))
        .transpose()?;
    if !std::io::stdout().is_terminal() {
        return Err(Failure::bad(
            "kvscope replay draws on a terminal; for scripts use kvscope report --packet",
        ));
    }
    let targets = e.opened.manifest.targets.clone();
    let history = history_of(&targets, headers());
    let interval = timeline.interval();
    let note = replay_note(args, &e, &timeline);
    let (limit, window, thresholds) = (args.series_limit, args.window, args.thresholds.clone());
    let names: Vec<String> = targets.iter().map(|t| t.url.clone()).collect();
    // The dashboard on the packet's clock; made again each time it is opened from a fleet
    // table.
    let dashboard = || {
        let (targets, thresholds) = (targets.clone(), thresholds.clone());
        let fresh = Box::new(move || {
            let settings = ModelSettings {
                history,
                series_limit: limit,
                thresholds: thresholds.clone(),
                interval: Some(interval),
                kind: InputKind::Packet,
                ..ModelSettings::default()
            };
            Core::new(model_for(&targets, &settings), window)
        });
        let (playback, core) = Playback::new(e.opened.timeline(), fresh, at, args.speed);
        let mut app = App::new(
            core.model,
            interval,
            args.window,
            theme.clone(),
            Some(crate::sanitize::clean(&note)),
        );
        app.keymap = args.keymap.clone();
        app.mouse = args.mouse;
        app.shown.replay = Some(playback.status());
        app.now = playback.status().now;
        (app, playback)
    };
    let rt = super::session::runtime()?;
    let run = |(app, playback): (App, Playback)| {
        let log = std::sync::Arc::new(std::sync::Mutex::new(None));
        rt.block_on(super::session::run_session(
            app,
            Feed::Replay(Box::new(playback)),
            log,
        ))
    };
    // A packet written by `e` in the fleet view opens on its fleet table; Enter on the
    // instance it holds replays that instance.
    let table = e.opened.member("fleet.json").and_then(|b| {
        tui::fleet::FleetPicture::from_report(b)
            .inspect_err(|why| {
                let shown = args.packet.display();
                let why = crate::sanitize::clean(why);
                eprintln!("kvscope: {shown}: fleet.json: {why}; opening its dashboard")
            })
            .ok()
    });
    let Some(picture) = table else {
        return run(dashboard());
    };
    fleet_table(args, picture, &names, &theme, &rt, || run(dashboard()))
}

/// The line a replay's header starts with: the packet, its layout, its events, and what is
/// wrong with it.
fn replay_note(args: &ReplayArgs, e: &Evidence, timeline: &Timeline) -> String {
    let mut note = format!(
        "replay of {} ({}, {} events)",
        args.packet.display(),
        e.layout,
        timeline.len()
    );
    for why in e.problems(timeline).iter().chain(&timeline.notes()) {
        note.push_str(&format!(" · {why}"));
    }
    note
}

/// A packet written in the fleet view: its fleet table, where Enter on the instance the
/// packet holds replays that instance (`open`).
fn fleet_table(
    args: &ReplayArgs,
    picture: tui::fleet::FleetPicture,
    names: &[String],
    theme: &Theme,
    rt: &tokio::runtime::Runtime,
    mut open: impl FnMut() -> Result<crate::session::Stop, Failure>,
) -> Result<crate::session::Stop, Failure> {
    let held = picture
        .rows
        .iter()
        .find(|r| {
            r.targets
                .iter()
                .any(|(_, job, instance)| names.contains(&format!("{job}/{instance}")))
        })
        .map(|r| r.name.clone());
    let mut view = tui::fleet::FleetView::new(
        format!("{} (fleet table)", args.packet.display()),
        theme.clone(),
        args.window,
    );
    view.now = crate::timefmt::now();
    view.selected = held.clone();
    view.note = Some(match &held {
        Some(h) => format!(
            "this packet holds {}'s samples: Enter replays it",
            crate::sanitize::clean(h)
        ),
        None => "this packet's samples match no row of its fleet table".into(),
    });
    view.picture = picture.clone();
    let (_keep, mut pictures) = tokio::sync::watch::channel(Some(picture));
    let (_quiet, mut notes) = tokio::sync::mpsc::unbounded_channel();
    loop {
        let stop = rt
            .block_on(tui::run_fleet(&mut view, &mut pictures, &mut notes, |_| {}))
            .map_err(|e| Failure::bad(format!("terminal error: {e}")))?;
        match stop {
            tui::FleetStop::Quit => return Ok(crate::session::Stop::Quit),
            tui::FleetStop::Signal(n) => return Ok(crate::session::Stop::Signal(n)),
            tui::FleetStop::Open(name) if Some(&name) == held.as_ref() => match open()? {
                crate::session::Stop::Quit => view.note = Some(format!("back from {name}")),
                signal => return Ok(signal),
            },
            tui::FleetStop::Open(name) => {
                view.note = Some(format!(
                    "only {}'s samples are in this packet, not {}'s",
                    held.as_deref().unwrap_or("no instance"),
                    crate::sanitize::clean(&name)
                ));
            }
        }
    }
}
