//! The clock, the core's re-analysis, rebound keys, rule history, evidence offered and judged,
//! text that never runs into an edge, wide screens, the mouse.

use super::*;

#[test]
fn a_clock_tick_redraws_only_when_something_shown_changes() {
    let mut a = app(31);
    let last_ok = a.now - 1.0;
    a.dirty = false;
    // A fresh target's age is not shown, so a tick changes nothing on screen.
    a.on_tick(last_ok + 1.5);
    assert!(!a.dirty);
    // Older than two intervals: the age appears.
    a.on_tick(last_ok + 2.5);
    assert!(a.dirty);
    assert!(render(&a, 120, 40).contains("up 2s ago"));
    a.dirty = false;
    // Three intervals: stale.
    a.on_tick(last_ok + 3.5);
    assert!(a.dirty);
    assert!(render(&a, 120, 40).contains("stale 3s ago"));
}

/// Latency and failure events change only the header: the picture reuses the analysis; a
/// scrape makes a new one.
#[test]
fn the_core_reanalyses_only_when_numbers_can_change() {
    let mut a = app(5);
    let mut core = a.take_core().unwrap();
    let first = core.shown(None);
    let target = TargetRef {
        role: Role::Lmcache,
        index: 0,
    };
    core.apply(Event::Latency {
        target,
        time: a.now,
        seconds: 0.01,
    });
    let after_latency = core.shown(None);
    assert!(std::sync::Arc::ptr_eq(
        &first.analysis,
        &after_latency.analysis
    ));
    assert_eq!(after_latency.targets[0].health.last_latency, Some(0.01));
    core.apply(Event::Scrape {
        target,
        time: Some(a.now + 1.0),
        body: fixture("lmcache-0.5.6-cpu-run1/metrics_t31.prom"),
        format: None,
        origin: "t".into(),
    });
    let after_scrape = core.shown(None);
    assert!(!std::sync::Arc::ptr_eq(
        &first.analysis,
        &after_scrape.analysis
    ));
    assert_eq!(hits(&after_scrape.analysis).value(), Some(27136.0));
    // A failed scrape changes the verdict: the picture analyses again and says down.
    core.apply(Event::ScrapeFailed {
        target,
        time: a.now + 2.0,
        error: "unreachable: refused".into(),
    });
    let after_failure = core.shown(None);
    let v = &after_failure.analysis.verdict;
    assert_eq!(v.state, crate::analysis::verdict::CacheState::Down, "{v:?}");
    assert!(
        v.line().starts_with("KV cache: DOWN — figures as of"),
        "{}",
        v.line()
    );
    // A second failed attempt: down for the span the failures show.
    core.apply(Event::ScrapeFailed {
        target,
        time: a.now + 4.0,
        error: "unreachable: refused".into(),
    });
    let line = core.shown(None).analysis.verdict.line();
    assert!(
        line.starts_with("KV cache: DOWN 2s — figures as of"),
        "{line}"
    );
}

/// Every key named on screen comes from the key map: rebound in the config, the footer, the
/// help, every overlay's title and the search prompt name the new keys.
#[test]
fn rebound_keys_are_the_keys_every_hint_names() {
    use crate::tui::keys::KeyMap;
    let mut a = app(31);
    let mut o = std::collections::BTreeMap::new();
    for (action, key) in [
        ("quit", "ctrl-q"),
        ("help", "H"),
        ("close", "ctrl-g"),
        ("open", "ctrl-o"),
        ("server", "s"),
        ("targets", "T"),
    ] {
        o.insert(action.to_string(), vec![key.to_string()]);
    }
    a.keymap = KeyMap::with_overrides(&o).unwrap();
    let ctrl = |c: char| KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL);
    let screen = render(&a, 200, 60);
    let footer = screen.lines().last().unwrap();
    for hint in ["ctrl-q quit", "H help", "s server", "T targets"] {
        assert!(footer.contains(hint), "{hint} in {footer}");
    }
    let titled = |a: &App, want: &str| {
        let s = render(a, 200, 60);
        assert!(s.contains(want), "{want}\n{s}");
    };
    a.on_key(key(KeyCode::Char('H')));
    titled(&a, "keys · H or Ctrl-g closes");
    titled(&a, "(Ctrl-o keeps, Ctrl-g clears)");
    a.on_key(ctrl('g'));
    a.on_key(key(KeyCode::Char('s')));
    titled(&a, "LMCache server · s or Ctrl-g closes");
    a.on_key(key(KeyCode::Char('T')));
    titled(&a, "targets · T or Ctrl-g closes");
    a.on_key(ctrl('g'));
    a.on_key(ctrl('o'));
    titled(&a, "· Ctrl-g closes");
    a.on_key(ctrl('g'));
    // The search: plain keys are text, the open key keeps it, the close key clears it.
    for c in ['/', 'e', 'v', 'i', 'c', 't'] {
        a.on_key(key(KeyCode::Char(c)));
    }
    a.on_key(ctrl('o'));
    titled(&a, "/evict (Ctrl-g clears)");
    assert_eq!(a.on_key(ctrl('g')), None);
    assert_eq!(a.view.search, None);
    assert_eq!(a.on_key(ctrl('q')), Some(Ask::Quit));
}

