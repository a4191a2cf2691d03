//! A lying distribution point: substitution, replay, drop, equivocation, rollback.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use common::*;
use mimi_discovery::{
    Error, LookupRejection, Rejected, RevocationSet, RevocationTarget, check_lookup,
    check_lookup_with_floor, limits::MAX_LOOKUP_ITEMS,
};

fn ssis(out: &mimi_discovery::LookupOutcome) -> Vec<String> {
    out.ssis().iter().map(|e| e.ssi().to_string()).collect()
}

#[test]
fn zero_one_or_many_mappings() {
    // discovery-requirements R5.
    let t = trust();
    let none = RevocationSet::new();
    let empty: [Vec<u8>; 0] = [];
    let out = check_lookup(&bob_phone(), &empty, NOW, &t, &none);
    assert!(out.mappings.is_empty() && out.rejected.is_empty());

    let answer = [
        bob_assertion_bytes(),
        signed(&c_signer(), 4, &bob_phone(), &["mimi://c.example/u/robert"]),
        signed(
            &phone_signer(),
            2,
            &bob_phone(),
            &["mimi://c.example/u/robert", "mimi://b.example/u/bob"],
        ),
    ];
    let out = check_lookup(&bob_phone(), &answer, NOW, &t, &none);
    assert!(out.rejected.is_empty(), "{:?}", out.rejected);
    assert_eq!(out.mappings.len(), 3);
    let authorities: Vec<_> = out
        .mappings
        .iter()
        .map(|m| m.assertion().authority().to_string())
        .collect();
    assert_eq!(
        authorities,
        ["b.example", "c.example", "phone-authority.example"]
    );
    // Flattened: each SSI once, best priority first.
    assert_eq!(
        ssis(&out),
        ["mimi://b.example/u/bob", "mimi://c.example/u/robert"]
    );
    assert_eq!(out.newest_serials[&domain("c.example")], 4);
}

#[test]
fn a_substituted_assertion_for_another_sii_is_rejected() {
    let t = trust();
    let alice = sii("+12025550102");
    // Genuine, valid — but for alice's number, not bob's.
    let answer = [signed(
        &b_signer(),
        1,
        &alice,
        &["mimi://b.example/u/mallory"],
    )];
    let out = check_lookup(&bob_phone(), &answer, NOW, &t, &RevocationSet::new());
    assert!(out.mappings.is_empty());
    assert_eq!(
        out.rejected,
        [Rejected {
            index: 0,
            reason: LookupRejection::OtherSii
        }]
    );
    // Also for an email SII that merely looks similar.
    let answer = [signed(
        &b_signer(),
        1,
        &sii("+12025550101@b.example"),
        &["mimi://b.example/u/mallory"],
    )];
    let out = check_lookup(&bob_phone(), &answer, NOW, &t, &RevocationSet::new());
    assert_eq!(out.rejected[0].reason, LookupRejection::OtherSii);
}

#[test]
fn a_forged_or_untrusted_assertion_is_rejected() {
    let t = trust();
    let mut forged = bob_assertion_bytes();
    let n = forged.len();
    forged[n - 5] ^= 0x40;
    let answer = [
        forged,
        signed(
            &evil_signer(),
            1,
            &bob_phone(),
            &["mimi://evil.example/u/bob"],
        ),
        signed(&b_signer(), 1, &bob_phone(), &["mimi://c.example/u/eve"]),
        b"not an assertion".to_vec(),
    ];
    let out = check_lookup(&bob_phone(), &answer, NOW, &t, &RevocationSet::new());
    assert!(out.mappings.is_empty());
    let reasons: Vec<_> = out.rejected.iter().map(|r| r.reason.clone()).collect();
    assert!(matches!(
        reasons[0],
        LookupRejection::Invalid(Error::BadSignature)
    ));
    assert!(matches!(
        reasons[1],
        LookupRejection::Invalid(Error::UnknownAuthority { .. })
    ));
    assert!(matches!(
        reasons[2],
        LookupRejection::Invalid(Error::NotAuthorized(_))
    ));
    assert!(matches!(
        reasons[3],
        LookupRejection::Invalid(Error::Malformed(_))
    ));
}

