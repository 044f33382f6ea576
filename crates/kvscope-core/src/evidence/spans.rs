//! OpenTelemetry span exports: OTLP-JSON (`{"resourceSpans": …}`, what a collector's file
//! exporter writes, one object per line), protobuf's JSON of the same messages under their
//! proto field names (`{"resource_spans": …}`, `string_value`, ids in base64: the Python SDK's
//! and several file exporters' form) or JSON names, and the Python SDK's per-span JSON
//! (`to_json()`, what a console exporter prints), as concatenated JSON values in any layout.
//! Integers may arrive as strings, times as nanoseconds or RFC 3339, ids as hex, `0x…` or
//! base64. Spans become request trees: `request` and
//! `cb.request` roots with their children, each root's hit figures from its attributes.

use std::collections::{BTreeMap, HashMap, VecDeque};

use serde_json::Value;

/// Spans kept for building requests (the oldest go first).
pub const SPANS_KEPT: usize = 20_000;
/// Durations kept per span name for its quantiles.
const DURATIONS_KEPT: usize = 10_000;
/// Bytes of one JSON value waited for; a value still open past this is dropped as too large.
const MAX_VALUE: usize = 16 << 20;

/// One span, as kvscope keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    pub trace_id: String,
    pub span_id: String,
    pub parent_id: Option<String>,
    pub name: String,
    /// Seconds since the epoch.
    pub start: f64,
    pub end: f64,
    pub error: bool,
    /// Attributes, values as text.
    pub attributes: BTreeMap<String, String>,
}

impl Span {
    pub fn seconds(&self) -> f64 {
        (self.end - self.start).max(0.0)
    }
    pub fn attr(&self, k: &str) -> Option<&str> {
        self.attributes.get(k).map(String::as_str)
    }
    /// A count attribute (from 0 to 2^53: [`super::count`]).
    fn num(&self, k: &str) -> Option<f64> {
        super::count(self.attr(k)?)
    }
}

/// The attributes read as counts.
const COUNTS: [&str; 4] = [
    "hit_tokens",
    "requested_tokens",
    "l1_hit_tokens",
    "l2_hit_tokens",
];

/// How deep a request's tree is followed.
pub const DEPTH_MAX: usize = 8;
/// Children kept per span (an export of one parent with thousands of children).
pub const FANOUT_MAX: usize = 256;

/// A span export as read so far.
#[derive(Debug, Default)]
pub struct Spans {
    /// Count attributes not believed (negative, not finite, past 2^53): left out.
    pub numbers_not_believed: u64,
    pub origin: String,
    pending: Vec<u8>,
    /// The line being read is being skipped (it was not JSON): bytes up to its end are dropped.
    skipping: bool,
    pub spans: VecDeque<Span>,
    /// Spans read in all (some may have been dropped from `spans`).
    pub total: u64,
    /// JSON values that were not span exports, and the first such.
    pub skipped: u64,
    pub first_skip: Option<String>,
    /// Durations per span name (seconds), the latest [`DURATIONS_KEPT`].
    durations: HashMap<String, VecDeque<f64>>,
    counts: BTreeMap<String, u64>,
    pub bytes: u64,
}

impl Spans {
    pub fn new(origin: &str) -> Spans {
        Spans {
            origin: origin.to_string(),
            ..Spans::default()
        }
    }

    /// The file was replaced or cut: what follows is a new file (a value cut there is dropped).
    pub fn restart(&mut self, origin: &str) {
        self.pending.clear();
        self.skipping = false;
        self.origin = origin.to_string();
    }

