//! Canonical-encoding and size-limit rejections. Every rejected object here carries a *valid*
//! signature over its bytes, so the rejection is the encoding rule's doing, not the signature's.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use mimi_discovery::limits::{
    MAX_EXTENSION_VALUE_LEN, MAX_EXTENSIONS, MAX_KID_LEN, MAX_LIFETIME_SECS, MAX_OBJECT_LEN,
    MAX_SSIS, MAX_TAG_LEN, MAX_TAGS,
};
use mimi_discovery::{
    ASSERTION_CONTENT_TYPE, Error, Extensions, KeyId, Malformed, MappingAssertion, RevocationSet,
    SsiEntry, Verdict, decode_assertion, verify,
};

/// A payload map from encoded (key, value) pairs, in the order given.
fn map(fields: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let mut v = head(5, fields.len() as u64);
    for (k, val) in fields {
        v.extend_from_slice(k);
        v.extend_from_slice(val);
    }
    v
}

fn uint(n: u64) -> Vec<u8> {
    head(0, n)
}

fn nint(n: i64) -> Vec<u8> {
    head(1, (-1 - n) as u64)
}

fn array(items: &[Vec<u8>]) -> Vec<u8> {
    let mut v = head(4, items.len() as u64);
    for i in items {
        v.extend_from_slice(i);
    }
    v
}

fn entry(ssi: &str, priority: u64) -> Vec<u8> {
    map(&[(uint(1), tstr(ssi)), (uint(2), uint(priority))])
}

fn phone(s: &str) -> Vec<u8> {
    array(&[uint(1), tstr(s)])
}

/// Bob's assertion by b.example, field by field, exactly as the library encodes it.
fn fields() -> Vec<(Vec<u8>, Vec<u8>)> {
    vec![
        (uint(1), uint(1)),
        (uint(2), tstr("b.example")),
        (uint(3), uint(1)),
        (uint(4), uint(NOW - DAY)),
        (uint(5), uint(NOW + 29 * DAY)),
        (uint(6), phone("+12025550101")),
        (uint(7), array(&[entry("mimi://b.example/u/bob", 0)])),
    ]
}

fn with(key: u64, value: Vec<u8>) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut f = fields();
    for (k, v) in f.iter_mut() {
        if *k == uint(key) {
            *v = value.clone();
        }
    }
    f
}

/// Sign `payload` as b.example and verify it.
fn verdict(payload: &[u8]) -> Verdict {
    verify(
        &sign_assertion_payload(payload),
        NOW,
        &trust(),
        &RevocationSet::new(),
    )
}

fn malformed(payload: &[u8]) -> Malformed {
    match verdict(payload) {
        Verdict::Malformed(m) => {
            assert_eq!(MappingAssertion::from_payload(payload), Err(m));
            m
        }
        other => panic!("expected Malformed, got {other:?}"),
    }
}

#[test]
fn the_hand_encoding_is_the_library_encoding() {
    let lib = assertion(&b_signer(), 1, &bob_phone(), &["mimi://b.example/u/bob"]).to_payload();
    assert_eq!(map(&fields()), lib);
    assert!(verdict(&lib).is_verified());
    assert_eq!(sign_assertion_payload(&lib), bob_assertion_bytes());
}

#[test]
fn non_shortest_integers_and_lengths_are_rejected() {
    let mut f = fields();
    f[2].1 = vec![0x18, 0x01]; // serial 1 in two bytes
    assert_eq!(malformed(&map(&f)), Malformed::NonShortest);
    let mut f = fields();
    let mut long = vec![0x78, 9]; // "b.example" with a one-byte length
    long.extend_from_slice(b"b.example");
    f[1].1 = long;
    assert_eq!(malformed(&map(&f)), Malformed::NonShortest);
    let mut f = fields();
    f[3].1 = vec![0x1b, 0, 0, 0, 0, 0x68, 0x4e, 0x3d, 0x80]; // issued-at in 8 bytes
    assert_eq!(malformed(&map(&f)), Malformed::NonShortest);
    let mut f = fields();
    f[0].0 = vec![0x18, 0x01]; // key 1 in two bytes
    assert_eq!(malformed(&map(&f)), Malformed::NonShortest);
}