#[test]
fn a_replayed_older_serial_loses_to_the_newer_one() {
    let t = trust();
    // Bob moved from b.example/u/bob to b.example/u/robert; the authority issued serial 2.
    let old = signed(&b_signer(), 1, &bob_phone(), &["mimi://b.example/u/bob"]);
    let new = signed(&b_signer(), 2, &bob_phone(), &["mimi://b.example/u/robert"]);
    for answer in [[old.clone(), new.clone()], [new.clone(), old.clone()]] {
        let out = check_lookup(&bob_phone(), &answer, NOW, &t, &RevocationSet::new());
        assert_eq!(ssis(&out), ["mimi://b.example/u/robert"]);
        assert_eq!(out.rejected.len(), 1);
        assert_eq!(
            out.rejected[0].reason,
            LookupRejection::Superseded { serial: 2 }
        );
    }
}

#[test]
fn a_revoked_or_expired_newest_serial_does_not_resurrect_an_older_one() {
    let t = trust();
    let old = signed(&b_signer(), 1, &bob_phone(), &["mimi://b.example/u/bob"]);
    let new = signed(&b_signer(), 2, &bob_phone(), &["mimi://b.example/u/robert"]);
    let mut revs = RevocationSet::new();
    revs.insert(
        &revocation(&b_signer(), NOW, RevocationTarget::Serial(2)),
        NOW,
        &t,
    )
    .unwrap();
    let out = check_lookup(&bob_phone(), &[old.clone(), new], NOW, &t, &revs);
    assert!(out.mappings.is_empty(), "serial 1 must not come back");
    assert!(
        out.rejected
            .iter()
            .any(|r| r.reason == LookupRejection::Invalid(Error::Revoked))
    );

    let b = b_signer();
    let expired_new = b
        .sign_assertion(&assertion_at(
            &b,
            3,
            &bob_phone(),
            &["mimi://b.example/u/robert"],
            NOW - 10 * DAY,
            NOW - 2 * DAY,
        ))
        .unwrap();
    let out = check_lookup(
        &bob_phone(),
        &[old, expired_new],
        NOW,
        &t,
        &RevocationSet::new(),
    );
    assert!(out.mappings.is_empty());
}

#[test]
fn dropping_cannot_be_detected_from_one_answer_but_a_second_point_restores_it() {
    let t = trust();
    let none = RevocationSet::new();
    let b = bob_assertion_bytes();
    let c = signed(&c_signer(), 1, &bob_phone(), &["mimi://c.example/u/robert"]);
    // The lying point drops c's assertion: the answer is still a valid (smaller) one.
    let lying = check_lookup(&bob_phone(), std::slice::from_ref(&b), NOW, &t, &none);
    assert_eq!(ssis(&lying), ["mimi://b.example/u/bob"]);
    // The client asks a second point and checks the union.
    let honest = [b.clone(), c.clone()];
    let union: Vec<&[u8]> = [b.as_slice()]
        .into_iter()
        .chain(honest.iter().map(Vec::as_slice))
        .collect();
    let out = check_lookup(&bob_phone(), &union, NOW, &t, &none);
    assert_eq!(
        ssis(&out),
        ["mimi://b.example/u/bob", "mimi://c.example/u/robert"]
    );
    assert_eq!(out.rejected[0].reason, LookupRejection::Duplicate);
}

#[test]
fn a_client_floor_detects_a_rolled_back_answer() {
    let t = trust();
    let none = RevocationSet::new();
    let new = signed(&b_signer(), 2, &bob_phone(), &["mimi://b.example/u/robert"]);
    let first = check_lookup(&bob_phone(), &[new], NOW, &t, &none);
    let floor: BTreeMap<_, _> = first.newest_serials.clone();
    assert_eq!(floor[&domain("b.example")], 2);
    // Later, a point serves only the old serial (it dropped serial 2).
    let old = signed(&b_signer(), 1, &bob_phone(), &["mimi://b.example/u/bob"]);
    let out = check_lookup_with_floor(
        &bob_phone(),
        std::slice::from_ref(&old),
        NOW,
        &t,
        &none,
        &floor,
    );
    assert!(out.mappings.is_empty());
    assert_eq!(out.stale, [domain("b.example")]);
    assert_eq!(
        out.rejected[0].reason,
        LookupRejection::RolledBack { floor: 2 }
    );
    // Without the floor the old one would have been accepted: this is the documented limit.
    let out = check_lookup(&bob_phone(), &[old], NOW, &t, &none);
    assert_eq!(ssis(&out), ["mimi://b.example/u/bob"]);
}

