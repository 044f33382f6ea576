use super::*;
use crate::sources::promapi::Text;
use crate::vocab::Event;

/// What a Prometheus server holds: series (their sorted labels) and their points.
pub(crate) type Held = BTreeMap<Vec<(Text, Text)>, Vec<(i64, f64)>>;

/// What a Prometheus server that scraped these events holds: each sample as a series point at
/// the scrape's time (or the sample's own timestamp, which Prometheus honours), with the
/// target's `job` and `instance` and any extra target labels attached; and the metric types
/// its metadata API would give (the `# TYPE` names). Real scrapes in, so the test sees what a
/// real server would store.
pub(crate) fn stored(
    scrapes: &[(f64, &[u8])],
    target: &[(&str, &str)],
    into: &mut Held,
    types: &mut Types,
) {
    for (time, body) in scrapes {
        let scrape = crate::expo::parse(body).unwrap();
        for f in &scrape.families {
            if f.kind != crate::expo::Kind::Unknown {
                types.0.insert(f.name.to_string(), f.kind);
            }
        }
        for s in scrape.data_samples() {
            let mut labels = crate::sources::promapi::labels_of(&scrape, s);
            labels.extend(target.iter().map(|(k, v)| (Text::from(*k), Text::from(*v))));
            labels.sort();
            let t = s.timestamp.unwrap_or(*time);
            into.entry(labels)
                .or_default()
                .push(((t * 1000.0).round() as i64, s.value));
        }
    }
}

pub(crate) fn series_of(m: Held) -> Vec<Series> {
    m.into_iter()
        .map(|(labels, mut points)| {
            points.sort_by_key(|p| p.0);
            points.dedup_by_key(|p| p.0);
            Series { labels, points }
        })
        .collect()
}

fn key(job: &str, instance: &str) -> TargetKey {
    TargetKey {
        job: job.into(),
        instance: instance.into(),
    }
}

/// The demo's real recordings (the LMCache 0.5.6 run and packet_a's vLLM scrape) read two
/// ways: straight into one box's model, and through what Prometheus would store of them into
/// a fleet grouped by a `box` label. Every figure, finding and rule verdict agrees.
#[test]
fn a_fleet_instance_has_the_numbers_of_the_same_box_read_directly() {
    let (events, newest) = crate::demo::recorded(31);
    let window = 60.0;
    let mut direct = Model::new(
        &["lmcache/box-a:8080".into()],
        &["vllm/box-a:8000".into()],
        64,
    );
    let (mut lm, mut en) = (Vec::new(), Vec::new());
    for e in &events {
        if let Event::Scrape {
            target, time, body, ..
        } = e
        {
            match target.role {
                Role::Lmcache => lm.push((time.unwrap(), body.as_slice())),
                Role::Engine => en.push((time.unwrap(), body.as_slice())),
            }
        }
        direct.apply(e.clone()).unwrap();
    }
    let mut held = BTreeMap::new();
    let mut types = Types::default();
    let lm_target = [("job", "lmcache"), ("instance", "box-a:8080"), ("box", "a")];
    let en_target = [("job", "vllm"), ("instance", "box-a:8000"), ("box", "a")];
    stored(&lm, &lm_target, &mut held, &mut types);
    stored(&en, &en_target, &mut held, &mut types);

    let mut fleet = Fleet::new("box", window);
    fleet.types = types;
    let health = |labels: &[(&str, &str)]| ScrapeHealth {
        health: crate::sources::promapi::PromHealth::Up,
        target_labels: labels.iter().map(|(k, _)| k.to_string()).collect(),
        ..Default::default()
    };
    let read = Read {
        found: vec![
            Found {
                key: key("lmcache", "box-a:8080"),
                group: "a".into(),
                role: Role::Lmcache,
            },
            Found {
                key: key("vllm", "box-a:8000"),
                group: "a".into(),
                role: Role::Engine,
            },
        ],
        health: Some(HashMap::from([
            (key("lmcache", "box-a:8080"), health(&lm_target)),
            (key("vllm", "box-a:8000"), health(&en_target)),
        ])),
        series: series_of(held),
        time: newest,
    };
    let applied = fleet.apply(read);
    assert_eq!(
        applied.len(),
        lm.len() + 1,
        "one scrape event per stored time"
    );
    assert_eq!(fleet.instances().count(), 1, "grouped by the box label");
    let inst = fleet.instance("a").unwrap();

    // Prometheus does not keep the order of a scrape's lines, so the one place the analysis
    // names "the first series seen" as an example may name another.
    let examples_out = |mut v: serde_json::Value| {
        for e in v["mode"]["evidence"].as_array_mut().unwrap() {
            let d = e["detail"].as_str().unwrap();
            let d = d.split(" (e.g.").next().unwrap().to_string();
            e["detail"] = d.into();
        }
        v
    };
    let fleet_json = examples_out(crate::report::build(&inst.model, window));
    let direct_json = examples_out(crate::report::build(&direct, window));
    for part in [
        "mode",
        "families",
        "lmcache",
        "engine",
        "lmcache_embedded",
        "miss_attribution",
        "findings",
        "rules",
    ] {
        assert_eq!(
            fleet_json[part], direct_json[part],
            "{part} differs between the fleet and the box read directly"
        );
    }
    // Not vacuous: the window holds real traffic and real verdicts.
    assert!(fleet_json["lmcache"]["lookup"]["hit_rate"]["window"].is_number());
    assert!(fleet_json["engine"]["prefix_cache"]["hit_rate"]["since_start"].is_number());
}

