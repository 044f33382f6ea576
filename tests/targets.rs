//! Several targets: numbers combined correctly (ratios never added), what belongs to one target
//! shown per target and said to be so, every target's state visible however many there are,
//! and the log agreeing with the screen whatever happens to a target.

mod common;

use kvscope::model::{Model, TargetState};
use kvscope::tui::{App, screenshot, theme::Theme};
use kvscope::vocab::{Event, Flavor, Role, Route, TargetRef};

fn lm(index: usize) -> TargetRef {
    TargetRef {
        role: Role::Lmcache,
        index,
    }
}

fn http(file: &str) -> Vec<u8> {
    std::fs::read(common::fixture(&format!(
        "lmcache-0.5.6-cpu-run1/http/{file}"
    )))
    .unwrap()
}

/// Two real LMCache 0.5.6 servers (the same capture twice: t30 then t31), each with its real
/// routes; the second's watermark is hand-edited to 0.9 so the two differ.
fn two_servers() -> App {
    let names = vec![
        "http://gpu1:8080/metrics".to_string(),
        "http://gpu2:8080/metrics".to_string(),
    ];
    let mut app = App::new(Model::new(&names, &[], 16), 1.0, 60.0, Theme::mono(), None);
    let timeline = common::run1_timeline(31);
    for index in 0..2 {
        for (path, time) in &timeline[30..] {
            app.on_event(Event::Scrape {
                target: lm(index),
                time: *time,
                body: std::fs::read(path).unwrap(),
                format: None,
                origin: "t".into(),
            });
        }
        let status = String::from_utf8(http("status.json")).unwrap();
        let status = if index == 1 {
            status.replace("\"trigger_watermark\":0.8", "\"trigger_watermark\":0.9")
        } else {
            status
        };
        for (route, body) in [
            (Route::Status, status.into_bytes()),
            (Route::Version, http("version.json")),
            (Route::Healthcheck, http("healthcheck.json")),
        ] {
            app.on_event(Event::Route {
                target: lm(index),
                route,
                flavor: Flavor::Current,
                time: timeline[31].1.unwrap(),
                result: Ok((200, body)),
            });
        }
    }
    app.on_tick(timeline[31].1.unwrap() + 1.0);
    app
}

#[test]
fn l1_over_two_servers_sums_sizes_never_ratios() {
    let app = two_servers();
    let lm = &app.shown.analysis.lmcache;
    let gib = (1u64 << 30) as f64;
    // Each server: 736 MiB of 1 GiB (0.71875). Together: twice the bytes, the same share.
    assert_eq!(lm.l1.memory.total_bytes.value(), Some(2.0 * gib));
    assert_eq!(lm.l1.memory.used_bytes.value(), Some(2.0 * 771_751_936.0));
    assert_eq!(lm.l1.memory.usage_ratio.value(), Some(0.71875));
    assert!(
        app.shown
            .analysis
            .findings
            .iter()
            .all(|f| f.code != "l1_at_watermark"),
        "71.9% is below the watermark"
    );
    assert_eq!(lm.summed_over.len(), 2);
    assert_eq!(lm.by_target.len(), 2);
    for t in &lm.by_target {
        assert_eq!(t.l1.usage_ratio.value(), Some(0.71875));
        assert_eq!(t.l1.total_bytes.value(), Some(gib));
    }
    let marks: Vec<Option<f64>> = lm
        .by_target
        .iter()
        .map(|t| t.http.eviction_watermark.value())
        .collect();
    assert_eq!(marks, [Some(0.8), Some(0.9)]);
    assert_eq!(lm.http.target.as_deref(), Some("http://gpu1:8080/metrics"));
    // The hit rate summed over both equals each one's: the same traffic twice.
    assert_eq!(
        lm.lookup.hit_rate.since_start.value(),
        lm.by_target[0].hit_rate.since_start.value()
    );
}

#[test]
fn the_screen_says_what_is_summed_and_what_belongs_to_one_target() {
    let app = two_servers();
    let screen = screenshot::text(&screenshot::render(&app, 160, 48));
    for needle in [
        "(2 targets, summed)",
        "gpu1:8080: L1 736.0 MiB of 1.00 GiB (71.9%) · evicts from 80%",
        "gpu2:8080: L1 736.0 MiB of 1.00 GiB (71.9%) · evicts from 90%",
        "LMCache 0.5.6-g3e11e108 healthy",
    ] {
        assert!(screen.contains(needle), "{needle}\n{screen}");
    }
    // One sparkline row per target, named.
    assert!(screen.lines().any(|l| l.contains("│gpu1:8080")), "{screen}");
    assert!(screen.lines().any(|l| l.contains("│gpu2:8080")), "{screen}");
}

