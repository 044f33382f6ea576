//! The thresholds rules judge by, each declared once: its `[findings]` key (the field's
//! name), what it means, its default and its range. The struct, its defaults, the config
//! file's overrides and `docs/findings.md` all read that one declaration.

/// Default L1 eviction trigger (`--eviction-trigger-watermark`) when `/status` does not say.
pub const L1_WATERMARK: f64 = 0.8;
/// Default share of L1 one eviction frees (`--eviction-ratio`) when `/status` does not say.
pub const L1_EVICTION_RATIO: f64 = 0.2;

/// The values a threshold may take.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Range {
    /// 0 to 1.
    Fraction,
    /// 0 or more.
    NonNegative,
}

impl Range {
    fn holds(self, v: f64) -> bool {
        match self {
            Range::Fraction => (0.0..=1.0).contains(&v),
            Range::NonNegative => v >= 0.0,
        }
    }

    /// How the range is written after a threshold's meaning.
    pub fn note(self) -> &'static str {
        match self {
            Range::Fraction => " (0 to 1)",
            Range::NonNegative => "",
        }
    }
}

/// One threshold's declaration.
pub struct Threshold {
    /// Its `[findings]` key, the name of its field.
    pub key: &'static str,
    pub meaning: &'static str,
    pub default: f64,
    pub range: Range,
    set: fn(&mut Thresholds, f64),
}

