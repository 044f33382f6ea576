//! A target's series, read from Prometheus, rebuilt as the `/metrics` bodies it answered: one
//! per sample time, families with their types, buckets in `le` order.

use super::*;

/// Series Prometheus writes about its own scrape of a target (`up`, `scrape_*`): not part of
/// what the target answered.
pub const PROMETHEUS_OWN: &[&str] = &[
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
    "scrape_timeout_seconds",
    "scrape_sample_limit",
    "scrape_body_size_bytes",
];

/// One series as a line of a rebuilt body, with what orders it.
struct Row<'a> {
    /// The family's name without `_total` or `_created`: a family and its `_created` companion
    /// share it.
    stem: &'a str,
    created: bool,
    family: &'a str,
    kind: Kind,
    name: &'a str,
    /// Where in the arena its labels are, as written: `{k="v",…}` or nothing.
    labels: std::ops::Range<usize>,
    /// Where its labels other than `le` are, for keeping a histogram's series together.
    others: std::ops::Range<usize>,
    le: f64,
    series: &'a Series,
}

impl<'a> Row<'a> {
    /// Series `s` as a row, its labels written into `arena`; `None` for Prometheus's own
    /// series and a series without a name.
    fn of(
        s: &'a Series,
        types: &'a Types,
        strip: &[String],
        arena: &mut String,
    ) -> Option<Row<'a>> {
        let name = s.label("__name__")?;
        if PROMETHEUS_OWN.contains(&name) {
            return None;
        }
        let (family, kind) = types.family(name);
        let mut le = f64::NEG_INFINITY;
        let kept = || {
            s.labels
                .iter()
                .filter(|(k, _)| &**k != "__name__" && !strip.iter().any(|x| **x == **k))
        };
        let others_start = arena.len();
        for (k, v) in kept().filter(|(k, _)| &**k != "le") {
            arena.push_str(k);
            arena.push('\0');
            arena.push_str(v);
            arena.push('\0');
        }
        let labels_start = arena.len();
        for (k, v) in kept() {
            if &**k == "le" {
                le = crate::expo::parse_number(v).unwrap_or(f64::NAN);
            }
            arena.push(if arena.len() == labels_start {
                '{'
            } else {
                ','
            });
            arena.push_str(k);
            arena.push_str("=\"");
            for c in v.chars() {
                match c {
                    '\\' => arena.push_str("\\\\"),
                    '"' => arena.push_str("\\\""),
                    '\n' => arena.push_str("\\n"),
                    c => arena.push(c),
                }
            }
            arena.push('"');
        }
        if arena.len() > labels_start {
            arena.push('}');
        }
        let (stem, created) = match family.strip_suffix("_created") {
            Some(s) => (s, true),
            None => (family.strip_suffix("_total").unwrap_or(family), false),
        };
        Some(Row {
            stem,
            created,
            family,
            kind,
            name,
            labels: labels_start..arena.len(),
            others: others_start..labels_start,
            le,
            series: s,
        })
    }
}

/// One target's series as the `/metrics` bodies it answered: one body per sample time (after
/// `after_ms`), oldest first. Families are written with their types; the labels Prometheus
/// attached (`strip`) are left out; a histogram's buckets go in `le` order.
pub fn bodies(
    series: &[&Series],
    types: &Types,
    strip: &[String],
    after_ms: i64,
) -> Vec<(i64, String)> {
    // Every row's written labels and its labels other than `le` live in one string, so a
    // body costs a few allocations, not two per series.
    let mut arena = String::new();
    let mut rows: Vec<Row> = series
        .iter()
        .filter_map(|s| Row::of(s, types, strip, &mut arena))
        .collect();
    // A family's lines together, a histogram's series by their labels other than `le`, its
    // buckets in `le` order. A `_created` family (prometheus_client declares one per counter
    // and histogram) follows its parent: the parser reads it as the parent's companion only
    // then.
    rows.sort_by(|a, b| {
        (
            a.stem,
            a.created,
            a.family,
            &arena[a.others.clone()],
            a.name,
        )
            .cmp(&(
                b.stem,
                b.created,
                b.family,
                &arena[b.others.clone()],
                b.name,
            ))
            .then_with(|| a.le.total_cmp(&b.le))
    });
    write(&rows, &arena, after_ms)
}

/// The bodies of `rows` (ordered) at each sample time after `after_ms`.
fn write(rows: &[Row], arena: &str, after_ms: i64) -> Vec<(i64, String)> {
    let mut times: Vec<i64> = rows
        .iter()
        .flat_map(|r| r.series.points.iter().map(|p| p.0))
        .filter(|t| *t > after_ms)
        .collect();
    times.sort_unstable();
    times.dedup();
    let mut cursors = vec![0usize; rows.len()];
    let mut out = Vec::with_capacity(times.len());
    for t in times {
        let mut body = String::new();
        let mut family = "";
        for (i, r) in rows.iter().enumerate() {
            let c = &mut cursors[i];
            let s = r.series;
            while s.points.get(*c).is_some_and(|p| p.0 < t) {
                *c += 1;
            }
            let Some(&(pt, v)) = s.points.get(*c) else {
                continue;
            };
            if pt != t {
                continue;
            }
            if r.family != family {
                family = r.family;
                body.push_str("# TYPE ");
                body.push_str(r.family);
                body.push(' ');
                body.push_str(r.kind.as_str());
                body.push('\n');
            }
            body.push_str(r.name);
            body.push_str(&arena[r.labels.clone()]);
            body.push(' ');
            push_value(&mut body, v);
            body.push('\n');
        }
        out.push((t, body));
    }
    out
}

fn push_value(out: &mut String, v: f64) {
    use std::fmt::Write;
    if v.is_nan() {
        out.push_str("NaN");
    } else if v == f64::INFINITY {
        out.push_str("+Inf");
    } else if v == f64::NEG_INFINITY {
        out.push_str("-Inf");
    } else {
        let _ = write!(out, "{v}");
    }
}
