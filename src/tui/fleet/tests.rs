use std::collections::{BTreeMap, HashMap};

use super::*;
use crate::fleet::Fleet;
use crate::fleet::tests::{series_of, stored};
use crate::sources::promapi::{Found, Read, ScrapeHealth, TargetKey, Types};
use crate::vocab::Event;

/// A fleet of three boxes as a real Prometheus would hold the demo's real recordings:
/// `gpu-a` the whole LMCache run and its vLLM engine, `gpu-b` the run's first ten scrapes
/// with the engine, and `gpu-c\x1b[2J` (a hostile name) the engine alone.
fn view() -> FleetView {
    let (fleet, newest) = fleet();
    let refresh = Refresh {
        queries: 6,
        seconds: 0.04,
        bytes: 250_000,
        ..Default::default()
    };
    let mut v = FleetView::new("http://prometheus:9090/".into(), Theme::dark(), 60.0);
    v.picture = FleetPicture::of(&Table::of_fleet(&fleet), refresh, newest);
    v.now = newest + 3.0;
    v
}

fn fleet() -> (Fleet, f64) {
    let (events, newest) = crate::demo::recorded(31);
    let scrapes = |role: Role| -> Vec<(f64, &[u8])> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::Scrape {
                    target, time, body, ..
                } if target.role == role => Some((time.unwrap(), body.as_slice())),
                _ => None,
            })
            .collect()
    };
    let lm = scrapes(Role::Lmcache);
    // The engine's scrape without its recorded sample stamps (another day's): served with
    // live timestamps, Prometheus would hold it at the scrape's time.
    let (_, engine_body) = crate::demo::recorded_bodies();
    let en = [(newest, engine_body.as_slice())];
    let mut held = BTreeMap::new();
    let mut types = Types::default();
    let mut found = Vec::new();
    let mut health = HashMap::new();
    let none: &[(f64, &[u8])] = &[];
    let boxes = [
        ("gpu-a", &lm[..]),
        ("gpu-b", &lm[..10]),
        ("gpu-c\x1b[2J", none),
    ];
    for (name, lm_part) in boxes {
        let mut add = |job: &str, port: u16, role: Role, part: &[(f64, &[u8])]| {
            let instance = format!("{name}:{port}");
            let labels = [("job", job), ("instance", instance.as_str()), ("box", name)];
            stored(part, &labels, &mut held, &mut types);
            let key = TargetKey {
                job: job.into(),
                instance: instance.clone(),
            };
            health.insert(
                key.clone(),
                ScrapeHealth {
                    health: crate::sources::promapi::PromHealth::Up,
                    interval: Some(15.0),
                    target_labels: vec!["job".into(), "instance".into(), "box".into()],
                    ..Default::default()
                },
            );
            found.push(Found {
                key,
                group: name.into(),
                role,
            });
        };
        if !lm_part.is_empty() {
            add("lmcache", 8080, Role::Lmcache, lm_part);
        }
        add("vllm", 8000, Role::Engine, &en);
    }
    let mut fleet = Fleet::new("box", 60.0);
    fleet.types = types;
    fleet.apply(Read {
        found,
        health: Some(health),
        series: series_of(held),
        time: newest,
    });
    (fleet, newest)
}

