//! The Capacity pane on real runs (`NO_L2=1`, `--lookup-hash-log-dir`): LMCache's bench client
//! at 1 and 2 GiB of L1, and the Zipf workload at 0.5 and 1 GiB: the curve drawn from the
//! analysis, today's L1 and the hit rate `/metrics` counted marked on it.

use ratatui::crossterm::event::KeyCode;

use super::{key, render};
use crate::model::Model;
use crate::tui::app::{App, Overlay, Pane};
use crate::tui::theme::Theme;
use crate::vocab::{Event, Role, Stream, TargetRef};

/// The run in `run` (under fixtures/): its capture folder's events, then its lookup-hash log
/// read beside the LMCache target.
pub(in crate::tui) fn capacity_app(run: &str) -> App {
    let dir = format!("{}/fixtures/{run}", env!("CARGO_MANIFEST_DIR"));
    let imported = crate::sources::capture::import(std::path::Path::new(&dir)).unwrap();
    let model = Model::new(&["http://127.0.0.1:8080/metrics".into()], &[], 64);
    let mut a = App::new(model, 1.0, 60.0, Theme::dark(), None);
    let events = imported.loaded().unwrap();
    let newest = events.iter().filter_map(Event::time).fold(0.0, f64::max);
    events.into_iter().for_each(|e| drop(a.on_event(e)));
    let logs = std::fs::read_dir(format!("{dir}/lookup_hashes")).unwrap();
    for path in logs.map(|e| e.unwrap().path()) {
        drop(a.on_event(Event::Evidence {
            target: TargetRef {
                role: Role::Lmcache,
                index: 0,
            },
            time: None,
            stream: Stream::LookupHashes,
            fresh: true,
            body: std::fs::read(&path).unwrap(),
            origin: path.file_name().unwrap().to_string_lossy().into(),
        }));
    }
    a.on_tick(newest + 1.0);
    a
}

fn show(a: &mut App, pane: Pane) {
    a.view.focus = pane;
    if pane.large() {
        a.view.large = pane;
    }
}

#[test]
fn the_pane_draws_the_curve_today_and_what_was_counted_at_three_sizes() {
    for (size, l1) in [
        ("capacity/l1-1gib", "1.00 GiB"),
        ("capacity/l1-2gib", "2.00 GiB"),
        ("capacity-zipf/l1-512mib", "512.0 MiB"),
        ("capacity-zipf/l1-1gib", "1.00 GiB"),
    ] {
        let mut a = capacity_app(&format!("lmcache-0.5.6-{size}"));
        show(&mut a, Pane::Capacity);
        let c = a
            .shown
            .analysis
            .capacity
            .clone()
            .expect("a capacity section");
        let now = c.current.as_ref().expect("today's L1 from /status");
        let counted = crate::units::percent(now.observed_hit_rate.value());
        for (w, h) in [(80, 24), (120, 40), (200, 60)] {
            let s = render(&a, w, h);
            assert!(s.contains(&format!("L1 {l1} →")), "{size} {w}×{h}:\n{s}");
            assert!(
                s.contains(&format!("L1 today {l1}")),
                "{size} {w}×{h}:\n{s}"
            );
            assert!(
                s.contains(&format!("counted {counted}")),
                "{size} {w}×{h}:\n{s}"
            );
            assert!(s.contains("to reach"), "{size} {w}×{h}:\n{s}");
            // The axis spans the curve: its first label is its smallest size.
            let first = crate::units::bytes(c.curve[0].bytes);
            assert!(s.contains(&first), "{size} {w}×{h} lacks {first}:\n{s}");
        }
        if size == "capacity-zipf/l1-1gib" {
            insta::assert_snapshot!("capacity_80x24", render(&a, 80, 24));
            insta::assert_snapshot!("capacity_120x40", render(&a, 120, 40));
            insta::assert_snapshot!("capacity_200x60", render(&a, 200, 60));
        }
    }
}

#[test]
fn enter_opens_the_whole_section_and_no_log_says_how_to_give_one() {
    let mut a = capacity_app("lmcache-0.5.6-capacity/l1-1gib");
    show(&mut a, Pane::Capacity);
    a.on_key(key(KeyCode::Enter));
    assert_eq!(a.view.overlay, Some(Overlay::Detail));
    let s = render(&a, 120, 40);
    assert!(s.contains("LRU, one tier"), "{s}");
    assert!(s.contains("just after an eviction"), "{s}");
    assert!(s.contains("eviction"), "{s}");

    let mut bare = super::app(31);
    show(&mut bare, Pane::Capacity);
    assert!(bare.shown.analysis.capacity.is_none());
    let s = render(&bare, 120, 40);
    assert!(s.contains("No lookup-hash log read"), "{s}");
    bare.on_key(key(KeyCode::Enter));
    assert!(!render(&bare, 120, 40).contains("LRU, one tier"));
}

#[test]
fn no_capacity_text_runs_into_an_edge() {
    let mut a = capacity_app("lmcache-0.5.6-capacity-zipf/l1-2gib");
    let mut cuts = Vec::new();
    for overlay in [None, Some(Overlay::Detail)] {
        show(&mut a, Pane::Capacity);
        a.view.overlay = overlay;
        for (w, h) in [(80, 24), (100, 28), (120, 40), (200, 60), (300, 100)] {
            cuts.extend(super::cut_words(w, h, |f| crate::tui::draw::draw(f, &a)));
        }
    }
    assert!(cuts.is_empty(), "{}", cuts.join("\n"));
}

/// A loopback LMCache whose `/config` names a lookup-hash directory present here is offered
/// for following, once; a target whose log is already read is not.
#[test]
fn a_lookup_hash_directory_named_by_config_is_offered() {
    let here = format!(
        "{}/fixtures/lmcache-0.5.6-capacity/l1-1gib/lookup_hashes",
        env!("CARGO_MANIFEST_DIR")
    );
    let config = |dir: &str| {
        super::config_answer("lmcache-0.5.6-capacity/l1-1gib/http/config.json", |c| {
            c["observability"]["lookup_hash_log"]["output_dir"] = dir.into();
        })
    };
    let mut a = super::app(31);
    drop(a.on_event(config("/nonexistent/lookup_hashes")));
    let now = a.now;
    a.on_tick(now + 1.0);
    assert!(a.offer.is_none(), "a directory not on this machine");
    drop(a.on_event(config(&here)));
    a.on_tick(now + 2.0);
    let offer = a.offer.clone().expect("offered");
    assert_eq!(
        (offer.stream, offer.path.as_str()),
        (Stream::LookupHashes, here.as_str())
    );
    let s = render(&a, 200, 60);
    assert!(
        s.contains("Follow LMCache's lookup-hash log (capacity curve) here? y / n"),
        "{s}"
    );
    let asked = a.on_key(key(KeyCode::Char('y')));
    assert!(
        matches!(asked, Some(crate::tui::app::Ask::Follow(o)) if o.stream == Stream::LookupHashes)
    );
    drop(a.on_event(config(&here)));
    a.on_tick(now + 3.0);
    assert!(a.offer.is_none(), "asked once");

    // Already read: nothing to offer.
    let mut read = capacity_app("lmcache-0.5.6-capacity/l1-1gib");
    drop(read.on_event(config(&here)));
    let now = read.now;
    read.on_tick(now + 1.0);
    assert!(read.offer.is_none());
}
