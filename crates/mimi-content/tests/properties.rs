//! Property tests: round trips of arbitrary valid messages, totality on arbitrary bytes,
//! mutated vectors, and the float rules against an independent half-precision library.

mod common;

use mimi_content::{
    Disposition, Expiration, ExtensionKey, ExtensionValue, Extensions, ExternalPart, MessageId,
    MimiContent, MultiPart, NestedPart, PartBody, PartSemantics, SinglePart, ValidationContext,
    check_structure, decode, message_id_07, message_id_08, render_text,
};
use proptest::prelude::*;

// ----- generic CBOR values for extensions -----

#[derive(Debug, Clone)]
enum Tree {
    Uint(u64),
    Nint(u64),
    Bytes(Vec<u8>),
    Text(String),
    Bool(bool),
    Null,
    Half(u16),
    Double(f64),
    Simple(u8),
    Array(Vec<Tree>),
    Map(Vec<(Tree, Tree)>),
    Tag(u64, Box<Tree>),
}

fn head(out: &mut Vec<u8>, major: u8, arg: u64) {
    let m = major << 5;
    if arg < 24 {
        out.push(m | arg as u8);
    } else if arg <= 0xff {
        out.extend([m | 24, arg as u8]);
    } else if arg <= 0xffff {
        out.push(m | 25);
        out.extend((arg as u16).to_be_bytes());
    } else if arg <= 0xffff_ffff {
        out.push(m | 26);
        out.extend((arg as u32).to_be_bytes());
    } else {
        out.push(m | 27);
        out.extend(arg.to_be_bytes());
    }
}

/// Deterministic encoding, written independently of the library.
fn enc(t: &Tree, out: &mut Vec<u8>) {
    match t {
        Tree::Uint(v) => head(out, 0, *v),
        Tree::Nint(v) => head(out, 1, *v),
        Tree::Bytes(b) => {
            head(out, 2, b.len() as u64);
            out.extend(b);
        }
        Tree::Text(s) => {
            head(out, 3, s.len() as u64);
            out.extend(s.as_bytes());
        }
        Tree::Bool(b) => out.push(if *b { 0xf5 } else { 0xf4 }),
        Tree::Null => out.push(0xf6),
        Tree::Half(bits) => {
            out.push(0xf9);
            out.extend(bits.to_be_bytes());
        }
        Tree::Double(x) => {
            // Shortest form that preserves the value (half precision via the `half` crate).
            let h = half::f16::from_f64(*x);
            if h.to_f64() == *x {
                out.push(0xf9);
                out.extend(h.to_bits().to_be_bytes());
            } else if f64::from(*x as f32) == *x {
                out.push(0xfa);
                out.extend((*x as f32).to_bits().to_be_bytes());
            } else {
                out.push(0xfb);
                out.extend(x.to_bits().to_be_bytes());
            }
        }
        Tree::Simple(v) => out.extend([0xf8, *v]),
        Tree::Array(items) => {
            head(out, 4, items.len() as u64);
            for i in items {
                enc(i, out);
            }
        }
        Tree::Map(pairs) => {
            let mut entries: Vec<(Vec<u8>, Vec<u8>)> = pairs
                .iter()
                .map(|(k, v)| {
                    let (mut kb, mut vb) = (Vec::new(), Vec::new());
                    enc(k, &mut kb);
                    enc(v, &mut vb);
                    (kb, vb)
                })
                .collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            entries.dedup_by(|a, b| a.0 == b.0);
            head(out, 5, entries.len() as u64);
            for (k, v) in entries {
                out.extend(k);
                out.extend(v);
            }
        }
        Tree::Tag(n, inner) => {
            head(out, 6, *n);
            enc(inner, out);
        }
    }
}

fn safe_int() -> impl Strategy<Value = u64> {
    prop_oneof![0u64..30, 0u64..70_000, 0u64..(1 << 53) - 1]
}

