//! The header (architecture, LMCache versions and health, every target's state) and the
//! target list overlay (`t`). Up to four targets get a line each; more are packed into two
//! lines of short forms, and whatever does not fit is counted, with how many of those are down.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::app::App;
use super::keys::Action;
use super::widgets::{scrolled_popup, short_name};
use crate::model::TargetState;
use crate::sanitize::clean;
use crate::session::picture::TargetRow;
use crate::session::playback::Status;

/// Targets that get a line of their own; beyond, the compact form.
const FULL_LINES: usize = 4;
/// Lines the compact form may use.
const COMPACT_LINES: usize = 2;

fn state_span(app: &App, t: &TargetRow) -> Span<'static> {
    if t.recorded {
        // Read from files without capture times: there is no liveness to show.
        return Span::styled("◇ recorded", app.theme.dim);
    }
    match t.health.state(app.now, app.interval) {
        TargetState::Up => Span::styled("● up", app.theme.good),
        TargetState::Stale => Span::styled("◐ stale", app.theme.warn),
        TargetState::Down => Span::styled("✖ down", app.theme.bad),
        TargetState::Waiting => Span::styled("○ waiting", app.theme.dim),
    }
}

/// Age and latency of a target's last answer. Fresh answers show a fixed bound, so the header
/// does not churn every second.
fn age_and_latency(app: &App, t: &TargetRow) -> String {
    let age = t
        .health
        .last_ok
        .map(|ok| match app.shown_age(ok, app.now) {
            Some(a) => format!(" {a}s ago"),
            None => format!(" <{}s ago", (2.0 * app.interval).ceil() as u64),
        })
        .unwrap_or_default();
    let lat = t
        .health
        .last_latency
        .map(|l| format!(" {:.0}ms", l * 1000.0))
        .unwrap_or_default();
    format!("{age}{lat}")
}

/// A target's line: its role, name, state, age and latency, and why it is down. A long name
/// is cut (with `…`) before its state is.
fn full_line(app: &App, t: &TargetRow, width: u16) -> Line<'static> {
    let role = format!("{} ", t.role());
    let state = state_span(app, t);
    let age = age_and_latency(app, t);
    let rest = role.chars().count() + 1 + state.content.chars().count() + age.chars().count();
    let room = usize::from(width).saturating_sub(rest + 1).max(12);
    let mut spans = vec![
        Span::styled(role, app.theme.dim),
        Span::styled(crate::units::cut(&clean(&t.name), room), app.theme.text),
        Span::raw(" "),
        state,
        Span::styled(age, app.theme.dim),
    ];
    if let Some(why) = t.health.down() {
        spans.push(Span::styled(format!(" — {}", clean(why)), app.theme.bad));
    }
    Line::from(spans)
}

/// Many targets, packed: `● host:port` each, in as many lines as allowed; the rest counted.
fn compact_lines(app: &App, width: usize) -> Vec<Line<'static>> {
    let targets = &app.shown.targets;
    let mut lines: Vec<Vec<Span<'static>>> = vec![Vec::new()];
    let mut used = 0;
    let mut shown = 0;
    let hint = app.keymap.hint(Action::Targets);
    for (i, t) in targets.iter().enumerate() {
        let state = state_span(app, t);
        let symbol: String = state.content.chars().next().into_iter().collect();
        let token = format!("{symbol} {} ", short_name(&t.name));
        let w = token.chars().count();
        let last_line = lines.len() == COMPACT_LINES;
        // Room for the count of what does not fit, on the last line.
        let reserve = if last_line && i + 1 < targets.len() {
            24 + hint.len()
        } else {
            0
        };
        if used + w + reserve > width {
            if last_line {
                break;
            }
            lines.push(Vec::new());
            used = 0;
        }
        lines
            .last_mut()
            .expect("one line at least")
            .push(Span::styled(token, state.style));
        used += w;
        shown += 1;
    }
    if shown < targets.len() {
        let hidden = &targets[shown..];
        let down = hidden
            .iter()
            .filter(|t| !t.recorded && t.health.state(app.now, app.interval) == TargetState::Down)
            .count();
        let mut more = format!("+{} more", hidden.len());
        if down > 0 {
            more.push_str(&format!(", {down} down"));
        }
        more.push_str(&format!(" ({hint} lists all)"));
        let style = if down > 0 {
            app.theme.bad
        } else {
            app.theme.dim
        };
        lines
            .last_mut()
            .expect("one line at least")
            .push(Span::styled(more, style));
    }
    lines.into_iter().map(Line::from).collect()
}

