use super::*;
use crate::analysis::findings::Verdicts;
use crate::vocab::Stream;

/// The demo's real timeline (LMCache scrapes, its route answers, the vLLM scrape) with the
/// run's real server log and storage trace read beside it in pieces between the scrapes:
/// every kind of event a live session hears, in time order.
fn timeline() -> Vec<Event> {
    let (mut events, _) = crate::demo::packet().events();
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/lmcache-0.5.6-cpu-run1/"
    );
    let times: Vec<f64> = events.iter().filter_map(Event::time).collect();
    let (first, last) = (
        times.iter().copied().fold(f64::MAX, f64::min),
        times[times.len() - 1],
    );
    let lm = TargetRef {
        role: Role::Lmcache,
        index: 0,
    };
    for (file, stream) in [
        ("server.log", Stream::ServerLog),
        ("run.lct", Stream::Trace),
    ] {
        let bytes = std::fs::read(format!("{dir}{file}")).unwrap();
        let pieces = bytes.chunks(bytes.len().div_ceil(9));
        for (k, piece) in pieces.enumerate() {
            events.push(Event::Evidence {
                target: lm,
                // Between scrapes, a third of a second off any of them.
                time: Some(first + (last - first) * (k as f64 + 0.5) / 9.0 + 0.33),
                stream,
                fresh: k == 0,
                body: piece.to_vec(),
                origin: file.into(),
            });
        }
    }
    events.sort_by(|a, b| a.time().unwrap_or(0.0).total_cmp(&b.time().unwrap_or(0.0)));
    events
}

fn model() -> Model {
    crate::model::ModelSettings::hour_at(2.0).build(&["lmcache".into()], &["engine".into()])
}

/// A live session judges each moment from the analysis its picture shows (pictures come
/// after bursts: here after every event the next of which comes later); a replay judges
/// each moment when the next event closes it. Both histories equal a fresh judgement of each
/// recorded moment: a new model fed the events up to where the moment closed, judged on
/// the moment's own time.
#[test]
fn the_history_is_a_fresh_judgement_of_each_moment() {
    let events = timeline();
    let window = 60.0;
    let mut core = Core::new(model(), window);
    // As the worker drives it: pictures after bursts, a capture-free burst caught up.
    let mut live = Core::new(model(), window);
    let mut replay = model();
    let (mut capture_free, mut bursts) = (true, 0);
    for (i, e) in events.iter().enumerate() {
        core.apply(e.clone());
        live.apply_live(e.clone());
        capture_free &= !e.is_capture();
        let _ = replay.apply_judged(e.clone(), window);
        let later = events.get(i + 1).is_some_and(|n| n.time() != e.time());
        if later {
            let _ = core.shown(None);
            if capture_free {
                live.catch_up();
            }
            let _ = live.shown(None);
            (capture_free, bursts) = (true, bursts + 1);
        }
    }
    let _ = core.shown(None);
    let _ = live.shown(None);
    replay.judge_pending(window);
    // Fresh: where each moment closes, from the events alone.
    let capture = Event::is_capture;
    let mut fresh = Verdicts::default();
    let mut moment: Option<(f64, bool)> = None;
    let judge = |upto: usize, at: f64, fresh: &mut Verdicts| {
        let mut m = model();
        for e in &events[..upto] {
            let _ = m.apply(e.clone());
        }
        let mut inputs = m.inputs(window);
        inputs.clock = inputs
            .clock
            .map(|c| crate::analysis::Clock { now: at, ..c });
        // Judged with the history so far, as a session judges (hold-downs read it).
        let before = fresh.clone();
        inputs.history = Some(&before);
        let j = analysis::verdicts(&inputs);
        fresh.note(at, &j.rules, j.verdict.state);
    };
    let mut judged = 0;
    for (i, e) in events.iter().enumerate() {
        let closes = match (moment, capture(e)) {
            (Some((t, true)), true) => e.time().is_some_and(|u| u != t),
            (Some((_, true)), false) => true,
            _ => false,
        };
        if closes && let Some((t, _)) = moment {
            judge(i, t, &mut fresh);
            judged += 1;
            moment = Some((t, false));
        }
        if capture(e)
            && let Some(t) = e.time()
        {
            moment = Some((t, true));
        }
    }
    if let Some((t, true)) = moment {
        judge(events.len(), t, &mut fresh);
        judged += 1;
    }
    assert!(judged > 30, "{judged} moments");
    assert_eq!(*replay.verdicts, fresh, "a replay's history");
    assert_eq!(*core.model.verdicts, fresh, "a session's history");
    assert_eq!(*live.model.verdicts, fresh, "a live session's history");
    // Live, a moment's judgement is its picture's analysis: one analysis a burst at most,
    // where judging apart from pictures needs more.
    assert!(
        (judged..=bursts + 1).contains(&live.analysed),
        "{} analyses for {judged} moments in {bursts} bursts",
        live.analysed
    );
}

/// The real trace read in pieces, a picture after each: the rows a picture keeps from the
/// last one are those a fresh one would make, and they move on as records arrive.
#[test]
fn trace_rows_kept_between_pictures_equal_fresh_ones() {
    let mut core = Core::new(model(), 60.0);
    let mut seen = Vec::new();
    for e in timeline() {
        let evidence = matches!(e, Event::Evidence { .. });
        core.apply(e);
        if !evidence {
            continue;
        }
        let shown = core.shown(None);
        let fresh = Evidence::of(&core.model, &Evidence::default());
        let rows = |e: &Evidence| e.trace.as_ref().map(|t| t.recent.clone());
        assert_eq!(rows(&shown.evidence), rows(&fresh));
        if let Some(rows) = rows(&shown.evidence) {
            seen.push(rows.last().map(|r| r.seq));
        }
    }
    assert!(seen.len() >= 9, "{seen:?}");
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
    assert!(seen.first() < seen.last(), "{seen:?}");
}

/// Along the real timeline, the sparkline series a core keeps between pictures equal those
/// computed afresh from the same model.
#[test]
fn kept_history_equals_a_fresh_one() {
    let mut core = Core::new(model(), 60.0);
    let mut pictures = 0;
    for e in timeline() {
        core.apply(e);
        let shown = core.shown(None);
        let fresh = History::of(&core.model, &shown.analysis, 60.0, &mut Vec::new());
        assert_eq!(*shown.history, fresh);
        pictures += 1;
    }
    let h = &core.shown(None).history.targets[0];
    assert!(pictures > 30 && h.l1_usage.len() > 20, "{h:?}");
}
