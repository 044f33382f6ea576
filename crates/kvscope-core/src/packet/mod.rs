//! Evidence packets: what the collectors saw, as it came off the wire, in one file that travels
//! (a plain tar) and replays through the same reducer. The format is documented, with its
//! compatibility promise, in `docs/packet-format.md`.
//!
//! Layout, in this member order (a copy cut short keeps the earliest members):
//!
//! - `manifest.json`: format and version, tool version, created time, time span, targets, every
//!   other member with its kind, size and sha256, skipped routes, redactions.
//! - `timeline.jsonl.zst`: every event in arrival order, one JSON object per line; a body is not
//!   inline but a reference (offset and length) into its target's body stream.
//! - `targets/<role>-<n>/bodies.zst`: that target's raw bodies (`/metrics` and route answers),
//!   concatenated in arrival order and compressed as one stream, so consecutive, nearly equal
//!   scrapes cost little.
//! - attachments: files carried byte for byte (`targets/<key>/run.lct`, `server.log`).
//! - `report.json`: the headless report at export time.

mod read;
mod recorder;
pub mod redact;
mod tar;
mod timeline;
pub mod tokens;
mod write;

pub use read::{Limits, Opened, PacketError, from_tar, from_tar_with, open, open_with};
pub use recorder::{Recorder, Snapshot};
pub use timeline::{Cursor, KNOWN_KINDS, Timeline, interval_of};
pub use write::{Attachment, EventSource, Recording, Since, WriteError, write_new};

use serde::{Deserialize, Serialize};

use crate::vocab::{Event, Route, SkipReason, TargetRef};

/// The format's name in `manifest.json`.
pub const FORMAT: &str = "kvscope-packet";
/// The format version this build writes; it reads this one.
pub const VERSION: u32 = 1;

pub const MANIFEST: &str = "manifest.json";
pub const TIMELINE: &str = "timeline.jsonl.zst";
pub const REPORT: &str = "report.json";

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    /// The kvscope version that wrote it.
    pub kvscope: String,
    /// When it was written, RFC 3339.
    pub created: String,
    /// The first and last event times, RFC 3339 (absent when no event had a time).
    pub span: Option<(String, String)>,
    pub targets: Vec<TargetEntry>,
    /// The interval the targets were polled at (absent when not known, e.g. an imported
    /// folder): a replay judges stale targets by it, else by the recording's median gap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_seconds: Option<f64>,
    /// Every other member, in file order.
    pub members: Vec<Member>,
    /// Routes kvscope did not read, and why (per target).
    pub skipped_routes: Vec<Skipped>,
    /// What was removed or replaced before writing.
    pub redactions: Vec<String>,
}

/// One target of the recording.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetEntry {
    /// `lmcache-0`, `engine-1`: the role and the place among that role's targets.
    pub key: String,
    pub target: TargetRef,
    /// Its `/metrics` URL (or file), credentials removed.
    pub url: String,
}

impl TargetEntry {
    /// The entry of `target`, keyed by its role and place.
    pub fn new(target: TargetRef, url: impl Into<String>) -> TargetEntry {
        TargetEntry {
            key: target_key(target),
            target,
            url: url.into(),
        }
    }
}

/// One member of the packet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    pub path: String,
    /// `timeline`, `bodies`, `trace`, `log` or `report`.
    pub kind: String,
    /// The target key, for per-target members.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Stored (compressed) size in bytes.
    pub bytes: u64,
    /// What a compressed member (the timeline, a body stream) decompresses to: a reader
    /// stops there. Absent in packets written before it was added (readers then allow 1,000
    /// times the stored size, at most 4 GiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_bytes: Option<u64>,
    /// sha256 of the stored bytes, lower-case hex.
    pub sha256: String,
}

/// A route not read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Skipped {
    pub target: String,
    pub route: Route,
    pub reason: SkipReason,
}

/// Where an event's body is: a range of its target's decompressed body stream.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BodyRef {
    pub offset: u64,
    pub len: u64,
}

/// One line of the timeline: the event with its body moved out, and where the body went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Line {
    event: Event,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stored: Option<BodyRef>,
    /// Made from a carried member when the packet was read, not recorded.
    #[serde(skip)]
    carried: bool,
}

/// What a live recording removed before anything was written: the manifest's `redactions`.
pub fn live_redactions() -> Vec<String> {
    vec![
        "target URLs: user names, passwords and secret-looking query values removed".into(),
        "request headers (--header, --bearer-token-file): never recorded".into(),
        "credentials (header values, tokens, URL passwords) echoed in an answer: replaced by ***"
            .into(),
        "/env: values redacted at the source (read only with --allow-env)".into(),
    ]
}

/// A target's key: `lmcache-0`, `engine-1`.
pub fn target_key(t: TargetRef) -> String {
    format!("{}-{}", t.role.as_str(), t.index)
}

/// The body stream member of a target.
pub fn bodies_path(key: &str) -> String {
    format!("targets/{key}/bodies.zst")
}

/// A packet's default file name: `kvscope-HOST-20261130T091251Z.kvpacket` (this machine's
/// host name, UTC time of writing). With `redact_hosts` the name says `host`: a packet whose
/// hosts were replaced by pseudonyms does not carry the machine's name on its label.
pub fn default_name(now: f64, redact_hosts: bool) -> String {
    let host = if redact_hosts {
        String::new()
    } else {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .unwrap_or_default()
    };
    let host: String = host
        .trim()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '.')
        .take(64)
        .collect();
    let host = if host.is_empty() { "host".into() } else { host };
    let stamp: String = crate::timefmt::format_rfc3339(now)
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == 'T')
        .take(15)
        .collect();
    format!("kvscope-{host}-{stamp}Z.kvpacket")
}

/// sha256 as lower-case hex.
fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests;