#[test]
fn indefinite_lengths_are_rejected() {
    let mut ssis = vec![0x9f];
    ssis.extend(entry("mimi://b.example/u/bob", 0));
    ssis.push(0xff);
    assert_eq!(malformed(&map(&with(7, ssis))), Malformed::IndefiniteLength);
    let chunked = [vec![0x7f], tstr("b."), tstr("example"), vec![0xff]].concat();
    assert_eq!(
        malformed(&map(&with(2, chunked))),
        Malformed::IndefiniteLength
    );
    let mut top = vec![0xbf];
    for (k, v) in fields() {
        top.extend(k);
        top.extend(v);
    }
    top.push(0xff);
    assert_eq!(malformed(&top), Malformed::IndefiniteLength);
}

#[test]
fn unsorted_and_duplicate_keys_are_rejected() {
    let mut f = fields();
    f.swap(2, 3);
    assert_eq!(malformed(&map(&f)), Malformed::MapKeyOrder);
    let mut f = fields();
    f.insert(3, (uint(3), uint(2)));
    assert_eq!(malformed(&map(&f)), Malformed::MapKeyOrder);
    // Inside an SSI entry.
    let e = map(&[
        (uint(2), uint(0)),
        (uint(1), tstr("mimi://b.example/u/bob")),
    ]);
    assert_eq!(
        malformed(&map(&with(7, array(&[e])))),
        Malformed::MapKeyOrder
    );
    // Extensions after the critical keys: -1 sorts after 7.
    let mut f = fields();
    f.insert(0, (nint(-1), uint(0)));
    assert_eq!(malformed(&map(&f)), Malformed::MapKeyOrder);
}

#[test]
fn unknown_critical_fields_are_rejected_and_extensions_are_kept() {
    let mut f = fields();
    f.push((uint(9), uint(0)));
    assert_eq!(malformed(&map(&f)), Malformed::UnknownCriticalField(9));
    let mut f = fields();
    f.insert(0, (uint(0), uint(0)));
    assert_eq!(malformed(&map(&f)), Malformed::UnknownCriticalField(0));
    // The revocation-only key 8 is unknown in an assertion.
    let mut f = fields();
    f.push((uint(8), array(&[uint(1), uint(1)])));
    assert_eq!(malformed(&map(&f)), Malformed::UnknownCriticalField(8));
    // Unknown key in an SSI entry.
    let e = map(&[
        (uint(1), tstr("mimi://b.example/u/bob")),
        (uint(2), uint(0)),
        (uint(4), uint(0)),
    ]);
    assert_eq!(
        malformed(&map(&with(7, array(&[e])))),
        Malformed::UnknownCriticalField(4)
    );

    // Negative keys are extensions: ignored by the verifier, kept verbatim.
    let mut f = fields();
    f.push((nint(-1), tstr("hello")));
    f.push((nint(-2), map(&[(uint(1), array(&[]))])));
    let payload = map(&f);
    assert!(verdict(&payload).is_verified());
    let a = MappingAssertion::from_payload(&payload).unwrap();
    assert_eq!(a.extensions().get(-1), Some(tstr("hello").as_slice()));
    assert_eq!(a.to_payload(), payload);
    // Extension values are generic CBOR without floats or tags.
    for bad in [vec![0xf9, 0x3c, 0x00], vec![0xc1, 0x00], vec![0xf7]] {
        let mut f = fields();
        f.push((nint(-1), bad));
        assert_eq!(malformed(&map(&f)), Malformed::UnsupportedValue);
    }
}

#[test]
fn missing_fields_and_trailing_bytes_are_rejected() {
    let mut f = fields();
    f.remove(4);
    assert_eq!(malformed(&map(&f)), Malformed::MissingField("expiry"));
    let mut payload = map(&fields());
    payload.push(0x00);
    assert_eq!(malformed(&payload), Malformed::TrailingBytes);
    let mut bytes = bob_assertion_bytes();
    bytes.push(0x00);
    assert_eq!(
        verify(&bytes, NOW, &trust(), &RevocationSet::new()),
        Verdict::Malformed(Malformed::TrailingBytes)
    );
    let bytes = bob_assertion_bytes();
    assert_eq!(
        verify(
            &bytes[..bytes.len() - 1],
            NOW,
            &trust(),
            &RevocationSet::new()
        ),
        Verdict::Malformed(Malformed::Truncated)
    );
}

