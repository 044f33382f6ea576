//! Which LMCache release is running, from `/version` when it was read and from the names the
//! scrapes carry: each name fits the releases whose wheels declare it
//! ([`crate::catalog::version`]), so the names seen together fit the releases they share.
//! Absent names are no evidence (LMCache creates many series at their first event).

use super::Inputs;
use crate::catalog::version::{self, RELEASES, Releases};
use crate::store::TargetStore;

crate::named! {
    /// How the release is known.
    pub enum ReleaseSource {
        /// `/version` names a known release.
        VersionRoute = "version_route",
        /// The releases every LMCache name seen fits.
        Names = "names",
        Unknown = "unknown",
    }
}

/// What kvscope can say of the LMCache release. The release set (`fits`, `open`) is the
/// state; the range in words and its ends are derived from it (and so in the report).
#[derive(Debug, Clone, PartialEq)]
pub struct LmcacheRelease {
    pub source: ReleaseSource,
    /// `/version`'s answer, as the server wrote it (`None` when not read).
    pub reported: Option<String>,
    /// Why, in words: `/version`, and the names that bound the range with their releases.
    pub evidence: Vec<String>,
    /// LMCache names no known release declares (newest known: the last of
    /// [`RELEASES`]): a newer release, or a build between releases.
    pub unknown_names: Vec<String>,
    /// Where the evidence disagrees or goes past what kvscope knows, in words.
    pub notes: Vec<String>,
    /// The releases that fit (empty: none known to).
    pub fits: Releases,
    /// The set is open-ended: newer releases than any known would fit too.
    pub open: bool,
}

/// The report's form: the range in words and its ends beside the rest.
#[derive(serde::Serialize)]
struct Said<'a> {
    range: String,
    source: ReleaseSource,
    reported: &'a Option<String>,
    first: Option<&'static str>,
    last: Option<&'static str>,
    evidence: &'a [String],
    unknown_names: &'a [String],
    notes: &'a [String],
}

impl serde::Serialize for LmcacheRelease {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Said {
            range: self.range(),
            source: self.source,
            reported: &self.reported,
            first: self.fits.first().map(|i| RELEASES[i]),
            // None when newer releases than any known would fit too.
            last: self.fits.last().filter(|_| !self.open).map(|i| RELEASES[i]),
            evidence: &self.evidence,
            unknown_names: &self.unknown_names,
            notes: &self.notes,
        }
        .serialize(s)
    }
}

impl LmcacheRelease {
    /// One line for screens and reports (`None` when the inputs show no LMCache at all):
    /// `LMCache 0.4.5 (from its metric names)`, `LMCache 0.5.6 (/version)`.
    pub fn line(&self) -> Option<String> {
        let how = match self.source {
            ReleaseSource::VersionRoute => "/version",
            ReleaseSource::Names => "from its metric names",
            _ if self.reported.is_some() || !self.unknown_names.is_empty() => {
                "no known release fits"
            }
            _ => return None,
        };
        Some(format!("LMCache {} ({how})", self.range()))
    }

    /// The release in words: `0.5.6`, `0.4.3–0.4.5`, `0.5.6 or later`, or `unknown`.
    pub fn range(&self) -> String {
        if self.fits.is_empty() {
            "unknown".into()
        } else {
            self.fits.words(self.open)
        }
    }

    /// Why a family no fitting release has is not applicable: `not in LMCache 0.4.7`. `None`
    /// when some fitting release has it, when nothing is known, or when no known release has
    /// the family at all (its names come from documentation or builds between releases).
    pub fn lacks(&self, family_releases: Releases) -> Option<String> {
        if self.fits.is_empty() || family_releases.is_empty() {
            return None;
        }
        family_releases
            .and(self.fits)
            .is_empty()
            .then(|| format!("not in LMCache {}", self.fits.words(self.open)))
    }
}

/// An LMCache name as a scrape declares it (not a `_created` companion).
fn lmcache_names(t: &TargetStore) -> impl Iterator<Item = &str> {
    t.declared
        .iter()
        .map(|d| &*d.name)
        .filter(|n| n.starts_with("lmcache") || n.starts_with("vllm:lmcache_mp"))
        .filter(|n| !n.ends_with("_created"))
}

