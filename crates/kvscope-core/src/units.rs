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

/// `v` as pretty-printed JSON in which no number is `-0.0` (a sum of nothing, a product with
/// a negative zero: `0.0` means the same and reads as it should).
pub fn pretty_json<T: serde::Serialize + ?Sized>(v: &T) -> serde_json::Result<String> {
    let mut out = Vec::new();
    let mut ser =
        serde_json::Serializer::with_formatter(&mut out, NoNegativeZero(Default::default()));
    v.serialize(&mut ser)?;
    Ok(String::from_utf8(out).expect("serde_json writes UTF-8"))
}

/// serde_json's pretty formatter, writing `-0.0` as `0.0`.
struct NoNegativeZero<'a>(serde_json::ser::PrettyFormatter<'a>);

impl serde_json::ser::Formatter for NoNegativeZero<'_> {
    fn write_f64<W: ?Sized + std::io::Write>(&mut self, w: &mut W, v: f64) -> std::io::Result<()> {
        self.0.write_f64(w, if v == 0.0 { 0.0 } else { v })
    }
    fn write_f32<W: ?Sized + std::io::Write>(&mut self, w: &mut W, v: f32) -> std::io::Result<()> {
        self.0.write_f32(w, if v == 0.0 { 0.0 } else { v })
    }
    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object_value(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_never_says_negative_zero() {
        let v = serde_json::json!({"a": -0.0, "b": [0.0, -0.0, -1.5], "c": {"d": -0.0}});
        let s = pretty_json(&v).unwrap();
        assert!(!s.contains("-0"), "{s}");
        assert!(s.contains("-1.5"), "{s}");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&s).unwrap(),
            serde_json::json!({"a": 0.0, "b": [0.0, 0.0, -1.5], "c": {"d": 0.0}})
        );
        // Pretty, as serde_json's own.
        assert_eq!(
            pretty_json(&v).unwrap(),
            serde_json::to_string_pretty(
                &serde_json::json!({"a": 0.0, "b": [0.0, 0.0, -1.5], "c": {"d": 0.0}})
            )
            .unwrap()
        );
    }

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
