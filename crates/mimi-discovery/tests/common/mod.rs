//! Shared fixtures: a trust set with every role, signers, and a raw COSE_Sign1 builder for
//! objects the library itself refuses to produce.
#![allow(dead_code, clippy::unwrap_used)]

use coset::{ProtectedHeader, SignatureContext, sig_structure_data};
use ed25519_dalek::{Signer as _, SigningKey};
use mimi_discovery::{
    Authority, KeyId, MappingAssertion, Permissions, Revocation, RevocationTarget, Signer, Sii,
    SiiPattern, SiiScope, SsiEntry, TrustSet,
};
use mimi_types::id::{ProviderDomain, UserUri};

/// The verifier's clock in every test.
pub const NOW: u64 = 1_750_000_000;
/// A typical lifetime.
pub const DAY: u64 = 86_400;

pub fn domain(s: &str) -> ProviderDomain {
    ProviderDomain::parse(s).unwrap()
}

pub fn user(s: &str) -> UserUri {
    UserUri::parse(s).unwrap()
}

pub fn sii(s: &str) -> Sii {
    Sii::parse(s).unwrap()
}

/// Bob's phone number, the SII most tests look up.
pub fn bob_phone() -> Sii {
    sii("+12025550101")
}

/// Secret keys, one per party.
pub const B_KEY: [u8; 32] = [1; 32];
pub const PHONE_KEY: [u8; 32] = [2; 32];
pub const C_KEY: [u8; 32] = [3; 32];
pub const EVIL_KEY: [u8; 32] = [4; 32];
pub const CARRIER_KEY: [u8; 32] = [5; 32];
pub const B_SECOND_KEY: [u8; 32] = [6; 32];

/// `b.example`, a provider that is its own mapping authority.
pub fn b_signer() -> Signer {
    Signer::from_secret(domain("b.example"), &B_KEY)
}

/// `b.example`'s second key (rotation).
pub fn b_second_signer() -> Signer {
    Signer::from_secret(domain("b.example"), &B_SECOND_KEY)
}

/// `c.example`, another provider-authority.
pub fn c_signer() -> Signer {
    Signer::from_secret(domain("c.example"), &C_KEY)
}

/// `phone-authority.example`, a third-party authority for phone numbers (any domain).
pub fn phone_signer() -> Signer {
    Signer::from_secret(domain("phone-authority.example"), &PHONE_KEY)
}

/// `carrier.example`, the issuer of +1 numbers (a CSIP): removes, never asserts.
pub fn carrier_signer() -> Signer {
    Signer::from_secret(domain("carrier.example"), &CARRIER_KEY)
}

/// `evil.example`: not in the trust set.
pub fn evil_signer() -> Signer {
    Signer::from_secret(domain("evil.example"), &EVIL_KEY)
}

fn authority(signer: &Signer, permissions: Permissions) -> Authority {
    Authority::new(signer.authority().clone(), permissions)
        .with_key(signer.kid().clone(), signer.verifying_key())
        .unwrap()
}

pub fn trust() -> TrustSet {
    let mut t = TrustSet::new();
    t.insert(
        authority(&b_signer(), Permissions::provider(domain("b.example")))
            .with_key(
                b_second_signer().kid().clone(),
                b_second_signer().verifying_key(),
            )
            .unwrap(),
    );
    t.insert(authority(
        &c_signer(),
        Permissions::provider(domain("c.example")),
    ));
    t.insert(authority(
        &phone_signer(),
        Permissions::sii_authority(SiiScope::of([SiiPattern::AnyPhone])),
    ));
    t.insert(authority(
        &carrier_signer(),
        Permissions::sii_issuer(SiiScope::of([SiiPattern::PhoneCountryCode(1)])),
    ));
    t
}

/// An assertion by `signer` of `sii` to `ssis` (priority in list order), valid for 30 days
/// from `NOW - 1 day`.
pub fn assertion(signer: &Signer, serial: u64, sii: &Sii, ssis: &[&str]) -> MappingAssertion {
    assertion_at(signer, serial, sii, ssis, NOW - DAY, NOW + 29 * DAY)
}

