//! Parses a metrics file many times: a steady workload for profilers (callgrind, perf).
//! Usage: cargo run --release --example parse_loop -- FILE [ITERATIONS]

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: parse_loop FILE [ITERATIONS]");
    let n: usize = args
        .next()
        .map_or(1000, |s| s.parse().expect("ITERATIONS is a number"));
    let body = std::fs::read(&path).expect("readable file");
    let mut samples = 0;
    for _ in 0..n {
        samples += kvscope::expo::parse(std::hint::black_box(&body))
            .expect("parses")
            .samples
            .len();
    }
    println!("{samples} samples in {n} parses");
}
