//! Hand-made invalid messages: each is rejected with the specific reason.

mod common;

use mimi_content::{Error, ExtensionValue, Limits, decode, decode_with_limits};

// ----- a tiny raw CBOR writer (test-only; emits exactly what it is told) -----

fn head(major: u8, arg: u64) -> Vec<u8> {
    let m = major << 5;
    match arg {
        0..=23 => vec![m | arg as u8],
        24..=0xff => vec![m | 24, arg as u8],
        0x100..=0xffff => {
            let mut v = vec![m | 25];
            v.extend_from_slice(&(arg as u16).to_be_bytes());
            v
        }
        0x1_0000..=0xffff_ffff => {
            let mut v = vec![m | 26];
            v.extend_from_slice(&(arg as u32).to_be_bytes());
            v
        }
        _ => {
            let mut v = vec![m | 27];
            v.extend_from_slice(&arg.to_be_bytes());
            v
        }
    }
}
fn uint(v: u64) -> Vec<u8> {
    head(0, v)
}
fn bstr(b: &[u8]) -> Vec<u8> {
    [head(2, b.len() as u64), b.to_vec()].concat()
}
fn tstr(s: &str) -> Vec<u8> {
    [head(3, s.len() as u64), s.as_bytes().to_vec()].concat()
}
fn arr(items: &[Vec<u8>]) -> Vec<u8> {
    [head(4, items.len() as u64), items.concat()].concat()
}
fn map(pairs: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let mut out = head(5, pairs.len() as u64);
    for (k, v) in pairs {
        out.extend_from_slice(k);
        out.extend_from_slice(v);
    }
    out
}
const NULL: u8 = 0xf6;

/// The 7 fields of a message as raw encodings, valid by default.
#[derive(Clone)]
struct Msg {
    fields: Vec<Vec<u8>>,
}

const SENDER: &str = "mimi://a.example/u/alice";
const ROOM: &str = "mimi://a.example/r/room";

fn exts() -> Vec<u8> {
    map(&[(uint(1), tstr(SENDER)), (uint(2), tstr(ROOM))])
}
fn text_part(text: &str) -> Vec<u8> {
    arr(&[
        uint(1),
        tstr(""),
        uint(1),
        tstr("text/plain;charset=utf-8"),
        bstr(text.as_bytes()),
    ])
}
fn null_part() -> Vec<u8> {
    arr(&[uint(1), tstr(""), uint(0)])
}

impl Msg {
    fn new() -> Self {
        Msg {
            fields: vec![
                bstr(&[0x11; 16]),
                vec![NULL],
                bstr(b""),
                vec![NULL],
                vec![NULL],
                exts(),
                text_part("hi"),
            ],
        }
    }
    fn set(mut self, i: usize, v: Vec<u8>) -> Self {
        self.fields[i] = v;
        self
    }
    fn bytes(&self) -> Vec<u8> {
        arr(&self.fields)
    }
    /// Offset of field `i` in `bytes()`.
    fn offset(&self, i: usize) -> usize {
        1 + self.fields[..i].iter().map(Vec::len).sum::<usize>()
    }
}

fn err(bytes: &[u8]) -> Error {
    match decode(bytes) {
        Ok(m) => panic!("accepted invalid message: {m:?}"),
        Err(e) => e,
    }
}

#[test]
fn baseline_is_valid() {
    let b = Msg::new().bytes();
    let m = decode(&b).expect("valid");
    assert_eq!(m.to_cbor(), b);
}

// ----- well-formedness and deterministic encoding -----

#[test]
fn indefinite_length_array() {
    let mut b = Msg::new().bytes();
    b[0] = 0x9f;
    b.push(0xff);
    assert_eq!(err(&b), Error::IndefiniteLength { offset: 0 });
}

#[test]
fn indefinite_length_map() {
    let m = Msg::new();
    let mut x = vec![0xbf];
    x.extend_from_slice(&exts()[1..]);
    x.push(0xff);
    let m = m.set(5, x);
    assert_eq!(
        err(&m.bytes()),
        Error::IndefiniteLength {
            offset: m.offset(5)
        }
    );
}