/// The session remembers when each rule changed state: on the real capture, L1 reaches its
/// watermark while filling and leaves it later; the detail shows that history.
#[test]
fn rule_state_changes_are_remembered_and_shown() {
    use crate::analysis::findings::State;
    let a = app(31);
    let changes = a.shown.verdicts.get("l1_at_watermark").expect("seen");
    let states: Vec<State> = changes.iter().map(|c| c.1).collect();
    assert!(
        states
            .windows(2)
            .any(|w| w == [State::Firing, State::Clear]),
        "{states:?}"
    );
    assert!(
        changes.windows(2).all(|w| w[0].0 <= w[1].0),
        "in time order"
    );
    // Firing findings: most severe first, then the longest firing.
    let fs = &a.shown.analysis.findings;
    assert!(fs.windows(2).all(|w| w[0].severity >= w[1].severity));
    let mut b = app(10);
    b.on_key(key(KeyCode::Char('l')));
    let findings_focused = (0..6).any(|_| {
        let focused = b.view.focus == crate::tui::app::Pane::Findings;
        if !focused {
            b.on_key(key(KeyCode::Tab));
        }
        focused
    });
    assert!(findings_focused);
    b.on_key(key(KeyCode::Enter));
    let screen = render(&b, 160, 50);
    assert!(screen.contains("history: firing at"), "{screen}");
}

/// A loopback LMCache whose /config names a trace file present here is offered for following
/// once: n declines for good, y asks the loop to follow it. The answers are the real capture's,
/// with trace_output changed to the real trace's place in the fixtures.
#[test]
fn a_trace_file_named_by_config_is_offered_once() {
    let config = |path: &str| {
        config_answer("lmcache-0.5.6-cpu-run1/http/config.json", |c| {
            c["observability"]["trace_output"] = path.into();
        })
    };
    let here = format!(
        "{}/fixtures/lmcache-0.5.6-cpu-run1/run.lct",
        env!("CARGO_MANIFEST_DIR")
    );
    for answer in ['n', 'y'] {
        let mut a = app(31);
        assert!(
            a.offer.is_none(),
            "the recorded path is not on this machine"
        );
        drop(a.on_event(config(&here)));
        let now = a.now;
        a.on_tick(now + 1.0);
        assert_eq!(
            a.offer.as_ref().map(|o| o.path.as_str()),
            Some(here.as_str())
        );
        assert!(render(&a, 200, 60).contains("Follow LMCache's storage trace here? y / n"));
        let asked = a.on_key(key(KeyCode::Char(answer)));
        assert!(a.offer.is_none());
        assert_eq!(matches!(asked, Some(Ask::Follow(_))), answer == 'y');
        drop(a.on_event(config(&here)));
        a.on_tick(now + 2.0);
        assert!(a.offer.is_none(), "asked once");
    }
}

/// A log line the rules read changes the findings at the next picture, with no scrape
/// between (the log line is hand-made from LMCache's format string; the rest is real).
#[test]
fn evidence_alone_changes_the_findings_shown() {
    let mut a = app(31);
    let state = |a: &App| {
        let r = a
            .shown
            .analysis
            .rules
            .iter()
            .find(|r| r.code == "eventbus_dropping");
        r.map(|r| r.state)
    };
    assert_eq!(state(&a), Some(crate::analysis::findings::State::Clear));
    drop(a.on_event(Event::Evidence {
        target: TargetRef {
            role: Role::Lmcache,
            index: 0,
        },
        time: None,
        stream: crate::vocab::Stream::ServerLog,
        fresh: true,
        body: b"[2026-11-22 07:25:33,001] LMCache WARNING: EventBus queue full (max_queue_size=4), 12 event(s) discarded so far (event_bus.py:201:lmcache.v1.mp_observability.event_bus)\n".to_vec(),
        origin: "server.log".into(),
    }));
    let now = a.now;
    a.on_tick(now + 1.0);
    assert_eq!(state(&a), Some(crate::analysis::findings::State::Firing));
    assert_eq!(
        a.shown
            .analysis
            .evidence
            .server_log
            .as_ref()
            .map(|l| l.lines),
        Some(1)
    );
}