/// Firing findings by severity, most severe first (nothing when none fire).
fn finding_counts(app: &App) -> Vec<Span<'static>> {
    use crate::analysis::findings::Severity;
    let fs = &app.shown.analysis.findings;
    let mut out = Vec::new();
    for (sev, style) in [
        (Severity::Critical, app.theme.bad),
        (Severity::Warning, app.theme.warn),
        (Severity::Info, app.theme.dim),
    ] {
        let n = fs.iter().filter(|f| f.severity == sev).count();
        if n > 0 {
            out.push(Span::styled(format!("· {n} {sev} "), style));
        }
    }
    out
}

/// The verdict, above everything: `KV cache: WORKING — …`, coloured by its state.
fn verdict_line(app: &App) -> Line<'static> {
    let v = &app.shown.analysis.verdict;
    let style = app.theme.verdict(v.state);
    let rest = if v.summary.is_empty() {
        String::new()
    } else {
        format!(" — {}", clean(&v.summary))
    };
    Line::from(vec![
        Span::styled(
            format!("KV cache: {}", v.head()),
            style.add_modifier(ratatui::style::Modifier::BOLD),
        ),
        Span::styled(rest, app.theme.text),
    ])
}

/// A target that restarted within the window: when, and that since-start figures reset.
fn restart_line(app: &App) -> Option<Line<'static>> {
    let (t, row) = app
        .shown
        .targets
        .iter()
        .filter_map(|r| Some((r.restarted_at?, r)))
        .filter(|(t, _)| app.now - t <= app.window)
        .max_by(|a, b| a.0.total_cmp(&b.0))?;
    Some(Line::from(Span::styled(
        format!(
            "⟳ {} restarted at {} ({}); since-start figures reset",
            row.target.role.process(),
            crate::timefmt::clock_time(t),
            short_name(&row.name)
        ),
        app.theme.warn,
    )))
}

/// Every header line at this width: the verdict, the title, the targets, the note.
pub fn lines(app: &App, width: u16) -> Vec<Line<'static>> {
    let a = &app.shown.analysis;
    let mut spans = vec![
        Span::styled("kvscope ", app.theme.title),
        Span::styled(
            format!("{} ({:?}) ", a.mode.architecture, a.mode.strength).to_lowercase(),
            app.theme.text,
        ),
    ];
    spans.extend(server_spans(app));
    spans.extend(finding_counts(app));
    if app.view.paused {
        spans.push(Span::styled(" PAUSED ", app.theme.selected));
    }
    let mut out = vec![verdict_line(app), Line::from(spans)];
    if let Some(r) = &app.shown.replay {
        out.push(replay_line(app, r));
    }
    if app.shown.targets.len() <= FULL_LINES {
        out.extend(app.shown.targets.iter().map(|t| full_line(app, t, width)));
    } else {
        out.extend(compact_lines(app, usize::from(width)));
    }
    out.extend(restart_line(app));
    if !app.insecure.is_empty() {
        let whose = if app.insecure.len() == app.shown.targets.len() {
            "every target".to_string()
        } else {
            app.insecure
                .iter()
                .map(|n| clean(n))
                .collect::<Vec<_>>()
                .join(", ")
        };
        out.push(Line::from(Span::styled(
            format!("TLS NOT CHECKED (--insecure): {whose}"),
            app.theme.bad,
        )));
    }
    if let Some(note) = &app.note {
        // A note may be long (the demo says what it replays): two lines, then `…`.
        let mut rows = super::widgets::wrap_words(note, usize::from(width.saturating_sub(1)));
        if rows.len() > 2 {
            rows.truncate(2);
            rows[1].push_str(" …");
        }
        out.extend(
            rows.into_iter()
                .map(|r| Line::from(Span::styled(r, app.theme.info))),
        );
    }
    if let Some(note) = &app.export_note {
        out.push(Line::from(Span::styled(clean(note), app.theme.info)));
    }
    if let Some(offer) = &app.offer {
        out.push(Line::from(Span::styled(
            format!(
                "Follow LMCache's {} here? y / n · {}",
                offer.what(),
                clean(&offer.path)
            ),
            app.theme.warn,
        )));
    }
    out
}