#[test]
fn identifiers_must_be_normalized() {
    assert_eq!(
        malformed(&map(&with(6, phone("+1 202 555 0101")))),
        Malformed::NotNormalized("SII")
    );
    assert_eq!(
        malformed(&map(&with(6, phone("12025550101")))),
        Malformed::Identifier("SII")
    );
    assert_eq!(
        malformed(&map(&with(6, array(&[uint(2), tstr("Bob@B.example")])))),
        Malformed::NotNormalized("SII")
    );
    assert_eq!(
        malformed(&map(&with(6, array(&[uint(3), tstr("@bob")])))),
        Malformed::UnknownKind("SII kind")
    );
    assert_eq!(
        malformed(&map(&with(7, array(&[entry("mimi://B.EXAMPLE/u/bob", 0)])))),
        Malformed::NotNormalized("SSI")
    );
    assert_eq!(
        malformed(&map(&with(
            7,
            array(&[entry("mimi://b.example/r/room", 0)])
        ))),
        Malformed::Identifier("SSI (a user URI)")
    );
    assert_eq!(
        malformed(&map(&with(2, tstr("B.example")))),
        Malformed::NotNormalized("authority id")
    );
    assert_eq!(
        malformed(&map(&with(1, uint(7)))),
        Malformed::UnknownKind("object type")
    );
}

#[test]
fn entries_and_tags_must_be_in_canonical_order() {
    let two = |a, b| map(&with(7, array(&[a, b])));
    assert_eq!(
        malformed(&two(
            entry("mimi://b.example/u/bob", 1),
            entry("mimi://b.example/u/bob2", 0)
        )),
        Malformed::NotSorted("SSI entries")
    );
    assert_eq!(
        malformed(&two(
            entry("mimi://b.example/u/bob2", 0),
            entry("mimi://b.example/u/bob", 0)
        )),
        Malformed::NotSorted("SSI entries")
    );
    assert_eq!(
        malformed(&two(
            entry("mimi://b.example/u/bob", 0),
            entry("mimi://b.example/u/bob", 1)
        )),
        Malformed::NotSorted("SSI entries (duplicate SSI)")
    );
    let tagged = |tags: Vec<Vec<u8>>| {
        map(&with(
            7,
            array(&[map(&[
                (uint(1), tstr("mimi://b.example/u/bob")),
                (uint(2), uint(0)),
                (uint(3), array(&tags)),
            ])]),
        ))
    };
    assert_eq!(
        malformed(&tagged(vec![])),
        Malformed::NotNormalized("tags (omit an empty list)")
    );
    assert_eq!(
        malformed(&tagged(vec![tstr("work"), tstr("home")])),
        Malformed::NotSorted("tags")
    );
    assert_eq!(
        malformed(&tagged(vec![tstr("home"), tstr("home")])),
        Malformed::NotSorted("tags")
    );
    assert_eq!(
        malformed(&tagged(vec![tstr("caf\u{e9}")])),
        Malformed::Identifier("tag (printable ASCII only)")
    );
    assert!(verdict(&tagged(vec![tstr("home"), tstr("work")])).is_verified());
    assert_eq!(
        malformed(&map(&with(
            7,
            array(&[entry("mimi://b.example/u/bob", 256)])
        ))),
        Malformed::OutOfRange("priority")
    );
}

#[test]
fn validity_period_rules() {
    let mut f = fields();
    f[3].1 = uint(NOW);
    f[4].1 = uint(NOW);
    assert_eq!(malformed(&map(&f)), Malformed::Validity);
    let mut f = fields();
    f[4].1 = uint(NOW - DAY + MAX_LIFETIME_SECS + 1);
    assert_eq!(malformed(&map(&f)), Malformed::LifetimeTooLong);
}