/// Where text runs into the right edge of a box (a pane or a popup: `┌…┐` over `│` sides) or
/// of the screen: the cell before the edge holds a letter, a digit or punctuation, which is how
/// a line cut mid-word looks. Text that was cut ends in `…`, and text that fits leaves that
/// cell empty ([`super::widgets::fit`]), so neither is reported.
pub(in crate::tui) fn cut_words(
    w: u16,
    h: u16,
    draw: impl FnOnce(&mut ratatui::Frame),
) -> Vec<String> {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(draw).unwrap();
    let buf = t.backend().buffer().clone();
    let sym = |x: u16, y: u16| buf[(x, y)].symbol().chars().next().unwrap_or(' ');
    let row = |y: u16| -> String { (0..w).map(|x| buf[(x, y)].symbol()).collect() };
    let text = |c: char| c.is_alphanumeric() || c.is_ascii_punctuation();
    let mut cuts = Vec::new();
    let mut report = |x: u16, y: u16, what: &str| {
        if text(sym(x, y)) {
            cuts.push(format!("{w}x{h} {what} row {y}: {}", row(y).trim_end()));
        }
    };
    for y in 0..h {
        report(w - 1, y, "screen edge");
    }
    for y in 0..h {
        for x in 0..w {
            if sym(x, y) != '┌' {
                continue;
            }
            let Some(right) = (x + 1..w).find(|&x2| sym(x2, y) == '┐') else {
                continue;
            };
            for y2 in y + 1..h {
                match sym(right, y2) {
                    '│' if right >= 1 => report(right - 1, y2, "box edge"),
                    _ => break,
                }
            }
        }
    }
    cuts
}

#[test]
fn no_text_runs_into_an_edge_at_any_size_in_any_pane_or_overlay() {
    let sizes = [
        (80, 24),
        (90, 30),
        (100, 28),
        (120, 40),
        (140, 45),
        (160, 50),
        (200, 60),
        (250, 80),
        (300, 100),
    ];
    let mut a = app_with_evidence(31);
    let now = a.now;
    feed_routes(&mut a, now);
    let mut cuts = Vec::new();
    let mut walk = |a: &App, what: &str| {
        for (w, h) in sizes {
            for c in cut_words(w, h, |f| crate::tui::draw::draw(f, a)) {
                cuts.push(format!("{what}: {c}"));
            }
        }
    };
    for pane in Pane::ALL {
        a.view.focus = pane;
        if pane.large() {
            a.view.large = pane;
        }
        walk(&a, &format!("{pane:?} focused"));
    }
    a.view.focus = Pane::Matrix;
    a.view.large = Pane::Matrix;
    for (open, name) in [
        (
            &mut |v: &mut crate::tui::app::View| v.overlay = Some(Overlay::Help),
            "help",
        ),
        (
            &mut |v: &mut crate::tui::app::View| v.overlay = Some(Overlay::Targets),
            "targets",
        ),
        (
            &mut |v: &mut crate::tui::app::View| v.overlay = Some(Overlay::Server),
            "server",
        ),
        (
            &mut |v: &mut crate::tui::app::View| v.overlay = Some(Overlay::Detail),
            "family detail",
        ),
    ] as [(&mut dyn FnMut(&mut crate::tui::app::View), &str); 4]
    {
        let before = a.view.clone();
        open(&mut a.view);
        walk(&a, name);
        a.view = before;
    }
    a.view.focus = Pane::Findings;
    a.view.overlay = Some(Overlay::Detail);
    walk(&a, "finding detail");
    assert!(
        cuts.is_empty(),
        "{} lines run into an edge:\n{}",
        cuts.len(),
        cuts.join("\n")
    );
}