/// The LMCache servers' versions and health, as their routes said.
fn server_spans(app: &App) -> Vec<Span<'static>> {
    let per_target = &app.shown.analysis.lmcache.by_target;
    let mut spans = Vec::new();
    let mut versions: Vec<String> = per_target
        .iter()
        .filter_map(|t| t.http.version.as_deref().map(clean))
        .collect();
    versions.dedup();
    if !versions.is_empty() {
        spans.push(Span::styled(
            format!("· LMCache {} ", versions.join(", ")),
            app.theme.dim,
        ));
    }
    let health: Vec<bool> = per_target.iter().filter_map(|t| t.http.healthy).collect();
    let sick = health.iter().filter(|h| !**h).count();
    match (health.len(), sick) {
        (0, _) => {}
        (_, 0) => spans.push(Span::styled("healthy ", app.theme.good)),
        (1, _) => spans.push(Span::styled("UNHEALTHY ", app.theme.bad)),
        (n, k) => spans.push(Span::styled(
            format!("UNHEALTHY ({k} of {n}) "),
            app.theme.bad,
        )),
    }
    spans
}

/// Where a replay stands: playing or not, speed, the packet's time, the offset into it, events
/// applied; and the keys that move it.
fn replay_line(app: &App, r: &Status) -> Line<'static> {
    let hms = |s: f64| {
        let s = s.max(0.0) as u64;
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    };
    if r.total == 0 {
        return Line::from(Span::styled(
            " ■ the packet holds no events ",
            app.theme.selected,
        ));
    }
    let (state, style) = match (r.playing, r.applied >= r.total) {
        (true, _) => (format!("▶ playing {}", r.speed.label()), app.theme.good),
        (false, true) => ("■ at the end".to_string(), app.theme.selected),
        (false, false) => (
            format!("⏸ paused ({})", r.speed.label()),
            app.theme.selected,
        ),
    };
    let k = |a| app.keymap.hint(a);
    Line::from(vec![
        Span::styled(format!(" {state} "), style),
        Span::styled(
            format!(
                " {} · {} of {} · {}/{} events",
                crate::timefmt::format_rfc3339(r.now),
                hms(r.now - r.start),
                hms(r.end - r.start),
                r.applied,
                r.total
            ),
            app.theme.text,
        ),
        Span::styled(
            format!(
                " · {} play · {} {} step · {} {} speed · {} {} ends",
                k(Action::Pause),
                k(Action::StepBack),
                k(Action::StepForward),
                k(Action::Slower),
                k(Action::Faster),
                k(Action::Start),
                k(Action::End)
            ),
            app.theme.dim,
        ),
    ])
}

pub fn draw(f: &mut Frame, area: Rect, app: &App) {
    f.render_widget(
        Paragraph::new(super::widgets::fit(lines(app, area.width), area.width)),
        area,
    );
}

/// The list of every target: role, URL, state, age and latency, and why it is down.
pub fn draw_targets(f: &mut Frame, area: Rect, app: &App) {
    let mut lines: Vec<Line> = app
        .shown
        .targets
        .iter()
        .map(|t| {
            let mut spans = vec![
                Span::styled(format!("{:<8}", t.role()), app.theme.dim),
                Span::styled(clean(&t.name), app.theme.text),
                Span::raw("  "),
                state_span(app, t),
                Span::styled(age_and_latency(app, t), app.theme.dim),
                Span::styled(
                    format!("  {} failed attempts", t.health.failures),
                    app.theme.dim,
                ),
            ];
            if let Some((at, why)) = &t.health.last_failure {
                let style = if t.health.down().is_some() {
                    app.theme.bad
                } else {
                    app.theme.dim
                };
                spans.push(Span::styled(
                    format!(
                        "  last error {:.0}s ago: {}",
                        (app.now - at).max(0.0),
                        clean(why)
                    ),
                    style,
                ));
            }
            Line::from(spans)
        })
        .collect();
    if lines.is_empty() {
        lines.push(Line::from("no targets"));
    }
    scrolled_popup(
        f,
        area,
        app,
        lines,
        &format!(
            "targets · {} or {} closes",
            app.keymap.hint(Action::Targets),
            app.keymap.hint(Action::Close)
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_keep_host_and_port_only() {
        assert_eq!(short_name("http://***@gpu7:8080/metrics"), "gpu7:8080");
        assert_eq!(short_name("https://h/x/metrics?token=***"), "h");
        assert_eq!(short_name("file.prom"), "file.prom");
    }
}
