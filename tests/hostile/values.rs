//! Bad values in scrapes that parse: unknown figures, noted series, timestamps not believed, runaway targets.

use super::*;

/// The real 0.5.6 scrape t31 with one line changed (hand-corrupted: `from` → `to`).
fn corrupt(from: &str, to: &str) -> String {
    let body = std::fs::read_to_string(t31()).unwrap();
    assert!(body.contains(from), "t31 has no {from:?}");
    body.replacen(from, to, 1)
}

/// A report over the real t30 and then `body` as t31, both with their real capture times.
fn report_of(body: &str) -> serde_json::Value {
    use kvscope::model::Model;
    use kvscope::vocab::{Event, Role, TargetRef};
    let index = common::run1_timeline(31);
    let mut m = Model::new(&["lm".into()], &[], 8);
    let target = TargetRef {
        role: Role::Lmcache,
        index: 0,
    };
    let t30 = std::fs::read(&index[30].0).unwrap();
    for (b, time) in [(t30, index[30].1), (body.as_bytes().to_vec(), index[31].1)] {
        m.apply(Event::Scrape {
            target,
            time,
            body: b,
            format: None,
            origin: "hand-corrupted".into(),
        })
        .unwrap();
    }
    kvscope::report::build(&m, 60.0)
}

/// Bad values in real data: each figure resting on one is unknown with a reason naming the
/// series, no finding is built on it, and no number that looks real comes out.
#[test]
fn bad_values_make_figures_unknown_never_wrong() {
    let hit =
        r#"lmcache_mp_lookup_hit_tokens_total{cache_salt="",model_name="test-model"} 27136.0"#;
    let req = r#"lmcache_mp_lookup_requested_tokens_total{cache_salt="",model_name="test-model"} 41984.0"#;
    let inf_bucket = r#"lmcache_mp_l0_l1_store_throughput_GB_per_second_bucket{device="cpu",engine_id="1000",le="+Inf",model_name="test-model"} 4.0"#;
    let b5 = r#"lmcache_mp_l0_l1_store_throughput_GB_per_second_bucket{device="cpu",engine_id="1000",le="5.0",model_name="test-model"} 4.0"#;
    let sum = r#"lmcache_mp_l0_l1_store_throughput_GB_per_second_sum{device="cpu",engine_id="1000",model_name="test-model"} 3.5573966190640114"#;
    let cases: Vec<(String, &str, &str)> = vec![
        (
            corrupt(
                "lmcache_mp_event_bus_dropped_events_total 0.0",
                "lmcache_mp_event_bus_dropped_events_total +Inf",
            ),
            "lmcache.eventbus.dropped_total",
            "lmcache_mp_event_bus_dropped_events_total is +Inf",
        ),
        (
            corrupt(
                r#"l1_tag="_default"} 0.71875"#,
                r#"l1_tag="_default"} +Inf"#,
            ),
            "lmcache.l1.usage_ratio",
            "lmcache_mp_l1_usage_ratio{backend=\"dram\", l1_tag=\"_default\"} is +Inf",
        ),
        (
            corrupt(req, &req.replace("41984.0", "-100")),
            "lmcache.lookup.hit_rate.since_start",
            "is negative (-100)",
        ),
        (
            corrupt(hit, &hit.replace("27136.0", "50000")),
            "lmcache.lookup.hit_rate.since_start",
            "hit tokens (50000) exceed requested tokens (41984)",
        ),
        (
            corrupt(req, &format!("{req}\n{}", req.replace("41984.0", "9"))),
            "lmcache.lookup.requested_tokens.since_start",
            "more than once in one scrape",
        ),
        (
            corrupt(b5, &b5.replace("} 4.0", "} 9")),
            "lmcache.l0_l1.store_throughput_gbs.mean",
            "not cumulative",
        ),
        (
            corrupt(inf_bucket, ""),
            "lmcache.l0_l1.store_throughput_gbs.p50",
            "no +Inf bucket",
        ),
        (
            corrupt(b5, &b5.replace("le=\"5.0\"", "le=\"five\"")),
            "lmcache.l0_l1.store_throughput_gbs.p99",
            "not a number",
        ),
        (
            corrupt(sum, &sum.replace("3.5573966190640114", "-2.5")),
            "lmcache.l0_l1.store_throughput_gbs.mean",
            "negative (-2.5)",
        ),
    ];
    for (body, path, why) in cases {
        let r = report_of(&body);
        assert!(
            common::at(&r, path).is_null(),
            "{path} should be unknown: {}",
            common::at(&r, path)
        );
        let reason = r["unknowns"][path]
            .as_str()
            .unwrap_or_else(|| panic!("no reason for {path}"));
        assert!(reason.contains(why), "{path}: {reason}");
        // The bad_data finding names the problem; no other finding may rest on it.
        let others: Vec<&serde_json::Value> = r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["code"] != "bad_data")
            .collect();
        let findings = serde_json::to_string(&others).unwrap();
        let words: Vec<&str> = findings
            .split(|c: char| !(c.is_alphanumeric() || c == '.' || c == '-'))
            .collect();
        for bad in ["inf", "NaN", "-100", "-2.5", "1190"] {
            assert!(
                !words.contains(&bad),
                "{path}: a finding carries {bad}: {findings}"
            );
        }
        let codes = common::finding_codes(&r);
        assert!(
            !codes.contains(&"eventbus_dropping") && !codes.contains(&"l1_at_watermark"),
            "{codes:?}"
        );
        for rate in [
            "lmcache.lookup.hit_rate.since_start",
            "lmcache.lookup.hit_rate.window",
        ] {
            if let Some(v) = common::at(&r, rate).as_f64() {
                assert!((0.0..=1.0).contains(&v), "{rate} = {v}");
            }
        }
    }
}

