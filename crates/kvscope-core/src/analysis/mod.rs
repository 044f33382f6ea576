//! `analysis`: every number kvscope shows, computed from the store. No I/O.
//!
//! Mode detection (`mode`), the family matrix (`matrix`) and the headline figures (`figures`)
//! all read the same [`Inputs`]; the TUI and `kvscope report` only present the result.

pub mod aggregate;
pub mod breakdowns;
pub mod capacity;
pub mod embedded;
pub mod engine;
pub mod figures;
pub mod findings;
pub mod history;
pub mod http_facts;
pub mod matrix;
pub mod misses;
pub mod mode;
pub mod release;
pub use findings::verdict;
#[cfg(test)]
mod tests;

use serde::ser::{Serialize, Serializer};

use crate::catalog::{Feature, MetricRef};
use crate::store::{Series, Span, TargetStore};

/// What analysis reads: the retained history of every target, by role.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    pub lmcache: &'a [TargetStore],
    pub engine: &'a [TargetStore],
    /// How reaching each target went, in the order of [`Inputs::all`] (empty when unknown).
    pub health: &'a [crate::vocab::Health],
    /// Exposition lines skipped while parsing, over every scrape kept.
    pub lines_skipped: u64,
    /// What the findings judge by.
    pub thresholds: &'a findings::Thresholds,
    /// Window length in seconds for windowed figures.
    pub window: f64,
    /// The moment the analysis is made at and the scrape interval, when known: target
    /// staleness and scrape speed are judged against them. Data, not the wall clock, so a
    /// replay reaches the verdicts the live view did.
    pub clock: Option<Clock>,
    /// The rules' and the cache verdict's changes judged before this moment (their hold-down
    /// and `since` read it); `None` for one snapshot.
    pub history: Option<&'a findings::Verdicts>,
    /// Today's L1 size in bytes when the user gives it (`--l1-size`): the capacity curve's
    /// current point when neither `/status` nor the L1 gauges say.
    pub l1_size: Option<f64>,
}

/// "Now" and the interval targets are polled at (seconds).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Clock {
    pub now: f64,
    pub interval: f64,
}

impl<'a> Inputs<'a> {
    /// Every target, LMCache ones first.
    pub fn all(&self) -> impl Iterator<Item = &'a TargetStore> + Clone {
        self.lmcache.iter().chain(self.engine.iter())
    }

    /// Series of a catalog metric present in each target's newest scrape, with their target.
    pub fn newest_series(
        &self,
        m: MetricRef,
    ) -> impl Iterator<Item = (&'a TargetStore, &'a Series, f64)> + '_ {
        self.all().flat_map(move |t| {
            let at = t.newest().map(|s| s.seq);
            t.series_of(m)
                .filter_map(move |s| Some((t, s, s.value_at(at?)?)))
        })
    }
}

/// A figure, or the reason it cannot be measured. Serialises as the number, or as `null`
/// (the report lists each `null`'s path and reason in `unknowns`).
#[derive(Debug, Clone, PartialEq)]
pub struct Fig(pub Result<f64, String>);

/// The newtype name under which an unknown [`Fig`] serialises while unknowns are collected
/// ([`collect_unknowns`]), so a collector can record where each is and why.
pub const UNKNOWN_MARKER: &str = "__kvscope_unknown__";

