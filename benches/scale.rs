//! Analysis and report time against series count: one LMCache target whose lookup counters
//! carry N distinct `cache_salt` values (2 N series), N = 1 000, 10 000, 100 000. Linear
//! growth is the goal (per-label breakdowns once took time quadratic in the values).
//! Hand-made scrapes: real servers carry a few hundred series.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use kvscope::model::Model;
use kvscope::vocab::{Event, Role, TargetRef};

fn scrape(n: usize, step: usize) -> Vec<u8> {
    let mut b = String::new();
    for (name, per) in [("requested", 10), ("hit", 5)] {
        b.push_str(&format!(
            "# TYPE lmcache_mp_lookup_{name}_tokens_total counter\n"
        ));
        for i in 0..n {
            b.push_str(&format!(
                "lmcache_mp_lookup_{name}_tokens_total{{cache_salt=\"tenant-{i}\",model_name=\"m\"}} {}\n",
                (i + step) * per
            ));
        }
    }
    b.into_bytes()
}

/// Two scrapes 10 s apart, so windowed figures are computed too.
fn model(n: usize) -> Model {
    let mut m = Model::new(&["lm".into()], &[], 8);
    m.set_series_limit(1_000_000);
    let target = TargetRef {
        role: Role::Lmcache,
        index: 0,
    };
    for (k, time) in [(0, 1.8e9), (1, 1.8e9 + 10.0)] {
        m.apply(Event::Scrape {
            target,
            time: Some(time),
            body: scrape(n, k),
            format: None,
            origin: "bench".into(),
        })
        .unwrap();
    }
    m
}

fn scale(c: &mut Criterion) {
    let mut g = c.benchmark_group("by_label_values");
    g.sample_size(10);
    for n in [1_000, 10_000, 100_000] {
        let m = model(n);
        g.bench_with_input(BenchmarkId::new("analyze", n), &m, |b, m| {
            b.iter(|| kvscope::analysis::analyze(&m.inputs(60.0)).findings.len())
        });
        g.bench_with_input(BenchmarkId::new("report_json", n), &m, |b, m| {
            b.iter(|| kvscope::report::json(m, 60.0).len())
        });
        // What `e` costs the worker: the report from the analysis the pictures already have.
        let a = kvscope::analysis::analyze(&m.inputs(60.0));
        g.bench_with_input(BenchmarkId::new("report_json_of", n), &m, |b, m| {
            b.iter(|| kvscope::report::json_of(m, &a, 60.0).len())
        });
        g.bench_with_input(BenchmarkId::new("ingest", n), &n, |b, &n| {
            let body = scrape(n, 0);
            b.iter(|| {
                let mut t = kvscope::store::TargetStore::new("t", 4);
                t.ingest(&kvscope::expo::parse(&body).unwrap(), Some(1.8e9));
                t.series().len()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, scale);
criterion_main!(benches);
