//! The family matrix: every catalog family's status in the newest scrapes, and every name with
//! a known prefix that the catalog does not know.

use std::borrow::Cow;

use super::mode::Mode;
use super::release::LmcacheRelease;
use super::{Features, Inputs, Signal, aggregate, has};
use crate::catalog::{self, Architecture, FAMILIES, MetricKind, Scope};
use crate::expo::{Kind, Part};
use crate::store::TargetStore;
use crate::vocab::EngineKind;

crate::named! {
    /// Status of a family or metric in the newest scrapes, worst first.
    #[derive(PartialOrd, Ord)]
    pub enum Status {
        NotApplicable = "not_applicable",
        Missing = "missing",
        DeclaredNoSamples = "declared_no_samples",
        /// A required family LMCache creates at its first lookup, before any lookup.
        Waiting = "waiting",
        Zero = "zero",
        Populated = "populated",
    }
}

crate::named! {
    /// Whether the family should be there, by the catalog's policy for the detected
    /// architecture.
    pub enum Need {
        Required = "required",
        Optional = "optional",
        NotApplicable = "not_applicable",
    }
}

/// One metric of a family row.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MetricRow {
    pub key: &'static str,
    pub kind: MetricKind,
    pub status: Status,
    pub sampled: bool,
    pub series: usize,
    /// Exposition names this metric was seen under.
    pub names: Vec<String>,
}

/// One row of the matrix.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FamilyRow {
    pub id: &'static str,
    pub title: &'static str,
    pub source: &'static str,
    pub status: Status,
    pub need: Need,
    pub sampled: bool,
    /// Series (label sets) present in the newest scrapes.
    pub series: usize,
    /// Why the family is not applicable, when it is not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why_not_applicable: Option<Cow<'static, str>>,
    /// Why a family the architecture would require is only optional here (the build predates
    /// it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why_not_required: Option<&'static str>,
    pub metrics: Vec<MetricRow>,
}

impl FamilyRow {
    /// What needs a look (the matrix's problems filter; the only rows drawn in red): a required
    /// family without samples, or one declared without samples. A family waiting for traffic
    /// or an optional one that is absent is not.
    pub fn is_problem(&self) -> bool {
        (self.need == Need::Required && self.status == Status::Missing)
            || self.status == Status::DeclaredNoSamples
    }
}

/// A name with a known prefix that the catalog does not know.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Unrecognised {
    pub target: String,
    pub name: String,
    pub kind: Kind,
    pub samples: u32,
}

#[derive(Default, Clone)]
struct Seen<'a> {
    series: usize,
    nonzero: bool,
    declared: bool,
    /// Exposition names, each once: the first, then any others (most metrics have one, so
    /// most rows allocate nothing).
    first: Option<&'a str>,
    more: Vec<&'a str>,
}

impl<'a> Seen<'a> {
    fn name(&mut self, n: &'a str) {
        // Series of one family share one name allocation: most checks end at the pointer.
        let same = |x: &&str| std::ptr::eq(*x, n) || *x == n;
        match self.first {
            None => self.first = Some(n),
            Some(f) if same(&f) => {}
            Some(_) if !self.more.iter().any(same) => self.more.push(n),
            Some(_) => {}
        }
    }
    fn names(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.first.into_iter().chain(self.more.iter().copied())
    }
}

/// What the newest scrapes show of each catalog metric, indexed by [`catalog::MetricRef::flat`].
fn observe<'a>(targets: &[&'a TargetStore]) -> Vec<Seen<'a>> {
    let mut seen = vec![Seen::default(); catalog::metric_total()];
    for t in targets {
        let Some(at) = t.newest().map(|s| s.seq) else {
            continue;
        };
        for s in t.series() {
            let (Some(m), Some(v)) = (s.metric, s.value_at(at)) else {
                continue;
            };
            let e = &mut seen[m.flat()];
            let counts = match m.metric_def().kind {
                MetricKind::Histogram => s.part == Part::Count,
                _ => s.part == Part::Value,
            };
            if counts {
                e.series += 1;
                e.nonzero |= v != 0.0 && !v.is_nan();
            }
            e.name(&s.family);
        }
        for d in &t.declared {
            if let Some(m) = d.metric {
                let e = &mut seen[m.flat()];
                e.declared = true;
                e.name(&d.name);
            }
        }
    }
    seen
}