#[test]
fn envelope_rules() {
    let (prot, payload, sig) = split(&bob_assertion_bytes());
    let t = trust();
    let check = |b: &[u8]| verify(b, NOW, &t, &RevocationSet::new());
    let env = |tag: &[u8], prot: &[u8], unprot: &[u8], payload: &[u8], sig: &[u8]| {
        [tag, &[0x84], &bstr(prot), unprot, payload, &bstr(sig)].concat()
    };
    let p = bstr(&payload);
    // Untagged, or another tag.
    assert_eq!(
        check(&env(&[], &prot, &[0xa0], &p, &sig)),
        Verdict::Malformed(Malformed::Tag)
    );
    assert_eq!(
        check(&env(&[0xd1], &prot, &[0xa0], &p, &sig)),
        Verdict::Malformed(Malformed::Tag)
    );
    assert_eq!(
        check(&env(&[0xd8, 0x12], &prot, &[0xa0], &p, &sig)),
        Verdict::Malformed(Malformed::NonShortest)
    );
    // Non-empty unprotected header, even with a harmless kid.
    let unprot = [vec![0xa1, 0x04], bstr(b"x")].concat();
    assert_eq!(
        check(&env(&[0xd2], &prot, &unprot, &p, &sig)),
        Verdict::Malformed(Malformed::UnprotectedHeader)
    );
    // Detached payload.
    assert_eq!(
        check(&env(&[0xd2], &prot, &[0xa0], &[0xf6], &sig)),
        Verdict::Malformed(Malformed::DetachedPayload)
    );
    // Short signature.
    assert_eq!(
        check(&env(&[0xd2], &prot, &[0xa0], &p, &sig[..63])),
        Verdict::Malformed(Malformed::SignatureLength)
    );
    // A 5-element array.
    let mut five = env(&[0xd2], &prot, &[0xa0], &p, &sig);
    five[1] = 0x85;
    five.push(0xa0);
    assert_eq!(
        check(&five),
        Verdict::Malformed(Malformed::UnexpectedType {
            expected: "COSE_Sign1 array of 4"
        })
    );
}

#[test]
fn protected_header_rules() {
    let payload = map(&fields());
    let kid = b_kid();
    let check = |prot: Vec<u8>| {
        verify(
            &sign_raw(&prot, &[0xa0], &payload, &B_KEY),
            NOW,
            &trust(),
            &RevocationSet::new(),
        )
    };
    let ct = tstr(ASSERTION_CONTENT_TYPE);
    let k = bstr(kid.as_bytes());
    assert!(check(protected(ASSERTION_CONTENT_TYPE, kid.as_bytes())).is_verified());
    let with = |parts: &[&[u8]], n: u8| [&[0xa0 | n][..], &parts.concat()].concat();
    // crit
    let crit = [&[0x02, 0x81, 0x04][..]].concat();
    assert_eq!(
        check(with(&[&[0x01, 0x32], &crit, &[0x03], &ct, &[0x04], &k], 4)),
        Verdict::Malformed(Malformed::CriticalHeader)
    );
    // An extra label (5 = IV), a negative label, a text label.
    let iv = [&[0x05][..], &bstr(b"iv")].concat();
    assert_eq!(
        check(with(&[&[0x01, 0x32], &[0x03], &ct, &[0x04], &k, &iv], 4)),
        Verdict::Malformed(Malformed::UnknownHeader)
    );
    assert_eq!(
        check(with(
            &[&[0x01, 0x32], &[0x03], &ct, &[0x04], &k, &[0x20, 0x00]],
            4
        )),
        Verdict::Malformed(Malformed::UnknownHeader)
    );
    assert_eq!(
        check(with(
            &[
                &[0x01, 0x32],
                &[0x03],
                &ct,
                &[0x04],
                &k,
                &tstr("x"),
                &[0x00]
            ],
            4
        )),
        Verdict::Malformed(Malformed::UnknownHeader)
    );
    // Missing kid, missing content type, missing alg.
    assert_eq!(
        check(with(&[&[0x01, 0x32], &[0x03], &ct], 2)),
        Verdict::Malformed(Malformed::MissingField("kid"))
    );
    assert_eq!(
        check(with(&[&[0x01, 0x32], &[0x04], &k], 2)),
        Verdict::Malformed(Malformed::ContentType)
    );
    assert_eq!(
        check(with(&[&[0x03], &ct, &[0x04], &k], 2)),
        Verdict::Malformed(Malformed::Algorithm)
    );
    // Out of order.
    assert_eq!(
        check(with(&[&[0x01, 0x32], &[0x04], &k, &[0x03], &ct], 3)),
        Verdict::Malformed(Malformed::MapKeyOrder)
    );
    // EdDSA (-8) and ES256 (-7) are not accepted.
    for alg in [0x27, 0x26] {
        assert_eq!(
            check(with(&[&[0x01, alg], &[0x03], &ct, &[0x04], &k], 3)),
            Verdict::Malformed(Malformed::Algorithm)
        );
    }
    // Content type as a CoAP integer, or an unknown text.
    assert_eq!(
        check(with(&[&[0x01, 0x32], &[0x03, 0x18, 0x3c], &[0x04], &k], 3)),
        Verdict::Malformed(Malformed::ContentType)
    );
    assert_eq!(
        check(with(
            &[
                &[0x01, 0x32],
                &[0x03],
                &tstr("application/cbor"),
                &[0x04],
                &k
            ],
            3
        )),
        Verdict::Malformed(Malformed::ContentType)
    );
    // Empty protected header bytes.
    assert_eq!(
        check(Vec::new()),
        Verdict::Malformed(Malformed::BadLength {
            what: "protected header"
        })
    );
}

