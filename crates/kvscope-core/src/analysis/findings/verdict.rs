//! The answer at a glance: is the KV cache working? One state, a line that says it, and the
//! reasons, from the same figures and rule verdicts as everything else. `docs/verdict.md`
//! defines each state and the order in which they win.

use super::{Facts, Finding, Severity, State};
use crate::analysis::Fig;
use crate::analysis::aggregate::Pair;

crate::named! {
    /// The state of the KV cache, as the verdict line says it.
    pub enum CacheState {
        Working = "working",
        Degraded = "degraded",
        NotHitting = "not_hitting",
        NoTraffic = "no_traffic",
        Down = "down",
        Unknown = "unknown",
    }
}

impl CacheState {
    /// Whether a `--fail-unless` gate of these states lets this one pass (an empty gate lets
    /// every state pass).
    pub fn passes(self, gate: &[CacheState]) -> bool {
        gate.is_empty() || gate.contains(&self)
    }

    /// The state as the line writes it: capitals, `_` as a space.
    pub fn shout(self) -> String {
        self.as_str().replace('_', " ").to_uppercase()
    }
}

/// The verdict on the KV cache at one moment.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Verdict {
    pub state: CacheState,
    /// What follows `KV cache: STATE` on the line.
    pub summary: String,
    /// When this state began, as judged over time (`null`: judged once).
    #[serde(serialize_with = "crate::timefmt::serialize_time")]
    pub since: Option<f64>,
    /// The window the hit rate covers.
    pub window_seconds: f64,
    /// The share of looked-up tokens that hit, over the window.
    pub hit_rate_window: Fig,
    /// Why this state: the facts it rests on, most telling first.
    pub reasons: Vec<String>,
    /// How long every target has been down: from the first failed attempt to the latest
    /// (`None` after one).
    #[serde(skip)]
    pub down_for: Option<f64>,
}

impl Verdict {
    /// The whole line: `KV cache: WORKING — …`, `KV cache: DOWN 10s — …`,
    /// `KV cache: NO TRAFFIC YET`.
    pub fn line(&self) -> String {
        if self.summary.is_empty() {
            format!("KV cache: {}", self.head())
        } else {
            format!("KV cache: {} — {}", self.head(), self.summary)
        }
    }

    /// The state as the line heads with it: `WORKING`, `DOWN 10s`, `NO TRAFFIC YET`.
    pub fn head(&self) -> String {
        let head = self.state.shout();
        match (self.state, self.down_for) {
            (CacheState::NoTraffic, _) => format!("{head} YET"),
            (CacheState::Down, Some(d)) => format!(
                "{head} {}",
                crate::timefmt::format_duration(d.round().max(1.0))
            ),
            _ => head,
        }
    }
}

/// The lookup counters a verdict reads: LMCache's MP server's, or embedded LMCache's.
struct Lookups<'a> {
    requested: &'a Pair,
    hits: &'a Pair,
    rate: &'a Pair,
    /// L1 and L2 shares of the hits, where the server splits them.
    split: Option<(&'a Pair, &'a Pair)>,
}

/// The verdict from the facts and the rules as judged (after their hold-down).
pub fn judge(c: &Facts<'_>, rules: &[Finding]) -> Verdict {
    let mut v = state(c, rules);
    let now = c.clock.map(|k| k.now);
    // Down: since the targets went down, as their health says. Else since the history last
    // noted this state, or now.
    if v.since.is_none() {
        v.since = match c.history.and_then(|h| h.cache().last().copied()) {
            Some((t, s)) if s == v.state => Some(t),
            _ => now,
        };
    }
    v
}

fn verdict(state: CacheState, summary: String, c: &Facts<'_>, reasons: Vec<String>) -> Verdict {
    let no_rate = format!(
        "no window hit rate: the cache is {}{}",
        state.as_str(),
        if summary.is_empty() {
            String::new()
        } else {
            format!(" ({summary})")
        }
    );
    Verdict {
        state,
        summary,
        since: None,
        window_seconds: c.window,
        hit_rate_window: Fig::unknown(no_rate),
        reasons,
        down_for: None,
    }
}

