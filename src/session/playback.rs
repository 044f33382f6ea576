//! Replay: a packet's timeline fed through the same reducer as a live session, on the packet's
//! own clock. Nothing here reads the wall clock: the caller says how much real time passed,
//! and the playback turns it into packet time at the chosen speed. Going back rebuilds the
//! model from the start (the reducer only goes forward), which for an hour takes well under a
//! second.

use std::time::{Duration, Instant};

use super::picture::Core;
use crate::packet::{Cursor, Timeline};
use crate::vocab::Event;

pub use super::clock::{Control, Speed, Status};

/// How much work one step of "as fast as possible" does before a picture is made.
const MAX_SLICE: Duration = Duration::from_millis(80);

/// A replay in progress.
pub struct Playback {
    timeline: Timeline,
    cursor: Cursor,
    /// A model with nothing applied, for going back.
    fresh: Box<dyn Fn() -> Core + Send>,
    /// Each event's time (an untimed event takes the time before it).
    times: Vec<f64>,
    /// Indexes of the captures (scrape attempts), for stepping.
    captures: Vec<usize>,
    clock: f64,
    speed: Speed,
    playing: bool,
    /// Why the events stop before the timeline's end, once a body could not be restored.
    pub stopped: Option<String>,
    /// The verdict history judged before a rebuild, until the rebuild is done.
    judged: Option<crate::analysis::findings::Verdicts>,
}

impl Playback {
    /// A replay of `timeline` on models made by `fresh`, with the first capture applied; and
    /// the model. Plays from the start, or stands paused at `at` when given.
    pub fn new(
        timeline: Timeline,
        fresh: Box<dyn Fn() -> Core + Send>,
        at: Option<f64>,
        speed: Speed,
    ) -> (Playback, Core) {
        let mut known = Vec::with_capacity(timeline.len());
        let mut captures = Vec::new();
        let mut last = None;
        for i in 0..timeline.len() {
            let e = timeline.peek(i).expect("within the timeline");
            last = e.time().or(last);
            known.push(last);
            if matches!(e, Event::Scrape { .. } | Event::ScrapeFailed { .. }) {
                captures.push(i);
            }
        }
        // Untimed events before the first timed one take its time.
        let first = known.iter().flatten().next().copied().unwrap_or(0.0);
        let times: Vec<f64> = known.into_iter().map(|t| t.unwrap_or(first)).collect();
        let cursor = timeline.cursor();
        let mut core = fresh();
        let mut p = Playback {
            timeline,
            cursor,
            fresh,
            times,
            captures,
            clock: first,
            speed,
            playing: at.is_none(),
            stopped: None,
            judged: None,
        };
        match at {
            Some(t) => p.seek_time(&mut core, t),
            None => p.go_to_start(&mut core),
        }
        (p, core)
    }

    pub fn start(&self) -> f64 {
        self.times.first().copied().unwrap_or(0.0)
    }

    pub fn end(&self) -> f64 {
        self.times.last().copied().unwrap_or(0.0)
    }

    pub fn status(&self) -> Status {
        Status {
            now: self.clock,
            start: self.start(),
            end: self.end(),
            speed: self.speed,
            playing: self.playing,
            applied: self.cursor.position(),
            total: self.timeline.len(),
        }
    }

    pub fn playing(&self) -> bool {
        self.playing
    }

    /// Applies the next event; false at the end (or where a body could not be restored).
    fn step(&mut self, core: &mut Core) -> bool {
        match self.cursor.next(&self.timeline) {
            Some(Ok(e)) => {
                core.apply(e);
                true
            }
            Some(Err(why)) => {
                self.stopped = Some(why);
                false
            }
            None => false,
        }
    }

    /// Whether the next event exists and is due at or before `t`.
    fn due(&self, t: f64) -> bool {
        self.stopped.is_none()
            && self
                .times
                .get(self.cursor.position())
                .is_some_and(|at| *at <= t)
    }

    /// Back to an empty model and the first event. The verdict history judged before is kept
    /// aside: the rebuild applies events without judging, and [`Playback::resume`] gives the
    /// model the part of it up to where the rebuild stops (the same judging would give again).
    fn rewind(&mut self, core: &mut Core) {
        let judged = (*core.model.verdicts).clone();
        *core = (self.fresh)();
        core.judging = false;
        self.judged = Some(judged);
        self.cursor = self.timeline.cursor();
        self.stopped = None;
    }

    /// After a rebuild: the verdicts judged before, up to the last event applied, and judging
    /// on again.
    fn resume(&mut self, core: &mut Core) {
        if let Some(judged) = self.judged.take() {
            let last = self
                .cursor
                .position()
                .checked_sub(1)
                .and_then(|i| self.times.get(i).copied());
            core.model.resume_judging(
                last.map_or_else(Default::default, |t| judged.before(t)),
                last,
            );
            core.judging = true;
        }
    }

