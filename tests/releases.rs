//! Which LMCache release: the names every PyPI release's wheel declares
//! (fixtures/lmcache-wheel-names/, read by scripts/lmcache-wheel-names.py), the release
//! kvscope names for real runs and packets, and families a release never had.

use std::collections::{BTreeMap, BTreeSet};

use kvscope::catalog::version::{RELEASES, SPANS};
use serde_json::Value;

mod common;

fn repo(rel: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Every release's list: name → the releases declaring it.
fn wheel_lists() -> BTreeMap<String, BTreeSet<&'static str>> {
    let mut out: BTreeMap<String, BTreeSet<&'static str>> = BTreeMap::new();
    for v in RELEASES {
        let text = std::fs::read_to_string(repo(&format!("fixtures/lmcache-wheel-names/{v}.tsv")))
            .unwrap_or_else(|e| panic!("{v}: {e}"));
        for line in text.lines() {
            let name = line.split('\t').next().unwrap();
            if !name.contains('{') {
                out.entry(name.to_string()).or_default().insert(v);
            }
        }
    }
    out
}

#[test]
fn the_release_table_is_the_wheels_lists() {
    let lists = wheel_lists();
    let files = std::fs::read_dir(repo("fixtures/lmcache-wheel-names"))
        .unwrap()
        .count();
    assert_eq!(files, RELEASES.len(), "one list per release");
    let table: BTreeMap<&str, (&str, &str)> =
        SPANS.iter().map(|(n, a, b)| (*n, (*a, *b))).collect();
    assert_eq!(
        table.keys().copied().collect::<Vec<_>>(),
        lists.keys().map(String::as_str).collect::<Vec<_>>()
    );
    for (name, releases) in &lists {
        let (a, b) = table[name.as_str()];
        let ia = RELEASES.iter().position(|r| *r == a).unwrap();
        let ib = RELEASES.iter().position(|r| *r == b).unwrap();
        let span: BTreeSet<&str> = RELEASES[ia..=ib].iter().copied().collect();
        assert_eq!(&span, releases, "{name}: the table says {a} to {b}");
    }
}

/// The wheels' lists hold every name the real runs exported, under the release that ran.
#[test]
fn the_wheels_lists_hold_what_each_real_run_exported() {
    let lists = wheel_lists();
    for (version, dir) in common::RELEASE_RUNS {
        let text = std::fs::read_to_string(repo(&common::last_scrape(dir))).unwrap();
        let mut names = 0;
        for line in text.lines().filter(|l| l.starts_with("lmcache")) {
            let name = line.split(['{', ' ']).next().unwrap();
            let base = ["_total", "_bucket", "_sum", "_count", "_created"]
                .iter()
                .find_map(|s| name.strip_suffix(s))
                .unwrap_or(name);
            if name.ends_with("_created") {
                continue;
            }
            let ok = [name, base]
                .iter()
                .any(|n| lists.get(*n).is_some_and(|r| r.contains(version)));
            assert!(ok, "{version}: {name} is not in its wheel's list");
            names += 1;
        }
        assert!(names > 30, "{version}: {names} sample lines");
    }
}

/// Each real run: `/version` names its release, and its names alone fit a range holding it.
/// A family its release never had is `not_applicable` "not in LMCache X", never `missing`.
#[test]
fn each_real_run_names_its_release_and_what_it_never_had() {
    for (version, dir) in common::RELEASE_RUNS {
        let r = common::report_json(&["--packet", dir]);
        let rel = &r["lmcache_release"];
        assert_eq!(rel["range"], version, "{version}: {rel}");
        assert_eq!(rel["source"], "version_route", "{version}");
        assert_eq!(rel["notes"], serde_json::json!([]), "{version}: {rel}");
        for f in r["families"].as_array().unwrap() {
            let id = f["id"].as_str().unwrap();
            let had = kvscope::catalog::FAMILIES
                .iter()
                .position(|d| d.id == id)
                .map(kvscope::catalog::version::family_releases)
                .unwrap();
            let at = RELEASES.iter().position(|r| *r == version).unwrap();
            let lmcache = kvscope::catalog::FAMILIES
                .iter()
                .find(|d| d.id == id)
                .is_some_and(|d| d.scope == kvscope::catalog::Scope::MpServer);
            if lmcache && !had.is_empty() && had.0 & (1 << at) == 0 {
                assert_eq!(f["status"], "not_applicable", "{version}: {id}");
                assert_eq!(
                    f["why_not_applicable"],
                    format!("not in LMCache {version}"),
                    "{version}: {id}"
                );
            }
            assert!(
                f["status"] != "missing" || f["need"] != "required",
                "{version}: {id} missing"
            );
        }
        // The names alone (the last scrape, no routes).
        let file = repo(&common::last_scrape(dir));
        let r = common::report_json(&["--lmcache", file.to_str().unwrap()]);
        let rel = &r["lmcache_release"];
        assert_eq!(rel["source"], "names", "{version}");
        let first = RELEASES
            .iter()
            .position(|v| *v == rel["first"].as_str().unwrap())
            .unwrap();
        let last = rel["last"].as_str().map_or(RELEASES.len() - 1, |l| {
            RELEASES.iter().position(|v| *v == l).unwrap()
        });
        let at = RELEASES.iter().position(|r| *r == version).unwrap();
        assert!(
            (first..=last).contains(&at),
            "{version}: the names say {}",
            rel["range"]
        );
    }
}