fn map_key() -> impl Strategy<Value = Tree> {
    prop_oneof![
        safe_int().prop_map(Tree::Uint),
        safe_int().prop_map(|v| Tree::Nint(v.saturating_sub(1))),
        "[a-z]{0,8}".prop_map(Tree::Text),
        proptest::collection::vec(any::<u8>(), 0..6).prop_map(Tree::Bytes),
    ]
}

fn leaf() -> impl Strategy<Value = Tree> {
    prop_oneof![
        any::<u64>().prop_map(Tree::Uint),
        any::<u64>().prop_map(Tree::Nint),
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(Tree::Bytes),
        "\\PC{0,20}".prop_map(Tree::Text),
        any::<bool>().prop_map(Tree::Bool),
        Just(Tree::Null),
        any::<u16>()
            .prop_map(|b| if (b & 0x7c00) == 0x7c00 && (b & 0x3ff) != 0 {
                0x7e00
            } else {
                b
            })
            .prop_map(Tree::Half),
        any::<f64>()
            .prop_filter("no NaN", |x| !x.is_nan())
            .prop_map(Tree::Double),
        (32u8..=255).prop_map(Tree::Simple),
    ]
}

/// A value whose containers nest at most 3 deep (levels 2..4 under the extensions map).
fn ext_value() -> impl Strategy<Value = Vec<u8>> {
    leaf()
        .prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Tree::Array),
                proptest::collection::vec((map_key(), inner.clone()), 0..4).prop_map(Tree::Map),
                (
                    (4u64..2000).prop_filter("not a bignum", |n| *n != 2 && *n != 3),
                    inner
                )
                    .prop_map(|(n, t)| Tree::Tag(n, Box::new(t))),
            ]
        })
        .prop_map(|t| {
            let mut out = Vec::new();
            enc(&t, &mut out);
            out
        })
}

fn ext_key() -> impl Strategy<Value = ExtensionKey> {
    prop_oneof![
        safe_int()
            .prop_filter("not 1 or 2", |k| *k != 1 && *k != 2)
            .prop_map(|k| ExtensionKey::Int(k as i64)),
        safe_int().prop_map(|k| ExtensionKey::Int(-(k as i64) - 1).clamp_neg()),
        "[a-zA-Z0-9._-]{1,16}".prop_map(ExtensionKey::Text),
        "[a-z]{255}".prop_map(ExtensionKey::Text),
    ]
}

trait ClampNeg {
    fn clamp_neg(self) -> Self;
}
impl ClampNeg for ExtensionKey {
    fn clamp_neg(self) -> Self {
        match self {
            ExtensionKey::Int(v) if v < -((1 << 53) - 1) => ExtensionKey::Int(-((1 << 53) - 1)),
            other => other,
        }
    }
}

fn extensions() -> impl Strategy<Value = Extensions> {
    (
        proptest::option::of("mimi://[a-z.]{1,12}/u/[a-z]{1,10}"),
        proptest::option::of("mimi://[a-z.]{1,12}/r/[a-z]{1,10}"),
        proptest::collection::vec((ext_key(), ext_value()), 0..5),
    )
        .prop_map(|(s, r, others)| {
            let mut x = Extensions::default();
            x.sender_uri = s;
            x.room_uri = r;
            for (k, v) in others {
                let v = ExtensionValue::from_cbor(&v).expect("generated value is valid");
                x.insert(k, v).expect("generated key is valid");
            }
            x
        })
}

fn disposition() -> impl Strategy<Value = Disposition> {
    any::<u8>().prop_map(Disposition::from_value)
}

fn external_part() -> impl Strategy<Value = ExternalPart> {
    (
        (
            "\\PC{0,12}",
            "https://[a-z]{1,10}/[a-z]{0,10}",
            any::<u32>(),
            any::<u64>(),
            any::<u16>(),
        ),
        (
            proptest::collection::vec(any::<u8>(), 0..17),
            proptest::collection::vec(any::<u8>(), 0..13),
            proptest::collection::vec(any::<u8>(), 0..4),
            any::<u8>(),
            proptest::collection::vec(any::<u8>(), 0..33),
            "\\PC{0,12}",
            "\\PC{0,12}",
        ),
    )
        .prop_map(
            |(
                (content_type, url, expires, size, enc_alg),
                (key, nonce, aad, hash_alg, content_hash, description, filename),
            )| {
                ExternalPart {
                    content_type,
                    url,
                    expires,
                    size,
                    enc_alg,
                    key,
                    nonce,
                    aad,
                    hash_alg,
                    content_hash,
                    description,
                    filename,
                }
            },
        )
}

