//! Revocations (discovery-requirements R9, R10): who may remove what, and what it removes.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use mimi_discovery::{
    Error, Malformed, ObjectKind, Reach, Revocation, RevocationSet, RevocationTarget, Verdict,
    decode_revocation, verify, verify_revocation,
};

fn mapping(sii: &mimi_discovery::Sii, ssi: &str) -> RevocationTarget {
    RevocationTarget::Mapping {
        sii: sii.clone(),
        ssi: user(ssi),
    }
}

#[test]
fn the_issuer_revokes_by_serial() {
    let t = trust();
    let mut revs = RevocationSet::new();
    let bytes = bob_assertion_bytes();
    assert!(verify(&bytes, NOW, &t, &revs).is_verified());
    let v = revs
        .insert(
            &revocation(&b_signer(), NOW, RevocationTarget::Serial(1)),
            NOW,
            &t,
        )
        .unwrap();
    assert_eq!(v.reach(), Reach::IssuerOnly);
    assert_eq!(revs.len(), 1);
    assert_eq!(verify(&bytes, NOW, &t, &revs), Verdict::Revoked);
    // Another serial of the same authority is untouched.
    let newer = signed(&b_signer(), 2, &bob_phone(), &["mimi://b.example/u/bob"]);
    assert!(verify(&newer, NOW, &t, &revs).is_verified());
}

#[test]
fn a_serial_revocation_only_reaches_the_signers_own_assertions() {
    let t = trust();
    let mut revs = RevocationSet::new();
    // c.example revokes "serial 1": that is c's serial 1, not b's.
    revs.insert(
        &revocation(&c_signer(), NOW, RevocationTarget::Serial(1)),
        NOW,
        &t,
    )
    .unwrap();
    assert!(verify(&bob_assertion_bytes(), NOW, &t, &revs).is_verified());
}

#[test]
fn the_recipients_provider_removes_its_users_mapping_from_any_authority() {
    let t = trust();
    // The phone authority maps bob's number to b.example and c.example.
    let both = signed(
        &phone_signer(),
        9,
        &bob_phone(),
        &["mimi://b.example/u/bob", "mimi://c.example/u/robert"],
    );
    let only_b = signed(
        &phone_signer(),
        10,
        &bob_phone(),
        &["mimi://b.example/u/bob"],
    );
    let mut revs = RevocationSet::new();
    // Bob asks b.example to remove him: b signs the removal on his behalf (R10 "the recipient").
    let v = revs
        .insert(
            &revocation(
                &b_signer(),
                NOW,
                mapping(&bob_phone(), "mimi://b.example/u/bob"),
            ),
            NOW,
            &t,
        )
        .unwrap();
    assert_eq!(v.reach(), Reach::AllAuthorities);
    // Only b's entry goes; c's stays.
    let v = verify(&both, NOW, &t, &revs).verified().unwrap();
    let left: Vec<_> = v.ssis().iter().map(|e| e.ssi().to_string()).collect();
    assert_eq!(left, ["mimi://c.example/u/robert"]);
    assert_eq!(
        v.assertion().ssis().len(),
        2,
        "the signed assertion is unchanged"
    );
    // An assertion whose every entry is removed is revoked.
    assert_eq!(verify(&only_b, NOW, &t, &revs), Verdict::Revoked);
    // The provider's own assertion too.
    assert_eq!(
        verify(&bob_assertion_bytes(), NOW, &t, &revs),
        Verdict::Revoked
    );
}

#[test]
fn a_removal_applies_only_to_assertions_issued_at_or_before_it() {
    let t = trust();
    let mut revs = RevocationSet::new();
    revs.insert(
        &revocation(
            &b_signer(),
            NOW - DAY,
            mapping(&bob_phone(), "mimi://b.example/u/bob"),
        ),
        NOW,
        &t,
    )
    .unwrap();
    let b = b_signer();
    let sign = |iat| {
        b.sign_assertion(&assertion_at(
            &b,
            iat,
            &bob_phone(),
            &["mimi://b.example/u/bob"],
            iat,
            iat + 10 * DAY,
        ))
        .unwrap()
    };
    assert_eq!(
        verify(&sign(NOW - 2 * DAY), NOW, &t, &revs),
        Verdict::Revoked
    );
    assert_eq!(verify(&sign(NOW - DAY), NOW, &t, &revs), Verdict::Revoked);
    // Bob signed up again later: the newer assertion stands.
    assert!(verify(&sign(NOW - DAY + 1), NOW, &t, &revs).is_verified());
}

