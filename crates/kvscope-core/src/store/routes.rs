//! The newest answer of each LMCache HTTP route a target was asked for.

use crate::vocab::SkipReason;

/// The newest answer of one LMCache HTTP route, or why it is not read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RouteAnswer {
    /// The path asked for (its spelling depends on the server's version).
    pub path: &'static str,
    pub time: f64,
    /// HTTP status, when the server answered.
    pub status: Option<u16>,
    /// The body as JSON, when it was JSON.
    pub json: Option<serde_json::Value>,
    /// The body as text when it was not JSON (`/threads`).
    pub text: Option<String>,
    /// Why there is no answer (unreachable, too large ...).
    pub error: Option<String>,
    /// When an answer last differed from the one before it (`None`: never seen to change).
    pub changed: Option<f64>,
    /// Why kvscope does not read this route (not offered, needs `--allow-env`).
    pub skipped: Option<SkipReason>,
    /// The read failed (`error`) and the answer before it still stands (settings, versions).
    pub kept: bool,
}

impl RouteAnswer {
    /// The same answer as `other`, ignoring when each was read, and a failed read that kept
    /// the answer before it ([`RouteAnswer::kept`]).
    pub fn same_body(&self, other: &RouteAnswer) -> bool {
        self.status == other.status
            && self.json == other.json
            && self.text == other.text
            && (self.error == other.error || self.kept || other.kept)
    }
}
