//! Parser speed on the real packet_a vLLM scrape (≈51 KB), against the two crates kvscope does
//! not use, a memchr line-split floor, and a 16,000-series single family for linearity.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn vllm_scrape() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/packet_a/vllm_metrics_loaded.prom"
    ))
    .unwrap()
}

/// One gauge family with `n` series (hand-made: linearity check only).
fn wide_family(n: usize) -> String {
    let mut s = String::from("# HELP wide a wide family\n# TYPE wide gauge\n");
    for i in 0..n {
        s.push_str(&format!(
            "wide{{model_name=\"m\",cache_salt=\"tenant-{i}\",worker_id=\"{}\"}} {i}.5\n",
            i % 8
        ));
    }
    s
}

fn parsers(c: &mut Criterion) {
    let body = vllm_scrape();
    let mut g = c.benchmark_group("parse_packet_a_vllm");
    g.throughput(Throughput::Bytes(body.len() as u64));
    g.bench_function("kvscope_expo", |b| {
        b.iter(|| {
            kvscope::expo::parse(black_box(body.as_bytes()))
                .unwrap()
                .samples
                .len()
        })
    });
    g.bench_function("prometheus_parse", |b| {
        b.iter(|| {
            let lines = black_box(&body).lines().map(|l| Ok(l.to_string()));
            prometheus_parse::Scrape::parse(lines)
                .unwrap()
                .samples
                .len()
        })
    });
    g.bench_function("openmetrics_parser", |b| {
        b.iter(|| {
            openmetrics_parser::prometheus::parse_prometheus(black_box(&body))
                .map(|e| e.families.len())
                .unwrap_or(0)
        })
    });
    // Floors: counting newlines, and splitting into line slices (touching each line's ends).
    g.bench_function("memchr_newline_count", |b| {
        b.iter(|| memchr::memchr_iter(b'\n', black_box(body.as_bytes())).count())
    });
    g.bench_function("memchr_line_split_floor", |b| {
        b.iter(|| {
            let bytes = black_box(body.as_bytes());
            let (mut start, mut acc) = (0usize, 0usize);
            for end in memchr::memchr_iter(b'\n', bytes) {
                let line = &bytes[start..end];
                acc += line.len()
                    + usize::from(line.first().copied().unwrap_or(0))
                    + usize::from(line.last().copied().unwrap_or(0));
                start = end + 1;
            }
            acc
        })
    });
    g.finish();

    let mut g = c.benchmark_group("parse_wide_family");
    for n in [1_000usize, 4_000, 16_000] {
        let wide = wide_family(n);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(format!("{n}_series"), |b| {
            b.iter(|| {
                kvscope::expo::parse(black_box(wide.as_bytes()))
                    .unwrap()
                    .samples
                    .len()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, parsers);
criterion_main!(benches);
