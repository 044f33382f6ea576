//! How figures are written for people, shared by the text report and the TUI so both show a
//! number the same way; an unknown figure is `—`.

/// Shown for a figure that could not be measured.
pub const UNKNOWN: &str = "—";

/// A ratio as a percentage with one decimal: `64.6%`.
pub fn percent(v: Option<f64>) -> String {
    v.map_or_else(|| UNKNOWN.into(), |x| format!("{:.1}%", x * 100.0))
}

/// A count or rate: whole numbers without decimals, others with two.
pub fn count(v: Option<f64>) -> String {
    match v {
        None => UNKNOWN.into(),
        Some(x) if x.fract() == 0.0 && x.abs() < 1e15 => format!("{x:.0}"),
        Some(x) => format!("{x:.2}"),
    }
}

/// Bytes in binary units, as LMCache sizes its tiers (`--l1-size-gb 1` is 1 GiB).
pub fn bytes(v: Option<f64>) -> String {
    const GIB: f64 = (1u64 << 30) as f64;
    const MIB: f64 = (1u64 << 20) as f64;
    match v {
        None => UNKNOWN.into(),
        Some(b) if b >= GIB => format!("{:.2} GiB", b / GIB),
        Some(b) if b >= MIB => format!("{:.1} MiB", b / MIB),
        Some(b) if b >= 1024.0 => format!("{:.1} KiB", b / 1024.0),
        Some(b) => format!("{b:.0} B"),
    }
}

/// `s` in at most `n` characters, ending in `…` when it was cut.
pub fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_string();
    }
    let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
    if n > 0 {
        t.push('…');
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(percent(Some(0.64634)), "64.6%");
        assert_eq!(percent(None), "—");
        assert_eq!(count(Some(27136.0)), "27136");
        assert_eq!(count(Some(21.7984)), "21.80");
        assert_eq!(bytes(Some(1073741824.0)), "1.00 GiB");
        assert_eq!(bytes(Some(771751936.0)), "736.0 MiB");
    }
}
