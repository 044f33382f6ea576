//! One exposition line at a time: names, label blocks, values.

use super::Label;

/// Labels one sample may carry (real LMCache and vLLM series carry at most a dozen).
pub(super) const MAX_LABELS: usize = 64;

/// Byte classes for names: 1 = may start a name, 2 = may continue one.
static NAME: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        if b.is_ascii_alphabetic() || b == b'_' || b == b':' {
            t[i] = 3;
        } else if b.is_ascii_digit() {
            t[i] = 2;
        }
        i += 1;
    }
    t
};

fn is_name_start(b: u8) -> bool {
    NAME[b as usize] & 1 != 0
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
        i += 1;
    }
    i
}

/// A quoted string starting at `b[i] == '"'`: returns (inner slice, had escapes, index after
/// the closing quote).
fn quoted(s: &str, i: usize) -> Option<(&str, bool, usize)> {
    let b = s.as_bytes();
    let mut j = i + 1;
    let mut escaped = false;
    // Label values are short: a plain loop beats a vectorised search's set-up cost.
    while j < b.len() {
        match b[j] {
            b'"' => return Some((&s[i + 1..j], escaped, j + 1)),
            b'\\' => {
                escaped = true;
                j += 2;
            }
            _ => j += 1,
        }
    }
    None
}

/// A bare identifier starting at `i`: returns the end index.
fn bare(b: &[u8], i: usize) -> Option<usize> {
    if i >= b.len() || !is_name_start(b[i]) {
        return None;
    }
    let rest = &b[i + 1..];
    Some(
        i + 1
            + rest
                .iter()
                .position(|&c| NAME[c as usize] & 2 == 0)
                .unwrap_or(rest.len()),
    )
}

/// A metric name (bare or quoted) at the start of `s`; returns it and the rest of the line.
pub(super) fn metric_name(s: &str) -> Option<(&str, &str)> {
    let b = s.as_bytes();
    if b.first() == Some(&b'"') {
        let (name, _, end) = quoted(s, 0)?;
        return (!name.is_empty()).then(|| (name, &s[end..]));
    }
    let end = bare(b, 0)?;
    if end < b.len() && b[end] != b' ' && b[end] != b'\t' {
        return None;
    }
    Some((&s[..end], &s[end..]))
}

/// Parses a sample line, pushing its labels; returns (name, value, timestamp).
/// How a sample line's name was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NameFrom {
    /// The same bare name as the previous sample line (no scan needed).
    Previous,
    Bare,
    Quoted,
}

/// A parsed sample line.
pub(super) struct Parsed<'a> {
    pub name: &'a str,
    pub from: NameFrom,
    pub value: f64,
    pub timestamp: Option<f64>,
}

/// Parses a sample line, pushing its labels. `prev` is the previous line's bare name: lines of
/// one histogram repeat it, and a byte comparison is cheaper than a re-scan.
pub(super) fn sample<'a>(
    s: &'a str,
    prev: &str,
    labels: &mut Vec<Label<'a>>,
) -> Result<Parsed<'a>, &'static str> {
    let b = s.as_bytes();
    let (name, from, mut i) = series(s, prev, labels)?;
    if i >= b.len() || (b[i] != b' ' && b[i] != b'\t') {
        return Err(if i >= b.len() {
            "sample without a value"
        } else {
            "bad character after metric name"
        });
    }
    i = skip_ws(b, i);
    let (tok, next) = token(s, i);
    let value = parse_value(tok).ok_or("value is not a number")?;
    i = skip_ws(b, next);
    let mut timestamp = None;
    if i < b.len() && b[i] != b'#' {
        let (tok, next) = token(s, i);
        let t: f64 = tok.parse().map_err(|_| "timestamp is not a number")?;
        if !t.is_finite() {
            return Err("timestamp is not finite");
        }
        timestamp = Some(t);
        i = skip_ws(b, next);
    }
    // Anything left must be an OpenMetrics exemplar (`# {labels} value [ts]`); it is not data.
    if i < b.len() && b[i] != b'#' {
        return Err("unexpected text after the value");
    }
    Ok(Parsed {
        name,
        from,
        value,
        timestamp,
    })
}

