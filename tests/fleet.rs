//! The fleet view against a real Prometheus server (Debian's `prometheus`): it scrapes two
//! `kvscope serve --live-timestamps` copies of the bundled real recording (an LMCache server
//! and its vLLM engine each, grouped by a `box` label), and kvscope reads the fleet back
//! through the HTTP API.
//!
//! Without a `prometheus` binary on PATH (or in `KVSCOPE_PROMETHEUS`) these tests say loudly
//! that they were skipped; with `KVSCOPE_REQUIRE_PROMETHEUS=1` (set by `.ci/run`) its absence
//! fails them.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;

use common::Served;
use common::prometheus::{Prometheus, encode, need_prometheus};
use kvscope::cli::fleet::{FleetArgs, Reader};
use kvscope::cli::report::OutputFormat;
use kvscope::fleet::Fleet;
use kvscope::model::Model;
use kvscope::vocab::{Event, Role};
use serde_json::Value;

/// Two boxes (a: the recording at 4×, b: at 2×), each an LMCache server and an engine, under a
/// real Prometheus that has scraped every target at least `scrapes` times.
struct Setup {
    _a: Served,
    _b: Served,
    prom: Prometheus,
}

fn setup(bin: &PathBuf, scrapes: u32) -> Setup {
    let packet = common::fixture("demo.kvpacket");
    let packet = packet.to_str().unwrap();
    let a = Served::start(&["serve", packet, "--live-timestamps", "--speed", "4"]);
    let b = Served::start(&["serve", packet, "--live-timestamps", "--speed", "2"]);
    let addr = |u: String| u.trim_start_matches("http://").to_string();
    let targets = [
        ("lmcache", addr(a.url(0)), "a"),
        ("vllm", addr(a.url(1)), "a"),
        ("lmcache", addr(b.url(0)), "b"),
        ("vllm", addr(b.url(1)), "b"),
    ];
    let prom = Prometheus::start(bin, &targets);
    prom.wait_for("done with the first scrapes", |p| {
        let v = p.query("count_over_time(up[5m]) and up == 1");
        let rows = v["data"]["result"].as_array().cloned().unwrap_or_default();
        rows.len() == 4
            && rows.iter().all(|r| {
                r["value"][1]
                    .as_str()
                    .and_then(|n| n.parse::<u32>().ok())
                    .is_some_and(|n| n >= scrapes)
            })
    });
    Setup { _a: a, _b: b, prom }
}

fn args(url: &str, group_by: &str) -> FleetArgs {
    FleetArgs {
        url: url.into(),
        matchers: String::new(),
        group_by: Some(group_by.into()),
        instance: None,
        window: 60.0,
        timeout: 5.0,
        samples: 1,
        interval: 1.0,
        auth: Default::default(),
        max_answer: 64 << 20,
        thresholds: Default::default(),
        series_limit: kvscope::store::DEFAULT_SERIES_LIMIT,
        format: OutputFormat::Json,
        fail_on: None,
        fail_unless: Vec::new(),
    }
}

/// A sample: its name, sorted labels and value (as bits).
type Sample = (String, Vec<(String, String)>, u64);

/// A body's samples, for comparing scrapes whatever the order of their lines. A label with
/// an empty value is no label in Prometheus's data model (`cache_salt=""` comes back without
/// it), so it is left out here too.
fn samples(body: &[u8]) -> BTreeSet<Sample> {
    let scrape = kvscope::expo::parse(body).unwrap();
    scrape
        .data_samples()
        .map(|s| {
            let mut labels: Vec<(String, String)> = scrape
                .labels(s)
                .iter()
                .map(|l| (l.name.to_string(), l.value().into_owned()))
                .filter(|(_, v)| !v.is_empty())
                .collect();
            labels.sort();
            (s.name.to_string(), labels, s.value.to_bits())
        })
        .collect()
}

/// `kvscope report --prometheus ARGS…`, which must exit 0: its JSON.
fn report(args: &[&str]) -> Value {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kvscope"))
        .args(["report", "--prometheus"])
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Where two JSON values differ: (path, one, other).
fn differences(path: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))) {
                differences(
                    &format!("{path}.{k}"),
                    &x[k],
                    y.get(k).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                differences(&format!("{path}[{i}]"), p, q, out);
            }
        }
        _ if a != b => out.push(format!("{path}: {a} vs {b}")),
        _ => {}
    }
}