pub fn assertion_at(
    signer: &Signer,
    serial: u64,
    sii: &Sii,
    ssis: &[&str],
    issued_at: u64,
    expires_at: u64,
) -> MappingAssertion {
    let entries = ssis
        .iter()
        .enumerate()
        .map(|(i, s)| SsiEntry::new(user(s), i as u8))
        .collect();
    MappingAssertion::new(
        signer.authority().clone(),
        serial,
        sii.clone(),
        issued_at,
        expires_at,
        entries,
    )
    .unwrap()
}

/// Signed bytes of [`assertion`].
pub fn signed(signer: &Signer, serial: u64, sii: &Sii, ssis: &[&str]) -> Vec<u8> {
    signer
        .sign_assertion(&assertion(signer, serial, sii, ssis))
        .unwrap()
}

/// Bob's usual assertion: `b.example` maps his phone to `mimi://b.example/u/bob`.
pub fn bob_assertion_bytes() -> Vec<u8> {
    signed(&b_signer(), 1, &bob_phone(), &["mimi://b.example/u/bob"])
}

/// A signed revocation.
pub fn revocation(signer: &Signer, issued_at: u64, target: RevocationTarget) -> Vec<u8> {
    signer
        .sign_revocation(&Revocation::new(
            signer.authority().clone(),
            issued_at,
            target,
        ))
        .unwrap()
}

// ---- raw CBOR, for encodings the library refuses to produce ----

pub fn head(major: u8, arg: u64) -> Vec<u8> {
    let mt = major << 5;
    match arg {
        0..=23 => vec![mt | arg as u8],
        24..=0xff => vec![mt | 24, arg as u8],
        0x100..=0xffff => {
            let mut v = vec![mt | 25];
            v.extend_from_slice(&(arg as u16).to_be_bytes());
            v
        }
        0x1_0000..=0xffff_ffff => {
            let mut v = vec![mt | 26];
            v.extend_from_slice(&(arg as u32).to_be_bytes());
            v
        }
        _ => {
            let mut v = vec![mt | 27];
            v.extend_from_slice(&arg.to_be_bytes());
            v
        }
    }
}

pub fn bstr(b: &[u8]) -> Vec<u8> {
    let mut v = head(2, b.len() as u64);
    v.extend_from_slice(b);
    v
}

pub fn tstr(s: &str) -> Vec<u8> {
    let mut v = head(3, s.len() as u64);
    v.extend_from_slice(s.as_bytes());
    v
}

/// The canonical protected header for `ct` and `kid`, with algorithm Ed25519 (-19 = 0x32).
pub fn protected(ct: &str, kid: &[u8]) -> Vec<u8> {
    let mut v = vec![0xa3, 0x01, 0x32, 0x03];
    v.extend(tstr(ct));
    v.push(0x04);
    v.extend(bstr(kid));
    v
}

/// A tagged COSE_Sign1 over exactly these protected, unprotected and payload bytes, signed
/// with `secret` (the Sig_structure is computed by coset, as the library does).
pub fn sign_raw(
    protected: &[u8],
    unprotected: &[u8],
    payload: &[u8],
    secret: &[u8; 32],
) -> Vec<u8> {
    let tbs = sig_structure_data(
        SignatureContext::CoseSign1,
        ProtectedHeader {
            original_data: Some(protected.to_vec()),
            header: Default::default(),
        },
        None,
        &[],
        payload,
    );
    let sig = SigningKey::from_bytes(secret).sign(&tbs).to_bytes();
    let mut v = vec![0xd2, 0x84];
    v.extend(bstr(protected));
    v.extend_from_slice(unprotected);
    v.extend(bstr(payload));
    v.extend(bstr(&sig));
    v
}

/// Sign `payload` as an assertion by b.example, whatever it contains.
pub fn sign_assertion_payload(payload: &[u8]) -> Vec<u8> {
    sign_raw(
        &protected(mimi_discovery::ASSERTION_CONTENT_TYPE, b_kid().as_bytes()),
        &[0xa0],
        payload,
        &B_KEY,
    )
}

pub fn b_kid() -> KeyId {
    b_signer().kid().clone()
}

/// Split a tagged COSE_Sign1 made by the library into (protected, payload, signature).
pub fn split(bytes: &[u8]) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let sign1 =
        <coset::CoseSign1 as coset::TaggedCborSerializable>::from_tagged_slice(bytes).unwrap();
    (
        sign1.protected.original_data.unwrap(),
        sign1.payload.unwrap(),
        sign1.signature,
    )
}
