//! Arbitrary bytes as a discovery mapping assertion, as a revocation and as a one-item lookup
//! answer, verified against a fixed trust set at a fixed time. Nothing may panic; a payload that
//! decodes re-encodes to an equal value; an assertion or revocation that verifies re-signs to
//! exactly the input (Ed25519 is deterministic and the encoding canonical: one byte string per
//! signed value).
//!
//! The seeds in `fuzz/corpus/discovery/` are signed by the keys below and valid at `NOW`, so the
//! fuzzer starts from objects that verify and reaches the signature, rights, time and
//! revocation checks.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mimi_discovery::{
    Authority, MappingAssertion, Permissions, Revocation, RevocationSet, Signer, Sii, SiiPattern,
    SiiScope, TrustSet, Verdict, check_lookup, decode_assertion, decode_revocation, verify,
    verify_revocation,
};
use mimi_types::id::ProviderDomain;

const NOW: u64 = 1_750_000_000;
/// b.example, a provider acting as its own authority (test key).
const B_SECRET: [u8; 32] = [1; 32];
/// phone-authority.example, a third-party phone-number authority (test key).
const PHONE_SECRET: [u8; 32] = [2; 32];

struct Fixture {
    trust: TrustSet,
    signers: Vec<Signer>,
    sii: Sii,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let b = ProviderDomain::parse("b.example").expect("domain");
        let phone = ProviderDomain::parse("phone-authority.example").expect("domain");
        let signers = vec![
            Signer::from_secret(b.clone(), &B_SECRET),
            Signer::from_secret(phone.clone(), &PHONE_SECRET),
        ];
        let mut trust = TrustSet::new();
        for (signer, permissions) in signers.iter().zip([
            Permissions::provider(b),
            Permissions::sii_authority(SiiScope::of([SiiPattern::AnyPhone])),
        ]) {
            trust.insert(
                Authority::new(signer.authority().clone(), permissions)
                    .with_key(signer.kid().clone(), signer.verifying_key())
                    .expect("fuzz keys are fine"),
            );
        }
        let sii = Sii::parse("+12025550101").expect("sii");
        Fixture {
            trust,
            signers,
            sii,
        }
    })
}

fn signer_for<'a>(f: &'a Fixture, authority: &ProviderDomain) -> &'a Signer {
    f.signers
        .iter()
        .find(|s| s.authority() == authority)
        .expect("only trusted authorities verify")
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let none = RevocationSet::new();

    if let Ok((a, _kid)) = decode_assertion(data) {
        let again = MappingAssertion::from_payload(&a.to_payload()).expect("payload re-decodes");
        assert_eq!(again, a);
    }
    let verdict = verify(data, NOW, &f.trust, &none);
    if let Verdict::Verified(v) = &verdict {
        let a = v.assertion();
        assert_eq!(decode_assertion(data).expect("verified decodes").0, *a);
        let resigned = signer_for(f, a.authority())
            .sign_assertion(a)
            .expect("re-signs");
        assert_eq!(resigned, data, "one byte string per signed assertion");
    }

    if let Ok((r, _kid)) = decode_revocation(data) {
        assert_eq!(
            Revocation::from_payload(&r.to_payload()).expect("re-decodes"),
            r
        );
    }
    if let Ok(v) = verify_revocation(data, NOW, &f.trust) {
        let r = v.revocation();
        let resigned = signer_for(f, r.authority())
            .sign_revocation(r)
            .expect("re-signs");
        assert_eq!(resigned, data, "one byte string per signed revocation");
        // A revocation applied to itself as an answer never panics either.
        let mut revs = RevocationSet::new();
        revs.add(&v);
        let _ = check_lookup(&f.sii, &[data], NOW, &f.trust, &revs);
    }

    let out = check_lookup(&f.sii, &[data, data], NOW, &f.trust, &none);
    assert!(out.mappings.len() <= 1);
    if !out.mappings.is_empty() {
        assert!(verdict.is_verified());
    }
});