#[test]
fn size_limits() {
    // The whole object.
    let mut huge = bob_assertion_bytes();
    huge.resize(MAX_OBJECT_LEN + 1, 0);
    assert_eq!(
        verify(&huge, NOW, &trust(), &RevocationSet::new()),
        Verdict::Malformed(Malformed::TooLarge {
            size: MAX_OBJECT_LEN + 1,
            limit: MAX_OBJECT_LEN
        })
    );
    // A length claim far beyond the input.
    let claim = [vec![0xd2, 0x84, 0x5b], u64::MAX.to_be_bytes().to_vec()].concat();
    assert!(matches!(
        verify(&claim, NOW, &trust(), &RevocationSet::new()),
        Verdict::Malformed(Malformed::BadLength { .. } | Malformed::Truncated)
    ));
    // SSIs.
    let many: Vec<Vec<u8>> = (0..=MAX_SSIS)
        .map(|i| entry(&format!("mimi://b.example/u/u{i:02}"), 0))
        .collect();
    assert_eq!(
        malformed(&map(&with(7, array(&many)))),
        Malformed::TooMany {
            what: "SSIs",
            limit: MAX_SSIS
        }
    );
    assert!(verdict(&map(&with(7, array(&many[..MAX_SSIS])))).is_verified());
    // Tags.
    let tag_entry = |tags: Vec<Vec<u8>>| {
        map(&with(
            7,
            array(&[map(&[
                (uint(1), tstr("mimi://b.example/u/bob")),
                (uint(2), uint(0)),
                (uint(3), array(&tags)),
            ])]),
        ))
    };
    let tags: Vec<Vec<u8>> = (0..=MAX_TAGS).map(|i| tstr(&format!("t{i}"))).collect();
    assert_eq!(
        malformed(&tag_entry(tags)),
        Malformed::TooMany {
            what: "tags",
            limit: MAX_TAGS
        }
    );
    assert_eq!(
        malformed(&tag_entry(vec![tstr(&"x".repeat(MAX_TAG_LEN + 1))])),
        Malformed::BadLength { what: "tag" }
    );
    // Extensions: count, size, depth, key range.
    let mut f = fields();
    for k in 1..=MAX_EXTENSIONS as i64 + 1 {
        f.push((nint(-k), uint(0)));
    }
    assert!(matches!(malformed(&map(&f)), Malformed::TooMany { .. }));
    let mut f = fields();
    f.push((nint(-1), bstr(&vec![0; MAX_EXTENSION_VALUE_LEN])));
    assert_eq!(
        malformed(&map(&f)),
        Malformed::BadLength {
            what: "extension value"
        }
    );
    let mut f = fields();
    f.push((nint(-1), vec![0x81, 0x81, 0x81, 0x81, 0x81, 0x00]));
    assert_eq!(malformed(&map(&f)), Malformed::TooDeep);
    let mut f = fields();
    f.push((nint(-65537), uint(0)));
    assert_eq!(malformed(&map(&f)), Malformed::OutOfRange("extension key"));
    // Key ids.
    let payload = map(&fields());
    let long_kid = vec![7; MAX_KID_LEN + 1];
    assert_eq!(
        verify(
            &sign_raw(
                &protected(ASSERTION_CONTENT_TYPE, &long_kid),
                &[0xa0],
                &payload,
                &B_KEY
            ),
            NOW,
            &trust(),
            &RevocationSet::new()
        ),
        Verdict::Malformed(Malformed::BadLength { what: "kid" })
    );
}

