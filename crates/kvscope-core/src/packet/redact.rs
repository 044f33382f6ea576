//! `--redact-hosts`: host names and addresses replaced by stable pseudonyms before a packet is
//! written, for packets sent outside the company. Hosts are found in the target URLs, in the
//! values of host-like labels (`instance`, `hostname`, …) and in URLs inside any body (an L2
//! adapter's address in `/config`); every whole occurrence of one of them, anywhere in the
//! packet (URLs, bodies, route answers, the report), is then replaced by its pseudonym: `host-N`
//! for a name, `192.0.2.N` (a documentation range, so it stays an address) for IPv4,
//! `2001:db8::N` for IPv6. Loopback and unspecified addresses say nothing and stay.
//!
//! "Whole" means the occurrence is not part of a longer name: `gpu7` is replaced in
//! `gpu7:8000` and `"gpu7"`, never in `gpu7b` or `gpu7.example.com` (which is a host of its own
//! when it appears). The scan is one pass per body with a table lookup per token.

use std::collections::HashMap;

use super::{Attachment, EventSource, Recording, TargetEntry};
use crate::vocab::Event;

/// Label names whose values name a host (with or without a port).
const HOST_LABELS: &[&str] = &[
    "instance",
    "exported_instance",
    "host",
    "hostname",
    "host_name",
    "node",
    "node_name",
    "nodename",
    "pod",
    "pod_name",
    "server",
    "server_address",
    "ip",
    "address",
    "endpoint",
    "fqdn",
    "machine",
];

/// The hosts of one packet and their pseudonyms.
#[derive(Debug, Default)]
pub struct Hosts {
    map: HashMap<String, String>,
    /// Pseudonyms handed out per kind: names, IPv4, IPv6.
    counts: [usize; 3],
}

fn token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':')
}

/// Hosts that reveal nothing.
fn says_nothing(host: &str) -> bool {
    matches!(
        host,
        "localhost" | "127.0.0.1" | "0.0.0.0" | "::1" | "::" | ""
    ) || host.starts_with("127.")
        || host.parse::<f64>().is_ok()
}

/// A host from `host`, `host:port`, `[v6]:port` or `user@host`; `None` when it is not one.
fn host_of(text: &str) -> Option<&str> {
    let host = crate::url::split(text).host;
    let plausible = !host.is_empty()
        && host.len() <= 253
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':'));
    (plausible && !says_nothing(host)).then_some(host)
}

impl Hosts {
    /// Every host the targets and events name.
    pub fn collect(targets: &[TargetEntry], events: &dyn EventSource) -> Result<Hosts, String> {
        let mut hosts = Hosts::default();
        for t in targets {
            hosts.scan(t.url.as_bytes());
        }
        events.each(&mut |e| {
            match &e {
                Event::Scrape { body, origin, .. } => {
                    hosts.scan(origin.as_bytes());
                    hosts.scan(body);
                    hosts.scan_labels(body);
                }
                Event::Route {
                    result: Ok((_, body)),
                    ..
                } => hosts.scan(body),
                Event::Evidence { body, origin, .. } => {
                    hosts.scan(origin.as_bytes());
                    hosts.scan(body);
                }
                Event::ScrapeFailed { error, .. }
                | Event::Route {
                    result: Err(error), ..
                } => hosts.scan(error.as_bytes()),
                _ => {}
            }
            Ok(())
        })?;
        Ok(hosts)
    }

    fn add(&mut self, host: &str) {
        if self.map.contains_key(host) {
            return;
        }
        let (kind, pseudonym) = if host.parse::<std::net::Ipv4Addr>().is_ok() {
            let n = self.counts[1] + 1;
            let net = ["192.0.2", "198.51.100", "203.0.113"];
            let name = match net.get((n - 1) / 254) {
                Some(prefix) => format!("{prefix}.{}", (n - 1) % 254 + 1),
                None => format!("ipv4-{n}"),
            };
            (1, name)
        } else if host.parse::<std::net::Ipv6Addr>().is_ok() {
            (2, format!("2001:db8::{:x}", self.counts[2] + 1))
        } else {
            (0, format!("host-{}", self.counts[0] + 1))
        };
        self.counts[kind] += 1;
        self.map.insert(host.to_string(), pseudonym);
    }

