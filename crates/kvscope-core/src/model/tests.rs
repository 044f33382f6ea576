use super::*;

/// Every setting reaches the model it builds; a live hour at 2 s keeps 1801 scrapes.
#[test]
fn settings_reach_the_model() {
    let thresholds = crate::analysis::findings::Thresholds {
        low_hit_rate: 0.5,
        ..Default::default()
    };
    let settings = ModelSettings::hour_at(2.0)
        .series_limit(7)
        .thresholds(thresholds.clone());
    assert_eq!(settings.history, 1801);
    let m = settings.build(&["lm".into()], &["en".into(), "en2".into()]);
    assert_eq!((m.lmcache.len(), m.engine.len()), (1, 2));
    assert_eq!(m.series_limit(), 7);
    assert_eq!(m.thresholds, thresholds);
    assert_eq!(m.interval, Some(2.0));
    assert!(
        m.targets()
            .all(|(_, t)| t.kind == crate::vocab::InputKind::Files)
    );
    let mut live = ModelSettings::hour_at(2.0)
        .kind(crate::vocab::InputKind::Url)
        .build(&["lm".into()], &[]);
    assert_eq!(live.lmcache[0].kind, crate::vocab::InputKind::Url);
    let later = live.add_target(
        crate::vocab::Role::Engine,
        "en".into(),
        4,
        crate::vocab::InputKind::Prometheus,
    );
    assert_eq!(live.target(later).kind, crate::vocab::InputKind::Prometheus);
    assert_eq!(ModelSettings::default().build(&[], &[]).interval, None);
}

#[test]
fn the_log_hears_about_changes_not_steady_state() {
    use crate::vocab::{Flavor, Route};
    let mut m = Model::new(&["http://h:1/metrics".into()], &[], 8);
    let t = TargetRef {
        role: Role::Lmcache,
        index: 0,
    };
    let mut step = |e: Event| m.apply_logged(e).1;
    let failed = |time: f64, error: &str| Event::ScrapeFailed {
        target: t,
        time,
        error: error.into(),
    };
    assert_eq!(
        step(failed(1.0, "refused")).as_deref(),
        Some("--lmcache http://h:1/metrics: down: refused")
    );
    assert_eq!(step(failed(2.0, "refused")), None);
    assert!(step(failed(3.0, "timed out")).is_some());
    let scrape = |time: f64| Event::Scrape {
        target: t,
        time: Some(time),
        body: b"x 1\n".to_vec(),
        format: None,
        origin: "o".into(),
    };
    assert!(step(scrape(4.0)).unwrap().ends_with("up again"));
    assert_eq!(step(scrape(5.0)), None);
    let route = |time: f64, result| Event::Route {
        target: t,
        route: Route::Status,
        flavor: Flavor::Current,
        time,
        result,
    };
    assert_eq!(step(route(6.0, Ok((200, b"{}".to_vec())))), None);
    assert_eq!(
        step(route(7.0, Err("timed out".into()))).as_deref(),
        Some("http://h:1/status: timed out")
    );
    assert_eq!(step(route(8.0, Err("timed out".into()))), None);
    assert!(
        step(route(9.0, Ok((200, b"{}".to_vec()))))
            .unwrap()
            .ends_with("answering again")
    );
}

/// Settings read before still stand when a later read fails (seen on the real server as it
/// stopped: the sample rate became unknown and a rule changed its verdict); the failure is
/// shown; the same answer again is no change of settings.
#[test]
fn a_failed_settings_read_keeps_the_answer_before() {
    use crate::vocab::{Flavor, Route};
    let mut m = Model::new(&["http://h:1/metrics".into()], &[], 8);
    let t = TargetRef {
        role: Role::Lmcache,
        index: 0,
    };
    let config = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/lmcache-0.5.6-cpu-run1/http/config.json"
    ))
    .unwrap();
    let mut read = |time: f64, result: Result<(u16, Vec<u8>), String>| {
        m.apply(Event::Route {
            target: t,
            route: Route::Config,
            flavor: Flavor::Current,
            time,
            result,
        })
        .unwrap();
        crate::analysis::http_facts::of(m.target(t))
    };
    assert_eq!(
        read(1.0, Ok((200, config.clone())))
            .metrics_sample_rate
            .value(),
        Some(1.0)
    );
    let failed = read(2.0, Err("connection refused".into()));
    assert_eq!(failed.metrics_sample_rate.value(), Some(1.0));
    let row = failed.routes.iter().find(|r| r.name == "config").unwrap();
    assert!(
        !row.ok && row.answer.contains("connection refused"),
        "{row:?}"
    );
    let again = read(3.0, Ok((200, config)));
    let row = again.routes.iter().find(|r| r.name == "config").unwrap();
    assert!(row.ok && row.changed_at.is_none(), "{row:?}");
}

#[test]
fn health_states() {
    let mut h = Health::default();
    assert_eq!(h.state(0.0, 1.0), TargetState::Waiting);
    h.last_ok = Some(10.0);
    assert_eq!(h.state(11.0, 1.0), TargetState::Up);
    assert_eq!(h.state(14.0, 1.0), TargetState::Stale);
    h.last_failure = Some((12.0, "refused".into()));
    assert_eq!(h.state(12.5, 1.0), TargetState::Down);
    h.last_ok = Some(13.0);
    assert_eq!(h.state(13.5, 1.0), TargetState::Up);
}

#[test]
fn an_unparseable_body_marks_the_target_down() {
    let mut m = Model::new(&["a".into()], &[], 8);
    let t = TargetRef {
        role: Role::Lmcache,
        index: 0,
    };
    let event = Event::Scrape {
        target: t,
        time: Some(5.0),
        body: b"<html>".to_vec(),
        format: None,
        origin: "u".into(),
    };
    assert!(m.apply(event).is_err());
    assert_eq!(m.health(t).state(5.5, 1.0), TargetState::Down);
}
