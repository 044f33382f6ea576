//! `expo`: Prometheus text 0.0.4 and OpenMetrics 1.0 exposition → borrowed samples.
//!
//! One pass over the body, no per-byte allocation: every name, label and help text is a
//! slice of the input. A malformed line is counted (with its line number) and skipped; only
//! the caps in [`Limits`] end a parse early, with an error that says which cap.

mod line;

pub use line::{SampleText, split_sample};
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

/// What a family was declared as (`# TYPE`), or `Unknown` when it was not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
    GaugeHistogram,
    Summary,
    Info,
    StateSet,
    Unknown,
}

impl Kind {
    /// The kind a `# TYPE` line (or Prometheus's metadata) names; `untyped` is unknown.
    pub fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "counter" => Kind::Counter,
            "gauge" => Kind::Gauge,
            "histogram" => Kind::Histogram,
            "gaugehistogram" => Kind::GaugeHistogram,
            "summary" => Kind::Summary,
            "info" => Kind::Info,
            "stateset" => Kind::StateSet,
            "untyped" | "unknown" => Kind::Unknown,
            _ => return None,
        })
    }

    /// Name as written in `# TYPE`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
            Kind::GaugeHistogram => "gaugehistogram",
            Kind::Summary => "summary",
            Kind::Info => "info",
            Kind::StateSet => "stateset",
            Kind::Unknown => "unknown",
        }
    }
}

/// What one sample line is within its family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Part {
    /// The value itself: counter total, gauge, untyped value, summary quantile, stateset state.
    Value,
    /// `_created`: a timestamp of when the series started, never data.
    Created,
    Bucket,
    Count,
    Sum,
    GCount,
    GSum,
    Info,
}

pub use crate::vocab::Format;

/// Hard caps; exceeding one ends the parse with [`ExpoError::Cap`].
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_body_bytes: usize,
    pub max_samples: usize,
    pub max_buckets_per_family: usize,
    /// Bad lines beyond this many are counted but their details are not kept.
    pub max_errors_kept: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 64 << 20,
            max_samples: 1_000_000,
            max_buckets_per_family: 200_000,
            max_errors_kept: 64,
        }
    }
}

/// A family as declared by `# TYPE`/`# HELP`/`# UNIT`, or implied by an untyped sample.
#[derive(Debug, Clone)]
pub struct Family<'a> {
    pub name: &'a str,
    pub kind: Kind,
    pub help: Option<&'a str>,
    pub unit: Option<&'a str>,
    /// Sample lines attributed to this family (including `_created`).
    pub samples: u32,
    /// Name with a counter's `_total` removed (0.0.4 declares counters with it).
    base: &'a str,
    typed: bool,
    buckets: u32,
}

/// One sample line.
#[derive(Debug, Clone, Copy)]
pub struct Sample<'a> {
    pub name: &'a str,
    pub family: u32,
    pub part: Part,
    pub value: f64,
    /// Seconds since the epoch, when the line carried a timestamp.
    pub timestamp: Option<f64>,
    pub line: u32,
    labels_start: u32,
    labels_len: u32,
}

/// One label pair; the value is kept escaped until asked for.
#[derive(Debug, Clone, Copy)]
pub struct Label<'a> {
    pub name: &'a str,
    raw: &'a str,
    escaped: bool,
}

impl<'a> Label<'a> {
    /// The label value with `\\`, `\"` and `\n` escapes resolved.
    pub fn value(&self) -> Cow<'a, str> {
        if self.escaped {
            Cow::Owned(unescape(self.raw))
        } else {
            Cow::Borrowed(self.raw)
        }
    }

    /// Writes the unescaped value into `out` without allocating when `out` has room.
    pub fn push_value(&self, out: &mut String) {
        if self.escaped {
            unescape_into(self.raw, out)
        } else {
            out.push_str(self.raw)
        }
    }

    /// The value as it appeared between the quotes.
    pub fn raw(&self) -> &'a str {
        self.raw
    }
}

