//! `kvscope demo`: the replay servers over real HTTP, the restart at the end of the timeline,
//! and the engine snapshot that must not be mistaken for motion.

mod common;

use std::process::Command;

use kvscope::model::Model;
use kvscope::serve::{Position, Server};
use kvscope::vocab::{Event, Role, TargetRef};

#[test]
fn the_timeline_restarts_as_a_restarted_server_would() {
    let bundled = kvscope::demo::packet();
    let d = Server::new(
        bundled.timeline(),
        bundled.manifest.targets.clone(),
        1.0,
        false,
    )
    .unwrap();
    let (events, _) = kvscope::demo::recorded(31);
    let t0 = events[0].time().unwrap();
    let offset = |i: usize| events[i].time().unwrap() - t0;
    let mut m = Model::new(&["demo".into()], &[], 64);
    let target = TargetRef {
        role: Role::Lmcache,
        index: 0,
    };
    let mut t = 0.0;
    for (cycle, index) in [
        (0, 28),
        (0, 29),
        (0, 30),
        (0, 31),
        (1, 0),
        (1, 1),
        (1, 2),
        (1, 3),
    ] {
        t += 5.0;
        let at = Position {
            cycle,
            offset: offset(index),
        };
        let answer = d.answer_at(0, "/metrics", at, t);
        assert_eq!(answer.status, 200);
        m.apply(Event::Scrape {
            target,
            time: Some(t),
            body: answer.body.to_vec(),
            format: None,
            origin: "demo".into(),
        })
        .unwrap();
    }
    assert_eq!(m.lmcache[0].restarts().len(), 1);
    let r = kvscope::report::build(&m, 60.0);
    for path in [
        "lmcache.lookup.requested_tokens.window",
        "lmcache.lookup.hit_tokens.window",
        "lmcache.l1.evicted.window",
    ] {
        let v = common::at(&r, path);
        assert!(v.as_f64().is_some_and(|x| x >= 0.0), "{path} = {v}");
    }
    // Since start is the restarted process's count (t3 of the recording), not the old one.
    let t3 =
        std::fs::read_to_string(common::fixture("lmcache-0.5.6-cpu-run1/metrics_t3.prom")).unwrap();
    let want: f64 = t3
        .lines()
        .find_map(|l| l.strip_prefix("lmcache_mp_lookup_requested_tokens_total{cache_salt=\"\",model_name=\"test-model\"} "))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        common::f(&r, "lmcache.lookup.requested_tokens.since_start"),
        want
    );
}

#[test]
fn serve_only_announces_both_urls_and_serves_real_routes_read_only() {
    let demo = common::DemoServers::start();
    let first = &demo.first_line;
    let urls = first
        .split_whitespace()
        .filter(|w| w.starts_with("http://"));
    assert_eq!(urls.count(), 2, "{first}");
    let (lm, en) = (demo.lmcache.clone(), demo.engine.clone());
    let port = |u: &str| u.rsplit(':').next().unwrap().parse::<u16>().unwrap();
    assert_eq!(port(&en), port(&lm) + 1);

    let (status, health) = common::get(&lm, "/healthcheck");
    let health = String::from_utf8_lossy(&health);
    assert!(status == 200 && health.contains("healthy"), "{health}");
    assert_eq!(common::get(&lm, "/api/status").0, 404);
    assert_eq!(
        common::request(&lm, "POST /cache/clear HTTP/1.1\r\n\r\n").0,
        405
    );

    // The report over real HTTP: the engine snapshot repeats one observation.
    let out = Command::new(env!("CARGO_BIN_EXE_kvscope"))
        .args([
            "report",
            "--lmcache",
            &lm,
            "--engine",
            &en,
            "--samples",
            "2",
            "--interval",
            "100ms",
        ])
        .output()
        .unwrap();
    drop(demo);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["mode"]["architecture"], "vllm_mp_lmcache");
    assert!(r["engine"]["prefix_cache"]["hit_rate"]["window"].is_null());
    assert!(
        r["unknowns"]["engine.prefix_cache.hit_rate.window"]
            .as_str()
            .unwrap()
            .contains("one observation"),
        "{}",
        r["unknowns"]
    );
    assert_eq!(r["inputs"][1]["first_time"], "2026-05-07T23:00:57.000Z");
}
