//! Verdicts of `verify` for one assertion: every rejection reason, and what verifies.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use mimi_discovery::{
    Error, Malformed, MappingAssertion, RevocationSet, Signer, SsiEntry, Verdict, decode_assertion,
    verify, verify_assertion,
};

fn check(bytes: &[u8]) -> Verdict {
    verify(bytes, NOW, &trust(), &RevocationSet::new())
}

#[test]
fn a_provider_assertion_for_its_own_user_verifies() {
    let bytes = bob_assertion_bytes();
    let v = check(&bytes).verified().expect("verified");
    assert_eq!(v.assertion().sii(), &bob_phone());
    assert_eq!(v.assertion().authority(), &domain("b.example"));
    assert_eq!(v.kid(), &b_kid());
    assert_eq!(v.ssis().len(), 1);
    assert_eq!(v.ssis()[0].ssi(), &user("mimi://b.example/u/bob"));
    assert_eq!(v.ssis()[0].provider(), &domain("b.example"));
}

#[test]
fn a_third_party_phone_authority_may_assert_any_domain() {
    let bytes = signed(
        &phone_signer(),
        7,
        &bob_phone(),
        &["mimi://b.example/u/bob", "mimi://c.example/u/robert"],
    );
    let v = check(&bytes).verified().expect("verified");
    let ssis: Vec<_> = v.ssis().iter().map(|e| e.ssi().to_string()).collect();
    assert_eq!(
        ssis,
        ["mimi://b.example/u/bob", "mimi://c.example/u/robert"]
    );
}

#[test]
fn preferences_and_tags_survive_signing() {
    let a = MappingAssertion::new(
        domain("phone-authority.example"),
        3,
        bob_phone(),
        NOW - DAY,
        NOW + DAY,
        vec![
            SsiEntry::new(user("mimi://c.example/u/robert"), 5)
                .with_tags(["personal", "Friends"])
                .unwrap(),
            SsiEntry::new(user("mimi://b.example/u/bob"), 0)
                .with_tags(["business"])
                .unwrap(),
        ],
    )
    .unwrap();
    let bytes = phone_signer().sign_assertion(&a).unwrap();
    let v = check(&bytes).verified().unwrap();
    assert_eq!(v.assertion(), &a);
    assert_eq!(v.ssis()[0].priority(), 0);
    assert_eq!(v.ssis()[0].tags(), ["business"]);
    assert_eq!(v.ssis()[1].tags(), ["Friends", "personal"]);
}

#[test]
fn an_empty_mapping_verifies_as_opt_out() {
    // discovery-requirements R5: "one or more mappings exist, but without listed MSPs".
    let bytes = signed(&b_signer(), 2, &bob_phone(), &[]);
    let v = check(&bytes).verified().unwrap();
    assert!(v.ssis().is_empty());
}

#[test]
fn an_untrusted_authority_is_unknown() {
    let bytes = signed(
        &evil_signer(),
        1,
        &bob_phone(),
        &["mimi://evil.example/u/bob"],
    );
    assert_eq!(check(&bytes), Verdict::UnknownAuthority);
    assert!(matches!(
        verify_assertion(&bytes, NOW, &trust(), &RevocationSet::new()),
        Err(Error::UnknownAuthority { authority, .. }) if authority == "evil.example"
    ));
}

#[test]
fn an_untrusted_key_claiming_a_trusted_authority_is_unknown() {
    // evil's key, but the payload names b.example and evil's kid: the kid is not b's.
    let evil_as_b = Signer::from_secret(domain("b.example"), &EVIL_KEY);
    let bytes = signed(&evil_as_b, 1, &bob_phone(), &["mimi://b.example/u/bob"]);
    assert_eq!(check(&bytes), Verdict::UnknownAuthority);
}

#[test]
fn the_wrong_kid_is_a_bad_signature_or_unknown() {
    // Signed with b's first key, but naming b's second key id: a known key that did not sign.
    let liar = Signer::new(
        domain("b.example"),
        b_second_signer().kid().clone(),
        ed25519_dalek::SigningKey::from_bytes(&B_KEY),
    );
    let bytes = signed(&liar, 1, &bob_phone(), &["mimi://b.example/u/bob"]);
    assert_eq!(check(&bytes), Verdict::BadSignature);

    // A key id b.example never published.
    let unknown_kid = Signer::new(
        domain("b.example"),
        mimi_discovery::KeyId::new(*b"no-such-key").unwrap(),
        ed25519_dalek::SigningKey::from_bytes(&B_KEY),
    );
    let bytes = signed(&unknown_kid, 1, &bob_phone(), &["mimi://b.example/u/bob"]);
    assert_eq!(check(&bytes), Verdict::UnknownAuthority);

    // b's second (rotated-in) key verifies under its own kid.
    let bytes = signed(
        &b_second_signer(),
        1,
        &bob_phone(),
        &["mimi://b.example/u/bob"],
    );
    assert!(check(&bytes).is_verified());
}