/// Why a line was skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct LineError {
    pub line: u32,
    pub reason: &'static str,
}

/// A parse that could not produce a result at all.
#[derive(Debug, Clone, PartialEq)]
pub enum ExpoError {
    /// A cap in [`Limits`] was exceeded.
    Cap { what: &'static str, limit: usize },
    /// The body is not exposition text (an HTML error page, a JSON document ...).
    NotMetrics { looks_like: &'static str },
    /// Not one line parsed: no sample, no declaration, only bad lines.
    NothingParsed { bad_lines: u32, first: LineError },
}

impl fmt::Display for ExpoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExpoError::Cap { what, limit } => write!(f, "{what} exceeds the limit of {limit}"),
            ExpoError::NotMetrics { looks_like } => {
                write!(
                    f,
                    "the body is {looks_like}, not Prometheus/OpenMetrics text"
                )
            }
            ExpoError::NothingParsed { bad_lines, first } => write!(
                f,
                "not one of its {bad_lines} lines is Prometheus/OpenMetrics text (line {}: {})",
                first.line, first.reason
            ),
        }
    }
}

impl std::error::Error for ExpoError {}

/// A parsed scrape, borrowing from the body.
#[derive(Debug, Default)]
pub struct Scrape<'a> {
    pub format: Option<Format>,
    pub families: Vec<Family<'a>>,
    pub samples: Vec<Sample<'a>>,
    labels: Vec<Label<'a>>,
    /// The first [`Limits::max_errors_kept`] skipped lines.
    pub errors: Vec<LineError>,
    /// Every skipped line, kept or not.
    pub error_count: u32,
    pub lines: u32,
    /// OpenMetrics `# EOF` was seen.
    pub eof: bool,
}

impl<'a> Scrape<'a> {
    /// The labels of one sample, in the order they were written.
    pub fn labels(&self, s: &Sample<'a>) -> &[Label<'a>] {
        &self.labels[s.labels_start as usize..(s.labels_start + s.labels_len) as usize]
    }

    /// The family a sample belongs to.
    pub fn family(&self, s: &Sample<'a>) -> &Family<'a> {
        &self.families[s.family as usize]
    }

    /// Samples that are data (everything but `_created`).
    pub fn data_samples(&self) -> impl Iterator<Item = &Sample<'a>> {
        self.samples.iter().filter(|s| s.part != Part::Created)
    }
}

/// Parses with default limits; the format is detected from the body.
pub fn parse(body: &[u8]) -> Result<Scrape<'_>, ExpoError> {
    parse_with(body, None, &Limits::default())
}

/// Parses `body`; `hint` comes from a Content-Type header when there was one.
pub fn parse_with<'a>(
    body: &'a [u8],
    hint: Option<Format>,
    limits: &Limits,
) -> Result<Scrape<'a>, ExpoError> {
    if body.len() > limits.max_body_bytes {
        return Err(ExpoError::Cap {
            what: "body size in bytes",
            limit: limits.max_body_bytes,
        });
    }
    if let Some(looks_like) = sniff_non_metrics(body) {
        return Err(ExpoError::NotMetrics { looks_like });
    }
    let mut p = Parser::new(body, limits);
    p.run()?;
    if p.out.samples.is_empty()
        && p.out.families.is_empty()
        && let Some(&first) = p.out.errors.first()
    {
        return Err(ExpoError::NothingParsed {
            bad_lines: p.out.error_count,
            first,
        });
    }
    let mut scrape = p.out;
    let openmetrics = hint == Some(Format::OpenMetrics1) || p.saw_openmetrics_marker;
    scrape.format = Some(if openmetrics {
        Format::OpenMetrics1
    } else {
        Format::Prometheus004
    });
    if p.saw_timestamp && !openmetrics {
        // 0.0.4 timestamps are integer milliseconds; OpenMetrics ones are seconds.
        for s in &mut scrape.samples {
            if let Some(t) = s.timestamp.as_mut() {
                *t /= 1000.0;
            }
        }
    }
    Ok(scrape)
}