#[test]
fn indefinite_length_strings() {
    // Language as an indefinite text string made of one chunk.
    let part = [
        vec![0x85, 0x01, 0x7f],
        tstr("en"),
        vec![0xff, 0x01],
        tstr("text/plain"),
        bstr(b"x"),
    ]
    .concat();
    let m = Msg::new().set(6, part);
    assert_eq!(
        err(&m.bytes()),
        Error::IndefiniteLength {
            offset: m.offset(6) + 2
        }
    );
    // Topic as an indefinite byte string.
    let m = Msg::new().set(2, [vec![0x5f], bstr(b"t"), vec![0xff]].concat());
    assert_eq!(
        err(&m.bytes()),
        Error::IndefiniteLength {
            offset: m.offset(2)
        }
    );
}

#[test]
fn unsorted_map_keys() {
    let m = Msg::new().set(5, map(&[(uint(2), tstr(ROOM)), (uint(1), tstr(SENDER))]));
    let key1_offset = m.offset(5) + 1 + 1 + tstr(ROOM).len();
    let e = err(&m.bytes());
    assert_eq!(
        e,
        Error::UnsortedMapKeys {
            offset: key1_offset
        }
    );
    assert_eq!(
        e.to_string(),
        format!("map keys not in deterministic order at offset {key1_offset}")
    );
}

#[test]
fn length_first_canonical_order_is_rejected() {
    // RFC 7049 "canonical" (length-first) order puts 24 (0x1818) before -1 (0x20): same here;
    // but "b" (0x6162) vs 256 (0x190100): bytewise 0x19 < 0x61, so 256 must come first.
    let m = Msg::new().set(5, map(&[(tstr("b"), uint(0)), (uint(256), uint(0))]));
    assert!(matches!(err(&m.bytes()), Error::UnsortedMapKeys { .. }));
    let ok = Msg::new().set(5, map(&[(uint(256), uint(0)), (tstr("b"), uint(0))]));
    decode(&ok.bytes()).expect("bytewise order accepted");
}

#[test]
fn duplicate_keys() {
    let m = Msg::new().set(5, map(&[(uint(1), tstr(SENDER)), (uint(1), tstr(SENDER))]));
    assert!(matches!(err(&m.bytes()), Error::DuplicateMapKey { .. }));
    let m = Msg::new().set(5, map(&[(tstr("k"), uint(0)), (tstr("k"), uint(1))]));
    assert!(matches!(err(&m.bytes()), Error::DuplicateMapKey { .. }));
    // Inside an extension value too.
    let inner = map(&[(uint(5), uint(0)), (uint(5), uint(0))]);
    let m = Msg::new().set(5, map(&[(uint(300), inner)]));
    assert!(matches!(err(&m.bytes()), Error::DuplicateMapKey { .. }));
}

#[test]
fn invalid_utf8() {
    let mut lang = vec![0x62, 0xc3, 0x28]; // "\xc3(" is not UTF-8
    let part = [
        vec![0x85, 0x01],
        std::mem::take(&mut lang),
        uint(1),
        tstr("text/plain"),
        bstr(b"x"),
    ]
    .concat();
    let m = Msg::new().set(6, part);
    assert_eq!(
        err(&m.bytes()),
        Error::InvalidUtf8 {
            offset: m.offset(6) + 2
        }
    );
    // In an extension value, nested.
    let m = Msg::new().set(5, map(&[(uint(7), arr(&[vec![0x61, 0xff]]))]));
    assert!(matches!(err(&m.bytes()), Error::InvalidUtf8 { .. }));
    // In senderUri.
    let m = Msg::new().set(5, map(&[(uint(1), vec![0x61, 0x80])]));
    assert!(matches!(err(&m.bytes()), Error::InvalidUtf8 { .. }));
}