/// The series at the start of a sample line (its name, bare, quoted or inside the label block,
/// and its labels, pushed): returns the name, how it was read and the index after the series.
#[inline(always)]
fn series<'a>(
    s: &'a str,
    prev: &str,
    labels: &mut Vec<Label<'a>>,
) -> Result<(&'a str, NameFrom, usize), &'static str> {
    let b = s.as_bytes();
    let mut name: Option<&'a str> = None;
    let mut from = NameFrom::Quoted;
    let n = prev.len();
    let mut i = match b[0] {
        _ if n > 0
            && b.len() > n
            && b[..n] == *prev.as_bytes()
            && matches!(b[n], b'{' | b' ' | b'\t') =>
        {
            name = Some(&s[..n]);
            from = NameFrom::Previous;
            n
        }
        b'"' => {
            let (n, _, end) = quoted(s, 0).ok_or("unterminated quoted metric name")?;
            name = Some(n);
            end
        }
        b'{' => 0,
        _ => {
            let end = bare(b, 0).ok_or("line does not start with a metric name")?;
            name = Some(&s[..end]);
            from = NameFrom::Bare;
            end
        }
    };
    if i < b.len() && b[i] == b'{' {
        i = label_block(s, i + 1, &mut name, labels)?;
    }
    let name = name
        .filter(|n| !n.is_empty())
        .ok_or("sample without a metric name")?;
    Ok((name, from, i))
}

/// A sample line split by the parser's own grammar, values left as written. For callers that
/// rewrite or search lines rather than read numbers (serve's timestamp rewrite, redaction's
/// label scan).
#[derive(Debug)]
pub struct SampleText<'a> {
    /// The name and label block as written (quoting respected: a `}` or a space inside a
    /// label value does not end it).
    pub series: &'a str,
    pub name: &'a str,
    pub labels: Vec<Label<'a>>,
    pub value: &'a str,
    pub timestamp: Option<&'a str>,
}

/// Splits one sample line (not a comment); an error names what is wrong with it.
pub fn split_sample(s: &str) -> Result<SampleText<'_>, &'static str> {
    if s.is_empty() || s.starts_with('#') {
        return Err("not a sample line");
    }
    let b = s.as_bytes();
    let mut labels = Vec::new();
    let (name, _, i) = series(s, "", &mut labels)?;
    if i >= b.len() || (b[i] != b' ' && b[i] != b'\t') {
        return Err("sample without a value");
    }
    let mut rest = s[i..].split_whitespace();
    let value = rest.next().ok_or("sample without a value")?;
    let timestamp = rest.next();
    if rest.next().is_some() {
        return Err("unexpected text after the value");
    }
    Ok(SampleText {
        series: &s[..i],
        name,
        labels,
        value,
        timestamp,
    })
}

fn token(s: &str, i: usize) -> (&str, usize) {
    let b = s.as_bytes();
    let mut j = i;
    while j < b.len() && b[j] != b' ' && b[j] != b'\t' {
        j += 1;
    }
    (&s[i..j], j)
}

/// Label pairs after `{` at `i`; returns the index after `}`. A quoted string standing alone
/// (no `=`) is the metric name, as in the UTF-8 form `{"my.metric", a="b"}`.
fn label_block<'a>(
    s: &'a str,
    mut i: usize,
    name: &mut Option<&'a str>,
    labels: &mut Vec<Label<'a>>,
) -> Result<usize, &'static str> {
    let b = s.as_bytes();
    let first = labels.len();
    loop {
        i = skip_ws(b, i);
        if i >= b.len() {
            return Err("unterminated label block");
        }
        if b[i] == b'}' {
            return Ok(i + 1);
        }
        let (lname, quoted_name, after) = if b[i] == b'"' {
            let (n, _, end) = quoted(s, i).ok_or("unterminated quoted label name")?;
            (n, true, end)
        } else {
            let end = bare(b, i).ok_or("bad label name")?;
            (&s[i..end], false, end)
        };
        i = skip_ws(b, after);
        if i >= b.len() {
            return Err("unterminated label block");
        }
        if quoted_name && (b[i] == b',' || b[i] == b'}') {
            if name.is_some() {
                return Err("two metric names on one line");
            }
            *name = Some(lname);
        } else {
            if b[i] != b'=' {
                return Err("label without '='");
            }
            i = skip_ws(b, i + 1);
            if i >= b.len() || b[i] != b'"' {
                return Err("label value is not quoted");
            }
            let (raw, escaped, end) = quoted(s, i).ok_or("unterminated label value")?;
            // The cap keeps the duplicate check (quadratic in labels) cheap on any line.
            if labels.len() - first >= MAX_LABELS {
                return Err("more than 64 labels on one sample");
            }
            if labels[first..].iter().any(|l| l.name == lname) {
                return Err("duplicate label name");
            }
            labels.push(Label {
                name: lname,
                raw,
                escaped,
            });
            i = skip_ws(b, end);
            if i >= b.len() {
                return Err("unterminated label block");
            }
        }
        match b[i] {
            b',' => i += 1,
            b'}' => return Ok(i + 1),
            _ => return Err("expected ',' or '}' in label block"),
        }
    }
}

