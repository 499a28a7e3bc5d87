//! The mutations: byte-level ones for any input, and value-level ones for inputs that are JSON
//! or MessagePack documents. Every choice is drawn from one seeded RNG, so a run is the same
//! sequence of inputs every time it is started with the same seed.

use arbiter_protocol::Encoding;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value};

/// Largest input a mutation may produce; frames above the server's 64 KiB cap are built by
/// the `server_frames` target from a few bytes, so inputs need not be that large themselves.
pub const MAX_INPUT: usize = 128 * 1024;

/// How a target reads its input, which decides the structure-aware mutations it gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Raw bytes: byte-level mutations only.
    Bytes,
    /// `prefix` raw bytes (selectors the target reads), then one JSON document.
    Json {
        /// Bytes before the document, mutated byte-wise.
        prefix: usize,
    },
    /// One MessagePack document.
    MsgPack,
}

/// Values that sit on boundaries: lengths, signs, widths.
const INTERESTING: [u64; 22] = [
    0,
    1,
    2,
    0x7e,
    0x7f,
    0x80,
    0xff,
    0x100,
    0x7fff,
    0x8000,
    0xffff,
    0x1_0000,
    0x10_0000,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    1 << 53,
    (1 << 53) + 1,
    i64::MAX as u64,
    i64::MIN as u64,
    u64::MAX,
    u64::MAX - 1,
];

/// Numbers as text, for JSON: edges of `u64`, `i64`, `f64` and forms parsers disagree on.
const NUMBER_TEXT: [&str; 16] = [
    "0",
    "-0",
    "-1",
    "0.5",
    "1e308",
    "1e999",
    "-1e999",
    "4.9e-324",
    "18446744073709551615",
    "18446744073709551616",
    "9223372036854775807",
    "-9223372036854775808",
    "-9223372036854775809",
    "9007199254740993",
    "1E2",
    "0.0000000000000000000000000001",
];

/// Byte strings that trouble text handling: NUL, BOM, invalid and overlong UTF-8, a lone
/// surrogate escape, direction overrides, a 4-byte character.
const ODD_TEXT: [&[u8]; 12] = [
    b"\0",
    "\u{feff}".as_bytes(),
    b"\xff\xfe",
    b"\xc0\x80",
    b"\x80",
    b"\xed\xa0\x80",
    b"\\ud800",
    b"\\u0000",
    "\u{202e}".as_bytes(),
    "\u{1f600}".as_bytes(),
    "e\u{301}".as_bytes(),
    b"\"",
];

/// Nesting depths around the decoders' limit (128) and far beyond it.
const DEPTHS: [usize; 7] = [2, 64, 127, 128, 129, 1_024, 5_000];

/// A seeded source of mutated inputs.
pub struct Mutator {
    rng: ChaCha8Rng,
}

impl Mutator {
    /// A mutator whose every choice follows from `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// The RNG, for the runner's own choices (which seed to start from).
    pub fn rng(&mut self) -> &mut ChaCha8Rng {
        &mut self.rng
    }

    /// Change `data` by one to eight mutations; `other` is a second corpus entry to splice
    /// from and to borrow values from.
    pub fn mutate(&mut self, data: &mut Vec<u8>, format: Format, other: &[u8]) {
        let rounds = 1 + self
            .rng
            .random_range(0..8u32)
            .min(self.rng.random_range(0..8u32));
        for _ in 0..rounds {
            let structured = match format {
                Format::Bytes => false,
                Format::Json { prefix } => {
                    self.rng.random_bool(0.6) && self.json_round(data, prefix, other)
                }
                Format::MsgPack => self.rng.random_bool(0.5) && self.msgpack_round(data, other),
            };
            if !structured {
                self.byte_round(data, other);
            }
        }
        data.truncate(MAX_INPUT);
    }

    fn pos(&mut self, len: usize) -> usize {
        if len == 0 {
            0
        } else {
            self.rng.random_range(0..len)
        }
    }