#[test]
fn wrong_arity() {
    let mut six = Msg::new();
    six.fields.pop();
    assert_eq!(
        err(&six.bytes()),
        Error::WrongArity {
            what: "mimiContent",
            expected: "7",
            found: 6,
            offset: 0
        }
    );
    let mut eight = Msg::new();
    eight.fields.push(vec![NULL]);
    let e = err(&eight.bytes());
    assert!(matches!(e, Error::WrongArity { found: 8, .. }), "{e}");
    assert_eq!(
        e.to_string(),
        "mimiContent must be an array of 7 elements, found 8 at offset 0"
    );

    // A SinglePart with 4 elements, a NullPart with 5.
    let m = Msg::new().set(6, arr(&[uint(1), tstr(""), uint(1), tstr("text/plain")]));
    assert!(matches!(
        err(&m.bytes()),
        Error::WrongArity {
            what: "SinglePart",
            found: 4,
            ..
        }
    ));
    let m = Msg::new().set(6, arr(&[uint(1), tstr(""), uint(0), uint(0), uint(0)]));
    assert!(matches!(
        err(&m.bytes()),
        Error::WrongArity {
            what: "NullPart",
            found: 5,
            ..
        }
    ));
    let m = Msg::new().set(6, arr(&[uint(1), tstr("")]));
    assert!(matches!(
        err(&m.bytes()),
        Error::WrongArity {
            what: "NestedPart",
            found: 2,
            ..
        }
    ));
    // Expiration with 3 elements.
    let m = Msg::new().set(3, arr(&[vec![0xf4], uint(1), uint(1)]));
    assert!(matches!(
        err(&m.bytes()),
        Error::WrongArity {
            what: "Expiration",
            found: 3,
            ..
        }
    ));
}

#[test]
fn non_shortest_integers_and_lengths() {
    // Disposition 1 as 0x18 0x01.
    let part = [
        vec![0x85, 0x18, 0x01],
        tstr(""),
        uint(1),
        tstr("t"),
        bstr(b""),
    ]
    .concat();
    let m = Msg::new().set(6, part);
    assert_eq!(
        err(&m.bytes()),
        Error::NonShortestArgument {
            offset: m.offset(6) + 1
        }
    );
    // Salt length 16 as 0x58 0x10.
    let m = Msg::new().set(0, [vec![0x58, 0x10], vec![0x11; 16]].concat());
    assert_eq!(err(&m.bytes()), Error::NonShortestArgument { offset: 1 });
    // 2-, 4- and 8-byte arguments that fit in fewer bytes.
    for enc in [
        vec![0x19, 0x00, 0xff],
        vec![0x1a, 0x00, 0x00, 0xff, 0xff],
        vec![0x1b, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff],
    ] {
        let m = Msg::new().set(3, [vec![0x82, 0xf4], enc].concat());
        assert_eq!(
            err(&m.bytes()),
            Error::NonShortestArgument {
                offset: m.offset(3) + 2
            }
        );
    }
    // Array length 7 as 0x98 0x07.
    let mut b = Msg::new().bytes();
    b.splice(0..1, [0x98, 0x07]);
    assert_eq!(err(&b), Error::NonShortestArgument { offset: 0 });
    // Tag number inside an extension.
    let m = Msg::new().set(5, map(&[(uint(9), vec![0xd8, 0x01, 0x00])]));
    assert!(matches!(err(&m.bytes()), Error::NonShortestArgument { .. }));
}

#[test]
fn trailing_garbage() {
    let mut b = Msg::new().bytes();
    let n = b.len();
    b.extend_from_slice(&[0x00, 0x01]);
    assert_eq!(
        err(&b),
        Error::TrailingBytes {
            offset: n,
            count: 2
        }
    );
}

#[test]
fn truncated_input() {
    let b = Msg::new().bytes();
    for len in 0..b.len() {
        let e = err(&b[..len]);
        assert!(matches!(e, Error::Truncated { .. }), "prefix {len}: {e}");
    }
    for v in common::vectors("content-08") {
        for len in 0..v.bytes.len() {
            assert!(
                matches!(err(&v.bytes[..len]), Error::Truncated { .. }),
                "{} prefix {len}",
                v.name
            );
        }
    }
}

// ----- schema -----