    /// Adds the hosts of the URLs in `text` (`scheme://authority`): a body, a carried log.
    pub fn scan(&mut self, text: &[u8]) {
        let mut at = 0;
        while let Some(i) = find(&text[at..], b"://") {
            let start = at + i + 3;
            let end = text[start..]
                .iter()
                .position(|b| {
                    matches!(b, b'/' | b'"' | b'\'' | b'?' | b'#' | b',' | b'}')
                        || b.is_ascii_whitespace()
                })
                .map_or(text.len(), |n| start + n);
            if let Ok(authority) = std::str::from_utf8(&text[start..end])
                && let Some(host) = host_of(authority)
            {
                self.add(host);
            }
            at = start;
        }
    }

    /// The hosts named by host-like labels in an exposition body, each line read by the
    /// parser's own lexer (so escaped quotes and backslashes in any value are read as the
    /// parser reads them) and each value unescaped before it is judged.
    fn scan_labels(&mut self, body: &[u8]) {
        let text = String::from_utf8_lossy(body);
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let Ok(sample) = crate::expo::split_sample(line) else {
                self.scan_rejected(line);
                continue;
            };
            for label in &sample.labels {
                if HOST_LABELS.contains(&label.name)
                    && let Some(host) = host_of(&label.value())
                {
                    self.add(host);
                }
            }
        }
    }

    /// A line the parser rejects is never shown as labels, but it travels in the packet as it
    /// came: redaction errs on the side of hiding, taking the text after each host label's
    /// `="` up to the next quote for a host.
    fn scan_rejected(&mut self, line: &str) {
        for name in HOST_LABELS {
            let needle = format!("{name}=\"");
            for (at, _) in line.match_indices(&needle) {
                let value = &line[at + needle.len()..];
                let value = value.split('"').next().unwrap_or(value);
                if let Some(host) = host_of(value) {
                    self.add(host);
                }
            }
        }
    }

    /// How many hosts were found.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// `bytes` with every whole occurrence of a host replaced by its pseudonym.
    pub fn bytes(&self, bytes: &[u8]) -> Vec<u8> {
        if self.map.is_empty() {
            return bytes.to_vec();
        }
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if !token_byte(bytes[i]) {
                out.push(bytes[i]);
                i += 1;
                continue;
            }
            let start = i;
            while i < bytes.len() && token_byte(bytes[i]) {
                i += 1;
            }
            let token = std::str::from_utf8(&bytes[start..i]).unwrap_or("");
            out.extend_from_slice(self.token(token).as_bytes());
        }
        out
    }

    /// A token (a run of name characters and colons) with the host in it replaced: the whole
    /// token (a name, an address), or the host of `host:port`. A colon followed by anything but
    /// a port is part of a name (`vllm:num_requests_running` stays, whatever host is `vllm`).
    fn token(&self, token: &str) -> String {
        if let Some(p) = self.map.get(token) {
            return p.clone();
        }
        if let Some((host, port)) = token.rsplit_once(':')
            && !port.is_empty()
            && port.bytes().all(|b| b.is_ascii_digit())
            && let Some(p) = self.map.get(host)
        {
            return format!("{p}:{port}");
        }
        token.to_string()
    }

    pub fn text(&self, text: &str) -> String {
        String::from_utf8_lossy(&self.bytes(text.as_bytes())).into_owned()
    }

    /// The event with every host in it replaced.
    pub fn event(&self, mut e: Event) -> Event {
        match &mut e {
            Event::Scrape { body, origin, .. } => {
                *body = self.bytes(body);
                *origin = self.text(origin);
            }
            Event::Route {
                result: Ok((_, body)),
                ..
            } => *body = self.bytes(body),
            Event::ScrapeFailed { error, .. }
            | Event::Route {
                result: Err(error), ..
            } => *error = self.text(error),
            Event::Evidence {
                stream,
                body,
                origin,
                ..
            } => {
                *origin = self.text(origin);
                let replaced = self.bytes(body);
                if *stream != crate::vocab::Stream::Trace {
                    *body = replaced;
                } else if replaced != *body {
                    // A binary trace cannot be rewritten (its strings carry their lengths):
                    // bytes naming a host are left out, and the trace reads as cut there.
                    body.clear();
                }
            }
            _ => {}
        }
        e
    }

    /// The manifest's line for it.
    pub fn note(&self) -> String {
        format!(
            "hosts (--redact-hosts): {} host names and addresses replaced by stable pseudonyms (host-N, 192.0.2.N, 2001:db8::N) in target URLs, labels ({} …), bodies, route answers and the report; loopback kept",
            self.map.len(),
            HOST_LABELS[..3].join(", ")
        )
    }
}

