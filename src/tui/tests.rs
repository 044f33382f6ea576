//! Render and app-loop tests on real fixtures, with ratatui's TestBackend (no terminal).

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::app::{App, Ask, Overlay, Pane};
use super::theme::Theme;
use crate::model::Model;
use crate::vocab::{Event, Role, TargetRef};

fn fixture(rel: &str) -> Vec<u8> {
    std::fs::read(format!("{}/fixtures/{rel}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// The demo's pairing: the real LMCache 0.5.6 timeline (t0..=last) and packet_a's vLLM scrape.
fn app(last: usize) -> App {
    let model = Model::new(
        &["http://127.0.0.1:8080/metrics".into()],
        &["http://127.0.0.1:8081/metrics".into()],
        64,
    );
    let mut app = App::new(model, 1.0, 60.0, Theme::dark(), Some("demo note".into()));
    let (events, newest) = crate::demo::recorded(last);
    events.into_iter().for_each(|e| drop(app.on_event(e)));
    app.on_tick(newest + 1.0);
    app
}

/// The LMCache target's `/config` answer: the real one in fixture `rel`, changed by `edit`.
fn config_answer(rel: &str, edit: impl FnOnce(&mut serde_json::Value)) -> Event {
    let mut c: serde_json::Value = serde_json::from_slice(&fixture(rel)).unwrap();
    edit(&mut c);
    Event::Route {
        target: TargetRef {
            role: Role::Lmcache,
            index: 0,
        },
        route: crate::vocab::Route::Config,
        flavor: crate::vocab::Flavor::Current,
        time: 1.8e9,
        result: Ok((200, serde_json::to_vec(&c).unwrap())),
    }
}

/// [`app`] with the same run's storage trace and server log read beside the LMCache target.
fn app_with_evidence(last: usize) -> App {
    let mut a = app(last);
    let lmcache = TargetRef {
        role: Role::Lmcache,
        index: 0,
    };
    for (stream, file) in [
        (crate::vocab::Stream::Trace, "run.lct"),
        (crate::vocab::Stream::ServerLog, "server.log"),
    ] {
        drop(a.on_event(Event::Evidence {
            target: lmcache,
            time: None,
            stream,
            fresh: true,
            body: fixture(&format!("lmcache-0.5.6-cpu-run1/{file}")),
            origin: file.into(),
        }));
    }
    let now = a.now;
    a.on_tick(now + 1.0);
    a
}

/// LMCache lookup hit tokens since start, as a picture shows them.
fn hits(analysis: &crate::analysis::Analysis) -> &crate::analysis::Fig {
    &analysis.lmcache.lookup.hit_tokens.since_start
}

fn render(app: &App, w: u16, h: u16) -> String {
    render_with(w, h, |f| super::draw::draw(f, app))
}

/// What `draw` puts on a `w`×`h` screen, as text.
pub(super) fn render_with(w: u16, h: u16, draw: impl FnOnce(&mut ratatui::Frame)) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(draw).unwrap();
    let buf = t.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..h {
        for x in 0..w {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

fn key(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

#[test]
fn full_layout_shows_every_pane_with_real_numbers() {
    let a = app(31);
    let s = render(&a, 120, 40);
    for needle in [
        "Mode",
        "Hit rate",
        "Families",
        "L1 / L2",
        "EventBus",
        "Findings",
        "vllm_mp_lmcache",
        "64.6% since start",
        "100.0% in window",
        "lmcache_mp.l1_counters",
        "populated",
        "L1 736.0 MiB of 1.00 GiB",
        "unverified",
        "demo note",
    ] {
        assert!(s.contains(needle), "missing {needle:?} in\n{s}");
    }
}

#[test]
fn every_size_renders_without_panicking_and_small_ones_say_what_is_hidden() {
    let a = app(31);
    for (w, h) in [
        (200, 60),
        (120, 40),
        (100, 28),
        (80, 24),
        (40, 10),
        (29, 7),
        (1, 1),
        (0, 0),
    ] {
        let s = render(&a, w, h);
        if (w, h) == (80, 24) {
            assert!(s.contains("also (tab): "), "{s}");
        }
    }
}

#[test]
fn keys_move_focus_select_filter_open_and_quit() {
    let mut a = app(31);
    assert_eq!(a.view.focus, Pane::Matrix);
    a.on_key(key(KeyCode::Tab));
    assert_eq!(a.view.focus, Pane::Memory);
    a.on_key(key(KeyCode::BackTab));
    a.on_key(key(KeyCode::Char('j')));
    a.on_key(key(KeyCode::Char('j')));
    assert_eq!(a.view.matrix_row, 2);
    a.on_key(key(KeyCode::Enter));
    assert_eq!(a.view.overlay, Some(Overlay::Detail));
    let s = render(&a, 120, 40);
    assert!(s.contains("Esc closes"), "{s}");
    a.on_key(key(KeyCode::Esc));
    assert_eq!(a.view.overlay, None);
    let all = a.matrix_rows().len();
    a.on_key(key(KeyCode::Char('f')));
    assert!(a.matrix_rows().len() < all);
    a.on_key(key(KeyCode::Char('?')));
    assert!(render(&a, 120, 40).contains("freeze the view"));
    assert_eq!(a.on_key(key(KeyCode::Char('q'))), Some(Ask::Quit));
}

#[test]
fn pause_freezes_what_is_shown_while_collection_goes_on() {
    let mut a = app(20);
    a.on_key(key(KeyCode::Char('p')));
    let before = hits(&a.shown.analysis).clone();
    let target = TargetRef {
        role: Role::Lmcache,
        index: 0,
    };
    a.on_event(Event::Scrape {
        target,
        time: Some(2000.0),
        body: fixture("lmcache-0.5.6-cpu-run1/metrics_t31.prom"),
        format: None,
        origin: "t".into(),
    });
    assert_eq!(hits(&a.shown.analysis), &before);
    assert_eq!(a.model().unwrap().lmcache[0].scrapes().len(), 22);
    assert!(render(&a, 120, 40).contains("PAUSED"));
    a.on_key(key(KeyCode::Char('p')));
    assert_eq!(hits(&a.shown.analysis).value(), Some(27136.0));
}

#[test]
fn a_down_target_shows_why_and_the_ui_keeps_rendering() {
    let mut a = app(5);
    let target = TargetRef {
        role: Role::Engine,
        index: 0,
    };
    let t = a.now + 10.0;
    a.on_event(Event::ScrapeFailed {
        target,
        time: t,
        error: "unreachable: connection refused".into(),
    });
    a.on_tick(t + 0.5);
    let s = render(&a, 120, 40);
    assert!(
        s.contains("down") && s.contains("connection refused"),
        "{s}"
    );
}

#[test]
fn insecure_targets_are_named_in_the_header_at_every_size() {
    let mut a = app(5);
    assert!(!render(&a, 120, 40).contains("TLS NOT CHECKED"));
    a.insecure = vec!["https://lm.example:8080/metrics".into()];
    for (w, h) in [(80, 24), (120, 40), (200, 60)] {
        let s = render(&a, w, h);
        assert!(s.contains("TLS NOT CHECKED (--insecure)"), "{w}x{h}:\n{s}");
    }
}

#[test]
fn escape_sequences_in_label_values_never_reach_the_screen() {
    let model = Model::new(&["x".into()], &[], 8);
    let mut a = App::new(model, 1.0, 60.0, Theme::mono(), None);
    let body = "lmcache_mp_lookup_requested_tokens_total{cache_salt=\"\u{1b}[2J\u{1b}]0;pwned\u{7}\"} 10\n\
                lmcache_mp_lookup_hit_tokens_total{cache_salt=\"\u{1b}[2J\u{1b}]0;pwned\u{7}\"} 5\n";
    a.on_event(Event::Scrape {
        target: TargetRef {
            role: Role::Lmcache,
            index: 0,
        },
        time: Some(1.0),
        body: body.as_bytes().to_vec(),
        format: None,
        origin: "x".into(),
    });
    let s = render(&a, 120, 40);
    assert!(!s.contains('\u{1b}') && !s.contains('\u{7}'), "{s:?}");
    assert!(s.contains("\\u{1b}"), "{s}");
}

#[test]
fn drilling_into_a_family_shows_its_series_values_and_rates() {
    let mut a = app(31);
    // The matrix lists applicable families; find the lookup family and open it.
    let rows = a.matrix_rows();
    let pos = rows
        .iter()
        .position(|&i| a.shown.analysis.families[i].id == "lmcache_mp.lookup")
        .unwrap();
    for _ in 0..pos {
        a.on_key(key(KeyCode::Char('j')));
    }
    a.on_key(key(KeyCode::Enter));
    let s = render(&a, 160, 50);
    assert!(s.contains("lmcache_mp_lookup_requested_tokens_total{cache_salt=\"\", model_name=\"test-model\"} 41984"), "{s}");
    assert!(s.contains("/s"), "{s}");
}

/// Snapshots of every pane from the real fixtures (the demo's pairing): the full grid at
/// 120×40 and 200×60, each pane focused at 80×24, and the overlays.
#[test]
fn snapshots_of_every_pane_at_three_sizes() {
    let mut a = app(31);
    insta::assert_snapshot!("full_200x60", render(&a, 200, 60));
    insta::assert_snapshot!("full_120x40", render(&a, 120, 40));
    for pane in Pane::ALL {
        a.view.focus = pane;
        insta::assert_snapshot!(
            format!(
                "compact_80x24_{}",
                pane.title().replace([' ', '/'], "_").to_lowercase()
            ),
            render(&a, 80, 24)
        );
    }
    a.view.focus = Pane::Matrix;
    a.on_key(key(KeyCode::Enter));
    insta::assert_snapshot!("detail_120x40", render(&a, 120, 40));
    a.on_key(key(KeyCode::Esc));
    a.on_key(key(KeyCode::Char('?')));
    insta::assert_snapshot!("help_120x40", render(&a, 120, 40));
}

#[test]
fn search_narrows_the_matrix_as_you_type_and_esc_clears_it() {
    let mut a = app(31);
    let all = a.matrix_rows().len();
    a.on_key(key(KeyCode::Char('/')));
    assert!(a.view.typing);
    for c in "evict".chars() {
        a.on_key(key(KeyCode::Char(c)));
    }
    let rows = a.matrix_rows();
    assert!(
        !rows.is_empty() && rows.len() < all,
        "{} of {all}",
        rows.len()
    );
    // Found by a metric name, not only the family id.
    assert!(rows.iter().all(|&i| {
        let f = &a.shown.analysis.families[i];
        f.id.contains("evict")
            || f.title.to_lowercase().contains("evict")
            || f.metrics
                .iter()
                .flat_map(|m| &m.names)
                .any(|n| n.contains("evict"))
    }));
    assert!(render(&a, 120, 40).contains("/evict▏"));
    // While typing, 'q' is text, not quit.
    assert_eq!(a.on_key(key(KeyCode::Char('q'))), None);
    assert!(a.matrix_rows().is_empty());
    a.on_key(key(KeyCode::Backspace));
    a.on_key(key(KeyCode::Enter));
    assert!(!a.view.typing);
    assert_eq!(a.matrix_rows(), rows);
    assert!(render(&a, 120, 40).contains("/evict (Esc clears)"));
    a.on_key(key(KeyCode::Esc));
    assert_eq!(a.matrix_rows().len(), all);
}

/// The real 0.5.6 route answers as the route poller sends them.
fn feed_routes(a: &mut App, t: f64) {
    use crate::vocab::{Flavor, Route, SkipReason};
    let target = TargetRef {
        role: Role::Lmcache,
        index: 0,
    };
    for (route, file) in [
        (Route::Healthcheck, "healthcheck.json"),
        (Route::Status, "status.json"),
        (Route::PeriodicThreadsHealth, "periodic-threads-health.json"),
        (Route::Version, "version.json"),
        (Route::Config, "config.json"),
        (Route::Threads, "threads.txt"),
    ] {
        a.on_event(Event::Route {
            target,
            route,
            flavor: Flavor::Current,
            time: t,
            result: Ok((200, fixture(&format!("lmcache-0.5.6-cpu-run1/http/{file}")))),
        });
    }
    a.on_event(Event::RouteSkipped {
        target,
        route: Route::Env,
        flavor: Flavor::Current,
        time: t,
        reason: SkipReason::NeedsAllowEnv,
    });
}

#[test]
fn the_server_overlay_lists_routes_read_and_skipped_with_changes() {
    use crate::vocab::{Flavor, Route};
    let mut a = app(31);
    let t0 = a.now;
    a.on_event(Event::Route {
        target: TargetRef {
            role: Role::Lmcache,
            index: 0,
        },
        route: Route::Status,
        flavor: Flavor::Current,
        time: t0 - 20.0,
        result: Ok((200, fixture("lmcache-0.5.6-cpu-run1/http_idle/status.json"))),
    });
    feed_routes(&mut a, t0 - 3.0);
    // A changed config is news; a changed /status is not (it changes on every read).
    a.on_event(Event::Route {
        target: TargetRef {
            role: Role::Lmcache,
            index: 0,
        },
        route: Route::Config,
        flavor: Flavor::Current,
        time: t0 - 2.0,
        result: Ok((200, b"{\"observability\":{\"max_queue_size\":5}}".to_vec())),
    });
    a.on_key(key(KeyCode::Char('i')));
    assert_eq!(a.view.overlay, Some(Overlay::Server));
    let s = render(&a, 120, 40);
    for needle in [
        "/periodic-threads-health",
        "/threads",
        "HTTP 200",
        "changed 2s ago",
        "--allow-env",
        "17 threads: MainThread, EventBus",
        "periodic threads: healthy",
        "never sent: POST /cache/clear",
    ] {
        assert!(s.contains(needle), "missing {needle:?} in\n{s}");
    }
    assert_eq!(s.matches("changed").count(), 1, "{s}");
    insta::assert_snapshot!("server_120x40", s);
    // At 80×16 the overlay does not fit: it says so and scrolls to its last line.
    let small = render(&a, 80, 16);
    assert!(small.contains("↓↑ 1–"), "{small}");
    assert!(!small.contains("periodic threads: healthy"));
    for _ in 0..100 {
        a.on_key(key(KeyCode::Char('j')));
    }
    let small = render(&a, 80, 16);
    assert!(small.contains("GET /loglevel?level="), "{small}");
    assert_eq!(
        a.view.focus,
        Pane::Matrix,
        "j scrolls the overlay, not the matrix"
    );
    assert_eq!(a.view.matrix_row, 0);
    a.on_key(key(KeyCode::Esc));
    assert_ne!(a.view.overlay, Some(Overlay::Server));
    let s = render(&a, 200, 60);
    assert!(s.contains("EventBus thread running"), "{s}");
}

/// The Trace and Logs panes on the real capture's trace and log: in the large area of the
/// full layout once focused, and alone at 80×24; `f` and `/` act on the Logs pane there.
#[test]
fn trace_and_logs_panes_show_the_real_run() {
    let mut a = app_with_evidence(31);
    let before = render(&a, 120, 40);
    assert!(
        before.contains("Families") && before.contains("also (tab): Trace, Logs"),
        "{before}"
    );
    while a.view.focus != Pane::Trace {
        a.on_key(key(KeyCode::Tab));
    }
    let s = render(&a, 120, 40);
    assert!(s.contains("275 records · 179.8 s · whole"), "{s}");
    assert!(s.contains("submit_prefetch_task 82"), "{s}");
    assert!(s.contains("external_request_id="), "{s}");
    insta::assert_snapshot!("trace_120x40", s);
    a.on_key(key(KeyCode::Tab));
    assert_eq!(a.view.focus, Pane::Logs);
    let s = render(&a, 120, 40);
    assert!(s.contains("343 lines · prefetch 53"), "{s}");
    assert!(s.contains("(74 L1, 32 L2)"), "{s}");
    insta::assert_snapshot!("logs_120x40", s);
    // Warnings only: the two WARNING lines, no INFO ones.
    a.on_key(key(KeyCode::Char('f')));
    let s = render(&a, 120, 40);
    assert!(s.contains("f warnings"), "{s}");
    assert!(
        s.contains("LazyMemoryAllocator") && !s.contains("Stored 512 tokens"),
        "{s}"
    );
    a.on_key(key(KeyCode::Char('f')));
    a.on_key(key(KeyCode::Char('f')));
    // Search the log, not the matrix.
    a.on_key(key(KeyCode::Char('/')));
    for c in "req-3-".chars() {
        a.on_key(key(KeyCode::Char(c)));
    }
    a.on_key(key(KeyCode::Enter));
    assert_eq!(a.view.focus, Pane::Logs);
    assert!(a.view.search.is_none());
    let s = render(&a, 200, 60);
    assert!(
        s.contains("prefetch req-3-warm: 2/2 retained keys ("),
        "{s}"
    );
    assert!(!s.contains("req-0-warm"), "{s}");
    insta::assert_snapshot!("logs_search_200x60", s);
    // Narrower, a line that does not fit ends in a sign that it was cut.
    let s = render(&a, 80, 24);
    assert!(s.contains("…"), "{s}");
}

#[test]
fn without_evidence_the_panes_say_how_to_give_it() {
    let mut a = app(31);
    a.view.focus = Pane::Trace;
    let s = render(&a, 80, 24);
    assert!(s.contains("--lct FILE"), "{s}");
    a.view.focus = Pane::Logs;
    let s = render(&a, 80, 24);
    assert!(s.contains("--server-log FILE"), "{s}");
}

/// The Requests pane on the hand-made span export, beside the real trace and log (the export's
/// request ids were chosen to match the real log's, to show the join).
#[test]
fn requests_pane_lists_slowest_and_lowest_hit_and_joins_the_log() {
    let mut a = app_with_evidence(31);
    drop(a.on_event(Event::Evidence {
        target: TargetRef {
            role: Role::Lmcache,
            index: 0,
        },
        time: None,
        stream: crate::vocab::Stream::Otel,
        fresh: true,
        body: fixture("otel-handmade/spans.otlp.jsonl"),
        origin: "spans.otlp.jsonl".into(),
    }));
    let now = a.now;
    a.on_tick(now + 1.0);
    while a.view.focus != Pane::Requests {
        a.on_key(key(KeyCode::Tab));
    }
    let s = render(&a, 120, 40);
    assert!(s.contains("17 spans · 4 requests · hit 27.7%"), "{s}");
    // Slowest first: the request that timed out, its tree below.
    let first = s.lines().find(|l| l.contains(" ms  hit ")).unwrap();
    assert!(
        first.contains("req-2-warm") && first.contains("TIMEOUT"),
        "{s}"
    );
    assert!(s.contains("timeout 0.0 ms  error"), "{s}");
    insta::assert_snapshot!("requests_120x40", s);
    // Lowest hit first: the cold request; then the warm one with its log line.
    a.on_key(key(KeyCode::Char('f')));
    let s = render(&a, 120, 40);
    let first = s.lines().find(|l| l.contains(" ms  hit ")).unwrap();
    assert!(
        first.contains("req-1-cold") && first.contains("0.0%"),
        "{s}"
    );
    while !render(&a, 120, 40).contains("session req-0-warm") {
        a.on_key(key(KeyCode::Char('j')));
        assert!(a.view.request_row < 4);
    }
    let s = render(&a, 120, 40);
    assert!(s.contains("log: prefetch 2/2 keys (2 L1, 0 L2)"), "{s}");
    assert!(s.contains("trace:") || !s.contains("req-0-warm\""), "{s}");
}

mod capacity;
mod more;
pub(super) use more::cut_words;

/// The rules that wait or cannot judge are one line of the Findings pane; Enter on it lists
/// each with what it needs. The help scrolls with j and moves nothing behind it.
#[test]
fn waiting_rules_are_one_line_that_enter_opens_and_help_keeps_its_keys() {
    let mut a = app(31);
    while a.view.focus != Pane::Findings {
        a.on_key(key(KeyCode::Tab));
    }
    let s = render(&a, 120, 40);
    let line = s
        .lines()
        .find(|l| l.contains("not evaluable — Enter lists them"))
        .unwrap_or_else(|| panic!("{s}"));
    assert!(line.contains("pending ·"), "{line}");
    for _ in 0..10 {
        a.on_key(key(KeyCode::Char('j')));
    }
    a.on_key(key(KeyCode::Enter));
    let s = render(&a, 120, 40);
    assert!(s.contains("rules waiting or unable to judge"), "{s}");
    assert!(
        s.contains("lookup_counters_missing") || s.contains("needs "),
        "{s}"
    );
    a.on_key(key(KeyCode::Esc));
    a.view.focus = Pane::Matrix;
    let row = a.view.matrix_row;
    a.on_key(key(KeyCode::Char('?')));
    a.on_key(key(KeyCode::Char('j')));
    a.on_key(key(KeyCode::Char('j')));
    assert_eq!(a.view.matrix_row, row, "the help keeps j to itself");
    assert_eq!(a.view.overlay_scroll, 2);
    let s = render(&a, 80, 24);
    assert!(s.contains("↓↑ 3–"), "the help scrolled: {s}");
}