#[test]
fn wrong_types() {
    let m = Msg::new().set(0, tstr("0123456789abcdef"));
    assert_eq!(
        err(&m.bytes()),
        Error::WrongType {
            what: "salt",
            expected: "a byte string",
            found: "text string",
            offset: 1
        }
    );
    let m = Msg::new().set(5, map(&[(uint(1), bstr(b"x"))]));
    assert!(matches!(
        err(&m.bytes()),
        Error::WrongType {
            what: "senderUri",
            ..
        }
    ));
    let m = Msg::new().set(5, arr(&[]));
    assert!(matches!(
        err(&m.bytes()),
        Error::WrongType {
            what: "mimiExtensions",
            ..
        }
    ));
    let m = Msg::new().set(3, arr(&[uint(0), uint(1)]));
    assert!(matches!(
        err(&m.bytes()),
        Error::WrongType {
            what: "Expiration.relative",
            ..
        }
    ));
    let m = Msg::new().set(1, vec![0xf7]); // undefined instead of null
    assert!(matches!(
        err(&m.bytes()),
        Error::WrongType {
            what: "replaces",
            found: "undefined",
            ..
        }
    ));
    let m = Msg::new().set(6, arr(&[vec![0x20], tstr(""), uint(0)])); // disposition -1
    assert!(matches!(
        err(&m.bytes()),
        Error::WrongType {
            what: "disposition",
            ..
        }
    ));
}

#[test]
fn bad_salt_and_message_id_lengths() {
    let m = Msg::new().set(0, bstr(&[0; 15]));
    assert_eq!(err(&m.bytes()), Error::BadSaltLength { len: 15, offset: 1 });
    let m = Msg::new().set(0, bstr(&[0; 17]));
    assert!(matches!(
        err(&m.bytes()),
        Error::BadSaltLength { len: 17, .. }
    ));
    let m = Msg::new().set(1, bstr(&[1; 31]));
    assert!(matches!(
        err(&m.bytes()),
        Error::BadMessageIdLength {
            what: "replaces",
            len: 31,
            ..
        }
    ));
    let m = Msg::new().set(4, bstr(&[1; 33]));
    assert!(matches!(
        err(&m.bytes()),
        Error::BadMessageIdLength {
            what: "inReplyTo",
            len: 33,
            ..
        }
    ));
}

fn external(fields: [Vec<u8>; 12]) -> Vec<u8> {
    let mut items = vec![uint(6), tstr(""), uint(2)];
    items.extend(fields);
    arr(&items)
}
fn ext_fields() -> [Vec<u8>; 12] {
    [
        tstr("video/mp4"),
        tstr("https://x.example/f"),
        uint(0),
        uint(1),
        uint(1),
        bstr(&[0; 16]),
        bstr(&[0; 12]),
        bstr(b""),
        uint(1),
        bstr(&[0; 32]),
        tstr(""),
        tstr("f.mp4"),
    ]
}

#[test]
fn uint_size_limits() {
    decode(&Msg::new().set(6, external(ext_fields())).bytes()).expect("valid external part");
    // expires: uint .size 4
    let mut f = ext_fields();
    f[2] = uint(1 << 32);
    let e = err(&Msg::new().set(6, external(f)).bytes());
    assert!(
        matches!(
            e,
            Error::IntegerOutOfRange {
                what: "expires",
                value: 4_294_967_296,
                max: 4_294_967_295,
                ..
            }
        ),
        "{e}"
    );
    // size: uint .size 8 takes any uint
    let mut f = ext_fields();
    f[3] = uint(u64::MAX);
    decode(&Msg::new().set(6, external(f)).bytes()).expect("size u64::MAX");
    // encAlg: uint .size 2
    let mut f = ext_fields();
    f[4] = uint(65536);
    assert!(matches!(
        err(&Msg::new().set(6, external(f)).bytes()),
        Error::IntegerOutOfRange { what: "encAlg", .. }
    ));
    // hashAlg: uint .size 1
    let mut f = ext_fields();
    f[8] = uint(256);
    assert!(matches!(
        err(&Msg::new().set(6, external(f)).bytes()),
        Error::IntegerOutOfRange {
            what: "hashAlg",
            ..
        }
    ));
    // Expiration.time: uint .size 4
    let m = Msg::new().set(3, arr(&[vec![0xf5], uint(1 << 32)]));
    assert!(matches!(
        err(&m.bytes()),
        Error::IntegerOutOfRange {
            what: "Expiration.time",
            ..
        }
    ));
    // disposition 0..255
    let m = Msg::new().set(6, arr(&[uint(256), tstr(""), uint(0)]));
    assert!(matches!(
        err(&m.bytes()),
        Error::DispositionOutOfRange { value: 256, .. }
    ));
}

