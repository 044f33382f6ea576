//! Ingesting a scrape into a target's store: the observation time, restarts, change points,
//! duplicates and absences; then trimming to the history and pruning series gone from it.

use std::fmt::Write;

use super::series::{Problem, Series, check};
use super::{DeclaredFamily, FUTURE_SLACK, ScrapeMeta, TargetStore};
use crate::catalog::{self, MetricKind, MetricRef};
use crate::expo::{Kind, Part, Sample, Scrape};

impl TargetStore {
    /// Adds one parsed scrape taken at `time`.
    ///
    /// When every sample carries a timestamp, that is the observation time; a scrape repeating
    /// the newest observation (same timestamps) is counted in [`TargetStore::repeats`] and not
    /// stored again, so a frozen exporter shows no invented motion. Sample timestamps later
    /// than the scrape time (or, for a file without one, than the clock) by more than
    /// [`FUTURE_SLACK`] are not believed: the scrape time is used and a note says so.
    pub fn ingest(&mut self, scrape: &Scrape<'_>, time: Option<f64>) -> &ScrapeMeta {
        let (observed, future) = believed_observation(scrape, time);
        if let (Some(o), Some(newest)) = (observed, self.scrapes.back())
            && newest.observed == Some(o)
        {
            self.repeats += 1;
            return self.scrapes.back().expect("checked");
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.spelling = crate::catalog::Spelling::of(scrape.families.iter().map(|f| f.name));
        let time = self.scrape_time(seq, observed.or(time), future);
        let process_start = scrape
            .data_samples()
            .find(|s| s.name == "process_start_time_seconds")
            .map(|s| s.value)
            .filter(|v| v.is_finite());
        let before = self.scrapes.back().and_then(|p| p.process_start);
        let restarted = matches!((before, process_start), (Some(a), Some(b)) if a != b);
        let (mut samples, mut duplicates) = (0, 0);
        for s in scrape.data_samples() {
            samples += 1;
            duplicates += u32::from(self.record(scrape, s, seq, time, restarted));
        }
        for series in &mut self.series {
            series.mark_absent_unless_seen(seq);
        }
        self.declare(scrape);
        if restarted {
            self.restarts.push(seq);
        }
        self.scrapes.push_back(ScrapeMeta {
            seq,
            time,
            process_start,
            restarted,
            samples,
            parse_errors: scrape.error_count,
            first_errors: scrape.errors.clone(),
            duplicate_series: duplicates,
            observed,
        });
        self.trim();
        self.scrapes.back().expect("just pushed")
    }

    /// The time scrape `seq` is stored at: `time`, unless it runs backwards (then the previous
    /// scrape's: windows and rates rest on time never running backwards). Notes both that and
    /// sample timestamps `future` seconds ahead that were not believed.
    fn scrape_time(&mut self, seq: u64, time: Option<f64>, future: Option<f64>) -> Option<f64> {
        if let Some(ahead) = future {
            self.quality.add(
                "sample timestamps",
                "future_timestamps",
                format!(
                    "lie {ahead:.0} s after the scrape time; kvscope used the scrape time instead"
                ),
                seq,
                time,
            );
        }
        let prev = self.scrapes.back().and_then(|s| s.time);
        let (Some(t), Some(prev)) = (time, prev) else {
            return time;
        };
        if t >= prev {
            return time;
        }
        self.quality.add(
            "scrape times",
            "time_backwards",
            format!(
                "a scrape is {:.3} s older than the one before; kvscope gave it the earlier scrape's time",
                prev - t
            ),
            seq,
            Some(prev),
        );
        Some(prev)
    }

    /// Records one sample of scrape `seq`, noting values a figure cannot use. Whether it was a
    /// second sample of a series already in this scrape (which value is right cannot be known:
    /// when they disagree the value becomes a conflict).
    fn record(
        &mut self,
        scrape: &Scrape<'_>,
        s: &Sample<'_>,
        seq: u64,
        time: Option<f64>,
        restarted: bool,
    ) -> bool {
        let id = self.series_id(scrape, s, seq, time) as usize;
        let series = &mut self.series[id];
        let duplicate = series.last_seen == seq;
        let problem = if duplicate {
            series
                .record_duplicate(seq, s.value)
                .then_some(Problem::Conflict)
        } else {
            series.record(seq, s.value, restarted);
            check(s.value, series.check()).err()
        };
        if let Some(p) = problem
            && series.metric.is_some()
        {
            let subject = series.describe();
            self.quality
                .add(subject, p.kind(), p.to_string(), seq, time);
        }
        duplicate
    }

    /// The families the newest scrape declares, with their data-sample counts.
    fn declare(&mut self, scrape: &Scrape<'_>) {
        // Scrapes of one target declare the same families in the same order, mostly: a name
        // where it was last time keeps its resolved metric.
        let before = std::mem::take(&mut self.declared);
        self.declared = scrape
            .families
            .iter()
            .enumerate()
            .map(|(i, f)| DeclaredFamily {
                name: f.name.into(),
                kind: f.kind,
                metric: match before.get(i) {
                    Some(d) if *d.name == *f.name && d.kind == f.kind => d.metric,
                    _ => crate::catalog::declared_metric(f.name, f.kind, self.spelling),
                },
                samples: 0,
            })
            .collect();
        for s in scrape.data_samples() {
            self.declared[s.family as usize].samples += 1;
        }
    }

    fn trim(&mut self) {
        while self.scrapes.len() > self.capacity {
            self.scrapes.pop_front();
        }
        let Some(oldest) = self.scrapes.front().map(|s| s.seq) else {
            return;
        };
        self.restarts.retain(|r| *r >= oldest);
        for series in &mut self.series {
            series.trim(oldest);
        }
        self.quality.trim(oldest);
        // Series absent from every retained scrape (label churn: a tenant, model or adapter
        // gone) change no figure; dropping them keeps memory bounded by the history.
        let dead = self.series.iter().filter(|s| s.last_seen < oldest).count();
        if dead >= 64 || (dead > 0 && dead * 4 >= self.series.len()) {
            self.prune(oldest);
        }
        // Label churn within the history: series no longer exported add nothing to any
        // figure now (only to past sparkline intervals), so past the cap they go early.
        if self.series.len() > self.max_series
            && let Some(newest) = self.scrapes.back().map(|s| s.seq)
        {
            let before = self.pruned;
            self.prune(newest);
            self.quality.add(
                "label churn",
                "churn",
                format!(
                    "more than {} series retained: {} no longer exported were dropped before their history ended",
                    self.max_series,
                    self.pruned - before
                ),
                newest,
                self.scrapes.back().and_then(|s| s.time),
            );
        }
    }

    /// Removes series last seen before `oldest` and renumbers the indexes.
    fn prune(&mut self, oldest: u64) {
        let mut remap = Vec::with_capacity(self.series.len());
        let mut next = 0u32;
        for s in &self.series {
            if s.last_seen < oldest {
                remap.push(None);
            } else {
                remap.push(Some(next));
                next += 1;
            }
        }
        self.series.retain(|s| s.last_seen >= oldest);
        self.by_key.retain(|_, id| match remap[*id as usize] {
            Some(n) => {
                *id = n;
                true
            }
            None => false,
        });
        for ids in self.by_metric.values_mut() {
            ids.retain_mut(|id| match remap[*id as usize] {
                Some(n) => {
                    *id = n;
                    true
                }
                None => false,
            });
        }
        self.by_metric.retain(|_, ids| !ids.is_empty());
        // A family name nobody holds any more (its last series pruned).
        self.families
            .retain(|f| std::sync::Arc::strong_count(f) > 1);
        self.pruned += remap.iter().filter(|r| r.is_none()).count() as u64;
    }

    /// The series a sample belongs to, created on first sight (scrape `seq` at `time`, for
    /// a note when a bucket's bound is not a number).
    fn series_id(
        &mut self,
        scrape: &Scrape<'_>,
        s: &Sample<'_>,
        seq: u64,
        time: Option<f64>,
    ) -> u32 {
        self.fill_key(scrape, s);
        if let Some(&id) = self.by_key.get(self.key_buf.as_str()) {
            return id;
        }
        let fam = scrape.family(s);
        let (metric, part) = resolve_metric(fam.name, fam.kind, s.name, s.part, self.spelling);
        let labels = scrape.labels(s);
        let owned: Box<[(Box<str>, Box<str>)]> = self
            .order_buf
            .iter()
            .map(|&i| {
                let l = &labels[i as usize];
                (Box::from(l.name), Box::from(l.value().as_ref()))
            })
            .collect();
        let le_label = owned.iter().find(|(k, _)| &**k == "le");
        let le = le_label
            .filter(|_| part == Part::Bucket)
            .and_then(|(_, v)| crate::expo::parse_number(v));
        if part == Part::Bucket && le.is_none() && metric.is_some() {
            let (k, v) = le_label.map_or(("le", "(no le label)"), |(k, v)| (&**k, &**v));
            self.quality.add(
                format!("{}_bucket{{{k}=\"{v}\"}}", strip_part(s.name)),
                "bad_le",
                "its bucket bound (le) is not a number; the histogram cannot be read".into(),
                seq,
                time,
            );
        }
        let family_name = match (metric, fam.kind) {
            (Some(_), Kind::Unknown) if part != s.part => strip_part(s.name),
            _ => fam.name,
        };
        let family = self.family_name(family_name);
        let id = self.series.len() as u32;
        self.series
            .push(Series::new(family, part, owned, le, metric));
        self.by_key.insert(self.key_buf.as_str().into(), id);
        if let Some(m) = metric {
            self.by_metric.entry(m).or_default().push(id);
        }
        id
    }

    /// Writes the sample's series key (its name, then its labels sorted by name) into
    /// `key_buf`, and the sorted label order into `order_buf`.
    fn fill_key(&mut self, scrape: &Scrape<'_>, s: &Sample<'_>) {
        let labels = scrape.labels(s);
        self.order_buf.clear();
        self.order_buf.extend(0..labels.len() as u32);
        self.order_buf
            .sort_unstable_by_key(|&i| labels[i as usize].name);
        let key = &mut self.key_buf;
        key.clear();
        key.push_str(s.name);
        // Each value is preceded by its length, so no value (a hostile one holding NUL or
        // `=` included) can make two label sets read as one.
        for &i in &self.order_buf {
            let l = &labels[i as usize];
            key.push('\u{0}');
            key.push_str(l.name);
            key.push('=');
            let value = l.value();
            let _ = write!(key, "{}:", value.len());
            key.push_str(&value);
        }
    }

    /// The one shared copy of a family name.
    fn family_name(&mut self, name: &str) -> std::sync::Arc<str> {
        if let Some(f) = self.families.get(name) {
            return f.clone();
        }
        let f: std::sync::Arc<str> = name.into();
        self.families.insert(f.clone());
        f
    }
}

/// Sample timestamps as the observation time, unless they run more than [`FUTURE_SLACK`] ahead
/// of `time` (or the clock): then `None`, and how far ahead they were.
fn believed_observation(scrape: &Scrape<'_>, time: Option<f64>) -> (Option<f64>, Option<f64>) {
    let Some(o) = observation_time(scrape) else {
        return (None, None);
    };
    let reference = time.unwrap_or_else(crate::timefmt::now);
    if o > reference + FUTURE_SLACK {
        (None, Some(o - reference))
    } else {
        (Some(o), None)
    }
}

/// The newest sample timestamp, when every data sample has one.
fn observation_time(scrape: &Scrape<'_>) -> Option<f64> {
    let mut newest: Option<f64> = None;
    for s in scrape.data_samples() {
        let t = s.timestamp?;
        newest = Some(newest.map_or(t, |n: f64| n.max(t)));
    }
    newest
}

fn strip_part(name: &str) -> &str {
    ["_bucket", "_sum", "_count"]
        .iter()
        .find_map(|suf| name.strip_suffix(suf))
        .unwrap_or(name)
}

/// The catalog metric of a sample. Untyped histogram parts (`x_bucket` with no `# TYPE`) are
/// recognised by their suffix when the catalog says the stem is a histogram.
fn resolve_metric(
    family: &str,
    kind: Kind,
    name: &str,
    part: Part,
    spelling: catalog::Spelling,
) -> (Option<MetricRef>, Part) {
    if let Some(m) = catalog::lookup_spelled(family, spelling) {
        return (Some(m), part);
    }
    if kind == Kind::Unknown {
        for (suf, p) in [
            ("_bucket", Part::Bucket),
            ("_sum", Part::Sum),
            ("_count", Part::Count),
        ] {
            if let Some(stem) = name.strip_suffix(suf)
                && let Some(m) = catalog::lookup_spelled(stem, spelling)
                    .filter(|m| m.metric_def().kind == MetricKind::Histogram)
            {
                return (Some(m), p);
            }
        }
    }
    (None, part)
}