    /// Takes the next bytes of the export.
    pub fn push(&mut self, bytes: &[u8]) {
        self.bytes += bytes.len() as u64;
        let mut buf = std::mem::take(&mut self.pending);
        buf.extend_from_slice(bytes);
        // Where the bytes not yet taken start.
        let mut start = 0;
        if self.skipping {
            match memchr::memchr(b'\n', &buf) {
                Some(n) => {
                    start = n + 1;
                    self.skipping = false;
                }
                None => return,
            }
        }
        loop {
            // A fresh reader at `start` each time: it says where each value ends.
            let mut stream =
                serde_json::Deserializer::from_slice(&buf[start..]).into_iter::<Value>();
            match stream.next() {
                None => {
                    start = buf.len();
                    break;
                }
                Some(Ok(v)) => {
                    start += stream.byte_offset();
                    self.value(&v);
                }
                // A value cut by the end of what has arrived: wait for the rest.
                Some(Err(e)) if e.is_eof() => break,
                Some(Err(e)) => {
                    // Not JSON here: the rest of this line is skipped.
                    let at = start + stream.byte_offset();
                    let offset = self.bytes as usize - buf.len() + at;
                    self.skip(format!("not JSON at byte {offset}: {e}"));
                    match memchr::memchr(b'\n', &buf[at..]) {
                        Some(n) => start = at + n + 1,
                        None => {
                            self.skipping = true;
                            return;
                        }
                    }
                }
            }
        }
        let rest = &buf[start..];
        if rest.len() > MAX_VALUE {
            self.skip(format!("a JSON value longer than {MAX_VALUE} bytes"));
        } else {
            self.pending = rest.to_vec();
        }
    }

    fn skip(&mut self, why: String) {
        self.skipped += 1;
        if self.first_skip.is_none() {
            self.first_skip = Some(why);
        }
    }

    fn value(&mut self, v: &Value) {
        let before = self.total;
        if let Some(rs) = field(v, "resourceSpans", "resource_spans").and_then(Value::as_array) {
            for r in rs {
                let scopes = field(r, "scopeSpans", "scope_spans")
                    .or_else(|| {
                        field(
                            r,
                            "instrumentationLibrarySpans",
                            "instrumentation_library_spans",
                        )
                    })
                    .and_then(Value::as_array);
                for s in scopes.into_iter().flatten() {
                    for sp in s
                        .get("spans")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                    {
                        if let Some(span) = otlp_span(sp) {
                            self.add(span);
                        }
                    }
                }
            }
        } else if v.get("context").is_some() && v.get("name").is_some() {
            if let Some(span) = sdk_span(v) {
                self.add(span);
            }
        } else if let Some(items) = v.as_array() {
            for item in items {
                self.value(item);
            }
            return;
        }
        if self.total == before {
            self.skip("a JSON value with no spans in a known shape".into());
        }
    }

    fn add(&mut self, span: Span) {
        self.total += 1;
        let unbelieved = COUNTS
            .iter()
            .filter(|k| span.attr(k).is_some() && span.num(k).is_none())
            .count();
        self.numbers_not_believed += unbelieved as u64;
        *self.counts.entry(span.name.clone()).or_default() += 1;
        let d = self.durations.entry(span.name.clone()).or_default();
        if d.len() == DURATIONS_KEPT {
            d.pop_front();
        }
        d.push_back(span.seconds());
        if self.spans.len() == SPANS_KEPT {
            self.spans.pop_front();
        }
        self.spans.push_back(span);
    }

    /// Whether `bytes` hold a span export in a shape this reader reads (what a folder's
    /// `.json`/`.jsonl` is carried as `--otel` by): read whole, as `--otel` would, so a first
    /// value of any size or layout counts.
    pub fn holds_spans(bytes: &[u8]) -> bool {
        let mut s = Spans::new("");
        s.push(bytes);
        s.push(b"\n");
        s.total > 0
    }

    /// Spans LMCache's tracers name (`request`, `mp.*`, `cb.*`, `transfer.*`, `timeout`) read
    /// so far: what tells an export that holds LMCache's spans from one that holds others'.
    pub fn lmcache_spans(&self) -> u64 {
        self.counts
            .iter()
            .filter(|(name, _)| {
                name.as_str() == "request"
                    || name.as_str() == "timeout"
                    || ["mp.", "cb.", "transfer."]
                        .iter()
                        .any(|p| name.starts_with(p))
            })
            .map(|(_, n)| n)
            .sum()
    }

