//! The LMCache server's facts from its routes, as text and markdown lines.

use super::{Lines, push};
use crate::report::Report;
use crate::sanitize::clean;

/// What the LMCache routes said (`--routes`, a packet, a live session): nothing when they
/// were not read.
pub(super) fn server_lines(r: &Report, out: &mut Lines) {
    let h = &r.analysis.lmcache.http;
    if h.target.is_none() {
        return;
    }
    let mut push = |l: &str, v: String| push(out, "LMCache server (routes)", l, v);
    let yes_no = |b: Option<bool>, yes: &str, no: &str| match b {
        Some(true) => yes.to_string(),
        Some(false) => no.to_string(),
        None => "—".to_string(),
    };
    push(
        "version, health",
        format!(
            "{}, {}",
            h.version.as_deref().map_or("—".into(), clean),
            yes_no(h.healthy, "healthy", "UNHEALTHY")
        ),
    );
    push("server", h.server.strip());
    push(
        "eviction watermark, ratio",
        format!(
            "{}, {}",
            h.eviction_watermark.percent(),
            h.eviction_ratio.percent()
        ),
    );
    push(
        "prefetch in flight of max, queues",
        format!(
            "{}; {} submitted, {} pending",
            h.prefetch_in_flight_line(),
            h.prefetch_submission_queue.count(),
            h.prefetch_pending_queue.count()
        ),
    );
    push(
        "EventBus queue size, sample rate",
        format!(
            "{}, {}",
            h.event_bus_queue_size.count(),
            h.metrics_sample_rate.count()
        ),
    );
    push(
        "periodic threads",
        yes_no(h.periodic_healthy, "on time", "some late"),
    );
}