/// The release the inputs show.
pub fn infer(inputs: &Inputs<'_>) -> LmcacheRelease {
    // The MP server's own names when a server shows any; else LMCache inside an engine.
    let servers: Vec<&TargetStore> = inputs
        .lmcache
        .iter()
        .filter(|t| lmcache_names(t).next().is_some())
        .collect();
    let targets: Vec<&TargetStore> = if servers.is_empty() {
        inputs.all().collect()
    } else {
        servers
    };
    let reported = inputs
        .lmcache
        .iter()
        .find_map(super::http_facts::version_of);
    let Scan {
        mut fits,
        seen_any,
        low,
        high,
        unknown,
    } = scan(&targets);
    let newest = RELEASES.len() - 1;
    let mut evidence = Vec::new();
    let mut notes = Vec::new();
    if let Some((a, n)) = low.filter(|(a, _)| *a > 0) {
        evidence.push(format!("{n}: first in {}", RELEASES[a]));
    }
    if let Some((b, n)) = high.filter(|(b, _)| *b < newest) {
        evidence.push(format!("{n}: last in {}", RELEASES[b]));
    }
    if !seen_any {
        fits = Releases::NONE;
    } else if fits.is_empty() {
        notes.push(format!(
            "no known release declares all of these names ({} and {}): a build between releases",
            low.map_or("", |l| l.1),
            high.map_or("", |h| h.1)
        ));
    }
    let open = high.is_none_or(|(b, _)| b == newest);
    if !unknown.is_empty() {
        notes.push(format!(
            "{} LMCache name(s) no known release declares (newest known: {}): a newer release or a build between releases",
            unknown.len(),
            RELEASES[newest]
        ));
    }
    let names_say = fits.words(open);
    let mut out = LmcacheRelease {
        source: if fits.is_empty() {
            ReleaseSource::Unknown
        } else {
            ReleaseSource::Names
        },
        reported: reported.clone(),
        evidence,
        unknown_names: unknown,
        notes,
        fits,
        open,
    };
    if let Some(v) = reported {
        out.by_route(&v, names_say);
    }
    out
}

impl LmcacheRelease {
    /// `/version` said `v`: a known release is the answer (checked against the names); an
    /// unknown one is said, newer than every known or not.
    fn by_route(&mut self, v: &str, names_say: String) {
        self.evidence.insert(0, format!("/version: {v}"));
        match version::release_named(v) {
            Some(i) => {
                if !self.fits.is_empty() && self.fits.and(Releases::one(i)).is_empty() {
                    self.notes
                        .push(format!("/version says {v}, but the names fit {names_say}"));
                }
                self.fits = Releases::one(i);
                self.open = false;
                self.source = ReleaseSource::VersionRoute;
            }
            None => {
                let newest = RELEASES[RELEASES.len() - 1];
                let newer = version::order_key(v)
                    .zip(version::order_key(newest))
                    .is_some_and(|(a, b)| a > b);
                self.notes.push(if newer {
                    format!(
                        "/version {v} is newer than any release kvscope knows (newest: {newest})"
                    )
                } else {
                    format!("/version {v} is not a release kvscope has the names of")
                });
            }
        }
    }
}

/// What the names say: the releases they share, and the names that bound them.
struct Scan<'a> {
    fits: Releases,
    seen_any: bool,
    /// The name with the newest first release, and the one with the oldest last release.
    low: Option<(usize, &'a str)>,
    high: Option<(usize, &'a str)>,
    /// LMCache names no known release declares.
    unknown: Vec<String>,
}

fn scan<'a>(targets: &[&'a TargetStore]) -> Scan<'a> {
    let mut fits = Releases::all();
    let mut seen_any = false;
    let mut low: Option<(usize, &str)> = None;
    let mut high: Option<(usize, &str)> = None;
    let mut unknown = Vec::new();
    for t in targets {
        let colon = t.spelling().lmcache;
        for n in lmcache_names(t) {
            match version::span_of(n, colon) {
                Some((a, b)) => {
                    seen_any = true;
                    fits = fits.and(Releases::span(a, b));
                    if low.is_none_or(|(x, _)| a > x) {
                        low = Some((a, n));
                    }
                    if high.is_none_or(|(x, _)| b < x) {
                        high = Some((b, n));
                    }
                }
                None => unknown.push(n.to_string()),
            }
        }
    }
    unknown.sort();
    unknown.dedup();
    Scan {
        fits,
        seen_any,
        low,
        high,
        unknown,
    }
}
