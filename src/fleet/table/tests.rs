//! The table from hand-made answers (edge cases: grouping, a dead box, a target that left). Its
//! figures against real data are in `tests/fleet.rs`, through a real Prometheus.

use super::*;
use crate::sources::promapi::Reading;

fn reading(labels: &[(&str, &str)], value: f64) -> Reading {
    Reading {
        labels: crate::sources::promapi::Labels(
            labels
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
        ),
        value,
    }
}

fn found(job: &str, instance: &str, kind: &str) -> Reading {
    reading(
        &[("job", job), ("instance", instance), ("kvscope_kind", kind)],
        1.0,
    )
}

fn up(job: &str, instance: &str, v: f64) -> Reading {
    reading(
        &[("__name__", "up"), ("job", job), ("instance", instance)],
        v,
    )
}

fn answers(time: f64) -> Answers {
    Answers {
        time,
        discovered: vec![
            found("lmcache", "box-a:8080", "lmcache"),
            found("vllm", "box-a:8000", "vllm"),
            found("lmcache", "box-b:8080", "lmcache"),
            found("vllm", "box-b:8000", "vllm"),
            found("vllm", "box-c:8000", "vllm"),
            found("vllm", "box-c:8001", "vllm"),
        ],
        up: vec![
            up("lmcache", "box-a:8080", 1.0),
            up("vllm", "box-a:8000", 1.0),
            up("lmcache", "box-b:8080", 1.0),
            up("vllm", "box-b:8000", 1.0),
            up("vllm", "box-c:8000", 1.0),
            up("vllm", "box-c:8001", 1.0),
            // A dead box discovery no longer lists: its job makes it one of the fleet's.
            up("lmcache", "box-d:8080", 0.0),
            // Another job's target: not the fleet's.
            up("node", "box-a:9100", 1.0),
        ],
        figures: vec![reading(
            &[
                ("__name__", "kvscope:lookup_hit_rate:60s"),
                ("job", "lmcache"),
                ("instance", "box-a:8080"),
            ],
            0.5,
        )],
        ..Answers::default()
    }
}

#[test]
fn a_server_and_its_engines_on_one_host_are_one_row_and_a_dead_box_is_a_down_row() {
    let mut t = Table::new(60.0, Thresholds::default(), None);
    t.apply(answers(1000.0));
    let names: Vec<&str> = t.rows.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "box-a:8080",
            "box-b:8080",
            "box-c:8000",
            "box-c:8001",
            "box-d:8080"
        ]
    );
    let a = t.row_named("box-a:8080").unwrap();
    assert_eq!(a.targets.len(), 2);
    assert_eq!(a.row.architecture, "vllm_mp_lmcache");
    assert_eq!(a.row.hit_rate.value(), Some(0.5));
    assert_eq!(a.row.as_of, Some(1000.0));
    let d = t.row_named("box-d:8080").unwrap();
    assert_eq!(d.row.state, TargetState::Down);
    assert_eq!(d.row.verdict, verdict::CacheState::Down);
    assert_eq!(d.row.findings.critical, 1);
    assert!(t.fires(Severity::Critical));
}

#[test]
fn a_label_groups_instead_and_a_target_gone_from_prometheus_leaves_after_a_window() {
    let mut a = answers(1000.0);
    for r in a.discovered.iter_mut().chain(a.up.iter_mut()) {
        let host = group::host(r.label("instance")).to_string();
        r.labels.insert("box", &host);
    }
    let mut t = Table::new(60.0, Thresholds::default(), Some("box".into()));
    t.apply(a);
    let names: Vec<&str> = t.rows.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["box-a", "box-b", "box-c", "box-d"]);
    assert_eq!(t.row_named("box-c").unwrap().targets.len(), 2);

    let mut later = answers(1030.0);
    later.up.retain(|r| r.label("instance") != "box-b:8000");
    later
        .discovered
        .retain(|r| r.label("instance") != "box-b:8000");
    t.group_by = None;
    t.apply(later);
    let b = t.row_named("box-b:8080").unwrap();
    assert_eq!(
        b.row.state,
        TargetState::Stale,
        "gone from Prometheus: stale"
    );
    let mut much_later = answers(1100.0);
    much_later
        .up
        .retain(|r| r.label("instance") != "box-b:8000");
    much_later
        .discovered
        .retain(|r| r.label("instance") != "box-b:8000");
    t.apply(much_later);
    assert_eq!(t.row_named("box-b:8080").unwrap().targets.len(), 1);
}

#[test]
fn hosts_are_instances_without_their_port() {
    assert_eq!(group::host("box-a:8080"), "box-a");
    assert_eq!(group::host("[::1]:8080"), "::1");
    assert_eq!(group::host("10.0.0.1"), "10.0.0.1");
    assert_eq!(group::host("fe80::1"), "fe80::1");
}
