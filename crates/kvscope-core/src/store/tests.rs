//! Store arithmetic on hand-made scrapes (edge cases: resets, restarts, lazy series,
//! duplicates). Real-capture figures are tested in `tests/report_real.rs`.

use super::points::{BLOCK, Points};
use super::series::ABSENT_BITS;
use super::*;
use crate::catalog;
use crate::expo::parse;
use crate::metric;

fn store_of(bodies: &[(&str, f64)]) -> TargetStore {
    let mut st = TargetStore::new("t", 100);
    for (b, t) in bodies {
        st.ingest(&parse(b.as_bytes()).unwrap(), Some(*t));
    }
    st
}

const C: &str = "# TYPE lmcache_mp_lookup_hit_tokens_total counter\n";

fn hits(st: &TargetStore) -> &Series {
    let m = catalog::lookup("lmcache_mp_lookup_hit_tokens_total").unwrap();
    st.series_of(m).next().unwrap()
}

#[test]
fn counter_drop_is_a_reset_not_a_negative_increase() {
    let st = store_of(&[
        (&format!("{C}lmcache_mp_lookup_hit_tokens_total 100\n"), 0.0),
        (
            &format!("{C}lmcache_mp_lookup_hit_tokens_total 150\n"),
            10.0,
        ),
        (&format!("{C}lmcache_mp_lookup_hit_tokens_total 20\n"), 20.0),
        (&format!("{C}lmcache_mp_lookup_hit_tokens_total 30\n"), 30.0),
    ]);
    assert_eq!(
        hits(&st).increase(0, 3, st.restarts()),
        Ok(Some(50.0 + 20.0 + 10.0))
    );
}

#[test]
fn changed_process_start_is_a_restart_even_when_the_counter_grew() {
    let p = |start: f64, v: f64| {
        format!("process_start_time_seconds {start}\n{C}lmcache_mp_lookup_hit_tokens_total {v}\n")
    };
    let st = store_of(&[(&p(1.0, 100.0), 0.0), (&p(2.0, 120.0), 10.0)]);
    assert_eq!(st.restarts(), vec![1]);
    assert_eq!(hits(&st).increase(0, 1, st.restarts()), Ok(Some(120.0)));
}

#[test]
fn restart_with_an_unchanged_value_still_counts() {
    let p = |start: f64, v: f64| {
        format!("process_start_time_seconds {start}\n{C}lmcache_mp_lookup_hit_tokens_total {v}\n")
    };
    let st = store_of(&[(&p(1.0, 100.0), 0.0), (&p(2.0, 100.0), 10.0)]);
    assert_eq!(hits(&st).increase(0, 1, st.restarts()), Ok(Some(100.0)));
}

#[test]
fn lazy_counter_absent_at_window_start_counts_from_zero() {
    let st = store_of(&[
        ("x 1\n", 0.0),
        (&format!("{C}lmcache_mp_lookup_hit_tokens_total 40\n"), 10.0),
    ]);
    assert_eq!(hits(&st).increase(0, 1, &[]), Ok(Some(40.0)));
    assert_eq!(hits(&st).value_at(0), None);
}

#[test]
fn series_absent_in_the_newest_scrape_has_no_value_there() {
    let st = store_of(&[
        ("lmcache_mp_num_inflight_l2_stores{l2_name=\"fs\"} 2\n", 0.0),
        ("other 1\n", 10.0),
    ]);
    let m = catalog::lookup("lmcache_mp_num_inflight_l2_stores").unwrap();
    let s = st.series_of(m).next().unwrap();
    assert_eq!(s.value_at(0), Some(2.0));
    assert_eq!(s.value_at(1), None);
    assert!(s.present_since(0));
}

