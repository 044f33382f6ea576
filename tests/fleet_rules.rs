//! The fleet table computed by a real Prometheus (Debian's `prometheus`) that has loaded
//! `kvscope rules`: it scrapes `kvscope serve --live-timestamps` copies of two real captures —
//! the demo's LMCache 0.5.6 run with its vLLM engine, and a run whose EventBus drops events —
//! and then:
//! - the table's figures come from the recorded series and equal the raw-sample drill-down's
//!   for the same row and time (exact since start, within 1e-9 over the window);
//! - `/api/v1/alerts` fires what kvscope's own report of that row fires, among the rules
//!   Prometheus can judge;
//! - a killed `serve` is a down row within two scrape intervals and fails `--fail-on critical`.
//!
//! Skipped loudly without a `prometheus` binary; `KVSCOPE_REQUIRE_PROMETHEUS=1` makes that fail.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::Served;
use common::prometheus::{Prometheus, get, need_prometheus};
use serde_json::Value;

/// The window the rules and the reports use: short, so the test waits for whole windows.
const WINDOW: &str = "20s";

fn kvscope(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_kvscope"))
        .args(args)
        .output()
        .unwrap()
}

/// `kvscope report --prometheus URL --window 20s --group-by box ARGS…` as JSON, and its exit.
fn report(url: &str, args: &[&str]) -> (Value, i32) {
    let mut all = vec![
        "report",
        "--prometheus",
        url,
        "--window",
        WINDOW,
        "--group-by",
        "box",
        "--format",
        "json",
    ];
    all.extend_from_slice(args);
    let out = kvscope(&all);
    let code = out.status.code().unwrap_or(-1);
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "kvscope {all:?} ({code}): {e}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (v, code)
}

