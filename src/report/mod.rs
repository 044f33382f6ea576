//! `report`: the headless answer — JSON (`kvscope-report/1`), text and markdown — from the same
//! analysis the TUI shows. Text and markdown are rendered from the JSON value, so the three
//! formats cannot disagree.

mod render;

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::analysis::{self, UNKNOWN_MARKER};
use crate::model::{Model, Role};
use crate::store::TargetStore;
use crate::timefmt::{format_duration, format_rfc3339};

pub use render::{markdown, text};

/// The JSON schema id; bump on an incompatible change.
pub const SCHEMA: &str = "kvscope-report/1";

fn input_info(role: Role, t: &TargetStore, kind: &str) -> Value {
    let times: Vec<f64> = t.scrapes().iter().filter_map(|s| s.time).collect();
    json!({
        "role": role,
        "name": t.name,
        "kind": kind,
        "scrapes": t.scrapes().len(),
        "first_time": times.first().map(|&x| format_rfc3339(x)),
        "last_time": times.last().map(|&x| format_rfc3339(x)),
        "restarts": t.restarts().len(),
        "samples_newest": t.newest().map(|s| s.samples),
    })
}

/// Builds the report value. `kinds` says, per target in model order (LMCache then engine),
/// whether it was read from files or a URL.
pub fn build(model: &Model, window: f64, kinds: &[&str]) -> Value {
    let a = analysis::analyze(&model.inputs(window));
    let mut kinds = kinds.iter();
    let mut inputs = Vec::new();
    for (role, ts) in [
        (Role::Lmcache, &model.lmcache),
        (Role::Engine, &model.engine),
    ] {
        for t in ts {
            inputs.push(input_info(
                role,
                t,
                kinds.next().copied().unwrap_or("files"),
            ));
        }
    }
    let lines_skipped: u32 = model.parse_errors.iter().map(|p| p.lines_skipped).sum();
    let mut v = json!({
        "schema": SCHEMA,
        "generator": concat!("kvscope ", env!("CARGO_PKG_VERSION")),
        "window": {"requested": format_duration(window), "requested_seconds": window},
        "inputs": inputs,
        "mode": a.mode,
        "families": a.families,
        "unrecognised": a.unrecognised,
        "parse_errors": {"lines_skipped": lines_skipped, "scrapes": model.parse_errors},
        "lmcache": a.lmcache,
        "engine": a.engine,
        "findings": a.findings,
        "data_quality": a.data_quality,
    });
    let mut unknowns = BTreeMap::new();
    extract_unknowns(&mut v, &mut String::new(), &mut unknowns);
    v["unknowns"] = json!(unknowns);
    v
}

/// Replaces every unknown-figure marker by `null` and records its path and reason.
fn extract_unknowns(v: &mut Value, path: &mut String, out: &mut BTreeMap<String, String>) {
    match v {
        Value::Object(map) => {
            if map.len() == 1
                && let Some(Value::String(reason)) = map.get(UNKNOWN_MARKER)
            {
                out.insert(path.clone(), reason.clone());
                *v = Value::Null;
                return;
            }
            for (k, child) in map.iter_mut() {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                extract_unknowns(child, path, out);
                path.truncate(len);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter_mut().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                extract_unknowns(child, path, out);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_become_null_with_their_path() {
        let mut v = json!({"a": {"b": {UNKNOWN_MARKER: "why"}, "c": 1}, "d": [{"e": {UNKNOWN_MARKER: "no"}}]});
        let mut out = BTreeMap::new();
        extract_unknowns(&mut v, &mut String::new(), &mut out);
        assert_eq!(v, json!({"a": {"b": null, "c": 1}, "d": [{"e": null}]}));
        assert_eq!(out.get("a.b").map(String::as_str), Some("why"));
        assert_eq!(out.get("d[0].e").map(String::as_str), Some("no"));
    }
}