#[test]
fn the_report_names_the_targets_it_sums_and_lists_each() {
    let t31 = common::fixture("lmcache-0.5.6-cpu-run1/metrics_t31.prom");
    let mut m = Model::new(&["a".into(), "b".into()], &[], 4);
    for index in 0..2 {
        m.apply(Event::Scrape {
            target: lm(index),
            time: None,
            body: std::fs::read(&t31).unwrap(),
            format: None,
            origin: "t".into(),
        })
        .unwrap();
    }
    let r = kvscope::report::build(&m, 60.0);
    assert_eq!(r["lmcache"]["summed_over"], serde_json::json!(["a", "b"]));
    assert_eq!(r["lmcache"]["l1"]["usage_ratio"], 0.71875);
    assert_eq!(r["lmcache"]["l1"]["total_bytes"], 2.0 * (1u64 << 30) as f64);
    assert_eq!(r["lmcache"]["by_target"][1]["target"], "b");
    assert_eq!(r["lmcache"]["by_target"][1]["l1"]["usage_ratio"], 0.71875);
}

/// Ten targets, three of them down: the header packs them, counts what does not fit and how
/// many of those are down; `t` lists every one with its error.
#[test]
fn every_target_is_visible_however_many() {
    let names: Vec<String> = (0..10)
        .map(|i| format!("http://node{i}.example:8080/metrics"))
        .collect();
    let mut app = App::new(Model::new(&names, &[], 8), 1.0, 60.0, Theme::mono(), None);
    let body = std::fs::read(common::fixture("lmcache-0.5.6-cpu-run1/metrics_t31.prom")).unwrap();
    for index in 0..10 {
        let ev = if index >= 7 {
            Event::ScrapeFailed {
                target: lm(index),
                time: 100.0,
                error: format!("unreachable: node{index} refused"),
            }
        } else {
            Event::Scrape {
                target: lm(index),
                time: Some(100.0),
                body: body.clone(),
                format: None,
                origin: "t".into(),
            }
        };
        app.on_event(ev);
    }
    app.on_tick(100.5);
    let narrow = screenshot::text(&screenshot::render(&app, 100, 40));
    // Below the verdict line and the title.
    let header: String = narrow.lines().take(4).collect::<Vec<_>>().join("\n");
    assert!(header.contains("● node0.example:8080"), "{header}");
    assert!(header.contains("down (t lists all)"), "{header}");
    let more: usize = header
        .split("+")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("a '+N more' count");
    let shown = header.matches(".example:8080").count();
    assert_eq!(shown + more, 10, "{header}");
    let wide = screenshot::text(&screenshot::render(&app, 300, 40));
    assert_eq!(
        wide.lines()
            .take(3)
            .collect::<String>()
            .matches("✖")
            .count(),
        3
    );
    // The list.
    app.on_key(ratatui::crossterm::event::KeyEvent::new(
        ratatui::crossterm::event::KeyCode::Char('t'),
        ratatui::crossterm::event::KeyModifiers::NONE,
    ));
    let list = screenshot::text(&screenshot::render(&app, 160, 40));
    for i in 0..10 {
        assert!(
            list.contains(&format!("node{i}.example:8080/metrics")),
            "{list}"
        );
    }
    assert!(list.contains("node9 refused"), "{list}");
}

/// Whatever happens to a target, in whatever order, each log line says what the screen shows:
/// a target is logged down exactly when it turns down (or fails anew), up again exactly when it
/// comes back from down.
#[test]
fn the_log_follows_the_state_the_screen_shows() {
    let good = std::fs::read(common::fixture("lmcache-0.5.6-cpu-run1/metrics_t31.prom")).unwrap();
    let bodies: [&[u8]; 4] = [
        &good,
        b"<!doctype html><html>sign in</html>",
        b"garbage\nnot metrics\n",
        b"{\"detail\": \"unauthorized\"}",
    ];
    let mut seed = 0x5eed_u64;
    let mut next = |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    for run in 0..100 {
        let mut m = Model::new(&["x".into()], &[], 8);
        let mut last_line: Option<String> = None;
        for step in 0..20 {
            let time = 1000.0 + step as f64;
            let ev = match next(6) {
                k @ 0..=3 => Event::Scrape {
                    target: lm(0),
                    time: Some(time),
                    body: bodies[k as usize].to_vec(),
                    format: None,
                    origin: "x".into(),
                },
                4 => Event::ScrapeFailed {
                    target: lm(0),
                    time,
                    error: "unreachable: refused".into(),
                },
                _ => Event::Latency {
                    target: lm(0),
                    time,
                    seconds: 0.01,
                },
            };
            let before = m.health(lm(0)).state(time, 1.0);
            let line = m.apply_logged(ev).1;
            let after = m.health(lm(0)).state(time, 1.0);
            if let Some(l) = &line {
                if l.ends_with("up again") {
                    assert_eq!(
                        (before, after),
                        (TargetState::Down, TargetState::Up),
                        "run {run}: {l}"
                    );
                } else {
                    assert!(l.contains(": down: "), "run {run}: {l}");
                    assert_eq!(after, TargetState::Down, "run {run}: {l}");
                }
                last_line = line.clone();
            } else {
                // Going down or coming back is always logged (stale and waiting are not).
                assert_eq!(
                    before == TargetState::Down,
                    after == TargetState::Down,
                    "run {run} step {step}: {before:?} → {after:?} unlogged"
                );
            }
            // The newest line about the target agrees with its state now.
            if let Some(l) = &last_line {
                assert_eq!(
                    l.contains(": down: "),
                    after == TargetState::Down,
                    "run {run}: {l}"
                );
            }
        }
    }
}