/// Discovery, grouping, and the numbers: every scrape kvscope rebuilt from Prometheus's raw
/// samples is one of the recorded scrapes, and each instance's figures, findings and rule
/// verdicts equal the single-box analysis of those recorded scrapes, fed in at the times
/// Prometheus took them.
#[test]
fn a_real_prometheus_fleet_reads_with_the_numbers_of_the_recordings() {
    let Some(bin) =
        need_prometheus("a_real_prometheus_fleet_reads_with_the_numbers_of_the_recordings")
    else {
        return;
    };
    let s = setup(&bin, 4);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let a = args(&s.prom.url, "box");
    let mut reader = Reader::new(&a).unwrap();
    let mut fleet = Fleet::new("box", a.window);
    let (refresh, events) = rt.block_on(reader.refresh(&mut fleet)).unwrap();
    assert!(refresh.queries <= 12, "{} queries", refresh.queries);

    // Discovery and grouping: two boxes, each a server and its engine.
    let names: Vec<&str> = fleet.instances().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
    for i in fleet.instances() {
        let roles: BTreeSet<(Role, &str)> = i
            .members
            .iter()
            .map(|m| (m.target.role, m.key.job.as_str()))
            .collect();
        assert_eq!(
            roles,
            BTreeSet::from([(Role::Lmcache, "lmcache"), (Role::Engine, "vllm")])
        );
    }

    let (lm_bodies, engine_body) = kvscope::demo::recorded_bodies();
    let recorded: Vec<(Role, &Vec<u8>, BTreeSet<_>)> = lm_bodies
        .iter()
        .map(|b| (Role::Lmcache, b, samples(b)))
        .chain(std::iter::once((
            Role::Engine,
            &engine_body,
            samples(&engine_body),
        )))
        .collect();
    for inst in fleet.instances() {
        let mut direct = Model::new(&[], &[], 2);
        let mut scrapes = 0;
        for m in &inst.members {
            let held = inst.model.target(m.target).scrapes().len();
            direct.add_target(
                m.target.role,
                inst.model.target(m.target).name.clone(),
                held.max(2),
                kvscope::vocab::InputKind::Files,
            );
        }
        for (_, e) in events.iter().filter(|(g, _)| *g == inst.name) {
            let Event::Scrape {
                target, time, body, ..
            } = e
            else {
                continue;
            };
            let got = samples(body);
            let (_, original, _) = recorded
                .iter()
                .find(|(r, _, set)| *r == target.role && *set == got)
                .unwrap_or_else(|| {
                    let nearest = recorded
                        .iter()
                        .filter(|(r, _, _)| *r == target.role)
                        .map(|(_, _, set)| set)
                        .min_by_key(|set| set.symmetric_difference(&got).count())
                        .unwrap();
                    let only_got: Vec<_> = got.difference(nearest).take(5).collect();
                    let only_rec: Vec<_> = nearest.difference(&got).take(5).collect();
                    panic!(
                        "box {}: a scrape at {time:?} rebuilt from Prometheus is none of the recorded ones; \
                         nearest differs by {only_got:?} (rebuilt) and {only_rec:?} (recorded)",
                        inst.name
                    )
                });
            scrapes += 1;
            direct
                .apply(Event::Scrape {
                    target: *target,
                    time: *time,
                    body: (*original).clone(),
                    format: None,
                    origin: "recorded".into(),
                })
                .unwrap();
        }
        assert!(
            scrapes >= 8,
            "box {}: {scrapes} scrapes read back",
            inst.name
        );
        direct.now = inst.model.now;
        direct.interval = inst.model.interval;
        let clean = |mut v: Value| {
            // Prometheus keeps no line order, so "the first series seen" may be another one.
            for e in v["mode"]["evidence"].as_array_mut().unwrap() {
                let d = e["detail"]
                    .as_str()
                    .unwrap()
                    .split(" (e.g.")
                    .next()
                    .unwrap();
                e["detail"] = d.to_string().into();
            }
            v
        };
        let from_fleet = clean(kvscope::report::build(&inst.model, a.window));
        let from_recording = clean(kvscope::report::build(&direct, a.window));
        for part in [
            "mode",
            "lmcache",
            "engine",
            "lmcache_embedded",
            "findings",
            "rules",
        ] {
            let mut diffs = Vec::new();
            differences(part, &from_fleet[part], &from_recording[part], &mut diffs);
            assert!(
                diffs.is_empty(),
                "box {}: {part} differs from the recording's own analysis at {diffs:#?}",
                inst.name
            );
        }
        assert_eq!(from_fleet["mode"]["architecture"], "vllm_mp_lmcache");
    }

    // The drill-down: the instance opened from the table reads the same server for its own
    // targets only, into a single-box model that judges like the fleet's.
    let picture = kvscope::tui::fleet::FleetPicture::of(
        &kvscope::fleet::table::Table::of_fleet(&fleet),
        refresh,
        0.0,
    );
    let row = picture.rows.iter().find(|r| r.name == "b").unwrap();
    let opened = rt
        .block_on(kvscope::cli::fleet::open_instance(&a, row, 1.0))
        .unwrap();
    assert!(opened.note.contains("fleet instance b"), "{}", opened.note);
    let names: Vec<&str> = opened
        .model
        .targets()
        .map(|(_, t)| t.name.as_str())
        .collect();
    let expected: Vec<String> = row
        .targets
        .iter()
        .map(|(_, j, i)| format!("{j}/{i}"))
        .collect();
    assert_eq!(names, expected);
    let mut dashboard = opened.model;
    let one = opened.fleet.instance("b").unwrap();
    dashboard.now = one.model.now;
    dashboard.interval = one.model.interval;
    let from_dashboard = kvscope::report::build(&dashboard, a.window);
    let from_one = kvscope::report::build(&one.model, a.window);
    assert!(dashboard.lmcache[0].scrapes().len() >= 4);
    // Only the instance's own targets were read.
    let read: Vec<&str> = opened.fleet.instances().map(|i| i.name.as_str()).collect();
    assert_eq!(read, ["b"]);
    for part in ["mode", "lmcache", "engine", "findings", "rules"] {
        assert_eq!(
            from_dashboard[part], from_one[part],
            "the dashboard's {part}"
        );
    }
    assert_eq!(from_dashboard["mode"]["architecture"], "vllm_mp_lmcache");

    // The headless report: its schema, the same instances, and --fail-on.
    let r = report(&[&s.prom.url, "--group-by", "box"]);
    assert_eq!(r["schema"], "kvscope-fleet-report/1");
    assert_eq!(r["summary"]["instances"], 2);
    let inst = r["instances"].as_array().unwrap();
    assert_eq!(inst[0]["instance"], "a");
    assert_eq!(r["figures_from"], "expressions", "no rules loaded here");
    assert!(r["refresh"]["queries"].as_u64().unwrap() <= 25);
    let any_info = inst.iter().any(|i| {
        i["rules"]
            .as_array()
            .is_some_and(|f| f.iter().any(|r| r["state"] == "firing"))
    });
    // Without kvscope's rules loaded the table sends the expressions itself; its figures are
    // the drill-down's at the same time (those the young window leaves absent aside).
    let one = report(&[&s.prom.url, "--group-by", "box", "--instance", "b"]);
    assert_eq!(one["schema"], "kvscope-report/1");
    let figures = one["fleet_row"]["figures"].as_object().unwrap();
    let mut compared = 0;
    for (path, from_table) in figures {
        let raw = path.split('.').fold(&one, |v, k| &v[k]);
        if let Some(x) = from_table.as_f64() {
            let y = raw.as_f64().unwrap_or(f64::NAN);
            assert!(
                (x - y).abs() <= 1e-9 * x.abs().max(y.abs()),
                "{path}: {x} vs {y}"
            );
            compared += 1;
        } else if path.ends_with("since_start") || path.ends_with("usage_ratio") {
            assert!(
                raw.is_null(),
                "{path}: the table has none, the drill-down {raw}"
            );
        }
    }
    assert!(compared >= 2, "{compared} figures compared");
    let gated = std::process::Command::new(env!("CARGO_BIN_EXE_kvscope"))
        .args(["report", "--prometheus", &s.prom.url, "--fail-on", "info"])
        .output()
        .unwrap();
    assert_eq!(gated.status.code(), Some(if any_info { 1 } else { 0 }));
}

/// `/federate` read as a multi-instance scrape: the same targets, grouped the same way.
#[test]
fn a_federate_endpoint_reads_as_the_same_fleet() {
    let Some(bin) = need_prometheus("a_federate_endpoint_reads_as_the_same_fleet") else {
        return;
    };
    let s = setup(&bin, 2);
    let url = format!(
        "{}/federate?match[]={}",
        s.prom.url,
        encode("{__name__=~\"lmcache_mp_.+|vllm:.+|process_start_time_seconds\"}")
    );
    let r = report(&[
        &url,
        "--group-by",
        "box",
        "--samples",
        "3",
        "--interval",
        "1100ms",
    ]);
    let inst = r["instances"].as_array().unwrap();
    let names: Vec<&str> = inst
        .iter()
        .map(|i| i["instance"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(r["figures_from"], "raw");
    for i in inst {
        assert_eq!(i["row"]["architecture"], "vllm_mp_lmcache");
        assert_eq!(i["targets"].as_array().unwrap().len(), 2);
        // Three polls a second apart: the server's history holds more than one scrape, so
        // the window has figures.
        assert!(
            i["figures"]["lmcache.eventbus.dropped_per_s"].is_number(),
            "{}",
            i["figures"]
        );
    }
}