    /// Everything up to and including event `i` applied, and what happened at the same moment
    /// after it; the clock at its time.
    fn seek_index(&mut self, core: &mut Core, i: usize) {
        if i < self.cursor.position() {
            self.rewind(core);
        }
        while self.cursor.position() <= i && self.step(core) {}
        self.clock = self.times.get(i).copied().unwrap_or(self.clock);
        while self.due(self.clock) && self.step(core) {}
        self.resume(core);
    }

    /// Everything due at `t` applied; the clock at `t` (within the recording).
    fn seek_time(&mut self, core: &mut Core, t: f64) {
        let t = t.clamp(self.start(), self.end());
        let applied = self.cursor.position();
        if applied > 0 && self.times[applied - 1] > t {
            self.rewind(core);
        }
        while self.due(t) && self.step(core) {}
        self.clock = t;
        self.resume(core);
    }

    fn go_to_start(&mut self, core: &mut Core) {
        match self.captures.first() {
            Some(&i) => self.seek_index(core, i),
            None => {
                self.rewind(core);
                self.clock = self.start();
                self.resume(core);
            }
        }
    }

    fn at_end(&self) -> bool {
        self.cursor.position() >= self.timeline.len() || self.stopped.is_some()
    }

    /// A key's request.
    pub fn control(&mut self, core: &mut Core, c: Control) {
        match c {
            Control::Toggle if !self.playing && self.at_end() => {
                self.go_to_start(core);
                self.playing = true;
            }
            Control::Toggle => self.playing = !self.playing,
            Control::Faster | Control::Slower => {
                self.speed = self.speed.shifted(c == Control::Faster)
            }
            Control::Start => self.go_to_start(core),
            Control::End => {
                self.playing = false;
                self.seek_index(core, self.timeline.len().saturating_sub(1));
            }
            Control::Forward => {
                self.playing = false;
                let applied = self.cursor.position();
                match self.captures.iter().find(|&&i| i >= applied) {
                    Some(&i) => self.seek_index(core, i),
                    None => self.seek_index(core, self.timeline.len().saturating_sub(1)),
                }
            }
            Control::Back => {
                self.playing = false;
                // The latest capture before the one shown now (captures at one moment move
                // together).
                let applied = self.cursor.position();
                let shown = self.captures.iter().rev().find(|&&i| i < applied);
                let before = shown.and_then(|&i| {
                    let t = self.times[i];
                    self.captures.iter().rev().find(|&&j| self.times[j] < t)
                });
                match before {
                    Some(&j) => self.seek_index(core, j),
                    None => self.go_to_start(core),
                }
            }
        }
    }