#[test]
fn the_sii_issuer_removes_every_mapping_of_a_reassigned_number() {
    let t = trust();
    let mut revs = RevocationSet::new();
    let v = revs
        .insert(
            &revocation(&carrier_signer(), NOW, RevocationTarget::Sii(bob_phone())),
            NOW,
            &t,
        )
        .unwrap();
    assert_eq!(v.reach(), Reach::AllAuthorities);
    assert_eq!(
        verify(&bob_assertion_bytes(), NOW, &t, &revs),
        Verdict::Revoked
    );
    let by_phone_authority = signed(&phone_signer(), 1, &bob_phone(), &["mimi://c.example/u/x"]);
    assert_eq!(
        verify(&by_phone_authority, NOW, &t, &revs),
        Verdict::Revoked
    );
    // Even an opt-out (empty) assertion of the number is revoked.
    let empty = signed(&b_signer(), 5, &bob_phone(), &[]);
    assert_eq!(verify(&empty, NOW, &t, &revs), Verdict::Revoked);
    // Other numbers are untouched.
    let other = signed(
        &b_signer(),
        1,
        &sii("+12025550102"),
        &["mimi://b.example/u/bob"],
    );
    assert!(verify(&other, NOW, &t, &revs).is_verified());
    // The carrier may also remove one mapping, across authorities.
    let mut revs = RevocationSet::new();
    let v = revs
        .insert(
            &revocation(
                &carrier_signer(),
                NOW,
                mapping(&bob_phone(), "mimi://c.example/u/x"),
            ),
            NOW,
            &t,
        )
        .unwrap();
    assert_eq!(v.reach(), Reach::AllAuthorities);
    assert_eq!(
        verify(&by_phone_authority, NOW, &t, &revs),
        Verdict::Revoked
    );
}

#[test]
fn an_issuer_withdrawing_by_mapping_or_sii_reaches_only_its_own_assertions() {
    let t = trust();
    let mut revs = RevocationSet::new();
    // The phone authority withdraws bob→b.example: its own assertions only.
    let v = revs
        .insert(
            &revocation(
                &phone_signer(),
                NOW,
                mapping(&bob_phone(), "mimi://b.example/u/bob"),
            ),
            NOW,
            &t,
        )
        .unwrap();
    assert_eq!(v.reach(), Reach::IssuerOnly);
    let by_phone = signed(
        &phone_signer(),
        1,
        &bob_phone(),
        &["mimi://b.example/u/bob"],
    );
    assert_eq!(verify(&by_phone, NOW, &t, &revs), Verdict::Revoked);
    assert!(verify(&bob_assertion_bytes(), NOW, &t, &revs).is_verified());

    let mut revs = RevocationSet::new();
    let v = revs
        .insert(
            &revocation(&b_signer(), NOW, RevocationTarget::Sii(bob_phone())),
            NOW,
            &t,
        )
        .unwrap();
    assert_eq!(v.reach(), Reach::IssuerOnly);
    assert_eq!(
        verify(&bob_assertion_bytes(), NOW, &t, &revs),
        Verdict::Revoked
    );
    assert!(verify(&by_phone, NOW, &t, &revs).is_verified());
}

