//! Reading the API's answers: envelopes, vectors and matrices, `/federate` text, label names
//! interned; matchers checked and quoted.

use super::*;

/// Reads a `/federate` answer (many instances in one exposition body, each sample with its
/// `job`, `instance` and timestamp) as series.
pub fn federated(body: &[u8]) -> Result<Vec<Series>, ApiError> {
    if looks_like_html(body) {
        return Err(ApiError::NotApi("an HTML page".into()));
    }
    let scrape = crate::expo::parse(body).map_err(|e| ApiError::Failed(e.to_string()))?;
    let mut out: Vec<Series> = Vec::new();
    forget_interned();
    for s in scrape.data_samples() {
        let labels = labels_of(&scrape, s);
        let Some(t) = s.timestamp else {
            continue;
        };
        out.push(Series {
            labels,
            points: vec![((t * 1000.0).round() as i64, s.value)],
        });
    }
    forget_interned();
    Ok(out)
}

/// A parsed sample's labels as a series holds them, `__name__` first.
pub fn labels_of(
    scrape: &crate::expo::Scrape<'_>,
    s: &crate::expo::Sample<'_>,
) -> Vec<(Text, Text)> {
    let mut labels = vec![(intern("__name__"), intern(s.name))];
    labels.extend(
        scrape
            .labels(s)
            .iter()
            .map(|l| (intern(l.name), intern(&l.value()))),
    );
    labels
}

thread_local! {
    /// The strings of the answer being decoded ([`intern`]); emptied after each answer.
    static INTERNED: std::cell::RefCell<std::collections::HashSet<Text, foldhash::fast::RandomState>> =
        Default::default();
}

/// The shared copy of `s` among those of the answer being decoded.
pub fn intern(s: &str) -> Text {
    INTERNED.with(|set| {
        let mut set = set.borrow_mut();
        if let Some(t) = set.get(s) {
            return t.clone();
        }
        let t: Text = s.into();
        set.insert(t.clone());
        t
    })
}

/// Forgets the strings kept for sharing (the series keep theirs).
pub(super) fn forget_interned() {
    INTERNED.with(|set| set.borrow_mut().clear());
}

/// Adds the name matcher to a selector's label matchers.
pub(super) fn with_names(matchers: &str, names: &str) -> String {
    match inner(matchers).filter(|m| !m.is_empty()) {
        Some(m) => format!("__name__=~\"{names}\",{m}"),
        None => format!("__name__=~\"{names}\""),
    }
}

/// The label matchers inside `{…}` (or given bare).
pub(super) fn inner(matchers: &str) -> Option<&str> {
    let m = matchers.trim();
    Some(
        m.strip_prefix('{')
            .and_then(|m| m.strip_suffix('}'))
            .unwrap_or(m)
            .trim(),
    )
}

/// Checks a `--match` selector: label matchers only (`{job="lmcache",cluster=~"a.*"}`), as
/// kvscope adds its own metric names to it.
pub fn check_matchers(m: &str) -> Result<(), String> {
    let t = m.trim();
    let body = t.strip_prefix('{').and_then(|t| t.strip_suffix('}'));
    match body {
        Some(b) if b.contains('{') || b.contains('}') => Err(format!(
            "--match {t}: nested braces; give label matchers only"
        )),
        Some(b) if b.contains("__name__") => Err(format!(
            "--match {t}: leave __name__ out: kvscope asks for LMCache and engine names itself"
        )),
        Some(_) => Ok(()),
        None => Err(format!(
            "--match {t}: give label matchers in braces, e.g. {{job=\"lmcache\"}}"
        )),
    }
}

/// A string as a PromQL string literal's contents.
pub(super) fn label_quote(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// A string as a literal inside an RE2 regular expression.
pub(super) fn regex_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

pub(super) fn looks_like_html(body: &[u8]) -> bool {
    let start: Vec<u8> = body
        .iter()
        .skip_while(|b| b.is_ascii_whitespace())
        .take(15)
        .map(u8::to_ascii_lowercase)
        .collect();
    start.starts_with(b"<!doctype") || start.starts_with(b"<html") || start.starts_with(b"<")
}

/// The first line of a short text answer, cleaned for display.
pub(super) fn short_text(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(200)]);
    crate::sanitize::clean(text.lines().next().unwrap_or("").trim())
}

