//! Reading a packet: a tar file, or the same tree unpacked as a directory. The manifest is
//! checked as a whole (targets numbered as their keys say, no member listed twice, caps on
//! targets and members); every member is checked against it (a plain name inside the packet,
//! size and sha256); what is intact replays, and what is damaged, missing or cut short is
//! named. A copy that stopped mid-way still replays its complete prefix.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use super::write::Members;
use super::{MANIFEST, Manifest, Member, sha256_hex, target_key};
use crate::files::{self, FileError, Folder, Kind};
use crate::vocab::{Event, Role};

/// The largest packet file read, and the largest member of an unpacked one.
pub const MAX_PACKET_BYTES: u64 = 1 << 30;
/// A member without `raw_bytes` (an older packet) may decompress to this many times its size…
pub const RATIO: u64 = 1000;
/// …and to this much at most.
pub const MAX_OLD_RAW: u64 = 4 << 30;
/// The most a member may decompress to, whatever its manifest says.
pub const MAX_RAW: u64 = 64 << 30;

/// What a packet may hold before kvscope stops reading it. Each is named, with its
/// environment variable, in the error that reaches it (`docs/packet-format.md` lists them).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Timeline lines (an hour at 1 s with two targets and their routes is about 50,000).
    pub events: usize,
    /// Bytes of text the events hold (origins and error messages), summed.
    pub event_text: u64,
    /// Members listed (and read from a tar).
    pub members: usize,
    /// Targets listed: `serve` opens a port for each.
    pub targets: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            events: 1_000_000,
            event_text: 64 << 20,
            members: 4096,
            targets: 256,
        }
    }
}

impl Limits {
    /// The environment variables that raise each cap, in the order of the fields.
    pub const VARIABLES: [&str; 4] = [
        "KVSCOPE_MAX_EVENTS",
        "KVSCOPE_MAX_EVENT_TEXT_MIB",
        "KVSCOPE_MAX_MEMBERS",
        "KVSCOPE_MAX_TARGETS",
    ];

    /// The defaults with what `var` gives for [`Limits::VARIABLES`]; a value that is not a
    /// positive whole number is an error naming the variable.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Limits, String> {
        let mut l = Limits::default();
        for name in Limits::VARIABLES {
            let Some(text) = var(name) else { continue };
            let n: u64 = text
                .trim()
                .parse()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("{name}={text:?} is not a positive whole number"))?;
            let n_usize = usize::try_from(n).unwrap_or(usize::MAX);
            match name {
                "KVSCOPE_MAX_EVENTS" => l.events = n_usize,
                "KVSCOPE_MAX_EVENT_TEXT_MIB" => l.event_text = n.saturating_mul(1 << 20),
                "KVSCOPE_MAX_MEMBERS" => l.members = n_usize,
                _ => l.targets = n_usize,
            }
        }
        Ok(l)
    }
}

/// How far a member may decompress, and the words that say why.
pub(super) fn raw_cap(m: &Member) -> (u64, String) {
    match m.raw_bytes {
        Some(raw) if raw <= MAX_RAW => (raw, format!("the {raw} bytes the manifest records")),
        Some(_) => (
            MAX_RAW,
            format!("{MAX_RAW} bytes, the most kvscope decompresses"),
        ),
        None => (
            m.bytes.saturating_mul(RATIO).min(MAX_OLD_RAW),
            format!(
                "{RATIO} times its stored size, at most 4 GiB (the manifest records no raw_bytes)"
            ),
        ),
    }
}