/// The first place `needle` occurs in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Events with their hosts replaced, as they are handed out.
struct Redacting<'a> {
    inner: &'a dyn EventSource,
    hosts: &'a Hosts,
}

impl EventSource for Redacting<'_> {
    fn each(&self, f: &mut dyn FnMut(Event) -> Result<(), String>) -> Result<(), String> {
        self.inner.each(&mut |e| f(self.hosts.event(e)))
    }
}

impl Recording<'_> {
    /// The packet as a tar and how many events it holds; with `redact_hosts`, every host
    /// replaced first: in target URLs, events, the report and carried logs (hosts named in a
    /// log are found too). A binary trace cannot be rewritten safely (its strings carry their
    /// lengths), so it is left out, and the manifest says so.
    pub fn to_tar_redacting(
        &self,
        redact_hosts: bool,
    ) -> Result<(Vec<u8>, usize), super::WriteError> {
        if !redact_hosts {
            return self.to_tar_counted();
        }
        let mut hosts =
            Hosts::collect(&self.targets, self.events).map_err(super::WriteError::Build)?;
        // Everything carried but the binary trace is text: logs, span exports, the
        // lookup-hash log.
        let text = |a: &Attachment| a.kind != "trace";
        for a in self.attachments.iter().filter(|a| text(a)) {
            hosts.scan(&a.bytes);
        }
        let mut redactions = self.redactions.clone();
        let mut attachments = Vec::new();
        for a in &self.attachments {
            if text(a) {
                attachments.push(Attachment {
                    bytes: hosts.bytes(&a.bytes),
                    ..a.clone()
                });
            } else {
                redactions.push(format!(
                    "{} left out: a binary {} cannot be host-redacted",
                    a.path, a.kind
                ));
            }
        }
        redactions.push(hosts.note());
        Recording {
            targets: self
                .targets
                .iter()
                .map(|t| TargetEntry {
                    url: hosts.text(&t.url),
                    ..t.clone()
                })
                .collect(),
            events: &Redacting {
                inner: self.events,
                hosts: &hosts,
            },
            report_json: hosts.text(&self.report_json),
            created: self.created,
            redactions,
            attachments,
            interval: self.interval,
        }
        .to_tar_counted()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::{Role, TargetRef};

    fn target(url: &str) -> TargetEntry {
        let target = TargetRef {
            role: Role::Engine,
            index: 0,
        };
        TargetEntry {
            key: "engine-0".into(),
            target,
            url: url.into(),
        }
    }

    /// Writes a packet of `events` with hosts redacted and reads it back: targets, events,
    /// report and the manifest's lines.
    fn round_trip(
        targets: Vec<TargetEntry>,
        events: Vec<Event>,
        report: &str,
    ) -> (Vec<TargetEntry>, Vec<Event>, String, Vec<String>) {
        let (tar, _) = Recording {
            targets,
            events: &events,
            report_json: report.into(),
            created: 0.0,
            redactions: vec![],
            attachments: vec![],
            interval: None,
        }
        .to_tar_redacting(true)
        .unwrap();
        let p = crate::packet::from_tar(&tar).unwrap();
        let (events, _) = p.events();
        let report = String::from_utf8(p.report().unwrap().to_vec()).unwrap();
        (p.manifest.targets, events, report, p.manifest.redactions)
    }

    /// Hand-written: a fleet-like scrape whose labels and an L2 URL name hosts; one host is
    /// also the prefix of every metric name (`vllm`, a Kubernetes service name).
    #[test]
    fn hosts_become_pseudonyms_everywhere_and_only_whole() {
        let body = b"vllm:x{instance=\"gpu7.corp:8000\",hostname=\"gpu7\",model=\"gpu7b\"} 1\nl2{url=\"redis://10.1.2.3:6379/0\"} 1\nm{instance=\"[fd00::5]:9\"} 2\n";
        let events = vec![Event::Scrape {
            target: TargetRef {
                role: Role::Engine,
                index: 0,
            },
            time: Some(1.0),
            body: body.to_vec(),
            format: None,
            origin: "http://gpu7.corp:8000/metrics".into(),
        }];
        let mut second = target("http://vllm:8000/metrics");
        second.key = "engine-1".into();
        second.target.index = 1;
        let (targets, events, report, notes) = round_trip(
            vec![target("http://gpu7.corp:8000/metrics"), second],
            events,
            r#"{"name":"http://gpu7.corp:8000/metrics","up":"127.0.0.1"}"#,
        );
        assert_eq!(targets[0].url, "http://host-1:8000/metrics");
        assert_eq!(targets[1].url, "http://host-2:8000/metrics");
        let Event::Scrape { body, origin, .. } = &events[0] else {
            unreachable!()
        };
        assert_eq!(origin, "http://host-1:8000/metrics");
        assert_eq!(
            String::from_utf8_lossy(body),
            "vllm:x{instance=\"host-1:8000\",hostname=\"host-3\",model=\"gpu7b\"} 1\nl2{url=\"redis://192.0.2.1:6379/0\"} 1\nm{instance=\"[2001:db8::1]:9\"} 2\n"
        );
        assert_eq!(
            report,
            r#"{"name":"http://host-1:8000/metrics","up":"127.0.0.1"}"#
        );
        assert!(notes[0].contains("5 host names"), "{notes:?}");
        for secret in ["gpu7.corp", "10.1.2.3", "fd00"] {
            assert!(!String::from_utf8_lossy(body).contains(secret));
        }
    }

    /// Hand-written: label values holding `\"` and `\\` before, between and inside host
    /// labels. Every host label is read as the exposition parser reads it; a value that is not
    /// a host after unescaping (`rack"7`) names none. A line the parser rejects still has the
    /// text after each host label's `="` taken for a host: it travels in the packet as it came.
    #[test]
    fn host_labels_are_read_with_the_parsers_escapes() {
        let body = concat!(
            r#"m{msg="say \"hi\", \\ ok",instance="gpu9.corp:8000",node="rack\"7"} 1"#,
            "\n",
            r#"m{path="C:\\",pod="web-1",msg="x\"y"} 2"#,
            "\n",
            r#"m{msg="unterminated,hostname="lost.corp"} 3"#,
            "\n",
        );
        let mut hosts = Hosts::default();
        hosts.scan_labels(body.as_bytes());
        let mut found: Vec<&str> = hosts.map.keys().map(String::as_str).collect();
        found.sort_unstable();
        assert_eq!(found, ["gpu9.corp", "lost.corp", "web-1"]);
    }

    /// Hand-written: a followed server log naming an L2 host, and a trace naming it too.
    #[test]
    fn followed_logs_are_rewritten_and_a_trace_naming_a_host_is_left_out() {
        let whose = TargetRef {
            role: Role::Engine,
            index: 0,
        };
        let evidence = |stream, body: &[u8]| Event::Evidence {
            target: whose,
            time: Some(1.0),
            stream,
            fresh: true,
            body: body.to_vec(),
            origin: "/var/log/lmcache.log".into(),
        };
        let events = vec![
            evidence(
                crate::vocab::Stream::ServerLog,
                b"[t] LMCache INFO: connecting to redis://10.1.2.3:6379/0 (x.py:1:y)\n",
            ),
            evidence(
                crate::vocab::Stream::Trace,
                b"\x00\x00\x00\x05redis://10.1.2.3:6379",
            ),
        ];
        let (_, events, _, _) =
            round_trip(vec![target("http://10.1.2.3:8080/metrics")], events, "{}");
        let Event::Evidence { body, .. } = &events[0] else {
            unreachable!()
        };
        let log = String::from_utf8_lossy(body);
        assert!(
            !log.contains("10.1.2.3") && log.contains("redis://192.0.2."),
            "{log}"
        );
        let Event::Evidence { body, .. } = &events[1] else {
            unreachable!()
        };
        assert!(body.is_empty());
    }

    #[test]
    fn loopback_is_kept() {
        let body = b"lmcache_mp_x{cache_salt=\"\"} 1\n".to_vec();
        let e = vec![Event::Scrape {
            target: TargetRef {
                role: Role::Engine,
                index: 0,
            },
            time: None,
            body: body.clone(),
            format: None,
            origin: "http://127.0.0.1:8080/metrics".into(),
        }];
        let t = vec![target("http://127.0.0.1:8080/metrics")];
        let (t2, e2, _, n) = round_trip(t.clone(), e.clone(), "{}");
        assert_eq!((t2, e2), (t, e));
        assert!(n[0].contains(" 0 host names"));
    }
}