#[derive(Deserialize)]
pub(super) struct Envelope<T> {
    status: String,
    data: Option<T>,
    #[serde(default, rename = "errorType")]
    error_type: String,
    #[serde(default)]
    error: String,
    #[serde(default)]
    warnings: Vec<String>,
}

/// Decodes an API answer: the envelope's `data` and warnings, or why not.
pub fn decode<T: for<'de> Deserialize<'de>>(
    status: u16,
    body: &[u8],
) -> Result<(T, Vec<String>), ApiError> {
    if looks_like_html(body) {
        return match status {
            200..=299 => Err(ApiError::NotApi("an HTML page".into())),
            s => Err(ApiError::Status(s, "an HTML page".into())),
        };
    }
    let env: Envelope<T> = match serde_json::from_slice(body) {
        Ok(e) => e,
        Err(e) if (200..300).contains(&status) => {
            // Valid JSON of another shape is a failed query; not JSON is not the API.
            return Err(
                if serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok() {
                    ApiError::Failed(format!("an answer of an unexpected shape ({e})"))
                } else {
                    ApiError::NotApi(format!("not JSON: {}", short_text(body)))
                },
            );
        }
        Err(_) => return Err(ApiError::Status(status, short_text(body))),
    };
    let clean = |s: &str| crate::sanitize::clean(&s[..floor(s, 300)]);
    if env.status != "success" {
        let msg = format!("{}: {}", clean(&env.error_type), clean(&env.error));
        return Err(if (200..300).contains(&status) {
            ApiError::Failed(msg)
        } else {
            ApiError::Status(status, msg)
        });
    }
    let data = env
        .data
        .ok_or_else(|| ApiError::Failed("a successful answer without data".into()))?;
    Ok((data, env.warnings.iter().map(|w| clean(w)).collect()))
}

/// A range query's answer (status and body) as series and the API's warnings.
pub fn matrix(status: u16, body: &[u8]) -> Result<(Vec<Series>, Vec<String>), ApiError> {
    let decoded = decode::<Matrix>(status, body);
    forget_interned();
    let (m, w) = decoded?;
    Ok((m.series()?, w))
}

/// The largest char boundary at or below `n`.
pub(super) fn floor(s: &str, n: usize) -> usize {
    let mut n = n.min(s.len());
    while !s.is_char_boundary(n) {
        n -= 1;
    }
    n
}

#[derive(Deserialize)]
pub(super) struct Vector {
    pub(super) result: Vec<VectorRow>,
}

#[derive(Deserialize)]
pub(super) struct VectorRow {
    pub(super) metric: Labels,
    /// `[time, "value"]`; discovery's rows ignore it.
    #[serde(default)]
    pub(super) value: Option<(f64, String)>,
}

/// A series' labels as an answer lists them (a handful: searched in order, not hashed), each
/// name and value shared among the answer's series ([`intern`]).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Labels(pub Vec<(Text, Text)>);

impl Labels {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| &**k == name).map(|(_, v)| &**v)
    }

    /// Sets a label (replacing its value when it has one).
    pub fn insert(&mut self, name: &str, value: &str) {
        match self.0.iter_mut().find(|(k, _)| &**k == name) {
            Some(l) => l.1 = value.into(),
            None => self.0.push((name.into(), value.into())),
        }
    }
}

/// A string of an answer, borrowed from it where JSON needs no unescaping.
struct Str<'de>(std::borrow::Cow<'de, str>);

impl<'de> Deserialize<'de> for Str<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Str<'de>, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Str<'de>, E> {
                Ok(Str(v.into()))
            }
            fn visit_str<E>(self, v: &str) -> Result<Str<'de>, E> {
                Ok(Str(v.to_string().into()))
            }
        }
        d.deserialize_str(Visit)
    }
}

impl<'de> Deserialize<'de> for Labels {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Labels, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Labels;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map of label names to values")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(self, mut m: M) -> Result<Labels, M::Error> {
                let mut out = Vec::with_capacity(m.size_hint().unwrap_or(4));
                while let Some((k, v)) = m.next_entry::<Str, Str>()? {
                    out.push((intern(&k.0), intern(&v.0)));
                }
                Ok(Labels(out))
            }
        }
        d.deserialize_map(Visit)
    }
}

/// One series of an instant query's answer: its labels and its value now.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub labels: Labels,
    pub value: f64,
}