#[test]
fn unknown_disposition_is_kept() {
    let m = Msg::new().set(6, arr(&[uint(200), tstr(""), uint(0)]));
    let msg = decode(&m.bytes()).expect("unknown disposition is legitimate");
    assert_eq!(msg.nested_part.disposition.value(), 200);
    assert_eq!(
        msg.nested_part.disposition.effective(),
        mimi_content::Disposition::Render
    );
    assert_eq!(msg.to_cbor(), m.bytes());
}

#[test]
fn unknown_cardinality_and_semantics() {
    let m = Msg::new().set(6, arr(&[uint(1), tstr(""), uint(4)]));
    assert!(matches!(
        err(&m.bytes()),
        Error::UnknownCardinality { value: 4, .. }
    ));
    let m = Msg::new().set(
        6,
        arr(&[
            uint(1),
            tstr(""),
            uint(3),
            uint(3),
            arr(&[null_part(), null_part()]),
        ]),
    );
    assert!(matches!(
        err(&m.bytes()),
        Error::UnknownPartSemantics { value: 3, .. }
    ));
}

#[test]
fn multipart_needs_two_parts() {
    let m = Msg::new().set(
        6,
        arr(&[uint(1), tstr(""), uint(3), uint(0), arr(&[text_part("a")])]),
    );
    assert!(matches!(
        err(&m.bytes()),
        Error::TooFewParts { count: 1, .. }
    ));
    let m = Msg::new().set(6, arr(&[uint(1), tstr(""), uint(3), uint(0), arr(&[])]));
    assert!(matches!(
        err(&m.bytes()),
        Error::TooFewParts { count: 0, .. }
    ));
}

fn multi(parts: Vec<Vec<u8>>) -> Vec<u8> {
    arr(&[uint(1), tstr(""), uint(3), uint(2), arr(&parts)])
}

#[test]
fn nesting_depth() {
    // 4 levels: accepted.
    let mut p = text_part("leaf");
    for _ in 0..3 {
        p = multi(vec![p, null_part()]);
    }
    decode(&Msg::new().set(6, p.clone()).bytes()).expect("4 levels are allowed");
    // 5 levels: rejected at the level-5 part.
    let five = multi(vec![p, null_part()]);
    let m = Msg::new().set(6, five);
    let e = err(&m.bytes());
    // Four 6-byte MultiPart prefixes (85 01 60 03 02 82) precede the level-5 part.
    assert_eq!(
        e,
        Error::PartsTooDeep {
            limit: 4,
            offset: m.offset(6) + 4 * 6
        }
    );
}

#[test]
fn too_many_parts() {
    // 1 MultiPart + 1023 NullParts = 1024 parts: accepted; one more: rejected.
    let ok = multi(vec![null_part(); 1023]);
    decode(&Msg::new().set(6, ok).bytes()).expect("1024 parts are allowed");
    let m = Msg::new().set(6, multi(vec![null_part(); 1024]));
    assert!(matches!(
        err(&m.bytes()),
        Error::TooManyParts { limit: 1024, .. }
    ));
}

#[test]
fn topic_too_long() {
    decode(&Msg::new().set(2, bstr(&[b't'; 4096])).bytes()).expect("4096 octets allowed");
    let m = Msg::new().set(2, bstr(&[b't'; 4097]));
    assert_eq!(
        err(&m.bytes()),
        Error::TopicTooLong {
            len: 4097,
            limit: 4096
        }
    );
}

#[test]
fn size_limit() {
    let b = Msg::new().bytes();
    let limits = Limits {
        max_message_size: b.len() - 1,
        ..Limits::default()
    };
    assert_eq!(
        decode_with_limits(&b, &limits),
        Err(Error::TooLarge {
            size: b.len(),
            limit: b.len() - 1
        })
    );
    let big = Msg::new().set(6, text_part(&"x".repeat(1 << 20))).bytes();
    assert!(matches!(
        err(&big),
        Error::TooLarge {
            limit: 1_048_576,
            ..
        }
    ));
}

// ----- extensions -----