/// Declares every threshold once: the struct's fields with their meaning as documentation,
/// `Default`, and [`THRESHOLDS`] in the order given.
macro_rules! thresholds {
    ($($key:ident: $range:ident = $default:literal, $meaning:literal;)*) => {
        /// The thresholds rules judge by; each can be set in the config file's `[findings]`
        /// table (read by `watch`, `demo`, `replay`, `export`, `fleet` and `report --config`,
        /// so CI and the live view agree).
        #[derive(Debug, Clone, PartialEq)]
        pub struct Thresholds {
            $(#[doc = $meaning] pub $key: f64,)*
            /// `[findings.for]`: rules' hold-downs (seconds) in place of the table's.
            pub holds: std::collections::BTreeMap<&'static str, f64>,
        }

        impl Default for Thresholds {
            fn default() -> Self {
                Thresholds { $($key: $default,)* holds: Default::default() }
            }
        }

        /// Every threshold, in the order the documentation lists them.
        pub const THRESHOLDS: &[Threshold] = &[$(Threshold {
            key: stringify!($key),
            meaning: $meaning,
            default: $default,
            range: Range::$range,
            set: |t: &mut Thresholds, v: f64| t.$key = v,
        },)*];
    };
}

thresholds! {
    warm_up_tokens: NonNegative = 4096.0,
        "tokens looked up in the window before a hit rate is judged";
    low_hit_rate: Fraction = 0.2,
        "a window hit rate below this is low";
    kv_cache_full: Fraction = 0.95,
        "engine KV cache usage at or above this is nearly full";
    cache_salts_high: NonNegative = 1000.0,
        "more distinct cache_salt values than this is high";
    low_throughput_gbs: NonNegative = 0.1,
        "a median L2 or L0↔L1 transfer throughput (GB/s) in the window below this is low";
    slow_transfer_seconds: NonNegative = 1.0,
        "a 90th-percentile P2P transfer time (seconds) in the window above this is slow";
    capacity_gain: Fraction = 0.1,
        "capacity_bound fires when twice today's L1 would serve at least this much more of the looked-up tokens (0.1: ten points), by the lookup-hash log's curve";
}

/// The longest `for` a config may set.
pub const MAX_HOLD_SECONDS: f64 = 86_400.0;

impl Thresholds {
    /// The defaults with every rule's `for` at 0: each fires at the first moment its
    /// condition holds (for judging a rule's condition alone, as its tests do).
    pub fn at_once() -> Thresholds {
        Thresholds {
            holds: super::RULES.iter().map(|r| (r.code, 0.0)).collect(),
            ..Thresholds::default()
        }
    }

    /// A rule's `for`: the config's, else the table's.
    pub fn hold(&self, rule: &super::Rule) -> f64 {
        self.holds.get(rule.code).copied().unwrap_or(rule.hold)
    }

    /// [`Thresholds::with_overrides`] and `[findings.for]`: rule code → duration (`30s`,
    /// `0s`); an unknown rule or a duration that does not read is an error naming it.
    pub fn with_holds(
        overrides: &std::collections::BTreeMap<String, f64>,
        holds: &std::collections::BTreeMap<String, String>,
    ) -> Result<Thresholds, String> {
        let mut t = Thresholds::with_overrides(overrides)?;
        for (code, text) in holds {
            let Some(rule) = super::RULES.iter().find(|r| r.code == code) else {
                return Err(format!(
                    "[findings.for] {code}: no such rule (the rules are listed in docs/findings.md)"
                ));
            };
            let seconds = if matches!(text.trim(), "0" | "0s" | "0ms" | "0m" | "0h") {
                0.0
            } else {
                crate::timefmt::parse_duration(text)
                    .map_err(|e| format!("[findings.for] {code}: {e}"))?
            };
            if seconds > MAX_HOLD_SECONDS {
                return Err(format!("[findings.for] {code} = {text:?}: at most a day"));
            }
            t.holds.insert(rule.code, seconds);
        }
        Ok(t)
    }

    /// The defaults with the config file's `[findings]` values; an unknown key or a value out
    /// of range is an error naming it.
    pub fn with_overrides(
        overrides: &std::collections::BTreeMap<String, f64>,
    ) -> Result<Thresholds, String> {
        let mut t = Thresholds::default();
        for (key, &v) in overrides {
            let Some(declared) = THRESHOLDS.iter().find(|d| d.key == key) else {
                let known: Vec<&str> = THRESHOLDS.iter().map(|d| d.key).collect();
                return Err(format!(
                    "[findings] {key}: unknown (one of {})",
                    known.join(", ")
                ));
            };
            if !declared.range.holds(v) {
                return Err(format!("[findings] {key} = {v}: out of range"));
            }
            if !v.is_finite() {
                return Err(format!("[findings] {key}: not a number"));
            }
            (declared.set)(&mut t, v);
        }
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each declaration sets its own field and no other (the fields spelt out by hand here, in
    /// declaration order, so a macro that wired a key to the wrong field fails).
    #[test]
    fn every_key_sets_its_own_field() {
        let fields = |t: &Thresholds| {
            [
                t.warm_up_tokens,
                t.low_hit_rate,
                t.kv_cache_full,
                t.cache_salts_high,
                t.low_throughput_gbs,
                t.slow_transfer_seconds,
                t.capacity_gain,
            ]
        };
        assert_eq!(fields(&Thresholds::default()).len(), THRESHOLDS.len());
        for (i, d) in THRESHOLDS.iter().enumerate() {
            let v = if d.range == Range::Fraction { 0.5 } else { 7.0 };
            let t = Thresholds::with_overrides(&[(d.key.to_string(), v)].into()).unwrap();
            for (k, (got, other)) in fields(&t).into_iter().zip(THRESHOLDS).enumerate() {
                let want = if k == i { v } else { other.default };
                assert_eq!(got, want, "{} after setting {}", other.key, d.key);
            }
        }
    }

    #[test]
    fn bad_overrides_are_named() {
        let one = |k: &str, v: f64| Thresholds::with_overrides(&[(k.to_string(), v)].into());
        assert!(
            one("low_hit_rate", 1.5)
                .unwrap_err()
                .contains("low_hit_rate = 1.5: out of range")
        );
        assert!(
            one("warm_up_tokens", -1.0)
                .unwrap_err()
                .contains("out of range")
        );
        assert!(
            one("warm_up_tokens", f64::INFINITY)
                .unwrap_err()
                .contains("not a number")
        );
        assert!(
            one("low_hit_rate", f64::NAN)
                .unwrap_err()
                .contains("out of range")
        );
        let unknown = one("hit_rate", 0.5).unwrap_err();
        assert!(unknown.contains("hit_rate: unknown (one of warm_up_tokens, low_hit_rate"));
    }
}