/// What wide screens add, on the real run: the L1 chart's points are the L1 figure at each
/// scrape, and each family's glance is its first metric's raw value with the windowed rate
/// the analysis computes.
#[test]
fn wide_screens_draw_charts_and_glances_from_the_same_numbers() {
    let a = app(31);
    let lm = &a.shown.analysis.lmcache;
    let history = &a.shown.history.targets[0];
    assert_eq!(history.l1_usage.len(), 32, "a point per scrape");
    assert_eq!(
        history.l1_usage.last().copied().flatten(),
        lm.l1.memory.usage_ratio.value()
    );
    let family = |id: &str| {
        let families = &a.shown.analysis.families;
        families.iter().position(|f| f.id == id).unwrap()
    };
    let fi = family("lmcache_mp.lookup");
    let g = a.shown.history.glances[fi]
        .as_ref()
        .expect("lookup has series");
    assert_eq!(g.metric, "requested_tokens");
    // The newest scrape's raw counter, summed over its series.
    let body = String::from_utf8(fixture("lmcache-0.5.6-cpu-run1/metrics_t31.prom")).unwrap();
    let raw: f64 = body
        .lines()
        .filter(|l| l.starts_with("lmcache_mp_lookup_requested_tokens_total"))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum();
    assert_eq!(g.value.value(), Some(raw));
    let per_s = g.per_s.as_ref().and_then(|f| f.value()).unwrap();
    let secs = lm.window_seconds.value().unwrap();
    let windowed = lm.lookup.requested_tokens.window.value().unwrap();
    assert!(
        (per_s * secs - windowed).abs() < 1e-6,
        "{per_s} × {secs} vs {windowed}"
    );
    // A gauge family has no rate.
    let mem = family("lmcache_mp.l1_memory");
    assert!(
        a.shown.history.glances[mem]
            .as_ref()
            .unwrap()
            .per_s
            .is_none()
    );

    let wide = render(&a, 200, 60);
    for needle in [
        "metric",
        "per s",
        "requested_tokens",
        "evicts from 80%",
        "100%│",
    ] {
        assert!(wide.contains(needle), "{needle} missing at 200x60:\n{wide}");
    }
    let narrow = render(&a, 120, 40);
    assert!(
        !narrow.contains("per s") && !narrow.contains("100%│"),
        "{narrow}"
    );
}

/// `--mouse` at 120×40 on the real run: a click focuses the pane under it and selects the row
/// it hit; the wheel moves the selection of the pane under it; overlays take no clicks.
#[test]
fn clicks_focus_panes_and_select_rows_and_the_wheel_scrolls() {
    use ratatui::crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    let screen = ratatui::layout::Rect::new(0, 0, 120, 40);
    let mut a = app(31);
    let panes = crate::tui::layout::panes_at(screen, &a);
    let at = |pane: Pane| panes.iter().find(|(p, _)| *p == pane).unwrap().1;
    let click = |x: u16, y: u16| MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: x,
        row: y,
        modifiers: KeyModifiers::NONE,
    };
    let wheel = |x: u16, y: u16| MouseEvent {
        kind: MouseEventKind::ScrollDown,
        column: x,
        row: y,
        modifiers: KeyModifiers::NONE,
    };
    let mem = at(Pane::Memory);
    a.on_mouse(
        click(mem.x + 3, mem.y + 3),
        &crate::tui::layout::panes_at(screen, &a),
    );
    assert_eq!(a.view.focus, Pane::Memory);
    // The matrix's third family row: border, header row, then rows.
    let m = at(Pane::Matrix);
    a.on_mouse(
        click(m.x + 5, m.y + 2 + 2),
        &crate::tui::layout::panes_at(screen, &a),
    );
    assert_eq!((a.view.focus, a.view.matrix_row), (Pane::Matrix, 2));
    let third = a.matrix_rows()[2];
    let drawn = render(&a, 120, 40);
    let name = a.shown.analysis.families[third].id;
    assert!(
        drawn
            .lines()
            .nth(usize::from(m.y + 4))
            .unwrap()
            .contains(name),
        "the clicked row shows {name}"
    );
    a.on_mouse(
        wheel(m.x + 5, m.y + 5),
        &crate::tui::layout::panes_at(screen, &a),
    );
    assert_eq!(a.view.matrix_row, 3);
    // The second finding.
    let fp = at(Pane::Findings);
    a.on_mouse(
        click(fp.x + 10, fp.y + 2),
        &crate::tui::layout::panes_at(screen, &a),
    );
    assert_eq!((a.view.focus, a.view.finding_row), (Pane::Findings, 1));
    assert_eq!(a.view.finding_code, Some(a.shown.analysis.findings[1].code));
    // Below the last finding: nothing is selected there.
    a.on_mouse(
        click(fp.x + 10, fp.y + fp.height - 2),
        &crate::tui::layout::panes_at(screen, &a),
    );
    assert_eq!(a.view.finding_row, 1);
    // With help open, a click changes nothing.
    a.view.overlay = Some(Overlay::Help);
    a.on_mouse(
        click(mem.x + 3, mem.y + 3),
        &crate::tui::layout::panes_at(screen, &a),
    );
    assert_eq!(a.view.focus, Pane::Findings);
}

