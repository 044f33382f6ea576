//! How every model is set up.

use super::Model;
use crate::store::DEFAULT_SERIES_LIMIT;
use crate::vocab::InputKind;

/// How every model is set up, in one place: how much history each target keeps, the series
/// limit, the thresholds the findings judge by, and the poll interval when it is known. Every
/// command builds its models through [`ModelSettings::build`].
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSettings {
    /// Scrapes kept per target.
    pub history: usize,
    /// Series one scrape may carry per instance.
    pub series_limit: usize,
    pub thresholds: crate::analysis::findings::Thresholds,
    /// The interval targets are polled at (live: the one asked for; a packet: the one it was
    /// recorded at); `None` when not known (saved files: the clock comes from their times).
    pub interval: Option<f64>,
    /// Where the targets' evidence comes from.
    pub kind: InputKind,
    /// `--l1-size` (bytes): today's L1 for the capacity curve when `/status` does not say.
    pub l1_size: Option<f64>,
    /// Distinct chunks the capacity curve follows exactly (`--capacity-exact`).
    pub capacity_exact: Option<usize>,
}

impl ModelSettings {
    /// A live session's (and a recording's): an hour of history at `interval`.
    pub fn hour_at(interval: f64) -> ModelSettings {
        ModelSettings {
            history: (3600.0 / interval).ceil() as usize + 1,
            interval: Some(interval),
            ..ModelSettings::default()
        }
    }

    pub fn series_limit(self, series_limit: usize) -> ModelSettings {
        ModelSettings {
            series_limit,
            ..self
        }
    }

    pub fn thresholds(self, thresholds: crate::analysis::findings::Thresholds) -> ModelSettings {
        ModelSettings { thresholds, ..self }
    }

    pub fn kind(self, kind: InputKind) -> ModelSettings {
        ModelSettings { kind, ..self }
    }

    pub fn l1_size(self, l1_size: Option<f64>) -> ModelSettings {
        ModelSettings { l1_size, ..self }
    }

    pub fn capacity_exact(self, capacity_exact: Option<usize>) -> ModelSettings {
        ModelSettings {
            capacity_exact,
            ..self
        }
    }

    /// A model of these targets (names, each role in its order).
    pub fn build(&self, lmcache: &[String], engine: &[String]) -> Model {
        let mut model = Model::new(lmcache, engine, self.history);
        model.set_series_limit(self.series_limit);
        model.thresholds = self.thresholds.clone();
        model.interval = self.interval;
        model.l1_size = self.l1_size;
        for t in model.lmcache.iter_mut().chain(model.engine.iter_mut()) {
            t.kind = self.kind;
            t.evidence.hash_limit = self.capacity_exact;
        }
        model
    }
}

impl Default for ModelSettings {
    /// Two scrapes per target, the default series limit and thresholds, no interval, files.
    fn default() -> Self {
        ModelSettings {
            history: 2,
            series_limit: DEFAULT_SERIES_LIMIT,
            thresholds: Default::default(),
            interval: None,
            kind: InputKind::Files,
            l1_size: None,
            capacity_exact: None,
        }
    }
}
