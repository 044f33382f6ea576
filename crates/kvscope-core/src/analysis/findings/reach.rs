//! Whether the targets answer, how fresh and how fast their answers are, and whether they parse.

use super::{Facts, Rule, Severity, Verdict, clear, data};
use super::{ONLY_SCRAPE, ONLY_STALE, ONLY_TEXT, Prom};
use serde_json::json;

pub(super) const TARGET_DOWN: Rule = Rule {
    code: "target_down",
    severity: Severity::Critical,
    title: "Target down",
    applies: "every target read over the network",
    needs: "each target's last scrape attempt",
    windowed: false,
    hold: 0.0,
    prom: Prom::Alert(|c, _| format!("{} == 0", c.selector("up"))),
    explanation: "The last attempt to scrape the target failed (refused, timed out, an error status, a body too large): nothing it says now is known, and every figure of it is as old as its last answer.",
    next_action: "Check that the process runs and listens where kvscope looks (address, port, path), and read the error: a status names the server's complaint, a timeout a stalled or overloaded process.",
    check: target_down,
};

fn target_down(c: &Facts<'_>) -> Verdict {
    let known: Vec<(&str, &crate::vocab::Health)> = c
        .targets
        .iter()
        .filter_map(|(n, h, _)| Some((*n, (*h)?)))
        // A target not yet tried is neither up nor down: judging it clear would write a
        // "clear" into the history of a target that never answers.
        .filter(|(_, h)| h.last_ok.is_some() || h.last_failure.is_some())
        .collect();
    if known.is_empty() {
        return Verdict::Missing(vec!["a finished scrape attempt of some target".into()]);
    }
    let down: Vec<String> = known
        .iter()
        .filter_map(|(name, h)| {
            h.down().map(|why| {
                format!(
                    "{}: {} ({} failed attempts{})",
                    name,
                    why,
                    h.failures,
                    if h.last_ok.is_none() {
                        ", never answered"
                    } else {
                        ""
                    }
                )
            })
        })
        .collect();
    let pairs = [("down", json!(down.len())), ("targets", json!(known.len()))];
    if down.is_empty() {
        return clear(
            vec![format!(
                "{} targets answered their last attempt",
                known.len()
            )],
            &pairs,
        );
    }
    Verdict::Firing {
        title: if down.len() == 1 {
            "A target is down".into()
        } else {
            format!("{} of {} targets are down", down.len(), known.len()).into()
        },
        evidence: down,
        data: data(&pairs),
    }
}

pub(super) const TARGET_STALE: Rule = Rule {
    code: "target_stale",
    severity: Severity::Warning,
    title: "Target stale",
    applies: "every target read over the network or recorded",
    needs: "how scraping each target went, now and the poll interval",
    windowed: false,
    hold: 0.0,
    prom: Prom::Only(ONLY_STALE),
    explanation: "A target that answered before but has given nothing new for three intervals is hanging or serving a frozen observation; every figure from it is old.",
    next_action: "Check the process (is it wedged?), the network path, and whether its /metrics answer changes between scrapes.",
    check: target_stale,
};

fn target_stale(c: &Facts<'_>) -> Verdict {
    use crate::vocab::TargetState;
    let clock = match clock(c) {
        Ok(k) => k,
        Err(v) => return v,
    };
    // A target scraped once and never failing is a snapshot (a file, a recorded answer), not
    // a feed that stopped: it is not judged.
    let (known, snapshots): (Vec<_>, Vec<_>) = c
        .targets
        .iter()
        .filter_map(|(n, h, scrapes)| Some((*n, (*h)?, *scrapes)))
        .filter(|(_, h, _)| h.last_ok.is_some())
        .partition(|(_, h, scrapes)| *scrapes > 1 || h.failures > 0);
    if known.is_empty() {
        return Verdict::Missing(vec![if snapshots.is_empty() {
            "a target that has answered at least once".into()
        } else {
            "a target polled more than once (each was read once)".into()
        }]);
    }
    let stale: Vec<String> = known
        .iter()
        .filter(|(_, h, _)| h.state(clock.now, clock.interval) == TargetState::Stale)
        .map(|(name, h, _)| {
            format!(
                "{name}: nothing new for {:.0} s (interval {:.1} s)",
                clock.now - h.last_ok.unwrap_or(clock.now),
                clock.interval
            )
        })
        .collect();
    let pairs = [
        ("stale", json!(stale.len())),
        ("targets", json!(known.len())),
        ("snapshots", json!(snapshots.len())),
        ("now", json!(clock.now)),
        ("interval", json!(clock.interval)),
    ];
    if stale.is_empty() {
        return clear(
            vec![format!(
                "every target answered within three intervals of {:.1} s",
                clock.interval
            )],
            &pairs,
        );
    }
    Verdict::Firing {
        title: if stale.len() == 1 {
            "A target has given nothing new for three intervals".into()
        } else {
            format!(
                "{} targets have given nothing new for three intervals",
                stale.len()
            )
            .into()
        },
        evidence: stale,
        data: data(&pairs),
    }
}

