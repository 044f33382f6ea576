//! Log lines of the LMCache server, of vLLM and of LMCache inside vLLM: the line's shape
//! (LMCache's `[time] LMCache LEVEL: message (file:line:logger)`, vLLM's `LEVEL mm-dd
//! hh:mm:ss [file:line] message`, uvicorn's `LEVEL:     message`, each possibly behind a
//! `(Process pid=N) ` prefix), then the message matched against the templates LMCache and vLLM
//! write, whole, with their numbers read. A line no shape fits is `unknown`: kept and counted,
//! never dropped.

/// The longest line read; the rest of a longer line is cut (and the cut counted).
pub const MAX_LINE: usize = 64 << 10;

/// Severity as the line states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Debug,
    Info,
    Warning,
    Error,
    Critical,
}

impl Level {
    fn of(s: &str) -> Option<Level> {
        Some(match s {
            "DEBUG" => Level::Debug,
            "INFO" => Level::Info,
            "WARNING" | "WARN" => Level::Warning,
            "ERROR" => Level::Error,
            "CRITICAL" | "FATAL" => Level::Critical,
            _ => return None,
        })
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Error => "error",
            Level::Critical => "critical",
        }
    }
}

crate::named! {
    /// What a line says, by the template it matched.
    #[derive(PartialOrd, Ord)]
    pub enum Kind {
        PrefetchCompleted = "prefetch_completed",
        Stored = "stored",
        Retrieved = "retrieved",
        EvictionTriggered = "eviction_triggered",
        L1AllocFailed = "l1_alloc_failed",
        EventbusQueueFull = "eventbus_queue_full",
        EventbusCallbackError = "eventbus_callback_error",
        Timeout = "timeout",
        ServerRunning = "server_running",
        HttpServer = "http_server",
        TraceRecorder = "trace_recorder",
        EmbeddedStored = "embedded_stored",
        EmbeddedRetrieved = "embedded_retrieved",
        VllmHitTokens = "vllm_hit_tokens",
        ResumeLoad = "resume_load",
        HitMismatch = "hit_mismatch",
        ConnectorCreated = "connector_created",
        ExternalConnector = "external_connector",
        VllmServer = "vllm_server",
        EngineStats = "engine_stats",
        HttpAccess = "http_access",
        /// LMCache's or vLLM's own line shape with a message no template describes.
        Other = "other",
        /// A line with no known shape (a traceback, a Python warning, another program's).
        Unknown = "unknown",
    }
}

/// One line, read.
#[derive(Debug, Clone, PartialEq)]
pub struct Line<'a> {
    pub kind: Kind,
    pub level: Option<Level>,
    /// The time as the line writes it (local time, no zone: shown, not computed with).
    pub time: Option<&'a str>,
    /// The process prefix (`EngineCore pid=84`), when there was one.
    pub process: Option<&'a str>,
    pub message: &'a str,
    /// The template's fields, in order (empty for `other` and `unknown`).
    pub fields: Vec<&'a str>,
}

impl Line<'_> {
    /// Field `i` as a count or duration (from 0 to 2^53: [`super::count`]).
    pub fn num(&self, i: usize) -> Option<f64> {
        super::count(self.fields.get(i)?)
    }
}

/// Templates: `{}` is a field (the shortest text up to what follows it; the last one takes
/// the rest), everything else matches exactly, and the whole message must match.
const TEMPLATES: &[(Kind, &str)] = &[
    (
        Kind::PrefetchCompleted,
        "Prefetch request completed ({}): {}/{} {} ({} L1, {} L2) in {} ms (external_request_id={}, prefetch_request_id={})",
    ),
    (Kind::Stored, "Stored {} tokens in {} seconds"),
    (Kind::Stored, "Stored {} Q tokens in {} seconds"),
    (Kind::Retrieved, "Retrieved {} tokens in {} seconds"),
    (
        Kind::EvictionTriggered,
        "L1 memory usage {} above watermark {}; triggering eviction.",
    ),
    (
        Kind::L1AllocFailed,
        "Failed to batched allocate {} memory blocks of size {} because no enough memory is available (short by {} blocks)",
    ),
    (
        Kind::EventbusQueueFull,
        "EventBus queue full (max_queue_size={}), {} event(s) discarded so far",
    ),
    (
        Kind::EventbusCallbackError,
        "EventBus: error in callback {} for {}",
    ),
    (Kind::Timeout, "Timeout raised ({}): {}"),
    (
        Kind::ServerRunning,
        "LMCache {} cache server is running on {}",
    ),
    (Kind::HttpServer, "Starting LMCache HTTP server on {}"),
    (
        Kind::TraceRecorder,
        "trace recorder writing to {} (level={})",
    ),
    (
        Kind::EmbeddedStored,
        "[req_id={}] Stored {} out of total {} tokens. size: {} GB, cost {} ms, throughput: {} GB/s{}",
    ),
    (
        Kind::EmbeddedRetrieved,
        "[req_id={}] Retrieved {} out of {} required tokens (from {} total tokens). size: {} gb, cost {} ms, throughput: {} GB/s{}",
    ),
    (
        Kind::VllmHitTokens,
        "Reqid: {}, Total tokens {}, Inference Engine computed tokens: {}, LMCache hit tokens: {}, {}",
    ),
    (
        Kind::ResumeLoad,
        "<resume-load> req={} apc={} lmcache={} load={}",
    ),
    (
        Kind::HitMismatch,
        "[req={}] LMCache hit mismatch across servers: {} → take min={}",
    ),
    (
        Kind::ConnectorCreated,
        "Creating v1 connector with name: {} and engine_id: {}",
    ),
    (Kind::ExternalConnector, "Using external {} from {}"),
    (Kind::VllmServer, "Starting vLLM server on {}"),
    (Kind::EngineStats, "Engine {}: Avg prompt throughput: {}"),
];