/// The Mode pane says when its evidence does not fit, and Enter shows all of it.
#[test]
fn enter_on_mode_shows_all_of_its_evidence() {
    let mut a = app(31);
    let s = render(&a, 120, 40);
    assert!(s.contains("… Enter shows all"), "{s}");
    while a.view.focus != Pane::Mode {
        a.on_key(key(KeyCode::Tab));
    }
    a.on_key(key(KeyCode::Enter));
    let s = render(&a, 120, 40);
    assert!(s.contains(" architecture · Esc closes"), "{s}");
    // The last evidence line, which the pane had no room for.
    assert!(s.contains("lmcache_mp_metrics"), "{s}");
    a.on_key(key(KeyCode::Esc));
    assert!(!render(&a, 120, 40).contains(" architecture · Esc closes"));
}

/// Colour by meaning, on the real idle capture: the matrix at every family (the `All` filter)
/// draws red only on a row its problems filter counts; families LMCache creates at the first
/// lookup wait for traffic, in yellow; optional absent ones are dim.
#[test]
fn red_only_where_the_problems_filter_counts() {
    let mut a = app(0);
    a.view.filter = crate::tui::app::MatrixFilter::All;
    let mut t = Terminal::new(TestBackend::new(200, 60)).unwrap();
    t.draw(|f| super::super::draw::draw(f, &a)).unwrap();
    let buf = t.backend().buffer().clone();
    let families = &a.shown.analysis.families;
    let waiting: Vec<&str> = families
        .iter()
        .filter(|f| f.status == crate::analysis::matrix::Status::Waiting)
        .map(|f| f.id)
        .collect();
    assert!(waiting.contains(&"lmcache_mp.lookup"), "{waiting:?}");
    let (mut yellow, mut dim_missing) = (0, 0);
    for y in 0..60 {
        let line: String = (0..200).map(|x| buf[(x, y)].symbol()).collect();
        let red = (0..200).any(|x| buf[(x, y)].fg == a.theme.bad.fg.unwrap());
        let family = families
            .iter()
            .find(|f| line.contains(&format!("│{} ", f.id)));
        if red {
            assert!(family.is_some_and(|f| f.is_problem()), "red: {line}");
        }
        let cell = |word: &str| line.find(word).map(|i| line[..i].chars().count() as u16);
        if let Some(x) = cell(" waiting ") {
            assert_eq!(Some(buf[(x + 1, y)].fg), a.theme.warn.fg, "{line}");
            yellow += 1;
        }
        if let (Some(f), Some(x)) = (family, cell(" missing "))
            && !f.is_problem()
        {
            assert_eq!(Some(buf[(x + 1, y)].fg), a.theme.dim.fg, "{line}");
            dim_missing += 1;
        }
    }
    assert!(
        yellow >= 2 && dim_missing >= 2,
        "{yellow} waiting, {dim_missing} missing"
    );
}

/// The real server log's repeated lines (a transfer per request, numbers aside) fold into one
/// with a count; a search that finds nothing says what it looked through.
#[test]
fn repeated_log_lines_fold_and_an_empty_search_says_so() {
    let mut a = app_with_evidence(31);
    while a.view.focus != Pane::Logs {
        a.on_key(key(KeyCode::Tab));
    }
    let s = render(&a, 200, 60);
    let folded: Vec<&str> = s.lines().filter(|l| l.contains(" ×")).collect();
    assert!(
        folded.iter().any(|l| l.contains("Retrieved 512 tokens")),
        "{s}"
    );
    let shown = s.lines().filter(|l| l.contains(" info ")).count();
    assert!(shown < 40, "{shown} lines of 343\n{s}");
    a.on_key(key(KeyCode::Char('/')));
    for c in "no-such-line".chars() {
        a.on_key(key(KeyCode::Char(c)));
    }
    a.on_key(key(KeyCode::Enter));
    let s = render(&a, 200, 60);
    assert!(
        s.contains("no LMCache or vLLM lines matching \"no-such-line\" in 343 lines kept"),
        "{s}"
    );
}