#[test]
fn a_revocation_signed_by_someone_else_is_refused() {
    let t = trust();
    let mut revs = RevocationSet::new();
    // c.example may not remove b.example's users' mappings.
    let r = revs.insert(
        &revocation(
            &c_signer(),
            NOW,
            mapping(&bob_phone(), "mimi://b.example/u/bob"),
        ),
        NOW,
        &t,
    );
    assert!(matches!(r, Err(Error::NotAuthorized(_))), "{r:?}");
    // The carrier issues +1 numbers only.
    let r = revs.insert(
        &revocation(
            &carrier_signer(),
            NOW,
            RevocationTarget::Sii(sii("+442079460958")),
        ),
        NOW,
        &t,
    );
    assert!(matches!(r, Err(Error::NotAuthorized(_))));
    // The carrier asserts nothing, so it has no serials to revoke.
    let r = revs.insert(
        &revocation(&carrier_signer(), NOW, RevocationTarget::Serial(1)),
        NOW,
        &t,
    );
    assert!(matches!(r, Err(Error::NotAuthorized(_))));
    // An untrusted signer.
    let r = revs.insert(
        &revocation(&evil_signer(), NOW, RevocationTarget::Sii(bob_phone())),
        NOW,
        &t,
    );
    assert!(matches!(r, Err(Error::UnknownAuthority { .. })));
    // A forged signature: b.example's revocation re-signed by evil under b's kid.
    let payload =
        Revocation::new(domain("b.example"), NOW, RevocationTarget::Sii(bob_phone())).to_payload();
    let forged = sign_raw(
        &protected(mimi_discovery::REVOCATION_CONTENT_TYPE, b_kid().as_bytes()),
        &[0xa0],
        &payload,
        &EVIL_KEY,
    );
    assert_eq!(revs.insert(&forged, NOW, &t), Err(Error::BadSignature));
    assert!(revs.is_empty());

    // c.example withdrawing a whole SII is accepted, but reaches only c's own assertions.
    let v = revs
        .insert(
            &revocation(&c_signer(), NOW, RevocationTarget::Sii(bob_phone())),
            NOW,
            &t,
        )
        .unwrap();
    assert_eq!(v.reach(), Reach::IssuerOnly);
    assert!(verify(&bob_assertion_bytes(), NOW, &t, &revs).is_verified());
}

#[test]
fn a_revocation_dated_in_the_future_is_refused() {
    let t = trust();
    let far = revocation(
        &b_signer(),
        NOW + DAY,
        mapping(&bob_phone(), "mimi://b.example/u/bob"),
    );
    assert!(matches!(
        verify_revocation(&far, NOW, &t),
        Err(Error::NotYetValid { .. })
    ));
    let near = revocation(
        &b_signer(),
        NOW + t.clock_skew(),
        mapping(&bob_phone(), "mimi://b.example/u/bob"),
    );
    assert!(verify_revocation(&near, NOW, &t).is_ok());
}

#[test]
fn assertions_and_revocations_cannot_be_confused() {
    let t = trust();
    let rev = revocation(&b_signer(), NOW, RevocationTarget::Serial(1));
    assert_eq!(
        verify(&rev, NOW, &t, &RevocationSet::new()),
        Verdict::Malformed(Malformed::WrongKind {
            expected: ObjectKind::Assertion
        })
    );
    assert_eq!(
        verify_revocation(&bob_assertion_bytes(), NOW, &t),
        Err(Error::Malformed(Malformed::WrongKind {
            expected: ObjectKind::Revocation
        }))
    );
    // A revocation payload under the assertion content type: the payload type field disagrees.
    let payload =
        Revocation::new(domain("b.example"), NOW, RevocationTarget::Serial(1)).to_payload();
    let bytes = sign_assertion_payload(&payload);
    assert_eq!(
        verify(&bytes, NOW, &t, &RevocationSet::new()),
        Verdict::Malformed(Malformed::WrongKind {
            expected: ObjectKind::Assertion
        })
    );
}

#[test]
fn revocations_round_trip() {
    for target in [
        RevocationTarget::Serial(u64::MAX),
        mapping(&sii("bob@mail.example"), "mimi://b.example/u/bob"),
        RevocationTarget::Sii(bob_phone()),
    ] {
        let r = Revocation::new(domain("b.example"), NOW, target);
        assert_eq!(Revocation::from_payload(&r.to_payload()).unwrap(), r);
        let bytes = b_signer().sign_revocation(&r).unwrap();
        let (back, kid) = decode_revocation(&bytes).unwrap();
        assert_eq!(back, r);
        assert_eq!(kid, b_kid());
    }
}