/// A packet's `fleet.json` reads back as the table it was written from (without the
/// per-row history, which the report does not keep).
#[test]
fn a_fleet_report_reads_back_as_its_table() {
    let (fleet, newest) = fleet();
    let refresh = Refresh {
        queries: 4,
        warnings: vec!["partial response".into()],
        ..Default::default()
    };
    let made = FleetPicture::of(&Table::of_fleet(&fleet), refresh.clone(), newest);
    let json = crate::fleet::report::json(&Table::of_fleet(&fleet), "http://p:9090/", &refresh);
    let read = FleetPicture::from_report(json.as_bytes()).unwrap();
    assert_eq!(read.rows.len(), 3);
    for (a, b) in made.rows.iter().zip(&read.rows) {
        assert_eq!((&a.name, &a.job, &a.targets), (&b.name, &b.job, &b.targets));
        assert_eq!(a.row.state, b.row.state);
        assert_eq!(a.row.findings, b.row.findings);
        assert_eq!(a.row.architecture, b.row.architecture);
        assert_eq!(a.row.hit_rate.value(), b.row.hit_rate.value());
        assert_eq!(a.row.engine_waiting.value(), b.row.engine_waiting.value());
    }
    assert_eq!(read.refresh.warnings, ["partial response"]);
    assert!((read.good_at.unwrap() - newest).abs() < 0.001);
    assert!(FleetPicture::from_report(br#"{"schema": "kvscope-report/1"}"#).is_err());
    // Hand-edited copies of the real report: a role that is neither, a number gone, a
    // schema not the fleet's. Each is named, none read as a guess.
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let broken = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut v = v.clone();
        edit(&mut v);
        FleetPicture::from_report(v.to_string().as_bytes()).unwrap_err()
    };
    let role = broken(&|v| v["instances"][0]["targets"][0]["role"] = "router".into());
    assert!(role.contains("unknown variant `router`"), "{role}");
    let gone = broken(&|v| {
        v["instances"][0]["row"]["findings"]
            .as_object_mut()
            .unwrap()
            .remove("warning");
    });
    assert!(gone.contains("missing field `warning`"), "{gone}");
    let schema = broken(&|v| v["schema"] = "kvscope-report/1".into());
    assert!(schema.contains("schema kvscope-report/1"), "{schema}");
}

fn render(v: &FleetView, w: u16, h: u16) -> String {
    crate::tui::tests::render_with(w, h, |f| draw(f, v))
}

fn press(v: &mut FleetView, c: KeyCode) -> Asked {
    v.on_key(KeyEvent::new(c, KeyModifiers::NONE))
}

fn names(v: &FleetView) -> Vec<String> {
    v.visible().iter().map(|r| r.name.clone()).collect()
}

#[test]
fn the_fleet_table_at_two_sizes() {
    let v = view();
    let wide = render(&v, 120, 40);
    assert!(
        !wide.contains('\x1b'),
        "a label's escape sequence reached the screen"
    );
    insta::assert_snapshot!("fleet_120x40", wide);
    insta::assert_snapshot!("fleet_80x24", render(&v, 80, 24));
}

#[test]
fn no_text_runs_into_an_edge_at_any_size() {
    let mut v = view();
    v.insecure = true;
    v.note = Some("exported gpu-a to ./kvscope-gpu-a-2026-11-30T20-00-00Z.kvpacket".into());
    let mut cuts = Vec::new();
    for (w, h) in [
        (80, 24),
        (100, 30),
        (120, 40),
        (160, 50),
        (200, 60),
        (300, 100),
    ] {
        for help in [false, true] {
            v.help = help;
            cuts.extend(crate::tui::tests::cut_words(w, h, |f| draw(f, &v)));
        }
    }
    assert!(cuts.is_empty(), "{}", cuts.join("\n"));
}

#[test]
fn a_click_selects_the_instance_under_it_and_the_wheel_moves_on() {
    use ratatui::crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    let mut v = view();
    let screen = Rect::new(0, 0, 120, 40);
    let shown = names(&v);
    let drawn = render(&v, 120, 40);
    // The screen row that shows the second instance.
    let y = drawn
        .lines()
        .position(|l| l.starts_with(&shown[1][..shown[1].len().min(8)]))
        .expect("the second instance is on screen") as u16;
    let mouse = |kind, row| MouseEvent {
        kind,
        column: 3,
        row,
        modifiers: KeyModifiers::NONE,
    };
    v.on_mouse(mouse(MouseEventKind::Down(MouseButton::Left), y), screen);
    assert_eq!(v.selected.as_deref(), Some(shown[1].as_str()));
    v.on_mouse(mouse(MouseEventKind::ScrollDown, 0), screen);
    assert_eq!(v.selected.as_deref(), Some(shown[2].as_str()));
    // Below the last row: nothing changes.
    v.on_mouse(mouse(MouseEventKind::Down(MouseButton::Left), 38), screen);
    assert_eq!(v.selected.as_deref(), Some(shown[2].as_str()));
    // The header is not a row.
    v.on_mouse(mouse(MouseEventKind::Down(MouseButton::Left), 1), screen);
    assert_eq!(v.selected.as_deref(), Some(shown[2].as_str()));
}

#[test]
fn a_long_instance_name_ends_in_an_ellipsis_in_its_cell() {
    let mut v = view();
    let long = "gpu-node-017.us-east-2.inference.cluster.example.com:8080";
    v.picture.rows[0].name = long.into();
    for w in [80, 100] {
        let s = render(&v, w, 24);
        let line = s
            .lines()
            .find(|l| l.starts_with("gpu-node-017"))
            .unwrap_or_else(|| panic!("the row is drawn at {w}:\n{s}"));
        let cell = line.split(' ').next().unwrap();
        assert!(cell.ends_with('…'), "{w}: {line}");
        assert!(
            line.contains("up") || line.contains("stale"),
            "the state still shows: {line}"
        );
    }
}

#[test]
fn insecure_is_said_in_the_title_for_as_long_as_the_view_runs() {
    let mut v = view();
    assert!(!render(&v, 80, 24).contains("TLS NOT CHECKED"));
    v.insecure = true;
    for w in [80, 120] {
        let s = render(&v, w, 24);
        let title = s.lines().next().unwrap_or("");
        assert!(
            title.starts_with("TLS NOT CHECKED (--insecure) · kvscope fleet"),
            "{s}"
        );
    }
}

#[test]
fn rows_sort_filter_and_open() {
    let mut v = view();
    // By findings first (most severe first), then name.
    let first = names(&v);
    assert_eq!(first.len(), 3);
    assert_eq!(press(&mut v, KeyCode::Char('s')), Asked::Nothing);
    assert_eq!(v.sort, SortKey::Name);
    assert_eq!(names(&v), ["gpu-a", "gpu-b", "gpu-c\x1b[2J"]);
    while v.sort != SortKey::HitRate {
        press(&mut v, KeyCode::Char('s'));
    }
    // Lowest hit rate first; the engine-only box has none and goes last.
    let rows = v.visible();
    let rates: Vec<Option<f64>> = rows.iter().map(|r| r.row.hit_rate.value()).collect();
    assert!(rates[0].is_some() && rates[2].is_none(), "{rates:?}");
    assert!(rates[0] <= rates[1] || rates[1].is_none(), "{rates:?}");
    // Filter, then open the one row left.
    press(&mut v, KeyCode::Char('/'));
    for c in "GPU-B".chars() {
        press(&mut v, KeyCode::Char(c));
    }
    press(&mut v, KeyCode::Enter);
    assert_eq!(names(&v), ["gpu-b"]);
    assert_eq!(press(&mut v, KeyCode::Enter), Asked::Open("gpu-b".into()));
    assert_eq!(
        press(&mut v, KeyCode::Char('e')),
        Asked::Export("gpu-b".into())
    );
    press(&mut v, KeyCode::Esc);
    assert_eq!(names(&v).len(), 3);
    // The selection follows the instance, not the position.
    press(&mut v, KeyCode::Char('G'));
    let last = names(&v).pop().unwrap();
    press(&mut v, KeyCode::Char('s'));
    assert_eq!(v.selected.as_deref(), Some(last.as_str()));
    assert_eq!(press(&mut v, KeyCode::Char('q')), Asked::Quit);
}

#[test]
fn a_failed_refresh_keeps_the_last_table_marked_stale() {
    let mut v = view();
    let rows = v.picture.rows.len();
    let good_at = v.picture.good_at.unwrap();
    v.picture.failed = Some((good_at + 30.0, "unreachable: connection refused".into()));
    v.now = good_at + 31.0;
    let s = render(&v, 120, 40);
    assert!(
        s.contains("STALE: the last refresh failed (unreachable: connection refused); this table is from 31s ago"),
        "{s}"
    );
    assert_eq!(v.picture.rows.len(), rows);
    assert!(s.contains("gpu-a"));
    // Before any good read, the failure is all there is to say.
    let mut first = FleetView::new("p".into(), Theme::dark(), 60.0);
    first.picture.failed = Some((1.0, "answered HTTP 401 (unauthorised)".into()));
    let s = render(&first, 120, 40);
    assert!(
        s.contains("cannot read the fleet: answered HTTP 401"),
        "{s}"
    );
    assert!(s.contains("no LMCache server or engine found yet"), "{s}");
}

#[test]
fn a_sparkline_leaves_unknown_intervals_blank() {
    assert_eq!(
        super::draw::spark_text(&[Some(0.0), None, Some(1.0)], 5),
        "  ▁ █"
    );
    assert_eq!(super::draw::spark_text(&[Some(0.5); 10], 3), "▅▅▅");
}
