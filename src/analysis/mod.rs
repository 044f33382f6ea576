//! `analysis`: every number kvscope shows, computed from the store. No I/O.
//!
//! Mode detection (`mode`), the family matrix (`matrix`) and the headline figures (`figures`)
//! all read the same [`Inputs`]; the TUI and `kvscope report` only present the result.

pub mod breakdowns;
pub mod figures;
pub mod findings;
pub mod history;
pub mod http_facts;
pub mod matrix;
pub mod mode;
#[cfg(test)]
mod tests;

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::catalog::{Feature, MetricRef};
use crate::store::{Series, Span, TargetStore};

/// What analysis reads: the retained history of every target, by role.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    pub lmcache: &'a [TargetStore],
    pub engine: &'a [TargetStore],
    /// Window length in seconds for windowed figures.
    pub window: f64,
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

/// A figure, or the reason it cannot be measured. Serialises as the number, or as a marker
/// that the report turns into `null` plus an entry in `unknowns`.
#[derive(Debug, Clone, PartialEq)]
pub struct Fig(pub Result<f64, String>);

/// The key of the marker object a [`Fig`] without a value serialises to.
pub const UNKNOWN_MARKER: &str = "__unknown__";

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

impl Serialize for Fig {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Ok(v) if v.is_finite() => s.serialize_f64(*v),
            Ok(v) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry(
                    UNKNOWN_MARKER,
                    &format!("the value is {v}, which JSON cannot carry"),
                )?;
                m.end()
            }
            Err(reason) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry(UNKNOWN_MARKER, reason)?;
                m.end()
            }
        }
    }
}

/// How an answer was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Strength {
    /// Read directly from a metric or label.
    Measured,
    /// Concluded from several signals together.
    Inferred,
}

/// One signal that went into a decision.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Evidence {
    pub signal: &'static str,
    pub detail: String,
    pub strength: Strength,
}

/// Everything analysis produces.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Analysis {
    pub mode: mode::Mode,
    pub families: Vec<matrix::FamilyRow>,
    pub unrecognised: Vec<matrix::Unrecognised>,
    pub lmcache: figures::LmcacheFigures,
    pub engine: figures::EngineFigures,
    pub findings: Vec<findings::Finding>,
    pub data_quality: DataQuality,
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
    let features = mode::features(inputs);
    let mode = mode::detect(inputs, &features);
    let families = matrix::rows(inputs, &mode, &features);
    let unrecognised = matrix::unrecognised(inputs);
    let lmcache = figures::lmcache(inputs, &features);
    let engine = figures::engine(inputs);
    let data_quality = DataQuality::of(inputs);
    let findings = findings::evaluate(
        &mode,
        &families,
        &unrecognised,
        &lmcache,
        &engine,
        &data_quality,
    );
    Analysis {
        mode,
        families,
        unrecognised,
        lmcache,
        engine,
        findings,
        data_quality,
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