fn state(c: &Facts<'_>, rules: &[Finding]) -> Verdict {
    if let Some(v) = down(c) {
        return v;
    }
    let critical: Vec<&Finding> = rules
        .iter()
        .filter(|f| f.state == State::Firing && f.severity == Severity::Critical)
        .collect();
    let Some(lookups) = lookups(c) else {
        let why = if c.lmcache_targets == 0 && c.engine_targets == 0 {
            "no target has answered yet".to_string()
        } else if c.lmcache_targets > 0
            && !c
                .families
                .iter()
                .any(|f| f.id.starts_with("lmcache") && f.series > 0)
        {
            // No LMCache family at all: not a server before its first lookup (its L1 gauges
            // are there from the start), but one whose metrics go elsewhere.
            no_lmcache_metrics(c)
        } else if c.lmcache_targets > 0 {
            // The MP server answered without its lookup counters: it creates them at the
            // first lookup.
            return no_traffic(c, "no lookups since the server started".into(), &critical);
        } else if c.mode.architecture.embedded() {
            "embedded LMCache exports no lookup or retrieval token counters here".to_string()
        } else {
            format!(
                "no KV-cache hit counters in {} (give --lmcache for the LMCache server)",
                c.mode.architecture
            )
        };
        return degraded_or(c, &critical, CacheState::Unknown, why);
    };
    let requested = lookups.requested.window.value();
    if lookups.requested.since_start.value() == Some(0.0) && requested.is_none_or(|r| r == 0.0) {
        return no_traffic(c, "no lookups since the server started".into(), &critical);
    }
    match hit_rate(c, &lookups) {
        Ok(h) => by_rate(c, h, &critical),
        Err(why) => degraded_or(c, &critical, CacheState::Unknown, why),
    }
}

/// Why an LMCache target that answered shows none of LMCache's families: LMCache run with
/// `--otlp-endpoint` pushes its metrics there and leaves `/metrics` with the process's own.
fn no_lmcache_metrics(c: &Facts<'_>) -> String {
    let pushed = c.lm.by_target.iter().find_map(|t| {
        let o = t.http.observability.as_ref()?;
        o.otlp_endpoint.clone()
    });
    match pushed {
        Some(at) => format!(
            "LMCache pushes its metrics to OTLP ({}, /config observability.otlp_endpoint): its \
             /metrics has none of them; read them where that collector sends them, or run the \
             server without --otlp-endpoint",
            crate::sanitize::clean(&at)
        ),
        None => "the LMCache target's /metrics has none of LMCache's families: an LMCache \
                 server run with --otlp-endpoint pushes them there instead (--routes reads \
                 /config to tell), or this is not an LMCache server's /metrics"
            .into(),
    }
}

/// The hit rate a verdict judges: the window's when it had lookups, else since start.
struct HitRate {
    rate: f64,
    /// Tokens looked up over what the rate covers.
    looked: f64,
    /// Hit tokens over the same.
    hits: Option<f64>,
    /// What it covers, in words, with the L1 / L2 split where there is one.
    over: String,
    window: Fig,
}

fn hit_rate(c: &Facts<'_>, l: &Lookups<'_>) -> Result<HitRate, String> {
    let window = format!("in {}", crate::timefmt::format_duration(c.window));
    let split = |over: fn(&Pair) -> &Fig| {
        l.split.map_or(String::new(), |(l1, l2)| {
            match (over(l1).value(), over(l2).value()) {
                (Some(a), Some(b)) => format!(
                    " (L1 {} / L2 {})",
                    crate::units::percent(Some(a)),
                    crate::units::percent(Some(b))
                ),
                _ => String::new(),
            }
        })
    };
    let requested = l.requested.window.value();
    if let (Some(r), Some(rate)) = (requested, l.rate.window.value())
        && r > 0.0
    {
        return Ok(HitRate {
            rate,
            looked: r,
            hits: l.hits.window.value(),
            over: format!("{window}{}", split(|p| &p.window)),
            window: Fig::known(rate),
        });
    }
    // No lookups in the window, or no window yet: since start, said as such.
    let (Some(all), Some(rate)) = (l.requested.since_start.value(), l.rate.since_start.value())
    else {
        let why = l.rate.since_start.0.clone().err().unwrap_or_default();
        return Err(format!("no hit rate: {why}"));
    };
    let note = if requested == Some(0.0) {
        format!("since start (no lookups {window})")
    } else {
        "since start (one scrape: no window; report --samples N gives one)".to_string()
    };
    Ok(HitRate {
        rate,
        looked: all,
        hits: l.hits.since_start.value(),
        over: format!("{note}{}", split(|p| &p.since_start)),
        window: l.rate.window.clone(),
    })
}