#[test]
fn extension_keys() {
    let m = Msg::new().set(5, map(&[(bstr(b"k"), uint(0))]));
    assert!(matches!(
        err(&m.bytes()),
        Error::InvalidExtensionKey {
            found: "byte string",
            ..
        }
    ));
    let m = Msg::new().set(5, map(&[(arr(&[]), uint(0))]));
    assert!(matches!(
        err(&m.bytes()),
        Error::InvalidExtensionKey { found: "array", .. }
    ));
    let m = Msg::new().set(5, map(&[(tstr(&"k".repeat(256)), uint(0))]));
    assert!(matches!(
        err(&m.bytes()),
        Error::ExtensionKeyLength { len: 256, .. }
    ));
    decode(
        &Msg::new()
            .set(5, map(&[(tstr(&"k".repeat(255)), uint(0))]))
            .bytes(),
    )
    .expect("255 octets allowed");
    let m = Msg::new().set(5, map(&[(tstr(""), uint(0))]));
    assert!(matches!(
        err(&m.bytes()),
        Error::ExtensionKeyLength { len: 0, .. }
    ));
    // Integer keys within ±(2^53−1).
    let max = (1u64 << 53) - 1;
    decode(&Msg::new().set(5, map(&[(uint(max), uint(0))])).bytes()).expect("2^53-1 allowed");
    let m = Msg::new().set(5, map(&[(uint(max + 1), uint(0))]));
    assert!(matches!(
        err(&m.bytes()),
        Error::IntegerKeyOutOfRange { .. }
    ));
    decode(
        &Msg::new()
            .set(5, map(&[(head(1, max - 1), uint(0))]))
            .bytes(),
    )
    .expect("-(2^53-1) allowed");
    let m = Msg::new().set(5, map(&[(head(1, max), uint(0))]));
    assert!(matches!(
        err(&m.bytes()),
        Error::IntegerKeyOutOfRange { .. }
    ));
    // ... also inside extension values.
    let m = Msg::new().set(5, map(&[(uint(9), map(&[(uint(max + 1), uint(0))]))]));
    assert!(matches!(
        err(&m.bytes()),
        Error::IntegerKeyOutOfRange { .. }
    ));
}

#[test]
fn nested_map_keys() {
    for key in [bstr(b"k"), tstr("k"), uint(3), head(1, 3)] {
        decode(
            &Msg::new()
                .set(5, map(&[(uint(9), map(&[(key, uint(0))]))]))
                .bytes(),
        )
        .expect("int/tstr/bstr keys");
    }
    for (key, found) in [
        (arr(&[]), "array"),
        (vec![0xf5], "boolean"),
        (vec![0xf9, 0x3c, 0x00], "float"),
        (vec![0xc1, 0x00], "tag"),
    ] {
        let m = Msg::new().set(5, map(&[(uint(9), map(&[(key, uint(0))]))]));
        let e = err(&m.bytes());
        assert!(
            matches!(e, Error::InvalidNestedMapKey { found: f, .. } if f == found),
            "{e}"
        );
    }
}

#[test]
fn extension_depth() {
    // The draft's §"Depth restrictions" example: exactly 4 levels, accepted.
    let tagged = [vec![0xd8, 0x20], tstr("http://example.com")].concat();
    let value = arr(&[
        arr(&[bstr(&[0x12, 0x34]), tagged]),
        arr(&[bstr(&[0x34, 0x56]), uint(5771)]),
    ]);
    let x = map(&[
        (uint(1), tstr("mimi://a.example/u/alice")),
        (uint(256), value),
    ]);
    let m = Msg::new().set(5, x);
    let msg = decode(&m.bytes()).expect("4 levels are allowed");
    assert_eq!(msg.to_cbor(), m.bytes());
    // One more level anywhere: map(1) > array(2) > array(3) > tag(4) > array(5).
    let tagged5 = [vec![0xd8, 0x20], arr(&[])].concat();
    let value = arr(&[arr(&[tagged5])]);
    let m = Msg::new().set(5, map(&[(uint(256), value)]));
    assert!(matches!(
        err(&m.bytes()),
        Error::ExtensionsTooDeep { limit: 4, .. }
    ));
    let value = arr(&[arr(&[arr(&[arr(&[])])])]);
    let m = Msg::new().set(5, map(&[(uint(256), value)]));
    assert!(matches!(err(&m.bytes()), Error::ExtensionsTooDeep { .. }));
    let value = map(&[(uint(0), map(&[(uint(0), map(&[(uint(0), map(&[]))]))]))]);
    let m = Msg::new().set(5, map(&[(uint(256), value)]));
    assert!(matches!(err(&m.bytes()), Error::ExtensionsTooDeep { .. }));
    // Standalone value check: level 2 is the value itself.
    assert!(ExtensionValue::from_cbor(&arr(&[arr(&[arr(&[])])])).is_ok());
    assert!(ExtensionValue::from_cbor(&arr(&[arr(&[arr(&[arr(&[])])])])).is_err());
}

