//! Each rule's verdict over time: its state changes as they were judged.

use serde_json::{Value, json};

use super::verdict::CacheState;
use super::{Finding, State};

/// State changes kept per rule.
pub const VERDICT_CHANGES: usize = 32;

/// Each rule's state changes as they were judged: (time, new state), oldest first, the last
/// [`VERDICT_CHANGES`] per rule. Filled by whoever judges over time (the live view at each
/// picture, a packet's report at each capture); serialised as `{code: [{at, state}]}`.
/// The cache verdict's changes are kept beside them (not serialised: the report's `verdict`
/// carries when the current one began).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Verdicts {
    rules: std::collections::BTreeMap<&'static str, Vec<(f64, State)>>,
    cache: Vec<(f64, CacheState)>,
}

/// Appends `(now, state)` when it differs from the last, keeping the last [`VERDICT_CHANGES`].
fn change<S: PartialEq + Copy>(changes: &mut Vec<(f64, S)>, now: f64, state: S) {
    if changes.last().map(|c| c.1) != Some(state) {
        changes.push((now, state));
        if changes.len() > VERDICT_CHANGES {
            changes.remove(0);
        }
    }
}

impl Verdicts {
    /// Records, at `now`, each rule whose state differs from the last one recorded, and the
    /// cache verdict when it changed.
    pub fn note(&mut self, now: f64, rules: &[Finding], cache: CacheState) {
        for r in rules {
            change(self.rules.entry(r.code).or_default(), now, r.state);
        }
        change(&mut self.cache, now, cache);
    }

    /// A rule's changes, oldest first.
    pub fn get(&self, code: &str) -> Option<&[(f64, State)]> {
        self.rules.get(code).map(Vec::as_slice)
    }

    /// The cache verdict's changes, oldest first.
    pub fn cache(&self) -> &[(f64, CacheState)] {
        &self.cache
    }

    /// The changes noted before `t`: what judging up to `t` gives again (judging is
    /// deterministic), without judging.
    pub fn before(&self, t: f64) -> Verdicts {
        Verdicts {
            rules: self
                .rules
                .iter()
                .map(|(code, changes)| {
                    let kept: Vec<_> = changes.iter().filter(|c| c.0 < t).copied().collect();
                    (*code, kept)
                })
                .filter(|(_, changes)| !changes.is_empty())
                .collect(),
            cache: self.cache.iter().filter(|c| c.0 < t).copied().collect(),
        }
    }

    /// When the rule's current state began (`None`: never judged).
    pub fn since(&self, code: &str) -> Option<f64> {
        self.get(code)?.last().map(|c| c.0)
    }
}

impl serde::Serialize for Verdicts {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.rules.len()))?;
        for (code, changes) in &self.rules {
            let list: Vec<Value> = changes
                .iter()
                .map(|(t, state)| json!({"at": crate::timefmt::format_rfc3339(*t), "state": state}))
                .collect();
            m.serialize_entry(code, &list)?;
        }
        m.end()
    }
}