/// A sample value: a float, or `+Inf`, `-Inf`, `NaN` in any case.
pub(super) fn parse_value(tok: &str) -> Option<f64> {
    if tok.is_empty() {
        return None;
    }
    if let Some(v) = fast_decimal(tok.as_bytes()) {
        return Some(v);
    }
    if let Ok(v) = tok.parse::<f64>() {
        return Some(v);
    }
    // Go-style spellings that Rust's parser does not take.
    match tok.to_ascii_lowercase().as_str() {
        "+inf" | "inf" | "+infinity" => Some(f64::INFINITY),
        "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
        "nan" | "+nan" | "-nan" => Some(f64::NAN),
        _ => None,
    }
}

/// Appends a run of decimal digits at `*i` to `mantissa`; returns how many there were, or `None`
/// once there are more than 15 significant digits (the fast path's exactness limit).
fn digit_run(b: &[u8], i: &mut usize, mantissa: &mut u64, significant: &mut u32) -> Option<usize> {
    let start = *i;
    while *i < b.len() && b[*i].is_ascii_digit() {
        *mantissa = *mantissa * 10 + u64::from(b[*i] - b'0');
        if *mantissa != 0 {
            *significant += 1;
            if *significant > 15 {
                return None;
            }
        }
        *i += 1;
    }
    Some(*i - start)
}

/// Exact powers of ten representable in an f64.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// Plain decimals (`19824.0`, `-3`, `0.71875`, `7.71751936e+08`) with at most 15 significant
/// digits and a small exponent: both the digits and the power of ten are exact in an f64, so
/// one multiplication or division rounds correctly (Clinger's fast path). Anything else goes
/// to the standard parser.
fn fast_decimal(b: &[u8]) -> Option<f64> {
    let (neg, mut i) = match b.first()? {
        b'-' => (true, 1),
        b'+' => (false, 1),
        _ => (false, 0),
    };
    let mut mantissa: u64 = 0;
    let mut significant = 0u32;
    let int = digit_run(b, &mut i, &mut mantissa, &mut significant)?;
    let mut frac = 0;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        frac = digit_run(b, &mut i, &mut mantissa, &mut significant)?;
    }
    if int + frac == 0 {
        return None;
    }
    // The body cap keeps `frac` far inside i32.
    let mut exp = -(frac as i32);
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        let eneg = match b.get(i) {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        let start = i;
        let mut e: i32 = 0;
        while i < b.len() && b[i].is_ascii_digit() && i - start < 4 {
            e = e * 10 + i32::from(b[i] - b'0');
            i += 1;
        }
        if i == start {
            return None;
        }
        exp += if eneg { -e } else { e };
    }
    if i != b.len() {
        return None;
    }
    let m = mantissa as f64;
    let v = match exp {
        0 => m,
        1..=22 => m * POW10[exp as usize],
        -22..=-1 => m / POW10[(-exp) as usize],
        _ => return None,
    };
    Some(if neg { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_path_agrees_with_the_standard_parser() {
        for s in [
            "0",
            "0.0",
            "-0.0",
            "19824.0",
            "1.0",
            "0.71875",
            "7.71751936e+08",
            "1.946157056e+09",
            "130.7901426487392",
            "1e-7",
            "123456789012345",
            "1234567890123456",
            "0.000001",
            "+5",
            "5.",
            ".5",
            "1e22",
            "1e23",
            "9007199254740993",
            "2.5e-3",
            "1.7781949744090624e+09",
        ] {
            let want: f64 = s.parse().unwrap();
            let got = parse_value(s).unwrap();
            assert_eq!(got.to_bits(), want.to_bits(), "{s}");
        }
        for bad in ["", "-", ".", "e5", "1e", "1x", "1.2.3", "--1"] {
            assert!(fast_decimal(bad.as_bytes()).is_none(), "{bad}");
        }
    }
}

#[cfg(test)]
mod overflow_tests {
    use super::*;

    /// Found by the fuzzer: more than 19 digits overflowed the fast path's mantissa.
    #[test]
    fn long_and_extreme_numbers_fall_back_to_the_standard_parser() {
        for s in [
            "99999999999999999999999999",
            "0.00000000000000000000000000001",
            "1e9999",
            "-1e-9999",
            "00000000000000000000001.5",
        ] {
            let want: f64 = s.parse().unwrap();
            assert_eq!(parse_value(s).unwrap().to_bits(), want.to_bits(), "{s}");
        }
    }
}
