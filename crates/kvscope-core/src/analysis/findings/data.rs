//! Whether what the targets say can be read whole: bad values, unknown names, required families and histograms that stay empty.

use super::{Facts, Rule, Severity, Verdict, clear, data, lmcache_present, need, scraped};
use super::{ONLY_MATRIX, ONLY_ROUTES, ONLY_TEXT, Prom};
use crate::analysis::matrix::{FamilyRow, Need, Status};
use serde_json::json;

pub(super) const BAD_DATA: Rule = Rule {
    code: "bad_data",
    severity: Severity::Warning,
    title: "Values in the data that cannot be right",
    applies: "every target",
    needs: "the stored samples (always available)",
    windowed: false,
    hold: 0.0,
    prom: Prom::Only(ONLY_TEXT),
    explanation: "A counter that is not finite, negative or shrinking without a restart, a series twice in one scrape, or a histogram that is not cumulative cannot be a measurement; figures resting on such values are shown as unknown, with the series named.",
    next_action: "Check the exporter: a counter must be a finite, non-negative number that only grows, each series must appear once per scrape, and bucket bounds must be numbers.",
    check: bad_data,
};

fn bad_data(c: &Facts<'_>) -> Verdict {
    let quality = c.quality;
    let n = quality.notes.len() as u64 + quality.not_kept;
    if n == 0 {
        if let Err(v) = scraped(c) {
            return v;
        }
        return clear(vec![], &[("problems", json!(0))]);
    }
    let mut evidence: Vec<String> = quality
        .notes
        .iter()
        .take(5)
        .map(|n| format!("{}: {} {}", n.target, n.note.subject, n.note.problem))
        .collect();
    if n > 5 {
        evidence.push(format!("+{} more (the report lists them)", n - 5));
    }
    Verdict::Firing {
        title: format!("{n} problems in the data itself; figures resting on them are unknown")
            .into(),
        evidence,
        data: data(&[("problems", json!(n))]),
    }
}

pub(super) const REQUIRED_FAMILY_MISSING: Rule = Rule {
    code: "required_family_missing",
    severity: Severity::Warning,
    title: "Required metric family without samples",
    applies: "every deployment (the matrix's required families)",
    needs: "the family matrix",
    windowed: false,
    hold: 15.0,
    prom: Prom::Only(ONLY_MATRIX),
    explanation: "The matrix marks families the detected architecture must export; one without samples means a disabled exporter, a renamed metric, or no traffic yet.",
    next_action: "Many LMCache series appear only after their first event: send traffic, then check the exporter (--disable-metrics, OTLP push) and the name variants this build uses.",
    check: required_family_missing,
};

fn required_family_missing(c: &Facts<'_>) -> Verdict {
    if let Err(v) = scraped(c) {
        return v;
    }
    let missing: Vec<&FamilyRow> = c
        .families
        .iter()
        .filter(|r| {
            r.need == Need::Required
                && matches!(r.status, Status::Missing | Status::DeclaredNoSamples)
        })
        .collect();
    if missing.is_empty() {
        // LMCache creates these on their first event: before the first lookup, absence is
        // normal, and the rule cannot judge them.
        let waiting: Vec<&str> = c
            .families
            .iter()
            .filter(|r| r.status == Status::Waiting)
            .map(|r| r.id)
            .collect();
        if !waiting.is_empty() {
            return Verdict::Missing(vec![format!(
                "traffic: {} appear with the first lookup, and there has been none",
                waiting.join(", ")
            )]);
        }
        return clear(vec![], &[("families", json!([]))]);
    }
    let ids: Vec<&str> = missing.iter().map(|f| f.id).collect();
    Verdict::Firing {
        title: if ids.len() == 1 {
            format!("{} has no samples", ids[0]).into()
        } else {
            format!("{} required families have no samples", ids.len()).into()
        },
        evidence: missing
            .iter()
            .map(|f| {
                format!(
                    "{}: {} in a {} deployment",
                    f.title,
                    f.status.as_str(),
                    c.mode.architecture
                )
            })
            .collect(),
        data: data(&[("families", json!(ids))]),
    }
}

