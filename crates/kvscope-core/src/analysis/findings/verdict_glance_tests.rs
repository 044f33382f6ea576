//! `decide` (what the fleet table judges by) against `judge` (the single-box verdict) at
//! every moment of the real captures built in.

use super::{CacheState, Glance, decide};
use crate::analysis::findings::{Severity, State, Thresholds};
use crate::model::ModelSettings;
use crate::vocab::InputKind;

#[test]
fn the_glance_decides_as_the_verdict_at_every_moment_of_real_captures() {
    let thresholds = Thresholds::default();
    let mut states = std::collections::HashSet::new();
    let mut moments = 0;
    for c in crate::rulefile::unit::builtin().unwrap() {
        let mut model = ModelSettings::hour_at(1.0).build(&[], &[]);
        model.interval = None;
        let target = model.add_target(c.role, c.instance.clone(), 4096, InputKind::Files);
        for e in c.events(target) {
            let t = e.time().unwrap_or_default();
            model.apply_judged(e, 60.0).unwrap();
            let Some(a) = model.judge_pending_analysed(60.0) else {
                continue;
            };
            let critical = a
                .rules
                .iter()
                .any(|f| f.state == State::Firing && f.severity == Severity::Critical);
            let g = Glance::of(&a, critical).expect("an MP server's capture");
            assert_eq!(
                decide(&g, &thresholds),
                a.verdict.state,
                "{} at {t}s: {g:?} — {}",
                c.name,
                a.verdict.line()
            );
            states.insert(a.verdict.state);
            moments += 1;
        }
    }
    assert!(moments > 200, "{moments} moments");
    // The captures reach down, degraded and working (and the ladder's other rungs on the way).
    for s in [CacheState::Down, CacheState::Degraded, CacheState::Working] {
        assert!(states.contains(&s), "no moment was {s}: {states:?}");
    }
}

/// Hand-made glances for the rungs the captures do not reach.
#[test]
fn the_ladder_on_made_up_glances() {
    let t = Thresholds::default();
    let g = |req: (Option<f64>, Option<f64>), hits: (Option<f64>, Option<f64>)| Glance {
        answered: true,
        requested: req,
        hits,
        ..Glance::default()
    };
    assert_eq!(
        decide(&g((None, None), (None, None)), &t),
        CacheState::NoTraffic
    );
    let none = Glance::default();
    assert_eq!(decide(&none, &t), CacheState::Unknown);
    let low = g((Some(10_000.0), Some(20_000.0)), (Some(100.0), Some(300.0)));
    assert_eq!(decide(&low, &t), CacheState::NotHitting);
    let critical = Glance {
        critical: true,
        ..low
    };
    assert_eq!(
        decide(&critical, &t),
        CacheState::NotHitting,
        "not hitting outranks degraded"
    );
    let warm = g((Some(100.0), Some(100.0)), (Some(0.0), Some(0.0)));
    assert_eq!(decide(&warm, &t), CacheState::Unknown);
    let idle = g((Some(0.0), Some(5000.0)), (Some(0.0), Some(4000.0)));
    assert_eq!(
        decide(&idle, &t),
        CacheState::Working,
        "no lookups in the window: since start"
    );
}