thread_local! {
    static COLLECTING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Switches how unknown figures serialise on this thread: as a marked newtype carrying the
/// reason (for a collector), or as `null` (the default).
pub fn collect_unknowns(on: bool) {
    COLLECTING.with(|c| c.set(on));
}

impl Fig {
    /// A measured value; a value that is not finite is no measurement and becomes unknown,
    /// so no figure (and no finding built on one) ever carries NaN or an infinity.
    pub fn known(v: f64) -> Fig {
        if v.is_finite() {
            Fig(Ok(v))
        } else {
            Fig::unknown(format!(
                "the value works out to {v}, which is not a measurement"
            ))
        }
    }
    pub fn unknown(reason: impl Into<String>) -> Fig {
        Fig(Err(reason.into()))
    }
    pub fn value(&self) -> Option<f64> {
        self.0.as_ref().ok().copied()
    }
    /// `f(self, other)`, unknown (for the first reason) when either is.
    pub fn with(&self, other: &Fig, f: impl FnOnce(f64, f64) -> f64) -> Fig {
        match (&self.0, &other.0) {
            (Ok(a), Ok(b)) => Fig::known(f(*a, *b)),
            (Err(e), _) | (_, Err(e)) => Fig::unknown(e.clone()),
        }
    }

    /// `self / other`, unknown when either is, or when `other` is zero.
    pub fn ratio(&self, other: &Fig, zero_reason: &str) -> Fig {
        match (&self.0, &other.0) {
            (Ok(a), Ok(b)) if *b > 0.0 => Fig::known(a / b),
            (Ok(_), Ok(_)) => Fig::unknown(zero_reason),
            (Err(e), _) | (_, Err(e)) => Fig::unknown(e.clone()),
        }
    }

    /// The share `self` is of `whole` (a hit rate): like [`Fig::ratio`], but a part larger
    /// than its whole means the counters disagree, and the share is unknown rather than
    /// above 100 %.
    pub fn share_of(
        &self,
        whole: &Fig,
        zero_reason: &str,
        part_name: &str,
        whole_name: &str,
    ) -> Fig {
        match (&self.0, &whole.0) {
            (Ok(p), Ok(w)) if *p > *w * (1.0 + 1e-9) => Fig::unknown(format!(
                "{part_name} ({p}) exceed {whole_name} ({w}): the counters disagree"
            )),
            _ => self.ratio(whole, zero_reason),
        }
    }
}

/// How a figure is written for people: the one formatter the TUI and the text and markdown
/// reports share (`—` for unknown).
impl Fig {
    /// As a percentage of 1.
    pub fn percent(&self) -> String {
        crate::units::percent(self.value())
    }

    /// As a count or a plain number.
    pub fn count(&self) -> String {
        crate::units::count(self.value())
    }

    /// As bytes in binary units.
    pub fn bytes(&self) -> String {
        crate::units::bytes(self.value())
    }
}

/// A figure read back from a report: a number, or `null` (unknown; the report lists why in its
/// `unknowns`, which this reading does not carry).
impl<'de> serde::Deserialize<'de> for Fig {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Fig, D::Error> {
        let v: Option<f64> = serde::Deserialize::deserialize(d)?;
        Ok(v.map_or_else(
            || Fig::unknown("unknown in the report it was read from"),
            Fig::known,
        ))
    }
}

impl Serialize for Fig {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let not_json;
        let reason = match &self.0 {
            Ok(v) if v.is_finite() => return s.serialize_f64(*v),
            Ok(v) => {
                not_json = format!("the value is {v}, which JSON cannot carry");
                &not_json
            }
            Err(reason) => reason,
        };
        if COLLECTING.with(std::cell::Cell::get) {
            s.serialize_newtype_struct(UNKNOWN_MARKER, reason)
        } else {
            s.serialize_none()
        }
    }
}

crate::named! {
    /// How an answer was reached.
    pub enum Strength {
        /// Read directly from a metric or label.
        Measured = "measured",
        /// Concluded from several signals together.
        Inferred = "inferred",
    }
}