/// Hand-written: one series twice in a scrape. Which value is right cannot be known, so the
/// value is a conflict (every figure resting on it is unknown) and a note names the series.
#[test]
fn duplicate_series_with_different_values_are_a_conflict() {
    let twice = |a: u32, b: u32| {
        format!(
            "{C}lmcache_mp_lookup_hit_tokens_total {a}\nlmcache_mp_lookup_hit_tokens_total {b}\n"
        )
    };
    // The first copy repeats the previous scrape's value (no new point), the second differs.
    let st = store_of(&[
        (&twice(1, 1), 0.0),
        (&twice(1, 2), 10.0),
        (&twice(3, 3), 20.0),
    ]);
    assert_eq!(st.scrapes()[0].duplicate_series, 1);
    assert_eq!(st.scrapes()[1].duplicate_series, 1);
    assert_eq!(
        hits(&st).checked_at(0),
        Ok(Some(1.0)),
        "equal copies are harmless"
    );
    assert_eq!(hits(&st).checked_at(1), Err(Problem::Conflict));
    assert_eq!(hits(&st).increase(0, 1, &[]), Err(Problem::Conflict));
    assert_eq!(
        hits(&st).increase(1, 2, &[]),
        Err(Problem::Conflict),
        "the window's base"
    );
    assert_eq!(hits(&st).checked_at(2), Ok(Some(3.0)));
    let notes = st.quality.all();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].subject, "lmcache_mp_lookup_hit_tokens_total");
    assert!(notes[0].problem.contains("more than once"));
}

/// Hand-written: values no counter can have are refused wherever a figure would use them.
#[test]
fn counters_that_are_infinite_nan_or_negative_are_problems() {
    let st = store_of(&[
        (&format!("{C}lmcache_mp_lookup_hit_tokens_total 5\n"), 0.0),
        (
            &format!("{C}lmcache_mp_lookup_hit_tokens_total +Inf\n"),
            10.0,
        ),
        (
            &format!("{C}lmcache_mp_lookup_hit_tokens_total -50\n"),
            20.0,
        ),
        (
            &format!("{C}lmcache_mp_lookup_hit_tokens_total NaN\n"),
            30.0,
        ),
        (&format!("{C}lmcache_mp_lookup_hit_tokens_total 7\n"), 40.0),
    ]);
    let h = hits(&st);
    assert_eq!(h.checked_at(1), Err(Problem::NotFinite(f64::INFINITY)));
    assert_eq!(h.checked_at(2), Err(Problem::Negative(-50.0)));
    assert!(matches!(h.checked_at(3), Err(Problem::NotFinite(v)) if v.is_nan()));
    assert!(h.increase(0, 4, &[]).is_err());
    assert_eq!(
        h.increase(3, 4, &[]).map_err(|p| p.kind()),
        Err("not_finite")
    );
    assert_eq!(h.checked_at(4), Ok(Some(7.0)), "the newest value is fine");
    let kinds: Vec<&str> = st.quality.all().iter().map(|n| &*n.problem).collect();
    assert_eq!(kinds.len(), 2, "{kinds:?}");
    assert!(
        kinds[0].contains("+Inf") || kinds[0].contains("NaN"),
        "{kinds:?}"
    );
    assert!(
        kinds.iter().any(|k| k.contains("negative (-50)")),
        "{kinds:?}"
    );
}

#[test]
fn label_order_does_not_split_series() {
    let st = store_of(&[
        (
            "lmcache_mp_lookup_hit_tokens_total{a=\"1\",b=\"2\"} 1\n",
            0.0,
        ),
        (
            "lmcache_mp_lookup_hit_tokens_total{b=\"2\",a=\"1\"} 5\n",
            10.0,
        ),
    ]);
    assert_eq!(st.series().len(), 1);
    assert_eq!(hits(&st).increase(0, 1, &[]), Ok(Some(4.0)));
}

#[test]
fn window_picks_the_newest_scrape_at_or_before_the_cutoff() {
    let st = store_of(&[
        ("x 1\n", 0.0),
        ("x 1\n", 30.0),
        ("x 1\n", 45.0),
        ("x 1\n", 100.0),
    ]);
    assert_eq!(st.window(60.0), Ok(Span::Window { from: 1, to: 3 }));
    assert_eq!(st.window(1000.0), Ok(Span::Window { from: 0, to: 3 }));
    assert_eq!(st.span_seconds(Span::Window { from: 1, to: 3 }), Some(70.0));
}

#[test]
fn window_needs_times_and_two_scrapes() {
    let mut st = TargetStore::new("t", 10);
    assert_eq!(st.window(60.0), Err("no samples".into()));
    st.ingest(&parse(b"x 1\n").unwrap(), None);
    assert!(st.window(60.0).unwrap_err().contains("FILE@TIME"));
}

