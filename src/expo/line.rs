//! One exposition line at a time: names, label blocks, values.

use super::Label;

fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b':'
}

fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b':'
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
    loop {
        let k = j + memchr::memchr2(b'"', b'\\', &b[j..])?;
        if b[k] == b'"' {
            return Some((&s[i + 1..k], escaped, k + 1));
        }
        escaped = true;
        j = k + 2;
        if j > b.len() {
            return None;
        }
    }
}

/// A bare identifier starting at `i`: returns the end index.
fn bare(b: &[u8], i: usize) -> Option<usize> {
    if i >= b.len() || !is_name_start(b[i]) {
        return None;
    }
    let mut j = i + 1;
    while j < b.len() && is_name_char(b[j]) {
        j += 1;
    }
    Some(j)
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
pub(super) fn sample<'a>(
    s: &'a str,
    labels: &mut Vec<Label<'a>>,
) -> Result<(&'a str, f64, Option<f64>), &'static str> {
    let b = s.as_bytes();
    let mut name: Option<&'a str> = None;
    let mut i = match b[0] {
        b'"' => {
            let (n, _, end) = quoted(s, 0).ok_or("unterminated quoted metric name")?;
            name = Some(n);
            end
        }
        b'{' => 0,
        _ => {
            let end = bare(b, 0).ok_or("line does not start with a metric name")?;
            name = Some(&s[..end]);
            end
        }
    };
    if i < b.len() && b[i] == b'{' {
        i = label_block(s, i + 1, &mut name, labels)?;
    }
    let name = name
        .filter(|n| !n.is_empty())
        .ok_or("sample without a metric name")?;
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
    Ok((name, value, timestamp))
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
