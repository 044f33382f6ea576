//! The raw-sample path at scale (a `/federate` fleet; the table computed by Prometheus is
//! `benches/fleet_table.rs`), with simulated API answers: N instances, each an LMCache server (the
//! real 0.5.6 run's last scrape) and a vLLM engine (packet_a's real H100 scrape), as a
//! Prometheus range query returns them: a 60 s window at a 15 s scrape interval (5 samples a
//! series), in answers of 50 instances as kvscope asks for them.
//!
//! - `first_refresh/N`: decoding every answer, taking it into a new fleet and making the
//!   table (every instance analysed).
//! - `next_refresh/N`: a refresh once the fleet holds its window: one new sample per series.
//!
//! The memory a fleet holds per instance is printed once (live heap bytes, counted by the
//! allocator), for the note.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use kvscope::fleet::Fleet;
use kvscope::fleet::report::Refresh;
use kvscope::sources::promapi::{self, Found, Read, TargetKey, Types};
use kvscope::tui::fleet::FleetPicture;
use kvscope::vocab::Role;

#[path = "common/counting.rs"]
mod counting;
use counting::live;

const INTERVAL: f64 = 15.0;
const T0: f64 = 1.8e9;

/// A series of a template: name, labels, value.
type Line = (String, Vec<(String, String)>, f64);

