//! Every decoder rejects truncation, trailing bytes, oversize input, non-canonical encodings
//! and unknown versions.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use mimi_lookup::limits::{MAX_BATCH, MAX_CIPHERTEXT_LEN, MAX_MESSAGE_LEN, MAX_RECORDS_PER_INDEX};
use mimi_lookup::{
    BlindedQuery, DpKey, DpPublicKey, Error, Evaluation, Index, LookupRequest, LookupResponse,
    MemoryStore, Removal, SealedRecord, UploadEntry, UploadRequest, UploadResponse, UploadStatus,
    blind, blind_batch, evaluate,
};

type Decoder = fn(&[u8]) -> Result<(), Error>;

fn decoders() -> Vec<(&'static str, Decoder, Vec<u8>)> {
    let key = DpKey::generate(&mut rng(1)).unwrap();
    let secret = key.direct_secret(&id("+12025550101")).unwrap();
    let sealed = secret.seal(b"record", &mut rng(2)).unwrap();
    let siis = [id("+12025550101"), id("bob@b.example")];
    let (_, query) = blind_batch(key.public(), &siis, &mut rng(3)).unwrap();
    let evaluation = evaluate(&key, &query, &mut rng(4)).unwrap();
    let upload = UploadRequest::new(
        vec![UploadEntry {
            index: *secret.index(),
            expires_at: NOW + DAY,
            record: sealed.clone(),
        }],
        vec![Removal {
            index: *secret.index(),
            record_id: sealed.id(),
        }],
    )
    .unwrap();
    vec![
        (
            "query",
            |b| BlindedQuery::decode(b).map(drop),
            query.encode(),
        ),
        (
            "evaluation",
            |b| Evaluation::decode(b).map(drop),
            evaluation.encode(),
        ),
        (
            "sealed",
            |b| SealedRecord::decode(b).map(drop),
            sealed.encode(),
        ),
        (
            "lookup request",
            |b| LookupRequest::decode(b).map(drop),
            LookupRequest {
                index: *secret.index(),
            }
            .encode(),
        ),
        (
            "lookup response",
            |b| LookupResponse::decode(b).map(drop),
            LookupResponse::new(vec![sealed.clone(), sealed.clone()])
                .unwrap()
                .encode(),
        ),
        (
            "upload",
            |b| UploadRequest::decode(b).map(drop),
            upload.encode(),
        ),
        (
            "upload response",
            |b| UploadResponse::decode(b).map(drop),
            UploadResponse {
                statuses: vec![UploadStatus::Stored, UploadStatus::ExpiryTooFar],
                removed: vec![true, false],
            }
            .encode(),
        ),
        (
            "snapshot",
            |b| MemoryStore::from_snapshot(b, NOW, usize::MAX).map(drop),
            {
                let mut dp = dp(5);
                publish(&mut dp, "b.example", "+12025550101", b"one", 6);
                publish(&mut dp, "c.example", "+12025550101", b"two", 7);
                dp.store().snapshot()
            },
        ),
    ]
}

