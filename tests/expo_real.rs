//! The parser on every fixture: real captures first, then the hand-written ones (labelled
//! as such in fixtures/README.md), and a differential check against openmetrics-parser.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use common::fixture;
use kvscope::expo::{self, Part};

fn all_fixture_files() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in [
        "lmcache-0.5.6-cpu-run1",
        "lmcache-0.5.6-extra",
        "packet_a",
        "inferguard-handwritten",
        "engine-samples",
    ] {
        for e in std::fs::read_dir(fixture(dir)).unwrap() {
            let p = e.unwrap().path();
            if matches!(p.extension().and_then(|x| x.to_str()), Some("prom" | "txt"))
                && !p.ends_with("metrics.txt")
            {
                out.push(p);
            }
        }
    }
    out.sort();
    assert!(out.len() > 70, "fixtures missing: {}", out.len());
    out
}

#[test]
fn every_fixture_parses_without_bad_lines() {
    for p in all_fixture_files() {
        let body = std::fs::read(&p).unwrap();
        let s = expo::parse(&body).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert_eq!(s.error_count, 0, "{}: {:?}", p.display(), s.errors);
    }
}

#[test]
fn packet_a_vllm_scrape_counts() {
    // Real vLLM scrape: 587 lines; every `vllm:` name has a colon and must survive.
    let body = std::fs::read(fixture("packet_a/vllm_metrics_loaded.prom")).unwrap();
    let s = expo::parse(&body).unwrap();
    let lines = body
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty() && l[0] != b'#')
        .count();
    assert_eq!(s.samples.len(), lines);
    let created = s.samples.iter().filter(|x| x.part == Part::Created).count();
    assert!(created > 30, "{created}");
    assert!(
        s.samples
            .iter()
            .any(|x| x.name == "vllm:external_prefix_cache_queries_total" && x.value == 2306.0)
    );
    // `_created` gauges of prometheus_client are folded into their counter/histogram.
    assert!(!s.families.iter().any(|f| f.name.ends_with("_created")));
}

#[test]
fn run1_final_scrape_histogram_parts() {
    let body = std::fs::read(fixture("lmcache-0.5.6-cpu-run1/metrics_t31.prom")).unwrap();
    let s = expo::parse(&body).unwrap();
    let fam = s
        .families
        .iter()
        .position(|f| f.name == "lmcache_mp_l2_store_throughput_GB_per_second")
        .unwrap();
    let parts: Vec<Part> = s
        .samples
        .iter()
        .filter(|x| x.family as usize == fam)
        .map(|x| x.part)
        .collect();
    assert_eq!(parts.iter().filter(|p| **p == Part::Bucket).count(), 16);
    assert_eq!(parts[16..], [Part::Count, Part::Sum]);
    assert!(
        s.families
            .iter()
            .any(|f| f.name == "python_gc_objects_collected_total" && f.samples == 3)
    );
}

type Flat = BTreeMap<String, f64>;

fn key(name: &str, labels: &[(String, String)], extra: &str) -> String {
    let mut l: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    l.sort();
    format!("{name}{{{}}}{extra}", l.join(","))
}

/// Our view: data samples by sample name, labels (without `le`), part and bound.
fn ours(body: &str) -> Flat {
    let s = expo::parse(body.as_bytes()).unwrap();
    let mut out = Flat::new();
    for x in s.data_samples() {
        let labels: Vec<(String, String)> = s
            .labels(x)
            .iter()
            .filter(|l| l.name != "le")
            .map(|l| (l.name.to_string(), l.value().into_owned()))
            .collect();
        let le = s
            .labels(x)
            .iter()
            .find(|l| l.name == "le")
            .map(|l| expo::parse_number(&l.value()).unwrap());
        let (base, extra) = match x.part {
            Part::Bucket => (
                x.name.trim_end_matches("_bucket"),
                format!("le={}", le.unwrap()),
            ),
            Part::Count => (x.name.trim_end_matches("_count"), "count".into()),
            Part::Sum => (x.name.trim_end_matches("_sum"), "sum".into()),
            _ if s.family(x).kind == expo::Kind::Counter => {
                (x.name.trim_end_matches("_total"), String::new())
            }
            _ => (x.name, String::new()),
        };
        out.insert(key(base, &labels, &extra), x.value);
    }
    out
}

/// The oracle's view, same keys.
fn oracle(body: &str) -> Option<Flat> {
    use openmetrics_parser::PrometheusValue as V;
    let exp = openmetrics_parser::prometheus::parse_prometheus(body).ok()?;
    let mut out = Flat::new();
    for (name, fam) in &exp.families {
        // prometheus_client's `_created` gauges are timestamps, which kvscope does not count as data.
        if name.ends_with("_created") {
            continue;
        }
        let base = name.trim_end_matches("_total");
        for smp in fam.iter_samples() {
            let set = smp.get_labelset().ok()?;
            let labels: Vec<(String, String)> = set
                .iter()
                .filter(|(k, _)| *k != "le")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            match &smp.value {
                V::Unknown(n) | V::Gauge(n) => {
                    out.insert(key(name, &labels, ""), n.as_f64());
                }
                V::Counter(c) => {
                    out.insert(key(base, &labels, ""), c.value.as_f64());
                }
                V::Histogram(h) => {
                    for b in &h.buckets {
                        out.insert(
                            key(name, &labels, &format!("le={}", b.upper_bound)),
                            b.count.as_f64(),
                        );
                    }
                    if let Some(c) = h.count {
                        out.insert(key(name, &labels, "count"), c as f64);
                    }
                    if let Some(s) = &h.sum {
                        out.insert(key(name, &labels, "sum"), s.as_f64());
                    }
                }
                V::Summary(_) => return None,
            }
        }
    }
    Some(out)
}

#[test]
fn differential_against_openmetrics_parser() {
    let mut compared = 0;
    for p in all_fixture_files() {
        let body = std::fs::read_to_string(&p).unwrap();
        let Some(theirs) = oracle(&body) else {
            continue;
        };
        let mine = ours(&body);
        for (k, v) in &theirs {
            let got = mine
                .get(k)
                .unwrap_or_else(|| panic!("{}: we lack {k}", p.display()));
            assert!(
                got == v || (got.is_nan() && v.is_nan()),
                "{}: {k}: ours {got}, oracle {v}",
                p.display()
            );
        }
        compared += 1;
    }
    // The oracle rejects many real scrapes whole (one odd family is enough); it must still
    // agree on a good number of them.
    assert!(compared >= 10, "only {compared} fixtures compared");
}