/// Prometheus's firing alerts on one target, by name.
fn firing_in_prometheus(prom: &Prometheus, instance: &str) -> BTreeSet<String> {
    let v: Value = serde_json::from_slice(&get(&prom.url, "/api/v1/alerts").1).unwrap();
    v["data"]["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["state"] == "firing" && a["labels"]["instance"] == instance)
        .map(|a| a["labels"]["alertname"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_real_prometheus_with_kvscope_rules_computes_and_alerts_as_kvscope() {
    let Some(bin) =
        need_prometheus("a_real_prometheus_with_kvscope_rules_computes_and_alerts_as_kvscope")
    else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("kvscope-fleet-rules-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("c.toml"), format!("window = \"{WINDOW}\"\n")).unwrap();
    let rules = kvscope(&["rules", "--config", dir.join("c.toml").to_str().unwrap()]);
    assert!(rules.status.success());
    let rules = String::from_utf8(rules.stdout).unwrap();
    let alertable: BTreeSet<String> = rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- alert: "))
        .map(str::to_string)
        .collect();

    // At their recorded pace: neither loops (a restart) within the test.
    let demo = common::fixture("demo.kvpacket");
    let drops = common::fixture("lmcache-0.5.6-eventbus-drops/eventbus-drops.kvpacket");
    let a = Served::start(&["serve", demo.to_str().unwrap(), "--live-timestamps"]);
    let mut d = Served::start(&["serve", drops.to_str().unwrap(), "--live-timestamps"]);
    let addr = |u: String| u.trim_start_matches("http://").to_string();
    let targets = [
        ("lmcache", addr(a.url(0)), "a"),
        ("vllm", addr(a.url(1)), "a"),
        ("lmcache", addr(d.url(0)), "d"),
    ];
    let prom = Prometheus::start_with(&bin, &targets, Some(&rules));
    // Whole windows, and the holds that matter, on every target.
    prom.wait_for("scraped for 35 s", |p| {
        let v = p.query("count_over_time(up[1m]) and up == 1");
        let rows = v["data"]["result"].as_array().cloned().unwrap_or_default();
        rows.len() == 3
            && rows.iter().all(|r| {
                r["value"][1]
                    .as_str()
                    .and_then(|n| n.parse::<u32>().ok())
                    .is_some_and(|n| n >= 35)
            })
    });

    let (table, code) = report(&prom.url, &["--fail-on", "critical"]);
    assert_eq!(code, 1, "the EventBus drops are critical");
    assert_eq!(table["figures_from"], "recorded", "the rules are loaded");
    assert!(table["refresh"]["queries"].as_u64().unwrap() <= 25);
    let names: Vec<&str> = table["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["instance"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a", "d"]);

    for (row, lmcache) in [("a", addr(a.url(0))), ("d", addr(d.url(0)))] {
        let mut agreed = None;
        for _attempt in 0..5 {
            let (one, _) = report(&prom.url, &["--instance", row]);
            assert_eq!(one["schema"], "kvscope-report/1");
            assert!(
                one["as_of"].is_string(),
                "{row}: the row's time beside the report"
            );
            assert_eq!(
                one["lmcache"]["restarts"], 0,
                "{row}: no restart in the test"
            );
            // The same figures at the same time.
            let figures = one["fleet_row"]["figures"].as_object().unwrap();
            assert!(figures.len() >= 10);
            for (path, from_table) in figures {
                let raw = common::at(&one, path);
                match (from_table.as_f64(), raw.as_f64()) {
                    (Some(x), Some(y)) if path.ends_with("since_start") => {
                        assert_eq!(x, y, "{row}: {path}")
                    }
                    (Some(x), Some(y)) => assert!(
                        (x - y).abs() <= 1e-9 * x.abs().max(y.abs()),
                        "{row}: {path}: table {x}, drill-down {y}"
                    ),
                    (None, None) => {}
                    _ => panic!("{row}: {path}: table {from_table}, drill-down {raw}"),
                }
            }
            // The alerts kvscope fires on the row, among those Prometheus can judge.
            let kvscope_fires: BTreeSet<String> = one["findings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| kvscope_core::promql::alert_name(f["code"].as_str().unwrap()))
                .filter(|n| alertable.contains(n))
                .collect();
            let prometheus_fires = firing_in_prometheus(&prom, &lmcache);
            if kvscope_fires == prometheus_fires {
                agreed = Some(kvscope_fires);
                break;
            }
            // A rule changing state between the two reads: read both again.
            eprintln!("{row}: kvscope {kvscope_fires:?}, Prometheus {prometheus_fires:?}; again");
            std::thread::sleep(Duration::from_millis(700));
        }
        let fired = agreed.unwrap_or_else(|| panic!("{row}: kvscope and Prometheus never agreed"));
        if row == "d" {
            assert!(fired.contains("KvscopeEventbusDropping"), "{fired:?}");
        }
        assert!(fired.contains("KvscopeCacheSaltEmpty"), "{row}: {fired:?}");
    }

    // A killed server: a down row within two scrape intervals, a critical finding.
    let killed = kvscope::timefmt::now();
    d.kill();
    let until = Instant::now() + Duration::from_secs(20);
    let down = loop {
        let (t, code) = report(&prom.url, &["--fail-on", "critical"]);
        let row = t["instances"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["instance"] == "d")
            .cloned()
            .expect("the dead box is still a row");
        if row["row"]["state"] == "down" {
            assert_eq!(code, 1, "--fail-on critical fails on a down row");
            break row;
        }
        assert!(Instant::now() < until, "never down: {row}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(down["row"]["verdict"], "down");
    assert!(down["row"]["findings"]["critical"].as_u64().unwrap() >= 1);
    assert!(down["row"]["last_error"].is_string(), "{down}");
    let failed_at =
        kvscope::timefmt::parse_rfc3339(down["targets"][0]["last_scrape"].as_str().unwrap())
            .unwrap();
    assert!(
        failed_at - killed <= 2.0,
        "the first failed scrape came {:.2} s after the kill",
        failed_at - killed
    );
    drop(prom);
    let _ = std::fs::remove_dir_all(&dir);
}