/// Recognises bodies that are clearly something else, from their first bytes.
fn sniff_non_metrics(body: &[u8]) -> Option<&'static str> {
    let start = body.iter().position(|b| !b.is_ascii_whitespace())?;
    match body[start] {
        b'<' => Some("HTML or XML"),
        b'{' => {
            // OpenMetrics allows a line starting with `{"name"`; JSON objects have a key + colon.
            let line_end = memchr::memchr(b'\n', &body[start..]).map_or(body.len(), |i| start + i);
            let line = &body[start..line_end];
            let close = memchr::memchr(b'}', line);
            let colon_before_close = memchr::memchr(b':', line)
                .is_some_and(|c| close.is_none_or(|e| c < e) && !line.contains(&b'='));
            colon_before_close.then_some("JSON")
        }
        b'[' => Some("JSON"),
        _ => None,
    }
}

/// The most sample lines room is made for before parsing; more grow the vectors as needed.
const PREALLOCATED_LINES: usize = 1 << 16;

struct Parser<'a, 'l> {
    body: &'a [u8],
    limits: &'l Limits,
    out: Scrape<'a>,
    by_name: HashMap<&'a str, u32, foldhash::fast::RandomState>,
    current: Option<u32>,
    /// The whole body is valid UTF-8 (the common case: one check instead of one per line).
    utf8: bool,
    /// The previous sample line's bare name and where it resolved to.
    last_bare: (&'a str, u32, Part),
    saw_openmetrics_marker: bool,
    saw_timestamp: bool,
}

impl<'a, 'l> Parser<'a, 'l> {
    fn new(body: &'a [u8], limits: &'l Limits) -> Self {
        // One up-front guess at the sizes keeps growth (and allocations) rare. The guess is
        // capped: a body of empty lines must not reserve gigabytes it will never fill.
        let lines = (memchr::memchr_iter(b'\n', body).count() + 1)
            .min(limits.max_samples)
            .min(PREALLOCATED_LINES);
        let families = lines / 4 + 4;
        Parser {
            body,
            limits,
            out: Scrape {
                families: Vec::with_capacity(families),
                samples: Vec::with_capacity(lines),
                labels: Vec::with_capacity(lines * 3),
                ..Scrape::default()
            },
            by_name: HashMap::with_capacity_and_hasher(
                families * 2,
                foldhash::fast::RandomState::default(),
            ),
            utf8: std::str::from_utf8(body).is_ok(),
            last_bare: ("", 0, Part::Value),
            current: None,
            saw_openmetrics_marker: false,
            saw_timestamp: false,
        }
    }

    fn run(&mut self) -> Result<(), ExpoError> {
        let body = self.body;
        let mut pos = 0usize;
        let mut lineno = 0u32;
        while pos < body.len() {
            lineno += 1;
            let end = memchr::memchr(b'\n', &body[pos..]).map_or(body.len(), |i| pos + i);
            let mut raw = &body[pos..end];
            pos = end + 1;
            if let [rest @ .., b'\r'] = raw {
                raw = rest;
            }
            if self.out.eof {
                if !raw.iter().all(u8::is_ascii_whitespace) {
                    self.error(lineno, "content after # EOF");
                }
                continue;
            }
            let text = if self.utf8 {
                // SAFETY: the whole body was validated as UTF-8 and lines split at '\n', an
                // ASCII byte, so every line is valid UTF-8 too.
                unsafe { std::str::from_utf8_unchecked(raw) }
            } else if let Ok(t) = std::str::from_utf8(raw) {
                t
            } else {
                self.error(lineno, "line is not valid UTF-8");
                continue;
            };
            let text = match text.as_bytes().first() {
                Some(b' ' | b'\t') => text.trim_start_matches(is_blank),
                _ => text,
            };
            if text.is_empty() {
                continue;
            }
            let result = if text.as_bytes()[0] == b'#' {
                self.comment(text)
            } else {
                self.sample(text, lineno)
            };
            if let Err(e) = result {
                match e {
                    Bad::Line(reason) => self.error(lineno, reason),
                    Bad::Cap(e) => return Err(e),
                }
            }
        }
        self.out.lines = lineno;
        Ok(())
    }