#[test]
fn a_provider_asserting_a_foreign_domain_is_not_authorized() {
    let bytes = signed(&b_signer(), 1, &bob_phone(), &["mimi://c.example/u/bob"]);
    assert_eq!(check(&bytes), Verdict::NotAuthorized);
    // One foreign entry among own ones is enough.
    let bytes = signed(
        &b_signer(),
        1,
        &bob_phone(),
        &["mimi://b.example/u/bob", "mimi://c.example/u/bob"],
    );
    assert_eq!(check(&bytes), Verdict::NotAuthorized);
}

#[test]
fn an_authority_outside_its_sii_scope_is_not_authorized() {
    // The phone authority may not assert email addresses.
    let bytes = signed(
        &phone_signer(),
        1,
        &sii("bob@mail.example"),
        &["mimi://b.example/u/bob"],
    );
    assert_eq!(check(&bytes), Verdict::NotAuthorized);
    // The carrier is an SII issuer: it removes mappings but never asserts them.
    let bytes = signed(
        &carrier_signer(),
        1,
        &bob_phone(),
        &["mimi://b.example/u/bob"],
    );
    assert_eq!(check(&bytes), Verdict::NotAuthorized);
}

#[test]
fn expired_and_not_yet_valid() {
    let b = b_signer();
    let t = trust();
    let none = RevocationSet::new();
    let skew = t.clock_skew();
    let make = |iat, exp| {
        b.sign_assertion(&assertion_at(
            &b,
            1,
            &bob_phone(),
            &["mimi://b.example/u/bob"],
            iat,
            exp,
        ))
        .unwrap()
    };
    let expired = make(NOW - 30 * DAY, NOW - DAY);
    assert_eq!(verify(&expired, NOW, &t, &none), Verdict::Expired);
    assert!(matches!(
        verify_assertion(&expired, NOW, &t, &none),
        Err(Error::Expired { expires_at, now }) if expires_at == NOW - DAY && now == NOW
    ));
    let future = make(NOW + DAY, NOW + 30 * DAY);
    assert_eq!(verify(&future, NOW, &t, &none), Verdict::NotYetValid);

    // Boundaries: both ends inclusive, widened by the skew.
    let edge = make(NOW + skew, NOW + DAY);
    assert!(verify(&edge, NOW, &t, &none).is_verified());
    let edge = make(NOW + skew + 1, NOW + DAY);
    assert_eq!(verify(&edge, NOW, &t, &none), Verdict::NotYetValid);
    let edge = make(NOW - DAY, NOW - skew);
    assert!(verify(&edge, NOW, &t, &none).is_verified());
    let edge = make(NOW - DAY, NOW - skew - 1);
    assert_eq!(verify(&edge, NOW, &t, &none), Verdict::Expired);

    // Extreme clocks do not overflow.
    assert_eq!(verify(&edge, u64::MAX, &t, &none), Verdict::Expired);
    assert_eq!(verify(&future, 0, &t, &none), Verdict::NotYetValid);
}

#[test]
fn a_bad_signature_is_reported_only_after_authority_and_key() {
    let mut bytes = bob_assertion_bytes();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    assert_eq!(check(&bytes), Verdict::BadSignature);
}