    /// Requests: each `request` / `cb.request` root with its descendants, in start order.
    /// Each span is visited once per request, however the export links them (a span that is
    /// its own parent, a cycle, ids shared), at most [`DEPTH_MAX`] deep and [`FANOUT_MAX`]
    /// children per span.
    pub fn requests(&self) -> Vec<Request> {
        let mut by_parent: HashMap<(&str, &str), Vec<usize>> = HashMap::new();
        let spans: Vec<&Span> = self.spans.iter().collect();
        for (i, s) in spans.iter().enumerate() {
            if let Some(p) = &s.parent_id {
                let kids = by_parent.entry((&s.trace_id, p)).or_default();
                if kids.len() < FANOUT_MAX {
                    kids.push(i);
                }
            }
        }
        let mut out: Vec<Request> = spans
            .iter()
            .enumerate()
            .filter(|(_, s)| matches!(s.name.as_str(), "request" | "cb.request"))
            .map(|(root, s)| {
                let mut seen = std::collections::HashSet::from([root]);
                let mut children = Vec::new();
                let mut stack = vec![(root, 0usize)];
                while let Some((i, depth)) = stack.pop() {
                    if depth > 0 {
                        children.push((depth, spans[i].clone()));
                    }
                    let key = (spans[i].trace_id.as_str(), spans[i].span_id.as_str());
                    if depth < DEPTH_MAX
                        && let Some(kids) = by_parent.get(&key)
                    {
                        let mut kids: Vec<usize> =
                            kids.iter().copied().filter(|k| seen.insert(*k)).collect();
                        kids.sort_by(|a, b| spans[*b].start.total_cmp(&spans[*a].start));
                        stack.extend(kids.into_iter().map(|k| (k, depth + 1)));
                    }
                }
                Request::of(s, children)
            })
            .collect();
        out.sort_by(|a, b| a.root.start.total_cmp(&b.root.start));
        out
    }

    /// The summary the report gives.
    pub fn summary(&self) -> SpanSummary {
        let requests = self.requests();
        let mut by_name = BTreeMap::new();
        for (name, n) in &self.counts {
            let mut d: Vec<f64> = self
                .durations
                .get(name)
                .map_or(Vec::new(), |d| d.iter().copied().collect());
            d.sort_by(f64::total_cmp);
            let q = |p: f64| -> Option<f64> {
                // Nearest rank, in milliseconds.
                let i = ((p * d.len() as f64).ceil() as usize).clamp(1, d.len().max(1)) - 1;
                d.get(i).map(|s| (s * 1e6).round() / 1e3)
            };
            by_name.insert(
                name.clone(),
                NameStats {
                    count: *n,
                    p50_ms: q(0.5),
                    p90_ms: q(0.9),
                    p99_ms: q(0.99),
                    max_ms: d.last().map(|s| (s * 1e6).round() / 1e3),
                },
            );
        }
        let looked: Vec<&Request> = requests
            .iter()
            .filter(|r| r.requested_tokens.is_some())
            .collect();
        // From +0.0: an empty `sum` of f64 is -0.0, which JSON would show.
        let sum = |f: fn(&Request) -> Option<f64>| {
            looked.iter().filter_map(|r| f(r)).fold(0.0, |a, b| a + b)
        };
        let (hit, requested) = (sum(|r| r.hit_tokens), sum(|r| r.requested_tokens));
        SpanSummary {
            file: self.origin.clone(),
            spans: self.total,
            kept: self.spans.len(),
            skipped_values: self.skipped,
            error: self.first_skip.clone(),
            requests: requests.len(),
            requests_with_lookup: looked.len(),
            hit_tokens: hit,
            requested_tokens: requested,
            hit_rate: (requested > 0.0).then(|| hit / requested),
            l1_hit_tokens: sum(|r| r.l1_hit_tokens),
            l2_hit_tokens: sum(|r| r.l2_hit_tokens),
            timeouts: requests.iter().filter(|r| r.timeout).count(),
            numbers_not_believed: self.numbers_not_believed,
            by_name,
        }
    }
}