#[test]
fn constructors_refuse_what_decoders_refuse() {
    let ssis: Vec<SsiEntry> = (0..=MAX_SSIS)
        .map(|i| SsiEntry::new(user(&format!("mimi://b.example/u/u{i}")), 0))
        .collect();
    assert!(matches!(
        MappingAssertion::new(domain("b.example"), 1, bob_phone(), NOW, NOW + DAY, ssis),
        Err(Error::Invalid(Malformed::TooMany { .. }))
    ));
    let dup = vec![
        SsiEntry::new(user("mimi://b.example/u/bob"), 0),
        SsiEntry::new(user("mimi://b.example/u/bob"), 1),
    ];
    assert!(
        MappingAssertion::new(domain("b.example"), 1, bob_phone(), NOW, NOW + DAY, dup).is_err()
    );
    assert!(MappingAssertion::new(domain("b.example"), 1, bob_phone(), NOW, NOW, vec![]).is_err());
    let e = SsiEntry::new(user("mimi://b.example/u/bob"), 0);
    assert!(e.clone().with_tags(["a", "a"]).is_err());
    assert!(e.clone().with_tags([""]).is_err());
    assert!(e.clone().with_tags(["with space"]).is_err());
    assert!(KeyId::new(vec![0; MAX_KID_LEN + 1]).is_err());
    assert!(KeyId::new(Vec::new()).is_err());
    let mut ext = Extensions::new();
    assert!(
        ext.insert(1, vec![0]).is_err(),
        "non-negative keys are critical"
    );
    assert!(ext.insert(-1, vec![0xf9, 0, 0]).is_err(), "no floats");
    assert!(ext.insert(-1, vec![0, 0]).is_err(), "one item");
    ext.insert(-1, vec![0x01]).unwrap();
    let a = MappingAssertion::new(domain("b.example"), 1, bob_phone(), NOW, NOW + DAY, vec![])
        .unwrap()
        .with_extensions(ext);
    let bytes = b_signer().sign_assertion(&a).unwrap();
    assert_eq!(decode_assertion(&bytes).unwrap().0, a);
}

#[test]
fn the_signer_refuses_an_object_over_the_size_limit() {
    // 16 SSIs with long ids fit the count limit but not the size limit.
    let long = "x".repeat(250);
    let ssis: Vec<SsiEntry> = (0..MAX_SSIS)
        .map(|i| SsiEntry::new(user(&format!("mimi://b.example/u/{long}{i:02}")), 0))
        .collect();
    let a =
        MappingAssertion::new(domain("b.example"), 1, bob_phone(), NOW, NOW + DAY, ssis).unwrap();
    let mut ext = Extensions::new();
    for k in 1..=MAX_EXTENSIONS as i64 {
        ext.insert(-k, bstr(&vec![0; MAX_EXTENSION_VALUE_LEN - 3]))
            .unwrap();
    }
    let a = a.with_extensions(ext);
    assert!(matches!(
        b_signer().sign_assertion(&a),
        Err(Error::Invalid(Malformed::TooLarge { .. }))
    ));
}