/// Problems in a value a counter keeps are also listed as data-quality notes naming the series,
/// and shown as a finding.
#[test]
fn bad_values_are_noted_by_series() {
    let r = report_of(&corrupt(
        "lmcache_mp_event_bus_dropped_events_total 0.0",
        "lmcache_mp_event_bus_dropped_events_total +Inf",
    ));
    let notes = r["data_quality"]["notes"].as_array().unwrap();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(
        notes[0]["subject"],
        "lmcache_mp_event_bus_dropped_events_total"
    );
    assert_eq!(notes[0]["target"], "lm");
    assert!(notes[0]["last_time"].as_str().unwrap().starts_with("20"));
    let f = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "bad_data")
        .unwrap();
    assert!(
        f["evidence"][0]
            .as_str()
            .unwrap()
            .contains("dropped_events_total is +Inf")
    );
}

/// Sample timestamps far ahead of the scrape: not taken as the newest time.
#[test]
fn future_sample_timestamps_are_not_believed() {
    let body: String = std::fs::read_to_string(t31())
        .unwrap()
        .lines()
        .map(|l| {
            if l.starts_with('#') || l.is_empty() {
                format!("{l}\n")
            } else {
                format!("{l} 4102444800000\n")
            }
        })
        .collect();
    let r = report_of(&body);
    let last = r["inputs"][0]["last_time"].as_str().unwrap();
    assert!(last.starts_with("2026-"), "{last}");
    let notes = r["data_quality"]["notes"].as_array().unwrap();
    assert!(
        notes.iter().any(|n| n["problem"]
            .as_str()
            .unwrap()
            .contains("after the scrape time")),
        "{notes:?}"
    );
    // The window runs between the two capture times.
    let index = common::run1_timeline(31);
    let secs = r["lmcache"]["window_seconds"].as_f64().unwrap();
    assert!(
        common::close(secs, index[31].1.unwrap() - index[30].1.unwrap()),
        "{secs}"
    );
}

#[test]
fn a_file_where_nothing_parses_is_bad_input() {
    let d = scratch("garbage");
    let f = d.join("garbage.prom");
    std::fs::write(&f, b"\x00\x01binary\xff\nnot metrics at all\n{{{\n").unwrap();
    refused(&["report", "--lmcache", s(&f)], "not one of its 3 lines");
    // A file with only declarations, or nothing, is an empty scrape: said, not refused.
    std::fs::write(&f, "# HELP x y\n# TYPE x counter\n").unwrap();
    let o = run(&["report", "--lmcache", s(&f)], None, 20);
    assert_eq!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("no samples"));
}

/// Hand-written runaway scrapes: a scrape with more series per instance than the limit is
/// refused with a message naming the instance and the flag; under it, it is read.
#[test]
fn the_series_limit_refuses_a_runaway_target() {
    let d = scratch("limit");
    let body = |instances: &[(&str, usize)]| {
        let mut b = String::from("# TYPE lmcache_mp_lookup_requested_tokens_total counter\n");
        for (inst, n) in instances {
            for i in 0..*n {
                b.push_str(&format!(
                    "lmcache_mp_lookup_requested_tokens_total{{instance=\"{inst}\",cache_salt=\"s{i}\"}} {i}\n"
                ));
            }
        }
        b
    };
    let f = d.join("scrape.prom");
    std::fs::write(&f, body(&[("", 2001)])).unwrap();
    refused(
        &["report", "--lmcache", s(&f), "--series-limit", "2000"],
        "the scrape carries 2001 series, more than the limit of 2000 (--series-limit raises it)",
    );
    let o = run(
        &["report", "--lmcache", s(&f), "--series-limit", "2001"],
        None,
        20,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // A federated body: the limit holds per instance.
    std::fs::write(&f, body(&[("a:1", 1500), ("b:1", 1500)])).unwrap();
    let o = run(
        &["report", "--lmcache", s(&f), "--series-limit", "2000"],
        None,
        20,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    std::fs::write(&f, body(&[("a:1", 100), ("b:1", 2500)])).unwrap();
    refused(
        &["report", "--lmcache", s(&f), "--series-limit", "2000"],
        "instance \"b:1\" carries 2500 series",
    );
    for bad in ["0", "-1", "1e9", "lots"] {
        refused(
            &[
                "report",
                "--lmcache",
                s(&f),
                &format!("--series-limit={bad}"),
            ],
            bad,
        );
    }
}