#[test]
fn history_is_bounded_and_keeps_the_baseline() {
    let mut st = TargetStore::new("t", 3);
    for i in 0..1000 {
        let b = format!("{C}lmcache_mp_lookup_hit_tokens_total {}\n", i * 10);
        st.ingest(&parse(b.as_bytes()).unwrap(), Some(i as f64));
    }
    assert_eq!(st.scrapes().len(), 3);
    // Whole blocks are dropped: at most one block beyond the window is kept.
    assert!(hits(&st).points.len() <= 3 + usize::from(BLOCK));
    assert_eq!(hits(&st).increase(997, 999, &[]), Ok(Some(20.0)));
    assert_eq!(hits(&st).value_at(997), Some(9970.0));
}

#[test]
fn histogram_window_mean_and_quantiles() {
    let h = |c: [f64; 3], sum: f64| {
        format!(
            "# TYPE lmcache_mp_l2_load_throughput_GB_per_second histogram\n\
             lmcache_mp_l2_load_throughput_GB_per_second_bucket{{l2_name=\"fs\",le=\"1.0\"}} {}\n\
             lmcache_mp_l2_load_throughput_GB_per_second_bucket{{l2_name=\"fs\",le=\"5.0\"}} {}\n\
             lmcache_mp_l2_load_throughput_GB_per_second_bucket{{l2_name=\"fs\",le=\"+Inf\"}} {}\n\
             lmcache_mp_l2_load_throughput_GB_per_second_count{{l2_name=\"fs\"}} {}\n\
             lmcache_mp_l2_load_throughput_GB_per_second_sum{{l2_name=\"fs\"}} {sum}\n",
            c[0], c[1], c[2], c[2]
        )
    };
    let st = store_of(&[
        (&h([1.0, 1.0, 1.0], 0.5), 0.0),
        (&h([1.0, 5.0, 5.0], 12.5), 10.0),
    ]);
    let m = catalog::lookup("lmcache_mp_l2_load_throughput_GB_per_second").unwrap();
    let w = st
        .histogram(m, Span::Window { from: 0, to: 1 }, |_| true)
        .unwrap()
        .unwrap();
    assert_eq!(w.count, 4.0);
    assert_eq!(w.mean(), Some(3.0));
    // All four window observations sit in (1, 5]: the median interpolates to 3.
    assert_eq!(w.quantile(0.5), Some(3.0));
    let all = st
        .histogram(m, Span::SinceStart { at: 1 }, |_| true)
        .unwrap()
        .unwrap();
    assert_eq!(all.count, 5.0);
}

