//! Data-quality notes: problems seen in a target's scrapes (a counter at +Inf, a series twice
//! in one scrape, a bucket bound that is not a number, sample timestamps in the future), each
//! naming what it concerns, kept while a scrape that showed it is retained.

use std::collections::HashMap;

/// Distinct notes kept per target; more are counted, not kept.
const MAX_NOTES: usize = 64;

/// One problem, with the scrapes that showed it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct QualityNote {
    /// The series as written (`name{labels}`), or what else the note concerns.
    pub subject: String,
    /// What is wrong, as last seen.
    pub problem: String,
    /// How many retained scrapes showed it.
    pub scrapes: u64,
    /// When it was first and last seen (scrape times, when known).
    #[serde(serialize_with = "crate::timefmt::serialize_time")]
    pub first_time: Option<f64>,
    #[serde(serialize_with = "crate::timefmt::serialize_time")]
    pub last_time: Option<f64>,
    #[serde(skip)]
    pub(super) last_seq: u64,
}

/// The notes of one target.
#[derive(Debug, Default)]
pub struct Notes {
    notes: Vec<QualityNote>,
    index: HashMap<(String, &'static str), usize>,
    /// Distinct problems not kept because [`MAX_NOTES`] were kept already.
    pub more: u64,
}

impl Notes {
    /// Records `problem` (of kind `kind`) about `subject` in scrape `seq` taken at `time`.
    pub(super) fn add(
        &mut self,
        subject: impl Into<String>,
        kind: &'static str,
        problem: String,
        seq: u64,
        time: Option<f64>,
    ) {
        let subject = subject.into();
        if let Some(&i) = self.index.get(&(subject.clone(), kind)) {
            let n = &mut self.notes[i];
            if n.last_seq != seq {
                n.scrapes += 1;
            }
            n.problem = problem;
            n.last_seq = seq;
            n.last_time = time;
            return;
        }
        if self.notes.len() >= MAX_NOTES {
            self.more += 1;
            return;
        }
        self.index.insert((subject.clone(), kind), self.notes.len());
        self.notes.push(QualityNote {
            subject,
            problem,
            scrapes: 1,
            first_time: time,
            last_time: time,
            last_seq: seq,
        });
    }

    /// Drops notes no retained scrape shows (last seen before `oldest`).
    pub(super) fn trim(&mut self, oldest: u64) {
        if self.notes.iter().all(|n| n.last_seq >= oldest) {
            return;
        }
        let kept: Vec<(QualityNote, &'static str)> = {
            let mut kinds: Vec<Option<&'static str>> = vec![None; self.notes.len()];
            for ((_, kind), &i) in &self.index {
                kinds[i] = Some(kind);
            }
            self.notes
                .drain(..)
                .zip(kinds)
                .filter(|(n, _)| n.last_seq >= oldest)
                .map(|(n, k)| (n, k.unwrap_or("")))
                .collect()
        };
        self.index.clear();
        for (i, (n, kind)) in kept.into_iter().enumerate() {
            self.index.insert((n.subject.clone(), kind), i);
            self.notes.push(n);
        }
    }

    /// Every kept note, oldest first.
    pub fn all(&self) -> &[QualityNote] {
        &self.notes
    }
}