/// Which processes the inputs show, given the detected mode.
fn components(mode: &Mode, features: &Features) -> Vec<Scope> {
    let signal = |s: Signal| mode.evidence.iter().any(|e| e.signal == s);
    let arch = mode.architecture;
    let mut out = Vec::new();
    if signal(Signal::LmcacheMpMetrics) {
        out.push(Scope::MpServer);
    }
    if has(features, catalog::Feature::CacheBlend) {
        out.push(Scope::Blend);
    }
    if signal(Signal::LmcacheCoordinatorMetrics) || arch == Architecture::ControllerOnly {
        out.push(Scope::Coordinator);
    }
    if signal(Signal::LmcacheEmbeddedMetrics) || arch.embedded() {
        out.push(Scope::Embedded);
    }
    if mode.engine == Some(EngineKind::Vllm) {
        out.push(Scope::Vllm);
    }
    if arch == Architecture::VllmMpLmcache || signal(Signal::LmcacheMpConnectorMetrics) {
        out.push(Scope::VllmMpConnector);
    }
    if signal(Signal::SglangMetrics) {
        out.push(Scope::Sglang);
    }
    out
}

fn scope_missing_reason(scope: Scope) -> &'static str {
    match scope {
        Scope::MpServer => "no LMCache MP server in the input",
        Scope::Blend => "the MP server does not run the CacheBlend engine",
        Scope::Coordinator => "no LMCache coordinator in the input",
        Scope::Embedded => "no embedded LMCache (lmcache:*) in this architecture",
        Scope::Vllm => "no vLLM engine in the input",
        Scope::VllmMpConnector => "vLLM does not use the LMCache MP connector here",
        Scope::Sglang => "no SGLang engine in the input",
    }
}

/// The matrix rows, in catalog order.
pub fn rows(
    inputs: &Inputs<'_>,
    mode: &Mode,
    features: &Features,
    release: &LmcacheRelease,
) -> Vec<FamilyRow> {
    let targets: Vec<&TargetStore> = inputs.all().collect();
    let seen = observe(&targets);
    let present = components(mode, features);
    let dated = predating(&seen);
    let looked_up = inputs
        .newest_series(crate::metric!("lmcache_mp.lookup", "requested_tokens"))
        .next()
        .is_some();
    FAMILIES
        .iter()
        .enumerate()
        .map(|(fi, f)| {
            let metrics: Vec<MetricRow> = f
                .metrics
                .iter()
                .zip(catalog::refs_of(fi))
                .map(|(m, r)| metric_row(m, Some(&seen[r.flat()]).filter(|s| s.first.is_some())))
                .collect();
            let why_not = why_not(fi, &present, features, release);
            let mut status = metrics
                .iter()
                .map(|m| m.status)
                .max()
                .unwrap_or(Status::Missing);
            let predates = dated.iter().find(|p| p.newer_family == f.id);
            let need = if why_not.is_some() {
                Need::NotApplicable
            } else if f.required_in.contains(&mode.architecture) && predates.is_none() {
                Need::Required
            } else {
                Need::Optional
            };
            let why_not_required = predates
                .filter(|_| need == Need::Optional && f.required_in.contains(&mode.architecture))
                .map(|p| p.why);
            let why_not_applicable = if why_not.is_some() && status <= Status::DeclaredNoSamples {
                status = Status::NotApplicable;
                why_not
            } else {
                None
            };
            if need == Need::Required
                && status <= Status::DeclaredNoSamples
                && !looked_up
                && catalog::CREATED_ON_FIRST_EVENT.contains(&f.id)
            {
                status = Status::Waiting;
            }
            FamilyRow {
                id: f.id,
                title: f.title,
                source: f.source(),
                status,
                need,
                sampled: f.sampled(),
                series: metrics.iter().map(|m| m.series).sum(),
                why_not_applicable,
                why_not_required,
                metrics,
            }
        })
        .collect()
}

