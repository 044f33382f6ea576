//! Which targets make a row. By default a row is one LMCache target, with the engine targets
//! on the same host when that host has exactly one LMCache target; every other target is a row
//! of its own. `--group-by LABEL` puts the targets sharing the label's value in one row
//! instead (a target without it is its own). A row is named by its LMCache target's `instance`
//! label (`job/instance` where two rows would share one), or by the label's value.

use std::collections::BTreeMap;

use super::Target;
use crate::catalog::Architecture;
use crate::vocab::Role;

/// The host of an `instance` label: without its port (`[::1]:8080` → `::1`).
pub fn host(instance: &str) -> &str {
    if let Some(rest) = instance.strip_prefix('[') {
        return rest.split_once(']').map_or(rest, |(h, _)| h);
    }
    match instance.rsplit_once(':') {
        Some((h, port)) if !h.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => instance,
    }
}

/// The rows, each with its name, in name order; within a row the LMCache targets first.
pub fn rows(targets: Vec<Target>, group_by: &Option<String>) -> Vec<(String, Vec<Target>)> {
    let mut rows: Vec<(String, Vec<Target>)> = match group_by {
        Some(_) => by_label(targets),
        None => by_host(targets),
    };
    // Names unique: where two rows share an instance label, both say their job.
    let mut count: BTreeMap<String, usize> = BTreeMap::new();
    for (name, _) in &rows {
        *count.entry(name.clone()).or_default() += 1;
    }
    for (name, members) in &mut rows {
        members.sort_by_key(|t| (t.role != Role::Lmcache, t.key.clone()));
        if count[name.as_str()] > 1 {
            *name = format!("{}/{name}", members[0].key.job);
        }
    }
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    rows
}

fn by_label(targets: Vec<Target>) -> Vec<(String, Vec<Target>)> {
    let mut groups: BTreeMap<String, Vec<Target>> = BTreeMap::new();
    for t in targets {
        let name = t.group.clone().unwrap_or_else(|| t.key.instance.clone());
        groups.entry(name).or_default().push(t);
    }
    groups.into_iter().collect()
}

fn by_host(targets: Vec<Target>) -> Vec<(String, Vec<Target>)> {
    let mut hosts: BTreeMap<String, Vec<Target>> = BTreeMap::new();
    for t in targets {
        hosts
            .entry(host(&t.key.instance).to_string())
            .or_default()
            .push(t);
    }
    let mut rows = Vec::new();
    for (_, members) in hosts {
        let servers = members.iter().filter(|t| t.role == Role::Lmcache).count();
        if servers == 1 {
            let name = members
                .iter()
                .find(|t| t.role == Role::Lmcache)
                .map(|t| t.key.instance.clone())
                .unwrap_or_default();
            rows.push((name, members));
        } else {
            for t in members {
                rows.push((t.key.instance.clone(), vec![t]));
            }
        }
    }
    rows
}

/// The architecture a row's targets show, as far as the names Prometheus holds tell.
pub fn architecture(targets: &[Target]) -> Architecture {
    let has = |k: &str| targets.iter().any(|t| t.kinds.contains(&k));
    let server = targets.iter().any(|t| t.role == Role::Lmcache);
    match (server, has("vllm"), has("sglang"), has("lmcache_embedded")) {
        (true, true, _, _) => Architecture::VllmMpLmcache,
        (true, false, true, _) => Architecture::SglangMpLmcacheCandidate,
        (true, false, false, _) => Architecture::LmcacheMpServer,
        (false, true, _, true) => Architecture::VllmEmbeddedLmcache,
        (false, false, true, true) => Architecture::SglangEmbeddedLmcache,
        (false, true, _, false) | (false, false, true, false) => Architecture::EngineOnly,
        _ => Architecture::Unknown,
    }
}