    fn byte_round(&mut self, data: &mut Vec<u8>, other: &[u8]) {
        let len = data.len();
        match self.rng.random_range(0..11u32) {
            0 if len > 0 => {
                let at = self.pos(len);
                data[at] ^= 1 << self.rng.random_range(0..8);
            }
            1 if len > 0 => {
                let at = self.pos(len);
                data[at] = self.rng.random();
            }
            2 => {
                let value = INTERESTING[self.rng.random_range(0..INTERESTING.len())];
                let width = [1usize, 2, 4, 8][self.rng.random_range(0..4)];
                let bytes = if self.rng.random_bool(0.5) {
                    value.to_le_bytes()
                } else {
                    value.to_be_bytes()
                };
                let bytes = if bytes[0] == 0 && width < 8 {
                    &bytes[8 - width..]
                } else {
                    &bytes[..width]
                };
                let at = self.pos(len.saturating_sub(width).max(1));
                overwrite(data, at, bytes);
            }
            3 => {
                let n = self.rng.random_range(1..=16);
                let at = self.pos(len + 1);
                let fresh: Vec<u8> = (0..n).map(|_| self.rng.random()).collect();
                data.splice(at..at, fresh);
            }
            4 if len > 0 => {
                let at = self.pos(len);
                let n = self.rng.random_range(1..=(len - at).min(32));
                data.drain(at..at + n);
            }
            5 if len > 0 => {
                let at = self.pos(len);
                let n = self.rng.random_range(1..=(len - at).min(64));
                let chunk = data[at..at + n].to_vec();
                let times = self.rng.random_range(1..=8);
                for _ in 0..times {
                    data.splice(at..at, chunk.iter().copied());
                }
            }
            6 => {
                let at = self.pos(len + 1);
                data.truncate(at);
            }
            7 if !other.is_empty() => {
                let cut = self.pos(len + 1);
                let from = self.pos(other.len());
                data.truncate(cut);
                data.extend_from_slice(&other[from..]);
            }
            8 => {
                let odd = ODD_TEXT[self.rng.random_range(0..ODD_TEXT.len())];
                let at = self.pos(len + 1);
                data.splice(at..at, odd.iter().copied());
            }
            9 => {
                let depth = DEPTHS[self.rng.random_range(0..DEPTHS.len())];
                let (open, close): (&[u8], &[u8]) = match self.rng.random_range(0..4) {
                    0 => (b"[", b"]"),
                    1 => (b"{\"a\":", b"}"),
                    2 => (&[0x91], &[]),
                    _ => (&[0x81, 0xa1, b'a'], &[]),
                };
                let at = self.pos(len + 1);
                let mut nest = open.repeat(depth);
                nest.extend_from_slice(&close.repeat(depth));
                data.splice(at..at, nest);
            }
            _ => {
                let text = NUMBER_TEXT[self.rng.random_range(0..NUMBER_TEXT.len())];
                let at = self.pos(len + 1);
                data.splice(at..at, text.bytes());
            }
        }
    }

    /// A value-level mutation of the JSON document after `prefix`; false when the input does
    /// not parse (the caller then mutates bytes).
    fn json_round(&mut self, data: &mut Vec<u8>, prefix: usize, other: &[u8]) -> bool {
        let Some(doc) = data.get(prefix..) else {
            return false;
        };
        let Ok(mut value) = serde_json::from_slice::<Value>(doc) else {
            return false;
        };
        let donor = other
            .get(prefix..)
            .and_then(|o| serde_json::from_slice::<Value>(o).ok());
        self.value_round(&mut value, donor.as_ref());
        let Ok(text) = serde_json::to_vec(&value) else {
            return false;
        };
        data.truncate(prefix);
        data.extend_from_slice(&text);
        true
    }

    fn msgpack_round(&mut self, data: &mut Vec<u8>, other: &[u8]) -> bool {
        let Ok(mut value) = Encoding::MsgPack.decode_value(data) else {
            return false;
        };
        let donor = Encoding::MsgPack.decode_value(other).ok();
        self.value_round(&mut value, donor.as_ref());
        match rmp_serde::to_vec_named(&value) {
            Ok(bytes) => {
                *data = bytes;
                true
            }
            Err(_) => false,
        }
    }

    /// Replace, delete, duplicate or rename one node of `value`, borrowing from `donor`.
    fn value_round(&mut self, value: &mut Value, donor: Option<&Value>) {
        let replacement = match self.rng.random_range(0..6u32) {
            0 | 1 => match self.borrowed(value, donor) {
                Some(v) => v,
                None => self.interesting_value(),
            },
            3 => {
                // Around the decoders' limit only: this document is built, written and
                // dropped recursively here, on a 2 MiB test thread in debug builds. The
                // byte-level nesting goes deeper.
                let depth = DEPTHS[self.rng.random_range(0..5)];
                let mut v = Value::Null;
                for _ in 0..depth {
                    v = if self.rng.random_bool(0.5) {
                        Value::Array(vec![v])
                    } else {
                        Value::Object(Map::from_iter([("a".to_owned(), v)]))
                    };
                }
                v
            }
            4 => {
                let key = self
                    .borrowed(value, donor)
                    .and_then(|v| v.as_str().map(str::to_owned));
                let mut k = self.pos(count(value));
                let pick = self.rng.random_range(0..3u32);
                let at = self.rng.random::<u32>() as usize;
                if let Some(node) = nth_mut(value, &mut k) {
                    reshape(node, pick, at, key);
                }
                return;
            }
            _ => self.interesting_value(),
        };
        let mut k = self.pos(count(value));
        if let Some(node) = nth_mut(value, &mut k) {
            *node = replacement;
        }
    }