/// Why family `fi` cannot be here, if it cannot: its process is not in the inputs, the LMCache
/// release running never had it, or a feature it needs is not evident.
fn why_not(
    fi: usize,
    present: &[Scope],
    features: &Features,
    release: &LmcacheRelease,
) -> Option<Cow<'static, str>> {
    let f = &FAMILIES[fi];
    if !present.contains(&f.scope) {
        Some(scope_missing_reason(f.scope).into())
    } else if let Some(why) = release
        .lacks(catalog::version::family_releases(fi))
        .filter(|_| f.scope.dated_by_release())
    {
        Some(why.into())
    } else {
        f.needs
            .filter(|n| !has(features, *n))
            .map(|n| feature_missing_reason(n).into())
    }
}

/// One metric of a family as the matrix lists it, from what was seen of it (`None`: nothing).
fn metric_row(m: &catalog::MetricDef, s: Option<&Seen<'_>>) -> MetricRow {
    let status = match s {
        Some(s) if s.nonzero => Status::Populated,
        Some(s) if s.series > 0 => Status::Zero,
        Some(s) if s.declared => Status::DeclaredNoSamples,
        _ => Status::Missing,
    };
    MetricRow {
        key: m.key,
        kind: m.kind,
        status,
        sampled: m.sampled,
        series: s.map_or(0, |s| s.series),
        names: s
            .map(|s| {
                let mut n: Vec<String> = s.names().map(str::to_string).collect();
                n.sort_unstable();
                n
            })
            .unwrap_or_default(),
    }
}

/// The version landmarks whose older name was seen: the builds predate those families.
fn predating(seen: &[Seen<'_>]) -> Vec<&'static catalog::Predates> {
    catalog::PREDATES
        .iter()
        .filter(|p| {
            seen.iter()
                .any(|s| s.names().any(|n| n.starts_with(p.old_name)))
        })
        .collect()
}

fn feature_missing_reason(f: catalog::Feature) -> &'static str {
    use catalog::Feature::*;
    match f {
        L2 => "no L2 adapter evident",
        Cuda => "no CUDA device evident",
        P2p => "no P2P sharing evident",
        Pd => "no disaggregated prefill evident",
        HiCache => "no HiCache host tier evident",
        HiCacheStorage => "no HiCache storage backend evident",
        NativeOffload => "no native vLLM KV offload evident",
        SimpleOffload => "no SimpleCPUOffload connector evident",
        CacheBlend => "no CacheBlend engine evident",
    }
}

/// Families with a known prefix that the catalog does not know, per target.
pub fn unrecognised(inputs: &Inputs<'_>) -> Vec<Unrecognised> {
    let mut out = Vec::new();
    for t in inputs.all() {
        for d in &t.declared {
            // A `_created` companion of a known counter or histogram is not a family of its own.
            let companion = d
                .name
                .strip_suffix("_created")
                .is_some_and(|stem| catalog::lookup(stem).is_some());
            if catalog::has_known_prefix(&d.name) && !companion && d.metric.is_none() {
                out.push(Unrecognised {
                    target: t.name.clone(),
                    name: d.name.to_string(),
                    kind: d.kind,
                    samples: d.samples,
                });
            }
        }
    }
    out
}

/// One series of a family, for the drill-down view.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesRow {
    pub target: String,
    /// The exposition name with its part (`…_count`, `…_sum`, or the family name).
    pub name: String,
    /// `k="v", …` with values as exported (not yet cleaned for display).
    pub labels: String,
    pub value: Option<f64>,
    /// Increase per second over the window, for counters and histogram counts/sums.
    pub per_s: super::Fig,
}