/// A real scrape's series (labels without the target's) and values, and its types.
fn template(path: &str) -> (Vec<Line>, Types) {
    let body = std::fs::read(format!("{}/fixtures/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let scrape = kvscope::expo::parse(&body).unwrap();
    let mut types = Types::default();
    for f in &scrape.families {
        types.0.insert(f.name.to_string(), f.kind);
    }
    let series = scrape
        .data_samples()
        .map(|s| {
            let labels = scrape
                .labels(s)
                .iter()
                .map(|l| (l.name.to_string(), l.value().into_owned()))
                .collect();
            (s.name.to_string(), labels, s.value)
        })
        .collect();
    (series, types)
}

struct Sim {
    lmcache: Vec<Line>,
    vllm: Vec<Line>,
    types: Types,
}

impl Sim {
    fn new() -> Sim {
        let (lmcache, mut types) = template("lmcache-0.5.6-cpu-run1/metrics_t31.prom");
        let (vllm, t2) = template("packet_a/vllm_metrics_loaded.prom");
        types.0.extend(t2.0);
        Sim {
            lmcache,
            vllm,
            types,
        }
    }

    /// The answers (one per 50 instances) holding samples `from..to` (scrape numbers).
    fn answers(&self, n: usize, from: usize, to: usize) -> Vec<Vec<u8>> {
        use std::fmt::Write;
        let mut out = Vec::new();
        for chunk in (0..n)
            .collect::<Vec<_>>()
            .chunks(promapi::INSTANCES_PER_QUERY)
        {
            let mut j =
                String::from(r#"{"status":"success","data":{"resultType":"matrix","result":["#);
            let mut first = true;
            for &i in chunk {
                for (job, port, series) in
                    [("lmcache", 8080, &self.lmcache), ("vllm", 8000, &self.vllm)]
                {
                    for (name, labels, value) in series {
                        if !first {
                            j.push(',');
                        }
                        first = false;
                        let _ = write!(
                            j,
                            r#"{{"metric":{{"__name__":"{name}","job":"{job}","instance":"gpu-{i}:{port}""#
                        );
                        for (k, v) in labels {
                            let _ = write!(j, r#","{k}":{}"#, serde_json::to_string(v).unwrap());
                        }
                        j.push_str(r#"},"values":["#);
                        for k in from..to {
                            if k > from {
                                j.push(',');
                            }
                            let _ = write!(
                                j,
                                r#"[{:.3},"{}"]"#,
                                T0 + k as f64 * INTERVAL,
                                value + k as f64
                            );
                        }
                        j.push_str("]}");
                    }
                }
            }
            j.push_str("]}}");
            out.push(j.into_bytes());
        }
        out
    }

    fn found(&self, n: usize) -> Vec<Found> {
        (0..n)
            .flat_map(|i| {
                [
                    ("lmcache", 8080, Role::Lmcache),
                    ("vllm", 8000, Role::Engine),
                ]
                .map(|(job, port, role)| Found {
                    key: TargetKey {
                        job: job.into(),
                        instance: format!("gpu-{i}:{port}"),
                    },
                    group: format!("gpu-{i}"),
                    role,
                })
            })
            .collect()
    }

    /// Decodes `answers`, takes them into `fleet` and makes the table.
    fn refresh(&self, fleet: &mut Fleet, n: usize, answers: &[Vec<u8>], time: f64) -> FleetPicture {
        let mut series = Vec::new();
        for a in answers {
            series.extend(promapi::matrix(200, a).unwrap().0);
        }
        fleet.apply(Read {
            found: self.found(n),
            health: None,
            series,
            time,
        });
        FleetPicture::of(
            &kvscope::fleet::table::Table::of_fleet(fleet),
            Refresh::default(),
            time,
        )
    }

    fn fleet(&self) -> Fleet {
        let mut f = Fleet::new("instance", 60.0);
        f.types = self.types.clone();
        // As the fleet view and the report refresh it.
        f.keep_events = false;
        f
    }
}

fn bench(c: &mut Criterion) {
    let sim = Sim::new();
    eprintln!(
        "series per instance: {} LMCache + {} vLLM",
        sim.lmcache.len(),
        sim.vllm.len()
    );
    // One box's model holding the same two scrapes seven times over, read directly: what a
    // fleet instance costs beyond it is the fleet's own.
    {
        let dir = env!("CARGO_MANIFEST_DIR");
        let lm = std::fs::read(format!(
            "{dir}/fixtures/lmcache-0.5.6-cpu-run1/metrics_t31.prom"
        ))
        .unwrap();
        let en =
            std::fs::read(format!("{dir}/fixtures/packet_a/vllm_metrics_loaded.prom")).unwrap();
        let before = live();
        let mut m = kvscope::model::Model::new(&["l".into()], &["e".into()], 7);
        for k in 0..7 {
            for (role, body) in [(Role::Lmcache, &lm), (Role::Engine, &en)] {
                let _ = m.apply(kvscope::vocab::Event::Scrape {
                    target: kvscope::vocab::TargetRef { role, index: 0 },
                    time: Some(T0 + k as f64 * INTERVAL),
                    body: body.clone(),
                    format: None,
                    origin: "bench".into(),
                });
            }
        }
        eprintln!(
            "one box's model of the same two targets holds {} KiB",
            (live() - before) >> 10
        );
        drop(m);
    }
    let mut g = c.benchmark_group("fleet");
    g.sample_size(10);
    for n in [50, 500] {
        let first = sim.answers(n, 0, 5);
        let bytes: usize = first.iter().map(Vec::len).sum();
        eprintln!("{n} instances: first answers {} MiB", bytes >> 20);
        g.bench_with_input(BenchmarkId::new("first_refresh", n), &n, |b, &n| {
            b.iter(|| {
                let mut f = sim.fleet();
                sim.refresh(&mut f, n, &first, T0 + 4.0 * INTERVAL)
                    .rows
                    .len()
            })
        });
        // Steady state: the fleet holds its window; each refresh brings one more scrape.
        let mut fleet = sim.fleet();
        let before = live();
        sim.refresh(&mut fleet, n, &first, T0 + 4.0 * INTERVAL);
        let mut k = 5;
        for _ in 0..5 {
            let next = sim.answers(n, k, k + 1);
            sim.refresh(&mut fleet, n, &next, T0 + k as f64 * INTERVAL);
            k += 1;
        }
        let held = live().saturating_sub(before);
        eprintln!(
            "{n} instances: the fleet holds {} KiB for its window ({} KiB per instance)",
            held >> 10,
            (held / n) >> 10
        );
        // Where a later refresh's time goes, once.
        let next = sim.answers(n, k, k + 1);
        let t = std::time::Instant::now();
        let mut series = Vec::new();
        for a in &next {
            series.extend(promapi::matrix(200, a).unwrap().0);
        }
        let decoded = t.elapsed();
        fleet.apply(Read {
            found: sim.found(n),
            health: None,
            series,
            time: T0 + k as f64 * INTERVAL,
        });
        let applied = t.elapsed() - decoded;
        let _ = FleetPicture::of(
            &kvscope::fleet::table::Table::of_fleet(&fleet),
            Refresh::default(),
            T0 + k as f64 * INTERVAL,
        );
        let pictured = t.elapsed() - decoded - applied;
        k += 1;
        eprintln!(
            "{n} instances, a later refresh: decoding {decoded:?}, taking in {applied:?}, analysing {pictured:?}"
        );
        let next_bytes: usize = sim.answers(n, k, k + 1).iter().map(Vec::len).sum();
        eprintln!(
            "{n} instances: a later refresh's answers {} MiB",
            next_bytes >> 20
        );
        g.bench_with_input(BenchmarkId::new("next_refresh", n), &n, |b, &n| {
            b.iter_custom(|iters| {
                let mut spent = std::time::Duration::ZERO;
                for _ in 0..iters {
                    let next = sim.answers(n, k, k + 1);
                    let at = std::time::Instant::now();
                    sim.refresh(&mut fleet, n, &next, T0 + k as f64 * INTERVAL);
                    spent += at.elapsed();
                    k += 1;
                }
                spent
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
