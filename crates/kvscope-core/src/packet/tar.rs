//! kvscope's own small ustar reader: regular-file members in order, and where a copy cut
//! short ends. A member named twice keeps its first copy; the second is a problem.

use std::collections::HashSet;

use super::write::Members;

/// Regular-file members of a ustar archive, in order. A file cut short gives the members it
/// holds (the last one possibly partial) and a problem saying where it ends. At most
/// `max_members` members are read.
pub(super) fn read_tar(bytes: &[u8], max_members: usize) -> Result<(Members, Vec<String>), String> {
    const BLOCK: usize = 512;
    let mut out: Members = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut problems = Vec::new();
    let mut at = 0usize;
    loop {
        let Some(header) = bytes.get(at..at + BLOCK) else {
            if out.is_empty() {
                return Err(format!("{} bytes: too short to hold a packet", bytes.len()));
            } else if at < bytes.len() {
                problems.push(format!("the file ends inside a tar header at byte {at}"));
            } else {
                problems.push(format!(
                    "the file ends at byte {at}, before the tar's end marker"
                ));
            }
            break;
        };
        if header.iter().all(|b| *b == 0) {
            break;
        }
        if !checksum_ok(header) {
            if out.is_empty() {
                return Err("not a tar archive (no valid header at the start)".into());
            }
            problems.push(format!(
                "a damaged tar header at byte {at}; what follows is not read"
            ));
            break;
        }
        let size = octal(&header[124..136]).ok_or("a tar header with an unreadable size")?;
        let name = tar_name(header);
        let start = at + BLOCK;
        let end = start.saturating_add(usize::try_from(size).unwrap_or(usize::MAX));
        let data = &bytes[start.min(bytes.len())..end.min(bytes.len())];
        // Regular files only ('0' or NUL); other entries (directories, pax headers) are skipped.
        if matches!(header[156], b'0' | 0) {
            if !seen.insert(name.clone()) {
                problems.push(format!(
                    "{}: a second member of that name in the tar (not read)",
                    crate::sanitize::clean(&name)
                ));
            } else if out.len() == max_members {
                return Err(format!(
                    "more than {max_members} members, the most kvscope reads (raise it with KVSCOPE_MAX_MEMBERS)"
                ));
            } else {
                out.push((name.clone(), data.to_vec()));
            }
        }
        if end > bytes.len() {
            problems.push(format!(
                "the file ends inside member {} ({} of {size} bytes)",
                crate::sanitize::clean(&name),
                data.len()
            ));
            break;
        }
        at = start + data.len().div_ceil(BLOCK) * BLOCK;
    }
    Ok((out, problems))
}

fn checksum_ok(header: &[u8]) -> bool {
    let Some(stored) = octal(&header[148..156]) else {
        return false;
    };
    let sum: u64 = header
        .iter()
        .enumerate()
        .map(|(i, b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u64::from(*b)
            }
        })
        .sum();
    sum == stored
}

/// An octal number field (NUL- or space-terminated).
fn octal(field: &[u8]) -> Option<u64> {
    let text: String = field
        .iter()
        .take_while(|b| **b != 0)
        .map(|b| *b as char)
        .collect();
    let text = text.trim();
    if text.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(text, 8).ok()
}

/// The member path: ustar prefix and name.
fn tar_name(header: &[u8]) -> String {
    let field = |r: std::ops::Range<usize>| {
        let f = &header[r];
        let end = f.iter().position(|b| *b == 0).unwrap_or(f.len());
        String::from_utf8_lossy(&f[..end]).into_owned()
    };
    let (prefix, name) = (field(345..500), field(0..100));
    if header[257..262] == *b"ustar" && !prefix.is_empty() {
        format!("{prefix}/{name}")
    } else {
        name
    }
}