/// A family at a glance: its first metric that has series, their newest values added up, and
/// how fast they rose over the window (`None` for a gauge or an info metric, which have no
/// rate). The same figures as the analysis's: [`aggregate::gauge`] and [`aggregate::rate`].
#[derive(Debug, Clone, PartialEq)]
pub struct Glance {
    pub metric: &'static str,
    pub value: super::Fig,
    pub per_s: Option<super::Fig>,
}

/// The [`Glance`] of each family in `ids`, in order; `None` for a family none of whose metrics
/// has a series.
pub fn glances<'i>(inputs: &Inputs<'_>, ids: impl Iterator<Item = &'i str>) -> Vec<Option<Glance>> {
    let views = aggregate::views(inputs.all(), inputs.window, inputs.clock.map(|c| c.now));
    ids.map(|id| {
        catalog::family_metrics(id).find_map(|m| {
            let def = m.metric_def();
            // A histogram is read by its count; other series as they are.
            let sel = aggregate::Sel::filtered(&views, m, |s| match def.kind {
                MetricKind::Histogram => s.part == Part::Count,
                _ => s.part != Part::Bucket,
            });
            sel.chosen().then(|| Glance {
                metric: def.key,
                value: aggregate::gauge(&sel, def.key),
                per_s: matches!(def.kind, MetricKind::Counter | MetricKind::Histogram)
                    .then(|| aggregate::rate(&sel, def.key)),
            })
        })
    })
    .collect()
}

/// How many series (histogram buckets left out) a family has over every target.
pub fn count_series_of_family(inputs: &Inputs<'_>, id: &str) -> usize {
    inputs
        .all()
        .flat_map(|t| {
            catalog::family_metrics(id)
                .map(move |m| t.series_of(m).filter(|s| s.part != Part::Bucket).count())
        })
        .sum()
}

/// Series shown when drilling into a family (histogram buckets left out), at most `limit`.
pub fn series_of_family(inputs: &Inputs<'_>, id: &str, limit: usize) -> Vec<SeriesRow> {
    let mut out = Vec::new();
    for t in inputs.all() {
        let Some(at) = t.newest().map(|s| s.seq) else {
            continue;
        };
        let span = t.window(inputs.window);
        let restarts = t.restarts();
        let secs = span.as_ref().ok().and_then(|s| t.span_seconds(*s));
        for m in catalog::family_metrics(id) {
            let counter = m.metric_def().kind == MetricKind::Counter;
            for s in t.series_of(m).filter(|s| s.part != Part::Bucket) {
                if out.len() >= limit {
                    return out;
                }
                let suffix = match s.part {
                    Part::Count => "_count",
                    Part::Sum => "_sum",
                    _ => "",
                };
                let rated = counter || matches!(s.part, Part::Count | Part::Sum);
                let per_s = match (&span, secs) {
                    _ if !rated => super::Fig::unknown("a gauge has no rate"),
                    (Err(e), _) => super::Fig::unknown(e.clone()),
                    (Ok(sp), Some(secs)) if secs > 0.0 => match sp.counter(s, restarts) {
                        Ok(Some(v)) => super::Fig::known(v / secs),
                        Ok(None) => super::Fig::unknown("absent now"),
                        Err(p) => super::aggregate::bad_value(s, p),
                    },
                    _ => super::Fig::unknown("the window covers no time"),
                };
                out.push(SeriesRow {
                    target: t.name.clone(),
                    name: format!("{}{suffix}", s.family),
                    labels: s
                        .labels
                        .iter()
                        .map(|(k, v)| format!("{k}=\"{v}\""))
                        .collect::<Vec<_>>()
                        .join(", "),
                    value: s.value_at(at),
                    per_s,
                });
            }
        }
    }
    out
}
