//! `report`: the headless answer — JSON (`kvscope-report/1`), text and markdown — from the same
//! analysis the TUI shows. The report is a typed structure: JSON is its serialisation (written
//! straight out, however many rows), and text and markdown are rendered from the same typed
//! fields, so the three formats cannot disagree and a renamed field fails to compile. Each
//! target is listed with where its evidence came from ([`InputKind`]).

mod render;
mod unknowns;

use serde::Serialize;
use serde_json::Value;

use crate::analysis::{self, Analysis};
use crate::model::{Model, ParseErrors};
use crate::store::TargetStore;
use crate::timefmt::{format_duration, serialize_time};
use crate::vocab::{InputKind, Role};

/// The JSON schema id; bump on an incompatible change.
pub const SCHEMA: &str = "kvscope-report/1";

/// Breakdown rows text and markdown show per breakdown; the JSON has all of them.
pub const ROWS_SHOWN: usize = 20;

/// One target read.
#[derive(Debug, Serialize)]
struct Input<'a> {
    role: Role,
    name: &'a str,
    kind: InputKind,
    scrapes: usize,
    #[serde(serialize_with = "serialize_time")]
    first_time: Option<f64>,
    #[serde(serialize_with = "serialize_time")]
    last_time: Option<f64>,
    restarts: usize,
    /// When each restart kept was seen (RFC 3339), oldest first.
    restarted_at: Vec<String>,
    samples_newest: Option<u32>,
}

impl<'a> Input<'a> {
    fn of(role: Role, t: &'a TargetStore) -> Self {
        let mut times = t.scrapes().iter().filter_map(|s| s.time);
        let first_time = times.next();
        let last_time = times.next_back().or(first_time);
        Input {
            role,
            name: &t.name,
            kind: t.kind,
            scrapes: t.scrapes().len(),
            first_time,
            last_time,
            restarts: t.restarts().len(),
            restarted_at: t
                .restart_times()
                .into_iter()
                .map(crate::timefmt::format_rfc3339)
                .collect(),
            samples_newest: t.newest().map(|s| s.samples),
        }
    }
}

#[derive(Debug, Serialize)]
struct Window {
    requested: String,
    requested_seconds: f64,
}

#[derive(Debug, Serialize)]
struct Parsing<'a> {
    lines_skipped: u32,
    scrapes: &'a [ParseErrors],
}

/// The report: what `--format json` prints (with `unknowns` added).
#[derive(Debug, Serialize)]
struct Report<'a> {
    schema: &'static str,
    generator: &'static str,
    window: Window,
    inputs: Vec<Input<'a>>,
    #[serde(flatten)]
    analysis: &'a Analysis,
    /// When each rule changed state, where it was judged over time (a packet or file
    /// timeline at every capture; a live session at each picture); `{}` for one moment.
    verdict_history: &'a crate::analysis::findings::Verdicts,
    parse_errors: Parsing<'a>,
}

/// The report with its unknowns: every `null` figure's path and reason.
#[derive(Serialize)]
struct WithUnknowns<'a> {
    #[serde(flatten)]
    report: &'a Report<'a>,
    unknowns: serde_json::Map<String, Value>,
}

fn report<'a>(model: &'a Model, a: &'a Analysis, window: f64) -> Report<'a> {
    let mut inputs = Vec::new();
    for (role, ts) in [
        (Role::Lmcache, &model.lmcache),
        (Role::Engine, &model.engine),
    ] {
        for t in ts {
            inputs.push(Input::of(role, t));
        }
    }
    Report {
        schema: SCHEMA,
        generator: concat!("kvscope ", env!("CARGO_PKG_VERSION")),
        window: Window {
            requested: format_duration(window),
            requested_seconds: window,
        },
        inputs,
        analysis: a,
        verdict_history: &model.verdicts,
        parse_errors: Parsing {
            lines_skipped: model.parse_errors.iter().map(|p| p.lines_skipped).sum(),
            scrapes: &model.parse_errors,
        },
    }
}

fn with_unknowns<'a>(r: &'a Report<'a>) -> WithUnknowns<'a> {
    WithUnknowns {
        report: r,
        unknowns: unknowns::collect(r)
            .into_iter()
            .map(|(path, reason)| (path, Value::String(reason)))
            .collect(),
    }
}

/// The JSON report, pretty-printed.
pub fn json(model: &Model, window: f64) -> String {
    json_of(model, &analysis::analyze(&model.inputs(window)), window)
}

/// [`json`] with the analysis of `model.inputs(window)` already made (a live session keeps
/// the newest one).
pub fn json_of(model: &Model, a: &Analysis, window: f64) -> String {
    let r = report(model, a, window);
    let mut out =
        crate::units::pretty_json(&with_unknowns(&r)).expect("a report always serialises");
    out.push('\n');
    out
}

