//! The mapping authority (docs/discovery.md §13): proof of control by one-time code, issuing,
//! renewing, revoking, and its state.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use mimi_discovery::{
    AuthorityConfig, ChallengeId, CodeSender, Error, FileCodeSender, MappingAuthority, Permissions,
    ProofOfControl, RateLimit, Reach, RecordingSender, RevocationSet, RevocationTarget, Signer,
    Sii, SiiPattern, SiiScope, SsiEntry, TrustSet, Verdict, check_lookup, decode_assertion, verify,
    verify_revocation,
};
use mimi_types::id::UserUri;
use rand_core::{CryptoRng, RngCore};

/// A deterministic RNG (SplitMix64). For tests only: it is not cryptographic.
struct TestRng(u64);

impl RngCore for TestRng {
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for TestRng {}

fn rng() -> TestRng {
    TestRng(42)
}

const HOUR: u64 = 3_600;
const BOB: &str = "mimi://b.example/u/bob";

/// `b.example` as its own mapping authority, with a recording sender.
fn b_authority() -> MappingAuthority<RecordingSender> {
    MappingAuthority::provider(
        b_signer(),
        AuthorityConfig::default(),
        RecordingSender::new(),
    )
    .unwrap()
}

/// The third-party phone authority (any phone number, any domain).
fn phone_authority() -> MappingAuthority<RecordingSender> {
    MappingAuthority::new(
        phone_signer(),
        Permissions::sii_authority(SiiScope::of([SiiPattern::AnyPhone])),
        AuthorityConfig::default(),
        RecordingSender::new(),
    )
    .unwrap()
}

fn trust_of<S: CodeSender>(a: &MappingAuthority<S>) -> TrustSet {
    let mut t = TrustSet::new();
    t.insert(a.trust_entry().unwrap());
    t
}

fn bob_entry() -> SsiEntry {
    SsiEntry::new(user(BOB), 0)
}

/// Challenge, code from the recording sender, proof.
fn prove(
    a: &mut MappingAuthority<RecordingSender>,
    sii: &Sii,
    ssis: &[&str],
    now: u64,
) -> ProofOfControl {
    let ssis: Vec<UserUri> = ssis.iter().map(|s| user(s)).collect();
    let id = a.start_proof(sii, &ssis, now, &mut rng()).unwrap();
    let code = a.sender().last_code_for(sii).unwrap().to_owned();
    a.complete_proof(&id, &code, now + 30).unwrap()
}

/// Prove control of Bob's phone at `NOW` and issue his mapping to `b.example` for 14 days.
fn issue_bob(a: &mut MappingAuthority<RecordingSender>) -> Vec<u8> {
    let proof = prove(a, &bob_phone(), &[BOB], NOW);
    a.issue(&proof, &bob_phone(), vec![bob_entry()], 14 * DAY, NOW + 60)
        .unwrap()
}

/// A code that is certainly wrong.
fn wrong(code: &str) -> String {
    let first = if code.starts_with('0') { '1' } else { '0' };
    format!("{first}{}", &code[1..])
}

#[test]
fn full_flow_challenge_code_proof_issue_verify() {
    let mut a = b_authority();
    let id = a
        .start_proof(&bob_phone(), &[user(BOB)], NOW, &mut rng())
        .unwrap();
    assert_eq!(a.pending_challenges(), 1);

    // The sender got the code with what it authorizes.
    let sent = &a.sender().sent()[0];
    assert_eq!(sent.sii, bob_phone());
    assert_eq!(sent.code.len(), 6);
    assert!(sent.code.bytes().all(|b| b.is_ascii_digit()));
    assert_eq!(sent.requested_ssis, vec![user(BOB)]);
    assert_eq!(sent.expires_at, NOW + 600);

    let code = sent.code.clone();
    let proof = a.complete_proof(&id, &code, NOW + 45).unwrap();
    assert_eq!(proof.sii(), &bob_phone());
    assert_eq!(proof.proven_at(), NOW + 45);
    assert_eq!(proof.requested_ssis(), &[user(BOB)]);
    assert_eq!(a.pending_challenges(), 0);

    let entry = bob_entry().with_tags(["personal"]).unwrap();
    let bytes = a
        .issue(
            &proof,
            &bob_phone(),
            vec![entry.clone()],
            14 * DAY,
            NOW + 60,
        )
        .unwrap();
    assert_eq!(a.current_assertion(&bob_phone()), Some(bytes.as_slice()));

    let verdict = verify(&bytes, NOW + DAY, &trust_of(&a), &RevocationSet::new());
    let v = verdict.verified().unwrap();
    assert_eq!(v.assertion().authority(), &domain("b.example"));
    assert_eq!(v.assertion().sii(), &bob_phone());
    assert_eq!(v.assertion().issued_at(), NOW + 60);
    assert_eq!(v.assertion().expires_at(), NOW + 60 + 14 * DAY);
    assert_eq!(v.ssis(), &[entry]);
    assert_eq!(v.kid(), a.kid());
    // It is also what the shared fixtures' trust set believes of b.example.
    assert!(verify(&bytes, NOW + DAY, &trust(), &RevocationSet::new()).is_verified());
}

#[test]
fn a_third_party_authority_maps_a_phone_to_several_providers_and_nothing_else() {
    let mut a = phone_authority();
    let both = ["mimi://b.example/u/bob", "mimi://c.example/u/bobby"];
    let proof = prove(&mut a, &bob_phone(), &both, NOW);
    let entries = vec![
        SsiEntry::new(user(both[0]), 1),
        SsiEntry::new(user(both[1]), 0),
    ];
    let bytes = a
        .issue(&proof, &bob_phone(), entries, 7 * DAY, NOW + 60)
        .unwrap();
    let v = verify(&bytes, NOW + 60, &trust(), &RevocationSet::new())
        .verified()
        .unwrap();
    assert_eq!(v.ssis()[0].ssi(), &user(both[1]), "priority 0 first");

    // An email address is outside its rights: refused before any code is sent.
    let sent = a.sender().sent().len();
    assert!(matches!(
        a.start_proof(&sii("bob@b.example"), &[user(BOB)], NOW, &mut rng()),
        Err(Error::NotAuthorized(_))
    ));
    assert_eq!(a.sender().sent().len(), sent);
}

#[test]
fn an_empty_mapping_can_be_authorized() {
    let mut a = b_authority();
    let proof = prove(&mut a, &bob_phone(), &[], NOW);
    let bytes = a
        .issue(&proof, &bob_phone(), vec![], 14 * DAY, NOW + 60)
        .unwrap();
    let v = verify(&bytes, NOW + 60, &trust_of(&a), &RevocationSet::new())
        .verified()
        .unwrap();
    assert!(v.ssis().is_empty());
}

#[test]
fn a_wrong_code_costs_an_attempt_and_the_right_one_still_works() {
    let mut a = b_authority();
    let id = a
        .start_proof(&bob_phone(), &[user(BOB)], NOW, &mut rng())
        .unwrap();
    let code = a.sender().last_code_for(&bob_phone()).unwrap().to_owned();
    assert_eq!(
        a.complete_proof(&id, &wrong(&code), NOW + 10),
        Err(Error::WrongCode { attempts_left: 4 })
    );
    assert_eq!(
        a.complete_proof(&id, "not digits", NOW + 11),
        Err(Error::WrongCode { attempts_left: 3 })
    );
    assert_eq!(
        a.complete_proof(&id, "", NOW + 12),
        Err(Error::WrongCode { attempts_left: 2 })
    );
    assert!(a.complete_proof(&id, &code, NOW + 13).is_ok());
}

#[test]
fn too_many_attempts_kill_the_challenge() {
    let mut a = b_authority();
    let id = a
        .start_proof(&bob_phone(), &[user(BOB)], NOW, &mut rng())
        .unwrap();
    let code = a.sender().last_code_for(&bob_phone()).unwrap().to_owned();
    for left in (1..=4).rev() {
        assert_eq!(
            a.complete_proof(&id, &wrong(&code), NOW + 10),
            Err(Error::WrongCode {
                attempts_left: left
            })
        );
    }
    assert_eq!(
        a.complete_proof(&id, &wrong(&code), NOW + 10),
        Err(Error::TooManyAttempts)
    );
    // Dead: even the right code is refused now.
    assert_eq!(
        a.complete_proof(&id, &code, NOW + 11),
        Err(Error::UnknownChallenge)
    );
    assert_eq!(a.pending_challenges(), 0);
}

#[test]
fn an_expired_challenge_is_refused_even_with_the_right_code() {
    let mut a = b_authority();
    let id = a
        .start_proof(&bob_phone(), &[user(BOB)], NOW, &mut rng())
        .unwrap();
    let code = a.sender().last_code_for(&bob_phone()).unwrap().to_owned();
    assert_eq!(
        a.complete_proof(&id, &code, NOW + 601),
        Err(Error::ChallengeExpired)
    );
    assert_eq!(
        a.complete_proof(&id, &code, NOW + 601),
        Err(Error::UnknownChallenge)
    );

    // The last second of validity is still accepted.
    let id = a
        .start_proof(&bob_phone(), &[user(BOB)], NOW + 1_000, &mut rng())
        .unwrap();
    let code = a.sender().last_code_for(&bob_phone()).unwrap().to_owned();
    assert!(a.complete_proof(&id, &code, NOW + 1_600).is_ok());
}

#[test]
fn codes_and_proofs_are_single_use() {
    let mut a = b_authority();
    let id = a
        .start_proof(&bob_phone(), &[user(BOB)], NOW, &mut rng())
        .unwrap();
    let code = a.sender().last_code_for(&bob_phone()).unwrap().to_owned();
    let proof = a.complete_proof(&id, &code, NOW + 10).unwrap();
    // The code is spent.
    assert_eq!(
        a.complete_proof(&id, &code, NOW + 11),
        Err(Error::UnknownChallenge)
    );
    // The proof signs once.
    a.issue(&proof, &bob_phone(), vec![bob_entry()], 14 * DAY, NOW + 20)
        .unwrap();
    assert_eq!(
        a.issue(&proof, &bob_phone(), vec![bob_entry()], 14 * DAY, NOW + 21),
        Err(Error::ProofRejected("unknown or already used"))
    );
    assert_eq!(
        a.last_serial(),
        decode_assertion(a.current_assertion(&bob_phone()).unwrap())
            .unwrap()
            .0
            .serial()
    );
}

#[test]
fn a_proof_signs_only_its_own_sii_while_fresh_and_only_what_was_authorized() {
    let mut a = b_authority();
    let alice_phone = sii("+12025550102");
    let proof = prove(&mut a, &bob_phone(), &[BOB], NOW);

    // Another SII.
    assert_eq!(
        a.issue(&proof, &alice_phone, vec![bob_entry()], DAY, NOW + 60),
        Err(Error::ProofRejected("the proof is for another SII"))
    );
    // An SSI the recipient did not agree to with the code (R1).
    let other = SsiEntry::new(user("mimi://b.example/u/mallory"), 0);
    assert!(matches!(
        a.issue(&proof, &bob_phone(), vec![other], DAY, NOW + 60),
        Err(Error::NotAuthorized(_))
    ));
    // A format error (lifetime over 366 days).
    assert!(matches!(
        a.issue(&proof, &bob_phone(), vec![bob_entry()], 400 * DAY, NOW + 60),
        Err(Error::Invalid(_))
    ));
    // Those refusals left the proof usable; it expires 600 s after it was made (NOW + 30).
    assert_eq!(
        a.issue(&proof, &bob_phone(), vec![bob_entry()], DAY, NOW + 631),
        Err(Error::ProofRejected("expired"))
    );
    assert_eq!(
        a.issue(&proof, &bob_phone(), vec![bob_entry()], DAY, NOW + 100),
        Err(Error::ProofRejected("unknown or already used"))
    );
    assert_eq!(a.last_serial(), 0, "nothing was signed");
}

#[test]
fn a_new_challenge_replaces_the_previous_one() {
    let mut a = b_authority();
    let first = a
        .start_proof(&bob_phone(), &[user(BOB)], NOW, &mut rng())
        .unwrap();
    let first_code = a.sender().last_code_for(&bob_phone()).unwrap().to_owned();
    let second = a
        .start_proof(&bob_phone(), &[user(BOB)], NOW + 60, &mut TestRng(7))
        .unwrap();
    assert_ne!(first, second);
    assert_eq!(a.pending_challenges(), 1);
    assert_eq!(
        a.complete_proof(&first, &first_code, NOW + 70),
        Err(Error::UnknownChallenge)
    );
    let second_code = a.sender().last_code_for(&bob_phone()).unwrap().to_owned();
    assert_ne!(first_code, second_code);
    assert!(a.complete_proof(&second, &second_code, NOW + 70).is_ok());
}

#[test]
fn challenges_per_sii_are_rate_limited() {
    let mut a = b_authority();
    let mut r = rng();
    for i in 0..3 {
        a.start_proof(&bob_phone(), &[user(BOB)], NOW + i * 60, &mut r)
            .unwrap();
    }
    // The fourth within the hour is refused until the first leaves the window, and sends
    // nothing.
    assert_eq!(
        a.start_proof(&bob_phone(), &[user(BOB)], NOW + 600, &mut r),
        Err(Error::RateLimited { retry_after: 3_000 })
    );
    assert_eq!(a.sender().sent().len(), 3);
    // Another SII is not affected.
    a.start_proof(&sii("+12025550102"), &[user(BOB)], NOW + 600, &mut r)
        .unwrap();
    // One hour after the first, one more is allowed.
    a.start_proof(&bob_phone(), &[user(BOB)], NOW + HOUR, &mut r)
        .unwrap();

    // The daily limit: 10 per 24 hours, however they are spread.
    let mut t = NOW + HOUR;
    let mut sent = 4;
    while sent < 10 {
        t += HOUR;
        a.start_proof(&bob_phone(), &[user(BOB)], t, &mut r)
            .unwrap();
        sent += 1;
    }
    assert!(matches!(
        a.start_proof(&bob_phone(), &[user(BOB)], t + 2 * HOUR, &mut r),
        Err(Error::RateLimited { .. })
    ));
    a.start_proof(&bob_phone(), &[user(BOB)], NOW + DAY, &mut r)
        .unwrap();
}

#[test]
fn wrong_codes_per_sii_are_rate_limited_across_challenges() {
    let config = AuthorityConfig {
        failure_limit: RateLimit::new(7, DAY),
        ..AuthorityConfig::default()
    };
    let mut a = MappingAuthority::provider(b_signer(), config, RecordingSender::new()).unwrap();
    let mut r = rng();
    let id = a
        .start_proof(&bob_phone(), &[user(BOB)], NOW, &mut r)
        .unwrap();
    let code = a.sender().last_code_for(&bob_phone()).unwrap().to_owned();
    for _ in 0..4 {
        a.complete_proof(&id, &wrong(&code), NOW + 1).unwrap_err();
    }
    assert_eq!(
        a.complete_proof(&id, &wrong(&code), NOW + 1),
        Err(Error::TooManyAttempts)
    );
    let id = a
        .start_proof(&bob_phone(), &[user(BOB)], NOW + 60, &mut r)
        .unwrap();
    let code = a.sender().last_code_for(&bob_phone()).unwrap().to_owned();
    assert_eq!(
        a.complete_proof(&id, &wrong(&code), NOW + 61),
        Err(Error::WrongCode { attempts_left: 4 })
    );
    // The 7th wrong code of the day kills the challenge ...
    assert_eq!(
        a.complete_proof(&id, &wrong(&code), NOW + 62),
        Err(Error::RateLimited {
            // The first wrong code (NOW + 1) leaves the window at NOW + 1 + DAY.
            retry_after: DAY + 1 - 62
        })
    );
    assert_eq!(
        a.complete_proof(&id, &code, NOW + 63),
        Err(Error::UnknownChallenge)
    );
    // ... and no new code is sent to that SII until the oldest failure is a day old.
    assert!(matches!(
        a.start_proof(&bob_phone(), &[user(BOB)], NOW + 120, &mut r),
        Err(Error::RateLimited { .. })
    ));
    a.start_proof(&bob_phone(), &[user(BOB)], NOW + DAY + 1, &mut r)
        .unwrap();
}

#[test]
fn a_failed_delivery_creates_no_challenge_but_counts() {
    let mut a = b_authority();
    a.sender_mut().set_failing(true);
    let mut r = rng();
    for i in 0..3 {
        assert!(matches!(
            a.start_proof(&bob_phone(), &[user(BOB)], NOW + i, &mut r),
            Err(Error::Delivery(_))
        ));
    }
    assert_eq!(a.pending_challenges(), 0);
    a.sender_mut().set_failing(false);
    assert!(matches!(
        a.start_proof(&bob_phone(), &[user(BOB)], NOW + 10, &mut r),
        Err(Error::RateLimited { .. })
    ));
}

#[test]
fn the_challenge_table_is_bounded() {
    let config = AuthorityConfig {
        max_pending_challenges: 2,
        ..AuthorityConfig::default()
    };
    let mut a = MappingAuthority::provider(b_signer(), config, RecordingSender::new()).unwrap();
    let mut r = rng();
    for n in ["+12025550101", "+12025550102"] {
        a.start_proof(&sii(n), &[], NOW, &mut r).unwrap();
    }
    assert_eq!(
        a.start_proof(&sii("+12025550103"), &[], NOW, &mut r),
        Err(Error::RateLimited { retry_after: 600 })
    );
    // Replacing an SII's own challenge is fine; expired ones make room.
    a.start_proof(&sii("+12025550101"), &[], NOW + 1, &mut r)
        .unwrap();
    a.start_proof(&sii("+12025550103"), &[], NOW + 601, &mut r)
        .unwrap();
}

#[test]
fn a_provider_authority_refuses_ssis_on_other_domains() {
    let mut a = b_authority();
    let foreign = user("mimi://c.example/u/bob");
    assert!(matches!(
        a.start_proof(&bob_phone(), &[user(BOB), foreign.clone()], NOW, &mut rng()),
        Err(Error::NotAuthorized(_))
    ));
    assert!(
        a.sender().sent().is_empty(),
        "no code for a refused mapping"
    );
    // And at issue time, whatever the proof says.
    let proof = prove(&mut a, &bob_phone(), &[BOB], NOW);
    assert!(matches!(
        a.issue(
            &proof,
            &bob_phone(),
            vec![SsiEntry::new(foreign, 0)],
            DAY,
            NOW + 60
        ),
        Err(Error::NotAuthorized(_))
    ));
}

#[test]
fn renewal_within_the_window_and_not_after() {
    let mut a = b_authority();
    let first = issue_bob(&mut a);
    let t = trust_of(&a);

    let renewed = a.renew(&bob_phone(), NOW + 10 * DAY).unwrap();
    let (old, _) = decode_assertion(&first).unwrap();
    let (new, _) = decode_assertion(&renewed).unwrap();
    assert!(new.serial() > old.serial());
    assert_eq!(new.ssis(), old.ssis());
    assert_eq!(new.issued_at(), NOW + 10 * DAY);
    assert_eq!(
        new.expires_at() - new.issued_at(),
        old.expires_at() - old.issued_at()
    );
    assert!(verify(&renewed, NOW + 20 * DAY, &t, &RevocationSet::new()).is_verified());
    assert_eq!(
        verify(&first, NOW + 20 * DAY, &t, &RevocationSet::new()),
        Verdict::Expired
    );
    // A lookup answer holding both keeps the renewed one.
    let outcome = check_lookup(
        &bob_phone(),
        &[&first, &renewed],
        NOW + 11 * DAY,
        &t,
        &RevocationSet::new(),
    );
    assert_eq!(outcome.mappings.len(), 1);
    assert_eq!(outcome.mappings[0].assertion().serial(), new.serial());

    // Control was proven at NOW + 30; the window is 30 days from then.
    assert!(a.renew(&bob_phone(), NOW + 30 + 30 * DAY).is_ok());
    assert!(matches!(
        a.renew(&bob_phone(), NOW + 31 + 30 * DAY),
        Err(Error::ProofRequired(_))
    ));
    // Nothing to renew for an SII never mapped.
    assert!(matches!(
        a.renew(&sii("+12025550102"), NOW),
        Err(Error::ProofRequired(_))
    ));
    // A new proof resets the window.
    let later = NOW + 40 * DAY;
    let proof = prove(&mut a, &bob_phone(), &[BOB], later);
    a.issue(
        &proof,
        &bob_phone(),
        vec![bob_entry()],
        14 * DAY,
        later + 60,
    )
    .unwrap();
    assert!(a.renew(&bob_phone(), later + 20 * DAY).is_ok());
}

#[test]
fn serials_only_grow() {
    let mut a = b_authority();
    let mut serials = vec![];
    let b1 = issue_bob(&mut a);
    serials.push(decode_assertion(&b1).unwrap().0.serial());
    let alice = sii("alice@b.example");
    let proof = prove(&mut a, &alice, &["mimi://b.example/u/alice"], NOW);
    let b2 = a
        .issue(
            &proof,
            &alice,
            vec![SsiEntry::new(user("mimi://b.example/u/alice"), 0)],
            DAY,
            NOW + 60,
        )
        .unwrap();
    serials.push(decode_assertion(&b2).unwrap().0.serial());
    for t in [NOW + 60, NOW + 61, NOW + DAY] {
        let b = a.renew(&bob_phone(), t).unwrap();
        serials.push(decode_assertion(&b).unwrap().0.serial());
    }
    assert!(serials.windows(2).all(|w| w[0] < w[1]), "{serials:?}");
    // Timestamp-derived floor: a fresh authority (lost state) still issues higher serials.
    assert!(serials[0] >= NOW << 20);
    let mut fresh = b_authority();
    let b = fresh.renew(&bob_phone(), NOW + 2 * DAY).err();
    assert!(b.is_some(), "a fresh authority has nothing to renew");
    let proof = prove(&mut fresh, &bob_phone(), &[BOB], NOW + 2 * DAY);
    let b = fresh
        .issue(
            &proof,
            &bob_phone(),
            vec![bob_entry()],
            DAY,
            NOW + 2 * DAY + 60,
        )
        .unwrap();
    assert!(decode_assertion(&b).unwrap().0.serial() > *serials.last().unwrap());
}

#[test]
fn revocations_verify_and_revoke() {
    let mut a = b_authority();
    let bytes = issue_bob(&mut a);
    let t = trust_of(&a);
    let later = NOW + 2 * DAY;
    let serial = decode_assertion(&bytes).unwrap().0.serial();

    for (target, reach) in [
        (
            RevocationTarget::Mapping {
                sii: bob_phone(),
                ssi: user(BOB),
            },
            Reach::AllAuthorities,
        ),
        (RevocationTarget::Serial(serial), Reach::IssuerOnly),
        (RevocationTarget::Sii(bob_phone()), Reach::IssuerOnly),
    ] {
        let mut fresh = b_authority();
        let bytes = issue_bob(&mut fresh);
        let rev = fresh.revoke(target.clone(), later).unwrap();
        assert_eq!(
            fresh.published_revocations().collect::<Vec<_>>(),
            vec![&rev[..]]
        );
        let v = verify_revocation(&rev, later, &t).unwrap();
        assert_eq!(v.reach(), reach, "{target:?}");
        assert_eq!(v.revocation().target(), &target);
        let mut revs = RevocationSet::new();
        revs.insert(&rev, later, &t).unwrap();
        assert_eq!(
            verify(&bytes, later, &t, &revs),
            Verdict::Revoked,
            "{target:?}"
        );
        // What is revoked is not renewed.
        assert!(matches!(
            fresh.renew(&bob_phone(), later + 1),
            Err(Error::ProofRequired(_))
        ));
    }

    // All three from one authority are published, in order.
    let r1 = a.revoke(RevocationTarget::Serial(serial), later).unwrap();
    let r2 = a.revoke(RevocationTarget::Sii(bob_phone()), later).unwrap();
    assert_eq!(
        a.published_revocations().collect::<Vec<_>>(),
        vec![&r1[..], &r2[..]]
    );
    // A serial the authority has no live assertion for is refused.
    assert!(matches!(
        a.revoke(RevocationTarget::Serial(serial + 1_000), later),
        Err(Error::Invalid(_))
    ));
}

#[test]
fn a_mapping_issued_after_a_revocation_is_not_covered_by_it() {
    let mut a = b_authority();
    issue_bob(&mut a);
    let t = trust_of(&a);
    let at = NOW + DAY;
    let rev = a.revoke(RevocationTarget::Sii(bob_phone()), at).unwrap();
    let mut revs = RevocationSet::new();
    revs.insert(&rev, at, &t).unwrap();
    // The recipient maps the number again in the same second.
    let proof = prove(&mut a, &bob_phone(), &[BOB], at - 30);
    let again = a
        .issue(&proof, &bob_phone(), vec![bob_entry()], DAY, at)
        .unwrap();
    let (assertion, _) = decode_assertion(&again).unwrap();
    assert_eq!(assertion.issued_at(), at + 1);
    assert!(verify(&again, at, &t, &revs).is_verified());
}

#[test]
fn revoking_one_ssi_leaves_the_others_and_renewals_drop_it() {
    let mut a = phone_authority();
    let both = ["mimi://b.example/u/bob", "mimi://c.example/u/bobby"];
    let proof = prove(&mut a, &bob_phone(), &both, NOW);
    let entries = both.iter().map(|s| SsiEntry::new(user(s), 0)).collect();
    let bytes = a
        .issue(&proof, &bob_phone(), entries, 14 * DAY, NOW + 60)
        .unwrap();
    let t = trust();
    let rev = a
        .revoke(
            RevocationTarget::Mapping {
                sii: bob_phone(),
                ssi: user(both[1]),
            },
            NOW + DAY,
        )
        .unwrap();
    let mut revs = RevocationSet::new();
    revs.insert(&rev, NOW + DAY, &t).unwrap();
    let v = verify(&bytes, NOW + DAY, &t, &revs).verified().unwrap();
    assert_eq!(v.ssis(), &[SsiEntry::new(user(both[0]), 0)]);
    let renewed = a.renew(&bob_phone(), NOW + DAY + 1).unwrap();
    let (r, _) = decode_assertion(&renewed).unwrap();
    assert_eq!(r.ssis(), &[SsiEntry::new(user(both[0]), 0)]);

    // The phone authority may not remove an email's mappings: it could not assert them.
    assert!(matches!(
        a.revoke(RevocationTarget::Sii(sii("bob@b.example")), NOW),
        Err(Error::NotAuthorized(_))
    ));
}

#[test]
fn the_file_sender_writes_the_code_for_the_demo() {
    let dir = tempfile::tempdir().unwrap();
    let sender = FileCodeSender::new(dir.path());
    let mut a = MappingAuthority::provider(b_signer(), AuthorityConfig::default(), sender).unwrap();
    let alice = sii("alice@b.example");
    let mut r = rng();
    a.start_proof(&alice, &[], NOW, &mut r).unwrap();
    let id = a
        .start_proof(&bob_phone(), &[user(BOB)], NOW, &mut r)
        .unwrap();

    let text = std::fs::read_to_string(a.sender().path()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2);
    let (who, code) = lines[1].split_once(' ').unwrap();
    assert_eq!(who, "+12025550101");
    assert_eq!(code.len(), 6);
    assert!(lines[0].starts_with("alice@b.example "));
    assert_eq!(
        a.sender().last_code_for(&bob_phone()).unwrap().as_deref(),
        Some(code)
    );
    assert!(a.complete_proof(&id, code, NOW + 5).is_ok());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(a.sender().path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // A directory that does not exist is a delivery error.
    let mut missing = FileCodeSender::new(dir.path().join("missing"));
    assert_eq!(missing.last_code_for(&alice).unwrap(), None);
    let mut b =
        MappingAuthority::provider(b_signer(), AuthorityConfig::default(), &mut missing).unwrap();
    assert!(matches!(
        b.start_proof(&alice, &[], NOW, &mut r),
        Err(Error::Delivery(_))
    ));
}

#[test]
fn state_round_trips_and_carries_on() {
    let mut a = b_authority();
    let mut r = rng();
    // An issued mapping, a revoked SSI (with another left), an unused proof, a live
    // challenge, rate-limit history.
    let alice = sii("alice@b.example");
    let alice_uris = ["mimi://b.example/u/alice", "mimi://b.example/u/alice2"];
    let proof = prove(&mut a, &alice, &alice_uris, NOW);
    let entries = alice_uris
        .iter()
        .map(|s| SsiEntry::new(user(s), 0))
        .collect();
    a.issue(&proof, &alice, entries, 14 * DAY, NOW + 60)
        .unwrap();
    a.revoke(
        RevocationTarget::Mapping {
            sii: alice.clone(),
            ssi: user(alice_uris[1]),
        },
        NOW + 120,
    )
    .unwrap();
    issue_bob(&mut a);
    let carol = sii("+12025550103");
    let carol_proof = prove(&mut a, &carol, &["mimi://b.example/u/carol"], NOW + 100);
    let dave = sii("+12025550104");
    let dave_id = a.start_proof(&dave, &[], NOW + 200, &mut r).unwrap();
    let dave_code = a.sender().last_code_for(&dave).unwrap().to_owned();
    a.complete_proof(&dave_id, &wrong(&dave_code), NOW + 201)
        .unwrap_err();
    let eve = sii("+12025550105");
    for i in 0..3 {
        a.start_proof(&eve, &[], NOW + 300 + i, &mut r).unwrap();
    }
    let exported = a.export_state();

    let mut b = MappingAuthority::import(
        b_signer(),
        Permissions::provider(domain("b.example")),
        AuthorityConfig::default(),
        a.sender().clone(),
        &exported,
    )
    .unwrap();
    assert_eq!(b.export_state(), exported, "byte-identical round trip");
    assert_eq!(b.last_serial(), a.last_serial());
    assert_eq!(b.pending_challenges(), 2);
    assert_eq!(
        b.published_revocations().collect::<Vec<_>>(),
        a.published_revocations().collect::<Vec<_>>()
    );
    assert_eq!(
        b.current_assertion(&bob_phone()),
        a.current_assertion(&bob_phone())
    );

    // Everything carries on after the import as it would have before.
    let (same_a, same_b) = (
        a.renew(&alice, NOW + DAY).unwrap(),
        b.renew(&alice, NOW + DAY).unwrap(),
    );
    assert_eq!(same_a, same_b);
    let (renewed, _) = decode_assertion(&same_b).unwrap();
    assert_eq!(renewed.ssis(), &[SsiEntry::new(user(alice_uris[0]), 0)]);
    assert!(
        b.issue(
            &carol_proof,
            &carol,
            vec![SsiEntry::new(user("mimi://b.example/u/carol"), 0)],
            DAY,
            NOW + 300
        )
        .is_ok()
    );
    assert_eq!(
        b.complete_proof(&dave_id, &wrong(&dave_code), NOW + 210),
        Err(Error::WrongCode { attempts_left: 3 })
    );
    assert!(b.complete_proof(&dave_id, &dave_code, NOW + 211).is_ok());
    // The rate-limit history came along.
    assert!(matches!(
        b.start_proof(&eve, &[], NOW + 400, &mut r),
        Err(Error::RateLimited { .. })
    ));
}

#[test]
fn state_import_is_strict() {
    let mut a = b_authority();
    issue_bob(&mut a);
    a.start_proof(&sii("+12025550102"), &[], NOW, &mut rng())
        .unwrap();
    let exported = a.export_state();
    let import = |bytes: &[u8], signer: Signer| {
        MappingAuthority::import(
            signer,
            Permissions::provider(domain("b.example")),
            AuthorityConfig::default(),
            RecordingSender::new(),
            bytes,
        )
    };
    // Another authority's state.
    assert!(matches!(
        import(&exported, c_signer()),
        Err(Error::State(_))
    ));
    // A new key for the same authority is fine (key rotation).
    assert!(import(&exported, b_second_signer()).is_ok());
    // Every truncation, and a trailing byte.
    for n in 0..exported.len() {
        assert!(
            matches!(import(&exported[..n], b_signer()), Err(Error::State(_))),
            "truncated at {n}"
        );
    }
    let mut longer = exported.clone();
    longer.push(0);
    assert!(matches!(import(&longer, b_signer()), Err(Error::State(_))));
    // Every single-bit flip either fails cleanly or decodes (no panic).
    for i in 0..exported.len() {
        let mut flipped = exported.clone();
        flipped[i] ^= 0x01;
        let _ = import(&flipped, b_signer());
    }
    // The empty state of a fresh authority imports.
    assert!(import(&b_authority().export_state(), b_signer()).is_ok());
}

#[test]
fn configuration_is_validated_and_code_length_follows_it() {
    for bad in [
        AuthorityConfig {
            code_digits: 5,
            ..AuthorityConfig::default()
        },
        AuthorityConfig {
            code_digits: 9,
            ..AuthorityConfig::default()
        },
        AuthorityConfig {
            max_attempts: 0,
            ..AuthorityConfig::default()
        },
        AuthorityConfig {
            challenge_limits: vec![],
            ..AuthorityConfig::default()
        },
        AuthorityConfig {
            failure_limit: RateLimit::new(0, DAY),
            ..AuthorityConfig::default()
        },
    ] {
        assert!(matches!(
            MappingAuthority::provider(b_signer(), bad, RecordingSender::new()),
            Err(Error::AuthorityConfig(_))
        ));
    }
    let config = AuthorityConfig {
        code_digits: 8,
        ..AuthorityConfig::default()
    };
    let mut a = MappingAuthority::provider(b_signer(), config, RecordingSender::new()).unwrap();
    a.start_proof(&bob_phone(), &[], NOW, &mut rng()).unwrap();
    assert_eq!(a.sender().last_code_for(&bob_phone()).unwrap().len(), 8);
}

#[test]
fn challenge_ids_travel_as_hex() {
    let mut a = b_authority();
    let id = a
        .start_proof(&bob_phone(), &[user(BOB)], NOW, &mut rng())
        .unwrap();
    let back = ChallengeId::from_hex(&id.to_string()).unwrap();
    let code = a.sender().last_code_for(&bob_phone()).unwrap().to_owned();
    assert!(a.complete_proof(&back, &code, NOW + 1).is_ok());
    assert_eq!(
        a.complete_proof(&ChallengeId::from_bytes([0; 16]), &code, NOW + 1),
        Err(Error::UnknownChallenge)
    );
}

#[test]
fn pruning_forgets_what_can_no_longer_matter() {
    let mut a = b_authority();
    issue_bob(&mut a);
    a.start_proof(&sii("+12025550102"), &[], NOW, &mut rng())
        .unwrap();
    a.revoke(RevocationTarget::Sii(bob_phone()), NOW + DAY)
        .unwrap();
    let before = a.export_state();
    a.prune(NOW + DAY);
    assert_eq!(a.pending_challenges(), 0, "the challenge expired");
    assert_eq!(a.published_revocations().len(), 1);
    assert!(a.export_state().len() < before.len());
    // A revocation is published until no assertion it covers can still be valid.
    a.prune(NOW + DAY + 366 * DAY);
    assert_eq!(a.published_revocations().len(), 1);
    a.prune(NOW + DAY + 368 * DAY);
    assert_eq!(a.published_revocations().len(), 0);
}