/// The 0.4.7 run: the lookup tier split (0.5.5 on) is not applicable by release.
#[test]
fn the_lookup_tier_split_is_not_in_0_4_7() {
    let r = common::report_json(&["--packet", "fixtures/lmcache-0.4.7-cpu-run1"]);
    let f = common::family(&r, "lmcache_mp.lookup_tiers");
    assert_eq!(f["status"], "not_applicable");
    assert_eq!(f["why_not_applicable"], "not in LMCache 0.4.7");
    let text = common::report_text(&["--packet", "fixtures/lmcache-0.4.7-cpu-run1"]);
    assert!(text.contains("release: LMCache 0.4.7 (/version)"), "{text}");
}

/// packet_a (a real H100 run) has no `/version`: its names fit 0.4.5 alone, said with the two
/// names that bound it.
#[test]
fn packet_a_s_names_date_it_to_0_4_5() {
    let r = common::report_json(&["--packet", "fixtures/packet_a"]);
    let rel = &r["lmcache_release"];
    assert_eq!(rel["range"], "0.4.5", "{rel}");
    assert_eq!(rel["source"], "names");
    let evidence: Vec<&str> = rel["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert!(
        evidence.iter().any(|e| e.ends_with(": first in 0.4.5")),
        "{evidence:?}"
    );
    assert!(
        evidence.iter().any(|e| e.ends_with(": last in 0.4.5")),
        "{evidence:?}"
    );
    // Families 0.4.5 never had are not applicable by release, not missing.
    let f = common::family(&r, "lmcache_mp.lookup_tiers");
    assert_eq!(f["why_not_applicable"], "not in LMCache 0.4.5");
}

/// Hand-made scrapes (edge cases): a name no release declares, names no one release shares,
/// and a `/version`-less scrape whose names go past the newest known release.
#[test]
fn names_past_what_kvscope_knows_are_said() {
    let base = std::fs::read_to_string(repo("fixtures/lmcache-0.5.7rc2-cpu-run1/metrics_t26.prom"))
        .unwrap();
    let newer = format!(
        "{base}# TYPE lmcache_mp_future_widget_total counter\nlmcache_mp_future_widget_total 3\n"
    );
    let p = common::scratch("release-newer.prom", &newer);
    let r = common::report_json(&["--lmcache", p.to_str().unwrap()]);
    let rel = &r["lmcache_release"];
    assert_eq!(
        rel["unknown_names"],
        serde_json::json!(["lmcache_mp_future_widget_total"])
    );
    assert_eq!(rel["range"], "0.5.7rc2 or later", "{rel}");
    let notes = rel["notes"].to_string();
    assert!(notes.contains("newest known: 0.5.7rc2"), "{notes}");

    // 0.4.5's storage-manager counter beside 0.5.6's staging gauge: no release has both.
    let mixed = "# TYPE lmcache_mp_sm_read_requests_total counter\nlmcache_mp_sm_read_requests_total 1\n\
                 # TYPE lmcache_mp_l1_staging_bytes gauge\nlmcache_mp_l1_staging_bytes 0\n";
    let p = common::scratch("release-mixed.prom", mixed);
    let r = common::report_json(&["--lmcache", p.to_str().unwrap()]);
    let rel = &r["lmcache_release"];
    assert_eq!(rel["range"], "unknown", "{rel}");
    assert!(
        rel["notes"]
            .to_string()
            .contains("a build between releases"),
        "{rel}"
    );
    // Nothing is called not applicable by release when no release fits.
    for f in r["families"].as_array().unwrap() {
        assert!(
            !f["why_not_applicable"]
                .to_string()
                .contains("not in LMCache"),
            "{f}"
        );
    }
}

/// Three trace generations. Schema 1 (0.4.7) and 2 (0.5.7rc2) are real; no release writes a
/// header without `trace_schema_version` (0.4.4, the first with the recorder, already writes 1),
/// so that generation is the real 0.4.7 trace with the field cut out of its header (hand-made).
#[test]
fn traces_with_no_schema_field_schema_1_and_schema_2_are_read() {
    let real = std::fs::read(repo("fixtures/lmcache-0.4.7-cpu-run1/run.lct")).unwrap();
    let len = u32::from_be_bytes(real[..4].try_into().unwrap()) as usize;
    let header = &real[4..4 + len];
    // msgpack: fixstr "trace_schema_version" (0xb4 + 20 bytes), then positive fixint 1.
    let key = [&[0xb4u8][..], b"trace_schema_version", &[0x01]].concat();
    let at = header
        .windows(key.len())
        .position(|w| w == key)
        .expect("the real header holds trace_schema_version 1");
    assert_eq!(header[0] & 0xf0, 0x80, "the header is a fixmap");
    let mut cut = vec![header[0] - 1];
    cut.extend_from_slice(&header[1..at]);
    cut.extend_from_slice(&header[at + key.len()..]);
    let mut old = (cut.len() as u32).to_be_bytes().to_vec();
    old.extend_from_slice(&cut);
    old.extend_from_slice(&real[4 + len..]);
    let p = common::scratch("no-schema.lct", &old);
    let r = common::report_json(&["--lct", p.to_str().unwrap()]);
    let t = &r["trace"];
    assert_eq!(t["error"], Value::Null, "{t}");
    assert_eq!(t["trace_schema_version"], Value::Null);
    let whole = common::report_json(&["--lct", "fixtures/lmcache-0.4.7-cpu-run1/run.lct"]);
    assert_eq!(whole["trace"]["trace_schema_version"], 1);
    assert_eq!(t["total_records"], whole["trace"]["total_records"]);
    assert_eq!(t["ops"], whole["trace"]["ops"]);
    let text = common::report_text(&["--lct", p.to_str().unwrap()]);
    assert!(
        text.contains("no schema field (read as schema 1)"),
        "{text}"
    );
    let rc = common::report_json(&["--lct", "fixtures/lmcache-0.5.7rc2-cpu-run1/run.lct"]);
    assert_eq!(rc["trace"]["trace_schema_version"], 2);
    let _ = std::fs::remove_file(p);
}