crate::named! {
    /// What a piece of evidence is about.
    pub enum Signal {
        Decision = "decision",
        VllmMetrics = "vllm_metrics",
        SglangMetrics = "sglang_metrics",
        LmcacheMpMetrics = "lmcache_mp_metrics",
        LmcacheEmbeddedMetrics = "lmcache_embedded_metrics",
        LmcacheMpConnectorMetrics = "lmcache_mp_connector_metrics",
        LmcacheCoordinatorMetrics = "lmcache_coordinator_metrics",
        ConnectorLabel = "connector_label",
        ConnectorLog = "connector_log",
        StaleConnector = "stale_connector",
        LmcacheOffloadShortcut = "lmcache_offload_shortcut",
        SglangCacheType = "sglang_cache_type",
        L2Adapter = "l2_adapter",
        CudaDevice = "cuda_device",
        P2pLookups = "p2p_lookups",
        P2pTransfers = "p2p_transfers",
        KvTransferConnector = "kv_transfer_connector",
        KvConsumerRole = "kv_consumer_role",
        SglangPdRole = "sglang_pd_role",
        Hicache = "hicache",
        HicacheStorage = "hicache_storage",
        NativeOffload = "native_offload",
        SimpleOffload = "simple_offload",
        Cacheblend = "cacheblend",
    }
}

/// One signal that went into a decision.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Evidence {
    pub signal: Signal,
    pub detail: String,
    pub strength: Strength,
}

/// Everything analysis produces.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Analysis {
    /// Is the KV cache working: the answer at a glance.
    pub verdict: verdict::Verdict,
    pub mode: mode::Mode,
    /// Which LMCache release runs, and why kvscope thinks so.
    pub lmcache_release: release::LmcacheRelease,
    pub families: Vec<matrix::FamilyRow>,
    pub unrecognised: Vec<matrix::Unrecognised>,
    pub lmcache: figures::LmcacheFigures,
    pub engine: engine::EngineFigures,
    /// LMCache embedded in an engine (`lmcache:*` on its `/metrics`).
    pub lmcache_embedded: embedded::EmbeddedFigures,
    /// Why the lookups that missed, missed.
    pub miss_attribution: misses::MissAttribution,
    /// How much L1 is enough: the lookup-hash log's hit-rate-versus-capacity curve (`null`
    /// without a lookup-hash log).
    pub capacity: Option<capacity::Capacity>,
    /// The firing rules, most severe first.
    pub findings: Vec<findings::Finding>,
    /// Every rule's verdict, in the rule table's order.
    pub rules: Vec<findings::Finding>,
    pub data_quality: DataQuality,
    /// The trace, logs, span export and lookup-hash log read beside the targets.
    #[serde(flatten)]
    pub evidence: EvidenceSummaries,
}

/// Each kind of evidence read beside the targets, summarised: the first target's that has it
/// (LMCache targets first). `null` where none was given.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct EvidenceSummaries {
    /// The storage trace, as `lmcache trace info` gives it.
    pub trace: Option<crate::evidence::trace::TraceSummary>,
    pub server_log: Option<crate::evidence::lines::LogSummary>,
    pub engine_log: Option<crate::evidence::lines::LogSummary>,
    pub spans: Option<crate::evidence::spans::SpanSummary>,
    pub lookup_hashes: Option<crate::evidence::hashes::HashlogSummary>,
}

impl EvidenceSummaries {
    fn of(inputs: &Inputs<'_>) -> EvidenceSummaries {
        let first = |f: fn(&crate::evidence::Streams) -> bool| {
            inputs.all().map(|t| &t.evidence).find(|e| f(e))
        };
        EvidenceSummaries {
            trace: first(|e| e.trace.is_some()).and_then(|e| Some(e.trace.as_ref()?.summary())),
            server_log: first(|e| e.server_log.is_some())
                .and_then(|e| Some(e.server_log.as_ref()?.summary())),
            engine_log: first(|e| e.engine_log.is_some())
                .and_then(|e| Some(e.engine_log.as_ref()?.summary())),
            spans: first(|e| e.spans.is_some()).and_then(|e| Some(e.spans.as_ref()?.summary())),
            lookup_hashes: first(|e| e.hashes.is_some())
                .and_then(|e| Some(e.hashes.as_ref()?.summary())),
        }
    }
}

/// Problems in the data itself, per target, from the store's notes.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct DataQuality {
    pub notes: Vec<TargetNote>,
    /// Distinct problems seen but not kept (each target keeps a bounded number).
    pub not_kept: u64,
}