/// The JSON report as a value (what `json` prints, parsed).
pub fn build(model: &Model, window: f64) -> Value {
    let a = analysis::analyze(&model.inputs(window));
    let r = report(model, &a, window);
    serde_json::to_value(with_unknowns(&r)).expect("a report always serialises")
}

/// Keeps the first [`ROWS_SHOWN`] rows; returns how many were dropped.
fn cap<T>(rows: &mut Vec<T>) -> usize {
    let more = rows.len().saturating_sub(ROWS_SHOWN);
    rows.truncate(ROWS_SHOWN);
    more
}

/// The report as text for a terminal (breakdowns and unknown figures capped; the JSON has all),
/// of an analysis already made of `model.inputs(window)`.
pub fn text_of(model: &Model, a: Analysis, window: f64) -> String {
    reading(model, a, window, render::text)
}

/// The report as GitHub-flavoured markdown (capped like [`text_of`]), of an analysis already
/// made of `model.inputs(window)`.
pub fn markdown_of(model: &Model, a: Analysis, window: f64) -> String {
    reading(model, a, window, render::markdown)
}

/// A view for people: breakdowns keep their first [`ROWS_SHOWN`] rows and say how many more
/// the JSON has; unknown figures are listed in path order, one target's own only when there
/// are several targets (with one, they repeat the summed ones), at most
/// [`render::UNKNOWNS_SHOWN`].
fn reading(
    model: &Model,
    mut a: Analysis,
    window: f64,
    render: fn(&Report, &render::Extras) -> String,
) -> String {
    let salts_more = cap(&mut a.lmcache.lookup.by_cache_salt);
    cap(&mut a.lmcache.lookup.by_model_name);
    let r = report(model, &a, window);
    let per_target = a.lmcache.by_target.len() > 1;
    // Parts this input does not have: their figures are unknown by nature, and listing them
    // would bury the ones that matter (the JSON has every one).
    let scraped = |ts: &[TargetStore]| ts.iter().any(|t| t.newest().is_some());
    let absent: Vec<&str> = [
        ("lmcache.", !scraped(&model.lmcache)),
        ("miss_attribution.", !scraped(&model.lmcache)),
        ("engine.", !scraped(&model.engine)),
        ("lmcache_embedded.", !a.lmcache_embedded.present),
    ]
    .into_iter()
    .filter_map(|(prefix, gone)| gone.then_some(prefix))
    .collect();
    let all = unknowns::collect(&r);
    let applies = |path: &str| !absent.iter().any(|p| path.starts_with(p));
    let not_applying = all.iter().filter(|(path, _)| !applies(path)).count();
    // A target read at one time only has no window: `--samples` gives it more.
    let want_samples = model
        .targets()
        .any(|(_, t)| t.scrapes().len() == 1 && t.newest().is_some_and(|s| s.time.is_some()));
    let mut unknowns: Vec<(String, String)> = all
        .into_iter()
        .filter(|(path, _)| applies(path))
        .filter(|(path, _)| per_target || !path.starts_with("lmcache.by_target"))
        .map(|(path, reason)| {
            (
                crate::sanitize::clean(&path),
                crate::sanitize::clean(&reason),
            )
        })
        .collect();
    unknowns.sort();
    let unknowns_more = unknowns.len().saturating_sub(render::UNKNOWNS_SHOWN);
    unknowns.truncate(render::UNKNOWNS_SHOWN);
    render(
        &r,
        &render::Extras {
            salts_more,
            unknowns,
            unknowns_more,
            not_applying,
            want_samples,
            metrics: scraped(&model.lmcache) || scraped(&model.engine),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::Fig;

    #[derive(Serialize)]
    struct Inner {
        b: Fig,
        c: Fig,
    }

    #[derive(Serialize)]
    struct Outer {
        a: Inner,
        d: Vec<Option<Inner>>,
        #[serde(flatten)]
        e: Inner,
    }

    #[test]
    fn every_unknown_is_found_with_its_path_and_serialises_as_null() {
        let inner = |b: Fig| Inner {
            b,
            c: Fig::known(1.0),
        };
        let v = Outer {
            a: inner(Fig::unknown("why")),
            d: vec![None, Some(inner(Fig::unknown("no")))],
            e: inner(Fig::known(f64::INFINITY)),
        };
        let found = unknowns::collect(&v);
        assert_eq!(
            found,
            [
                ("a.b".to_string(), "why".to_string()),
                ("d[1].b".to_string(), "no".to_string()),
                (
                    "b".to_string(),
                    "the value works out to inf, which is not a measurement".to_string()
                ),
            ]
        );
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(json["a"]["b"], Value::Null);
        assert_eq!(json["a"]["c"], 1.0);
        assert_eq!(json["d"][1]["b"], Value::Null);
    }
}
