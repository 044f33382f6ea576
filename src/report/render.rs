//! Text and markdown views of a report value.

use std::fmt::Write;

use serde_json::Value;

use crate::sanitize::clean;
use crate::units;

fn at<'a>(v: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(v, |v, k| &v[k])
}

fn num(v: &Value) -> String {
    units::count(v.as_f64())
}

fn ratio(v: &Value) -> String {
    units::percent(v.as_f64())
}

fn bytes(v: &Value) -> String {
    units::bytes(v.as_f64())
}

/// The lines shared by text and markdown: (section, label, value).
fn figures(r: &Value) -> Vec<(&'static str, String, String)> {
    let mut out = Vec::new();
    let lk = |p: &str| at(r, &format!("lmcache.lookup.{p}"));
    let mut push = |s: &'static str, l: &str, v: String| out.push((s, l.to_string(), v));
    push(
        "LMCache lookups",
        "hit rate since start",
        format!(
            "{} ({} / {} tokens)",
            ratio(lk("hit_rate.since_start")),
            num(lk("hit_tokens.since_start")),
            num(lk("requested_tokens.since_start"))
        ),
    );
    push(
        "LMCache lookups",
        "hit rate in window",
        format!(
            "{} ({} / {} tokens)",
            ratio(lk("hit_rate.window")),
            num(lk("hit_tokens.window")),
            num(lk("requested_tokens.window"))
        ),
    );
    push(
        "LMCache lookups",
        "L1 / L2 share of hits",
        format!(
            "{} / {}",
            ratio(lk("l1_share.since_start")),
            ratio(lk("l2_share.since_start"))
        ),
    );
    for row in lk("by_cache_salt").as_array().into_iter().flatten() {
        let salt = match &row["cache_salt"] {
            Value::String(s) => format!("cache_salt \"{}\"", clean(s)),
            _ => "cache_salt (label absent)".into(),
        };
        push(
            "LMCache lookups",
            &salt,
            format!(
                "{} ({} / {})",
                ratio(&row["hit_rate"]),
                num(&row["hit_tokens"]),
                num(&row["requested_tokens"])
            ),
        );
    }
    if let Some(more) = lk("by_cache_salt_more").as_u64().filter(|m| *m > 0) {
        push(
            "LMCache lookups",
            &format!("+{more} more cache_salt values"),
            "the JSON report lists every one".into(),
        );
    }
    let l1 = |p: &str| at(r, &format!("lmcache.l1.{p}"));
    push(
        "L1",
        "used / total",
        format!(
            "{} / {} ({})",
            bytes(l1("used_bytes")),
            bytes(l1("total_bytes")),
            ratio(l1("usage_ratio"))
        ),
    );
    push(
        "L1",
        "evicted (since start, window)",
        format!(
            "{}, {} ({}/s)",
            num(l1("evicted.since_start")),
            num(l1("evicted.window")),
            num(l1("evicted_per_s"))
        ),
    );
    let l2 = |p: &str| at(r, &format!("lmcache.l2.{p}"));
    push(
        "L2",
        "adapters active, used",
        format!(
            "{}, {}",
            num(l2("adapters_active")),
            bytes(l2("used_bytes"))
        ),
    );
    push(
        "L2",
        "stores, loads (per s in window)",
        format!(
            "{}/s, {}/s",
            num(l2("store_requests_per_s")),
            num(l2("load_requests_per_s"))
        ),
    );
    push(
        "L2",
        "in flight (stores, loads)",
        format!(
            "{}, {}",
            num(l2("inflight_stores")),
            num(l2("inflight_loads"))
        ),
    );
    for (sec, p, name) in [
        ("L2", "lmcache.l2.store_throughput_gbs", "L1→L2 store GB/s"),
        ("L2", "lmcache.l2.load_throughput_gbs", "L2→L1 load GB/s"),
        (
            "L0↔L1",
            "lmcache.l0_l1.store_throughput_gbs",
            "L0→L1 store GB/s",
        ),
        (
            "L0↔L1",
            "lmcache.l0_l1.load_throughput_gbs",
            "L1→L0 load GB/s",
        ),
    ] {
        let d = at(r, p);
        push(
            sec,
            name,
            format!(
                "mean {} p50 {} p99 {} (n={}); window mean {}",
                num(&d["mean"]),
                num(&d["p50"]),
                num(&d["p99"]),
                num(&d["count"]),
                num(&d["window"]["mean"])
            ),
        );
    }
    let eb = |p: &str| at(r, &format!("lmcache.eventbus.{p}"));
    push(
        "EventBus",
        "depth, drain lag",
        format!(
            "{}, {} s ({})",
            num(eb("queue_depth")),
            num(eb("drain_lag_seconds")),
            eb("gauges_trust").as_str().unwrap_or("")
        ),
    );
    push(
        "EventBus",
        "dropped (total, per s)",
        format!("{}, {}", num(eb("dropped_total")), num(eb("dropped_per_s"))),
    );
    let en = |p: &str| at(r, &format!("engine.{p}"));
    let kind = en("kind").as_str().unwrap_or("none").to_string();
    push("Engine", "kind", kind);
    push(
        "Engine",
        "prefix cache hit rate",
        format!(
            "{} since start ({} / {}), {} in window",
            ratio(en("prefix_cache.hit_rate.since_start")),
            num(en("prefix_cache.hits_total")),
            num(en("prefix_cache.queries_total")),
            ratio(en("prefix_cache.hit_rate.window"))
        ),
    );
    push(
        "Engine",
        "external prefix hit rate",
        format!(
            "{} since start ({} / {} queries)",
            ratio(en("external_prefix_cache.hit_rate.since_start")),
            num(en("external_prefix_cache.hits_total")),
            num(en("external_prefix_cache.queries_total"))
        ),
    );
    out
}