impl Reading {
    pub fn label(&self, name: &str) -> &str {
        self.labels.get(name).unwrap_or("")
    }
}

/// An instant query's answer (`resultType` vector) as readings.
pub fn instant_answer(status: u16, body: &[u8]) -> Result<(Vec<Reading>, Vec<String>), ApiError> {
    let decoded = decode::<Vector>(status, body);
    forget_interned();
    let (v, said) = decoded?;
    Ok((readings(v)?, said))
}

/// An instant query's vector, every value read (Prometheus writes them as strings: `"NaN"`,
/// `"+Inf"` included); a value that does not read is an error naming it.
pub(super) fn readings(v: Vector) -> Result<Vec<Reading>, ApiError> {
    v.result
        .into_iter()
        .map(|row| {
            let (_, text) = row.value.ok_or_else(|| {
                ApiError::Failed("an instant query's answer has a series without a value".into())
            })?;
            let value = text.parse::<f64>().map_err(|_| {
                ApiError::Failed(format!(
                    "an instant query's answer has the value {:?}, not a number",
                    crate::sanitize::clean(&text)
                ))
            })?;
            Ok(Reading {
                labels: row.metric,
                value,
            })
        })
        .collect()
}

#[derive(Debug, Deserialize)]
pub(super) struct Matrix {
    #[serde(rename = "resultType")]
    result_type: String,
    result: Vec<MatrixRow>,
}

#[derive(Debug, Deserialize)]
pub(super) struct MatrixRow {
    #[serde(deserialize_with = "pairs")]
    metric: Vec<(Text, Text)>,
    #[serde(default, deserialize_with = "points")]
    values: Vec<(i64, f64)>,
}

impl Matrix {
    pub(super) fn series(self) -> Result<Vec<Series>, ApiError> {
        if self.result_type != "matrix" {
            return Err(ApiError::Failed(format!(
                "a range query answered a {} rather than a matrix",
                crate::sanitize::clean(&self.result_type)
            )));
        }
        Ok(self
            .result
            .into_iter()
            .map(|r| Series {
                labels: r.metric,
                points: r.values,
            })
            .collect())
    }
}

/// A sample as the API writes it, `[1700000000.123, "42"]`, read as (milliseconds, value)
/// without a string of its own; a value that is not a number is an error.
pub(super) struct Point(i64, f64);

impl<'de> Deserialize<'de> for Point {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Point, D::Error> {
        struct Value(f64);
        impl<'de> Deserialize<'de> for Value {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
                struct V;
                impl serde::de::Visitor<'_> for V {
                    type Value = Value;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str("a sample value as a string")
                    }
                    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Value, E> {
                        crate::expo::parse_number(s)
                            .map(Value)
                            .ok_or_else(|| E::custom("a sample value that is not a number"))
                    }
                }
                d.deserialize_str(V)
            }
        }
        let (t, Value(v)) = <(f64, Value)>::deserialize(d)?;
        Ok(Point((t * 1000.0).round() as i64, v))
    }
}

/// A series' samples, read point by point into one vector.
pub(super) fn points<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<(i64, f64)>, D::Error> {
    struct Points;
    impl<'de> serde::de::Visitor<'de> for Points {
        type Value = Vec<(i64, f64)>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a list of samples")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut a: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = Vec::with_capacity(a.size_hint().unwrap_or(4));
            while let Some(Point(t, v)) = a.next_element()? {
                out.push((t, v));
            }
            Ok(out)
        }
    }
    d.deserialize_seq(Points)
}

/// A string read straight into its shared copy ([`intern`]), without a string of its own.
pub(super) struct Interned(Text);

impl<'de> Deserialize<'de> for Interned {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Interned, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Interned;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Interned, E> {
                Ok(Interned(intern(s)))
            }
        }
        d.deserialize_str(V)
    }
}

/// A JSON object of strings as its pairs, in the order given.
pub(super) fn pairs<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<(Text, Text)>, D::Error> {
    struct Pairs;
    impl<'de> serde::de::Visitor<'de> for Pairs {
        type Value = Vec<(Text, Text)>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an object of label names and values")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut m: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = Vec::with_capacity(m.size_hint().unwrap_or(8));
            while let Some((Interned(k), Interned(v))) = m.next_entry()? {
                out.push((k, v));
            }
            Ok(out)
        }
    }
    d.deserialize_map(Pairs)
}