fn leaf_part() -> impl Strategy<Value = NestedPart> {
    let body = prop_oneof![
        Just(PartBody::NullPart),
        (
            "[a-z]{1,8}/[a-z.+-]{1,12}(;[a-z]+=[A-Za-z0-9-]+)?",
            proptest::collection::vec(any::<u8>(), 0..64)
        )
            .prop_map(|(content_type, content)| PartBody::SinglePart(SinglePart {
                content_type,
                content
            })),
        external_part().prop_map(|x| PartBody::ExternalPart(Box::new(x))),
    ];
    (disposition(), "([a-z]{2}(-[A-Z]{2})?)?", body).prop_map(|(disposition, language, body)| {
        NestedPart {
            disposition,
            language,
            body,
        }
    })
}

/// A part tree at most 4 levels deep, MultiParts with 2..4 parts.
fn nested_part() -> impl Strategy<Value = NestedPart> {
    leaf_part().prop_recursive(3, 40, 4, |inner| {
        (
            disposition(),
            prop_oneof![
                Just(PartSemantics::ChooseOne),
                Just(PartSemantics::SingleUnit),
                Just(PartSemantics::ProcessAll)
            ],
            proptest::collection::vec(inner, 2..4),
        )
            .prop_map(|(disposition, semantics, parts)| NestedPart {
                disposition,
                language: String::new(),
                body: PartBody::MultiPart(MultiPart { semantics, parts }),
            })
    })
}

fn message_id() -> impl Strategy<Value = MessageId> {
    any::<[u8; 32]>().prop_map(MessageId)
}

fn mimi_content() -> impl Strategy<Value = MimiContent> {
    (
        any::<[u8; 16]>(),
        proptest::option::of(message_id()),
        proptest::collection::vec(any::<u8>(), 0..40),
        proptest::option::of(
            (any::<bool>(), any::<u32>())
                .prop_map(|(relative, time)| Expiration { relative, time }),
        ),
        proptest::option::of(message_id()),
        extensions(),
        nested_part(),
    )
        .prop_map(
            |(salt, replaces, topic_id, expires, in_reply_to, extensions, nested_part)| {
                MimiContent {
                    salt,
                    replaces,
                    topic_id,
                    expires,
                    in_reply_to,
                    extensions,
                    nested_part,
                }
            },
        )
}