    fn error(&mut self, line: u32, reason: &'static str) {
        self.out.error_count += 1;
        if self.out.errors.len() < self.limits.max_errors_kept {
            self.out.errors.push(LineError { line, reason });
        }
    }

    fn comment(&mut self, text: &'a str) -> Result<(), Bad> {
        let rest = text[1..].trim_start_matches(is_blank);
        let (keyword, rest) = match rest.find([' ', '\t']) {
            Some(i) => (&rest[..i], rest[i + 1..].trim_start_matches(is_blank)),
            None => (rest, ""),
        };
        match keyword {
            "EOF" => {
                self.out.eof = true;
                self.saw_openmetrics_marker = true;
                Ok(())
            }
            "HELP" | "TYPE" | "UNIT" => {
                // A declaration can change what a name resolves to.
                self.last_bare = ("", 0, Part::Value);
                let (name, after) = line::metric_name(rest)
                    .ok_or(Bad::Line("bad metric name in # HELP/TYPE/UNIT"))?;
                // prometheus_client's 0.0.4 output declares `x_created` as a gauge family of its
                // own; it is the companion of counter/histogram `x`, not data.
                if let Some(parent) = self.created_parent(name) {
                    self.current = Some(parent);
                    return Ok(());
                }
                let arg = after.trim_start_matches(is_blank);
                let idx = self.family_for_decl(name);
                let Parser {
                    out,
                    by_name,
                    saw_openmetrics_marker,
                    ..
                } = self;
                let fam = &mut out.families[idx as usize];
                match keyword {
                    "HELP" => fam.help = Some(arg),
                    "UNIT" => {
                        *saw_openmetrics_marker = true;
                        fam.unit = Some(arg.trim_end());
                    }
                    _ => {
                        let kind = Kind::parse(arg.trim_end())
                            .ok_or(Bad::Line("unknown metric type in # TYPE"))?;
                        if fam.typed {
                            return Err(Bad::Line("second # TYPE for the same family"));
                        }
                        fam.typed = true;
                        fam.kind = kind;
                        if kind == Kind::Counter
                            && let Some(base) = name.strip_suffix("_total")
                        {
                            fam.base = base;
                            by_name.entry(base).or_insert(idx);
                        }
                    }
                }
                self.current = Some(idx);
                Ok(())
            }
            // Any other comment is free text.
            _ => Ok(()),
        }
    }

    /// The counter, histogram or summary whose `_created` companion `name` is.
    fn created_parent(&self, name: &str) -> Option<u32> {
        let stem = name.strip_suffix("_created")?;
        let &i = self.by_name.get(stem)?;
        let f = &self.out.families[i as usize];
        (f.typed
            && matches!(f.kind, Kind::Counter | Kind::Histogram | Kind::Summary)
            && f.base == stem)
            .then_some(i)
    }

    /// The family a HELP/TYPE/UNIT line names, created if new.
    fn family_for_decl(&mut self, name: &'a str) -> u32 {
        if let Some(c) = self.current
            && self.out.families[c as usize].name == name
        {
            return c;
        }
        if let Some(&i) = self.by_name.get(name)
            && self.out.families[i as usize].name == name
        {
            return i;
        }
        self.new_family(name, Kind::Unknown, false)
    }

    fn new_family(&mut self, name: &'a str, kind: Kind, typed: bool) -> u32 {
        let idx = self.out.families.len() as u32;
        self.out.families.push(Family {
            name,
            kind,
            help: None,
            unit: None,
            samples: 0,
            base: name,
            typed,
            buckets: 0,
        });
        self.by_name.insert(name, idx);
        idx
    }

