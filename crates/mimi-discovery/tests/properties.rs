//! Properties: canonical round trips, and no single-byte change of a signed object verifies.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use mimi_discovery::{
    Extensions, MappingAssertion, Revocation, RevocationSet, RevocationTarget, Sii, SsiEntry,
    Verdict, decode_assertion, decode_revocation, verify, verify_revocation,
};
use proptest::prelude::*;

fn arb_sii() -> impl Strategy<Value = Sii> {
    prop_oneof![
        prop::sample::select(vec![
            "+12025550101",
            "+12125551212",
            "+442079460958",
            "+33142685300",
            "+4930901820",
        ])
        .prop_map(sii),
        (
            "[a-zA-Z0-9][a-zA-Z0-9.+_-]{0,20}",
            "[a-z]{1,10}\\.(example|test)"
        )
            .prop_filter_map("valid email", |(l, d)| Sii::parse(&format!("{l}@{d}")).ok()),
    ]
}

fn arb_entry() -> impl Strategy<Value = SsiEntry> {
    (
        prop::sample::select(vec!["b.example", "c.example", "xn--bcher-kva.example"]),
        "[a-zA-Z0-9_-]{1,24}",
        any::<u8>(),
        prop::collection::btree_set("[!-~]{1,12}", 0..4),
    )
        .prop_map(|(d, id, priority, tags)| {
            SsiEntry::new(user(&format!("mimi://{d}/u/{id}")), priority)
                .with_tags(tags)
                .unwrap()
        })
}

fn arb_extensions() -> impl Strategy<Value = Extensions> {
    prop::collection::btree_map(
        -300i64..=-1,
        prop::collection::vec(any::<u8>(), 0..20),
        0..3,
    )
    .prop_map(|m| {
        let mut e = Extensions::new();
        for (k, bytes) in m {
            // A byte string item: always a valid generic value.
            e.insert(k, bstr(&bytes)).unwrap();
        }
        e
    })
}

fn arb_assertion() -> impl Strategy<Value = MappingAssertion> {
    (
        any::<u64>(),
        arb_sii(),
        0u64..4_000_000_000,
        1u64..=mimi_discovery::limits::MAX_LIFETIME_SECS,
        prop::collection::vec(arb_entry(), 0..6),
        arb_extensions(),
    )
        .prop_filter_map("unique SSIs", |(serial, sii, iat, life, entries, ext)| {
            MappingAssertion::new(domain("b.example"), serial, sii, iat, iat + life, entries)
                .ok()
                .map(|a| a.with_extensions(ext))
        })
}

fn arb_target() -> impl Strategy<Value = RevocationTarget> {
    prop_oneof![
        any::<u64>().prop_map(RevocationTarget::Serial),
        (arb_sii(), arb_entry()).prop_map(|(sii, e)| RevocationTarget::Mapping {
            sii,
            ssi: e.ssi().clone()
        }),
        arb_sii().prop_map(RevocationTarget::Sii),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn assertions_round_trip(a in arb_assertion()) {
        let payload = a.to_payload();
        prop_assert_eq!(&MappingAssertion::from_payload(&payload).unwrap(), &a);
        let bytes = b_signer().sign_assertion(&a).unwrap();
        let (back, kid) = decode_assertion(&bytes).unwrap();
        prop_assert_eq!(&back, &a);
        prop_assert_eq!(kid, b_kid());
        // Signing is deterministic: one value, one byte string.
        prop_assert_eq!(b_signer().sign_assertion(&back).unwrap(), bytes);
    }

    #[test]
    fn revocations_round_trip(target in arb_target(), iat in any::<u64>(), ext in arb_extensions()) {
        let r = Revocation::new(domain("b.example"), iat, target).with_extensions(ext);
        prop_assert_eq!(&Revocation::from_payload(&r.to_payload()).unwrap(), &r);
        let bytes = b_signer().sign_revocation(&r).unwrap();
        prop_assert_eq!(&decode_revocation(&bytes).unwrap().0, &r);
    }

    #[test]
    fn a_single_byte_change_never_verifies(
        ssis in prop::collection::vec(arb_entry(), 1..3),
        pos in any::<prop::sample::Index>(),
        mask in 1u8..=255,
    ) {
        // b.example may only assert its own domain: keep the entries that qualify.
        let ssis: Vec<SsiEntry> = ssis
            .into_iter()
            .filter(|e| e.provider() == &domain("b.example"))
            .collect();
        let Ok(a) = MappingAssertion::new(domain("b.example"), 1, bob_phone(), NOW - DAY, NOW + DAY, ssis) else {
            return Ok(());
        };
        let bytes = b_signer().sign_assertion(&a).unwrap();
        let none = RevocationSet::new();
        prop_assert!(verify(&bytes, NOW, &trust(), &none).is_verified());
        let mut flipped = bytes.clone();
        flipped[pos.index(bytes.len())] ^= mask;
        prop_assert!(!verify(&flipped, NOW, &trust(), &none).is_verified());
    }

    #[test]
    fn arbitrary_bytes_never_verify(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let t = trust();
        prop_assert!(!verify(&bytes, NOW, &t, &RevocationSet::new()).is_verified());
        prop_assert!(verify_revocation(&bytes, NOW, &t).is_err());
    }
}

#[test]
fn every_single_byte_change_of_bobs_assertion_is_rejected() {
    // Exhaustive over positions, with the three masks that change one bit, the top bits, or
    // the whole byte.
    let t = trust();
    let none = RevocationSet::new();
    let bytes = bob_assertion_bytes();
    for i in 0..bytes.len() {
        for mask in [0x01, 0xe0, 0xff] {
            let mut b = bytes.clone();
            b[i] ^= mask;
            let v = verify(&b, NOW, &t, &none);
            assert!(!v.is_verified(), "byte {i} ^ {mask:#x} verified");
            assert!(
                !matches!(
                    v,
                    Verdict::Expired | Verdict::NotYetValid | Verdict::Revoked
                ),
                "byte {i}: a time or revocation verdict about unauthenticated bytes: {v:?}"
            );
        }
    }
}

#[test]
fn every_single_byte_change_of_a_revocation_is_refused() {
    let t = trust();
    let bytes = revocation(&b_signer(), NOW, RevocationTarget::Sii(bob_phone()));
    for i in 0..bytes.len() {
        let mut b = bytes.clone();
        b[i] ^= 0x01;
        assert!(verify_revocation(&b, NOW, &t).is_err(), "byte {i}");
    }
}