/// Why a path cannot be read as a packet at all.
#[derive(Debug, thiserror::Error)]
pub enum PacketError {
    /// The file itself could not be read (missing, not a regular file, over the cap).
    #[error(transparent)]
    Unreadable(#[from] files::FileError),
    /// Read, but not a packet (no manifest, another format, a newer version, a manifest that
    /// contradicts itself or goes past a cap), in words.
    #[error("{0}")]
    NotAPacket(String),
}

/// A packet as read: its manifest, its members, and what is wrong with it.
#[derive(Debug)]
pub struct Opened {
    pub manifest: Manifest,
    /// `manifest.json` as stored.
    pub(super) manifest_bytes: Vec<u8>,
    /// Members as found (a member cut short holds what there was), in manifest order.
    pub(super) members: Members,
    /// Member path → place in `members`.
    index: HashMap<String, usize>,
    /// Each damaged, missing or cut-short member, or a file that ends early, in words.
    pub problems: Vec<String>,
    pub(super) limits: Limits,
}

/// Reads a packet file or directory within the default [`Limits`].
pub fn open(path: &Path) -> Result<Opened, PacketError> {
    open_with(path, &Limits::default())
}

/// Reads a packet file or directory within `limits`.
pub fn open_with(path: &Path, limits: &Limits) -> Result<Opened, PacketError> {
    let shown = crate::sanitize::clean(&path.display().to_string());
    let not = |why: String| PacketError::NotAPacket(format!("{shown}: {why}"));
    let (found, problems, refused) = if path.is_dir() {
        read_dir(path, limits)?
    } else {
        let bytes = files::read_capped(path, MAX_PACKET_BYTES, Kind::Regular)?;
        let (found, problems) = read_tar(&bytes, limits).map_err(not)?;
        (found, problems, HashMap::new())
    };
    checked(found, problems, refused, limits).map_err(not)
}

/// Reads a packet from the bytes of its tar file.
pub fn from_tar(bytes: &[u8]) -> Result<Opened, PacketError> {
    from_tar_with(bytes, &Limits::default())
}

/// [`from_tar`] within `limits`.
pub fn from_tar_with(bytes: &[u8], limits: &Limits) -> Result<Opened, PacketError> {
    let (found, problems) = read_tar(bytes, limits).map_err(PacketError::NotAPacket)?;
    checked(found, problems, HashMap::new(), limits).map_err(PacketError::NotAPacket)
}

fn read_tar(bytes: &[u8], limits: &Limits) -> Result<(Members, Vec<String>), String> {
    super::tar::read_tar(bytes, limits.members.saturating_add(1))
}

/// The manifest read and checked, and every member it lists checked against it; `refused`
/// gives, by path, why a member of an unpacked packet was not read.
fn checked(
    found: Members,
    mut problems: Vec<String>,
    refused: HashMap<String, String>,
    limits: &Limits,
) -> Result<Opened, String> {
    let mut found: HashMap<String, Vec<u8>> = found.into_iter().collect();
    let manifest_bytes = found
        .remove(MANIFEST)
        .ok_or("no manifest.json: not a kvscope packet")?;
    let manifest = parse_manifest(&manifest_bytes, limits)?;
    let mut members = Vec::new();
    let mut index = HashMap::new();
    for m in &manifest.members {
        let name = crate::sanitize::clean(&m.path);
        if !files::plain_name(&m.path) {
            problems.push(format!(
                "{name}: not a plain name inside the packet (an absolute name, '..' or an empty part); not read"
            ));
            continue;
        }
        let Some(bytes) = found.remove(&m.path) else {
            match refused.get(&m.path) {
                Some(why) => problems.push(format!("{name}: {why}; not read")),
                None => problems.push(format!("{name}: missing")),
            }
            continue;
        };
        if bytes.len() as u64 != m.bytes {
            problems.push(format!(
                "{name}: {} bytes where the manifest says {} (cut short or altered)",
                bytes.len(),
                m.bytes
            ));
        } else if sha256_hex(&bytes) != m.sha256 {
            problems.push(format!(
                "{name}: sha256 differs from the manifest (damaged)"
            ));
        }
        index.insert(m.path.clone(), members.len());
        members.push((m.path.clone(), bytes));
    }
    Ok(Opened {
        manifest,
        manifest_bytes,
        members,
        index,
        problems,
        limits: *limits,
    })
}

/// `manifest.json` parsed and checked as a whole: format and version, targets keyed and
/// numbered as a packet numbers them (each role from 0), no target or member listed twice,
/// and the caps.
fn parse_manifest(bytes: &[u8], limits: &Limits) -> Result<Manifest, String> {
    let manifest: Manifest = serde_json::from_slice(bytes)
        .map_err(|e| format!("manifest.json does not read as a manifest: {e}"))?;
    if manifest.format != super::FORMAT {
        return Err(format!(
            "format {} is not {}",
            crate::sanitize::quoted(&manifest.format, 80),
            super::FORMAT
        ));
    }
    if manifest.version > super::VERSION {
        return Err(format!(
            "packet format version {} is newer than this kvscope reads ({})",
            manifest.version,
            super::VERSION
        ));
    }
    if manifest.targets.len() > limits.targets {
        return Err(format!(
            "manifest.json lists {} targets; kvscope reads at most {} (raise it with KVSCOPE_MAX_TARGETS)",
            manifest.targets.len(),
            limits.targets
        ));
    }
    if manifest.members.len() > limits.members {
        return Err(format!(
            "manifest.json lists {} members; kvscope reads at most {} (raise it with KVSCOPE_MAX_MEMBERS)",
            manifest.members.len(),
            limits.members
        ));
    }
    let mut seen = HashSet::new();
    for t in &manifest.targets {
        let key = target_key(t.target);
        if t.key != key {
            return Err(format!(
                "manifest.json: target {} is keyed {}",
                key,
                crate::sanitize::quoted(&t.key, 80)
            ));
        }
        if !seen.insert(t.target) {
            return Err(format!("manifest.json lists target {key} twice"));
        }
    }
    for role in [Role::Lmcache, Role::Engine] {
        let n = seen.iter().filter(|t| t.role == role).count();
        if let Some(t) = seen.iter().find(|t| t.role == role && t.index >= n) {
            return Err(format!(
                "manifest.json lists target {} among {n} {} target(s): a packet numbers each role's targets from 0",
                target_key(*t),
                role.as_str()
            ));
        }
    }
    let mut paths = HashSet::new();
    for m in &manifest.members {
        if !paths.insert(m.path.as_str()) {
            return Err(format!(
                "manifest.json lists member {} twice",
                crate::sanitize::quoted(&m.path, 200)
            ));
        }
    }
    Ok(manifest)
}

/// An unpacked packet: the manifest and the members it lists, read through the folder; no
/// problem yet; and, by path, why a member was refused (it links out of the folder, is not a
/// regular file, is too large).
fn read_dir(dir: &Path, limits: &Limits) -> Result<Found, PacketError> {
    let folder = Folder::open(dir)?;
    let manifest = folder.read(MANIFEST, MAX_PACKET_BYTES)?;
    let shown = crate::sanitize::clean(&dir.display().to_string());
    let listed = parse_manifest(&manifest, limits)
        .map_err(|why| PacketError::NotAPacket(format!("{shown}: {why}")))?;
    let mut out = vec![(MANIFEST.to_string(), manifest)];
    let mut refused = HashMap::new();
    for m in &listed.members {
        if !files::plain_name(&m.path) {
            continue;
        }
        match folder.read(&m.path, MAX_PACKET_BYTES) {
            Ok(bytes) => out.push((m.path.clone(), bytes)),
            Err(FileError::Unreadable { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                refused.insert(m.path.clone(), crate::sanitize::clean(&e.to_string()));
            }
        }
    }
    Ok((out, Vec::new(), refused))
}

/// Members as found, problems with the file itself, and members refused with the reason.
type Found = (Members, Vec<String>, HashMap<String, String>);

impl Opened {
    /// A member's bytes as found (check `problems` for damage).
    pub fn member(&self, path: &str) -> Option<&[u8]> {
        self.index.get(path).map(|i| self.members[*i].1.as_slice())
    }

    /// The packet as one tar file: the manifest and every member as found, in manifest order
    /// (an unpacked packet becomes the file that travels, hashes unchanged).
    pub fn to_tar(&self) -> Result<Vec<u8>, String> {
        let mut members = vec![(MANIFEST.to_string(), self.manifest_bytes.clone())];
        members.extend(self.members.iter().cloned());
        let mtime = crate::timefmt::parse_rfc3339(&self.manifest.created).unwrap_or(0.0);
        super::write::tar_of(&members, mtime.max(0.0) as u64)
    }

    /// `report.json` as stored, when present.
    pub fn report(&self) -> Option<&[u8]> {
        self.member(super::REPORT)
    }

    /// The recorded events in order, bodies restored, as far as the packet holds them whole;
    /// and, when it stops early, why and where.
    pub fn events(&self) -> (Vec<Event>, Option<String>) {
        self.events_of(self.timeline())
    }

    /// [`Opened::timeline`] as recorded: without the evidence events read from carried
    /// members (for a copy that carries those members itself).
    pub fn recorded_timeline(&self) -> super::Timeline {
        let mut timeline = self.timeline();
        timeline.drop_carried();
        timeline
    }

    fn events_of(&self, timeline: super::Timeline) -> (Vec<Event>, Option<String>) {
        let mut cursor = timeline.cursor();
        let mut out = Vec::new();
        while let Some(next) = cursor.next(&timeline) {
            match next {
                Ok(event) => out.push(event),
                Err(why) => return (out, Some(why)),
            }
        }
        (out, timeline.stop.clone())
    }
}