/// Hand-written broken histograms: each is refused with a reason naming it, never a quantile
/// or mean that looks real.
#[test]
fn histograms_that_cannot_be_read_say_why() {
    let m = catalog::lookup("lmcache_mp_l2_load_throughput_GB_per_second").unwrap();
    let h = |lines: &str| {
        let body = format!(
            "# TYPE lmcache_mp_l2_load_throughput_GB_per_second histogram\n{}",
            lines
                .lines()
                .map(|l| format!("lmcache_mp_l2_load_throughput_GB_per_second{}\n", l.trim()))
                .collect::<String>()
        );
        let st = store_of(&[(&body, 0.0)]);
        st.histogram(m, Span::SinceStart { at: 0 }, |_| true)
    };
    let ok = h(r#"_bucket{le="1"} 1
        _bucket{le="+Inf"} 2
        _count 2
        _sum 3"#);
    assert_eq!(ok.unwrap().unwrap().mean(), Some(1.5));
    for (lines, why) in [
        (
            r#"_bucket{le="1"} 5
            _bucket{le="2"} 3
            _bucket{le="+Inf"} 5
            _count 5
            _sum 4"#,
            "not cumulative",
        ),
        (
            r#"_bucket{le="1"} 1
            _bucket{le="2"} 2
            _count 2
            _sum 3"#,
            "no +Inf bucket",
        ),
        (
            r#"_bucket{le="abc"} 1
            _bucket{le="+Inf"} 2
            _count 2
            _sum 3"#,
            "le) that is not a number",
        ),
        (
            r#"_bucket{le="1"} 1
            _bucket{le="+Inf"} 2
            _count 2
            _sum -5"#,
            "negative (-5)",
        ),
        (
            r#"_bucket{le="1"} 1
            _bucket{le="+Inf"} 2
            _count 3
            _sum 3"#,
            "differs from the +Inf bucket",
        ),
        (
            r#"_bucket{le="1"} 1
            _bucket{le="+Inf"} +Inf
            _count 2
            _sum 3"#,
            "+Inf, not a number",
        ),
    ] {
        let e = h(lines).expect_err(why);
        assert!(e.contains(why), "{why}: {e}");
        assert!(
            e.contains("lmcache_mp_l2_load_throughput_GB_per_second"),
            "{e}"
        );
    }
}

#[test]
fn merged_histograms_with_different_bounds_stay_cumulative() {
    let mut a = HistogramWindow {
        count: 2.0,
        sum: 3.0,
        buckets: vec![(1.0, 1.0), (f64::INFINITY, 2.0)],
    };
    let b = HistogramWindow {
        count: 4.0,
        sum: 8.0,
        buckets: vec![(2.0, 3.0), (f64::INFINITY, 4.0)],
    };
    a.merge(&b);
    assert_eq!(a.buckets, [(1.0, 1.0), (2.0, 4.0), (f64::INFINITY, 6.0)]);
    assert_eq!(a.count, 6.0);
}

#[test]
fn quantile_in_the_inf_bucket_is_the_highest_finite_bound() {
    assert_eq!(
        quantile(0.99, &[(1.0, 0.0), (5.0, 1.0), (f64::INFINITY, 10.0)]),
        Some(5.0)
    );
    assert_eq!(quantile(0.5, &[(f64::INFINITY, 0.0)]), None);
}

#[test]
fn a_repeated_timestamped_observation_is_not_new_data() {
    let mut st = TargetStore::new("t", 10);
    let body = format!("{C}lmcache_mp_lookup_hit_tokens_total 5 1700000000000\n");
    for wall in [1.8e9, 1.8e9 + 10.0, 1.8e9 + 20.0] {
        st.ingest(&parse(body.as_bytes()).unwrap(), Some(wall));
    }
    assert_eq!(st.scrapes().len(), 1);
    assert_eq!(st.repeats, 2);
    assert_eq!(st.newest().unwrap().time, Some(1_700_000_000.0));
    assert!(st.window(60.0).unwrap_err().contains("one observation"));
    let newer = format!("{C}lmcache_mp_lookup_hit_tokens_total 9 1700000005000\n");
    st.ingest(&parse(newer.as_bytes()).unwrap(), Some(1.8e9 + 30.0));
    assert_eq!(st.scrapes().len(), 2);
    assert_eq!(hits(&st).increase(0, 1, &[]), Ok(Some(4.0)));
}

/// The compressed change points agree with a plain list on every lookup, for awkward values
/// (fractions, negatives, infinities, the absent marker, repeats) and gaps of any size.
#[test]
fn compressed_points_match_a_plain_list() {
    let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    for round in 0..40 {
        let mut p = Points::default();
        let mut plain: Vec<(u64, f64)> = Vec::new();
        let mut seq = next() % 1000;
        for _ in 0..(round * 17 + 5) {
            let v = match next() % 8 {
                0 => f64::from_bits(ABSENT_BITS),
                1 => -((next() % 1000) as f64) / 7.0,
                2 => f64::INFINITY,
                3 => plain.last().map_or(1.0, |l| l.1),
                4 => (next() % 100_000) as f64,
                5 => f64::from_bits(next()),
                _ => plain.last().map_or(0.0, |l| l.1) + (next() % 512) as f64,
            };
            if next() % 5 == 0 && !plain.is_empty() {
                p.set_last_value(v);
                plain.last_mut().unwrap().1 = v;
            } else {
                seq += 1 + next() % if next() % 9 == 0 { 1 << 20 } else { 3 };
                p.push_back((seq, v));
                plain.push((seq, v));
            }
        }
        let same = |a: Option<f64>, b: Option<f64>| a.map(f64::to_bits) == b.map(f64::to_bits);
        for (k, &(s, _)) in plain.iter().enumerate() {
            for probe in [s.saturating_sub(1), s, s + 1] {
                let want = plain.iter().rev().find(|q| q.0 <= probe).map(|q| q.1);
                assert!(same(p.value_at(probe), want), "round {round} at {probe}");
                // Every point as a start is quadratic: every 8th, and the first and last few.
                if k % 8 != 0 && k > 2 && k + 3 < plain.len() {
                    continue;
                }
                let got: Vec<(u64, u64)> = p.after(probe).map(|(s, v)| (s, v.to_bits())).collect();
                let want: Vec<(u64, u64)> = plain
                    .iter()
                    .filter(|q| q.0 > probe)
                    .map(|q| (q.0, q.1.to_bits()))
                    .collect();
                assert_eq!(got, want, "round {round} after {probe}");
            }
        }
        assert_eq!(p.len(), plain.len());
    }
}

#[test]
fn one_pass_increases_agree_with_increase_on_the_real_timeline() {
    let mut st = TargetStore::new("run1", 64);
    // The real LMCache 0.5.6 timeline, as the bundled recording holds it.
    let (events, _) = crate::demo::recorded(31);
    let scrapes: Vec<(&[u8], Option<f64>)> = events
        .iter()
        .filter_map(|e| match e {
            crate::vocab::Event::Scrape {
                target, body, time, ..
            } if target.role == crate::vocab::Role::Lmcache => Some((body.as_slice(), *time)),
            _ => None,
        })
        .collect();
    assert_eq!(scrapes.len(), 32);
    // The timeline twice: counters drop to their first values, a reset.
    for (k, (body, time)) in scrapes.iter().chain(scrapes.iter()).enumerate() {
        st.ingest(&parse(body).unwrap(), time.map(|t| t + k as f64 * 1000.0));
    }
    let restarts = st.restarts();
    let seqs: Vec<u64> = st.scrapes().iter().map(|s| s.seq).collect();
    let mut checked = 0;
    for s in st.series() {
        let one_pass = s.increases(&seqs, restarts);
        for (k, w) in seqs.windows(2).enumerate() {
            assert_eq!(
                one_pass[k],
                s.increase(w[0], w[1], restarts),
                "{}",
                s.family
            );
            checked += 1;
        }
    }
    assert!(checked > 10_000, "{checked}");
}

/// Hand-written label churn: a new cache_salt every scrape. Series gone from every retained
/// scrape are dropped, so memory follows the history, and the figures do not change.
#[test]
fn series_that_left_the_history_are_pruned() {
    let mut st = TargetStore::new("churn", 8);
    for i in 0..2000 {
        let b = format!(
            "{C}lmcache_mp_lookup_hit_tokens_total{{cache_salt=\"tenant-{i}\"}} 5\n\
             lmcache_mp_lookup_hit_tokens_total{{cache_salt=\"steady\"}} {}\n",
            i * 2
        );
        st.ingest(&parse(b.as_bytes()).unwrap(), Some(i as f64));
    }
    assert!(st.series().len() < 8 + 64 + 2, "{}", st.series().len());
    assert!(st.pruned > 1900, "{}", st.pruned);
    let newest = st.newest().unwrap().seq;
    let steady: Vec<&Series> = st
        .series()
        .iter()
        .filter(|s| s.label("cache_salt") == Some("steady"))
        .collect();
    assert_eq!(steady.len(), 1);
    assert_eq!(steady[0].value_at(newest), Some(3998.0));
    assert_eq!(steady[0].increase(newest - 5, newest, &[]), Ok(Some(10.0)));
    // The lookup index follows the renumbering.
    let m = metric!("lmcache_mp.lookup", "hit_tokens");
    let live: Vec<&Series> = st.series_of(m).collect();
    assert!(
        live.iter()
            .any(|s| s.label("cache_salt") == Some("tenant-1999"))
    );
    assert_eq!(live.len(), st.series().len());
}

/// Hand-written hostile label values: a value holding what separates labels in the series key
/// must not make two label sets one series.
#[test]
fn label_values_cannot_forge_another_label_set() {
    let st = store_of(&[(
        "lmcache_mp_lookup_hit_tokens_total{a=\"1\\u0000b=2\"} 1\n\
         lmcache_mp_lookup_hit_tokens_total{a=\"1\",b=\"2\"} 2\n\
         lmcache_mp_lookup_hit_tokens_total{a=\"1\u{0}b=2\"} 3\n",
        0.0,
    )]);
    assert_eq!(st.series().len(), 3);
    assert_eq!(st.newest().unwrap().duplicate_series, 0);
}

/// Hand-written label churn inside the history: 60 new tenants every scrape. Past the cap,
/// series no longer exported go early (noted), so memory does not follow the churn.
#[test]
fn churn_beyond_the_cap_is_dropped_early_and_noted() {
    let mut st = TargetStore::new("churn", 1000);
    st.max_series = 100;
    for k in 0..20 {
        let mut b = String::from(C);
        for i in 0..60 {
            b.push_str(&format!(
                "lmcache_mp_lookup_hit_tokens_total{{cache_salt=\"t{k}-{i}\"}} 1\n"
            ));
        }
        st.ingest(&parse(b.as_bytes()).unwrap(), Some(k as f64));
        assert!(st.series().len() <= 160, "{}", st.series().len());
    }
    assert!(st.pruned >= 19 * 60 - 100, "{}", st.pruned);
    assert!(
        st.quality
            .all()
            .iter()
            .any(|n| n.subject == "label churn" && n.problem.contains("more than 100 series"))
    );
}

/// `increase` subtracts when nothing irregular lies in the span and walks the points
/// otherwise: over every span of many hand-made histories (growth, repeats, drops, absences,
/// duplicates that disagree, +Inf and negative values, restarts), it equals the walk itself
/// (`increases` over the two ends, which always walks).
#[test]
fn increase_by_subtraction_equals_the_walk() {
    // The same histories on every run.
    let mut g = crate::testgen::Gen::new(0x2545_f491_4f6c_dd1d);
    let mut next = move |n: usize| g.below(n);
    for _ in 0..300 {
        let mut value = 0.0;
        let mut bodies = Vec::new();
        let mut start = 1.8e9;
        for i in 0..40 {
            let body = match next(20) {
                0 => String::from("other_metric 1\n"),
                1 => {
                    value = next(50) as f64;
                    format!("{C}lmcache_mp_lookup_hit_tokens_total {value}\n")
                }
                2 => format!("{C}lmcache_mp_lookup_hit_tokens_total +Inf\n"),
                3 => format!("{C}lmcache_mp_lookup_hit_tokens_total -4\n"),
                4 => format!(
                    "{C}lmcache_mp_lookup_hit_tokens_total {value}\nlmcache_mp_lookup_hit_tokens_total {}\n",
                    value + 1.0
                ),
                5 => {
                    start += 100.0;
                    format!(
                        "process_start_time_seconds {start}\n{C}lmcache_mp_lookup_hit_tokens_total {value}\n"
                    )
                }
                k => {
                    value += (k % 4) as f64 * 7.0;
                    format!(
                        "process_start_time_seconds {start}\n{C}lmcache_mp_lookup_hit_tokens_total {value}\n"
                    )
                }
            };
            bodies.push((body, i as f64));
        }
        let refs: Vec<(&str, f64)> = bodies.iter().map(|(b, t)| (b.as_str(), *t)).collect();
        let st = store_of(&refs);
        let m = catalog::lookup("lmcache_mp_lookup_hit_tokens_total").unwrap();
        let Some(s) = st.series_of(m).next() else {
            continue;
        };
        let restarts = st.restarts();
        let seqs: Vec<u64> = st.scrapes().iter().map(|x| x.seq).collect();
        for (i, &from) in seqs.iter().enumerate() {
            for &to in &seqs[i..] {
                let walked = s.increases(&[from, to], restarts).remove(0);
                let fast = s.increase(from, to, restarts);
                let same = match (fast, walked) {
                    (Ok(Some(a)), Ok(Some(b))) => (a - b).abs() < 1e-9,
                    (a, b) => a == b,
                };
                assert!(same, "{from}..{to}: {fast:?} vs {walked:?}\n{bodies:?}");
            }
        }
    }
}