    /// A scalar or key of `value` or `donor`, to swap in elsewhere.
    fn borrowed(&mut self, value: &Value, donor: Option<&Value>) -> Option<Value> {
        let source = match donor {
            Some(d) if self.rng.random_bool(0.5) => d,
            _ => value,
        };
        let mut k = self.pos(count(source));
        nth_scalar(source, &mut k)
    }

    fn interesting_value(&mut self) -> Value {
        let n = INTERESTING[self.rng.random_range(0..INTERESTING.len())];
        match self.rng.random_range(0..12u32) {
            0 => Value::Null,
            1 => Value::Bool(self.rng.random()),
            2 => Value::from(n),
            3 => Value::from(n as i64),
            4 => Value::from(-(n as f64)),
            5 => Value::from(n as f64 + 0.5),
            6 => Value::String(String::new()),
            7 => Value::String("\0\u{feff}\u{202e}\u{1f600}e\u{301}".to_owned()),
            8 => Value::String("x".repeat(self.rng.random_range(1..=70_000))),
            9 => Value::Array(Vec::new()),
            10 => Value::Object(Map::new()),
            _ => Value::from(f64::MAX),
        }
    }
}

fn overwrite(data: &mut Vec<u8>, at: usize, bytes: &[u8]) {
    if data.len() < at + bytes.len() {
        data.resize(at + bytes.len(), 0);
    }
    data[at..at + bytes.len()].copy_from_slice(bytes);
}

/// Delete or duplicate an element of an array, or drop, rename or duplicate a member of an
/// object (renaming to `key` when there is one).
fn reshape(node: &mut Value, pick: u32, at: usize, key: Option<String>) {
    match node {
        Value::Array(items) if !items.is_empty() => {
            let i = at % items.len();
            if pick == 0 {
                items.remove(i);
            } else {
                let copy = items[i].clone();
                items.insert(i, copy);
            }
        }
        Value::Object(map) if !map.is_empty() => {
            let old = map.keys().nth(at % map.len()).cloned().unwrap_or_default();
            let taken = map.remove(&old).unwrap_or(Value::Null);
            match (pick, key) {
                (0, _) => {}
                (1, Some(key)) => {
                    map.insert(key, taken);
                }
                _ => {
                    map.insert(format!("{old}_"), taken.clone());
                    map.insert(old, taken);
                }
            }
        }
        _ => {}
    }
}

/// Nodes in `value`, itself included.
fn count(value: &Value) -> usize {
    1 + match value {
        Value::Array(items) => items.iter().map(count).sum(),
        Value::Object(map) => map.values().map(count).sum(),
        _ => 0,
    }
}

/// The `k`th node of `value` in pre-order.
fn nth_mut<'a>(value: &'a mut Value, k: &mut usize) -> Option<&'a mut Value> {
    if *k == 0 {
        return Some(value);
    }
    *k -= 1;
    match value {
        Value::Array(items) => items.iter_mut().find_map(|v| nth_mut(v, k)),
        Value::Object(map) => map.values_mut().find_map(|v| nth_mut(v, k)),
        _ => None,
    }
}

/// The scalar at pre-order position `k`, or for a container that is an object's member its
/// key: a word of the document's own vocabulary.
fn nth_scalar(value: &Value, k: &mut usize) -> Option<Value> {
    if *k == 0 {
        return match value {
            Value::Array(_) | Value::Object(_) => None,
            scalar => Some(scalar.clone()),
        };
    }
    *k -= 1;
    match value {
        Value::Array(items) => items.iter().find_map(|v| nth_scalar(v, k)),
        Value::Object(map) => map.iter().find_map(|(key, v)| {
            if *k == 0 && (v.is_array() || v.is_object()) {
                return Some(Value::String(key.clone()));
            }
            nth_scalar(v, k)
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_inputs() {
        let run = |seed| {
            let mut m = Mutator::new(seed);
            (0..200)
                .map(|_| {
                    let mut d = br#"{"t":"act","room":"r_1","seq":3,"action":{"cell":4}}"#.to_vec();
                    m.mutate(&mut d, Format::Json { prefix: 0 }, b"[1,2]");
                    d
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }
}