#[test]
fn valid_encodings_decode() {
    for (name, decode, bytes) in decoders() {
        decode(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn every_truncation_is_rejected() {
    for (name, decode, bytes) in decoders() {
        for len in 0..bytes.len() {
            assert!(decode(&bytes[..len]).is_err(), "{name} truncated to {len}");
        }
        assert!(matches!(
            decode(&bytes[..bytes.len() - 1]),
            Err(Error::Truncated { .. })
        ));
    }
}

#[test]
fn trailing_bytes_are_rejected() {
    for (name, decode, bytes) in decoders() {
        for extra in [&[0u8][..], &[0x80], &bytes] {
            let mut b = bytes.clone();
            b.extend_from_slice(extra);
            assert!(
                matches!(decode(&b), Err(Error::TrailingBytes { .. })),
                "{name}: {:?}",
                decode(&b)
            );
        }
    }
}

#[test]
fn non_canonical_heads_and_unknown_versions_are_rejected() {
    for (name, decode, bytes) in decoders() {
        // bytes[0] is the array head, bytes[1] the version 1.
        assert_eq!(bytes[1], 1, "{name}");
        let mut long = vec![bytes[0], 0x18, 0x01];
        long.extend_from_slice(&bytes[2..]);
        assert!(
            matches!(decode(&long), Err(Error::NonCanonical { .. })),
            "{name}"
        );
        let mut v2 = bytes.clone();
        v2[1] = 2;
        assert!(
            matches!(
                decode(&v2),
                Err(Error::UnsupportedVersion { version: 2, .. })
            ),
            "{name}"
        );
        // An indefinite-length outer array.
        let mut indefinite = bytes.clone();
        indefinite[0] = 0x9f;
        assert!(decode(&indefinite).is_err(), "{name}");
    }
}

#[test]
fn oversize_input_is_rejected_before_parsing() {
    for (name, decode, bytes) in decoders() {
        if name == "snapshot" {
            continue;
        }
        let mut big = bytes.clone();
        big.resize(MAX_MESSAGE_LEN + 1, 0);
        assert!(
            matches!(decode(&big), Err(Error::TooLarge { .. })),
            "{name}"
        );
    }
}

fn head(major: u8, n: usize) -> Vec<u8> {
    let m = major << 5;
    match n {
        0..=23 => vec![m | n as u8],
        24..=255 => vec![m | 24, n as u8],
        256..=65535 => vec![m | 25, (n >> 8) as u8, n as u8],
        _ => {
            let mut v = vec![m | 26];
            v.extend_from_slice(&(n as u32).to_be_bytes());
            v
        }
    }
}

#[test]
fn counts_and_sizes_beyond_the_limits_are_rejected() {
    let key = DpKey::generate(&mut rng(1)).unwrap();
    let pk = key.public();
    let (_, one) = blind(pk, &id("+12025550101"), &mut rng(2)).unwrap();
    let enc = one.encode();
    // [1, kid, [elem]] → [1, kid, [elem × 65]]
    let elem = &enc[enc.len() - 34..];
    let prefix = &enc[..enc.len() - 35];
    let mut many = prefix.to_vec();
    many.extend(head(4, MAX_BATCH + 1));
    for _ in 0..=MAX_BATCH {
        many.extend_from_slice(elem);
    }
    assert_eq!(
        BlindedQuery::decode(&many).unwrap_err(),
        Error::TooMany {
            what: "blinded elements",
            max: MAX_BATCH
        }
    );
    // The claimed count alone is refused, whatever follows.
    let mut claim = prefix.to_vec();
    claim.extend([0x9a, 0xff, 0xff, 0xff, 0xff]);
    assert!(matches!(
        BlindedQuery::decode(&claim),
        Err(Error::TooMany { .. })
    ));
    // No elements at all.
    let mut none = prefix.to_vec();
    none.push(0x80);
    assert!(matches!(
        BlindedQuery::decode(&none),
        Err(Error::Empty { .. })
    ));

    // A ciphertext one byte too long; one byte too short.
    for (len, ok) in [
        (MAX_CIPHERTEXT_LEN, true),
        (MAX_CIPHERTEXT_LEN + 1, false),
        (17, true),
        (16, false),
    ] {
        let mut b = vec![0x83, 0x01, 0x4c];
        b.extend([0u8; 12]);
        b.extend(head(2, len));
        b.resize(b.len() + len, 0xaa);
        assert_eq!(SealedRecord::decode(&b).is_ok(), ok, "{len}");
    }
    // 33 records in a lookup answer.
    let sealed = key
        .direct_secret(&id("+12025550101"))
        .unwrap()
        .seal(b"r", &mut rng(3))
        .unwrap();
    let mut b = vec![0x82, 0x01];
    b.extend(head(4, MAX_RECORDS_PER_INDEX + 1));
    for _ in 0..=MAX_RECORDS_PER_INDEX {
        b.extend(sealed.encode());
    }
    assert!(matches!(
        LookupResponse::decode(&b),
        Err(Error::TooMany { .. })
    ));
    assert!(LookupResponse::new(vec![sealed.clone(); MAX_RECORDS_PER_INDEX + 1]).is_err());
    // An empty upload request.
    assert_eq!(
        UploadRequest::decode(&[0x83, 0x01, 0x80, 0x80]).unwrap_err(),
        Error::Empty {
            what: "upload request"
        }
    );
    // Wrong fixed lengths.
    let mut short_index = vec![0x82, 0x01, 0x58, 31];
    short_index.extend([0u8; 31]);
    assert!(matches!(
        LookupRequest::decode(&short_index),
        Err(Error::Malformed { .. })
    ));
}

#[test]
fn invalid_group_elements_and_keys_are_rejected() {
    let key = DpKey::generate(&mut rng(1)).unwrap();
    let (_, q) = blind(key.public(), &id("+12025550101"), &mut rng(2)).unwrap();
    let enc = q.encode();
    let at = enc.len() - 32;
    for bad in [[0u8; 32], [0xff; 32]] {
        let mut b = enc.clone();
        b[at..].copy_from_slice(&bad);
        assert_eq!(
            BlindedQuery::decode(&b).unwrap_err(),
            Error::InvalidElement {
                what: "blinded element"
            }
        );
    }
    assert!(DpPublicKey::from_bytes(&[0u8; 32]).is_err());
    assert!(DpPublicKey::from_bytes(&key.public().to_bytes()[..31]).is_err());
    assert_eq!(
        DpPublicKey::from_bytes(&key.public().to_bytes()).unwrap(),
        *key.public()
    );
    // Zero, the group order (non-canonical) and wrong lengths are not keys.
    let order: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    for bad in [&[0u8; 32][..], &order, &[1u8; 31], &[1u8; 33]] {
        assert_eq!(DpKey::from_bytes(bad).unwrap_err(), Error::InvalidKey);
    }
    let again = DpKey::from_bytes(&*key.to_bytes()).unwrap();
    assert_eq!(again.public(), key.public());
    assert!(!format!("{key:?}").contains(&hex_of(&*key.to_bytes())));
    let _ = Index::from_bytes([0; 32]);
}

fn hex_of(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