fn family_counts(r: &Value) -> String {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for f in r["families"].as_array().into_iter().flatten() {
        let s = f["status"].as_str().unwrap_or("?").to_string();
        match counts.iter_mut().find(|c| c.0 == s) {
            Some(c) => c.1 += 1,
            None => counts.push((s, 1)),
        }
    }
    counts
        .iter()
        .map(|(s, n)| format!("{n} {s}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Plain text for a terminal.
pub fn text(r: &Value) -> String {
    let mut o = String::new();
    let m = &r["mode"];
    let _ = writeln!(
        o,
        "architecture: {} ({})",
        m["architecture"].as_str().unwrap_or("?"),
        m["strength"].as_str().unwrap_or("?")
    );
    for e in m["evidence"].as_array().into_iter().flatten() {
        let _ = writeln!(
            o,
            "  {:<28} {} [{}]",
            e["signal"].as_str().unwrap_or(""),
            clean(e["detail"].as_str().unwrap_or("")),
            e["strength"].as_str().unwrap_or("")
        );
    }
    for i in r["inputs"].as_array().into_iter().flatten() {
        let _ = writeln!(
            o,
            "input: {} {} ({} scrapes{})",
            i["role"].as_str().unwrap_or(""),
            clean(i["name"].as_str().unwrap_or("")),
            i["scrapes"],
            i["last_time"]
                .as_str()
                .map(|t| format!(", newest {t}"))
                .unwrap_or_default()
        );
    }
    let _ = writeln!(
        o,
        "window: {} requested, LMCache covers {} s, engine {} s",
        r["window"]["requested"].as_str().unwrap_or(""),
        num(&r["lmcache"]["window_seconds"]),
        num(&r["engine"]["window_seconds"])
    );
    let mut section = "";
    for (sec, label, value) in figures(r) {
        if sec != section {
            let _ = writeln!(o, "\n{sec}");
            section = sec;
        }
        let _ = writeln!(o, "  {label:<34} {value}");
    }
    let findings = r["findings"].as_array().cloned().unwrap_or_default();
    if !findings.is_empty() {
        let _ = writeln!(o, "\nfindings");
        for f in &findings {
            let _ = writeln!(
                o,
                "  [{}] {}: {}",
                f["severity"].as_str().unwrap_or(""),
                f["code"].as_str().unwrap_or(""),
                clean(f["title"].as_str().unwrap_or(""))
            );
            for e in f["evidence"].as_array().into_iter().flatten() {
                let _ = writeln!(o, "      {}", clean(e.as_str().unwrap_or("")));
            }
            let _ = writeln!(o, "      next: {}", f["next_action"].as_str().unwrap_or(""));
        }
    }
    let _ = writeln!(o, "\nfamilies: {}", family_counts(r));
    for f in r["families"].as_array().into_iter().flatten() {
        if f["status"] == "not_applicable" {
            continue;
        }
        let _ = writeln!(
            o,
            "  {:<40} {:<20} {:<9} series {}{}",
            f["id"].as_str().unwrap_or(""),
            f["status"].as_str().unwrap_or(""),
            f["need"].as_str().unwrap_or(""),
            f["series"],
            if f["sampled"] == true {
                "  (sampled)"
            } else {
                ""
            }
        );
    }
    for u in r["unrecognised"].as_array().into_iter().flatten() {
        let _ = writeln!(
            o,
            "  unrecognised: {} ({} samples) in {}",
            clean(u["name"].as_str().unwrap_or("")),
            u["samples"],
            clean(u["target"].as_str().unwrap_or(""))
        );
    }
    let skipped = &r["parse_errors"]["lines_skipped"];
    if skipped.as_u64().unwrap_or(0) > 0 {
        let _ = writeln!(o, "\nparse errors: {skipped} lines skipped");
    }
    let notes = quality_lines(r);
    if !notes.is_empty() {
        let _ = writeln!(o, "\ndata quality:");
        for n in notes {
            let _ = writeln!(o, "  {n}");
        }
    }
    let (unknowns, more) = unknown_lines(r);
    if !unknowns.is_empty() {
        let _ = writeln!(o, "\nunknown figures:");
        for (k, v) in unknowns {
            let _ = writeln!(o, "  {k}: {v}");
        }
        if more > 0 {
            let _ = writeln!(o, "  +{more} more (the JSON report lists every one)");
        }
    }
    o
}

/// Unknown figures people read: at most [`UNKNOWNS_SHOWN`], and one target's own figures only
/// when there are several targets (with one, they repeat the summed ones). Also how many more.
fn unknown_lines(r: &Value) -> (Vec<(String, String)>, usize) {
    let per_target = r["lmcache"]["by_target"].as_array().map_or(0, Vec::len) > 1;
    let all: Vec<(String, String)> = r["unknowns"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| per_target || !k.starts_with("lmcache.by_target"))
        .map(|(k, v)| (clean(k), clean(v.as_str().unwrap_or(""))))
        .collect();
    let more = all.len().saturating_sub(UNKNOWNS_SHOWN);
    (all.into_iter().take(UNKNOWNS_SHOWN).collect(), more)
}

/// Unknown figures text and markdown list.
const UNKNOWNS_SHOWN: usize = 200;

/// One line per data-quality note: target, what, what is wrong, in how many scrapes.
fn quality_lines(r: &Value) -> Vec<String> {
    let dq = &r["data_quality"];
    let mut out: Vec<String> = dq["notes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|n| {
            format!(
                "{}: {} {} ({} scrapes, last {})",
                clean(n["target"].as_str().unwrap_or("")),
                clean(n["subject"].as_str().unwrap_or("")),
                clean(n["problem"].as_str().unwrap_or("")),
                n["scrapes"],
                n["last_time"].as_str().unwrap_or("at an unknown time")
            )
        })
        .collect();
    if let Some(more) = dq["not_kept"].as_u64().filter(|m| *m > 0) {
        out.push(format!("+{more} more problems not kept"));
    }
    out
}

fn md_cell(s: &str) -> String {
    clean(s).replace('|', "\\|")
}

/// GitHub-flavoured markdown.
pub fn markdown(r: &Value) -> String {
    let mut o = String::new();
    let m = &r["mode"];
    let _ = writeln!(
        o,
        "# kvscope report\n\n**Architecture:** `{}` ({})\n",
        m["architecture"].as_str().unwrap_or("?"),
        m["strength"].as_str().unwrap_or("?")
    );
    let _ = writeln!(o, "| signal | detail | strength |\n|---|---|---|");
    for e in m["evidence"].as_array().into_iter().flatten() {
        let _ = writeln!(
            o,
            "| {} | {} | {} |",
            md_cell(e["signal"].as_str().unwrap_or("")),
            md_cell(e["detail"].as_str().unwrap_or("")),
            e["strength"].as_str().unwrap_or("")
        );
    }
    let _ = writeln!(
        o,
        "\n## Figures\n\nWindow: {} requested.\n\n| section | figure | value |\n|---|---|---|",
        r["window"]["requested"].as_str().unwrap_or("")
    );
    for (sec, label, value) in figures(r) {
        let _ = writeln!(o, "| {sec} | {} | {} |", md_cell(&label), md_cell(&value));
    }
    let _ = writeln!(
        o,
        "\n## Families\n\n{}\n\n| family | status | need | series | sampled |\n|---|---|---|---|---|",
        family_counts(r)
    );
    for f in r["families"].as_array().into_iter().flatten() {
        let _ = writeln!(
            o,
            "| `{}` | {} | {} | {} | {} |",
            f["id"].as_str().unwrap_or(""),
            f["status"].as_str().unwrap_or(""),
            f["need"].as_str().unwrap_or(""),
            f["series"],
            if f["sampled"] == true { "yes" } else { "" }
        );
    }
    let notes = quality_lines(r);
    if !notes.is_empty() {
        let _ = writeln!(o, "\n## Data quality\n");
        for n in notes {
            let _ = writeln!(o, "- {}", md_cell(&n));
        }
    }
    let (unknowns, more) = unknown_lines(r);
    if !unknowns.is_empty() {
        let _ = writeln!(o, "\n## Unknown figures\n\n| figure | reason |\n|---|---|");
        for (k, v) in unknowns {
            let _ = writeln!(o, "| `{k}` | {} |", md_cell(&v));
        }
        if more > 0 {
            let _ = writeln!(o, "\n+{more} more (the JSON report lists every one).");
        }
    }
    o
}