    /// `real` seconds passed while playing: packet time moves on at the speed and what fell
    /// due is applied (at "max", as much as fits in a short slice of work). Returns whether
    /// anything changed.
    pub fn advance(&mut self, core: &mut Core, real: f64) -> bool {
        if !self.playing {
            return false;
        }
        match self.speed.factor() {
            Some(f) => {
                let t = (self.clock + real * f).min(self.end());
                while self.due(t) && self.step(core) {}
                self.clock = t;
            }
            None => {
                let began = Instant::now();
                while began.elapsed() < MAX_SLICE && self.step(core) {}
                let applied = self.cursor.position();
                self.clock = self
                    .times
                    .get(applied.wrapping_sub(1))
                    .copied()
                    .unwrap_or(self.clock);
            }
        }
        if self.at_end() && (self.speed == Speed::Max || self.clock >= self.end()) {
            self.playing = false;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Model;
    use crate::packet::{Recording, TargetEntry};
    use crate::vocab::{Role, TargetRef};

    /// The demo's real recording (32 LMCache scrapes with route answers, one engine scrape) as
    /// a packet's timeline, and a maker of empty models for it.
    fn replay(at: Option<f64>) -> (Playback, Core, Vec<Event>) {
        let (events, _) = crate::demo::recorded(31);
        let targets: Vec<TargetEntry> = [Role::Lmcache, Role::Engine]
            .into_iter()
            .map(|role| {
                let target = TargetRef { role, index: 0 };
                TargetEntry::new(target, role.as_str())
            })
            .collect();
        let tar = Recording::plain(targets, &events).to_tar().unwrap();
        let timeline = crate::packet::from_tar(&tar).unwrap().timeline();
        let fresh = Box::new(|| {
            Core::new(
                Model::new(&["lmcache".into()], &["engine".into()], 64),
                60.0,
            )
        });
        let (p, core) = Playback::new(timeline, fresh, at, Speed::X1);
        (p, core, events)
    }

    /// The report of a model fed `events` directly (judged at each capture moment, as the
    /// live view judges): what the replay must equal.
    fn direct(events: &[Event]) -> String {
        let mut model = Model::new(&["lmcache".into()], &["engine".into()], 64);
        for e in events {
            let _ = model.apply_judged(e.clone(), 60.0);
        }
        crate::report::json(&model, 60.0)
    }

    fn report(core: &Core) -> String {
        crate::report::json(&core.model, 60.0)
    }

    #[test]
    fn playing_at_a_speed_applies_what_fell_due_and_stops_at_the_end() {
        let (mut p, mut core, events) = replay(None);
        assert!(p.playing());
        let s = p.status();
        assert_eq!(s.now, s.start);
        assert!(s.applied >= 1 && s.applied < s.total);
        // Ten packet seconds at 1×.
        p.advance(&mut core, 10.0);
        let s = p.status();
        assert!((s.now - (s.start + 10.0)).abs() < 1e-6);
        let due = events
            .iter()
            .filter(|e| e.time().is_some_and(|t| t <= s.now))
            .count();
        assert_eq!(s.applied, due);
        assert_eq!(report(&core), direct(&events[..due]));
        // Faster, to the end: the replay stops there with every event applied.
        p.control(&mut core, Control::Faster);
        p.control(&mut core, Control::Faster);
        assert_eq!(p.status().speed, Speed::X100);
        for _ in 0..100 {
            p.advance(&mut core, 1.0);
        }
        let s = p.status();
        assert!(!s.playing);
        assert_eq!((s.applied, s.now), (s.total, s.end));
        assert_eq!(report(&core), direct(&events));
        // Play at the end starts again.
        p.control(&mut core, Control::Toggle);
        assert!(p.playing() && p.status().now == p.status().start);
    }

    #[test]
    fn stepping_moves_one_capture_and_back_rebuilds_from_the_start() {
        let (mut p, mut core, events) = replay(None);
        let scrapes: Vec<usize> = events
            .iter()
            .enumerate()
            .filter(|(_, e)| matches!(e, Event::Scrape { .. } | Event::ScrapeFailed { .. }))
            .map(|(i, _)| i)
            .collect();
        let first = p.status().applied;
        assert_eq!(first, scrapes[0] + 1);
        p.control(&mut core, Control::Forward);
        p.control(&mut core, Control::Forward);
        assert!(!p.playing());
        assert_eq!(p.status().applied, scrapes[2] + 1);
        assert_eq!(report(&core), direct(&events[..=scrapes[2]]));
        p.control(&mut core, Control::Back);
        assert_eq!(p.status().applied, scrapes[1] + 1);
        assert_eq!(report(&core), direct(&events[..=scrapes[1]]));
        p.control(&mut core, Control::End);
        assert_eq!(report(&core), direct(&events));
        p.control(&mut core, Control::Start);
        assert_eq!(p.status().applied, first);
        assert_eq!(report(&core), direct(&events[..first]));
    }

    #[test]
    fn at_a_moment_stands_paused_with_what_was_due_then() {
        let (events, _) = crate::demo::recorded(31);
        let t20 = events
            .iter()
            .filter(|e| matches!(e, Event::Scrape { .. }))
            .nth(20)
            .and_then(Event::time)
            .unwrap();
        let (p, core, _) = replay(Some(t20));
        assert!(!p.playing());
        let due: Vec<Event> = events
            .iter()
            .filter(|e| e.time().is_some_and(|t| t <= t20))
            .cloned()
            .collect();
        assert_eq!(p.status().now, t20);
        assert_eq!(report(&core), direct(&due));
    }

    #[test]
    fn as_fast_as_possible_reaches_the_end() {
        let (mut p, mut core, events) = replay(None);
        p.control(&mut core, Control::Faster);
        p.control(&mut core, Control::Faster);
        p.control(&mut core, Control::Faster);
        p.control(&mut core, Control::Faster);
        assert_eq!(p.status().speed, Speed::Max);
        while p.playing() {
            p.advance(&mut core, 0.1);
        }
        assert_eq!(report(&core), direct(&events));
        p.control(&mut core, Control::Slower);
        assert_eq!(p.status().speed, Speed::X100);
        assert_eq!(Speed::parse("10x"), Ok(Speed::X10));
        assert_eq!(Speed::parse("100×"), Ok(Speed::X100));
        assert_eq!(Speed::parse("max"), Ok(Speed::Max));
        assert!(Speed::parse("7").is_err() && Speed::parse("ma").is_err());
    }

    /// A packet without events (hand-made): every key and the clock work, nothing panics.
    #[test]
    fn an_empty_timeline_stands_still() {
        let tar = Recording::plain(vec![], &Vec::new()).to_tar().unwrap();
        let timeline = crate::packet::from_tar(&tar).unwrap().timeline();
        let fresh = Box::new(|| Core::new(Model::new(&[], &[], 2), 60.0));
        let (mut p, mut core) = Playback::new(timeline, fresh, None, Speed::X1);
        for c in [
            Control::Toggle,
            Control::Forward,
            Control::Back,
            Control::Faster,
            Control::Start,
            Control::End,
            Control::Toggle,
        ] {
            p.control(&mut core, c);
            p.advance(&mut core, 1.0);
        }
        let s = p.status();
        assert_eq!((s.applied, s.total), (0, 0));
    }
}