#[test]
fn an_equivocating_authority_contributes_nothing() {
    let t = trust();
    let one = signed(&b_signer(), 5, &bob_phone(), &["mimi://b.example/u/bob"]);
    let two = signed(&b_signer(), 5, &bob_phone(), &["mimi://b.example/u/robert"]);
    let c = signed(&c_signer(), 1, &bob_phone(), &["mimi://c.example/u/robert"]);
    let out = check_lookup(&bob_phone(), &[one, two, c], NOW, &t, &RevocationSet::new());
    assert_eq!(ssis(&out), ["mimi://c.example/u/robert"]);
    let equivocations = out
        .rejected
        .iter()
        .filter(|r| r.reason == LookupRejection::Equivocation)
        .count();
    assert_eq!(equivocations, 2);
}

#[test]
fn an_oversized_answer_is_cut() {
    let t = trust();
    let b = bob_assertion_bytes();
    let answer = vec![b; MAX_LOOKUP_ITEMS + 2];
    let out = check_lookup(&bob_phone(), &answer, NOW, &t, &RevocationSet::new());
    assert_eq!(out.mappings.len(), 1);
    let excess = out
        .rejected
        .iter()
        .filter(|r| r.reason == LookupRejection::Excess)
        .count();
    assert_eq!(excess, 2);
}

#[test]
fn revocations_served_with_the_answer_are_verified_and_applied() {
    // A distribution point serves revocations beside the assertions (docs/discovery.md §6.3
    // step 2): the client needs no other channel to learn of a removal.
    let t = trust();
    let bob = bob_phone();
    let none = RevocationSet::new();
    let removal = revocation(&b_signer(), NOW, RevocationTarget::Sii(bob.clone()));
    let answer = [bob_assertion_bytes(), removal.clone()];
    let out = check_lookup(&bob, &answer, NOW, &t, &none);
    assert!(out.mappings.is_empty(), "{:?}", out.mappings);
    assert_eq!(out.revocations.len(), 1);
    assert_eq!(
        out.rejected,
        [Rejected {
            index: 0,
            reason: LookupRejection::Invalid(Error::Revoked)
        }]
    );

    // A revocation for another SII is a substitution and does not touch bob's mapping.
    let other = revocation(&b_signer(), NOW, RevocationTarget::Sii(sii("+12025550102")));
    let out = check_lookup(&bob, &[bob_assertion_bytes(), other], NOW, &t, &none);
    assert_eq!(ssis(&out), ["mimi://b.example/u/bob"]);
    assert_eq!(out.rejected[0].reason, LookupRejection::OtherSii);
    assert!(out.revocations.is_empty());

    // A forged revocation (an untrusted signer) is rejected and removes nothing.
    let forged = revocation(&evil_signer(), NOW, RevocationTarget::Sii(bob.clone()));
    let out = check_lookup(&bob, &[bob_assertion_bytes(), forged], NOW, &t, &none);
    assert_eq!(ssis(&out), ["mimi://b.example/u/bob"]);
    assert!(matches!(
        out.rejected[0].reason,
        LookupRejection::Invalid(Error::UnknownAuthority { .. })
    ));

    // A serial revocation removes exactly that assertion; a newer serial is not covered.
    let by_serial = revocation(&b_signer(), NOW, RevocationTarget::Serial(1));
    let out = check_lookup(
        &bob,
        &[bob_assertion_bytes(), by_serial.clone()],
        NOW,
        &t,
        &none,
    );
    assert!(out.mappings.is_empty());
    let newer = signed(&b_signer(), 2, &bob, &["mimi://b.example/u/bob"]);
    let out = check_lookup(&bob, &[newer, by_serial], NOW, &t, &none);
    assert_eq!(ssis(&out), ["mimi://b.example/u/bob"]);

    // An assertion issued after an SII revocation is not covered by it (§13.3).
    let reissued = assertion_at(
        &b_signer(),
        3,
        &bob,
        &["mimi://b.example/u/bob"],
        NOW + 1,
        NOW + 10 * DAY,
    );
    let reissued = b_signer().sign_assertion(&reissued).unwrap();
    let out = check_lookup(&bob, &[reissued, removal], NOW + 2, &t, &none);
    assert_eq!(ssis(&out), ["mimi://b.example/u/bob"]);
}