pub(super) const SAMPLED_HISTOGRAMS_EMPTY: Rule = Rule {
    code: "sampled_histograms_empty",
    severity: Severity::Info,
    title: "Sampled histograms have no observations",
    applies: "an LMCache MP server that has served lookups",
    needs: "the matrix's sampled families and /config's metrics_sample_rate",
    windowed: false,
    hold: 30.0,
    prom: Prom::Only(ONLY_ROUTES),
    explanation: "Lifecycle and reuse-gap histograms record only a sample of events (--metrics-sample-rate, 0.01 by default); with little traffic they stay empty, so miss attribution and reuse figures have nothing to scale.",
    next_action: "Expect them after about 1/rate events, or raise --metrics-sample-rate while investigating.",
    check: sampled_histograms_empty,
};

fn sampled_histograms_empty(c: &Facts<'_>) -> Verdict {
    if let Err(v) = lmcache_present(c) {
        return v;
    }
    let lookups = match need(
        "tokens looked up since start",
        &c.lm.lookup.requested_tokens.since_start,
    ) {
        Ok(n) => n,
        Err(m) => return Verdict::Missing(vec![m]),
    };
    if lookups == 0.0 {
        return Verdict::Missing(vec!["traffic: no lookups yet".into()]);
    }
    let sampled: Vec<&FamilyRow> = c
        .families
        .iter()
        .filter(|f| f.sampled && f.id.starts_with("lmcache_mp.") && f.need != Need::NotApplicable)
        .collect();
    let empty: Vec<&str> = sampled
        .iter()
        .filter(|f| f.status != Status::Populated)
        .map(|f| f.id)
        .collect();
    let rate = c.lm.http.metrics_sample_rate.value();
    let rate_text = rate.map_or(
        "LMCache's default 0.01 unless --metrics-sample-rate was set (/config not read)".into(),
        |r| format!("{r} (/config)"),
    );
    let pairs = [
        ("empty", json!(empty)),
        ("sampled_families", json!(sampled.len())),
        ("sample_rate", json!(rate)),
    ];
    let line = format!(
        "{} of {} sampled families have no observations; sample rate {rate_text}",
        empty.len(),
        sampled.len()
    );
    // Every event recorded: an empty family is one whose events did not happen, not sampling.
    if empty.is_empty() || rate.is_some_and(|r| r >= 1.0) {
        clear(vec![line], &pairs)
    } else {
        Verdict::Firing {
            title: format!(
                "{} sampled histogram families have no observations",
                empty.len()
            )
            .into(),
            evidence: vec![line, empty.join(", ")],
            data: data(&pairs),
        }
    }
}

pub(super) const UNRECOGNISED_NAMES: Rule = Rule {
    code: "unrecognised_names",
    severity: Severity::Info,
    title: "Metric names with known prefixes not in kvscope's catalog",
    applies: "every target",
    needs: "the stored samples (always available)",
    windowed: false,
    hold: 0.0,
    prom: Prom::Only(ONLY_TEXT),
    explanation: "A newer or older build may have renamed metrics; kvscope reads them only through its catalog.",
    next_action: "Report them so the catalog learns the variant.",
    check: unrecognised_names,
};

fn unrecognised_names(c: &Facts<'_>) -> Verdict {
    if let Err(v) = scraped(c) {
        return v;
    }
    if c.unrecognised.is_empty() {
        return clear(vec![], &[("names", json!(0))]);
    }
    let names: Vec<String> = c
        .unrecognised
        .iter()
        .take(5)
        .map(|u| u.name.clone())
        .collect();
    Verdict::Firing {
        title: format!(
            "{} metric names with known prefixes are not in kvscope's catalog",
            c.unrecognised.len()
        )
        .into(),
        data: data(&[("names", json!(c.unrecognised.len()))]),
        evidence: names,
    }
}