#[test]
fn a_tampered_payload_does_not_verify() {
    let (prot, payload, sig) = split(&bob_assertion_bytes());
    // Re-point bob's SSI to mallory, same length so every head stays valid.
    let needle = b"mimi://b.example/u/bob";
    let pos = payload
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap();
    let mut evil = payload.clone();
    evil[pos + needle.len() - 3..pos + needle.len()].copy_from_slice(b"eve");
    let mut bytes = vec![0xd2, 0x84];
    bytes.extend(bstr(&prot));
    bytes.push(0xa0);
    bytes.extend(bstr(&evil));
    bytes.extend(bstr(&sig));
    assert_eq!(
        decode_assertion(&bytes).unwrap().0.ssis()[0].ssi(),
        &user("mimi://b.example/u/eve")
    );
    assert_eq!(check(&bytes), Verdict::BadSignature);

    // A later expiry, same encoded length.
    let a = assertion(&b_signer(), 1, &bob_phone(), &["mimi://b.example/u/bob"]);
    let old = a.to_payload();
    let longer = MappingAssertion::new(
        a.authority().clone(),
        a.serial(),
        a.sii().clone(),
        a.issued_at(),
        a.expires_at() + 1000,
        a.ssis().to_vec(),
    )
    .unwrap()
    .to_payload();
    assert_eq!(old.len(), longer.len());
    let mut bytes = vec![0xd2, 0x84];
    bytes.extend(bstr(&prot));
    bytes.push(0xa0);
    bytes.extend(bstr(&longer));
    bytes.extend(bstr(&sig));
    assert_eq!(check(&bytes), Verdict::BadSignature);
}

#[test]
fn a_tampered_protected_header_does_not_verify() {
    let (prot, payload, sig) = split(&bob_assertion_bytes());
    let assemble = |p: &[u8]| {
        let mut bytes = vec![0xd2, 0x84];
        bytes.extend(bstr(p));
        bytes.push(0xa0);
        bytes.extend(bstr(&payload));
        bytes.extend(bstr(&sig));
        bytes
    };
    // The same header re-encoded identically verifies (sanity check of the splice).
    assert!(check(&assemble(&prot)).is_verified());
    // Naming b's other key.
    let other = protected(
        mimi_discovery::ASSERTION_CONTENT_TYPE,
        b_second_signer().kid().as_bytes(),
    );
    assert_eq!(check(&assemble(&other)), Verdict::BadSignature);
    // Changing the algorithm to EdDSA (-8): refused before any key is looked at.
    let mut alg = prot.clone();
    assert_eq!(alg[2], 0x32);
    alg[2] = 0x27;
    assert_eq!(
        check(&assemble(&alg)),
        Verdict::Malformed(Malformed::Algorithm)
    );
}

#[test]
fn a_signature_over_the_same_payload_by_another_trusted_authority_is_bad() {
    // c.example signs b.example's payload and names its own kid: the payload says b.example,
    // so b's keys are looked up and c's kid is not among them.
    let payload = assertion(&b_signer(), 1, &bob_phone(), &["mimi://b.example/u/bob"]).to_payload();
    let bytes = sign_raw(
        &protected(
            mimi_discovery::ASSERTION_CONTENT_TYPE,
            c_signer().kid().as_bytes(),
        ),
        &[0xa0],
        &payload,
        &C_KEY,
    );
    assert_eq!(check(&bytes), Verdict::UnknownAuthority);
    // ... and naming b's kid, the signature is c's: bad.
    let bytes = sign_raw(
        &protected(mimi_discovery::ASSERTION_CONTENT_TYPE, b_kid().as_bytes()),
        &[0xa0],
        &payload,
        &C_KEY,
    );
    assert_eq!(check(&bytes), Verdict::BadSignature);
}

#[test]
fn coset_reads_what_we_write_and_agrees_on_the_signature() {
    use coset::TaggedCborSerializable;
    let bytes = bob_assertion_bytes();
    let sign1 = coset::CoseSign1::from_tagged_slice(&bytes).unwrap();
    assert_eq!(
        sign1.protected.header.alg,
        Some(coset::RegisteredLabelWithPrivate::Assigned(
            coset::iana::Algorithm::Ed25519
        ))
    );
    assert_eq!(sign1.protected.header.key_id, b_kid().as_bytes());
    assert_eq!(
        sign1.protected.header.content_type,
        Some(coset::ContentType::Text(
            mimi_discovery::ASSERTION_CONTENT_TYPE.to_owned()
        ))
    );
    assert!(sign1.unprotected.is_empty());
    let key = b_signer().verifying_key();
    sign1
        .verify_signature(&[], |sig, tbs| {
            key.verify_strict(tbs, &ed25519_dalek::Signature::from_slice(sig).unwrap())
        })
        .unwrap();
    // Deterministic signatures: signing twice gives the same bytes.
    assert_eq!(bytes, bob_assertion_bytes());
}

#[test]
fn signer_refuses_an_assertion_naming_another_authority() {
    let a = assertion(&c_signer(), 1, &bob_phone(), &["mimi://c.example/u/bob"]);
    assert!(matches!(
        b_signer().sign_assertion(&a),
        Err(Error::Invalid(Malformed::Identifier(_)))
    ));
}