/// A data-quality note and the target it was seen on.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TargetNote {
    pub target: String,
    #[serde(flatten)]
    pub note: crate::store::QualityNote,
}

impl DataQuality {
    fn of(inputs: &Inputs<'_>) -> DataQuality {
        let mut out = DataQuality::default();
        for t in inputs.all() {
            out.not_kept += t.quality.more;
            out.notes.extend(t.quality.all().iter().map(|n| TargetNote {
                target: t.name.clone(),
                note: n.clone(),
            }));
        }
        out
    }
}

/// Runs every analysis over the inputs.
pub fn analyze(inputs: &Inputs<'_>) -> Analysis {
    let p = Parts::of(inputs, true);
    let miss_attribution = misses::misses(
        &p.views[..inputs.lmcache.len()],
        &p.lmcache.http.metrics_sample_rate,
        has(&p.features, crate::catalog::Feature::L2),
    );
    let capacity = p.capacity(inputs, Some(&miss_attribution));
    let facts = p.facts(inputs, capacity.as_ref());
    let rules = findings::evaluate(&facts);
    let verdict = verdict::judge(&facts, &rules);
    let findings = findings::firing(&rules);
    Analysis {
        capacity,
        verdict,
        mode: p.mode,
        lmcache_release: p.release,
        families: p.families,
        unrecognised: p.unrecognised,
        lmcache: p.lmcache,
        engine: p.engine,
        lmcache_embedded: p.lmcache_embedded,
        miss_attribution,
        findings,
        rules,
        data_quality: p.data_quality,
        evidence: EvidenceSummaries::of(inputs),
    }
}

/// A moment judged: every rule's verdict, in the rule table's order, and the cache verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    pub rules: Vec<findings::Finding>,
    pub verdict: verdict::Verdict,
}

/// [`analyze`]'s `rules` and `verdict`, leaving out what neither reads (miss attribution,
/// breakdowns), for judging every capture of a long timeline. A test holds the two equal.
pub fn verdicts(inputs: &Inputs<'_>) -> Judgement {
    let p = Parts::of(inputs, false);
    // The capacity rule reads the curve and what doubling recovers, not the miss classes.
    let capacity = p.capacity(inputs, None);
    let facts = p.facts(inputs, capacity.as_ref());
    let rules = findings::evaluate(&facts);
    let verdict = verdict::judge(&facts, &rules);
    Judgement { rules, verdict }
}

/// What the rules read, computed once.
struct Parts<'a> {
    views: Vec<aggregate::View<'a>>,
    features: Features,
    mode: mode::Mode,
    release: release::LmcacheRelease,
    families: Vec<matrix::FamilyRow>,
    unrecognised: Vec<matrix::Unrecognised>,
    lmcache: figures::LmcacheFigures,
    engine: engine::EngineFigures,
    lmcache_embedded: embedded::EmbeddedFigures,
    data_quality: DataQuality,
}