/// The verdict from a hit rate: warming up, not hitting, or working (unless degraded).
fn by_rate(c: &Facts<'_>, h: HitRate, critical: &[&Finding]) -> Verdict {
    let (rate, looked, over) = (h.rate, h.looked, &h.over);
    let pct = crate::units::percent(Some(rate));
    let mut reasons = vec![format!(
        "{pct} of {} looked-up tokens hit {over}",
        crate::units::count(Some(looked))
    )];
    let tail = failures(c)
        .map(|n| format!(" · {} failures", crate::units::count(Some(n))))
        .unwrap_or_default();
    let t = c.thresholds;
    let mut out = if looked < t.warm_up_tokens && h.hits.is_none_or(|x| x == 0.0) {
        reasons.push(format!(
            "warm-up: a hit rate is judged after {} tokens",
            crate::units::count(Some(t.warm_up_tokens))
        ));
        let summary = format!(
            "warming up: {} of {} tokens looked up, no hits yet",
            crate::units::count(Some(looked)),
            crate::units::count(Some(t.warm_up_tokens))
        );
        degraded_or(c, critical, CacheState::Unknown, summary)
    } else if rate < t.low_hit_rate && looked >= t.warm_up_tokens {
        reasons.push(format!(
            "below low_hit_rate ({})",
            crate::units::percent(Some(t.low_hit_rate))
        ));
        let summary = format!("{pct} of looked-up tokens hit {over}{tail}");
        let also = critical.iter().map(|f| f.title.to_string()).collect();
        verdict(CacheState::NotHitting, summary, c, also)
    } else {
        let summary = format!("{pct} of looked-up tokens hit {over}{tail}");
        degraded_or(c, critical, CacheState::Working, summary)
    };
    // What made it degraded is the most telling; else the hit rate.
    if out.state == CacheState::Degraded {
        out.reasons.append(&mut reasons);
    } else {
        reasons.append(&mut out.reasons);
        out.reasons = reasons;
    }
    out.hit_rate_window = h.window;
    out
}

/// `down` when every target that says whether the cache works (the LMCache ones when given)
/// failed its last attempt; `unknown` before any attempt.
fn down(c: &Facts<'_>) -> Option<Verdict> {
    let lm = c.lmcache_given.min(c.targets.len());
    let judged = if lm > 0 {
        &c.targets[..lm]
    } else {
        &c.targets[..]
    };
    let tried: Vec<(&str, &crate::vocab::Health)> = judged
        .iter()
        .filter_map(|(n, h, _)| Some((*n, (*h)?)))
        .filter(|(_, h)| h.last_ok.is_some() || h.last_failure.is_some())
        .collect();
    if tried.is_empty() {
        let scraped = judged.iter().any(|(_, _, n)| *n > 0);
        return (!scraped).then(|| {
            verdict(
                CacheState::Unknown,
                "no metrics read yet".into(),
                c,
                Vec::new(),
            )
        });
    }
    if tried.len() < judged.len() || tried.iter().any(|(_, h)| h.down().is_none()) {
        return None;
    }
    let reasons: Vec<String> = tried
        .iter()
        .map(|(n, h)| format!("{n}: {}", h.down().unwrap_or_default()))
        .collect();
    let last_ok = tried.iter().filter_map(|(_, h)| h.last_ok).reduce(f64::max);
    let summary = match last_ok {
        Some(t) => format!("figures as of {}", crate::timefmt::clock_time(t)),
        None => "never answered".to_string(),
    };
    let mut v = verdict(CacheState::Down, summary, c, reasons);
    // Down since the last of them went down, for as long as their failed attempts show.
    v.since = tried
        .iter()
        .filter_map(|(_, h)| h.down_since)
        .reduce(f64::max);
    let failed = tried
        .iter()
        .filter_map(|(_, h)| Some(h.last_failure.as_ref()?.0))
        .reduce(f64::max);
    v.down_for = v
        .since
        .zip(failed)
        .map(|(since, last)| last - since)
        .filter(|d| *d > 0.0);
    Some(v)
}

fn no_traffic(c: &Facts<'_>, why: String, critical: &[&Finding]) -> Verdict {
    let mut v = degraded_or(c, critical, CacheState::NoTraffic, String::new());
    v.reasons.insert(0, why);
    v
}

/// `degraded` when a critical rule fires, else `state` with `summary`.
fn degraded_or(
    c: &Facts<'_>,
    critical: &[&Finding],
    state: CacheState,
    summary: String,
) -> Verdict {
    if critical.is_empty() {
        return verdict(state, summary, c, Vec::new());
    }
    let reasons: Vec<String> = critical.iter().map(|f| f.title.to_string()).collect();
    let first = &reasons[0];
    let more = if reasons.len() > 1 {
        format!(" (+{} more)", reasons.len() - 1)
    } else {
        String::new()
    };
    let summary = if state == CacheState::Working {
        format!("{first}{more} · {summary}")
    } else {
        format!("{first}{more}")
    };
    verdict(CacheState::Degraded, summary, c, reasons)
}

