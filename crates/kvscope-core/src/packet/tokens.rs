//! Prompt token ids never travel: LMCache 0.5.7's token trace (`--enable-token-trace`) puts
//! each prompt's token ids in a span attribute, `lmcache.input_ids`, which the model's
//! tokenizer turns back into the prompt. kvscope reads nothing from it, so a packet carries
//! span exports with that attribute's array emptied (`[]`), in every shape kvscope reads:
//! OTLP/JSON and protobuf JSON (`{"key": "lmcache.input_ids", "value": {"arrayValue":
//! {"values": [...]}}}`) and the SDK's span JSON (`"lmcache.input_ids": [...]`), on one line
//! or many. The scan is byte by byte and keeps its place between chunks, so an export split
//! anywhere across events is cleaned the same.

/// The attribute's name as JSON writes it.
const KEY: &[u8] = b"\"lmcache.input_ids\"";
/// How far past the name its array may open (the OTLP shapes put `"value": {...: {"values":`
/// between); past this the value is not an array and is left as it is.
const REACH: usize = 64;

/// Where a [`Stripper`] is in the text.
#[derive(Debug, Clone, Copy, PartialEq)]
enum At {
    /// Looking for the name; `n` of its bytes matched so far.
    Name(usize),
    /// After the name, looking for its array's `[` (`n` bytes seen). `keyed`: the name was a
    /// map key (`"lmcache.input_ids": [`), so the array must come next; else it was an OTLP
    /// attribute's `key` (`"key": "lmcache.input_ids", "value": {... "values": [`).
    Value { n: usize, keyed: Option<bool> },
    /// Inside the array, left out until it closes.
    Array {
        depth: u32,
        in_string: bool,
        escaped: bool,
    },
}

/// Empties `lmcache.input_ids` arrays in a byte stream fed in pieces.
#[derive(Debug, Clone)]
pub struct Stripper {
    at: At,
    /// Arrays emptied so far.
    pub emptied: usize,
}

impl Default for Stripper {
    fn default() -> Self {
        Stripper {
            at: At::Name(0),
            emptied: 0,
        }
    }
}

impl Stripper {
    /// The next piece of the stream, cleaned.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(bytes.len());
        for &b in bytes {
            self.at = match self.at {
                At::Name(n) => {
                    out.push(b);
                    if b == KEY[n] {
                        if n + 1 == KEY.len() {
                            At::Value { n: 0, keyed: None }
                        } else {
                            At::Name(n + 1)
                        }
                    } else {
                        At::Name(usize::from(b == KEY[0]))
                    }
                }
                At::Value { n, keyed } => {
                    out.push(b);
                    let keyed = match (keyed, b) {
                        (None, b':') => Some(true),
                        (None, b',') => Some(false),
                        (k, _) => k,
                    };
                    match b {
                        b'[' => At::Array {
                            depth: 1,
                            in_string: false,
                            escaped: false,
                        },
                        b' ' | b'\t' | b'\r' | b'\n' | b':' | b',' if n + 1 < REACH => {
                            At::Value { n: n + 1, keyed }
                        }
                        // A map key's value that is not an array; the end of an attribute.
                        _ if keyed != Some(false) => At::Name(0),
                        b'}' | b']' => At::Name(0),
                        _ if n + 1 >= REACH => At::Name(0),
                        _ => At::Value { n: n + 1, keyed },
                    }
                }
                At::Array {
                    depth,
                    in_string,
                    escaped,
                } => self.inside(b, depth, in_string, escaped, &mut out),
            };
        }
        out
    }

    /// One byte inside the array: left out, and the array's end found.
    fn inside(
        &mut self,
        b: u8,
        depth: u32,
        in_string: bool,
        escaped: bool,
        out: &mut Vec<u8>,
    ) -> At {
        let array = |depth, in_string, escaped| At::Array {
            depth,
            in_string,
            escaped,
        };
        if in_string {
            return array(depth, b != b'"' || escaped, b == b'\\' && !escaped);
        }
        match b {
            b'"' => array(depth, true, false),
            b'[' | b'{' => array(depth + 1, false, false),
            b']' | b'}' if depth > 1 => array(depth - 1, false, false),
            b']' => {
                out.push(b']');
                self.emptied += 1;
                At::Name(0)
            }
            _ => array(depth, false, false),
        }
    }
}

/// The scrub of one packet: a [`Stripper`] per span export among its events (an export's
/// events keep their place; a fresh one starts over), and its carried span exports whole.
#[derive(Debug, Default)]
pub struct Scrub {
    by_export: Vec<((crate::vocab::TargetRef, String), Stripper)>,
    /// Arrays emptied in carried files and in exports started over.
    emptied: usize,
}

impl Scrub {
    /// A span-export event with its token ids emptied; any other event as it is.
    pub fn event(&mut self, event: &mut crate::vocab::Event) {
        let crate::vocab::Event::Evidence {
            stream: crate::vocab::Stream::Otel,
            target,
            fresh,
            body,
            origin,
            ..
        } = event
        else {
            return;
        };
        let at = (*target, origin.clone());
        let i = match self.by_export.iter().position(|(k, _)| *k == at) {
            Some(i) => i,
            None => {
                self.by_export.push((at, Stripper::default()));
                self.by_export.len() - 1
            }
        };
        let s = &mut self.by_export[i].1;
        if *fresh {
            self.emptied += s.emptied;
            *s = Stripper::default();
        }
        *body = s.feed(body);
    }