/// A request's root span and what its attributes and children say.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub root: Span,
    /// `session_id` (the MP server's request id).
    pub session: Option<String>,
    pub hit_tokens: Option<f64>,
    pub requested_tokens: Option<f64>,
    pub l1_hit_tokens: Option<f64>,
    pub l2_hit_tokens: Option<f64>,
    /// A `timeout` span under it.
    pub timeout: bool,
    /// Descendants, depth first in start order: (depth, span).
    pub children: Vec<(usize, Span)>,
}

impl Request {
    fn of(root: &Span, children: Vec<(usize, Span)>) -> Request {
        // The root carries the lookup's figures; a lookup child carries them as strings too.
        let lookup = children
            .iter()
            .map(|(_, s)| s)
            .find(|s| s.name == "mp.lookup_prefetch" || s.name == "cb.lookup");
        let fig = |k: &str| root.num(k).or_else(|| lookup.and_then(|l| l.num(k)));
        Request {
            session: root
                .attr("session_id")
                .or_else(|| children.iter().find_map(|(_, s)| s.attr("session_id")))
                .map(str::to_string),
            hit_tokens: fig("hit_tokens"),
            requested_tokens: fig("requested_tokens"),
            l1_hit_tokens: fig("l1_hit_tokens"),
            l2_hit_tokens: fig("l2_hit_tokens"),
            timeout: children.iter().any(|(_, s)| s.name == "timeout"),
            root: root.clone(),
            children,
        }
    }

    /// Hit tokens over requested tokens, when the request looked up.
    pub fn hit_rate(&self) -> Option<f64> {
        match (self.hit_tokens, self.requested_tokens) {
            (Some(h), Some(r)) if r > 0.0 => Some(h / r),
            _ => None,
        }
    }
}

/// Latency of one span name.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct NameStats {
    pub count: u64,
    pub p50_ms: Option<f64>,
    pub p90_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
}

/// A span export summary, as the report gives it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SpanSummary {
    pub file: String,
    /// Spans read.
    pub spans: u64,
    /// Spans kept for request trees (the latest).
    pub kept: usize,
    pub skipped_values: u64,
    pub error: Option<String>,
    pub requests: usize,
    /// Requests whose root (or lookup child) gives requested tokens.
    pub requests_with_lookup: usize,
    pub hit_tokens: f64,
    pub requested_tokens: f64,
    /// `null` when no request looked up any token.
    pub hit_rate: Option<f64>,
    pub l1_hit_tokens: f64,
    pub l2_hit_tokens: f64,
    pub timeouts: usize,
    /// Count attributes not believed (negative, not finite, past 2^53): left out.
    pub numbers_not_believed: u64,
    /// Per span name: count and latency quantiles (nearest rank, over the latest 10,000).
    pub by_name: BTreeMap<String, NameStats>,
}

/// A key of OTLP's JSON, under its JSON name (`resourceSpans`: OTLP/JSON, protobuf's default
/// JSON) or its proto field name (`resource_spans`: protobuf JSON that keeps field names, as
/// the Python SDK's and several file exporters' JSON is written).
fn field<'v>(v: &'v Value, camel: &str, snake: &str) -> Option<&'v Value> {
    v.get(camel).or_else(|| v.get(snake))
}

/// A value as text: strings as they are, numbers and booleans written out; OTLP's typed
/// values (`{"stringValue": …}`, `{"int_value": "512"}`) unwrapped.
fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Object(_) => [
            ("stringValue", "string_value"),
            ("intValue", "int_value"),
            ("doubleValue", "double_value"),
            ("boolValue", "bool_value"),
        ]
        .into_iter()
        .find_map(|(camel, snake)| field(v, camel, snake))
        .and_then(text),
        _ => None,
    }
}

/// Nanoseconds since the epoch, as a number or a string of digits: seconds.
fn nanos(v: &Value) -> Option<f64> {
    let n = match v {
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        Value::Number(n) => n.as_f64()?,
        _ => return None,
    };
    (n.is_finite() && n >= 0.0).then_some(n / 1e9)
}

