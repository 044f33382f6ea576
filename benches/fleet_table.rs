//! The fleet table computed by Prometheus, at scale: N simulated instances (each an LMCache
//! server and a vLLM engine on one host), answered as Prometheus answers the table's instant
//! queries when `kvscope rules` is loaded — discovery, `up`, `/api/v1/targets`, the recorded
//! figures, their times, `ALERTS` — with the figures of the real 0.5.6 run's analysis.
//!
//! - `refresh/N`: decoding every answer, the table (grouping, figures, rule states, verdicts)
//!   and the picture the view draws: kvscope's CPU per refresh.
//!
//! Printed once, for the note: the queries a refresh sends (recorded and expression modes),
//! the answers' bytes, and the heap the table holds per row (live bytes, by the allocator).

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use kvscope::fleet::report::Refresh;
use kvscope::fleet::table::{Answers, Queries, Source, Table};
use kvscope::sources::promapi::instant_answer;
use kvscope::tui::fleet::FleetPicture;
use kvscope_core::promql::{Ctx, figures::FIGURES};

#[path = "common/counting.rs"]
mod counting;
use counting::live;

const T: f64 = 1.8e9;

/// An instant query's answer as Prometheus writes it, one series per `(labels, value)`.
fn answer(rows: impl Iterator<Item = Series>) -> Vec<u8> {
    let result: Vec<serde_json::Value> = rows
        .map(|(labels, v)| {
            let metric: serde_json::Map<String, serde_json::Value> =
                labels.into_iter().map(|(k, v)| (k, v.into())).collect();
            serde_json::json!({"metric": metric, "value": [T, v.to_string()]})
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "status": "success",
        "data": {"resultType": "vector", "result": result}
    }))
    .unwrap()
}

/// A series of an answer: its labels and value.
type Series = (Vec<(String, String)>, f64);

fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The answers of one refresh for `n` boxes.
struct Sim {
    bodies: [Vec<u8>; 5],
}

impl Sim {
    fn new(n: usize, figures: &[Option<f64>]) -> Sim {
        let hosts: Vec<String> = (0..n)
            .map(|i| format!("gpu-{i:05}.fleet.internal"))
            .collect();
        let target =
            |i: usize, job: &str, port: u16| (job.to_string(), format!("{}:{port}", hosts[i]));
        let each = |f: &dyn Fn(usize) -> Vec<Series>| answer((0..n).flat_map(f));
        let discovery = each(&|i| {
            [("lmcache", 8080, "lmcache"), ("vllm", 8000, "vllm")]
                .into_iter()
                .map(|(job, port, kind)| {
                    let (j, inst) = target(i, job, port);
                    (
                        labels(&[("job", &j), ("instance", &inst), ("kvscope_kind", kind)]),
                        1.0,
                    )
                })
                .collect()
        });
        let up = each(&|i| {
            [("lmcache", 8080), ("vllm", 8000)]
                .into_iter()
                .map(|(job, port)| {
                    let (j, inst) = target(i, job, port);
                    let v = if i % 97 == 0 { 0.0 } else { 1.0 };
                    (
                        labels(&[("__name__", "up"), ("job", &j), ("instance", &inst)]),
                        v,
                    )
                })
                .collect()
        });
        let ctx = Ctx::new(60.0);
        let recorded = each(&|i| {
            FIGURES
                .iter()
                .zip(figures)
                .filter_map(|(f, v)| {
                    let (job, port) = if f.name.starts_with("engine_") {
                        ("vllm", 8000)
                    } else {
                        ("lmcache", 8080)
                    };
                    let (j, inst) = target(i, job, port);
                    let name = f.record(&ctx);
                    Some((
                        labels(&[("__name__", &name), ("job", &j), ("instance", &inst)]),
                        (*v)?,
                    ))
                })
                .collect()
        });
        let stamps = each(&|i| {
            let (j, inst) = target(i, "lmcache", 8080);
            vec![(labels(&[("job", &j), ("instance", &inst)]), T - 1.0)]
        });
        let alerts = each(&|i| {
            ["KvscopeCacheSaltEmpty", "KvscopeL1Evicting"]
                .into_iter()
                .map(|a| {
                    let (j, inst) = target(i, "lmcache", 8080);
                    let l = labels(&[
                        ("__name__", "ALERTS"),
                        ("alertname", a),
                        ("alertstate", "firing"),
                        ("job", &j),
                        ("instance", &inst),
                        ("severity", "info"),
                    ]);
                    (l, 1.0)
                })
                .collect()
        });
        Sim {
            bodies: [discovery, up, recorded, stamps, alerts],
        }
    }

    fn bytes(&self) -> usize {
        self.bodies.iter().map(Vec::len).sum()
    }

    /// One refresh: decode, the table, the picture.
    fn refresh(&self, table: &mut Table) -> usize {
        let [discovered, up, figures, stamps, rules] = self
            .bodies
            .each_ref()
            .map(|b| instant_answer(200, b).unwrap().0);
        table.apply(Answers {
            time: T,
            discovered,
            up,
            health: None,
            figures,
            rules,
            source: Source::Recorded,
            stamps,
        });
        FleetPicture::of(table, Refresh::default(), T).rows.len()
    }
}

fn bench(c: &mut Criterion) {
    // The figures of the real run's analysis at its newest scrape.
    let (events, _) = kvscope::demo::recorded(31);
    let mut model = kvscope::model::Model::new(&["l".into()], &["e".into()], 64);
    for e in events {
        let _ = model.apply(e);
    }
    let a = kvscope::analysis::analyze(&model.inputs(60.0));
    let figures = kvscope_core::rulefile::unit::figure_values(&a).unwrap();

    let q = Queries {
        ctx: Ctx::new(60.0),
        thresholds: Default::default(),
        group_by: None,
    };
    // Discovery, up, /api/v1/targets, recorded, their times, ALERTS.
    eprintln!("queries per refresh with kvscope rules loaded: 6");
    eprintln!(
        "queries per refresh without: {} (discovery, up, targets, the recorded check, {} figure and {} condition batches)",
        4 + q.figures().len() + q.conditions().len(),
        q.figures().len(),
        q.conditions().len()
    );
    let mut g = c.benchmark_group("fleet_table");
    g.sample_size(10);
    for n in [500, 5000] {
        let sim = Sim::new(n, &figures);
        let mut table = Table::new(60.0, Default::default(), None);
        let before = live();
        sim.refresh(&mut table);
        eprintln!(
            "{n} boxes: answers {} KiB; the table holds {} bytes per row ({} rows)",
            sim.bytes() >> 10,
            (live() - before) / table.rows.len(),
            table.rows.len()
        );
        g.bench_with_input(BenchmarkId::new("refresh", n), &n, |b, _| {
            b.iter(|| sim.refresh(&mut table))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