/// Strips ANSI escape sequences (CSI `ESC [ … letter` and lone escapes) into `out`.
pub fn strip_ansi<'a>(line: &'a str, out: &'a mut String) -> &'a str {
    if !line.contains('\x1b') {
        return line;
    }
    out.clear();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\x1b' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'[') {
            chars.next();
            // Parameters and intermediates, up to the final byte.
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) {
                    break;
                }
            }
        } else {
            chars.next();
        }
    }
    out.as_str()
}

/// Reads one line (ANSI already stripped, no line end).
pub fn parse(line: &str) -> Line<'_> {
    let (process, rest) = process_prefix(line);
    let shaped = lmcache_shape(rest)
        .or_else(|| vllm_shape(rest))
        .or_else(|| uvicorn_shape(rest));
    let Some((level, time, message)) = shaped else {
        return Line {
            kind: Kind::Unknown,
            level: None,
            time: None,
            process,
            message: line,
            fields: Vec::new(),
        };
    };
    let (kind, fields) = TEMPLATES
        .iter()
        .find_map(|(k, t)| matches(t, message).map(|f| (*k, f)))
        .unwrap_or((Kind::Other, Vec::new()));
    let kind = if kind == Kind::Other && time.is_none() && is_access(message) {
        Kind::HttpAccess
    } else {
        kind
    };
    Line {
        kind,
        level,
        time,
        process,
        message,
        fields,
    }
}

/// `(APIServer pid=71) ` before the line proper.
fn process_prefix(line: &str) -> (Option<&str>, &str) {
    if let Some(rest) = line.strip_prefix('(')
        && let Some(end) = rest.find(") ")
        && rest[..end].contains("pid=")
    {
        return (Some(&rest[..end]), &rest[end + 2..]);
    }
    (None, line)
}

/// `[2026-11-22 07:25:34,886] LMCache INFO: message (file.py:12:logger)`.
fn lmcache_shape(s: &str) -> Option<(Option<Level>, Option<&str>, &str)> {
    let rest = s.strip_prefix('[')?;
    let close = rest.find(']')?;
    let time = &rest[..close];
    let rest = rest[close + 1..].trim_start().strip_prefix("LMCache ")?;
    let colon = rest.find(':')?;
    let level = Level::of(&rest[..colon])?;
    let message = rest[colon + 1..].trim();
    Some((Some(level), Some(time), strip_origin(message)))
}

/// `INFO 05-07 23:02:56 [api_server.py:602] message`.
fn vllm_shape(s: &str) -> Option<(Option<Level>, Option<&str>, &str)> {
    let (level, rest) = s.split_once(' ')?;
    let level = Level::of(level)?;
    let open = rest.find(" [")?;
    let time = &rest[..open];
    if !time
        .bytes()
        .all(|b| b.is_ascii_digit() || b" -:.".contains(&b))
        || time.len() < 8
    {
        return None;
    }
    let after = &rest[open + 2..];
    let close = after.find("] ")?;
    Some((Some(level), Some(time), after[close + 2..].trim()))
}

/// `INFO:     127.0.0.1:45724 - "GET /metrics HTTP/1.1" 200 OK`.
fn uvicorn_shape(s: &str) -> Option<(Option<Level>, Option<&str>, &str)> {
    let (level, rest) = s.split_once(':')?;
    let level = Level::of(level)?;
    rest.starts_with("  ")
        .then(|| (Some(level), None, rest.trim()))
}

fn is_access(message: &str) -> bool {
    message.contains(" - \"") && message.contains(" HTTP/")
}

/// The message without LMCache's `(file.py:line:logger)` suffix.
fn strip_origin(message: &str) -> &str {
    if let Some(open) = message.rfind(" (")
        && message.ends_with(')')
    {
        let inner = &message[open + 2..message.len() - 1];
        let mut parts = inner.splitn(3, ':');
        if let (Some(file), Some(line), Some(_)) = (parts.next(), parts.next(), parts.next())
            && file.ends_with(".py")
            && line.bytes().all(|b| b.is_ascii_digit())
        {
            return message[..open].trim_end();
        }
    }
    message
}

/// The fields of `message` under `template`, when the whole message fits it.
fn matches<'a>(template: &str, message: &'a str) -> Option<Vec<&'a str>> {
    let mut parts = template.split("{}");
    let first = parts.next()?;
    let mut rest = message.strip_prefix(first)?;
    let mut fields = Vec::new();
    let mut parts = parts.peekable();
    while let Some(lit) = parts.next() {
        let last = parts.peek().is_none();
        if last && lit.is_empty() {
            fields.push(rest);
            rest = "";
            break;
        }
        let at = if last {
            rest.rfind(lit)?
        } else {
            rest.find(lit)?
        };
        if last && at + lit.len() != rest.len() {
            return None;
        }
        fields.push(&rest[..at]);
        rest = &rest[at + lit.len()..];
    }
    rest.is_empty().then_some(fields)
}