/// A trace or span id as lowercase hex: OTLP/JSON's hex, the SDK's `0x…`, or protobuf JSON's
/// base64 of the id's 16 or 8 bytes. `None` for an empty or all-zero id (no parent).
fn hex_id(v: Option<&Value>) -> Option<String> {
    let s = v?.as_str()?;
    let hex = match s.strip_prefix("0x") {
        Some(h) => h.to_ascii_lowercase(),
        None if matches!(s.len(), 16 | 32) && s.bytes().all(|b| b.is_ascii_hexdigit()) => {
            s.to_ascii_lowercase()
        }
        None => match base64(s) {
            Some(bytes) if matches!(bytes.len(), 8 | 16) => {
                bytes.iter().map(|b| format!("{b:02x}")).collect()
            }
            _ => s.to_ascii_lowercase(),
        },
    };
    (!hex.is_empty() && hex.bytes().any(|b| b != b'0')).then_some(hex)
}

/// Standard base64 (with or without padding); `None` when `s` is not that.
fn base64(s: &str) -> Option<Vec<u8>> {
    let digit = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' | b'-' => Some(62),
        b'/' | b'_' => Some(63),
        _ => None,
    };
    let body = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(body.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in body.bytes() {
        acc = (acc << 6) | u32::from(digit(c)?);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

fn otlp_span(sp: &Value) -> Option<Span> {
    let attributes = sp
        .get("attributes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|kv| {
            Some((
                kv.get("key")?.as_str()?.to_string(),
                text(kv.get("value")?)?,
            ))
        })
        .collect();
    Some(Span {
        trace_id: hex_id(field(sp, "traceId", "trace_id"))?,
        span_id: hex_id(field(sp, "spanId", "span_id"))?,
        parent_id: hex_id(field(sp, "parentSpanId", "parent_span_id")),
        name: sp.get("name")?.as_str()?.to_string(),
        start: nanos(field(sp, "startTimeUnixNano", "start_time_unix_nano")?)?,
        end: nanos(field(sp, "endTimeUnixNano", "end_time_unix_nano")?)?,
        error: sp
            .get("status")
            .and_then(|s| s.get("code"))
            .is_some_and(|c| c == 2 || c == "STATUS_CODE_ERROR"),
        attributes,
    })
}

fn sdk_span(v: &Value) -> Option<Span> {
    let ctx = v.get("context")?;
    let time = |k: &str| crate::timefmt::parse_rfc3339(v.get(k)?.as_str()?).ok();
    let attributes = v
        .get("attributes")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(k, x)| Some((k.clone(), text(x)?)))
        .collect();
    Some(Span {
        trace_id: hex_id(ctx.get("trace_id"))?,
        span_id: hex_id(ctx.get("span_id"))?,
        parent_id: hex_id(v.get("parent_id")),
        name: v.get("name")?.as_str()?.to_string(),
        start: time("start_time")?,
        end: time("end_time")?,
        error: v
            .get("status")
            .and_then(|s| s.get("status_code"))
            .and_then(Value::as_str)
            .is_some_and(|c| c == "ERROR"),
        attributes,
    })
}

#[cfg(test)]
mod id_tests {
    use super::hex_id;
    use serde_json::json;

    /// Ids from the real export (fixtures/lmcache-0.5.6-otlp) as protobuf JSON writes them
    /// (base64), and the same as OTLP/JSON (hex) and the SDK (`0x…`) write them; empty and
    /// all-zero ids are no id.
    #[test]
    fn ids_in_every_encoding_read_as_the_same_hex() {
        let span = "5c072a36cea4fced";
        let trace = "af0036e3c0b69c0dccb18080cbc47215";
        for v in [
            json!("XAcqNs6k/O0="),
            json!(span),
            json!(format!("0x{span}")),
        ] {
            assert_eq!(hex_id(Some(&v)).as_deref(), Some(span), "{v}");
        }
        let t = json!("rwA248C2nA3MsYCAy8RyFQ==");
        assert_eq!(hex_id(Some(&t)).as_deref(), Some(trace));
        for none in [
            json!(""),
            json!("AAAAAAAAAAA="),
            json!("0000000000000000"),
            json!(7),
        ] {
            assert_eq!(hex_id(Some(&none)), None, "{none}");
        }
    }
}