pub(super) const SCRAPE_TOO_SLOW: Rule = Rule {
    code: "scrape_too_slow",
    severity: Severity::Warning,
    title: "Scrape too slow",
    applies: "every target read over the network",
    needs: "each target's last scrape latency and the poll interval",
    windowed: false,
    hold: 10.0,
    prom: Prom::Only(ONLY_SCRAPE),
    explanation: "A scrape that takes half the interval or more leaves no slack: the next poll starts late, so figures lag and a slow exporter (a big /metrics, a busy event loop) is itself a symptom.",
    next_action: "Raise --interval, lower the series count (label cardinality), or look at what keeps the exporter busy.",
    check: scrape_too_slow,
};

fn scrape_too_slow(c: &Facts<'_>) -> Verdict {
    let clock = match clock(c) {
        Ok(k) => k,
        Err(v) => return v,
    };
    let timed: Vec<(&str, f64)> = c
        .targets
        .iter()
        .filter_map(|(n, h, _)| Some((*n, (*h)?.last_latency?)))
        .collect();
    if timed.is_empty() {
        return Verdict::Missing(vec![
            "scrape latencies (measured live; files carry none)".into(),
        ]);
    }
    let limit = clock.interval / 2.0;
    let slow: Vec<String> = timed
        .iter()
        .filter(|(_, l)| *l >= limit)
        .map(|(n, l)| format!("{n}: {l:.2} s of a {:.1} s interval", clock.interval))
        .collect();
    let slowest = timed.iter().map(|t| t.1).fold(0.0, f64::max);
    let pairs = [
        ("slowest_seconds", json!(slowest)),
        ("interval", json!(clock.interval)),
        ("slow", json!(slow.len())),
    ];
    if slow.is_empty() {
        return clear(
            vec![format!(
                "slowest last scrape {slowest:.3} s of a {:.1} s interval",
                clock.interval
            )],
            &pairs,
        );
    }
    Verdict::Firing {
        title: format!(
            "Scrapes take half the {:.1} s interval or more",
            clock.interval
        )
        .into(),
        evidence: slow,
        data: data(&pairs),
    }
}

pub(super) const PARSE_ERRORS: Rule = Rule {
    code: "parse_errors",
    severity: Severity::Warning,
    title: "Exposition lines kvscope could not parse",
    applies: "every target",
    needs: "the parser's skipped lines (always available)",
    windowed: false,
    hold: 0.0,
    prom: Prom::Only(ONLY_TEXT),
    explanation: "Lines of a /metrics body that are not valid exposition text are skipped; what they carried is missing from every figure.",
    next_action: "The report's parse_errors lists the first bad lines per scrape with their line numbers: fix the exporter, or report a format kvscope should read.",
    check: parse_errors,
};

fn parse_errors(c: &Facts<'_>) -> Verdict {
    let pairs = [("lines_skipped", json!(c.lines_skipped))];
    if c.lines_skipped == 0 {
        if let Err(v) = super::scraped(c) {
            return v;
        }
        return clear(vec![], &pairs);
    }
    Verdict::Firing {
        title: format!("{} exposition lines could not be parsed", c.lines_skipped).into(),
        evidence: vec![format!(
            "{} lines skipped (the report's parse_errors names them)",
            c.lines_skipped
        )],
        data: data(&pairs),
    }
}

/// The clock, or what is missing.
fn clock(c: &Facts<'_>) -> Result<crate::analysis::Clock, Verdict> {
    c.clock.ok_or_else(|| {
        Verdict::Missing(vec![
            "now and the poll interval (two timed scrapes of a target, or a live session)".into(),
        ])
    })
}
