//! A msgpack value as a tree, for the parts of a `.lct` frame that are shown rather than
//! counted (the header, a record's arguments), and LMCache's tagged values read back.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// A decoded msgpack value. Maps keep their order and any key type.
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    Nil,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(String),
    Bin(Vec<u8>),
    Array(Vec<Msg>),
    Map(Vec<(Msg, Msg)>),
}

/// Items reserved ahead for an array or map, whatever length the input claims.
const RESERVE: usize = 64;

impl Msg {
    /// The value under string key `key` of a map.
    pub fn get(&self, key: &str) -> Option<&Msg> {
        match self {
            Msg::Map(kv) => kv
                .iter()
                .find(|(k, _)| matches!(k, Msg::Str(s) if s == key))
                .map(|(_, v)| v),
            _ => None,
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Msg::Str(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Msg::Int(i) => Some(*i as f64),
            Msg::UInt(u) => Some(*u as f64),
            Msg::Float(f) => Some(*f),
            _ => None,
        }
    }
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Msg::Int(i) => Some(*i),
            Msg::UInt(u) => i64::try_from(*u).ok(),
            _ => None,
        }
    }
    /// LMCache's tagged value (`{"__t__": tag, "v": payload}`): the tag and the payload.
    pub fn tagged(&self) -> Option<(&str, &Msg)> {
        match self {
            Msg::Map(kv) if kv.len() == 2 => Some((self.get("__t__")?.as_str()?, self.get("v")?)),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for Msg {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Msg, D::Error> {
        d.deserialize_any(MsgVisitor)
    }
}

struct MsgVisitor;

impl<'de> Visitor<'de> for MsgVisitor {
    type Value = Msg;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a msgpack value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Msg, E> {
        Ok(Msg::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Msg, E> {
        Ok(Msg::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Msg, E> {
        Ok(i64::try_from(v).map_or(Msg::UInt(v), Msg::Int))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Msg, E> {
        Ok(Msg::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Msg, E> {
        Ok(Msg::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Msg, E> {
        Ok(Msg::Str(v))
    }
    fn visit_bytes<E>(self, v: &[u8]) -> Result<Msg, E> {
        Ok(Msg::Bin(v.to_vec()))
    }
    fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Msg, E> {
        Ok(Msg::Bin(v))
    }
    fn visit_none<E>(self) -> Result<Msg, E> {
        Ok(Msg::Nil)
    }
    fn visit_unit<E>(self) -> Result<Msg, E> {
        Ok(Msg::Nil)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Msg, D::Error> {
        Msg::deserialize(d)
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Msg, D::Error> {
        Msg::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Msg, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(RESERVE));
        while let Some(v) = seq.next_element()? {
            out.push(v);
        }
        Ok(Msg::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Msg, A::Error> {
        let mut out = Vec::with_capacity(map.size_hint().unwrap_or(0).min(RESERVE));
        while let Some(kv) = map.next_entry()? {
            out.push(kv);
        }
        Ok(Msg::Map(out))
    }
    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<Msg, A::Error> {
        // msgpack ext values arrive as an enum-like pair: keep the payload, drop the type.
        let (tag, v): (Msg, A::Variant) = data.variant()?;
        let payload = de::VariantAccess::newtype_variant::<Msg>(v)?;
        Ok(Msg::Array(vec![tag, payload]))
    }
}

/// A value as one line for a person: tagged LMCache types by what they hold (a key by its
/// model, a list of keys by its length), bytes by their length (chunk hashes are never shown),
/// nesting past `depth` as `…`, and at most `width` characters.
pub fn brief(v: &Msg, depth: usize, width: usize) -> String {
    let mut out = String::new();
    write_brief(&mut out, v, depth, width);
    if out.chars().count() > width {
        out = out.chars().take(width.saturating_sub(1)).collect();
        out.push('…');
    }
    out
}

fn write_brief(out: &mut String, v: &Msg, depth: usize, width: usize) {
    use std::fmt::Write;
    if out.len() > width {
        return;
    }
    if let Some((tag, payload)) = v.tagged() {
        write_tagged(out, tag, payload, depth, width);
        return;
    }
    match v {
        Msg::Nil => out.push_str("null"),
        Msg::Bool(b) => {
            let _ = write!(out, "{b}");
        }
        Msg::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Msg::UInt(u) => {
            let _ = write!(out, "{u}");
        }
        Msg::Float(f) => {
            let _ = write!(out, "{f}");
        }
        Msg::Str(s) => {
            let _ = write!(out, "{s:?}");
        }
        Msg::Bin(b) => {
            let _ = write!(out, "<{} bytes>", b.len());
        }
        Msg::Array(items) if keys_only(items) && !items.is_empty() => {
            let _ = write!(out, "{} keys", items.len());
        }
        Msg::Array(_) | Msg::Map(_) if depth == 0 => out.push('…'),
        Msg::Array(items) => {
            out.push('[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                if out.len() > width {
                    out.push('…');
                    break;
                }
                write_brief(out, x, depth - 1, width);
            }
            out.push(']');
        }
        Msg::Map(kv) => {
            out.push('{');
            for (i, (k, x)) in kv.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                if out.len() > width {
                    out.push('…');
                    break;
                }
                match k {
                    Msg::Str(s) => out.push_str(s),
                    other => write_brief(out, other, 0, width),
                }
                out.push_str(": ");
                write_brief(out, x, depth - 1, width);
            }
            out.push('}');
        }
    }
}

/// LMCache's tagged value `tag(payload)`, briefly: an object key by its model, a tuple or set
/// of keys by its length.
fn write_tagged(out: &mut String, tag: &str, payload: &Msg, depth: usize, width: usize) {
    use std::fmt::Write;
    match (tag, payload) {
        ("ObjectKey", p) => {
            let model = p.get("model_name").and_then(Msg::as_str).unwrap_or("?");
            let _ = write!(out, "key({model})");
        }
        ("tuple" | "set" | "torch.Size", Msg::Array(items)) if keys_only(items) => {
            let _ = write!(out, "{} keys", items.len());
        }
        (_, p) => {
            out.push_str(tag);
            out.push('(');
            // The tag is how a type is written, not a level of nesting.
            write_brief(out, p, depth, width);
            out.push(')');
        }
    }
}

fn keys_only(items: &[Msg]) -> bool {
    !items.is_empty()
        && items
            .iter()
            .all(|x| matches!(x.tagged(), Some(("ObjectKey", _))))
}