    /// A carried file of `kind`, cleaned when it is a span export.
    pub fn file(&mut self, kind: &str, bytes: &[u8]) -> Vec<u8> {
        if kind != "otel" {
            return bytes.to_vec();
        }
        let (clean, n) = strip(bytes);
        self.emptied += n;
        clean
    }

    /// The manifest's line, when anything was emptied.
    pub fn note(&self) -> Option<String> {
        let n = self.emptied + self.by_export.iter().map(|(_, s)| s.emptied).sum::<usize>();
        (n > 0).then(|| {
            format!(
                "span exports: the prompt token ids of LMCache's token trace (attribute lmcache.input_ids) emptied in {n} spans"
            )
        })
    }
}

/// `bytes` whole, cleaned, and how many arrays were emptied.
pub fn strip(bytes: &[u8]) -> (Vec<u8>, usize) {
    let mut s = Stripper::default();
    let out = s.feed(bytes);
    (out, s.emptied)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::{Recording, TargetEntry, from_tar};
    use crate::vocab::{Event, Role, Stream, TargetRef};

    /// The real LMCache 0.5.7rc2 console export (fixtures/lmcache-0.5.7rc2-otlp), recorded as
    /// `--otel` evidence in 1,000-byte events: the packet holds it with every `input_ids` array
    /// emptied and nothing else changed, and the manifest says how many.
    #[test]
    fn a_packet_carries_the_real_token_trace_without_its_token_ids() {
        let gz = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/lmcache-0.5.7rc2-otlp/spans.console.json.gz"
        ))
        .unwrap();
        let mut text = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut text).unwrap();
        let target = TargetRef {
            role: Role::Lmcache,
            index: 0,
        };
        let events: Vec<Event> = text
            .chunks(1000)
            .enumerate()
            .map(|(i, c)| Event::Evidence {
                target,
                time: Some(i as f64),
                stream: Stream::Otel,
                fresh: i == 0,
                body: c.to_vec(),
                origin: "spans.console.json".into(),
            })
            .collect();
        let (tar, _) = Recording {
            targets: vec![TargetEntry {
                key: "lmcache-0".into(),
                target,
                url: "http://127.0.0.1:18080/metrics".into(),
            }],
            events: &events,
            report_json: "{}".into(),
            created: 0.0,
            redactions: vec![],
            attachments: vec![],
            interval: None,
        }
        .to_tar_redacting(false)
        .unwrap();
        let p = from_tar(&tar).unwrap();
        let carried: Vec<u8> = p
            .events()
            .0
            .into_iter()
            .flat_map(|e| match e {
                Event::Evidence { body, .. } => body,
                _ => vec![],
            })
            .collect();
        let (want, n) = strip(&text);
        assert_eq!(carried, want);
        let traced = String::from_utf8_lossy(&text)
            .matches("\"mp.request.trace\"")
            .count();
        assert!(
            n > 0 && n == traced,
            "{n} arrays emptied, {traced} token traces"
        );
        assert!(!String::from_utf8_lossy(&carried).contains("9906"));
        assert!(
            p.manifest
                .redactions
                .iter()
                .any(|r| r.contains(&format!("emptied in {n} spans"))),
            "{:?}",
            p.manifest.redactions
        );
        // What kvscope reads of it is unchanged.
        let read = |b: &[u8]| {
            let mut s = crate::evidence::spans::Spans::new("spans.console.json");
            s.push(b);
            s.summary()
        };
        let (a, b) = (read(&carried), read(&text));
        assert_eq!(a, b);
        assert!(a.spans > 200 && a.error.is_none(), "{a:?}");
    }

    /// Hand-made shapes (the real exports are checked in the packet tests): each emptied, the
    /// rest of the text unchanged, whatever the pieces it comes in.
    #[test]
    fn token_ids_are_emptied_in_every_shape_and_any_pieces() {
        let cases: [(&str, &str); 4] = [
            (
                r#"{"key": "lmcache.input_ids", "value": {"array_value": {"values": [{"int_value": "1"}, {"int_value": "9906"}]}}}, {"key": "x", "value": {"int_value": "2"}}"#,
                r#"{"key": "lmcache.input_ids", "value": {"array_value": {"values": []}}}, {"key": "x", "value": {"int_value": "2"}}"#,
            ),
            (
                "\"attributes\": {\n  \"lmcache.input_ids\": [\n    1,\n    9906\n  ],\n  \"session_id\": \"req-[1]\"\n}",
                "\"attributes\": {\n  \"lmcache.input_ids\": [],\n  \"session_id\": \"req-[1]\"\n}",
            ),
            (
                r#"{"lmcache.input_ids": "not an array", "n": [1, 2]}"#,
                r#"{"lmcache.input_ids": "not an array", "n": [1, 2]}"#,
            ),
            (
                r#"{"lmcache.input_ids": [["a]", "b\"]"], {"c": [1]}], "after": 1}"#,
                r#"{"lmcache.input_ids": [], "after": 1}"#,
            ),
        ];
        for (input, want) in cases {
            let (whole, n) = strip(input.as_bytes());
            assert_eq!(String::from_utf8(whole).unwrap(), want);
            assert_eq!(n, usize::from(input != want));
            for cut in 1..input.len() {
                let mut s = Stripper::default();
                let mut out = s.feed(&input.as_bytes()[..cut]);
                out.extend(s.feed(&input.as_bytes()[cut..]));
                assert_eq!(String::from_utf8(out).unwrap(), want, "cut at {cut}");
            }
        }
    }
}