#[test]
fn floats_and_nan() {
    let with = |v: Vec<u8>| Msg::new().set(5, map(&[(uint(9), v)])).bytes();
    decode(&with(vec![0xf9, 0x7e, 0x00])).expect("canonical NaN allowed");
    decode(&with(vec![0xf9, 0x3c, 0x00])).expect("half 1.0");
    decode(&with(vec![0xf9, 0x7c, 0x00])).expect("half infinity");
    decode(&with(vec![0xfa, 0x47, 0xc3, 0x50, 0x00])).expect("single 100000.0");
    decode(&with(vec![
        0xfb, 0x3f, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a,
    ]))
    .expect("double 0.1");
    for nan in [
        vec![0xf9, 0x7e, 0x01],
        vec![0xf9, 0xfe, 0x00],
        vec![0xf9, 0x7c, 0x01],
        vec![0xfa, 0x7f, 0xc0, 0x00, 0x00],
        vec![0xfb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0],
    ] {
        assert!(
            matches!(err(&with(nan.clone())), Error::DisallowedNaN { .. }),
            "{nan:02x?}"
        );
    }
    for long in [
        vec![0xfa, 0x3f, 0x80, 0x00, 0x00],       // 1.0 fits a half
        vec![0xfa, 0x7f, 0x80, 0x00, 0x00],       // infinity fits a half
        vec![0xfb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0], // 1.0 fits a half
        vec![0xfb, 0x40, 0xf8, 0x6a, 0x00, 0x00, 0x00, 0, 0], // 100000.0 fits a single
    ] {
        assert!(
            matches!(err(&with(long.clone())), Error::NonShortestFloat { .. }),
            "{long:02x?}"
        );
    }
}

#[test]
fn bignums_simple_values_and_reserved_bytes() {
    let with = |v: Vec<u8>| Msg::new().set(5, map(&[(uint(9), v)])).bytes();
    decode(&with([vec![0xc2], bstr(&[1; 9])].concat())).expect("bignum > 2^64");
    for bad in [
        [vec![0xc2], bstr(&[1; 8])].concat(),
        [vec![0xc3], bstr(&[0, 1, 1, 1, 1, 1, 1, 1, 1])].concat(),
        vec![0xc2, 0x01],
    ] {
        assert!(matches!(err(&with(bad)), Error::NonPreferredBignum { .. }));
    }
    decode(&with(vec![0xf8, 0x20])).expect("simple value 32");
    assert!(matches!(
        err(&with(vec![0xf8, 0x10])),
        Error::InvalidSimpleValue { value: 16, .. }
    ));
    assert!(matches!(
        err(&with(vec![0x1c])),
        Error::ReservedAdditionalInfo { info: 28, .. }
    ));
    assert!(matches!(
        err(&with(vec![0xff])),
        Error::UnexpectedBreak { .. }
    ));
    assert!(matches!(
        err(&with(vec![0xdf, 0x00])),
        Error::ReservedAdditionalInfo { info: 31, .. }
    ));
}

#[test]
fn too_many_extensions() {
    let pairs: Vec<(Vec<u8>, Vec<u8>)> = (10..20).map(|k| (uint(k), uint(0))).collect();
    let b = Msg::new().set(5, map(&pairs)).bytes();
    decode(&b).expect("10 entries");
    let limits = Limits {
        max_extensions: 9,
        ..Limits::default()
    };
    assert!(matches!(
        decode_with_limits(&b, &limits),
        Err(Error::TooManyExtensions { limit: 9, .. })
    ));
}

#[test]
fn errors_print_as_one_line() {
    let samples = [
        err(&[0x87]),
        err(&[0x86]),
        err(&Msg::new().set(0, bstr(&[0; 3])).bytes()),
        err(&Msg::new()
            .set(5, map(&[(uint(2), tstr(ROOM)), (uint(1), tstr(SENDER))]))
            .bytes()),
    ];
    for e in samples {
        let s = e.to_string();
        assert!(!s.contains('\n') && !s.is_empty(), "{s}");
    }
}