/// The lookup counters there are: the MP server's, else embedded LMCache's.
fn lookups<'a>(c: &'a Facts<'_>) -> Option<Lookups<'a>> {
    if c.lmcache_targets > 0 && c.lookup_tokens_exported {
        let l = &c.lm.lookup;
        return Some(Lookups {
            requested: &l.requested_tokens,
            hits: &l.hit_tokens,
            rate: &l.hit_rate,
            split: Some((&l.l1_share, &l.l2_share)),
        });
    }
    // Embedded LMCache: its lookups, else (older builds) its retrievals.
    let e = c.emb;
    if !e.present {
        return None;
    }
    if e.lookup_tokens.since_start.value().is_some() {
        return Some(Lookups {
            requested: &e.lookup_tokens,
            hits: &e.lookup_hit_tokens,
            rate: &e.lookup_hit_rate,
            split: None,
        });
    }
    e.requested_tokens
        .since_start
        .value()
        .is_some()
        .then_some(Lookups {
            requested: &e.requested_tokens,
            hits: &e.hit_tokens,
            rate: &e.retrieve_hit_rate,
            split: None,
        })
}

/// Failures counted where the cache keeps them (L1 allocation and read, L2 prefetch), over the
/// window; `None` when none of them is known.
fn failures(c: &Facts<'_>) -> Option<f64> {
    let l = &c.lm;
    let known: Vec<f64> = [
        &l.l1.allocation_failures,
        &l.l1.read_failures,
        &l.l2.prefetch_failures,
    ]
    .iter()
    .filter_map(|p| p.window.value())
    .collect();
    (!known.is_empty()).then(|| known.iter().sum())
}

/// What the verdict's state rests on, as numbers: all a fleet table computed by Prometheus has
/// of an instance. [`decide`] gives its state by the same ladder [`judge`] climbs (a test holds
/// the two equal at every moment of the real captures).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Glance {
    /// Every target that says whether the cache works failed its last attempt.
    pub down: bool,
    /// An LMCache server answered (its lookup counters may not exist yet).
    pub answered: bool,
    /// A critical rule fires.
    pub critical: bool,
    /// Tokens looked up: over the window, since start.
    pub requested: (Option<f64>, Option<f64>),
    /// Of them, tokens that hit: over the window, since start.
    pub hits: (Option<f64>, Option<f64>),
}

impl Glance {
    /// An analysis's glance at its LMCache MP server's lookups (`None` for embedded LMCache,
    /// whose counters the fleet table does not read).
    pub fn of(a: &crate::analysis::Analysis, critical: bool) -> Option<Glance> {
        let l = &a.lmcache.lookup;
        if a.lmcache_embedded.present && l.requested_tokens.since_start.value().is_none() {
            return None;
        }
        Some(Glance {
            down: a.verdict.state == CacheState::Down,
            answered: !a.lmcache.summed_over.is_empty(),
            critical,
            requested: (
                l.requested_tokens.window.value(),
                l.requested_tokens.since_start.value(),
            ),
            hits: (
                l.hit_tokens.window.value(),
                l.hit_tokens.since_start.value(),
            ),
        })
    }
}

/// The cache's state from a glance, by the verdict's ladder: down; no lookup counters (no
/// traffic once a server answered); no lookups since start; the window's hit rate when it had
/// lookups, else the one since start; warming up; below `low_hit_rate`; else working —
/// degraded instead of working, warming up, unknown or no traffic while a critical rule fires.
pub fn decide(g: &Glance, t: &super::Thresholds) -> CacheState {
    let or_degraded = |s: CacheState| {
        if g.critical { CacheState::Degraded } else { s }
    };
    if g.down {
        return CacheState::Down;
    }
    let (req_w, req_s) = g.requested;
    if req_w.is_none() && req_s.is_none() {
        return or_degraded(if g.answered {
            CacheState::NoTraffic
        } else {
            CacheState::Unknown
        });
    }
    if req_s == Some(0.0) && req_w.is_none_or(|r| r == 0.0) {
        return or_degraded(CacheState::NoTraffic);
    }
    let share = |h: Option<f64>, r: Option<f64>| Some(h? / r.filter(|r| *r > 0.0)?);
    let (rate, looked, hits) = match (req_w, share(g.hits.0, req_w)) {
        (Some(r), Some(rate)) if r > 0.0 => (rate, r, g.hits.0),
        _ => match (req_s, share(g.hits.1, req_s)) {
            (Some(r), Some(rate)) => (rate, r, g.hits.1),
            _ => return or_degraded(CacheState::Unknown),
        },
    };
    if looked < t.warm_up_tokens && hits.is_none_or(|x| x == 0.0) {
        or_degraded(CacheState::Unknown)
    } else if rate < t.low_hit_rate && looked >= t.warm_up_tokens {
        CacheState::NotHitting
    } else {
        or_degraded(CacheState::Working)
    }
}

#[cfg(test)]
#[path = "verdict_glance_tests.rs"]
mod glance_tests;
