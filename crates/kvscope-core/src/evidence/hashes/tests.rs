//! Placing a carried lookup-hash log on a timeline: on a real run's log and capture times,
//! and on hand-made edge cases.

use super::placed;

const RUN: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../fixtures/lmcache-0.5.6-capacity/l1-1gib"
);

/// The lookup-hash log of the run in `dir` (its `lookup_hashes/` holds one file).
fn log_of(dir: &str) -> Vec<u8> {
    let sub = std::path::Path::new(dir).join("lookup_hashes");
    let file = std::fs::read_dir(sub)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::read(file).unwrap()
}

/// The real 1 GiB run: its log against its own capture times. Every byte is placed once, in
/// order; each part's lines were written after the time before its own and by its own.
#[test]
fn a_real_log_is_cut_at_the_capture_times_its_lines_fall_between() {
    let log = log_of(RUN);
    let index = std::fs::read_to_string(format!("{RUN}/metrics_index.tsv")).unwrap();
    let times: Vec<f64> = index
        .lines()
        .skip(1)
        .map(|l| crate::timefmt::parse_rfc3339(l.split('\t').nth(1).unwrap()).unwrap())
        .collect();
    let parts = placed(&log, &times);
    let whole: Vec<u8> = parts
        .iter()
        .flat_map(|(_, r)| log[r.clone()].to_vec())
        .collect();
    assert_eq!(whole, log, "every byte once, in order");
    assert!(parts.len() > 5, "the run's lookups span several scrapes");
    let mut before = f64::NEG_INFINITY;
    for (at, range) in &parts {
        let at = at.expect("the capture ran past the last lookup");
        for line in log[range.clone()]
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
        {
            let v: serde_json::Value = serde_json::from_slice(line).unwrap();
            let t = v["timestamp"].as_f64().unwrap();
            assert!(t > before && t <= at, "{t} not in ({before}, {at}]");
        }
        before = at;
    }
}

/// Hand-made: a line dated before one already placed stays after it; a line without a date
/// goes with the one before; lines after the last time are `None`; no times at all, one part.
#[test]
fn lines_keep_their_order_whatever_their_dates_say() {
    let log = b"{\"timestamp\": 5}\n{\"timestamp\": 15}\n{\"timestamp\": 9}\nnot json\n{\"timestamp\": 25}\n{\"timestamp\": 31}";
    let parts = placed(log, &[10.0, 20.0, 30.0]);
    let text = |r: &std::ops::Range<usize>| String::from_utf8(log[r.clone()].to_vec()).unwrap();
    let got: Vec<(Option<f64>, String)> = parts.iter().map(|(t, r)| (*t, text(r))).collect();
    assert_eq!(
        got,
        [
            (Some(10.0), "{\"timestamp\": 5}\n".to_string()),
            (
                Some(20.0),
                "{\"timestamp\": 15}\n{\"timestamp\": 9}\nnot json\n".to_string()
            ),
            (Some(30.0), "{\"timestamp\": 25}\n".to_string()),
            (None, "{\"timestamp\": 31}".to_string()),
        ]
    );
    assert_eq!(placed(log, &[]), [(None, 0..log.len())]);
    assert!(placed(b"", &[1.0]).is_empty());
}

/// SHARDS on real data: the 1 GiB Zipf run's log (866 distinct chunks) read with room for
/// only 500 keys is sampled (to a quarter, 201 keys), and its curve stays within its stated
/// error bound (1/√keys, 0.0705) of the exact curve at 40 sizes from one chunk to every chunk
/// held (measured: 0.0498).
#[test]
fn a_real_log_sampled_to_a_quarter_stays_within_its_error_bound() {
    let log = log_of(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/lmcache-0.5.6-capacity-zipf/l1-1gib"
    ));
    let read = |limit: usize| {
        let mut h = super::Hashlog::with_limit("lookup_hashes.jsonl", limit);
        h.push(&log);
        h.curves
    };
    let (exact, sampled) = (read(crate::capacity::EXACT_CHUNKS), read(500));
    assert_eq!(exact.distinct(), 866);
    assert!(sampled.rate() < 1.0, "sampled");
    let bound = 1.0 / (sampled.held() as f64).sqrt();
    let (e, s) = (exact.total(), sampled.total());
    let full = e.full().unwrap();
    let worst = (1..=40)
        .map(|i| full * f64::from(i) / 40.0)
        .map(|held| (e.hit_rate(held).unwrap() - s.hit_rate(held).unwrap()).abs())
        .fold(0.0, f64::max);
    eprintln!(
        "sampled at {:.3}, {} keys held: worst error {worst:.4}, bound {bound:.4}",
        sampled.rate(),
        sampled.held()
    );
    assert!(worst <= bound, "worst {worst} against bound {bound}");
}
