//! LMCache releases and the names each declares ([`super::releases`]), as sets of releases:
//! which releases a name fits, which a catalog family exists in, and how to say a set.

use std::collections::HashMap;
use std::sync::OnceLock;

pub use super::releases::{RELEASES, SPANS};

/// A set of [`RELEASES`], one bit per release (oldest is bit 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Releases(pub u64);

const _: () = assert!(RELEASES.len() <= 64, "Releases holds one bit per release");

impl Releases {
    pub const NONE: Releases = Releases(0);

    /// Every known release.
    pub fn all() -> Releases {
        Releases(u64::MAX >> (64 - RELEASES.len()))
    }
    pub fn one(i: usize) -> Releases {
        Releases(1 << i)
    }
    /// The releases from `first` to `last`, both in.
    pub fn span(first: usize, last: usize) -> Releases {
        Releases((u64::MAX >> (63 - last)) & (u64::MAX << first))
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    pub fn and(self, o: Releases) -> Releases {
        Releases(self.0 & o.0)
    }
    pub fn or(self, o: Releases) -> Releases {
        Releases(self.0 | o.0)
    }
    /// The oldest release in the set.
    pub fn first(self) -> Option<usize> {
        (!self.is_empty()).then(|| self.0.trailing_zeros() as usize)
    }
    /// The newest release in the set.
    pub fn last(self) -> Option<usize> {
        (!self.is_empty()).then(|| 63 - self.0.leading_zeros() as usize)
    }
    /// The set in words: `0.5.6`, `0.4.3–0.4.5`, or `0.5.6 or later` when `open` and the set
    /// reaches the newest known release. Sets of names are always one run of releases.
    pub fn words(self, open: bool) -> String {
        let (Some(a), Some(b)) = (self.first(), self.last()) else {
            return "no known release".into();
        };
        if open && b == RELEASES.len() - 1 {
            format!("{} or later", RELEASES[a])
        } else if a == b {
            RELEASES[a].to_string()
        } else {
            format!("{}–{}", RELEASES[a], RELEASES[b])
        }
    }
}

fn spans() -> &'static HashMap<&'static str, (usize, usize)> {
    static MAP: OnceLock<HashMap<&'static str, (usize, usize)>> = OnceLock::new();
    MAP.get_or_init(|| {
        let at = |v: &str| {
            RELEASES
                .iter()
                .position(|r| *r == v)
                .unwrap_or_else(|| panic!("releases.rs names {v}, which RELEASES lacks"))
        };
        SPANS.iter().map(|(n, a, b)| (*n, (at(a), at(b)))).collect()
    })
}

/// The first and last release (indices into [`RELEASES`]) declaring an exposed name, as a
/// scrape writes it: with or without a counter's `_total`, a histogram part, and `lmcache_X`
/// for `lmcache:X` when `colon_spelled` allows.
pub fn span_of(name: &str, colon_spelled: bool) -> Option<(usize, usize)> {
    let map = spans();
    let base = |n: &str| -> Option<(usize, usize)> {
        std::iter::once(n)
            .chain(
                ["_total", "_bucket", "_sum", "_count"]
                    .iter()
                    .filter_map(|s| n.strip_suffix(s)),
            )
            .find_map(|n| map.get(n).copied())
    };
    base(name).or_else(|| {
        let rest = name.strip_prefix("lmcache_").filter(|_| colon_spelled)?;
        base(&format!("lmcache:{rest}"))
    })
}

/// The releases declaring an exposed name (empty when none does).
pub fn releases_of(name: &str, colon_spelled: bool) -> Releases {
    span_of(name, colon_spelled).map_or(Releases::NONE, |(a, b)| Releases::span(a, b))
}

/// The releases in which catalog family `fi` has any of its names (empty when no release
/// declares any: names from documentation or builds between releases).
pub fn family_releases(fi: usize) -> Releases {
    static MASKS: OnceLock<Vec<Releases>> = OnceLock::new();
    MASKS.get_or_init(|| {
        super::FAMILIES
            .iter()
            .map(|f| {
                f.metrics
                    .iter()
                    .flat_map(|m| m.names)
                    .fold(Releases::NONE, |acc, n| acc.or(releases_of(n, false)))
            })
            .collect()
    })[fi]
}

/// Each name of a metric that some release declares, with those releases in words
/// (`0.4.3–0.4.5`, `0.4.6 or later`), oldest first: the metric's name release by release.
pub fn names_by_release(m: &super::MetricDef) -> Vec<(&'static str, String)> {
    let mut out: Vec<(usize, &'static str, String)> = m
        .names
        .iter()
        .filter_map(|n| {
            let r = releases_of(n, false);
            Some((r.first()?, *n, r.words(true)))
        })
        .collect();
    out.sort();
    out.into_iter().map(|(_, n, w)| (n, w)).collect()
}

/// The release a `/version` answer names (`0.5.6-g3e11e108`, `v0.4.7`), when kvscope knows it.
pub fn release_named(version: &str) -> Option<usize> {
    let v = version.trim().trim_start_matches('v');
    let v = v.split_once("-g").map_or(v, |(v, _)| v);
    let v = v.split_once('+').map_or(v, |(v, _)| v);
    RELEASES.iter().position(|r| *r == v)
}

/// A release number's numeric parts, for ordering one kvscope does not know against those it
/// does (`0.5.8` is newer than every known release). Pre-releases sort before their release.
pub fn order_key(version: &str) -> Option<(Vec<u64>, i8)> {
    let v = version.trim().trim_start_matches('v');
    let v = v.split(['-', '+']).next()?;
    let mut parts = Vec::new();
    let mut pre = 0;
    for p in v.split('.') {
        let digits: String = p.chars().take_while(|c| c.is_ascii_digit()).collect();
        if digits.is_empty() {
            if p.starts_with("post") {
                break;
            }
            return None;
        }
        parts.push(digits.parse().ok()?);
        if digits.len() < p.len() {
            pre = -1; // 0.5.7rc2, 0.5.7a1, 0.5.7.dev3
            break;
        }
    }
    Some((parts, pre))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_sets_say_themselves() {
        let at = |v: &str| RELEASES.iter().position(|r| *r == v).unwrap();
        let s = Releases::span(at("0.4.3"), at("0.4.5"));
        assert_eq!(s.words(true), "0.4.3–0.4.5");
        let newest = RELEASES.len() - 1;
        let open = Releases::span(at("0.5.6"), newest);
        assert_eq!(open.words(true), "0.5.6 or later");
        assert_eq!(open.words(false), format!("0.5.6–{}", RELEASES[newest]));
        assert_eq!(Releases::one(at("0.4.7")).words(false), "0.4.7");
        assert_eq!(Releases::NONE.words(true), "no known release");
        assert_eq!(Releases::all().first(), Some(0));
        assert_eq!(Releases::all().last(), Some(newest));
    }

    #[test]
    fn names_are_found_as_scrapes_write_them() {
        let (a, b) = span_of("lmcache_mp_l1_read_keys_total", false).unwrap();
        assert_eq!((RELEASES[a], RELEASES[b]), ("0.4.3", "0.4.5"));
        assert!(
            span_of(
                "lmcache_mp_l0_l1_store_throughput_GB_per_second_bucket",
                false
            )
            .is_some()
        );
        assert!(span_of("lmcache_num_hit_tokens_total", false).is_none());
        assert!(span_of("lmcache_num_hit_tokens_total", true).is_some());
        assert!(span_of("lmcache_mp_not_a_name", true).is_none());
    }

    #[test]
    fn version_answers_name_releases() {
        assert_eq!(
            release_named("0.5.6-g3e11e108").map(|i| RELEASES[i]),
            Some("0.5.6")
        );
        assert_eq!(
            release_named("0.5.7rc2").map(|i| RELEASES[i]),
            Some("0.5.7rc2")
        );
        assert_eq!(release_named("0.9.0"), None);
        assert!(order_key("0.5.8").unwrap() > order_key("0.5.7rc2").unwrap());
        assert!(order_key("0.5.7rc2").unwrap() < order_key("0.5.7").unwrap());
        assert!(order_key("0.3.10.post2").unwrap() > order_key("0.3.9").unwrap());
        assert_eq!(order_key("not a version"), None);
    }
}
