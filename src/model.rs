//! The one owner of state: targets by role, each with its retained history. Sources send
//! [`Event`]s; [`Model::apply`] is the reducer. Live, replay and `report` all go through it.

use std::fmt;

use crate::analysis::Inputs;
use crate::expo::{self, Format, Limits};
use crate::store::TargetStore;

/// Which part of the stack a target is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Lmcache,
    Engine,
}

impl Role {
    /// The command-line flag that names targets of this role.
    pub fn flag(self) -> &'static str {
        match self {
            Role::Lmcache => "--lmcache",
            Role::Engine => "--engine",
        }
    }
}

/// Addresses one target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetRef {
    pub role: Role,
    pub index: usize,
}

/// Something a source saw.
#[derive(Debug, Clone)]
pub enum Event {
    /// A `/metrics` body (or a file holding one) and when it was taken.
    Scrape {
        target: TargetRef,
        time: Option<f64>,
        body: Vec<u8>,
        /// From the Content-Type header, when there was one.
        format: Option<Format>,
        /// Where the body came from (file path or URL), for error messages.
        origin: String,
    },
}

/// A scrape the model could not take.
#[derive(Debug, Clone, PartialEq)]
pub struct ApplyError {
    pub origin: String,
    pub message: String,
}

impl fmt::Display for ApplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.origin, self.message)
    }
}

/// Lines skipped while parsing one scrape.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ParseErrors {
    pub origin: String,
    pub lines_skipped: u32,
    pub first: Vec<expo::LineError>,
}

/// All targets and what was learnt from them.
#[derive(Debug)]
pub struct Model {
    pub lmcache: Vec<TargetStore>,
    pub engine: Vec<TargetStore>,
    pub parse_errors: Vec<ParseErrors>,
    pub limits: Limits,
}

impl Model {
    /// A model with these targets (names) keeping `history` scrapes each.
    pub fn new(lmcache: &[String], engine: &[String], history: usize) -> Self {
        Model {
            lmcache: lmcache
                .iter()
                .map(|n| TargetStore::new(n.clone(), history))
                .collect(),
            engine: engine
                .iter()
                .map(|n| TargetStore::new(n.clone(), history))
                .collect(),
            parse_errors: Vec::new(),
            limits: Limits::default(),
        }
    }

    pub fn target_mut(&mut self, t: TargetRef) -> &mut TargetStore {
        match t.role {
            Role::Lmcache => &mut self.lmcache[t.index],
            Role::Engine => &mut self.engine[t.index],
        }
    }

    /// The reducer.
    pub fn apply(&mut self, event: Event) -> Result<(), ApplyError> {
        match event {
            Event::Scrape {
                target,
                time,
                body,
                format,
                origin,
            } => {
                let scrape =
                    expo::parse_with(&body, format, &self.limits).map_err(|e| ApplyError {
                        origin: origin.clone(),
                        message: e.to_string(),
                    })?;
                if scrape.error_count > 0 {
                    self.parse_errors.push(ParseErrors {
                        origin,
                        lines_skipped: scrape.error_count,
                        first: scrape.errors.clone(),
                    });
                }
                self.target_mut(target).ingest(&scrape, time);
                Ok(())
            }
        }
    }

    /// What analysis reads.
    pub fn inputs(&self, window: f64) -> Inputs<'_> {
        Inputs {
            lmcache: &self.lmcache,
            engine: &self.engine,
            window,
        }
    }
}
