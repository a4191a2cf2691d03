//! What the writer emits the reader accepts and gives back, and what the reader accepts is the
//! one encoding of what it read.

use mimi_cbor::{Error, Reader, Writer, major};
use proptest::prelude::*;

/// A generic data item (floats and simple values kept as their initial byte and argument).
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Uint(u64),
    Nint(u64),
    Bytes(Vec<u8>),
    Text(String),
    Array(Vec<Value>),
    Map(Vec<(Value, Value)>),
    Tag(u64, Box<Value>),
    Simple { initial: u8, arg: u64 },
}

fn write(v: &Value, w: &mut Writer) {
    match v {
        Value::Uint(n) => {
            w.uint(*n);
        }
        Value::Nint(n) => {
            w.nint_arg(*n);
        }
        Value::Bytes(b) => {
            w.bytes(b);
        }
        Value::Text(s) => {
            w.text(s);
        }
        Value::Array(items) => {
            w.array(items.len());
            items.iter().for_each(|i| write(i, w));
        }
        Value::Map(pairs) => {
            w.map(pairs.len());
            for (k, v) in pairs {
                write(k, w);
                write(v, w);
            }
        }
        Value::Tag(n, item) => write(item, w.head(major::TAG, *n)),
        Value::Simple { initial, arg } if *initial >= 0xf9 => {
            let width = 2 << (initial - 0xf9);
            w.raw(&[*initial]).raw(&arg.to_be_bytes()[8 - width..]);
        }
        Value::Simple { arg, .. } => {
            w.head(major::SIMPLE, *arg);
        }
    }
}

fn encode(v: &Value) -> Vec<u8> {
    let mut w = Writer::new();
    write(v, &mut w);
    w.into_bytes()
}

/// `v` with every map sorted by encoded key and duplicate keys dropped.
fn canonical(v: Value) -> Value {
    match v {
        Value::Array(items) => Value::Array(items.into_iter().map(canonical).collect()),
        Value::Map(pairs) => {
            let mut pairs: Vec<_> = pairs
                .into_iter()
                .map(|(k, v)| (canonical(k), canonical(v)))
                .collect();
            pairs.sort_by_key(|(k, _)| encode(k));
            pairs.dedup_by_key(|(k, _)| encode(k));
            Value::Map(pairs)
        }
        Value::Tag(n, item) => Value::Tag(n, Box::new(canonical(*item))),
        other => other,
    }
}

fn read(r: &mut Reader<'_>, depth: usize) -> Result<Value, Error> {
    let h = r.head()?;
    let nested = |r: &mut Reader<'_>| {
        if depth == 0 {
            Err(Error::Truncated { offset: h.offset })
        } else {
            read(r, depth - 1)
        }
    };
    Ok(match h.major {
        major::UINT => Value::Uint(h.arg),
        major::NINT => Value::Nint(h.arg),
        major::BYTES => Value::Bytes(r.body(&h)?.to_vec()),
        major::TEXT => Value::Text(r.text_body(&h)?.to_owned()),
        major::ARRAY => {
            r.check_room(h.arg, 1, h.offset)?;
            Value::Array((0..h.arg).map(|_| nested(r)).collect::<Result<_, _>>()?)
        }
        major::MAP => {
            r.check_room(h.arg, 2, h.offset)?;
            let mut prev = None;
            let mut pairs = Vec::new();
            for _ in 0..h.arg {
                let start = r.position();
                let k = nested(r)?;
                r.key_order(start, &mut prev)?;
                pairs.push((k, nested(r)?));
            }
            Value::Map(pairs)
        }
        major::TAG => Value::Tag(h.arg, Box::new(nested(r)?)),
        _ => Value::Simple {
            initial: h.initial,
            arg: h.arg,
        },
    })
}

fn decode(b: &[u8]) -> Result<Value, Error> {
    let mut r = Reader::new(b);
    let v = read(&mut r, 16)?;
    r.finish()?;
    Ok(v)
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        any::<u64>().prop_map(Value::Uint),
        any::<u64>().prop_map(Value::Nint),
        prop::collection::vec(any::<u8>(), 0..40).prop_map(Value::Bytes),
        ".{0,30}".prop_map(Value::Text),
        (0u64..24).prop_map(|arg| Value::Simple {
            initial: 0xe0 | arg as u8,
            arg
        }),
        (32u64..256).prop_map(|arg| Value::Simple { initial: 0xf8, arg }),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((inner.clone(), inner.clone()), 0..6).prop_map(Value::Map),
            (any::<u64>(), inner).prop_map(|(n, v)| Value::Tag(n, Box::new(v))),
        ]
    })
}

proptest! {
    #[test]
    fn written_values_read_back(v in value()) {
        let v = canonical(v);
        let b = encode(&v);
        prop_assert_eq!(decode(&b), Ok(v));
    }

    #[test]
    fn accepted_input_is_the_one_encoding(b in prop::collection::vec(any::<u8>(), 0..64)) {
        if let Ok(v) = decode(&b) {
            prop_assert_eq!(encode(&v), b);
        }
    }

    #[test]
    fn every_longer_argument_is_rejected(major in 0u8..=6, n in any::<u64>(), shift in 0u32..64) {
        let n = n >> shift;
        let shortest = encode(&Value::Uint(n)).len() - 1;
        for width in [1usize, 2, 4, 8].into_iter().filter(|&w| w > shortest) {
            let info = 24 + width.trailing_zeros() as u8;
            let mut b = vec![major << 5 | info];
            b.extend_from_slice(&n.to_be_bytes()[8 - width..]);
            prop_assert_eq!(Reader::new(&b).head(), Err(Error::NonShortest { offset: 0 }));
        }
    }
}

#[test]
fn heads_at_every_width_boundary_round_trip() {
    let boundaries = [0u64, 23, 0xff, 0xffff, 0xffff_ffff, u64::MAX - 1];
    for n in boundaries.into_iter().flat_map(|b| [b, b + 1]) {
        let b = encode(&Value::Uint(n));
        let mut r = Reader::new(&b);
        assert_eq!(r.uint("n", u64::MAX), Ok(n));
        assert_eq!(r.finish(), Ok(()));
    }
}