/// Everything a receiver does with accepted bytes; must never panic.
fn exercise(bytes: &[u8]) {
    if let Ok(msg) = decode(bytes) {
        assert_eq!(
            msg.to_cbor(),
            bytes,
            "accepted bytes must re-encode identically"
        );
        let _ = msg.message_id_08(bytes);
        let _ = msg.message_id_07(bytes);
        let _ = message_id_08(bytes, "s", "r").expect("accepted bytes start with array(7) + salt");
        let _ = message_id_07(bytes, "s", "r");
        let _ = render_text(&msg);
        let _ = msg.validate(&ValidationContext::new(1_700_000_000_000));
        check_structure(&msg).expect("decoded messages satisfy the structural limits");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn valid_messages_round_trip(msg in mimi_content()) {
        check_structure(&msg).expect("generator makes valid messages");
        let bytes = msg.to_cbor();
        let back = decode(&bytes).map_err(|e| TestCaseError::fail(format!("{e}\n{}", hex::encode(&bytes))))?;
        prop_assert_eq!(&back, &msg);
        prop_assert_eq!(back.to_cbor(), bytes.clone());
        // What we accept, minicbor (an independent decoder) accepts as one data item.
        let mut d = minicbor::Decoder::new(&bytes);
        prop_assert!(d.skip().is_ok());
        prop_assert_eq!(d.position(), bytes.len());
        let _ = render_text(&back);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        exercise(&bytes);
    }

    #[test]
    fn arbitrary_bytes_after_valid_prefix(tail in proptest::collection::vec(any::<u8>(), 0..200), cut in 0usize..300) {
        // Start like a message so the decoder gets deeper than the first byte.
        let base = common::vector("content-08", "multipart-3").bytes;
        let cut = cut.min(base.len());
        let mut bytes = base[..cut].to_vec();
        bytes.extend(tail);
        exercise(&bytes);
    }

    #[test]
    fn mutated_vectors_fail_or_reencode_exactly(
        which in 0usize..28,
        edits in proptest::collection::vec((0usize..1000, any::<u8>(), 0u8..4), 1..4),
    ) {
        let version = if which < 14 { "content-08" } else { "content-07" };
        let mut bytes = common::vectors(version).swap_remove(which % 14).bytes;
        for (pos, byte, op) in edits {
            let pos = pos % (bytes.len() + 1);
            match op {
                0 if pos < bytes.len() => bytes[pos] = byte,
                1 => bytes.insert(pos, byte),
                2 if pos < bytes.len() => { bytes.remove(pos); }
                _ if pos < bytes.len() => bytes[pos] ^= 1 << (byte % 8),
                _ => {}
            }
        }
        exercise(&bytes);
    }

    #[test]
    fn single_floats_accepted_iff_not_representable_as_half(bits in any::<u32>()) {
        let x = f32::from_bits(bits);
        let mut b = vec![0xfa];
        b.extend(bits.to_be_bytes());
        let value_ok = ExtensionValue::from_cbor(&b).is_ok();
        let fits_half = half::f16::from_f32(x).to_f32() == x;
        prop_assert_eq!(value_ok, !x.is_nan() && !fits_half);
    }

    #[test]
    fn doubles_accepted_iff_not_representable_as_single(bits in any::<u64>()) {
        let x = f64::from_bits(bits);
        let mut b = vec![0xfb];
        b.extend(bits.to_be_bytes());
        let value_ok = ExtensionValue::from_cbor(&b).is_ok();
        prop_assert_eq!(value_ok, !x.is_nan() && f64::from(x as f32) != x);
    }

    #[test]
    fn extension_key_order_is_bytewise(a in ext_key(), b in ext_key()) {
        let encode = |k: &ExtensionKey| {
            let mut out = Vec::new();
            match k {
                ExtensionKey::Int(v) if *v >= 0 => head(&mut out, 0, *v as u64),
                ExtensionKey::Int(v) => head(&mut out, 1, (-1 - *v) as u64),
                ExtensionKey::Text(s) => { head(&mut out, 3, s.len() as u64); out.extend(s.as_bytes()); }
            }
            out
        };
        prop_assert_eq!(a.cmp(&b), encode(&a).cmp(&encode(&b)));
    }
}

/// Every half-precision bit pattern, widened to single and double precision, is rejected as
/// non-shortest; as a half it is accepted unless it is a NaN other than 0x7e00.
#[test]
fn all_halves() {
    for bits in 0..=u16::MAX {
        let h = half::f16::from_bits(bits);
        let half_enc = [0xf9, (bits >> 8) as u8, bits as u8];
        assert_eq!(
            ExtensionValue::from_cbor(&half_enc).is_ok(),
            !h.is_nan() || bits == 0x7e00,
            "{bits:04x}"
        );
        if h.is_nan() {
            continue;
        }
        let mut single = vec![0xfa];
        single.extend(h.to_f32().to_bits().to_be_bytes());
        assert!(ExtensionValue::from_cbor(&single).is_err(), "{bits:04x}");
        let mut double = vec![0xfb];
        double.extend(h.to_f64().to_bits().to_be_bytes());
        assert!(ExtensionValue::from_cbor(&double).is_err(), "{bits:04x}");
    }
}
