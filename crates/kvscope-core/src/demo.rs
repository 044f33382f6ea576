//! `kvscope demo`: the bundled packet (real data only, compiled into the binary) served on
//! loopback by [`crate::serve`], with the TUI attached; `demo`, `serve` and `replay` share that
//! path. The packet holds the real LMCache 0.5.6 CPU run (32 scrapes, the route answers read
//! before and after its workload) and packet_a's real vLLM scrape, one snapshot of another run
//! stamped with its capture time (`tests/demo_packet.rs` builds it and keeps it true).

use crate::packet::{self, Opened};
use crate::vocab::{Event, Role};

/// `fixtures/demo.kvpacket`.
pub static PACKET: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../fixtures/demo.kvpacket"
));

/// The bundled packet, read.
pub fn packet() -> Opened {
    packet::from_tar(PACKET).expect("the bundled demo packet is a packet (tests/demo_packet.rs)")
}

/// The demo's scrapes as events, without servers: the LMCache 0.5.6 timeline t0..=`last` at
/// its capture times, then the vLLM scrape stamped with the newest of them; and that newest
/// time. The one place tests, benchmarks and examples load the recorded pairing from.
pub fn recorded(last: usize) -> (Vec<Event>, f64) {
    let (events, _) = packet().events();
    let mut lmcache: Vec<Event> = events
        .iter()
        .filter(|e| matches!(e, Event::Scrape { target, .. } if target.role == Role::Lmcache))
        .take(last + 1)
        .cloned()
        .collect();
    let newest = lmcache.iter().filter_map(Event::time).fold(0.0, f64::max);
    let engine = events
        .into_iter()
        .find(|e| matches!(e, Event::Scrape { target, .. } if target.role == Role::Engine));
    if let Some(Event::Scrape {
        target,
        body,
        format,
        origin,
        ..
    }) = engine
    {
        lmcache.push(Event::Scrape {
            target,
            time: Some(newest),
            body,
            format,
            origin,
        });
    }
    (lmcache, newest)
}

/// The demo's bodies alone: the 32 LMCache scrapes in order, and the vLLM scrape as packet_a
/// recorded it (without the capture-time stamps the demo serves it with).
pub fn recorded_bodies() -> (Vec<Vec<u8>>, Vec<u8>) {
    let (mut events, _) = recorded(usize::MAX - 1);
    let body = |e: Event| match e {
        Event::Scrape { body, .. } => body,
        _ => Vec::new(),
    };
    let engine = events.pop().map(body).unwrap_or_default();
    let unstamped: String = String::from_utf8_lossy(&engine)
        .lines()
        .map(|l| match l.rsplit_once(' ') {
            Some((sample, stamp))
                if !l.starts_with('#') && stamp.bytes().all(|b| b.is_ascii_digit()) =>
            {
                format!("{sample}\n")
            }
            _ => format!("{l}\n"),
        })
        .collect();
    (
        events.into_iter().map(body).collect(),
        unstamped.into_bytes(),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_unstamped_engine_body_is_packet_a_as_recorded() {
        let (lmcache, engine) = super::recorded_bodies();
        assert_eq!(lmcache.len(), 32);
        let recorded = include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/packet_a/vllm_metrics_loaded.prom"
        ));
        assert_eq!(engine, recorded.to_vec());
    }
}