/// A target keeps a window of scrapes at its interval (Prometheus's, else its samples' gaps).
#[test]
fn a_target_keeps_about_one_window() {
    let at_15s = ScrapeHealth {
        interval: Some(15.0),
        ..Default::default()
    };
    assert_eq!(history_for(60.0, &[], Some(&at_15s)), 7);
    let s = Series {
        labels: vec![],
        points: vec![(0, 1.0), (5000, 1.0), (15000, 1.0)],
    };
    assert_eq!(history_for(60.0, &[&s], None), 15);
    assert_eq!(history_for(60.0, &[], None), DEFAULT_HISTORY);
}

/// A second refresh reads only newer samples: the events it adds are the scrapes after the
/// newest one held.
#[test]
fn a_refresh_takes_only_samples_newer_than_those_held() {
    let (events, _) = crate::demo::recorded(31);
    let lm: Vec<(f64, &[u8])> = events
        .iter()
        .filter_map(|e| match e {
            Event::Scrape {
                target, time, body, ..
            } if target.role == Role::Lmcache => Some((time.unwrap(), body.as_slice())),
            _ => None,
        })
        .collect();
    let target = [("job", "lmcache"), ("instance", "h:1")];
    let found = || {
        vec![Found {
            key: key("lmcache", "h:1"),
            group: "h:1".into(),
            role: Role::Lmcache,
        }]
    };
    let mut fleet = Fleet::new("instance", 60.0);
    let (mut first, mut types) = (BTreeMap::new(), Types::default());
    stored(&lm[..20], &target, &mut first, &mut types);
    fleet.types = types.clone();
    let n1 = fleet
        .apply(Read {
            found: found(),
            series: series_of(first),
            time: lm[19].0,
            ..Default::default()
        })
        .len();
    // The second answer overlaps the first (a range reaching back past the newest held).
    let mut second = BTreeMap::new();
    stored(&lm[15..], &target, &mut second, &mut types);
    let n2 = fleet
        .apply(Read {
            found: found(),
            series: series_of(second),
            time: lm[31].0,
            ..Default::default()
        })
        .len();
    assert_eq!((n1, n2), (20, 12));
}

/// Prometheus's failed scrape of a target becomes a failed-scrape event once, and the
/// instance reads down with Prometheus's error.
#[test]
fn a_target_prometheus_cannot_scrape_is_down_with_its_error() {
    let mut fleet = Fleet::new("instance", 60.0);
    let k = key("lmcache", "h:1");
    let read = |time: f64| Read {
        found: vec![Found {
            key: k.clone(),
            group: "h:1".into(),
            role: Role::Lmcache,
        }],
        health: Some(HashMap::from([(
            k.clone(),
            ScrapeHealth {
                health: crate::sources::promapi::PromHealth::Down,
                last_scrape: Some(1000.0),
                last_error: "connection refused\x1b[31m".into(),
                interval: Some(15.0),
                target_labels: vec![],
            },
        )])),
        time,
        ..Default::default()
    };
    assert_eq!(fleet.apply(read(1001.0)).len(), 1);
    assert_eq!(fleet.apply(read(1016.0)).len(), 0, "told once");
    let inst = fleet.instance("h:1").unwrap();
    assert_eq!(inst.state(), TargetState::Down);
    let why = inst.model.health(inst.members[0].target).down().unwrap();
    assert!(
        why.contains("connection refused") && !why.contains('\x1b'),
        "{why}"
    );
}

/// Instances appear as discovery finds them and leave a window after it stops listing them.
#[test]
fn instances_come_and_go_with_discovery() {
    let mut fleet = Fleet::new("instance", 60.0);
    let found = |names: &[&str]| {
        names
            .iter()
            .map(|n| Found {
                key: key("vllm", n),
                group: n.to_string(),
                role: Role::Engine,
            })
            .collect()
    };
    let read = |names: &[&str], time: f64| Read {
        found: found(names),
        time,
        ..Default::default()
    };
    fleet.apply(read(&["a:1"], 100.0));
    fleet.apply(read(&["a:1", "b:1"], 115.0));
    let names = |f: &Fleet| f.instances().map(|i| i.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(&fleet), ["a:1", "b:1"]);
    fleet.apply(read(&["b:1"], 150.0));
    assert_eq!(names(&fleet), ["a:1", "b:1"], "a:1 is kept for a window");
    fleet.apply(read(&["b:1"], 180.0));
    assert_eq!(names(&fleet), ["b:1"]);
}