    fn sample(&mut self, text: &'a str, lineno: u32) -> Result<(), Bad> {
        let labels_start = self.out.labels.len();
        let parsed = line::sample(text, self.last_bare.0, &mut self.out.labels);
        let line::Parsed {
            name,
            from,
            value,
            timestamp,
        } = match parsed {
            Ok(v) => v,
            Err(reason) => {
                self.out.labels.truncate(labels_start);
                return Err(Bad::Line(reason));
            }
        };
        if self.out.samples.len() >= self.limits.max_samples {
            return Err(Bad::Cap(ExpoError::Cap {
                what: "samples in one scrape",
                limit: self.limits.max_samples,
            }));
        }
        let (family, part) = match from {
            line::NameFrom::Previous => (self.last_bare.1, self.last_bare.2),
            _ => self.resolve(name),
        };
        if from != line::NameFrom::Quoted {
            self.last_bare = (name, family, part);
        }
        let fam = &mut self.out.families[family as usize];
        fam.samples += 1;
        if part == Part::Bucket {
            fam.buckets += 1;
            if fam.buckets as usize > self.limits.max_buckets_per_family {
                return Err(Bad::Cap(ExpoError::Cap {
                    what: "histogram buckets in one family",
                    limit: self.limits.max_buckets_per_family,
                }));
            }
        }
        if timestamp.is_some() {
            self.saw_timestamp = true;
        }
        self.out.samples.push(Sample {
            name,
            family,
            part,
            value,
            timestamp,
            line: lineno,
            labels_start: labels_start as u32,
            labels_len: (self.out.labels.len() - labels_start) as u32,
        });
        self.current = Some(family);
        Ok(())
    }

    /// Finds the family of a sample name: the current family first (exposition groups a
    /// family's lines), then the name index, else a new untyped family.
    fn resolve(&mut self, name: &'a str) -> (u32, Part) {
        if let Some(c) = self.current
            && let Some(part) = part_of(&self.out.families[c as usize], name)
        {
            return (c, part);
        }
        if let Some(&i) = self.by_name.get(name)
            && let Some(part) = part_of(&self.out.families[i as usize], name)
        {
            return (i, part);
        }
        for suffix in SUFFIXES {
            if let Some(stem) = name.strip_suffix(suffix)
                && let Some(&i) = self.by_name.get(stem)
                && let Some(part) = part_of(&self.out.families[i as usize], name)
            {
                return (i, part);
            }
        }
        (self.new_family(name, Kind::Unknown, false), Part::Value)
    }
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

const SUFFIXES: [&str; 8] = [
    "_total", "_created", "_bucket", "_count", "_sum", "_gcount", "_gsum", "_info",
];

/// How `name` belongs to family `f`, if it does.
fn part_of(f: &Family<'_>, name: &str) -> Option<Part> {
    if name == f.name {
        return Some(match f.kind {
            Kind::Info if !f.name.ends_with("_info") => Part::Info,
            _ => Part::Value,
        });
    }
    let rest = name.strip_prefix(f.base)?;
    let part = match (f.kind, rest) {
        (Kind::Counter, "_total") => Part::Value,
        (Kind::Counter | Kind::Histogram | Kind::Summary, "_created") => Part::Created,
        (Kind::Histogram | Kind::GaugeHistogram, "_bucket") => Part::Bucket,
        (Kind::Histogram | Kind::Summary, "_count") => Part::Count,
        (Kind::Histogram | Kind::Summary, "_sum") => Part::Sum,
        (Kind::GaugeHistogram, "_gcount") => Part::GCount,
        (Kind::GaugeHistogram, "_gsum") => Part::GSum,
        (Kind::Info, "_info") => Part::Info,
        _ => return None,
    };
    Some(part)
}

enum Bad {
    Line(&'static str),
    Cap(ExpoError),
}

/// Resolves `\\`, `\"` and `\n`; any other backslash sequence is kept as written.
pub fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    unescape_into(raw, &mut out);
    out
}

fn unescape_into(raw: &str, out: &mut String) {
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('\\') => out.push('\\'),
            Some('"') => out.push('"'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
}

/// Parses a number the way sample values are written (`+Inf`, `NaN`, floats).
pub fn parse_number(s: &str) -> Option<f64> {
    line::parse_value(s)
}