impl<'a> Parts<'a> {
    fn of(inputs: &Inputs<'a>, detail: bool) -> Parts<'a> {
        let scan = mode::Scan::of(inputs);
        let features = mode::features(inputs, &scan);
        let mode = mode::detect(inputs, &features, &scan);
        let release = release::infer(inputs);
        let families = matrix::rows(inputs, &mode, &features, &release);
        let unrecognised = matrix::unrecognised(inputs);
        // Spans and restarts once per target; LMCache targets first, then engines.
        let views = aggregate::views(inputs.all(), inputs.window, inputs.clock.map(|c| c.now));
        let lmcache = figures::lmcache(&views, inputs.lmcache.len(), &features, detail);
        let engine = engine::engine(&views[inputs.lmcache.len()..]);
        let lmcache_embedded = embedded::embedded(&views, detail);
        Parts {
            features,
            mode,
            release,
            families,
            unrecognised,
            lmcache,
            engine,
            lmcache_embedded,
            data_quality: DataQuality::of(inputs),
            views,
        }
    }

    /// The capacity section, from the first target's lookup-hash log. `misses` is `None` in the
    /// verdict pass, which reads neither the miss classes nor L1's occupancy (not computed).
    fn capacity(
        &self,
        inputs: &Inputs<'a>,
        misses: Option<&misses::MissAttribution>,
    ) -> Option<capacity::Capacity> {
        let log = inputs.all().find_map(|t| t.evidence.hashes.as_ref())?;
        let today = capacity::Today {
            lm: &self.lmcache,
            misses,
            engines: &self.views[inputs.lmcache.len()..],
            l1_size: inputs.l1_size,
            default_eviction: (findings::L1_WATERMARK, findings::L1_EVICTION_RATIO),
            occupancy: misses.and_then(|_| {
                inputs
                    .lmcache
                    .iter()
                    .find_map(|t| history::l1_occupancy(t, capacity::OCCUPANCY_SCRAPES))
            }),
        };
        Some(capacity::capacity(&log.curves, log.lookups, &today))
    }

    fn facts<'p>(
        &'p self,
        inputs: &'p Inputs<'a>,
        capacity: Option<&'p capacity::Capacity>,
    ) -> findings::Facts<'p> {
        findings::Facts {
            mode: &self.mode,
            families: &self.families,
            unrecognised: &self.unrecognised,
            lm: &self.lmcache,
            en: &self.engine,
            emb: &self.lmcache_embedded,
            quality: &self.data_quality,
            lines_skipped: inputs.lines_skipped,
            thresholds: inputs.thresholds,
            capacity,
            server_log: inputs
                .all()
                .find_map(|t| t.evidence.server_log.as_ref())
                .map(|l| {
                    use crate::evidence::log::Kind;
                    let since = inputs.clock.map(|c| c.now - inputs.window);
                    findings::LogFacts {
                        l1_alloc_failed: l.alerts_since(Kind::L1AllocFailed, since),
                        eventbus_queue_full: l.alerts_since(Kind::EventbusQueueFull, since),
                        over: if since.is_some() {
                            "in the window"
                        } else {
                            "in the log read"
                        },
                    }
                }),
            lmcache_spans: inputs
                .all()
                .find_map(|t| t.evidence.spans.as_ref())
                .map(|s| s.lmcache_spans()),
            lookup_tokens_exported: inputs
                .newest_series(crate::metric!("lmcache_mp.lookup", "requested_tokens"))
                .next()
                .is_some(),
            lmcache_given: inputs.lmcache.len(),
            // Targets that have answered: before its first scrape a target says nothing
            // either way.
            lmcache_targets: inputs
                .lmcache
                .iter()
                .filter(|t| t.newest().is_some())
                .count(),
            engine_targets: inputs
                .engine
                .iter()
                .filter(|t| t.newest().is_some())
                .count(),
            engine_frozen: {
                let mut answered = inputs.engine.iter().filter(|t| t.newest().is_some());
                answered.clone().next().is_some() && answered.all(|t| t.repeats > 0)
            },
            targets: inputs
                .all()
                .enumerate()
                .map(|(i, t)| (t.name.as_str(), inputs.health.get(i), t.scrapes().len()))
                .collect(),
            clock: inputs.clock,
            window: inputs.window,
            history: inputs.history,
        }
    }
}

/// Which span a figure covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Over {
    SinceStart,
    Window,
}

impl Over {
    /// The span of `t` this refers to.
    pub fn span(self, t: &TargetStore, window: f64) -> Result<Span, String> {
        match self {
            Over::SinceStart => t
                .newest()
                .map(|s| Span::SinceStart { at: s.seq })
                .ok_or_else(|| "no samples".into()),
            Over::Window => t.window(window),
        }
    }
}

/// Features evident in the inputs (L2 adapter, CUDA ...), with what showed them.
pub type Features = Vec<(Feature, Evidence)>;

/// True when `f` is evident.
pub fn has(features: &Features, f: Feature) -> bool {
    features.iter().any(|(x, _)| *x == f)
}
